//! WaitGroup: workers publish results to the task that waits, and only to it.

use std::time::Duration;

use hb_recorder::sync::{Arc, WaitGroup};
use hb_recorder::{thread, Shared};

use crate::{ordered, race, EdgeKind, Expect, Scenario, Source};

const SOURCE: Source = Source {
    file: file!(),
    text: include_str!("waitgroup.rs"),
};

/// Workers of both scenarios, each writing its own slot of `results`.
const WORKERS: usize = 2;

pub(crate) const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "waitgroup-results",
        item: 5,
        summary: "workers write `results[i]` and call Done; the parent reads them after Wait",
        why: "each worker's write → its Done → the parent's Wait → the reads",
        reference: "go-memory-model-patterns.txt, waitGroupHappensBefore; race-detector-limits.txt, \"WaitGroup edge scope (correct usage)\"",
        expect: Expect::clean(&[ordered("results[0]", "work-write", "waiter-read", EdgeKind::WaitGroup)]),
        run: waitgroup_results,
        source: SOURCE,
    },
    Scenario {
        name: "waitgroup-add-in-loop",
        item: 5,
        summary: "Add(1) before each worker (as mutex_hb.go); the first Done brings the counter to zero before the second Add",
        why: "both Dones come before the Wait that returns (\"all Add/Done before Wait happen-before Wait returns\")",
        reference: "go-memory-model-reference.txt, edge table: \"all Add/Done before Wait happen-before Wait returns\" (mutex_hb.go calls Add(1) in its loop)",
        expect: Expect::clean(&[
            ordered("results[0]", "loop-write", "loop-read", EdgeKind::WaitGroup),
            ordered("results[1]", "loop-write", "loop-read", EdgeKind::WaitGroup),
        ]),
        run: waitgroup_add_in_loop,
        source: SOURCE,
    },
    Scenario {
        name: "waitgroup-scope",
        item: 6,
        summary: "a reporter task spawned before Wait reads `results` once the workers are done, without waiting itself",
        why: "Done → Wait reaches the waiter only; the reporter waited for nobody, so the writes are unordered with its reads",
        reference: "race-detector-limits.txt, \"WaitGroup and the Exact Scope of Its Happens-Before Edge\"",
        expect: Expect::races(&[
            race("results[0]", "work-write", "reporter-read"),
            race("results[1]", "work-write", "reporter-read"),
        ]),
        run: waitgroup_scope,
        source: SOURCE,
    },
];

/// `results[i]` of the worker `i`, as in the reference texts' `compute(idx)`.
fn compute(i: usize) -> u64 {
    (i as u64 + 1) * 10
}

/// Spawns the workers: each writes its slot, then calls `Done`.
fn start_workers(results: &Arc<Vec<Shared<u64>>>, wg: &Arc<WaitGroup>) -> Vec<thread::JoinHandle<()>> {
    wg.add(WORKERS as i64);
    (0..WORKERS)
        .map(|i| {
            let (results, wg) = (Arc::clone(results), Arc::clone(wg));
            thread::spawn(move || {
                results[i].set(compute(i)); // hb:mark(work-write)
                wg.done();
            })
        })
        .collect()
}

fn new_results() -> Arc<Vec<Shared<u64>>> {
    Arc::new(
        (0..WORKERS)
            .map(|i| Shared::new(format!("results[{i}]"), 0))
            .collect(),
    )
}

/// Item 5 — workers write results, `Wait`, then the waiter reads: no race.
///
/// Reproduces `waitGroupHappensBefore` of go-memory-model-patterns.txt and the "correct
/// usage" listing of race-detector-limits.txt.
///
/// Why no race: each worker's write → its `Done` (program order) → the parent's `Wait`,
/// which returns only once the counter reached zero (the WaitGroup edge from every `Done`
/// of the phase) → the reads (program order).
pub(crate) fn waitgroup_results() {
    let results = new_results();
    let wg = Arc::new(WaitGroup::named("wg"));
    let workers = start_workers(&results, &wg);
    wg.wait();
    let sum: u64 = results.iter().map(|r| r.get()).sum(); // hb:mark(waiter-read)
    assert_eq!(sum, (0..WORKERS).map(compute).sum::<u64>());
    // Joined for a complete trace; after the reads, so they order nothing before them.
    for w in workers {
        w.join().unwrap();
    }
}

/// Item 5, twin — `Add(1)` before each worker, the counter back at zero in between: no
/// race.
///
/// `mutex_hb.go` of go-memory-model-reference.txt calls `wg.Add(1)` in its loop, so a
/// worker may finish — its `Done` bringing the counter to zero — before the loop adds the
/// next one. This run makes that happen every time: the parent polls `count()` (no event,
/// no edge) until the first worker's `Done` has brought the counter to zero, and only then
/// adds and spawns the second worker; then it waits and reads both results.
///
/// Why no race: the reference's table says "all Add/Done before Wait happen-before Wait
/// returns", and Go's race detector models it so (every `Done` merges its clock into the
/// group's, which `Wait` acquires; nothing resets it). Both `Done`s precede the parent's
/// `Wait` (it observes the second, which follows the first in the group's order), so both
/// writes are ordered before the reads.
pub(crate) fn waitgroup_add_in_loop() {
    let results = new_results();
    let wg = Arc::new(WaitGroup::named("wg"));
    let mut workers = Vec::new();
    for i in 0..WORKERS {
        wg.add(1);
        let (results, w) = (Arc::clone(&results), Arc::clone(&wg));
        workers.push(thread::spawn(move || {
            results[i].set(compute(i)); // hb:mark(loop-write)
            w.done();
        }));
        while wg.count() > 0 {
            thread::sleep(Duration::from_millis(1));
        }
    }
    wg.wait();
    let sum: u64 = results.iter().map(|r| r.get()).sum(); // hb:mark(loop-read)
    assert_eq!(sum, (0..WORKERS).map(compute).sum::<u64>());
    for w in workers {
        w.join().unwrap();
    }
}

/// Item 6 — WaitGroup scope: a task spawned before `Wait` reads the results after the
/// workers finish: race.
///
/// Reproduces race-detector-limits.txt: the WaitGroup edge "protects exactly one: the
/// goroutine that called Wait"; "a goroutine spawned before Wait that reads results after
/// the WaitGroup finishes has no happens-before edge to the workers". The reporter polls
/// the group's counter (`count()`, an observation the recorder does not record and the
/// memory model does not know — Go has no such call) and sleeps between polls, so it reads
/// only after every worker called `Done`.
///
/// Why a race: the `Done` → `Wait` edges reach the parent only. The reporter was spawned
/// before the parent waited, and nothing leads from the parent's `Wait` (or from any
/// worker) to it, so each worker's write is unordered with the reporter's read of it — one
/// race per slot. The parent's own reads after `Wait` are ordered.
pub(crate) fn waitgroup_scope() {
    let results = new_results();
    let wg = Arc::new(WaitGroup::named("wg"));
    let workers = start_workers(&results, &wg);
    let reporter = {
        let (results, wg) = (Arc::clone(&results), Arc::clone(&wg));
        thread::Builder::new()
            .name("reporter".into())
            .spawn(move || {
                while wg.count() > 0 {
                    thread::sleep(Duration::from_millis(1));
                }
                results.iter().map(|r| r.get()).sum::<u64>() // hb:mark(reporter-read)
            })
            .unwrap()
    };
    wg.wait();
    let sum: u64 = results.iter().map(|r| r.get()).sum(); // hb:mark(scope-waiter-read)
    assert_eq!(reporter.join().unwrap(), sum);
    for w in workers {
        w.join().unwrap();
    }
}
