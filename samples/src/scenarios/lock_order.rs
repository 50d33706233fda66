//! Lock order: an AB/BA inversion that did not deadlock in the recorded run, and the same
//! inversion behind a common gate lock.

use std::time::Duration;

use hb_recorder::sync::{Arc, Mutex};
use hb_recorder::thread;

use crate::{Expect, ExpectCycle, ExpectLockEdge, Scenario, Source};

const SOURCE: Source = Source {
    file: file!(),
    text: include_str!("lock_order.rs"),
};

pub(crate) const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "lock-order-abba",
        item: 17,
        summary: "task `debit` takes `accounts` then `ledger`; task `audit`, once `debit` finished, takes `ledger` then `accounts`",
        why: "accounts → ledger in `debit`, ledger → accounts in `audit`, concurrent and not gated: a cycle",
        reference: "sync-primitives-in-practice.txt, \"Lock ordering: preventing the AB/BA deadlock\"",
        expect: Expect::cycles(&[ExpectCycle {
            edges: &[
                ExpectLockEdge {
                    held: "accounts",
                    held_at: "abba-debit-accounts",
                    requested: "ledger",
                    requested_at: "abba-debit-ledger",
                },
                ExpectLockEdge {
                    held: "ledger",
                    held_at: "abba-audit-ledger",
                    requested: "accounts",
                    requested_at: "abba-audit-accounts",
                },
            ],
        }]),
        run: lock_order_abba,
        source: SOURCE,
    },
    Scenario {
        name: "lock-order-gated",
        item: 17,
        summary: "`debit` takes accounts → ledger, `audit` ledger → accounts, each while holding gate lock `transfer_gate`",
        why: "both orders are taken under the same gate lock, so they can never interleave: no cycle",
        reference: "sync-primitives-in-practice.txt, lock ordering (a discipline that makes the cycle impossible)",
        expect: Expect::CLEAN,
        run: lock_order_gated,
        source: SOURCE,
    },
];

/// Item 17 — AB/BA lock order that did not deadlock in the run: one lock-order cycle.
///
/// Reproduces "Lock ordering: preventing the AB/BA deadlock" of
/// sync-primitives-in-practice.txt: "When one goroutine holds lock A and waits for B while
/// another holds B and waits for A, both block forever." Here the second task happens to
/// start its critical section only after the first task finished — it polls
/// `is_finished()`, an observation that is no synchronization — so this run cannot
/// deadlock, but another schedule would.
///
/// Why one cycle: `debit` acquires `ledger` while holding `accounts`, `audit` acquires
/// `accounts` while holding `ledger`: the lock-order graph has the cycle accounts → ledger
/// → accounts. The two acquisitions are concurrent once lock edges are set aside (nothing
/// but the parent's spawns relates the tasks, and `audit` joins `debit` only after its own
/// critical section), different tasks make them, and no third lock guards both.
pub(crate) fn lock_order_abba() {
    let accounts = Arc::new(Mutex::named("accounts", ()));
    let ledger = Arc::new(Mutex::named("ledger", ()));
    let debit = {
        let (accounts, ledger) = (Arc::clone(&accounts), Arc::clone(&ledger));
        thread::Builder::new()
            .name("debit".into())
            .spawn(move || {
                let _a = accounts.lock().unwrap(); // hb:mark(abba-debit-accounts)
                let _l = ledger.lock().unwrap(); // hb:mark(abba-debit-ledger)
            })
            .unwrap()
    };
    let audit = thread::Builder::new()
        .name("audit".into())
        .spawn(move || {
            while !debit.is_finished() {
                thread::sleep(Duration::from_millis(1));
            }
            {
                let _l = ledger.lock().unwrap(); // hb:mark(abba-audit-ledger)
                let _a = accounts.lock().unwrap(); // hb:mark(abba-audit-accounts)
            }
            debit.join().unwrap();
        })
        .unwrap();
    audit.join().unwrap();
}

/// Item 17, twin — the same inversion, each critical section inside a gate lock: no cycle.
///
/// Both tasks take `transfer_gate` before the pair, so the two orders can never
/// interleave: a task holding one lock of the pair always holds the gate, and the other
/// task cannot be inside. The tasks run concurrently here (no polling): it cannot deadlock.
///
/// Why no cycle: the lock-order graph still has accounts → ledger and ledger → accounts,
/// but both edges were made holding `transfer_gate` (a gate lock common to every edge of
/// the cycle), which rules the cycle out.
pub(crate) fn lock_order_gated() {
    let gate = Arc::new(Mutex::named("transfer_gate", ()));
    let accounts = Arc::new(Mutex::named("accounts", ()));
    let ledger = Arc::new(Mutex::named("ledger", ()));
    let debit = {
        let (gate, accounts, ledger) = (Arc::clone(&gate), Arc::clone(&accounts), Arc::clone(&ledger));
        thread::spawn(move || {
            let _g = gate.lock().unwrap();
            let _a = accounts.lock().unwrap(); // hb:mark(gated-debit-accounts)
            let _l = ledger.lock().unwrap(); // hb:mark(gated-debit-ledger)
        })
    };
    let audit = thread::spawn(move || {
        let _g = gate.lock().unwrap();
        let _l = ledger.lock().unwrap(); // hb:mark(gated-audit-ledger)
        let _a = accounts.lock().unwrap(); // hb:mark(gated-audit-accounts)
    });
    debit.join().unwrap();
    audit.join().unwrap();
}
