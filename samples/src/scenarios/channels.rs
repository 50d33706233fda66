//! Channels as synchronization: a buffered channel as a semaphore (capacity 1 and 2), an
//! unbuffered hand-off (the receive orders the send's completion), and a channel that
//! orders its receiver only — not a third task sharing the same memory.

use std::collections::BTreeMap;
use std::time::Duration;

use hb_recorder::sync::{mpsc, Arc};
use hb_recorder::{thread, Shared};

use crate::{ordered, race, EdgeKind, Expect, Scenario, Source};

const SOURCE: Source = Source {
    file: file!(),
    text: include_str!("channels.rs"),
};

/// Tasks going through the semaphore, once each.
const SEM_TASKS: usize = 4;

pub(crate) const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "semaphore-cap1",
        item: 11,
        summary: "4 tasks update `state` between a send on `sem` (capacity 1) and a receive from it",
        why: "receive k → completion of send k+1: each task's update → its release → the next task's acquire",
        reference: "go-memory-model-reference.txt, \"Buffered channel: the kth receive happens-before the (k+C)th send completes\"; go-memory-model-patterns.txt, Channel Rules",
        expect: Expect::clean(&[ordered("state", "sem-write", "sem-read", EdgeKind::ChanCapacity)]),
        run: semaphore_cap1,
        source: SOURCE,
    },
    Scenario {
        name: "semaphore-cap2",
        item: 11,
        summary: "4 tasks update `state` between a send on `sem` (capacity 2) and a receive from it",
        why: "sends 1 and 2 complete with no edge (capacity 2): two tasks update `state` unordered",
        reference: "go-memory-model-reference.txt, edge cases: \"Buffered channels still synchronize, just with slack\"",
        expect: Expect::races(&[
            race("state", "sem-read", "sem-write"),
            race("state", "sem-write", "sem-write"),
        ]),
        run: semaphore_cap2,
        source: SOURCE,
    },
    Scenario {
        name: "unbuffered-handoff",
        item: 12,
        summary: "a receiver writes `data` before receiving; the sender reads it after its send on an unbuffered channel returns",
        why: "write → receive → completion of the rendezvous send → read",
        reference: "go-memory-model-patterns.txt, Channel Rules: \"A receive from an unbuffered channel happens before the send completes\"",
        expect: Expect::clean(&[ordered("data", "handoff-write", "handoff-read", EdgeKind::ChanCapacity)]),
        run: unbuffered_handoff,
        source: SOURCE,
    },
    Scenario {
        name: "buffered-handoff",
        item: 12,
        summary: "a receiver writes `data` before receiving; the sender reads it after its send on a capacity-1 channel returns",
        why: "send 1 on a capacity-1 channel completes without any receive: nothing orders the write before the read",
        reference: "go-memory-model-reference.txt, \"Capacity decouples send and receive in time\"",
        expect: Expect::races(&[race("data", "handoff-write", "handoff-read")]),
        run: buffered_handoff,
        source: SOURCE,
    },
    Scenario {
        name: "mixed-channel-map",
        item: 15,
        summary: "a producer writes map `routes`, then sends on `updated`; the receiver reads it, and so does an auditor task that did not receive",
        why: "send → receive orders the write before the receiver's read only; the auditor never synchronized",
        reference: "race-detector-limits.txt, \"mixed channel-plus-shared-memory patterns\" and \"the receiver reads the map from a different goroutine\"",
        expect: Expect::races(&[race("routes", "mix-write", "mix-audit-read")]),
        run: mixed_channel_map,
        source: SOURCE,
    },
];

/// `SEM_TASKS` tasks, each once: acquire a slot (send), read-modify-write `state`,
/// release (receive). The receiver is shared by the tasks.
fn semaphore(capacity: usize) {
    let (sem, slots) = mpsc::named_sync_channel::<()>("sem", capacity);
    let slots = Arc::new(slots);
    let state = Arc::new(Shared::new("state", 0u64));
    let tasks: Vec<_> = (0..SEM_TASKS)
        .map(|_| {
            let (sem, slots, state) = (sem.clone(), Arc::clone(&slots), Arc::clone(&state));
            thread::spawn(move || {
                sem.send(()).unwrap(); // acquire
                let v = state.get(); // hb:mark(sem-read)
                state.set(v + 1); // hb:mark(sem-write)
                slots.recv().unwrap(); // release
            })
        })
        .collect();
    for t in tasks {
        t.join().unwrap();
    }
    drop(sem);
}

/// Item 11 — a buffered channel of capacity 1 used as a semaphore: no race.
///
/// Reproduces the buffered-channel rule of go-memory-model-reference.txt ("useful for
/// bounding a producer without losing visibility") in its classic use, a counting
/// semaphore: send to acquire, receive to release.
///
/// Why no race: with capacity 1, the k-th send completes only after the (k-1)-th receive
/// (the capacity edge: k-th receive → (k+1)-th send completes). The task that sent message
/// k-1 received it after its update (at most one message is buffered, so the receive
/// takes its own), so every update → its task's receive → the next task's send completion
/// → the next update: one chain, whatever order the tasks arrive in.
pub(crate) fn semaphore_cap1() {
    semaphore(1);
}

/// Item 11, twin — the same semaphore with capacity 2: race.
///
/// Why a race: with capacity 2, the sends of messages 1 and 2 complete with no edge at all
/// (the capacity edge reaches only sends from k + 2 = 3 on). Each task sends once, so two
/// different tasks hold those two slots, and their updates are unordered in every run: a
/// read/write and a write/write race on `state`.
pub(crate) fn semaphore_cap2() {
    semaphore(2);
}

/// A receiver task writes `data`, then receives; the parent sends, then reads `data`.
fn handoff(capacity: usize) {
    let (tx, rx) = mpsc::named_sync_channel::<()>("handoff", capacity);
    let data = Arc::new(Shared::new("data", 0u64));
    let d = Arc::clone(&data);
    let receiver = thread::spawn(move || {
        d.set(7); // hb:mark(handoff-write)
        rx.recv().unwrap();
    });
    tx.send(()).unwrap();
    let _v = data.get(); // hb:mark(handoff-read)
    receiver.join().unwrap();
}

/// Item 12 — unbuffered channel: the receiver writes before receiving, the sender reads
/// after its send completes: no race.
///
/// Reproduces the channel rule of go-memory-model-patterns.txt "A receive from an
/// unbuffered channel happens before the send completes" (Rust's `sync_channel(0)`).
///
/// Why no race: write → receive (program order) → completion of the send (the rendezvous
/// edge: receive k → send k completes) → read. The send cannot return before its message
/// was taken.
pub(crate) fn unbuffered_handoff() {
    handoff(0);
}

/// Item 12, twin — the same hand-off on a channel of capacity 1: race.
///
/// Why a race: with capacity 1 the first send completes without waiting for any receive
/// (message 1 has no receive k = 1 - 1 before it). The send → receive edge points the other
/// way (into the receiver, after its write), so the write and the read are unordered.
pub(crate) fn buffered_handoff() {
    handoff(1);
}

/// Item 15 — mixed channel and shared memory: a map written before a send, read by a task
/// other than the receiver: race.
///
/// Reproduces race-detector-limits.txt: "the shared map is written before the channel send
/// but the receiver reads the map from a different goroutine that was not the one that
/// performed the receive", and its warning that such races are the hardest for a live
/// detector. The auditor reads after a sleep, so in practice after the write.
///
/// Why one race: send → receive orders the producer's write before the *receiver's* read
/// only. The auditor neither receives nor synchronizes with anyone after its spawn, so its
/// read is unordered with the write (a sleep is no edge). Two reads never race.
pub(crate) fn mixed_channel_map() {
    let routes = Arc::new(Shared::new("routes", BTreeMap::<&str, u32>::new()));
    let (updated, updated_rx) = mpsc::named_channel::<()>("updated");
    let producer = {
        let routes = Arc::clone(&routes);
        thread::Builder::new()
            .name("producer".into())
            .spawn(move || {
                routes.with_mut(|m| m.insert("api", 8080)); // hb:mark(mix-write)
                updated.send(()).unwrap();
            })
            .unwrap()
    };
    let receiver = {
        let routes = Arc::clone(&routes);
        thread::Builder::new()
            .name("receiver".into())
            .spawn(move || {
                updated_rx.recv().unwrap();
                routes.with(|m| m.get("api").copied()) // hb:mark(mix-recv-read)
            })
            .unwrap()
    };
    let auditor = {
        let routes = Arc::clone(&routes);
        thread::Builder::new()
            .name("auditor".into())
            .spawn(move || {
                thread::sleep(Duration::from_millis(20));
                routes.with(BTreeMap::len) // hb:mark(mix-audit-read)
            })
            .unwrap()
    };
    producer.join().unwrap();
    assert_eq!(receiver.join().unwrap(), Some(8080));
    auditor.join().unwrap();
}
