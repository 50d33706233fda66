//! Writes a random but consistent binary trace that uses every kind of synchronization the
//! engine knows (spawn/join, nested mutexes, a rwlock, channels of capacity 0, 2 and
//! unbounded with close, atomics with every ordering, a wait group, a barrier, a once),
//! with per-task frames flushed at random sizes so the merge sees real interleavings.
//!
//! Used to check that optimizations change no result:
//! `cargo run --release -p hb-analyzer --example mixed_trace -- out.hb [events] [seed]`,
//! then compare `hb-analyze --format json out.hb` before and after.

use std::io::BufWriter;

use hb_format::{Def, Event, EventKind, Header, MemOrder, ObjectKind, RecvResult, TraceWriter};

const TASKS: usize = 6;
const MUTEXES: u64 = 4;
const RW: u64 = 10;
const CHANS: [(u64, Option<u64>); 3] = [(20, Some(0)), (21, Some(2)), (22, None)];
const ATOMICS: u64 = 2;
const ATOMIC0: u64 = 30;
const WG: u64 = 40;
const BARRIER: u64 = 41;
const ONCE: u64 = 42;
const VARS: u64 = 40;
const VAR0: u64 = 100;

/// xorshift64*: deterministic, fast.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Default)]
struct Chan {
    sent: u64,
    received: u64,
    closed: bool,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).expect("usage: mixed_trace OUT [events] [seed]");
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let seed: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(7);
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);

    let out = BufWriter::new(std::fs::File::create(path).expect("create output"));
    let mut w = TraceWriter::new(out, &Header::new("mixed")).expect("write header");
    let mut defs = vec![Def::str(0, "mixed.rs")];
    defs.extend((0..TASKS as u32).map(|t| Def::task(t, (t > 0).then_some(0))));
    let mut obj = |id, kind| defs.push(Def::object(id, kind));
    for m in 0..MUTEXES {
        obj(m, ObjectKind::Mutex);
    }
    obj(RW, ObjectKind::RwLock);
    for (c, cap) in CHANS {
        obj(c, ObjectKind::Channel { capacity: cap });
    }
    for a in 0..ATOMICS {
        obj(ATOMIC0 + a, ObjectKind::Atomic);
    }
    obj(WG, ObjectKind::WaitGroup);
    obj(BARRIER, ObjectKind::Barrier { parties: 2 });
    obj(ONCE, ObjectKind::Once);
    for v in 0..VARS {
        obj(VAR0 + v, ObjectKind::Variable);
    }
    defs.extend((1..=60).map(|l| Def::loc(l, 0, l)));
    w.write_batch(None, &defs, &[]).expect("write defs");

    let mut bufs: Vec<Vec<Event>> = vec![Vec::new(); TASKS];
    let mut flush_at: Vec<usize> = (0..TASKS).map(|_| 1 + rng.below(300) as usize).collect();
    let mut spawned = [false; TASKS];
    spawned[0] = true;
    let mut ended = [false; TASKS];
    let mut joined = [false; TASKS];
    let mut holds: Vec<Vec<(u64, u64)>> = vec![Vec::new(); TASKS];
    let mut holder = [None::<usize>; MUTEXES as usize];
    let mut lock_seq = [0u64; MUTEXES as usize];
    // rwlock: acquisition counter, writer, readers; each task's held acquisition.
    let (mut rw_seq, mut rw_writer, mut rw_readers) = (0u64, false, 0u64);
    let mut rw_held: Vec<Option<(u64, bool)>> = vec![None; TASKS];
    let mut chans: Vec<Chan> = (0..CHANS.len()).map(|_| Chan::default()).collect();
    let mut sending: Vec<Option<(usize, u64)>> = vec![None; TASKS];
    let mut version = [0u64; ATOMICS as usize];
    let (mut wg_seq, mut wg_zero) = (0u64, 0u64);
    let (mut bar_seq, mut bar_last) = (0u64, 0u64);
    let mut bar_waiting: Vec<Option<u64>> = vec![None; TASKS];
    let mut once_done = false;
    let mut ts = 0u64;
    let mut total = 0usize;

    let mut idle = 0;
    while total < n && idle < 100_000 {
        let t = rng.below(TASKS as u64) as usize;
        idle += 1;
        if !spawned[t] || ended[t] {
            continue;
        }
        let mut evs: Vec<(u32, EventKind)> = Vec::new();
        // A task may start something that blocks only while another task stays free to
        // unblock it, so the simulation never deadlocks.
        let free = (0..TASKS)
            .filter(|&u| spawned[u] && !ended[u] && sending[u].is_none() && bar_waiting[u].is_none())
            .count();
        let may_block = free >= 2;
        if let Some((c, s)) = sending[t] {
            let ok = match CHANS[c].1 {
                None => true,
                Some(cap) => s <= cap || chans[c].received >= s - cap,
            };
            if ok {
                evs.push((
                    21,
                    EventKind::ChanSendEnd {
                        chan: CHANS[c].0,
                        seq: s,
                    },
                ));
                sending[t] = None;
            }
        } else if let Some(s) = bar_waiting[t] {
            if bar_last >= s {
                evs.push((
                    50,
                    EventKind::BarrierLeave {
                        barrier: BARRIER,
                        seq: s,
                    },
                ));
                bar_waiting[t] = None;
            }
        } else {
            let loc = 1 + rng.below(8) as u32;
            match rng.below(20) {
                0..=6 => {
                    let var = VAR0 + rng.below(VARS);
                    let kind = if rng.below(3) == 0 {
                        EventKind::VarWrite { var }
                    } else {
                        EventKind::VarRead { var }
                    };
                    evs.push((loc, kind));
                }
                7 => {
                    let m = rng.below(MUTEXES);
                    if holder[m as usize].is_none() && holds[t].len() < 2 {
                        lock_seq[m as usize] += 1;
                        holder[m as usize] = Some(t);
                        holds[t].push((m, lock_seq[m as usize]));
                        evs.push((10 + m as u32, EventKind::LockRequest { lock: m }));
                        evs.push((
                            10 + m as u32,
                            EventKind::MutexLock {
                                mutex: m,
                                seq: lock_seq[m as usize],
                            },
                        ));
                    }
                }
                8 => {
                    if let Some((m, s)) = holds[t].pop() {
                        holder[m as usize] = None;
                        evs.push((15, EventKind::MutexUnlock { mutex: m, seq: s }));
                    }
                }
                9 => match rw_held[t] {
                    Some((s, write)) => {
                        let kind = if write {
                            rw_writer = false;
                            EventKind::RwWriteUnlock { lock: RW, seq: s }
                        } else {
                            rw_readers -= 1;
                            EventKind::RwReadUnlock { lock: RW, seq: s }
                        };
                        rw_held[t] = None;
                        evs.push((17, kind));
                    }
                    None => {
                        let write = rng.below(3) == 0;
                        if !rw_writer && (!write || rw_readers == 0) {
                            rw_seq += 1;
                            let kind = if write {
                                rw_writer = true;
                                EventKind::RwWriteLock {
                                    lock: RW,
                                    seq: rw_seq,
                                }
                            } else {
                                rw_readers += 1;
                                EventKind::RwReadLock {
                                    lock: RW,
                                    seq: rw_seq,
                                }
                            };
                            rw_held[t] = Some((rw_seq, write));
                            evs.push((16, kind));
                        }
                    }
                },
                10 => {
                    let c = rng.below(CHANS.len() as u64) as usize;
                    if !chans[c].closed && (may_block || CHANS[c].1.is_none()) {
                        chans[c].sent += 1;
                        let s = chans[c].sent;
                        evs.push((
                            20,
                            EventKind::ChanSendBegin {
                                chan: CHANS[c].0,
                                seq: s,
                            },
                        ));
                        sending[t] = Some((c, s));
                    }
                }
                11 => {
                    let c = rng.below(CHANS.len() as u64) as usize;
                    let ch = &mut chans[c];
                    if ch.received < ch.sent {
                        ch.received += 1;
                        let result = RecvResult::Value { seq: ch.received };
                        evs.push((
                            22,
                            EventKind::ChanRecv {
                                chan: CHANS[c].0,
                                result,
                            },
                        ));
                    } else if ch.closed {
                        let result = RecvResult::Closed { closes: 1 };
                        evs.push((
                            23,
                            EventKind::ChanRecv {
                                chan: CHANS[c].0,
                                result,
                            },
                        ));
                    } else if c == 2 && rng.below(50) == 0 && ch.sent > 100 {
                        ch.closed = true;
                        evs.push((
                            24,
                            EventKind::ChanClose {
                                chan: CHANS[c].0,
                                seq: 1,
                            },
                        ));
                    }
                }
                12 | 13 => {
                    let a = rng.below(ATOMICS) as usize;
                    let orders = [
                        MemOrder::Relaxed,
                        MemOrder::Release,
                        MemOrder::AcqRel,
                        MemOrder::SeqCst,
                    ];
                    let order = orders[rng.below(4) as usize];
                    version[a] += 1;
                    let (atomic, version) = (ATOMIC0 + a as u64, version[a]);
                    let kind = if rng.below(2) == 0 {
                        EventKind::AtomicStore {
                            atomic,
                            order,
                            version,
                        }
                    } else {
                        EventKind::AtomicRmw {
                            atomic,
                            order,
                            version,
                        }
                    };
                    evs.push((30 + loc, kind));
                }
                14 => {
                    let a = rng.below(ATOMICS) as usize;
                    let order =
                        [MemOrder::Relaxed, MemOrder::Acquire, MemOrder::SeqCst][rng.below(3) as usize];
                    let version = version[a].saturating_sub(rng.below(3));
                    evs.push((
                        40 + loc,
                        EventKind::AtomicLoad {
                            atomic: ATOMIC0 + a as u64,
                            order,
                            version,
                        },
                    ));
                }
                15 => {
                    wg_seq += 1;
                    let zero = rng.below(3) == 0;
                    if zero {
                        wg_zero = wg_seq;
                    }
                    evs.push((
                        51,
                        EventKind::WaitGroupDone {
                            wg: WG,
                            seq: wg_seq,
                            zero,
                        },
                    ));
                }
                16 => {
                    evs.push((52, EventKind::WaitGroupWait { wg: WG, seq: wg_zero }));
                }
                17 if may_block => {
                    bar_seq += 1;
                    let last = bar_seq % 2 == 0;
                    if last {
                        bar_last = bar_seq;
                    }
                    evs.push((
                        53,
                        EventKind::BarrierArrive {
                            barrier: BARRIER,
                            seq: bar_seq,
                            last,
                        },
                    ));
                    bar_waiting[t] = Some(bar_seq + (bar_seq % 2));
                }
                18 => {
                    if once_done {
                        evs.push((54, EventKind::OnceAlreadyDone { once: ONCE }));
                    } else {
                        once_done = true;
                        evs.push((54, EventKind::OnceBegin { once: ONCE }));
                        evs.push((55, EventKind::OnceEnd { once: ONCE }));
                    }
                }
                _ => {
                    let c = rng.below(TASKS as u64) as usize;
                    if t == 0 && !spawned[c] {
                        spawned[c] = true;
                        evs.push((56, EventKind::TaskSpawn { child: c as u32 }));
                    } else if t == 0 && c != 0 && ended[c] && !joined[c] {
                        joined[c] = true;
                        evs.push((57, EventKind::TaskJoin { child: c as u32 }));
                    } else if t != 0
                        && holds[t].is_empty()
                        && rw_held[t].is_none()
                        && rng.below(20) == 0
                        && total > n - n / 100
                    {
                        ended[t] = true;
                        evs.push((58, EventKind::TaskEnd));
                    }
                }
            }
        }
        if !evs.is_empty() {
            idle = 0;
        }
        for (loc, kind) in evs {
            ts += 1 + rng.below(3);
            bufs[t].push(Event {
                task: t as u32,
                ts,
                loc: Some(loc),
                kind,
            });
            total += 1;
        }
        if bufs[t].len() >= flush_at[t] {
            w.write_events(t as u32, &[], &bufs[t]).expect("write events");
            bufs[t].clear();
            flush_at[t] = 1 + rng.below(300) as usize;
        }
    }
    for (t, b) in bufs.iter().enumerate() {
        if !b.is_empty() {
            w.write_events(t as u32, &[], b).expect("write events");
        }
    }
    w.into_inner().expect("flush");
    eprintln!("{total} events written to {path}");
}
