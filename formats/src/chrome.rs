//! Export to the Chrome trace-event JSON format, which Perfetto and `chrome://tracing` open.
//!
//! Each task becomes a thread (`tid` = task id, named by a metadata event); the program's
//! `tracing` spans become duration events (`B`/`E`); every other event becomes an instant
//! event (`i`) named by its kind, with its object, sequence number and source location in
//! `args`. Timestamps are converted to microseconds.

use std::io::Write;

use serde_json::{json, Value};

use crate::model::EventKind;
use crate::trace::Trace;

/// Writes `trace` as a Chrome trace-event JSON document.
pub fn write(trace: &Trace, out: impl Write) -> std::io::Result<()> {
    let sym = &trace.symbols;
    let unit = trace.header.clock_unit_ns.max(1) as f64 / 1000.0;
    let mut events: Vec<Value> = Vec::with_capacity(trace.events.len() + 16);
    for t in sym.tasks() {
        events.push(json!({
            "ph": "M", "name": "thread_name", "pid": 1, "tid": t.id,
            "args": { "name": sym.task_name(t.id) },
        }));
    }
    for e in &trace.events {
        let ts = e.ts as f64 * unit;
        let loc = sym.location_string(e.loc);
        let v = match e.kind {
            EventKind::SpanEnter { name, .. } => json!({
                "ph": "B", "name": sym.string(name).unwrap_or("span"), "pid": 1, "tid": e.task,
                "ts": ts, "args": { "loc": loc },
            }),
            EventKind::SpanExit { .. } => json!({ "ph": "E", "pid": 1, "tid": e.task, "ts": ts }),
            kind => {
                let mut args = serde_json::Map::new();
                args.insert("loc".into(), loc.into());
                if let Some(obj) = kind.object() {
                    args.insert("object".into(), sym.object_name(obj).into());
                }
                if let EventKind::UserEvent { message } = kind {
                    args.insert("message".into(), sym.string(message).unwrap_or("").into());
                }
                args.insert("detail".into(), format!("{kind:?}").into());
                json!({
                    "ph": "i", "s": "t", "name": kind.name(), "pid": 1, "tid": e.task,
                    "ts": ts, "args": args,
                })
            }
        };
        events.push(v);
    }
    let doc = json!({
        "traceEvents": events,
        "displayTimeUnit": "ns",
        "otherData": { "program": trace.header.program, "producer": "hb" },
    });
    serde_json::to_writer(out, &doc).map_err(std::io::Error::other)
}
