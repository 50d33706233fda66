//! The viewer's model: a loaded trace arranged into lanes (one per task) with their
//! level-of-detail indexes, waits and spans, plus the analyzer's edges and findings in a form
//! that is quick to look up. Pure data: no egui types.

use std::collections::HashMap;
use std::sync::Arc;

use hb_format::{EventKind, ObjectId, TaskId, Trace};

use crate::lod::{Category, EventIndex, IntervalSet};

/// Index of an event in `Trace::events` (the analyzer's `EventRef`).
pub type EventRef = u64;

/// Why a task was waiting during a shaded interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum WaitKind {
    /// Between a lock request and the acquisition.
    Lock = 0,
    /// Between the start and the return of a channel send (blocked on a full or rendezvous
    /// channel).
    Send = 1,
    /// Inside a condvar wait.
    Condvar = 2,
    /// Between arriving at a barrier and leaving it.
    Barrier = 3,
}

impl WaitKind {
    /// Every wait kind, by tag.
    pub const ALL: [WaitKind; 4] = [
        WaitKind::Lock,
        WaitKind::Send,
        WaitKind::Condvar,
        WaitKind::Barrier,
    ];

    /// The wait kind stored as an interval tag.
    pub fn from_tag(tag: u32) -> WaitKind {
        WaitKind::ALL[(tag as usize).min(3)]
    }

    /// A short description ("lock wait", ...).
    pub fn label(self) -> &'static str {
        match self {
            WaitKind::Lock => "lock wait",
            WaitKind::Send => "blocked send",
            WaitKind::Condvar => "condvar wait",
            WaitKind::Barrier => "barrier wait",
        }
    }
}

/// One task's row on the timeline.
#[derive(Debug, Clone)]
pub struct Lane {
    /// The task.
    pub task: TaskId,
    /// Display label: `name (T<id>)` or `T<id>`.
    pub label: String,
    /// Time of its first event (its start).
    pub start: u64,
    /// Time of its last event.
    pub end: u64,
    /// Whether its `TaskEnd` was recorded (otherwise it was still running when the trace ended).
    pub ended: bool,
    /// When and by which event its parent spawned it, if recorded.
    pub spawned_by: Option<EventRef>,
    /// Its events in time order, with the level-of-detail pyramid.
    pub events: EventIndex,
    /// Intervals where it waited (tags are [`WaitKind`]s).
    pub waits: IntervalSet,
    /// Its `tracing` spans, one set per nesting depth (tags are span-name string ids).
    pub spans: Vec<IntervalSet>,
}

/// Which analyzer edge kind an edge has: an index into [`AnalysisModel::edge_kinds`].
pub type EdgeKindId = u8;

/// A happens-before edge between two events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    /// Its kind.
    pub kind: EdgeKindId,
    /// The earlier event.
    pub from: EventRef,
    /// The later event.
    pub to: EventRef,
}

/// What a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingKind {
    /// A data race between two accesses.
    Race,
    /// A lock-order cycle (potential deadlock).
    Cycle,
}

/// How a highlighted link of a finding is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkStyle {
    /// The happens-before edge that is missing between two racing accesses (dashed).
    Missing,
    /// A synchronization the analyzer lists in a race's explanation (partner → own event).
    Sync,
    /// One edge of a lock-order cycle: "holding the lock taken at `from`, acquires at `to`".
    LockOrder,
    /// Joins a cycle edge's acquisition to the next edge's holding of the same lock.
    SameLock,
}

/// A line the viewer draws for a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// Start event.
    pub from: EventRef,
    /// End event.
    pub to: EventRef,
    /// How it is drawn.
    pub style: LinkStyle,
}

/// A race or lock-order cycle, ready to list and show.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Race or cycle.
    pub kind: FindingKind,
    /// One-line title for the findings list.
    pub title: String,
    /// Lines of explanation (accesses with locations, why no edge orders them...).
    pub detail: Vec<String>,
    /// The events to highlight; zooming to the finding shows them all.
    pub events: Vec<EventRef>,
    /// A short label per event of `events` ("write", "holds lock_a", ...).
    pub labels: Vec<String>,
    /// Lines to draw between events.
    pub links: Vec<Link>,
}

/// The analyzer's results arranged for the viewer.
#[derive(Debug, Clone, Default)]
pub struct AnalysisModel {
    /// Names of the edge kinds (index = [`EdgeKindId`]).
    pub edge_kinds: Vec<String>,
    /// Every happens-before edge.
    pub edges: Vec<Edge>,
    by_from: Vec<u32>,
    by_to: Vec<u32>,
    /// Races, then cycles.
    pub findings: Vec<Finding>,
    /// Other messages of the analyzer (trace problems it noticed).
    pub diagnostics: Vec<String>,
    /// One-line summary of the analysis statistics.
    pub summary: String,
}

impl AnalysisModel {
    /// Arranges edges and findings, indexing the edges by both ends.
    pub fn new(
        edge_kinds: Vec<String>,
        edges: Vec<Edge>,
        findings: Vec<Finding>,
        diagnostics: Vec<String>,
        summary: String,
    ) -> AnalysisModel {
        let mut by_from: Vec<u32> = (0..edges.len() as u32).collect();
        by_from.sort_by_key(|&i| edges[i as usize].from);
        let mut by_to: Vec<u32> = (0..edges.len() as u32).collect();
        by_to.sort_by_key(|&i| edges[i as usize].to);
        AnalysisModel {
            edge_kinds,
            edges,
            by_from,
            by_to,
            findings,
            diagnostics,
            summary,
        }
    }

    /// The edges leaving `ev`.
    pub fn outgoing(&self, ev: EventRef) -> impl Iterator<Item = &Edge> {
        let a = self
            .by_from
            .partition_point(|&i| self.edges[i as usize].from < ev);
        self.by_from[a..]
            .iter()
            .map(|&i| &self.edges[i as usize])
            .take_while(move |e| e.from == ev)
    }

    /// The edges arriving at `ev`.
    pub fn incoming(&self, ev: EventRef) -> impl Iterator<Item = &Edge> {
        let a = self.by_to.partition_point(|&i| self.edges[i as usize].to < ev);
        self.by_to[a..]
            .iter()
            .map(|&i| &self.edges[i as usize])
            .take_while(move |e| e.to == ev)
    }

    /// Name of an edge kind.
    pub fn kind_name(&self, kind: EdgeKindId) -> &str {
        self.edge_kinds.get(kind as usize).map_or("?", String::as_str)
    }
}

/// A loaded trace arranged for display.
#[derive(Debug)]
pub struct Model {
    /// Display name (the file name).
    pub name: String,
    /// The trace itself (shared with the analysis thread).
    pub trace: Arc<Trace>,
    /// One lane per task, by task id.
    pub lanes: Vec<Lane>,
    lane_of_task: HashMap<TaskId, usize>,
    /// Earliest timestamp.
    pub t_min: u64,
    /// Latest timestamp.
    pub t_max: u64,
    /// The analysis, once it has finished.
    pub analysis: Option<AnalysisModel>,
}

/// Per-task state while building lanes.
#[derive(Default)]
struct LaneBuilder {
    items: Vec<(u64, u32, Category)>,
    ended: bool,
    spawned_by: Option<EventRef>,
    lock_request: Option<(ObjectId, u64, u32)>,
    send: Option<(ObjectId, u64, u64, u32)>,
    condvar: Option<(ObjectId, u64, u32)>,
    barrier: Option<(ObjectId, u64, u32)>,
    waits: IntervalSet,
    span_stack: Vec<(u64, u32, u64, u32)>,
    spans: Vec<IntervalSet>,
}

impl LaneBuilder {
    fn close_span(&mut self, depth: usize, end: u64) {
        let (_, name, start, ev) = self.span_stack[depth];
        while self.spans.len() <= depth {
            self.spans.push(IntervalSet::default());
        }
        self.spans[depth].push(start, end, name, ev);
    }
}

impl Model {
    /// Arranges `trace` into lanes. `progress` is called with the fraction done (0..=1).
    pub fn build(name: impl Into<String>, trace: Arc<Trace>, mut progress: impl FnMut(f32)) -> Model {
        let mut lane_of_task: HashMap<TaskId, usize> = HashMap::new();
        let mut tasks: Vec<TaskId> = trace.symbols.tasks().map(|t| t.id).collect();
        for e in &trace.events {
            if let std::collections::hash_map::Entry::Vacant(v) = lane_of_task.entry(e.task) {
                v.insert(0);
                tasks.push(e.task);
            }
        }
        tasks.sort_unstable();
        tasks.dedup();
        lane_of_task.clear();
        for (i, &t) in tasks.iter().enumerate() {
            lane_of_task.insert(t, i);
        }
        let mut builders: Vec<LaneBuilder> = tasks.iter().map(|_| LaneBuilder::default()).collect();
        let (mut t_min, mut t_max) = (u64::MAX, 0u64);
        let n = trace.events.len();
        let step = (n / 50).max(1);
        // Direct task -> lane lookup for dense ids, the map otherwise.
        let dense: Vec<usize> = if tasks.last().is_some_and(|&t| (t as usize) < 4 * tasks.len() + 64) {
            let mut v = vec![usize::MAX; tasks.last().map_or(0, |&t| t as usize + 1)];
            for (i, &t) in tasks.iter().enumerate() {
                v[t as usize] = i;
            }
            v
        } else {
            Vec::new()
        };
        for (idx, e) in trace.events.iter().enumerate() {
            if idx % step == 0 {
                progress(idx as f32 / n as f32);
            }
            let lane = match dense.get(e.task as usize) {
                Some(&l) if l != usize::MAX => l,
                _ => lane_of_task[&e.task],
            };
            let ev = idx as u32;
            let ts = e.ts;
            t_min = t_min.min(ts);
            t_max = t_max.max(ts);
            if let EventKind::TaskSpawn { child } = e.kind {
                if let Some(&l) = lane_of_task.get(&child) {
                    builders[l].spawned_by.get_or_insert(idx as EventRef);
                }
            }
            let b = &mut builders[lane];
            b.items.push((ts, ev, Category::of(&e.kind)));
            match e.kind {
                EventKind::TaskEnd => b.ended = true,
                EventKind::LockRequest { lock } => b.lock_request = Some((lock, ts, ev)),
                EventKind::MutexLock { mutex: lock, .. }
                | EventKind::RwReadLock { lock, .. }
                | EventKind::RwWriteLock { lock, .. } => {
                    if let Some((l, start, first)) = b.lock_request {
                        if l == lock {
                            b.waits.push(start, ts, WaitKind::Lock as u32, first);
                            b.lock_request = None;
                        }
                    }
                }
                EventKind::ChanSendBegin { chan, seq } => b.send = Some((chan, seq, ts, ev)),
                EventKind::ChanSendEnd { chan, seq } => {
                    if let Some((c, s, start, first)) = b.send {
                        if c == chan && s == seq {
                            b.waits.push(start, ts, WaitKind::Send as u32, first);
                            b.send = None;
                        }
                    }
                }
                EventKind::CondvarWaitBegin { condvar, .. } => b.condvar = Some((condvar, ts, ev)),
                EventKind::CondvarWaitEnd { condvar, .. } => {
                    if let Some((c, start, first)) = b.condvar {
                        if c == condvar {
                            b.waits.push(start, ts, WaitKind::Condvar as u32, first);
                            b.condvar = None;
                        }
                    }
                }
                EventKind::BarrierArrive { barrier, .. } => b.barrier = Some((barrier, ts, ev)),
                EventKind::BarrierLeave { barrier, .. } => {
                    if let Some((c, start, first)) = b.barrier {
                        if c == barrier {
                            b.waits.push(start, ts, WaitKind::Barrier as u32, first);
                            b.barrier = None;
                        }
                    }
                }
                EventKind::SpanEnter { name, span } => b.span_stack.push((span, name, ts, ev)),
                EventKind::SpanExit { span } => {
                    if let Some(pos) = b.span_stack.iter().rposition(|s| s.0 == span) {
                        // Spans exited out of order close everything above them too.
                        for depth in (pos..b.span_stack.len()).rev() {
                            b.close_span(depth, ts);
                        }
                        b.span_stack.truncate(pos);
                    }
                }
                _ => {}
            }
        }
        if n == 0 {
            t_min = 0;
        }
        let lanes = builders
            .into_iter()
            .zip(&tasks)
            .map(|(mut b, &task)| {
                let end = b.items.iter().map(|i| i.0).max().unwrap_or(t_min);
                let start = b.items.iter().map(|i| i.0).min().unwrap_or(t_min);
                // Waits and spans still open when the trace ends last until the lane's end.
                if let Some((_, s, f)) = b.lock_request {
                    b.waits.push(s, end, WaitKind::Lock as u32, f);
                }
                if let Some((_, _, s, f)) = b.send {
                    b.waits.push(s, end, WaitKind::Send as u32, f);
                }
                if let Some((_, s, f)) = b.condvar {
                    b.waits.push(s, end, WaitKind::Condvar as u32, f);
                }
                if let Some((_, s, f)) = b.barrier {
                    b.waits.push(s, end, WaitKind::Barrier as u32, f);
                }
                for depth in (0..b.span_stack.len()).rev() {
                    b.close_span(depth, end);
                }
                b.waits.normalize();
                for s in &mut b.spans {
                    s.normalize();
                }
                let label = match trace.symbols.task(task).and_then(|t| t.name.as_deref()) {
                    Some(name) => format!("{name} (T{task})"),
                    None => format!("T{task}"),
                };
                Lane {
                    task,
                    label,
                    start,
                    end,
                    ended: b.ended,
                    spawned_by: b.spawned_by,
                    events: EventIndex::build(b.items),
                    waits: b.waits,
                    spans: b.spans,
                }
            })
            .collect();
        progress(1.0);
        Model {
            name: name.into(),
            trace,
            lanes,
            lane_of_task,
            t_min,
            t_max,
            analysis: None,
        }
    }

    /// The lane of a task.
    pub fn lane_of(&self, task: TaskId) -> Option<usize> {
        self.lane_of_task.get(&task).copied()
    }

    /// Lane and timestamp of an event, if it exists.
    pub fn event_pos(&self, ev: EventRef) -> Option<(usize, u64)> {
        let e = self.trace.events.get(usize::try_from(ev).ok()?)?;
        Some((self.lane_of(e.task)?, e.ts))
    }

    /// The time range covering `events` (empty input: `None`).
    pub fn time_span(&self, events: &[EventRef]) -> Option<(u64, u64)> {
        let ts = events.iter().filter_map(|&e| self.event_pos(e)).map(|p| p.1);
        let (lo, hi) = ts.fold((u64::MAX, 0), |(lo, hi), t| (lo.min(t), hi.max(t)));
        (lo <= hi).then_some((lo, hi))
    }

    /// A one-line description of an event: `kind object @ location`.
    pub fn describe(&self, ev: EventRef) -> String {
        let Some(e) = usize::try_from(ev).ok().and_then(|i| self.trace.events.get(i)) else {
            return format!("event #{ev} (not in the trace)");
        };
        let sym = &self.trace.symbols;
        let mut s = e.kind.name().to_owned();
        if let Some(obj) = e.kind.object() {
            s.push(' ');
            s.push_str(&sym.object_name(obj));
        }
        match e.kind {
            EventKind::TaskSpawn { child } | EventKind::TaskJoin { child } => {
                s.push(' ');
                s.push_str(&sym.task_name(child));
            }
            EventKind::SpanEnter { name, .. } => {
                s.push(' ');
                s.push_str(sym.string(name).unwrap_or("?"));
            }
            EventKind::UserEvent { message } => {
                s.push_str(": ");
                s.push_str(sym.string(message).unwrap_or("?"));
            }
            _ => {}
        }
        if e.loc.is_some() {
            s.push_str(" @ ");
            s.push_str(&sym.location_string(e.loc));
        }
        s
    }

    /// The sequence number (or version) an event carries, if any.
    pub fn sequence(kind: &EventKind) -> Option<u64> {
        use EventKind::*;
        match *kind {
            MutexLock { seq, .. }
            | MutexUnlock { seq, .. }
            | RwReadLock { seq, .. }
            | RwReadUnlock { seq, .. }
            | RwWriteLock { seq, .. }
            | RwWriteUnlock { seq, .. }
            | ChanSendBegin { seq, .. }
            | ChanSendEnd { seq, .. }
            | ChanClose { seq, .. }
            | WaitGroupDone { seq, .. }
            | WaitGroupWait { seq, .. }
            | BarrierArrive { seq, .. }
            | BarrierLeave { seq, .. } => Some(seq),
            ChanRecv {
                result: hb_format::RecvResult::Value { seq },
                ..
            } => Some(seq),
            AtomicLoad { version, .. } | AtomicStore { version, .. } | AtomicRmw { version, .. } => {
                Some(version)
            }
            _ => None,
        }
    }

    /// Searches object/variable names and source locations for `query` (case-insensitive
    /// substring). Each hit lists its events in time order, at most `max_events` of them.
    pub fn search(&self, query: &str, max_events: usize) -> Vec<SearchHit> {
        let q = query.trim().to_lowercase();
        if q.is_empty() {
            return Vec::new();
        }
        let sym = &self.trace.symbols;
        let mut objects: HashMap<ObjectId, usize> = HashMap::new();
        let mut hits: Vec<SearchHit> = Vec::new();
        let mut obj_list: Vec<_> = sym
            .objects()
            .filter(|o| sym.object_name(o.id).to_lowercase().contains(&q))
            .collect();
        obj_list.sort_by_key(|o| o.id);
        for o in obj_list {
            objects.insert(o.id, hits.len());
            hits.push(SearchHit {
                label: format!("{} {}", o.kind.noun(), sym.object_name(o.id)),
                total: 0,
                events: Vec::new(),
            });
        }
        let mut locs: HashMap<u32, usize> = HashMap::new();
        for (i, e) in self.trace.events.iter().enumerate() {
            let mut slot = e.kind.object().and_then(|o| objects.get(&o).copied());
            if slot.is_none() {
                if let Some(l) = e.loc {
                    slot = match locs.get(&l) {
                        Some(&s) => Some(s).filter(|&s| s != usize::MAX),
                        None => {
                            let text = sym.location_string(Some(l));
                            let s = if text.to_lowercase().contains(&q) {
                                hits.push(SearchHit {
                                    label: format!("at {text}"),
                                    total: 0,
                                    events: Vec::new(),
                                });
                                hits.len() - 1
                            } else {
                                usize::MAX
                            };
                            locs.insert(l, s);
                            Some(s).filter(|&s| s != usize::MAX)
                        }
                    };
                }
            }
            if let Some(s) = slot {
                let h = &mut hits[s];
                h.total += 1;
                if h.events.len() < max_events {
                    h.events.push(i as EventRef);
                }
            }
        }
        for h in &mut hits {
            h.events.sort_by_key(|&e| self.trace.events[e as usize].ts);
        }
        hits.retain(|h| h.total > 0);
        hits
    }
}

/// One result of [`Model::search`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchHit {
    /// What matched ("mutex queue", "at src/main.rs:12").
    pub label: String,
    /// How many events it has in all.
    pub total: usize,
    /// Its first events in time order.
    pub events: Vec<EventRef>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use hb_format::{Def, Event, Header, ObjectKind};

    fn ev(task: TaskId, ts: u64, kind: EventKind) -> Event {
        Event {
            task,
            ts,
            loc: None,
            kind,
        }
    }

    fn sample() -> Arc<Trace> {
        let mut t = Trace::new(Header::new("t"));
        t.define(Def::str(0, "worker"));
        t.define(Def::str(1, "phase"));
        t.define(Def::task(0, None));
        t.define(Def::Task {
            id: 1,
            name: Some(0),
            parent: Some(0),
        });
        t.define(Def::object(7, ObjectKind::Mutex));
        t.events = vec![
            ev(0, 0, EventKind::TaskStart),
            ev(0, 10, EventKind::TaskSpawn { child: 1 }),
            ev(1, 20, EventKind::TaskStart),
            ev(1, 25, EventKind::SpanEnter { name: 1, span: 3 }),
            ev(1, 30, EventKind::LockRequest { lock: 7 }),
            ev(1, 50, EventKind::MutexLock { mutex: 7, seq: 1 }),
            ev(1, 60, EventKind::MutexUnlock { mutex: 7, seq: 1 }),
            ev(1, 70, EventKind::SpanExit { span: 3 }),
            ev(1, 80, EventKind::TaskEnd),
            ev(0, 90, EventKind::TaskJoin { child: 1 }),
            ev(0, 95, EventKind::LockRequest { lock: 7 }),
        ];
        Arc::new(t)
    }

    #[test]
    fn lanes_waits_and_spans() {
        let mut seen = Vec::new();
        let m = Model::build("s", sample(), |f| seen.push(f));
        assert_eq!(seen.last(), Some(&1.0));
        assert_eq!((m.t_min, m.t_max), (0, 95));
        assert_eq!(m.lanes.len(), 2);
        let w = &m.lanes[1];
        assert_eq!(w.label, "worker (T1)");
        assert_eq!((w.start, w.end, w.ended, w.spawned_by), (20, 80, true, Some(1)));
        assert_eq!((w.waits.start.clone(), w.waits.end.clone()), (vec![30], vec![50]));
        assert_eq!(w.waits.tag, vec![WaitKind::Lock as u32]);
        assert_eq!(w.spans.len(), 1);
        assert_eq!(
            (w.spans[0].start[0], w.spans[0].end[0], w.spans[0].tag[0]),
            (25, 70, 1)
        );
        // The main task's unmatched lock request is a wait until its lane ends.
        let main = &m.lanes[0];
        assert!(!main.ended);
        assert_eq!(
            (main.waits.start.clone(), main.waits.end.clone()),
            (vec![95], vec![95])
        );
        assert_eq!(m.event_pos(5), Some((1, 50)));
        assert_eq!(m.time_span(&[2, 9]), Some((20, 90)));
        assert_eq!(m.describe(5), "mutex-lock mutex#7");
    }

    #[test]
    fn edges_are_found_by_both_ends() {
        let a = AnalysisModel::new(
            vec!["spawn".into(), "unlock".into()],
            vec![
                Edge {
                    kind: 1,
                    from: 6,
                    to: 9,
                },
                Edge {
                    kind: 0,
                    from: 1,
                    to: 2,
                },
                Edge {
                    kind: 1,
                    from: 6,
                    to: 3,
                },
            ],
            Vec::new(),
            Vec::new(),
            String::new(),
        );
        let mut out: Vec<_> = a.outgoing(6).map(|e| e.to).collect();
        out.sort();
        assert_eq!(out, vec![3, 9]);
        assert_eq!(a.incoming(2).map(|e| e.from).collect::<Vec<_>>(), vec![1]);
        assert_eq!(a.incoming(6).count(), 0);
        assert_eq!(a.kind_name(1), "unlock");
    }

    #[test]
    fn search_finds_objects_and_locations() {
        let m = Model::build("s", sample(), |_| {});
        let hits = m.search("MUTEX", 10);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].label, "mutex mutex#7");
        assert_eq!(hits[0].total, 4);
        assert_eq!(hits[0].events, vec![4, 5, 6, 10]);
        assert!(m.search("nothing-like-this", 10).is_empty());
        assert!(m.search("  ", 10).is_empty());
    }
}
