//! `hb-analyzer`: offline happens-before analysis of hb traces.
//!
//! It rebuilds happens-before with vector clocks from program order and every edge of the
//! Go memory model (spawn, join, channel send/receive/close and capacity, mutex and rwlock
//! release → acquire, once, wait group, barrier, atomic release → acquire including RMW
//! release sequences), then reports
//! - every pair of source locations of a variable whose accesses race ([`Race`]), with an
//!   [`Explanation`] of why no chain of edges orders them, and
//! - lock-order cycles, potential deadlocks ([`LockCycle`]).
//!
//! [`analyze`] works on a [`hb_format::Trace`] in memory; [`analyze_path`] streams a file in
//! memory bounded by the skew between tasks. [`report`] renders an [`Analysis`] as text,
//! JSON or SARIF. See the crate README for the rules, the JSON schema and measurements.
//!
//! ```
//! let trace = hb_analyzer::dsl::parse(
//!     "T0: spawn T1\n\
//!      T0: w x @10\n\
//!      T1: w x @20\n",
//! )
//! .unwrap();
//! let analysis = hb_analyzer::analyze(&trace, &hb_analyzer::Options::default());
//! assert_eq!(analysis.races.len(), 1);
//! ```

mod dense;
pub mod dsl;
mod engine;
mod lockorder;
pub mod report;
mod types;
mod vc;

use std::cell::Cell;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::rc::Rc;

use hb_format::{FileFormat, TraceReader};

pub use types::{
    Access, AccessKind, Analysis, Diagnostic, EdgeKind, EventRef, Explanation, HbEdge, LockCycle, LockMode,
    LockOrderEdge, Options, Progress, Race, SideExplanation, Site, Stats, SyncOp,
};

use engine::Engine;

/// How many events are queued between two merge passes of the in-memory analysis.
const PUMP_EVERY: usize = 4096;

/// Analyzes a trace held in memory.
///
/// Events are fed in file order, as a stream would be; [`Trace::warnings`](hb_format::Trace)
/// become [`Analysis::lost`].
pub fn analyze(trace: &hb_format::Trace, opts: &Options) -> Analysis {
    analyze_once(trace, opts).unwrap_or_else(|| {
        let mut a = analyze_once(trace, &opts.without_dropping())
            .expect("an analysis that drops no record never starts over");
        a.stats.restarted = true;
        a
    })
}

/// [`analyze`] once; `None` when it must start over without dropping records.
fn analyze_once(trace: &hb_format::Trace, opts: &Options) -> Option<Analysis> {
    let mut engine = Engine::new(opts);
    for def in &trace.defs {
        engine.define(def);
    }
    for (i, ev) in trace.events.iter().enumerate() {
        engine.push(*ev);
        if i % PUMP_EVERY == PUMP_EVERY - 1 {
            engine.pump();
            if engine.must_restart() {
                return None;
            }
        }
    }
    let lost = trace.warnings.iter().map(|w| w.to_string()).collect();
    engine.finish(lost, trace.header.program.clone())
}

/// Counts the bytes read through it.
struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Analyzes a trace file (binary or STD text, judged by content).
///
/// Binary traces are streamed frame by frame: memory stays bounded by the skew between
/// tasks (and the analysis state), not by the trace length. STD text traces are imported
/// whole first (they have no frames). `progress` is called now and then from the calling
/// thread.
///
/// Errors only when the file cannot be read at all (missing, empty, not a trace, unreadable
/// header); damage after the header is reported in [`Analysis::lost`], and everything that
/// survived it is analyzed.
///
/// When a task turns up that the analysis could not foresee after it dropped access records
/// ([`Options::prune_every`]), the file is read a second time ([`Stats::restarted`]), and
/// `progress` starts over. A file that cannot be read twice (a pipe) is analyzed without
/// dropping records from the start.
pub fn analyze_path(
    path: impl AsRef<Path>,
    opts: &Options,
    progress: &mut dyn FnMut(Progress),
) -> Result<Analysis, hb_format::Error> {
    let path = path.as_ref();
    let with_path = |e: hb_format::Error| e.with_path(path);
    let file = File::open(path).map_err(|e| with_path(e.into()))?;
    let meta = file.metadata().ok();
    let total = meta.as_ref().map(|m| m.len());
    let regular = meta.is_some_and(|m| m.is_file());
    let mut input = BufReader::with_capacity(1 << 16, file);
    let prefix = std::io::BufRead::fill_buf(&mut input).map_err(|e| with_path(e.into()))?;
    if prefix.is_empty() || FileFormat::sniff(prefix) == FileFormat::StdText {
        let trace = hb_format::Trace::read_from(input, path)?;
        progress(Progress {
            bytes_read: total.unwrap_or(0),
            bytes_total: total,
            events: 0,
        });
        let mut a = analyze(&trace, opts);
        a.stats.bytes = total.unwrap_or(0);
        return Ok(a);
    }
    // Only a regular file can be read again if the analysis has to start over.
    let first = if regular {
        opts.clone()
    } else {
        opts.without_dropping()
    };
    match analyze_path_once(path, input, total, &first, progress)? {
        Some(a) => Ok(a),
        None => {
            let file = File::open(path).map_err(|e| with_path(e.into()))?;
            let input = BufReader::with_capacity(1 << 16, file);
            let mut a = analyze_path_once(path, input, total, &opts.without_dropping(), progress)?
                .expect("an analysis that drops no record never starts over");
            a.stats.restarted = true;
            Ok(a)
        }
    }
}

/// [`analyze_path`] of the binary trace at `path`, read from `input` (`total` bytes long,
/// if known), once; `Ok(None)` when it must start over without dropping records.
fn analyze_path_once(
    path: &Path,
    input: BufReader<File>,
    total: Option<u64>,
    opts: &Options,
    progress: &mut dyn FnMut(Progress),
) -> Result<Option<Analysis>, hb_format::Error> {
    let with_path = |e: hb_format::Error| e.with_path(path);
    let count = Rc::new(Cell::new(0u64));
    let mut reader = TraceReader::new(Counting {
        inner: input,
        count: count.clone(),
    })
    .map_err(with_path)?;
    let program = reader.header().program.clone();
    let mut engine = Engine::new(opts);
    let mut lost = Vec::new();
    let mut last_report = 0u64;
    let mut frame = hb_format::Frame {
        offset: 0,
        task: None,
        defs: Vec::new(),
        events: Vec::new(),
    };
    while let Some(r) = reader.next_into(&mut frame) {
        match r {
            Ok(()) => {
                for def in &frame.defs {
                    engine.define(def);
                }
                // A frame holds the events of its task only (hb-format's `Frame`).
                match frame.task {
                    Some(task) => engine.push_frame(task, &mut frame.events),
                    None => engine.push_all(&mut frame.events),
                }
                engine.pump();
                if engine.must_restart() {
                    return Ok(None);
                }
            }
            Err(e) => lost.push(with_path(e).to_string()),
        }
        let read = count.get();
        if read - last_report >= 1 << 20 {
            last_report = read;
            progress(Progress {
                bytes_read: read,
                bytes_total: total,
                events: engine.events_seen(),
            });
        }
    }
    progress(Progress {
        bytes_read: count.get(),
        bytes_total: total,
        events: engine.events_seen(),
    });
    let Some(mut a) = engine.finish(lost, program) else {
        return Ok(None);
    };
    a.stats.bytes = count.get();
    Ok(Some(a))
}
