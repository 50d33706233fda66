//! Hostile input for the binary reader and the STD importer: length fields and
//! MessagePack headers that claim gigabytes (peak allocation measured with a counting
//! allocator), and a bounded mutation harness over valid traces (insertions, deletions,
//! duplicated ranges, truncation, huge lengths, bit flips; with and without repaired
//! checksums) asserting no panic, bounded time and memory per case, offsets on every
//! error, and that every frame the mutation did not touch is kept.
//!
//! `HB_FUZZ_CASES=N` changes the number of cases (default 1500 per harness); the longer
//! runs are cargo-fuzz targets, see `fuzz/README.md`.

#[path = "../../fuzz/src/harness.rs"]
mod harness;

use std::time::{Duration, Instant};

use harness::{fix_checksums, frame, moved, mutate, mutate_text, peak_alloc, CountingAlloc, Rng, Watchdog};
use hb_format::io::{FRAME_BATCH, FRAME_HEADER, FRAME_VERSION, MAX_FRAME_LEN};
use hb_format::{std_text, ErrorKind, Frame, Header, Trace, TraceReader, TraceWriter};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const MIB: usize = 1 << 20;

fn cases() -> u64 {
    std::env::var("HB_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1500)
}

/// A trace with only its header.
fn header_only() -> Vec<u8> {
    let mut out = Vec::new();
    TraceWriter::new(&mut out, &Header::new("crafted")).unwrap();
    out
}

/// A valid batch frame with two events of task 0.
fn good_batch() -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = TraceWriter::new(&mut out, &Header::new("x")).unwrap();
    let events = [
        hb_format::Event {
            task: 0,
            ts: 1,
            loc: None,
            kind: hb_format::EventKind::VarWrite { var: 3 },
        },
        hb_format::Event {
            task: 0,
            ts: 2,
            loc: None,
            kind: hb_format::EventKind::VarRead { var: 3 },
        },
    ];
    w.write_events(0, &[], &events).unwrap();
    drop(w);
    let start = header_only_len(&out);
    out[start..].to_vec()
}

fn header_only_len(bytes: &[u8]) -> usize {
    TraceReader::new(bytes).unwrap().offset() as usize
}

/// Reads every item, measuring the peak allocation.
fn read_all(
    bytes: &[u8],
) -> (
    Result<Vec<Result<Frame, hb_format::Error>>, hb_format::Error>,
    usize,
) {
    peak_alloc(|| TraceReader::new(bytes).map(|r| r.collect()))
}

#[test]
fn a_4_gib_length_field_allocates_nothing_big() {
    for len in [u32::MAX, 1 << 31, MAX_FRAME_LEN + 1] {
        let mut bytes = header_only();
        let at = bytes.len();
        // A frame head claiming `len` bytes, then a good frame.
        bytes.extend_from_slice(&frame(FRAME_VERSION, FRAME_BATCH, len, &[])[..12]);
        let good_at = bytes.len();
        bytes.extend_from_slice(&good_batch());
        let (items, peak) = read_all(&bytes);
        let items = items.unwrap();
        assert!(peak < 2 * MIB, "length {len}: peak allocation {peak} bytes");
        assert_eq!(items.len(), 2, "{items:?}");
        let e = items[0].as_ref().unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "byte {at}: damaged data: frame length {len} exceeds the maximum {MAX_FRAME_LEN}; 12 bytes skipped up to the next intact frame"
            )
        );
        let f = items[1].as_ref().unwrap();
        assert_eq!((f.offset, f.events.len()), (good_at as u64, 2));
    }
}

#[test]
fn a_maximal_length_with_a_short_file_is_a_truncation_not_an_allocation() {
    let mut bytes = header_only();
    let at = bytes.len();
    bytes.extend_from_slice(&frame(FRAME_VERSION, FRAME_BATCH, MAX_FRAME_LEN, &[])[..12]);
    bytes.extend_from_slice(&[0x93; 100]);
    let (items, peak) = read_all(&bytes);
    let items = items.unwrap();
    assert!(peak < 2 * MIB, "peak allocation {peak} bytes");
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0].as_ref().unwrap_err().to_string(),
        format!("byte {at}: truncated: the file ends inside a frame (the recording was probably killed)")
    );
}

/// Found by the mutation harness (seed 5525): a frame cut short, then bytes that look
/// like the start of a frame running past the end of the file, then an intact frame. The
/// intact frame used to be lost in a "truncated" error covering the rest of the file.
#[test]
fn a_frame_cut_short_before_a_false_start_keeps_the_intact_frame_after_it() {
    let mut bytes = header_only();
    let cut_at = bytes.len();
    // A head claiming 1000 bytes, only 20 of which follow.
    bytes.extend_from_slice(&frame(FRAME_VERSION, FRAME_BATCH, 1000, &[])[..12]);
    bytes.extend_from_slice(&[7; 20]);
    // A false start: sync bytes and a length running past the end of the file.
    bytes.extend_from_slice(&frame(FRAME_VERSION, FRAME_BATCH, 500, &[])[..12]);
    let good_at = bytes.len();
    bytes.extend_from_slice(&good_batch());
    let items = read_all(&bytes).0.unwrap();
    assert_eq!(items.len(), 2, "{items:?}");
    let skipped = good_at - cut_at;
    assert_eq!(
        items[0].as_ref().unwrap_err().to_string(),
        format!("byte {cut_at}: damaged data: frame cut short by the next frame; {skipped} bytes skipped up to the next intact frame")
    );
    let f = items[1].as_ref().unwrap();
    assert_eq!((f.offset, f.events.len()), (good_at as u64, 2));
}

/// Batch payloads (valid checksums) whose MessagePack headers claim huge sizes.
#[test]
fn huge_messagepack_headers_allocate_nothing_big() {
    let huge_array = [0xdd, 0xff, 0xff, 0xff, 0xff];
    let payloads: Vec<(&str, Vec<u8>)> = vec![
        // (Some(0), [], [4 G words...])
        (
            "word array",
            [&[0x93, 0x00, 0x90][..], &huge_array, &[1, 2, 3]].concat(),
        ),
        // (Some(0), [4 G defs...], [])
        (
            "definition array",
            [&[0x93, 0x00][..], &huge_array, &[0x90]].concat(),
        ),
        // (None, [Str { id: 0, text: <4 GiB string> }], [])
        (
            "string",
            [
                &[0x93, 0xc0, 0x91, 0x81, 0xa3][..],
                b"Str",
                &[0x92, 0x00, 0xdb, 0xff, 0xff, 0xff, 0xff],
                b"abc",
            ]
            .concat(),
        ),
        // A map (struct) claiming 4 G entries.
        (
            "map",
            [&[0x93, 0xc0, 0x91, 0xdf, 0xff, 0xff, 0xff, 0xff][..]].concat(),
        ),
        // The outer tuple itself claiming 4 G elements.
        ("tuple", [&huge_array[..], &[0x00]].concat()),
    ];
    for (what, payload) in payloads {
        let mut bytes = header_only();
        let at = bytes.len();
        bytes.extend_from_slice(&frame(FRAME_VERSION, FRAME_BATCH, payload.len() as u32, &payload));
        let good_at = bytes.len();
        bytes.extend_from_slice(&good_batch());
        let (items, peak) = read_all(&bytes);
        let items = items.unwrap();
        assert!(peak < 4 * MIB, "{what}: peak allocation {peak} bytes");
        assert_eq!(items.len(), 2, "{what}: {items:?}");
        let e = items[0].as_ref().unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::BadPayload(_)), "{what}: {e}");
        assert_eq!(e.offset(), Some(at as u64), "{what}");
        assert!(
            e.to_string()
                .starts_with(&format!("byte {at}: invalid frame content: batch: ")),
            "{what}: {e}"
        );
        assert_eq!(items[1].as_ref().unwrap().offset, good_at as u64, "{what}");
    }
}

#[test]
fn a_header_claiming_huge_sizes_is_refused_cheaply() {
    // Header { version_major: 1, version_minor: 0, program: <4 GiB string>, ... }
    let payload = [&[0x96, 0x01, 0x00, 0xdb, 0xff, 0xff, 0xff, 0xff][..], b"abc"].concat();
    let mut bytes = hb_format::io::MAGIC.to_vec();
    bytes.extend_from_slice(&frame(
        FRAME_VERSION,
        FRAME_HEADER,
        payload.len() as u32,
        &payload,
    ));
    let (r, peak) = read_all(&bytes);
    assert!(peak < 2 * MIB, "peak allocation {peak} bytes");
    let e = r.unwrap_err();
    assert!(
        e.to_string()
            .starts_with("byte 8: invalid frame content: header: "),
        "{e}"
    );
}

#[test]
fn an_endless_std_line_is_refused_after_64_kib() {
    let text = vec![b'x'; 10 * MIB];
    let (r, peak) = peak_alloc(|| std_text::read(&text[..], "big.std"));
    assert!(peak < MIB, "peak allocation {peak} bytes");
    assert_eq!(
        r.unwrap_err().to_string(),
        "line 1: line longer than 65536 bytes (STD lines are short)"
    );
}

#[test]
fn an_endless_std_line_after_valid_lines_is_skipped() {
    let mut text = b"T0|w(x)|1\n".to_vec();
    text.extend(vec![b'x'; 200_000]);
    text.extend(b"\nT0|w(y)|2\n");
    let (r, peak) = peak_alloc(|| std_text::read(&text[..], "big.std"));
    assert!(peak < MIB, "peak allocation {peak} bytes");
    let t = r.unwrap();
    assert_eq!(t.events.len(), 2);
    let warnings: Vec<_> = t.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(
        warnings,
        ["line 2: line longer than 65536 bytes (STD lines are short)"]
    );
}

/// Every frame of `bytes` with the byte range it spans.
fn frames_with_ends(bytes: &[u8]) -> Vec<(Frame, usize)> {
    let frames: Vec<Frame> = TraceReader::new(bytes).unwrap().map(|f| f.unwrap()).collect();
    let ends: Vec<usize> = frames
        .iter()
        .skip(1)
        .map(|f| f.offset as usize)
        .chain([bytes.len()])
        .collect();
    frames.into_iter().zip(ends).collect()
}

/// Reads mutated bytes under a time and memory bound, checks every error has an offset
/// inside the input, and returns the intact frames.
fn read_bounded(label: &str, bytes: &[u8], stats: &mut Stats) -> Option<Vec<Frame>> {
    let t0 = Instant::now();
    let (r, peak) = read_all(bytes);
    let took = t0.elapsed();
    stats.max_time = stats.max_time.max(took);
    stats.max_peak = stats.max_peak.max(peak);
    assert!(took < Duration::from_secs(5), "{label}: {took:?}");
    // Bounded by the input (the reader buffers at most one frame) plus a constant.
    assert!(
        peak < 8 * MIB + 4 * bytes.len(),
        "{label}: peak allocation {peak} bytes"
    );
    let items = match r {
        Ok(items) => items,
        Err(e) => {
            assert_eq!(
                e.offset().map(|o| o <= 8),
                Some(true),
                "{label}: header error {e}"
            );
            stats.refused += 1;
            return None;
        }
    };
    let mut frames = Vec::new();
    for item in items {
        match item {
            Ok(f) => frames.push(f),
            Err(e) => {
                let o = e
                    .offset()
                    .unwrap_or_else(|| panic!("{label}: error without offset: {e}"));
                assert!(
                    o as usize <= bytes.len(),
                    "{label}: offset {o} beyond {}",
                    bytes.len()
                );
                assert!(!e.to_string().contains('\n'), "{label}: multi-line error {e}");
                stats.errors += 1;
            }
        }
    }
    // The whole-trace reader agrees with the frame reader.
    let t = Trace::read_binary(bytes).unwrap();
    assert_eq!(
        t.events.len(),
        frames.iter().map(|f| f.events.len()).sum::<usize>(),
        "{label}"
    );
    Some(frames)
}

#[derive(Debug, Default)]
struct Stats {
    max_time: Duration,
    max_peak: usize,
    refused: u64,
    errors: u64,
    frames_checked: u64,
}

#[test]
fn mutated_binary_traces_keep_every_untouched_frame() {
    let dog = Watchdog::new();
    let mut stats = Stats::default();
    for seed in 0..cases() {
        let label = format!("binary seed {seed}");
        dog.case(&label, Duration::from_secs(60));
        let mut rng = Rng::new(seed);
        let t = harness::random_trace(&mut rng);
        let bytes = harness::encode(&t, &mut rng);
        let original = frames_with_ends(&bytes);
        let (bad, edits) = mutate(&mut rng, &bytes);
        let header_end = original[0].0.offset as usize;
        let header_touched = edits
            .iter()
            .any(|e| e.touches(0, header_end) || e.at < header_end);
        let Some(kept) = read_bounded(&label, &bad, &mut stats) else {
            assert!(
                header_touched,
                "{label}: header refused though untouched: {edits:?}"
            );
            continue;
        };
        for (f, end) in &original {
            if edits.iter().any(|e| e.touches(f.offset as usize, *end)) || header_touched {
                continue;
            }
            let mut expect = f.clone();
            expect.offset = moved(f.offset as usize, &edits) as u64;
            assert!(
                kept.contains(&expect),
                "{label}: untouched frame at byte {} (now {}) lost; edits {edits:?}",
                f.offset,
                expect.offset
            );
            stats.frames_checked += 1;
        }
        // Deep mode: repaired checksums make the mutated payloads reach the decoders.
        let mut deep = bad.clone();
        if fix_checksums(&mut deep) > 0 {
            read_bounded(&format!("{label} (repaired checksums)"), &deep, &mut stats);
        }
    }
    dog.done();
    eprintln!("{stats:?}");
    assert!(
        stats.frames_checked > cases(),
        "the harness checked too few frames: {stats:?}"
    );
}

#[test]
fn checksum_repair_is_the_identity_on_valid_traces() {
    // Proves the harness's CRC is the format's: repairing a valid trace changes nothing.
    for seed in 0..50 {
        let mut rng = Rng::new(seed);
        let t = harness::random_trace(&mut rng);
        let mut bytes = harness::encode(&t, &mut rng);
        assert_eq!(fix_checksums(&mut bytes), 0);
    }
}

#[test]
fn mutated_std_traces_import_what_is_intact_and_name_each_bad_line() {
    let dog = Watchdog::new();
    let (mut ok, mut failed) = (0u64, 0u64);
    for seed in 0..cases() {
        let label = format!("std seed {seed}");
        dog.case(&label, Duration::from_secs(60));
        let mut rng = Rng::new(seed);
        let text = harness::random_std(&mut rng);
        let bad = mutate_text(&mut rng, &text);
        let t0 = Instant::now();
        let (r, peak) = peak_alloc(|| std_text::read(bad.as_bytes(), "m.std"));
        assert!(t0.elapsed() < Duration::from_secs(5), "{label}");
        assert!(peak < 4 * MIB + 64 * bad.len(), "{label}: peak allocation {peak}");
        let lines: Vec<&str> = bad.split('\n').collect();
        let first_line = lines
            .iter()
            .position(|l| !l.trim().is_empty())
            .map(|i| i as u64 + 1);
        match r {
            Ok(t) => {
                ok += 1;
                // Every non-empty line is either an event or a skipped line named in a
                // one-line warning.
                let nonempty = lines.iter().filter(|l| !l.trim().is_empty()).count();
                let named: Vec<u64> = t.warnings.iter().filter_map(|w| w.line()).collect();
                assert_eq!(
                    t.events.len() + named.len(),
                    nonempty,
                    "{label}: {:?}",
                    t.warnings
                );
                for w in &t.warnings {
                    let line = w
                        .line()
                        .unwrap_or_else(|| panic!("{label}: warning without a line: {w}"));
                    assert!(
                        Some(line) > first_line,
                        "{label}: damage on the first line is an error: {w}"
                    );
                    assert!(!w.to_string().contains('\n'), "{label}: multi-line warning {w}");
                }
            }
            Err(e) => {
                failed += 1;
                // Only a bad first line makes the file "not an STD trace".
                let line = e
                    .line()
                    .unwrap_or_else(|| panic!("{label}: error without a line: {e}"));
                assert_eq!(Some(line), first_line, "{label}: {e}");
                assert!(
                    e.to_string().starts_with(&format!("line {line}: ")),
                    "{label}: {e}"
                );
                assert!(!e.to_string().contains('\n'), "{label}: multi-line error {e}");
            }
        }
    }
    dog.done();
    eprintln!("std mutations: {ok} imported, {failed} refused");
    assert!(ok > 0 && failed > 0);
}
