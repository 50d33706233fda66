use std::fmt;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{LockResult, TryLockError, TryLockResult};

use hb_format::{EventKind, ObjectKind};

use super::lock_result;
use crate::rt::{self, Obj};

/// A reader-writer lock with the API of [`std::sync::RwLock`] (poisoning included), whose
/// acquisitions and releases are recorded.
///
/// Readers and writers share one acquisition counter: a reader takes its sequence number
/// (an atomic increment) while holding the read lock, a writer while holding the write
/// lock, so the numbers agree with the real exclusion (a write acquisition n follows the
/// release of every acquisition before it; a read acquisition follows the release of the
/// write acquisitions before it). Recorded: `RwReadLock`/`RwReadUnlock`,
/// `RwWriteLock`/`RwWriteUnlock`, and `LockRequest` when an acquisition must wait. A
/// failed `try_read`/`try_write` records nothing (the format has no event for it).
///
/// Built on `parking_lot::RwLock` (task-fair: a waiting writer blocks new readers).
pub struct RwLock<T> {
    raw: parking_lot::RwLock<T>,
    seq: AtomicU64,
    poison: AtomicBool,
    obj: Obj,
}

impl<T> RwLock<T> {
    /// A new unlocked rwlock.
    #[track_caller]
    pub const fn new(value: T) -> Self {
        Self::build(value, None, Location::caller())
    }

    /// A new rwlock with a name shown in reports.
    #[track_caller]
    pub const fn named(name: &'static str, value: T) -> Self {
        Self::build(value, Some(name), Location::caller())
    }

    /// A new rwlock with a computed name.
    #[track_caller]
    pub fn with_name(name: impl Into<String>, value: T) -> Self {
        RwLock {
            raw: parking_lot::RwLock::new(value),
            seq: AtomicU64::new(0),
            poison: AtomicBool::new(false),
            obj: Obj::eager(ObjectKind::RwLock, Some(name.into().into()), Location::caller()),
        }
    }

    const fn build(value: T, name: Option<&'static str>, loc: &'static Location<'static>) -> Self {
        RwLock {
            raw: parking_lot::RwLock::new(value),
            seq: AtomicU64::new(0),
            poison: AtomicBool::new(false),
            obj: Obj::new(ObjectKind::RwLock, name, loc),
        }
    }

    fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Relaxed) + 1
    }

    fn poisoned<G>(&self, g: G) -> LockResult<G> {
        lock_result(g, self.poison.load(Relaxed))
    }

    /// Acquires shared read access, blocking while a writer holds or waits for the lock.
    ///
    /// # Errors
    ///
    /// The guard inside a `PoisonError` if a writer panicked while holding the lock.
    #[track_caller]
    #[inline]
    pub fn read(&self) -> LockResult<RwLockReadGuard<'_, T>> {
        let loc = Location::caller();
        if !rt::on() {
            let raw = self.raw.read();
            return self.poisoned(RwLockReadGuard {
                raw,
                lock: self,
                seq: 0,
                loc,
            });
        }
        self.read_recorded(loc)
    }

    /// `read` while recording (out of line, so that the unrecorded path inlines).
    #[inline(never)]
    fn read_recorded(&self, loc: &'static Location<'static>) -> LockResult<RwLockReadGuard<'_, T>> {
        let raw = match self.raw.try_read() {
            Some(g) => g,
            None => {
                rt::emit(loc, EventKind::LockRequest { lock: self.obj.id() });
                match self.raw.try_read_for(rt::flush_interval()) {
                    Some(g) => g,
                    None => {
                        rt::flush_current();
                        self.raw.read()
                    }
                }
            }
        };
        self.poisoned(self.read_acquired(raw, loc))
    }

    fn read_acquired<'a>(
        &'a self,
        raw: parking_lot::RwLockReadGuard<'a, T>,
        loc: &'static Location<'static>,
    ) -> RwLockReadGuard<'a, T> {
        let seq = self.next_seq();
        rt::emit(
            loc,
            EventKind::RwReadLock {
                lock: self.obj.id(),
                seq,
            },
        );
        RwLockReadGuard {
            raw,
            lock: self,
            seq,
            loc,
        }
    }

    /// Tries to acquire read access without blocking.
    ///
    /// # Errors
    ///
    /// `WouldBlock` if a writer holds the lock, `Poisoned` if it is poisoned.
    #[track_caller]
    pub fn try_read(&self) -> TryLockResult<RwLockReadGuard<'_, T>> {
        let loc = Location::caller();
        let rec = rt::on();
        match self.raw.try_read() {
            Some(raw) if rec => Ok(self.poisoned(self.read_acquired(raw, loc))?),
            Some(raw) => Ok(self.poisoned(RwLockReadGuard {
                raw,
                lock: self,
                seq: 0,
                loc,
            })?),
            None => Err(TryLockError::WouldBlock),
        }
    }

    /// Acquires exclusive write access, blocking until the lock is free.
    ///
    /// # Errors
    ///
    /// The guard inside a `PoisonError` if a writer panicked while holding the lock.
    #[track_caller]
    #[inline]
    pub fn write(&self) -> LockResult<RwLockWriteGuard<'_, T>> {
        let loc = Location::caller();
        if !rt::on() {
            let raw = self.raw.write();
            return self.poisoned(self.write_guard(raw, 0, loc));
        }
        self.write_recorded(loc)
    }

    /// `write` while recording (out of line, so that the unrecorded path inlines).
    #[inline(never)]
    fn write_recorded(&self, loc: &'static Location<'static>) -> LockResult<RwLockWriteGuard<'_, T>> {
        let raw = match self.raw.try_write() {
            Some(g) => g,
            None => {
                rt::emit(loc, EventKind::LockRequest { lock: self.obj.id() });
                match self.raw.try_write_for(rt::flush_interval()) {
                    Some(g) => g,
                    None => {
                        rt::flush_current();
                        self.raw.write()
                    }
                }
            }
        };
        let seq = self.write_acquired(loc);
        self.poisoned(self.write_guard(raw, seq, loc))
    }

    fn write_acquired(&self, loc: &'static Location<'static>) -> u64 {
        let seq = self.next_seq();
        rt::emit(
            loc,
            EventKind::RwWriteLock {
                lock: self.obj.id(),
                seq,
            },
        );
        seq
    }

    fn write_guard<'a>(
        &'a self,
        raw: parking_lot::RwLockWriteGuard<'a, T>,
        seq: u64,
        loc: &'static Location<'static>,
    ) -> RwLockWriteGuard<'a, T> {
        RwLockWriteGuard {
            raw,
            lock: self,
            seq,
            loc,
            panicking: std::thread::panicking(),
        }
    }

    /// Tries to acquire write access without blocking.
    ///
    /// # Errors
    ///
    /// `WouldBlock` if the lock is held, `Poisoned` if it is poisoned.
    #[track_caller]
    pub fn try_write(&self) -> TryLockResult<RwLockWriteGuard<'_, T>> {
        let loc = Location::caller();
        match self.raw.try_write() {
            Some(raw) => {
                let seq = if rt::on() { self.write_acquired(loc) } else { 0 };
                Ok(self.poisoned(self.write_guard(raw, seq, loc))?)
            }
            None => Err(TryLockError::WouldBlock),
        }
    }

    /// Whether a writer panicked while holding the lock.
    pub fn is_poisoned(&self) -> bool {
        self.poison.load(Relaxed)
    }

    /// Clears the poisoned state.
    pub fn clear_poison(&self) {
        self.poison.store(false, Relaxed);
    }

    /// Consumes the lock and returns the data (no event).
    ///
    /// # Errors
    ///
    /// The data inside a `PoisonError` if the lock is poisoned.
    pub fn into_inner(self) -> LockResult<T> {
        let poisoned = self.poison.load(Relaxed);
        lock_result(self.raw.into_inner(), poisoned)
    }

    /// Mutable access through an exclusive reference (no event).
    ///
    /// # Errors
    ///
    /// The reference inside a `PoisonError` if the lock is poisoned.
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        let poisoned = self.poison.load(Relaxed);
        lock_result(self.raw.get_mut(), poisoned)
    }
}

impl<T: Default> Default for RwLock<T> {
    #[track_caller]
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    #[track_caller]
    fn from(v: T) -> Self {
        RwLock::new(v)
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.raw.try_read() {
            Some(g) => d.field("data", &&*g),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.field("poisoned", &self.is_poisoned())
            .field("hb", &self.obj)
            .finish()
    }
}

/// Shared read access to an [`RwLock`]; the release is recorded when it drops.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockReadGuard<'a, T> {
    raw: parking_lot::RwLockReadGuard<'a, T>,
    lock: &'a RwLock<T>,
    seq: u64,
    loc: &'static Location<'static>,
}

impl<T> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.raw
    }
}

impl<T> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        if self.seq != 0 && rt::on() {
            rt::emit(
                self.loc,
                EventKind::RwReadUnlock {
                    lock: self.lock.obj.id(),
                    seq: self.seq,
                },
            );
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Exclusive write access to an [`RwLock`]; the release is recorded when it drops.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockWriteGuard<'a, T> {
    raw: parking_lot::RwLockWriteGuard<'a, T>,
    lock: &'a RwLock<T>,
    seq: u64,
    loc: &'static Location<'static>,
    panicking: bool,
}

impl<T> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.raw
    }
}

impl<T> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.raw
    }
}

impl<T> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        if !self.panicking && std::thread::panicking() {
            self.lock.poison.store(true, Relaxed);
        }
        if self.seq != 0 && rt::on() {
            rt::emit(
                self.loc,
                EventKind::RwWriteUnlock {
                    lock: self.lock.obj.id(),
                    seq: self.seq,
                },
            );
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
