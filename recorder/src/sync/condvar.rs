use std::fmt;
use std::panic::Location;
use std::sync::LockResult;
use std::time::{Duration, Instant};

use hb_format::{EventKind, ObjectKind};

use super::lock_result;
use super::mutex::MutexGuard;
use crate::rt::{self, Obj};

/// A condition variable with the API of [`std::sync::Condvar`], used with this crate's
/// [`Mutex`](super::Mutex).
///
/// `wait` records `CondvarWaitBegin{condvar, mutex}`, the mutex release
/// (`MutexUnlock{seq}`), then after waking the re-acquisition (`MutexLock{new seq}`) and
/// `CondvarWaitEnd`. The happens-before edge comes from the mutex, never from the notify:
/// `notify_one`/`notify_all` record markers only.
///
/// While recording, a `wait` that lasts longer than the flush interval hands the thread's
/// buffered events to the writer and returns as a spurious wakeup (which std's contract
/// allows: always wait in a loop, or use [`Condvar::wait_while`]). That way a thread
/// stuck on a lost wakeup still shows in the trace of a killed process.
pub struct Condvar {
    raw: parking_lot::Condvar,
    obj: Obj,
}

/// Whether a timed wait timed out, like [`std::sync::WaitTimeoutResult`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// Whether the wait ended because the timeout elapsed.
    pub fn timed_out(&self) -> bool {
        self.0
    }
}

impl Condvar {
    /// A new condition variable.
    #[track_caller]
    pub const fn new() -> Self {
        Condvar {
            raw: parking_lot::Condvar::new(),
            obj: Obj::new(ObjectKind::Condvar, None, Location::caller()),
        }
    }

    /// A new condition variable with a name shown in reports.
    #[track_caller]
    pub const fn named(name: &'static str) -> Self {
        Condvar {
            raw: parking_lot::Condvar::new(),
            obj: Obj::new(ObjectKind::Condvar, Some(name), Location::caller()),
        }
    }

    /// The shared part of every wait: records the release, waits (at most `limit`, if
    /// given), records the re-acquisition. Returns whether the wait timed out.
    fn wait_inner<T>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        limit: Option<Instant>,
        loc: &'static Location<'static>,
    ) -> bool {
        if !rt::on() {
            return match limit {
                Some(deadline) => self.raw.wait_until(&mut guard.raw, deadline).timed_out(),
                None => {
                    self.raw.wait(&mut guard.raw);
                    false
                }
            };
        }
        let mutex = guard.lock;
        let cv = self.obj.id();
        let mid = mutex.obj.id();
        rt::emit(
            loc,
            EventKind::CondvarWaitBegin {
                condvar: cv,
                mutex: mid,
            },
        );
        if guard.recorded {
            rt::emit(
                loc,
                EventKind::MutexUnlock {
                    mutex: mid,
                    seq: guard.raw.seq,
                },
            );
        }
        let interval = rt::flush_interval();
        let timed_out = match limit {
            Some(deadline) => {
                if deadline.saturating_duration_since(Instant::now()) > interval {
                    rt::flush_current();
                }
                self.raw.wait_until(&mut guard.raw, deadline).timed_out()
            }
            None => {
                if self.raw.wait_for(&mut guard.raw, interval).timed_out() {
                    // Long wait: flush, and return as a spurious wakeup.
                    rt::flush_current();
                }
                false
            }
        };
        mutex.acquired(&mut guard.raw, loc);
        guard.recorded = true;
        rt::emit(
            loc,
            EventKind::CondvarWaitEnd {
                condvar: cv,
                mutex: mid,
                timed_out,
            },
        );
        timed_out
    }

    /// Releases the guard's mutex, waits for a notification (or a spurious wakeup), and
    /// re-acquires the mutex.
    ///
    /// # Errors
    ///
    /// The guard inside a `PoisonError` if the mutex is poisoned.
    #[track_caller]
    pub fn wait<'a, T>(&self, mut guard: MutexGuard<'a, T>) -> LockResult<MutexGuard<'a, T>> {
        self.wait_inner(&mut guard, None, Location::caller());
        let p = guard.lock.is_poisoned();
        lock_result(guard, p)
    }

    /// Waits while `condition` returns true.
    ///
    /// # Errors
    ///
    /// The guard inside a `PoisonError` if the mutex is poisoned.
    #[track_caller]
    pub fn wait_while<'a, T, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: F,
    ) -> LockResult<MutexGuard<'a, T>>
    where
        F: FnMut(&mut T) -> bool,
    {
        let loc = Location::caller();
        while condition(&mut guard) {
            self.wait_inner(&mut guard, None, loc);
        }
        let p = guard.lock.is_poisoned();
        lock_result(guard, p)
    }

    /// Waits for a notification or until `dur` elapsed.
    ///
    /// # Errors
    ///
    /// The guard and result inside a `PoisonError` if the mutex is poisoned.
    #[track_caller]
    pub fn wait_timeout<'a, T>(
        &self,
        mut guard: MutexGuard<'a, T>,
        dur: Duration,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)> {
        let deadline = Instant::now().checked_add(dur);
        let timed_out = self.wait_inner(&mut guard, deadline, Location::caller());
        let p = guard.lock.is_poisoned();
        lock_result((guard, WaitTimeoutResult(timed_out)), p)
    }

    /// Waits while `condition` returns true, at most `dur` in total.
    ///
    /// # Errors
    ///
    /// The guard and result inside a `PoisonError` if the mutex is poisoned.
    #[track_caller]
    pub fn wait_timeout_while<'a, T, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        dur: Duration,
        mut condition: F,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)>
    where
        F: FnMut(&mut T) -> bool,
    {
        let loc = Location::caller();
        let deadline = Instant::now().checked_add(dur);
        let mut timed_out = false;
        while condition(&mut guard) {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                timed_out = true;
                break;
            }
            self.wait_inner(&mut guard, deadline, loc);
        }
        let p = guard.lock.is_poisoned();
        lock_result((guard, WaitTimeoutResult(timed_out)), p)
    }

    /// Wakes one waiting thread (recorded as a marker; no edge).
    #[track_caller]
    pub fn notify_one(&self) {
        if rt::on() {
            rt::emit(
                Location::caller(),
                EventKind::CondvarNotifyOne {
                    condvar: self.obj.id(),
                },
            );
        }
        self.raw.notify_one();
    }

    /// Wakes every waiting thread (recorded as a marker; no edge).
    #[track_caller]
    pub fn notify_all(&self) {
        if rt::on() {
            rt::emit(
                Location::caller(),
                EventKind::CondvarNotifyAll {
                    condvar: self.obj.id(),
                },
            );
        }
        self.raw.notify_all();
    }
}

impl Default for Condvar {
    #[track_caller]
    fn default() -> Self {
        Condvar::new()
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condvar").field("hb", &self.obj).finish()
    }
}
