//! Helpers shared by the integration tests that build traces event by event.

use hb_format::{Event, EventKind, LocId, TaskId, Trace};

/// Appends an event of `task` at `loc`; timestamps count the events from 1.
pub(crate) fn ev(t: &mut Trace, task: TaskId, loc: LocId, kind: EventKind) {
    let ts = t.events.len() as u64 + 1;
    t.events.push(Event {
        task,
        ts,
        loc: Some(loc),
        kind,
    });
}
