//! Recorded atomics with the API of [`std::sync::atomic`], recording exact reads-from.
//!
//! Each atomic keeps a version counter next to its value: every store or read-modify-write
//! recorded creates version v+1 (`AtomicStore{version}` / `AtomicRmw{version}`, an RMW
//! reading v), and every load records the version it read (`AtomicLoad{version}`, 0 =
//! the initial value). A failed `compare_exchange` is a load (with the failure ordering).
//! The caller's [`Ordering`] is recorded as is.
//!
//! # How value and version stay together
//!
//! While recording, writers take a tiny per-atomic spinlock (the top bit of the version
//! word) around the operation and bump the version when releasing it; readers use the
//! version word as a seqlock (read version, load value, read version again, retry if it
//! changed or was locked), so loads never write shared memory. This adds ordering to the
//! running program (a writer's lock is an acquire/release pair), but the trace records the
//! ordering the program asked for, and the analyzer judges with that. With recording off
//! an operation is the std operation plus one relaxed load.
//!
//! `fetch_update` is, as in std, a loop of a load and `compare_exchange_weak`s, each
//! recorded.

use std::fmt;
use std::panic::Location;
use std::sync::atomic::fence;

pub use std::sync::atomic::{compiler_fence, Ordering};

use hb_format::{EventKind, MemOrder, ObjectKind};

use crate::rt::{self, Obj};

const LOCKED: u64 = 1 << 63;

fn mem_order(o: Ordering) -> MemOrder {
    match o {
        Ordering::Relaxed => MemOrder::Relaxed,
        Ordering::Release => MemOrder::Release,
        Ordering::Acquire => MemOrder::Acquire,
        Ordering::AcqRel => MemOrder::AcqRel,
        _ => MemOrder::SeqCst,
    }
}

/// Version word and identity shared by every recorded atomic.
struct Meta {
    version: std::sync::atomic::AtomicU64,
    obj: Obj,
}

#[inline]
fn backoff(spins: &mut u32) {
    *spins += 1;
    if *spins < 64 {
        std::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
}

impl Meta {
    const fn new(name: Option<&'static str>, loc: &'static Location<'static>) -> Self {
        Meta {
            version: std::sync::atomic::AtomicU64::new(0),
            obj: Obj::new(ObjectKind::Atomic, name, loc),
        }
    }

    /// Runs a load-like `op` and returns its result with the version it observed.
    #[inline]
    fn read<R>(&self, op: impl Fn() -> R) -> (R, u64) {
        let mut spins = 0;
        loop {
            let v1 = self.version.load(Ordering::Acquire);
            if v1 & LOCKED == 0 {
                let r = op();
                fence(Ordering::Acquire);
                if self.version.load(Ordering::Relaxed) == v1 {
                    return (r, v1);
                }
            }
            backoff(&mut spins);
        }
    }

    /// Runs a writing `op` under the spinlock. `op` returns its result and whether it
    /// wrote (a failed compare-exchange does not). Returns the result and the version
    /// written (or read, when nothing was written).
    #[inline]
    fn write<R>(&self, op: impl FnOnce() -> (R, bool)) -> (R, u64, bool) {
        let mut spins = 0;
        let cur = loop {
            let cur = self.version.load(Ordering::Relaxed);
            if cur & LOCKED == 0
                && self
                    .version
                    .compare_exchange_weak(cur, cur | LOCKED, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                break cur;
            }
            backoff(&mut spins);
        };
        // Pairs with the readers' acquire fence: a reader that sees this write's value
        // sees the lock bit on its second version load.
        fence(Ordering::Release);
        let (r, wrote) = op();
        let next = if wrote { cur + 1 } else { cur };
        self.version.store(next, Ordering::Release);
        (r, next, wrote)
    }

    #[inline]
    fn load_event(&self, loc: &'static Location<'static>, order: Ordering, version: u64) {
        rt::emit(
            loc,
            EventKind::AtomicLoad {
                atomic: self.obj.id(),
                order: mem_order(order),
                version,
            },
        );
    }

    #[inline]
    fn store_event(&self, loc: &'static Location<'static>, order: Ordering, version: u64) {
        rt::emit(
            loc,
            EventKind::AtomicStore {
                atomic: self.obj.id(),
                order: mem_order(order),
                version,
            },
        );
    }

    #[inline]
    fn rmw_event(&self, loc: &'static Location<'static>, order: Ordering, version: u64) {
        rt::emit(
            loc,
            EventKind::AtomicRmw {
                atomic: self.obj.id(),
                order: mem_order(order),
                version,
            },
        );
    }

    /// A recorded read-modify-write that always writes.
    #[inline]
    fn rmw<R>(&self, loc: &'static Location<'static>, order: Ordering, op: impl FnOnce() -> R) -> R {
        let (r, v, _) = self.write(|| (op(), true));
        self.rmw_event(loc, order, v);
        r
    }

    /// A recorded compare-exchange.
    #[inline]
    fn cas<V>(
        &self,
        loc: &'static Location<'static>,
        success: Ordering,
        failure: Ordering,
        op: impl FnOnce() -> Result<V, V>,
    ) -> Result<V, V> {
        let (r, v, wrote) = self.write(|| {
            let r = op();
            let ok = r.is_ok();
            (r, ok)
        });
        if wrote {
            self.rmw_event(loc, success, v);
        } else {
            self.load_event(loc, failure, v);
        }
        r
    }
}

macro_rules! common {
    ($name:ident, $std:ty, $t:ty) => {
        impl $name {
            /// A new atomic (its creation site is the caller's location).
            #[track_caller]
            pub const fn new(v: $t) -> Self {
                $name {
                    raw: <$std>::new(v),
                    meta: Meta::new(None, Location::caller()),
                }
            }

            /// A new atomic with a name shown in reports.
            #[track_caller]
            pub const fn named(name: &'static str, v: $t) -> Self {
                $name {
                    raw: <$std>::new(v),
                    meta: Meta::new(Some(name), Location::caller()),
                }
            }

            /// Loads the value, recording the version read.
            #[track_caller]
            #[inline]
            pub fn load(&self, order: Ordering) -> $t {
                if !rt::on() {
                    return self.raw.load(order);
                }
                let (v, ver) = self.meta.read(|| self.raw.load(order));
                self.meta.load_event(Location::caller(), order, ver);
                v
            }

            /// Stores a value, recording the version created.
            #[track_caller]
            #[inline]
            pub fn store(&self, val: $t, order: Ordering) {
                if !rt::on() {
                    return self.raw.store(val, order);
                }
                let ((), ver, _) = self.meta.write(|| (self.raw.store(val, order), true));
                self.meta.store_event(Location::caller(), order, ver);
            }

            /// Swaps the value (a read-modify-write).
            #[track_caller]
            #[inline]
            pub fn swap(&self, val: $t, order: Ordering) -> $t {
                if !rt::on() {
                    return self.raw.swap(val, order);
                }
                self.meta
                    .rmw(Location::caller(), order, || self.raw.swap(val, order))
            }

            /// Stores `new` if the value is `current`; a failure is recorded as a load.
            ///
            /// # Errors
            ///
            /// The value found, if it was not `current`.
            #[track_caller]
            #[inline]
            pub fn compare_exchange(
                &self,
                current: $t,
                new: $t,
                success: Ordering,
                failure: Ordering,
            ) -> Result<$t, $t> {
                if !rt::on() {
                    return self.raw.compare_exchange(current, new, success, failure);
                }
                self.meta.cas(Location::caller(), success, failure, || {
                    self.raw.compare_exchange(current, new, success, failure)
                })
            }

            /// Like [`Self::compare_exchange`], but may fail spuriously.
            ///
            /// # Errors
            ///
            /// The value found, if it was not `current` (or spuriously).
            #[track_caller]
            #[inline]
            pub fn compare_exchange_weak(
                &self,
                current: $t,
                new: $t,
                success: Ordering,
                failure: Ordering,
            ) -> Result<$t, $t> {
                if !rt::on() {
                    return self
                        .raw
                        .compare_exchange_weak(current, new, success, failure);
                }
                self.meta.cas(Location::caller(), success, failure, || {
                    self.raw
                        .compare_exchange_weak(current, new, success, failure)
                })
            }

            /// Applies `f` until it succeeds or returns `None`, as std does (a load, then
            /// compare-exchanges, each recorded).
            ///
            /// # Errors
            ///
            /// The last value seen, if `f` returned `None`.
            #[track_caller]
            pub fn fetch_update<F>(
                &self,
                set_order: Ordering,
                fetch_order: Ordering,
                mut f: F,
            ) -> Result<$t, $t>
            where
                F: FnMut($t) -> Option<$t>,
            {
                let mut prev = self.load(fetch_order);
                while let Some(next) = f(prev) {
                    match self.compare_exchange_weak(prev, next, set_order, fetch_order) {
                        Ok(x) => return Ok(x),
                        Err(next_prev) => prev = next_prev,
                    }
                }
                Err(prev)
            }

            /// Mutable access through an exclusive reference (no event).
            pub fn get_mut(&mut self) -> &mut $t {
                self.raw.get_mut()
            }

            /// Consumes the atomic and returns the value (no event).
            pub fn into_inner(self) -> $t {
                self.raw.into_inner()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("value", &self.raw.load(Ordering::Relaxed))
                    .field("hb", &self.meta.obj)
                    .finish()
            }
        }
    };
}

macro_rules! rmw_ops {
    ($t:ty; $($op:ident: $doc:literal),*) => {
        $(
            #[doc = $doc]
            #[track_caller]
            #[inline]
            pub fn $op(&self, val: $t, order: Ordering) -> $t {
                if !rt::on() {
                    return self.raw.$op(val, order);
                }
                self.meta.rmw(Location::caller(), order, || self.raw.$op(val, order))
            }
        )*
    };
}

macro_rules! atomic_int {
    ($name:ident, $std:ty, $t:ty) => {
        #[doc = concat!("A recorded [`", stringify!($std), "`] (see the [module docs](self)).")]
        pub struct $name {
            raw: $std,
            meta: Meta,
        }

        common!($name, $std, $t);

        impl $name {
            rmw_ops!($t;
                fetch_add: "Adds to the value (wrapping), returning the previous value.",
                fetch_sub: "Subtracts from the value (wrapping), returning the previous value.",
                fetch_and: "Bitwise and, returning the previous value.",
                fetch_nand: "Bitwise nand, returning the previous value.",
                fetch_or: "Bitwise or, returning the previous value.",
                fetch_xor: "Bitwise xor, returning the previous value.",
                fetch_max: "Maximum, returning the previous value.",
                fetch_min: "Minimum, returning the previous value."
            );
        }

        impl Default for $name {
            #[track_caller]
            fn default() -> Self {
                $name::new(0)
            }
        }

        impl From<$t> for $name {
            #[track_caller]
            fn from(v: $t) -> Self {
                $name::new(v)
            }
        }
    };
}

atomic_int!(AtomicUsize, std::sync::atomic::AtomicUsize, usize);
atomic_int!(AtomicIsize, std::sync::atomic::AtomicIsize, isize);
atomic_int!(AtomicU32, std::sync::atomic::AtomicU32, u32);
atomic_int!(AtomicI32, std::sync::atomic::AtomicI32, i32);
atomic_int!(AtomicU64, std::sync::atomic::AtomicU64, u64);
atomic_int!(AtomicI64, std::sync::atomic::AtomicI64, i64);

/// A recorded [`std::sync::atomic::AtomicBool`] (see the [module docs](self)).
pub struct AtomicBool {
    raw: std::sync::atomic::AtomicBool,
    meta: Meta,
}

common!(AtomicBool, std::sync::atomic::AtomicBool, bool);

impl AtomicBool {
    rmw_ops!(bool;
        fetch_and: "Logical and, returning the previous value.",
        fetch_nand: "Logical nand, returning the previous value.",
        fetch_or: "Logical or, returning the previous value.",
        fetch_xor: "Logical xor, returning the previous value."
    );

    /// Logical not, returning the previous value.
    #[track_caller]
    #[inline]
    pub fn fetch_not(&self, order: Ordering) -> bool {
        self.fetch_xor(true, order)
    }
}

impl Default for AtomicBool {
    #[track_caller]
    fn default() -> Self {
        AtomicBool::new(false)
    }
}

impl From<bool> for AtomicBool {
    #[track_caller]
    fn from(v: bool) -> Self {
        AtomicBool::new(v)
    }
}

/// A recorded [`std::sync::atomic::AtomicPtr`] (see the [module docs](self)).
pub struct AtomicPtr<T> {
    raw: std::sync::atomic::AtomicPtr<T>,
    meta: Meta,
}

impl<T> AtomicPtr<T> {
    /// A new atomic pointer.
    #[track_caller]
    pub const fn new(p: *mut T) -> Self {
        AtomicPtr {
            raw: std::sync::atomic::AtomicPtr::new(p),
            meta: Meta::new(None, Location::caller()),
        }
    }

    /// A new atomic pointer with a name shown in reports.
    #[track_caller]
    pub const fn named(name: &'static str, p: *mut T) -> Self {
        AtomicPtr {
            raw: std::sync::atomic::AtomicPtr::new(p),
            meta: Meta::new(Some(name), Location::caller()),
        }
    }

    /// Loads the pointer, recording the version read.
    #[track_caller]
    #[inline]
    pub fn load(&self, order: Ordering) -> *mut T {
        if !rt::on() {
            return self.raw.load(order);
        }
        let (v, ver) = self.meta.read(|| self.raw.load(order));
        self.meta.load_event(Location::caller(), order, ver);
        v
    }

    /// Stores a pointer, recording the version created.
    #[track_caller]
    #[inline]
    pub fn store(&self, p: *mut T, order: Ordering) {
        if !rt::on() {
            return self.raw.store(p, order);
        }
        let ((), ver, _) = self.meta.write(|| (self.raw.store(p, order), true));
        self.meta.store_event(Location::caller(), order, ver);
    }

    /// Swaps the pointer (a read-modify-write).
    #[track_caller]
    #[inline]
    pub fn swap(&self, p: *mut T, order: Ordering) -> *mut T {
        if !rt::on() {
            return self.raw.swap(p, order);
        }
        self.meta
            .rmw(Location::caller(), order, || self.raw.swap(p, order))
    }

    /// Stores `new` if the pointer is `current`; a failure is recorded as a load.
    ///
    /// # Errors
    ///
    /// The pointer found, if it was not `current`.
    #[track_caller]
    pub fn compare_exchange(
        &self,
        current: *mut T,
        new: *mut T,
        success: Ordering,
        failure: Ordering,
    ) -> Result<*mut T, *mut T> {
        if !rt::on() {
            return self.raw.compare_exchange(current, new, success, failure);
        }
        self.meta.cas(Location::caller(), success, failure, || {
            self.raw.compare_exchange(current, new, success, failure)
        })
    }

    /// Like [`Self::compare_exchange`], but may fail spuriously.
    ///
    /// # Errors
    ///
    /// The pointer found, if it was not `current` (or spuriously).
    #[track_caller]
    pub fn compare_exchange_weak(
        &self,
        current: *mut T,
        new: *mut T,
        success: Ordering,
        failure: Ordering,
    ) -> Result<*mut T, *mut T> {
        if !rt::on() {
            return self.raw.compare_exchange_weak(current, new, success, failure);
        }
        self.meta.cas(Location::caller(), success, failure, || {
            self.raw.compare_exchange_weak(current, new, success, failure)
        })
    }

    /// Applies `f` until it succeeds or returns `None` (each attempt recorded).
    ///
    /// # Errors
    ///
    /// The last pointer seen, if `f` returned `None`.
    #[track_caller]
    pub fn fetch_update<F>(
        &self,
        set_order: Ordering,
        fetch_order: Ordering,
        mut f: F,
    ) -> Result<*mut T, *mut T>
    where
        F: FnMut(*mut T) -> Option<*mut T>,
    {
        let mut prev = self.load(fetch_order);
        while let Some(next) = f(prev) {
            match self.compare_exchange_weak(prev, next, set_order, fetch_order) {
                Ok(x) => return Ok(x),
                Err(next_prev) => prev = next_prev,
            }
        }
        Err(prev)
    }

    /// Mutable access through an exclusive reference (no event).
    pub fn get_mut(&mut self) -> &mut *mut T {
        self.raw.get_mut()
    }

    /// Consumes the atomic and returns the pointer (no event).
    pub fn into_inner(self) -> *mut T {
        self.raw.into_inner()
    }
}

impl<T> Default for AtomicPtr<T> {
    #[track_caller]
    fn default() -> Self {
        AtomicPtr::new(std::ptr::null_mut())
    }
}

impl<T> fmt::Debug for AtomicPtr<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtomicPtr")
            .field("value", &self.raw.load(Ordering::Relaxed))
            .field("hb", &self.meta.obj)
            .finish()
    }
}
