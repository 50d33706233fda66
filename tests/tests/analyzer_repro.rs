//! Minimal reproductions of analyzer behavior that disagrees with the reference texts.
//! Each test asserts the verdict of the reference; it is ignored while the analyzer
//! disagrees, and its twin (not ignored) shows the case the analyzer gets right.

use hb_analyzer::{analyze, dsl, Options};

/// A wait group whose counter returns to zero between two workers, as with `wg.Add(1)` in
/// the loop of `mutex_hb.go` (go-memory-model-reference.txt) when a worker finishes before
/// the next `Add`. The reference's table: "all Add/Done before Wait happen-before Wait
/// returns"; Go's race detector merges every `Done` into the group's clock and never
/// resets it. hb-analyzer keeps only the dones of the last phase (`phase_arrive` takes the
/// accumulated clock at each zero), so `T1`'s write is reported as racing with the read
/// after `Wait`.
const TWO_PHASES: &str = "
T0: spawn T1
T1: w r0 @1
T1: done wg 1 zero   # the counter is back to zero: nobody waits yet
T0: spawn T2         # after wg.Add(1)
T2: w r1 @2
T2: done wg 2 zero
T0: wait wg 2        # returns after both dones
T0: r r0 @3
T0: r r1 @4
";

#[test]
fn waitgroup_dones_of_earlier_phases_reach_wait() {
    let a = analyze(&dsl::parse(TWO_PHASES).unwrap(), &Options::default());
    assert!(
        a.races.is_empty(),
        "{}",
        hb_analyzer::report::text(&a, &Default::default())
    );
}

/// The same two workers in one phase (one `Add(2)`): no race, as expected.
#[test]
fn waitgroup_dones_of_one_phase_reach_wait() {
    let one_phase = TWO_PHASES.replace("done wg 1 zero", "done wg 1");
    let a = analyze(&dsl::parse(&one_phase).unwrap(), &Options::default());
    assert!(
        a.races.is_empty(),
        "{}",
        hb_analyzer::report::text(&a, &Default::default())
    );
    assert!(a.diagnostics.is_empty());
}
