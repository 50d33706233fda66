//! `hb-recorder`: records a happens-before trace of a Rust program, for `hb-analyze` and
//! `hb-view`.
//!
//! It has two parts: a [`tracing_subscriber::Layer`] ([`HbLayer`]) that starts the
//! recording and captures the program's own `tracing` spans and events, and drop-in
//! instrumented types ([`thread`], [`sync`], [`sync::mpsc`], [`sync::atomic`], tagged
//! variables [`Shared`], [`Var`], [`tag`]) whose operations are recorded with exact
//! ordering facts (lock acquisition numbers, message numbers, atomic versions) and the
//! caller's source location.
//!
//! # Installing
//!
//! In a program that already uses `tracing`, one line:
//!
//! ```no_run
//! use tracing_subscriber::prelude::*;
//!
//! fn main() -> std::io::Result<()> {
//!     tracing_subscriber::registry().with(hb_recorder::layer("trace.bin")?).init();
//!     // ... the program ...
//!     Ok(())
//! } // the trace is completed at process exit (see "Flushing" below)
//! ```
//!
//! To ship a program with recording off unless `HB_TRACE=path` is set, use
//! [`layer_from_env`] (an `Option<HbLayer>` is a layer too) or, without `tracing`,
//! [`init_from_env`]:
//!
//! ```no_run
//! fn main() -> std::io::Result<()> {
//!     let _guard = hb_recorder::init_from_env()?; // None unless HB_TRACE is set
//!     // ... the program ...
//!     Ok(())
//! } // `_guard` drops here and completes the trace
//! ```
//!
//! The [`Recorder::builder`] sets the output (a path or any `Write`), the buffer size,
//! the flush interval and whether the program's own `tracing` spans/events are recorded:
//!
//! ```
//! use hb_recorder::sync::{Arc, Mutex};
//! use hb_recorder::{MemoryWriter, Recorder};
//!
//! let out = MemoryWriter::new();
//! let guard = Recorder::builder().writer(out.clone()).buffer_events(1024).install()?;
//! let counter = Arc::new(Mutex::named("counter", 0));
//! let c = counter.clone();
//! let t = hb_recorder::thread::spawn(move || *c.lock().unwrap() += 1);
//! *counter.lock().unwrap() += 1;
//! t.join().unwrap();
//! let summary = guard.finish()?;
//!
//! let trace = hb_format::Trace::read_binary(&out.contents()[..]).unwrap();
//! assert_eq!(trace.events.len() as u64, summary.events);
//! assert!(trace.warnings.is_empty());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! A process records at most one trace: a second install returns an error.
//!
//! # Flushing
//!
//! Events go to a per-thread buffer and from there, as frames, to a writer thread that owns
//! the output. The trace is complete when the recording finishes, which happens at the
//! first of:
//!
//! - [`finish`] or [`FlushGuard::finish`] (returns a [`Summary`] or the first I/O error);
//! - dropping the [`FlushGuard`] returned by [`Builder::install`] / [`init_from_env`];
//! - process exit: returning from `main`, `std::process::exit`, or a panic that ends
//!   `main` (an `atexit` hook; the main thread's buffer is flushed by its thread-local
//!   destructor, which glibc runs first).
//!
//! Threads spawned with [`thread::spawn`] (and scoped threads) record their end and flush
//! their buffer when their closure returns *or panics*, so a panic anywhere still leaves
//! a complete trace up to the panic. Other threads (std threads, pools) flush when they
//! exit. Events of threads still running when the recording finishes are lost past their
//! last flush: finish after joining the threads you care about.
//!
//! A killed process (`SIGKILL`, `panic = "abort"`) loses what was not written yet: per
//! thread at most its last [`Builder::buffer_events`] events (default 4096) and never
//! more than one [`Builder::flush_interval`] (default 100 ms) of its activity, because a
//! thread hands its buffer over when it records an event after the interval passed and
//! before it blocks for longer than the interval (contended lock, condvar, channel,
//! barrier, wait group, join) — so a deadlocked program's lock requests are on disk. A
//! thread that computes for a long time without recording keeps its tail until it
//! records again. The writer flushes its output at least once per interval.
//!
//! Events are never dropped: the queue to the writer is bounded
//! ([`Builder::queue_frames`]) and a full queue makes the recording thread wait
//! (back-pressure). The one thing that cannot be recorded is an operation a thread
//! performs after its hb buffer was destroyed (from another thread-local's destructor at
//! thread exit): such events are counted in [`Summary::unrecorded`] and announced on
//! stderr when the recording finishes.
//!
//! # Instrumented types
//!
//! | std | hb | recorded |
//! | --- | --- | --- |
//! | `std::thread::{spawn, Builder, scope}` | [`thread`] | spawn, start, end, join (also implicit scope joins) |
//! | `Mutex`, `RwLock`, `Condvar` | [`sync`] | acquisition numbers, lock requests, waits |
//! | `Once`, `OnceLock`, `Barrier` (+ Go's `WaitGroup`) | [`sync`] | init begin/end/already-done, arrivals, dones |
//! | `mpsc::{channel, sync_channel}` | [`sync::mpsc`] | message numbers, capacity, closes |
//! | `atomic::Atomic*` | [`sync::atomic`] | the version each load read (exact reads-from) |
//! | a plain variable | [`Shared`], [`Var`], [`tag`] | reads and writes |
//!
//! Every operation is `#[track_caller]`: events carry the location in *your* code.
//! Objects carry their creation site and an optional name (`Mutex::named("queue", ..)`).
//!
//! # Overhead
//!
//! With recording off, an instrumented operation costs one relaxed atomic load more than
//! the std one. With recording on, an event costs a TSC read, a per-thread location
//! lookup and four to seven integers appended to the thread's buffer — no lock, no
//! `tracing` dispatch (hb's own events never reach the program's other layers). On the
//! sync-heavy benchmark of `benches/overhead.rs` the trace takes about 5.5 bytes per
//! event; see the crate README for the measured table.

mod layer;
mod rt;
pub mod sync;
pub mod tag;
pub mod thread;

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use layer::HbLayer;
pub use rt::Summary;
pub use tag::{Shared, Var};

/// Entry point of the recording configuration: `Recorder::builder()`.
#[derive(Debug)]
pub struct Recorder {
    _private: (),
}

impl Recorder {
    /// A builder with the defaults: 4096-event thread buffers, 100 ms flush interval,
    /// a 64-frame writer queue, the program's `tracing` spans/events recorded.
    pub fn builder() -> Builder {
        Builder {
            config: rt::Config::default(),
            target: Target::None,
        }
    }
}

enum Target {
    None,
    Path(PathBuf),
    Writer(Box<dyn Write + Send>),
}

/// Configures and starts a recording (see the [crate docs](crate)).
pub struct Builder {
    config: rt::Config,
    target: Target,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let target = match &self.target {
            Target::None => "none".to_owned(),
            Target::Path(p) => p.display().to_string(),
            Target::Writer(_) => "writer".to_owned(),
        };
        f.debug_struct("Builder")
            .field("target", &target)
            .field("config", &self.config)
            .finish()
    }
}

impl Builder {
    /// Writes the trace to a file (created or truncated).
    pub fn path(mut self, path: impl AsRef<Path>) -> Self {
        self.target = Target::Path(path.as_ref().to_owned());
        self
    }

    /// Writes the trace to any writer (a [`MemoryWriter`] in tests).
    pub fn writer(mut self, w: impl Write + Send + 'static) -> Self {
        self.target = Target::Writer(Box::new(w));
        self
    }

    /// Events a thread buffers before handing them to the writer (default 4096; at
    /// least 1).
    pub fn buffer_events(mut self, n: usize) -> Self {
        self.config.buffer_events = n.max(1);
        self
    }

    /// Longest time a thread keeps a buffered event while it goes on recording or
    /// blocks, and longest time the writer keeps written bytes unflushed (default 100 ms).
    pub fn flush_interval(mut self, d: Duration) -> Self {
        self.config.flush_interval = d.max(Duration::from_millis(1));
        self
    }

    /// Frames the writer's queue holds before recording threads wait (default 64).
    pub fn queue_frames(mut self, n: usize) -> Self {
        self.config.queue_frames = n.max(1);
        self
    }

    /// Whether the program's own `tracing` spans and events are recorded (default true).
    pub fn user_events(mut self, on: bool) -> Self {
        self.config.user_events = on;
        self
    }

    /// The program name in the trace header (default: the executable's name).
    pub fn program(mut self, name: impl Into<String>) -> Self {
        self.config.program = name.into();
        self
    }

    /// Adds a key/value pair to the trace header's metadata.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.metadata.push((key.into(), value.into()));
        self
    }

    /// Starts recording; the returned guard completes the trace when dropped.
    ///
    /// # Errors
    ///
    /// No output was set, the file cannot be created, writing the header failed, or this
    /// process already recorded.
    pub fn install(self) -> io::Result<FlushGuard> {
        let out: Box<dyn Write + Send> = match self.target {
            Target::None => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "hb recorder: no output set (call .path(..) or .writer(..))",
                ))
            }
            Target::Path(p) => Box::new(File::create(&p).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot create the hb trace {}: {e}", p.display()),
                )
            })?),
            Target::Writer(w) => w,
        };
        rt::install(out, self.config)?;
        Ok(FlushGuard { _private: () })
    }

    /// Starts recording and returns the `tracing` layer. The trace is completed by
    /// [`finish`] or at process exit.
    ///
    /// # Errors
    ///
    /// As [`Builder::install`].
    pub fn layer(self) -> io::Result<HbLayer> {
        let guard = self.install()?;
        std::mem::forget(guard);
        Ok(HbLayer::new())
    }
}

/// Completes the trace when dropped (or explicitly with [`FlushGuard::finish`]).
#[derive(Debug)]
#[must_use = "dropping the guard ends the recording at once"]
pub struct FlushGuard {
    _private: (),
}

impl FlushGuard {
    /// Ends the recording and reports what was written.
    ///
    /// # Errors
    ///
    /// The first I/O error the writer met, or that the recording had already finished.
    pub fn finish(self) -> io::Result<Summary> {
        std::mem::forget(self);
        rt::finish()
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        if rt::is_recording() {
            if let Err(e) = rt::finish() {
                eprintln!("hb-recorder: {e}");
            }
        }
    }
}

/// Starts recording to `path` and returns the layer to add to a `tracing` registry:
/// `tracing_subscriber::registry().with(hb_recorder::layer("trace.bin")?).init()`.
///
/// # Errors
///
/// As [`Builder::install`].
pub fn layer(path: impl AsRef<Path>) -> io::Result<HbLayer> {
    Recorder::builder().path(path).layer()
}

/// Like [`layer`], recording to the path in the `HB_TRACE` environment variable; `None`
/// (recording off, nothing to pay but one relaxed load per operation) when it is unset or
/// empty.
///
/// # Errors
///
/// As [`Builder::install`].
pub fn layer_from_env() -> io::Result<Option<HbLayer>> {
    match trace_path_from_env() {
        Some(p) => Ok(Some(layer(p)?)),
        None => Ok(None),
    }
}

/// Starts recording to the path in `HB_TRACE` when it is set (without `tracing`); the
/// guard completes the trace when dropped. `None` when `HB_TRACE` is unset or empty.
///
/// # Errors
///
/// As [`Builder::install`].
pub fn init_from_env() -> io::Result<Option<FlushGuard>> {
    match trace_path_from_env() {
        Some(p) => Ok(Some(Recorder::builder().path(p).install()?)),
        None => Ok(None),
    }
}

fn trace_path_from_env() -> Option<PathBuf> {
    std::env::var_os("HB_TRACE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Ends the recording: flushes the calling thread, writes everything queued, closes the
/// output and reports what was written. Events recorded later are not written.
///
/// # Errors
///
/// The first I/O error the writer met, or that no recording is running.
pub fn finish() -> io::Result<Summary> {
    rt::finish()
}

/// Makes everything recorded so far by the calling thread, and everything other threads
/// handed over, reach the output (which stays open).
///
/// # Errors
///
/// Never fails today; kept fallible for outputs that can.
pub fn flush() -> io::Result<()> {
    rt::sync()
}

/// Whether a recording is running.
pub fn is_recording() -> bool {
    rt::is_recording()
}

/// An in-memory trace output for tests: clone it, give one clone to
/// [`Builder::writer`], read the bytes with [`MemoryWriter::contents`] after finishing.
#[derive(Debug, Clone, Default)]
pub struct MemoryWriter {
    buf: Arc<parking_lot::Mutex<Vec<u8>>>,
}

impl MemoryWriter {
    /// An empty buffer.
    pub fn new() -> Self {
        MemoryWriter::default()
    }

    /// A copy of the bytes written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.buf.lock().clone()
    }
}

impl Write for MemoryWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.lock().extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
