//! How a trace is completed: at process exit without `finish`, on `std::process::exit`,
//! after a panic, from `HB_TRACE`, and — for a deadlocked process that gets killed — up to
//! the lock requests that never returned.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{is_child, run_child};
use hb_format::{EventKind, Trace};
use hb_recorder::sync::{Arc, Mutex};
use hb_recorder::thread;

fn trace_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hb-recorder-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{name}.bin"))
}

/// A little program: two threads increment a mutex-protected counter.
fn program() {
    let m = Arc::new(Mutex::named("counter", 0));
    let hs: Vec<_> = (0..2)
        .map(|_| {
            let m = m.clone();
            thread::spawn(move || *m.lock().unwrap() += 1)
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
}

fn count(trace: &Trace, pred: impl Fn(&EventKind) -> bool) -> usize {
    trace.events.iter().filter(|e| pred(&e.kind)).count()
}

fn assert_program_recorded(path: &PathBuf) {
    let trace = Trace::open(path).unwrap();
    assert!(trace.warnings.is_empty(), "{:?}", trace.warnings);
    let counter = trace
        .symbols
        .objects()
        .find(|o| o.name.as_deref() == Some("counter"))
        .unwrap()
        .id;
    assert_eq!(
        count(
            &trace,
            |k| matches!(k, EventKind::MutexLock { mutex, .. } if *mutex == counter)
        ),
        2
    );
    assert_eq!(count(&trace, |k| matches!(k, EventKind::TaskJoin { .. })), 2);
    assert_eq!(count(&trace, |k| matches!(k, EventKind::TaskEnd)), 2);
}

#[test]
fn layer_without_finish_completes_at_exit() {
    use tracing_subscriber::prelude::*;
    const NAME: &str = "layer_without_finish_completes_at_exit";
    let path = trace_path(NAME);
    if is_child(NAME) {
        let p = std::env::var("HB_TEST_PATH").unwrap();
        tracing_subscriber::registry()
            .with(hb_recorder::layer(p).unwrap())
            .init();
        tracing::info!("start");
        program();
        return; // no finish: the atexit hook completes the trace
    }
    let out = run_child(NAME, &[("HB_TEST_PATH", path.to_str().unwrap())]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_program_recorded(&path);
    let trace = Trace::open(&path).unwrap();
    assert_eq!(count(&trace, |k| matches!(k, EventKind::UserEvent { .. })), 1);
}

#[test]
fn process_exit_completes_the_trace() {
    const NAME: &str = "process_exit_completes_the_trace";
    let path = trace_path(NAME);
    if is_child(NAME) {
        let p = std::env::var("HB_TEST_PATH").unwrap();
        let _guard = hb_recorder::Recorder::builder().path(p).install().unwrap();
        program();
        std::process::exit(0); // destructors do not run; atexit does
    }
    let out = run_child(NAME, &[("HB_TEST_PATH", path.to_str().unwrap())]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_program_recorded(&path);
}

#[test]
fn panic_of_main_keeps_the_trace_up_to_the_panic() {
    const NAME: &str = "panic_of_main_keeps_the_trace_up_to_the_panic";
    let path = trace_path(NAME);
    if is_child(NAME) {
        let p = std::env::var("HB_TEST_PATH").unwrap();
        std::mem::forget(hb_recorder::Recorder::builder().path(p).install().unwrap());
        program();
        let m = Mutex::named("last", 0);
        let _g = m.lock().unwrap();
        panic!("the program fails here");
    }
    let out = run_child(NAME, &[("HB_TEST_PATH", path.to_str().unwrap())]);
    assert!(!out.status.success(), "the child test panics");
    assert_program_recorded(&path);
    let trace = Trace::open(&path).unwrap();
    let last = trace
        .symbols
        .objects()
        .find(|o| o.name.as_deref() == Some("last"))
        .unwrap()
        .id;
    // The lock before the panic and the unlock during unwinding.
    assert_eq!(
        count(
            &trace,
            |k| matches!(k, EventKind::MutexLock { mutex, .. } if *mutex == last)
        ),
        1
    );
    assert_eq!(
        count(
            &trace,
            |k| matches!(k, EventKind::MutexUnlock { mutex, .. } if *mutex == last)
        ),
        1
    );
}

#[test]
fn init_from_env_records_to_hb_trace() {
    const NAME: &str = "init_from_env_records_to_hb_trace";
    let path = trace_path(NAME);
    if is_child(NAME) {
        let guard = hb_recorder::init_from_env().unwrap();
        assert!(guard.is_some());
        program();
        return;
    }
    let out = run_child(NAME, &[("HB_TRACE", path.to_str().unwrap())]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_program_recorded(&path);
}

#[test]
fn bad_path_is_a_clear_error() {
    const NAME: &str = "bad_path_is_a_clear_error";
    if is_child(NAME) {
        let err = hb_recorder::layer("/nonexistent-dir/x/trace.bin").unwrap_err();
        assert!(err.to_string().contains("/nonexistent-dir/x/trace.bin"), "{err}");
        assert!(!hb_recorder::is_recording());
        let err = hb_recorder::Recorder::builder().install().unwrap_err();
        assert!(err.to_string().contains("no output"), "{err}");
        return;
    }
    let out = run_child(NAME, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A deadlock (two threads taking two locks in opposite orders), killed after a while: the
/// trace on disk shows both lock requests that never returned.
#[test]
fn killed_deadlock_shows_its_lock_requests() {
    const NAME: &str = "killed_deadlock_shows_its_lock_requests";
    let path = trace_path(NAME);
    if is_child(NAME) {
        let p = std::env::var("HB_TEST_PATH").unwrap();
        let guard = hb_recorder::Recorder::builder()
            .path(p)
            .flush_interval(Duration::from_millis(20))
            .install();
        std::mem::forget(guard.unwrap());
        let a = Arc::new(Mutex::named("a", ()));
        let b = Arc::new(Mutex::named("b", ()));
        let both = Arc::new(std::sync::Barrier::new(2));
        let (a2, b2, both2) = (a.clone(), b.clone(), both.clone());
        let t = thread::spawn(move || {
            let _x = b2.lock().unwrap();
            both2.wait();
            let _y = a2.lock().unwrap();
        });
        let _x = a.lock().unwrap();
        both.wait();
        let _y = b.lock().unwrap();
        t.join().unwrap();
        unreachable!("deadlocked");
    }
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env("HB_TEST_CHILD", NAME)
        .env("HB_TEST_PATH", &path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let requests =
        |p: &PathBuf| Trace::open(p).map_or(0, |t| count(&t, |k| matches!(k, EventKind::LockRequest { .. })));
    while requests(&path) < 2 && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let trace = Trace::open(&path).unwrap();
    assert_eq!(
        count(&trace, |k| matches!(k, EventKind::LockRequest { .. })),
        2,
        "both requests on disk"
    );
    assert_eq!(
        count(&trace, |k| matches!(k, EventKind::MutexLock { .. })),
        2,
        "both first locks on disk"
    );
}

/// An event performed from another thread-local's destructor, after hb's own buffer of
/// that thread was destroyed, cannot be recorded: it is counted in `Summary::unrecorded`
/// and announced on stderr, never lost silently.
#[test]
fn events_after_the_buffer_is_gone_are_counted_and_announced() {
    const NAME: &str = "events_after_the_buffer_is_gone_are_counted_and_announced";
    let path = trace_path(NAME);
    if is_child(NAME) {
        struct LockOnDrop(Arc<Mutex<u32>>);
        impl Drop for LockOnDrop {
            fn drop(&mut self) {
                *self.0.lock().unwrap() += 1;
            }
        }
        thread_local! {
            static LATE: std::cell::RefCell<Option<LockOnDrop>> = const { std::cell::RefCell::new(None) };
        }
        let p = std::env::var("HB_TEST_PATH").unwrap();
        let guard = hb_recorder::Recorder::builder().path(p).install().unwrap();
        let m = Arc::new(Mutex::named("late", 0));
        let m2 = m.clone();
        // A plain std thread: its `LATE` destructor is registered before hb's buffer (the
        // first recorded lock registers it), so it runs after the buffer is gone.
        std::thread::spawn(move || {
            LATE.with(|l| *l.borrow_mut() = Some(LockOnDrop(m2.clone())));
            *m2.lock().unwrap() += 1;
        })
        .join()
        .unwrap();
        assert_eq!(*m.lock().unwrap(), 2, "the late lock ran");
        let summary = guard.finish().unwrap();
        println!("unrecorded={}", summary.unrecorded);
        return;
    }
    let out = run_child(NAME, &[("HB_TEST_PATH", path.to_str().unwrap())]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // The late lock and its unlock.
    assert!(stdout.contains("unrecorded=2"), "{stdout}");
    assert!(
        stderr.contains("hb-recorder: warning: 2 events could not be recorded"),
        "{stderr}"
    );
    let trace = Trace::open(&path).unwrap();
    assert!(trace.warnings.is_empty(), "{:?}", trace.warnings);
}
