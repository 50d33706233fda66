//! One end-to-end test per sample scenario: record it in a child process with hb's
//! recorder, analyze the trace with hb-analyzer, and assert the exact findings — the number
//! of races and cycles, the variables, both source lines of every race (from the
//! `// hb:mark(..)` markers of the scenario's source), the locks and acquisition lines of
//! every cycle, the recorded accesses and the edge kind behind every clean verdict, and no
//! analyzer diagnostics.

mod common;

use common::{record, text, Recorded};

/// Asserts everything the scenario expects; returns the recording for extra assertions.
fn assert_scenario(name: &str) -> Recorded {
    let r = record(name);
    let (a, e) = (&r.analysis, &r.scenario.expect);
    assert!(
        a.diagnostics.is_empty() && a.lost.is_empty(),
        "{name}: a clean recording must not produce diagnostics or damage:\n{}",
        text(a)
    );
    assert_eq!(
        a.races.len(),
        e.races.len(),
        "{name}: number of races\n{}",
        text(a)
    );
    assert_eq!(
        a.cycles.len(),
        e.cycles.len(),
        "{name}: number of lock-order cycles\n{}",
        text(a)
    );
    let mut found: Vec<String> = a.races.iter().map(|x| a.symbols.object_name(x.var)).collect();
    let mut expected: Vec<&str> = e.races.iter().map(|x| x.var).collect();
    found.sort();
    expected.sort_unstable();
    assert_eq!(found, expected, "{name}: racing variables\n{}", text(a));
    for race in &a.races {
        assert_ne!(
            race.first.task, race.second.task,
            "{name}: a race is between two tasks"
        );
        assert!(
            race.first.kind.is_write() || race.second.kind.is_write(),
            "{name}: a race has a write"
        );
    }
    if let Err(mismatches) = &r.verdict {
        let list: Vec<String> = mismatches.iter().map(|m| format!("  - {m}")).collect();
        panic!(
            "{name}: findings differ from the expectation:\n{}\n\n{}",
            list.join("\n"),
            text(a)
        );
    }
    r
}

/// Declares one test per scenario and the list of tested names.
macro_rules! scenario_tests {
    ($($(#[$attr:meta])* $test:ident => $name:literal,)*) => {
        $(
            $(#[$attr])*
            #[test]
            fn $test() {
                assert_scenario($name);
            }
        )*
        /// Every scenario name with a test above.
        const TESTED: &[&str] = &[$($name),*];
    };
}

scenario_tests! {
    close_publish => "close-publish",
    sleep_publish => "sleep-publish",
    mutex_counter => "mutex-counter",
    racy_counter => "racy-counter",
    waitgroup_results => "waitgroup-results",
    waitgroup_add_in_loop => "waitgroup-add-in-loop",
    waitgroup_scope => "waitgroup-scope",
    once_init => "once-init",
    double_checked_locking => "double-checked-locking",
    atomic_flag => "atomic-flag",
    plain_flag => "plain-flag",
    relaxed_flag => "relaxed-flag",
    semaphore_cap1 => "semaphore-cap1",
    semaphore_cap2 => "semaphore-cap2",
    unbuffered_handoff => "unbuffered-handoff",
    buffered_handoff => "buffered-handoff",
    rwlock_readers => "rwlock-readers",
    rwlock_write_under_read => "rwlock-write-under-read",
    cow_snapshot => "cow-snapshot",
    cow_mutated => "cow-mutated",
    mixed_channel_map => "mixed-channel-map",
    lock_order_gated => "lock-order-gated",
    exit_no_join => "exit-no-join",
    exit_join => "exit-join",
}

/// Item 16: beyond the findings, the two accesses really are a million accesses apart.
#[test]
fn far_apart() {
    let r = assert_scenario("far-apart");
    let race = &r.analysis.races[0];
    assert!(
        race.second.event - race.first.event > 1_000_000,
        "the racing accesses are events {} and {}",
        race.first.event,
        race.second.event
    );
    assert!(r.analysis.stats.accesses > 1_000_000, "{:?}", r.analysis.stats);
    assert!(r.analysis.stats.acquisitions >= 500_000, "{:?}", r.analysis.stats);
}

/// Item 17: beyond the locks and sites, the cycle's two edges come from the two tasks.
#[test]
fn lock_order_abba() {
    let r = assert_scenario("lock-order-abba");
    let sym = &r.analysis.symbols;
    let mut tasks: Vec<String> = r.analysis.cycles[0]
        .edges
        .iter()
        .map(|e| sym.task_name(e.task))
        .collect();
    tasks.sort();
    assert_eq!(tasks, ["audit", "debit"]);
}

#[test]
fn every_scenario_has_a_test() {
    let mut tested: Vec<&str> = TESTED.to_vec();
    tested.extend(["far-apart", "lock-order-abba"]);
    tested.sort_unstable();
    let mut all: Vec<&str> = hb_samples::scenarios().iter().map(|s| s.name).collect();
    all.sort_unstable();
    assert_eq!(tested, all);
}
