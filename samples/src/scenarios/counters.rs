//! Shared counters: 1,000 tasks incrementing one counter with and without its mutex, and a
//! race whose two accesses are a million synchronized accesses apart.

use hb_recorder::sync::{Arc, Mutex, WaitGroup};
use hb_recorder::{thread, Shared};

use crate::{ordered, race, EdgeKind, Expect, Scenario, Source};

const SOURCE: Source = Source {
    file: file!(),
    text: include_str!("counters.rs"),
};

/// Tasks of the counter scenarios (as in `mutex_hb.go`).
const TASKS: usize = 1000;

/// Synchronized accesses between the two sides of the far-apart race.
const FAR: usize = 1_000_000;

pub(crate) const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "mutex-counter",
        item: 3,
        summary: "1,000 tasks increment `counter` under mutex `mu`; a WaitGroup lets the parent read the total",
        why: "unlock n → lock n+1 chains the increments; each Done → Wait orders them before the total",
        reference: "go-memory-model-reference.txt, \"A second baton: the mutex\" (mutex_hb.go)",
        expect: Expect::clean(&[
            ordered("counter", "locked-write", "locked-read", EdgeKind::Unlock),
            ordered("counter", "locked-write", "total-read", EdgeKind::WaitGroup),
        ]),
        run: mutex_counter,
        source: SOURCE,
    },
    Scenario {
        name: "racy-counter",
        item: 4,
        summary: "1,000 tasks increment `counter` without a lock, joined by a WaitGroup: lost updates",
        why: "no edge between the tasks: each read and write is unordered with the other tasks' writes",
        reference: "go-memory-model-reference.txt, \"Drop the mutex and the same loop becomes a race\"; go-memory-model-patterns.txt, demonstrateRace",
        expect: Expect::races(&[
            race("counter", "racy-read", "racy-write"),
            race("counter", "racy-write", "racy-write"),
        ]),
        run: racy_counter,
        source: SOURCE,
    },
    Scenario {
        name: "far-apart",
        item: 16,
        summary: "a write and a read of `x`, separated by 1,000,000 mutex-protected accesses of two other tasks",
        why: "the writer never synchronizes after its spawn; the million lock edges order only the two busy tasks",
        reference: "race-detector-limits.txt, \"races requiring a long execution history\" (bounded shadow history)",
        expect: Expect::races(&[race("x", "far-write", "far-read")]),
        run: far_apart,
        source: SOURCE,
    },
];

/// A counter and the mutex that guards it (Go's `mu sync.Mutex; counter int`).
struct Counter {
    mu: Mutex<()>,
    value: Shared<u64>,
}

/// Runs `TASKS` tasks that each increment the counter once, with or without the mutex,
/// joined by a WaitGroup; returns the total the parent reads after `Wait`.
fn count(locked: bool) -> u64 {
    let c = Arc::new(Counter {
        mu: Mutex::named("mu", ()),
        value: Shared::new("counter", 0),
    });
    let wg = Arc::new(WaitGroup::named("wg"));
    // One `Add` for all tasks before any starts, so the counter reaches zero only at the
    // end (`Add(1)` inside the loop is scenario `waitgroup-add-in-loop`).
    wg.add(TASKS as i64);
    let mut tasks = Vec::with_capacity(TASKS);
    for _ in 0..TASKS {
        let (c, wg) = (Arc::clone(&c), Arc::clone(&wg));
        tasks.push(thread::spawn(move || {
            if locked {
                let _held = c.mu.lock().unwrap();
                let v = c.value.get(); // hb:mark(locked-read)
                c.value.set(v + 1); // hb:mark(locked-write)
            } else {
                let v = c.value.get(); // hb:mark(racy-read)
                c.value.set(v + 1); // hb:mark(racy-write)
            }
            wg.done();
        }));
    }
    wg.wait();
    let total = c.value.get(); // hb:mark(total-read)
                               // Go needs no join here; Rust joins so that every task's events are in the trace
                               // before the recording ends. The joins come after the read and order nothing before it.
    for t in tasks {
        t.join().unwrap();
    }
    total
}

/// Item 3 — 1,000 tasks increment a mutex-protected counter, joined by a WaitGroup: no
/// race.
///
/// Reproduces `mutex_hb.go` of go-memory-model-reference.txt (with one `Add(1000)` before
/// the loop instead of `Add(1)` in it).
///
/// Why no race: every increment is between a lock and an unlock of `mu`, and the n-th
/// unlock → the (n+1)-th lock, so the increments form one chain whatever order the tasks
/// take the lock in. Each task's `Done` → the parent's `Wait` (the WaitGroup edge), so the
/// final read comes after every increment.
pub(crate) fn mutex_counter() {
    assert_eq!(count(true), TASKS as u64);
}

/// Item 4 — the same counter without the mutex: race.
///
/// Why a race: the tasks have no edge between them (spawns go from the parent to each
/// task; `Done`s order nothing among themselves, only before `Wait`), so each task's read
/// and write are unordered with every other task's write: a read/write race and a
/// write/write race, at the same two lines for every pair of tasks. The parent's read after
/// `Wait` is ordered after all of them.
pub(crate) fn racy_counter() {
    let total = count(false);
    assert!((1..=TASKS as u64).contains(&total));
}

/// Item 16 — a racing pair separated by 1,000,000 other synchronized accesses: race.
///
/// Reproduces race-detector-limits.txt: a live detector keeps a bounded history per
/// location and misses "races requiring a long execution history". hb's analyzer keeps the
/// latest access of every task at every location, however old.
///
/// Task `writer` writes `x` and ends. Tasks `busy-0` and `busy-1` then make 1,000,000
/// accesses of `hits`, each under mutex `hits_mu` (they synchronize with each other
/// half a million times); `busy-0` reads `x` last.
///
/// Why a race: nothing leads from `writer` to `busy-0`: `writer` takes part in no
/// synchronization after its spawn, and the spawns go from the parent to each task. The
/// million lock edges order `busy-0` and `busy-1` only. `hits` never races: every access
/// holds `hits_mu`.
pub(crate) fn far_apart() {
    let x = Arc::new(Shared::new("x", 0u64));
    let hits = Arc::new((Mutex::named("hits_mu", ()), Shared::new("hits", 0u64)));
    let w = Arc::clone(&x);
    let writer = thread::Builder::new()
        .name("writer".into())
        .spawn(move || w.set(1)) // hb:mark(far-write)
        .unwrap();
    let busy: Vec<_> = (0..2)
        .map(|i| {
            let (x, hits) = (Arc::clone(&x), Arc::clone(&hits));
            thread::Builder::new()
                .name(format!("busy-{i}"))
                .spawn(move || {
                    // Each iteration is two accesses (a read and a write) under the lock.
                    for _ in 0..FAR / 4 {
                        let _held = hits.0.lock().unwrap();
                        let n = hits.1.get();
                        hits.1.set(n + 1);
                    }
                    if i == 0 {
                        let _ = x.get(); // hb:mark(far-read)
                    }
                })
                .unwrap()
        })
        .collect();
    for b in busy {
        b.join().unwrap();
    }
    writer.join().unwrap();
    assert_eq!(hits.1.get(), (FAR / 2) as u64);
}
