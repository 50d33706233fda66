//! Dropping access records that can no longer race ([`Options::prune_every`]) never changes
//! the findings: when a task turns up that the analysis could not foresee, it starts over
//! without dropping ([`Stats::restarted`](hb_analyzer::Stats)).

mod common;

use common::ev;
use hb_analyzer::{analyze, analyze_path, Analysis, Options};
use hb_format::{Def, Event, EventKind, Header, LocId, ObjectId, ObjectKind, Trace, TraceWriter};

const X: ObjectId = 1;
const M: ObjectId = 2;

/// A trace with root task T0 and the given task definitions: T0 writes `x` at line 1, then
/// locks and unlocks its own mutex 5,000 times (so every record of its accesses before is
/// dead to anyone that sees the lock's later steps), reads `x` at line 2 and synchronizes
/// 5,000 times more.
fn t0_writes_then_reads(defs: impl IntoIterator<Item = Def>) -> Trace {
    let mut t = Trace::new(Header::new("pruning"));
    t.define(Def::str(0, "p.rs"));
    for l in 1..=5 {
        t.define(Def::loc(l, 0, l));
    }
    t.define(Def::task(0, None));
    t.define(Def::object(X, ObjectKind::Variable));
    t.define(Def::object(M, ObjectKind::Mutex));
    for def in defs {
        t.define(def);
    }
    ev(&mut t, 0, 1, EventKind::VarWrite { var: X });
    for seq in 1..=5000 {
        ev(&mut t, 0, 5, EventKind::MutexLock { mutex: M, seq });
        ev(&mut t, 0, 5, EventKind::MutexUnlock { mutex: M, seq });
    }
    ev(&mut t, 0, 2, EventKind::VarRead { var: X });
    // And as many again, so that the read is analyzed before any later task is known.
    for seq in 5001..=10_000 {
        ev(&mut t, 0, 5, EventKind::MutexLock { mutex: M, seq });
        ev(&mut t, 0, 5, EventKind::MutexUnlock { mutex: M, seq });
    }
    t
}

/// The racing line pairs on `x`, as (first line, second line).
fn races(a: &Analysis) -> Vec<(LocId, LocId)> {
    a.races
        .iter()
        .filter(|r| r.var == X)
        .map(|r| (r.first.loc.unwrap(), r.second.loc.unwrap()))
        .collect()
}

/// T0 as in [`t0_writes_then_reads`], then task 9, which nobody defined and nothing
/// ordered, writes `x` at line 3: it races with both of T0's accesses.
fn late_root(define_it: bool) -> Trace {
    let defs = define_it.then(|| Def::task(9, None));
    let mut t = t0_writes_then_reads(defs);
    ev(&mut t, 9, 3, EventKind::VarWrite { var: X });
    t
}

#[test]
fn a_root_nobody_defined_that_starts_late_restarts_the_analysis() {
    let a = analyze(&late_root(false), &Options::default());
    assert!(
        a.stats.restarted,
        "T0's write was dropped before task 9 turned up"
    );
    assert_eq!(races(&a), [(1, 3), (2, 3)]);
    // Without dropping: the same findings, no restart.
    let exact = analyze(
        &late_root(false),
        &Options {
            prune_every: 0,
            ..Options::default()
        },
    );
    assert!(!exact.stats.restarted);
    assert_eq!(exact.stats.records_dropped, 0);
    assert_eq!(format!("{:?}", exact.races), format!("{:?}", a.races));
}

#[test]
fn a_root_defined_up_front_keeps_every_record_it_may_race_with() {
    let a = analyze(&late_root(true), &Options::default());
    assert!(
        !a.stats.restarted,
        "a known root that has not started keeps every record"
    );
    assert_eq!(races(&a), [(1, 3), (2, 3)]);
}

#[test]
fn a_root_defined_late_in_a_streamed_file_restarts_the_analysis() {
    let trace = late_root(false);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("late.hbt");
    let mut w = TraceWriter::new(std::fs::File::create(&path).unwrap(), &trace.header).unwrap();
    let (t0, t9): (Vec<Event>, Vec<Event>) = trace.events.iter().partition(|e| e.task == 0);
    w.write_events(0, &trace.defs, &t0).unwrap();
    // Task 9 is defined only in the frame of its events, at the end of the file.
    w.write_events(9, &[Def::task(9, None)], &t9).unwrap();
    drop(w);
    let a = analyze_path(&path, &Options::default(), &mut |_| {}).unwrap();
    assert!(a.stats.restarted);
    assert_eq!(races(&a), [(1, 3), (2, 3)]);
    assert_eq!(a.stats.events, trace.events.len() as u64);
}

#[test]
fn a_child_spawned_late_is_foreseen_and_records_are_dropped() {
    // T0 spawns T1 after its accesses: T1 sees them all, but races with T0's write at
    // line 4 after the spawn.
    let mut t = t0_writes_then_reads([Def::task(1, Some(0))]);
    ev(&mut t, 0, 5, EventKind::TaskSpawn { child: 1 });
    ev(&mut t, 0, 4, EventKind::VarWrite { var: X });
    ev(&mut t, 1, 3, EventKind::VarWrite { var: X });
    let a = analyze(&t, &Options::default());
    assert!(!a.stats.restarted);
    assert!(a.stats.records_dropped > 0, "T0's write at line 1 is dropped");
    assert_eq!(races(&a), [(4, 3)]);
}

#[test]
fn a_task_going_on_after_its_end_restarts_the_analysis() {
    // T1 writes `x` and ends; T0 joins it, synchronizes, reads `x` (T1's write is
    // dropped: T0, the only task left, is ordered after it), then T1 writes again after
    // its end, unordered with T0's read.
    let mut t = Trace::new(Header::new("pruning"));
    t.define(Def::str(0, "p.rs"));
    for l in 1..=5 {
        t.define(Def::loc(l, 0, l));
    }
    t.define(Def::task(0, None));
    t.define(Def::task(1, Some(0)));
    t.define(Def::object(X, ObjectKind::Variable));
    t.define(Def::object(M, ObjectKind::Mutex));
    ev(&mut t, 0, 5, EventKind::TaskSpawn { child: 1 });
    ev(&mut t, 1, 1, EventKind::VarWrite { var: X });
    ev(&mut t, 1, 5, EventKind::TaskEnd);
    ev(&mut t, 0, 5, EventKind::TaskJoin { child: 1 });
    for seq in 1..=5000 {
        ev(&mut t, 0, 5, EventKind::MutexLock { mutex: M, seq });
        ev(&mut t, 0, 5, EventKind::MutexUnlock { mutex: M, seq });
    }
    ev(&mut t, 0, 2, EventKind::VarRead { var: X });
    ev(&mut t, 1, 3, EventKind::VarWrite { var: X });
    let a = analyze(&t, &Options::default());
    assert!(a.stats.restarted);
    assert_eq!(races(&a), [(2, 3)]);
    assert!(a.diagnostics.iter().any(|d| d.message.contains("after its end")));
}

#[cfg(unix)]
#[test]
fn a_trace_read_from_a_pipe_is_analyzed_without_dropping_records() {
    // A pipe cannot be read twice: the analysis does not drop records, so it never has to
    // start over, and finds both races of the late root.
    let trace = late_root(false);
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("trace.pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let writer = {
        let (fifo, trace) = (fifo.clone(), late_root(false));
        std::thread::spawn(move || {
            let out = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
            let mut w = TraceWriter::new(out, &trace.header).unwrap();
            let (t0, t9): (Vec<Event>, Vec<Event>) = trace.events.iter().partition(|e| e.task == 0);
            w.write_events(0, &trace.defs, &t0).unwrap();
            w.write_events(9, &[Def::task(9, None)], &t9).unwrap();
        })
    };
    let a = analyze_path(&fifo, &Options::default(), &mut |_| {}).unwrap();
    writer.join().unwrap();
    assert!(!a.stats.restarted);
    assert_eq!(a.stats.records_dropped, 0);
    assert_eq!(races(&a), [(1, 3), (2, 3)]);
    assert_eq!(a.stats.events, trace.events.len() as u64);
}
