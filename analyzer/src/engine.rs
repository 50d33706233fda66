//! The happens-before engine: a topological merge of per-task event streams driven by
//! the recorded per-object sequence numbers, vector clocks, and race detection.
//!
//! # The merge
//! Each task has a queue of events not yet processed (in program order). A task is
//! *runnable* when its first queued event's dependency (the spawn before a child's first
//! event, the release a lock waits for, the send a receive names, ...) has been processed;
//! otherwise it waits on a key (the object or the task it needs) and is woken when an event
//! on that key is processed. Among runnable tasks the one whose next event has the smallest
//! timestamp goes first (timestamps only break ties; they never make an edge). When nothing
//! is runnable and the input is exhausted, or more than [`Options::max_pending`] events wait,
//! the oldest blocked event is forced through with a [`Diagnostic`].
//!
//! # Clocks
//! Task `t`'s own entry counts its synchronization steps: every synchronization event is
//! processed at the current step and then the step is incremented. A stored release clock
//! is a copy of the task's clock at the release; an acquire joins it. Accesses do not move
//! the clock, so an access is an epoch `(task, step)` (FastTrack), and `a` happens before
//! `b` iff `a.step <= clock_of_b[a.task]`.
//!
//! # Races
//! Per variable the engine keeps, for every (task, location, kind), the latest access
//! (an epoch plus what is needed to report it). Each access is compared with all of them:
//! an earlier access `a` racing with `b` implies the latest access of `a`'s
//! (task, location, kind) races with `b` too (it is later in `a`'s program order and was
//! processed before `b`), so every racing location pair is found, however far apart. A
//! record ordered before a newer access of another task at the same (location, kind) is
//! dropped, by the same argument, so records stay bounded by the accesses that are
//! mutually concurrent, not by the number of tasks that ever touched the variable. A
//! record that no access still to come can race with (below the [`Floor`]) is dropped too.

use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::rc::Rc;

use hb_format::{Def, Event, EventKind, LocId, ObjectId, ObjectKind, RecvResult, Symbols, TaskId};

use crate::dense::{DenseMap, IdIndex};
use crate::lockorder::LockOrder;
use crate::types::*;
use crate::vc::{Clocks, Vc};

/// A fast hasher for the engine's integer keys (ids are not attacker-chosen in a way that
/// matters: a trace can at worst slow its own analysis down).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    #[inline]
    fn write_u32(&mut self, v: u32) {
        self.write_u64(v as u64);
    }
    #[inline]
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
}

type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FastHasher>>;

/// What a blocked task waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Obj(ObjectId),
    Task(usize),
}

/// A task's events waiting in the merge, in program order: a vector and the index of its
/// front (cheaper than a ring buffer on the hot path). The consumed prefix is dropped when it
/// is at least half of the vector, before appending, so memory stays within twice the
/// waiting events. Event references are kept as runs (events pushed together have
/// consecutive references), not per event, so an entry is just the event.
#[derive(Debug, Default)]
struct Queue {
    items: Vec<Event>,
    /// Parallel to `items`: a plain read or write's variable position in `Engine::vars`,
    /// found when the event was pushed ([`NO_SLOT`] for other events), so the merge loop's
    /// look-ahead reads 4 bytes per event instead of the event and the id table.
    slots: Vec<u32>,
    head: usize,
    /// `(index in items, reference of that event)` where each run of consecutive references
    /// starts, in order; `runs[run]` holds the front.
    runs: Vec<(usize, EventRef)>,
    run: usize,
}

impl Queue {
    #[inline]
    fn front(&self) -> Option<&Event> {
        self.items.get(self.head)
    }

    /// The reference of the front event (meaningful only when there is one).
    #[inline]
    fn front_ref(&self) -> EventRef {
        match self.runs.get(self.run) {
            Some(&(start, r0)) => r0 + (self.head - start) as u64,
            None => 0,
        }
    }

    #[inline]
    fn is_empty(&self) -> bool {
        self.head >= self.items.len()
    }

    /// Drops the front event.
    #[inline]
    fn advance(&mut self) {
        if self.head < self.items.len() {
            self.head += 1;
        }
        if self.head == self.items.len() {
            self.items.clear();
            self.slots.clear();
            self.runs.clear();
            self.head = 0;
            self.run = 0;
        } else if self
            .runs
            .get(self.run + 1)
            .is_some_and(|&(start, _)| start == self.head)
        {
            self.run += 1;
        }
    }

    fn pop_front(&mut self) -> Option<(EventRef, Event)> {
        let r = self.front_ref();
        let front = self.front().cloned();
        self.advance();
        front.map(|ev| (r, ev))
    }

    fn make_room(&mut self) {
        if self.head > 0 && self.head >= self.items.len() / 2 {
            let r = self.front_ref();
            self.items.drain(..self.head);
            self.slots.drain(..self.head);
            self.runs.drain(..self.run);
            for run in &mut self.runs {
                run.0 -= self.head.min(run.0);
            }
            // The front run may have started before the front: it now starts at index 0
            // with the front's reference.
            if let Some(first) = self.runs.first_mut() {
                *first = (0, r);
            }
            self.head = 0;
            self.run = 0;
        }
    }

    fn push_back(&mut self, ev: Event, slot: u32, r: EventRef) {
        self.make_room();
        let start = self.items.len();
        self.items.push(ev);
        self.slots.push(slot);
        match self.runs.last() {
            Some(&(s, r0)) if r0 + (start - s) as u64 == r => {}
            _ => self.runs.push((start, r)),
        }
    }

    /// Appends `events`, whose references are `r0, r0 + 1, ...`, and their `slots`. When
    /// the queue is empty the vectors are exchanged instead of copied (`events` then holds
    /// the queue's old, empty buffer); otherwise `events` is emptied. `slots` is emptied.
    fn append(&mut self, events: &mut Vec<Event>, slots: &mut Vec<u32>, r0: EventRef) {
        debug_assert_eq!(events.len(), slots.len());
        if events.is_empty() {
            return;
        }
        if self.is_empty() {
            self.items.clear();
            self.slots.clear();
            self.runs.clear();
            self.head = 0;
            self.run = 0;
            std::mem::swap(&mut self.items, events);
            std::mem::swap(&mut self.slots, slots);
            events.clear();
            slots.clear();
        } else {
            self.make_room();
            let start = self.items.len();
            self.items.extend_from_slice(events);
            self.slots.extend_from_slice(slots);
            events.clear();
            slots.clear();
            self.runs.push((start, r0));
            return;
        }
        self.runs.push((0, r0));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sched {
    Idle,
    Queued,
    Blocked,
}

/// A lock the task holds.
#[derive(Debug, Clone)]
pub(crate) struct Held {
    pub(crate) obj: ObjectId,
    pub(crate) mode: LockMode,
    pub(crate) seq: u64,
    pub(crate) depth: u32,
    pub(crate) site: Site,
}

#[derive(Debug)]
struct TaskState {
    id: TaskId,
    queue: Queue,
    sched: Sched,
    clocks: Clocks,
    started: bool,
    ended: bool,
    has_parent: bool,
    spawn: Option<(Clocks, Site)>,
    end: Option<(Clocks, Site)>,
    /// The last processed event: its reference ([`NO_EVENT`] before the first), location
    /// and timestamp (separate fields, written with plain stores on every event).
    last_event: EventRef,
    last_loc: Option<LocId>,
    last_ts: u64,
    held: Vec<Held>,
    /// The last synchronizations, most recent first: a list in [`SnapArena`] ([`NO_SNAP`]
    /// before the first).
    snap: u32,
    /// A diagnostic about events after the end was already given.
    after_end_reported: bool,
}

/// No event (see [`TaskState::last_event`]).
const NO_EVENT: EventRef = EventRef::MAX;

impl TaskState {
    /// The last processed event.
    fn last(&self) -> Option<Site> {
        (self.last_event != NO_EVENT).then_some(Site {
            event: self.last_event,
            task: self.id,
            loc: self.last_loc,
            ts: self.last_ts,
        })
    }

    fn step(&self, ix: usize) -> u64 {
        self.clocks.hb.get(ix)
    }
}

/// A stored release: the clocks and the event that made them.
#[derive(Debug, Clone, Default)]
struct Rel {
    clocks: Clocks,
    site: Option<Site>,
    /// Every source event (only with `collect_edges`; else just the last, in `site`).
    srcs: Vec<Site>,
}

impl Rel {
    fn add(&mut self, clocks: &Clocks, site: Site, collect: bool) {
        self.clocks.join(clocks);
        self.site = Some(site);
        if collect {
            self.srcs.push(site);
        }
    }

    fn sources(&self) -> Vec<Site> {
        if self.srcs.is_empty() {
            self.site.into_iter().collect()
        } else {
            self.srcs.clone()
        }
    }

    fn reset(&mut self) {
        self.clocks.clear();
        self.site = None;
        self.srcs.clear();
    }
}

#[derive(Debug)]
struct MutexSt {
    acquired: u64,
    holder: Option<usize>,
    released: u64,
    /// The hb clock of the last release (lock edges leave the no-lock clock alone, so
    /// that one is not kept), the release itself and its task (meaningful once
    /// `released > 0`; plain values, not options, for the lock path's tests).
    rel_hb: Vc,
    rel_site: Site,
    rel_task: usize,
}

impl Default for MutexSt {
    fn default() -> Self {
        MutexSt {
            acquired: 0,
            holder: None,
            released: 0,
            rel_hb: Vc::default(),
            rel_site: Site {
                event: NO_EVENT,
                task: 0,
                loc: None,
                ts: 0,
            },
            rel_task: usize::MAX,
        }
    }
}

impl MutexSt {
    /// Whether acquisition `seq` by task `ix` follows a release by another task (a lock
    /// edge from `rel_site`). `released > 0`: there was one.
    #[inline(always)]
    fn follows_release(&self, seq: u64, ix: usize) -> bool {
        seq > 1 && self.released == seq - 1 && self.rel_task != ix
    }

    /// Acquisition `seq` by task `ix`, whose hb clock is `hb`: joins the release it follows
    /// when that was another task's (a lock edge: the hb clock only, see
    /// [`Engine::acquire`]); returns whether it did ([`MutexSt::follows_release`]).
    #[inline(always)]
    fn acquire(&mut self, seq: u64, ix: usize, hb: &mut Vc) -> bool {
        let src = self.follows_release(seq, ix);
        if src {
            hb.join(&self.rel_hb);
        }
        self.acquired = seq;
        self.holder = Some(ix);
        src
    }

    /// Release of acquisition `seq` by task `ix` at `site`, its hb clock then `hb`.
    #[inline(always)]
    fn release(&mut self, seq: u64, ix: usize, hb: &Vc, site: Site) {
        self.holder = None;
        self.released = seq;
        self.rel_hb.assign(hb);
        self.rel_site = site;
        self.rel_task = ix;
    }
}

#[derive(Debug, Default)]
struct RwSt {
    acquired: u64,
    writer: Option<(u64, usize)>,
    readers: u64,
    /// Release of the last write acquisition.
    wrel: Rel,
    /// Releases of the reads since the last write acquisition.
    rrel: Rel,
}

#[derive(Debug, Default)]
struct ChanSt {
    id: ObjectId,
    /// Sends processed, for the end-of-trace check that their numbers have no gap.
    sends: Numbered,
    cap: Option<u64>,
    msgs: HashMap<u64, (Clocks, Site)>,
    recvs: HashMap<u64, (Clocks, Site)>,
    closes: BTreeMap<u64, (Clocks, Site)>,
}

/// How many distinct numbers of a series were seen, and the largest: fewer than the
/// largest means some are missing from the trace.
#[derive(Debug, Default, Clone, Copy)]
struct Numbered {
    seen: u64,
    max: u64,
    /// The event that carried `max`.
    max_at: EventRef,
}

impl Numbered {
    fn note(&mut self, n: u64, at: EventRef) {
        self.seen += 1;
        if n >= self.max {
            self.max = n;
            self.max_at = at;
        }
    }

    /// `Some(missing)` when numbers `1..=max` are not all there.
    fn missing(&self) -> Option<u64> {
        (self.seen < self.max).then(|| self.max - self.seen)
    }
}

#[derive(Debug, Default)]
struct PhaseSt {
    /// Highest arrival (done) number processed.
    count: u64,
    /// Join of every arrival so far. Never reset: the Go memory model orders every `Done`
    /// before a `Wait` that returns, also across earlier zero points of the counter (as in
    /// `Add(1)` inside a spawning loop); earlier phases' dones are in the past of a correct
    /// reuse anyway.
    acc: Rel,
    /// With `collect_edges`: arrivals not yet drawn to a wait, with their numbers.
    pending: Vec<(u64, Site)>,
    /// The accumulated release at each arrival that brought the counter to zero.
    snaps: HashMap<u64, Rel>,
}

#[derive(Debug)]
struct Version {
    rel: Option<Rc<(Clocks, Site)>>,
}

#[derive(Debug, Default)]
struct AtomicSt {
    id: ObjectId,
    /// Stores and RMWs processed, for the end-of-trace check that versions have no gap.
    writes: Numbered,
    versions: BTreeMap<u64, Version>,
    forgotten: u64,
}

#[derive(Debug)]
enum Obj {
    Mutex(MutexSt),
    Rw(RwSt),
    Chan(ChanSt),
    Once(Option<(Clocks, Site)>),
    Wg(PhaseSt),
    Barrier(PhaseSt),
    Atomic(AtomicSt),
}

/// The latest access of one (task, location, kind) to a variable: the part the race check
/// scans (16 bytes: the kind rides in the low 3 bits of the step)...
#[derive(Debug, Clone, Copy)]
struct Hot {
    step_kind: u64,
    task: u32,
    loc: u32,
}

const KINDS: [AccessKind; 5] = [
    AccessKind::Read,
    AccessKind::Write,
    AccessKind::AtomicLoad,
    AccessKind::AtomicStore,
    AccessKind::AtomicRmw,
];

fn kind_code(kind: AccessKind) -> u64 {
    match kind {
        AccessKind::Read => 0,
        AccessKind::Write => 1,
        AccessKind::AtomicLoad => 2,
        AccessKind::AtomicStore => 3,
        AccessKind::AtomicRmw => 4,
    }
}

/// By kind code ([`kind_code`]): bit `kind_code(k)` is set when an access of kind `k` races
/// with one of this kind (unordered): at least one writes, and not both are atomic.
const CONFLICTS: [u64; 8] = [0b11010, 0b11111, 0b00010, 0b00011, 0b00011, 0, 0, 0];

/// Variables with at most this many records take the fast two-pass scan ([`VarSt::check`]),
/// whose marks fit one `u64`; the others the plain one ([`Engine::access_general`]).
const FAST_SCAN_MAX: usize = 64;

impl Hot {
    /// The record of an access by task `task` at step `step`, of kind code `code`
    /// ([`kind_code`]), at location key `loc`.
    #[inline(always)]
    fn new(step: u64, code: u64, task: usize, loc: u32) -> Hot {
        debug_assert!(step < 1 << 61);
        Hot {
            step_kind: step << 3 | code,
            task: task as u32,
            loc,
        }
    }

    #[inline]
    fn step(self) -> u64 {
        self.step_kind >> 3
    }

    #[inline]
    fn kind(self) -> AccessKind {
        KINDS[(self.step_kind & 7) as usize]
    }

    /// Whether the record is at or below `floor` (see [`Floor`]): no access still to come
    /// can race with it.
    #[inline(always)]
    fn dead(self, floor: &[u64]) -> bool {
        self.step() <= floor.get(self.task as usize).copied().unwrap_or(0)
    }
}

/// ...and the part needed only to report it.
#[derive(Debug, Clone, Copy)]
struct Cold {
    event: EventRef,
    ts: u64,
    /// The task's last synchronizations at the access (an id in [`SnapArena`]).
    syncs: u32,
}

/// No snapshot (see [`SnapArena`]).
const NO_SNAP: u32 = u32::MAX;

/// A task's last synchronizations as persistent lists: each synchronization is one node
/// pointing to the task's previous one, and a list is the id of its newest node (read up to
/// [`Options::explain_syncs`] nodes deep). A task's current list and the list an access
/// record keeps are just ids: a new synchronization writes one node, an access writes
/// nothing, and lists share their older nodes. Nodes no record or task can reach any more
/// are dropped by [`Engine::collect_snaps`] once the arena holds twice the nodes that
/// survived the last collection plus one per access record (a collection visits every
/// record, so its cost per new node stays bounded), so it stays proportional to the live
/// records.
#[derive(Debug)]
struct SnapArena {
    /// Each node's operation...
    ops: Vec<SyncOp>,
    /// ...and the task's synchronization before it ([`NO_SNAP`]: none, or collected
    /// because no list reaches that deep through this node). Apart from `ops`, so that a
    /// collection's marking pass reads only these.
    prevs: Vec<u32>,
    /// How many nodes a list holds at most.
    depth: usize,
    /// Collect when `nodes` reaches this length.
    next_gc: usize,
}

/// The arena is never collected below this many nodes.
const SNAP_GC_MIN: usize = 1 << 16;

impl SnapArena {
    fn new(depth: usize) -> Self {
        SnapArena {
            ops: Vec::new(),
            prevs: Vec::new(),
            depth,
            next_gc: SNAP_GC_MIN,
        }
    }

    /// The list `prev` with `op` in front.
    fn push(&mut self, op: SyncOp, prev: u32) -> u32 {
        let id = self.ops.len() as u32;
        self.ops.push(op);
        self.prevs.push(prev);
        id
    }

    /// The operations of list `id`, most recent first.
    fn get(&self, id: u32) -> Vec<SyncOp> {
        let mut out = Vec::new();
        let mut at = id;
        while out.len() < self.depth {
            let Some(op) = self.ops.get(at as usize) else {
                break;
            };
            out.push(*op);
            at = self.prevs[at as usize];
        }
        out
    }
}

/// The access records of one variable: the first inline, the others in `rest`. 64 bytes,
/// one cache line, so a variable with one record (most of them, once dead records are
/// dropped: see [`Floor`]) is checked with one memory access and no pointer to follow.
/// Records are numbered `0..len()`: record 0 is the inline one.
#[derive(Debug)]
#[repr(align(64))]
struct VarSt {
    /// Record 0 ([`NO_RECORD`] in `step_kind` when there is none)...
    hot0: Hot,
    cold0: Cold,
    /// ...and records `1..`.
    rest: Vec<(Hot, Cold)>,
}

const _: () = assert!(std::mem::size_of::<VarSt>() == 64);

/// [`Hot::step_kind`] of an absent record (kind code 7 is no kind).
const NO_RECORD: u64 = 7;

impl VarSt {
    fn new() -> Self {
        VarSt {
            hot0: Hot {
                step_kind: NO_RECORD,
                task: 0,
                loc: 0,
            },
            cold0: Cold {
                event: 0,
                ts: 0,
                syncs: NO_SNAP,
            },
            rest: Vec::new(),
        }
    }

    #[inline(always)]
    fn len(&self) -> usize {
        if self.hot0.step_kind == NO_RECORD {
            0
        } else {
            1 + self.rest.len()
        }
    }

    /// Record `i`'s scanned part.
    #[inline(always)]
    fn hot(&self, i: usize) -> Hot {
        if i == 0 {
            self.hot0
        } else {
            self.rest[i - 1].0
        }
    }

    /// Record `i`'s reporting part.
    #[inline(always)]
    fn cold(&self, i: usize) -> Cold {
        if i == 0 {
            self.cold0
        } else {
            self.rest[i - 1].1
        }
    }

    /// Record `i`, to overwrite.
    #[inline(always)]
    fn record_mut(&mut self, i: usize) -> (&mut Hot, &mut Cold) {
        if i == 0 {
            (&mut self.hot0, &mut self.cold0)
        } else {
            let (h, c) = &mut self.rest[i - 1];
            (h, c)
        }
    }

    /// Adds a record as the last one.
    #[inline(always)]
    fn push(&mut self, hot: Hot, cold: Cold) {
        if self.hot0.step_kind == NO_RECORD {
            (self.hot0, self.cold0) = (hot, cold);
        } else {
            self.rest.push((hot, cold));
        }
    }

    /// Removes record `i`; the last one takes its place (as `Vec::swap_remove`).
    #[inline(always)]
    fn swap_remove(&mut self, i: usize) {
        match self.rest.pop() {
            // `i` was not the last record.
            Some(last) if i <= self.rest.len() => {
                let (h, c) = self.record_mut(i);
                (*h, *c) = last;
            }
            Some(_) => {}
            None => self.hot0.step_kind = NO_RECORD,
        }
    }

    /// Every record's reporting part.
    fn colds(&self) -> impl Iterator<Item = &Cold> {
        let first = (self.hot0.step_kind != NO_RECORD).then_some(&self.cold0);
        first.into_iter().chain(self.rest.iter().map(|(_, c)| c))
    }

    /// Every record's reporting part, to rewrite.
    fn colds_mut(&mut self) -> impl Iterator<Item = &mut Cold> {
        let first = (self.hot0.step_kind != NO_RECORD).then_some(&mut self.cold0);
        first.into_iter().chain(self.rest.iter_mut().map(|(_, c)| c))
    }

    /// Keeps the records for which `keep(i, record)` holds, in order; returns how many
    /// went.
    fn retain(&mut self, mut keep: impl FnMut(usize, Hot) -> bool) -> u64 {
        let n = self.len();
        let mut kept = 0;
        for i in 0..n {
            let h = self.hot(i);
            if keep(i, h) {
                if kept != i {
                    let c = self.cold(i);
                    let (hk, ck) = self.record_mut(kept);
                    (*hk, *ck) = (h, c);
                }
                kept += 1;
            }
        }
        if kept == 0 {
            self.hot0.step_kind = NO_RECORD;
            self.rest.clear();
        } else {
            self.rest.truncate(kept - 1);
        }
        (n - kept) as u64
    }

    /// Stores `hot` as the accessing task's latest record at its site: over `own` (the
    /// record it supersedes, same task, location and kind), else in the place of `vacant`
    /// (another task's record at the same site that this access superseded), else as a
    /// new one. With both, `vacant` is removed.
    #[inline(always)]
    fn keep(&mut self, own: Option<usize>, vacant: Option<usize>, hot: Hot, site: Site, syncs: u32) {
        let cold = Cold {
            event: site.event,
            ts: site.ts,
            syncs,
        };
        match (own, vacant) {
            (Some(o), None) => {
                let (h, c) = self.record_mut(o);
                (h.step_kind, *c) = (hot.step_kind, cold);
            }
            (None, Some(v)) => {
                let (h, c) = self.record_mut(v);
                (*h, *c) = (hot, cold);
            }
            (None, None) => self.push(hot, cold),
            (Some(o), Some(v)) => {
                let (h, c) = self.record_mut(o);
                (h.step_kind, *c) = (hot.step_kind, cold);
                self.swap_remove(v);
            }
        }
    }

    /// The race check of the access `rec` (at `site`, by a task whose clock is `clock`, its
    /// last synchronizations `syncs`) against these records, at most [`FAST_SCAN_MAX`]:
    /// the records it races with go to `found`, in the order of the plain scan
    /// ([`Engine::access_general`]), and `rec` is kept. Records below `floor` are dropped
    /// first (see [`Floor`]); returns how many.
    #[inline(always)]
    fn check(
        &mut self,
        rec: Hot,
        clock: &[u64],
        floor: &[u64],
        site: Site,
        syncs: u32,
        found: &mut Vec<(Hot, Cold)>,
    ) -> u64 {
        debug_assert!(self.len() <= FAST_SCAN_MAX);
        let (ix, loc, code) = (rec.task as usize, rec.loc, rec.step_kind & 7);
        let cold = Cold {
            event: site.event,
            ts: site.ts,
            syncs,
        };
        if self.rest.is_empty() {
            // No record or one (the usual case): the same steps without the masks.
            let h = self.hot0;
            if h.step_kind == NO_RECORD {
                (self.hot0, self.cold0) = (rec, cold);
                return 0;
            }
            let t = h.task as usize;
            if h.dead(floor) {
                (self.hot0, self.cold0) = (rec, cold);
                return 1;
            }
            let same = h.loc == loc && h.step_kind & 7 == code;
            if t == ix {
                if same {
                    (self.hot0.step_kind, self.cold0) = (rec.step_kind, cold);
                } else {
                    self.rest.push((rec, cold));
                }
                return 0;
            }
            if h.step() <= clock.get(t).copied().unwrap_or(0) {
                if same {
                    (self.hot0, self.cold0) = (rec, cold);
                    return 0;
                }
            } else if (CONFLICTS[code as usize] >> (h.step_kind & 7)) & 1 != 0 {
                found.push((h, self.cold0));
            }
            self.rest.push((rec, cold));
            return 0;
        }
        // Which record kinds conflict with this access (bit per kind code).
        let conflicts = CONFLICTS[code as usize];
        let marks = |vs: &VarSt| {
            let (mut mask, mut dead) = (0u64, 0u64);
            let mut mark = |k: usize, h: &Hot| {
                let t = h.task as usize;
                let seen = clock.get(t).copied().unwrap_or(0);
                let unordered = h.step() > seen;
                let same = h.loc == loc && h.step_kind & 7 == code;
                let conflict = (conflicts >> (h.step_kind & 7)) & 1 != 0;
                mask |= ((same | (unordered & conflict)) as u64) << k;
                dead |= (h.dead(floor) as u64) << k;
            };
            mark(0, &vs.hot0);
            for (k, (h, _)) in vs.rest.iter().enumerate() {
                mark(k + 1, h);
            }
            (mask, dead)
        };
        let (mut mask, dead) = marks(self);
        let mut dropped = 0;
        if dead != 0 {
            dropped = self.drop_marked(dead);
            if self.hot0.step_kind == NO_RECORD {
                self.push(rec, cold);
                return dropped;
            }
            mask = marks(self).0;
        }
        // Pass 2: those records, visited in the order of the plain scan (a record removed
        // by `swap_remove` is replaced by the last one, visited next).
        let mut own = None;
        let mut vacant = None;
        while mask != 0 {
            let i = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            let h = self.hot(i);
            if h.task as usize == ix {
                // Own records are always ordered: flagged for the same site.
                own = Some(i);
                continue;
            }
            let seen = clock.get(h.task as usize).copied().unwrap_or(0);
            if h.step() <= seen {
                // Same site, superseded by this access: every later access racing with it
                // races with this one too, at the same location pair. The first one's
                // place takes the new record (see `VarSt::keep`), the others go.
                if vacant.is_none() {
                    vacant = Some(i);
                    continue;
                }
                self.swap_remove(i);
                let last = self.len();
                if last > i {
                    let moved = (mask >> last) & 1;
                    mask &= !(1u64 << last);
                    mask |= moved << i;
                }
            } else if (conflicts >> (h.step_kind & 7)) & 1 != 0 {
                found.push((h, self.cold(i)));
            }
        }
        self.keep(own, vacant, rec, site, syncs);
        dropped
    }

    /// Removes the records whose bit is set in `marks` (at most [`FAST_SCAN_MAX`]
    /// records), keeping the others in order; returns how many went.
    #[inline(always)]
    fn drop_marked(&mut self, marks: u64) -> u64 {
        let n = self.len();
        if marks.count_ones() as usize == n {
            // All of them (the usual case: one record, dead).
            self.hot0.step_kind = NO_RECORD;
            self.rest.clear();
            return n as u64;
        }
        self.drop_some(marks)
    }

    /// [`VarSt::drop_marked`] when some records stay.
    #[inline(never)]
    fn drop_some(&mut self, marks: u64) -> u64 {
        self.retain(|i, _| (marks >> i) & 1 == 0)
    }

    /// Removes the records below `floor` (see [`Floor`]), keeping the others in order;
    /// returns how many went.
    fn drop_dead(&mut self, floor: &[u64]) -> u64 {
        if floor.is_empty() || !(0..self.len()).any(|i| self.hot(i).dead(floor)) {
            return 0;
        }
        self.retain(|_, h| !h.dead(floor))
    }
}

const NO_LOC: u32 = u32::MAX;

/// Not a plain access (see [`Queue::slots`]).
const NO_SLOT: u32 = u32::MAX;

/// [`Queue::slots`] entry of `ev`: its variable's position in `vars` (created when new) for
/// a plain read or write, else [`NO_SLOT`].
#[inline(always)]
fn slot_of(vars: &mut DenseMap<VarSt>, ev: &Event) -> u32 {
    match ev.kind {
        EventKind::VarRead { var } | EventKind::VarWrite { var } => {
            u32::try_from(vars.position_or_insert_with(var, VarSt::new)).unwrap_or(NO_SLOT)
        }
        _ => NO_SLOT,
    }
}

/// How many events ahead [`Engine::access_run`] fetches a variable's slot...
const PREFETCH_SLOT: usize = 8;
/// ...and its record blocks.
const PREFETCH_RECORDS: usize = 4;

/// A cache prefetch hint for the line holding `p` (nothing on other architectures).
#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch is only a hint: it reads nothing the program sees and never
        // faults, whatever the address; SSE is part of the x86_64 baseline.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// [`prefetch`] for every cache line of `v`'s elements and of the place a push would take:
/// the race check reads every record, and overwrites, moves or adds one anywhere.
#[inline(always)]
fn prefetch_spill<T>(v: &Vec<T>) {
    let p = v.as_ptr().cast::<u8>();
    let bytes = (v.len() + 1).min(v.capacity()) * std::mem::size_of::<T>();
    let mut off = 0;
    while off < bytes {
        prefetch(p.wrapping_add(off));
        off += 64;
    }
    if bytes > 0 {
        prefetch(p.wrapping_add(bytes - 1));
    }
}

fn loc_key(loc: Option<LocId>) -> u32 {
    loc.unwrap_or(NO_LOC)
}

fn loc_of(key: u32) -> Option<LocId> {
    (key != NO_LOC).then_some(key)
}

/// The site of event `ev`, whose reference is `r`.
#[inline(always)]
fn site_of(r: EventRef, ev: &Event) -> Site {
    Site {
        event: r,
        task: ev.task,
        loc: ev.loc,
        ts: ev.ts,
    }
}

/// Puts `op` at the front of a task's list of last synchronizations (`snap`) and counts
/// (and with `collect_edges` keeps) an edge from each partner of another task: the part of
/// [`Engine::note_sync`] after its checks, shared with [`Engine::lock_fast`].
#[inline(always)]
fn record_sync(
    snaps: &mut SnapArena,
    stats: &mut Stats,
    edges: &mut Vec<HbEdge>,
    collect_edges: bool,
    snap: &mut u32,
    op: SyncOp,
    partners: &[Site],
) {
    let (kind, at) = (op.kind, op.at);
    *snap = snaps.push(op, *snap);
    for p in partners {
        if p.task != at.task {
            stats.edges += 1;
            if collect_edges {
                edges.push(HbEdge {
                    kind,
                    from: p.event,
                    to: at.event,
                });
            }
        }
    }
}

/// Notes the acquisition `held` by task `t` (index `ix`) for the lock-order graph and pushes
/// it on the task's held locks (see [`Engine::lock_acquired`], which [`Engine::lock_fast`]
/// shares this with).
#[inline(always)]
fn note_acquired(
    lock_order: &mut Option<LockOrder>,
    stats: &mut Stats,
    t: &mut TaskState,
    ix: usize,
    held: Held,
) {
    if let Some(lo) = lock_order {
        if !t.held.is_empty() {
            stats.nested_acquisitions += 1;
        }
        if lo.acquire_matters(&t.held) {
            lo.acquire(t.id, &t.held, held.obj, held.mode, held.site, &t.clocks.nl, ix);
        }
    }
    t.held.push(held);
}

/// Moves task `ix`, whose clocks these are, to its next step (see [`Engine::after_sync`]);
/// `nl`: whether the no-lock clock is kept.
#[inline(always)]
fn next_step(c: &mut Clocks, ix: usize, nl: bool) {
    let s = match c.hb.0.get_mut(ix) {
        Some(own) => {
            *own += 1;
            *own
        }
        None => {
            c.hb.set(ix, 1);
            1
        }
    };
    if nl {
        match c.nl.0.get_mut(ix) {
            Some(own) => *own = s,
            None => c.nl.set(ix, s),
        }
    }
}

/// Which access records can no longer race ([`Options::prune_every`]).
///
/// A record of task `u` at step `s` races only with a later access of another task that has
/// not seen step `s` of `u`. Every `prune_every` events the engine takes the lowest entry
/// `u` of the clocks of all the tasks that may still access: the started ones not ended,
/// the spawned ones not started (at their spawn's clock), and the known roots not started
/// (at their own clock, which has seen nothing). A record at or below that floor is ordered
/// before every access still to come, can no longer race, and is dropped when its variable
/// is next checked. (Tasks that wait for a spawn not yet processed are left out: their
/// clock will hold their spawner's, which is counted or is itself waiting.)
///
/// Two things break the assumption: a task that starts with a clock below a floor already
/// used (a root nobody defined up front, or a forced event), and an event of a task after
/// its end. Then nothing more is dropped, and if something was, the analysis must start
/// over without dropping ([`Engine::must_restart`]).
#[derive(Debug, Default)]
struct Floor {
    /// The floor records are dropped below, by task index (missing: 0; empty: drop nothing).
    now: Vec<u64>,
    /// The entrywise maximum of every floor used: what a starting task's clock must reach.
    high: Vec<u64>,
    /// [`Stats::events`] at which the floor is worked out next (`u64::MAX`: never).
    next_at: u64,
    /// A task went on below `high` (see above).
    broken: bool,
    /// Records dropped so far.
    dropped: u64,
}

impl Floor {
    /// Stops dropping records for good (see [`Floor::broken`]).
    fn break_it(&mut self) {
        self.broken = true;
        self.now = Vec::new();
        self.next_at = u64::MAX;
    }
}

/// The engine. Feed definitions and events with [`Engine::define`] and [`Engine::push`],
/// call [`Engine::pump`] now and then, and [`Engine::finish`] at the end.
#[derive(Debug)]
pub(crate) struct Engine {
    opts: Options,
    pub(crate) symbols: Symbols,
    tasks: Vec<TaskState>,
    task_ix: IdIndex,
    objs: DenseMap<Obj>,
    vars: DenseMap<VarSt>,
    scratch: Vec<(Hot, Cold)>,
    /// Scratch for [`Queue::append`]'s slots.
    slot_scratch: Vec<u32>,
    snaps: SnapArena,
    floor: Floor,
    heap: BinaryHeap<Turn>,
    waiters: FastMap<Key, Vec<usize>>,
    pending: usize,
    next_ref: EventRef,
    races: Vec<Race>,
    /// Each reported (variable, location, location): its race's position in `races` and
    /// how many times it raced (kept here, where a repeat looks it up anyway, and copied
    /// into the races at the end).
    race_ix: FastMap<(ObjectId, u32, u32), (usize, u64)>,
    diags: Vec<Diagnostic>,
    edges: Vec<HbEdge>,
    stats: Stats,
    lock_order: Option<LockOrder>,
    track_nl: bool,
    /// The task of the last pushed event and its index (frames hold one task's events).
    last_push: Option<(TaskId, usize)>,
    /// Tests: always take the plain record scan (the reference for the fast one).
    #[cfg(test)]
    plain_scan: bool,
    /// Tests: never take the mutex fast paths of [`Engine::check`] (the reference for them).
    #[cfg(test)]
    general_sync: bool,
}

/// A queued task's turn in the merge: the timestamp and reference of its next event in one
/// number (references are unique, so no two turns tie, and a comparison takes no branch),
/// ordered smallest first for `BinaryHeap` (and equal when the keys are).
#[derive(Debug, Clone, Copy)]
struct Turn {
    key: u128,
    ix: usize,
}

/// [`Turn::key`] of an event with timestamp `ts` and reference `r`.
#[inline(always)]
fn turn_key(ts: u64, r: EventRef) -> u128 {
    (ts as u128) << 64 | r as u128
}

impl Turn {
    #[inline(always)]
    fn new(ts: u64, r: EventRef, ix: usize) -> Turn {
        Turn {
            key: turn_key(ts, r),
            ix,
        }
    }
}

impl PartialEq for Turn {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Turn {}

impl Ord for Turn {
    #[inline(always)]
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.key.cmp(&self.key)
    }
}

impl PartialOrd for Turn {
    #[inline(always)]
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The outcome of trying an event.
enum Try {
    /// It can be processed now.
    Ready,
    /// It must wait for this key.
    Wait(Key),
    /// It was processed already (a usual mutex event: see [`Engine::check`]); its key may
    /// unblock waiters.
    Done(Key),
}

impl Engine {
    pub(crate) fn new(opts: &Options) -> Self {
        Engine {
            opts: opts.clone(),
            symbols: Symbols::default(),
            tasks: Vec::new(),
            task_ix: IdIndex::default(),
            objs: DenseMap::default(),
            vars: DenseMap::default(),
            scratch: Vec::new(),
            slot_scratch: Vec::new(),
            snaps: SnapArena::new(opts.explain_syncs.clamp(1, 4)),
            floor: Floor {
                next_at: if opts.prune_every == 0 {
                    u64::MAX
                } else {
                    opts.prune_every
                },
                ..Floor::default()
            },
            heap: BinaryHeap::new(),
            waiters: FastMap::default(),
            pending: 0,
            next_ref: 0,
            races: Vec::new(),
            race_ix: FastMap::default(),
            diags: Vec::new(),
            edges: Vec::new(),
            stats: Stats::default(),
            lock_order: opts.lock_cycles.then(|| LockOrder::new(opts)),
            track_nl: opts.lock_cycles,
            last_push: None,
            #[cfg(test)]
            plain_scan: false,
            #[cfg(test)]
            general_sync: false,
        }
    }

    /// Records a definition.
    pub(crate) fn define(&mut self, def: &Def) {
        self.symbols.apply(def);
        if let Def::Task { id, parent, .. } = def {
            let ix = self.task(*id);
            self.tasks[ix].has_parent = parent.is_some();
        }
    }

    fn task(&mut self, id: TaskId) -> usize {
        let (ix, new) = self.task_ix.get_or_add(id as u64);
        if !new {
            return ix;
        }
        debug_assert_eq!(ix, self.tasks.len());
        let mut clocks = Clocks::default();
        clocks.hb.set(ix, 1);
        if self.track_nl {
            clocks.nl.set(ix, 1);
        }
        self.tasks.push(TaskState {
            id,
            queue: Queue::default(),
            sched: Sched::Idle,
            clocks,
            started: false,
            ended: false,
            has_parent: false,
            spawn: None,
            end: None,
            last_event: NO_EVENT,
            last_loc: None,
            last_ts: 0,
            held: Vec::new(),
            snap: NO_SNAP,
            after_end_reported: false,
        });
        ix
    }

    /// Events given so far.
    pub(crate) fn events_seen(&self) -> u64 {
        self.next_ref
    }

    /// Adds the next event in file order.
    pub(crate) fn push(&mut self, ev: Event) {
        let r = self.next_ref;
        self.next_ref += 1;
        let ix = match self.last_push {
            Some((id, ix)) if id == ev.task => ix,
            _ => {
                let ix = self.task(ev.task);
                self.last_push = Some((ev.task, ix));
                ix
            }
        };
        let slot = slot_of(&mut self.vars, &ev);
        let t = &mut self.tasks[ix];
        let ts = ev.ts;
        t.queue.push_back(ev, slot, r);
        self.pending += 1;
        if self.pending as u64 > self.stats.max_pending {
            self.stats.max_pending = self.pending as u64;
        }
        if t.sched == Sched::Idle {
            t.sched = Sched::Queued;
            self.heap.push(Turn::new(ts, r, ix));
        }
    }

    /// Adds `events` (the next events in file order) and empties it (possibly exchanging
    /// its buffer for an empty one): the same as pushing them one by one, with one task
    /// lookup per run of events of one task, and no copy when the task had nothing
    /// waiting.
    pub(crate) fn push_all(&mut self, events: &mut Vec<Event>) {
        let Some(first) = events.first() else {
            return;
        };
        let task = first.task;
        if events.iter().all(|e| e.task == task) {
            self.push_run(events);
            return;
        }
        self.push_mixed(events);
    }

    /// Adds the events of a decoded frame, which are all of task `task` (the frame's):
    /// [`Engine::push_all`] without reading every event to check that.
    pub(crate) fn push_frame(&mut self, task: TaskId, events: &mut Vec<Event>) {
        debug_assert!(events.iter().all(|e| e.task == task));
        self.push_run(events);
    }

    /// [`Engine::push_all`] for events of several tasks.
    fn push_mixed(&mut self, events: &mut Vec<Event>) {
        let mut run = Vec::new();
        let mut i = 0;
        while i < events.len() {
            let task = events[i].task;
            let n = events[i..].iter().take_while(|e| e.task == task).count();
            run.extend_from_slice(&events[i..i + n]);
            self.push_run(&mut run);
            run.clear();
            i += n;
        }
        events.clear();
    }

    /// [`Engine::push_all`] for events of one task.
    fn push_run(&mut self, events: &mut Vec<Event>) {
        let Some(first) = events.first() else {
            return;
        };
        let (task, ts) = (first.task, first.ts);
        let n = events.len();
        let ix = self.task(task);
        let r0 = self.next_ref;
        // The variables' positions now, while the events are in cache (see `Queue::slots`).
        let mut slots = std::mem::take(&mut self.slot_scratch);
        slots.clear();
        slots.extend(events.iter().map(|ev| slot_of(&mut self.vars, ev)));
        let t = &mut self.tasks[ix];
        t.queue.append(events, &mut slots, r0);
        self.slot_scratch = slots;
        self.next_ref += n as u64;
        self.pending += n;
        if self.pending as u64 > self.stats.max_pending {
            self.stats.max_pending = self.pending as u64;
        }
        if t.sched == Sched::Idle {
            t.sched = Sched::Queued;
            self.heap.push(Turn::new(ts, r0, ix));
        }
    }

    /// Processes every event that can be processed now. When more than
    /// [`Options::max_pending`] events wait blocked, forces the oldest through.
    pub(crate) fn pump(&mut self) {
        loop {
            self.run();
            if self.pending <= self.opts.max_pending || !self.force_oldest() {
                break;
            }
        }
    }

    /// Whether the analysis has dropped an access record that a task which turned up later
    /// could race with (see [`Floor`]): its result would not be exact, and it must be run
    /// again with [`Options::prune_every`] 0.
    pub(crate) fn must_restart(&self) -> bool {
        self.floor.broken && self.floor.dropped > 0
    }

    /// Works out the floor below which access records can no longer race (see [`Floor`]).
    #[inline(never)]
    fn raise_floor(&mut self) {
        let n = self.tasks.len() as u64;
        // At least `n * n / 8` events apart, so that the cost per event stays small with
        // many tasks.
        self.floor.next_at = self.stats.events + self.opts.prune_every.max(n * n / 8);
        let mut floor: Option<Vec<u64>> = None;
        for t in &self.tasks {
            let clock = if t.ended {
                continue;
            } else if t.started {
                &t.clocks.hb
            } else if let Some((c, _)) = &t.spawn {
                &c.hb
            } else if t.has_parent {
                continue;
            } else {
                // A root still to start has seen nothing of the others.
                floor = Some(Vec::new());
                break;
            };
            match &mut floor {
                None => floor = Some(clock.0.clone()),
                Some(f) => {
                    f.truncate(clock.0.len());
                    for (a, &b) in f.iter_mut().zip(&clock.0) {
                        *a = (*a).min(b);
                    }
                }
            }
        }
        // No task may access any more: a task still to turn up would be a root.
        let floor = floor.unwrap_or_default();
        let high = &mut self.floor.high;
        if high.len() < floor.len() {
            high.resize(floor.len(), 0);
        }
        for (h, &f) in high.iter_mut().zip(&floor) {
            *h = (*h).max(f);
        }
        self.floor.now = floor;
    }

    /// Called when task `ix` starts: a clock below a floor already used means records it
    /// could race with may be gone (see [`Floor`]).
    fn check_floor(&mut self, ix: usize) {
        let f = &self.floor;
        if f.broken || f.high.is_empty() {
            return;
        }
        let clock = &self.tasks[ix].clocks.hb;
        if f.high.iter().enumerate().any(|(u, &h)| clock.get(u) < h) {
            self.floor.break_it();
        }
    }

    /// Processes everything left, forcing blocked events through, and returns the result,
    /// or `None` when the analysis must start over without dropping records
    /// ([`Engine::must_restart`]).
    pub(crate) fn finish(mut self, lost: Vec<String>, program: String) -> Option<Analysis> {
        loop {
            self.run();
            if self.pending == 0 || !self.force_oldest() {
                break;
            }
        }
        if self.must_restart() {
            return None;
        }
        self.stats.records_dropped = self.floor.dropped;
        self.stats.tasks = self.tasks.len() as u64;
        self.diagnose_number_gaps();
        let mut races = std::mem::take(&mut self.races);
        for &(i, count) in self.race_ix.values() {
            races[i].count = count;
        }
        races.sort_by(|a, b| {
            (a.var, a.first.event, a.second.event).cmp(&(b.var, b.first.event, b.second.event))
        });
        self.stats.race_pairs = races.iter().map(|r| r.count).sum();
        let cycles = match self.lock_order.take() {
            Some(lo) => lo.cycles(&mut self.stats, &self.symbols, &mut self.diags),
            None => Vec::new(),
        };
        let mut diags = std::mem::take(&mut self.diags);
        diags.sort();
        diags.dedup();
        Some(Analysis {
            races,
            cycles,
            diagnostics: diags,
            edges: std::mem::take(&mut self.edges),
            stats: std::mem::take(&mut self.stats),
            lost,
            symbols: std::mem::take(&mut self.symbols),
            program,
        })
    }

    /// Sends and atomic writes whose numbers have gaps that no receive or load named: the
    /// trace lost those events (a missing partner is diagnosed where it is named).
    fn diagnose_number_gaps(&mut self) {
        let mut gaps = Vec::new();
        for o in self.objs.values() {
            match o {
                Obj::Chan(ch) => {
                    if let Some(n) = ch.sends.missing() {
                        let what = format!("{n} of the sends numbered 1..={}", ch.sends.max);
                        gaps.push((ch.id, ch.sends.max_at, what));
                    }
                }
                Obj::Atomic(a) => {
                    if let Some(n) = a.writes.missing() {
                        let what = format!("{n} of the writes numbered 1..={}", a.writes.max);
                        gaps.push((a.id, a.writes.max_at, what));
                    }
                }
                _ => {}
            }
        }
        for (id, at, what) in gaps {
            let name = self.symbols.object_name(id);
            let noun = self.symbols.object(id).map_or("object", |o| o.kind.noun());
            self.diag(
                Some(at),
                format!("{noun} `{name}`: {what} are not in the trace (events were lost)"),
            );
        }
    }

    fn run(&mut self) {
        let mut next = self.heap.pop();
        while let Some(Turn { ix, .. }) = next.take() {
            self.tasks[ix].sched = Sched::Idle;
            let mut limit = self.heap.peek().map_or(u128::MAX, |t| t.key);
            loop {
                if self.stats.events >= self.floor.next_at {
                    self.raise_floor();
                }
                // Plain accesses of a running task are always ready: a run of them takes
                // the inner loop.
                let t = &self.tasks[ix];
                let Some(e) = t.queue.front() else {
                    break;
                };
                let access = matches!(e.kind, EventKind::VarRead { .. } | EventKind::VarWrite { .. });
                if access && t.started && !t.ended && self.access_run(ix, limit) {
                    continue;
                }
                let q = &self.tasks[ix].queue;
                let Some(e) = q.front() else {
                    break;
                };
                let (r, ts) = (q.front_ref(), e.ts);
                if turn_key(ts, r) > limit {
                    // The task at the top of the heap (`limit`) goes next, and this one
                    // takes its place: one sift instead of a push and a pop.
                    self.tasks[ix].sched = Sched::Queued;
                    let me = Turn::new(ts, r, ix);
                    next = self
                        .heap
                        .peek_mut()
                        .map(|mut top| std::mem::replace(&mut *top, me));
                    if next.is_none() {
                        // (`limit` comes from the heap, so it is not empty.)
                        self.heap.push(me);
                    }
                    break;
                }
                let ev = *self.tasks[ix].queue.front().expect("checked above");
                match self.check(ix, r, &ev) {
                    Try::Wait(key) => {
                        self.tasks[ix].sched = Sched::Blocked;
                        self.waiters.entry(key).or_default().push(ix);
                        break;
                    }
                    done => {
                        self.tasks[ix].queue.advance();
                        self.pending -= 1;
                        let key = match done {
                            // Processed by `check` already (the usual mutex events).
                            Try::Done(key) => Some(key),
                            _ => self.process(ix, r, &ev),
                        };
                        if key.is_some_and(|key| self.wake(key)) {
                            limit = self.heap.peek().map_or(u128::MAX, |t| t.key);
                        }
                    }
                }
            }
            if next.is_none() {
                next = self.heap.pop();
            }
        }
    }

    /// Processes the plain reads and writes at the front of task `ix`'s queue (the task is
    /// started and not ended, so they are always ready), in order, up to the first other
    /// event, the first one after `limit` (the next task's turn), the first of a variable
    /// with more records than the fast scan takes, or the first that races (reported
    /// here). Returns whether it processed any.
    ///
    /// The same work as [`Engine::process`] for an access, with the queue position, the
    /// event reference and the task's clock in locals: none of them changes during a run
    /// of accesses, and the bookkeeping is written back once per run.
    ///
    /// It also asks the CPU to start loading the records of the variables the upcoming
    /// accesses touch (the race check is otherwise bound by those cache misses on large
    /// variable tables): first the variable's slot, a few events later the record blocks
    /// it points to. A hint only: it changes no state.
    #[inline(always)]
    fn access_run(&mut self, ix: usize, limit: u128) -> bool {
        // Tests: the plain scan (the reference for the fast one) takes the general path.
        #[cfg(not(test))]
        let plain = false;
        #[cfg(test)]
        let plain = self.plain_scan;
        let Engine {
            tasks,
            vars,
            scratch,
            floor,
            ..
        } = self;
        let fl = &floor.now[..];
        let mut dropped = 0;
        let t = &mut tasks[ix];
        let q = &mut t.queue;
        let clock = &t.clocks.hb.0[..];
        let step = clock.get(ix).copied().unwrap_or(0);
        let syncs = t.snap;
        let (items, slots, runs) = (&q.items[..], &q.slots[..], &q.runs[..]);
        let first = q.head;
        let mut head = first;
        let mut run = q.run;
        let (mut start, mut r0) = runs.get(run).copied().unwrap_or((0, 0));
        let mut next_start = runs.get(run + 1).map_or(usize::MAX, |x| x.0);
        let mut last = None;
        while let Some(e) = items.get(head) {
            let (var, kind) = match e.kind {
                EventKind::VarRead { var } => (var, AccessKind::Read),
                EventKind::VarWrite { var } => (var, AccessKind::Write),
                _ => break,
            };
            let r = r0 + (head - start) as u64;
            if turn_key(e.ts, r) > limit {
                break;
            }
            // (`NO_SLOT` is past the end of `vars`.)
            let ahead = |k: usize| slots.get(head + k).and_then(|&s| vars.at(s as usize));
            if let Some(vs) = ahead(PREFETCH_SLOT) {
                prefetch(vs as *const VarSt);
            }
            if let Some(vs) = ahead(PREFETCH_RECORDS) {
                if !vs.rest.is_empty() {
                    prefetch_spill(&vs.rest);
                }
            }
            let pos = slots[head] as usize;
            let vs = match vars.at_mut(pos) {
                Some(vs) => vs,
                None => vars.get_or_insert_with(var, VarSt::new),
            };
            if plain || vs.rest.len() >= FAST_SCAN_MAX {
                break;
            }
            let site = site_of(r, e);
            head += 1;
            if head == next_start {
                run += 1;
                (start, r0) = runs[run];
                next_start = runs.get(run + 1).map_or(usize::MAX, |x| x.0);
            }
            dropped += vs.check(
                Hot::new(step, kind_code(kind), ix, loc_key(e.loc)),
                clock,
                fl,
                site,
                syncs,
                scratch,
            );
            last = Some((var, kind, site));
            if !scratch.is_empty() {
                break;
            }
        }
        floor.dropped += dropped;
        let Some((var, kind, site)) = last else {
            return false;
        };
        let n = head - first;
        if head == items.len() {
            q.items.clear();
            q.slots.clear();
            q.runs.clear();
            q.head = 0;
            q.run = 0;
        } else {
            q.head = head;
            q.run = run;
        }
        (t.last_event, t.last_loc, t.last_ts) = (site.event, site.loc, site.ts);
        self.pending -= n;
        self.stats.events += n as u64;
        self.stats.accesses += n as u64;
        if !self.scratch.is_empty() {
            self.report_found(var, kind, site, ix);
        }
        true
    }

    /// Makes the tasks blocked on `key` runnable again; returns whether there were any.
    #[inline(always)]
    fn wake(&mut self, key: Key) -> bool {
        // Usually nobody waits (checked after every synchronization).
        !self.waiters.is_empty() && self.wake_waiters(key)
    }

    /// [`Engine::wake`] when some task waits.
    #[inline(never)]
    fn wake_waiters(&mut self, key: Key) -> bool {
        let Some(list) = self.waiters.remove(&key) else {
            return false;
        };
        let mut any = false;
        for ix in list {
            let t = &mut self.tasks[ix];
            if t.sched == Sched::Blocked {
                if let Some(ev) = t.queue.front() {
                    t.sched = Sched::Queued;
                    self.heap.push(Turn::new(ev.ts, t.queue.front_ref(), ix));
                    any = true;
                }
            }
        }
        any
    }

    /// Forces the oldest blocked event through; returns false when nothing is blocked.
    fn force_oldest(&mut self) -> bool {
        let mut best: Option<(u64, EventRef, usize)> = None;
        for (ix, t) in self.tasks.iter().enumerate() {
            if t.sched == Sched::Blocked {
                if let Some(ev) = t.queue.front() {
                    let k = (ev.ts, t.queue.front_ref(), ix);
                    if best.is_none_or(|b| k < b) {
                        best = Some(k);
                    }
                }
            }
        }
        let Some((_, r, ix)) = best else {
            return false;
        };
        let (_, ev) = self.tasks[ix]
            .queue
            .pop_front()
            .expect("blocked task has a queued event");
        self.pending -= 1;
        self.stats.forced += 1;
        self.tasks[ix].sched = Sched::Idle;
        if let Some(key) = self.process(ix, r, &ev) {
            self.wake(key);
        }
        let t = &mut self.tasks[ix];
        if t.sched == Sched::Idle {
            if let Some(ev) = t.queue.front() {
                t.sched = Sched::Queued;
                self.heap.push(Turn::new(ev.ts, t.queue.front_ref(), ix));
            }
        }
        true
    }

    fn diag(&mut self, event: Option<EventRef>, message: String) {
        self.diags.push(Diagnostic { event, message });
    }

    fn obj_kind(&self, id: ObjectId) -> Option<ObjectKind> {
        self.symbols.object(id).map(|o| o.kind)
    }

    fn obj(&mut self, id: ObjectId, make: fn(&Engine, ObjectId) -> Obj) -> &mut Obj {
        if !self.objs.contains_key(&id) {
            let o = make(self, id);
            self.objs.insert(id, o);
        }
        self.objs.get_mut(&id).expect("just inserted")
    }

    /// Whether the task's next event `ev` (reference `r`) can be processed now. The usual
    /// mutex events (a quarter of the benchmark's) are processed at once when they can be,
    /// as [`Engine::process`] would (see [`Engine::lock_fast`]): they then need neither
    /// this check's lookups nor that function's, nor its large frame.
    #[inline(always)]
    fn check(&mut self, ix: usize, r: EventRef, ev: &Event) -> Try {
        #[cfg(test)]
        if self.general_sync {
            return self.ready(ix, ev);
        }
        let done = match ev.kind {
            EventKind::MutexLock { mutex, seq } => self.lock_fast(ix, r, ev, mutex, seq),
            EventKind::MutexUnlock { mutex, seq } => self.unlock_fast(ix, r, ev, mutex, seq),
            _ => None,
        };
        match done {
            Some(key) => Try::Done(key),
            None => self.ready(ix, ev),
        }
    }

    /// Whether the task's next event can be processed now.
    fn ready(&self, ix: usize, ev: &Event) -> Try {
        let t = &self.tasks[ix];
        if !t.started && t.has_parent && t.spawn.is_none() && ev.kind != EventKind::TaskStart {
            return Try::Wait(Key::Task(ix));
        }
        use EventKind::*;
        match ev.kind {
            TaskJoin { child } => match self.task_ix.get(child as u64) {
                Some(c) if self.tasks[c].end.is_some() => Try::Ready,
                Some(c) => Try::Wait(Key::Task(c)),
                None => Try::Wait(Key::Task(usize::MAX)),
            },
            MutexLock { mutex, seq } => {
                if t.held.iter().any(|h| h.obj == mutex && h.seq == seq) {
                    return Try::Ready;
                }
                match self.objs.get(&mutex) {
                    Some(Obj::Mutex(m)) => {
                        if seq <= m.acquired || (seq == m.acquired + 1 && m.holder.is_none()) {
                            Try::Ready
                        } else {
                            Try::Wait(Key::Obj(mutex))
                        }
                    }
                    Some(_) => Try::Ready,
                    None if seq <= 1 => Try::Ready,
                    None => Try::Wait(Key::Obj(mutex)),
                }
            }
            RwReadLock { lock, seq } | RwWriteLock { lock, seq } => {
                let write = matches!(ev.kind, RwWriteLock { .. });
                match self.objs.get(&lock) {
                    Some(Obj::Rw(rw)) => {
                        let ok = seq <= rw.acquired
                            || (seq == rw.acquired + 1 && rw.writer.is_none() && (!write || rw.readers == 0));
                        if ok {
                            Try::Ready
                        } else {
                            Try::Wait(Key::Obj(lock))
                        }
                    }
                    Some(_) => Try::Ready,
                    None if seq <= 1 => Try::Ready,
                    None => Try::Wait(Key::Obj(lock)),
                }
            }
            ChanSendEnd { chan, seq } => {
                let cap = match self.objs.get(&chan) {
                    Some(Obj::Chan(c)) => c.cap,
                    Some(_) => return Try::Ready,
                    None => self.chan_cap(chan),
                };
                match cap {
                    Some(c) if seq > c => match self.objs.get(&chan) {
                        Some(Obj::Chan(ch)) if ch.recvs.contains_key(&(seq - c)) => Try::Ready,
                        _ => Try::Wait(Key::Obj(chan)),
                    },
                    _ => Try::Ready,
                }
            }
            ChanRecv { chan, result } => match (self.objs.get(&chan), result) {
                (Some(Obj::Chan(ch)), RecvResult::Value { seq }) if ch.msgs.contains_key(&seq) => Try::Ready,
                (Some(Obj::Chan(ch)), RecvResult::Closed { closes }) if ch.closes.len() as u64 >= closes => {
                    Try::Ready
                }
                (Some(Obj::Chan(_)) | None, _) => Try::Wait(Key::Obj(chan)),
                _ => Try::Ready,
            },
            OnceAlreadyDone { once } => match self.objs.get(&once) {
                Some(Obj::Once(Some(_))) => Try::Ready,
                Some(Obj::Once(None)) | None => Try::Wait(Key::Obj(once)),
                _ => Try::Ready,
            },
            WaitGroupDone { wg: obj, seq, .. }
            | BarrierArrive {
                barrier: obj, seq, ..
            } => match self.objs.get(&obj) {
                Some(Obj::Wg(p) | Obj::Barrier(p)) if seq > p.count.saturating_add(1) => {
                    Try::Wait(Key::Obj(obj))
                }
                None if seq > 1 => Try::Wait(Key::Obj(obj)),
                _ => Try::Ready,
            },
            WaitGroupWait { wg: obj, seq } | BarrierLeave { barrier: obj, seq } => {
                if seq == 0 {
                    return Try::Ready;
                }
                match self.objs.get(&obj) {
                    Some(Obj::Wg(p) | Obj::Barrier(p)) if p.snaps.contains_key(&seq) => Try::Ready,
                    Some(Obj::Wg(_) | Obj::Barrier(_)) | None => Try::Wait(Key::Obj(obj)),
                    _ => Try::Ready,
                }
            }
            AtomicLoad {
                atomic,
                order,
                version,
            } => {
                if version == 0 || !order.is_acquire() {
                    return Try::Ready;
                }
                self.check_version(atomic, version)
            }
            AtomicRmw { atomic, version, .. } => {
                if version <= 1 {
                    return Try::Ready;
                }
                self.check_version(atomic, version - 1)
            }
            _ => Try::Ready,
        }
    }

    fn check_version(&self, atomic: ObjectId, version: u64) -> Try {
        match self.objs.get(&atomic) {
            Some(Obj::Atomic(a)) if a.versions.contains_key(&version) || version <= a.forgotten => Try::Ready,
            Some(Obj::Atomic(_)) | None => Try::Wait(Key::Obj(atomic)),
            _ => Try::Ready,
        }
    }

    fn chan_cap(&self, chan: ObjectId) -> Option<u64> {
        match self.obj_kind(chan) {
            Some(ObjectKind::Channel { capacity }) => capacity,
            _ => None,
        }
    }

    /// Joins `src` into the task's clocks (the hb clock only for lock edges), records the
    /// synchronization for explanations and the edges when collected.
    #[allow(clippy::too_many_arguments)]
    fn acquire(
        &mut self,
        ix: usize,
        kind: EdgeKind,
        object: Option<ObjectId>,
        at: Site,
        src: &Clocks,
        partners: &[Site],
    ) {
        let t = &mut self.tasks[ix];
        t.clocks.hb.join(&src.hb);
        if self.track_nl && !kind.is_lock() {
            t.clocks.nl.join(&src.nl);
        }
        self.note_sync(ix, kind, object, at, partners);
    }

    /// The bookkeeping half of [`Engine::acquire`], for callers that joined the clocks
    /// themselves: records the synchronization for explanations and the edges when
    /// collected. Always inlined: a call (its arguments spilled, the partner copied out)
    /// cost about as much as the two pushes it makes.
    #[inline(always)]
    fn note_sync(
        &mut self,
        ix: usize,
        kind: EdgeKind,
        object: Option<ObjectId>,
        at: Site,
        partners: &[Site],
    ) {
        let partner = partners.last().copied();
        // A synchronization with oneself (re-acquiring a lock the task released) teaches
        // nothing and would only crowd out useful explanations.
        if partner.is_some_and(|p| p.task == at.task) {
            return;
        }
        if self.snaps.ops.len() >= self.snaps.next_gc {
            self.collect_snaps();
        }
        let op = SyncOp {
            kind,
            object,
            at,
            partner,
        };
        record_sync(
            &mut self.snaps,
            &mut self.stats,
            &mut self.edges,
            self.opts.collect_edges,
            &mut self.tasks[ix].snap,
            op,
            partners,
        );
    }

    /// Processes one event; returns the key whose waiters it may unblock.
    fn process(&mut self, ix: usize, r: EventRef, ev: &Event) -> Option<Key> {
        self.stats.events += 1;
        let site = site_of(r, ev);
        {
            let t = &mut self.tasks[ix];
            // The spawn edge goes to the first event after the start marker: imported STD
            // traces put every thread's `begin` before the `fork` that creates it.
            if !t.started && ev.kind != EventKind::TaskStart {
                t.started = true;
                if let Some((clocks, ssite)) = t.spawn.take() {
                    self.acquire(ix, EdgeKind::Spawn, None, site, &clocks, &[ssite]);
                } else if self.tasks[ix].has_parent {
                    let name = self.symbols.task_name(ev.task);
                    self.diag(
                        Some(r),
                        format!(
                            "{name} has a spawner but its spawn is not in the trace: its first event gets no spawn edge"
                        ),
                    );
                }
                self.check_floor(ix);
            }
            let t = &mut self.tasks[ix];
            if t.ended && !t.after_end_reported {
                t.after_end_reported = true;
                // Ended tasks are not counted in the floor (dropping stops for good at the
                // first such event).
                self.floor.break_it();
                let name = self.symbols.task_name(ev.task);
                self.diag(
                    Some(r),
                    format!("{name} has events after its end; they are analyzed anyway"),
                );
            }
            let t = &mut self.tasks[ix];
            (t.last_event, t.last_loc, t.last_ts) = (r, ev.loc, ev.ts);
        }
        use EventKind::*;
        let key = match ev.kind {
            VarRead { var } => {
                self.access(ix, var, AccessKind::Read, site);
                return None;
            }
            VarWrite { var } => {
                self.access(ix, var, AccessKind::Write, site);
                return None;
            }
            TaskStart | SpanEnter { .. } | SpanExit { .. } | UserEvent { .. } | Sleep { .. } | Yield => {
                return None
            }
            CondvarWaitBegin { .. }
            | CondvarWaitEnd { .. }
            | CondvarNotifyOne { .. }
            | CondvarNotifyAll { .. }
            | WaitGroupAdd { .. }
            | ChanMake { .. }
            | OnceBegin { .. }
            | MutexTryLockFailed { .. } => return None,
            LockRequest { lock } => {
                if let Some(lo) = &mut self.lock_order {
                    let t = &self.tasks[ix];
                    lo.request(ev.task, lock, site, &t.held, &t.clocks.nl, ix);
                }
                return None;
            }
            TaskSpawn { child } => {
                let c = self.task(child);
                let clocks = self.tasks[ix].clocks.clone();
                if self.tasks[c].started {
                    let name = self.symbols.task_name(child);
                    self.diag(
                        Some(r),
                        format!("spawn of {name} comes after {name}'s first event in happens-before order; no spawn edge"),
                    );
                } else {
                    if self.tasks[c].spawn.is_some() {
                        let name = self.symbols.task_name(child);
                        self.diag(Some(r), format!("{name} is spawned twice; the last spawn counts"));
                    }
                    self.tasks[c].spawn = Some((clocks, site));
                    if !self.tasks[c].has_parent {
                        // Not announced by its definition: if its events are already being
                        // waited on they were not, so tell nobody; it is joined at its start.
                        self.tasks[c].has_parent = true;
                    }
                }
                Key::Task(c)
            }
            TaskEnd => {
                // A second end is reported as an event after the end, above.
                let t = &mut self.tasks[ix];
                t.ended = true;
                t.end = Some((t.clocks.clone(), site));
                if !t.held.is_empty() {
                    let held: Vec<String> = t.held.iter().map(|h| self.symbols.object_name(h.obj)).collect();
                    let name = self.symbols.task_name(ev.task);
                    self.diag(
                        Some(r),
                        format!("{name} ends holding {}: never released", held.join(", ")),
                    );
                }
                Key::Task(ix)
            }
            TaskJoin { child } => {
                match self.task_ix.get(child as u64) {
                    Some(c) => {
                        if let Some((clocks, esite)) = self.tasks[c].end.clone() {
                            self.acquire(ix, EdgeKind::Join, None, site, &clocks, &[esite]);
                        } else if let Some(last) = self.tasks[c].last() {
                            let clocks = self.tasks[c].clocks.clone();
                            let name = self.symbols.task_name(child);
                            self.diag(
                                Some(r),
                                format!(
                                    "join of {name}, whose end is not in the trace: joined its last event (event {}) instead",
                                    last.event
                                ),
                            );
                            self.acquire(ix, EdgeKind::Join, None, site, &clocks, &[last]);
                        } else {
                            let name = self.symbols.task_name(child);
                            self.diag(
                                Some(r),
                                format!("join of {name}, which has no events in the trace: no edge"),
                            );
                        }
                    }
                    None => self.diag(Some(r), format!("join of unknown task {child}: no edge")),
                }
                return self.after_sync(ix, None);
            }
            MutexLock { mutex, seq } => self.mutex_lock(ix, r, ev, site, mutex, seq),
            MutexUnlock { mutex, seq } => self.mutex_unlock(ix, r, ev, site, mutex, seq),
            RwReadLock { lock, seq } => self.rw_lock(ix, r, site, lock, seq, false),
            RwWriteLock { lock, seq } => self.rw_lock(ix, r, site, lock, seq, true),
            RwReadUnlock { lock, seq } => self.rw_unlock(ix, r, site, lock, seq, false),
            RwWriteUnlock { lock, seq } => self.rw_unlock(ix, r, site, lock, seq, true),
            ChanSendBegin { chan, seq } => {
                let clocks = self.tasks[ix].clocks.clone();
                let ch = self.chan(chan);
                let dup = ch.msgs.insert(seq, (clocks, site)).is_some();
                if !dup {
                    ch.sends.note(seq, r);
                }
                if dup {
                    let name = self.symbols.object_name(chan);
                    self.diag(
                        Some(r),
                        format!("message {seq} of channel `{name}` is sent twice; the last send counts"),
                    );
                }
                Key::Obj(chan)
            }
            ChanSendEnd { chan, seq } => {
                let ch = self.chan(chan);
                if let Some(c) = ch.cap.filter(|&c| seq > c) {
                    match ch.recvs.remove(&(seq - c)) {
                        Some((clocks, rsite)) => {
                            self.acquire(ix, EdgeKind::ChanCapacity, Some(chan), site, &clocks, &[rsite]);
                        }
                        None => {
                            let name = self.symbols.object_name(chan);
                            self.diag(
                                Some(r),
                                format!(
                                    "send of message {seq} on channel `{name}` (capacity {c}) completed, but the receive of message {} is not in the trace: no edge",
                                    seq - c
                                ),
                            );
                        }
                    }
                }
                Key::Obj(chan)
            }
            ChanRecv { chan, result } => {
                match result {
                    RecvResult::Value { seq } => {
                        let ch = self.chan(chan);
                        match ch.msgs.remove(&seq) {
                            Some((clocks, ssite)) => {
                                self.acquire(ix, EdgeKind::ChanSend, Some(chan), site, &clocks, &[ssite]);
                            }
                            None => {
                                let name = self.symbols.object_name(chan);
                                self.diag(
                                    Some(r),
                                    format!(
                                        "receive of message {seq} on channel `{name}`, which was never sent (or was received twice): no edge"
                                    ),
                                );
                            }
                        }
                        let clocks = self.tasks[ix].clocks.clone();
                        let ch = self.chan(chan);
                        if ch.cap.is_some() {
                            ch.recvs.insert(seq, (clocks, site));
                        }
                    }
                    RecvResult::Closed { closes } => {
                        let ch = self.chan(chan);
                        let mut acc = Clocks::default();
                        let mut srcs = Vec::new();
                        for (_, (c, s)) in ch.closes.range(1..=closes) {
                            acc.join(c);
                            srcs.push(*s);
                        }
                        let have = srcs.len() as u64;
                        if have < closes {
                            let name = self.symbols.object_name(chan);
                            self.diag(
                                Some(r),
                                format!(
                                    "receive on channel `{name}` reported it closed after {closes} closes, but only {have} are in the trace"
                                ),
                            );
                        }
                        if !self.opts.collect_edges && srcs.len() > 1 {
                            srcs.drain(..srcs.len() - 1);
                        }
                        if !srcs.is_empty() {
                            self.acquire(ix, EdgeKind::ChanClose, Some(chan), site, &acc, &srcs);
                        }
                    }
                }
                Key::Obj(chan)
            }
            ChanClose { chan, seq } => {
                let clocks = self.tasks[ix].clocks.clone();
                let ch = self.chan(chan);
                if ch.closes.insert(seq, (clocks, site)).is_some() {
                    let name = self.symbols.object_name(chan);
                    self.diag(
                        Some(r),
                        format!("close {seq} of channel `{name}` is recorded twice"),
                    );
                }
                Key::Obj(chan)
            }
            OnceEnd { once } => {
                let clocks = self.tasks[ix].clocks.clone();
                let o = self.obj(once, |_, _| Obj::Once(None));
                match o {
                    Obj::Once(slot @ None) => *slot = Some((clocks, site)),
                    Obj::Once(Some(_)) => {
                        let name = self.symbols.object_name(once);
                        self.diag(
                            Some(r),
                            format!("once `{name}` finished its initialization twice"),
                        );
                    }
                    _ => self.wrong_kind(r, once, "once"),
                }
                Key::Obj(once)
            }
            OnceAlreadyDone { once } => {
                match self.objs.get(&once) {
                    Some(Obj::Once(Some((clocks, esite)))) => {
                        let (clocks, esite) = (clocks.clone(), *esite);
                        self.acquire(ix, EdgeKind::Once, Some(once), site, &clocks, &[esite]);
                    }
                    _ => {
                        let name = self.symbols.object_name(once);
                        self.diag(
                            Some(r),
                            format!("once `{name}` was found done, but its initialization's end is not in the trace: no edge"),
                        );
                    }
                }
                Key::Obj(once)
            }
            WaitGroupDone { wg, seq, zero } => self.phase_arrive(ix, r, site, wg, seq, zero, false),
            BarrierArrive { barrier, seq, last } => self.phase_arrive(ix, r, site, barrier, seq, last, true),
            WaitGroupWait { wg, seq } => self.phase_leave(ix, r, site, wg, seq, false),
            BarrierLeave { barrier, seq } => self.phase_leave(ix, r, site, barrier, seq, true),
            AtomicLoad {
                atomic,
                order,
                version,
            } => {
                self.access(ix, atomic, AccessKind::AtomicLoad, site);
                if version != 0 && order.is_acquire() {
                    if let Some(rel) = self.version_rel(r, atomic, version) {
                        self.acquire(ix, EdgeKind::Atomic, Some(atomic), site, &rel.0, &[rel.1]);
                    }
                }
                Key::Obj(atomic)
            }
            AtomicStore {
                atomic,
                order,
                version,
            } => {
                self.access(ix, atomic, AccessKind::AtomicStore, site);
                let rel = order
                    .is_release()
                    .then(|| Rc::new((self.tasks[ix].clocks.clone(), site)));
                self.put_version(r, atomic, version, rel);
                Key::Obj(atomic)
            }
            AtomicRmw {
                atomic,
                order,
                version,
            } => {
                self.access(ix, atomic, AccessKind::AtomicRmw, site);
                let prev = if version > 1 {
                    self.version_rel(r, atomic, version - 1)
                } else {
                    None
                };
                if let (Some(p), true) = (&prev, order.is_acquire()) {
                    self.acquire(ix, EdgeKind::Atomic, Some(atomic), site, &p.0, &[p.1]);
                }
                let rel = match (order.is_release(), prev) {
                    (true, None) => Some(Rc::new((self.tasks[ix].clocks.clone(), site))),
                    (true, Some(p)) => {
                        let mut c = self.tasks[ix].clocks.clone();
                        c.join(&p.0);
                        Some(Rc::new((c, site)))
                    }
                    // A relaxed RMW continues the release sequence of the version it read.
                    (false, p) => p,
                };
                self.put_version(r, atomic, version, rel);
                Key::Obj(atomic)
            }
        };
        self.after_sync(ix, Some(key))
    }

    /// Ends a synchronization event: the task moves to its next step.
    #[inline]
    fn after_sync(&mut self, ix: usize, key: Option<Key>) -> Option<Key> {
        next_step(&mut self.tasks[ix].clocks, ix, self.track_nl);
        key
    }

    fn wrong_kind(&mut self, r: EventRef, obj: ObjectId, expected: &str) {
        let name = self.symbols.object_name(obj);
        self.diag(
            Some(r),
            format!("object `{name}` is used as a {expected} but was first used as something else: ignored"),
        );
    }

    fn chan(&mut self, chan: ObjectId) -> &mut ChanSt {
        let cap = self.chan_cap(chan);
        if !matches!(self.objs.get(&chan), Some(Obj::Chan(_))) {
            // A channel with no definition is taken as unbounded (no capacity edges).
            self.objs.insert(
                chan,
                Obj::Chan(ChanSt {
                    id: chan,
                    cap,
                    ..ChanSt::default()
                }),
            );
        }
        match self.objs.get_mut(&chan) {
            Some(Obj::Chan(c)) => c,
            _ => unreachable!("inserted above"),
        }
    }

    /// A mutex acquisition in the usual case, all of [`Engine::process`] for it: a running
    /// task (started, not ended) that does not hold the mutex takes the acquisition that
    /// follows the last one, which was released. Returns `None` without changing anything
    /// otherwise ([`Engine::mutex_lock`] then does the same in more steps, with the
    /// diagnostics). One borrow of the task and of the mutex, instead of the general
    /// path's repeated lookups.
    #[inline(always)]
    fn lock_fast(&mut self, ix: usize, r: EventRef, ev: &Event, mutex: ObjectId, seq: u64) -> Option<Key> {
        let Engine {
            tasks,
            objs,
            snaps,
            stats,
            lock_order,
            edges,
            opts,
            track_nl,
            ..
        } = self;
        let t = tasks.get_mut(ix)?;
        if !t.started || t.ended || t.held.iter().any(|h| h.obj == mutex) {
            return None;
        }
        let Some(Obj::Mutex(m)) = objs.get_mut(&mutex) else {
            return None;
        };
        if m.acquired.checked_add(1) != Some(seq) || m.holder.is_some() {
            return None;
        }
        let site = site_of(r, ev);
        // Whether `note_sync` would record an edge from the release this acquisition
        // follows (not from a partner of the same task id) and collect the arena first
        // (rare: the general path does that).
        let edge = m.follows_release(seq, ix) && m.rel_site.task != site.task;
        if edge && snaps.ops.len() >= snaps.next_gc {
            return None;
        }
        stats.events += 1;
        stats.acquisitions += 1;
        (t.last_event, t.last_loc, t.last_ts) = (r, ev.loc, ev.ts);
        if m.acquire(seq, ix, &mut t.clocks.hb) && edge {
            let p = m.rel_site;
            let op = SyncOp {
                kind: EdgeKind::Unlock,
                object: Some(mutex),
                at: site,
                partner: Some(p),
            };
            record_sync(snaps, stats, edges, opts.collect_edges, &mut t.snap, op, &[p]);
        }
        let held = Held {
            obj: mutex,
            mode: LockMode::Exclusive,
            seq,
            depth: 1,
            site,
        };
        note_acquired(lock_order, stats, t, ix, held);
        next_step(&mut t.clocks, ix, *track_nl);
        Some(Key::Obj(mutex))
    }

    /// A mutex release in the usual case, all of [`Engine::process`] for it: a running task
    /// releases its innermost acquisition, held once, the mutex's latest.
    /// Returns `None` without changing anything otherwise ([`Engine::mutex_unlock`]).
    #[inline(always)]
    fn unlock_fast(&mut self, ix: usize, r: EventRef, ev: &Event, mutex: ObjectId, seq: u64) -> Option<Key> {
        let Engine {
            tasks,
            objs,
            stats,
            track_nl,
            ..
        } = self;
        let t = tasks.get_mut(ix)?;
        if !t.started || t.ended || seq == 0 {
            return None;
        }
        // Only the innermost lock (usually so); any other goes the general way.
        match t.held.last() {
            Some(h) if h.obj == mutex && h.seq == seq && h.depth == 1 => {}
            _ => return None,
        }
        let Some(Obj::Mutex(m)) = objs.get_mut(&mutex) else {
            return None;
        };
        if seq != m.acquired {
            return None;
        }
        stats.events += 1;
        (t.last_event, t.last_loc, t.last_ts) = (r, ev.loc, ev.ts);
        t.held.pop();
        let site = site_of(r, ev);
        m.release(seq, ix, &t.clocks.hb, site);
        next_step(&mut t.clocks, ix, *track_nl);
        Some(Key::Obj(mutex))
    }

    fn mutex_lock(
        &mut self,
        ix: usize,
        r: EventRef,
        ev: &Event,
        site: Site,
        mutex: ObjectId,
        seq: u64,
    ) -> Key {
        self.stats.acquisitions += 1;
        if let Some(h) = self.tasks[ix]
            .held
            .iter_mut()
            .find(|h| h.obj == mutex && h.seq == seq)
        {
            h.depth += 1;
            return Key::Obj(mutex);
        }
        if self.tasks[ix].held.iter().any(|h| h.obj == mutex) {
            let name = self.symbols.object_name(mutex);
            let tname = self.symbols.task_name(ev.task);
            self.diag(
                Some(r),
                format!("{tname} acquires mutex `{name}` (acquisition {seq}) while already holding it under another acquisition number"),
            );
        }
        // One lookup, through the field (the join below borrows `tasks` too).
        let obj = self
            .objs
            .get_or_insert_with(mutex, || Obj::Mutex(MutexSt::default()));
        let Obj::Mutex(m) = obj else {
            self.wrong_kind(r, mutex, "mutex");
            return Key::Obj(mutex);
        };
        let mut problem = None;
        let mut src = None;
        if seq <= m.acquired {
            problem = Some(format!("acquisition {seq} is recorded twice"));
        } else {
            if seq != m.acquired + 1 {
                problem = Some(format!(
                    "acquisitions {}..{} are not in the trace",
                    m.acquired + 1,
                    seq - 1
                ));
            } else if m.holder.is_some() {
                problem = Some(format!("acquisition {} was never released", m.acquired));
            }
            if m.acquire(seq, ix, &mut self.tasks[ix].clocks.hb) {
                src = Some(m.rel_site);
            }
        }
        if let Some(p) = problem {
            let name = self.symbols.object_name(mutex);
            self.diag(
                Some(r),
                format!("mutex `{name}`: {p}; acquisition {seq} gets no edge"),
            );
        }
        if let Some(s) = src {
            self.note_sync(ix, EdgeKind::Unlock, Some(mutex), site, &[s]);
        }
        self.lock_acquired(ix, mutex, LockMode::Exclusive, seq, site);
        Key::Obj(mutex)
    }

    /// Notes a lock acquisition for the lock-order graph and pushes it on the task's held
    /// locks. Always inlined: usually that push is all it does, less than a call costs.
    #[inline(always)]
    fn lock_acquired(&mut self, ix: usize, obj: ObjectId, mode: LockMode, seq: u64, site: Site) {
        let held = Held {
            obj,
            mode,
            seq,
            depth: 1,
            site,
        };
        note_acquired(
            &mut self.lock_order,
            &mut self.stats,
            &mut self.tasks[ix],
            ix,
            held,
        );
    }

    fn mutex_unlock(
        &mut self,
        ix: usize,
        r: EventRef,
        ev: &Event,
        site: Site,
        mutex: ObjectId,
        seq: u64,
    ) -> Key {
        if seq == 0 {
            let tname = self.symbols.task_name(ev.task);
            let name = self.symbols.object_name(mutex);
            self.diag(
                Some(r),
                format!("{tname} releases mutex `{name}`, which it does not hold: ignored"),
            );
            return Key::Obj(mutex);
        }
        let t = &mut self.tasks[ix];
        match t.held.iter().position(|h| h.obj == mutex && h.seq == seq) {
            Some(p) if t.held[p].depth > 1 => {
                t.held[p].depth -= 1;
                return Key::Obj(mutex);
            }
            Some(p) => {
                // Usually the innermost lock: no shifting.
                if p + 1 == t.held.len() {
                    t.held.pop();
                } else {
                    t.held.remove(p);
                }
            }
            None => {
                let tname = self.symbols.task_name(ev.task);
                let name = self.symbols.object_name(mutex);
                self.diag(
                    Some(r),
                    format!("{tname} releases acquisition {seq} of mutex `{name}`, which it does not hold"),
                );
            }
        }
        let clocks = &self.tasks[ix].clocks;
        if let Some(Obj::Mutex(m)) = self.objs.get_mut(&mutex) {
            if seq == m.acquired {
                m.release(seq, ix, &clocks.hb, site);
            }
        }
        Key::Obj(mutex)
    }

    fn rw_lock(&mut self, ix: usize, r: EventRef, site: Site, lock: ObjectId, seq: u64, write: bool) -> Key {
        self.stats.acquisitions += 1;
        if !matches!(self.objs.get(&lock), None | Some(Obj::Rw(_))) {
            self.wrong_kind(r, lock, "rwlock");
            return Key::Obj(lock);
        }
        let rw = match self.obj(lock, |_, _| Obj::Rw(RwSt::default())) {
            Obj::Rw(rw) => rw,
            _ => unreachable!("checked above"),
        };
        let mut problem = None;
        let mut srcs: Vec<(Clocks, Vec<Site>)> = Vec::new();
        if seq <= rw.acquired {
            problem = Some(format!("acquisition {seq} is recorded twice"));
        } else {
            if seq != rw.acquired + 1 {
                problem = Some(format!(
                    "acquisitions {}..{} are not in the trace",
                    rw.acquired + 1,
                    seq - 1
                ));
            } else if let Some((w, _)) = rw.writer {
                problem = Some(format!("write acquisition {w} was never released"));
            } else if write && rw.readers > 0 {
                problem = Some(format!("{} read acquisitions were never released", rw.readers));
            }
            if rw.wrel.site.is_some() {
                srcs.push((rw.wrel.clocks.clone(), rw.wrel.sources()));
            }
            if write {
                if rw.rrel.site.is_some() {
                    srcs.push((rw.rrel.clocks.clone(), rw.rrel.sources()));
                }
                rw.rrel.reset();
                rw.writer = Some((seq, ix));
            } else {
                rw.readers += 1;
            }
            rw.acquired = seq;
        }
        if let Some(p) = problem {
            let name = self.symbols.object_name(lock);
            self.diag(
                Some(r),
                format!("rwlock `{name}`: {p}; acquisition {seq} may miss edges"),
            );
        }
        for (clocks, sites) in srcs {
            self.acquire(ix, EdgeKind::Unlock, Some(lock), site, &clocks, &sites);
        }
        let mode = if write {
            LockMode::Exclusive
        } else {
            LockMode::Shared
        };
        self.lock_acquired(ix, lock, mode, seq, site);
        Key::Obj(lock)
    }

    fn rw_unlock(
        &mut self,
        ix: usize,
        r: EventRef,
        site: Site,
        lock: ObjectId,
        seq: u64,
        write: bool,
    ) -> Key {
        let mode = if write {
            LockMode::Exclusive
        } else {
            LockMode::Shared
        };
        let t = &mut self.tasks[ix];
        let held = t
            .held
            .iter()
            .position(|h| h.obj == lock && h.seq == seq && h.mode == mode);
        match held {
            Some(p) => {
                // Usually the innermost lock: no shifting.
                if p + 1 == t.held.len() {
                    t.held.pop();
                } else {
                    t.held.remove(p);
                }
            }
            None => {
                let name = self.symbols.object_name(lock);
                let tname = self.symbols.task_name(t.id);
                let what = if write { "write" } else { "read" };
                self.diag(
                    Some(r),
                    format!("{tname} releases {what} acquisition {seq} of rwlock `{name}`, which it does not hold: ignored"),
                );
                return Key::Obj(lock);
            }
        }
        let clocks = self.tasks[ix].clocks.clone();
        let collect = self.opts.collect_edges;
        if let Some(Obj::Rw(rw)) = self.objs.get_mut(&lock) {
            if write {
                if rw.writer.is_some_and(|(s, _)| s == seq) {
                    rw.writer = None;
                }
                rw.wrel.reset();
                rw.wrel.add(&clocks, site, collect);
            } else {
                rw.readers = rw.readers.saturating_sub(1);
                rw.rrel.add(&clocks, site, collect);
            }
        }
        Key::Obj(lock)
    }

    #[allow(clippy::too_many_arguments)]
    fn phase_arrive(
        &mut self,
        ix: usize,
        r: EventRef,
        site: Site,
        obj: ObjectId,
        seq: u64,
        last: bool,
        barrier: bool,
    ) -> Key {
        let clocks = self.tasks[ix].clocks.clone();
        let collect = self.opts.collect_edges;
        let make: fn(&Engine, ObjectId) -> Obj = if barrier {
            |_, _| Obj::Barrier(PhaseSt::default())
        } else {
            |_, _| Obj::Wg(PhaseSt::default())
        };
        let noun = if barrier { "barrier" } else { "waitgroup" };
        let p = match self.obj(obj, make) {
            Obj::Wg(p) if !barrier => p,
            Obj::Barrier(p) if barrier => p,
            _ => {
                self.wrong_kind(r, obj, noun);
                return Key::Obj(obj);
            }
        };
        let problem = if seq <= p.count {
            Some(format!("arrival {seq} is recorded twice"))
        } else if Some(seq) != p.count.checked_add(1) {
            Some(format!(
                "arrivals {}..{} are not in the trace",
                p.count.saturating_add(1),
                seq - 1
            ))
        } else {
            None
        };
        p.count = p.count.max(seq);
        p.acc.add(&clocks, site, false);
        if collect {
            p.pending.push((seq, site));
        }
        if last {
            let snap = Rel {
                clocks: p.acc.clocks.clone(),
                site: p.acc.site,
                srcs: p
                    .pending
                    .iter()
                    .filter(|&&(n, _)| n <= seq)
                    .map(|&(_, s)| s)
                    .collect(),
            };
            p.snaps.insert(seq, snap);
        }
        if let Some(pr) = problem {
            let name = self.symbols.object_name(obj);
            self.diag(Some(r), format!("{noun} `{name}`: {pr}"));
        }
        Key::Obj(obj)
    }

    fn phase_leave(
        &mut self,
        ix: usize,
        r: EventRef,
        site: Site,
        obj: ObjectId,
        seq: u64,
        barrier: bool,
    ) -> Key {
        if seq == 0 {
            return Key::Obj(obj);
        }
        let (kind, noun) = if barrier {
            (EdgeKind::Barrier, "barrier")
        } else {
            (EdgeKind::WaitGroup, "waitgroup")
        };
        let found = match self.objs.get(&obj) {
            Some(Obj::Wg(p) | Obj::Barrier(p)) => p.snaps.get(&seq).map(|s| (s.clocks.clone(), s.sources())),
            _ => None,
        };
        match found {
            Some((clocks, srcs)) => {
                self.acquire(ix, kind, Some(obj), site, &clocks, &srcs);
                // The arrivals up to `seq` are drawn to this wait; later waits draw only newer ones.
                if let Some(Obj::Wg(p) | Obj::Barrier(p)) = self.objs.get_mut(&obj) {
                    p.pending.retain(|&(n, _)| n > seq);
                }
            }
            None => {
                let name = self.symbols.object_name(obj);
                self.diag(
                    Some(r),
                    format!("{noun} `{name}`: the phase ended by arrival {seq} is not in the trace: no edge"),
                );
            }
        }
        Key::Obj(obj)
    }

    fn version_rel(&mut self, r: EventRef, atomic: ObjectId, version: u64) -> Option<Rc<(Clocks, Site)>> {
        match self.objs.get(&atomic) {
            Some(Obj::Atomic(a)) => match a.versions.get(&version) {
                Some(v) => v.rel.clone(),
                None => {
                    let name = self.symbols.object_name(atomic);
                    let msg = if version <= a.forgotten {
                        format!(
                            "atomic `{name}`: version {version} is older than the {} versions kept (option atomic_history): no edge, races after it may be false alarms",
                            self.opts.atomic_history
                        )
                    } else {
                        format!("atomic `{name}`: version {version} was never written: no edge")
                    };
                    self.diag(Some(r), msg);
                    None
                }
            },
            _ => {
                let name = self.symbols.object_name(atomic);
                self.diag(
                    Some(r),
                    format!("atomic `{name}`: version {version} was never written: no edge"),
                );
                None
            }
        }
    }

    fn put_version(&mut self, r: EventRef, atomic: ObjectId, version: u64, rel: Option<Rc<(Clocks, Site)>>) {
        let keep = self.opts.atomic_history.max(1);
        let a = match self.obj(atomic, |_, id| {
            Obj::Atomic(AtomicSt {
                id,
                ..AtomicSt::default()
            })
        }) {
            Obj::Atomic(a) => a,
            _ => {
                self.wrong_kind(r, atomic, "atomic");
                return;
            }
        };
        if version == 0 || version <= a.forgotten || a.versions.insert(version, Version { rel }).is_some() {
            let name = self.symbols.object_name(atomic);
            self.diag(
                Some(r),
                format!("atomic `{name}`: version {version} is written twice"),
            );
            return;
        }
        a.writes.note(version, r);
        while a.versions.len() > keep {
            if let Some((v, _)) = a.versions.pop_first() {
                a.forgotten = a.forgotten.max(v);
            }
        }
    }

    /// Race check and bookkeeping for one access (the general path's; runs of plain
    /// accesses take [`Engine::access_run`]).
    fn access(&mut self, ix: usize, var: ObjectId, kind: AccessKind, site: Site) {
        self.stats.accesses += 1;
        let loc = loc_key(site.loc);
        let t = &self.tasks[ix];
        let clock = &t.clocks.hb.0[..];
        let step = t.step(ix);
        let syncs = t.snap;
        let vs = self.vars.get_or_insert_with(var, VarSt::new);
        let n = vs.len();
        #[cfg(test)]
        let n = if self.plain_scan { usize::MAX } else { n };
        if n > FAST_SCAN_MAX {
            return self.access_general(ix, var, kind, site);
        }
        let rec = Hot::new(step, kind_code(kind), ix, loc);
        // Borrowed, not taken and put back: that round trip of a `Vec` through memory
        // costs a store-forwarding stall on every access.
        self.floor.dropped += vs.check(rec, clock, &self.floor.now, site, syncs, &mut self.scratch);
        if !self.scratch.is_empty() {
            self.report_found(var, kind, site, ix);
        }
    }

    /// Reports the races the fast scan left in `scratch`, emptying it.
    #[inline(never)]
    fn report_found(&mut self, var: ObjectId, kind: AccessKind, site: Site, ix: usize) {
        let mut found = std::mem::take(&mut self.scratch);
        self.report_all(&mut found, var, kind, site, ix);
        self.scratch = found;
    }

    /// Reports the races of the access at `site` with the records in `found`, emptying it,
    /// the record earliest in the trace first: a location pair met for the first time is
    /// shown with that one, whatever the order of the records (which dropping dead ones
    /// changes).
    fn report_all(
        &mut self,
        found: &mut Vec<(Hot, Cold)>,
        var: ObjectId,
        kind: AccessKind,
        site: Site,
        ix: usize,
    ) {
        found.sort_unstable_by_key(|(_, c)| c.event);
        for (h, c) in found.drain(..) {
            self.report(var, &h, &c, kind, site, ix);
        }
    }

    /// [`Engine::access`] for variables with more than 64 records: the plain scan.
    #[inline(never)]
    fn access_general(&mut self, ix: usize, var: ObjectId, kind: AccessKind, site: Site) {
        let loc = loc_key(site.loc);
        let t = &self.tasks[ix];
        let step = t.step(ix);
        let clock = &t.clocks.hb.0[..];
        let vs = self.vars.get_or_insert_with(var, VarSt::new);
        self.floor.dropped += vs.drop_dead(&self.floor.now);
        let mut own = None;
        let mut vacant = None;
        let mut i = 0;
        let mut found = std::mem::take(&mut self.scratch);
        let write = kind.is_write();
        let atomic = kind.is_atomic();
        let code = kind_code(kind);
        while i < vs.len() {
            let h = vs.hot(i);
            let same_site = |h: Hot| h.loc == loc && h.step_kind & 7 == code;
            if h.task as usize == ix {
                if same_site(h) {
                    own = Some(i);
                }
                i += 1;
                continue;
            }
            let ordered = h.step() <= clock.get(h.task as usize).copied().unwrap_or(0);
            if ordered {
                if same_site(h) {
                    // Superseded by this access: every later access racing with it races
                    // with this one too, at the same location pair. The first one's place
                    // takes the new record, the others go.
                    if vacant.is_none() {
                        vacant = Some(i);
                        i += 1;
                        continue;
                    }
                    vs.swap_remove(i);
                    if own == Some(vs.len()) {
                        own = Some(i);
                    }
                    continue;
                }
            } else if (h.kind().is_write() || write) && !(h.kind().is_atomic() && atomic) {
                found.push((h, vs.cold(i)));
            }
            i += 1;
        }
        let syncs = t.snap;
        vs.keep(own, vacant, Hot::new(step, code, ix, loc), site, syncs);
        self.report_all(&mut found, var, kind, site, ix);
        self.scratch = found;
    }

    /// Drops the snapshot nodes no list of a record or task reaches and renumbers the
    /// others (see [`SnapArena`]).
    #[inline(never)]
    fn collect_snaps(&mut self) {
        let depth = self.snaps.depth as u32;
        let prevs = &mut self.snaps.prevs;
        // How many nodes of a list starting here some record or task still reads (0: dead);
        // the heads first, then, newest to oldest, each node passes its budget less one to
        // its `prev` (always older): one sequential pass instead of a walk per record.
        let mut remap = vec![0u32; prevs.len()];
        let mut mark = |id: u32| {
            if let Some(m) = remap.get_mut(id as usize) {
                *m = depth;
            }
        };
        for t in &self.tasks {
            mark(t.snap);
        }
        let mut records = 0;
        for vs in self.vars.values() {
            records += vs.len();
            for c in vs.colds() {
                mark(c.syncs);
            }
        }
        for id in (0..prevs.len()).rev() {
            let b = remap[id];
            if b > 1 {
                if let Some(p) = remap.get_mut(prevs[id] as usize) {
                    *p = (*p).max(b - 1);
                }
            }
        }
        // Compacted in place: live nodes only move down, and a node's `prev` is older, so
        // it is renumbered already.
        let mut live = 0usize;
        for id in 0..prevs.len() {
            if remap[id] == 0 {
                remap[id] = NO_SNAP;
                continue;
            }
            remap[id] = live as u32;
            prevs[live] = remap.get(prevs[id] as usize).copied().unwrap_or(NO_SNAP);
            self.snaps.ops[live] = self.snaps.ops[id];
            live += 1;
        }
        prevs.truncate(live);
        self.snaps.ops.truncate(live);
        // A collection visits every record twice: the next one waits for at least as many
        // new nodes as there are records, so its cost per node stays bounded however many
        // records there are (and the arena stays proportional to the live data).
        self.snaps.next_gc = (2 * live + records).max(SNAP_GC_MIN);
        let re = |id: u32| remap.get(id as usize).copied().unwrap_or(NO_SNAP);
        for t in &mut self.tasks {
            t.snap = re(t.snap);
        }
        for vs in self.vars.values_mut() {
            for c in vs.colds_mut() {
                c.syncs = re(c.syncs);
            }
        }
    }

    fn report(&mut self, var: ObjectId, h: &Hot, c: &Cold, kind: AccessKind, site: Site, ix: usize) {
        let loc = loc_key(site.loc);
        let key = (var, h.loc.min(loc), h.loc.max(loc));
        if let Some((_, count)) = self.race_ix.get_mut(&key) {
            *count += 1;
            return;
        }
        let first = Access {
            event: c.event,
            task: self.tasks[h.task as usize].id,
            kind: h.kind(),
            loc: loc_of(h.loc),
            ts: c.ts,
        };
        let second = Access {
            event: site.event,
            task: site.task,
            kind,
            loc: site.loc,
            ts: site.ts,
        };
        let side = |s: u32| SideExplanation {
            last_syncs: self.snaps.get(s),
        };
        let explanation = Explanation {
            first: side(c.syncs),
            second: side(self.tasks[ix].snap),
            first_step: h.step(),
            second_knew_of_first: self.tasks[ix].clocks.hb.get(h.task as usize),
        };
        self.race_ix.insert(key, (self.races.len(), 1));
        self.races.push(Race {
            var,
            first,
            second,
            count: 1,
            explanation,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicts_follow_the_race_rule() {
        for a in KINDS {
            let want = KINDS
                .iter()
                .enumerate()
                .filter(|(_, b)| (a.is_write() || b.is_write()) && !(a.is_atomic() && b.is_atomic()))
                .fold(0u64, |m, (i, _)| m | 1 << i);
            assert_eq!(CONFLICTS[kind_code(a) as usize], want, "{a:?}");
        }
    }

    /// A deterministic random source for `seed` (xorshift64*): `rnd(n)` is below `n`.
    fn rng(seed: u64) -> impl FnMut(u64) -> u64 {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        move |n: u64| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            x.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
        }
    }

    /// Random consistent traces: tasks take mutexes in a global order and access a few
    /// variables at a few locations with every access kind.
    fn random_trace(seed: u64, vars: u64) -> (Vec<Def>, Vec<Event>) {
        let mut rnd = rng(seed);
        let tasks = 2 + rnd(4) as u32;
        let defs: Vec<Def> = (0..tasks).map(|t| Def::task(t, None)).collect();
        let mut seq = [0u64; 3];
        let mut held: Vec<Option<u64>> = vec![None; tasks as usize];
        let mut events = Vec::new();
        let kinds = 2 + rnd(5);
        for ts in 0..300 + rnd(400) {
            let task = rnd(tasks as u64) as u32;
            let r = rnd(10);
            let kind = if r == 0 {
                match held[task as usize].take() {
                    Some(m) => EventKind::MutexUnlock {
                        mutex: 10 + m,
                        seq: seq[m as usize],
                    },
                    None => {
                        let m = rnd(3);
                        // Only when nobody holds it: the trace stays consistent.
                        if held.contains(&Some(m)) {
                            continue;
                        }
                        seq[m as usize] += 1;
                        held[task as usize] = Some(m);
                        EventKind::MutexLock {
                            mutex: 10 + m,
                            seq: seq[m as usize],
                        }
                    }
                }
            } else {
                // Id 0 too: the slot hints must not mistake it for an empty entry.
                let var = if rnd(vars + 1) == 0 { 0 } else { 100 + rnd(vars) };
                match rnd(kinds) {
                    0 | 5 => EventKind::VarRead { var },
                    1 | 6 => EventKind::VarWrite { var },
                    2 => EventKind::AtomicLoad {
                        atomic: var,
                        order: hb_format::MemOrder::Relaxed,
                        version: 0,
                    },
                    3 => EventKind::AtomicStore {
                        atomic: var,
                        order: hb_format::MemOrder::Relaxed,
                        version: 0,
                    },
                    _ => EventKind::VarRead { var },
                }
            };
            events.push(Event {
                task,
                ts,
                loc: Some(rnd(6) as u32),
                kind,
            });
        }
        (defs, events)
    }

    /// Analyzes `events` with an engine that `setup` configured first.
    fn analyze_with(defs: &[Def], events: &[Event], opts: &Options, setup: impl Fn(&mut Engine)) -> Analysis {
        let mut e = Engine::new(opts);
        setup(&mut e);
        for d in defs {
            e.define(d);
        }
        for ev in events {
            e.push(*ev);
        }
        e.finish(Vec::new(), "t".into())
            .unwrap_or_else(|| analyze_with(defs, events, &opts.without_dropping(), setup))
    }

    fn run(defs: &[Def], events: &[Event], plain: bool) -> String {
        let a = analyze_with(defs, events, &Options::default(), |e| e.plain_scan = plain);
        format!("{:?} {:?} {:?}", a.races, a.diagnostics, a.stats)
    }

    /// A record's list of two synchronizations keeps both nodes through many collections
    /// of the arena while the task synchronizes on.
    #[test]
    fn two_deep_explanations_survive_collections() {
        let defs: Vec<Def> = (0..2).map(|id| Def::task(id, (id == 1).then_some(0))).collect();
        let (chan, x) = (7, 9);
        let mut events = Vec::new();
        let mut ev = |task, kind| {
            let ts = events.len() as u64;
            events.push(Event {
                task,
                ts,
                loc: Some(ts as u32),
                kind,
            });
        };
        ev(0, EventKind::TaskSpawn { child: 1 });
        ev(1, EventKind::TaskStart);
        for seq in 1..=100_000u64 {
            ev(0, EventKind::ChanSendBegin { chan, seq });
            ev(
                1,
                EventKind::ChanRecv {
                    chan,
                    result: RecvResult::Value { seq },
                },
            );
            ev(1, EventKind::VarRead { var: 100 + seq % 50 });
            if seq == 1 {
                // After the spawn and the first receive: both are in its explanation.
                ev(1, EventKind::VarWrite { var: x });
            }
        }
        ev(0, EventKind::VarWrite { var: x });
        let a = analyze_with(&defs, &events, &Options::default(), |_| {});
        let race = a.races.iter().find(|r| r.var == x).expect("the race on x");
        let kinds: Vec<_> = race.explanation.first.last_syncs.iter().map(|s| s.kind).collect();
        assert_eq!(kinds, [EdgeKind::ChanSend, EdgeKind::Spawn]);
        assert_eq!(race.explanation.first.last_syncs[0].at.event, 3);
    }

    #[test]
    fn fast_record_scan_equals_the_plain_scan() {
        let mut racy = 0;
        for seed in 0..400 {
            // Few variables: many records per variable, also more than 64 with 6 tasks.
            let (defs, events) = random_trace(seed, 1 + seed % 4);
            let fast = run(&defs, &events, false);
            assert_eq!(fast, run(&defs, &events, true), "seed {seed}");
            racy += usize::from(fast.contains("count: 2"));
        }
        assert!(racy > 50, "too few traces with repeated races: {racy}");
    }

    /// A random trace of mutex use, mostly consistent (nested locks, re-entrant
    /// acquisitions, releases out of order, lock requests, contended locks whose events
    /// arrive before the release they wait for) with some inconsistencies (duplicate,
    /// missing and never released acquisitions, releases of unheld locks, events after a
    /// task's end, a mutex id first used as an atomic): every path of the mutex events.
    fn random_mutex_trace(seed: u64) -> (Vec<Def>, Vec<Event>) {
        let mut rnd = rng(seed);
        let tasks = 2 + rnd(4) as usize;
        let defs: Vec<Def> = (0..tasks as u32).map(|t| Def::task(t, None)).collect();
        // A third of the traces have inconsistencies.
        let broken = seed.is_multiple_of(3);
        const MUTEXES: u64 = 4;
        let mut seq = [0u64; MUTEXES as usize];
        let mut holder: [Option<usize>; MUTEXES as usize] = [None; MUTEXES as usize];
        // Per task: the acquisitions held (mutex, seq, depth), innermost last.
        let mut held: Vec<Vec<(u64, u64, u32)>> = vec![Vec::new(); tasks];
        let mut streams: Vec<Vec<EventKind>> = vec![Vec::new(); tasks];
        if rnd(4) == 0 {
            // Mutex 3 first used as an atomic: its mutex events are of the wrong kind.
            streams[0].push(EventKind::AtomicStore {
                atomic: 13,
                order: hb_format::MemOrder::Release,
                version: 1,
            });
        }
        for _ in 0..200 + rnd(300) {
            let t = rnd(tasks as u64) as usize;
            let s = &mut streams[t];
            match rnd(20) {
                0..=5 => {
                    let m = rnd(MUTEXES);
                    let mutex = 10 + m;
                    if let Some(h) = held[t].iter_mut().find(|h| h.0 == m) {
                        // Re-entrant: the same acquisition again.
                        h.2 += 1;
                        s.push(EventKind::MutexLock { mutex, seq: h.1 });
                    } else if holder[m as usize].is_none() {
                        if rnd(3) == 0 {
                            s.push(EventKind::LockRequest { lock: mutex });
                        }
                        seq[m as usize] += 1;
                        holder[m as usize] = Some(t);
                        held[t].push((m, seq[m as usize], 1));
                        s.push(EventKind::MutexLock {
                            mutex,
                            seq: seq[m as usize],
                        });
                    }
                }
                6..=10 => {
                    if held[t].is_empty() {
                        continue;
                    }
                    // Usually the innermost, sometimes another.
                    let p = if rnd(4) == 0 {
                        rnd(held[t].len() as u64) as usize
                    } else {
                        held[t].len() - 1
                    };
                    let (m, sq, _) = held[t][p];
                    held[t][p].2 -= 1;
                    if held[t][p].2 == 0 {
                        held[t].remove(p);
                        holder[m as usize] = None;
                    }
                    s.push(EventKind::MutexUnlock {
                        mutex: 10 + m,
                        seq: sq,
                    });
                }
                11 if broken && rnd(4) == 0 => {
                    // Inconsistencies, now and then.
                    let mutex = 10 + rnd(MUTEXES);
                    let m = (mutex - 10) as usize;
                    s.push(match rnd(12) {
                        0 => EventKind::MutexUnlock { mutex, seq: 0 },
                        1 => EventKind::MutexUnlock { mutex, seq: 999 },
                        2 => EventKind::MutexLock { mutex, seq: seq[m] },
                        3 => EventKind::MutexLock {
                            mutex,
                            seq: seq[m] + 3,
                        },
                        4 => EventKind::TaskEnd,
                        _ => EventKind::VarRead { var: 100 },
                    });
                }
                r => s.push(if r % 2 == 0 {
                    EventKind::VarRead { var: 100 + rnd(3) }
                } else {
                    EventKind::VarWrite { var: 100 + rnd(3) }
                }),
            }
        }
        // File order: a random interleaving of the tasks' streams (the merge reorders).
        let mut pos = vec![0usize; tasks];
        let mut events = Vec::new();
        while let Some(t) = {
            let left: Vec<usize> = (0..tasks).filter(|&t| pos[t] < streams[t].len()).collect();
            (!left.is_empty()).then(|| left[rnd(left.len() as u64) as usize])
        } {
            let ts = events.len() as u64;
            events.push(Event {
                task: t as u32,
                ts,
                loc: Some(rnd(5) as u32),
                kind: streams[t][pos[t]],
            });
            pos[t] += 1;
        }
        (defs, events)
    }

    /// Everything an analysis reports, with the mutex fast paths or without them.
    fn run_sync(defs: &[Def], events: &[Event], general: bool) -> String {
        let opts = Options {
            collect_edges: true,
            ..Options::default()
        };
        let a = analyze_with(defs, events, &opts, |e| e.general_sync = general);
        format!(
            "{:?} {:?} {:?} {:?} {:?}",
            a.races, a.cycles, a.diagnostics, a.edges, a.stats
        )
    }

    #[test]
    fn mutex_fast_paths_equal_the_general_path() {
        let (mut cycles, mut diags, mut explained) = (0, 0, 0);
        for seed in 0..600 {
            let (defs, events) = random_mutex_trace(seed);
            let fast = run_sync(&defs, &events, false);
            assert_eq!(fast, run_sync(&defs, &events, true), "seed {seed}");
            cycles += usize::from(fast.contains("LockCycle {"));
            diags += usize::from(fast.contains("message"));
            explained += usize::from(fast.contains("kind: Unlock, object: Some"));
        }
        assert!(cycles > 100, "too few traces with lock-order cycles: {cycles}");
        assert!(diags > 100, "too few traces with diagnostics: {diags}");
        assert!(
            explained > 100,
            "too few traces with lock edges in explanations: {explained}"
        );
    }

    /// How a task of [`random_lifecycle_trace`] comes to be.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Birth {
        /// The first task (a root, defined up front).
        First,
        /// Defined with a parent, spawned by a running task.
        Spawned,
        /// Defined with a parent, whose spawn is not in the trace.
        SpawnLost,
        /// A root defined up front, starting late.
        Root,
        /// A root nobody defined, starting late.
        Undefined,
    }

    /// Random traces of tasks that start (in every way of [`Birth`]), end and are joined at
    /// random times while they lock mutexes and access a few variables; one in four is
    /// damaged (tasks going on after their end).
    fn random_lifecycle_trace(seed: u64) -> (Vec<Def>, Vec<Event>) {
        let mut rnd = rng(seed);
        let n = 3 + rnd(5) as usize;
        let damaged = rnd(4) == 0;
        let births: Vec<Birth> = (0..n)
            .map(|t| match t {
                0 => Birth::First,
                _ => [
                    Birth::Spawned,
                    Birth::Spawned,
                    Birth::SpawnLost,
                    Birth::Root,
                    Birth::Undefined,
                ][rnd(5) as usize],
            })
            .collect();
        let defs: Vec<Def> = (0..n)
            .filter_map(|t| match births[t] {
                Birth::First | Birth::Root => Some(Def::task(t as u32, None)),
                Birth::Spawned | Birth::SpawnLost => Some(Def::task(t as u32, Some(0))),
                Birth::Undefined => None,
            })
            .collect();
        let (mut started, mut ended, mut spawned) = (vec![false; n], vec![false; n], vec![false; n]);
        let mut held: Vec<Option<u64>> = vec![None; n];
        let mut seq = [0u64; 2];
        let mut events = Vec::new();
        for ts in 0..600 + rnd(600) {
            let t = rnd(n as u64) as usize;
            let loc = Some(rnd(6) as u32);
            let mut push = |kind| {
                events.push(Event {
                    task: t as u32,
                    ts,
                    loc,
                    kind,
                })
            };
            if !started[t] {
                let start = match births[t] {
                    Birth::First => true,
                    Birth::Spawned => spawned[t],
                    _ => rnd(40) == 0,
                };
                if start {
                    started[t] = true;
                    push(EventKind::TaskStart);
                }
                continue;
            }
            if ended[t] {
                if damaged && rnd(10) == 0 {
                    let var = 100 + rnd(3);
                    push(EventKind::VarWrite { var });
                }
                continue;
            }
            let access = |rnd: &mut dyn FnMut(u64) -> u64| {
                let var = 100 + rnd(3);
                if rnd(2) == 0 {
                    EventKind::VarRead { var }
                } else {
                    EventKind::VarWrite { var }
                }
            };
            let kind = match rnd(24) {
                0 => {
                    let Some(c) = (0..n).find(|&c| births[c] == Birth::Spawned && !spawned[c]) else {
                        continue;
                    };
                    spawned[c] = true;
                    EventKind::TaskSpawn { child: c as u32 }
                }
                1 if t != 0 && held[t].is_none() && rnd(3) == 0 => {
                    ended[t] = true;
                    EventKind::TaskEnd
                }
                2 => {
                    let Some(c) = (0..n).find(|&c| ended[c] && c != t) else {
                        continue;
                    };
                    EventKind::TaskJoin { child: c as u32 }
                }
                3..=6 => match held[t].take() {
                    Some(m) => EventKind::MutexUnlock {
                        mutex: 10 + m,
                        seq: seq[m as usize],
                    },
                    None => {
                        let m = rnd(2);
                        if held.contains(&Some(m)) {
                            continue;
                        }
                        seq[m as usize] += 1;
                        held[t] = Some(m);
                        EventKind::MutexLock {
                            mutex: 10 + m,
                            seq: seq[m as usize],
                        }
                    }
                },
                _ => access(&mut rnd),
            };
            push(kind);
        }
        (defs, events)
    }

    /// The findings of `events` streamed in chunks (so tasks turn up late) with
    /// [`Options::prune_every`] `every`, records dropped, and whether it must start over.
    fn run_pruned(defs: &[Def], events: &[Event], every: u64) -> (Vec<String>, u64, bool) {
        let mut e = Engine::new(&Options {
            prune_every: every,
            ..Options::default()
        });
        for d in defs {
            e.define(d);
        }
        for chunk in events.chunks(40) {
            for ev in chunk {
                e.push(*ev);
            }
            e.pump();
        }
        match e.finish(Vec::new(), "t".into()) {
            Some(a) => {
                let found = (a.races.iter().map(|r| format!("{r:?}")))
                    .chain(a.cycles.iter().map(|c| format!("{c:?}")))
                    .chain(a.diagnostics.iter().map(|d| format!("{d:?}")))
                    .collect();
                (found, a.stats.records_dropped, false)
            }
            None => (Vec::new(), 0, true),
        }
    }

    #[test]
    fn dropping_dead_records_keeps_the_findings() {
        let (mut dropped, mut restarts, mut racy) = (0, 0, 0);
        for seed in 0..500 {
            let (defs, events) = random_lifecycle_trace(seed);
            let (exact, none, again) = run_pruned(&defs, &events, 0);
            assert!(none == 0 && !again, "seed {seed}: dropped without pruning");
            for every in [1, 7] {
                let (found, n, restart) = run_pruned(&defs, &events, every);
                if restart {
                    restarts += 1;
                } else {
                    let first_difference = found.iter().zip(&exact).find(|(a, b)| a != b);
                    assert_eq!(first_difference, None, "seed {seed}, every {every}");
                    assert_eq!(found.len(), exact.len(), "seed {seed}, every {every}");
                    dropped += usize::from(n > 0);
                }
            }
            racy += usize::from(exact.iter().any(|f| f.starts_with("Race {")));
        }
        assert!(dropped > 100, "too few runs that dropped records: {dropped}");
        assert!(restarts > 50, "too few runs that started over: {restarts}");
        assert!(racy > 250, "too few racy traces: {racy}");
    }
}
