use std::fmt;
use std::panic::Location;
use std::sync::OnceState;

use hb_format::{EventKind, ObjectKind};

use crate::rt::{self, Obj};

/// A one-time initialization, like [`std::sync::Once`].
///
/// The call that runs the closure records `OnceBegin` before it and `OnceEnd` after it
/// (inside the initialization, so before any other caller can return); every other call
/// that returns because the initialization is done — also one that waited for a
/// concurrent initialization — records `OnceAlreadyDone`. A closure that panics records
/// no `OnceEnd` (std poisons the `Once`).
pub struct Once {
    raw: std::sync::Once,
    obj: Obj,
}

impl Once {
    /// A new `Once`.
    #[track_caller]
    pub const fn new() -> Self {
        Once {
            raw: std::sync::Once::new(),
            obj: Obj::new(ObjectKind::Once, None, Location::caller()),
        }
    }

    /// A new `Once` with a name shown in reports.
    #[track_caller]
    pub const fn named(name: &'static str) -> Self {
        Once {
            raw: std::sync::Once::new(),
            obj: Obj::new(ObjectKind::Once, Some(name), Location::caller()),
        }
    }

    /// Runs `f` if no call did yet; otherwise waits until the call that does has finished.
    #[track_caller]
    pub fn call_once<F: FnOnce()>(&self, f: F) {
        let loc = Location::caller();
        if !rt::on() {
            return self.raw.call_once(f);
        }
        let mut ran = false;
        self.raw.call_once(|| {
            ran = true;
            let once = self.obj.id();
            rt::emit(loc, EventKind::OnceBegin { once });
            f();
            rt::emit(loc, EventKind::OnceEnd { once });
        });
        if !ran {
            rt::emit(loc, EventKind::OnceAlreadyDone { once: self.obj.id() });
        }
    }

    /// Like [`Once::call_once`], but also runs when the `Once` was poisoned.
    #[track_caller]
    pub fn call_once_force<F: FnOnce(&OnceState)>(&self, f: F) {
        let loc = Location::caller();
        if !rt::on() {
            return self.raw.call_once_force(f);
        }
        let mut ran = false;
        self.raw.call_once_force(|state| {
            ran = true;
            let once = self.obj.id();
            rt::emit(loc, EventKind::OnceBegin { once });
            f(state);
            rt::emit(loc, EventKind::OnceEnd { once });
        });
        if !ran {
            rt::emit(loc, EventKind::OnceAlreadyDone { once: self.obj.id() });
        }
    }

    /// Whether an initialization has completed (no event: use the result only as a hint,
    /// as it creates no recorded edge).
    pub fn is_completed(&self) -> bool {
        self.raw.is_completed()
    }
}

impl Default for Once {
    #[track_caller]
    fn default() -> Self {
        Once::new()
    }
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Once")
            .field("completed", &self.raw.is_completed())
            .field("hb", &self.obj)
            .finish()
    }
}

/// A cell written once, like [`std::sync::OnceLock`].
///
/// The call that initializes it (`get_or_init`, a successful `set`) records `OnceBegin`
/// and `OnceEnd`; a call that finds it initialized (`get` returning `Some`, `get_or_init`
/// that does not run its closure, a failed `set`) records `OnceAlreadyDone`. A `get`
/// returning `None` records nothing.
pub struct OnceLock<T> {
    raw: std::sync::OnceLock<T>,
    obj: Obj,
}

impl<T> OnceLock<T> {
    /// A new empty cell.
    #[track_caller]
    pub const fn new() -> Self {
        OnceLock {
            raw: std::sync::OnceLock::new(),
            obj: Obj::new(ObjectKind::Once, None, Location::caller()),
        }
    }

    /// A new empty cell with a name shown in reports.
    #[track_caller]
    pub const fn named(name: &'static str) -> Self {
        OnceLock {
            raw: std::sync::OnceLock::new(),
            obj: Obj::new(ObjectKind::Once, Some(name), Location::caller()),
        }
    }

    /// The value, if initialized.
    #[track_caller]
    pub fn get(&self) -> Option<&T> {
        let v = self.raw.get();
        if v.is_some() && rt::on() {
            rt::emit(
                Location::caller(),
                EventKind::OnceAlreadyDone { once: self.obj.id() },
            );
        }
        v
    }

    /// The value, initializing it with `f` if no call did yet.
    #[track_caller]
    pub fn get_or_init<F: FnOnce() -> T>(&self, f: F) -> &T {
        let loc = Location::caller();
        if !rt::on() {
            return self.raw.get_or_init(f);
        }
        let mut ran = false;
        let v = self.raw.get_or_init(|| {
            ran = true;
            let once = self.obj.id();
            rt::emit(loc, EventKind::OnceBegin { once });
            let v = f();
            rt::emit(loc, EventKind::OnceEnd { once });
            v
        });
        if !ran {
            rt::emit(loc, EventKind::OnceAlreadyDone { once: self.obj.id() });
        }
        v
    }

    /// Initializes the cell with `value`.
    ///
    /// # Errors
    ///
    /// Gives `value` back if the cell was already initialized.
    #[track_caller]
    pub fn set(&self, value: T) -> Result<(), T> {
        let loc = Location::caller();
        let mut value = Some(value);
        let mut ran = false;
        let rec = rt::on();
        self.raw.get_or_init(|| {
            ran = true;
            if rec {
                let once = self.obj.id();
                rt::emit(loc, EventKind::OnceBegin { once });
                rt::emit(loc, EventKind::OnceEnd { once });
            }
            value.take().expect("set's value is taken once")
        });
        if ran {
            Ok(())
        } else {
            if rec {
                rt::emit(loc, EventKind::OnceAlreadyDone { once: self.obj.id() });
            }
            Err(value.take().expect("value not used"))
        }
    }

    /// Mutable access through an exclusive reference (no event).
    pub fn get_mut(&mut self) -> Option<&mut T> {
        self.raw.get_mut()
    }

    /// Consumes the cell and returns its value (no event).
    pub fn into_inner(self) -> Option<T> {
        self.raw.into_inner()
    }

    /// Takes the value out, leaving the cell empty (no event).
    pub fn take(&mut self) -> Option<T> {
        self.raw.take()
    }
}

impl<T> Default for OnceLock<T> {
    #[track_caller]
    fn default() -> Self {
        OnceLock::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceLock")
            .field("value", &self.raw.get())
            .field("hb", &self.obj)
            .finish()
    }
}
