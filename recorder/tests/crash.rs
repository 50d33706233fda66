//! Crash safety, beyond `lifecycle.rs` (which covers a panic of `main`, `process::exit`
//! from `main` after the work, and a killed deadlock): a worker that panics mid-work, a
//! worker that calls `std::process::exit` while the guard is alive and `main` is blocked,
//! and a busy program killed by SIGKILL — checked against the README's durability bound
//! (a killed process loses at most its last `buffer_events` events per thread and at most
//! one flush interval of activity).

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{is_child, obj, run_child};
use hb_format::{ErrorKind, EventKind, Trace};
use hb_recorder::sync::{Arc, Mutex};
use hb_recorder::thread;

fn trace_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hb-recorder-crash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{name}.bin"))
}

fn locks_of(trace: &Trace, name: &str) -> usize {
    let m = obj(trace, name);
    trace
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::MutexLock { mutex, .. } if mutex == m))
        .count()
}

#[test]
fn worker_panic_keeps_its_events_and_the_rest_of_the_run() {
    const NAME: &str = "worker_panic_keeps_its_events_and_the_rest_of_the_run";
    let path = trace_path(NAME);
    if is_child(NAME) {
        let p = std::env::var("HB_TEST_PATH").unwrap();
        let _guard = hb_recorder::Recorder::builder()
            .path(p)
            .buffer_events(16)
            .install()
            .unwrap();
        let m = Arc::new(Mutex::named("work", 0u32));
        let m2 = m.clone();
        let worker = thread::spawn(move || {
            for _ in 0..100 {
                *m2.lock().unwrap() += 1;
            }
            let _held = m2.lock().unwrap(); // poisoned by the panic
            panic!("worker fails");
        });
        assert!(worker.join().is_err());
        let after = Mutex::named("after", ());
        for _ in 0..10 {
            drop(after.lock().unwrap());
        }
        return; // the guard's drop completes the trace
    }
    let out = run_child(NAME, &[("HB_TEST_PATH", path.to_str().unwrap())]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let trace = Trace::open(&path).unwrap();
    assert!(trace.warnings.is_empty(), "{:?}", trace.warnings);
    assert_eq!(
        locks_of(&trace, "work"),
        101,
        "every lock of the worker, the last one included"
    );
    assert_eq!(
        locks_of(&trace, "after"),
        10,
        "main went on recording after the panic"
    );
    let worker = trace
        .events
        .iter()
        .find_map(|e| match e.kind {
            EventKind::TaskSpawn { child } => Some(child),
            _ => None,
        })
        .unwrap();
    let lane: Vec<_> = trace.task_events(worker).map(|e| e.kind).collect();
    assert_eq!(lane.last(), Some(&EventKind::TaskEnd), "the panicking task ends");
    // The unlock of the lock held while unwinding is recorded too.
    let work = obj(&trace, "work");
    let unlocks = lane
        .iter()
        .filter(|k| matches!(k, EventKind::MutexUnlock { mutex, .. } if *mutex == work))
        .count();
    assert_eq!(unlocks, 101);
    assert!(trace
        .events
        .iter()
        .any(|e| e.kind == EventKind::TaskJoin { child: worker }));
    // And the analyzer's view of it is complete: no lost parts.
    assert!(hb_format::TraceReader::new(&std::fs::read(&path).unwrap()[..])
        .unwrap()
        .all(|f| f.is_ok()));
}

#[test]
fn process_exit_from_a_worker_with_the_guard_alive() {
    const NAME: &str = "process_exit_from_a_worker_with_the_guard_alive";
    let path = trace_path(NAME);
    if is_child(NAME) {
        let p = std::env::var("HB_TEST_PATH").unwrap();
        let _guard = hb_recorder::Recorder::builder()
            .path(p)
            .flush_interval(Duration::from_millis(20))
            .install()
            .unwrap();
        let m = Arc::new(Mutex::named("before-exit", ()));
        for _ in 0..5 {
            drop(m.lock().unwrap());
        }
        let m2 = m.clone();
        let worker = thread::spawn(move || {
            for _ in 0..50 {
                drop(m2.lock().unwrap());
            }
            // Main has been blocked in join for more than one flush interval, so by the
            // durability rules it handed its buffer over; atexit flushes this thread.
            std::thread::sleep(Duration::from_millis(200));
            std::process::exit(3); // no destructor runs
        });
        worker.join().unwrap();
        unreachable!("the worker exits the process");
    }
    let out = run_child(NAME, &[("HB_TEST_PATH", path.to_str().unwrap())]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let trace = Trace::open(&path).unwrap();
    assert!(trace.warnings.is_empty(), "{:?}", trace.warnings);
    // The exiting worker's events all reach the file (atexit flushes the calling thread),
    // and so do main's, recorded before it blocked in join for longer than the interval.
    // (Without the worker's sleep, main's 5 may be lost: they are within one flush interval
    // of the exit, which the README's bound allows.)
    assert_eq!(locks_of(&trace, "before-exit"), 55);
}

/// The child records `BEFORE` lock/unlock pairs, flushes, says READY, then records
/// without end, reporting on stdout how many it recorded; the test kills it with SIGKILL
/// mid-run, well over one flush interval after a progress report.
#[test]
fn sigkill_mid_run_keeps_everything_up_to_the_durability_bound() {
    const NAME: &str = "sigkill_mid_run_keeps_everything_up_to_the_durability_bound";
    const BEFORE: usize = 1000;
    const INTERVAL: Duration = Duration::from_millis(20);
    let path = trace_path(NAME);
    if is_child(NAME) {
        let p = std::env::var("HB_TEST_PATH").unwrap();
        let guard = hb_recorder::Recorder::builder()
            .path(p)
            .buffer_events(64)
            .flush_interval(INTERVAL)
            .install()
            .unwrap();
        std::mem::forget(guard);
        let m = Mutex::named("before", ());
        for _ in 0..BEFORE {
            drop(m.lock().unwrap());
        }
        hb_recorder::flush().unwrap();
        println!("READY");
        let during = Mutex::named("during", ());
        let start = Instant::now();
        for i in 1u64.. {
            drop(during.lock().unwrap());
            if i % 256 == 0 {
                println!("RECORDED {i}");
            }
            if start.elapsed() > Duration::from_secs(30) {
                break; // never reached: the test kills us first
            }
        }
        unreachable!("killed before");
    }
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env("HB_TEST_CHILD", NAME)
        .env("HB_TEST_PATH", &path)
        .env_remove("HB_TRACE")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut ready = false;
    let mut recorded = 0u64;
    // Wait for READY and for a progress report, then let more than one flush interval
    // pass before the kill.
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.contains("READY") {
            ready = true;
        } else if let Some(n) = line.strip_prefix("RECORDED ") {
            recorded = n.trim().parse().unwrap();
            if recorded >= 2048 {
                break;
            }
        }
    }
    assert!(ready, "the child never got ready");
    std::thread::sleep(INTERVAL * 10);
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success());
    let trace = Trace::open(&path).unwrap();
    // At most a truncated tail: the frame the writer was writing when killed.
    assert!(trace.warnings.len() <= 1, "{:?}", trace.warnings);
    if let Some(w) = trace.warnings.first() {
        assert!(matches!(w.kind(), ErrorKind::Truncated { .. }), "{w}");
    }
    // Everything flushed before READY is there.
    assert_eq!(locks_of(&trace, "before"), BEFORE);
    // Everything recorded more than one flush interval (and one buffer) before the kill is
    // there: the child had reported `recorded` pairs 10 intervals before it.
    let during = locks_of(&trace, "during");
    assert!(
        during as u64 >= recorded,
        "{during} locks of `during` on disk, {recorded} were recorded 10 flush intervals before the kill"
    );
}
