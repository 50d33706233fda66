//! Damaged and hostile input, end to end.
//!
//! - A bounded mutation harness: mutated valid binary traces (with and without repaired
//!   checksums) and mutated STD text traces go through the reader into
//!   `hb_analyzer::analyze` and, from a temporary file, `hb_analyzer::analyze_path`: no
//!   panic, bounded time and memory per case, and both paths agree on what was read.
//! - Each kind of damage through the real `hb-analyze` binary: truncated at any byte, a
//!   corrupted checksum in the middle, a frame of an unknown future version, a future
//!   major version, an empty file, a PNG, random bytes, a directory, a damaged STD trace:
//!   exit codes and the exact one-line messages, and the analysis of what survived.
//! - CLI misuse: unknown flags, missing files, unreadable files, unwritable outputs,
//!   `--help`, `--version`.

#[path = "../../fuzz/src/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use harness::{fix_checksums, frame, mutate, mutate_text, peak_alloc, CountingAlloc, Rng, Watchdog};
use hb_analyzer::{analyze, analyze_path, dsl, Analysis, Options};
use hb_format::io::{FRAME_BATCH, MAGIC};
use hb_format::{Trace, TraceReader};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const MIB: usize = 1 << 20;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hb-analyze"))
}

fn run(args: &[&std::ffi::OsStr]) -> (Option<i32>, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = bin().args(args).output().unwrap();
    (
        status.code(),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

fn run1(path: &Path) -> (Option<i32>, String, String) {
    run(&[path.as_os_str()])
}

fn cases() -> u64 {
    std::env::var("HB_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(400)
}

// ---------------------------------------------------------------------------------------
// Mutation harness

#[derive(Debug, Default)]
struct Stats {
    analyzed: u64,
    refused: u64,
    with_lost: u64,
    races: u64,
    diagnostics: u64,
    max_time: Duration,
    max_peak: usize,
}

/// Analyzes `bytes` both ways under time and memory bounds; returns the in-memory result.
fn analyze_both(label: &str, bytes: &[u8], dir: &Path, stats: &mut Stats) -> Option<Analysis> {
    let path = dir.join("case.trace");
    std::fs::write(&path, bytes).unwrap();
    let t0 = Instant::now();
    if bytes.is_empty() {
        // An empty file is refused (tested below); there is nothing to compare.
        return None;
    }
    let ((mem, file), peak) = peak_alloc(|| {
        let mem = if bytes.starts_with(&MAGIC[..bytes.len().min(MAGIC.len())]) {
            Trace::read_binary(bytes).map(|t| analyze(&t, &Options::default()))
        } else {
            hb_format::std_text::read(bytes, "case.trace").map(|t| analyze(&t, &Options::default()))
        };
        let file = analyze_path(&path, &Options::default(), &mut |_| {});
        (mem, file)
    });
    let took = t0.elapsed();
    stats.max_time = stats.max_time.max(took);
    stats.max_peak = stats.max_peak.max(peak);
    assert!(took < Duration::from_secs(10), "{label}: {took:?}");
    assert!(
        peak < 16 * MIB + 64 * bytes.len(),
        "{label}: peak allocation {peak} bytes"
    );
    match (mem, file) {
        (Ok(a), Ok(b)) => {
            stats.analyzed += 1;
            stats.races += a.races.len() as u64;
            stats.diagnostics += a.diagnostics.len() as u64;
            if !a.lost.is_empty() {
                stats.with_lost += 1;
            }
            // Both paths read the same events and lose the same parts; the file path names
            // the file in each lost line.
            assert_eq!(a.stats.events, b.stats.events, "{label}");
            assert_eq!(
                a.lost.len(),
                b.lost.len(),
                "{label}: {:?} vs {:?}",
                a.lost,
                b.lost
            );
            for (x, y) in a.lost.iter().zip(&b.lost) {
                assert_eq!(format!("{}: {x}", path.display()), *y, "{label}");
                assert!(!y.contains('\n'), "{label}: multi-line {y}");
            }
            // Rendering never panics either.
            let _ = hb_analyzer::report::text(&b, &Default::default());
            let _ = hb_analyzer::report::json(&b, &Default::default());
            let _ = hb_analyzer::report::sarif(&b, &Default::default());
            Some(a)
        }
        (Err(x), Err(y)) => {
            stats.refused += 1;
            assert_eq!(format!("{}: {x}", path.display()), y.to_string(), "{label}");
            assert!(
                x.offset().is_some() || x.line().is_some(),
                "{label}: no position in {x}"
            );
            None
        }
        (x, y) => panic!("{label}: the two paths disagree: {:?} vs {:?}", x.err(), y.err()),
    }
}

#[test]
fn mutated_traces_through_the_analyzer() {
    let dir = tempfile::tempdir().unwrap();
    let dog = Watchdog::new();
    let mut stats = Stats::default();
    for seed in 0..cases() {
        let label = format!("seed {seed}");
        dog.case(&label, Duration::from_secs(120));
        let mut rng = Rng::new(seed);
        let t = harness::random_trace(&mut rng);
        let bytes = harness::encode(&t, &mut rng);
        // The intact trace analyzes cleanly: the generator makes consistent traces.
        if seed % 16 == 0 {
            let a = analyze_both(&format!("{label} intact"), &bytes, dir.path(), &mut stats).unwrap();
            assert!(a.diagnostics.is_empty(), "{label}: {:?}", a.diagnostics);
            assert!(a.lost.is_empty());
        }
        let (mut bad, _) = mutate(&mut rng, &bytes);
        analyze_both(&label, &bad, dir.path(), &mut stats);
        if fix_checksums(&mut bad) > 0 {
            analyze_both(&format!("{label} repaired"), &bad, dir.path(), &mut stats);
        }
        let text = harness::random_std(&mut rng);
        let bad = mutate_text(&mut rng, &text);
        analyze_both(&format!("{label} std"), bad.as_bytes(), dir.path(), &mut stats);
    }
    dog.done();
    eprintln!("{stats:?}");
    assert!(stats.analyzed > cases() && stats.refused > 0 && stats.with_lost > 0 && stats.races > 0);
    assert!(
        stats.diagnostics > 0,
        "repaired mutations make inconsistent traces"
    );
}

// ---------------------------------------------------------------------------------------
// Damaged traces through hb-analyze

/// A racy trace over many frames: T0 and T1 race on `x` in the first frames; later
/// frames hold well-ordered traffic on a mutex.
fn racy_trace_bytes(batch: usize) -> Vec<u8> {
    let mut text = String::from("T0: spawn T1\nT0: w x @1\nT1: w x @2\n");
    for i in 0..20 {
        let t = i % 2;
        text.push_str(&format!(
            "T{t}: lock m {}\nT{t}: w y @3\nT{t}: unlock m {}\n",
            i + 1,
            i + 1
        ));
    }
    let trace = dsl::parse(&text).unwrap();
    trace.write_binary(Vec::new(), batch).unwrap()
}

/// The offsets of the frames of an intact trace, and the offset where frames begin.
fn frame_offsets(bytes: &[u8]) -> (u64, Vec<u64>) {
    let r = TraceReader::new(bytes).unwrap();
    let first = r.offset();
    (first, r.map(|f| f.unwrap().offset).collect())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// The `damaged trace:` lines of a text report.
fn lost_lines(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|l| l.starts_with("damaged trace: "))
        .collect()
}

#[test]
fn truncated_at_every_byte() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = racy_trace_bytes(4);
    let (header_end, offsets) = frame_offsets(&bytes);
    let path = dir.path().join("cut.hb");
    for cut in 0..bytes.len() {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let r = analyze_path(&path, &Options::default(), &mut |_| {});
        let p = path.display();
        if cut == 0 {
            assert_eq!(
                r.unwrap_err().to_string(),
                format!("{p}: byte 0: the file is empty: expected an hb trace or an STD text trace")
            );
        } else if cut < MAGIC.len() {
            assert_eq!(
                r.unwrap_err().to_string(),
                format!("{p}: byte 0: truncated: the file ends inside the magic number (the recording was probably killed)")
            );
        } else if (cut as u64) < header_end {
            let inside = match cut - MAGIC.len() {
                0 => "the header frame",
                1..12 => "a frame header",
                _ => "a frame",
            };
            assert_eq!(
                r.unwrap_err().to_string(),
                format!("{p}: byte 8: truncated: the file ends inside {inside} (the recording was probably killed)"),
                "cut at {cut}"
            );
        } else {
            let a = r.unwrap();
            // The frames that end before the cut are analyzed; the one cut is named.
            let complete = offsets
                .iter()
                .zip(offsets.iter().skip(1).chain([&(bytes.len() as u64)]))
                .filter(|(_, &end)| end as usize <= cut)
                .count();
            let cut_frame = offsets
                .iter()
                .copied()
                .chain([bytes.len() as u64])
                .nth(complete)
                .unwrap();
            if cut_frame as usize == cut {
                assert!(a.lost.is_empty(), "cut at a frame boundary {cut}: {:?}", a.lost);
            } else {
                let inside = if cut - (cut_frame as usize) < 12 {
                    "a frame header"
                } else {
                    "a frame"
                };
                assert_eq!(
                    a.lost,
                    vec![format!(
                        "{p}: byte {cut_frame}: truncated: the file ends inside {inside} (the recording was probably killed)"
                    )],
                    "cut at {cut}"
                );
            }
            let full = Trace::read_binary(&bytes[..]).unwrap();
            let kept = TraceReader::new(&bytes[..])
                .unwrap()
                .take(complete)
                .map(|f| f.unwrap().events.len() as u64)
                .sum::<u64>();
            assert_eq!(a.stats.events, kept, "cut at {cut}");
            // The race lives in the first batch frames: once they are complete it is found.
            let pairs: Vec<_> = a.races.iter().map(|r| (r.first.loc, r.second.loc)).collect();
            if kept as usize > full.events.iter().position(|e| e.loc == Some(2)).unwrap() {
                assert!(pairs.contains(&(Some(1), Some(2))), "cut at {cut}: {pairs:?}");
            }
            // Any other race comes from a lost synchronization, which is diagnosed: a cut
            // never silently adds a finding.
            if pairs.iter().any(|&p| p != (Some(1), Some(2))) {
                assert!(
                    !a.diagnostics.is_empty(),
                    "cut at {cut}: {pairs:?} without diagnostics"
                );
            }
        }
    }
    // The binary agrees on a sample of cuts: exit 2 with one line, or 0/1 with the loss
    // in the report.
    for cut in (0..bytes.len())
        .step_by(37)
        .chain([5, 8, header_end as usize + 3, bytes.len() - 1])
    {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let (code, out, err) = run1(&path);
        if (cut as u64) < header_end {
            assert_eq!(code, Some(2), "cut at {cut}");
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(
                err.starts_with(&format!("hb-analyze: {}: byte ", path.display())),
                "{err}"
            );
        } else {
            assert!(matches!(code, Some(0 | 1)), "cut at {cut}: {code:?} {err}");
            let lost = lost_lines(&out);
            assert!(lost.len() <= 1, "{out}");
            if let Some(l) = lost.first() {
                assert!(
                    l.contains(&format!("{}: byte ", path.display())) && l.contains("truncated"),
                    "{l}"
                );
            }
        }
    }
}

#[test]
fn corrupted_checksum_in_the_middle() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = racy_trace_bytes(4);
    let (_, offsets) = frame_offsets(&bytes);
    let k = offsets.len() / 2;
    let (at, end) = (offsets[k] as usize, offsets[k + 1] as usize);
    let crc = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap());
    bytes[at + 8] ^= 0xff;
    let stored = crc ^ 0xff;
    let lost_events = TraceReader::new(&bytes[..]).unwrap().count(); // still readable
    assert!(lost_events > 0);
    let path = write(dir.path(), "crc.hb", &bytes);
    let (code, out, err) = run1(&path);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(
        lost_lines(&out),
        vec![format!(
            "damaged trace: {}: byte {at}: damaged data: frame checksum mismatch (stored {stored:#010x}, computed {crc:#010x}): the frame is damaged; {} bytes skipped up to the next intact frame",
            path.display(),
            end - at
        )]
    );
    assert!(out.contains("data race on `x`"), "{out}");
    // JSON says the same, and counts every event but the lost frame's.
    let (_, json, _) = run(&[path.as_os_str(), "--format".as_ref(), "json".as_ref()]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["summary"]["lost"], 1);
    let full = Trace::read_binary(&racy_trace_bytes(4)[..]).unwrap().events.len() as u64;
    let frame_events = TraceReader::new(&racy_trace_bytes(4)[..])
        .unwrap()
        .nth(k)
        .unwrap()
        .unwrap()
        .events
        .len() as u64;
    assert_eq!(v["summary"]["events"], full - frame_events);
}

#[test]
fn frame_of_an_unknown_future_version_is_skipped_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = racy_trace_bytes(4);
    let (_, offsets) = frame_offsets(&bytes);
    let at = offsets[2] as usize;
    let future = frame(2, FRAME_BATCH, 5, b"hello");
    let mut with = bytes[..at].to_vec();
    with.extend_from_slice(&future);
    with.extend_from_slice(&bytes[at..]);
    let path = write(dir.path(), "future.hb", &with);
    let (code, out, err) = run1(&path);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(
        lost_lines(&out),
        vec![format!(
            "damaged trace: {}: byte {at}: frame of unknown version 2 or kind 1 skipped (5 bytes): written by a newer hb?",
            path.display()
        )]
    );
    let a = analyze_path(&path, &Options::default(), &mut |_| {}).unwrap();
    assert_eq!(
        a.stats.events as usize,
        Trace::read_binary(&bytes[..]).unwrap().events.len(),
        "nothing else lost"
    );
}

#[test]
fn future_major_version_is_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = hb_format::Header::new("future");
    h.version_major = 2;
    h.version_minor = 7;
    let mut bytes = Vec::new();
    hb_format::TraceWriter::new(&mut bytes, &h).unwrap();
    let path = write(dir.path(), "v2.hb", &bytes);
    let (code, out, err) = run1(&path);
    assert_eq!(code, Some(2));
    assert!(out.is_empty());
    assert_eq!(
        err,
        format!(
            "hb-analyze: {}: byte 8: format version 2.7 is not supported (this hb reads 1.x): upgrade hb\n",
            path.display()
        )
    );
}

#[test]
fn files_that_are_not_traces_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let png = write(d, "img.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10");
    let empty = write(d, "empty.hb", b"");
    let mut rng = Rng::new(7);
    let random = write(d, "random.bin", &rng.bytes(4096));
    let text = write(d, "notes.txt", b"hello world\n");
    let p = |x: &PathBuf| x.display().to_string();
    let expect = [
        (
            &empty,
            format!(
                "{}: byte 0: the file is empty: expected an hb trace or an STD text trace",
                p(&empty)
            ),
        ),
        (
            &png,
            format!(
                "{}: line 1: not UTF-8 text: neither an hb trace nor an STD text trace",
                p(&png)
            ),
        ),
        (
            &text,
            format!(
                "{}: line 1: expected `thread|op|loc`, found \"hello world\"",
                p(&text)
            ),
        ),
    ];
    for (path, msg) in expect {
        let (code, out, err) = run1(path);
        assert_eq!(code, Some(2), "{err}");
        assert!(out.is_empty());
        assert_eq!(err, format!("hb-analyze: {msg}\n"));
    }
    let (code, _, err) = run1(&random);
    assert_eq!(code, Some(2));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("hb-analyze: {}: line ", p(&random))),
        "{err}"
    );
    // A directory.
    let (code, _, err) = run1(d);
    assert_eq!(code, Some(2));
    assert_eq!(
        err,
        format!("hb-analyze: {}: Is a directory (os error 21)\n", d.display())
    );
}

#[test]
fn damaged_std_trace_keeps_its_intact_lines_and_names_the_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let text = "T0|fork(T1)|1\nT0|w(x)|2\nT1|w(x)|3\nT1|acq(L)|4\nT1|rel(L)|5\n";
    // Cut at every byte: the complete lines import; a cut line after the first is skipped
    // and named; only a cut first line makes the file unreadable.
    let path = dir.path().join("cut.std");
    for cut in 1..text.len() {
        let part = &text[..cut];
        std::fs::write(&path, part).unwrap();
        let whole = part.matches('\n').count();
        let tail = &part[part.rfind('\n').map_or(0, |i| i + 1)..];
        let valid_tail = !tail.is_empty()
            && hb_format::std_text::read(tail.as_bytes(), "tail.std").is_ok_and(|t| t.events.len() == 1);
        match analyze_path(&path, &Options::default(), &mut |_| {}) {
            Ok(a) => {
                assert_eq!(
                    a.stats.events as usize,
                    whole + usize::from(valid_tail),
                    "cut {cut}"
                );
                if !tail.is_empty() && !valid_tail {
                    assert_eq!(
                        a.lost.len(),
                        1,
                        "cut {cut}: the cut line is reported: {:?}",
                        a.lost
                    );
                    assert!(
                        a.lost[0].starts_with(&format!("{}: line {}: ", path.display(), whole + 1)),
                        "cut {cut}: {:?}",
                        a.lost
                    );
                } else {
                    assert!(a.lost.is_empty(), "cut {cut}: {:?}", a.lost);
                }
            }
            Err(e) => {
                assert_eq!(whole, 0, "cut {cut}: only a bad first line is fatal: {e}");
                assert_eq!(e.line(), Some(1), "cut {cut}: {e}");
                assert!(e
                    .to_string()
                    .starts_with(&format!("{}: line 1: ", path.display())));
            }
        }
    }
    let bad = write(dir.path(), "bad.std", b"T0|w(x)|1\nT0|w(x)|2\nT0|frob(x)|3\n");
    let (code, out, _) = run1(&bad);
    assert_eq!(code, Some(0));
    assert!(
        out.contains(&format!(
            "damaged trace: {}: line 3: unknown operation `frob` (expected r, w, acq, rel, req, fork, join, begin or end)\n",
            bad.display()
        )),
        "{out}"
    );
    let not_std = write(dir.path(), "notes.txt", b"frob\nT0|w(x)|2\n");
    let (code, _, err) = run1(&not_std);
    assert_eq!(code, Some(2));
    assert_eq!(
        err,
        format!(
            "hb-analyze: {}: line 1: expected `thread|op|loc`, found \"frob\"\n",
            not_std.display()
        )
    );
}

/// The issue asks for "0/1 plus a warning line on stderr naming the byte offset when
/// damage was skipped": in every format, including `--summary` and piped JSON.
#[test]
fn skipped_damage_is_announced_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = racy_trace_bytes(4);
    let (_, offsets) = frame_offsets(&bytes);
    let at = offsets[offsets.len() / 2] as usize;
    bytes[at + 8] ^= 0xff;
    let path = write(dir.path(), "crc.hb", &bytes);
    for extra in [&[][..], &["--summary"], &["--format", "json"]] {
        let mut args = vec![path.as_os_str()];
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        let (code, _, err) = run(&args);
        assert_eq!(code, Some(1));
        let warning = err.lines().find(|l| l.contains(&format!("byte {at}")));
        assert!(
            warning.is_some_and(|l| l.contains(&path.display().to_string())),
            "{extra:?}: no stderr line names the damage at byte {at}: {err:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// CLI misuse

fn clean_trace(dir: &Path) -> PathBuf {
    let t = dsl::parse("T0: spawn T1\nT0: w x @1\nT0: send c 1\nT1: recv c 1\nT1: w x @2\n").unwrap();
    let p = dir.join("clean.hb");
    t.write_binary(std::fs::File::create(&p).unwrap(), 2).unwrap();
    p
}

#[test]
fn unknown_flags_exit_2_with_usage() {
    let dir = tempfile::tempdir().unwrap();
    let t = clean_trace(dir.path());
    for flag in ["--frobnicate", "-Z", "--max-reports=many", "--max-cycle-len=1"] {
        let (code, out, err) = run(&[t.as_os_str(), flag.as_ref()]);
        assert_eq!(code, Some(2), "{flag}");
        assert!(out.is_empty());
        assert!(err.starts_with("error: "), "{flag}: {err}");
        assert!(
            err.contains("For more information, try '--help'."),
            "{flag}: {err}"
        );
    }
    let (code, _, err) = run(&[t.as_os_str(), t.as_os_str()]);
    assert_eq!(code, Some(2));
    assert!(err.contains("unexpected argument"), "{err}");
}

#[test]
fn missing_and_unreadable_inputs_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.hb");
    let (code, _, err) = run1(&missing);
    assert_eq!(code, Some(2));
    assert_eq!(
        err,
        format!(
            "hb-analyze: {}: No such file or directory (os error 2)\n",
            missing.display()
        )
    );
    // Unreadable for a reason even root cannot bypass: reading /proc/self/mem at offset 0
    // fails with EIO.
    let (code, _, err) = run1(Path::new("/proc/self/mem"));
    assert_eq!(code, Some(2));
    assert_eq!(
        err,
        "hb-analyze: /proc/self/mem: Input/output error (os error 5)\n"
    );
    // Permissions: only meaningful when not running as root.
    let t = clean_trace(dir.path());
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&t, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&t).is_ok() {
        eprintln!("note: running as root, mode 000 does not stop reads: permission case skipped");
    } else {
        let (code, _, err) = run1(&t);
        assert_eq!(code, Some(2));
        assert_eq!(
            err,
            format!("hb-analyze: {}: Permission denied (os error 13)\n", t.display())
        );
    }
}

#[test]
fn unwritable_outputs_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let t = clean_trace(dir.path());
    let no_dir = dir.path().join("no/such/dir/out.txt");
    let cases: Vec<(Vec<&std::ffi::OsStr>, String)> = vec![
        (
            vec!["-o".as_ref(), no_dir.as_os_str()],
            format!(
                "{}: cannot write: No such file or directory (os error 2)",
                no_dir.display()
            ),
        ),
        (
            vec!["--output".as_ref(), dir.path().as_os_str()],
            format!(
                "{}: cannot write: Is a directory (os error 21)",
                dir.path().display()
            ),
        ),
        (
            vec!["--export-std".as_ref(), no_dir.as_os_str()],
            format!(
                "{}: cannot create: No such file or directory (os error 2)",
                no_dir.display()
            ),
        ),
        (
            vec!["--export-chrome".as_ref(), dir.path().as_os_str()],
            format!(
                "{}: cannot create: Is a directory (os error 21)",
                dir.path().display()
            ),
        ),
        // Unwritable whoever you are.
        (
            vec!["-o".as_ref(), "/proc/version".as_ref()],
            "/proc/version: cannot write: Input/output error (os error 5)".to_owned(),
        ),
    ];
    for (extra, msg) in cases {
        let mut args = vec![t.as_os_str()];
        args.extend(extra);
        let (code, out, err) = run(&args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}");
        assert_eq!(err, format!("hb-analyze: {msg}\n"), "{args:?}");
    }
}

#[test]
fn help_and_version() {
    let (code, out, err) = run(&["--help".as_ref()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("Usage: hb-analyze [OPTIONS] <TRACE>"), "{out}");
    for opt in [
        "--format",
        "--output",
        "--summary",
        "--max-reports",
        "--no-cycles",
        "--export-std",
    ] {
        assert!(out.contains(opt), "--help lacks {opt}");
    }
    assert!(out.contains("Exit status: 0 no findings, 1 findings, 2 bad usage or unreadable trace"));
    let (code, out, _) = run(&["-h".as_ref()]);
    assert_eq!(code, Some(0));
    assert!(out.contains("Usage: hb-analyze"));
    let (code, out, _) = run(&["--version".as_ref()]);
    assert_eq!(code, Some(0));
    assert_eq!(out, format!("hb-analyze {}\n", env!("CARGO_PKG_VERSION")));
}
