//! Throughput benchmark (not a test): generates traces of 10 M and 100 M events (8 tasks,
//! 16 locks, 10,000 variables) straight to a file, streaming, then analyzes each with
//! `analyze_path` and prints events/s and peak memory.
//!
//! `cargo bench -p hb-analyzer --bench throughput` (sizes: `HB_BENCH_EVENTS=10000000,100000000`).
//! With `HB_BENCH_DIR=dir` the traces are written to `dir/bench-N.hb` and kept; an existing
//! file there is reused (generation is deterministic), so `hb-analyze` can be run on it too.

use std::io::BufWriter;
use std::time::Instant;

use hb_analyzer::{analyze_path, Options};
use hb_format::{Def, EventKind, FrameEncoder, Header, ObjectKind, TraceWriter};

const TASKS: u32 = 8;
const LOCKS: u64 = 16;
const VARS: u64 = 10_000;
const FRAME: usize = 4096;

/// xorshift64*: deterministic, fast.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Writes a trace of about `n` events: each task in turn runs a critical section on a
/// random lock (lock, 4 accesses to variables of that lock's stripe, unlock) followed by two
/// unprotected reads of random variables, so there are both ordered and racing accesses.
fn generate(path: &std::path::Path, n: u64) -> u64 {
    let out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut w = TraceWriter::new(out, &Header::new("bench")).unwrap();
    let mut defs = vec![Def::str(0, "bench.rs")];
    defs.extend((0..TASKS).map(|t| Def::task(t, None)));
    defs.extend((0..LOCKS).map(|l| Def::object(l, ObjectKind::Mutex)));
    defs.extend((0..VARS).map(|v| Def::object(1000 + v, ObjectKind::Variable)));
    defs.extend((1..=8).map(|l| Def::loc(l, 0, l)));
    w.write_batch(None, &defs, &[]).unwrap();
    let mut enc: Vec<FrameEncoder> = (0..TASKS)
        .map(|_| FrameEncoder::with_capacity(FRAME * 4))
        .collect();
    let mut seq = [0u64; LOCKS as usize];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut ts = 0u64;
    let mut written = 0u64;
    let emit =
        |w: &mut TraceWriter<_>, enc: &mut Vec<FrameEncoder>, t: u32, ts: u64, loc: u32, k: EventKind| {
            let e = &mut enc[t as usize];
            e.push(ts, Some(loc), &k);
            if e.len() >= FRAME {
                let words = e.take();
                w.write_batch(Some(t), &[], &words).unwrap();
            }
        };
    while written < n {
        for t in 0..TASKS {
            let r = rng.next();
            let m = r % LOCKS;
            seq[m as usize] += 1;
            let s = seq[m as usize];
            ts += 1;
            emit(
                &mut w,
                &mut enc,
                t,
                ts,
                1,
                EventKind::MutexLock { mutex: m, seq: s },
            );
            for i in 0..4 {
                let v = 1000 + (rng.next() % (VARS / LOCKS)) * LOCKS + m;
                ts += 1;
                let k = if i % 2 == 0 {
                    EventKind::VarWrite { var: v }
                } else {
                    EventKind::VarRead { var: v }
                };
                emit(&mut w, &mut enc, t, ts, 2 + i, k);
            }
            ts += 1;
            emit(
                &mut w,
                &mut enc,
                t,
                ts,
                6,
                EventKind::MutexUnlock { mutex: m, seq: s },
            );
            for _ in 0..2 {
                ts += 1;
                emit(
                    &mut w,
                    &mut enc,
                    t,
                    ts,
                    7,
                    EventKind::VarRead {
                        var: 1000 + rng.next() % VARS,
                    },
                );
            }
            written += 8;
        }
    }
    for (t, e) in enc.iter_mut().enumerate() {
        if !e.is_empty() {
            let words = e.take();
            w.write_batch(Some(t as u32), &[], &words).unwrap();
        }
    }
    w.into_inner().unwrap();
    written
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// CPU time (user + system) of this thread so far, in seconds (0 where /proc is missing):
/// on a loaded machine it is a steadier measure than wall time.
fn thread_cpu_secs() -> f64 {
    std::fs::read_to_string("/proc/thread-self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the parenthesized command name; utime and stime are 14th and 15th.
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
            Some(ticks as f64 / 100.0)
        })
        .unwrap_or(0.0)
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let sizes: Vec<u64> = std::env::var("HB_BENCH_EVENTS")
        .unwrap_or_else(|_| "10000000,100000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let keep = std::env::var_os("HB_BENCH_DIR").map(std::path::PathBuf::from);
    let tmp = tempfile::tempdir().unwrap();
    let dir = keep.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    println!("| events | file size | analysis time | events/s | CPU time | events/CPU-s | peak RSS | races | max pending |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for n in sizes {
        let path = dir.join(format!("bench-{n}.hb"));
        // Rounds per generation pass: TASKS tasks × 8 events.
        let per_round = TASKS as u64 * 8;
        let written = if keep.is_some() && path.exists() {
            n.div_ceil(per_round) * per_round
        } else {
            generate(&path, n)
        };
        let size = std::fs::metadata(&path).unwrap().len();
        let start = Instant::now();
        let cpu0 = thread_cpu_secs();
        let a = analyze_path(&path, &Options::default(), &mut |_| {}).unwrap();
        let secs = start.elapsed().as_secs_f64();
        let cpu = thread_cpu_secs() - cpu0;
        assert_eq!(a.stats.events, written);
        println!(
            "| {} | {:.0} MB | {:.2} s | {:.1} M | {:.2} s | {:.1} M | {} MB | {} | {} |",
            written,
            size as f64 / 1e6,
            secs,
            written as f64 / secs / 1e6,
            cpu,
            written as f64 / cpu / 1e6,
            peak_rss_kib() / 1024,
            a.races.len(),
            a.stats.max_pending
        );
        if keep.is_none() {
            std::fs::remove_file(&path).unwrap();
        }
    }
}
