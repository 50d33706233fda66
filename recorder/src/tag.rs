//! Tagged variables: plain reads and writes the analyzer checks for races.
//!
//! Three ways, from most to least robust:
//!
//! - [`Shared<T>`](Shared): a cell whose every access is recorded.
//! - [`Var`]: a registered handle you call `read()`/`write()` on next to the
//!   accesses of data you keep elsewhere.
//! - [`read`]/[`write()`] (or the [`hb_read!`](crate::hb_read)/[`hb_write!`](crate::hb_write)
//!   macros) on a reference to an existing variable, identified by its address.
//!
//! **Limits of address tagging:** the variable is identified by its address for the whole
//! recording. If its memory is freed and reused by another tagged variable, both share one
//! object id and the analyzer may report races between them that do not exist. Call
//! [`forget`] when a tagged variable goes away, or use [`Var`] /
//! [`Shared`], whose ids are never reused. Each address-tagged access takes
//! a global lock to find the id; prefer `Var`/`Shared` on hot paths.

use std::borrow::Cow;
use std::fmt;
use std::panic::Location;

use hb_format::{EventKind, ObjectKind};

use crate::rt::{self, Obj};

fn addr_id<T: ?Sized>(x: &T, name: &str, loc: &'static Location<'static>) -> Option<u64> {
    rt::addr_object(x as *const T as *const () as usize, name, loc)
}

/// Records a read of the variable `x` refers to, named after its type.
#[track_caller]
pub fn read<T: ?Sized>(x: &T) {
    read_named(x, std::any::type_name::<T>());
}

/// Records a write of the variable `x` refers to, named after its type.
#[track_caller]
pub fn write<T: ?Sized>(x: &T) {
    write_named(x, std::any::type_name::<T>());
}

/// Records a read of the variable `x` refers to; `name` names it on first use.
#[track_caller]
pub fn read_named<T: ?Sized>(x: &T, name: &str) {
    if rt::on() {
        let loc = Location::caller();
        if let Some(var) = addr_id(x, name, loc) {
            rt::emit(loc, EventKind::VarRead { var });
        }
    }
}

/// Records a write of the variable `x` refers to; `name` names it on first use.
#[track_caller]
pub fn write_named<T: ?Sized>(x: &T, name: &str) {
    if rt::on() {
        let loc = Location::caller();
        if let Some(var) = addr_id(x, name, loc) {
            rt::emit(loc, EventKind::VarWrite { var });
        }
    }
}

/// Forgets the variable at `x`'s address: the next tag there starts a new variable.
pub fn forget<T: ?Sized>(x: &T) {
    rt::forget_addr(x as *const T as *const () as usize);
}

/// Records a read of a variable: `hb_read!(x)` tags `x` by address, named `"x"`.
#[macro_export]
macro_rules! hb_read {
    ($x:expr) => {
        $crate::tag::read_named(&$x, stringify!($x))
    };
}

/// Records a write of a variable: `hb_write!(x)` tags `x` by address, named `"x"`.
#[macro_export]
macro_rules! hb_write {
    ($x:expr) => {
        $crate::tag::write_named(&$x, stringify!($x))
    };
}

/// A registered tagged variable: call [`Var::read`]/[`Var::write`] beside the accesses
/// of data the program keeps elsewhere. Its id is never reused.
pub struct Var {
    obj: Obj,
}

impl Var {
    /// A new variable with a name shown in reports.
    #[track_caller]
    pub fn new(name: impl Into<Cow<'static, str>>) -> Self {
        Var {
            obj: Obj::eager(ObjectKind::Variable, Some(name.into()), Location::caller()),
        }
    }

    /// A new named variable, usable in a `static`.
    #[track_caller]
    pub const fn named(name: &'static str) -> Self {
        Var {
            obj: Obj::new(ObjectKind::Variable, Some(name), Location::caller()),
        }
    }

    /// Records a read at the caller's location.
    #[track_caller]
    #[inline]
    pub fn read(&self) {
        if rt::on() {
            rt::emit(Location::caller(), EventKind::VarRead { var: self.obj.id() });
        }
    }

    /// Records a write at the caller's location.
    #[track_caller]
    #[inline]
    pub fn write(&self) {
        if rt::on() {
            rt::emit(Location::caller(), EventKind::VarWrite { var: self.obj.id() });
        }
    }
}

impl fmt::Debug for Var {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Var").field("hb", &self.obj).finish()
    }
}

/// A shared variable whose every access is recorded as a read or a write with the
/// caller's location.
///
/// # Safety contract (there is none to uphold)
///
/// The value lives behind an internal spinlock, so a `Shared<T>` is always sound to use from any
/// number of threads — even when the program forgets to synchronize. That internal lock is
/// *not* recorded: the trace shows only the program's own synchronization, so the
/// analyzer reports the accesses the program left unordered as races, exactly as it would
/// for a plain variable, while the sample itself never has undefined behavior. Each call
/// is one access: `x.set(x.get() + 1)` is a read and a separate write (and loses updates
/// under contention, as the racy original would).
pub struct Shared<T> {
    value: SpinCell<T>,
    obj: Obj,
}

/// The internal lock of a [`Shared`]: a spinlock (one compare-exchange and one release
/// store per access), cheaper than a full mutex on the usual uncontended path — the
/// program normally orders its accesses itself.
struct SpinCell<T> {
    locked: std::sync::atomic::AtomicBool,
    value: std::cell::UnsafeCell<T>,
}

// SAFETY: the value is only reached through `SpinCell::lock`, which gives one thread at a
// time exclusive access (acquire on lock, release on unlock).
unsafe impl<T: Send> Sync for SpinCell<T> {}

struct SpinGuard<'a, T> {
    cell: &'a SpinCell<T>,
}

impl<T> SpinCell<T> {
    const fn new(value: T) -> Self {
        SpinCell {
            locked: std::sync::atomic::AtomicBool::new(false),
            value: std::cell::UnsafeCell::new(value),
        }
    }

    #[inline]
    fn lock(&self) -> SpinGuard<'_, T> {
        use std::sync::atomic::Ordering::{Acquire, Relaxed};
        let mut spins = 0u32;
        while self
            .locked
            .compare_exchange_weak(false, true, Acquire, Relaxed)
            .is_err()
        {
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        SpinGuard { cell: self }
    }

    fn try_lock(&self) -> Option<SpinGuard<'_, T>> {
        use std::sync::atomic::Ordering::{Acquire, Relaxed};
        self.locked
            .compare_exchange(false, true, Acquire, Relaxed)
            .ok()
            .map(|_| SpinGuard { cell: self })
    }

    fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T> std::ops::Deref for SpinGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock.
        unsafe { &*self.cell.value.get() }
    }
}

impl<T> std::ops::DerefMut for SpinGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock.
        unsafe { &mut *self.cell.value.get() }
    }
}

impl<T> Drop for SpinGuard<'_, T> {
    fn drop(&mut self) {
        self.cell
            .locked
            .store(false, std::sync::atomic::Ordering::Release);
    }
}

impl<T> Shared<T> {
    /// A new variable named `name` holding `value`.
    #[track_caller]
    pub fn new(name: impl Into<Cow<'static, str>>, value: T) -> Self {
        Shared {
            value: SpinCell::new(value),
            obj: Obj::eager(ObjectKind::Variable, Some(name.into()), Location::caller()),
        }
    }

    /// A new named variable, usable in a `static`.
    #[track_caller]
    pub const fn named(name: &'static str, value: T) -> Self {
        Shared {
            value: SpinCell::new(value),
            obj: Obj::new(ObjectKind::Variable, Some(name), Location::caller()),
        }
    }

    /// Reads the value (a copy).
    #[track_caller]
    #[inline]
    pub fn get(&self) -> T
    where
        T: Copy,
    {
        self.event_at(false, Location::caller());
        *self.value.lock()
    }

    /// Reads the value through a reference.
    #[track_caller]
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        self.event_at(false, Location::caller());
        f(&self.value.lock())
    }

    /// Writes the value.
    #[track_caller]
    #[inline]
    pub fn set(&self, value: T) {
        self.event_at(true, Location::caller());
        *self.value.lock() = value;
    }

    /// Replaces the value, returning the old one (recorded as one write).
    #[track_caller]
    pub fn replace(&self, value: T) -> T {
        self.event_at(true, Location::caller());
        std::mem::replace(&mut *self.value.lock(), value)
    }

    /// Modifies the value in place (recorded as one write).
    #[track_caller]
    pub fn with_mut<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        self.event_at(true, Location::caller());
        f(&mut self.value.lock())
    }

    /// Mutable access through an exclusive reference (no event: nothing is shared).
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// Consumes the variable and returns the value (no event).
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }

    #[inline]
    fn event_at(&self, write: bool, loc: &'static Location<'static>) {
        if rt::on() {
            let var = self.obj.id();
            let kind = if write {
                EventKind::VarWrite { var }
            } else {
                EventKind::VarRead { var }
            };
            rt::emit(loc, kind);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Shared");
        match self.value.try_lock() {
            Some(v) => d.field("value", &&*v),
            None => d.field("value", &format_args!("<in use>")),
        };
        d.field("hb", &self.obj).finish()
    }
}
