//! The findings of an analysis: races, lock-order cycles, diagnostics and happens-before edges.
//!
//! Every finding refers to events by [`EventRef`] (the event's index in file order) and
//! copies in the task, location and timestamp, so a consumer can show it without looking
//! the event up. Names of tasks, objects and locations are resolved through
//! [`Analysis::symbols`].

use hb_format::{LocId, ObjectId, Symbols, TaskId};

/// Index of an event in file order: the order in which [`hb_format::Trace::open`] and
/// [`hb_format::Trace::read_binary`] put events in `Trace::events`, which is the order a
/// [`hb_format::TraceReader`] yields them, frame by frame. The first event is 0.
pub type EventRef = u64;

/// Settings of an analysis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Fill [`Analysis::edges`] with every happens-before edge between tasks (costs memory
    /// proportional to the number of synchronizations; the viewer wants it, the CLI not).
    pub collect_edges: bool,
    /// Look for lock-order cycles (potential deadlocks).
    pub lock_cycles: bool,
    /// Longest lock-order cycle searched for (at least 2). Cycles longer than this are not
    /// looked for, and [`Stats::cycle_bound_hit`] says when that may have hidden one.
    pub max_cycle_len: usize,
    /// How many versions of each atomic are remembered for loads that read an older value.
    /// A load naming a version already forgotten gets no edge and a [`Diagnostic`].
    pub atomic_history: usize,
    /// How many events may wait in the merge for a dependency before the oldest blocked
    /// event is forced through (with a [`Diagnostic`]); bounds memory on damaged traces.
    pub max_pending: usize,
    /// How many of each side's last synchronizations an [`Explanation`] lists (at most 4).
    pub explain_syncs: usize,
    /// How many events apart the engine works out which access records can no longer race
    /// (every task that may still access has synchronized past them) and lets them be
    /// dropped; 0 keeps every record. Dropping changes no finding: when a task the engine
    /// could not foresee turns up later (a root task not defined up front, or a task going on
    /// after its end) and a record was already dropped, the analysis starts over without
    /// dropping ([`Stats::restarted`]).
    pub prune_every: u64,
}

impl Options {
    /// These options with [`Options::prune_every`] 0: an analysis that keeps every access
    /// record, which never has to start over.
    pub(crate) fn without_dropping(&self) -> Options {
        Options {
            prune_every: 0,
            ..self.clone()
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            collect_edges: false,
            lock_cycles: true,
            max_cycle_len: 8,
            atomic_history: 4096,
            max_pending: 1 << 22,
            explain_syncs: 2,
            prune_every: 1024,
        }
    }
}

/// How an access touched a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccessKind {
    /// A plain read ([`hb_format::EventKind::VarRead`]).
    Read,
    /// A plain write ([`hb_format::EventKind::VarWrite`]).
    Write,
    /// An atomic load.
    AtomicLoad,
    /// An atomic store (a write).
    AtomicStore,
    /// An atomic read-modify-write (a write).
    AtomicRmw,
}

impl AccessKind {
    /// Whether the access writes (plain writes, atomic stores and RMWs).
    pub fn is_write(self) -> bool {
        matches!(
            self,
            AccessKind::Write | AccessKind::AtomicStore | AccessKind::AtomicRmw
        )
    }

    /// Whether the access is atomic (two atomic accesses never race).
    pub fn is_atomic(self) -> bool {
        matches!(
            self,
            AccessKind::AtomicLoad | AccessKind::AtomicStore | AccessKind::AtomicRmw
        )
    }

    /// A short lower-case noun: "read", "write", "atomic load", ...
    pub fn noun(self) -> &'static str {
        match self {
            AccessKind::Read => "read",
            AccessKind::Write => "write",
            AccessKind::AtomicLoad => "atomic load",
            AccessKind::AtomicStore => "atomic store",
            AccessKind::AtomicRmw => "atomic read-modify-write",
        }
    }
}

/// One access to a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Access {
    /// The event.
    pub event: EventRef,
    /// The task that made it.
    pub task: TaskId,
    /// Read, write, atomic...
    pub kind: AccessKind,
    /// Its source location.
    pub loc: Option<LocId>,
    /// Its timestamp (display only).
    pub ts: u64,
}

/// A data race: two accesses to `var` from different tasks, at least one a write, not both
/// atomic, neither happening before the other.
///
/// One `Race` per distinct pair of source locations of a variable (the pair is unordered:
/// `(a, b)` and `(b, a)` are the same race); `first` and `second` are the first occurrence
/// found, in a happens-before-consistent order (so `second` never happens before `first`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Race {
    /// The variable (or atomic) both accesses touched.
    pub var: ObjectId,
    /// The access processed first.
    pub first: Access,
    /// The access processed second.
    pub second: Access,
    /// How many times this location pair raced: the number of (access, earlier access)
    /// pairs found unordered, where each access is compared with the latest earlier access
    /// of every other task at each (location, kind) not already ordered before a later
    /// access at the same (location, kind).
    pub count: u64,
    /// Why nothing orders the two accesses.
    pub explanation: Explanation,
}

/// The kinds of happens-before edge between tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EdgeKind {
    /// A spawn → the child's first event.
    Spawn,
    /// A task's end (or last event) → the join that waited for it.
    Join,
    /// A channel send → the receive of that message.
    ChanSend,
    /// A channel close → a receive that reported the channel closed.
    ChanClose,
    /// The receive of message k → completion of the send of message k + capacity
    /// (rendezvous channels: k → k).
    ChanCapacity,
    /// A mutex or rwlock release → a later acquisition that waited for it.
    Unlock,
    /// The end of a once initialization → a call that found it done.
    Once,
    /// A wait group done → the wait that returned after its phase.
    WaitGroup,
    /// A barrier arrival → a leave of the same generation.
    Barrier,
    /// A release store (or RMW chain) → an acquire load that read it.
    Atomic,
}

impl EdgeKind {
    /// A short lower-case name ("spawn", "chan-send", ...), stable for JSON.
    pub fn name(self) -> &'static str {
        match self {
            EdgeKind::Spawn => "spawn",
            EdgeKind::Join => "join",
            EdgeKind::ChanSend => "chan-send",
            EdgeKind::ChanClose => "chan-close",
            EdgeKind::ChanCapacity => "chan-capacity",
            EdgeKind::Unlock => "unlock",
            EdgeKind::Once => "once",
            EdgeKind::WaitGroup => "waitgroup",
            EdgeKind::Barrier => "barrier",
            EdgeKind::Atomic => "atomic",
        }
    }

    /// Whether this is a lock release → acquire edge (left out of the happens-before used
    /// for lock-order cycles).
    pub fn is_lock(self) -> bool {
        matches!(self, EdgeKind::Unlock)
    }
}

/// One happens-before edge between two events of different tasks (program order is implicit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HbEdge {
    /// What created it.
    pub kind: EdgeKind,
    /// The source event (a release: unlock, send, spawn...).
    pub from: EventRef,
    /// The target event (an acquire: lock, receive, first event of a child...).
    pub to: EventRef,
}

/// A point in the trace: an event with its task, location and timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Site {
    /// The event.
    pub event: EventRef,
    /// Its task.
    pub task: TaskId,
    /// Its source location.
    pub loc: Option<LocId>,
    /// Its timestamp (display only).
    pub ts: u64,
}

/// A synchronization by which a task learned about other tasks: the target side of an
/// incoming [`HbEdge`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SyncOp {
    /// What kind of edge it was.
    pub kind: EdgeKind,
    /// The object synchronized on (`None` for spawn and join).
    pub object: Option<ObjectId>,
    /// The task's own event (the lock, the receive, ...).
    pub at: Site,
    /// The partner event it synchronized with (the unlock, the send, ...), where known.
    pub partner: Option<Site>,
}

/// One side of a race explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SideExplanation {
    /// The side's last synchronizations before its access, most recent first (at most
    /// [`Options::explain_syncs`]); empty when the task never synchronized with another.
    pub last_syncs: Vec<SyncOp>,
}

/// Why no chain of happens-before edges connects the two accesses of a race.
///
/// Each task's clock counts its synchronization operations. The first access was made at
/// step `first_step` of its task; when the second access was made, its task had learned,
/// through every chain of edges, about the first task only up to step `second_knew_of_first`,
/// which is smaller: the first access is not visible to it. The converse holds because the
/// second access was processed after the first in a happens-before-consistent order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The first access's side.
    pub first: SideExplanation,
    /// The second access's side.
    pub second: SideExplanation,
    /// The first access's step in its task (its task's own clock entry).
    pub first_step: u64,
    /// How far the second task had seen the first task at the second access
    /// (always `< first_step`).
    pub second_knew_of_first: u64,
}

/// How an acquisition held or requested a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LockMode {
    /// A mutex, or an rwlock as the writer.
    Exclusive,
    /// An rwlock as a reader.
    Shared,
}

/// One edge of a lock-order cycle: a task acquired `requested` while holding `held`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockOrderEdge {
    /// The task (of the occurrence shown).
    pub task: TaskId,
    /// The lock held.
    pub held: ObjectId,
    /// How it was held.
    pub held_mode: LockMode,
    /// Where the held lock was taken (its acquisition event).
    pub held_at: Site,
    /// The lock acquired while holding `held`.
    pub requested: ObjectId,
    /// How it was requested.
    pub requested_mode: LockMode,
    /// Where it was requested (the acquisition event, or the request event when recorded).
    pub requested_at: Site,
    /// The other locks the task held at that moment, sorted.
    pub also_held: Vec<ObjectId>,
}

/// A lock-order cycle: a potential deadlock.
///
/// Edges are in cycle order: edge `i` requests the lock edge `i + 1` holds, and the last
/// requests the lock the first holds. The cycle starts at its smallest lock id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockCycle {
    /// The edges, one per lock.
    pub edges: Vec<LockOrderEdge>,
    /// How many times it occurred: over the cycle's edges, the smallest number of
    /// acquisitions of that edge (same locks, same sites) that could run concurrently with
    /// an acquisition of every other edge of the cycle.
    pub count: u64,
}

/// Something in the trace that does not add up (a sequence gap, an unlock of a lock not
/// held, a receive of a message never sent...). The analysis goes on; findings near it
/// may be less precise, which the message says.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Diagnostic {
    /// The event concerned, where there is one.
    pub event: Option<EventRef>,
    /// What is wrong and what it means for the analysis (one line).
    pub message: String,
}

/// Counts of an analysis.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events analyzed.
    pub events: u64,
    /// Tasks seen.
    pub tasks: u64,
    /// Variable accesses (plain and atomic) checked for races.
    pub accesses: u64,
    /// Happens-before edges between tasks (whether or not collected).
    pub edges: u64,
    /// Lock acquisitions.
    pub acquisitions: u64,
    /// Acquisitions made while holding another lock (lock-order edge occurrences).
    pub nested_acquisitions: u64,
    /// Most events waiting in the merge at one time (the skew between tasks).
    pub max_pending: u64,
    /// Events forced through the merge with a dependency unsatisfied.
    pub forced: u64,
    /// Racing access pairs found (the sum of [`Race::count`]).
    pub race_pairs: u64,
    /// Whether the search for lock-order cycles hit [`Options::max_cycle_len`] or its
    /// work bound, so longer cycles may exist unreported.
    pub cycle_bound_hit: bool,
    /// Bytes of input read (streaming analysis only).
    pub bytes: u64,
    /// Access records dropped because no access still to come could race with them (see
    /// [`Options::prune_every`]).
    pub records_dropped: u64,
    /// Whether the analysis was run a second time without dropping access records (see
    /// [`Options::prune_every`]): a task turned up that the first run could not foresee.
    pub restarted: bool,
}

/// The result of an analysis.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    /// Data races, sorted by (variable, first event, second event).
    pub races: Vec<Race>,
    /// Lock-order cycles, sorted by their locks and sites.
    pub cycles: Vec<LockCycle>,
    /// Inconsistencies found, sorted by event.
    pub diagnostics: Vec<Diagnostic>,
    /// Happens-before edges between tasks, in processing order (only with
    /// [`Options::collect_edges`]).
    pub edges: Vec<HbEdge>,
    /// Counts.
    pub stats: Stats,
    /// Damage met while reading the trace (one line each); what survived was analyzed.
    pub lost: Vec<String>,
    /// The trace's definitions, to name tasks, objects and locations.
    pub symbols: Symbols,
    /// The program name from the trace header.
    pub program: String,
}

impl Analysis {
    /// Whether there is anything to report (a race or a cycle); diagnostics alone are not
    /// findings.
    pub fn has_findings(&self) -> bool {
        !self.races.is_empty() || !self.cycles.is_empty()
    }
}

/// Progress of a streaming analysis, reported now and then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes read so far.
    pub bytes_read: u64,
    /// Size of the file, where known.
    pub bytes_total: Option<u64>,
    /// Events analyzed so far.
    pub events: u64,
}
