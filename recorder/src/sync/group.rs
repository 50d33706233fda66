//! Barrier and WaitGroup.

use std::fmt;
use std::panic::Location;

use hb_format::{EventKind, ObjectKind};
use parking_lot::{Condvar as PlCondvar, Mutex as PlMutex, MutexGuard as PlGuard};

use crate::rt::{self, Obj};

/// Waits on an internal condvar; while recording, a long wait hands the thread's buffered
/// events to the writer (callers loop, so the timeout is harmless).
fn wait<T>(cv: &PlCondvar, g: &mut PlGuard<'_, T>, rec: bool) {
    if rec {
        if cv.wait_for(g, rt::flush_interval()).timed_out() {
            rt::flush_current();
        }
    } else {
        cv.wait(g);
    }
}

#[derive(Debug)]
struct BarrierState {
    count: usize,
    generation: u64,
    arrivals: u64,
}

/// A barrier for `n` tasks, like [`std::sync::Barrier`].
///
/// Each `wait` records `BarrierArrive{seq, last}` (seq = arrival number at this barrier,
/// `last` = this arrival completed its generation) before blocking, and
/// `BarrierLeave{seq}` after, where `seq` names the arrival that completed its
/// generation: every arrival of the generation happens-before every leave. Arrivals are
/// numbered over the barrier's whole life (generation g holds arrivals g·n+1 ..= g·n+n).
pub struct Barrier {
    n: usize,
    state: PlMutex<BarrierState>,
    cv: PlCondvar,
    obj: Obj,
}

/// The result of [`Barrier::wait`], like [`std::sync::BarrierWaitResult`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// Whether this task was the one that completed its generation (exactly one per
    /// generation is).
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl Barrier {
    /// A barrier that releases its waiters when `n` of them arrived (`n` = 0 acts as 1).
    #[track_caller]
    pub const fn new(n: usize) -> Self {
        Self::build(n, None, Location::caller())
    }

    /// A barrier with a name shown in reports.
    #[track_caller]
    pub const fn named(name: &'static str, n: usize) -> Self {
        Self::build(n, Some(name), Location::caller())
    }

    const fn build(n: usize, name: Option<&'static str>, loc: &'static Location<'static>) -> Self {
        let n = if n == 0 { 1 } else { n };
        Barrier {
            n,
            state: PlMutex::new(BarrierState {
                count: 0,
                generation: 0,
                arrivals: 0,
            }),
            cv: PlCondvar::new(),
            obj: Obj::new(ObjectKind::Barrier { parties: n as u64 }, name, loc),
        }
    }

    /// Blocks until `n` tasks have called `wait` in this generation.
    #[track_caller]
    pub fn wait(&self) -> BarrierWaitResult {
        let loc = Location::caller();
        let rec = rt::on();
        let mut st = self.state.lock();
        st.arrivals += 1;
        let seq = st.arrivals;
        let generation = st.generation;
        st.count += 1;
        let leader = st.count >= self.n;
        let id = if rec { self.obj.id() } else { 0 };
        if rec {
            rt::emit(
                loc,
                EventKind::BarrierArrive {
                    barrier: id,
                    seq,
                    last: leader,
                },
            );
        }
        if leader {
            st.count = 0;
            st.generation += 1;
            drop(st);
            self.cv.notify_all();
        } else {
            while st.generation == generation {
                wait(&self.cv, &mut st, rec);
            }
            drop(st);
        }
        if rec {
            let n = self.n as u64;
            let last = (seq - 1) / n * n + n;
            rt::emit(
                loc,
                EventKind::BarrierLeave {
                    barrier: id,
                    seq: last,
                },
            );
        }
        BarrierWaitResult(leader)
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("n", &self.n)
            .field("hb", &self.obj)
            .finish()
    }
}

#[derive(Debug)]
struct WgState {
    count: i64,
    /// Dones recorded so far.
    dones: u64,
    /// The recorded done that last brought the counter to zero (0: none).
    last_zero: u64,
}

/// A Go-style wait group: `add(n)` before starting work, `done()` when a piece finishes,
/// `wait()` until the counter is zero. Share it by reference (scoped threads) or in an
/// [`Arc`](std::sync::Arc).
///
/// Recorded: `WaitGroupAdd{delta}`; `WaitGroupDone{seq, zero}` with seq = number of this
/// done and `zero` = it brought the counter to 0 (both taken under the group's lock);
/// `WaitGroupWait{seq}` when `wait` returns, naming the done that last brought the
/// counter to zero (0 if none: no edge). Decrement with `done()`: an `add` with a
/// negative delta is recorded as an add and orders nothing.
pub struct WaitGroup {
    state: PlMutex<WgState>,
    cv: PlCondvar,
    obj: Obj,
}

impl WaitGroup {
    /// A wait group with counter 0.
    #[track_caller]
    pub const fn new() -> Self {
        Self::build(None, Location::caller())
    }

    /// A wait group with a name shown in reports.
    #[track_caller]
    pub const fn named(name: &'static str) -> Self {
        Self::build(Some(name), Location::caller())
    }

    const fn build(name: Option<&'static str>, loc: &'static Location<'static>) -> Self {
        WaitGroup {
            state: PlMutex::new(WgState {
                count: 0,
                dones: 0,
                last_zero: 0,
            }),
            cv: PlCondvar::new(),
            obj: Obj::new(ObjectKind::WaitGroup, name, loc),
        }
    }

    /// Adds `delta` to the counter.
    ///
    /// # Panics
    ///
    /// If the counter would become negative (as Go does).
    #[track_caller]
    pub fn add(&self, delta: i64) {
        let loc = Location::caller();
        let mut st = self.state.lock();
        let count = st.count + delta;
        assert!(
            count >= 0,
            "hb WaitGroup: negative counter ({count}) after add({delta})"
        );
        st.count = count;
        if count == 0 {
            self.cv.notify_all();
        }
        drop(st);
        if rt::on() {
            rt::emit(
                loc,
                EventKind::WaitGroupAdd {
                    wg: self.obj.id(),
                    delta,
                },
            );
        }
    }

    /// Decrements the counter by one.
    ///
    /// # Panics
    ///
    /// If the counter is already zero (as Go does).
    #[track_caller]
    pub fn done(&self) {
        let loc = Location::caller();
        let rec = rt::on();
        let mut st = self.state.lock();
        assert!(st.count > 0, "hb WaitGroup: done() without a matching add()");
        st.count -= 1;
        let zero = st.count == 0;
        let seq = if rec {
            st.dones += 1;
            if zero {
                st.last_zero = st.dones;
            }
            st.dones
        } else {
            0
        };
        if zero {
            self.cv.notify_all();
        }
        drop(st);
        if rec {
            rt::emit(
                loc,
                EventKind::WaitGroupDone {
                    wg: self.obj.id(),
                    seq,
                    zero,
                },
            );
        }
    }

    /// Blocks until the counter is zero.
    #[track_caller]
    pub fn wait(&self) {
        let loc = Location::caller();
        let rec = rt::on();
        let mut st = self.state.lock();
        while st.count > 0 {
            wait(&self.cv, &mut st, rec);
        }
        let seq = st.last_zero;
        drop(st);
        if rec {
            rt::emit(
                loc,
                EventKind::WaitGroupWait {
                    wg: self.obj.id(),
                    seq,
                },
            );
        }
    }

    /// The current counter (no event).
    pub fn count(&self) -> i64 {
        self.state.lock().count
    }
}

impl Default for WaitGroup {
    #[track_caller]
    fn default() -> Self {
        WaitGroup::new()
    }
}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitGroup")
            .field("count", &self.count())
            .field("hb", &self.obj)
            .finish()
    }
}
