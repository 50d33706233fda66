//! The `hb-samples` command: records scenarios in child processes, analyzes their traces and
//! compares the findings with the expected ones.
//!
//! ```text
//! hb-samples [--out DIR] [NAME...]   run every scenario (or the named ones)
//! hb-samples --list                  list the scenarios
//! hb-samples record NAME TRACE       record one scenario into TRACE (what the children run)
//! ```
//!
//! Without names it prints one verdict line per scenario, then the findings of those
//! with findings; with names, each named scenario's full report. Exit status: 0 when every
//! verdict matched its expectation, 1 when one did not, 2 on bad usage or when a trace
//! could not be written or read.

use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use hb_analyzer::report::{self, ReportOptions};
use hb_analyzer::Analysis;

use crate::{analyze_and_check, find, scenarios, verdict, Mismatch, Scenario};

/// Where traces go unless `--out` says otherwise (relative to the working directory).
pub const DEFAULT_OUT: &str = "target/hb-traces";

const USAGE: &str = "\
usage: hb-samples [--out DIR] [NAME...]
       hb-samples --list
       hb-samples record NAME TRACE

Runs hb's sample programs (the scenarios of the Go memory model texts): each one is
recorded in its own process, its trace analyzed, and the findings compared with the
expected ones.

  NAME...      run only these scenarios and print their full reports
  --out DIR    where to write the traces (default target/hb-traces)
  --list       list the scenarios
  record       record one scenario into TRACE (what each child process runs)

Exit status: 0 every verdict as expected, 1 a verdict differs, 2 bad usage or I/O error.";

/// Writes a line to stdout; a closed pipe (`hb-samples | head`) ends the program quietly.
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout(), $($t)*) {
            stdout_failed(e)
        }
    }};
}

/// [`outln!`] without the newline.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = write!(std::io::stdout(), $($t)*) {
            stdout_failed(e)
        }
    }};
}

fn stdout_failed(e: std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("hb-samples: cannot write to stdout: {e}");
    std::process::exit(2)
}

/// Runs the command with the process's arguments.
pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("hb-samples: {e}");
            ExitCode::from(2)
        }
    }
}

/// What the command line asked for.
#[derive(Debug, PartialEq, Eq)]
enum Mode {
    Help,
    List,
    Record { name: String, trace: PathBuf },
    Run { out: PathBuf, names: Vec<String> },
}

fn parse(args: &[String]) -> Result<Mode, String> {
    if args.first().map(String::as_str) == Some("record") {
        return match args {
            [_, name, trace] => Ok(Mode::Record {
                name: name.clone(),
                trace: PathBuf::from(trace),
            }),
            _ => Err("`record` takes a scenario name and a trace path (see --help)".to_owned()),
        };
    }
    let mut out = PathBuf::from(DEFAULT_OUT);
    let mut names = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-h" | "--help" => return Ok(Mode::Help),
            "--list" => return Ok(Mode::List),
            "--out" => match it.next() {
                Some(d) => out = PathBuf::from(d),
                None => return Err("--out needs a directory".to_owned()),
            },
            s if s.starts_with('-') => return Err(format!("unknown option `{s}` (see --help)")),
            name => {
                if find(name).is_none() {
                    return Err(format!(
                        "no scenario named `{name}` (hb-samples --list shows them)"
                    ));
                }
                names.push(name.to_owned());
            }
        }
    }
    Ok(Mode::Run { out, names })
}

/// Runs the command; `Ok(true)` when every verdict matched.
fn run(args: &[String]) -> Result<bool, String> {
    match parse(args)? {
        Mode::Help => {
            outln!("{USAGE}");
            Ok(true)
        }
        Mode::List => {
            for s in scenarios() {
                outln!(
                    "{:>2}  {:<24} {:<14} {}",
                    s.item,
                    s.name,
                    s.expect.verdict(),
                    s.summary
                );
            }
            Ok(true)
        }
        Mode::Record { name, trace } => {
            let s = find(&name).ok_or_else(|| format!("no scenario named `{name}`"))?;
            crate::record(s, &trace)
                .map_err(|e| format!("recording `{name}` into {}: {e}", trace.display()))?;
            Ok(true)
        }
        Mode::Run { out, names } => {
            std::fs::create_dir_all(&out)
                .map_err(|e| format!("cannot create the trace directory {}: {e}", out.display()))?;
            let exe = std::env::current_exe()
                .map_err(|e| format!("cannot find this program's executable to re-run it: {e}"))?;
            let paint = Paint::detect();
            if names.is_empty() {
                run_all(&exe, &out, paint)
            } else {
                let chosen: Vec<&Scenario> = names.iter().filter_map(|n| find(n)).collect();
                run_chosen(&exe, &out, &chosen, paint)
            }
        }
    }
}

/// ANSI styling when stdout is a terminal and `NO_COLOR` is unset.
#[derive(Debug, Clone, Copy)]
struct Paint(bool);

impl Paint {
    fn detect() -> Paint {
        Paint(std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none())
    }

    fn code(self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }

    fn bold(self, s: &str) -> String {
        self.code("1", s)
    }

    fn dim(self, s: &str) -> String {
        self.code("2", s)
    }
}

/// The outcome of recording and analyzing one scenario.
struct Outcome {
    trace: PathBuf,
    /// The analysis, or why there is none (the recording or the trace failed).
    analysis: Result<Analysis, String>,
    /// Differences from the expectation (empty: as expected).
    mismatches: Vec<Mismatch>,
    elapsed: Duration,
}

impl Outcome {
    fn ok(&self) -> bool {
        self.analysis.is_ok() && self.mismatches.is_empty()
    }

    fn found(&self) -> String {
        match &self.analysis {
            Ok(a) => verdict(a.races.len(), a.cycles.len()),
            Err(_) => "error".to_owned(),
        }
    }
}

/// Records `s` in a child process (`exe record NAME TRACE`), then analyzes and checks it.
pub fn record_in_child(exe: &Path, s: &Scenario, trace: &Path) -> Result<(), String> {
    let output = Command::new(exe)
        .arg("record")
        .arg(s.name)
        .arg(trace)
        .output()
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    if output.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(format!(
            "recording `{}` failed ({}): {}",
            s.name,
            output.status,
            stderr.trim()
        ))
    }
}

fn execute(exe: &Path, out: &Path, s: &Scenario) -> Outcome {
    let start = Instant::now();
    let trace = out.join(format!("{}.hbt", s.name));
    let (analysis, mismatches) = match record_in_child(exe, s, &trace)
        .and_then(|()| analyze_and_check(s, &trace).map_err(|e| e.to_string()))
    {
        Ok((a, verdict)) => (Ok(a), verdict.err().unwrap_or_default()),
        Err(e) => (Err(e), Vec::new()),
    };
    Outcome {
        trace,
        analysis,
        mismatches,
        elapsed: start.elapsed(),
    }
}

fn mark(ok: bool, paint: Paint) -> String {
    if ok {
        paint.code("1;32", "✓")
    } else {
        paint.code("1;31", "✗")
    }
}

/// Prints what went wrong with an outcome, indented.
fn print_problems(o: &Outcome, paint: Paint) {
    if let Err(e) = &o.analysis {
        outln!("      {}", paint.code("31", e));
    }
    for m in &o.mismatches {
        outln!("      {}", paint.code("31", &m.0));
    }
}

fn run_all(exe: &Path, out: &Path, paint: Paint) -> Result<bool, String> {
    let all = scenarios();
    outln!(
        "{} {} sample programs from the Go memory model texts.",
        paint.bold("hb samples:"),
        all.len()
    );
    outln!(
        "Each one is {} in its own process with hb's recorder on, its {} written to {}/<name>.hbt,",
        paint.bold("recorded"),
        paint.bold("trace"),
        out.display()
    );
    outln!(
        "then analyzed offline; its {} are compared with what the scenario expects.\n",
        paint.bold("findings")
    );
    outln!(
        "{}",
        paint.dim(&format!(
            " #  {:<24} {:<22} {:<22}    {:>9} {:>7}",
            "scenario", "expected", "found", "events", "time"
        ))
    );
    let start = Instant::now();
    let mut outcomes = Vec::with_capacity(all.len());
    for s in all {
        let o = execute(exe, out, s);
        let events = o.analysis.as_ref().map(|a| a.stats.events).unwrap_or(0);
        outln!(
            "{:>2}  {:<24} {:<22} {:<22} {}  {:>9} {:>6.2}s",
            s.item,
            s.name,
            s.expect.verdict(),
            o.found(),
            mark(o.ok(), paint),
            events,
            o.elapsed.as_secs_f64()
        );
        print_problems(&o, paint);
        let _ = std::io::stdout().flush();
        outcomes.push((s, o));
    }
    let good = outcomes.iter().filter(|(_, o)| o.ok()).count();
    outln!();
    if good == outcomes.len() {
        outln!(
            "{} all {} verdicts as expected ({:.1} s).",
            mark(true, paint),
            good,
            start.elapsed().as_secs_f64()
        );
    } else {
        outln!(
            "{} {} of {} verdicts differ from the expectation ({:.1} s).",
            mark(false, paint),
            outcomes.len() - good,
            outcomes.len(),
            start.elapsed().as_secs_f64()
        );
    }

    let with_findings: Vec<_> = outcomes
        .iter()
        .filter(|(_, o)| o.analysis.as_ref().is_ok_and(Analysis::has_findings))
        .collect();
    if !with_findings.is_empty() {
        outln!(
            "\n{}\n",
            paint.bold("Findings of the racy scenarios, as hb-analyze prints them:")
        );
    }
    let opts = ReportOptions {
        color: paint.0,
        ..ReportOptions::default()
    };
    for (s, o) in with_findings {
        if let Ok(a) = &o.analysis {
            outln!(
                "{} {} — {}",
                paint.bold(&format!("── {}", s.name)),
                paint.dim(&format!("(item {})", s.item)),
                s.summary
            );
            outln!(
                "{}",
                paint.dim(&format!("   expected {} because {}", s.expect.verdict(), s.why))
            );
            outln!("{}", report::text(a, &opts));
        }
    }
    outln!(
        "One scenario with its full report: {}",
        paint.bold("cargo run -p hb-samples -- <name>")
    );
    outln!(
        "A trace in the analyzer or the viewer: {}  /  {}",
        paint.bold(&format!("hb-analyze {}/<name>.hbt", out.display())),
        paint.bold(&format!("hb-view {}/<name>.hbt", out.display()))
    );
    Ok(good == outcomes.len())
}

fn run_chosen(exe: &Path, out: &Path, chosen: &[&Scenario], paint: Paint) -> Result<bool, String> {
    let opts = ReportOptions {
        color: paint.0,
        ..ReportOptions::default()
    };
    let mut all_ok = true;
    for (i, s) in chosen.iter().enumerate() {
        if i > 0 {
            outln!();
        }
        outln!("{} (item {}): {}", paint.bold(s.name), s.item, s.summary);
        outln!("{}", paint.dim(&format!("reproduces {}", s.reference)));
        outln!(
            "{}",
            paint.dim(&format!("expected {} because {}", s.expect.verdict(), s.why))
        );
        outln!("{}", paint.dim(&format!("program: {}", s.source.file)));
        let o = execute(exe, out, s);
        outln!(
            "recorded → {} → {}; expected {}: {}",
            o.trace.display(),
            o.found(),
            s.expect.verdict(),
            mark(o.ok(), paint)
        );
        print_problems(&o, paint);
        if let Ok(a) = &o.analysis {
            outln!();
            out!("{}", report::text(a, &opts));
        }
        all_ok &= o.ok();
    }
    Ok(all_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_the_command_line() {
        assert_eq!(
            parse(&args(&[])).unwrap(),
            Mode::Run {
                out: PathBuf::from(DEFAULT_OUT),
                names: vec![]
            }
        );
        assert_eq!(
            parse(&args(&["--out", "d", "sleep-publish"])).unwrap(),
            Mode::Run {
                out: PathBuf::from("d"),
                names: vec!["sleep-publish".into()]
            }
        );
        assert_eq!(parse(&args(&["--list"])).unwrap(), Mode::List);
        assert_eq!(
            parse(&args(&["record", "exit-join", "t.hbt"])).unwrap(),
            Mode::Record {
                name: "exit-join".into(),
                trace: PathBuf::from("t.hbt")
            }
        );
    }

    #[test]
    fn bad_usage_is_an_error_naming_the_problem() {
        assert!(parse(&args(&["nope"]))
            .unwrap_err()
            .contains("no scenario named `nope`"));
        assert!(parse(&args(&["--out"]))
            .unwrap_err()
            .contains("--out needs a directory"));
        assert!(parse(&args(&["--frobnicate"]))
            .unwrap_err()
            .contains("unknown option"));
        assert!(parse(&args(&["record", "x"]))
            .unwrap_err()
            .contains("`record` takes"));
    }
}
