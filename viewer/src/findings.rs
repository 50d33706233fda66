//! Runs `hb-analyzer` and turns its [`Analysis`] into the viewer's [`AnalysisModel`]: edges
//! indexed by both ends, races and lock-order cycles as titled, explained [`Finding`]s.
//! Every happens-before fact shown comes from the analyzer; nothing is recomputed here.

use hb_analyzer::{Analysis, EdgeKind, LockCycle, LockMode, Options, Race, Site, SyncOp};
use hb_format::{Symbols, TaskId, Trace};

use crate::model::{AnalysisModel, Edge, EdgeKindId, Finding, FindingKind, Link, LinkStyle};
use crate::view::format_duration;

/// Every analyzer edge kind; an [`EdgeKindId`] is an index into this list.
pub const EDGE_KINDS: [EdgeKind; 10] = [
    EdgeKind::Spawn,
    EdgeKind::Join,
    EdgeKind::ChanSend,
    EdgeKind::ChanClose,
    EdgeKind::ChanCapacity,
    EdgeKind::Unlock,
    EdgeKind::Once,
    EdgeKind::WaitGroup,
    EdgeKind::Barrier,
    EdgeKind::Atomic,
];

fn kind_id(kind: EdgeKind) -> EdgeKindId {
    EDGE_KINDS.iter().position(|&k| k == kind).unwrap_or(0) as EdgeKindId
}

/// Analyzes `trace` with edge collection on.
pub fn analyze(trace: &Trace) -> AnalysisModel {
    let opts = Options {
        collect_edges: true,
        ..Options::default()
    };
    let analysis = hb_analyzer::analyze(trace, &opts);
    from_analysis(&analysis, trace)
}

/// Arranges an analysis of `trace` for display.
pub fn from_analysis(a: &Analysis, trace: &Trace) -> AnalysisModel {
    let sym = &trace.symbols;
    let unit = trace.header.clock_unit_ns;
    let edges = a
        .edges
        .iter()
        .map(|e| Edge {
            kind: kind_id(e.kind),
            from: e.from,
            to: e.to,
        })
        .collect();
    let mut findings: Vec<Finding> = a.races.iter().map(|r| race_finding(r, sym, unit)).collect();
    findings.extend(a.cycles.iter().map(|c| cycle_finding(c, sym)));
    let mut diagnostics: Vec<String> = a.lost.iter().map(|l| format!("lost: {l}")).collect();
    diagnostics.extend(a.diagnostics.iter().map(|d| match d.event {
        Some(ev) => format!("event #{ev}: {}", d.message),
        None => d.message.clone(),
    }));
    let s = &a.stats;
    let summary = format!(
        "{} events, {} tasks, {} edges, {} races ({} racing pairs), {} lock-order cycles{}",
        s.events,
        s.tasks,
        s.edges,
        a.races.len(),
        s.race_pairs,
        a.cycles.len(),
        if s.cycle_bound_hit {
            " (cycle search bound hit: longer cycles may exist)"
        } else {
            ""
        }
    );
    AnalysisModel::new(
        EDGE_KINDS.iter().map(|k| k.name().to_owned()).collect(),
        edges,
        findings,
        diagnostics,
        summary,
    )
}

fn task(sym: &Symbols, t: TaskId) -> String {
    match sym.task(t).and_then(|i| i.name.as_deref()) {
        Some(n) => format!("{n} (T{t})"),
        None => format!("T{t}"),
    }
}

fn site(sym: &Symbols, s: &Site, unit: u64) -> String {
    format!(
        "{} at {}, t={}",
        task(sym, s.task),
        sym.location_string(s.loc),
        format_duration(s.ts as f64, unit)
    )
}

fn sync_line(sym: &Symbols, op: &SyncOp, unit: u64) -> String {
    let what = match op.object {
        Some(o) => format!("{} on {}", op.kind.name(), sym.object_name(o)),
        None => op.kind.name().to_owned(),
    };
    match &op.partner {
        Some(p) => format!("  {what}: {} <- {}", site(sym, &op.at, unit), site(sym, p, unit)),
        None => format!("  {what}: {}", site(sym, &op.at, unit)),
    }
}

fn race_finding(r: &Race, sym: &Symbols, unit: u64) -> Finding {
    let var = sym.object_name(r.var);
    let (a, b) = (&r.first, &r.second);
    let times = if r.count > 1 {
        format!(" (×{})", r.count)
    } else {
        String::new()
    };
    let title = format!(
        "race on {var}: {} {} / {} {}{times}",
        a.kind.noun(),
        task(sym, a.task),
        b.kind.noun(),
        task(sym, b.task)
    );
    let at = |x: &hb_analyzer::Access| Site {
        event: x.event,
        task: x.task,
        loc: x.loc,
        ts: x.ts,
    };
    let ex = &r.explanation;
    let mut detail = vec![
        format!("first:  {} by {}", a.kind.noun(), site(sym, &at(a), unit)),
        format!("second: {} by {}", b.kind.noun(), site(sym, &at(b), unit)),
        format!(
            "No happens-before chain orders them: the first access is step {} of {}, but when the \
             second was made, {} had seen {} only up to step {}.",
            ex.first_step,
            task(sym, a.task),
            task(sym, b.task),
            task(sym, a.task),
            ex.second_knew_of_first
        ),
    ];
    let mut links = vec![Link {
        from: a.event,
        to: b.event,
        style: LinkStyle::Missing,
    }];
    for (side, acc) in [(&ex.first, a), (&ex.second, b)] {
        if side.last_syncs.is_empty() {
            detail.push(format!(
                "{} never synchronized with another task before its access.",
                task(sym, acc.task)
            ));
        } else {
            detail.push(format!(
                "{}'s last synchronizations before its access:",
                task(sym, acc.task)
            ));
            for op in &side.last_syncs {
                detail.push(sync_line(sym, op, unit));
                if let Some(p) = &op.partner {
                    links.push(Link {
                        from: p.event,
                        to: op.at.event,
                        style: LinkStyle::Sync,
                    });
                }
            }
        }
    }
    Finding {
        kind: FindingKind::Race,
        title,
        detail,
        events: vec![a.event, b.event],
        labels: vec![a.kind.noun().to_owned(), b.kind.noun().to_owned()],
        links,
    }
}

fn mode(m: LockMode) -> &'static str {
    match m {
        LockMode::Exclusive => "",
        LockMode::Shared => " (shared)",
    }
}

fn cycle_finding(c: &LockCycle, sym: &Symbols) -> Finding {
    let mut names: Vec<String> = c.edges.iter().map(|e| sym.object_name(e.held)).collect();
    if let Some(first) = names.first().cloned() {
        names.push(first);
    }
    let times = if c.count > 1 {
        format!(" (×{})", c.count)
    } else {
        String::new()
    };
    let title = format!("lock-order cycle: {}{times}", names.join(" -> "));
    let mut detail = Vec::new();
    let mut events = Vec::new();
    let mut labels = Vec::new();
    let mut links = Vec::new();
    for (i, e) in c.edges.iter().enumerate() {
        let also = if e.also_held.is_empty() {
            String::new()
        } else {
            let others: Vec<String> = e.also_held.iter().map(|&o| sym.object_name(o)).collect();
            format!(" (also holding {})", others.join(", "))
        };
        detail.push(format!(
            "{} holds {}{} (taken at {}) and acquires {}{} at {}{also}",
            task(sym, e.task),
            sym.object_name(e.held),
            mode(e.held_mode),
            sym.location_string(e.held_at.loc),
            sym.object_name(e.requested),
            mode(e.requested_mode),
            sym.location_string(e.requested_at.loc),
        ));
        events.push(e.held_at.event);
        events.push(e.requested_at.event);
        labels.push(format!("holds {}", sym.object_name(e.held)));
        labels.push(format!("acquires {}", sym.object_name(e.requested)));
        links.push(Link {
            from: e.held_at.event,
            to: e.requested_at.event,
            style: LinkStyle::LockOrder,
        });
        // This edge requests the lock the next edge holds: connect them.
        let next = &c.edges[(i + 1) % c.edges.len()];
        links.push(Link {
            from: e.requested_at.event,
            to: next.held_at.event,
            style: LinkStyle::SameLock,
        });
    }
    detail.push(
        "If these tasks ran these sections at the same time, each could wait for a lock another holds: \
         a potential deadlock."
            .to_owned(),
    );
    Finding {
        kind: FindingKind::Cycle,
        title,
        detail,
        events,
        labels,
        links,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::{demo_trace, ids};
    use hb_analyzer::{Access, AccessKind, Explanation, HbEdge, LockOrderEdge, SideExplanation, Stats};

    fn site_of(trace: &Trace, ev: u64) -> Site {
        let e = &trace.events[ev as usize];
        Site {
            event: ev,
            task: e.task,
            loc: e.loc,
            ts: e.ts,
        }
    }

    fn find(trace: &Trace, pred: impl Fn(&hb_format::Event) -> bool) -> u64 {
        trace.events.iter().position(pred).expect("event in demo") as u64
    }

    #[test]
    fn races_and_cycles_become_explained_findings() {
        use hb_format::EventKind::*;
        let t = demo_trace();
        let w = find(&t, |e| e.kind == VarWrite { var: ids::HITS });
        let r = find(&t, |e| e.kind == VarRead { var: ids::HITS });
        let unlock = find(&t, |e| {
            e.task == 1
                && matches!(
                    e.kind,
                    MutexUnlock {
                        mutex: ids::COUNTER_LOCK,
                        ..
                    }
                )
        });
        let lock = find(&t, |e| {
            e.task == 2
                && matches!(
                    e.kind,
                    MutexLock {
                        mutex: ids::COUNTER_LOCK,
                        ..
                    }
                )
        });
        let acc = |ev: u64, kind| {
            let s = site_of(&t, ev);
            Access {
                event: ev,
                task: s.task,
                kind,
                loc: s.loc,
                ts: s.ts,
            }
        };
        let a_hold = find(&t, |e| {
            e.task == 1
                && matches!(
                    e.kind,
                    MutexLock {
                        mutex: ids::LOCK_B,
                        ..
                    }
                )
        });
        let a_req = find(&t, |e| {
            e.task == 1
                && matches!(
                    e.kind,
                    MutexLock {
                        mutex: ids::LOCK_A,
                        ..
                    }
                )
        });
        let b_hold = find(&t, |e| {
            e.task == 2
                && matches!(
                    e.kind,
                    MutexLock {
                        mutex: ids::LOCK_A,
                        ..
                    }
                )
        });
        let b_req = find(&t, |e| {
            e.task == 2
                && matches!(
                    e.kind,
                    MutexLock {
                        mutex: ids::LOCK_B,
                        ..
                    }
                )
        });
        let edge = |task, held, held_at, requested, requested_at| LockOrderEdge {
            task,
            held,
            held_mode: LockMode::Exclusive,
            held_at: site_of(&t, held_at),
            requested,
            requested_mode: LockMode::Exclusive,
            requested_at: site_of(&t, requested_at),
            also_held: Vec::new(),
        };
        let analysis = Analysis {
            races: vec![Race {
                var: ids::HITS,
                first: acc(w, AccessKind::Write),
                second: acc(r, AccessKind::Read),
                count: 1,
                explanation: Explanation {
                    first: SideExplanation {
                        last_syncs: Vec::new(),
                    },
                    second: SideExplanation {
                        last_syncs: vec![SyncOp {
                            kind: EdgeKind::Unlock,
                            object: Some(ids::COUNTER_LOCK),
                            at: site_of(&t, lock),
                            partner: Some(site_of(&t, unlock)),
                        }],
                    },
                    first_step: 3,
                    second_knew_of_first: 2,
                },
            }],
            cycles: vec![LockCycle {
                edges: vec![
                    edge(2, ids::LOCK_A, b_hold, ids::LOCK_B, b_req),
                    edge(1, ids::LOCK_B, a_hold, ids::LOCK_A, a_req),
                ],
                count: 1,
            }],
            edges: vec![HbEdge {
                kind: EdgeKind::Unlock,
                from: unlock,
                to: lock,
            }],
            stats: Stats {
                events: t.events.len() as u64,
                ..Stats::default()
            },
            ..Analysis::default()
        };
        let m = from_analysis(&analysis, &t);
        assert_eq!(m.findings.len(), 2);
        let race = &m.findings[0];
        assert_eq!(race.kind, FindingKind::Race);
        assert_eq!(
            race.title,
            "race on hits: write worker-1 (T1) / read worker-2 (T2)"
        );
        assert_eq!(race.events, vec![w, r]);
        assert!(race.links.contains(&Link {
            from: w,
            to: r,
            style: LinkStyle::Missing
        }));
        assert!(race.links.contains(&Link {
            from: unlock,
            to: lock,
            style: LinkStyle::Sync
        }));
        assert!(race
            .detail
            .iter()
            .any(|l| l.contains("step 3") && l.contains("up to step 2")));
        assert!(race
            .detail
            .iter()
            .any(|l| l.contains("worker-1 (T1) never synchronized")));
        let cycle = &m.findings[1];
        assert_eq!(cycle.title, "lock-order cycle: lock_a -> lock_b -> lock_a");
        assert_eq!(cycle.events, vec![b_hold, b_req, a_hold, a_req]);
        assert_eq!(
            cycle
                .links
                .iter()
                .filter(|l| l.style == LinkStyle::SameLock)
                .count(),
            2
        );
        assert_eq!(
            m.outgoing(unlock)
                .map(|e| m.kind_name(e.kind))
                .collect::<Vec<_>>(),
            vec!["unlock"]
        );
    }
}
