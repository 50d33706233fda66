//! Reader-writer locks: readers under read locks and a writer under the write lock, and
//! the classic bug of writing under a read lock.

use hb_recorder::sync::{Arc, RwLock};
use hb_recorder::{thread, Shared};

use crate::{ordered, race, EdgeKind, Expect, Scenario, Source};

const SOURCE: Source = Source {
    file: file!(),
    text: include_str!("rwlock.rs"),
};

/// Reader tasks and the rounds each makes.
const READERS: usize = 3;
const ROUNDS: u64 = 20;

pub(crate) const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "rwlock-readers",
        item: 13,
        summary: "3 readers read `checks` under read locks of `checks_lock` while a writer updates it under the write lock",
        why: "write unlock → later read locks, read unlocks → later write lock: every read is ordered with every write",
        reference: "sync-primitives-in-practice.txt, \"sync.RWMutex: only when reads vastly dominate\" (readyMu / readyChecks)",
        expect: Expect::clean(&[ordered("checks", "rw-write", "rw-read", EdgeKind::Unlock)]),
        run: rwlock_readers,
        source: SOURCE,
    },
    Scenario {
        name: "rwlock-write-under-read",
        item: 13,
        summary: "2 readers bump counter `polls` while holding only the read lock of `checks_lock`",
        why: "read locks never order each other: the two readers' writes of `polls` are unordered",
        reference: "sync-primitives-in-practice.txt, RWMutex: \"readers that may proceed concurrently with each other\"",
        expect: Expect::races(&[
            race("polls", "rw-polls-read", "rw-polls-write"),
            race("polls", "rw-polls-write", "rw-polls-write"),
        ]),
        run: rwlock_write_under_read,
        source: SOURCE,
    },
];

/// Go's `readyMu sync.RWMutex; readyChecks []func() error` (here, the checks' names), and
/// a poll counter.
struct Ready {
    lock: RwLock<()>,
    checks: Shared<Vec<&'static str>>,
    polls: Shared<u64>,
}

fn new_ready() -> Arc<Ready> {
    Arc::new(Ready {
        lock: RwLock::named("checks_lock", ()),
        checks: Shared::new("checks", vec!["db"]),
        polls: Shared::new("polls", 0),
    })
}

/// Item 13 — RwLock: readers read under read locks, a writer writes under the write lock:
/// no race.
///
/// Reproduces the server-environment struct of sync-primitives-in-practice.txt: the
/// `/ready` handlers copy the checks under `RLock`, the registration appends under `Lock`.
///
/// Why no race: the lock numbers its acquisitions. A write acquisition comes after the
/// release of every earlier acquisition, read or write (release → write lock), and a read
/// acquisition after the release of the latest earlier write (write unlock → read lock).
/// So every read is ordered with every write, in whichever order they came; reads among
/// themselves need no order.
pub(crate) fn rwlock_readers() {
    let ready = new_ready();
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let ready = Arc::clone(&ready);
            thread::spawn(move || {
                for _ in 0..ROUNDS {
                    let _r = ready.lock.read().unwrap();
                    let _n = ready.checks.with(Vec::len); // hb:mark(rw-read)
                }
            })
        })
        .collect();
    let writer = {
        let ready = Arc::clone(&ready);
        thread::spawn(move || {
            for _ in 0..ROUNDS {
                let _w = ready.lock.write().unwrap();
                ready.checks.with_mut(|c| c.push("cache")); // hb:mark(rw-write)
            }
        })
    };
    writer.join().unwrap();
    for r in readers {
        r.join().unwrap();
    }
}

/// Item 13, twin — a write made under a read lock: race.
///
/// The readers count their polls in `polls` while holding only the read lock. There is no
/// writer, as in a read-only phase of the server.
///
/// Why a race: read acquisitions never order each other (only a write acquisition between
/// them would, and there is none), so the two readers' critical sections are unordered:
/// one reader's read and write of `polls` race with the other's write. Reading `checks`
/// under the read lock stays fine: it is never written after the readers start.
pub(crate) fn rwlock_write_under_read() {
    let ready = new_ready();
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let ready = Arc::clone(&ready);
            thread::spawn(move || {
                for _ in 0..ROUNDS {
                    let _r = ready.lock.read().unwrap();
                    let _n = ready.checks.with(Vec::len); // hb:mark(rw-checks-read)
                    let p = ready.polls.get(); // hb:mark(rw-polls-read)
                    ready.polls.set(p + 1); // hb:mark(rw-polls-write)
                }
            })
        })
        .collect();
    for r in readers {
        r.join().unwrap();
    }
}
