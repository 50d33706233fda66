//! Helpers of the end-to-end tests: record a scenario in a child process, analyze it.

#![allow(dead_code)] // each test file uses a subset

use std::path::{Path, PathBuf};
use std::process::Command;

use hb_analyzer::{report, Analysis};
use hb_samples::{Mismatch, Scenario};

/// The test package's runner binary.
pub(crate) const EXE: &str = env!("CARGO_BIN_EXE_hb-scenario");

/// A recorded scenario: its trace (in a temporary directory kept alive here), the analysis
/// and the verdict of `hb_samples::check`.
pub(crate) struct Recorded {
    pub(crate) scenario: &'static Scenario,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) trace: PathBuf,
    pub(crate) analysis: Analysis,
    pub(crate) verdict: Result<(), Vec<Mismatch>>,
}

/// Runs `hb-scenario record NAME TRACE` and panics with its stderr if it fails.
pub(crate) fn record_in_child(name: &str, trace: &Path) {
    let out = Command::new(EXE)
        .args(["record", name])
        .arg(trace)
        .output()
        .expect("start hb-scenario");
    assert!(
        out.status.success(),
        "recording `{name}` failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Records the scenario `name` in a child process and analyzes its trace.
pub(crate) fn record(name: &str) -> Recorded {
    let scenario = hb_samples::find(name).unwrap_or_else(|| panic!("no scenario named `{name}`"));
    let dir = tempfile::tempdir().expect("temporary directory");
    let trace = dir.path().join(format!("{name}.hbt"));
    record_in_child(name, &trace);
    let (analysis, verdict) =
        hb_samples::analyze_and_check(scenario, &trace).unwrap_or_else(|e| panic!("analyzing `{name}`: {e}"));
    Recorded {
        scenario,
        dir,
        trace,
        analysis,
        verdict,
    }
}

/// The analyzer's text report (for failure messages).
pub(crate) fn text(a: &Analysis) -> String {
    report::text(a, &report::ReportOptions::default())
}
