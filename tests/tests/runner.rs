//! The sample runner end to end (`hb-scenario` is the `hb-samples` command built in this
//! package): the verdict table, a chosen scenario's report, the listing, bad usage.

mod common;

use std::process::Command;

use common::EXE;

/// Scenarios whose verdict is known to be wrong because of an analyzer bug (each has an
/// ignored test in scenarios.rs and a minimal reproduction in analyzer_repro.rs).
const KNOWN_ANALYZER_BUGS: &[&str] = &["waitgroup-add-in-loop"];

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(EXE)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn runs_every_scenario_and_prints_a_verdict_line_for_each() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(&["--out", dir.path().to_str().unwrap()]);
    assert!(err.is_empty(), "{err}");
    assert!(out.starts_with("hb samples:"), "{out}");
    let mut all_ok = true;
    for s in hb_samples::scenarios() {
        let row = out
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(s.name))
            .unwrap_or_else(|| panic!("no row for {}:\n{out}", s.name));
        assert!(row.contains(&s.expect.verdict()), "{row}");
        let ok = row.contains('✓');
        assert!(ok != row.contains('✗'), "{row}");
        if !KNOWN_ANALYZER_BUGS.contains(&s.name) {
            assert!(ok, "{row}\n{out}");
        }
        all_ok &= ok;
        assert!(
            dir.path().join(format!("{}.hbt", s.name)).is_file(),
            "no trace for {}",
            s.name
        );
    }
    assert_eq!(code, Some(if all_ok { 0 } else { 1 }), "{out}");
    // The findings of a racy scenario follow, as the analyzer's text report.
    assert!(out.contains("── sleep-publish"), "{out}");
    assert!(out.contains("data race on `msg`"), "{out}");
    assert!(
        out.contains("lock-order cycle (potential deadlock) over 2 locks"),
        "{out}"
    );
}

#[test]
fn a_chosen_scenario_prints_its_full_report_and_keeps_its_trace() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(&[
        "--out",
        dir.path().to_str().unwrap(),
        "sleep-publish",
        "exit-join",
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("sleep-publish (item 2)"), "{out}");
    assert!(out.contains("1 race; expected 1 race: ✓"), "{out}");
    assert!(out.contains("data race on `msg`"), "{out}");
    assert!(out.contains("why: "), "{out}");
    assert!(out.contains("exit-join (item 18)"), "{out}");
    assert!(
        out.contains("0 data races, 0 lock-order cycles, 0 diagnostics"),
        "{out}"
    );
    // The trace stays for hb-analyze / hb-view.
    let trace = dir.path().join("sleep-publish.hbt");
    let a = hb_analyzer::analyze_path(&trace, &Default::default(), &mut |_| {}).unwrap();
    assert_eq!(a.races.len(), 1);
}

#[test]
fn lists_the_scenarios() {
    let (code, out, _) = run(&["--list"]);
    assert_eq!(code, Some(0));
    assert_eq!(out.lines().count(), hb_samples::scenarios().len());
    assert!(
        out.lines()
            .any(|l| l.contains("far-apart") && l.contains("1 race")),
        "{out}"
    );
}

#[test]
fn bad_usage_exits_2_with_a_message() {
    let (code, out, err) = run(&["no-such-scenario"]);
    assert_eq!(code, Some(2));
    assert!(out.is_empty());
    assert_eq!(
        err.trim(),
        "hb-samples: no scenario named `no-such-scenario` (hb-samples --list shows them)"
    );
    let (code, _, err) = run(&["record", "sleep-publish", "/nonexistent-dir/x.hbt"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("cannot create the hb trace /nonexistent-dir/x.hbt"),
        "{err}"
    );
}
