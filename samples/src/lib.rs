//! `hb-samples`: every scenario of the reference texts on the Go memory model
//! (`../shared/reference/`) as a small Rust program using hb's instrumented types, with the
//! findings hb must report for it.
//!
//! Each [`Scenario`] is a function in one of the `scenarios` modules, documented with what
//! it shows, the reference text it reproduces, and why its verdict holds (the edge that
//! orders the accesses, or the edge that is missing). Its [`Expect`] says exactly what the
//! analyzer must find: which variables race, between which two source lines, and which
//! lock-order cycles exist, with their locks and acquisition sites.
//!
//! Source lines are named by *markers*, never by number: a comment `// hb:mark(label)` at
//! the end of a line names that line `label` (see [`markers`]). Expectations refer to
//! labels, and [`check`] resolves them in the scenario's own source text, so moving code
//! never makes an expectation stale.
//!
//! Every verdict is designed to hold in *every* interleaving: a racy pair has no chain of
//! happens-before edges between its accesses whichever task runs first, and a safe pair is
//! ordered by an edge that exists in every run. A scenario's verdict never depends on
//! scheduling.
//!
//! ```no_run
//! let s = hb_samples::find("sleep-publish").unwrap();
//! let summary = hb_samples::record(s, "sleep-publish.hbt")?; // one recording per process
//! let (analysis, verdict) = hb_samples::analyze_and_check(s, "sleep-publish.hbt").expect("readable trace");
//! assert!(verdict.is_ok());
//! assert_eq!(analysis.races.len(), 1);
//! # let _ = summary;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! The recorder is process-global (one recording per process), so the runner
//! ([`runner::main`], the `hb-samples` binary) records each scenario in a child process.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::OnceLock;

pub use hb_analyzer::EdgeKind;
use hb_analyzer::{Analysis, Options};
use hb_format::{EventKind, Symbols, Trace};

pub mod runner;
mod scenarios;

/// One sample program and the findings hb must report for it.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// Short unique name, used on the command line (`hb-samples sleep-publish`).
    pub name: &'static str,
    /// Its number in the list of scenarios of issue 6 (twins share a number).
    pub item: u8,
    /// One line: what the program does.
    pub summary: &'static str,
    /// One line: why the verdict holds (the edge that orders the accesses, or the missing
    /// edge).
    pub why: &'static str,
    /// The reference text it reproduces (a file of `../shared/reference/` and the passage).
    pub reference: &'static str,
    /// What the analyzer must find.
    pub expect: Expect,
    /// The program. Runs under an active recording; must not print.
    pub run: fn(),
    /// The source file the program is in (for its markers).
    pub source: Source,
}

/// A source file of this crate, as the compiler names it and as text.
#[derive(Debug, Clone, Copy)]
pub struct Source {
    /// The path the compiler reports (`file!()`), which is also the path recorded in
    /// every event's location.
    pub file: &'static str,
    /// The file's text (`include_str!`).
    pub text: &'static str,
}

/// The expected findings of a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expect {
    /// Every race, once per pair of source lines of a variable.
    pub races: &'static [ExpectRace],
    /// Every lock-order cycle.
    pub cycles: &'static [ExpectCycle],
    /// Pairs of accesses that must be in the trace and must *not* race, with the kind of
    /// edge that orders them: what keeps a clean verdict from passing vacuously (for
    /// instance if the accesses were not recorded at all).
    pub ordered: &'static [ExpectOrdered],
}

impl Expect {
    /// No race and no lock-order cycle, with nothing more to check.
    pub const CLEAN: Expect = Expect {
        races: &[],
        cycles: &[],
        ordered: &[],
    };

    /// No race and no lock-order cycle; the accesses of `ordered` are in the trace, and
    /// edges of their kinds were found.
    pub const fn clean(ordered: &'static [ExpectOrdered]) -> Expect {
        Expect {
            races: &[],
            cycles: &[],
            ordered,
        }
    }

    /// Exactly these races, no cycle.
    pub const fn races(races: &'static [ExpectRace]) -> Expect {
        Expect {
            races,
            cycles: &[],
            ordered: &[],
        }
    }

    /// Exactly these cycles, no race.
    pub const fn cycles(cycles: &'static [ExpectCycle]) -> Expect {
        Expect {
            races: &[],
            cycles,
            ordered: &[],
        }
    }

    /// The verdict in a few words: "no finding", "2 races", "1 lock-order cycle".
    pub fn verdict(&self) -> String {
        verdict(self.races.len(), self.cycles.len())
    }
}

/// The verdict of `races` races and `cycles` cycles in a few words ("no finding" for
/// none).
pub fn verdict(races: usize, cycles: usize) -> String {
    let mut parts = Vec::new();
    if races > 0 {
        parts.push(format!("{races} race{}", if races == 1 { "" } else { "s" }));
    }
    if cycles > 0 {
        parts.push(format!(
            "{cycles} lock-order cycle{}",
            if cycles == 1 { "" } else { "s" }
        ));
    }
    if parts.is_empty() {
        "no finding".to_owned()
    } else {
        parts.join(", ")
    }
}

/// An expected race: two accesses to the variable named `var`, at the lines marked
/// `sides[0]` and `sides[1]` (in either order; both may be the same line, when two tasks
/// run the same code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectRace {
    /// The variable's name (as given to `Shared::new` / `Var::new`).
    pub var: &'static str,
    /// The marker labels of the two accesses' lines.
    pub sides: [&'static str; 2],
}

/// An expected race on `var` between the lines marked `a` and `b`.
pub const fn race(var: &'static str, a: &'static str, b: &'static str) -> ExpectRace {
    ExpectRace { var, sides: [a, b] }
}

/// Two accesses to `var` that are recorded and ordered: at least one access to `var` at
/// each of the lines marked `sides`, no race between those lines, and at least one
/// happens-before edge of kind `by` in the analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectOrdered {
    /// The variable's name.
    pub var: &'static str,
    /// The marker labels of the two accesses' lines (the earlier one first).
    pub sides: [&'static str; 2],
    /// The kind of edge the order relies on.
    pub by: EdgeKind,
}

/// Accesses to `var` at the lines marked `a` and `b`, ordered by an edge of kind `by`.
pub const fn ordered(var: &'static str, a: &'static str, b: &'static str, by: EdgeKind) -> ExpectOrdered {
    ExpectOrdered {
        var,
        sides: [a, b],
        by,
    }
}

/// An expected lock-order cycle, as its edges (in any order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectCycle {
    /// One edge per lock of the cycle.
    pub edges: &'static [ExpectLockEdge],
}

/// One edge of an expected cycle: a task acquired `requested` at the line marked
/// `requested_at` while holding `held`, taken at the line marked `held_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectLockEdge {
    /// Name of the lock held.
    pub held: &'static str,
    /// Marker of the line where it was taken.
    pub held_at: &'static str,
    /// Name of the lock acquired while holding it.
    pub requested: &'static str,
    /// Marker of the line where that acquisition was made.
    pub requested_at: &'static str,
}

/// All scenarios, in the order of issue 6 (twins next to each other).
pub fn scenarios() -> &'static [Scenario] {
    static ALL: OnceLock<Vec<Scenario>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut all: Vec<Scenario> = scenarios::GROUPS.iter().flat_map(|g| g.iter().copied()).collect();
        all.sort_by_key(|s| s.item);
        all
    })
}

/// The scenario named `name`.
pub fn find(name: &str) -> Option<&'static Scenario> {
    scenarios().iter().find(|s| s.name == name)
}

/// Records `scenario` into the trace file `path`: installs hb's recorder, runs the
/// program, and finishes the recording.
///
/// # Errors
///
/// The trace cannot be created or written, or this process already recorded (the recorder
/// allows one recording per process).
pub fn record(scenario: &Scenario, path: impl AsRef<Path>) -> std::io::Result<hb_recorder::Summary> {
    let guard = hb_recorder::Recorder::builder()
        .path(path)
        .program(format!("hb-samples {}", scenario.name))
        .metadata("scenario", scenario.name)
        .install()?;
    (scenario.run)();
    guard.finish()
}

/// Reads the markers of a source text: each comment `// hb:mark(label)` (several labels
/// may be separated by commas) names the line it ends. Lines are 1-based.
///
/// # Errors
///
/// A label used twice, an empty label, or a marker without its closing parenthesis (the
/// message names the line).
pub fn markers(text: &str) -> Result<BTreeMap<&str, u32>, String> {
    const OPEN: &str = "// hb:mark(";
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let n = i as u32 + 1;
        let Some(at) = line.find(OPEN) else { continue };
        let rest = &line[at + OPEN.len()..];
        let Some(end) = rest.find(')') else {
            return Err(format!("line {n}: marker without a closing parenthesis"));
        };
        for label in rest[..end].split(',').map(str::trim) {
            if label.is_empty() {
                return Err(format!("line {n}: empty marker label"));
            }
            if let Some(first) = out.insert(label, n) {
                return Err(format!("line {n}: marker `{label}` already used on line {first}"));
            }
        }
    }
    Ok(out)
}

/// A difference between what a scenario expects and what the analysis found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch(pub String);

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A source line of a finding: file and line.
type Line = (String, u32);

fn line_of(sym: &Symbols, loc: Option<hb_format::LocId>) -> Line {
    match loc.and_then(|l| sym.location(l)) {
        Some(l) => (l.file.clone(), l.line),
        None => ("?".to_owned(), 0),
    }
}

fn show(l: &Line) -> String {
    format!("{}:{}", l.0, l.1)
}

/// A race as compared: variable name and its two lines, sorted.
type RaceKey = (String, Line, Line);

fn race_key(var: String, a: Line, b: Line) -> RaceKey {
    if a <= b {
        (var, a, b)
    } else {
        (var, b, a)
    }
}

/// A lock-order edge as compared: held lock, its line, requested lock, its line.
type EdgeKey = (String, Line, String, Line);

/// Analysis options for checking `scenario`: edges are collected when its expectation
/// names edge kinds.
pub fn options_for(scenario: &Scenario) -> Options {
    Options {
        collect_edges: !scenario.expect.ordered.is_empty(),
        ..Options::default()
    }
}

/// Analyzes the trace of `scenario` at `path` (streaming, with [`options_for`]) and checks
/// it (see [`check`]); the trace is read whole as well only when the expectation has
/// [`Expect::ordered`] accesses to look for.
///
/// # Errors
///
/// The trace cannot be read (missing, empty, not a trace).
pub fn analyze_and_check(
    scenario: &Scenario,
    path: impl AsRef<Path>,
) -> Result<(Analysis, Result<(), Vec<Mismatch>>), hb_format::Error> {
    let path = path.as_ref();
    let analysis = hb_analyzer::analyze_path(path, &options_for(scenario), &mut |_| {})?;
    let trace = if scenario.expect.ordered.is_empty() {
        None
    } else {
        Some(Trace::open(path)?)
    };
    let verdict = check(scenario, &analysis, trace.as_ref());
    Ok((analysis, verdict))
}

/// Compares an analysis of a scenario's trace with the scenario's expectations: the exact
/// set of races (variable names and both lines), the exact set of lock-order cycles
/// (locks and acquisition lines), no diagnostics and no damage; and for each
/// [`Expect::ordered`] pair, that the trace (which must then be given) has accesses to the
/// variable at both lines and the analysis an edge of the named kind (the analysis must
/// have been made with [`options_for`], which collects edges).
///
/// # Errors
///
/// Every difference found, one line each (also when the scenario's markers are wrong).
pub fn check(scenario: &Scenario, analysis: &Analysis, trace: Option<&Trace>) -> Result<(), Vec<Mismatch>> {
    let mut bad = Vec::new();
    let marks = match markers(scenario.source.text) {
        Ok(m) => m,
        Err(e) => return Err(vec![Mismatch(format!("{}: {e}", scenario.source.file))]),
    };
    let file = scenario.source.file;
    let e = &scenario.expect;
    let labels = e
        .races
        .iter()
        .flat_map(|r| r.sides)
        .chain(e.ordered.iter().flat_map(|o| o.sides))
        .chain(
            e.cycles
                .iter()
                .flat_map(|c| c.edges.iter().flat_map(|x| [x.held_at, x.requested_at])),
        );
    for label in labels {
        if !marks.contains_key(label) {
            bad.push(Mismatch(format!(
                "expectation names marker `{label}`, which {file} does not have"
            )));
        }
    }
    let resolve = |label: &str| -> Line { (file.to_owned(), marks.get(label).copied().unwrap_or(0)) };
    let expected_races: Vec<RaceKey> = scenario
        .expect
        .races
        .iter()
        .map(|r| race_key(r.var.to_owned(), resolve(r.sides[0]), resolve(r.sides[1])))
        .collect();
    let expected_cycles: Vec<Vec<EdgeKey>> = scenario
        .expect
        .cycles
        .iter()
        .map(|c| {
            let mut edges: Vec<EdgeKey> = c
                .edges
                .iter()
                .map(|e| {
                    (
                        e.held.to_owned(),
                        resolve(e.held_at),
                        e.requested.to_owned(),
                        resolve(e.requested_at),
                    )
                })
                .collect();
            edges.sort();
            edges
        })
        .collect();
    let sym = &analysis.symbols;
    let found_races: Vec<RaceKey> = analysis
        .races
        .iter()
        .map(|r| {
            race_key(
                sym.object_name(r.var),
                line_of(sym, r.first.loc),
                line_of(sym, r.second.loc),
            )
        })
        .collect();
    let found_cycles: Vec<Vec<EdgeKey>> = analysis
        .cycles
        .iter()
        .map(|c| {
            let mut edges: Vec<EdgeKey> = c
                .edges
                .iter()
                .map(|e| {
                    (
                        sym.object_name(e.held),
                        line_of(sym, e.held_at.loc),
                        sym.object_name(e.requested),
                        line_of(sym, e.requested_at.loc),
                    )
                })
                .collect();
            edges.sort();
            edges
        })
        .collect();

    for (what, list) in [
        ("missing", diff(&expected_races, &found_races)),
        ("unexpected", diff(&found_races, &expected_races)),
    ] {
        for (var, a, b) in list {
            bad.push(Mismatch(format!(
                "{what} race on `{var}` between {} and {}",
                show(&a),
                show(&b)
            )));
        }
    }
    let show_cycle = |c: &Vec<EdgeKey>| {
        c.iter()
            .map(|(h, ha, r, ra)| format!("holds `{h}` ({}), takes `{r}` at {}", show(ha), show(ra)))
            .collect::<Vec<_>>()
            .join("; ")
    };
    for c in diff(&expected_cycles, &found_cycles) {
        bad.push(Mismatch(format!("missing lock-order cycle: {}", show_cycle(&c))));
    }
    for c in diff(&found_cycles, &expected_cycles) {
        bad.push(Mismatch(format!(
            "unexpected lock-order cycle: {}",
            show_cycle(&c)
        )));
    }
    if !scenario.expect.ordered.is_empty() {
        match trace {
            Some(t) => {
                let accessed = accessed_lines(t);
                for o in scenario.expect.ordered {
                    for side in o.sides {
                        let line = resolve(side);
                        if !accessed.contains(&(o.var.to_owned(), line.clone())) {
                            bad.push(Mismatch(format!(
                                "no access to `{}` recorded at {} (marker `{side}`)",
                                o.var,
                                show(&line)
                            )));
                        }
                    }
                    if !analysis.edges.iter().any(|e| e.kind == o.by) {
                        bad.push(Mismatch(format!(
                            "no {} edge found (the order of `{}` relies on one)",
                            o.by.name(),
                            o.var
                        )));
                    }
                }
            }
            None => bad.push(Mismatch(
                "the expectation names ordered accesses: check needs the trace".to_owned(),
            )),
        }
    }
    for d in &analysis.diagnostics {
        bad.push(Mismatch(format!("analyzer diagnostic: {}", d.message)));
    }
    for l in &analysis.lost {
        bad.push(Mismatch(format!("damaged trace: {l}")));
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(bad)
    }
}

/// Every (variable name, line) with a recorded plain access in `trace`.
fn accessed_lines(trace: &Trace) -> std::collections::BTreeSet<(String, Line)> {
    trace
        .events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::VarRead { var } | EventKind::VarWrite { var } => {
                Some((trace.symbols.object_name(var), line_of(&trace.symbols, e.loc)))
            }
            _ => None,
        })
        .collect()
}

/// The items of `a` not in `b`, as multisets.
fn diff<T: Clone + Ord>(a: &[T], b: &[T]) -> Vec<T> {
    let mut rest: Vec<T> = b.to_vec();
    let mut out = Vec::new();
    for x in a {
        match rest.iter().position(|y| y == x) {
            Some(i) => {
                rest.swap_remove(i);
            }
            None => out.push(x.clone()),
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_found_by_label_and_line() {
        let text = "a\nlet x = 1; // hb:mark(w)\nfoo(); // hb:mark(r1, r2)\n";
        let m = markers(text).unwrap();
        assert_eq!(m.get("w"), Some(&2));
        assert_eq!(m.get("r1"), Some(&3));
        assert_eq!(m.get("r2"), Some(&3));
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn bad_markers_are_errors_naming_the_line() {
        assert_eq!(
            markers("// hb:mark(a)\n\n// hb:mark(a)\n").unwrap_err(),
            "line 3: marker `a` already used on line 1"
        );
        assert_eq!(
            markers("x // hb:mark(a\n").unwrap_err(),
            "line 1: marker without a closing parenthesis"
        );
        assert_eq!(
            markers("x // hb:mark( )\n").unwrap_err(),
            "line 1: empty marker label"
        );
    }

    #[test]
    fn names_are_unique_and_every_expectation_resolves() {
        let all = scenarios();
        let mut names: Vec<&str> = all.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len(), "duplicate scenario names");
        for s in all {
            let m = markers(s.source.text).unwrap_or_else(|e| panic!("{}: {e}", s.source.file));
            let labels = s
                .expect
                .races
                .iter()
                .flat_map(|r| r.sides)
                .chain(s.expect.ordered.iter().flat_map(|o| o.sides))
                .chain(
                    s.expect
                        .cycles
                        .iter()
                        .flat_map(|c| c.edges.iter().flat_map(|e| [e.held_at, e.requested_at])),
                );
            for l in labels {
                assert!(
                    m.contains_key(l),
                    "{}: marker `{l}` not in {}",
                    s.name,
                    s.source.file
                );
            }
        }
    }

    #[test]
    fn every_item_of_issue_6_has_a_scenario() {
        for item in 1..=18u8 {
            assert!(
                scenarios().iter().any(|s| s.item == item),
                "no scenario for item {item}"
            );
        }
    }

    #[test]
    fn verdicts_read_well() {
        assert_eq!(verdict(0, 0), "no finding");
        assert_eq!(verdict(1, 0), "1 race");
        assert_eq!(verdict(2, 1), "2 races, 1 lock-order cycle");
        assert_eq!(verdict(0, 1), "1 lock-order cycle");
    }
}
