//! Traces made up for demos, tests and benchmarks: a small hand-written one with a race, a
//! blocked rendezvous send, lock waits, spans and a lock-order cycle; and a large synthetic one.

use hb_format::{Def, Event, EventKind, Header, MemOrder, ObjectKind, RecvResult, Trace};

/// Object ids of [`demo_trace`].
pub mod ids {
    /// The mutex guarding the counter.
    pub const COUNTER_LOCK: u64 = 10;
    /// The shared variable both workers touch (the race).
    pub const HITS: u64 = 11;
    /// The rendezvous channel.
    pub const JOBS: u64 = 12;
    /// The wait group.
    pub const WG: u64 = 13;
    /// First lock of the cycle.
    pub const LOCK_A: u64 = 14;
    /// Second lock of the cycle.
    pub const LOCK_B: u64 = 15;
    /// The "ready" flag.
    pub const READY: u64 = 16;
    /// A setting main writes after spawning the workers (the second race).
    pub const CONFIG: u64 = 17;
}

/// A small trace of three tasks with two races (worker-1 writes `hits` after unlocking,
/// worker-2 reads it; main writes `config` after spawning worker-2, which reads it), a lock wait, a blocked rendezvous send, spans, a wait group and a
/// lock-order cycle (`lock_a`/`lock_b` taken in both orders).
pub fn demo_trace() -> Trace {
    use ids::*;
    use EventKind::*;
    let mut t = Trace::new(Header::new("demo"));
    let strings = [
        "main",
        "worker-1",
        "worker-2",
        "src/bin/demo.rs",
        "process",
        "counter_lock",
        "hits",
        "jobs",
        "wg",
        "lock_a",
        "lock_b",
        "ready",
        "critical",
        "config",
    ];
    for (id, text) in strings.iter().enumerate() {
        t.define(Def::str(id as u32, *text));
    }
    // Location k is src/bin/demo.rs line 10 + k.
    for k in 0..40u32 {
        t.define(Def::Loc {
            id: k,
            file: 3,
            line: 10 + k,
            column: 9,
            function: Some(0),
        });
    }
    for (id, name, parent) in [(0, 0, None), (1, 1, Some(0)), (2, 2, Some(0))] {
        t.define(Def::Task {
            id,
            name: Some(name),
            parent,
        });
    }
    for (id, kind, name) in [
        (COUNTER_LOCK, ObjectKind::Mutex, 5),
        (HITS, ObjectKind::Variable, 6),
        (JOBS, ObjectKind::Channel { capacity: Some(0) }, 7),
        (WG, ObjectKind::WaitGroup, 8),
        (LOCK_A, ObjectKind::Mutex, 9),
        (LOCK_B, ObjectKind::Mutex, 10),
        (READY, ObjectKind::Atomic, 11),
        (CONFIG, ObjectKind::Variable, 13),
    ] {
        t.define(Def::Object {
            id,
            kind,
            name: Some(name),
            loc: Some(0),
        });
    }
    let mut ev = vec![
        (0, 0, TaskStart),
        (0, 1_000, ChanMake { chan: JOBS }),
        (0, 1_500, WaitGroupAdd { wg: WG, delta: 2 }),
        (0, 2_000, TaskSpawn { child: 1 }),
        (0, 3_000, TaskSpawn { child: 2 }),
        (0, 3_500, VarWrite { var: CONFIG }),
        (
            0,
            4_000,
            AtomicStore {
                atomic: READY,
                order: MemOrder::Release,
                version: 1,
            },
        ),
        (1, 5_000, TaskStart),
        (
            1,
            5_500,
            AtomicLoad {
                atomic: READY,
                order: MemOrder::Acquire,
                version: 1,
            },
        ),
        (1, 6_000, SpanEnter { name: 4, span: 1 }),
        (1, 7_000, LockRequest { lock: COUNTER_LOCK }),
        (
            1,
            7_500,
            MutexLock {
                mutex: COUNTER_LOCK,
                seq: 1,
            },
        ),
        (
            1,
            8_000,
            MutexUnlock {
                mutex: COUNTER_LOCK,
                seq: 1,
            },
        ),
        (1, 9_000, VarWrite { var: HITS }),
        (1, 12_000, SpanExit { span: 1 }),
        (
            1,
            29_990,
            ChanRecv {
                chan: JOBS,
                result: RecvResult::Value { seq: 1 },
            },
        ),
        (1, 34_900, LockRequest { lock: LOCK_B }),
        (
            1,
            35_000,
            MutexLock {
                mutex: LOCK_B,
                seq: 1,
            },
        ),
        (1, 35_900, LockRequest { lock: LOCK_A }),
        (
            1,
            36_000,
            MutexLock {
                mutex: LOCK_A,
                seq: 1,
            },
        ),
        (
            1,
            36_500,
            MutexUnlock {
                mutex: LOCK_A,
                seq: 1,
            },
        ),
        (
            1,
            37_000,
            MutexUnlock {
                mutex: LOCK_B,
                seq: 1,
            },
        ),
        (
            1,
            40_000,
            WaitGroupDone {
                wg: WG,
                seq: 1,
                zero: false,
            },
        ),
        (1, 41_000, TaskEnd),
        (2, 6_000, TaskStart),
        (2, 6_200, VarRead { var: CONFIG }),
        (2, 6_500, SpanEnter { name: 12, span: 2 }),
        (2, 7_200, LockRequest { lock: COUNTER_LOCK }),
        (
            2,
            8_200,
            MutexLock {
                mutex: COUNTER_LOCK,
                seq: 2,
            },
        ),
        (
            2,
            9_500,
            MutexUnlock {
                mutex: COUNTER_LOCK,
                seq: 2,
            },
        ),
        (2, 9_800, SpanExit { span: 2 }),
        (2, 10_000, VarRead { var: HITS }),
        (2, 20_000, ChanSendBegin { chan: JOBS, seq: 1 }),
        (2, 30_000, ChanSendEnd { chan: JOBS, seq: 1 }),
        (2, 41_900, LockRequest { lock: LOCK_A }),
        (
            2,
            42_000,
            MutexLock {
                mutex: LOCK_A,
                seq: 2,
            },
        ),
        (2, 42_900, LockRequest { lock: LOCK_B }),
        (
            2,
            43_000,
            MutexLock {
                mutex: LOCK_B,
                seq: 2,
            },
        ),
        (
            2,
            43_500,
            MutexUnlock {
                mutex: LOCK_B,
                seq: 2,
            },
        ),
        (
            2,
            44_000,
            MutexUnlock {
                mutex: LOCK_A,
                seq: 2,
            },
        ),
        (
            2,
            50_000,
            WaitGroupDone {
                wg: WG,
                seq: 2,
                zero: true,
            },
        ),
        (2, 51_000, TaskEnd),
        (0, 52_000, WaitGroupWait { wg: WG, seq: 2 }),
        (0, 53_000, TaskJoin { child: 1 }),
        (0, 54_000, TaskJoin { child: 2 }),
        (0, 55_000, TaskEnd),
    ];
    ev.sort_by_key(|e| e.1);
    t.events = ev
        .into_iter()
        .enumerate()
        .map(|(i, (task, ts, kind))| Event {
            task,
            ts,
            loc: Some((i % 40) as u32),
            kind,
        })
        .collect();
    t
}

/// A large synthetic trace of `events` events over `tasks` worker tasks (plus a main task that
/// spawns and joins them), deterministic for a `seed`. Each worker loops over: a span, a lock
/// wait and critical section on its own mutex, reads and writes of its own variable, and a
/// send/receive on its own channel; rarely, it writes a variable shared by all workers with no
/// synchronization (races). Sequence numbers are consistent, so the analyzer accepts it.
pub fn synthetic(events: usize, tasks: u32, seed: u64) -> Trace {
    use EventKind::*;
    let tasks = tasks.max(1);
    let mut t = Trace::new(Header::new("synthetic"));
    t.define(Def::str(0, "step"));
    t.define(Def::str(1, "synthetic.rs"));
    t.define(Def::str(2, "shared"));
    for k in 0..8 {
        t.define(Def::Loc {
            id: k,
            file: 1,
            line: 100 + k,
            column: 1,
            function: None,
        });
    }
    t.define(Def::task(0, None));
    const SHARED: u64 = 1;
    t.define(Def::Object {
        id: SHARED,
        kind: ObjectKind::Variable,
        name: Some(2),
        loc: None,
    });
    let obj = |task: u32, k: u64| 1000 + task as u64 * 4 + k;
    for w in 1..=tasks {
        t.define(Def::task(w, Some(0)));
        t.define(Def::object(obj(w, 0), ObjectKind::Mutex));
        t.define(Def::object(obj(w, 1), ObjectKind::Variable));
        t.define(Def::object(obj(w, 2), ObjectKind::Channel { capacity: None }));
    }
    let mut rng = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move || {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        rng >> 33
    };
    let mut out = Vec::with_capacity(events + 4 * tasks as usize + 8);
    let mut now = 0u64;
    let push = |out: &mut Vec<Event>, task: u32, now: &mut u64, kind: EventKind, gap: u64| {
        *now += gap;
        out.push(Event {
            task,
            ts: *now,
            loc: Some((out.len() % 8) as u32),
            kind,
        });
    };
    push(&mut out, 0, &mut now, TaskStart, 0);
    for w in 1..=tasks {
        push(&mut out, 0, &mut now, TaskSpawn { child: w }, 10);
        push(&mut out, w, &mut now, TaskStart, 10);
    }
    // Per worker: position in its loop, lock/send sequence numbers.
    let mut step = vec![0u32; tasks as usize + 1];
    let mut lock_seq = vec![0u64; tasks as usize + 1];
    let mut chan_seq = vec![0u64; tasks as usize + 1];
    let body = events.saturating_sub(out.len() + 2 * tasks as usize + 1);
    for _ in 0..body {
        let w = 1 + (next() % tasks as u64) as u32;
        let gap = 1 + next() % 40;
        let s = &mut step[w as usize];
        let kind = match *s {
            0 => SpanEnter {
                name: 0,
                span: w as u64,
            },
            1 => LockRequest { lock: obj(w, 0) },
            2 => {
                lock_seq[w as usize] += 1;
                MutexLock {
                    mutex: obj(w, 0),
                    seq: lock_seq[w as usize],
                }
            }
            3 => VarWrite { var: obj(w, 1) },
            4 => MutexUnlock {
                mutex: obj(w, 0),
                seq: lock_seq[w as usize],
            },
            5 => {
                if next() % 5000 == 0 {
                    VarWrite { var: SHARED }
                } else {
                    VarRead { var: obj(w, 1) }
                }
            }
            6 => {
                chan_seq[w as usize] += 1;
                ChanSendBegin {
                    chan: obj(w, 2),
                    seq: chan_seq[w as usize],
                }
            }
            7 => ChanSendEnd {
                chan: obj(w, 2),
                seq: chan_seq[w as usize],
            },
            8 => ChanRecv {
                chan: obj(w, 2),
                result: RecvResult::Value {
                    seq: chan_seq[w as usize],
                },
            },
            _ => SpanExit { span: w as u64 },
        };
        *s = (*s + 1) % 10;
        push(&mut out, w, &mut now, kind, gap);
    }
    for w in 1..=tasks {
        // Close an open span or lock so the trace stays well formed.
        let s = step[w as usize];
        if (3..=4).contains(&s) {
            push(
                &mut out,
                w,
                &mut now,
                MutexUnlock {
                    mutex: obj(w, 0),
                    seq: lock_seq[w as usize],
                },
                1,
            );
        }
        if s == 7 {
            push(
                &mut out,
                w,
                &mut now,
                ChanSendEnd {
                    chan: obj(w, 2),
                    seq: chan_seq[w as usize],
                },
                1,
            );
        }
        push(&mut out, w, &mut now, TaskEnd, 1);
        push(&mut out, 0, &mut now, TaskJoin { child: w }, 1);
    }
    push(&mut out, 0, &mut now, TaskEnd, 1);
    t.events = out;
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_round_trips_through_the_binary_format() {
        let t = demo_trace();
        let bytes = t.write_binary(Vec::new(), 16).unwrap();
        let back = Trace::read_binary(&bytes[..]).unwrap();
        assert!(back.warnings.is_empty());
        assert_eq!(back.events.len(), t.events.len());
        // Per-task program order survives (the writer batches per task).
        for task in 0..3 {
            let a: Vec<_> = t.task_events(task).collect();
            let b: Vec<_> = back.task_events(task).collect();
            assert_eq!(a, b);
        }
    }

    #[test]
    fn synthetic_has_the_requested_size_and_consistent_locks() {
        let t = synthetic(10_000, 4, 7);
        // The closing events of each worker may add up to 4 per task.
        assert!((10_000..=10_016).contains(&t.events.len()), "{}", t.events.len());
        assert!(t.events.windows(2).all(|w| w[0].ts <= w[1].ts));
        // Every lock is unlocked with the same sequence number, in order.
        let mut held = std::collections::HashMap::new();
        for e in &t.events {
            match e.kind {
                EventKind::MutexLock { mutex, seq } => assert!(held.insert(mutex, seq).is_none()),
                EventKind::MutexUnlock { mutex, seq } => assert_eq!(held.remove(&mutex), Some(seq)),
                _ => {}
            }
        }
        assert!(held.is_empty());
    }
}
