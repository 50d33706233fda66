//! Threads that are recorded as tasks: a drop-in for the parts of [`std::thread`] that
//! create happens-before edges (spawn, join, scoped threads).
//!
//! - [`spawn`] / [`Builder::spawn`]: the spawning task registers the child (its parent is
//!   the spawner) and records [`TaskSpawn`](hb_format::EventKind::TaskSpawn) *before* the
//!   child can run. The child records `TaskStart` first and `TaskEnd` last, also when it
//!   panics (a drop guard), and hands its buffered events to the writer as it ends.
//! - [`JoinHandle::join`] records `TaskJoin` after the underlying join returned (also when
//!   the child panicked: its end still happened before).
//! - [`scope`]: like [`std::thread::scope`]; threads not joined explicitly are joined when
//!   the scope ends, and those implicit joins are recorded as `TaskJoin` by the task that
//!   called `scope`, after every thread finished.
//! - [`sleep`] and [`yield_now`] record markers (never an edge).
//!
//! Threads not created here (the main thread, `std::thread::spawn`, thread pools) become
//! tasks without parent on their first recorded event.

use std::io;
use std::marker::PhantomData;
use std::panic::Location;
use std::time::Duration;

use hb_format::{EventKind, TaskId};
use parking_lot::Mutex as PlMutex;

pub use std::thread::{
    available_parallelism, current, panicking, park, park_timeout, Result, Thread, ThreadId,
};

use crate::rt;

/// Records the end of a spawned task when its closure returns or unwinds.
struct EndGuard(bool);

impl Drop for EndGuard {
    fn drop(&mut self) {
        if self.0 {
            rt::end_task();
        }
    }
}

/// Registers a child task and records its spawn (when recording).
fn register_child(name: Option<&str>, loc: &'static Location<'static>) -> Option<TaskId> {
    if !rt::on() {
        return None;
    }
    let child = rt::new_child_task(name)?;
    rt::emit(loc, EventKind::TaskSpawn { child });
    Some(child)
}

fn body<F, T>(child: Option<TaskId>, loc: &'static Location<'static>, f: F) -> impl FnOnce() -> T
where
    F: FnOnce() -> T,
{
    move || {
        if let Some(c) = child {
            rt::start_task(c, loc);
        }
        let _end = EndGuard(child.is_some());
        f()
    }
}

/// Spawns a recorded thread, like [`std::thread::spawn`].
///
/// # Panics
///
/// Panics if the operating system cannot create a thread (as std does).
#[track_caller]
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Builder::new().spawn(f).expect("failed to spawn thread")
}

/// Thread factory, like [`std::thread::Builder`]; the thread's name becomes its task's
/// name in the trace.
#[derive(Debug, Default)]
pub struct Builder {
    name: Option<String>,
    stack_size: Option<usize>,
}

impl Builder {
    /// A builder with no name and the default stack size.
    pub fn new() -> Self {
        Builder::default()
    }

    /// Names the thread (and its task).
    pub fn name(mut self, name: String) -> Self {
        self.name = Some(name);
        self
    }

    /// Sets the stack size.
    pub fn stack_size(mut self, size: usize) -> Self {
        self.stack_size = Some(size);
        self
    }

    fn std(&self) -> std::thread::Builder {
        let mut b = std::thread::Builder::new();
        if let Some(n) = &self.name {
            b = b.name(n.clone());
        }
        if let Some(s) = self.stack_size {
            b = b.stack_size(s);
        }
        b
    }

    /// Spawns a recorded thread.
    #[track_caller]
    pub fn spawn<F, T>(self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let loc = Location::caller();
        let child = register_child(self.name.as_deref(), loc);
        let inner = self.std().spawn(body(child, loc, f))?;
        Ok(JoinHandle { inner, child })
    }

    /// Spawns a recorded thread in a [`scope`].
    #[track_caller]
    pub fn spawn_scoped<'scope, 'env, F, T>(
        self,
        scope: &'scope Scope<'scope, 'env>,
        f: F,
    ) -> io::Result<ScopedJoinHandle<'scope, T>>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        let loc = Location::caller();
        let child = register_child(self.name.as_deref(), loc);
        let index = scope.data.add(child);
        let inner = self.std().spawn_scoped(scope.inner, body(child, loc, f))?;
        Ok(ScopedJoinHandle {
            inner,
            child,
            index,
            data: scope.data,
        })
    }
}

/// An owned permission to join a recorded thread, like [`std::thread::JoinHandle`].
#[derive(Debug)]
pub struct JoinHandle<T> {
    inner: std::thread::JoinHandle<T>,
    child: Option<TaskId>,
}

impl<T> JoinHandle<T> {
    /// Waits for the thread to finish and records the join (the child's end
    /// happens-before the join).
    #[track_caller]
    pub fn join(self) -> Result<T> {
        let finished = self.inner.is_finished();
        recorded_join(Location::caller(), self.child, finished, || self.inner.join())
    }

    /// The underlying thread.
    pub fn thread(&self) -> &Thread {
        self.inner.thread()
    }

    /// Whether the thread has finished (no event: this is not a synchronization).
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }
}

/// Waits through `join` for the thread `child` and records the join. When the thread is
/// still running (`finished` false) the wait may be long, so the waiting task's events are
/// flushed first: what led here stays visible even if the wait never ends.
fn recorded_join<R>(
    loc: &'static Location<'static>,
    child: Option<TaskId>,
    finished: bool,
    join: impl FnOnce() -> R,
) -> R {
    if child.is_some() && !finished {
        rt::flush_current();
    }
    let r = join();
    if let Some(child) = child {
        if rt::on() {
            rt::emit(loc, EventKind::TaskJoin { child });
        }
    }
    r
}

#[derive(Debug, Default)]
struct ScopeData {
    /// Children spawned in the scope, and whether each was joined explicitly.
    children: PlMutex<Vec<(Option<TaskId>, bool)>>,
}

impl ScopeData {
    fn add(&self, child: Option<TaskId>) -> usize {
        let mut c = self.children.lock();
        c.push((child, false));
        c.len() - 1
    }
}

/// A scope to spawn scoped threads in, like [`std::thread::Scope`].
#[derive(Debug)]
pub struct Scope<'scope, 'env: 'scope> {
    inner: &'scope std::thread::Scope<'scope, 'env>,
    data: &'scope ScopeData,
    _env: PhantomData<&'env mut &'env ()>,
}

impl<'scope, 'env> Scope<'scope, 'env> {
    /// Spawns a recorded scoped thread.
    ///
    /// # Panics
    ///
    /// Panics if the operating system cannot create a thread (as std does).
    #[track_caller]
    pub fn spawn<F, T>(&'scope self, f: F) -> ScopedJoinHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        Builder::new()
            .spawn_scoped(self, f)
            .expect("failed to spawn thread")
    }
}

/// An owned permission to join a scoped thread, like [`std::thread::ScopedJoinHandle`].
#[derive(Debug)]
pub struct ScopedJoinHandle<'scope, T> {
    inner: std::thread::ScopedJoinHandle<'scope, T>,
    child: Option<TaskId>,
    index: usize,
    data: &'scope ScopeData,
}

impl<T> ScopedJoinHandle<'_, T> {
    /// Waits for the thread to finish and records the join.
    #[track_caller]
    pub fn join(self) -> Result<T> {
        let finished = self.inner.is_finished();
        let (data, index) = (self.data, self.index);
        recorded_join(Location::caller(), self.child, finished, || {
            let r = self.inner.join();
            data.children.lock()[index].1 = true;
            r
        })
    }

    /// The underlying thread.
    pub fn thread(&self) -> &Thread {
        self.inner.thread()
    }

    /// Whether the thread has finished (no event).
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }
}

/// Wraps std's scope in ours, leaked for `'scope` and freed by [`scope`] afterwards.
fn make_scope<'scope, 'env>(
    inner: &'scope std::thread::Scope<'scope, 'env>,
    data: *const ScopeData,
    slot: &mut *mut Scope<'static, 'static>,
) -> &'scope Scope<'scope, 'env> {
    // SAFETY: `data` stays allocated until after `std::thread::scope` returned, when every
    // thread that could use it has been joined and the user's closure has returned (its
    // result cannot borrow from `'scope`).
    let data: &'scope ScopeData = unsafe { &*data };
    let ours: &'scope mut Scope<'scope, 'env> = Box::leak(Box::new(Scope {
        inner,
        data,
        _env: PhantomData,
    }));
    *slot = (ours as *mut Scope<'scope, 'env>).cast::<Scope<'static, 'static>>();
    ours
}

/// Creates a scope for spawning scoped threads, like [`std::thread::scope`]. Threads not
/// joined explicitly are joined when `f` returns; those joins are recorded (at the
/// location of this call) once every thread has finished.
#[track_caller]
pub fn scope<'env, F, T>(f: F) -> T
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
{
    let loc = Location::caller();
    let data: *mut ScopeData = Box::into_raw(Box::default());
    let mut scope_box: *mut Scope<'static, 'static> = std::ptr::null_mut();
    let slot = &mut scope_box;
    let r = std::thread::scope(|s| f(make_scope(s, data, slot)));
    // SAFETY: as above, nothing borrows the scope or its data any more. `Scope` holds only
    // references, so freeing it under other lifetimes frees the same layout.
    let data = unsafe {
        if !scope_box.is_null() {
            drop(Box::from_raw(scope_box));
        }
        Box::from_raw(data)
    };
    if rt::on() {
        for (child, joined) in data.children.into_inner() {
            if let (Some(child), false) = (child, joined) {
                rt::emit(loc, EventKind::TaskJoin { child });
            }
        }
    }
    r
}

/// Sleeps like [`std::thread::sleep`] and records a `Sleep` marker (sleeping never orders
/// anything).
#[track_caller]
pub fn sleep(dur: Duration) {
    if rt::on() {
        rt::emit(
            Location::caller(),
            EventKind::Sleep {
                nanos: dur.as_nanos().min(u64::MAX as u128) as u64,
            },
        );
    }
    std::thread::sleep(dur);
}

/// Yields like [`std::thread::yield_now`] and records a `Yield` marker.
#[track_caller]
pub fn yield_now() {
    if rt::on() {
        rt::emit(Location::caller(), EventKind::Yield);
    }
    std::thread::yield_now();
}
