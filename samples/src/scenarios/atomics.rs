//! Atomics: a payload published by an atomic flag (release store → acquire load), the
//! same with a plain or a relaxed flag, and copy-on-write snapshots behind an atomic.

use std::time::Duration;

use hb_recorder::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use hb_recorder::sync::Arc;
use hb_recorder::{thread, Shared};

use crate::{ordered, race, EdgeKind, Expect, Scenario, Source};

const SOURCE: Source = Source {
    file: file!(),
    text: include_str!("atomics.rs"),
};

pub(crate) const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "atomic-flag",
        item: 9,
        summary: "a task writes `data`, then stores `ready` (release); the parent loads `ready` (acquire) until true, then reads `data`",
        why: "write → release store → the acquire load that read it → read: the atomic edge orders them",
        reference: "go-memory-model-patterns.txt, atomicPublish; race-detector-limits.txt, \"atomic flag with non-atomic payload (correct pattern)\"",
        expect: Expect::clean(&[ordered("data", "atomic-data-write", "atomic-data-read", EdgeKind::Atomic)]),
        run: atomic_flag,
        source: SOURCE,
    },
    Scenario {
        name: "plain-flag",
        item: 10,
        summary: "a task writes `data`, then sets plain bool `ready`; the parent spins on `ready`, then reads `data`",
        why: "a plain read is no edge, even when it sees the new value: flag and payload both race",
        reference: "go-memory-model-patterns.txt, unsafePublish; race-detector-limits.txt, \"Without the atomic store ... or the atomic load\"",
        expect: Expect::races(&[
            race("data", "plain-data-write", "plain-data-read"),
            race("ready", "plain-flag-write", "plain-flag-read"),
        ]),
        run: plain_flag,
        source: SOURCE,
    },
    Scenario {
        name: "relaxed-flag",
        item: 10,
        summary: "a task writes `data`, then stores atomic `ready` (release); the parent loads it with Relaxed, then reads `data`",
        why: "a relaxed load acquires nothing: the payload races (atomics never race with each other)",
        reference: "race-detector-limits.txt, \"only if B reads the flag atomically and observes the stored value\" (Rust's relaxed load has no acquire)",
        expect: Expect::races(&[race("data", "relaxed-data-write", "relaxed-data-read")]),
        run: relaxed_flag,
        source: SOURCE,
    },
    Scenario {
        name: "cow-snapshot",
        item: 14,
        summary: "a writer publishes immutable config snapshots through atomic `current`; readers load it and read the snapshot",
        why: "each snapshot is written before its release store, read after an acquire load of it, never written again",
        reference: "safe-publication.txt, \"Pattern (immutable snapshot)\"; sync-primitives-in-practice.txt, \"atomic.Pointer[T]: lock-free read-mostly snapshots\"",
        expect: Expect::clean(&[ordered("snapshot[2].routes", "cow-build", "cow-read", EdgeKind::Atomic)]),
        run: cow_snapshot,
        source: SOURCE,
    },
    Scenario {
        name: "cow-mutated",
        item: 14,
        summary: "a writer publishes snapshot v1 through atomic `current`, then patches it in place; readers read it",
        why: "the patch comes after the publishing store: the readers' loads acquire nothing of it",
        reference: "safe-publication.txt, \"4) Why immutability matters\": a published object later mutated",
        expect: Expect::races(&[race("snapshot[1].routes", "cow-patch", "cow-read")]),
        run: cow_mutated,
        source: SOURCE,
    },
];

/// Item 9 — payload published by an atomic flag: no race.
///
/// Reproduces `atomicPublish` of go-memory-model-patterns.txt (which polls with a 1 ms
/// sleep, as here) and the "correct pattern" of race-detector-limits.txt.
///
/// Why no race: write `data` → store `ready = true` with `Release` (program order) → the
/// `Acquire` load that read that store's version (the atomic edge) → read `data`. The
/// parent reads `data` only after a load that returned `true`, and only the store wrote
/// `true`, so that load read it in every run.
pub(crate) fn atomic_flag() {
    let data = Arc::new(Shared::new("data", 0u64));
    let ready = Arc::new(AtomicBool::named("ready", false));
    let (d, r) = (Arc::clone(&data), Arc::clone(&ready));
    let writer = thread::spawn(move || {
        d.set(42); // hb:mark(atomic-data-write)
        r.store(true, Ordering::Release);
    });
    while !ready.load(Ordering::Acquire) {
        thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(data.get(), 42); // hb:mark(atomic-data-read)
    writer.join().unwrap();
}

/// Item 10 — payload read after a plain (non-atomic) read of the flag: race.
///
/// Reproduces `unsafePublish` of go-memory-model-patterns.txt ("RACE: reading 'ready'";
/// "May see value = 0 even though ready = true!").
///
/// Why two races: a plain read creates no edge, even when it sees the value the other task
/// wrote. With no edge between the tasks after the spawn, the flag's write and read race,
/// and so do the payload's write and read.
pub(crate) fn plain_flag() {
    let data = Arc::new(Shared::new("data", 0u64));
    let ready = Arc::new(Shared::new("ready", false));
    let (d, r) = (Arc::clone(&data), Arc::clone(&ready));
    let writer = thread::spawn(move || {
        d.set(42); // hb:mark(plain-data-write)
        r.set(true); // hb:mark(plain-flag-write)
    });
    loop {
        let seen = ready.get(); // hb:mark(plain-flag-read)
        if seen {
            break;
        }
        thread::sleep(Duration::from_millis(1));
    }
    let _v = data.get(); // hb:mark(plain-data-read)
    writer.join().unwrap();
}

/// Item 10, twin — the flag is atomic but loaded with `Ordering::Relaxed`: race on the
/// payload only.
///
/// Go's atomics are all sequentially consistent; Rust lets a load be relaxed, which reads
/// the value but acquires nothing. Reproduces the rule of race-detector-limits.txt that the
/// edge exists "only if B reads the flag atomically and observes the stored value" — with
/// acquire semantics.
///
/// Why one race: two atomic accesses never race, so `ready` is fine; but a relaxed load
/// creates no edge even though it read the release store, so `data`'s write and read are
/// unordered.
pub(crate) fn relaxed_flag() {
    let data = Arc::new(Shared::new("data", 0u64));
    let ready = Arc::new(AtomicBool::named("ready", false));
    let (d, r) = (Arc::clone(&data), Arc::clone(&ready));
    let writer = thread::spawn(move || {
        d.set(42); // hb:mark(relaxed-data-write)
        r.store(true, Ordering::Release);
    });
    while !ready.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(1));
    }
    let _v = data.get(); // hb:mark(relaxed-data-read)
    writer.join().unwrap();
}

/// A configuration snapshot: immutable once published (in the correct version).
struct Snapshot {
    routes: Shared<Vec<u32>>,
}

/// The published configuration: Go's `atomic.Pointer[Snapshot]`. The snapshots live in a
/// table and `current` holds the index of the published one, so the sample needs no
/// `unsafe` to follow a raw pointer; the happens-before facts are those of the pointer
/// (the store publishes, the load that reads it acquires).
struct Config {
    snapshots: Vec<Snapshot>,
    current: AtomicUsize,
}

impl Config {
    /// Snapshot 0 built and published by the parent (before any reader is spawned); the
    /// other slots are empty until the writer builds them.
    fn new(slots: usize) -> Arc<Config> {
        let snapshots: Vec<Snapshot> = (0..slots)
            .map(|i| Snapshot {
                routes: Shared::new(format!("snapshot[{i}].routes"), Vec::new()),
            })
            .collect();
        snapshots[0].routes.set(vec![80]);
        Arc::new(Config {
            snapshots,
            current: AtomicUsize::named("current", 0),
        })
    }

    /// Builds snapshot `i` (writes before publication) and publishes it.
    fn publish(&self, i: usize, routes: Vec<u32>) {
        self.snapshots[i].routes.set(routes); // hb:mark(cow-build)
        self.current.store(i, Ordering::Release);
    }

    /// A reader: waits until snapshot `at_least` or a newer one is published, then reads
    /// the one it loaded, lock-free.
    fn read_latest(&self, at_least: usize) -> usize {
        loop {
            let i = self.current.load(Ordering::Acquire);
            if i >= at_least {
                return self.snapshots[i].routes.with(Vec::len); // hb:mark(cow-read)
            }
            thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Starts two readers of `cfg`, reading snapshot `at_least` or a newer one.
fn start_readers(cfg: &Arc<Config>, at_least: usize) -> Vec<thread::JoinHandle<usize>> {
    (0..2)
        .map(|_| {
            let cfg = Arc::clone(cfg);
            thread::spawn(move || cfg.read_latest(at_least))
        })
        .collect()
}

/// Item 14 — copy-on-write snapshot behind an atomic, never mutated after publication: no
/// race.
///
/// Reproduces the "immutable snapshot" pattern of safe-publication.txt (build in local
/// variables, publish via one synchronization event, never mutate after publish) and the
/// `prefixCache` of sync-primitives-in-practice.txt (a refresh builds a fresh map and
/// stores its pointer). The writer publishes snapshot 1, then a fresh snapshot 2; the readers
/// wait for snapshot 2 (so that every run reads the same snapshot).
///
/// Why no race: every write of snapshot `i` precedes the release store of `i` (program
/// order); a reader reads snapshot `i` only after an acquire load that read a store of `i`
/// (the atomic edge), and no snapshot is written after it is published.
pub(crate) fn cow_snapshot() {
    let cfg = Config::new(3);
    let readers = start_readers(&cfg, 2);
    let writer = {
        let cfg = Arc::clone(&cfg);
        thread::spawn(move || {
            cfg.publish(1, vec![80, 443]);
            cfg.publish(2, vec![80, 443, 8080]); // copy-on-write: a new snapshot
        })
    };
    writer.join().unwrap();
    for r in readers {
        assert_eq!(r.join().unwrap(), 3);
    }
}

/// Item 14, twin — the published snapshot is mutated in place: race.
///
/// Reproduces safe-publication.txt: "If a published object is later mutated, lock-free
/// readers can observe transitional states." The writer publishes snapshot 1, then patches
/// it instead of building snapshot 2.
///
/// Why a race: a reader acquires through its load of `current` everything the writer did
/// *before* the store — not what it does after. The patch comes after the store, and the
/// writer performs no release after it, so the patch is unordered with every reader's read
/// of snapshot 1 (the readers read it in every run: they wait for it, the only one past 0).
pub(crate) fn cow_mutated() {
    let cfg = Config::new(2);
    let readers = start_readers(&cfg, 1);
    let writer = {
        let cfg = Arc::clone(&cfg);
        thread::spawn(move || {
            cfg.publish(1, vec![80, 443]);
            cfg.snapshots[1].routes.with_mut(|r| r.push(8080)); // hb:mark(cow-patch)
        })
    };
    writer.join().unwrap();
    for r in readers {
        assert!(r.join().unwrap() >= 2);
    }
}
