//! `hb-analyze` end to end: exit codes, formats, options.

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hb-analyze"))
}

fn write_trace(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let trace = hb_analyzer::dsl::parse(text).unwrap();
    let path = dir.path().join(name);
    let out = std::fs::File::create(&path).unwrap();
    trace.write_binary(out, 3).unwrap();
    path
}

const RACY: &str = "T0: spawn T1\nT0: w x @1\nT1: w x @2\nT1: r x @3\n";
const CLEAN: &str = "T0: spawn T1\nT0: w x @1\nT0: send c 1\nT1: recv c 1\nT1: w x @2\n";

#[test]
fn exit_status_zero_without_findings_one_with() {
    let dir = tempfile::tempdir().unwrap();
    let clean = bin().arg(write_trace(&dir, "clean.hb", CLEAN)).output().unwrap();
    assert_eq!(
        clean.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );
    assert!(String::from_utf8_lossy(&clean.stdout).contains("0 data races"));
    let racy = bin().arg(write_trace(&dir, "racy.hb", RACY)).output().unwrap();
    assert_eq!(racy.status.code(), Some(1));
    let text = String::from_utf8_lossy(&racy.stdout);
    assert!(text.contains("data race on `x`"), "{text}");
    assert!(text.contains("t.rs:1") && text.contains("t.rs:2"), "{text}");
    assert!(!text.contains('\x1b'), "no color when not a terminal");
}

#[test]
fn exit_status_two_with_a_one_line_cause() {
    let out = bin().arg("/nonexistent/trace.hb").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/nonexistent/trace.hb"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "this is not | a trace (\n").unwrap();
    let out = bin().arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1"));
    let out = bin().args(["--format", "xml", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bin().output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn json_has_a_versioned_schema() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .arg(write_trace(&dir, "racy.hb", RACY))
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "hb-analyze/1");
    assert_eq!(v["summary"]["races"], 2);
    let r = &v["races"][0];
    assert_eq!(r["rule"], "hb/data-race");
    assert_eq!(r["variable"]["name"], "x");
    assert_eq!(r["first"]["location"], "t.rs:1");
    assert!(r["explanation"]["text"].as_array().unwrap().len() >= 3);
}

#[test]
fn sarif_is_2_1_0_with_rule_ids() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("out.sarif");
    let out = bin()
        .arg(write_trace(&dir, "racy.hb", RACY))
        .args(["--format", "sarif", "--output"])
        .arg(&out_path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out_path).unwrap()).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let rules: Vec<&str> = v["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(rules, vec!["hb/data-race", "hb/lock-order-cycle"]);
    let res = &v["runs"][0]["results"][0];
    assert_eq!(res["ruleId"], "hb/data-race");
    assert_eq!(
        res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "t.rs"
    );
}

#[test]
fn summary_and_max_reports() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_trace(&dir, "racy.hb", RACY);
    let out = bin().arg(&p).arg("--summary").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.trim(),
        "2 data races, 0 lock-order cycles, 0 diagnostics (4 events, 2 tasks)"
    );
    let out = bin()
        .arg(&p)
        .args(["--max-reports", "1", "--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["races"].as_array().unwrap().len(), 1);
    assert_eq!(v["summary"]["races"], 2);
}

#[test]
fn std_text_traces_and_exports() {
    let dir = tempfile::tempdir().unwrap();
    let std = dir.path().join("t.std");
    std::fs::write(&std, "T0|fork(T1)|1\nT0|w(x)|2\nT1|w(x)|3\n").unwrap();
    let chrome = dir.path().join("c.json");
    let back = dir.path().join("back.std");
    let out = bin()
        .arg(&std)
        .arg("--export-chrome")
        .arg(&chrome)
        .arg("--export-std")
        .arg(&back)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("t.std:2"));
    assert!(serde_json::from_slice::<serde_json::Value>(&std::fs::read(&chrome).unwrap()).is_ok());
    assert_eq!(
        std::fs::read_to_string(&back).unwrap(),
        "T0|fork(T1)|1\nT0|w(x)|2\nT1|w(x)|3\n"
    );
}

#[cfg(unix)]
#[test]
fn traces_read_through_a_pipe() {
    // `hb-analyze <(zcat trace.hb.gz)` hands it a pipe, which can be read only once.
    let dir = tempfile::tempdir().unwrap();
    let binary = std::fs::read(write_trace(&dir, "racy.hb", RACY)).unwrap();
    let std_text = b"T0|fork(T1)|1\nT0|w(x)|2\nT1|w(x)|3\n".to_vec();
    for (what, bytes, loc) in [("binary", binary, "t.rs:2"), ("std", std_text, "std.pipe:3")] {
        let fifo = dir.path().join(format!("{what}.pipe"));
        assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::write(&fifo, bytes).unwrap())
        };
        let out = bin().arg(&fifo).output().unwrap();
        writer.join().unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
        assert!(
            stdout.contains("data race on `x`") && stdout.contains(loc),
            "{what}: {stdout}"
        );
    }
    // Exporting reads the trace a second time: refused up front for a pipe, not a hang.
    let fifo = dir.path().join("export.pipe");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let out = bin()
        .arg(&fifo)
        .arg("--export-std")
        .arg(dir.path().join("out.std"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("export.pipe") && err.contains("not a pipe"), "{err}");
}
