//! The recording runtime: global state, per-thread event buffers, the writer thread.
//!
//! Hot path ([`emit`]): a thread-local [`FrameEncoder`] receives each event (timestamp from
//! the TSC, or the thread's last reading for a spin load, see `Local::stamp`; location id
//! from a per-thread cache keyed by the `Location`'s address). A full buffer, or one whose oldest event
//! is older than the flush interval, is handed as a batch to the writer thread over a
//! bounded queue (`send` blocks when the queue is full: back-pressure, never a drop).
//!
//! Definitions (strings, locations, tasks, objects) are registered in one global
//! [`Registry`] when an id is first needed, *before* the id can appear in any event. The
//! writer drains the registry's pending definitions and writes them (a batch without task)
//! before every event batch it writes, so every definition precedes its first use in the
//! file.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{self, BufWriter, Write};
use std::panic::Location;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::*};
use std::sync::mpsc as stdmpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hb_format::{
    Def, EventKind, FrameEncoder, Header, LocId, ObjectId, ObjectKind, StrId, TaskId, TraceWriter,
};
use parking_lot::Mutex as PlMutex;

const OFF: u8 = 0;
const ON: u8 = 1;
const DONE: u8 = 2;

/// 0 = never started, 1 = recording, 2 = finished (a process records at most once).
static STATE: AtomicU8 = AtomicU8::new(OFF);
/// See [`Summary::unrecorded`].
static UNRECORDED: AtomicU64 = AtomicU64::new(0);
static GLOBAL: OnceLock<Global> = OnceLock::new();

/// Whether recording is active: the one relaxed load every instrumented operation pays.
#[inline(always)]
pub(crate) fn on() -> bool {
    STATE.load(Relaxed) == ON
}

/// Settings of a recording, fixed at install time.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) buffer_events: usize,
    pub(crate) flush_interval: Duration,
    pub(crate) queue_frames: usize,
    pub(crate) user_events: bool,
    pub(crate) program: String,
    pub(crate) metadata: Vec<(String, String)>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            buffer_events: 4096,
            flush_interval: Duration::from_millis(100),
            queue_frames: 64,
            user_events: true,
            program: program_name(),
            metadata: Vec::new(),
        }
    }
}

fn program_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "program".to_owned())
}

/// What a finished recording wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Events written.
    pub events: u64,
    /// Bytes written, header included.
    pub bytes: u64,
    /// Frames written (header, definition batches and event batches).
    pub frames: u64,
    /// Definitions written.
    pub defs: u64,
    /// Events the program performed while recording that could not be recorded: the
    /// thread's buffer was unreachable (the thread was exiting and its thread-local storage
    /// was already destroyed). Never silently: a non-zero count is also printed on stderr
    /// when the recording finishes, since the analysis of such a trace may miss edges.
    pub unrecorded: u64,
}

impl Summary {
    /// Bytes of the trace per event (0 without events).
    pub fn bytes_per_event(&self) -> f64 {
        if self.events == 0 {
            0.0
        } else {
            self.bytes as f64 / self.events as f64
        }
    }
}

struct Global {
    registry: PlMutex<Registry>,
    tx: stdmpsc::SyncSender<Msg>,
    config: Config,
    writer: PlMutex<Option<std::thread::JoinHandle<WriterOutcome>>>,
    pool: PlMutex<Vec<Vec<u64>>>,
}

fn global() -> Option<&'static Global> {
    GLOBAL.get()
}

/// The configured flush interval (the default before recording starts).
pub(crate) fn flush_interval() -> Duration {
    global().map_or(Duration::from_millis(100), |g| g.config.flush_interval)
}

pub(crate) fn user_events() -> bool {
    global().is_some_and(|g| g.config.user_events)
}

// ---------------------------------------------------------------------------------------
// Clock

mod clock {
    use super::*;

    static BASE: AtomicU64 = AtomicU64::new(0);
    /// Nanoseconds per tick, as a 32.32 fixed-point number.
    static MULT: AtomicU64 = AtomicU64::new(1 << 32);

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn ticks() -> u64 {
        // SAFETY: `rdtsc` has no preconditions on x86_64.
        unsafe { core::arch::x86_64::_rdtsc() }
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn ticks() -> u64 {
        static START: OnceLock<Instant> = OnceLock::new();
        START.get_or_init(Instant::now).elapsed().as_nanos() as u64
    }

    /// Name of the time source, for the header.
    pub(crate) fn source() -> &'static str {
        if cfg!(target_arch = "x86_64") {
            "tsc"
        } else {
            "instant"
        }
    }

    /// Measures the tick rate against `Instant` (2 ms) and sets time zero.
    pub(crate) fn calibrate() {
        let i0 = Instant::now();
        let t0 = ticks();
        while i0.elapsed() < Duration::from_millis(2) {
            std::hint::spin_loop();
        }
        let t1 = ticks();
        let ns = i0.elapsed().as_nanos() as u64;
        let mult = if t1 > t0 {
            ((ns as u128) << 32) / (t1 - t0) as u128
        } else {
            1 << 32
        };
        MULT.store(mult.min(u64::MAX as u128) as u64, Relaxed);
        BASE.store(t0, Relaxed);
    }

    /// Nanoseconds since the recording started.
    #[inline(always)]
    pub(crate) fn now() -> u64 {
        let t = ticks().saturating_sub(BASE.load(Relaxed));
        ((t as u128 * MULT.load(Relaxed) as u128) >> 32) as u64
    }
}

// ---------------------------------------------------------------------------------------
// Registry of definitions

#[derive(Default)]
struct Registry {
    pending: Vec<Def>,
    strs: HashMap<String, StrId>,
    locs: HashMap<(&'static str, u32, u32), LocId>,
    next_task: TaskId,
    next_obj: ObjectId,
    /// Tagged addresses (see `crate::tag`).
    addrs: HashMap<usize, ObjectId>,
}

impl Registry {
    fn str_id(&mut self, s: &str) -> StrId {
        if let Some(&id) = self.strs.get(s) {
            return id;
        }
        let id = self.strs.len() as StrId;
        self.strs.insert(s.to_owned(), id);
        self.pending.push(Def::str(id, s));
        id
    }

    fn loc_id(&mut self, file: &'static str, line: u32, column: u32) -> LocId {
        if let Some(&id) = self.locs.get(&(file, line, column)) {
            return id;
        }
        let file_id = self.str_id(file);
        let id = self.locs.len() as LocId;
        self.locs.insert((file, line, column), id);
        self.pending.push(Def::Loc {
            id,
            file: file_id,
            line,
            column,
            function: None,
        });
        id
    }

    fn new_task(&mut self, name: Option<&str>, parent: Option<TaskId>) -> TaskId {
        let name = name.map(|n| self.str_id(n));
        let id = self.next_task;
        self.next_task += 1;
        self.pending.push(Def::Task { id, name, parent });
        id
    }

    fn new_object(
        &mut self,
        kind: ObjectKind,
        name: Option<&str>,
        loc: Option<&'static Location<'static>>,
    ) -> ObjectId {
        let name = name.map(|n| self.str_id(n));
        let loc = loc.map(|l| self.loc_id(l.file(), l.line(), l.column()));
        self.next_obj += 1;
        let id = self.next_obj;
        self.pending.push(Def::Object { id, kind, name, loc });
        id
    }
}

/// Registers a new task spawned by the current thread (which is registered too, if it was
/// not yet). Returns `None` when not recording.
pub(crate) fn new_child_task(name: Option<&str>) -> Option<TaskId> {
    let parent = current_task()?;
    let g = global()?;
    Some(g.registry.lock().new_task(name, Some(parent)))
}

/// Interns a string (a span name, an event message).
pub(crate) fn str_id(s: &str) -> Option<StrId> {
    Some(global()?.registry.lock().str_id(s))
}

/// The object id tagged at `addr`, registering a variable named `name` on first use.
pub(crate) fn addr_object(addr: usize, name: &str, loc: &'static Location<'static>) -> Option<ObjectId> {
    let g = global()?;
    let mut r = g.registry.lock();
    if let Some(&id) = r.addrs.get(&addr) {
        return Some(id);
    }
    let id = r.new_object(ObjectKind::Variable, Some(name), Some(loc));
    r.addrs.insert(addr, id);
    Some(id)
}

/// Forgets the object tagged at `addr`: the next tag of that address is a new variable.
pub(crate) fn forget_addr(addr: usize) {
    if let Some(g) = global() {
        g.registry.lock().addrs.remove(&addr);
    }
}

// ---------------------------------------------------------------------------------------
// Object identity

/// The identity of one instrumented object: its id (assigned on first recorded use, or at
/// creation while recording), kind, creation site and name.
pub(crate) struct Obj {
    id: AtomicU64,
    kind: ObjectKind,
    loc: &'static Location<'static>,
    name: Option<Cow<'static, str>>,
}

impl Obj {
    /// An object not yet registered (usable in `const` contexts).
    pub(crate) const fn new(
        kind: ObjectKind,
        name: Option<&'static str>,
        loc: &'static Location<'static>,
    ) -> Self {
        let name = match name {
            Some(n) => Some(Cow::Borrowed(n)),
            None => None,
        };
        Obj {
            id: AtomicU64::new(0),
            kind,
            loc,
            name,
        }
    }

    /// An object registered right away when recording is on.
    pub(crate) fn eager(
        kind: ObjectKind,
        name: Option<Cow<'static, str>>,
        loc: &'static Location<'static>,
    ) -> Self {
        let o = Obj {
            id: AtomicU64::new(0),
            kind,
            loc,
            name,
        };
        if on() {
            o.id();
        }
        o
    }

    /// The object's id, registering it on first use.
    #[inline]
    pub(crate) fn id(&self) -> ObjectId {
        let v = self.id.load(Acquire);
        if v != 0 {
            v
        } else {
            self.register()
        }
    }

    #[cold]
    fn register(&self) -> ObjectId {
        let Some(g) = global() else { return 0 };
        let mut r = g.registry.lock();
        let v = self.id.load(Acquire);
        if v != 0 {
            return v;
        }
        let id = r.new_object(self.kind, self.name.as_deref(), Some(self.loc));
        self.id.store(id, Release);
        id
    }

    /// The object's name, if it has one.
    pub(crate) fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

impl std::fmt::Debug for Obj {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("hb");
        if let Some(n) = &self.name {
            d.field("name", n);
        }
        d.field("created", &format_args!("{}", self.loc)).finish()
    }
}

// ---------------------------------------------------------------------------------------
// Per-thread buffers

const NO_TASK: TaskId = TaskId::MAX;
const LOC_SLOTS: usize = 512;
const TRACING_LOC_SLOTS: usize = 64;

/// A location-cache slot keyed by the address of a `&'static Location` (what
/// `Location::caller()` returns: one static per call site, so an address always names the
/// same file, line and column).
#[derive(Clone, Copy)]
struct LocSlot {
    addr: usize,
    id: LocId,
}

const EMPTY_SLOT: LocSlot = LocSlot { addr: 0, id: 0 };

/// A location-cache slot for `tracing` callsites (file and line, no `Location`).
#[derive(Clone, Copy)]
struct FileLineSlot {
    file: usize,
    line: u32,
    id: LocId,
}

struct Local {
    task: TaskId,
    enc: FrameEncoder,
    /// This thread's last clock reading (0: none yet).
    last_read: u64,
    /// Repeated loads stamped with `last_read` since it was taken (see [`Local::stamp`]).
    untimed: u32,
    /// `(atomic, version)` when the previous event was an `AtomicLoad`, else `NO_SPIN`.
    spin: (ObjectId, u64),
    deadline: u64,
    cap: usize,
    flush_ns: u64,
    tx: Option<stdmpsc::SyncSender<Msg>>,
    /// Direct-mapped location cache keyed by `Location` address.
    locs: Box<[LocSlot; LOC_SLOTS]>,
    /// Direct-mapped cache of `tracing` callsite locations.
    tracing_locs: Box<[FileLineSlot; TRACING_LOC_SLOTS]>,
    /// Interned `&'static str`s (span names): (address, length, id).
    strs: Box<[(usize, usize, StrId); STR_SLOTS]>,
}

const STR_SLOTS: usize = 64;
const NO_SPIN: (ObjectId, u64) = (0, u64::MAX);

/// At most this many repeated loads in a row reuse their thread's last clock reading (see
/// [`Local::stamp`]).
pub(crate) const UNTIMED_RUN: u32 = 7;

/// How timestamps are taken (trace header metadata `timestamps`).
pub(crate) const TIMESTAMPS_NOTE: &str = "every event reads the clock, except an AtomicLoad \
that repeats its task's previous event (a load of the same atomic that read the same version): \
it carries that task's last clock reading (a lower bound), at most 7 such loads in a row";
/// Room reserved per buffered event in a fresh buffer (typical events take 4 to 6 words).
const WORDS_PER_EVENT: usize = 6;

thread_local! {
    static LOCAL: RefCell<Local> = RefCell::new(Local {
        task: NO_TASK,
        enc: FrameEncoder::new(),
        last_read: 0,
        untimed: 0,
        spin: NO_SPIN,
        deadline: 0,
        cap: 0,
        flush_ns: 0,
        tx: None,
        locs: Box::new([EMPTY_SLOT; LOC_SLOTS]),
        tracing_locs: Box::new([FileLineSlot { file: 0, line: 0, id: 0 }; TRACING_LOC_SLOTS]),
        strs: Box::new([(0, 0, 0); STR_SLOTS]),
    });
}

impl Local {
    /// Connects this thread to the recording as task `task`.
    fn attach(&mut self, task: TaskId) -> bool {
        if STATE.load(Acquire) != ON {
            return false;
        }
        let Some(g) = global() else { return false };
        self.cap = g.config.buffer_events.max(1);
        self.flush_ns = g.config.flush_interval.as_nanos().min(u64::MAX as u128) as u64;
        self.tx = Some(g.tx.clone());
        let words = g
            .pool
            .lock()
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(self.cap.saturating_mul(WORDS_PER_EVENT)));
        self.enc.restart(words);
        self.task = task;
        true
    }

    /// Registers a thread not spawned through hb (the main thread, a std thread): a task
    /// without parent, whose first event is its start.
    #[cold]
    fn register(&mut self) -> bool {
        if STATE.load(Acquire) != ON {
            return false;
        }
        let Some(g) = global() else { return false };
        let thread = std::thread::current();
        let task = g.registry.lock().new_task(thread.name(), None);
        if !self.attach(task) {
            return false;
        }
        self.push(None, EventKind::TaskStart);
        true
    }

    /// The id of a caller location: one load and compare on a hit.
    #[inline]
    fn loc(&mut self, l: &'static Location<'static>) -> LocId {
        let addr = l as *const Location<'static> as usize;
        // `Location`s are 8-aligned and at least 24 bytes apart.
        let slot = &mut self.locs[(addr >> 3) % LOC_SLOTS];
        if slot.addr == addr {
            return slot.id;
        }
        Self::loc_miss(slot, l)
    }

    #[cold]
    #[inline(never)]
    fn loc_miss(slot: &mut LocSlot, l: &'static Location<'static>) -> LocId {
        let id = match global() {
            Some(g) => g.registry.lock().loc_id(l.file(), l.line(), l.column()),
            None => 0,
        };
        *slot = LocSlot {
            addr: l as *const Location<'static> as usize,
            id,
        };
        id
    }

    /// The id of a `tracing` callsite location (file and line).
    fn file_line(&mut self, file: &'static str, line: u32) -> LocId {
        let fp = file.as_ptr() as usize;
        let h = (fp >> 3) ^ (line as usize).wrapping_mul(0x9e37);
        let slot = &mut self.tracing_locs[h % TRACING_LOC_SLOTS];
        if slot.file == fp && slot.line == line {
            return slot.id;
        }
        let id = match global() {
            Some(g) => g.registry.lock().loc_id(file, line, 0),
            None => 0,
        };
        *slot = FileLineSlot { file: fp, line, id };
        id
    }

    fn static_str(&mut self, s: &'static str) -> StrId {
        let (p, n) = (s.as_ptr() as usize, s.len());
        let slot = &mut self.strs[(p >> 3) % STR_SLOTS];
        if slot.0 == p && slot.1 == n {
            return slot.2;
        }
        let id = match global() {
            Some(g) => g.registry.lock().str_id(s),
            None => 0,
        };
        *slot = (p, n, id);
        id
    }

    /// The timestamp of an event of `kind`: a clock reading, except for a repeated load.
    ///
    /// A load of the same atomic and version as the thread's previous event (a spin loop
    /// waiting for a change) reuses the thread's last reading, at most [`UNTIMED_RUN`] times
    /// in a row: a spin iteration is mostly its recording, and the TSC read is a part of that
    /// (about 2.5 ns of 13.5 per spin load, measured with `benches/event_cost.rs`). The stamp
    /// is a lower bound (the load happened at or after it) and never earlier than the thread's
    /// previous event. The only edge ending at such a load comes from the store that the
    /// first, timed load of the same version read from, and the stamp is not earlier than
    /// that load's, so the untimed stamp adds no edge pointing further back in time.
    #[inline]
    fn stamp(&mut self, kind: &EventKind) -> u64 {
        let repeat = match *kind {
            EventKind::AtomicLoad { atomic, version, .. } => {
                let repeat = self.spin == (atomic, version);
                self.spin = (atomic, version);
                repeat
            }
            _ => {
                self.spin = NO_SPIN;
                false
            }
        };
        if repeat && self.untimed < UNTIMED_RUN && self.last_read != 0 {
            self.untimed += 1;
        } else {
            self.untimed = 0;
            self.last_read = clock::now();
        }
        self.last_read
    }

    #[inline]
    fn push_id(&mut self, loc: Option<LocId>, kind: EventKind) {
        let ts = self.stamp(&kind);
        if self.enc.is_empty() {
            self.deadline = ts.saturating_add(self.flush_ns);
        }
        self.enc.push(ts, loc, &kind);
        if self.enc.len() >= self.cap || ts >= self.deadline {
            self.flush();
        }
    }

    #[inline]
    fn push(&mut self, loc: Option<&'static Location<'static>>, kind: EventKind) {
        if self.task == NO_TASK && !self.register() {
            return;
        }
        let loc = loc.map(|l| self.loc(l));
        self.push_id(loc, kind);
    }

    fn flush(&mut self) {
        if self.enc.is_empty() {
            return;
        }
        let events = self.enc.len();
        let fresh = global()
            .and_then(|g| g.pool.lock().pop())
            .unwrap_or_else(|| Vec::with_capacity(self.cap.saturating_mul(WORDS_PER_EVENT)));
        let words = self.enc.take();
        self.enc.restart(fresh);
        if let Some(tx) = &self.tx {
            // Blocks while the writer's queue is full (back-pressure). Fails only after
            // the recording finished, when the events can no longer be written anyway.
            let _ = tx.send(Msg::Batch {
                task: self.task,
                words,
                events,
            });
        }
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Runs `f` on the current thread's buffer. When the buffer cannot be reached (the thread
/// is exiting and its thread-local storage is already destroyed, or the recorder re-entered
/// itself), the event is counted in [`Summary::unrecorded`] instead of vanishing silently.
#[inline]
fn with_local(f: impl FnOnce(&mut Local)) {
    let done = LOCAL
        .try_with(|l| match l.try_borrow_mut() {
            Ok(mut l) => {
                f(&mut l);
                true
            }
            Err(_) => false,
        })
        .unwrap_or(false);
    if !done {
        UNRECORDED.fetch_add(1, Relaxed);
    }
}

/// Records one event of the current thread at `loc`.
#[inline]
pub(crate) fn emit(loc: &'static Location<'static>, kind: EventKind) {
    with_local(|l| l.push(Some(loc), kind));
}

/// Records one event of the current thread without a location.
pub(crate) fn emit_noloc(kind: EventKind) {
    with_local(|l| l.push(None, kind));
}

/// Records one event at a location that is not a `std::panic::Location` (a `tracing`
/// callsite).
pub(crate) fn emit_at(file: Option<&'static str>, line: Option<u32>, kind: EventKind) {
    with_local(|l| {
        if l.task == NO_TASK && !l.register() {
            return;
        }
        let loc = file.map(|f| l.file_line(f, line.unwrap_or(0)));
        l.push_id(loc, kind);
    });
}

/// Records a span entry of the program's `tracing` instrumentation.
pub(crate) fn emit_span_enter(name: &'static str, span: u64, file: Option<&'static str>, line: Option<u32>) {
    with_local(|l| {
        if l.task == NO_TASK && !l.register() {
            return;
        }
        let name = l.static_str(name);
        let loc = file.map(|f| l.file_line(f, line.unwrap_or(0)));
        l.push_id(loc, EventKind::SpanEnter { name, span });
    });
}

/// The current thread's task id, registering the thread if needed (`None` when not
/// recording).
pub(crate) fn current_task() -> Option<TaskId> {
    LOCAL
        .try_with(|l| {
            let mut l = l.try_borrow_mut().ok()?;
            if l.task == NO_TASK && !l.register() {
                return None;
            }
            Some(l.task)
        })
        .ok()
        .flatten()
}

/// Makes the current (freshly spawned) thread task `task` and records its start.
pub(crate) fn start_task(task: TaskId, loc: &'static Location<'static>) {
    with_local(|l| {
        if l.attach(task) {
            l.push(Some(loc), EventKind::TaskStart);
        }
    });
}

/// Records the end of the current task and hands its buffer to the writer.
pub(crate) fn end_task() {
    with_local(|l| {
        if l.task != NO_TASK && on() {
            l.push(None, EventKind::TaskEnd);
        }
        l.flush();
    });
}

/// Hands the current thread's buffered events to the writer (called before a thread may
/// block for long, so a killed or deadlocked process still shows what led there).
pub(crate) fn flush_current() {
    let _ = LOCAL.try_with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            l.flush();
        }
    });
}

// ---------------------------------------------------------------------------------------
// Writer thread

enum Msg {
    Batch {
        task: TaskId,
        words: Vec<u64>,
        events: usize,
    },
    Sync(stdmpsc::SyncSender<()>),
    Stop,
}

struct WriterOutcome {
    summary: Summary,
    error: Option<io::Error>,
}

type Sink = Box<dyn Write + Send>;

fn writer_main(
    mut w: TraceWriter<BufWriter<Sink>>,
    rx: stdmpsc::Receiver<Msg>,
    interval: Duration,
) -> WriterOutcome {
    let mut summary = Summary {
        frames: 1,
        ..Summary::default()
    };
    let mut error: Option<io::Error> = None;
    let mut dirty = false;
    let mut last_flush = Instant::now();
    let write_defs = |w: &mut TraceWriter<BufWriter<Sink>>, summary: &mut Summary| -> io::Result<()> {
        let Some(g) = global() else { return Ok(()) };
        let defs = std::mem::take(&mut g.registry.lock().pending);
        if !defs.is_empty() {
            summary.defs += defs.len() as u64;
            summary.frames += 1;
            w.write_batch(None, &defs, &[])?;
        }
        Ok(())
    };
    loop {
        let msg = rx.recv_timeout(interval);
        let stop = match msg {
            Ok(Msg::Batch { task, words, events }) => {
                if error.is_none() {
                    let r = write_defs(&mut w, &mut summary)
                        .and_then(|()| w.write_batch(Some(task), &[], &words));
                    match r {
                        Ok(()) => {
                            summary.events += events as u64;
                            summary.frames += 1;
                            dirty = true;
                        }
                        Err(e) => error = Some(e),
                    }
                }
                if let Some(g) = global() {
                    let mut pool = g.pool.lock();
                    if pool.len() < 64 {
                        // Not cleared: the encoder overwrites it (and need not zero it).
                        pool.push(words);
                    }
                }
                false
            }
            Ok(Msg::Sync(ack)) => {
                if error.is_none() {
                    if let Err(e) = write_defs(&mut w, &mut summary).and_then(|()| w.flush()) {
                        error = Some(e);
                    }
                }
                dirty = false;
                last_flush = Instant::now();
                let _ = ack.send(());
                false
            }
            Ok(Msg::Stop) | Err(stdmpsc::RecvTimeoutError::Disconnected) => true,
            Err(stdmpsc::RecvTimeoutError::Timeout) => false,
        };
        if stop {
            break;
        }
        if dirty && last_flush.elapsed() >= interval {
            if error.is_none() {
                if let Err(e) = w.flush() {
                    error = Some(e);
                }
            }
            dirty = false;
            last_flush = Instant::now();
        }
    }
    if error.is_none() {
        if let Err(e) = write_defs(&mut w, &mut summary).and_then(|()| w.flush()) {
            error = Some(e);
        }
    }
    summary.bytes = w.bytes_written();
    WriterOutcome { summary, error }
}

// ---------------------------------------------------------------------------------------
// Start and finish

/// Starts recording into `out`. Fails if this process already recorded.
pub(crate) fn install(out: Sink, config: Config) -> io::Result<()> {
    if GLOBAL.get().is_some() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "hb recording was already started in this process (a process records at most one trace)",
        ));
    }
    clock::calibrate();
    let mut header = Header::new(config.program.clone());
    header.start_unix_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    header.metadata.push((
        "recorder".into(),
        format!("hb-recorder {}", env!("CARGO_PKG_VERSION")),
    ));
    header.metadata.push(("clock".into(), clock::source().into()));
    header
        .metadata
        .push(("timestamps".into(), TIMESTAMPS_NOTE.into()));
    header
        .metadata
        .push(("buffer_events".into(), config.buffer_events.to_string()));
    header.metadata.push((
        "flush_interval_ms".into(),
        config.flush_interval.as_millis().to_string(),
    ));
    header.metadata.push((
        "command_line".into(),
        std::env::args().collect::<Vec<_>>().join(" "),
    ));
    header.metadata.extend(config.metadata.iter().cloned());
    let w = TraceWriter::new(BufWriter::with_capacity(256 << 10, out), &header)?;
    let (tx, rx) = stdmpsc::sync_channel(config.queue_frames.max(1));
    let interval = config.flush_interval;
    let state = Global {
        registry: PlMutex::new(Registry::default()),
        tx,
        config,
        writer: PlMutex::new(None),
        pool: PlMutex::new(Vec::new()),
    };
    if GLOBAL.set(state).is_err() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "hb recording was already started in this process (a process records at most one trace)",
        ));
    }
    let g = global().expect("just set");
    let handle = std::thread::Builder::new()
        .name("hb-writer".into())
        .spawn(move || writer_main(w, rx, interval))?;
    *g.writer.lock() = Some(handle);
    register_atexit();
    STATE.store(ON, Release);
    Ok(())
}

/// Whether a recording was started and not finished yet.
pub(crate) fn is_recording() -> bool {
    STATE.load(Acquire) == ON
}

/// Makes every event handed to the writer so far reach the output (the current thread's
/// buffer included).
pub(crate) fn sync() -> io::Result<()> {
    flush_current();
    let Some(g) = global() else { return Ok(()) };
    if STATE.load(Acquire) != ON {
        return Ok(());
    }
    let (ack_tx, ack_rx) = stdmpsc::sync_channel(1);
    if g.tx.send(Msg::Sync(ack_tx)).is_ok() {
        let _ = ack_rx.recv();
    }
    Ok(())
}

/// Stops recording: flushes the current thread, writes everything queued, closes the
/// output. Later calls return an error.
pub(crate) fn finish() -> io::Result<Summary> {
    flush_current();
    if STATE.compare_exchange(ON, DONE, AcqRel, Acquire).is_err() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "no hb recording is running (never started, or already finished)",
        ));
    }
    let g = global().expect("recording was on");
    let _ = g.tx.send(Msg::Stop);
    let handle = g.writer.lock().take();
    let outcome = match handle {
        Some(h) => h
            .join()
            .map_err(|_| io::Error::other("the hb writer thread panicked"))?,
        None => return Err(io::Error::other("the hb writer thread is gone")),
    };
    match outcome.error {
        Some(e) => Err(io::Error::new(
            e.kind(),
            format!("writing the hb trace failed: {e}"),
        )),
        None => {
            let mut summary = outcome.summary;
            summary.unrecorded = UNRECORDED.load(Relaxed);
            if summary.unrecorded > 0 {
                eprintln!(
                    "hb-recorder: warning: {} events could not be recorded (performed by threads whose thread-local storage was already destroyed); the analysis may miss edges around them",
                    summary.unrecorded
                );
            }
            Ok(summary)
        }
    }
}

extern "C" fn finish_at_exit() {
    if STATE.load(Acquire) == ON {
        if let Err(e) = finish() {
            eprintln!("hb-recorder: {e}");
        }
    }
}

fn register_atexit() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: `finish_at_exit` is a plain `extern "C" fn()` that never unwinds past
        // its frame (it only logs errors).
        unsafe {
            libc::atexit(finish_at_exit);
        }
    });
}
