//! Recorded synchronization primitives: drop-ins for [`std::sync`].
//!
//! Switching is mostly a `use` change: `use hb_recorder::sync::{Arc, Mutex, Condvar};`.
//! Every operation is `#[track_caller]` and records its caller's location; every object
//! records its creation site and an optional name (`Mutex::named("counter", 0)`,
//! `Mutex::with_name(format!("fork {i}"), ())`), shown in reports.
//!
//! Sequence numbers advance only while recording, so an object used before recording
//! started is numbered from 1 within the trace; an operation that began before recording
//! started (a guard taken earlier) is not recorded.

mod condvar;
mod group;
mod mutex;
mod once;
mod rwlock;

pub mod atomic;
pub mod mpsc;

pub use condvar::{Condvar, WaitTimeoutResult};
pub use group::{Barrier, BarrierWaitResult, WaitGroup};
pub use mutex::{Mutex, MutexGuard};
pub use once::{Once, OnceLock};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};

pub use std::sync::{Arc, LockResult, OnceState, PoisonError, TryLockError, TryLockResult, Weak};

/// `g` as std's lock methods return it: inside a [`PoisonError`] when the lock is poisoned.
fn lock_result<G>(g: G, poisoned: bool) -> LockResult<G> {
    if poisoned {
        Err(PoisonError::new(g))
    } else {
        Ok(g)
    }
}
