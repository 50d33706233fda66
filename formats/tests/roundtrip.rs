//! Property tests of the codecs: round trips, truncation and corruption.

use hb_format::{
    std_text, Def, ErrorKind, Event, EventKind, Header, MemOrder, ObjectKind, RecvResult, Trace, TraceReader,
};
use proptest::prelude::*;

fn order() -> impl Strategy<Value = MemOrder> {
    prop_oneof![
        Just(MemOrder::Relaxed),
        Just(MemOrder::Release),
        Just(MemOrder::Acquire),
        Just(MemOrder::AcqRel),
        Just(MemOrder::SeqCst),
    ]
}

/// Any event kind, with operands drawn from small and huge ranges alike.
fn kind() -> impl Strategy<Value = EventKind> {
    use EventKind::*;
    let obj = prop_oneof![0u64..20, any::<u64>()];
    let seq = prop_oneof![0u64..50, any::<u64>()];
    let task = any::<u32>();
    prop_oneof![
        task.prop_map(|child| TaskSpawn { child }),
        Just(TaskStart),
        Just(TaskEnd),
        task.prop_map(|child| TaskJoin { child }),
        obj.clone().prop_map(|lock| LockRequest { lock }),
        (obj.clone(), seq.clone()).prop_map(|(mutex, seq)| MutexLock { mutex, seq }),
        (obj.clone(), seq.clone()).prop_map(|(mutex, seq)| MutexUnlock { mutex, seq }),
        obj.clone().prop_map(|mutex| MutexTryLockFailed { mutex }),
        (obj.clone(), seq.clone()).prop_map(|(lock, seq)| RwReadLock { lock, seq }),
        (obj.clone(), seq.clone()).prop_map(|(lock, seq)| RwReadUnlock { lock, seq }),
        (obj.clone(), seq.clone()).prop_map(|(lock, seq)| RwWriteLock { lock, seq }),
        (obj.clone(), seq.clone()).prop_map(|(lock, seq)| RwWriteUnlock { lock, seq }),
        (obj.clone(), obj.clone()).prop_map(|(condvar, mutex)| CondvarWaitBegin { condvar, mutex }),
        (obj.clone(), obj.clone(), any::<bool>()).prop_map(|(condvar, mutex, timed_out)| CondvarWaitEnd {
            condvar,
            mutex,
            timed_out
        }),
        obj.clone().prop_map(|condvar| CondvarNotifyOne { condvar }),
        obj.clone().prop_map(|condvar| CondvarNotifyAll { condvar }),
        obj.clone().prop_map(|chan| ChanMake { chan }),
        (obj.clone(), seq.clone()).prop_map(|(chan, seq)| ChanSendBegin { chan, seq }),
        (obj.clone(), seq.clone()).prop_map(|(chan, seq)| ChanSendEnd { chan, seq }),
        (obj.clone(), seq.clone()).prop_map(|(chan, seq)| ChanRecv {
            chan,
            result: RecvResult::Value { seq }
        }),
        (obj.clone(), seq.clone()).prop_map(|(chan, closes)| ChanRecv {
            chan,
            result: RecvResult::Closed { closes }
        }),
        (obj.clone(), seq.clone()).prop_map(|(chan, seq)| ChanClose { chan, seq }),
        obj.clone().prop_map(|once| OnceBegin { once }),
        obj.clone().prop_map(|once| OnceEnd { once }),
        obj.clone().prop_map(|once| OnceAlreadyDone { once }),
        (obj.clone(), any::<i64>()).prop_map(|(wg, delta)| WaitGroupAdd { wg, delta }),
        (obj.clone(), seq.clone(), any::<bool>()).prop_map(|(wg, seq, zero)| WaitGroupDone { wg, seq, zero }),
        (obj.clone(), seq.clone()).prop_map(|(wg, seq)| WaitGroupWait { wg, seq }),
        (obj.clone(), seq.clone(), any::<bool>()).prop_map(|(barrier, seq, last)| BarrierArrive {
            barrier,
            seq,
            last
        }),
        (obj.clone(), seq.clone()).prop_map(|(barrier, seq)| BarrierLeave { barrier, seq }),
        (obj.clone(), order(), seq.clone()).prop_map(|(atomic, order, version)| AtomicLoad {
            atomic,
            order,
            version
        }),
        (obj.clone(), order(), seq.clone()).prop_map(|(atomic, order, version)| AtomicStore {
            atomic,
            order,
            version
        }),
        (obj.clone(), order(), seq.clone()).prop_map(|(atomic, order, version)| AtomicRmw {
            atomic,
            order,
            version
        }),
        obj.clone().prop_map(|var| VarRead { var }),
        obj.clone().prop_map(|var| VarWrite { var }),
        (any::<u32>(), any::<u64>()).prop_map(|(name, span)| SpanEnter { name, span }),
        any::<u64>().prop_map(|span| SpanExit { span }),
        any::<u32>().prop_map(|message| UserEvent { message }),
        any::<u64>().prop_map(|nanos| Sleep { nanos }),
        Just(Yield),
    ]
}

/// A trace of up to 4 tasks whose events have non-decreasing or arbitrary timestamps.
fn trace() -> impl Strategy<Value = Trace> {
    let event = (
        0u32..4,
        prop_oneof![0u64..1000, any::<u64>()],
        proptest::option::of(0u32..100),
        kind(),
    );
    (proptest::collection::vec(event, 0..200), 1usize..50).prop_map(|(events, _)| {
        let mut t = Trace::new(Header::new("prop"));
        t.define(Def::str(0, "src/main.rs"));
        t.define(Def::Loc {
            id: 3,
            file: 0,
            line: 10,
            column: 5,
            function: Some(0),
        });
        t.define(Def::Task {
            id: 1,
            name: Some(0),
            parent: Some(0),
        });
        t.define(Def::Object {
            id: 7,
            kind: ObjectKind::Channel { capacity: Some(2) },
            name: None,
            loc: Some(3),
        });
        t.events = events
            .into_iter()
            .map(|(task, ts, loc, kind)| Event { task, ts, loc, kind })
            .collect();
        t
    })
}

fn encode(t: &Trace, batch: usize) -> Vec<u8> {
    t.write_binary(Vec::new(), batch).unwrap()
}

/// Events grouped by task, each group in program order: what a reader must preserve.
fn per_task(events: &[Event]) -> std::collections::BTreeMap<u32, Vec<Event>> {
    let mut m = std::collections::BTreeMap::<u32, Vec<Event>>::new();
    for e in events {
        m.entry(e.task).or_default().push(*e);
    }
    m
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn binary_round_trip(t in trace(), batch in 1usize..64) {
        let bytes = encode(&t, batch);
        let back = Trace::read_binary(&bytes[..]).unwrap();
        prop_assert!(back.warnings.is_empty(), "{:?}", back.warnings);
        prop_assert_eq!(&back.header, &t.header);
        prop_assert_eq!(&back.defs, &t.defs);
        prop_assert_eq!(per_task(&back.events), per_task(&t.events));
    }

    #[test]
    fn truncation_keeps_complete_frames(t in trace(), cut in any::<prop::sample::Index>()) {
        let bytes = encode(&t, 8);
        let cut = cut.index(bytes.len());
        match TraceReader::new(&bytes[..cut]) {
            Err(e) => {
                // Only a cut inside the magic or header frame may fail, and it says so.
                prop_assert!(matches!(e.kind(), ErrorKind::Truncated { .. } | ErrorKind::Empty), "{e}");
                prop_assert_eq!(e.offset(), Some(if cut < 8 { 0 } else { 8 }));
            }
            Ok(reader) => {
                let mut frames = Vec::new();
                let mut errors = Vec::new();
                for f in reader {
                    match f { Ok(f) => frames.push(f), Err(e) => errors.push(e) }
                }
                // Every complete frame is kept, and whatever follows the last one is one
                // truncation error at the offset where it starts.
                let full = TraceReader::new(&bytes[..]).unwrap().map(|f| f.unwrap()).collect::<Vec<_>>();
                let complete: Vec<_> = full.iter().filter(|f| {
                    let next = full.iter().map(|g| g.offset).find(|&o| o > f.offset).unwrap_or(bytes.len() as u64);
                    next as usize <= cut
                }).cloned().collect();
                prop_assert_eq!(&frames, &complete);
                let end = complete.last().map(|f| {
                    full.iter().map(|g| g.offset).find(|&o| o > f.offset).unwrap_or(bytes.len() as u64)
                });
                let boundary = end.unwrap_or_else(|| TraceReader::new(&bytes[..]).unwrap().offset());
                if (boundary as usize) < cut {
                    prop_assert_eq!(errors.len(), 1);
                    prop_assert!(matches!(errors[0].kind(), ErrorKind::Truncated { .. }), "{}", errors[0]);
                    prop_assert_eq!(errors[0].offset(), Some(boundary));
                } else {
                    prop_assert!(errors.is_empty());
                }
            }
        }
    }

    #[test]
    fn corruption_never_panics_and_keeps_intact_frames(
        t in trace(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
    ) {
        let bytes = encode(&t, 8);
        let original: Vec<_> = TraceReader::new(&bytes[..]).unwrap().map(|f| f.unwrap()).collect();
        let mut bad = bytes.clone();
        let mut hit = Vec::new();
        for (i, x) in &flips {
            let i = i.index(bad.len());
            bad[i] ^= x;
            hit.push(i);
        }
        if let Ok(reader) = TraceReader::new(&bad[..]) {
            let kept: Vec<_> = reader.filter_map(Result::ok).collect();
            // Every frame whose bytes were not touched survives, at its offset, intact.
            for (k, f) in original.iter().enumerate() {
                let end = original.get(k + 1).map_or(bytes.len(), |g| g.offset as usize);
                if hit.iter().all(|&i| i < f.offset as usize || i >= end) {
                    prop_assert!(kept.contains(f), "untouched frame at byte {} lost", f.offset);
                }
            }
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut input = b"HBTRACE\n".to_vec();
        input.extend(bytes);
        if let Ok(r) = TraceReader::new(&input[..]) {
            for _ in r {}
        }
    }
}

/// A random well-formed STD trace: threads T0..T3, locks L0..L2, variables V0..V3.
fn std_text() -> impl Strategy<Value = String> {
    let op = prop_oneof![
        (0u8..4).prop_map(|v| format!("r(V{v})")),
        (0u8..4).prop_map(|v| format!("w(V{v})")),
        (0u8..3).prop_map(|l| format!("req(L{l})")),
        (0u8..3).prop_map(|l| format!("acq(L{l})")),
        (0u8..3).prop_map(|l| format!("rel(L{l})")),
        (0u8..4).prop_map(|t| format!("fork(T{t})")),
        (0u8..4).prop_map(|t| format!("join(T{t})")),
        Just("begin".to_owned()),
        Just("end".to_owned()),
    ];
    proptest::collection::vec((0u8..4, op, 0u32..40), 0..100).prop_map(|lines| {
        lines
            .into_iter()
            .map(|(t, op, loc)| format!("T{t}|{op}|{loc}\n"))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn std_round_trip(text in std_text()) {
        let t = std_text::read(text.as_bytes(), "p.std").unwrap();
        let mut out = Vec::new();
        let stats = std_text::write(&t, &mut out).unwrap();
        prop_assert_eq!(stats.skipped, 0);
        prop_assert_eq!(String::from_utf8(out).unwrap(), text);
    }

    #[test]
    fn std_through_binary_round_trip(text in std_text()) {
        let t = std_text::read(text.as_bytes(), "p.std").unwrap();
        let back = Trace::read_binary(&encode(&t, 1_000_000)[..]).unwrap();
        let mut out = Vec::new();
        std_text::write(&back, &mut out).unwrap();
        // One batch per task reorders lines across tasks but never within one.
        let lines = |s: &str| {
            let mut m = std::collections::BTreeMap::<String, Vec<String>>::new();
            for l in s.lines() {
                m.entry(l.split('|').next().unwrap().to_owned()).or_default().push(l.to_owned());
            }
            m
        };
        prop_assert_eq!(lines(&String::from_utf8(out).unwrap()), lines(&text));
    }

    #[test]
    fn std_garbage_never_panics(text in "\\PC{0,200}") {
        let _ = std_text::read(text.as_bytes(), "g.std");
    }
}

#[test]
fn std_reentrant_acquires_repeat_the_held_sequence_number() {
    let text = "T0|acq(L)|1\nT0|acq(L)|2\nT0|rel(L)|3\nT0|rel(L)|4\nT1|acq(L)|5\nT1|rel(L)|6\n";
    let t = std_text::read(text.as_bytes(), "r.std").unwrap();
    let seqs: Vec<_> = t
        .events
        .iter()
        .map(|e| match e.kind {
            EventKind::MutexLock { seq, .. } | EventKind::MutexUnlock { seq, .. } => seq,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(seqs, [1, 1, 1, 1, 2, 2]);
}

#[test]
fn std_errors_name_the_line() {
    // A bad first line: not an STD trace at all.
    let e = std_text::read("T0|frobnicate(L)|1\nT0|acq(L)|2\n".as_bytes(), "bad.std").unwrap_err();
    assert_eq!(e.line(), Some(1));
    assert!(e.to_string().contains("unknown operation `frobnicate`"), "{e}");
    let e = std_text::read("T0|acq(L)|x\n".as_bytes(), "bad.std").unwrap_err();
    assert_eq!(e.to_string(), "line 1: location \"x\" is not an integer");
}

#[test]
fn std_damage_after_valid_lines_is_skipped_and_reported() {
    let text = "T0|acq(L)|1\nT0|frobnicate(L)|2\nT1|w(x)|3\nT1|w(|4\nT0|rel(L)|5\n";
    let t = std_text::read(text.as_bytes(), "bad.std").unwrap();
    assert_eq!(t.events.len(), 3);
    let warnings: Vec<_> = t.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(
        warnings,
        [
            "line 2: unknown operation `frobnicate` (expected r, w, acq, rel, req, fork, join, begin or end)",
            "line 4: operation \"w(\" has no closing parenthesis",
        ]
    );
    // A rejected line leaves nothing behind: T1 is defined once, by line 3.
    assert_eq!(t.symbols.tasks().count(), 2);
}

#[test]
fn std_many_bad_lines_are_counted_not_listed() {
    let mut text = String::from("T0|w(x)|1\n");
    for _ in 0..(std_text::MAX_LINE_WARNINGS + 5) {
        text.push_str("garbage\n");
    }
    let t = std_text::read(text.as_bytes(), "bad.std").unwrap();
    assert_eq!(t.events.len(), 1);
    assert_eq!(t.warnings.len() as u64, std_text::MAX_LINE_WARNINGS + 1);
    assert_eq!(
        t.warnings.last().unwrap().to_string(),
        "5 more malformed lines skipped"
    );
}

#[test]
fn std_imports_every_research_benchmark() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/benchmarks/deadlock/std");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        panic!("benchmark traces missing at {}", dir.display());
    };
    let mut n = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let t = Trace::open(&path).unwrap();
        assert_eq!(
            t.events.len(),
            text.lines().filter(|l| !l.trim().is_empty()).count()
        );
        let mut out = Vec::new();
        std_text::write(&t, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap().lines().collect::<Vec<_>>(),
            text.lines().collect::<Vec<_>>()
        );
        n += 1;
    }
    assert_eq!(n, 11);
}

#[test]
fn unknown_major_version_is_refused() {
    let mut h = Header::new("future");
    h.version_major = 9;
    let mut bytes = Vec::new();
    hb_format::TraceWriter::new(&mut bytes, &h).unwrap();
    let e = TraceReader::new(&bytes[..]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "byte 8: format version 9.0 is not supported (this hb reads 1.x): upgrade hb"
    );
}

#[test]
fn not_a_trace_and_empty_are_clear_errors() {
    let e = TraceReader::new(&b"hello world"[..]).unwrap_err();
    assert!(e.to_string().starts_with("byte 0: not an hb trace"), "{e}");
    let e = TraceReader::new(&b""[..]).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Empty));
}

#[test]
fn damaged_middle_frame_is_skipped_and_reported() {
    let mut t = Trace::new(Header::new("d"));
    t.events = (0..30)
        .map(|i| Event {
            task: 0,
            ts: i,
            loc: None,
            kind: EventKind::VarWrite { var: i },
        })
        .collect();
    let mut bytes = encode(&t, 10);
    let frames: Vec<_> = TraceReader::new(&bytes[..])
        .unwrap()
        .map(|f| f.unwrap())
        .collect();
    assert_eq!(frames.len(), 4); // defs + 3 batches
    let victim = frames[2].offset as usize + 14;
    bytes[victim] ^= 0x55;
    let results: Vec<_> = TraceReader::new(&bytes[..]).unwrap().collect();
    assert_eq!(results.len(), 4);
    let err = results[2].as_ref().unwrap_err();
    assert_eq!(err.offset(), Some(frames[2].offset));
    assert!(err.to_string().contains("checksum mismatch"), "{err}");
    let kept: usize = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|f| f.events.len())
        .sum();
    assert_eq!(kept, 20);
}
