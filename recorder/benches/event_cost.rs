//! Cost of one recorded event on a single thread, without contention: the recorder's hot
//! path (`emit`: clock, thread-local buffer, location cache, frame encoding) beside the std
//! operation it records.
//!
//! `cargo bench -p hb-recorder --bench event_cost` prints ns per operation for each case,
//! std vs hb recording (to `io::sink()`, so the writer thread's I/O stays small; its
//! encoding still runs). `-- CASE ROUNDS` runs one case once and prints nothing else, for
//! instruction counting: `valgrind --tool=callgrind` at two round counts, the difference
//! divided by the difference in events is the instructions per recorded event (setup
//! cancels out).

use std::hint::black_box;
use std::time::Instant;

use hb_recorder::sync::atomic::{AtomicU64, Ordering};
use hb_recorder::sync::Mutex;
use hb_recorder::Shared;

/// A case: name, events per round, the std loop, the hb loop.
type Case = (&'static str, u64, fn(u64) -> u64, fn(u64) -> u64);

const CASES: [Case; 3] = [
    ("lock+unlock", 2, std_lock, hb_lock),
    ("shared get+set", 2, std_shared, hb_shared),
    ("atomic load", 1, std_load, hb_load),
];

fn std_lock(n: u64) -> u64 {
    let m = std::sync::Mutex::new(0u64);
    for _ in 0..n {
        *black_box(&m).lock().unwrap() += 1;
    }
    let v = *m.lock().unwrap();
    v
}

fn hb_lock(n: u64) -> u64 {
    let m = Mutex::new(0u64);
    for _ in 0..n {
        *black_box(&m).lock().unwrap() += 1;
    }
    let v = *m.lock().unwrap();
    v
}

fn std_shared(n: u64) -> u64 {
    let c = std::cell::Cell::new(0u64);
    for _ in 0..n {
        let c = black_box(&c);
        c.set(c.get() + 1);
    }
    c.get()
}

fn hb_shared(n: u64) -> u64 {
    let s = Shared::new("s", 0u64);
    for _ in 0..n {
        let s = black_box(&s);
        s.set(s.get() + 1);
    }
    s.into_inner()
}

fn std_load(n: u64) -> u64 {
    let a = std::sync::atomic::AtomicU64::new(1);
    let mut sum = 0;
    for _ in 0..n {
        sum += black_box(&a).load(Ordering::Acquire);
    }
    sum
}

fn hb_load(n: u64) -> u64 {
    let a = AtomicU64::new(1);
    let mut sum = 0;
    for _ in 0..n {
        sum += black_box(&a).load(Ordering::Acquire);
    }
    sum
}

/// Nanoseconds per round of `f` over `n` rounds.
fn ns_per_round(f: fn(u64) -> u64, n: u64) -> f64 {
    let t = Instant::now();
    black_box(f(n));
    t.elapsed().as_secs_f64() * 1e9 / n as f64
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let guard = hb_recorder::Recorder::builder()
        .writer(std::io::sink())
        .install()?;
    if let [case, rounds] = &args[..] {
        let rounds: u64 = rounds
            .parse()
            .map_err(|e| std::io::Error::other(format!("ROUNDS {rounds:?}: {e}")))?;
        let Some((_, _, _, hb)) = CASES.iter().find(|c| c.0.replace([' ', '+'], "_") == *case) else {
            let names: Vec<String> = CASES.iter().map(|c| c.0.replace([' ', '+'], "_")).collect();
            return Err(std::io::Error::other(format!(
                "unknown case {case:?}; cases: {names:?}"
            )));
        };
        black_box(hb(rounds));
        guard.finish()?;
        return Ok(());
    }
    const N: u64 = 2_000_000;
    println!("medians of 7 interleaved runs of {N} rounds\n");
    println!("| case | std ns/round | hb recording ns/round | added ns per recorded event |");
    println!("| --- | --- | --- | --- |");
    for (name, per, s, h) in CASES {
        let (mut st, mut ht) = (Vec::new(), Vec::new());
        for _ in 0..7 {
            st.push(ns_per_round(s, N));
            ht.push(ns_per_round(h, N));
        }
        st.sort_by(f64::total_cmp);
        ht.sort_by(f64::total_cmp);
        let (s, h) = (st[3], ht[3]);
        println!("| {name} | {s:.1} | {h:.1} | {:.1} |", (h - s) / per as f64);
    }
    let summary = guard.finish()?;
    println!("\nrecorded {} events", summary.events);
    Ok(())
}
