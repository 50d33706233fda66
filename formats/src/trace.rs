//! Whole traces in memory, and the symbol tables that resolve ids to names.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::Path;

use crate::codec::FrameEncoder;
use crate::error::{Error, ErrorKind};
use crate::io::{TraceReader, TraceWriter};
use crate::model::{Def, Event, Header, LocId, Location, ObjectId, ObjectKind, StrId, TaskId};

/// What the trace says about a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskInfo {
    /// Its id.
    pub id: TaskId,
    /// Its name, where it has one.
    pub name: Option<String>,
    /// The task that spawned it.
    pub parent: Option<TaskId>,
}

/// What the trace says about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Its id.
    pub id: ObjectId,
    /// What it is.
    pub kind: ObjectKind,
    /// Its name, where it has one.
    pub name: Option<String>,
    /// Where it was created.
    pub loc: Option<LocId>,
}

/// Resolves the ids that events carry, built by applying [`Def`]s in file order.
#[derive(Debug, Clone, Default)]
pub struct Symbols {
    strings: HashMap<StrId, String>,
    locations: HashMap<LocId, Location>,
    tasks: BTreeMap<TaskId, TaskInfo>,
    objects: HashMap<ObjectId, ObjectInfo>,
}

impl Symbols {
    /// Records one definition. A later definition of the same id replaces the earlier one.
    pub fn apply(&mut self, def: &Def) {
        match def {
            Def::Str { id, text } => {
                self.strings.insert(*id, text.clone());
            }
            Def::Loc {
                id,
                file,
                line,
                column,
                function,
            } => {
                let loc = Location {
                    file: self.string_or_placeholder(*file),
                    line: *line,
                    column: *column,
                    function: function.map(|f| self.string_or_placeholder(f)),
                };
                self.locations.insert(*id, loc);
            }
            Def::Task { id, name, parent } => {
                let info = TaskInfo {
                    id: *id,
                    name: name.map(|n| self.string_or_placeholder(n)),
                    parent: *parent,
                };
                self.tasks.insert(*id, info);
            }
            Def::Object { id, kind, name, loc } => {
                let info = ObjectInfo {
                    id: *id,
                    kind: *kind,
                    name: name.map(|n| self.string_or_placeholder(n)),
                    loc: *loc,
                };
                self.objects.insert(*id, info);
            }
        }
    }

    fn string_or_placeholder(&self, id: StrId) -> String {
        self.strings
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("<undefined string {id}>"))
    }

    /// An interned string.
    pub fn string(&self, id: StrId) -> Option<&str> {
        self.strings.get(&id).map(String::as_str)
    }

    /// A source location.
    pub fn location(&self, id: LocId) -> Option<&Location> {
        self.locations.get(&id)
    }

    /// A task's definition.
    pub fn task(&self, id: TaskId) -> Option<&TaskInfo> {
        self.tasks.get(&id)
    }

    /// Every defined task, by id.
    pub fn tasks(&self) -> impl Iterator<Item = &TaskInfo> {
        self.tasks.values()
    }

    /// An object's definition.
    pub fn object(&self, id: ObjectId) -> Option<&ObjectInfo> {
        self.objects.get(&id)
    }

    /// Every defined object, in no particular order.
    pub fn objects(&self) -> impl Iterator<Item = &ObjectInfo> {
        self.objects.values()
    }

    /// A display name for a task: its name, or `T<id>`.
    pub fn task_name(&self, id: TaskId) -> String {
        match self.tasks.get(&id).and_then(|t| t.name.as_deref()) {
            Some(n) => n.to_owned(),
            None => format!("T{id}"),
        }
    }

    /// A display name for an object: its name, or `<kind>#<id>`.
    pub fn object_name(&self, id: ObjectId) -> String {
        match self.objects.get(&id) {
            Some(ObjectInfo { name: Some(n), .. }) => n.clone(),
            Some(o) => format!("{}#{id}", o.kind.noun()),
            None => format!("object#{id}"),
        }
    }

    /// A display string for an optional location: `file:line:col`, or `?`.
    pub fn location_string(&self, id: Option<LocId>) -> String {
        match id.and_then(|l| self.locations.get(&l)) {
            Some(l) => l.to_string(),
            None => "?".to_owned(),
        }
    }
}

/// A whole trace in memory: header, definitions, and every event in file order
/// (each task's events are in its program order; tasks interleave arbitrarily).
#[derive(Debug)]
pub struct Trace {
    /// The header.
    pub header: Header,
    /// Every definition, in file order.
    pub defs: Vec<Def>,
    /// Every event, in file order.
    pub events: Vec<Event>,
    /// The definitions, resolved.
    pub symbols: Symbols,
    /// Damage found while reading; the trace holds everything that survived it.
    pub warnings: Vec<Error>,
}

/// Which format a file is in, judged by its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// hb's binary trace format.
    Binary,
    /// The STD text format of the RAPID tools.
    StdText,
}

impl FileFormat {
    /// Judges the format from the first bytes of a file.
    pub fn sniff(prefix: &[u8]) -> FileFormat {
        let n = prefix.len().min(crate::io::MAGIC.len());
        if !prefix.is_empty() && prefix[..n] == crate::io::MAGIC[..n] {
            FileFormat::Binary
        } else {
            FileFormat::StdText
        }
    }
}

impl Trace {
    /// An empty trace with this header.
    pub fn new(header: Header) -> Self {
        Trace {
            header,
            defs: Vec::new(),
            events: Vec::new(),
            symbols: Symbols::default(),
            warnings: Vec::new(),
        }
    }

    /// Adds a definition.
    pub fn define(&mut self, def: Def) {
        self.symbols.apply(&def);
        self.defs.push(def);
    }

    /// Reads a binary trace. Damage after the header is kept in [`Trace::warnings`];
    /// only an unreadable header is an error.
    pub fn read_binary(input: impl Read) -> Result<Trace, Error> {
        let mut reader = TraceReader::new(input)?;
        let mut trace = Trace::new(reader.header().clone());
        for frame in &mut reader {
            match frame {
                Ok(frame) => {
                    for def in frame.defs {
                        trace.define(def);
                    }
                    trace.events.extend(frame.events);
                }
                Err(e) => trace.warnings.push(e),
            }
        }
        Ok(trace)
    }

    /// Opens a trace file in either format, judged by its content; errors and warnings
    /// name the file.
    pub fn open(path: impl AsRef<Path>) -> Result<Trace, Error> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| Error::from(e).with_path(path))?;
        Trace::read_from(BufReader::with_capacity(1 << 16, file), path)
    }

    /// Reads a trace in either format, judged by its content, from `input`, which was
    /// opened from `path` (errors and warnings name it): a pipe, say, whose first bytes a
    /// caller has looked at with `fill_buf` already.
    pub fn read_from(mut input: impl std::io::BufRead, path: &Path) -> Result<Trace, Error> {
        let with_path = |e: Error| e.with_path(path);
        let prefix = input.fill_buf().map_err(|e| with_path(e.into()))?;
        if prefix.is_empty() {
            return Err(with_path(Error::at(ErrorKind::Empty, 0)));
        }
        let mut trace = match FileFormat::sniff(prefix) {
            FileFormat::Binary => Trace::read_binary(input),
            FileFormat::StdText => {
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                crate::std_text::read(input, name.as_deref().unwrap_or("trace"))
            }
        }
        .map_err(with_path)?;
        trace.warnings = trace.warnings.into_iter().map(with_path).collect();
        Ok(trace)
    }

    /// Writes the trace in the binary format: all definitions first, then the events in
    /// per-task batches of at most `batch` events, in file order.
    pub fn write_binary<W: Write>(&self, out: W, batch: usize) -> std::io::Result<W> {
        let mut w = TraceWriter::new(out, &self.header)?;
        w.write_batch(None, &self.defs, &[])?;
        let mut encoders: BTreeMap<TaskId, FrameEncoder> = BTreeMap::new();
        for e in &self.events {
            let enc = encoders.entry(e.task).or_default();
            enc.push(e.ts, e.loc, &e.kind);
            if enc.len() >= batch.max(1) {
                let words = enc.take();
                w.write_batch(Some(e.task), &[], &words)?;
            }
        }
        for (task, mut enc) in encoders {
            if !enc.is_empty() {
                let words = enc.take();
                w.write_batch(Some(task), &[], &words)?;
            }
        }
        w.into_inner()
    }

    /// The events of one task, in program order.
    pub fn task_events(&self, task: TaskId) -> impl Iterator<Item = &Event> {
        self.events.iter().filter(move |e| e.task == task)
    }
}
