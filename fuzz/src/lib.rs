//! Shared machinery of hb's fuzz targets; see `README.md`.

pub mod harness;

use hb_format::{std_text, Trace, TraceReader};

/// Reads `data` as a binary trace frame by frame, checking what every reader must
/// guarantee: errors carry a byte offset, frames come in increasing offset order and lie
/// inside the input.
pub fn read_binary(data: &[u8]) -> Option<Trace> {
    let reader = match TraceReader::new(data) {
        Ok(r) => r,
        Err(e) => {
            assert!(e.offset().is_some(), "header error without offset: {e}");
            return None;
        }
    };
    let mut last = 0u64;
    for item in reader {
        match item {
            Ok(f) => {
                assert!(
                    f.offset >= last && (f.offset as usize) < data.len(),
                    "frame offset {}",
                    f.offset
                );
                last = f.offset;
            }
            Err(e) => {
                let o = e.offset().expect("every reader error names its byte offset");
                assert!(o as usize <= data.len(), "offset {o} beyond the input");
            }
        }
    }
    let t = Trace::read_binary(data).ok()?;
    Some(t)
}

/// Imports `data` as an STD text trace; errors must name a line inside the input.
pub fn read_std(data: &[u8]) -> Option<Trace> {
    match std_text::read(data, "fuzz.std") {
        Ok(t) => Some(t),
        Err(e) => {
            let line = e.line().expect("every STD error names its line");
            let lines = data.split(|&b| b == b'\n').count() as u64;
            assert!(line >= 1 && line <= lines + 1, "line {line} of {lines}");
            None
        }
    }
}

/// Analyzes a trace (no lock-order cycle bound beyond the default).
pub fn analyze(trace: &Trace) {
    let a = hb_analyzer::analyze(trace, &hb_analyzer::Options::default());
    // Rendering must not panic either.
    let _ = hb_analyzer::report::text(&a, &Default::default());
    let _ = hb_analyzer::report::json(&a, &Default::default());
}
