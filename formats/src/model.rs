//! The trace data model: what a recorded run consists of.
//!
//! A trace is a [`Header`] followed by a stream of *definitions* ([`Def`]) and *events*
//! ([`Event`]). Definitions give names and source locations to the small integer ids
//! that events carry; a definition always precedes, in file order, every event that
//! uses its id.

use serde::{Deserialize, Serialize};

/// Identifier of a task (a thread or an async task; a goroutine in Go's vocabulary).
///
/// Assigned by the recorder, dense from 0.
pub type TaskId = u32;

/// Identifier of an object: a synchronization object or a tagged variable.
///
/// Unique per object instance for the whole run (never a reused address).
pub type ObjectId = u64;

/// Identifier of an interned source location.
pub type LocId = u32;

/// Identifier of an interned string.
pub type StrId = u32;

/// The first record of every trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Major format version; a reader refuses a major version it does not know.
    pub version_major: u16,
    /// Minor format version; newer minor versions only add things older readers may skip.
    pub version_minor: u16,
    /// Name of the recorded program (usually its executable name).
    pub program: String,
    /// Wall-clock start of the recording, in nanoseconds since the Unix epoch.
    pub start_unix_ns: u64,
    /// Length of one timestamp tick in nanoseconds (1 for hb's recorder).
    pub clock_unit_ns: u64,
    /// Free key/value metadata (host, command line, recorder settings...).
    pub metadata: Vec<(String, String)>,
}

impl Header {
    /// A header for the current format version, with a zero start time and nanosecond ticks.
    pub fn new(program: impl Into<String>) -> Self {
        Header {
            version_major: crate::FORMAT_VERSION_MAJOR,
            version_minor: crate::FORMAT_VERSION_MINOR,
            program: program.into(),
            start_unix_ns: 0,
            clock_unit_ns: 1,
            metadata: Vec::new(),
        }
    }
}

/// A source location, as given by `#[track_caller]` or by an imported trace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Location {
    /// Source file path, as the compiler reports it.
    pub file: String,
    /// 1-based line number (0 when unknown).
    pub line: u32,
    /// 1-based column number (0 when unknown).
    pub column: u32,
    /// Enclosing function, where known.
    pub function: Option<String>,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)?;
        if self.column != 0 {
            write!(f, ":{}", self.column)?;
        }
        Ok(())
    }
}

/// What kind of object an [`ObjectId`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ObjectKind {
    /// A mutual-exclusion lock.
    Mutex,
    /// A reader-writer lock.
    RwLock,
    /// A condition variable.
    Condvar,
    /// A channel; `capacity` is `Some(0)` for a rendezvous channel, `None` for unbounded.
    Channel {
        /// Buffer capacity: 0 = unbuffered (rendezvous), `None` = unbounded.
        capacity: Option<u64>,
    },
    /// A one-time initialization cell (`Once`, `OnceLock`).
    Once,
    /// A wait group (Go's `sync.WaitGroup`).
    WaitGroup,
    /// A barrier for `parties` tasks.
    Barrier {
        /// Number of tasks that must arrive before any leaves.
        parties: u64,
    },
    /// An atomic cell.
    Atomic,
    /// A tagged shared variable whose plain reads and writes are recorded.
    Variable,
}

impl ObjectKind {
    /// A short lower-case noun for messages ("mutex", "channel", ...).
    pub fn noun(&self) -> &'static str {
        match self {
            ObjectKind::Mutex => "mutex",
            ObjectKind::RwLock => "rwlock",
            ObjectKind::Condvar => "condvar",
            ObjectKind::Channel { .. } => "channel",
            ObjectKind::Once => "once",
            ObjectKind::WaitGroup => "waitgroup",
            ObjectKind::Barrier { .. } => "barrier",
            ObjectKind::Atomic => "atomic",
            ObjectKind::Variable => "variable",
        }
    }
}

/// A definition: gives meaning to an id used by events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Def {
    /// An interned string.
    Str {
        /// The string's id.
        id: StrId,
        /// Its text.
        text: String,
    },
    /// An interned source location; file and function are string ids.
    Loc {
        /// The location's id.
        id: LocId,
        /// Source file (a [`Def::Str`] id).
        file: StrId,
        /// Line number.
        line: u32,
        /// Column number.
        column: u32,
        /// Enclosing function (a [`Def::Str`] id), where known.
        function: Option<StrId>,
    },
    /// A task.
    Task {
        /// The task's id.
        id: TaskId,
        /// Its name (a [`Def::Str`] id), where it has one.
        name: Option<StrId>,
        /// The task that spawned it; its first event follows that task's spawn event.
        parent: Option<TaskId>,
    },
    /// An object.
    Object {
        /// The object's id.
        id: ObjectId,
        /// What it is.
        kind: ObjectKind,
        /// Its name (a [`Def::Str`] id), where it has one.
        name: Option<StrId>,
        /// Where it was created, where known.
        loc: Option<LocId>,
    },
}

/// Shorthands for the definitions tests, benches and generated traces write most: no
/// name, no creation site, no column, no function. Set those fields with the struct
/// literal instead.
///
/// ```
/// use hb_format::{Def, Header, ObjectKind, Trace};
///
/// let mut t = Trace::new(Header::new("demo"));
/// for def in [
///     Def::task(0, None),
///     Def::task(1, Some(0)),
///     Def::object(7, ObjectKind::Mutex),
///     Def::loc(3, 0, 42),
/// ] {
///     t.define(def);
/// }
/// assert_eq!(t.defs[1], Def::Task { id: 1, name: None, parent: Some(0) });
/// assert_eq!(t.defs[2], Def::Object { id: 7, kind: ObjectKind::Mutex, name: None, loc: None });
/// assert_eq!(t.defs[3], Def::Loc { id: 3, file: 0, line: 42, column: 0, function: None });
/// ```
impl Def {
    /// The interned string `text`.
    pub fn str(id: StrId, text: impl Into<String>) -> Def {
        Def::Str {
            id,
            text: text.into(),
        }
    }

    /// An unnamed task spawned by `parent` (`None` for a root task).
    pub fn task(id: TaskId, parent: Option<TaskId>) -> Def {
        Def::Task {
            id,
            name: None,
            parent,
        }
    }

    /// An unnamed object of `kind` with no known creation site.
    pub fn object(id: ObjectId, kind: ObjectKind) -> Def {
        Def::Object {
            id,
            kind,
            name: None,
            loc: None,
        }
    }

    /// A location at `line` of `file` (a [`Def::Str`] id), with column 0 and no function.
    pub fn loc(id: LocId, file: StrId, line: u32) -> Def {
        Def::Loc {
            id,
            file,
            line,
            column: 0,
            function: None,
        }
    }
}

/// Memory ordering of an atomic operation (Rust's `std::sync::atomic::Ordering`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MemOrder {
    /// No ordering: never an edge.
    Relaxed,
    /// Release (stores).
    Release,
    /// Acquire (loads).
    Acquire,
    /// Acquire and release (read-modify-writes).
    AcqRel,
    /// Sequentially consistent.
    SeqCst,
}

impl MemOrder {
    /// Whether a store or RMW with this ordering publishes (release semantics).
    pub fn is_release(self) -> bool {
        matches!(self, MemOrder::Release | MemOrder::AcqRel | MemOrder::SeqCst)
    }

    /// Whether a load or RMW with this ordering synchronizes with a release (acquire semantics).
    pub fn is_acquire(self) -> bool {
        matches!(self, MemOrder::Acquire | MemOrder::AcqRel | MemOrder::SeqCst)
    }

    pub(crate) fn to_code(self) -> u64 {
        match self {
            MemOrder::Relaxed => 0,
            MemOrder::Release => 1,
            MemOrder::Acquire => 2,
            MemOrder::AcqRel => 3,
            MemOrder::SeqCst => 4,
        }
    }

    pub(crate) fn from_code(code: u64) -> Option<Self> {
        Some(match code {
            0 => MemOrder::Relaxed,
            1 => MemOrder::Release,
            2 => MemOrder::Acquire,
            3 => MemOrder::AcqRel,
            4 => MemOrder::SeqCst,
            _ => return None,
        })
    }
}

/// What a channel receive got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RecvResult {
    /// The message sent by the send with this sequence number (1-based, per channel).
    Value {
        /// Sequence number of the send whose message was received.
        seq: u64,
    },
    /// The channel was closed: every sender had closed; `closes` is how many close events
    /// (numbered 1..=closes) precede this receive.
    Closed {
        /// Number of close events this receive observed.
        closes: u64,
    },
}

/// One recorded event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The task that performed it.
    pub task: TaskId,
    /// Nanoseconds since the start of the recording (times [`Header::clock_unit_ns`]).
    /// For display only: the analyzer never orders events by timestamp.
    pub ts: u64,
    /// Source location of the operation, where known.
    pub loc: Option<LocId>,
    /// What happened.
    pub kind: EventKind,
}

/// The kinds of event, with their operands.
///
/// Sequence numbers (`seq`) are per object, 1-based and gap-free; they are taken by the
/// recorder at the moment the operation takes effect, so the analyzer never needs
/// timestamps to order operations on one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    /// The task spawned `child`. Happens-before the child's first event.
    TaskSpawn {
        /// The spawned task.
        child: TaskId,
    },
    /// The task started running (its first event).
    TaskStart,
    /// The task finished. Creates no edge on its own.
    TaskEnd,
    /// The task joined `child`: the child's end happens-before this event.
    TaskJoin {
        /// The joined task.
        child: TaskId,
    },

    /// A task requested a lock (it may block). Used for lock-wait display and deadlock
    /// reports; an unmatched request at the end of a trace marks a real deadlock.
    LockRequest {
        /// The mutex or rwlock.
        lock: ObjectId,
    },
    /// The `seq`-th acquisition of a mutex. A lock whose `seq` equals the one this task
    /// already holds is re-entrant (imported traces only).
    MutexLock {
        /// The mutex.
        mutex: ObjectId,
        /// Acquisition number.
        seq: u64,
    },
    /// Release of acquisition `seq`.
    MutexUnlock {
        /// The mutex.
        mutex: ObjectId,
        /// Acquisition number being released.
        seq: u64,
    },
    /// A `try_lock` that failed: no edge.
    MutexTryLockFailed {
        /// The mutex.
        mutex: ObjectId,
    },
    /// The `seq`-th acquisition (read or write) of an rwlock, as a reader.
    RwReadLock {
        /// The rwlock.
        lock: ObjectId,
        /// Acquisition number (shared with write acquisitions).
        seq: u64,
    },
    /// Release of read acquisition `seq`.
    RwReadUnlock {
        /// The rwlock.
        lock: ObjectId,
        /// Acquisition number being released.
        seq: u64,
    },
    /// The `seq`-th acquisition of an rwlock, as the writer.
    RwWriteLock {
        /// The rwlock.
        lock: ObjectId,
        /// Acquisition number.
        seq: u64,
    },
    /// Release of write acquisition `seq`.
    RwWriteUnlock {
        /// The rwlock.
        lock: ObjectId,
        /// Acquisition number being released.
        seq: u64,
    },

    /// A condvar wait began (the mutex unlock is recorded as its own event).
    CondvarWaitBegin {
        /// The condvar.
        condvar: ObjectId,
        /// The mutex it waits with.
        mutex: ObjectId,
    },
    /// A condvar wait ended (the mutex re-lock is recorded as its own event).
    CondvarWaitEnd {
        /// The condvar.
        condvar: ObjectId,
        /// The mutex it waits with.
        mutex: ObjectId,
        /// Whether the wait timed out.
        timed_out: bool,
    },
    /// `notify_one`: no edge (ordering comes from the mutex).
    CondvarNotifyOne {
        /// The condvar.
        condvar: ObjectId,
    },
    /// `notify_all`: no edge (ordering comes from the mutex).
    CondvarNotifyAll {
        /// The condvar.
        condvar: ObjectId,
    },

    /// A channel was created (its capacity is in its [`Def::Object`]).
    ChanMake {
        /// The channel.
        chan: ObjectId,
    },
    /// Message `seq` entered the channel. Happens-before the receive of `seq`.
    ChanSendBegin {
        /// The channel.
        chan: ObjectId,
        /// Message number (1-based, in queue order).
        seq: u64,
    },
    /// The send of message `seq` returned. The receive of message `seq - C` (C = capacity,
    /// 0 for a rendezvous channel) happens-before this event.
    ChanSendEnd {
        /// The channel.
        chan: ObjectId,
        /// Message number.
        seq: u64,
    },
    /// A receive returned.
    ChanRecv {
        /// The channel.
        chan: ObjectId,
        /// What it got.
        result: RecvResult,
    },
    /// A sender closed the channel (in Rust: a sender handle was dropped); `seq` numbers
    /// the closes of this channel.
    ChanClose {
        /// The channel.
        chan: ObjectId,
        /// Close number (1-based).
        seq: u64,
    },

    /// This task runs the initialization of a once cell.
    OnceBegin {
        /// The once cell.
        once: ObjectId,
    },
    /// The initialization finished. Happens-before every [`EventKind::OnceAlreadyDone`].
    OnceEnd {
        /// The once cell.
        once: ObjectId,
    },
    /// A call returned without running the initialization, because it was done.
    OnceAlreadyDone {
        /// The once cell.
        once: ObjectId,
    },

    /// `Add(delta)` on a wait group. No edge.
    WaitGroupAdd {
        /// The wait group.
        wg: ObjectId,
        /// The signed delta.
        delta: i64,
    },
    /// The `seq`-th `Done` of a wait group; `zero` is true when it brought the counter to 0.
    WaitGroupDone {
        /// The wait group.
        wg: ObjectId,
        /// Done number (1-based).
        seq: u64,
        /// Whether this done ended a phase (counter reached zero).
        zero: bool,
    },
    /// `Wait` returned because the counter reached zero at done `seq`: every done numbered
    /// `1..=seq` happens-before it, as the Go memory model says of every `Done` before `Wait`
    /// returns — also when the counter touched zero earlier, as it does when `Add(1)` runs
    /// in a spawning loop (`seq` = 0: the counter was never positive, no edge).
    WaitGroupWait {
        /// The wait group.
        wg: ObjectId,
        /// The done that ended the phase this wait observed.
        seq: u64,
    },
    /// The `seq`-th arrival at a barrier; `last` is true for the arrival that released
    /// its generation.
    BarrierArrive {
        /// The barrier.
        barrier: ObjectId,
        /// Arrival number (1-based).
        seq: u64,
        /// Whether this arrival completed its generation.
        last: bool,
    },
    /// A task left a barrier: every arrival numbered `1..=seq` (its own generation, which
    /// arrival `seq` completed, and the earlier ones) happens-before this event.
    BarrierLeave {
        /// The barrier.
        barrier: ObjectId,
        /// The arrival that completed this generation.
        seq: u64,
    },

    /// An atomic load that read the value written by store number `version` (0 = the
    /// initial value).
    AtomicLoad {
        /// The atomic.
        atomic: ObjectId,
        /// Memory ordering.
        order: MemOrder,
        /// Version read.
        version: u64,
    },
    /// An atomic store creating version `version` (1-based, per atomic).
    AtomicStore {
        /// The atomic.
        atomic: ObjectId,
        /// Memory ordering.
        order: MemOrder,
        /// Version written.
        version: u64,
    },
    /// An atomic read-modify-write that read `version - 1` and wrote `version`.
    AtomicRmw {
        /// The atomic.
        atomic: ObjectId,
        /// Memory ordering.
        order: MemOrder,
        /// Version written.
        version: u64,
    },

    /// A plain read of a tagged variable.
    VarRead {
        /// The variable.
        var: ObjectId,
    },
    /// A plain write of a tagged variable.
    VarWrite {
        /// The variable.
        var: ObjectId,
    },

    /// The task entered a span of the program's own `tracing` instrumentation.
    SpanEnter {
        /// Span name (a [`Def::Str`] id).
        name: StrId,
        /// The subscriber's span id (to pair enter with exit).
        span: u64,
    },
    /// The task exited a span.
    SpanExit {
        /// The subscriber's span id.
        span: u64,
    },
    /// An event of the program's own `tracing` instrumentation.
    UserEvent {
        /// Its message (a [`Def::Str`] id).
        message: StrId,
    },
    /// The task slept. Never an edge.
    Sleep {
        /// Requested duration in nanoseconds.
        nanos: u64,
    },
    /// The task yielded. Never an edge.
    Yield,
}

impl EventKind {
    /// The object this event operates on, if any (the mutex of a condvar wait is not
    /// counted: the separate lock/unlock events carry it).
    pub fn object(&self) -> Option<ObjectId> {
        use EventKind::*;
        match *self {
            TaskSpawn { .. } | TaskStart | TaskEnd | TaskJoin { .. } => None,
            LockRequest { lock } => Some(lock),
            MutexLock { mutex, .. } | MutexUnlock { mutex, .. } | MutexTryLockFailed { mutex } => Some(mutex),
            RwReadLock { lock, .. }
            | RwReadUnlock { lock, .. }
            | RwWriteLock { lock, .. }
            | RwWriteUnlock { lock, .. } => Some(lock),
            CondvarWaitBegin { condvar, .. }
            | CondvarWaitEnd { condvar, .. }
            | CondvarNotifyOne { condvar }
            | CondvarNotifyAll { condvar } => Some(condvar),
            ChanMake { chan }
            | ChanSendBegin { chan, .. }
            | ChanSendEnd { chan, .. }
            | ChanRecv { chan, .. }
            | ChanClose { chan, .. } => Some(chan),
            OnceBegin { once } | OnceEnd { once } | OnceAlreadyDone { once } => Some(once),
            WaitGroupAdd { wg, .. } | WaitGroupDone { wg, .. } | WaitGroupWait { wg, .. } => Some(wg),
            BarrierArrive { barrier, .. } | BarrierLeave { barrier, .. } => Some(barrier),
            AtomicLoad { atomic, .. } | AtomicStore { atomic, .. } | AtomicRmw { atomic, .. } => Some(atomic),
            VarRead { var } | VarWrite { var } => Some(var),
            SpanEnter { .. } | SpanExit { .. } | UserEvent { .. } | Sleep { .. } | Yield => None,
        }
    }

    /// A short, stable, lower-case name of the kind ("mutex-lock", "chan-recv", ...).
    pub fn name(&self) -> &'static str {
        use EventKind::*;
        match self {
            TaskSpawn { .. } => "spawn",
            TaskStart => "start",
            TaskEnd => "end",
            TaskJoin { .. } => "join",
            LockRequest { .. } => "lock-request",
            MutexLock { .. } => "mutex-lock",
            MutexUnlock { .. } => "mutex-unlock",
            MutexTryLockFailed { .. } => "mutex-try-lock-failed",
            RwReadLock { .. } => "rwlock-read-lock",
            RwReadUnlock { .. } => "rwlock-read-unlock",
            RwWriteLock { .. } => "rwlock-write-lock",
            RwWriteUnlock { .. } => "rwlock-write-unlock",
            CondvarWaitBegin { .. } => "condvar-wait-begin",
            CondvarWaitEnd { .. } => "condvar-wait-end",
            CondvarNotifyOne { .. } => "condvar-notify-one",
            CondvarNotifyAll { .. } => "condvar-notify-all",
            ChanMake { .. } => "chan-make",
            ChanSendBegin { .. } => "chan-send-begin",
            ChanSendEnd { .. } => "chan-send-end",
            ChanRecv { .. } => "chan-recv",
            ChanClose { .. } => "chan-close",
            OnceBegin { .. } => "once-begin",
            OnceEnd { .. } => "once-end",
            OnceAlreadyDone { .. } => "once-already-done",
            WaitGroupAdd { .. } => "waitgroup-add",
            WaitGroupDone { .. } => "waitgroup-done",
            WaitGroupWait { .. } => "waitgroup-wait",
            BarrierArrive { .. } => "barrier-arrive",
            BarrierLeave { .. } => "barrier-leave",
            AtomicLoad { .. } => "atomic-load",
            AtomicStore { .. } => "atomic-store",
            AtomicRmw { .. } => "atomic-rmw",
            VarRead { .. } => "read",
            VarWrite { .. } => "write",
            SpanEnter { .. } => "span-enter",
            SpanExit { .. } => "span-exit",
            UserEvent { .. } => "user-event",
            Sleep { .. } => "sleep",
            Yield => "yield",
        }
    }
}
