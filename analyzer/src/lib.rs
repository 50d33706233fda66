//! `hb-analyzer`: offline happens-before analysis of hb traces.
//!
//! It rebuilds happens-before with vector clocks from program order and every edge of the
//! Go memory model (see the crate README), then reports
//! - every pair of source locations of a variable whose accesses race ([`Race`]), with an
//!   [`Explanation`] of why no chain of edges orders them, and
//! - lock-order cycles, potential deadlocks ([`LockCycle`]).
//!
//! [`analyze`] works on a [`hb_format::Trace`] in memory; [`analyze_path`] streams a file.

mod types;

use std::path::Path;

pub use types::{
    Access, AccessKind, Analysis, Diagnostic, EdgeKind, EventRef, Explanation, HbEdge, LockCycle, LockMode,
    LockOrderEdge, Options, Progress, Race, SideExplanation, Site, Stats, SyncOp,
};

/// Analyzes a trace held in memory.
///
/// The engine is being built (issue 4); until then this returns no findings.
pub fn analyze(trace: &hb_format::Trace, opts: &Options) -> Analysis {
    let _ = opts;
    Analysis {
        symbols: trace.symbols.clone(),
        program: trace.header.program.clone(),
        lost: trace.warnings.iter().map(|w| w.to_string()).collect(),
        ..Analysis::default()
    }
}

/// Analyzes a trace file (binary or STD text, judged by content), streaming binary traces
/// frame by frame so memory stays bounded by the skew between tasks, not the trace length.
/// `progress` is called now and then (from the calling thread).
///
/// Errors only when the file cannot be read at all (missing, not a trace, unreadable
/// header); damage after that is reported in [`Analysis::lost`].
pub fn analyze_path(
    path: impl AsRef<Path>,
    opts: &Options,
    progress: &mut dyn FnMut(Progress),
) -> Result<Analysis, hb_format::Error> {
    let trace = hb_format::Trace::open(path)?;
    progress(Progress {
        bytes_read: 0,
        bytes_total: None,
        events: trace.events.len() as u64,
    });
    Ok(analyze(&trace, opts))
}
