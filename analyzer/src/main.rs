//! `hb-analyze`: reports data races and lock-order cycles in an hb trace.
//!
//! A thin shell over the `hb_analyzer` library: parse arguments, analyze, render, exit
//! 0 (no findings), 1 (findings) or 2 (bad usage or unreadable trace).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use hb_analyzer::report::{self, ReportOptions};
use hb_analyzer::{analyze_path, Options};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Readable text (colored on a terminal unless NO_COLOR is set).
    Text,
    /// JSON, schema "hb-analyze/1" (see the README).
    Json,
    /// SARIF 2.1.0, for code-scanning uploads.
    Sarif,
}

/// Find data races and lock-order cycles (potential deadlocks) in an hb trace.
///
/// Reads hb binary traces and STD text traces (detected by content), rebuilds happens-before
/// from the recorded synchronizations and reports every pair of source locations whose
/// accesses race, with why nothing orders them, and every lock-order cycle whose tasks could
/// run concurrently.
///
/// Exit status: 0 no findings, 1 findings, 2 bad usage or unreadable trace.
#[derive(Debug, Parser)]
#[command(name = "hb-analyze", version, about, long_about)]
struct Cli {
    /// The trace file (hb binary or STD text).
    trace: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Print counts only, no individual findings.
    #[arg(long)]
    summary: bool,
    /// Show at most N races and N cycles (counts stay complete).
    #[arg(long, value_name = "N")]
    max_reports: Option<usize>,
    /// Longest lock-order cycle searched for.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(2..))]
    max_cycle_len: u16,
    /// Do not look for lock-order cycles.
    #[arg(long)]
    no_cycles: bool,
    /// Also convert the trace to an STD text trace at FILE (synchronizations STD cannot
    /// express are left out).
    #[arg(long, value_name = "FILE")]
    export_std: Option<PathBuf>,
    /// Also convert the trace to Chrome/Perfetto trace-event JSON at FILE.
    #[arg(long, value_name = "FILE")]
    export_chrome: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(&cli) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hb-analyze: {e}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &Error) -> bool {
    matches!(e, Error::Io(io) if io.kind() == std::io::ErrorKind::BrokenPipe)
}

#[derive(Debug)]
enum Error {
    Trace(hb_format::Error),
    Io(std::io::Error),
    Msg(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Trace(e) => write!(f, "{e}"),
            Error::Io(e) => write!(f, "{e}"),
            Error::Msg(m) => write!(f, "{m}"),
        }
    }
}

fn export(cli: &Cli) -> Result<(), Error> {
    if cli.export_std.is_none() && cli.export_chrome.is_none() {
        return Ok(());
    }
    let trace = hb_format::Trace::open(&cli.trace).map_err(Error::Trace)?;
    let create = |p: &PathBuf| {
        std::fs::File::create(p)
            .map(std::io::BufWriter::new)
            .map_err(|e| Error::Msg(format!("{}: cannot create: {e}", p.display())))
    };
    if let Some(p) = &cli.export_std {
        let mut w = create(p)?;
        let stats = hb_format::std_text::write(&trace, &mut w)
            .and_then(|s| w.flush().map(|_| s))
            .map_err(|e| Error::Msg(format!("{}: {e}", p.display())))?;
        if stats.skipped > 0 {
            eprintln!(
                "hb-analyze: {}: {} events with no STD counterpart left out",
                p.display(),
                stats.skipped
            );
        }
    }
    if let Some(p) = &cli.export_chrome {
        let mut w = create(p)?;
        hb_format::chrome::write(&trace, &mut w)
            .and_then(|_| w.flush())
            .map_err(|e| Error::Msg(format!("{}: {e}", p.display())))?;
    }
    Ok(())
}

fn run(cli: &Cli) -> Result<ExitCode, Error> {
    // The exports read the trace again after the analysis: a pipe cannot be.
    let exports = cli.export_std.is_some() || cli.export_chrome.is_some();
    if exports && std::fs::metadata(&cli.trace).is_ok_and(|m| !m.is_file()) {
        return Err(Error::Msg(format!(
            "{}: --export-std and --export-chrome need a trace file, which is read twice, not a pipe: write the trace to a file first",
            cli.trace.display()
        )));
    }
    let opts = Options {
        lock_cycles: !cli.no_cycles,
        max_cycle_len: cli.max_cycle_len as usize,
        ..Options::default()
    };
    let stderr_tty = std::io::stderr().is_terminal();
    let bar = if stderr_tty {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {bytes}/{total_bytes} {wide_bar} {msg}")
                .expect("valid template"),
        );
        // Shown only if the analysis takes more than a moment.
        b.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        Some(b)
    } else {
        None
    };
    let start = std::time::Instant::now();
    let mut progress = |p: hb_analyzer::Progress| {
        if let Some(b) = &bar {
            if b.is_hidden() && start.elapsed().as_millis() > 300 {
                b.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            }
            if let Some(t) = p.bytes_total {
                b.set_length(t);
            }
            b.set_position(p.bytes_read);
            b.set_message(format!("{} events", p.events));
        }
    };
    let analysis = analyze_path(&cli.trace, &opts, &mut progress).map_err(Error::Trace)?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    // Damage is announced on stderr whatever the format, so a summary or a piped JSON
    // report never hides that part of the trace was skipped.
    const SHOWN_LOST: usize = 20;
    for l in analysis.lost.iter().take(SHOWN_LOST) {
        eprintln!("hb-analyze: warning: damaged trace: {l}");
    }
    if analysis.lost.len() > SHOWN_LOST {
        eprintln!(
            "hb-analyze: warning: {} more damaged parts (all are listed in the report)",
            analysis.lost.len() - SHOWN_LOST
        );
    }
    export(cli)?;
    let color = cli.output.is_none()
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let ropts = ReportOptions {
        summary: cli.summary,
        max_reports: cli.max_reports,
        color,
    };
    let text = match cli.format {
        Format::Text => report::text(&analysis, &ropts),
        Format::Json => report::json(&analysis, &ropts),
        Format::Sarif => report::sarif(&analysis, &ropts),
    };
    match &cli.output {
        Some(p) => {
            std::fs::write(p, text).map_err(|e| Error::Msg(format!("{}: cannot write: {e}", p.display())))?
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes()).map_err(Error::Io)?;
            out.flush().map_err(Error::Io)?;
        }
    }
    Ok(if analysis.has_findings() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
