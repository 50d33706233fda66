//! A tiny text language to build traces concisely, for tests and examples.
//!
//! One event per line, `TASK: OP ARGS [@LINE]`, in file order (each task's lines are its
//! program order). Timestamps are the line's index. `@N` gives the event the location
//! `t.rs:N`. `#` starts a comment. Tasks are `T<n>` (task id n); objects are names,
//! defined on first use with the kind their operation implies, or declared first:
//!
//! ```text
//! chan c cap=1        # or cap=0 (rendezvous) / cap=none (unbounded, the default)
//! T0: spawn T1        # T1's definition gets parent T0
//! T0: w x @10         # write of variable x at t.rs:10 (r x: read)
//! T0: lock m 1        # mutex acquisition 1; unlock m 1 (unlock m 0: not held)
//! T0: rlock l 1       # rwlock read acquisition; runlock, wlock, wunlock
//! T0: send c 1        # ChanSendBegin 1 then ChanSendEnd 1; sendb / sende alone
//! T1: recv c 1        # receive of message 1; `recv c closed 2`: closed after 2 closes
//! T0: close c 1
//! T0: once-begin o    # once-end o, once-done o
//! T0: done w 1 zero   # wait group done 1 (zero: ended the phase); wait w 1
//! T0: arrive b 1 last # barrier; leave b 1
//! T0: store a 1 rel   # atomics: store/load/rmw NAME VERSION ORDER (relaxed, rel, acq, acqrel, seqcst)
//! T0: req m           # lock request
//! T0: join T1         # also: start, end, yield, sleep
//! ```

use std::collections::HashMap;

use hb_format::{Def, Event, EventKind, Header, MemOrder, ObjectId, ObjectKind, RecvResult, TaskId, Trace};

/// Builds a trace from the text; errors name the line.
pub fn parse(text: &str) -> Result<Trace, String> {
    let mut b = Builder {
        trace: Trace::new(Header::new("dsl")),
        objects: HashMap::new(),
        tasks: HashMap::new(),
        locs: HashMap::new(),
    };
    b.trace.define(Def::str(0, "t.rs"));
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        b.line(line)
            .map_err(|e| format!("line {}: {e}: {raw:?}", i + 1))?;
    }
    Ok(b.trace)
}

struct Builder {
    trace: Trace,
    objects: HashMap<String, ObjectId>,
    tasks: HashMap<TaskId, ()>,
    locs: HashMap<u32, ()>,
}

fn task_id(s: &str) -> Result<TaskId, String> {
    s.strip_prefix('T')
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("expected a task like T0, found {s:?}"))
}

fn num(s: Option<&&str>) -> Result<u64, String> {
    let s = s.ok_or("missing number")?;
    s.parse().map_err(|_| format!("expected a number, found {s:?}"))
}

fn order(s: Option<&&str>) -> Result<MemOrder, String> {
    Ok(match s.copied().unwrap_or("seqcst") {
        "relaxed" => MemOrder::Relaxed,
        "rel" | "release" => MemOrder::Release,
        "acq" | "acquire" => MemOrder::Acquire,
        "acqrel" => MemOrder::AcqRel,
        "seqcst" => MemOrder::SeqCst,
        o => return Err(format!("unknown ordering {o:?}")),
    })
}

impl Builder {
    fn task(&mut self, id: TaskId, parent: Option<TaskId>) {
        if self.tasks.insert(id, ()).is_none() {
            self.trace.define(Def::task(id, parent));
        }
    }

    fn object(&mut self, name: &str, kind: ObjectKind) -> ObjectId {
        if let Some(&id) = self.objects.get(name) {
            return id;
        }
        let id = self.objects.len() as ObjectId + 1;
        self.objects.insert(name.to_owned(), id);
        let sid = self.trace.defs.len() as u32 + 1000;
        self.trace.define(Def::str(sid, name));
        self.trace.define(Def::Object {
            id,
            kind,
            name: Some(sid),
            loc: None,
        });
        id
    }

    fn line(&mut self, line: &str) -> Result<(), String> {
        let (line, loc) = match line.rsplit_once('@') {
            Some((l, n)) => (l.trim(), Some(n.trim().parse::<u32>().map_err(|_| "bad @line")?)),
            None => (line, None),
        };
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() == Some(&"chan") {
            let name = words.get(1).ok_or("chan needs a name")?;
            let cap = match words.get(2).and_then(|w| w.strip_prefix("cap=")) {
                None | Some("none") => None,
                Some(n) => Some(n.parse().map_err(|_| "bad capacity")?),
            };
            self.object(name, ObjectKind::Channel { capacity: cap });
            return Ok(());
        }
        let (task, rest) = line.split_once(':').ok_or("expected `T<n>: op ...`")?;
        let task = task_id(task.trim())?;
        self.task(task, None);
        let w: Vec<&str> = rest.split_whitespace().collect();
        let op = *w.first().ok_or("missing operation")?;
        let name = w.get(1).copied().unwrap_or("");
        use EventKind::*;
        let mut kinds = Vec::new();
        let kind = match op {
            "r" => VarRead {
                var: self.object(name, ObjectKind::Variable),
            },
            "w" => VarWrite {
                var: self.object(name, ObjectKind::Variable),
            },
            "spawn" => {
                let child = task_id(name)?;
                self.task(child, Some(task));
                TaskSpawn { child }
            }
            "join" => TaskJoin {
                child: task_id(name)?,
            },
            "start" => TaskStart,
            "end" => TaskEnd,
            "yield" => Yield,
            "sleep" => Sleep { nanos: 1 },
            "req" => LockRequest {
                lock: self.lock_obj(name),
            },
            "lock" => MutexLock {
                mutex: self.object(name, ObjectKind::Mutex),
                seq: num(w.get(2))?,
            },
            "unlock" => MutexUnlock {
                mutex: self.object(name, ObjectKind::Mutex),
                seq: num(w.get(2))?,
            },
            "rlock" | "runlock" | "wlock" | "wunlock" => {
                let lock = self.object(name, ObjectKind::RwLock);
                let seq = num(w.get(2))?;
                match op {
                    "rlock" => RwReadLock { lock, seq },
                    "runlock" => RwReadUnlock { lock, seq },
                    "wlock" => RwWriteLock { lock, seq },
                    _ => RwWriteUnlock { lock, seq },
                }
            }
            "send" | "sendb" | "sende" => {
                let chan = self.object(name, ObjectKind::Channel { capacity: None });
                let seq = num(w.get(2))?;
                match op {
                    "send" => {
                        kinds.push(ChanSendBegin { chan, seq });
                        ChanSendEnd { chan, seq }
                    }
                    "sendb" => ChanSendBegin { chan, seq },
                    _ => ChanSendEnd { chan, seq },
                }
            }
            "recv" => {
                let chan = self.object(name, ObjectKind::Channel { capacity: None });
                let result = if w.get(2) == Some(&"closed") {
                    RecvResult::Closed {
                        closes: num(w.get(3))?,
                    }
                } else {
                    RecvResult::Value { seq: num(w.get(2))? }
                };
                ChanRecv { chan, result }
            }
            "close" => ChanClose {
                chan: self.object(name, ObjectKind::Channel { capacity: None }),
                seq: num(w.get(2))?,
            },
            "once-begin" | "once-end" | "once-done" => {
                let once = self.object(name, ObjectKind::Once);
                match op {
                    "once-begin" => OnceBegin { once },
                    "once-end" => OnceEnd { once },
                    _ => OnceAlreadyDone { once },
                }
            }
            "done" => WaitGroupDone {
                wg: self.object(name, ObjectKind::WaitGroup),
                seq: num(w.get(2))?,
                zero: w.get(3) == Some(&"zero"),
            },
            "wait" => WaitGroupWait {
                wg: self.object(name, ObjectKind::WaitGroup),
                seq: num(w.get(2))?,
            },
            "arrive" => BarrierArrive {
                barrier: self.object(name, ObjectKind::Barrier { parties: 0 }),
                seq: num(w.get(2))?,
                last: w.get(3) == Some(&"last"),
            },
            "leave" => BarrierLeave {
                barrier: self.object(name, ObjectKind::Barrier { parties: 0 }),
                seq: num(w.get(2))?,
            },
            "store" | "load" | "rmw" => {
                let atomic = self.object(name, ObjectKind::Atomic);
                let version = num(w.get(2))?;
                let order = order(w.get(3))?;
                match op {
                    "store" => AtomicStore {
                        atomic,
                        order,
                        version,
                    },
                    "load" => AtomicLoad {
                        atomic,
                        order,
                        version,
                    },
                    _ => AtomicRmw {
                        atomic,
                        order,
                        version,
                    },
                }
            }
            other => return Err(format!("unknown operation {other:?}")),
        };
        if matches!(
            kind,
            VarRead { .. } | VarWrite { .. } | LockRequest { .. } | OnceBegin { .. }
        ) && name.is_empty()
        {
            return Err("missing object name".to_owned());
        }
        kinds.push(kind);
        if let Some(n) = loc {
            if self.locs.insert(n, ()).is_none() {
                self.trace.define(Def::loc(n, 0, n));
            }
        }
        for kind in kinds {
            let ts = self.trace.events.len() as u64;
            self.trace.events.push(Event { task, ts, loc, kind });
        }
        Ok(())
    }

    fn lock_obj(&mut self, name: &str) -> ObjectId {
        match self.objects.get(name) {
            Some(&id) => id,
            None => self.object(name, ObjectKind::Mutex),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_events_with_locations_and_parents() {
        let t = parse("chan c cap=0\nT0: spawn T1\nT1: send c 1 @7\nT0: recv c 1\n").unwrap();
        assert_eq!(t.events.len(), 4);
        assert_eq!(t.symbols.task(1).unwrap().parent, Some(0));
        assert_eq!(t.events[1].loc, Some(7));
        assert!(matches!(
            t.symbols.object(1).unwrap().kind,
            ObjectKind::Channel { capacity: Some(0) }
        ));
        assert!(parse("T0: frobnicate x").unwrap_err().contains("line 1"));
    }
}
