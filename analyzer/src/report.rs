//! Rendering an [`Analysis`] as text, JSON ([`JSON_SCHEMA`]) or SARIF 2.1.0.
//!
//! The JSON document is described in the crate README ("JSON output"). Both JSON and SARIF
//! name data races with the rule id [`RULE_RACE`] and lock-order cycles with
//! [`RULE_CYCLE`].

use std::fmt::Write as _;

use hb_format::{LocId, ObjectId, Symbols, TaskId};
use serde_json::{json, Value};

use crate::types::*;

/// The JSON schema identifier written in every JSON report (bumped on incompatible change).
pub const JSON_SCHEMA: &str = "hb-analyze/1";
/// Rule id of data races (JSON and SARIF).
pub const RULE_RACE: &str = "hb/data-race";
/// Rule id of lock-order cycles (JSON and SARIF).
pub const RULE_CYCLE: &str = "hb/lock-order-cycle";

/// How to render.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportOptions {
    /// Counts only, no individual findings.
    pub summary: bool,
    /// Show at most this many races and this many cycles (the counts stay complete).
    pub max_reports: Option<usize>,
    /// ANSI colors (text only).
    pub color: bool,
}

fn limit<'a, T>(items: &'a [T], opts: &ReportOptions) -> &'a [T] {
    if opts.summary {
        return &[];
    }
    match opts.max_reports {
        Some(n) => &items[..n.min(items.len())],
        None => items,
    }
}

struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }
}

fn loc(sym: &Symbols, l: Option<LocId>) -> String {
    sym.location_string(l)
}

fn obj(sym: &Symbols, id: ObjectId) -> String {
    sym.object_name(id)
}

fn task(sym: &Symbols, id: TaskId) -> String {
    sym.task_name(id)
}

/// One sentence about a synchronization: "T3 last synchronized by recv on `done` at
/// main.rs:40, which received the send at main.rs:12 (T1)".
pub fn describe_sync(sym: &Symbols, s: &SyncOp) -> String {
    let o = s.object.map(|o| format!("`{}`", obj(sym, o))).unwrap_or_default();
    let at = loc(sym, s.at.loc);
    let p = |what: &str| match s.partner {
        Some(p) => format!(
            ", {what} at {} ({}, event {})",
            loc(sym, p.loc),
            task(sym, p.task),
            p.event
        ),
        None => String::new(),
    };
    match s.kind {
        // The edge lands on the child's first event, whose location is not the start's:
        // name the spawn instead.
        EdgeKind::Spawn => match s.partner {
            Some(sp) => format!(
                "being spawned at {} ({}, event {})",
                loc(sym, sp.loc),
                task(sym, sp.task),
                sp.event
            ),
            None => format!("being spawned (before {at})"),
        },
        EdgeKind::Join => format!("join at {at}{}", p("which waited for the end")),
        EdgeKind::ChanSend => format!("recv on {o} at {at}{}", p("which received the send")),
        EdgeKind::ChanClose => format!("recv on {o} at {at}{}", p("which saw the close")),
        EdgeKind::ChanCapacity => format!("send on {o} at {at}{}", p("which completed after the receive")),
        EdgeKind::Unlock => format!("lock of {o} at {at}{}", p("which followed the unlock")),
        EdgeKind::Once => format!(
            "once {o} at {at}{}",
            p("which found done the initialization ending")
        ),
        EdgeKind::WaitGroup => format!("wait on {o} at {at}{}", p("which followed the done")),
        EdgeKind::Barrier => format!("barrier {o} at {at}{}", p("which followed the arrival")),
        EdgeKind::Atomic => format!("atomic load of {o} at {at}{}", p("which read the store")),
    }
}

/// The explanation of a race as readable lines.
pub fn explain(sym: &Symbols, race: &Race) -> Vec<String> {
    let mut lines = Vec::new();
    for (a, side) in [
        (&race.first, &race.explanation.first),
        (&race.second, &race.explanation.second),
    ] {
        let t = task(sym, a.task);
        match side.last_syncs.first() {
            Some(s) => {
                let mut line = format!("{t} last synchronized by {}", describe_sync(sym, s));
                for older in &side.last_syncs[1..] {
                    let _ = write!(line, "; before that by {}", describe_sync(sym, older));
                }
                lines.push(line);
            }
            None => lines.push(format!(
                "{t} had not synchronized with any other task before its {}",
                a.kind.noun()
            )),
        }
    }
    let (f, s) = (&race.first, &race.second);
    lines.push(format!(
        "{ft}'s {fk} at {fl} is its step {step}; at its {sk} at {sl}, {st} had seen {ft} only up to step {knew}: \
         no chain of happens-before edges leads from the {fk} to the {sk} (and the {sk} comes after it in every \
         happens-before-consistent order), so they race",
        ft = task(sym, f.task),
        fk = f.kind.noun(),
        fl = loc(sym, f.loc),
        step = race.explanation.first_step,
        sk = s.kind.noun(),
        sl = loc(sym, s.loc),
        st = task(sym, s.task),
        knew = race.explanation.second_knew_of_first,
    ));
    lines
}

fn mode(m: LockMode) -> &'static str {
    match m {
        LockMode::Exclusive => "",
        LockMode::Shared => " (read)",
    }
}

/// The text report.
pub fn text(a: &Analysis, opts: &ReportOptions) -> String {
    let st = Style { on: opts.color };
    let sym = &a.symbols;
    let mut out = String::new();
    for r in limit(&a.races, opts) {
        let _ = writeln!(
            out,
            "{} on `{}` (object {}): {} {}",
            st.paint("1;31", "data race"),
            obj(sym, r.var),
            r.var,
            r.count,
            if r.count == 1 { "occurrence" } else { "occurrences" }
        );
        for x in [&r.first, &r.second] {
            let _ = writeln!(
                out,
                "  {} at {} by {} (event {}, ts {})",
                x.kind.noun(),
                st.paint("1", &loc(sym, x.loc)),
                task(sym, x.task),
                x.event,
                x.ts
            );
        }
        for (i, line) in explain(sym, r).iter().enumerate() {
            let _ = writeln!(out, "  {} {line}", if i == 0 { "why:" } else { "    " });
        }
        out.push('\n');
    }
    for c in limit(&a.cycles, opts) {
        let locks: Vec<String> = c
            .edges
            .iter()
            .map(|e| format!("`{}`", obj(sym, e.held)))
            .collect();
        let _ = writeln!(
            out,
            "{} over {} locks {}: {} {}",
            st.paint("1;33", "lock-order cycle (potential deadlock)"),
            c.edges.len(),
            locks.join(" → "),
            c.count,
            if c.count == 1 { "occurrence" } else { "occurrences" }
        );
        for e in &c.edges {
            let also = if e.also_held.is_empty() {
                String::new()
            } else {
                let v: Vec<String> = e
                    .also_held
                    .iter()
                    .map(|o| format!("`{}`", obj(sym, *o)))
                    .collect();
                format!(", also holding {}", v.join(", "))
            };
            let _ = writeln!(
                out,
                "  {}: holds `{}`{} (taken at {}), requests `{}`{} at {}{also}",
                task(sym, e.task),
                obj(sym, e.held),
                mode(e.held_mode),
                loc(sym, e.held_at.loc),
                obj(sym, e.requested),
                mode(e.requested_mode),
                st.paint("1", &loc(sym, e.requested_at.loc)),
            );
        }
        out.push('\n');
    }
    if !opts.summary {
        for d in &a.diagnostics {
            let at = d.event.map(|e| format!("event {e}: ")).unwrap_or_default();
            let _ = writeln!(out, "{}: {at}{}", st.paint("33", "warning"), d.message);
        }
        for l in &a.lost {
            let _ = writeln!(out, "{}: {l}", st.paint("33", "damaged trace"));
        }
    }
    let shown_r = limit(&a.races, opts).len();
    let shown_c = limit(&a.cycles, opts).len();
    let _ = write!(
        out,
        "{} data race{}, {} lock-order cycle{}, {} diagnostic{} ({} events, {} tasks)",
        a.races.len(),
        if a.races.len() == 1 { "" } else { "s" },
        a.cycles.len(),
        if a.cycles.len() == 1 { "" } else { "s" },
        a.diagnostics.len(),
        if a.diagnostics.len() == 1 { "" } else { "s" },
        a.stats.events,
        a.stats.tasks,
    );
    if !opts.summary && (shown_r < a.races.len() || shown_c < a.cycles.len()) {
        let _ = write!(
            out,
            "; {shown_r} race(s) and {shown_c} cycle(s) shown (--max-reports)"
        );
    }
    if a.stats.cycle_bound_hit {
        let _ = write!(
            out,
            "; the lock-order cycle search hit its bound, longer cycles may exist"
        );
    }
    out.push('\n');
    out
}

fn site_json(sym: &Symbols, s: &Site) -> Value {
    json!({
        "event": s.event, "task": s.task, "task_name": task(sym, s.task),
        "location": s.loc.map(|_| loc(sym, s.loc)), "ts": s.ts,
    })
}

fn access_json(sym: &Symbols, a: &Access) -> Value {
    json!({
        "event": a.event, "task": a.task, "task_name": task(sym, a.task), "kind": a.kind.noun(),
        "location": a.loc.map(|_| loc(sym, a.loc)), "ts": a.ts,
    })
}

fn object_json(sym: &Symbols, id: ObjectId) -> Value {
    json!({ "id": id, "name": obj(sym, id) })
}

fn sync_json(sym: &Symbols, s: &SyncOp) -> Value {
    json!({
        "kind": s.kind.name(),
        "object": s.object.map(|o| object_json(sym, o)),
        "at": site_json(sym, &s.at),
        "partner": s.partner.map(|p| site_json(sym, &p)),
        "text": describe_sync(sym, s),
    })
}

/// The JSON report as a value (schema [`JSON_SCHEMA`], see the README).
pub fn json_value(a: &Analysis, opts: &ReportOptions) -> Value {
    let sym = &a.symbols;
    let races: Vec<Value> = limit(&a.races, opts)
        .iter()
        .map(|r| {
            json!({
                "rule": RULE_RACE,
                "variable": object_json(sym, r.var),
                "count": r.count,
                "first": access_json(sym, &r.first),
                "second": access_json(sym, &r.second),
                "explanation": {
                    "first_step": r.explanation.first_step,
                    "second_knew_of_first": r.explanation.second_knew_of_first,
                    "first_last_syncs": r.explanation.first.last_syncs.iter().map(|s| sync_json(sym, s)).collect::<Vec<_>>(),
                    "second_last_syncs": r.explanation.second.last_syncs.iter().map(|s| sync_json(sym, s)).collect::<Vec<_>>(),
                    "text": explain(sym, r),
                },
            })
        })
        .collect();
    let cycles: Vec<Value> = limit(&a.cycles, opts)
        .iter()
        .map(|c| {
            json!({
                "rule": RULE_CYCLE,
                "count": c.count,
                "edges": c.edges.iter().map(|e| json!({
                    "task": e.task, "task_name": task(sym, e.task),
                    "held": object_json(sym, e.held),
                    "held_mode": if e.held_mode == LockMode::Shared { "read" } else { "exclusive" },
                    "held_at": site_json(sym, &e.held_at),
                    "requested": object_json(sym, e.requested),
                    "requested_mode": if e.requested_mode == LockMode::Shared { "read" } else { "exclusive" },
                    "requested_at": site_json(sym, &e.requested_at),
                    "also_held": e.also_held.iter().map(|o| object_json(sym, *o)).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let s = &a.stats;
    json!({
        "schema": JSON_SCHEMA,
        "program": a.program,
        "summary": {
            "races": a.races.len(), "race_pairs": s.race_pairs, "cycles": a.cycles.len(),
            "diagnostics": a.diagnostics.len(), "lost": a.lost.len(),
            "events": s.events, "tasks": s.tasks, "accesses": s.accesses, "edges": s.edges,
            "acquisitions": s.acquisitions, "nested_acquisitions": s.nested_acquisitions,
            "max_pending": s.max_pending, "forced": s.forced, "cycle_bound_hit": s.cycle_bound_hit,
        },
        "races": races,
        "cycles": cycles,
        "diagnostics": if opts.summary { Vec::new() } else {
            a.diagnostics.iter().map(|d| json!({"event": d.event, "message": d.message})).collect::<Vec<_>>()
        },
        "lost": a.lost,
    })
}

/// The JSON report, pretty-printed, with a final newline.
pub fn json(a: &Analysis, opts: &ReportOptions) -> String {
    let mut s = serde_json::to_string_pretty(&json_value(a, opts)).expect("JSON values always serialize");
    s.push('\n');
    s
}

fn sarif_location(sym: &Symbols, l: Option<LocId>, text: Option<String>) -> Option<Value> {
    let l = sym.location(l?)?;
    let mut region = json!({ "startLine": l.line.max(1) });
    if l.column > 0 {
        region["startColumn"] = json!(l.column);
    }
    let mut v = json!({
        "physicalLocation": { "artifactLocation": { "uri": l.file }, "region": region }
    });
    if let Some(t) = text {
        v["message"] = json!({ "text": t });
    }
    Some(v)
}

/// The SARIF 2.1.0 log.
pub fn sarif(a: &Analysis, opts: &ReportOptions) -> String {
    let sym = &a.symbols;
    let mut results = Vec::new();
    for r in limit(&a.races, opts) {
        let msg = format!(
            "Data race on `{}`: {} by {} at {} and {} by {} at {} are not ordered by happens-before ({} occurrences). {}",
            obj(sym, r.var),
            r.first.kind.noun(),
            task(sym, r.first.task),
            loc(sym, r.first.loc),
            r.second.kind.noun(),
            task(sym, r.second.task),
            loc(sym, r.second.loc),
            r.count,
            explain(sym, r).join(". ")
        );
        let locations: Vec<Value> = sarif_location(sym, r.second.loc, None).into_iter().collect();
        let related: Vec<Value> = sarif_location(
            sym,
            r.first.loc,
            Some(format!("the other access ({})", r.first.kind.noun())),
        )
        .into_iter()
        .collect();
        results.push(json!({
            "ruleId": RULE_RACE, "level": "error", "message": { "text": msg },
            "locations": locations, "relatedLocations": related,
            "partialFingerprints": { "hbRace/v1": format!("{}:{}:{}", obj(sym, r.var), loc(sym, r.first.loc), loc(sym, r.second.loc)) },
        }));
    }
    for c in limit(&a.cycles, opts) {
        let parts: Vec<String> = c
            .edges
            .iter()
            .map(|e| {
                format!(
                    "{} holds `{}` (taken at {}) and requests `{}` at {}",
                    task(sym, e.task),
                    obj(sym, e.held),
                    loc(sym, e.held_at.loc),
                    obj(sym, e.requested),
                    loc(sym, e.requested_at.loc)
                )
            })
            .collect();
        let msg = format!(
            "Lock-order cycle over {} locks (potential deadlock, {} occurrences): {}",
            c.edges.len(),
            c.count,
            parts.join("; ")
        );
        let locations: Vec<Value> = c
            .edges
            .first()
            .and_then(|e| sarif_location(sym, e.requested_at.loc, None))
            .into_iter()
            .collect();
        let related: Vec<Value> = c
            .edges
            .iter()
            .flat_map(|e| {
                [
                    sarif_location(sym, e.held_at.loc, Some(format!("`{}` taken", obj(sym, e.held)))),
                    sarif_location(
                        sym,
                        e.requested_at.loc,
                        Some(format!("`{}` requested", obj(sym, e.requested))),
                    ),
                ]
            })
            .flatten()
            .collect();
        results.push(json!({
            "ruleId": RULE_CYCLE, "level": "warning", "message": { "text": msg },
            "locations": locations, "relatedLocations": related,
        }));
    }
    let doc = json!({
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{
            "tool": { "driver": {
                "name": "hb-analyze",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": [
                    { "id": RULE_RACE, "name": "DataRace",
                      "shortDescription": { "text": "Two accesses to a variable, at least one a write, not ordered by happens-before" },
                      "defaultConfiguration": { "level": "error" } },
                    { "id": RULE_CYCLE, "name": "LockOrderCycle",
                      "shortDescription": { "text": "Locks acquired in inconsistent orders by concurrent tasks: a potential deadlock" },
                      "defaultConfiguration": { "level": "warning" } },
                ],
            }},
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&doc).expect("JSON values always serialize");
    s.push('\n');
    s
}
