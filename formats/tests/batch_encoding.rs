//! `TraceWriter::write_batch` encodes the event words directly; its payload must stay byte
//! for byte what `rmp_serde` writes for `(task, defs, words)`.

use hb_format::{Def, Header, ObjectKind, TraceWriter};
use proptest::prelude::*;

/// The payload of the first batch frame after the header.
fn batch_payload(task: Option<u32>, defs: &[Def], words: &[u64]) -> Vec<u8> {
    let mut header_only = Vec::new();
    TraceWriter::new(&mut header_only, &Header::new("t")).unwrap();
    let mut out = Vec::new();
    let mut w = TraceWriter::new(&mut out, &Header::new("t")).unwrap();
    w.write_batch(task, defs, words).unwrap();
    drop(w);
    let frame = &out[header_only.len()..];
    let len = u32::from_le_bytes(frame[4..8].try_into().unwrap()) as usize;
    frame[12..12 + len].to_vec()
}

fn word() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..200, 0u64..70_000, 0u64..5_000_000_000, any::<u64>()]
}

proptest! {
    #[test]
    fn words_encode_like_rmp_serde(
        task in proptest::option::of(any::<u32>()),
        words in proptest::collection::vec(word(), 0..300usize),
        with_def in any::<bool>(),
    ) {
        let words = if task.is_none() { Vec::new() } else { words };
        let defs: Vec<Def> = if with_def {
            vec![Def::Object { id: 7, kind: ObjectKind::Mutex, name: Some(1), loc: None }]
        } else {
            Vec::new()
        };
        let expected = rmp_serde::to_vec(&(task, &defs, &words)).unwrap();
        prop_assert_eq!(batch_payload(task, &defs, &words), expected);
    }
}

proptest! {
    /// Mostly one-byte words, as in real traces: runs of 8 small words take a fast path.
    #[test]
    fn small_words_encode_like_rmp_serde(
        words in proptest::collection::vec(prop_oneof![20 => 0u64..128, 1 => 128u64..300, 1 => any::<u64>()], 0..300usize),
    ) {
        let expected = rmp_serde::to_vec(&(Some(1u32), Vec::<Def>::new(), &words)).unwrap();
        prop_assert_eq!(batch_payload(Some(1), &[], &words), expected);
    }
}

#[test]
fn array_header_boundaries() {
    for n in [0usize, 15, 16, 65_535, 65_536] {
        let words: Vec<u64> = (0..n as u64).map(|i| i * 131).collect();
        let expected = rmp_serde::to_vec(&(Some(3u32), Vec::<Def>::new(), &words)).unwrap();
        assert_eq!(batch_payload(Some(3), &[], &words), expected, "{n} words");
    }
}
