//! Compact encoding of one frame's events as a flat list of unsigned integers.
//!
//! Each event becomes `tag, dt, loc, operands...` where
//! - `tag` is the [`EventKind`] discriminant (see [`Tag`]),
//! - `dt` is the zigzag-encoded difference to the previous event's timestamp in the same
//!   frame (the first event of a frame is relative to 0),
//! - `loc` is 0 for "no location", otherwise location id + 1,
//! - object ids are written as they are, and sequence-like operands (lock acquisition
//!   numbers, message numbers, atomic versions, ...) as the zigzag difference to the
//!   last sequence-like operand of the same object in this frame, found through a
//!   16-slot direct-mapped cache (`object % 16`) that encoder and decoder keep alike.
//!   A miss encodes the value relative to 0.
//!
//! MessagePack writes each integer in its smallest form (one byte below 128), so a
//! typical event takes four to seven bytes.

use crate::model::{Event, EventKind, MemOrder, ObjectId, RecvResult, TaskId};

const CACHE_SLOTS: usize = 16;

/// The most words one event takes (tag, dt, loc and up to three operands).
const EVENT_WORDS: usize = 6;

/// Zigzag-encodes a signed value so that small magnitudes stay small.
#[inline]
fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Undoes [`zigzag`].
#[inline]
pub(crate) const fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

#[derive(Debug, Clone)]
struct SeqCache {
    slots: [(ObjectId, u64); CACHE_SLOTS],
}

impl SeqCache {
    fn new() -> Self {
        SeqCache {
            slots: [(u64::MAX, 0); CACHE_SLOTS],
        }
    }

    #[inline]
    fn base(&mut self, obj: ObjectId, value: u64) -> u64 {
        let slot = &mut self.slots[(obj as usize) % CACHE_SLOTS];
        let base = if slot.0 == obj { slot.1 } else { 0 };
        *slot = (obj, value);
        base
    }
}

/// Encodes one task's events into the word list of a frame.
///
/// The recorder keeps one per thread and pushes events as they happen; [`FrameEncoder::take`]
/// hands the words to the writer and starts a new frame.
#[derive(Debug, Clone)]
pub struct FrameEncoder {
    /// The frame's words are `words[..pos]`; the rest is zeroed room for the next events
    /// (an event is copied in as a fixed-size block, then `pos` advances by its length).
    words: Vec<u64>,
    pos: usize,
    last_ts: u64,
    events: usize,
    cache: SeqCache,
}

impl Default for FrameEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameEncoder {
    /// A new, empty frame.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// A new, empty frame with room for `words` integers.
    pub fn with_capacity(words: usize) -> Self {
        FrameEncoder {
            words: Vec::with_capacity(words),
            pos: 0,
            last_ts: 0,
            events: 0,
            cache: SeqCache::new(),
        }
    }

    /// Number of events pushed since the frame started.
    pub fn len(&self) -> usize {
        self.events
    }

    /// Whether no event was pushed since the frame started.
    pub fn is_empty(&self) -> bool {
        self.events == 0
    }

    /// Number of integers encoded so far.
    pub fn word_len(&self) -> usize {
        self.pos
    }

    /// Returns the encoded words and starts a new frame (keeping the allocation's capacity
    /// for the next frame is up to the caller: pass a recycled vector to [`Self::restart`]).
    pub fn take(&mut self) -> Vec<u64> {
        let mut words = std::mem::take(&mut self.words);
        words.truncate(self.pos);
        self.restart(Vec::new());
        words
    }

    /// Starts a new frame writing into `buf` (whatever it holds is overwritten; a recycled
    /// buffer that was not cleared is reused without zeroing its room again).
    pub fn restart(&mut self, buf: Vec<u64>) {
        self.words = buf;
        self.pos = 0;
        self.last_ts = 0;
        self.events = 0;
        self.cache = SeqCache::new();
    }

    /// Appends one event (its `task` field is implied by the frame and not written).
    ///
    /// The event's words are assembled in a small array and appended at once (one capacity
    /// check per event, not per word).
    #[inline]
    pub fn push(&mut self, ts: u64, loc: Option<u32>, kind: &EventKind) {
        use EventKind::*;
        let dt = ts.wrapping_sub(self.last_ts) as i64;
        self.last_ts = ts;
        self.events += 1;
        let mut w: [u64; EVENT_WORDS] = [
            Tag::of(kind) as u64,
            zigzag(dt),
            loc.map_or(0, |l| l as u64 + 1),
            0,
            0,
            0,
        ];
        let n = match *kind {
            TaskSpawn { child } | TaskJoin { child } => {
                w[3] = child as u64;
                4
            }
            TaskStart | TaskEnd | Yield => 3,
            LockRequest { lock: o }
            | MutexTryLockFailed { mutex: o }
            | CondvarNotifyOne { condvar: o }
            | CondvarNotifyAll { condvar: o }
            | ChanMake { chan: o }
            | OnceBegin { once: o }
            | OnceEnd { once: o }
            | OnceAlreadyDone { once: o }
            | VarRead { var: o }
            | VarWrite { var: o }
            | SpanExit { span: o }
            | Sleep { nanos: o } => {
                w[3] = o;
                4
            }
            UserEvent { message } => {
                w[3] = message as u64;
                4
            }
            MutexLock { mutex: o, seq }
            | MutexUnlock { mutex: o, seq }
            | RwReadLock { lock: o, seq }
            | RwReadUnlock { lock: o, seq }
            | RwWriteLock { lock: o, seq }
            | RwWriteUnlock { lock: o, seq }
            | ChanSendBegin { chan: o, seq }
            | ChanSendEnd { chan: o, seq }
            | ChanClose { chan: o, seq }
            | WaitGroupWait { wg: o, seq }
            | BarrierLeave { barrier: o, seq } => {
                w[3] = o;
                w[4] = self.seq_delta(o, seq);
                5
            }
            CondvarWaitBegin { condvar, mutex } => {
                w[3] = condvar;
                w[4] = mutex;
                5
            }
            CondvarWaitEnd {
                condvar,
                mutex,
                timed_out,
            } => {
                w[3] = condvar;
                w[4] = mutex;
                w[5] = timed_out as u64;
                6
            }
            ChanRecv { chan, result } => match result {
                RecvResult::Value { seq } => {
                    w[4] = chan;
                    w[5] = self.seq_delta(chan, seq);
                    6
                }
                RecvResult::Closed { closes } => {
                    w[3] = 1;
                    w[4] = chan;
                    w[5] = closes;
                    6
                }
            },
            WaitGroupAdd { wg, delta } => {
                w[3] = wg;
                w[4] = zigzag(delta);
                5
            }
            WaitGroupDone {
                wg: o,
                seq,
                zero: flag,
            }
            | BarrierArrive {
                barrier: o,
                seq,
                last: flag,
            } => {
                w[3] = flag as u64;
                w[4] = o;
                w[5] = self.seq_delta(o, seq);
                6
            }
            AtomicLoad {
                atomic,
                order,
                version,
            }
            | AtomicStore {
                atomic,
                order,
                version,
            }
            | AtomicRmw {
                atomic,
                order,
                version,
            } => {
                w[3] = order.to_code();
                w[4] = atomic;
                w[5] = self.seq_delta(atomic, version);
                6
            }
            SpanEnter { name, span } => {
                w[3] = name as u64;
                w[4] = span;
                5
            }
        };
        // A fixed-size copy into zeroed room, then the cursor moves by the event's length:
        // one bounds check per event and no variable-length copy.
        let pos = self.pos;
        if self.words.len() < pos + EVENT_WORDS {
            self.grow();
        }
        self.words[pos..pos + EVENT_WORDS].copy_from_slice(&w);
        self.pos = pos + n;
    }

    /// Makes room for at least one more event (all of the allocation, at least twice the
    /// words so far).
    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let want = (self.pos + EVENT_WORDS)
            .max(2 * self.words.len())
            .max(self.words.capacity())
            .max(64);
        self.words.resize(want, 0);
    }

    /// The zigzag difference of `value` to the last sequence-like operand of `obj` in this
    /// frame (see the module docs).
    #[inline]
    fn seq_delta(&mut self, obj: ObjectId, value: u64) -> u64 {
        let base = self.cache.base(obj, value);
        zigzag(value.wrapping_sub(base) as i64)
    }
}

/// Why a frame's words could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Index of the word where decoding failed.
    pub word: usize,
    /// What was wrong.
    pub what: String,
}

/// Decodes the words of one frame back into events of task `task`.
///
/// Never panics, whatever the words: malformed input is a [`DecodeError`]. The events
/// decoded before the error are kept in `out`.
pub fn decode_events(task: TaskId, words: &[u64], out: &mut Vec<Event>) -> Result<(), DecodeError> {
    decode_from(task, SliceWords { words, pos: 0 }, out).0
}

/// What a frame's decoder carries from one event to the next: the timestamp so far and the
/// sequence cache (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct FrameState {
    /// Timestamp of the last event decoded (0 before the first).
    pub(crate) ts: u64,
    cache: SeqCache,
}

impl FrameState {
    fn new() -> Self {
        FrameState {
            ts: 0,
            cache: SeqCache::new(),
        }
    }

    /// The sequence number of `obj` that the delta word `delta` gives, remembered as the
    /// base of the next one.
    #[inline(always)]
    pub(crate) fn seq(&mut self, obj: ObjectId, delta: u64) -> u64 {
        self.seq_step(obj, unzigzag(delta) as u64)
    }

    /// Like [`FrameState::seq`], with the delta already decoded (`step` is added to the
    /// previous sequence number, wrapping).
    #[inline(always)]
    pub(crate) fn seq_step(&mut self, obj: ObjectId, step: u64) -> u64 {
        let slot = &mut self.cache.slots[(obj as usize) % CACHE_SLOTS];
        let base = if slot.0 == obj { slot.1 } else { 0 };
        let value = base.wrapping_add(step);
        *slot = (obj, value);
        value
    }
}

/// Tag of [`EventKind::VarRead`], one of the common shapes the fast paths decode.
pub(crate) const VAR_READ: u64 = Tag::VarRead as u64;
/// Tag of [`EventKind::VarWrite`] (a common shape).
pub(crate) const VAR_WRITE: u64 = Tag::VarWrite as u64;
/// Tag of [`EventKind::MutexLock`] (a common shape).
pub(crate) const MUTEX_LOCK: u64 = Tag::MutexLock as u64;
/// Tag of [`EventKind::MutexUnlock`] (a common shape).
pub(crate) const MUTEX_UNLOCK: u64 = Tag::MutexUnlock as u64;

/// The set of `tags` as a bit mask (bit `t` for tag `t`; every tag is below 64).
const fn tag_bits(tags: &[Tag]) -> u64 {
    let mut bits = 0;
    let mut i = 0;
    while i < tags.len() {
        bits |= 1 << tags[i] as u64;
        i += 1;
    }
    bits
}

/// Tags of the events whose words after tag, timestamp delta and location are one
/// object id (or another plain integer): `tag, dt, loc, obj` (see [`object_kind`]).
pub(crate) const OBJECT_TAGS: u64 = tag_bits(&[
    Tag::LockRequest,
    Tag::MutexTryLockFailed,
    Tag::CondvarNotifyOne,
    Tag::CondvarNotifyAll,
    Tag::ChanMake,
    Tag::OnceBegin,
    Tag::OnceEnd,
    Tag::OnceAlreadyDone,
    Tag::VarRead,
    Tag::VarWrite,
    Tag::SpanExit,
    Tag::Sleep,
]);

/// Tags of the events whose words after tag, timestamp delta and location are an object
/// id and the delta of its sequence number: `tag, dt, loc, obj, seq` (see [`seq_kind`]).
pub(crate) const SEQ_TAGS: u64 = tag_bits(&[
    Tag::MutexLock,
    Tag::MutexUnlock,
    Tag::RwReadLock,
    Tag::RwReadUnlock,
    Tag::RwWriteLock,
    Tag::RwWriteUnlock,
    Tag::ChanSendBegin,
    Tag::ChanSendEnd,
    Tag::ChanClose,
    Tag::WaitGroupWait,
    Tag::BarrierLeave,
]);

/// The kind of an event with a tag of [`OBJECT_TAGS`] and its one operand, as the general
/// decoder builds it (`None` for another tag).
#[inline(always)]
pub(crate) fn object_kind(tag: u64, obj: u64) -> Option<EventKind> {
    use EventKind::*;
    Some(match Tag::from_code(tag)? {
        Tag::LockRequest => LockRequest { lock: obj },
        Tag::MutexTryLockFailed => MutexTryLockFailed { mutex: obj },
        Tag::CondvarNotifyOne => CondvarNotifyOne { condvar: obj },
        Tag::CondvarNotifyAll => CondvarNotifyAll { condvar: obj },
        Tag::ChanMake => ChanMake { chan: obj },
        Tag::OnceBegin => OnceBegin { once: obj },
        Tag::OnceEnd => OnceEnd { once: obj },
        Tag::OnceAlreadyDone => OnceAlreadyDone { once: obj },
        Tag::VarRead => VarRead { var: obj },
        Tag::VarWrite => VarWrite { var: obj },
        Tag::SpanExit => SpanExit { span: obj },
        Tag::Sleep => Sleep { nanos: obj },
        _ => return None,
    })
}

/// The kind of an event with a tag of [`SEQ_TAGS`], its object and its sequence number, as
/// the general decoder builds it (`None` for another tag).
#[inline(always)]
pub(crate) fn seq_kind(tag: u64, obj: u64, seq: u64) -> Option<EventKind> {
    use EventKind::*;
    Some(match Tag::from_code(tag)? {
        Tag::MutexLock => MutexLock { mutex: obj, seq },
        Tag::MutexUnlock => MutexUnlock { mutex: obj, seq },
        Tag::RwReadLock => RwReadLock { lock: obj, seq },
        Tag::RwReadUnlock => RwReadUnlock { lock: obj, seq },
        Tag::RwWriteLock => RwWriteLock { lock: obj, seq },
        Tag::RwWriteUnlock => RwWriteUnlock { lock: obj, seq },
        Tag::ChanSendBegin => ChanSendBegin { chan: obj, seq },
        Tag::ChanSendEnd => ChanSendEnd { chan: obj, seq },
        Tag::ChanClose => ChanClose { chan: obj, seq },
        Tag::WaitGroupWait => WaitGroupWait { wg: obj, seq },
        Tag::BarrierLeave => BarrierLeave { barrier: obj, seq },
        _ => return None,
    })
}

/// The timestamp after one with the (zigzag-encoded) delta word `dt`.
#[inline(always)]
pub(crate) fn next_ts(ts: u64, dt: u64) -> u64 {
    ts.wrapping_add(unzigzag(dt) as u64)
}

/// A source of event words, counting them (error positions are word indices).
pub(crate) trait Words {
    /// The next word, or `None` at the end.
    fn next_word(&mut self) -> Option<u64>;
    /// Index of the next word.
    fn pos(&self) -> usize;
    /// Whether every word was read.
    fn at_end(&self) -> bool;
    /// The fast path: decodes the events of common shapes at the front of the words (such
    /// as a plain access: tag [`VAR_READ`] or [`VAR_WRITE`], timestamp delta, location,
    /// variable; or a mutex event: tag [`MUTEX_LOCK`] or [`MUTEX_UNLOCK`], the same three
    /// words and the sequence number's delta; more generally the tags of [`OBJECT_TAGS`]
    /// and [`SEQ_TAGS`]) into `out`, and stops before the first event it does not take
    /// whole, which the general decoder then reads. It may stop early (on any shape or
    /// encoding it does not handle) but must decode exactly what the general decoder
    /// would. The default takes nothing.
    #[inline(always)]
    fn common_events(&mut self, _task: TaskId, _state: &mut FrameState, _out: &mut Vec<Event>) {}
}

struct SliceWords<'a> {
    words: &'a [u64],
    pos: usize,
}

impl Words for SliceWords<'_> {
    #[inline(always)]
    fn next_word(&mut self) -> Option<u64> {
        let w = self.words.get(self.pos).copied();
        self.pos += w.is_some() as usize;
        w
    }

    #[inline(always)]
    fn pos(&self) -> usize {
        self.pos
    }

    #[inline(always)]
    fn at_end(&self) -> bool {
        self.pos >= self.words.len()
    }

    #[inline(always)]
    fn common_events(&mut self, task: TaskId, state: &mut FrameState, out: &mut Vec<Event>) {
        while let Some(&[tag, dt, loc, obj]) = self.words.get(self.pos..self.pos + 4) {
            let loc = match loc {
                0 => None,
                l => match u32::try_from(l - 1) {
                    Ok(l) => Some(l),
                    Err(_) => break,
                },
            };
            let (kind, n) = match tag {
                VAR_READ => (EventKind::VarRead { var: obj }, 4),
                VAR_WRITE => (EventKind::VarWrite { var: obj }, 4),
                MUTEX_LOCK | MUTEX_UNLOCK => {
                    let Some(&delta) = self.words.get(self.pos + 4) else {
                        break;
                    };
                    let seq = state.seq(obj, delta);
                    let kind = if tag == MUTEX_LOCK {
                        EventKind::MutexLock { mutex: obj, seq }
                    } else {
                        EventKind::MutexUnlock { mutex: obj, seq }
                    };
                    (kind, 5)
                }
                _ => break,
            };
            self.pos += n;
            state.ts = next_ts(state.ts, dt);
            out.push(Event {
                task,
                ts: state.ts,
                loc,
                kind,
            });
        }
    }
}

/// [`SliceWords`] without the fast path ([`Words::common_events`] takes nothing).
#[cfg(test)]
struct NoFastPath<'a>(SliceWords<'a>);

#[cfg(test)]
impl Words for NoFastPath<'_> {
    fn next_word(&mut self) -> Option<u64> {
        self.0.next_word()
    }
    fn pos(&self) -> usize {
        self.0.pos()
    }
    fn at_end(&self) -> bool {
        self.0.at_end()
    }
}

/// [`decode_events`] with the general decoder alone, the reference the fast paths are
/// tested against.
#[cfg(test)]
pub(crate) fn decode_events_general(
    task: TaskId,
    words: &[u64],
    out: &mut Vec<Event>,
) -> Result<(), DecodeError> {
    decode_from(task, NoFastPath(SliceWords { words, pos: 0 }), out).0
}

/// Decodes every word of `words` into events of `task` (see [`decode_events`]) and gives
/// the source back.
pub(crate) fn decode_from<W: Words>(
    task: TaskId,
    words: W,
    out: &mut Vec<Event>,
) -> (Result<(), DecodeError>, W) {
    let mut d = Decoder {
        words,
        state: FrameState::new(),
    };
    let r = d.run(task, out);
    (r, d.words)
}

impl<W: Words> Decoder<W> {
    fn run(&mut self, task: TaskId, out: &mut Vec<Event>) -> Result<(), DecodeError> {
        let d = self;
        loop {
            // The common events go through the source's fast path; the general decoder
            // reads one event that the fast path left, then the fast path goes on.
            d.words.common_events(task, &mut d.state, out);
            if d.words.at_end() {
                return Ok(());
            }
            let start = d.words.pos();
            let tag = d.next("event tag")?;
            let dt = d.next("timestamp delta")?;
            let loc = d.next("location")?;
            let loc = match loc {
                0 => None,
                l => Some(u32::try_from(l - 1).map_err(|_| d.err(start + 2, "location id above u32"))?),
            };
            let ts = next_ts(d.state.ts, dt);
            d.state.ts = ts;
            let kind = d.kind(tag, start)?;
            out.push(Event { task, ts, loc, kind });
        }
    }
}

struct Decoder<W> {
    words: W,
    state: FrameState,
}

impl<W: Words> Decoder<W> {
    fn err(&self, word: usize, what: impl Into<String>) -> DecodeError {
        DecodeError {
            word,
            what: what.into(),
        }
    }

    #[inline(always)]
    fn next(&mut self, what: &str) -> Result<u64, DecodeError> {
        match self.words.next_word() {
            Some(w) => Ok(w),
            None => Err(self.ends_inside(what)),
        }
    }

    #[cold]
    fn ends_inside(&self, what: &str) -> DecodeError {
        self.err(
            self.words.pos(),
            format!("frame ends inside an event: expected {what}"),
        )
    }

    fn task(&mut self) -> Result<TaskId, DecodeError> {
        let at = self.words.pos();
        let v = self.next("task id")?;
        u32::try_from(v).map_err(|_| self.err(at, format!("task id {v} above u32")))
    }

    fn u32(&mut self, what: &str) -> Result<u32, DecodeError> {
        let at = self.words.pos();
        let v = self.next(what)?;
        u32::try_from(v).map_err(|_| self.err(at, format!("{what} {v} above u32")))
    }

    fn flag(&mut self, what: &str) -> Result<bool, DecodeError> {
        let at = self.words.pos();
        match self.next(what)? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(self.err(at, format!("{what} must be 0 or 1, found {v}"))),
        }
    }

    fn seq(&mut self) -> Result<(ObjectId, u64), DecodeError> {
        let obj = self.next("object id")?;
        Ok((obj, self.seq_of(obj)?))
    }

    /// The next sequence number of `obj`: the delta word applied to its previous one in
    /// this frame (0 before the first).
    #[inline(always)]
    fn seq_of(&mut self, obj: ObjectId) -> Result<u64, DecodeError> {
        let delta = self.next("sequence number")?;
        Ok(self.state.seq(obj, delta))
    }

    fn order(&mut self) -> Result<MemOrder, DecodeError> {
        let at = self.words.pos();
        let code = self.next("memory ordering")?;
        MemOrder::from_code(code).ok_or_else(|| self.err(at, format!("unknown memory ordering {code}")))
    }

    fn kind(&mut self, code: u64, start: usize) -> Result<EventKind, DecodeError> {
        use EventKind::*;
        let Some(tag) = Tag::from_code(code) else {
            return Err(self.err(
                start,
                format!("unknown event tag {code} (was the trace written by a newer hb?)"),
            ));
        };
        // The shapes the fast paths take are built by the same functions.
        if SEQ_TAGS >> code & 1 != 0 {
            let (obj, seq) = self.seq()?;
            return Ok(seq_kind(code, obj, seq).expect("every tag of SEQ_TAGS has a seq_kind"));
        }
        if OBJECT_TAGS >> code & 1 != 0 {
            let what = match tag {
                Tag::SpanExit => "span id",
                Tag::Sleep => "duration",
                _ => "object id",
            };
            let obj = self.next(what)?;
            return Ok(object_kind(code, obj).expect("every tag of OBJECT_TAGS has an object_kind"));
        }
        Ok(match tag {
            Tag::TaskSpawn => TaskSpawn { child: self.task()? },
            Tag::TaskStart => TaskStart,
            Tag::TaskEnd => TaskEnd,
            Tag::TaskJoin => TaskJoin { child: self.task()? },
            Tag::CondvarWaitBegin => CondvarWaitBegin {
                condvar: self.next("object id")?,
                mutex: self.next("object id")?,
            },
            Tag::CondvarWaitEnd => CondvarWaitEnd {
                condvar: self.next("object id")?,
                mutex: self.next("object id")?,
                timed_out: self.flag("timed-out flag")?,
            },
            Tag::ChanRecv => {
                if self.flag("receive result")? {
                    ChanRecv {
                        chan: self.next("object id")?,
                        result: RecvResult::Closed {
                            closes: self.next("close count")?,
                        },
                    }
                } else {
                    let (chan, seq) = self.seq()?;
                    ChanRecv {
                        chan,
                        result: RecvResult::Value { seq },
                    }
                }
            }
            Tag::WaitGroupAdd => WaitGroupAdd {
                wg: self.next("object id")?,
                delta: unzigzag(self.next("delta")?),
            },
            Tag::WaitGroupDone => {
                let zero = self.flag("zero flag")?;
                let (wg, seq) = self.seq()?;
                WaitGroupDone { wg, seq, zero }
            }
            Tag::BarrierArrive => {
                let last = self.flag("last flag")?;
                let (barrier, seq) = self.seq()?;
                BarrierArrive { barrier, seq, last }
            }
            Tag::AtomicLoad | Tag::AtomicStore | Tag::AtomicRmw => {
                let order = self.order()?;
                let (atomic, version) = self.seq()?;
                match tag {
                    Tag::AtomicLoad => AtomicLoad {
                        atomic,
                        order,
                        version,
                    },
                    Tag::AtomicStore => AtomicStore {
                        atomic,
                        order,
                        version,
                    },
                    _ => AtomicRmw {
                        atomic,
                        order,
                        version,
                    },
                }
            }
            Tag::SpanEnter => SpanEnter {
                name: self.u32("string id")?,
                span: self.next("span id")?,
            },
            Tag::UserEvent => UserEvent {
                message: self.u32("string id")?,
            },
            Tag::Yield => Yield,
            Tag::LockRequest
            | Tag::MutexLock
            | Tag::MutexUnlock
            | Tag::MutexTryLockFailed
            | Tag::RwReadLock
            | Tag::RwReadUnlock
            | Tag::RwWriteLock
            | Tag::RwWriteUnlock
            | Tag::CondvarNotifyOne
            | Tag::CondvarNotifyAll
            | Tag::ChanMake
            | Tag::ChanSendBegin
            | Tag::ChanSendEnd
            | Tag::ChanClose
            | Tag::OnceBegin
            | Tag::OnceEnd
            | Tag::OnceAlreadyDone
            | Tag::WaitGroupWait
            | Tag::BarrierLeave
            | Tag::VarRead
            | Tag::VarWrite
            | Tag::SpanExit
            | Tag::Sleep => unreachable!("tags of SEQ_TAGS and OBJECT_TAGS are decoded above"),
        })
    }
}

macro_rules! tags {
    ($($name:ident = $code:literal),* $(,)?) => {
        /// Wire tag of each [`EventKind`]; the numbers are part of the format and never reused.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u8)]
        pub enum Tag {
            $(
                #[doc = concat!("Tag of [`EventKind::", stringify!($name), "`].")]
                $name = $code,
            )*
        }

        impl Tag {
            /// The tag with this wire number, if there is one.
            pub fn from_code(code: u64) -> Option<Tag> {
                match code {
                    $($code => Some(Tag::$name),)*
                    _ => None,
                }
            }

            /// The tag of an event kind.
            #[inline]
            pub fn of(kind: &EventKind) -> Tag {
                match kind {
                    $(EventKind::$name { .. } => Tag::$name,)*
                }
            }
        }
    };
}

tags! {
    TaskSpawn = 0,
    TaskStart = 1,
    TaskEnd = 2,
    TaskJoin = 3,
    LockRequest = 4,
    MutexLock = 5,
    MutexUnlock = 6,
    MutexTryLockFailed = 7,
    RwReadLock = 8,
    RwReadUnlock = 9,
    RwWriteLock = 10,
    RwWriteUnlock = 11,
    CondvarWaitBegin = 12,
    CondvarWaitEnd = 13,
    CondvarNotifyOne = 14,
    CondvarNotifyAll = 15,
    ChanMake = 16,
    ChanSendBegin = 17,
    ChanSendEnd = 18,
    ChanRecv = 19,
    ChanClose = 20,
    OnceBegin = 21,
    OnceEnd = 22,
    OnceAlreadyDone = 23,
    WaitGroupAdd = 24,
    WaitGroupDone = 25,
    WaitGroupWait = 26,
    BarrierArrive = 27,
    BarrierLeave = 28,
    AtomicLoad = 29,
    AtomicStore = 30,
    AtomicRmw = 31,
    VarRead = 32,
    VarWrite = 33,
    SpanEnter = 34,
    SpanExit = 35,
    UserEvent = 36,
    Sleep = 37,
    Yield = 38,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::{any, prop_oneof, Just};

    /// The general decoder builds the common shapes through `object_kind` and `seq_kind`
    /// (and panics otherwise): every tag of those sets has one, and no tag is in both.
    #[test]
    fn common_shape_tags_have_their_kinds() {
        let mut seen = 0;
        for code in 0..64u64 {
            let (object, seq) = (OBJECT_TAGS >> code & 1 != 0, SEQ_TAGS >> code & 1 != 0);
            assert!(!(object && seq), "tag {code} in both sets");
            assert_eq!(object_kind(code, 7).is_some(), object, "tag {code}");
            assert_eq!(seq_kind(code, 7, 3).is_some(), seq, "tag {code}");
            seen += usize::from(object || seq);
        }
        assert_eq!(seen, 23);
    }

    #[test]
    fn zigzag_round_trips_extremes() {
        for v in [0i64, 1, -1, 63, -64, i64::MAX, i64::MIN] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
    }

    fn general(task: TaskId, words: &[u64]) -> (Vec<Event>, Result<(), DecodeError>) {
        let mut out = Vec::new();
        let r = decode_events_general(task, words, &mut out);
        (out, r)
    }

    #[test]
    fn fast_path_keeps_edge_locations_and_errors() {
        let big = 1u64 << 32;
        // tag, dt, loc, var: no location, location 0, location u32::MAX, and a negative
        // timestamp delta, then a location word above u32 (an error at word 14).
        let words = [32, 8, 0, 5, 33, 3, 1, u64::MAX, 32, 2, big, 7, 33, 1, big + 1, 9];
        let mut out = Vec::new();
        let err = decode_events(1, &words, &mut out).unwrap_err();
        assert_eq!(err.word, 14);
        assert_eq!(
            out.iter().map(|e| e.loc).collect::<Vec<_>>(),
            [None, Some(0), Some(u32::MAX)]
        );
        assert_eq!(out.iter().map(|e| e.ts).collect::<Vec<_>>(), [4, 2, 3]);
        assert_eq!(out[1].kind, EventKind::VarWrite { var: u64::MAX });
        assert_eq!(general(1, &words), (out, Err(err)));
    }

    proptest::proptest! {
        /// The four-word fast path decodes exactly what the general decoder does, errors
        /// (and the events kept before them) included.
        #[test]
        fn fast_path_agrees_with_the_general_decoder(
            words in proptest::collection::vec(
                prop_oneof![
                    Just(32u64),
                    Just(33),
                    Just(5),
                    Just(6),
                    0u64..40,
                    0u64..5,
                    any::<u64>(),
                    Just(1u64 << 32)
                ],
                0..40,
            ),
        ) {
            let mut out = Vec::new();
            let r = decode_events(2, &words, &mut out);
            proptest::prop_assert_eq!((out, r), general(2, &words));
        }
    }

    #[test]
    fn sequence_numbers_of_one_object_are_delta_encoded() {
        let mut enc = FrameEncoder::new();
        enc.push(
            10,
            Some(0),
            &EventKind::MutexLock {
                mutex: 3,
                seq: 1_000_000,
            },
        );
        enc.push(
            20,
            Some(0),
            &EventKind::MutexUnlock {
                mutex: 3,
                seq: 1_000_000,
            },
        );
        let words = enc.take();
        // The unlock's sequence number is written as a zero delta.
        assert_eq!(words[words.len() - 1], 0);
        let mut out = Vec::new();
        decode_events(7, &words, &mut out).unwrap();
        assert_eq!(
            out[1].kind,
            EventKind::MutexUnlock {
                mutex: 3,
                seq: 1_000_000
            }
        );
        assert_eq!(out[1].ts, 20);
        assert_eq!(out[1].task, 7);
    }

    /// The encoder as it was written before events were assembled in an array (one `push`
    /// per word): the words must stay identical.
    fn reference_push(
        words: &mut Vec<u64>,
        last_ts: &mut u64,
        cache: &mut SeqCache,
        ts: u64,
        loc: Option<u32>,
        kind: &EventKind,
    ) {
        use EventKind::*;
        let mut seq = |w: &mut Vec<u64>, obj: ObjectId, value: u64| {
            let base = cache.base(obj, value);
            w.push(obj);
            w.push(zigzag(value.wrapping_sub(base) as i64));
        };
        let dt = ts.wrapping_sub(*last_ts) as i64;
        *last_ts = ts;
        let w = words;
        w.push(Tag::of(kind) as u64);
        w.push(zigzag(dt));
        w.push(loc.map_or(0, |l| l as u64 + 1));
        match *kind {
            TaskSpawn { child } | TaskJoin { child } => w.push(child as u64),
            TaskStart | TaskEnd | Yield => {}
            LockRequest { lock: o }
            | MutexTryLockFailed { mutex: o }
            | CondvarNotifyOne { condvar: o }
            | CondvarNotifyAll { condvar: o }
            | ChanMake { chan: o }
            | OnceBegin { once: o }
            | OnceEnd { once: o }
            | OnceAlreadyDone { once: o }
            | VarRead { var: o }
            | VarWrite { var: o } => w.push(o),
            MutexLock { mutex: o, seq: s }
            | MutexUnlock { mutex: o, seq: s }
            | RwReadLock { lock: o, seq: s }
            | RwReadUnlock { lock: o, seq: s }
            | RwWriteLock { lock: o, seq: s }
            | RwWriteUnlock { lock: o, seq: s }
            | ChanSendBegin { chan: o, seq: s }
            | ChanSendEnd { chan: o, seq: s }
            | ChanClose { chan: o, seq: s }
            | WaitGroupWait { wg: o, seq: s }
            | BarrierLeave { barrier: o, seq: s } => seq(w, o, s),
            CondvarWaitBegin { condvar, mutex } => {
                w.push(condvar);
                w.push(mutex);
            }
            CondvarWaitEnd {
                condvar,
                mutex,
                timed_out,
            } => {
                w.push(condvar);
                w.push(mutex);
                w.push(timed_out as u64);
            }
            ChanRecv { chan, result } => match result {
                RecvResult::Value { seq: s } => {
                    w.push(0);
                    seq(w, chan, s);
                }
                RecvResult::Closed { closes } => {
                    w.push(1);
                    w.push(chan);
                    w.push(closes);
                }
            },
            WaitGroupAdd { wg, delta } => {
                w.push(wg);
                w.push(zigzag(delta));
            }
            WaitGroupDone {
                wg: o,
                seq: s,
                zero: flag,
            }
            | BarrierArrive {
                barrier: o,
                seq: s,
                last: flag,
            } => {
                w.push(flag as u64);
                seq(w, o, s);
            }
            AtomicLoad {
                atomic,
                order,
                version,
            }
            | AtomicStore {
                atomic,
                order,
                version,
            }
            | AtomicRmw {
                atomic,
                order,
                version,
            } => {
                w.push(order.to_code());
                seq(w, atomic, version);
            }
            SpanEnter { name, span } => {
                w.push(name as u64);
                w.push(span);
            }
            SpanExit { span } => w.push(span),
            UserEvent { message } => w.push(message as u64),
            Sleep { nanos } => w.push(nanos),
        }
    }

    /// Every event kind, built from a tag number and raw operands (few objects, so the
    /// sequence cache hits and misses).
    fn any_kind(tag: u8, obj: u64, a: u64, b: u64, flag: bool, order: u8) -> EventKind {
        use EventKind::*;
        let order = [
            MemOrder::Relaxed,
            MemOrder::Release,
            MemOrder::Acquire,
            MemOrder::AcqRel,
            MemOrder::SeqCst,
        ][order as usize % 5];
        let seq = a;
        match tag % 41 {
            0 => TaskSpawn { child: a as u32 },
            1 => TaskStart,
            2 => TaskEnd,
            3 => TaskJoin { child: a as u32 },
            4 => LockRequest { lock: obj },
            5 => MutexLock { mutex: obj, seq },
            6 => MutexUnlock { mutex: obj, seq },
            7 => MutexTryLockFailed { mutex: obj },
            8 => RwReadLock { lock: obj, seq },
            9 => RwReadUnlock { lock: obj, seq },
            10 => RwWriteLock { lock: obj, seq },
            11 => RwWriteUnlock { lock: obj, seq },
            12 => CondvarWaitBegin {
                condvar: obj,
                mutex: b,
            },
            13 => CondvarWaitEnd {
                condvar: obj,
                mutex: b,
                timed_out: flag,
            },
            14 => CondvarNotifyOne { condvar: obj },
            15 => CondvarNotifyAll { condvar: obj },
            16 => ChanMake { chan: obj },
            17 => ChanSendBegin { chan: obj, seq },
            18 => ChanSendEnd { chan: obj, seq },
            19 => ChanRecv {
                chan: obj,
                result: RecvResult::Value { seq },
            },
            20 => ChanRecv {
                chan: obj,
                result: RecvResult::Closed { closes: b },
            },
            21 => ChanClose { chan: obj, seq },
            22 => OnceBegin { once: obj },
            23 => OnceEnd { once: obj },
            24 => OnceAlreadyDone { once: obj },
            25 => WaitGroupAdd {
                wg: obj,
                delta: b as i64,
            },
            26 => WaitGroupDone {
                wg: obj,
                seq,
                zero: flag,
            },
            27 => WaitGroupWait { wg: obj, seq },
            28 => BarrierArrive {
                barrier: obj,
                seq,
                last: flag,
            },
            29 => BarrierLeave { barrier: obj, seq },
            30 => AtomicLoad {
                atomic: obj,
                order,
                version: seq,
            },
            31 => AtomicStore {
                atomic: obj,
                order,
                version: seq,
            },
            32 => AtomicRmw {
                atomic: obj,
                order,
                version: seq,
            },
            33 => VarRead { var: obj },
            34 => VarWrite { var: obj },
            35 => SpanEnter {
                name: a as u32,
                span: b,
            },
            36 => SpanExit { span: b },
            37 => UserEvent { message: a as u32 },
            38 => Sleep { nanos: b },
            39 => Yield,
            _ => MutexLock { mutex: obj + 16, seq },
        }
    }

    proptest::proptest! {
        #[test]
        fn words_match_the_word_by_word_encoder(
            events in proptest::collection::vec(
                (any::<u64>(), proptest::option::of(any::<u32>()), any::<u8>(), 0u64..40, prop_oneof![0u64..100, any::<u64>()], any::<u64>(), any::<bool>(), any::<u8>()),
                0..200,
            )
        ) {
            let mut enc = FrameEncoder::new();
            // A recycled buffer holding old words: they must not leak into the frame.
            enc.restart(vec![u64::MAX; 37]);
            let (mut words, mut last_ts, mut cache) = (Vec::new(), 0, SeqCache::new());
            for (ts, loc, tag, obj, a, b, flag, order) in events {
                let kind = any_kind(tag, obj, a, b, flag, order);
                enc.push(ts, loc, &kind);
                reference_push(&mut words, &mut last_ts, &mut cache, ts, loc, &kind);
            }
            proptest::prop_assert_eq!(enc.take(), words);
        }
    }

    #[test]
    fn unknown_tag_names_the_word() {
        let mut out = Vec::new();
        let err = decode_events(0, &[99, 0, 0], &mut out).unwrap_err();
        assert_eq!(err.word, 0);
        assert!(err.what.contains("unknown event tag 99"), "{}", err.what);
    }
}
