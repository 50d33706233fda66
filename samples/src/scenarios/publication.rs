//! Publishing a write to another task: through a channel close (an edge), after a sleep (no
//! edge), and through a task's exit (no edge) or its join (an edge).

use std::time::Duration;

use hb_recorder::sync::{mpsc, Arc};
use hb_recorder::{thread, Shared};

use crate::{ordered, race, EdgeKind, Expect, Scenario, Source};

const SOURCE: Source = Source {
    file: file!(),
    text: include_str!("publication.rs"),
};

pub(crate) const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "close-publish",
        item: 1,
        summary: "a task writes `msg` and closes `done`; the parent reads `msg` after its receive sees the close",
        why: "write → close(done) → the receive that saw the close → read: the close edge orders them",
        reference: "go-memory-model-reference.txt, \"Proof: the baton is the channel\" (memory_model.go)",
        expect: Expect::clean(&[ordered("msg", "close-write", "close-read", EdgeKind::ChanClose)]),
        run: close_publish,
        source: SOURCE,
    },
    Scenario {
        name: "sleep-publish",
        item: 2,
        summary: "a task writes `msg`; the parent sleeps 20 ms, then reads `msg` (no channel)",
        why: "a sleep is no edge: nothing leads from the child's write to the parent's read",
        reference: "go-memory-model-reference.txt, \"The racy version — never write this\"; go-memory-model-patterns.txt, noHappensBefore",
        expect: Expect::races(&[race("msg", "sleep-write", "sleep-read")]),
        run: sleep_publish,
        source: SOURCE,
    },
    Scenario {
        name: "exit-no-join",
        item: 18,
        summary: "a task writes `result` and ends; the parent polls is_finished(), then reads without joining",
        why: "a task's end alone is no edge: only a join would order the write before the read",
        reference: "go-memory-model-patterns.txt, \"Goroutine Destruction\"; race-detector-limits.txt, \"goroutine destruction is not a synchronization event\"",
        expect: Expect::races(&[race("result", "exit-write", "exit-read")]),
        run: exit_no_join,
        source: SOURCE,
    },
    Scenario {
        name: "exit-join",
        item: 18,
        summary: "a task writes `result`; the parent joins it, then reads",
        why: "the task's end → the join → the read: the join edge orders them",
        reference: "go-memory-model-reference.txt, \"you need a channel, WaitGroup, or join to learn the child finished\"",
        expect: Expect::clean(&[ordered("result", "join-write", "join-read", EdgeKind::Join)]),
        run: exit_join,
        source: SOURCE,
    },
];

/// Item 1 — publication through a closed channel: no race.
///
/// The child writes `msg`, then closes `done` (in Rust, drops its only `Sender`); the
/// parent's `recv` returns the closed error, Go's `<-done` on a closed channel, and then it
/// reads `msg`. Reproduces `memory_model.go` of go-memory-model-reference.txt.
///
/// Why no race: write → close (program order) → the receive that saw the close (the
/// close → receive-of-closed edge) → read (program order). The receive can only return
/// the closed error after the close, so the chain exists in every run.
pub(crate) fn close_publish() {
    let msg = Arc::new(Shared::new("msg", String::new()));
    let (done, done_rx) = mpsc::named_channel::<()>("done");
    let m = Arc::clone(&msg);
    let child = thread::spawn(move || {
        m.set("hello".to_owned()); // hb:mark(close-write)
        drop(done); // close(done)
    });
    let closed = done_rx.recv().is_err(); // <-done
    let seen = msg.with(String::clone); // hb:mark(close-read)
    assert!(closed && seen == "hello");
    child.join().unwrap();
}

/// Item 2 — the same without the channel, the parent reads after a sleep: race.
///
/// Reproduces "the racy version" of go-memory-model-reference.txt (and `noHappensBefore`
/// of go-memory-model-patterns.txt, which sleeps 100 ms "to let it settle").
///
/// Why a race: the only edge between the tasks is the spawn, which orders the parent's
/// *earlier* events before the child. Nothing leads from the child's write back to the
/// parent: sleeping is recorded but is no edge, so the read is unordered with the write
/// whatever the timing (in practice the write is long done when the parent reads).
pub(crate) fn sleep_publish() {
    let msg = Arc::new(Shared::new("msg", String::new()));
    let m = Arc::clone(&msg);
    let child = thread::spawn(move || m.set("hello".to_owned())); // hb:mark(sleep-write)
    thread::sleep(Duration::from_millis(20));
    let _seen = msg.with(String::clone); // hb:mark(sleep-read)
    child.join().unwrap(); // too late: the read is already done
}

/// Item 18 — a task writes and ends, the parent reads without a join: race.
///
/// Reproduces "Goroutine Destruction" of go-memory-model-patterns.txt ("the exit of a
/// goroutine is NOT guaranteed to happen before any event") and the same point in
/// race-detector-limits.txt. The parent polls `is_finished()` (an observation, not a
/// synchronization: the recorder records nothing for it) and sleeps between polls, so it
/// reads only after the task really ended.
///
/// Why a race: a task's end creates no edge on its own — only a join of that task does —
/// so the write is unordered with the read although it finished first in every run.
pub(crate) fn exit_no_join() {
    let result = Arc::new(Shared::new("result", 0u64));
    let r = Arc::clone(&result);
    let worker = thread::spawn(move || r.set(42)); // hb:mark(exit-write)
    while !worker.is_finished() {
        thread::sleep(Duration::from_millis(1));
    }
    let _seen = result.get(); // hb:mark(exit-read)
    worker.join().unwrap(); // after the read: orders nothing before it
}

/// Item 18, twin — the same task, joined before the read: no race.
///
/// Why no race: the task's end → the parent's join (the join edge) → the read (program
/// order). The join returns only after the task ended, in every run.
pub(crate) fn exit_join() {
    let result = Arc::new(Shared::new("result", 0u64));
    let r = Arc::clone(&result);
    let worker = thread::spawn(move || r.set(42)); // hb:mark(join-write)
    worker.join().unwrap();
    let seen = result.get(); // hb:mark(join-read)
    assert_eq!(seen, 42);
}
