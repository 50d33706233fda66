//! Shared test helpers: per-process isolation and trace inspection.
//!
//! The recorder is process-global (a process records at most one trace), so every test
//! that records runs its body in a fresh process: the test re-executes its own binary,
//! filtered to itself, with `HB_TEST_CHILD` naming it.

#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::process::{Command, Output};

use hb_format::{Event, EventKind, ObjectId, TaskId, Trace, TraceReader};
use hb_recorder::{MemoryWriter, Recorder};

/// Whether this process is the child running test `name`.
pub fn is_child(name: &str) -> bool {
    std::env::var("HB_TEST_CHILD").as_deref() == Ok(name)
}

/// Runs test `name` in a child process; returns its output.
pub fn run_child(name: &str, extra_env: &[(&str, &str)]) -> Output {
    let exe = std::env::current_exe().expect("test binary path");
    let mut cmd = Command::new(exe);
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env("HB_TEST_CHILD", name)
        .env_remove("HB_TRACE");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    cmd.output().expect("run the test binary")
}

/// Runs `body` in a child process of its own (see the module docs); fails if it fails.
pub fn isolated(name: &str, body: impl FnOnce()) {
    if is_child(name) {
        body();
        return;
    }
    let out = run_child(name, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "isolated test {name} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Records `body` into memory and returns the bytes.
pub fn record_bytes(body: impl FnOnce()) -> Vec<u8> {
    let out = MemoryWriter::new();
    let guard = Recorder::builder()
        .writer(out.clone())
        .install()
        .expect("install");
    body();
    let summary = guard.finish().expect("finish");
    let bytes = out.contents();
    assert_eq!(summary.bytes, bytes.len() as u64, "summary counts every byte");
    bytes
}

/// Records `body` and reads the trace back, checking it is intact and that every id is
/// defined before its first use.
pub fn record(body: impl FnOnce()) -> Trace {
    let bytes = record_bytes(body);
    check_defs_precede_use(&bytes);
    let trace = Trace::read_binary(&bytes[..]).expect("readable trace");
    assert!(trace.warnings.is_empty(), "trace damaged: {:?}", trace.warnings);
    trace
}

/// Asserts the format invariant: a definition precedes, in file order, every event using
/// its id.
pub fn check_defs_precede_use(bytes: &[u8]) {
    let reader = TraceReader::new(bytes).expect("header");
    let mut tasks = std::collections::HashSet::new();
    let mut objects = std::collections::HashSet::new();
    let mut locs = std::collections::HashSet::new();
    let mut strs = std::collections::HashSet::new();
    for frame in reader {
        let frame = frame.expect("intact frame");
        for d in &frame.defs {
            match d {
                hb_format::Def::Str { id, .. } => {
                    strs.insert(*id);
                }
                hb_format::Def::Loc { id, file, .. } => {
                    assert!(strs.contains(file), "loc {id} uses undefined string {file}");
                    locs.insert(*id);
                }
                hb_format::Def::Task { id, .. } => {
                    tasks.insert(*id);
                }
                hb_format::Def::Object { id, loc, .. } => {
                    if let Some(l) = loc {
                        assert!(locs.contains(l), "object {id} uses undefined loc {l}");
                    }
                    objects.insert(*id);
                }
            }
        }
        for e in &frame.events {
            assert!(tasks.contains(&e.task), "event {e:?} of an undefined task");
            if let Some(l) = e.loc {
                assert!(locs.contains(&l), "event {e:?} uses undefined loc {l}");
            }
            if let Some(o) = e.kind.object() {
                assert!(objects.contains(&o), "event {e:?} uses undefined object {o}");
            }
            match e.kind {
                EventKind::TaskSpawn { child } | EventKind::TaskJoin { child } => {
                    assert!(tasks.contains(&child), "event {e:?} names an undefined task")
                }
                EventKind::CondvarWaitBegin { mutex, .. } | EventKind::CondvarWaitEnd { mutex, .. } => {
                    assert!(objects.contains(&mutex), "event {e:?} names an undefined mutex")
                }
                EventKind::SpanEnter { name, .. } => assert!(strs.contains(&name)),
                EventKind::UserEvent { message } => assert!(strs.contains(&message)),
                _ => {}
            }
        }
    }
}

/// The id of the object named `name`.
pub fn obj(trace: &Trace, name: &str) -> ObjectId {
    let ids: Vec<_> = trace
        .symbols
        .objects()
        .filter(|o| o.name.as_deref() == Some(name))
        .map(|o| o.id)
        .collect();
    assert_eq!(ids.len(), 1, "exactly one object named {name}: {ids:?}");
    ids[0]
}

/// The id of the task named `name`.
pub fn task(trace: &Trace, name: &str) -> TaskId {
    let ids: Vec<_> = trace
        .symbols
        .tasks()
        .filter(|t| t.name.as_deref() == Some(name))
        .map(|t| t.id)
        .collect();
    assert_eq!(ids.len(), 1, "exactly one task named {name}: {ids:?}");
    ids[0]
}

/// The events of `task` as (kind, line), checking every location is in `file`.
pub fn lane(trace: &Trace, task: TaskId, file: &str) -> Vec<(EventKind, Option<u32>)> {
    trace
        .task_events(task)
        .map(|e: &Event| {
            let line = e.loc.map(|l| {
                let loc = trace.symbols.location(l).expect("defined location");
                assert!(
                    loc.file.ends_with(file),
                    "event {:?} located in {} instead of {file}",
                    e.kind,
                    loc.file
                );
                loc.line
            });
            (e.kind, line)
        })
        .collect()
}

/// Every event, grouped by object.
pub fn by_object(trace: &Trace) -> HashMap<ObjectId, Vec<&Event>> {
    let mut m: HashMap<ObjectId, Vec<&Event>> = HashMap::new();
    for e in &trace.events {
        if let Some(o) = e.kind.object() {
            m.entry(o).or_default().push(e);
        }
    }
    m
}
