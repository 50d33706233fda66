use std::fmt;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{LockResult, TryLockError, TryLockResult};

use hb_format::{EventKind, ObjectKind};

use super::lock_result;
use crate::rt::{self, Obj};

/// A mutual-exclusion lock with the API of [`std::sync::Mutex`] (poisoning included),
/// whose acquisitions and releases are recorded.
///
/// The n-th acquisition while recording takes sequence number n from a counter that is
/// only touched while the lock is held; `MutexLock{seq}` is recorded right after the
/// acquisition and `MutexUnlock{seq}` right before the release. A `lock` that finds the
/// mutex taken records `LockRequest` before it blocks; a failed `try_lock` records
/// `MutexTryLockFailed`. The unlock event carries the location of the `lock` call that
/// created the guard (a `Drop` has no caller location).
///
/// Built on `parking_lot::Mutex`; poisoning follows std: a guard dropped while its thread
/// panics poisons the mutex, and later `lock`s return `Err(PoisonError)` holding the guard.
pub struct Mutex<T> {
    raw: parking_lot::Mutex<Held<T>>,
    seq: AtomicU64,
    poison: AtomicBool,
    pub(crate) obj: Obj,
}

/// The data a [`Mutex`] protects, with what its unlock event needs about the current
/// acquisition (kept here, under the lock, so that the guard stays two pointers wide).
pub(crate) struct Held<T> {
    /// Acquisition number of the current holder (meaningful when its guard is recorded).
    pub(crate) seq: u64,
    /// Where the current holder called `lock` (idem).
    pub(crate) loc: &'static Location<'static>,
    value: T,
}

impl<T> Held<T> {
    const fn new(value: T, loc: &'static Location<'static>) -> Self {
        Held { seq: 0, loc, value }
    }
}

impl<T> Mutex<T> {
    /// A new unlocked mutex (its creation site is the caller's location).
    #[track_caller]
    pub const fn new(value: T) -> Self {
        Self::build(value, None, Location::caller())
    }

    /// A new mutex with a name shown in reports.
    #[track_caller]
    pub const fn named(name: &'static str, value: T) -> Self {
        Self::build(value, Some(name), Location::caller())
    }

    /// A new mutex with a computed name (e.g. `format!("fork {i}")`).
    #[track_caller]
    pub fn with_name(name: impl Into<String>, value: T) -> Self {
        let loc = Location::caller();
        Mutex {
            raw: parking_lot::Mutex::new(Held::new(value, loc)),
            seq: AtomicU64::new(0),
            poison: AtomicBool::new(false),
            obj: Obj::eager(ObjectKind::Mutex, Some(name.into().into()), loc),
        }
    }

    const fn build(value: T, name: Option<&'static str>, loc: &'static Location<'static>) -> Self {
        Mutex {
            raw: parking_lot::Mutex::new(Held::new(value, loc)),
            seq: AtomicU64::new(0),
            poison: AtomicBool::new(false),
            obj: Obj::new(ObjectKind::Mutex, name, loc),
        }
    }

    /// The mutex's name, if it has one.
    pub fn name(&self) -> Option<&str> {
        self.obj.name()
    }

    /// Acquires the mutex, blocking until it is free.
    ///
    /// # Errors
    ///
    /// Returns the guard inside a `PoisonError` if a thread panicked while holding it.
    #[track_caller]
    #[inline]
    pub fn lock(&self) -> LockResult<MutexGuard<'_, T>> {
        let loc = Location::caller();
        if !rt::on() {
            return self.guard(self.raw.lock(), false);
        }
        self.lock_recorded(loc)
    }

    /// `lock` while recording (out of line, so that the unrecorded path inlines into the
    /// caller as std's does).
    #[inline(never)]
    fn lock_recorded(&self, loc: &'static Location<'static>) -> LockResult<MutexGuard<'_, T>> {
        let raw = match self.raw.try_lock() {
            Some(g) => g,
            None => {
                rt::emit(loc, EventKind::LockRequest { lock: self.obj.id() });
                match self.raw.try_lock_for(rt::flush_interval()) {
                    Some(g) => g,
                    None => {
                        // Blocked for a long time (maybe a deadlock): let the trace show it.
                        rt::flush_current();
                        self.raw.lock()
                    }
                }
            }
        };
        let mut raw = raw;
        self.acquired(&mut raw, loc);
        self.guard(raw, true)
    }

    /// Tries to acquire the mutex without blocking.
    ///
    /// # Errors
    ///
    /// `WouldBlock` if it is held (recorded as `MutexTryLockFailed`), `Poisoned` if a
    /// thread panicked while holding it.
    #[track_caller]
    pub fn try_lock(&self) -> TryLockResult<MutexGuard<'_, T>> {
        let loc = Location::caller();
        let rec = rt::on();
        match self.raw.try_lock() {
            Some(mut raw) => {
                if rec {
                    self.acquired(&mut raw, loc);
                }
                Ok(self.guard(raw, rec)?)
            }
            None => {
                if rec {
                    rt::emit(loc, EventKind::MutexTryLockFailed { mutex: self.obj.id() });
                }
                Err(TryLockError::WouldBlock)
            }
        }
    }

    /// Takes the next acquisition number, notes it and `loc` for the unlock event, and
    /// records the acquisition. `held` is the locked data (so the lock is held).
    pub(crate) fn acquired(&self, held: &mut Held<T>, loc: &'static Location<'static>) {
        let seq = self.seq.load(Relaxed) + 1;
        self.seq.store(seq, Relaxed);
        held.seq = seq;
        held.loc = loc;
        rt::emit(
            loc,
            EventKind::MutexLock {
                mutex: self.obj.id(),
                seq,
            },
        );
    }

    #[inline]
    fn guard<'a>(
        &'a self,
        raw: parking_lot::MutexGuard<'a, Held<T>>,
        recorded: bool,
    ) -> LockResult<MutexGuard<'a, T>> {
        let g = MutexGuard {
            raw,
            lock: self,
            recorded,
            panicking: std::thread::panicking(),
        };
        lock_result(g, self.poison.load(Relaxed))
    }

    /// Whether a thread panicked while holding the mutex.
    pub fn is_poisoned(&self) -> bool {
        self.poison.load(Relaxed)
    }

    /// Clears the poisoned state.
    pub fn clear_poison(&self) {
        self.poison.store(false, Relaxed);
    }

    /// Consumes the mutex and returns the data (no event: nothing is shared any more).
    ///
    /// # Errors
    ///
    /// The data inside a `PoisonError` if the mutex is poisoned.
    pub fn into_inner(self) -> LockResult<T> {
        let poisoned = self.poison.load(Relaxed);
        lock_result(self.raw.into_inner().value, poisoned)
    }

    /// Mutable access through an exclusive reference (no event: no other task can hold
    /// the lock).
    ///
    /// # Errors
    ///
    /// The reference inside a `PoisonError` if the mutex is poisoned.
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        let poisoned = self.poison.load(Relaxed);
        lock_result(&mut self.raw.get_mut().value, poisoned)
    }
}

impl<T: Default> Default for Mutex<T> {
    #[track_caller]
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    #[track_caller]
    fn from(v: T) -> Self {
        Mutex::new(v)
    }
}

impl<T: fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.raw.try_lock() {
            Some(g) => d.field("data", &&g.value),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.field("poisoned", &self.is_poisoned())
            .field("hb", &self.obj)
            .finish()
    }
}

/// The guard of a locked [`Mutex`]; the mutex is released (and the release recorded) when
/// it drops.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T> {
    pub(crate) raw: parking_lot::MutexGuard<'a, Held<T>>,
    pub(crate) lock: &'a Mutex<T>,
    /// Whether this acquisition was recorded (its number and location are in `raw`).
    pub(crate) recorded: bool,
    panicking: bool,
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.raw.value
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.raw.value
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        if !self.panicking && std::thread::panicking() {
            self.lock.poison.store(true, Relaxed);
        }
        if self.recorded && rt::on() {
            rt::emit(
                self.raw.loc,
                EventKind::MutexUnlock {
                    mutex: self.lock.obj.id(),
                    seq: self.raw.seq,
                },
            );
        }
        // `raw` drops after this: the release is recorded before it happens.
    }
}

impl<T: fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
