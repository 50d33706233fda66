//! Import and export of STD text traces, the format of the RAPID race and deadlock
//! prediction tools.
//!
//! One event per line: `<thread>|<op>|<loc>`, where `<op>` is `r(x)`, `w(x)`, `acq(l)`,
//! `rel(l)`, `req(l)`, `fork(t)`, `join(t)`, `begin` or `end`, and `<loc>` is an integer
//! naming the program location. Names of threads, locks and variables are free text.
//!
//! Import is faithful: the trace's total order gives every lock acquisition its sequence
//! number; a re-entrant `acq` of a lock the thread already holds becomes a
//! [`EventKind::MutexLock`] that repeats the held sequence number (and its `rel` likewise),
//! so nesting depth survives a round trip; locks still held at the end stay held; `req`
//! becomes [`EventKind::LockRequest`]; `begin`/`end` become task start/end. The location
//! integer `n` becomes location id `n` (file = the trace's name, line = `n`), so export
//! writes it back unchanged.

use std::collections::HashMap;
use std::io::{BufRead, Read, Write};

use crate::error::{Error, ErrorKind};
use crate::model::{Def, Event, EventKind, Header, LocId, ObjectId, ObjectKind, StrId, TaskId};
use crate::trace::Trace;

/// How many skipped lines are reported one by one; the rest are counted in one warning.
pub const MAX_LINE_WARNINGS: u64 = 100;

/// Longest line accepted, so that a file that is not text cannot make the importer
/// buffer it whole.
pub const MAX_LINE_LEN: usize = 64 * 1024;

struct Importer {
    trace: Trace,
    strings: HashMap<String, StrId>,
    tasks: HashMap<String, TaskId>,
    objects: HashMap<(String, bool), ObjectId>,
    locs: HashMap<u32, ()>,
    file: StrId,
    lock_seq: HashMap<ObjectId, u64>,
    held: HashMap<(TaskId, ObjectId), (u64, u32)>,
}

impl Importer {
    fn string(&mut self, s: &str) -> StrId {
        if let Some(&id) = self.strings.get(s) {
            return id;
        }
        let id = self.strings.len() as StrId;
        self.strings.insert(s.to_owned(), id);
        self.trace.define(Def::str(id, s));
        id
    }

    fn task(&mut self, name: &str, parent: Option<TaskId>) -> TaskId {
        if let Some(&id) = self.tasks.get(name) {
            return id;
        }
        let id = self.tasks.len() as TaskId;
        self.tasks.insert(name.to_owned(), id);
        let name = self.string(name);
        self.trace.define(Def::Task {
            id,
            name: Some(name),
            parent,
        });
        id
    }

    fn object(&mut self, name: &str, lock: bool) -> ObjectId {
        if let Some(&id) = self.objects.get(&(name.to_owned(), lock)) {
            return id;
        }
        let id = self.objects.len() as ObjectId;
        self.objects.insert((name.to_owned(), lock), id);
        let name = self.string(name);
        self.trace.define(Def::Object {
            id,
            kind: if lock {
                ObjectKind::Mutex
            } else {
                ObjectKind::Variable
            },
            name: Some(name),
            loc: None,
        });
        id
    }

    fn loc(&mut self, n: u32) -> LocId {
        if self.locs.insert(n, ()).is_none() {
            self.trace.define(Def::loc(n, self.file, n));
        }
        n
    }

    fn line(&mut self, text: &str, index: u64) -> Result<(), String> {
        let mut fields = text.split('|');
        let (Some(thread), Some(op)) = (fields.next(), fields.next()) else {
            return Err(format!("expected `thread|op|loc`, found {text:?}"));
        };
        let loc = match fields.next() {
            Some(l) => {
                let l = l.trim();
                Some(
                    l.parse::<u32>()
                        .map_err(|_| format!("location {l:?} is not an integer"))?,
                )
            }
            None => None,
        };
        if fields.next().is_some() {
            return Err(format!("expected three `|`-separated fields, found {text:?}"));
        }
        let thread = thread.trim();
        if thread.is_empty() {
            return Err("empty thread name".to_owned());
        }
        let op = op.trim();
        let (name, arg) = match op.find('(') {
            Some(open) => {
                let Some(inner) = op[open + 1..].strip_suffix(')') else {
                    return Err(format!("operation {op:?} has no closing parenthesis"));
                };
                let inner = inner.trim();
                if inner.is_empty() {
                    return Err(format!("operation {op:?} has an empty operand"));
                }
                (&op[..open], Some(inner))
            }
            None => (op, None),
        };
        let name = name.trim();
        // Validate the whole line before touching any table, so a rejected line leaves
        // no trace in the import.
        match (name, arg) {
            ("r" | "w" | "req" | "acq" | "rel" | "fork" | "join", None) => {
                need_operand(name, arg)?;
            }
            ("begin" | "end", Some(_)) => return Err(format!("operation `{name}` takes no operand")),
            ("r" | "w" | "req" | "acq" | "rel" | "fork" | "join" | "begin" | "end", _) => {}
            (other, _) => {
                return Err(format!(
                    "unknown operation `{other}` (expected r, w, acq, rel, req, fork, join, begin or end)"
                ))
            }
        }
        let need = |arg| need_operand(name, arg);
        let task = self.task(thread, None);
        let kind = match name {
            "r" => EventKind::VarRead {
                var: self.object(need(arg)?, false),
            },
            "w" => EventKind::VarWrite {
                var: self.object(need(arg)?, false),
            },
            "req" => EventKind::LockRequest {
                lock: self.object(need(arg)?, true),
            },
            "acq" => {
                let mutex = self.object(need(arg)?, true);
                let seq = match self.held.get_mut(&(task, mutex)) {
                    Some((seq, depth)) => {
                        *depth += 1;
                        *seq
                    }
                    None => {
                        let next = self.lock_seq.entry(mutex).or_insert(0);
                        *next += 1;
                        self.held.insert((task, mutex), (*next, 1));
                        *next
                    }
                };
                EventKind::MutexLock { mutex, seq }
            }
            "rel" => {
                let mutex = self.object(need(arg)?, true);
                let seq = match self.held.get_mut(&(task, mutex)) {
                    Some((seq, depth)) if *depth > 1 => {
                        *depth -= 1;
                        *seq
                    }
                    Some(&mut (seq, _)) => {
                        self.held.remove(&(task, mutex));
                        seq
                    }
                    // A release of a lock the thread does not hold: kept as is, with
                    // sequence number 0, for the analyzer to diagnose.
                    None => 0,
                };
                EventKind::MutexUnlock { mutex, seq }
            }
            "fork" => {
                let child = self.task(need(arg)?, Some(task));
                EventKind::TaskSpawn { child }
            }
            "join" => {
                let child = self.task(need(arg)?, None);
                EventKind::TaskJoin { child }
            }
            "begin" => EventKind::TaskStart,
            _ => EventKind::TaskEnd,
        };
        let loc = loc.map(|n| self.loc(n));
        self.trace.events.push(Event {
            task,
            ts: index,
            loc,
            kind,
        });
        Ok(())
    }
}

fn need_operand<'a>(name: &str, arg: Option<&'a str>) -> Result<&'a str, String> {
    arg.ok_or_else(|| format!("operation `{name}` needs an operand, as in `{name}(x)`"))
}

/// Imports an STD text trace; `name` becomes the program name and the file of every
/// location.
///
/// A malformed first line means the input is not an STD trace: that is an error naming
/// line and cause. A malformed line after valid ones is damage: it is skipped and reported
/// in [`Trace::warnings`] (each naming its 1-based line, the first
/// [`MAX_LINE_WARNINGS`] one by one), and every other line is imported.
pub fn read(mut input: impl BufRead, name: &str) -> Result<Trace, Error> {
    let mut header = Header::new(name);
    header
        .metadata
        .push(("imported-from".to_owned(), "std".to_owned()));
    let mut imp = Importer {
        trace: Trace::new(header),
        strings: HashMap::new(),
        tasks: HashMap::new(),
        objects: HashMap::new(),
        locs: HashMap::new(),
        file: 0,
        lock_seq: HashMap::new(),
        held: HashMap::new(),
    };
    imp.file = imp.string(name);
    let mut buf = Vec::new();
    let mut lineno = 0u64;
    let mut bad_lines = 0u64;
    loop {
        buf.clear();
        lineno += 1;
        let n = Read::take(&mut input, MAX_LINE_LEN as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::at_line(ErrorKind::Io(e), lineno))?;
        if n == 0 {
            break;
        }
        let problem = if buf.len() > MAX_LINE_LEN {
            // Skip the rest of the overlong line.
            let mut rest = Vec::new();
            loop {
                rest.clear();
                let k = Read::take(&mut input, MAX_LINE_LEN as u64)
                    .read_until(b'\n', &mut rest)
                    .map_err(|e| Error::at_line(ErrorKind::Io(e), lineno))?;
                if k == 0 || rest.last() == Some(&b'\n') {
                    break;
                }
            }
            Err(format!(
                "line longer than {MAX_LINE_LEN} bytes (STD lines are short)"
            ))
        } else {
            match std::str::from_utf8(&buf) {
                Err(_) => Err("not UTF-8 text: neither an hb trace nor an STD text trace".to_owned()),
                Ok(text) if text.trim().is_empty() => continue,
                Ok(text) => {
                    let index = imp.trace.events.len() as u64;
                    imp.line(text.trim(), index)
                }
            }
        };
        if let Err(what) = problem {
            let err = Error::at_line(ErrorKind::Std(what), lineno);
            // A first line that is not STD means the file is not an STD trace at all; a
            // bad line later is damage: it is skipped and reported, the rest is kept.
            if imp.trace.events.is_empty() {
                return Err(err);
            }
            bad_lines += 1;
            if bad_lines <= MAX_LINE_WARNINGS {
                imp.trace.warnings.push(err);
            }
        }
    }
    if bad_lines > MAX_LINE_WARNINGS {
        imp.trace.warnings.push(Error::new(ErrorKind::Std(format!(
            "{} more malformed lines skipped",
            bad_lines - MAX_LINE_WARNINGS
        ))));
    }
    Ok(imp.trace)
}

/// Counts of an export.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportStats {
    /// Lines written.
    pub written: u64,
    /// Events with no STD counterpart (channels, atomics, ...), left out.
    pub skipped: u64,
}

/// Exports the STD-expressible events of a trace (tasks, mutexes, variables), in file
/// order. Location ids are written as the location integer.
pub fn write(trace: &Trace, mut out: impl Write) -> std::io::Result<ExportStats> {
    let mut stats = ExportStats::default();
    let sym = &trace.symbols;
    for e in &trace.events {
        let t = sym.task_name(e.task);
        let op = match e.kind {
            EventKind::VarRead { var } => format!("r({})", sym.object_name(var)),
            EventKind::VarWrite { var } => format!("w({})", sym.object_name(var)),
            EventKind::LockRequest { lock } => format!("req({})", sym.object_name(lock)),
            EventKind::MutexLock { mutex, .. } => format!("acq({})", sym.object_name(mutex)),
            EventKind::MutexUnlock { mutex, .. } => format!("rel({})", sym.object_name(mutex)),
            EventKind::TaskSpawn { child } => format!("fork({})", sym.task_name(child)),
            EventKind::TaskJoin { child } => format!("join({})", sym.task_name(child)),
            EventKind::TaskStart => "begin".to_owned(),
            EventKind::TaskEnd => "end".to_owned(),
            _ => {
                stats.skipped += 1;
                continue;
            }
        };
        writeln!(out, "{t}|{op}|{}", e.loc.unwrap_or(0))?;
        stats.written += 1;
    }
    Ok(stats)
}
