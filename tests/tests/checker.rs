//! `hb_samples::check` must fail on every kind of wrong expectation, or the scenario tests
//! could not fail: here real recordings are checked against deliberately wrong ones.

mod common;

use common::record;
use hb_samples::{check, markers, ordered, race, EdgeKind, Expect, ExpectCycle, ExpectLockEdge, Scenario};

/// The messages of `check` for the recording `r` against `expect`.
fn mismatches(r: &common::Recorded, expect: Expect, with_trace: bool) -> Vec<String> {
    let s = Scenario {
        expect,
        ..*r.scenario
    };
    let trace = with_trace.then(|| hb_format::Trace::open(&r.trace).unwrap());
    match check(&s, &r.analysis, trace.as_ref()) {
        Ok(()) => Vec::new(),
        Err(m) => m.into_iter().map(|m| m.0).collect(),
    }
}

#[test]
fn wrong_race_expectations_are_reported() {
    let r = record("sleep-publish");
    let file = r.scenario.source.file;
    let lines = markers(r.scenario.source.text).unwrap();
    let (w, rd) = (lines["sleep-write"], lines["sleep-read"]);

    assert_eq!(mismatches(&r, r.scenario.expect, false), Vec::<String>::new());
    // Expected clean: the race is unexpected, with both lines.
    assert_eq!(
        mismatches(&r, Expect::CLEAN, false),
        [format!(
            "unexpected race on `msg` between {file}:{w} and {file}:{rd}"
        )]
    );
    // Wrong variable name.
    let m = mismatches(
        &r,
        Expect::races(const { &[race("message", "sleep-write", "sleep-read")] }),
        false,
    );
    assert_eq!(m.len(), 2, "{m:?}");
    assert!(m[0].starts_with("missing race on `message`"), "{m:?}");
    assert!(m[1].starts_with("unexpected race on `msg`"), "{m:?}");
    // One line off (the close-publish markers are in the same file, on other lines).
    let m = mismatches(
        &r,
        Expect::races(const { &[race("msg", "close-write", "sleep-read")] }),
        false,
    );
    assert!(m.iter().any(|x| x.starts_with("missing race on `msg`")), "{m:?}");
    // A second race that is not there.
    let m = mismatches(
        &r,
        Expect::races(
            const {
                &[
                    race("msg", "sleep-write", "sleep-read"),
                    race("msg", "sleep-write", "sleep-write"),
                ]
            },
        ),
        false,
    );
    assert_eq!(
        m,
        [format!("missing race on `msg` between {file}:{w} and {file}:{w}")]
    );
    // A marker the file does not have.
    let m = mismatches(
        &r,
        Expect::races(const { &[race("msg", "sleep-write", "no-such-marker")] }),
        false,
    );
    assert!(m.iter().any(|x| x.contains("marker `no-such-marker`")), "{m:?}");
}

#[test]
fn wrong_ordered_expectations_are_reported() {
    let r = record("close-publish");
    assert_eq!(mismatches(&r, r.scenario.expect, true), Vec::<String>::new());
    // An edge kind that is not in the trace.
    let m = mismatches(
        &r,
        Expect::clean(const { &[ordered("msg", "close-write", "close-read", EdgeKind::Atomic)] }),
        true,
    );
    assert_eq!(m, ["no atomic edge found (the order of `msg` relies on one)"]);
    // A line where this run accessed nothing (another scenario's line in the same file).
    let m = mismatches(
        &r,
        Expect::clean(const { &[ordered("msg", "close-write", "sleep-read", EdgeKind::ChanClose)] }),
        true,
    );
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(m[0].starts_with("no access to `msg` recorded at"), "{m:?}");
    // Ordered accesses cannot be checked without the trace.
    let m = mismatches(&r, r.scenario.expect, false);
    assert_eq!(
        m,
        ["the expectation names ordered accesses: check needs the trace"]
    );
}

#[test]
fn wrong_cycle_expectations_are_reported() {
    let r = record("lock-order-abba");
    assert_eq!(mismatches(&r, r.scenario.expect, false), Vec::<String>::new());
    let m = mismatches(&r, Expect::CLEAN, false);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(
        m[0].starts_with("unexpected lock-order cycle: holds `accounts`"),
        "{m:?}"
    );
    // The right locks at the wrong sites (the two acquisitions of `debit` swapped).
    const SWAPPED: &[ExpectCycle] = &[ExpectCycle {
        edges: &[
            ExpectLockEdge {
                held: "accounts",
                held_at: "abba-debit-ledger",
                requested: "ledger",
                requested_at: "abba-debit-accounts",
            },
            ExpectLockEdge {
                held: "ledger",
                held_at: "abba-audit-ledger",
                requested: "accounts",
                requested_at: "abba-audit-accounts",
            },
        ],
    }];
    let m = mismatches(&r, Expect::cycles(SWAPPED), false);
    assert_eq!(m.len(), 2, "{m:?}");
    assert!(m[0].starts_with("missing lock-order cycle"), "{m:?}");
    assert!(m[1].starts_with("unexpected lock-order cycle"), "{m:?}");
}
