//! Each instrumented type records exactly the expected events (kinds, sequence numbers,
//! locations) for a small deterministic program. Every test records in a process of its
//! own (see `common`).
//!
//! Locations are this file's lines: `let l = line!() + 1;` names the line of the next
//! statement.

mod common;

use std::time::Duration;

use common::{isolated, lane, obj, record};
use hb_format::EventKind::{self, *};
use hb_format::{MemOrder, RecvResult, TaskId, Trace};
use hb_recorder::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use hb_recorder::sync::mpsc::{named_channel, named_sync_channel, RecvTimeoutError, TrySendError};
use hb_recorder::sync::{Arc, Barrier, Condvar, Mutex, Once, OnceLock, RwLock, WaitGroup};
use hb_recorder::{tag, thread, Shared, Var};

const FILE: &str = "tests/events.rs";

type Lane = Vec<(EventKind, Option<u32>)>;

/// The task without parent (the thread that ran the test body).
fn root(trace: &Trace) -> TaskId {
    let roots: Vec<_> = trace
        .symbols
        .tasks()
        .filter(|t| t.parent.is_none())
        .map(|t| t.id)
        .collect();
    assert_eq!(roots.len(), 1, "one root task: {roots:?}");
    roots[0]
}

fn without_requests(l: Lane) -> Lane {
    l.into_iter()
        .filter(|(k, _)| !matches!(k, LockRequest { .. }))
        .collect()
}

#[test]
fn mutex_events() {
    isolated("mutex_events", || {
        let mut ls = Vec::new();
        let mut hold_line = 0;
        let trace = record(|| {
            let m = Arc::new(Mutex::named("m", 0u32));
            ls.push(line!() + 1);
            let g = m.lock().unwrap();
            drop(g);
            ls.push(line!() + 1);
            let g = m.try_lock().unwrap();
            ls.push(line!() + 1);
            assert!(m.try_lock().is_err());
            drop(g);
            let (held_tx, held_rx) = std::sync::mpsc::channel();
            let m2 = m.clone();
            let holder = move || {
                let l = line!() + 1;
                let g = m2.lock().unwrap();
                held_tx.send(()).unwrap();
                std::thread::sleep(Duration::from_millis(50));
                drop(g);
                l
            };
            let b = thread::Builder::new().name("holder".into());
            ls.push(line!() + 1);
            let t = b.spawn(holder).unwrap();
            held_rx.recv().unwrap();
            ls.push(line!() + 1);
            let g = m.lock().unwrap();
            drop(g);
            ls.push(line!() + 1);
            hold_line = t.join().unwrap();
        });
        let m = obj(&trace, "m");
        let main = root(&trace);
        let holder = common::task(&trace, "holder");
        let [a, b, c, d, e, f] = ls[..] else { panic!() };
        assert_eq!(trace.symbols.task(holder).unwrap().parent, Some(main));
        assert_eq!(
            lane(&trace, main, FILE),
            vec![
                (TaskStart, None),
                (MutexLock { mutex: m, seq: 1 }, Some(a)),
                (MutexUnlock { mutex: m, seq: 1 }, Some(a)),
                (MutexLock { mutex: m, seq: 2 }, Some(b)),
                (MutexTryLockFailed { mutex: m }, Some(c)),
                (MutexUnlock { mutex: m, seq: 2 }, Some(b)),
                (TaskSpawn { child: holder }, Some(d)),
                (LockRequest { lock: m }, Some(e)),
                (MutexLock { mutex: m, seq: 4 }, Some(e)),
                (MutexUnlock { mutex: m, seq: 4 }, Some(e)),
                (TaskJoin { child: holder }, Some(f)),
            ]
        );
        assert_eq!(
            lane(&trace, holder, FILE),
            vec![
                (TaskStart, Some(d)),
                (MutexLock { mutex: m, seq: 3 }, Some(hold_line)),
                (MutexUnlock { mutex: m, seq: 3 }, Some(hold_line)),
                (TaskEnd, None),
            ]
        );
        // The object's definition carries its creation site and name.
        let info = trace.symbols.object(m).unwrap();
        assert_eq!(info.kind, hb_format::ObjectKind::Mutex);
        assert!(trace.symbols.location_string(info.loc).contains(FILE));
    });
}

#[test]
fn mutex_poisoning_follows_std() {
    isolated("mutex_poisoning_follows_std", || {
        let trace = record(|| {
            let m = Arc::new(Mutex::named("p", 1));
            let m2 = m.clone();
            let r = thread::spawn(move || {
                let _g = m2.lock().unwrap();
                panic!("poison it");
            })
            .join();
            assert!(r.is_err());
            assert!(m.is_poisoned());
            let g = m.lock().unwrap_err().into_inner();
            assert_eq!(*g, 1);
            drop(g);
            m.clear_poison();
            assert!(m.lock().is_ok());
        });
        let p = obj(&trace, "p");
        let seqs: Vec<_> = trace
            .events
            .iter()
            .filter_map(|e| match e.kind {
                MutexLock { mutex, seq } if mutex == p => Some(seq),
                _ => None,
            })
            .collect();
        let mut sorted = seqs.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            vec![1, 2, 3],
            "the panicking holder's unlock is recorded too"
        );
        let unlocks = trace
            .events
            .iter()
            .filter(|e| matches!(e.kind, MutexUnlock { mutex, .. } if mutex == p));
        assert_eq!(unlocks.count(), 3);
    });
}

#[test]
fn rwlock_events() {
    isolated("rwlock_events", || {
        let mut ls = Vec::new();
        let mut hold_line = 0;
        let trace = record(|| {
            let rw = Arc::new(RwLock::named("rw", 0u32));
            ls.push(line!() + 1);
            let r1 = rw.read().unwrap();
            ls.push(line!() + 1);
            let r2 = rw.read().unwrap();
            drop(r1);
            drop(r2);
            ls.push(line!() + 1);
            let w = rw.write().unwrap();
            assert!(rw.try_read().is_err());
            drop(w);
            ls.push(line!() + 1);
            let r = rw.try_read().unwrap();
            drop(r);
            let (held_tx, held_rx) = std::sync::mpsc::channel();
            let rw2 = rw.clone();
            let t = thread::Builder::new()
                .name("reader".into())
                .spawn(move || {
                    let l = line!() + 1;
                    let g = rw2.read().unwrap();
                    held_tx.send(()).unwrap();
                    std::thread::sleep(Duration::from_millis(50));
                    drop(g);
                    l
                })
                .unwrap();
            held_rx.recv().unwrap();
            ls.push(line!() + 1);
            *rw.write().unwrap() += 1;
            hold_line = t.join().unwrap();
        });
        let rw = obj(&trace, "rw");
        let main = root(&trace);
        let reader = common::task(&trace, "reader");
        let [a, b, c, d, e] = ls[..] else { panic!() };
        let l = lane(&trace, main, FILE);
        let spawn_line = l[9].1;
        assert_eq!(
            l,
            vec![
                (TaskStart, None),
                (RwReadLock { lock: rw, seq: 1 }, Some(a)),
                (RwReadLock { lock: rw, seq: 2 }, Some(b)),
                (RwReadUnlock { lock: rw, seq: 1 }, Some(a)),
                (RwReadUnlock { lock: rw, seq: 2 }, Some(b)),
                (RwWriteLock { lock: rw, seq: 3 }, Some(c)),
                (RwWriteUnlock { lock: rw, seq: 3 }, Some(c)),
                (RwReadLock { lock: rw, seq: 4 }, Some(d)),
                (RwReadUnlock { lock: rw, seq: 4 }, Some(d)),
                (TaskSpawn { child: reader }, spawn_line),
                (LockRequest { lock: rw }, Some(e)),
                (RwWriteLock { lock: rw, seq: 6 }, Some(e)),
                (RwWriteUnlock { lock: rw, seq: 6 }, Some(e)),
                (TaskJoin { child: reader }, Some(e + 1)),
            ]
        );
        assert_eq!(
            lane(&trace, reader, FILE),
            vec![
                (TaskStart, spawn_line),
                (RwReadLock { lock: rw, seq: 5 }, Some(hold_line)),
                (RwReadUnlock { lock: rw, seq: 5 }, Some(hold_line)),
                (TaskEnd, None),
            ]
        );
    });
}

#[test]
fn condvar_events() {
    isolated("condvar_events", || {
        let mut ls = Vec::new();
        let mut nl = (0, 0);
        let trace = record(|| {
            let pair = Arc::new((Mutex::named("cm", false), Condvar::named("cv")));
            let p2 = pair.clone();
            ls.push(line!() + 1);
            let g = pair.0.lock().unwrap();
            let b = thread::Builder::new().name("notifier".into());
            ls.push(line!() + 1);
            let t = b.spawn(move || notify(&p2)).unwrap();
            ls.push(line!() + 1);
            let g = pair.1.wait_while(g, |ready| !*ready).unwrap();
            ls.push(line!() + 1);
            let (g, r) = pair.1.wait_timeout(g, Duration::from_millis(5)).unwrap();
            assert!(r.timed_out());
            drop(g);
            ls.push(line!() + 1);
            nl = t.join().unwrap();
        });
        fn notify(p: &(Mutex<bool>, Condvar)) -> (u32, u32) {
            let l1 = line!() + 1;
            let mut g = p.0.lock().unwrap();
            *g = true;
            let l2 = line!() + 1;
            p.1.notify_one();
            (l1, l2)
        }
        let (cm, cv) = (obj(&trace, "cm"), obj(&trace, "cv"));
        let main = root(&trace);
        let notifier = common::task(&trace, "notifier");
        let [a, b, c, d, e] = ls[..] else { panic!() };
        let wait_end = |timed_out| CondvarWaitEnd {
            condvar: cv,
            mutex: cm,
            timed_out,
        };
        assert_eq!(
            lane(&trace, main, FILE),
            vec![
                (TaskStart, None),
                (MutexLock { mutex: cm, seq: 1 }, Some(a)),
                (TaskSpawn { child: notifier }, Some(b)),
                (
                    CondvarWaitBegin {
                        condvar: cv,
                        mutex: cm
                    },
                    Some(c)
                ),
                (MutexUnlock { mutex: cm, seq: 1 }, Some(c)),
                (MutexLock { mutex: cm, seq: 3 }, Some(c)),
                (wait_end(false), Some(c)),
                (
                    CondvarWaitBegin {
                        condvar: cv,
                        mutex: cm
                    },
                    Some(d)
                ),
                (MutexUnlock { mutex: cm, seq: 3 }, Some(d)),
                (MutexLock { mutex: cm, seq: 4 }, Some(d)),
                (wait_end(true), Some(d)),
                (MutexUnlock { mutex: cm, seq: 4 }, Some(d)),
                (TaskJoin { child: notifier }, Some(e)),
            ]
        );
        let (n1, n2) = nl;
        assert_eq!(
            without_requests(lane(&trace, notifier, FILE)),
            vec![
                (TaskStart, Some(b)),
                (MutexLock { mutex: cm, seq: 2 }, Some(n1)),
                (CondvarNotifyOne { condvar: cv }, Some(n2)),
                (MutexUnlock { mutex: cm, seq: 2 }, Some(n1)),
                (TaskEnd, None),
            ]
        );
    });
}

#[test]
fn channel_events() {
    isolated("channel_events", || {
        let mut ls = Vec::new();
        let mut sl = 0;
        let trace = record(|| {
            ls.push(line!() + 1);
            let (tx, rx) = named_channel::<u32>("unbounded");
            ls.push(line!() + 1);
            tx.send(1).unwrap();
            let tx2 = tx.clone();
            ls.push(line!() + 1);
            tx2.send(2).unwrap();
            drop(tx);
            ls.push(line!() + 1);
            assert_eq!(rx.recv(), Ok(1));
            ls.push(line!() + 1);
            assert_eq!(rx.try_recv(), Ok(2));
            drop(tx2);
            ls.push(line!() + 1);
            assert!(rx.recv().is_err());

            ls.push(line!() + 1);
            let (stx, srx) = named_sync_channel::<u32>("bounded", 1);
            ls.push(line!() + 1);
            stx.send(1).unwrap();
            assert!(matches!(stx.try_send(2), Err(TrySendError::Full(2))));
            ls.push(line!() + 1);
            assert_eq!(srx.recv(), Ok(1));
            ls.push(line!() + 1);
            stx.try_send(3).unwrap();
            ls.push(line!() + 1);
            assert_eq!(srx.recv_timeout(Duration::from_secs(5)), Ok(3));
            let r = srx.recv_timeout(Duration::from_millis(5));
            assert_eq!(r, Err(RecvTimeoutError::Timeout));

            ls.push(line!() + 1);
            let (rtx, rrx) = named_sync_channel::<u32>("rendezvous", 0);
            ls.push(line!() + 1);
            let t = thread::Builder::new().name("sender".into()).spawn(move || {
                let l = line!() + 1;
                rtx.send(7).unwrap();
                l
            });
            ls.push(line!() + 1);
            assert_eq!(rrx.recv(), Ok(7));
            ls.push(line!() + 1);
            assert!(rrx.recv().is_err());
            sl = t.unwrap().join().unwrap();
            drop(stx);
        });
        let (u, b, r) = (
            obj(&trace, "unbounded"),
            obj(&trace, "bounded"),
            obj(&trace, "rendezvous"),
        );
        let main = root(&trace);
        let sender = common::task(&trace, "sender");
        let [l0, l1, l2, l3, l4, l5, l6, l7, l8, l9, l10, l11, l12, l13, l14] = ls[..] else {
            panic!()
        };
        let val = |seq| RecvResult::Value { seq };
        let kinds = |o: u64| trace.symbols.object(o).unwrap().kind;
        assert_eq!(kinds(u), hb_format::ObjectKind::Channel { capacity: None });
        assert_eq!(kinds(b), hb_format::ObjectKind::Channel { capacity: Some(1) });
        assert_eq!(kinds(r), hb_format::ObjectKind::Channel { capacity: Some(0) });
        let mut main_lane = lane(&trace, main, FILE);
        let close_b = main_lane.pop().unwrap();
        let join = main_lane.pop().unwrap();
        assert!(matches!(join.0, TaskJoin { child } if child == sender));
        assert_eq!(close_b, (ChanClose { chan: b, seq: 1 }, None));
        assert_eq!(
            main_lane,
            vec![
                (TaskStart, None),
                (ChanMake { chan: u }, Some(l0)),
                (ChanSendBegin { chan: u, seq: 1 }, Some(l1)),
                (ChanSendEnd { chan: u, seq: 1 }, Some(l1)),
                (ChanSendBegin { chan: u, seq: 2 }, Some(l2)),
                (ChanSendEnd { chan: u, seq: 2 }, Some(l2)),
                (ChanClose { chan: u, seq: 1 }, None),
                (
                    ChanRecv {
                        chan: u,
                        result: val(1)
                    },
                    Some(l3)
                ),
                (
                    ChanRecv {
                        chan: u,
                        result: val(2)
                    },
                    Some(l4)
                ),
                (ChanClose { chan: u, seq: 2 }, None),
                (
                    ChanRecv {
                        chan: u,
                        result: RecvResult::Closed { closes: 2 }
                    },
                    Some(l5)
                ),
                (ChanMake { chan: b }, Some(l6)),
                (ChanSendBegin { chan: b, seq: 1 }, Some(l7)),
                (ChanSendEnd { chan: b, seq: 1 }, Some(l7)),
                (
                    ChanRecv {
                        chan: b,
                        result: val(1)
                    },
                    Some(l8)
                ),
                (ChanSendBegin { chan: b, seq: 2 }, Some(l9)),
                (ChanSendEnd { chan: b, seq: 2 }, Some(l9)),
                (
                    ChanRecv {
                        chan: b,
                        result: val(2)
                    },
                    Some(l10)
                ),
                (ChanMake { chan: r }, Some(l11)),
                (TaskSpawn { child: sender }, Some(l12)),
                (
                    ChanRecv {
                        chan: r,
                        result: val(1)
                    },
                    Some(l13)
                ),
                (
                    ChanRecv {
                        chan: r,
                        result: RecvResult::Closed { closes: 1 }
                    },
                    Some(l14)
                ),
            ]
        );
        assert_eq!(
            lane(&trace, sender, FILE),
            vec![
                (TaskStart, Some(l12)),
                (ChanSendBegin { chan: r, seq: 1 }, Some(sl)),
                (ChanSendEnd { chan: r, seq: 1 }, Some(sl)),
                (ChanClose { chan: r, seq: 1 }, None),
                (TaskEnd, None),
            ]
        );
    });
}

#[test]
fn rendezvous_send_ends_after_the_receive() {
    isolated("rendezvous_send_ends_after_the_receive", || {
        let trace = record(|| {
            let (tx, rx) = named_sync_channel::<u32>("r0", 0);
            let t = thread::spawn(move || {
                let t0 = std::time::Instant::now();
                tx.send(1).unwrap();
                t0.elapsed()
            });
            std::thread::sleep(Duration::from_millis(40));
            assert_eq!(rx.recv(), Ok(1));
            let blocked = t.join().unwrap();
            assert!(
                blocked >= Duration::from_millis(30),
                "send returned after {blocked:?}"
            );
        });
        let r0 = obj(&trace, "r0");
        let kinds: Vec<_> = trace
            .events
            .iter()
            .map(|e| e.kind)
            .filter(|k| k.object() == Some(r0))
            .collect();
        for k in [
            ChanMake { chan: r0 },
            ChanSendBegin { chan: r0, seq: 1 },
            ChanSendEnd { chan: r0, seq: 1 },
            ChanRecv {
                chan: r0,
                result: RecvResult::Value { seq: 1 },
            },
            ChanClose { chan: r0, seq: 1 },
        ] {
            assert!(kinds.contains(&k), "{k:?} missing from {kinds:?}");
        }
    });
}

#[test]
fn once_events() {
    isolated("once_events", || {
        static ONCE: Once = Once::named("once");
        let mut ls = Vec::new();
        let trace = record(|| {
            ls.push(line!() + 1);
            ONCE.call_once(|| {});
            ls.push(line!() + 1);
            ONCE.call_once(|| unreachable!());
            let cell: OnceLock<u32> = OnceLock::named("cell");
            assert!(cell.get().is_none());
            ls.push(line!() + 1);
            assert_eq!(*cell.get_or_init(|| 5), 5);
            ls.push(line!() + 1);
            assert_eq!(cell.get(), Some(&5));
            ls.push(line!() + 1);
            assert_eq!(cell.set(6), Err(6));
            let cell2: OnceLock<u32> = OnceLock::named("cell2");
            ls.push(line!() + 1);
            assert_eq!(cell2.set(1), Ok(()));
        });
        let (o, c, c2) = (obj(&trace, "once"), obj(&trace, "cell"), obj(&trace, "cell2"));
        let [a, b, d, e, f, g] = ls[..] else { panic!() };
        assert_eq!(
            lane(&trace, root(&trace), FILE),
            vec![
                (TaskStart, None),
                (OnceBegin { once: o }, Some(a)),
                (OnceEnd { once: o }, Some(a)),
                (OnceAlreadyDone { once: o }, Some(b)),
                (OnceBegin { once: c }, Some(d)),
                (OnceEnd { once: c }, Some(d)),
                (OnceAlreadyDone { once: c }, Some(e)),
                (OnceAlreadyDone { once: c }, Some(f)),
                (OnceBegin { once: c2 }, Some(g)),
                (OnceEnd { once: c2 }, Some(g)),
            ]
        );
    });
}

#[test]
fn waitgroup_events() {
    isolated("waitgroup_events", || {
        let mut ls = Vec::new();
        let trace = record(|| {
            let wg = WaitGroup::named("wg");
            ls.push(line!() + 1);
            wg.wait();
            ls.push(line!() + 1);
            wg.add(2);
            ls.push(line!() + 1);
            wg.done();
            ls.push(line!() + 1);
            wg.done();
            ls.push(line!() + 1);
            wg.wait();
            let wg = Arc::new(WaitGroup::named("wg2"));
            wg.add(1);
            let w2 = wg.clone();
            let t = thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                w2.done();
            });
            wg.wait();
            t.join().unwrap();
        });
        let wg = obj(&trace, "wg");
        let [a, b, c, d, e] = ls[..] else { panic!() };
        let l = lane(&trace, root(&trace), FILE);
        assert_eq!(
            l[..6],
            [
                (TaskStart, None),
                (WaitGroupWait { wg, seq: 0 }, Some(a)),
                (WaitGroupAdd { wg, delta: 2 }, Some(b)),
                (
                    WaitGroupDone {
                        wg,
                        seq: 1,
                        zero: false
                    },
                    Some(c)
                ),
                (
                    WaitGroupDone {
                        wg,
                        seq: 2,
                        zero: true
                    },
                    Some(d)
                ),
                (WaitGroupWait { wg, seq: 2 }, Some(e)),
            ]
        );
        // Across threads: the wait names the other task's done.
        let wg2 = obj(&trace, "wg2");
        let kinds: Vec<_> = trace
            .events
            .iter()
            .map(|e| e.kind)
            .filter(|k| k.object() == Some(wg2))
            .collect();
        assert!(kinds.contains(&WaitGroupDone {
            wg: wg2,
            seq: 1,
            zero: true
        }));
        assert!(kinds.contains(&WaitGroupWait { wg: wg2, seq: 1 }));
    });
}

#[test]
fn barrier_events() {
    isolated("barrier_events", || {
        let mut leaders = Vec::new();
        let trace = record(|| {
            let b = Arc::new(Barrier::named("b", 2));
            let b2 = b.clone();
            let t = thread::spawn(move || (b2.wait().is_leader(), b2.wait().is_leader()));
            let mine = (b.wait().is_leader(), b.wait().is_leader());
            let theirs = t.join().unwrap();
            leaders = vec![mine.0 ^ theirs.0, mine.1 ^ theirs.1];
        });
        assert_eq!(leaders, vec![true, true], "exactly one leader per generation");
        let b = obj(&trace, "b");
        let mut arrivals = Vec::new();
        for t in trace.symbols.tasks() {
            let evs: Vec<_> = trace
                .task_events(t.id)
                .map(|e| e.kind)
                .filter(|k| k.object() == Some(b))
                .collect();
            assert_eq!(evs.len(), 4, "two arrive/leave pairs per task: {evs:?}");
            for (i, pair) in evs.chunks(2).enumerate() {
                let gen_last = 2 * (i as u64 + 1);
                match (pair[0], pair[1]) {
                    (BarrierArrive { seq, last, .. }, BarrierLeave { seq: leave, .. }) => {
                        assert!(seq == gen_last - 1 || seq == gen_last, "{pair:?}");
                        assert_eq!(last, seq == gen_last, "the completing arrival is last");
                        assert_eq!(leave, gen_last);
                        arrivals.push(seq);
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        arrivals.sort();
        assert_eq!(arrivals, vec![1, 2, 3, 4]);
    });
}

/// A spin (loads of one atomic reading the same version, back to back) reuses the last clock
/// reading for up to 7 loads in a row; any other event, and a load of a new version, reads the
/// clock. Sleeps between the loads make every clock reading later than the previous one.
#[test]
fn spin_loads_reuse_the_last_clock_reading() {
    isolated("spin_loads_reuse_the_last_clock_reading", || {
        let gap = || std::thread::sleep(Duration::from_micros(200));
        let trace = record(|| {
            let a = AtomicUsize::named("spun", 0);
            for _ in 0..20 {
                assert_eq!(a.load(Ordering::Acquire), 0);
                gap();
            }
            a.store(1, Ordering::Release);
            gap();
            assert_eq!(a.load(Ordering::Acquire), 1);
            gap();
            assert_eq!(a.load(Ordering::Relaxed), 1);
            gap();
            tag::read(&a);
            gap();
            assert_eq!(a.load(Ordering::Relaxed), 1);
        });
        let meta = &trace.header.metadata;
        assert!(
            meta.iter()
                .any(|(k, v)| k == "timestamps" && v.contains("at most 7")),
            "{meta:?}"
        );
        let spun = obj(&trace, "spun");
        let evs: Vec<_> = trace
            .events
            .iter()
            .filter(|e| e.task == root(&trace) && e.kind.object().is_some())
            .collect();
        // 20 loads of version 0, the store, 2 loads of version 1, the tagged read, a load.
        assert_eq!(evs.len(), 25, "{evs:?}");
        assert!(evs[..20]
            .iter()
            .all(|e| matches!(e.kind, AtomicLoad { atomic, version: 0, .. } if atomic == spun)));
        for (i, w) in evs.windows(2).enumerate() {
            let i = i + 1;
            // Loads 1-7, 9-15 and 17-19 of the spin, and the second load of version 1, repeat
            // their previous event: same stamp. Everything else is a later clock reading.
            let repeat = (i < 20 && i % 8 != 0) || i == 22;
            if repeat {
                assert_eq!(w[1].ts, w[0].ts, "event {i} reuses the last reading: {evs:?}");
            } else {
                assert!(w[1].ts > w[0].ts, "event {i} reads the clock: {evs:?}");
            }
        }
    });
}

#[test]
fn atomic_events() {
    isolated("atomic_events", || {
        let mut ls = Vec::new();
        let mut spins = 0;
        let trace = record(|| {
            use Ordering::{Acquire, Relaxed, Release, SeqCst};
            let a = AtomicUsize::named("a", 0);
            ls.push(line!() + 1);
            a.store(5, Ordering::Release);
            ls.push(line!() + 1);
            assert_eq!(a.load(Ordering::Acquire), 5);
            ls.push(line!() + 1);
            a.fetch_add(1, Ordering::AcqRel);
            ls.push(line!() + 1);
            let r = a.compare_exchange(0, 9, SeqCst, Relaxed);
            assert_eq!(r, Err(6));
            ls.push(line!() + 1);
            let r = a.compare_exchange(6, 9, SeqCst, Acquire);
            assert_eq!(r, Ok(6));
            ls.push(line!() + 1);
            a.swap(1, Ordering::Relaxed);
            ls.push(line!() + 1);
            let r = a.fetch_update(Release, Acquire, |x| Some(x + 1));
            assert_eq!(r, Ok(1));
            let p = AtomicPtr::<u8>::named("p", std::ptr::null_mut());
            ls.push(line!() + 1);
            assert!(p.load(Ordering::SeqCst).is_null());

            // Exact reads-from across threads: the flag load that sees `true` names the store.
            let flag = Arc::new(AtomicBool::named("flag", false));
            let f2 = flag.clone();
            let t = thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(10));
                f2.store(true, Ordering::Release);
            });
            while !flag.load(Ordering::Acquire) {
                spins += 1;
                std::hint::spin_loop();
            }
            t.join().unwrap();
        });
        let (a, p) = (obj(&trace, "a"), obj(&trace, "p"));
        let [l1, l2, l3, l4, l5, l6, l7, l8] = ls[..] else {
            panic!()
        };
        let ld = |order, version| AtomicLoad {
            atomic: a,
            order,
            version,
        };
        let rmw = |order, version| AtomicRmw {
            atomic: a,
            order,
            version,
        };
        let l = lane(&trace, root(&trace), FILE);
        assert_eq!(
            l[..11],
            [
                (TaskStart, None),
                (
                    AtomicStore {
                        atomic: a,
                        order: MemOrder::Release,
                        version: 1
                    },
                    Some(l1)
                ),
                (ld(MemOrder::Acquire, 1), Some(l2)),
                (rmw(MemOrder::AcqRel, 2), Some(l3)),
                (ld(MemOrder::Relaxed, 2), Some(l4)),
                (rmw(MemOrder::SeqCst, 3), Some(l5)),
                (rmw(MemOrder::Relaxed, 4), Some(l6)),
                (ld(MemOrder::Acquire, 4), Some(l7)),
                (rmw(MemOrder::Release, 5), Some(l7)),
                (
                    AtomicLoad {
                        atomic: p,
                        order: MemOrder::SeqCst,
                        version: 0
                    },
                    Some(l8)
                ),
                (l[10].0, l[10].1),
            ]
        );
        let flag = obj(&trace, "flag");
        let loads: Vec<u64> = trace
            .events
            .iter()
            .filter_map(|e| match e.kind {
                AtomicLoad { atomic, version, .. } if atomic == flag => Some(version),
                _ => None,
            })
            .collect();
        assert_eq!(loads.len(), spins + 1);
        assert_eq!(*loads.last().unwrap(), 1, "the load that saw true read store 1");
        assert!(
            loads[..spins].iter().all(|&v| v == 0),
            "earlier loads read the initial value"
        );
    });
}

#[test]
fn thread_events() {
    isolated("thread_events", || {
        let mut ls = Vec::new();
        let mut yl = 0;
        let trace = record(|| {
            let b = thread::Builder::new().name("child".into());
            ls.push(line!() + 1);
            let t = b.spawn(child_body).unwrap();
            ls.push(line!() + 1);
            yl = t.join().unwrap();
            let x = Mutex::named("x", 0);
            ls.push(line!() + 1);
            thread::scope(|s| {
                ls.push(line!() + 1);
                let h = s.spawn(|| *x.lock().unwrap() += 1);
                ls.push(line!() + 1);
                s.spawn(|| *x.lock().unwrap() += 1);
                ls.push(line!() + 1);
                h.join().unwrap();
            });
            std::panic::set_hook(Box::new(|_| {}));
            ls.push(line!() + 1);
            let p = thread::spawn(|| panic!("boom"));
            ls.push(line!() + 1);
            assert!(p.join().is_err());
            let _ = std::panic::take_hook();
            ls.push(line!() + 1);
            thread::sleep(Duration::from_millis(1));
        });
        fn child_body() -> u32 {
            let l = line!() + 1;
            thread::yield_now();
            l
        }
        let main = root(&trace);
        let child = common::task(&trace, "child");
        assert_eq!(trace.symbols.task(child).unwrap().parent, Some(main));
        let [a, b, c, d, e, f, g, h, i] = ls[..] else {
            panic!()
        };
        let l = lane(&trace, main, FILE);
        let kids: Vec<TaskId> = l
            .iter()
            .filter_map(|(k, _)| match k {
                TaskSpawn { child } => Some(*child),
                _ => None,
            })
            .collect();
        let [c0, s1, s2, p] = kids[..] else {
            panic!("{kids:?}")
        };
        assert_eq!(c0, child);
        assert_eq!(
            l,
            vec![
                (TaskStart, None),
                (TaskSpawn { child }, Some(a)),
                (TaskJoin { child }, Some(b)),
                (TaskSpawn { child: s1 }, Some(d)),
                (TaskSpawn { child: s2 }, Some(e)),
                (TaskJoin { child: s1 }, Some(f)),
                (TaskJoin { child: s2 }, Some(c)),
                (TaskSpawn { child: p }, Some(g)),
                (TaskJoin { child: p }, Some(h)),
                (Sleep { nanos: 1_000_000 }, Some(i)),
            ]
        );
        assert_eq!(
            lane(&trace, child, FILE),
            vec![(TaskStart, Some(a)), (Yield, Some(yl)), (TaskEnd, None)]
        );
        // A panicking task still records its end.
        assert_eq!(lane(&trace, p, FILE), vec![(TaskStart, Some(g)), (TaskEnd, None)]);
        for s in [s1, s2] {
            let kinds: Vec<_> = lane(&trace, s, FILE).into_iter().map(|(k, _)| k.name()).collect();
            let kinds: Vec<_> = kinds.into_iter().filter(|k| *k != "lock-request").collect();
            assert_eq!(kinds, ["start", "mutex-lock", "mutex-unlock", "end"]);
        }
    });
}

#[test]
fn tagged_variable_events() {
    isolated("tagged_variable_events", || {
        let mut ls = Vec::new();
        let trace = record(|| {
            let x = Shared::new("x", 1u32);
            ls.push(line!() + 1);
            assert_eq!(x.get(), 1);
            ls.push(line!() + 1);
            x.set(2);
            ls.push(line!() + 1);
            assert_eq!(x.with(|v| *v), 2);
            ls.push(line!() + 1);
            x.with_mut(|v| *v += 1);
            ls.push(line!() + 1);
            assert_eq!(x.replace(0), 3);
            let v = Var::new("v");
            ls.push(line!() + 1);
            v.read();
            ls.push(line!() + 1);
            v.write();
            let y = 5u64;
            ls.push(line!() + 1);
            hb_recorder::hb_read!(y);
            ls.push(line!() + 1);
            hb_recorder::hb_write!(y);
            ls.push(line!() + 1);
            tag::read(&y);
        });
        let (x, v, y) = (obj(&trace, "x"), obj(&trace, "v"), obj(&trace, "y"));
        let [a, b, c, d, e, f, g, h, i, j] = ls[..] else {
            panic!()
        };
        assert_eq!(
            lane(&trace, root(&trace), FILE),
            vec![
                (TaskStart, None),
                (VarRead { var: x }, Some(a)),
                (VarWrite { var: x }, Some(b)),
                (VarRead { var: x }, Some(c)),
                (VarWrite { var: x }, Some(d)),
                (VarWrite { var: x }, Some(e)),
                (VarRead { var: v }, Some(f)),
                (VarWrite { var: v }, Some(g)),
                (VarRead { var: y }, Some(h)),
                (VarWrite { var: y }, Some(i)),
                (VarRead { var: y }, Some(j)),
            ]
        );
    });
}

#[test]
fn tracing_spans_and_events() {
    use tracing_subscriber::prelude::*;
    isolated("tracing_spans_and_events", || {
        let out = hb_recorder::MemoryWriter::new();
        let layer = hb_recorder::Recorder::builder()
            .writer(out.clone())
            .layer()
            .unwrap();
        let subscriber = tracing_subscriber::registry().with(layer);
        let mut ls = Vec::new();
        tracing::subscriber::with_default(subscriber, || {
            ls.push(line!() + 1);
            let span = tracing::info_span!("work");
            let entered = span.enter();
            ls.push(line!() + 1);
            tracing::info!(n = 3, "hello");
            drop(entered);
        });
        hb_recorder::finish().unwrap();
        let bytes = out.contents();
        common::check_defs_precede_use(&bytes);
        let trace = Trace::read_binary(&bytes[..]).unwrap();
        let [s, e] = ls[..] else { panic!() };
        let l = lane(&trace, root(&trace), FILE);
        let (SpanEnter { name, span }, Some(sl)) = l[1] else {
            panic!("{l:?}")
        };
        assert_eq!(trace.symbols.string(name), Some("work"));
        assert_eq!(sl, s);
        let (UserEvent { message }, Some(el)) = l[2] else {
            panic!("{l:?}")
        };
        assert_eq!(trace.symbols.string(message), Some("hello n=3"));
        assert_eq!(el, e);
        assert_eq!(l[3], (SpanExit { span }, Some(s)));
        assert_eq!(l.len(), 4);
    });
}

#[test]
fn recording_off_records_nothing_and_env_gate() {
    isolated("recording_off_records_nothing_and_env_gate", || {
        // HB_TRACE is removed for child processes: init_from_env records nothing.
        assert!(hb_recorder::init_from_env().unwrap().is_none());
        assert!(hb_recorder::layer_from_env().unwrap().is_none());
        assert!(!hb_recorder::is_recording());
        let m = Mutex::new(1);
        *m.lock().unwrap() += 1;
        let (tx, rx) = hb_recorder::sync::mpsc::channel();
        tx.send(1).unwrap();
        assert_eq!(rx.recv(), Ok(1));
        assert!(hb_recorder::finish().is_err(), "nothing to finish");
        // A recording started later works, numbering from 1.
        let trace = record(|| {
            *m.lock().unwrap() += 1;
        });
        let events: Vec<_> = trace.events.iter().map(|e| e.kind).collect();
        assert!(matches!(events[1], MutexLock { seq: 1, .. }), "{events:?}");
        // One recording per process.
        let again = hb_recorder::Recorder::builder().writer(Vec::new()).install();
        assert_eq!(again.unwrap_err().kind(), std::io::ErrorKind::AlreadyExists);
    });
}
