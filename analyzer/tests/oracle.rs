//! Differential test: on thousands of small random but consistent traces, the engine's
//! racing location pairs equal those of a brute-force oracle (the happens-before graph
//! built directly from the rules, then its transitive closure).

use std::collections::BTreeSet;

use hb_analyzer::{analyze, Options};
use hb_format::{Def, Event, EventKind, Header, MemOrder, ObjectKind, RecvResult, Trace};
use proptest::prelude::*;

const TASKS: usize = 3;
const MUTEXES: u64 = 2;
const VARS: u64 = 2;
const CHAN: u64 = 10;
const ATOMIC: u64 = 11;

/// Simulates a random interleaving of `TASKS` tasks from the choices in `script`, so that
/// every sequence number is valid, and returns the events in execution order.
fn simulate(script: &[(u8, u8, u8)], cap: Option<u64>) -> Vec<Event> {
    let mut ev: Vec<Event> = Vec::new();
    let push = |ev: &mut Vec<Event>, task: u32, loc: u32, kind: EventKind| {
        let ts = ev.len() as u64;
        ev.push(Event {
            task,
            ts,
            loc: Some(loc),
            kind,
        });
    };
    let mut spawned = [true, false, false];
    let mut ended = [false; TASKS];
    let mut holds: Vec<Vec<(u64, u64)>> = vec![Vec::new(); TASKS];
    let mut holder = [None::<usize>; MUTEXES as usize];
    let mut lock_seq = [0u64; MUTEXES as usize];
    let mut sent = 0u64;
    let mut received = 0u64;
    // A task whose send of message `s` has begun but not completed.
    let mut sending: Vec<Option<u64>> = vec![None; TASKS];
    let mut version = 0u64;
    for &(t, op, arg) in script {
        let t = t as usize % TASKS;
        if !spawned[t] || ended[t] {
            continue;
        }
        let task = t as u32;
        if let Some(s) = sending[t] {
            // Complete the send when allowed, else the task is blocked this step.
            let ok = match cap {
                None => true,
                Some(c) => s <= c || received >= s - c,
            };
            if ok {
                push(&mut ev, task, 20, EventKind::ChanSendEnd { chan: CHAN, seq: s });
                sending[t] = None;
            }
            continue;
        }
        let loc = 1 + (arg % 3) as u32;
        match op % 10 {
            0 | 1 => {
                let var = 100 + (arg as u64 / 3) % VARS;
                let kind = if op % 2 == 0 {
                    EventKind::VarWrite { var }
                } else {
                    EventKind::VarRead { var }
                };
                push(&mut ev, task, loc, kind);
            }
            2 => {
                let m = (arg as u64) % MUTEXES;
                if holder[m as usize].is_none() {
                    lock_seq[m as usize] += 1;
                    holder[m as usize] = Some(t);
                    holds[t].push((m, lock_seq[m as usize]));
                    push(
                        &mut ev,
                        task,
                        10,
                        EventKind::MutexLock {
                            mutex: m,
                            seq: lock_seq[m as usize],
                        },
                    );
                }
            }
            3 => {
                if let Some((m, s)) = holds[t].pop() {
                    holder[m as usize] = None;
                    push(&mut ev, task, 11, EventKind::MutexUnlock { mutex: m, seq: s });
                }
            }
            4 => {
                sent += 1;
                push(
                    &mut ev,
                    task,
                    20,
                    EventKind::ChanSendBegin {
                        chan: CHAN,
                        seq: sent,
                    },
                );
                sending[t] = Some(sent);
            }
            5 => {
                if received < sent {
                    received += 1;
                    push(
                        &mut ev,
                        task,
                        21,
                        EventKind::ChanRecv {
                            chan: CHAN,
                            result: RecvResult::Value { seq: received },
                        },
                    );
                }
            }
            6 => {
                let order = [MemOrder::Relaxed, MemOrder::Release, MemOrder::SeqCst][arg as usize % 3];
                version += 1;
                let kind = if arg % 2 == 0 {
                    EventKind::AtomicStore {
                        atomic: ATOMIC,
                        order,
                        version,
                    }
                } else {
                    EventKind::AtomicRmw {
                        atomic: ATOMIC,
                        order,
                        version,
                    }
                };
                push(&mut ev, task, 30 + loc, kind);
            }
            7 => {
                let order = [MemOrder::Relaxed, MemOrder::Acquire][arg as usize % 2];
                let v = version.saturating_sub((arg as u64 / 2) % 2);
                push(
                    &mut ev,
                    task,
                    30 + loc,
                    EventKind::AtomicLoad {
                        atomic: ATOMIC,
                        order,
                        version: v,
                    },
                );
            }
            8 => {
                let child = (arg as usize) % TASKS;
                if t == 0 && !spawned[child] {
                    spawned[child] = true;
                    push(&mut ev, task, 40, EventKind::TaskSpawn { child: child as u32 });
                } else if t == 0 && child != 0 && ended[child] {
                    push(&mut ev, task, 41, EventKind::TaskJoin { child: child as u32 });
                }
            }
            _ => {
                if t != 0 && holds[t].is_empty() {
                    ended[t] = true;
                    push(&mut ev, task, 42, EventKind::TaskEnd);
                }
            }
        }
    }
    ev
}

/// The racing location pairs by brute force.
fn oracle(ev: &[Event], cap: Option<u64>) -> BTreeSet<(u64, u32, u32)> {
    let n = ev.len();
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut last_of_task: Vec<Option<usize>> = vec![None; TASKS];
    let mut first_of_task: Vec<Option<usize>> = vec![None; TASKS];
    for (i, e) in ev.iter().enumerate() {
        let t = e.task as usize;
        if let Some(p) = last_of_task[t] {
            succ[p].push(i);
        } else {
            first_of_task[t] = Some(i);
        }
        last_of_task[t] = Some(i);
    }
    let find = |pred: &dyn Fn(&EventKind) -> bool| ev.iter().position(|e| pred(&e.kind));
    // Writer of each atomic version.
    let writer = |v: u64| {
        find(
            &|k: &EventKind| matches!(*k, EventKind::AtomicStore { version, .. } | EventKind::AtomicRmw { version, .. } if version == v),
        )
    };
    for (i, e) in ev.iter().enumerate() {
        match e.kind {
            EventKind::TaskSpawn { child } => {
                if let Some(f) = first_of_task[child as usize] {
                    succ[i].push(f);
                }
            }
            EventKind::TaskJoin { child } => {
                let end = ev
                    .iter()
                    .position(|x| x.task == child && x.kind == EventKind::TaskEnd)
                    .unwrap();
                succ[end].push(i);
            }
            EventKind::MutexLock { mutex, seq } if seq > 1 => {
                let u = find(&|k: &EventKind| *k == EventKind::MutexUnlock { mutex, seq: seq - 1 }).unwrap();
                succ[u].push(i);
            }
            EventKind::ChanRecv {
                result: RecvResult::Value { seq },
                ..
            } => {
                let s = find(&|k: &EventKind| *k == EventKind::ChanSendBegin { chan: CHAN, seq }).unwrap();
                succ[s].push(i);
            }
            EventKind::ChanSendEnd { seq, .. } => {
                if let Some(c) = cap {
                    if seq > c {
                        let k = seq - c;
                        let r = find(&|x: &EventKind| {
                            *x == EventKind::ChanRecv {
                                chan: CHAN,
                                result: RecvResult::Value { seq: k },
                            }
                        })
                        .unwrap();
                        succ[r].push(i);
                    }
                }
            }
            EventKind::AtomicLoad { order, version, .. } | EventKind::AtomicRmw { order, version, .. } => {
                let read = if matches!(e.kind, EventKind::AtomicRmw { .. }) {
                    version - 1
                } else {
                    version
                };
                if !order.is_acquire() || read == 0 {
                    continue;
                }
                // The release sequence: walk back through RMWs to the heading store.
                let mut v = read;
                while v > 0 {
                    let w = writer(v).unwrap();
                    let (ord, rmw) = match ev[w].kind {
                        EventKind::AtomicStore { order, .. } => (order, false),
                        EventKind::AtomicRmw { order, .. } => (order, true),
                        _ => unreachable!(),
                    };
                    if ord.is_release() {
                        succ[w].push(i);
                    }
                    if !rmw {
                        break;
                    }
                    v -= 1;
                }
            }
            _ => {}
        }
    }
    // Transitive closure, in reverse topological order (execution order is topological).
    let words = n.div_ceil(64);
    let mut reach = vec![vec![0u64; words]; n];
    for i in (0..n).rev() {
        let mut r = vec![0u64; words];
        for &j in &succ[i] {
            r[j / 64] |= 1 << (j % 64);
            for w in 0..words {
                r[w] |= reach[j][w];
            }
        }
        reach[i] = r;
    }
    let hb = |a: usize, b: usize| reach[a][b / 64] >> (b % 64) & 1 == 1;
    let access = |e: &Event| match e.kind {
        EventKind::VarRead { var } => Some((var, false, false)),
        EventKind::VarWrite { var } => Some((var, true, false)),
        EventKind::AtomicLoad { atomic, .. } => Some((atomic, false, true)),
        EventKind::AtomicStore { atomic, .. } | EventKind::AtomicRmw { atomic, .. } => {
            Some((atomic, true, true))
        }
        _ => None,
    };
    let mut out = BTreeSet::new();
    for i in 0..n {
        for j in i + 1..n {
            let (Some(a), Some(b)) = (access(&ev[i]), access(&ev[j])) else {
                continue;
            };
            if a.0 != b.0 || ev[i].task == ev[j].task || !(a.1 || b.1) || (a.2 && b.2) {
                continue;
            }
            if !hb(i, j) && !hb(j, i) {
                let (x, y) = (ev[i].loc.unwrap(), ev[j].loc.unwrap());
                out.insert((a.0, x.min(y), x.max(y)));
            }
        }
    }
    out
}

/// Writes the events in a random interleaving of the tasks' streams (each task's order
/// kept), as frames of a real trace would arrive.
fn shuffle_streams(ev: &[Event], picks: &[u8]) -> Vec<Event> {
    let mut queues: Vec<std::collections::VecDeque<Event>> = vec![Default::default(); TASKS];
    for e in ev {
        queues[e.task as usize].push_back(*e);
    }
    let mut out = Vec::new();
    let mut k = 0;
    while out.len() < ev.len() {
        let t = picks.get(k).copied().unwrap_or(0) as usize % TASKS;
        k += 1;
        let take = 1 + picks.get(k).copied().unwrap_or(3) as usize % 4;
        k += 1;
        for _ in 0..take {
            match queues[t].pop_front() {
                Some(e) => out.push(e),
                None => break,
            }
        }
        if k > picks.len() {
            for q in &mut queues {
                out.extend(q.drain(..));
            }
        }
    }
    out
}

fn trace_of(events: Vec<Event>, cap: Option<u64>) -> Trace {
    let mut t = Trace::new(Header::new("oracle"));
    t.define(Def::task(0, None));
    for c in 1..TASKS as u32 {
        t.define(Def::task(c, Some(0)));
    }
    for m in 0..MUTEXES {
        t.define(Def::object(m, ObjectKind::Mutex));
    }
    t.define(Def::object(CHAN, ObjectKind::Channel { capacity: cap }));
    t.define(Def::object(ATOMIC, ObjectKind::Atomic));
    t.events = events;
    t
}

/// The racing (variable, location, location) triples and the diagnostics, with access
/// records dropped every `prune_every` events (see [`Options::prune_every`]), and the races
/// in full.
fn engine(t: &Trace, prune_every: u64) -> (BTreeSet<(u64, u32, u32)>, usize, String) {
    let opts = Options {
        prune_every,
        ..Options::default()
    };
    let a = analyze(t, &opts);
    let set = a
        .races
        .iter()
        .map(|r| {
            let (x, y) = (r.first.loc.unwrap(), r.second.loc.unwrap());
            (r.var, x.min(y), x.max(y))
        })
        .collect();
    (set, a.diagnostics.len(), format!("{:?}", a.races))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_brute_force_oracle(
        script in proptest::collection::vec((any::<u8>(), any::<u8>(), any::<u8>()), 0..60),
        cap_choice in 0u8..4,
        picks in proptest::collection::vec(any::<u8>(), 0..80),
    ) {
        let cap = [None, Some(0), Some(1), Some(2)][cap_choice as usize];
        let events = simulate(&script, cap);
        let expected = oracle(&events, cap);
        let trace = trace_of(shuffle_streams(&events, &picks), cap);
        let (got, diags, exact) = engine(&trace, 0);
        prop_assert_eq!(diags, 0);
        prop_assert_eq!(got, expected);
        // Dropping dead records as often as possible, and as by default: the same races.
        for every in [1, Options::default().prune_every] {
            let (_, _, races) = engine(&trace, every);
            prop_assert_eq!(&races, &exact, "prune_every {}", every);
        }
    }
}
