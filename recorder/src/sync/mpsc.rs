//! Recorded multi-producer, single-consumer channels with the API of [`std::sync::mpsc`].
//!
//! The queue is hb's own (a `parking_lot` mutex around a `VecDeque`), so the message
//! numbers are exactly the queue order: a send takes its sequence number when it enqueues,
//! under the channel lock, and records `ChanSendBegin{seq}`; `ChanSendEnd{seq}` is recorded
//! when the send returns — for a rendezvous channel (`sync_channel(0)`) only after the
//! receiver took that message, for capacity C after the message found room (so the
//! receive of message seq−C came before). A receive records `ChanRecv{Value{seq}}`.
//!
//! Every drop of a [`Sender`] or [`SyncSender`] handle (clones included) records
//! `ChanClose{seq = k}` for the k-th drop; once all are gone and the queue is empty, a
//! receive returns an error and records `ChanRecv{Closed{closes}}` with the number of
//! drops. Close events have no location (a `Drop` has no caller).
//!
//! A send that fails because the receiver is gone records nothing. Messages enqueued
//! before recording started carry no number; their receives are not recorded.

use std::collections::VecDeque;
use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hb_format::{EventKind, ObjectKind, RecvResult};
use parking_lot::{Condvar as PlCondvar, Mutex as PlMutex, MutexGuard as PlGuard};

pub use std::sync::mpsc::{RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError};

use crate::rt::{self, Obj};

struct State<T> {
    /// (position, recorded sequence number or 0, message).
    queue: VecDeque<(u64, u64, T)>,
    /// Position of the last enqueued message (counts every message).
    pos: u64,
    /// Position of the last dequeued message.
    taken: u64,
    /// Sequence number of the last recorded send.
    seq: u64,
    senders: usize,
    receiver: bool,
    /// Recorded sender drops.
    closes: u64,
    recv_waiting: usize,
    send_waiting: usize,
}

struct Chan<T> {
    obj: Obj,
    cap: Option<usize>,
    st: PlMutex<State<T>>,
    recv_cv: PlCondvar,
    send_cv: PlCondvar,
}

/// Waits on the channel's condvar until `deadline`; while recording, a long wait hands the
/// thread's buffered events to the writer. Returns false when the deadline passed.
fn wait<T>(cv: &PlCondvar, g: &mut PlGuard<'_, State<T>>, rec: bool, deadline: Option<Instant>) -> bool {
    let interval = rt::flush_interval();
    match deadline {
        Some(d) => {
            let now = Instant::now();
            if now >= d {
                return false;
            }
            if rec && d - now > interval {
                if cv.wait_for(g, interval).timed_out() {
                    rt::flush_current();
                }
                true
            } else {
                cv.wait_until(g, d);
                true
            }
        }
        None if rec => {
            if cv.wait_for(g, interval).timed_out() {
                rt::flush_current();
            }
            true
        }
        None => {
            cv.wait(g);
            true
        }
    }
}

impl<T> Chan<T> {
    fn new(cap: Option<usize>, name: Option<String>, loc: &'static Location<'static>) -> Arc<Self> {
        let c = Arc::new(Chan {
            obj: Obj::eager(
                ObjectKind::Channel {
                    capacity: cap.map(|c| c as u64),
                },
                name.map(Into::into),
                loc,
            ),
            cap,
            st: PlMutex::new(State {
                queue: VecDeque::new(),
                pos: 0,
                taken: 0,
                seq: 0,
                senders: 1,
                receiver: true,
                closes: 0,
                recv_waiting: 0,
                send_waiting: 0,
            }),
            recv_cv: PlCondvar::new(),
            send_cv: PlCondvar::new(),
        });
        if rt::on() {
            rt::emit(loc, EventKind::ChanMake { chan: c.obj.id() });
        }
        c
    }

    /// Enqueues under the lock; returns (position, seq).
    fn enqueue(&self, st: &mut State<T>, t: T, rec: bool) -> (u64, u64) {
        st.pos += 1;
        let seq = if rec {
            st.seq += 1;
            st.seq
        } else {
            0
        };
        st.queue.push_back((st.pos, seq, t));
        if st.recv_waiting > 0 {
            self.recv_cv.notify_one();
        }
        (st.pos, seq)
    }

    /// The send of a bounded channel, `t` already admitted by `try_only` or waiting.
    fn send_sync(
        &self,
        t: T,
        try_only: bool,
        loc: &'static Location<'static>,
    ) -> Result<(), TrySendError<T>> {
        let cap = self.cap.unwrap_or(usize::MAX);
        let rec = rt::on();
        let mut st = self.st.lock();
        loop {
            if !st.receiver {
                return Err(TrySendError::Disconnected(t));
            }
            if cap == 0 {
                // Rendezvous: a try_send needs a receiver already waiting for a message.
                if !try_only || st.recv_waiting > st.queue.len() {
                    break;
                }
                return Err(TrySendError::Full(t));
            }
            if st.queue.len() < cap {
                break;
            }
            if try_only {
                return Err(TrySendError::Full(t));
            }
            st.send_waiting += 1;
            wait(&self.send_cv, &mut st, rec, None);
            st.send_waiting -= 1;
        }
        let (pos, seq) = self.enqueue(&mut st, t, rec);
        let id = if rec { self.obj.id() } else { 0 };
        if rec {
            rt::emit(loc, EventKind::ChanSendBegin { chan: id, seq });
        }
        if cap == 0 {
            while st.taken < pos {
                if !st.receiver {
                    // Never received: take the message back.
                    let i = st.queue.iter().position(|m| m.0 == pos);
                    let msg = i.and_then(|i| st.queue.remove(i)).map(|m| m.2);
                    drop(st);
                    return match msg {
                        Some(t) => Err(TrySendError::Disconnected(t)),
                        None => Ok(()),
                    };
                }
                st.send_waiting += 1;
                wait(&self.send_cv, &mut st, rec, None);
                st.send_waiting -= 1;
            }
        }
        drop(st);
        if rec {
            rt::emit(loc, EventKind::ChanSendEnd { chan: id, seq });
        }
        Ok(())
    }

    fn recv_inner(
        &self,
        deadline: Option<Instant>,
        try_only: bool,
        loc: &'static Location<'static>,
    ) -> Result<T, RecvTimeoutError> {
        let rec = rt::on();
        let mut st = self.st.lock();
        loop {
            if let Some((pos, seq, t)) = st.queue.pop_front() {
                st.taken = pos;
                // Recorded before a waiting sender can go on, so the receive's timestamp
                // precedes the send's end.
                if rec && seq != 0 {
                    rt::emit(
                        loc,
                        EventKind::ChanRecv {
                            chan: self.obj.id(),
                            result: RecvResult::Value { seq },
                        },
                    );
                }
                if st.send_waiting > 0 {
                    self.send_cv.notify_all();
                }
                drop(st);
                return Ok(t);
            }
            if st.senders == 0 {
                let closes = st.closes;
                drop(st);
                if rec {
                    rt::emit(
                        loc,
                        EventKind::ChanRecv {
                            chan: self.obj.id(),
                            result: RecvResult::Closed { closes },
                        },
                    );
                }
                return Err(RecvTimeoutError::Disconnected);
            }
            if try_only {
                return Err(RecvTimeoutError::Timeout);
            }
            st.recv_waiting += 1;
            let more = wait(&self.recv_cv, &mut st, rec, deadline);
            st.recv_waiting -= 1;
            if !more {
                // Deadline passed: one last look at the queue happens above only if we
                // loop, so check here.
                if st.queue.is_empty() && st.senders > 0 {
                    return Err(RecvTimeoutError::Timeout);
                }
            }
        }
    }

    fn sender_dropped(&self) {
        let rec = rt::on();
        let mut st = self.st.lock();
        st.senders -= 1;
        let k = if rec {
            st.closes += 1;
            st.closes
        } else {
            0
        };
        if st.senders == 0 {
            self.recv_cv.notify_all();
        }
        drop(st);
        if rec {
            rt::emit_noloc(EventKind::ChanClose {
                chan: self.obj.id(),
                seq: k,
            });
        }
    }

    fn sender_cloned(&self) {
        self.st.lock().senders += 1;
    }
}

/// The sending half of an unbounded [`channel`]; cloning makes another sender, dropping
/// one records a close.
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

/// The sending half of a bounded [`sync_channel`].
pub struct SyncSender<T> {
    chan: Arc<Chan<T>>,
}

/// The receiving half of a channel.
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
}

/// An unbounded channel, like [`std::sync::mpsc::channel`]: sends never block.
#[track_caller]
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let c = Chan::new(None, None, Location::caller());
    (Sender { chan: c.clone() }, Receiver { chan: c })
}

/// An unbounded channel with a name shown in reports.
#[track_caller]
pub fn named_channel<T>(name: impl Into<String>) -> (Sender<T>, Receiver<T>) {
    let c = Chan::new(None, Some(name.into()), Location::caller());
    (Sender { chan: c.clone() }, Receiver { chan: c })
}

/// A bounded channel, like [`std::sync::mpsc::sync_channel`]: a send blocks while
/// `bound` messages are queued; with `bound` 0 every send waits until its message is
/// received (a rendezvous).
#[track_caller]
pub fn sync_channel<T>(bound: usize) -> (SyncSender<T>, Receiver<T>) {
    let c = Chan::new(Some(bound), None, Location::caller());
    (SyncSender { chan: c.clone() }, Receiver { chan: c })
}

/// A bounded channel with a name shown in reports.
#[track_caller]
pub fn named_sync_channel<T>(name: impl Into<String>, bound: usize) -> (SyncSender<T>, Receiver<T>) {
    let c = Chan::new(Some(bound), Some(name.into()), Location::caller());
    (SyncSender { chan: c.clone() }, Receiver { chan: c })
}

impl<T> Sender<T> {
    /// Sends a message; never blocks.
    ///
    /// # Errors
    ///
    /// Gives the message back if the receiver is gone.
    #[track_caller]
    pub fn send(&self, t: T) -> Result<(), SendError<T>> {
        let loc = Location::caller();
        let c = &*self.chan;
        let rec = rt::on();
        let mut st = c.st.lock();
        if !st.receiver {
            return Err(SendError(t));
        }
        let (_, seq) = c.enqueue(&mut st, t, rec);
        drop(st);
        if rec {
            let chan = c.obj.id();
            rt::emit(loc, EventKind::ChanSendBegin { chan, seq });
            rt::emit(loc, EventKind::ChanSendEnd { chan, seq });
        }
        Ok(())
    }
}

impl<T> SyncSender<T> {
    /// Sends a message, blocking while the channel is full (for a rendezvous channel,
    /// until the message is received).
    ///
    /// # Errors
    ///
    /// Gives the message back if the receiver is gone.
    #[track_caller]
    pub fn send(&self, t: T) -> Result<(), SendError<T>> {
        self.chan
            .send_sync(t, false, Location::caller())
            .map_err(|e| match e {
                TrySendError::Full(t) | TrySendError::Disconnected(t) => SendError(t),
            })
    }

    /// Sends a message if that needs no waiting for room (for a rendezvous channel: if a
    /// receiver is already waiting; the call then returns once it took the message).
    ///
    /// # Errors
    ///
    /// `Full` if there is no room, `Disconnected` if the receiver is gone.
    #[track_caller]
    pub fn try_send(&self, t: T) -> Result<(), TrySendError<T>> {
        self.chan.send_sync(t, true, Location::caller())
    }
}

impl<T> Receiver<T> {
    /// Receives a message, blocking until one is available.
    ///
    /// # Errors
    ///
    /// `RecvError` once every sender is gone and the queue is empty.
    #[track_caller]
    pub fn recv(&self) -> Result<T, RecvError> {
        self.chan
            .recv_inner(None, false, Location::caller())
            .map_err(|_| RecvError)
    }

    /// Receives a message if one is queued.
    ///
    /// # Errors
    ///
    /// `Empty` if none is queued, `Disconnected` once every sender is gone.
    #[track_caller]
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.chan
            .recv_inner(None, true, Location::caller())
            .map_err(|e| match e {
                RecvTimeoutError::Timeout => TryRecvError::Empty,
                RecvTimeoutError::Disconnected => TryRecvError::Disconnected,
            })
    }

    /// Receives a message, waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// `Timeout` if none came in time, `Disconnected` once every sender is gone.
    #[track_caller]
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        let deadline = Instant::now().checked_add(timeout);
        self.chan.recv_inner(deadline, false, Location::caller())
    }

    /// An iterator that blocks for each message and ends when the channel is closed.
    #[track_caller]
    pub fn iter(&self) -> Iter<'_, T> {
        Iter {
            rx: self,
            loc: Location::caller(),
        }
    }

    /// An iterator over the messages queued now.
    #[track_caller]
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter {
            rx: self,
            loc: Location::caller(),
        }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.sender_cloned();
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Clone for SyncSender<T> {
    fn clone(&self) -> Self {
        self.chan.sender_cloned();
        SyncSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.sender_dropped();
    }
}

impl<T> Drop for SyncSender<T> {
    fn drop(&mut self) {
        self.chan.sender_dropped();
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut st = self.chan.st.lock();
        st.receiver = false;
        drop(st);
        self.chan.send_cv.notify_all();
    }
}

macro_rules! debug_impl {
    ($t:ident) => {
        impl<T> fmt::Debug for $t<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($t))
                    .field("hb", &self.chan.obj)
                    .finish()
            }
        }
    };
}
debug_impl!(Sender);
debug_impl!(SyncSender);
debug_impl!(Receiver);

/// Blocking iterator over a [`Receiver`]'s messages (see [`Receiver::iter`]); receives are
/// recorded at the location of the `iter` call.
#[derive(Debug)]
pub struct Iter<'a, T> {
    rx: &'a Receiver<T>,
    loc: &'static Location<'static>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.chan.recv_inner(None, false, self.loc).ok()
    }
}

/// Non-blocking iterator over a [`Receiver`]'s queued messages (see
/// [`Receiver::try_iter`]).
#[derive(Debug)]
pub struct TryIter<'a, T> {
    rx: &'a Receiver<T>,
    loc: &'static Location<'static>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.chan.recv_inner(None, true, self.loc).ok()
    }
}

/// Owning blocking iterator over a [`Receiver`]'s messages (`for m in rx`).
#[derive(Debug)]
pub struct IntoIter<T> {
    rx: Receiver<T>,
    loc: &'static Location<'static>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.chan.recv_inner(None, false, self.loc).ok()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    #[track_caller]
    fn into_iter(self) -> IntoIter<T> {
        IntoIter {
            rx: self,
            loc: Location::caller(),
        }
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    #[track_caller]
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}
