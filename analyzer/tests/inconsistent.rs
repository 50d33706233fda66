//! Inconsistent traces: each inconsistency gets its exact diagnostic (not a panic, not a
//! hang), and the analysis of the rest goes on — every trace here also holds an
//! unrelated race on `z` (T0 at line 1, T1 at line 2) that must still be found, and no
//! other race. Each trace is analyzed in memory and, written as a binary file with small
//! batches (so the streaming merge sees its events in another order), through
//! `analyze_path`; both must agree.
//!
//! `tests/rules.rs` checks that these diagnostics exist; this file pins their text, their
//! event, the race elsewhere, the streaming path, cyclic and huge sequence numbers.

use hb_analyzer::{analyze, analyze_path, dsl, Analysis, Options};

/// The unrelated race every case carries.
const RACE: &str = "T0: w z @1\nT1: w z @2\n";

fn in_memory(text: &str) -> Analysis {
    let trace = dsl::parse(text).unwrap_or_else(|e| panic!("{e}"));
    analyze(&trace, &Options::default())
}

fn streamed(text: &str) -> Analysis {
    let trace = dsl::parse(text).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.hb");
    trace
        .write_binary(std::fs::File::create(&path).unwrap(), 2)
        .unwrap();
    analyze_path(&path, &Options::default(), &mut |_| {}).unwrap()
}

/// Analyzes `body` + the race both ways; checks the diagnostics are exactly `expect`
/// (event index in the in-memory trace, message) and that the race on `z` is the only
/// race found.
fn check(body: &str, expect: &[(u64, &str)]) {
    check_with(body, expect, true)
}

/// [`check`]; with `same_stream` false the streamed analysis need only diagnose something
/// (which of several conflicting facts is noticed first depends on the order of events).
fn check_with(body: &str, expect: &[(u64, &str)], same_stream: bool) {
    let text = format!("T0: spawn T1\n{body}{RACE}");
    let a = in_memory(&text);
    let got: Vec<(u64, &str)> = a
        .diagnostics
        .iter()
        .map(|d| (d.event.expect("diagnostic names its event"), d.message.as_str()))
        .collect();
    assert_eq!(got, expect, "in memory:\n{text}");
    let pairs = |a: &Analysis| -> Vec<(Option<u32>, Option<u32>)> {
        let mut v: Vec<_> = a
            .races
            .iter()
            .map(|r| {
                let (x, y) = (r.first.loc, r.second.loc);
                (x.min(y), x.max(y))
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(pairs(&a), vec![(Some(1), Some(2))], "in memory:\n{text}");
    let b = streamed(&text);
    let mut m1: Vec<&str> = a.diagnostics.iter().map(|d| d.message.as_str()).collect();
    let mut m2: Vec<&str> = b.diagnostics.iter().map(|d| d.message.as_str()).collect();
    m1.sort();
    m2.sort();
    if same_stream {
        assert_eq!(m1, m2, "streamed:\n{text}");
    } else {
        assert!(!m2.is_empty(), "streamed:\n{text}");
    }
    assert_eq!(pairs(&b), pairs(&a), "streamed:\n{text}");
    assert!(b.lost.is_empty());
}

#[test]
fn unlock_without_lock() {
    check(
        "T1: unlock m 0\n",
        &[(1, "T1 releases mutex `m`, which it does not hold: ignored")],
    );
    check(
        "T1: unlock m 5\n",
        &[(
            1,
            "T1 releases acquisition 5 of mutex `m`, which it does not hold",
        )],
    );
    check(
        "T1: wunlock l 1\n",
        &[(
            1,
            "T1 releases write acquisition 1 of rwlock `l`, which it does not hold: ignored",
        )],
    );
}

#[test]
fn receive_of_a_send_that_never_happened() {
    check(
        "T1: recv c 3\n",
        &[(
            1,
            "receive of message 3 on channel `c`, which was never sent (or was received twice): no edge",
        )],
    );
    check(
        "T1: recv c closed 2\n",
        &[(
            1,
            "receive on channel `c` reported it closed after 2 closes, but only 0 are in the trace",
        )],
    );
}

#[test]
fn join_of_an_unknown_task() {
    check("T0: join T7\n", &[(1, "join of unknown task 7: no edge")]);
    check(
        "T0: join T4294967295\n",
        &[(1, "join of unknown task 4294967295: no edge")],
    );
}

#[test]
fn sequence_gaps() {
    check(
        "T0: lock m 1\nT0: unlock m 1\nT1: lock m 3\nT1: unlock m 3\n",
        &[(
            3,
            "mutex `m`: acquisitions 2..2 are not in the trace; acquisition 3 gets no edge",
        )],
    );
    check(
        "T0: store a 1 rel\nT0: store a 4 rel\nT1: load a 3 acq\n",
        &[
            (
                2,
                "atomic `a`: 2 of the writes numbered 1..=4 are not in the trace (events were lost)",
            ),
            (3, "atomic `a`: version 3 was never written: no edge"),
        ],
    );
    check(
        "T1: wait w 3\n",
        &[(
            1,
            "waitgroup `w`: the phase ended by arrival 3 is not in the trace: no edge",
        )],
    );
}

#[test]
fn sequence_duplicates() {
    check(
        "T0: lock m 1\nT0: unlock m 1\nT1: lock m 1\nT1: unlock m 1\n",
        &[(
            3,
            "mutex `m`: acquisition 1 is recorded twice; acquisition 1 gets no edge",
        )],
    );
    check(
        "T0: send c 1\nT0: send c 1\nT1: recv c 1\n",
        &[(3, "message 1 of channel `c` is sent twice; the last send counts")],
    );
    check(
        "T0: store a 1 rel\nT0: store a 1 rel\nT1: load a 1 acq\n",
        &[(2, "atomic `a`: version 1 is written twice")],
    );
    check(
        "T0: done w 1\nT0: done w 1 zero\nT1: wait w 1\n",
        &[(2, "waitgroup `w`: arrival 1 is recorded twice")],
    );
}

#[test]
fn events_after_a_tasks_end() {
    check(
        "T0: spawn T2\nT2: end\nT2: w q @5\n",
        &[(3, "T2 has events after its end; they are analyzed anyway")],
    );
}

#[test]
fn spawned_twice_and_joined_by_itself() {
    check_with(
        "T1: spawn T1\nT0: spawn T1\nT1: join T1\n",
        &[
            (
                1,
                "spawn of T1 comes after T1's first event in happens-before order; no spawn edge",
            ),
            (
                2,
                "spawn of T1 comes after T1's first event in happens-before order; no spawn edge",
            ),
            (
                3,
                "join of T1, whose end is not in the trace: joined its last event (event 3) instead",
            ),
        ],
        false,
    );
}

/// Dependencies that wait on each other (T1's lock m 2 needs T2's unlock m 1, which comes
/// after T2's lock n 2, which needs T1's unlock n 1, which comes after T1's lock m 2):
/// the merge must force one through instead of waiting forever.
#[test]
fn cyclic_dependencies_do_not_hang() {
    check(
        "T0: spawn T2\nT1: lock m 2\nT1: unlock m 2\nT1: lock n 1\nT1: unlock n 1\nT2: lock n 2\nT2: lock m 1\nT2: unlock m 1\nT2: unlock n 2\n",
        &[
            (2, "mutex `m`: acquisitions 1..1 are not in the trace; acquisition 2 gets no edge"),
            (7, "mutex `m`: acquisition 1 is recorded twice; acquisition 1 gets no edge"),
        ],
    );
}

/// Sequence numbers at the top of their range: no loop over the gap, no overflow.
#[test]
fn huge_sequence_numbers() {
    let max = u64::MAX;
    check(
        &format!(
            "T1: lock m {max}\nT1: unlock m {max}\nT1: recv c {max}\nT1: wait w {max}\nT1: load a {max} acq\nT1: leave b {max}\nT1: rmw a {max} acqrel\n"
        ),
        &[
            (
                1,
                "mutex `m`: acquisitions 1..18446744073709551614 are not in the trace; acquisition 18446744073709551615 gets no edge",
            ),
            (
                3,
                "receive of message 18446744073709551615 on channel `c`, which was never sent (or was received twice): no edge",
            ),
            (
                4,
                "waitgroup `w`: the phase ended by arrival 18446744073709551615 is not in the trace: no edge",
            ),
            (5, "atomic `a`: version 18446744073709551615 was never written: no edge"),
            (
                6,
                "barrier `b`: the phase ended by arrival 18446744073709551615 is not in the trace: no edge",
            ),
            (
                7,
                "atomic `a`: 18446744073709551614 of the writes numbered 1..=18446744073709551615 are not in the trace (events were lost)",
            ),
            (7, "atomic `a`: version 18446744073709551614 was never written: no edge"),
        ],
    );
}

/// A gap in a channel's send numbers (message 2 never sent) on an unbounded channel
/// changes no edge, but it means the trace lost events; mutex gaps are diagnosed, these
/// are not (nor are gaps in atomic store versions nobody loads).
#[test]
fn gaps_that_no_partner_names_are_diagnosed_too() {
    for body in [
        "T0: send c 1\nT0: send c 3\nT1: recv c 1\nT1: recv c 3\n",
        "T0: store a 1 rel\nT0: store a 3 rel\nT1: load a 3 acq\n",
    ] {
        let a = in_memory(&format!("T0: spawn T1\n{body}{RACE}"));
        assert!(
            a.diagnostics
                .iter()
                .any(|d| d.message.contains("not in the trace")),
            "no diagnostic for the gap in:\n{body}\n{:?}",
            a.diagnostics
        );
    }
}

/// Found by the `analyze` fuzz target (fuzz/README.md): a wait-group done or barrier
/// arrival numbered `u64::MAX`, forced through, leaves the phase counter at `u64::MAX`;
/// the next done's readiness check computes `count + 1` (analyzer/src/engine.rs, the
/// `WaitGroupDone | BarrierArrive` arm of the merge's readiness test): an overflow panic in
/// debug builds, and in release a wrap to 0 that makes every later done wait, forced
/// through one by one with misleading diagnostics.
#[test]
fn done_numbered_u64_max_then_another_done() {
    for body in [
        "T1: done w 18446744073709551615 zero\nT1: done w 5\n",
        "T1: arrive b 18446744073709551615 last\nT1: arrive b 5\n",
    ] {
        let text = format!("T0: spawn T1\n{body}{RACE}");
        let a = in_memory(&text);
        assert_eq!(a.races.len(), 1, "{text}");
        assert!(!a.diagnostics.is_empty(), "{text}");
    }
}
