//! The binary container: magic, framing, checksums, streaming reader and writer.
//!
//! ```text
//! file   := MAGIC frame*                  MAGIC = "HBTRACE\n"
//! frame  := 0xF1 0xB7 version:u8 kind:u8 len:u32le crc:u32le payload[len]
//! ```
//! `crc` is the CRC-32 (IEEE) of `version, kind, len` and the payload, so a damaged
//! length is caught too. The first frame has kind 0 and carries the [`Header`]; every
//! later frame has kind 1 and carries a batch: the MessagePack (rmp-serde) encoding of
//! `(task: Option<u32>, defs: [Def], words: [u64])`, where `words` are the events of
//! `task` as described in [`crate::codec`]. A batch with no task carries definitions only.
//!
//! Frames are self-delimiting: a reader streams a trace of any length in memory bounded
//! by the largest frame ([`MAX_FRAME_LEN`]), and after damage it resynchronizes on the
//! next intact frame, reporting the byte offset where the damage starts.

use std::io::{self, Read, Write};

use crate::codec::{
    decode_events, decode_from, object_kind, seq_kind, unzigzag, FrameEncoder, FrameState, Words, MUTEX_LOCK,
    MUTEX_UNLOCK, OBJECT_TAGS, SEQ_TAGS, VAR_READ, VAR_WRITE,
};
use crate::error::{Error, ErrorKind};
use crate::model::{Def, Event, EventKind, Header, TaskId};

/// The 8 bytes every hb trace starts with.
pub const MAGIC: &[u8; 8] = b"HBTRACE\n";
/// The 2 bytes every frame starts with.
pub const FRAME_SYNC: [u8; 2] = [0xF1, 0xB7];
/// Frame format version written by this crate.
pub const FRAME_VERSION: u8 = 1;
/// Frame kind: the trace header.
pub const FRAME_HEADER: u8 = 0;
/// Frame kind: a batch of definitions and one task's events.
pub const FRAME_BATCH: u8 = 1;
/// Largest payload a frame may have; a longer length field is treated as damage, so a
/// corrupted length never makes a reader allocate more than this.
pub const MAX_FRAME_LEN: u32 = 64 << 20;
const FRAME_HEAD_LEN: usize = 12;

/// Writes a trace: the magic and header, then frames.
#[derive(Debug)]
pub struct TraceWriter<W: Write> {
    out: W,
    offset: u64,
    payload: Vec<u8>,
}

impl<W: Write> TraceWriter<W> {
    /// Writes the magic and the header frame to `out`.
    pub fn new(mut out: W, header: &Header) -> io::Result<Self> {
        out.write_all(MAGIC)?;
        let mut w = TraceWriter {
            out,
            offset: MAGIC.len() as u64,
            payload: Vec::new(),
        };
        rmp_serde::encode::write(&mut w.payload, header).map_err(io::Error::other)?;
        w.write_payload(FRAME_HEADER)?;
        Ok(w)
    }

    /// Writes one batch: definitions and the encoded events of `task` (see
    /// [`FrameEncoder`]). With `task` `None`, `words` must be empty.
    pub fn write_batch(&mut self, task: Option<TaskId>, defs: &[Def], words: &[u64]) -> io::Result<()> {
        debug_assert!(task.is_some() || words.is_empty());
        // Byte for byte what `rmp_serde` writes for `(task, defs, words)`, with the event
        // words (the bulk of a trace) encoded directly rather than through serde.
        self.payload.push(0x93);
        rmp_serde::encode::write(&mut self.payload, &task).map_err(io::Error::other)?;
        rmp_serde::encode::write(&mut self.payload, defs).map_err(io::Error::other)?;
        push_uint_array(&mut self.payload, words);
        self.write_payload(FRAME_BATCH)
    }

    /// Encodes and writes events that all belong to `task`.
    pub fn write_events(&mut self, task: TaskId, defs: &[Def], events: &[Event]) -> io::Result<()> {
        let mut enc = FrameEncoder::new();
        for e in events {
            debug_assert_eq!(e.task, task);
            enc.push(e.ts, e.loc, &e.kind);
        }
        let words = enc.take();
        self.write_batch(Some(task), defs, &words)
    }

    fn write_payload(&mut self, kind: u8) -> io::Result<()> {
        let len = u32::try_from(self.payload.len())
            .ok()
            .filter(|&l| l <= MAX_FRAME_LEN)
            .ok_or_else(|| io::Error::other("frame larger than MAX_FRAME_LEN: flush smaller batches"))?;
        let mut head = [0u8; FRAME_HEAD_LEN];
        head[..2].copy_from_slice(&FRAME_SYNC);
        head[2] = FRAME_VERSION;
        head[3] = kind;
        head[4..8].copy_from_slice(&len.to_le_bytes());
        let crc = frame_crc(&head[2..8], &self.payload);
        head[8..12].copy_from_slice(&crc.to_le_bytes());
        self.out.write_all(&head)?;
        self.out.write_all(&self.payload)?;
        self.offset += (FRAME_HEAD_LEN + self.payload.len()) as u64;
        self.payload.clear();
        Ok(())
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.offset
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Appends `words` as a MessagePack array of unsigned integers, each in its smallest form
/// (exactly as `rmp_serde` encodes a `[u64]`).
fn push_uint_array(out: &mut Vec<u8>, words: &[u64]) {
    let n = words.len();
    if n < 16 {
        out.push(0x90 | n as u8);
    } else if n <= u16::MAX as usize {
        out.push(0xdc);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(0xdd);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
    out.reserve(n + n / 2);
    // Encoded a chunk at a time into a stack buffer (at most 9 bytes per word), then
    // appended with one copy: no capacity check per byte. Most words are below 128 (one
    // byte each): a block of 8 such words is narrowed to 8 bytes at once.
    const CHUNK: usize = 64;
    let mut tmp = [0u8; CHUNK * 9];
    for chunk in words.chunks(CHUNK) {
        let mut i = 0;
        let mut blocks = chunk.chunks_exact(8);
        for block in &mut blocks {
            let block: &[u64; 8] = block.try_into().expect("chunks_exact(8)");
            if block.iter().fold(0, |a, &v| a | v) < 0x80 {
                tmp[i..i + 8].copy_from_slice(&block.map(|v| v as u8));
                i += 8;
            } else {
                for &v in block {
                    i += push_uint(&mut tmp[i..], v);
                }
            }
        }
        for &v in blocks.remainder() {
            i += push_uint(&mut tmp[i..], v);
        }
        out.extend_from_slice(&tmp[..i]);
    }
}

/// Writes `v` at the start of `out` (at least 9 bytes) in MessagePack's smallest form for an
/// unsigned integer; returns the bytes written.
#[inline(always)]
fn push_uint(out: &mut [u8], v: u64) -> usize {
    if v < 0x80 {
        out[0] = v as u8;
        1
    } else if v <= 0xff {
        out[0] = 0xcc;
        out[1] = v as u8;
        2
    } else if v <= 0xffff {
        out[0] = 0xcd;
        out[1..3].copy_from_slice(&(v as u16).to_be_bytes());
        3
    } else if v <= 0xffff_ffff {
        out[0] = 0xce;
        out[1..5].copy_from_slice(&(v as u32).to_be_bytes());
        5
    } else {
        out[0] = 0xcf;
        out[1..9].copy_from_slice(&v.to_be_bytes());
        9
    }
}

fn frame_crc(head: &[u8], payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(head);
    h.update(payload);
    h.finalize()
}

/// One decoded batch frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Byte offset of the frame in the file.
    pub offset: u64,
    /// The task whose events these are (`None` for a definitions-only frame).
    pub task: Option<TaskId>,
    /// New definitions.
    pub defs: Vec<Def>,
    /// The events, in the task's program order.
    pub events: Vec<Event>,
}

/// Streams the frames of a binary trace.
///
/// Iterating yields `Ok(frame)` for each intact frame and `Err(error)` for each damaged
/// region (then goes on with the next intact frame), so a caller keeps everything that
/// survived and can say what was lost.
#[derive(Debug)]
pub struct TraceReader<R: Read> {
    src: Source<R>,
    header: Header,
    pending: Option<Error>,
    done: bool,
    /// Scratch buffer reused from frame to frame.
    words: Vec<u64>,
}

impl<R: Read> TraceReader<R> {
    /// Reads the magic and the header frame.
    pub fn new(input: R) -> Result<Self, Error> {
        let mut src = Source::new(input);
        src.fill(MAGIC.len())?;
        let avail = src.available();
        if avail.is_empty() {
            return Err(Error::at(ErrorKind::Empty, 0));
        }
        if avail.len() < MAGIC.len() || &avail[..MAGIC.len()] != MAGIC {
            if MAGIC.starts_with(avail) {
                return Err(Error::at(
                    ErrorKind::Truncated {
                        expected: "the magic number",
                    },
                    0,
                ));
            }
            let n = avail.len().min(MAGIC.len());
            return Err(Error::at(
                ErrorKind::NotATrace {
                    found: String::from_utf8_lossy(&avail[..n]).into_owned(),
                },
                0,
            ));
        }
        src.consume(MAGIC.len());
        let offset = src.offset;
        let header = match read_frame(&mut src)? {
            RawFrame::Ok {
                kind: FRAME_HEADER,
                payload,
            } => rmp_serde::from_slice::<Header>(&src.buf[payload])
                .map_err(|e| Error::at(ErrorKind::BadPayload(format!("header: {e}")), offset))?,
            RawFrame::Ok { kind, .. } => {
                return Err(Error::at(
                    ErrorKind::BadPayload(format!("expected the header frame (kind 0), found kind {kind}")),
                    offset,
                ))
            }
            RawFrame::Unknown { version, .. } => {
                return Err(Error::at(
                    ErrorKind::UnsupportedVersion {
                        major: version as u16,
                        minor: 0,
                    },
                    offset,
                ))
            }
            RawFrame::Eof => {
                return Err(Error::at(
                    ErrorKind::Truncated {
                        expected: "the header frame",
                    },
                    offset,
                ))
            }
        };
        if header.version_major != crate::FORMAT_VERSION_MAJOR {
            return Err(Error::at(
                ErrorKind::UnsupportedVersion {
                    major: header.version_major,
                    minor: header.version_minor,
                },
                offset,
            ));
        }
        Ok(TraceReader {
            src,
            header,
            pending: None,
            done: false,
            words: Vec::new(),
        })
    }

    /// The trace header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.src.offset
    }

    /// Like [`Iterator::next`], but decodes the next frame into `frame`, reusing its
    /// vectors' allocations (all its fields are overwritten when `Some(Ok(()))` is
    /// returned). Yields the same sequence of frames and errors as the iterator.
    pub fn next_into(&mut self, frame: &mut Frame) -> Option<Result<(), Error>> {
        if let Some(e) = self.pending.take() {
            return Some(Err(e));
        }
        if self.done {
            return None;
        }
        let offset = self.src.offset;
        match read_frame(&mut self.src) {
            Ok(RawFrame::Eof) => {
                self.done = true;
                None
            }
            Ok(RawFrame::Ok {
                kind: FRAME_BATCH,
                payload,
            }) => Some(
                decode_batch_into(offset, &self.src.buf[payload], &mut self.words, frame).map(|err| {
                    self.pending = err;
                }),
            ),
            Ok(RawFrame::Ok { kind, payload }) => Some(Err(Error::at(
                ErrorKind::UnknownFrame {
                    version: FRAME_VERSION,
                    kind,
                    len: payload.len() as u32,
                },
                offset,
            ))),
            Ok(RawFrame::Unknown { version, kind, len }) => Some(Err(Error::at(
                ErrorKind::UnknownFrame { version, kind, len },
                offset,
            ))),
            Err(e) => {
                if matches!(e.kind(), ErrorKind::Truncated { .. } | ErrorKind::Io(_)) {
                    self.done = true;
                }
                Some(Err(e))
            }
        }
    }
}

impl<R: Read> Iterator for TraceReader<R> {
    type Item = Result<Frame, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut frame = Frame {
            offset: 0,
            task: None,
            defs: Vec::new(),
            events: Vec::new(),
        };
        self.next_into(&mut frame).map(|r| r.map(|()| frame))
    }
}

/// Reads a MessagePack unsigned integer (positive fixint, uint 8/16/32/64) at `*pos`.
#[inline(always)]
fn mp_uint(p: &[u8], pos: &mut usize) -> Option<u64> {
    let i = *pos;
    let m = *p.get(i)?;
    let (v, n) = match m {
        0x00..=0x7f => (m as u64, 1),
        0xcc => (*p.get(i + 1)? as u64, 2),
        0xcd => (
            u16::from_be_bytes(p.get(i + 1..i + 3)?.try_into().ok()?) as u64,
            3,
        ),
        0xce => (
            u32::from_be_bytes(p.get(i + 1..i + 5)?.try_into().ok()?) as u64,
            5,
        ),
        0xcf => (u64::from_be_bytes(p.get(i + 1..i + 9)?.try_into().ok()?), 9),
        _ => return None,
    };
    *pos = i + n;
    Some(v)
}

/// Reads a MessagePack array length (fixarray, array 16/32) at `*pos`.
#[inline]
fn mp_array_len(p: &[u8], pos: &mut usize) -> Option<usize> {
    let i = *pos;
    let m = *p.get(i)?;
    let (len, n) = match m {
        0x90..=0x9f => ((m & 0x0f) as usize, 1),
        0xdc => (
            u16::from_be_bytes(p.get(i + 1..i + 3)?.try_into().ok()?) as usize,
            3,
        ),
        0xdd => (
            u32::from_be_bytes(p.get(i + 1..i + 5)?.try_into().ok()?) as usize,
            5,
        ),
        _ => return None,
    };
    *pos = i + n;
    Some(len)
}

/// The common shape of a batch payload, parsed straight from the MessagePack bytes: a task
/// (nil or an unsigned integer), no definitions, and the event words, which go to `words`.
/// Returns `None` for anything else (definitions, unusual encodings, damage, trailing
/// bytes): the caller then decodes with rmp-serde, which gives the same value or the error.
fn fast_batch(p: &[u8], words: &mut Vec<u64>) -> Option<Option<TaskId>> {
    let (task, n, mut pos) = fast_head(p)?;
    words.clear();
    words.reserve(n);
    for _ in 0..n {
        words.push(mp_uint(p, &mut pos)?);
    }
    (pos == p.len()).then_some(task)
}

/// Parses the start of a batch payload of the common shape (see [`fast_batch`]): the task,
/// the number of event words and the byte position of the first one.
fn fast_head(p: &[u8]) -> Option<(Option<TaskId>, usize, usize)> {
    let mut pos = 0;
    if *p.first()? != 0x93 {
        return None;
    }
    pos += 1;
    let task = if *p.get(pos)? == 0xc0 {
        pos += 1;
        None
    } else {
        Some(u32::try_from(mp_uint(p, &mut pos)?).ok()?)
    };
    if *p.get(pos)? != 0x90 {
        return None;
    }
    pos += 1;
    let n = mp_array_len(p, &mut pos)?;
    // Every word takes at least one byte: a larger count is damage (and must not allocate).
    if n > p.len() - pos {
        return None;
    }
    Some((task, n, pos))
}

/// Event words read straight from MessagePack bytes; a word that is not an unsigned
/// integer ends the words and sets `bad`.
struct MsgpackWords<'a> {
    bytes: &'a [u8],
    at: usize,
    read: usize,
    count: usize,
    bad: bool,
}

impl Words for MsgpackWords<'_> {
    #[inline(always)]
    fn next_word(&mut self) -> Option<u64> {
        if self.read >= self.count {
            return None;
        }
        // Positive fixints (below 128) are by far the most common words.
        if let Some(&b) = self.bytes.get(self.at) {
            if b < 0x80 {
                self.at += 1;
                self.read += 1;
                return Some(b as u64);
            }
        }
        match mp_uint(self.bytes, &mut self.at) {
            Some(w) => {
                self.read += 1;
                Some(w)
            }
            None => {
                self.bad = true;
                self.count = self.read;
                None
            }
        }
    }

    #[inline(always)]
    fn pos(&self) -> usize {
        self.read
    }

    #[inline(always)]
    fn at_end(&self) -> bool {
        self.read >= self.count
    }

    /// Reads eight bytes at a time: an event with a tag of [`OBJECT_TAGS`] or [`SEQ_TAGS`]
    /// whose tag, timestamp delta and location are positive fixints (one byte each), whose
    /// object id is a fixint, a uint 8 or a uint 16, and (for [`SEQ_TAGS`]) whose sequence
    /// delta is a fixint lies within them, and is decoded with shifts, masks and table
    /// lookups instead of a MessagePack parse per word. Anything else (and the last events
    /// of a frame, closer than eight bytes to its end) is left to the general decoder.
    #[inline(always)]
    fn common_events(&mut self, task: TaskId, state: &mut FrameState, out: &mut Vec<Event>) {
        // In traces of mixed events, the general decoder calls this before most events it
        // reads: a look at the next tag spares it the loop's setup when that event is not
        // of a common shape anyway.
        if let Some(&tag) = self.bytes.get(self.at) {
            if tag < 64 && (OBJECT_TAGS | SEQ_TAGS) & 1 << tag != 0 {
                self.common_events_loop(task, state, out);
            }
        }
    }
}

impl MsgpackWords<'_> {
    /// The loop of [`MsgpackWords::common_events`].
    ///
    /// Not inlined: on its own, the loop keeps its state in registers (inlined into the
    /// general decoder, it spilled to the stack).
    #[inline(never)]
    fn common_events_loop(&mut self, task: TaskId, state: &mut FrameState, out: &mut Vec<Event>) {
        let bytes = self.bytes;
        // The bytes from the next event on, the words left, the timestamp so far.
        let mut rest = &bytes[self.at.min(bytes.len())..];
        let mut left = self.count - self.read;
        let mut ts = state.ts;
        loop {
            // An event of the fast path takes at most five words: `room` events fit in the
            // words left, so the loop below needs no check of `left`. At most `BLOCK` events
            // at a time: damage that claims many words never reserves much.
            let room = (left / 5).min(BLOCK);
            if room == 0 {
                break;
            }
            out.reserve(room);
            let mut written = 0;
            let mut stopped = false;
            for slot in &mut out.spare_capacity_mut()[..room] {
                let Some(head) = rest.first_chunk::<8>() else {
                    stopped = true;
                    break;
                };
                let c = u64::from_le_bytes(*head);
                let Some((kind, len, words)) = common_kind(c, state) else {
                    stopped = true;
                    break;
                };
                rest = &rest[len..];
                left -= words;
                ts = ts.wrapping_add(FIXINT_STEP[(c >> 8) as usize & 0x7f]);
                slot.write(Event {
                    task,
                    ts,
                    loc: FIXINT_LOC[(c >> 16) as usize & 0x7f],
                    kind,
                });
                written += 1;
            }
            // SAFETY: the loop initialized the first `written` elements of the spare
            // capacity, the ones right after the vector's length.
            unsafe { out.set_len(out.len() + written) };
            if stopped {
                break;
            }
        }
        self.at = bytes.len() - rest.len();
        self.read = self.count - left;
        state.ts = ts;
    }
}

/// The timestamp step that each one-byte (positive fixint) delta word gives: a table
/// lookup instead of the zigzag decoding's shifts in [`MsgpackWords::common_events`].
static FIXINT_STEP: [u64; 128] = {
    let mut t = [0; 128];
    let mut i = 0;
    while i < 128 {
        t[i] = unzigzag(i as u64) as u64;
        i += 1;
    }
    t
};

/// The location that each one-byte (positive fixint) location word gives (0 for none,
/// else the id plus one), looked up in [`MsgpackWords::common_events`].
static FIXINT_LOC: [Option<u32>; 128] = {
    let mut t = [None; 128];
    let mut i = 1;
    while i < 128 {
        t[i] = Some(i as u32 - 1);
        i += 1;
    }
    t
};

/// The kind of the event of a common shape (a tag of [`OBJECT_TAGS`] or [`SEQ_TAGS`]) at
/// the start of the bytes `c` (the next eight, little-endian), its length in bytes and in
/// words; `None` when it is not of a common shape, or not in the short encoding
/// [`MsgpackWords::common_events`] takes. Its timestamp delta and location are bytes 1
/// and 2 of `c` (positive fixints).
#[inline(always)]
fn common_kind(c: u64, state: &mut FrameState) -> Option<(EventKind, usize, usize)> {
    // Tag, timestamp delta and location: one byte each.
    if c & 0x0080_8080 != 0 {
        return None;
    }
    let tag = c & 0xff;
    // The object id: a uint 16, a fixint or a uint 8.
    let b = (c >> 24) & 0xff;
    let (obj, len) = if b == 0xcd {
        (u16::from_be_bytes([(c >> 32) as u8, (c >> 40) as u8]) as u64, 6)
    } else if b < 0x80 {
        (b, 4)
    } else if b == 0xcc {
        ((c >> 32) & 0xff, 5)
    } else {
        return None;
    };
    // The sequence number of a kind of `SEQ_TAGS`, from its delta: byte `len` (at most 6),
    // a fixint.
    let seq = |state: &mut FrameState| {
        let delta = (c >> (8 * len)) as usize & 0xff;
        (delta < 0x80).then(|| state.seq_step(obj, FIXINT_STEP[delta]))
    };
    // The most common kinds first, with their own code (a jump through the general
    // tables below costs a tenth more instructions on traces of just these).
    if tag | 1 == VAR_WRITE {
        // An access: read or write, chosen without a branch (both kinds have the same
        // layout, and in a random mix of both a branch is often mispredicted).
        let kind = if tag == VAR_READ {
            EventKind::VarRead { var: obj }
        } else {
            EventKind::VarWrite { var: obj }
        };
        return Some((kind, len, 4));
    }
    Some(match tag {
        MUTEX_LOCK | MUTEX_UNLOCK => {
            let seq = seq(state)?;
            let kind = if tag == MUTEX_LOCK {
                EventKind::MutexLock { mutex: obj, seq }
            } else {
                EventKind::MutexUnlock { mutex: obj, seq }
            };
            (kind, len + 1, 5)
        }
        _ if tag < 64 && OBJECT_TAGS & 1 << tag != 0 => (object_kind(tag, obj)?, len, 4),
        _ if tag < 64 && SEQ_TAGS & 1 << tag != 0 => (seq_kind(tag, obj, seq(state)?)?, len + 1, 5),
        _ => return None,
    })
}

/// The most events [`MsgpackWords::common_events`] reserves room for at a time.
const BLOCK: usize = 1024;

/// Decodes a batch of the common shape (see [`fast_batch`]) straight from its bytes into
/// `events`, without an intermediate word list. Returns the task, or `None` (with
/// `events` restored) when the payload is not of that shape or does not decode cleanly:
/// the caller then takes the general path, which gives the same frame or error.
fn fast_decode(p: &[u8], events: &mut Vec<Event>) -> Option<Option<TaskId>> {
    let (task, count, at) = fast_head(p)?;
    let task_id = task?;
    let before = events.len();
    let src = MsgpackWords {
        bytes: p,
        at,
        read: 0,
        count,
        bad: false,
    };
    let (r, src) = decode_from(task_id, src, events);
    if r.is_err() || src.bad || src.at != p.len() {
        events.truncate(before);
        return None;
    }
    Some(task)
}

/// Decodes a batch payload into `frame` (its vectors are cleared first and reused), with
/// `words` as scratch space. A payload that decodes partly gives the events before the
/// problem, plus the error.
fn decode_batch_into(
    offset: u64,
    payload: &[u8],
    words: &mut Vec<u64>,
    frame: &mut Frame,
) -> Result<Option<Error>, Error> {
    frame.offset = offset;
    frame.defs.clear();
    frame.events.clear();
    if let Some(task) = fast_decode(payload, &mut frame.events) {
        frame.task = task;
        return Ok(None);
    }
    let task = match fast_batch(payload, words) {
        Some(task) => task,
        None => {
            let (task, defs, w): (Option<TaskId>, Vec<Def>, Vec<u64>) = rmp_serde::from_slice(payload)
                .map_err(|e| Error::at(ErrorKind::BadPayload(format!("batch: {e}")), offset))?;
            frame.defs = defs;
            *words = w;
            task
        }
    };
    frame.task = task;
    let events = &mut frame.events;
    let mut err = None;
    match task {
        Some(task) => {
            if let Err(e) = decode_events(task, words, events) {
                err = Some(Error::at(
                    ErrorKind::BadPayload(format!(
                        "event word {} of task {task}: {}; {} events before it kept",
                        e.word,
                        e.what,
                        events.len()
                    )),
                    offset,
                ));
            }
        }
        None if !words.is_empty() => {
            err = Some(Error::at(
                ErrorKind::BadPayload(format!(
                    "{} event words in a frame without a task, ignored",
                    words.len()
                )),
                offset,
            ));
        }
        None => {}
    }
    Ok(err)
}

enum RawFrame {
    /// An intact frame of a known version; its payload is `payload` in the source's buffer
    /// (already consumed: valid until the next read from the source).
    Ok {
        kind: u8,
        payload: std::ops::Range<usize>,
    },
    Unknown {
        version: u8,
        kind: u8,
        len: u32,
    },
    Eof,
}

/// Reads one frame at the current position (its payload stays in the source's buffer). On
/// damage, skips to the next intact frame and returns the error describing the damaged range.
fn read_frame<R: Read>(src: &mut Source<R>) -> Result<RawFrame, Error> {
    let start = src.offset;
    src.fill(FRAME_HEAD_LEN)?;
    let avail = src.available();
    if avail.is_empty() {
        return Ok(RawFrame::Eof);
    }
    if avail.len() < FRAME_HEAD_LEN {
        if avail.len() < 2 || avail[..2] == FRAME_SYNC {
            let n = avail.len();
            src.consume(n);
            return Err(Error::at(
                ErrorKind::Truncated {
                    expected: "a frame header",
                },
                start,
            ));
        }
        return Err(resync(src, start, "the bytes are not a frame header".into()));
    }
    let head: [u8; FRAME_HEAD_LEN] = avail[..FRAME_HEAD_LEN].try_into().expect("length checked");
    if head[..2] != FRAME_SYNC {
        return Err(resync(
            src,
            start,
            format!("expected a frame start, found {:#04x} {:#04x}", head[0], head[1]),
        ));
    }
    let (version, kind) = (head[2], head[3]);
    let len = u32::from_le_bytes(head[4..8].try_into().expect("4 bytes"));
    let stored = u32::from_le_bytes(head[8..12].try_into().expect("4 bytes"));
    if len > MAX_FRAME_LEN {
        return Err(resync(
            src,
            start,
            format!("frame length {len} exceeds the maximum {MAX_FRAME_LEN}"),
        ));
    }
    let total = FRAME_HEAD_LEN + len as usize;
    src.fill(total)?;
    let avail = src.available();
    if avail.len() < total {
        let n = avail.len();
        // A frame cut short by the end of the file: the writer was killed mid-frame.
        if n > FRAME_HEAD_LEN && holds_intact_frame(&avail[1..]) {
            return Err(resync(src, start, "frame cut short by the next frame".into()));
        }
        src.consume(n);
        return Err(Error::at(ErrorKind::Truncated { expected: "a frame" }, start));
    }
    let computed = frame_crc(&head[2..8], &avail[FRAME_HEAD_LEN..total]);
    if computed != stored {
        return Err(resync(
            src,
            start,
            ErrorKind::BadChecksum { stored, computed }.to_string(),
        ));
    }
    let payload = src.pos + FRAME_HEAD_LEN..src.pos + total;
    src.consume(total);
    if version != FRAME_VERSION || kind > FRAME_BATCH {
        return Ok(RawFrame::Unknown { version, kind, len });
    }
    Ok(RawFrame::Ok { kind, payload })
}

/// Skips from `start` to the next intact frame (or the end of input) and describes the
/// skipped range.
fn resync<R: Read>(src: &mut Source<R>, start: u64, what: String) -> Error {
    src.consume(1);
    let mut skipped = 1u64;
    loop {
        // At most one maximal frame is buffered, so memory stays bounded.
        if src.fill(FRAME_HEAD_LEN + MAX_FRAME_LEN as usize).is_err() {
            break;
        }
        let avail = src.available();
        if avail.is_empty() {
            break;
        }
        let n = match scan(avail) {
            Scan::Found(at) => {
                src.consume(at);
                skipped += at as u64;
                break;
            }
            // A plausible frame start whose end is not buffered yet: buffer from there.
            Scan::Partial(at) if at > 0 => at,
            // A plausible start at 0 that cannot complete: the input ends inside it.
            Scan::Partial(_) => 1,
            Scan::None if src.at_eof() => avail.len(),
            // Keep the last bytes: a frame start may straddle the buffer end.
            Scan::None => avail.len().saturating_sub(FRAME_HEAD_LEN - 1).max(1),
        };
        src.consume(n);
        skipped += n as u64;
    }
    Error::at(ErrorKind::Damaged { what, skipped }, start)
}

enum Scan {
    Found(usize),
    Partial(usize),
    None,
}

/// Finds the first intact frame in `buf` (whole frame present, checksum right), or the
/// first plausible frame start that runs past the end of `buf`.
fn scan(buf: &[u8]) -> Scan {
    let mut i = 0;
    while i + FRAME_HEAD_LEN <= buf.len() {
        if buf[i..i + 2] == FRAME_SYNC {
            let len = u32::from_le_bytes(buf[i + 4..i + 8].try_into().expect("4 bytes"));
            let stored = u32::from_le_bytes(buf[i + 8..i + 12].try_into().expect("4 bytes"));
            let end = i + FRAME_HEAD_LEN + len as usize;
            if len <= MAX_FRAME_LEN {
                if end > buf.len() {
                    return Scan::Partial(i);
                }
                if frame_crc(&buf[i + 2..i + 8], &buf[i + FRAME_HEAD_LEN..end]) == stored {
                    return Scan::Found(i);
                }
            }
        }
        i += 1;
    }
    Scan::None
}

/// Whether `buf` holds an intact frame anywhere: unlike [`scan`], plausible frame starts
/// that run past the end of `buf` do not stop the search.
fn holds_intact_frame(buf: &[u8]) -> bool {
    let mut from = 0;
    loop {
        match scan(&buf[from..]) {
            Scan::Found(_) => return true,
            Scan::Partial(at) => from += at + 1,
            Scan::None => return false,
        }
    }
}

/// A growable read buffer over a `Read`, tracking the absolute offset. The input is read
/// straight into the buffer (no intermediate chunk), and frames are decoded from it in
/// place.
#[derive(Debug)]
struct Source<R> {
    input: R,
    /// Initialized once and reused; the unconsumed bytes are `buf[pos..end]`.
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    offset: u64,
    eof: bool,
}

/// The least room [`Source::fill`] reads into beyond the bytes asked for.
const READ_CHUNK: usize = 64 * 1024;

impl<R: Read> Source<R> {
    fn new(input: R) -> Self {
        Source {
            input,
            buf: Vec::new(),
            pos: 0,
            end: 0,
            offset: 0,
            eof: false,
        }
    }

    fn available(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    fn at_eof(&self) -> bool {
        self.eof
    }

    fn consume(&mut self, n: usize) {
        self.pos += n;
        self.offset += n as u64;
    }

    /// Makes at least `n` bytes available unless the input ends first.
    fn fill(&mut self, n: usize) -> Result<(), Error> {
        if self.end - self.pos >= n || self.eof {
            return Ok(());
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        while self.end < n {
            // Room for one chunk beyond the data: the buffer grows only with data that
            // arrived (at most one maximal frame plus one chunk), not with what a frame
            // head claims.
            if self.buf.len() < self.end + READ_CHUNK {
                self.buf.resize(self.end + READ_CHUNK, 0);
            }
            match self.input.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::at(ErrorKind::Io(e), self.offset)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn serde_batch(p: &[u8]) -> Option<(Option<TaskId>, Vec<u64>)> {
        let (task, defs, words): (Option<TaskId>, Vec<Def>, Vec<u64>) = rmp_serde::from_slice(p).ok()?;
        defs.is_empty().then_some((task, words))
    }

    /// The task, definitions and words of a batch, as rmp-serde decodes them.
    #[allow(clippy::type_complexity)]
    fn serde_batch_words(p: &[u8]) -> Result<(Option<TaskId>, Vec<Def>, Vec<u64>), String> {
        rmp_serde::from_slice(p).map_err(|e| e.to_string())
    }

    /// The general path alone: rmp-serde, then the word decoder without fast path.
    fn reference(p: &[u8]) -> Result<(Option<TaskId>, Vec<Event>, bool), String> {
        let (task, events, err) = reference_error(p)?;
        Ok((task, events, err.is_some()))
    }

    /// Like [`reference`], with the event decoder's error.
    #[allow(clippy::type_complexity)]
    fn reference_error(p: &[u8]) -> Result<(Option<TaskId>, Vec<Event>, Option<String>), String> {
        let (task, _defs, words) = serde_batch_words(p)?;
        let mut events = Vec::new();
        let err = match task {
            Some(t) => crate::codec::decode_events_general(t, &words, &mut events)
                .err()
                .map(|e| format!("event word {} of task {t}: {}", e.word, e.what)),
            None => (!words.is_empty()).then(String::new),
        };
        Ok((task, events, err))
    }

    /// Words that mostly form events of the shapes the fast paths take (accesses, mutex
    /// events, the other tags of `OBJECT_TAGS` and `SEQ_TAGS`), with every word in a range
    /// that MessagePack writes as a positive fixint, a uint 8, a uint 16 or wider, and now
    /// and then another tag or a stray word.
    fn common_words() -> impl Strategy<Value = Vec<u64>> {
        let fast_tags: Vec<u64> = (0..64)
            .filter(|t| (OBJECT_TAGS | SEQ_TAGS) & 1 << t != 0)
            .collect();
        let tag = prop_oneof![
            3 => prop_oneof![Just(32u64), Just(33), Just(5), Just(6)],
            3 => proptest::sample::select(fast_tags),
            1 => 0u64..40,
        ];
        let small = || prop_oneof![4 => 0u64..128, 1 => 128u64..256, 2 => 256u64..70_000, 1 => any::<u64>()];
        let loc = prop_oneof![4 => 0u64..128, 1 => 0u64..1000, 1 => Just(1u64 << 32), 1 => Just(u32::MAX as u64 + 1)];
        let event =
            (tag, small(), loc, small(), small(), 0u8..8).prop_map(|(tag, dt, loc, obj, delta, extra)| {
                let mut w = vec![tag, dt, loc, obj];
                if (tag < 64 && SEQ_TAGS & 1 << tag != 0) || extra == 0 {
                    w.push(delta);
                }
                w
            });
        proptest::collection::vec(event, 0..60).prop_map(|ws| ws.concat())
    }

    proptest! {
        /// Decoding events straight from the bytes gives the same frame (or failure) as
        /// rmp-serde followed by the word decoder, also on damaged payloads.
        #[test]
        fn fast_decode_agrees_with_the_general_path(
            ops in proptest::collection::vec((0u64..39, any::<u64>(), 0u64..1000, any::<u64>()), 0..30),
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..3),
        ) {
            // Random words that mostly form valid events: tag, dt, loc, then operands.
            let mut words = Vec::new();
            for (tag, dt, loc, op) in &ops {
                words.extend_from_slice(&[*tag, dt % 300, *loc, op % 5, op % 3, *op, 1]);
            }
            let mut p = Vec::new();
            rmp_serde::encode::write(&mut p, &(Some(3u32), &[] as &[Def], &words)).unwrap();
            for (at, b) in flips {
                let n = p.len();
                p[at % n] = b;
            }
            let mut frame = Frame { offset: 0, task: None, defs: Vec::new(), events: Vec::new() };
            let got = decode_batch_into(0, &p, &mut Vec::new(), &mut frame);
            match reference(&p) {
                Err(_) => prop_assert!(got.is_err()),
                Ok((task, events, bad)) => {
                    let err = got.unwrap();
                    prop_assert_eq!(err.is_some(), bad);
                    prop_assert_eq!(frame.task, task);
                    prop_assert_eq!(frame.events, events);
                }
            }
        }

        /// The byte-level fast path of common events gives the same frame, and the same
        /// error with the same events before it, as the general path, also on payloads
        /// cut short or damaged (the words counted by the array header are then not all
        /// there, or not all integers).
        #[test]
        fn common_events_agree_with_the_general_path(
            words in common_words(),
            // Most payloads intact: only those reach the fast path's every event.
            flips in prop_oneof![
                2 => Just(Vec::new()),
                1 => proptest::collection::vec((any::<usize>(), any::<u8>()), 1..3),
            ],
            cut in prop_oneof![2 => Just(0usize), 1 => 1usize..12],
            task in prop_oneof![Just(3u32), any::<u32>()],
        ) {
            let mut p = Vec::new();
            rmp_serde::encode::write(&mut p, &(Some(task), &[] as &[Def], &words)).unwrap();
            for (at, b) in flips {
                let n = p.len();
                p[at % n] = b;
            }
            p.truncate(p.len() - cut.min(p.len()));
            let mut frame = Frame { offset: 0, task: None, defs: Vec::new(), events: Vec::new() };
            // A reused frame: what it held must not show through.
            frame.events.extend(std::iter::repeat_n(Event { task: 9, ts: 9, loc: None, kind: EventKind::TaskStart }, 5));
            let got = decode_batch_into(0, &p, &mut Vec::new(), &mut frame);
            match reference_error(&p) {
                Err(_) => prop_assert!(got.is_err()),
                Ok((task, events, err)) => {
                    let got = got.unwrap();
                    prop_assert_eq!(got.is_some(), err.is_some());
                    if let (Some(got), Some(want)) = (got, err) {
                        prop_assert!(got.to_string().contains(&want), "{} / {}", got, want);
                    }
                    prop_assert_eq!(frame.task, task);
                    prop_assert_eq!(frame.events, events);
                }
            }
            // Without `fast_decode`'s fallback: decoding straight from the bytes gives the
            // same events and the same error (word and message) as the general decoder,
            // unless it met a word it does not read (damage can make one a signed integer,
            // which rmp-serde takes for a word): it then says so, and `fast_decode` leaves
            // the payload to the general path, whose result is checked above.
            if let (Some((Some(task), count, at)), Ok((_, _, words))) = (fast_head(&p), serde_batch_words(&p)) {
                let src = MsgpackWords { bytes: &p, at, read: 0, count, bad: false };
                let mut got = Vec::new();
                let (r, src) = decode_from(task, src, &mut got);
                if src.bad {
                    prop_assert!(fast_decode(&p, &mut Vec::new()).is_none());
                } else {
                    let mut want = Vec::new();
                    let want_r = crate::codec::decode_events_general(task, &words, &mut want);
                    prop_assert_eq!((got, r), (want, want_r));
                }
            }
        }

        /// Whenever the hand-written batch parser accepts a payload, rmp-serde decodes it to
        /// the same value; on well-formed event batches it always accepts.
        #[test]
        fn fast_batch_agrees_with_rmp_serde(
            task in proptest::option::of(any::<u32>()),
            words in proptest::collection::vec(
                prop_oneof![0u64..200, 0u64..70_000, any::<u32>().prop_map(u64::from), any::<u64>()],
                0..40,
            ),
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..3),
            cut in any::<usize>(),
        ) {
            let mut p = Vec::new();
            rmp_serde::encode::write(&mut p, &(task, &[] as &[Def], &words)).unwrap();
            let mut w = Vec::new();
            prop_assert_eq!(fast_batch(&p, &mut w), Some(task));
            prop_assert_eq!(&w, &words);
            for (at, b) in flips {
                let n = p.len();
                p[at % n] = b;
            }
            p.truncate(p.len() - cut % 3);
            if let Some(t) = fast_batch(&p, &mut w) {
                prop_assert_eq!(serde_batch(&p), Some((t, w.clone())));
            }
        }
    }
}
