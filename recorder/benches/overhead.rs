//! Overhead of recording on a sync-heavy workload (4 threads: mutex-protected counter with
//! tagged reads/writes, channel ping-pong, atomic flag publication), instrumented vs the
//! same code on std types, plus the trace's bytes per event.
//!
//! `cargo bench -p hb-recorder --bench overhead` prints a Markdown table; `-- --machine`
//! prints `RESULT phase std_ms off_ms on_ms` lines for `bench/compare.sh`. All figures are
//! medians of interleaved repetitions in one process: std and hb-with-recording-off runs
//! first, then recording starts (to a file) and std and hb-recording runs alternate.

use std::time::{Duration, Instant};

/// Plain variable standing in for `hb_recorder::Shared` in the std build: the workload
/// synchronizes every access itself (mutex, release/acquire flag), as a real program would.
struct Plain<T>(std::cell::UnsafeCell<T>);

// SAFETY: the workload orders every access to a `Plain` through a mutex or a
// release/acquire flag handshake, so no two accesses race.
unsafe impl<T: Send> Sync for Plain<T> {}

impl<T: Copy> Plain<T> {
    fn new(_name: &'static str, v: T) -> Self {
        Plain(std::cell::UnsafeCell::new(v))
    }
    fn get(&self) -> T {
        // SAFETY: see the `Sync` impl.
        unsafe { *self.0.get() }
    }
    fn set(&self, v: T) {
        // SAFETY: see the `Sync` impl.
        unsafe { *self.0.get() = v }
    }
}

mod on_std {
    use super::Plain as Shared;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::mpsc::channel;
    use std::sync::{Arc, Mutex};
    use std::thread;
    include!("workload.rs");
}

mod on_hb {
    use hb_recorder::sync::atomic::{AtomicU64, Ordering};
    use hb_recorder::sync::mpsc::channel;
    use hb_recorder::sync::{Arc, Mutex};
    use hb_recorder::{thread, Shared};
    include!("workload.rs");
}

const MUTEX_ROUNDS: usize = 50_000;
const PING_ROUNDS: usize = 10_000;
const FLAG_ROUNDS: usize = 10_000;
const REPS: usize = 9;

type Phase = (&'static str, fn() -> u64, fn() -> u64);

const UNCONTENDED_ROUNDS: usize = 1_000_000;

const PHASES: [Phase; 4] = [
    (
        "mutex counter + tagged r/w",
        || on_std::mutex_counter(MUTEX_ROUNDS),
        || on_hb::mutex_counter(MUTEX_ROUNDS),
    ),
    (
        "channel ping-pong",
        || on_std::ping_pong(PING_ROUNDS),
        || on_hb::ping_pong(PING_ROUNDS),
    ),
    (
        "atomic flag publication",
        || on_std::flag_publication(FLAG_ROUNDS),
        || on_hb::flag_publication(FLAG_ROUNDS),
    ),
    (
        "(1 thread, uncontended lock/unlock)",
        || on_std::uncontended(UNCONTENDED_ROUNDS),
        || on_hb::uncontended(UNCONTENDED_ROUNDS),
    ),
];

/// Phases that make up the workload's total (the last one is a diagnostic).
const WORKLOAD: usize = 3;

fn time(f: fn() -> u64) -> Duration {
    let t = Instant::now();
    std::hint::black_box(f());
    t.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() -> std::io::Result<()> {
    let machine = std::env::args().any(|a| a == "--machine");
    // Cargo passes `--bench`; nothing else is expected.
    let n = PHASES.len();
    let (mut std_t, mut off_t, mut on_t) = (vec![Vec::new(); n], vec![Vec::new(); n], vec![Vec::new(); n]);
    for _ in 0..REPS {
        for (i, (_, s, h)) in PHASES.iter().enumerate() {
            std_t[i].push(time(*s));
            off_t[i].push(time(*h));
        }
    }
    let path = std::env::temp_dir().join(format!("hb-overhead-{}.bin", std::process::id()));
    let guard = hb_recorder::Recorder::builder().path(&path).install()?;
    for _ in 0..REPS {
        for (i, (_, s, h)) in PHASES.iter().enumerate() {
            std_t[i].push(time(*s));
            on_t[i].push(time(*h));
        }
    }
    let summary = guard.finish()?;
    let _ = std::fs::remove_file(&path);

    let rows: Vec<(&str, f64, f64, f64)> = PHASES
        .iter()
        .enumerate()
        .map(|(i, (name, _, _))| {
            (
                *name,
                ms(median(std_t[i].clone())),
                ms(median(off_t[i].clone())),
                ms(median(on_t[i].clone())),
            )
        })
        .collect();
    let total = rows[..WORKLOAD]
        .iter()
        .fold((0.0, 0.0, 0.0), |a, r| (a.0 + r.1, a.1 + r.2, a.2 + r.3));
    if machine {
        for (name, s, off, on) in &rows {
            println!("RESULT {} {s:.2} {off:.2} {on:.2}", name.replace(' ', "_"));
        }
        println!("RESULT total {:.2} {:.2} {:.2}", total.0, total.1, total.2);
        println!(
            "EVENTS {} {} {:.2}",
            summary.events,
            summary.bytes,
            summary.bytes_per_event()
        );
        return Ok(());
    }
    println!("hb-recorder overhead, {REPS} interleaved repetitions, medians (4 threads)\n");
    println!("| phase | std | hb, recording off | hb, recording |");
    println!("| --- | --- | --- | --- |");
    let total_row = ("total (4 threads)", total.0, total.1, total.2);
    let shown = rows[..WORKLOAD]
        .iter()
        .chain([&total_row])
        .chain(&rows[WORKLOAD..]);
    for (name, s, off, on) in shown {
        println!(
            "| {name} | {s:.1} ms | {off:.1} ms ({:.2}x) | {on:.1} ms ({:.2}x) |",
            off / s,
            on / s
        );
    }
    println!(
        "\nrecorded: {} events, {} bytes, {:.2} bytes/event, {} frames",
        summary.events,
        summary.bytes,
        summary.bytes_per_event(),
        summary.frames
    );
    Ok(())
}
