//! `hb-format`: the trace data model of hb and its codecs.
//!
//! Every other hb crate speaks this model: the recorder writes it, the analyzer and the
//! viewer read it. It knows nothing about `tracing`, vector clocks or egui.
//!
//! # The model
//!
//! A trace is a [`Header`] and a stream of [`Def`]initions and [`Event`]s. Events refer to
//! tasks ([`TaskId`]), objects ([`ObjectId`]: sync objects and tagged variables), source
//! locations ([`LocId`]) and strings ([`StrId`]) by small integers; definitions give those
//! integers their meaning and always precede their first use in the file. Sync events carry
//! per-object sequence numbers taken by the recorder at the moment the operation took
//! effect (the n-th lock of a mutex carries n, a receive names the send it got, an atomic
//! load names the store it read), so consumers never order events by timestamp.
//!
//! # The binary format
//!
//! See [`io`] for the container (magic, self-delimiting checksummed frames, resynchronizing
//! reader) and [`codec`] for the compact event encoding (MessagePack via rmp-serde of
//! delta-encoded integers, about 4-7 bytes per event).
//!
//! ```
//! use hb_format::{Def, Event, EventKind, Header, ObjectKind, Trace, TraceReader, TraceWriter};
//!
//! let mut out = Vec::new();
//! let mut w = TraceWriter::new(&mut out, &Header::new("demo")).unwrap();
//! let defs = [Def::Object { id: 1, kind: ObjectKind::Mutex, name: None, loc: None }];
//! let events = [
//!     Event { task: 0, ts: 5, loc: None, kind: EventKind::MutexLock { mutex: 1, seq: 1 } },
//!     Event { task: 0, ts: 9, loc: None, kind: EventKind::MutexUnlock { mutex: 1, seq: 1 } },
//! ];
//! w.write_events(0, &defs, &events).unwrap();
//! drop(w);
//!
//! let trace = Trace::read_binary(&out[..]).unwrap();
//! assert_eq!(trace.events, events);
//! assert!(trace.warnings.is_empty());
//! ```
//!
//! # Other formats
//!
//! [`std_text`] imports and exports the STD text traces of the RAPID research tools;
//! [`chrome`] exports Chrome/Perfetto trace-event JSON.

pub mod chrome;
pub mod codec;
mod error;
pub mod io;
mod model;
pub mod std_text;
mod trace;

pub use codec::FrameEncoder;
pub use error::{Error, ErrorKind};
pub use io::{Frame, TraceReader, TraceWriter};
pub use model::{
    Def, Event, EventKind, Header, LocId, Location, MemOrder, ObjectId, ObjectKind, RecvResult, StrId, TaskId,
};
pub use trace::{FileFormat, ObjectInfo, Symbols, TaskInfo, Trace};

/// Major format version written and read by this crate.
pub const FORMAT_VERSION_MAJOR: u16 = 1;
/// Minor format version written by this crate.
pub const FORMAT_VERSION_MINOR: u16 = 0;
