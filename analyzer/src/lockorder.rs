//! Lock-order graph and cycle search: potential deadlocks from a run that did not deadlock.
//!
//! # Collection (during the happens-before pass)
//! Every acquisition made while holding other locks adds, for each held lock `h`, an
//! occurrence of the edge `h → acquired`. Occurrences are grouped by
//! (held lock, its acquisition site, requested lock, request site, modes, task, the other
//! locks held). Within a group, consecutive occurrences whose task had learned nothing new
//! through non-lock edges form one *segment*: the task's no-lock clock (happens-before
//! without lock release → acquire edges, kept by the engine as a second clock) minus its own
//! entry, and the range of its own steps. Memory is linear in the number of distinct
//! (group, knowledge) pairs, at most the number of nested acquisitions.
//!
//! # Search
//! Simple cycles of the lock graph up to [`Options::max_cycle_len`] locks are enumerated
//! (each from its smallest lock, Johnson-style restriction), then for each, combinations of
//! groups, one per edge, are tried with the filters: distinct tasks, no common guard lock
//! held by every edge, no lock where both sides are read acquisitions, and pairwise
//! concurrency under the no-lock happens-before (two segments can overlap iff each has an
//! occurrence its partner's task had not seen). The work is bounded (`WORK_LIMIT` group
//! combinations, and the cycle length): hitting a bound sets [`Stats::cycle_bound_hit`].
//! Worst case: the number of simple cycles is exponential in the number of locks, which
//! is why the length and work bounds exist; realistic traces have few nested lock pairs.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use hb_format::{LocId, ObjectId, TaskId};

use crate::engine::Held;
use crate::types::{Diagnostic, LockCycle, LockMode, LockOrderEdge, Options, Site, Stats};
use crate::vc::Vc;

/// Group combinations tried over the whole search before giving up (sets the bound flag).
const WORK_LIMIT: u64 = 20_000_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct GroupKey {
    held: ObjectId,
    held_loc: Option<LocId>,
    requested: ObjectId,
    req_loc: Option<LocId>,
    held_mode: LockMode,
    req_mode: LockMode,
    task: TaskId,
    guards: Vec<ObjectId>,
}

#[derive(Debug)]
struct Segment {
    /// The no-lock clock at the segment's first occurrence (own entry excluded: see `own`).
    knows: Vc,
    /// The task's own step at the last occurrence.
    hi: u64,
    /// Occurrences.
    n: u64,
}

#[derive(Debug)]
struct Group {
    key: GroupKey,
    ix: usize,
    held_at: Site,
    requested_at: Site,
    segments: Vec<Segment>,
}

/// Collects lock-order edges during the happens-before pass.
#[derive(Debug)]
pub(crate) struct LockOrder {
    max_len: usize,
    groups: Vec<Group>,
    index: HashMap<GroupKey, usize>,
    /// The last lock request of each task, used as the request site; one still pending at
    /// the end never got its lock (the run deadlocked or was cut) and still counts as an edge.
    requests: HashMap<TaskId, Pending>,
}

#[derive(Debug)]
struct Pending {
    lock: ObjectId,
    site: Site,
    held: Vec<Held>,
    nl: Vc,
    ix: usize,
}

impl LockOrder {
    pub(crate) fn new(opts: &Options) -> Self {
        LockOrder {
            max_len: opts.max_cycle_len.max(2),
            groups: Vec::new(),
            index: HashMap::new(),
            requests: HashMap::new(),
        }
    }

    /// A lock request event (where a task asked for a lock).
    pub(crate) fn request(
        &mut self,
        task: TaskId,
        lock: ObjectId,
        site: Site,
        held: &[Held],
        nl: &Vc,
        ix: usize,
    ) {
        let p = Pending {
            lock,
            site,
            held: held.to_vec(),
            nl: nl.clone(),
            ix,
        };
        self.requests.insert(task, p);
    }

    /// Whether an acquisition while holding `held` has anything to record: usually not
    /// (nothing held, no request to retire), and the caller, which inlines this, then
    /// skips [`LockOrder::acquire`].
    #[inline]
    pub(crate) fn acquire_matters(&self, held: &[Held]) -> bool {
        !held.is_empty() || !self.requests.is_empty()
    }

    /// An acquisition of `obj` by `task` (engine index `ix`, no-lock clock `nl`) while
    /// holding `held` (see [`LockOrder::acquire_matters`]).
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    pub(crate) fn acquire(
        &mut self,
        task: TaskId,
        held: &[Held],
        obj: ObjectId,
        mode: LockMode,
        site: Site,
        nl: &Vc,
        ix: usize,
    ) {
        let requested_at = if self.requests.is_empty() {
            site
        } else {
            match self.requests.remove(&task) {
                Some(p) if p.lock == obj => p.site,
                _ => site,
            }
        };
        // Nothing held, no edge.
        if held.is_empty() {
            return;
        }
        self.add(task, held, obj, mode, requested_at, nl, ix);
    }

    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        task: TaskId,
        held: &[Held],
        obj: ObjectId,
        mode: LockMode,
        requested_at: Site,
        nl: &Vc,
        ix: usize,
    ) {
        let own = nl.get(ix);
        for h in held {
            if h.obj == obj {
                continue;
            }
            let mut guards: Vec<ObjectId> = held
                .iter()
                .map(|g| g.obj)
                .filter(|&g| g != h.obj && g != obj)
                .collect();
            guards.sort_unstable();
            guards.dedup();
            let key = GroupKey {
                held: h.obj,
                held_loc: h.site.loc,
                requested: obj,
                req_loc: requested_at.loc,
                held_mode: h.mode,
                req_mode: mode,
                task,
                guards,
            };
            let gi = match self.index.get(&key) {
                Some(&g) => g,
                None => {
                    let g = self.groups.len();
                    self.groups.push(Group {
                        key: key.clone(),
                        ix,
                        held_at: h.site,
                        requested_at,
                        segments: Vec::new(),
                    });
                    self.index.insert(key, g);
                    g
                }
            };
            let g = &mut self.groups[gi];
            let same = g
                .segments
                .last()
                .is_some_and(|s| same_knowledge(&s.knows, nl, ix));
            if same {
                let s = g.segments.last_mut().expect("checked");
                s.hi = own;
                s.n += 1;
            } else {
                g.segments.push(Segment {
                    knows: nl.clone(),
                    hi: own,
                    n: 1,
                });
            }
        }
    }

    /// Searches the cycles; requests never granted are reported in `diags` and counted as
    /// edges.
    pub(crate) fn cycles(
        mut self,
        stats: &mut Stats,
        names: &hb_format::Symbols,
        diags: &mut Vec<Diagnostic>,
    ) -> Vec<LockCycle> {
        let mut pending: Vec<(TaskId, Pending)> = self.requests.drain().collect();
        pending.sort_by_key(|(t, _)| *t);
        for (task, p) in pending {
            let held: Vec<String> = p
                .held
                .iter()
                .map(|h| format!("`{}`", names.object_name(h.obj)))
                .collect();
            diags.push(Diagnostic {
                event: Some(p.site.event),
                message: format!(
                    "{} requested `{}`{} and never got it: the recorded run deadlocked or was cut short",
                    names.task_name(task),
                    names.object_name(p.lock),
                    if held.is_empty() {
                        String::new()
                    } else {
                        format!(" while holding {}", held.join(", "))
                    },
                ),
            });
            // Try-locks and exclusive requests alike: a request is taken as exclusive.
            self.add(task, &p.held, p.lock, LockMode::Exclusive, p.site, &p.nl, p.ix);
        }
        let mut out_edges: BTreeMap<ObjectId, BTreeMap<ObjectId, Vec<usize>>> = BTreeMap::new();
        for (i, g) in self.groups.iter().enumerate() {
            out_edges
                .entry(g.key.held)
                .or_default()
                .entry(g.key.requested)
                .or_default()
                .push(i);
        }
        let mut search = Search {
            lo: &self,
            out_edges: &out_edges,
            work: 0,
            bound_hit: false,
            found: BTreeMap::new(),
        };
        let locks: Vec<ObjectId> = out_edges.keys().copied().collect();
        for &start in &locks {
            let mut path = vec![start];
            search.dfs(start, &mut path);
        }
        stats.cycle_bound_hit |= search.bound_hit;
        let mut cycles: Vec<LockCycle> = search
            .found
            .into_values()
            .map(|f| LockCycle {
                edges: f.edges,
                count: f.used.iter().map(|u| u.values().sum::<u64>()).min().unwrap_or(0),
            })
            .collect();
        cycles.sort_by_key(cycle_key);
        cycles
    }
}

fn cycle_key(c: &LockCycle) -> Vec<(ObjectId, Option<LocId>, Option<LocId>)> {
    c.edges
        .iter()
        .map(|e| (e.held, e.held_at.loc, e.requested_at.loc))
        .collect()
}

/// Whether `a` and `b` agree on every entry but `own`.
fn same_knowledge(a: &Vc, b: &Vc, own: usize) -> bool {
    let n = a.0.len().max(b.0.len());
    (0..n).all(|i| i == own || a.get(i) == b.get(i))
}

/// Identity of a distinct cycle: its locks and sites, in cycle order.
type CycleId = Vec<(ObjectId, Option<LocId>, ObjectId, Option<LocId>)>;

#[derive(Debug)]
struct Found {
    edges: Vec<LockOrderEdge>,
    /// Per edge position: the occurrences (group, segment) → n that took part in a
    /// feasible combination.
    used: Vec<BTreeMap<(usize, usize), u64>>,
}

struct Search<'a> {
    lo: &'a LockOrder,
    out_edges: &'a BTreeMap<ObjectId, BTreeMap<ObjectId, Vec<usize>>>,
    work: u64,
    bound_hit: bool,
    found: BTreeMap<CycleId, Found>,
}

impl Search<'_> {
    /// Extends `path` (locks, starting at its smallest) to every simple cycle.
    fn dfs(&mut self, at: ObjectId, path: &mut Vec<ObjectId>) {
        let start = path[0];
        let Some(next) = self.out_edges.get(&at) else {
            return;
        };
        for &n in next.keys() {
            if n == start && path.len() >= 2 {
                self.combine(path);
            } else if n > start && !path.contains(&n) {
                if path.len() >= self.lo.max_len {
                    // A longer cycle might close through here.
                    self.bound_hit = true;
                    continue;
                }
                path.push(n);
                self.dfs(n, path);
                path.pop();
            }
        }
    }

    /// Tries group combinations along the lock cycle `path`.
    fn combine(&mut self, path: &[ObjectId]) {
        let k = path.len();
        let options: Vec<&Vec<usize>> = (0..k)
            .map(|i| &self.out_edges[&path[i]][&path[(i + 1) % k]])
            .collect();
        let mut chosen: Vec<(usize, usize)> = Vec::with_capacity(k);
        self.pick(&options, &mut chosen);
    }

    fn pick(&mut self, options: &[&Vec<usize>], chosen: &mut Vec<(usize, usize)>) {
        if self.work >= WORK_LIMIT {
            self.bound_hit = true;
            return;
        }
        let pos = chosen.len();
        if pos == options.len() {
            self.feasible(chosen);
            return;
        }
        for &g in options[pos] {
            let grp = &self.lo.groups[g];
            // Distinct tasks.
            if chosen
                .iter()
                .any(|&(c, _)| self.lo.groups[c].key.task == grp.key.task)
            {
                continue;
            }
            // Readers do not block readers: the lock this edge holds was requested by the
            // previous edge.
            if pos > 0 {
                let prev = &self.lo.groups[chosen[pos - 1].0];
                if prev.key.req_mode == LockMode::Shared && grp.key.held_mode == LockMode::Shared {
                    continue;
                }
            }
            for (si, seg) in grp.segments.iter().enumerate() {
                self.work += 1;
                let ok = chosen.iter().all(|&(c, cs)| {
                    let other = &self.lo.groups[c];
                    let oseg = &other.segments[cs];
                    concurrent(seg, grp.ix, oseg, other.ix)
                });
                if ok {
                    chosen.push((g, si));
                    self.pick(options, chosen);
                    chosen.pop();
                }
            }
        }
    }

    fn feasible(&mut self, chosen: &[(usize, usize)]) {
        let groups: Vec<&Group> = chosen.iter().map(|&(g, _)| &self.lo.groups[g]).collect();
        let k = groups.len();
        // Closing read-read check: the first edge holds what the last requested.
        if groups[k - 1].key.req_mode == LockMode::Shared && groups[0].key.held_mode == LockMode::Shared {
            return;
        }
        // A gate lock held by every edge makes the cycle impossible.
        let mut common: BTreeSet<ObjectId> = groups[0].key.guards.iter().copied().collect();
        for g in &groups[1..] {
            common.retain(|l| g.key.guards.contains(l));
        }
        if !common.is_empty() {
            return;
        }
        let id: CycleId = groups
            .iter()
            .map(|g| (g.key.held, g.key.held_loc, g.key.requested, g.key.req_loc))
            .collect();
        let entry = self.found.entry(id).or_insert_with(|| Found {
            edges: groups
                .iter()
                .map(|g| LockOrderEdge {
                    task: g.key.task,
                    held: g.key.held,
                    held_mode: g.key.held_mode,
                    held_at: g.held_at,
                    requested: g.key.requested,
                    requested_mode: g.key.req_mode,
                    requested_at: g.requested_at,
                    also_held: g.key.guards.clone(),
                })
                .collect(),
            used: vec![BTreeMap::new(); k],
        });
        for (pos, &(g, s)) in chosen.iter().enumerate() {
            entry.used[pos].insert((g, s), self.lo.groups[g].segments[s].n);
        }
    }
}

/// Whether some occurrence of `a` (task index `ta`) and some occurrence of `b` (task `tb`)
/// are unordered by the no-lock happens-before: the last occurrence of each was not seen by
/// the other's task.
fn concurrent(a: &Segment, ta: usize, b: &Segment, tb: usize) -> bool {
    a.hi > b.knows.get(ta) && b.hi > a.knows.get(tb)
}
