//! Shared fuzzing machinery: valid random traces, mutations that remember what they
//! touched, checksum repair, and a per-thread counting allocator.
//!
//! Used by the cargo-fuzz targets (through the `hb_fuzz` library) and, through
//! `#[path]`, by the bounded harnesses that run in `cargo test`
//! (`formats/tests/damage.rs`, `analyzer/tests/damaged.rs`). Depends on `hb-format` and
//! `std` only.

#![allow(dead_code, unreachable_pub)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use hb_format::{Def, Event, EventKind, Header, MemOrder, ObjectKind, RecvResult, Trace};

/// A small deterministic generator (SplitMix64): reproducible cases from one seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability 1/`n`.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }

    /// Random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// Object ids of the generated traces, one per kind.
const MUTEX: u64 = 1;
const RWLOCK: u64 = 2;
const CHAN: u64 = 3;
const ONCE: u64 = 4;
const WG: u64 = 5;
const BARRIER: u64 = 6;
const ATOMIC: u64 = 7;
const CONDVAR: u64 = 8;
const MUTEX2: u64 = 9;
/// Variables are 100, 101, 102.
const VAR0: u64 = 100;

/// A random, consistent trace: task 0 spawns up to 3 tasks, which then lock, send and
/// receive on a channel of random capacity, store and load atomics, take an rwlock, use a
/// once cell, wait groups, a barrier, spans and plain accesses to three variables (some
/// protected, some not), and are joined. Generated in one global order, so every
/// sequence number is right; the file groups events per task in batches of random size.
pub fn random_trace(rng: &mut Rng) -> Trace {
    let mut t = Trace::new(Header::new("fuzz"));
    t.define(Def::str(0, "src/fuzz.rs"));
    t.define(Def::str(1, "span"));
    for l in 0..8 {
        t.define(Def::loc(l, 0, l + 1));
    }
    let ntasks = 1 + rng.below(4) as u32;
    for id in 0..ntasks {
        t.define(Def::task(id, (id > 0).then_some(0)));
    }
    let cap = match rng.below(3) {
        0 => None,
        n => Some(n - 1),
    };
    let objects = [
        (MUTEX, ObjectKind::Mutex),
        (MUTEX2, ObjectKind::Mutex),
        (RWLOCK, ObjectKind::RwLock),
        (CHAN, ObjectKind::Channel { capacity: cap }),
        (ONCE, ObjectKind::Once),
        (WG, ObjectKind::WaitGroup),
        (BARRIER, ObjectKind::Barrier { parties: 1 }),
        (ATOMIC, ObjectKind::Atomic),
        (CONDVAR, ObjectKind::Condvar),
        (VAR0, ObjectKind::Variable),
        (VAR0 + 1, ObjectKind::Variable),
        (VAR0 + 2, ObjectKind::Variable),
    ];
    for (id, kind) in objects {
        t.define(Def::Object {
            id,
            kind,
            name: None,
            loc: Some(rng.below(8) as u32),
        });
    }

    let mut ts = 0u64;
    let mut push = |t: &mut Trace, rng: &mut Rng, task: u32, kind: EventKind| {
        ts += 1 + rng.below(50);
        let loc = (!rng.one_in(8)).then(|| rng.below(8) as u32);
        t.events.push(Event { task, ts, loc, kind });
    };
    use EventKind::*;
    push(&mut t, rng, 0, TaskStart);
    for child in 1..ntasks {
        push(&mut t, rng, 0, TaskSpawn { child });
        push(&mut t, rng, child, TaskStart);
    }
    push(&mut t, rng, 0, ChanMake { chan: CHAN });
    let (mut locks, mut rw, mut sent, mut recvd, mut closed) = ([0u64; 2], 0u64, 0u64, 0u64, 0u64);
    let (mut version, mut dones, mut arrivals, mut once_done) = (0u64, 0u64, 0u64, false);
    let steps = rng.below(120);
    for _ in 0..steps {
        let task = rng.below(ntasks as u64) as u32;
        let var = VAR0 + rng.below(3);
        match rng.below(16) {
            0..=2 => {
                let (m, other) = if rng.one_in(3) { (1, 0) } else { (0, 1) };
                let ids = [MUTEX, MUTEX2];
                push(&mut t, rng, task, LockRequest { lock: ids[m] });
                locks[m] += 1;
                let outer = locks[m];
                push(
                    &mut t,
                    rng,
                    task,
                    MutexLock {
                        mutex: ids[m],
                        seq: outer,
                    },
                );
                if rng.one_in(3) {
                    // A nested acquisition, in either order: lock-order cycles.
                    locks[other] += 1;
                    let inner = locks[other];
                    push(
                        &mut t,
                        rng,
                        task,
                        MutexLock {
                            mutex: ids[other],
                            seq: inner,
                        },
                    );
                    push(
                        &mut t,
                        rng,
                        task,
                        MutexUnlock {
                            mutex: ids[other],
                            seq: inner,
                        },
                    );
                }
                push(&mut t, rng, task, VarWrite { var });
                push(
                    &mut t,
                    rng,
                    task,
                    MutexUnlock {
                        mutex: ids[m],
                        seq: outer,
                    },
                );
            }
            3 => push(&mut t, rng, task, VarRead { var }),
            4 => push(&mut t, rng, task, VarWrite { var }),
            5 if closed == 0 && cap.is_none_or(|c| c == 0 || sent - recvd < c) => {
                sent += 1;
                push(
                    &mut t,
                    rng,
                    task,
                    ChanSendBegin {
                        chan: CHAN,
                        seq: sent,
                    },
                );
                if cap == Some(0) {
                    // Rendezvous: the receive completes the send.
                    recvd += 1;
                    let other = rng.below(ntasks as u64) as u32;
                    let result = RecvResult::Value { seq: recvd };
                    push(&mut t, rng, other, ChanRecv { chan: CHAN, result });
                }
                push(
                    &mut t,
                    rng,
                    task,
                    ChanSendEnd {
                        chan: CHAN,
                        seq: sent,
                    },
                );
            }
            6 if recvd < sent => {
                recvd += 1;
                let result = RecvResult::Value { seq: recvd };
                push(&mut t, rng, task, ChanRecv { chan: CHAN, result });
            }
            7 if rng.one_in(4) => {
                closed += 1;
                push(
                    &mut t,
                    rng,
                    task,
                    ChanClose {
                        chan: CHAN,
                        seq: closed,
                    },
                );
            }
            8 => {
                let order = [MemOrder::Relaxed, MemOrder::Release, MemOrder::SeqCst][rng.below(3) as usize];
                version += 1;
                let kind = if rng.one_in(2) {
                    AtomicStore {
                        atomic: ATOMIC,
                        order,
                        version,
                    }
                } else {
                    AtomicRmw {
                        atomic: ATOMIC,
                        order,
                        version,
                    }
                };
                push(&mut t, rng, task, kind);
            }
            9 => {
                let order = [MemOrder::Relaxed, MemOrder::Acquire][rng.below(2) as usize];
                let v = version.saturating_sub(rng.below(2));
                push(
                    &mut t,
                    rng,
                    task,
                    AtomicLoad {
                        atomic: ATOMIC,
                        order,
                        version: v,
                    },
                );
            }
            10 => {
                rw += 1;
                let seq = rw;
                if rng.one_in(2) {
                    push(&mut t, rng, task, RwReadLock { lock: RWLOCK, seq });
                    push(&mut t, rng, task, VarRead { var });
                    push(&mut t, rng, task, RwReadUnlock { lock: RWLOCK, seq });
                } else {
                    push(&mut t, rng, task, RwWriteLock { lock: RWLOCK, seq });
                    push(&mut t, rng, task, VarWrite { var });
                    push(&mut t, rng, task, RwWriteUnlock { lock: RWLOCK, seq });
                }
            }
            11 => {
                if once_done {
                    push(&mut t, rng, task, OnceAlreadyDone { once: ONCE });
                } else {
                    once_done = true;
                    push(&mut t, rng, task, OnceBegin { once: ONCE });
                    push(&mut t, rng, task, VarWrite { var });
                    push(&mut t, rng, task, OnceEnd { once: ONCE });
                }
            }
            12 => {
                push(&mut t, rng, task, WaitGroupAdd { wg: WG, delta: 1 });
                dones += 1;
                push(
                    &mut t,
                    rng,
                    task,
                    WaitGroupDone {
                        wg: WG,
                        seq: dones,
                        zero: true,
                    },
                );
                let other = rng.below(ntasks as u64) as u32;
                push(&mut t, rng, other, WaitGroupWait { wg: WG, seq: dones });
            }
            13 => {
                arrivals += 1;
                push(
                    &mut t,
                    rng,
                    task,
                    BarrierArrive {
                        barrier: BARRIER,
                        seq: arrivals,
                        last: true,
                    },
                );
                push(
                    &mut t,
                    rng,
                    task,
                    BarrierLeave {
                        barrier: BARRIER,
                        seq: arrivals,
                    },
                );
            }
            14 => {
                let span = rng.below(4) + 1;
                push(&mut t, rng, task, SpanEnter { name: 1, span });
                push(&mut t, rng, task, SpanExit { span });
            }
            _ => {
                let kind =
                    [Yield, Sleep { nanos: 5 }, CondvarNotifyAll { condvar: CONDVAR }][rng.below(3) as usize];
                push(&mut t, rng, task, kind);
            }
        }
    }
    for child in 1..ntasks {
        push(&mut t, rng, child, TaskEnd);
        push(&mut t, rng, 0, TaskJoin { child });
    }
    push(&mut t, rng, 0, TaskEnd);
    t
}

/// The binary encoding of `trace`, in batches of 1 to 16 events.
pub fn encode(trace: &Trace, rng: &mut Rng) -> Vec<u8> {
    let batch = 1 + rng.below(16) as usize;
    trace.write_binary(Vec::new(), batch).expect("writing to memory")
}

/// A random valid STD text trace (threads T0..T3, locks L0..L1, variables x, y).
pub fn random_std(rng: &mut Rng) -> String {
    let mut s = String::new();
    let mut held = [None::<u64>; 2];
    for _ in 0..rng.below(60) {
        let t = rng.below(4);
        let op = match rng.below(9) {
            0 => format!("r({})", ["x", "y"][rng.below(2) as usize]),
            1 => format!("w({})", ["x", "y"][rng.below(2) as usize]),
            2 => format!("fork(T{})", rng.below(4)),
            3 => format!("join(T{})", rng.below(4)),
            4 | 5 => {
                let l = rng.below(2) as usize;
                match held[l] {
                    Some(owner) if owner == t => {
                        held[l] = None;
                        format!("rel(L{l})")
                    }
                    Some(_) => format!("req(L{l})"),
                    None => {
                        held[l] = Some(t);
                        format!("acq(L{l})")
                    }
                }
            }
            6 => "begin".to_owned(),
            7 => "end".to_owned(),
            _ => format!("req(L{})", rng.below(2)),
        };
        s.push_str(&format!("T{t}|{op}|{}\n", rng.below(40)));
    }
    s
}

/// One edit of a byte string: `old` bytes at `at` (in the original's coordinates) were
/// replaced by `new` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edit {
    /// Where the edit starts in the original.
    pub at: usize,
    /// How many original bytes it replaced.
    pub old: usize,
    /// How many bytes replaced them.
    pub new: usize,
}

impl Edit {
    /// Whether the edit changed any byte of the original range `start..end` (an insertion
    /// exactly at either end leaves the range intact).
    pub fn touches(&self, start: usize, end: usize) -> bool {
        if self.old == 0 {
            self.at > start && self.at < end
        } else {
            self.at < end && self.at + self.old > start
        }
    }
}

/// Where a byte at original offset `offset`, before no edit's range, ends up.
pub fn moved(offset: usize, edits: &[Edit]) -> usize {
    let mut o = offset as isize;
    for e in edits {
        if e.at + e.old <= offset {
            o += e.new as isize - e.old as isize;
        }
    }
    o as usize
}

/// Values that make length fields and MessagePack headers interesting.
const INTERESTING: &[u8] = &[
    0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0xdc, 0xdd, 0xdb, 0xcf, 0x93, 0xc0, 0xf1, 0xb7,
];

/// Applies 1 to 3 random, non-overlapping edits to `input`: bit flips, byte overwrites
/// with interesting values, 32-bit overwrites with huge lengths, insertions of random
/// bytes or of a copy of another part of the input, deletions and truncation. Returns the
/// result and the edits (in original coordinates, ascending).
pub fn mutate(rng: &mut Rng, input: &[u8]) -> (Vec<u8>, Vec<Edit>) {
    let n = input.len();
    let count = 1 + rng.below(3) as usize;
    let mut plans: Vec<(usize, usize, Vec<u8>)> = Vec::new();
    for _ in 0..count {
        let at = rng.below(n as u64 + 1) as usize;
        let (old, new): (usize, Vec<u8>) = match rng.below(9) {
            0 | 1 if at < n => (1, vec![input[at] ^ (1 << rng.below(8))]),
            2 if at < n => (1, vec![INTERESTING[rng.below(INTERESTING.len() as u64) as usize]]),
            3 if at + 4 <= n => {
                let v: u32 = [u32::MAX, 1 << 31, 64 << 20, (64 << 20) + 1, 0][rng.below(5) as usize];
                (4, v.to_le_bytes().to_vec())
            }
            4 => {
                let k = 1 + rng.below(32) as usize;
                (0, rng.bytes(k))
            }
            5 if n > 0 => {
                let a = rng.below(n as u64) as usize;
                let b = (a + 1 + rng.below(64) as usize).min(n);
                (0, input[a..b].to_vec())
            }
            6 if at < n => ((1 + rng.below(32) as usize).min(n - at), Vec::new()),
            7 => (n - at, Vec::new()),
            _ if at < n => (1, vec![rng.next_u64() as u8]),
            _ => (0, vec![rng.next_u64() as u8]),
        };
        plans.push((at, old, new));
    }
    plans.sort_by_key(|p| (p.0, p.1));
    // Drop edits that overlap an earlier one.
    let mut kept: Vec<(usize, usize, Vec<u8>)> = Vec::new();
    for p in plans {
        if let Some(last) = kept.last() {
            if p.0 < last.0 + last.1 || (p.0 == last.0) {
                continue;
            }
        }
        kept.push(p);
    }
    let mut out = Vec::with_capacity(n + 64);
    let mut pos = 0;
    let mut edits = Vec::new();
    for (at, old, new) in kept {
        out.extend_from_slice(&input[pos..at]);
        out.extend_from_slice(&new);
        pos = at + old;
        edits.push(Edit {
            at,
            old,
            new: new.len(),
        });
    }
    out.extend_from_slice(&input[pos..]);
    (out, edits)
}

/// Text mutations of an STD trace: delete, insert (from an alphabet of STD's own
/// punctuation, digits and a few odd characters), duplicate or truncate.
pub fn mutate_text(rng: &mut Rng, input: &str) -> String {
    let mut s: Vec<char> = input.chars().collect();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(s.len() as u64 + 1) as usize;
        match rng.below(5) {
            0 if at < s.len() => {
                s.remove(at);
            }
            1 => {
                const ALPHABET: &[char] = &[
                    '|', '(', ')', '\n', 'T', '0', '9', ' ', 'x', 'é', '\u{0}', '-', 'a',
                ];
                s.insert(at, ALPHABET[rng.below(ALPHABET.len() as u64) as usize]);
            }
            2 if !s.is_empty() => {
                let a = rng.below(s.len() as u64) as usize;
                let b = (a + 1 + rng.below(40) as usize).min(s.len());
                let copy: Vec<char> = s[a..b].to_vec();
                s.splice(at..at, copy);
            }
            3 => s.truncate(at),
            _ => s.insert(at, char::from(b'0' + rng.below(10) as u8)),
        }
    }
    s.into_iter().collect()
}

/// CRC-32 (IEEE), bitwise: the frame checksum of `hb_format::io`.
pub fn crc32(parts: &[&[u8]]) -> u32 {
    let mut crc = !0u32;
    for part in parts {
        for &b in *part {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
    }
    !crc
}

/// Rewrites the checksum of every complete frame-like record (sync bytes, a length that
/// fits), so that mutated payloads reach the MessagePack and event decoders instead of
/// stopping at the checksum. Returns how many checksums it changed.
pub fn fix_checksums(bytes: &mut [u8]) -> usize {
    let mut changed = 0;
    let mut i = hb_format::io::MAGIC.len();
    while i + 12 <= bytes.len() {
        if bytes[i..i + 2] == hb_format::io::FRAME_SYNC {
            let len = u32::from_le_bytes(bytes[i + 4..i + 8].try_into().unwrap()) as usize;
            if i + 12 + len <= bytes.len() {
                let crc = crc32(&[&bytes[i + 2..i + 8], &bytes[i + 12..i + 12 + len]]);
                if bytes[i + 8..i + 12] != crc.to_le_bytes() {
                    bytes[i + 8..i + 12].copy_from_slice(&crc.to_le_bytes());
                    changed += 1;
                }
                i += 12 + len;
                continue;
            }
        }
        i += 1;
    }
    changed
}

/// A frame with a valid checksum around `payload`.
pub fn frame(version: u8, kind: u8, len: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = hb_format::io::FRAME_SYNC.to_vec();
    f.push(version);
    f.push(kind);
    f.extend_from_slice(&len.to_le_bytes());
    let crc = crc32(&[&f[2..8], payload]);
    f.extend_from_slice(&crc.to_le_bytes());
    f.extend_from_slice(payload);
    f
}

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

/// A global allocator that counts, per thread, the bytes live and their peak, so a test
/// can bound what one call allocates while other tests run on other threads.
#[derive(Debug)]
pub struct CountingAlloc;

fn account(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let v = live.get() + delta;
        live.set(v);
        let _ = PEAK.try_with(|p| {
            if v > p.get() {
                p.set(v)
            }
        });
    });
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        account(layout.size() as isize);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        account(-(layout.size() as isize));
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        account(layout.size() as isize);
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        account(new_size as isize - layout.size() as isize);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `f` and returns its result and the most bytes it had allocated at once on this
/// thread (beyond what was live when it started). Only meaningful when
/// [`CountingAlloc`] is the global allocator.
pub fn peak_alloc<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let r = f();
    let peak = PEAK.with(Cell::get);
    (r, (peak - base).max(0) as usize)
}

/// Aborts the process, naming the case, if a case runs longer than its limit: a hang in
/// a harness then fails the test run with the case to replay instead of blocking it.
#[derive(Debug)]
pub struct Watchdog {
    tx: std::sync::mpsc::Sender<Option<(String, std::time::Duration)>>,
}

impl Watchdog {
    /// Starts the watchdog thread.
    pub fn new() -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<Option<(String, std::time::Duration)>>();
        std::thread::spawn(move || {
            let mut current: Option<(String, std::time::Duration)> = None;
            loop {
                let msg = match &current {
                    Some((_, limit)) => rx.recv_timeout(*limit),
                    None => rx
                        .recv()
                        .map_err(|_| std::sync::mpsc::RecvTimeoutError::Disconnected),
                };
                match msg {
                    Ok(Some(case)) => current = Some(case),
                    Ok(None) => current = None,
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                        let (label, limit) = current.take().expect("a case is running");
                        eprintln!("HANG: case {label} ran longer than {limit:?}; aborting");
                        std::process::abort();
                    }
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
                }
            }
        });
        Watchdog { tx }
    }

    /// Announces a case that must end within `limit` (until the next call or [`Self::done`]).
    pub fn case(&self, label: impl Into<String>, limit: std::time::Duration) {
        let _ = self.tx.send(Some((label.into(), limit)));
    }

    /// The current case ended.
    pub fn done(&self) {
        let _ = self.tx.send(None);
    }
}

impl Default for Watchdog {
    fn default() -> Self {
        Self::new()
    }
}
