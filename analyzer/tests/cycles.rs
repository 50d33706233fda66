//! Lock-order cycles (potential deadlocks), including the research benchmark traces.

use hb_analyzer::{analyze, dsl, Analysis, Options};

fn run(text: &str) -> Analysis {
    analyze(
        &dsl::parse(text).unwrap_or_else(|e| panic!("{e}")),
        &Options::default(),
    )
}

/// Each cycle as its held locks (by name) and count.
fn cycles(a: &Analysis) -> Vec<(Vec<String>, u64)> {
    a.cycles
        .iter()
        .map(|c| {
            (
                c.edges.iter().map(|e| a.symbols.object_name(e.held)).collect(),
                c.count,
            )
        })
        .collect()
}

const AB: &str = "T1: lock a 1\nT1: lock b 1 @2\nT1: unlock b 1\nT1: unlock a 1\n";
const BA: &str = "T2: lock b 2\nT2: lock a 2 @4\nT2: unlock a 2\nT2: unlock b 2\n";

#[test]
fn ab_ba_in_two_tasks_is_one_cycle() {
    let a = run(&format!("T0: spawn T1\nT0: spawn T2\n{AB}{BA}"));
    assert_eq!(cycles(&a), vec![(vec!["a".to_owned(), "b".to_owned()], 1)]);
    let e = &a.cycles[0].edges;
    assert_eq!((e[0].task, e[1].task), (1, 2));
    assert_eq!(e[0].requested_at.loc, Some(2));
    assert!(a.has_findings());
}

#[test]
fn a_common_guard_lock_suppresses_it() {
    let t = "T0: spawn T1\nT0: spawn T2\nT1: lock g 1\nT1: lock a 1\nT1: lock b 1\nT1: unlock b 1\nT1: unlock a 1\nT1: unlock g 1\n\
             T2: lock g 2\nT2: lock b 2\nT2: lock a 2\nT2: unlock a 2\nT2: unlock b 2\nT2: unlock g 2\n";
    assert_eq!(cycles(&run(t)), vec![]);
}

#[test]
fn tasks_ordered_by_spawn_and_join_cannot_deadlock() {
    let t = format!("T0: spawn T1\n{AB}T1: end\nT0: join T1\nT0: spawn T2\n{BA}");
    assert_eq!(cycles(&run(&t)), vec![]);
    // Ordered only by the locks themselves: still a cycle.
    let t = format!("T0: spawn T1\nT0: spawn T2\n{AB}{BA}T2: lock a 3\nT2: unlock a 3\n");
    assert_eq!(cycles(&run(&t)).len(), 1);
}

#[test]
fn three_locks_across_three_tasks() {
    let t = "T0: spawn T1\nT0: spawn T2\nT0: spawn T3\n\
             T1: lock a 1\nT1: lock b 1\nT1: unlock b 1\nT1: unlock a 1\n\
             T2: lock b 2\nT2: lock c 1\nT2: unlock c 1\nT2: unlock b 2\n\
             T3: lock c 2\nT3: lock a 2\nT3: unlock a 2\nT3: unlock c 2\n";
    assert_eq!(
        cycles(&run(t)),
        vec![(vec!["a".to_owned(), "b".to_owned(), "c".to_owned()], 1)]
    );
    let short = Options {
        max_cycle_len: 2,
        ..Options::default()
    };
    let a = analyze(&dsl::parse(t).unwrap(), &short);
    assert!(a.cycles.is_empty());
    assert!(a.stats.cycle_bound_hit, "the bound must be reported");
}

#[test]
fn rwlock_read_read_is_no_cycle_read_write_is() {
    let rr = "T0: spawn T1\nT0: spawn T2\nT1: rlock a 1\nT1: rlock b 1\nT1: runlock b 1\nT1: runlock a 1\n\
              T2: rlock b 2\nT2: rlock a 2\nT2: runlock a 2\nT2: runlock b 2\n";
    assert_eq!(cycles(&run(rr)), vec![]);
    let rw = "T0: spawn T1\nT0: spawn T2\nT1: rlock a 1\nT1: wlock b 1\nT1: wunlock b 1\nT1: runlock a 1\n\
              T2: rlock b 2\nT2: wlock a 2\nT2: wunlock a 2\nT2: runlock b 2\n";
    assert_eq!(cycles(&run(rw)).len(), 1);
}

#[test]
fn one_task_reversing_its_own_order_is_no_cycle() {
    let t = "T1: lock a 1\nT1: lock b 1\nT1: unlock b 1\nT1: unlock a 1\nT1: lock b 2\nT1: lock a 2\nT1: unlock a 2\nT1: unlock b 2\n";
    assert_eq!(cycles(&run(t)), vec![]);
}

#[test]
fn reentrant_acquisition_makes_no_self_edge() {
    let t = "T0: spawn T1\nT0: spawn T2\nT1: lock a 1\nT1: lock a 1\nT1: unlock a 1\nT1: unlock a 1\n\
             T2: lock a 2\nT2: lock a 2\nT2: unlock a 2\nT2: unlock a 2\n";
    let a = run(t);
    assert_eq!(cycles(&a), vec![]);
    assert_eq!(a.stats.nested_acquisitions, 0);
}

#[test]
fn a_thousand_repetitions_count_once() {
    let mut t = String::from("T0: spawn T1\nT0: spawn T2\n");
    for i in 0..1000 {
        let (s1, s2) = (2 * i + 1, 2 * i + 2);
        t.push_str(&format!(
            "T1: lock a {s1}\nT1: lock b {s1} @2\nT1: unlock b {s1}\nT1: unlock a {s1}\n"
        ));
        t.push_str(&format!(
            "T2: lock b {s2}\nT2: lock a {s2} @4\nT2: unlock a {s2}\nT2: unlock b {s2}\n"
        ));
    }
    assert_eq!(
        cycles(&run(&t)),
        vec![(vec!["a".to_owned(), "b".to_owned()], 1000)]
    );
}

fn research(name: &str) -> Option<Analysis> {
    let path = format!(
        "{}/../../shared/benchmarks/deadlock/std/{name}.std",
        env!("CARGO_MANIFEST_DIR")
    );
    if !std::path::Path::new(&path).exists() {
        eprintln!("{path} not found: skipped");
        return None;
    }
    Some(hb_analyzer::analyze_path(&path, &Options::default(), &mut |_| {}).unwrap())
}

#[test]
fn dining_philosophers_have_a_five_lock_cycle() {
    let Some(a) = research("DiningPhil") else { return };
    assert_eq!(a.cycles.len(), 1);
    let c = &a.cycles[0];
    assert_eq!(c.edges.len(), 5);
    let held: Vec<String> = c.edges.iter().map(|e| a.symbols.object_name(e.held)).collect();
    assert_eq!(held, ["L0", "L1", "L2", "L3", "L4"]);
    let tasks: std::collections::BTreeSet<u32> = c.edges.iter().map(|e| e.task).collect();
    assert_eq!(tasks.len(), 5);
    assert!(a.races.is_empty());
}

#[test]
fn string_buffer_really_deadlocked() {
    let Some(a) = research("StringBuffer") else { return };
    // The run ends with T1 holding L1 waiting for L2 and T2 holding L2 waiting for L1.
    assert!(a.diagnostics.iter().any(|d| d
        .message
        .contains("requested `L2` while holding `L1` and never got it")));
    assert!(a.diagnostics.iter().any(|d| d
        .message
        .contains("requested `L1` while holding `L2` and never got it")));
    assert!(!a.cycles.is_empty());
    assert!(a.cycles.iter().all(|c| c.edges.len() == 2));
}

#[test]
fn jigsaw_deep_reentrancy_makes_no_self_edges() {
    let Some(a) = research("jigsaw") else { return };
    assert!(a
        .cycles
        .iter()
        .all(|c| c.edges.iter().all(|e| e.held != e.requested)));
    assert!(!a.diagnostics.iter().any(|d| d.message.contains("does not hold")));
}
