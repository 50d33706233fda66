//! Concurrency stress: many tasks and objects, tiny buffers (many frames), and a trace the
//! format reader accepts with every per-object sequence complete and gap-free.

mod common;

use std::collections::HashMap;

use common::{check_defs_precede_use, isolated, record_bytes};
use hb_format::{EventKind::*, ObjectId, RecvResult, Trace};
use hb_recorder::sync::atomic::{AtomicU64, Ordering};
use hb_recorder::sync::mpsc::sync_channel;
use hb_recorder::sync::{Arc, Barrier, Mutex, RwLock, WaitGroup};
use hb_recorder::{thread, MemoryWriter, Recorder, Shared};

const THREADS: usize = 8;
const ROUNDS: usize = 300;

fn workload() {
    let mutexes: Arc<Vec<Mutex<u64>>> =
        Arc::new((0..16).map(|i| Mutex::with_name(format!("m{i}"), 0)).collect());
    let rwlocks: Arc<Vec<RwLock<u64>>> = Arc::new((0..4).map(|_| RwLock::new(0)).collect());
    let atomics: Arc<Vec<AtomicU64>> = Arc::new((0..8).map(|_| AtomicU64::new(0)).collect());
    let shared = Arc::new(Shared::new("total", 0u64));
    let wg = Arc::new(WaitGroup::new());
    let barrier = Arc::new(Barrier::new(THREADS));
    let mut receivers = Vec::new();
    let mut senders = Vec::new();
    for _ in 0..THREADS {
        let (tx, rx) = sync_channel::<u64>(2);
        senders.push(tx);
        receivers.push(rx);
    }
    wg.add(THREADS as i64);
    let mut handles = Vec::new();
    for (i, rx) in receivers.into_iter().enumerate() {
        // Thread i sends to thread i+1 and receives from thread i-1.
        let tx = senders[(i + 1) % THREADS].clone();
        let (mutexes, rwlocks, atomics) = (mutexes.clone(), rwlocks.clone(), atomics.clone());
        let (shared, wg, barrier) = (shared.clone(), wg.clone(), barrier.clone());
        handles.push(thread::spawn(move || {
            for r in 0..ROUNDS {
                let k = (i * 7 + r) % mutexes.len();
                *mutexes[k].lock().unwrap() += 1;
                if r % 5 == 0 {
                    *rwlocks[r % 4].write().unwrap() += 1;
                } else {
                    let _ = *rwlocks[r % 4].read().unwrap();
                }
                let a = &atomics[(i + r) % atomics.len()];
                a.fetch_add(1, Ordering::AcqRel);
                let _ = a.load(Ordering::Acquire);
                if r % 3 == 0 {
                    a.store(r as u64, Ordering::Release);
                }
                let _ = a.compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire);
                tx.send(r as u64).unwrap();
                rx.recv().unwrap();
                if r % 50 == 0 {
                    barrier.wait();
                }
                shared.with_mut(|v| *v += 1);
            }
            drop(tx);
            wg.done();
        }));
    }
    drop(senders);
    wg.wait();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(shared.get(), (THREADS * ROUNDS) as u64);
}

/// Sorted, must be exactly 1..=n.
fn assert_dense(what: &str, mut seqs: Vec<u64>) {
    seqs.sort_unstable();
    for (i, s) in seqs.iter().enumerate() {
        assert_eq!(
            *s,
            i as u64 + 1,
            "{what}: sequence numbers not 1..=n: {:?}",
            &seqs[..seqs.len().min(40)]
        );
    }
}

#[test]
fn stress_trace_is_complete_and_gap_free() {
    isolated("stress_trace_is_complete_and_gap_free", || {
        let out = MemoryWriter::new();
        let guard = Recorder::builder()
            .writer(out.clone())
            .buffer_events(64)
            .queue_frames(4)
            .install()
            .unwrap();
        workload();
        let summary = guard.finish().unwrap();
        let bytes = out.contents();
        check_defs_precede_use(&bytes);
        let trace = Trace::read_binary(&bytes[..]).unwrap();
        assert!(trace.warnings.is_empty(), "{:?}", trace.warnings);
        assert_eq!(trace.events.len() as u64, summary.events);
        assert!(
            summary.frames >= summary.events / 64,
            "tiny buffers give many frames: {summary:?}"
        );
        assert_eq!(trace.symbols.tasks().count(), THREADS + 1);

        let mut lock: HashMap<ObjectId, Vec<u64>> = HashMap::new();
        let mut unlock: HashMap<ObjectId, Vec<u64>> = HashMap::new();
        let mut versions: HashMap<ObjectId, Vec<u64>> = HashMap::new();
        let mut loads: HashMap<ObjectId, Vec<u64>> = HashMap::new();
        let mut sends: HashMap<ObjectId, Vec<u64>> = HashMap::new();
        let mut ends: HashMap<ObjectId, Vec<u64>> = HashMap::new();
        let mut recvs: HashMap<ObjectId, Vec<u64>> = HashMap::new();
        let mut closes: HashMap<ObjectId, Vec<u64>> = HashMap::new();
        let mut arrivals: HashMap<ObjectId, Vec<u64>> = HashMap::new();
        let mut dones: HashMap<ObjectId, Vec<u64>> = HashMap::new();
        for e in &trace.events {
            let (m, o, s) = match e.kind {
                MutexLock { mutex, seq }
                | RwReadLock { lock: mutex, seq }
                | RwWriteLock { lock: mutex, seq } => (&mut lock, mutex, seq),
                MutexUnlock { mutex, seq }
                | RwReadUnlock { lock: mutex, seq }
                | RwWriteUnlock { lock: mutex, seq } => (&mut unlock, mutex, seq),
                AtomicStore { atomic, version, .. } | AtomicRmw { atomic, version, .. } => {
                    (&mut versions, atomic, version)
                }
                AtomicLoad { atomic, version, .. } => (&mut loads, atomic, version),
                ChanSendBegin { chan, seq } => (&mut sends, chan, seq),
                ChanSendEnd { chan, seq } => (&mut ends, chan, seq),
                ChanRecv {
                    chan,
                    result: RecvResult::Value { seq },
                } => (&mut recvs, chan, seq),
                ChanClose { chan, seq } => (&mut closes, chan, seq),
                BarrierArrive { barrier, seq, .. } => (&mut arrivals, barrier, seq),
                WaitGroupDone { wg, seq, .. } => (&mut dones, wg, seq),
                _ => continue,
            };
            m.entry(o).or_default().push(s);
        }
        assert_eq!(lock.len(), 16 + 4);
        for (o, seqs) in &lock {
            assert_dense(&format!("lock {o}"), seqs.clone());
            assert_dense(&format!("unlock {o}"), unlock[o].clone());
        }
        let total_locks: usize = lock.values().map(Vec::len).sum();
        assert_eq!(total_locks, 2 * THREADS * ROUNDS);
        assert_eq!(versions.len(), 8);
        for (o, v) in &versions {
            let max = v.len() as u64;
            assert_dense(&format!("atomic {o}"), v.clone());
            assert!(
                loads[o].iter().all(|&l| l <= max),
                "a load names a version that exists"
            );
        }
        assert_eq!(sends.len(), THREADS);
        for (c, s) in &sends {
            assert_eq!(s.len(), ROUNDS);
            assert_dense(&format!("send {c}"), s.clone());
            assert_dense(&format!("send end {c}"), ends[c].clone());
            // Receives come in queue order on each channel's single receiver.
            assert_eq!(recvs[c], (1..=ROUNDS as u64).collect::<Vec<_>>());
            // Two sender handles per channel (the original and one clone).
            assert_dense(&format!("close {c}"), closes[c].clone());
            assert_eq!(closes[c].len(), 2);
        }
        for (b, a) in &arrivals {
            assert_eq!(a.len(), THREADS * ROUNDS.div_ceil(50));
            assert_dense(&format!("barrier {b}"), a.clone());
        }
        for (w, d) in &dones {
            assert_dense(&format!("waitgroup {w}"), d.clone());
        }
    });
}

#[test]
fn trace_survives_small_queue_and_file_output() {
    isolated("trace_survives_small_queue_and_file_output", || {
        let bytes = record_bytes(workload);
        check_defs_precede_use(&bytes);
        let trace = Trace::read_binary(&bytes[..]).unwrap();
        assert!(trace.warnings.is_empty());
        // Per task, the events are in program order: each task starts first and ends last.
        for t in trace.symbols.tasks() {
            let evs: Vec<_> = trace.task_events(t.id).collect();
            assert_eq!(evs[0].kind, TaskStart);
            if t.parent.is_some() {
                assert_eq!(evs.last().unwrap().kind, TaskEnd);
            }
        }
    });
}
