//! A racing pair separated by 1,000,000 other accesses and synchronizations, which a live
//! detector with bounded shadow history would miss, is found exactly.

mod common;

use common::ev;
use hb_analyzer::{analyze, Options};
use hb_format::{Def, EventKind, Header, ObjectId, ObjectKind, Trace};

/// Defines `defs` in order.
fn define_all(t: &mut Trace, defs: impl IntoIterator<Item = Def>) {
    for def in defs {
        t.define(def);
    }
}

/// What both tests define first: T0 and its child T1, the variable `x` and the unbounded
/// channel `chan`.
fn start(x: ObjectId, chan: ObjectId) -> Trace {
    let mut t = Trace::new(Header::new("far"));
    define_all(
        &mut t,
        [
            Def::task(0, None),
            Def::task(1, Some(0)),
            Def::object(x, ObjectKind::Variable),
            Def::object(chan, ObjectKind::Channel { capacity: None }),
        ],
    );
    t
}

/// `n` variables with ids from 100.
fn variables(n: u64) -> impl Iterator<Item = Def> {
    (0..n).map(|v| Def::object(100 + v, ObjectKind::Variable))
}

#[test]
fn race_a_million_events_apart() {
    let x = 1;
    let chan = 2;
    let m = 3;
    let mut t = start(x, chan);
    t.define(Def::object(m, ObjectKind::Mutex));
    define_all(&mut t, variables(1000));
    define_all(&mut t, (1..=5).map(|l| Def::loc(l, 0, l)));
    ev(&mut t, 0, 5, EventKind::TaskSpawn { child: 1 });
    // The first write, by T0.
    ev(&mut t, 0, 1, EventKind::VarWrite { var: x });
    // 1,000,000 events: both tasks touch 1,000 other variables and synchronize, but only
    // from T1 to T0 (T1 sends, T0 receives) or each on a lock of its own, so T0's write
    // never reaches T1.
    let m0 = 4;
    t.define(Def::object(m0, ObjectKind::Mutex));
    for i in 0..125_000u64 {
        let seq = i + 1;
        ev(&mut t, 1, 3, EventKind::VarWrite { var: 100 + i % 1000 });
        ev(&mut t, 1, 3, EventKind::MutexLock { mutex: m, seq: i + 1 });
        ev(&mut t, 1, 3, EventKind::MutexUnlock { mutex: m, seq: i + 1 });
        ev(&mut t, 1, 3, EventKind::ChanSendBegin { chan, seq });
        ev(
            &mut t,
            0,
            4,
            EventKind::ChanRecv {
                chan,
                result: hb_format::RecvResult::Value { seq },
            },
        );
        ev(
            &mut t,
            0,
            4,
            EventKind::MutexLock {
                mutex: m0,
                seq: i + 1,
            },
        );
        ev(
            &mut t,
            0,
            4,
            EventKind::VarWrite {
                var: 100 + (i + 500) % 1000,
            },
        );
        ev(
            &mut t,
            0,
            4,
            EventKind::MutexUnlock {
                mutex: m0,
                seq: i + 1,
            },
        );
    }
    // The second write, by T1.
    ev(&mut t, 1, 2, EventKind::VarWrite { var: x });
    let n = t.events.len();
    assert!(n > 1_000_000);
    let a = analyze(&t, &Options::default());
    // The other variables are written by both tasks without order too (T1 → T0 only).
    assert!(!a.races.is_empty());
    let on_x: Vec<_> = a.races.iter().filter(|r| r.var == x).collect();
    assert!(
        a.diagnostics.is_empty(),
        "{:?}",
        &a.diagnostics[..a.diagnostics.len().min(3)]
    );
    assert_eq!(on_x.len(), 1, "{on_x:?}");
    assert_eq!((on_x[0].first.loc, on_x[0].second.loc), (Some(1), Some(2)));
    assert_eq!(on_x[0].first.event, 1);
    assert_eq!(on_x[0].second.event, n as u64 - 1);
}

/// The explanation of an access made long before its race still names the synchronizations
/// the task had made before it, after hundreds of thousands of later synchronizations (the
/// engine keeps those lists in an arena it compacts as it goes).
#[test]
fn an_old_access_keeps_its_explanation() {
    let (x, chan) = (1, 2);
    let mut t = start(x, chan);
    define_all(&mut t, variables(100));
    ev(&mut t, 0, 1, EventKind::TaskSpawn { child: 1 });
    // T1's write, right after the spawn edge: its explanation names the spawn.
    ev(&mut t, 1, 2, EventKind::VarWrite { var: x });
    // T0 → T1 only: every receive gives T1 a new list of last synchronizations, and its
    // next access freezes it, so the early list must survive many compactions.
    for seq in 1..=200_000u64 {
        ev(&mut t, 0, 3, EventKind::ChanSendBegin { chan, seq });
        ev(
            &mut t,
            1,
            4,
            EventKind::ChanRecv {
                chan,
                result: hb_format::RecvResult::Value { seq },
            },
        );
        ev(&mut t, 1, 5, EventKind::VarRead { var: 100 + seq % 100 });
    }
    // T0 never heard from T1: its write races with T1's first one.
    ev(&mut t, 0, 6, EventKind::VarWrite { var: x });
    let a = analyze(&t, &Options::default());
    let on_x: Vec<_> = a.races.iter().filter(|r| r.var == x).collect();
    assert_eq!(on_x.len(), 1, "{on_x:?}");
    let first = &on_x[0].explanation.first.last_syncs;
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].kind, hb_analyzer::EdgeKind::Spawn);
    assert_eq!(first[0].partner.map(|p| p.event), Some(0));
    assert_eq!(on_x[0].first.event, 1);
    assert!(on_x[0].explanation.second.last_syncs.is_empty());
}
