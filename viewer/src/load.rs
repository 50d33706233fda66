//! Loading on a background thread: read the trace (progress by bytes), arrange it into lanes
//! (progress by events), hand the model over so the timeline shows at once, then run the
//! analyzer and hand its findings over when they are ready.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;
use std::thread;

use hb_format::{FileFormat, Trace};

use crate::model::{AnalysisModel, Model};

/// What the loader is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Reading and decoding the file.
    Reading,
    /// Building lanes and level-of-detail indexes.
    Arranging,
    /// Running the happens-before analysis.
    Analyzing,
    /// Finished (or failed).
    Done,
}

/// Progress shared between the loading thread and the UI.
#[derive(Debug, Default)]
pub struct Progress {
    stage: AtomicU8,
    bytes: AtomicU64,
    total: AtomicU64,
    arranged: AtomicU32,
}

impl Progress {
    /// The current stage.
    pub fn stage(&self) -> Stage {
        match self.stage.load(Ordering::Relaxed) {
            0 => Stage::Reading,
            1 => Stage::Arranging,
            2 => Stage::Analyzing,
            _ => Stage::Done,
        }
    }

    fn set_stage(&self, s: Stage) {
        self.stage.store(s as u8, Ordering::Relaxed);
    }

    /// Fraction of the current stage done, where it is known (reading and arranging).
    pub fn fraction(&self) -> Option<f32> {
        match self.stage() {
            Stage::Reading => {
                let total = self.total.load(Ordering::Relaxed);
                (total > 0).then(|| self.bytes.load(Ordering::Relaxed) as f32 / total as f32)
            }
            Stage::Arranging => Some(f32::from_bits(self.arranged.load(Ordering::Relaxed))),
            Stage::Analyzing | Stage::Done => None,
        }
    }

    /// A one-line description for the progress bar.
    pub fn text(&self) -> String {
        match self.stage() {
            Stage::Reading => format!(
                "reading {:.1} of {:.1} MB",
                self.bytes.load(Ordering::Relaxed) as f64 / 1e6,
                self.total.load(Ordering::Relaxed) as f64 / 1e6
            ),
            Stage::Arranging => "building lanes".to_owned(),
            Stage::Analyzing => "analyzing happens-before".to_owned(),
            Stage::Done => "done".to_owned(),
        }
    }
}

/// A message from the loading thread.
#[derive(Debug)]
pub enum LoadMsg {
    /// The trace is read and arranged; the analysis is running.
    Loaded(Box<Model>),
    /// The analysis finished.
    Analyzed(Box<AnalysisModel>),
    /// The trace could not be read (the message names the file and the problem).
    Failed(String),
}

/// A load in progress.
#[derive(Debug)]
pub struct Loader {
    /// The file being loaded.
    pub path: PathBuf,
    /// Its progress.
    pub progress: Arc<Progress>,
    rx: Receiver<LoadMsg>,
}

impl Loader {
    /// Starts loading `path` on a new thread. `wake` is called after each message is sent (the
    /// UI passes a function that requests a repaint).
    pub fn spawn(path: PathBuf, wake: impl Fn() + Send + 'static) -> Loader {
        let progress = Arc::new(Progress::default());
        let (tx, rx) = channel();
        let (p, file) = (progress.clone(), path.clone());
        let spawned = thread::Builder::new()
            .name("hb-view loader".into())
            .spawn(move || {
                let send = |m: LoadMsg| {
                    let _ = tx.send(m);
                    wake();
                };
                let trace = match read_trace(&file, &p) {
                    Ok(t) => Arc::new(t),
                    Err(e) => {
                        p.set_stage(Stage::Done);
                        return send(LoadMsg::Failed(e));
                    }
                };
                p.set_stage(Stage::Arranging);
                let name = file.file_name().map_or_else(
                    || file.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                );
                let model = Model::build(name, trace.clone(), |f| {
                    p.arranged.store(f.to_bits(), Ordering::Relaxed)
                });
                p.set_stage(Stage::Analyzing);
                send(LoadMsg::Loaded(Box::new(model)));
                let analysis = crate::findings::analyze(&trace);
                p.set_stage(Stage::Done);
                send(LoadMsg::Analyzed(Box::new(analysis)));
            });
        if let Err(e) = spawned {
            let (tx, rx2) = channel();
            let _ = tx.send(LoadMsg::Failed(format!("cannot start the loading thread: {e}")));
            return Loader {
                path,
                progress,
                rx: rx2,
            };
        }
        Loader { path, progress, rx }
    }

    /// The next message, if one arrived. `None` also when the thread is gone.
    pub fn poll(&self) -> Option<LoadMsg> {
        self.rx.try_recv().ok()
    }

    /// Waits for the next message (tests and benchmarks).
    pub fn wait(&self) -> Option<LoadMsg> {
        self.rx.recv().ok()
    }
}

/// Counts bytes read into the shared progress.
struct Counting<R> {
    inner: R,
    progress: Arc<Progress>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Reads a trace like [`Trace::open`] does (either format, judged by content; errors name the
/// file), counting bytes into `progress`.
pub fn read_trace(path: &Path, progress: &Arc<Progress>) -> Result<Trace, String> {
    let file = File::open(path).map_err(|e| format!("{}: cannot open: {e}", path.display()))?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    if total == 0 {
        // Let hb-format word the error (empty file, special file...).
        return Trace::open(path).map_err(|e| e.to_string());
    }
    progress.total.store(total, Ordering::Relaxed);
    let mut input = BufReader::with_capacity(
        1 << 16,
        Counting {
            inner: file,
            progress: progress.clone(),
        },
    );
    let prefix = input
        .fill_buf()
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let result = match FileFormat::sniff(prefix) {
        FileFormat::Binary => Trace::read_binary(input),
        FileFormat::StdText => {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            hb_format::std_text::read(input, name.as_deref().unwrap_or("trace"))
        }
    };
    let mut trace = result.map_err(|e| e.with_path(path).to_string())?;
    trace.warnings = trace.warnings.into_iter().map(|w| w.with_path(path)).collect();
    Ok(trace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_a_binary_trace_then_its_analysis() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo.hbt");
        let trace = crate::demo::demo_trace();
        trace.write_binary(File::create(&path).unwrap(), 8).unwrap();
        let loader = Loader::spawn(path.clone(), || {});
        let Some(LoadMsg::Loaded(model)) = loader.wait() else {
            panic!("expected the model first")
        };
        assert_eq!(model.name, "demo.hbt");
        assert_eq!(model.lanes.len(), 3);
        assert_eq!(model.trace.events.len(), trace.events.len());
        assert!(matches!(loader.wait(), Some(LoadMsg::Analyzed(_))));
        assert_eq!(loader.progress.stage(), Stage::Done);
        let size = std::fs::metadata(&path).unwrap().len();
        assert_eq!(loader.progress.bytes.load(Ordering::Relaxed), size);
    }

    #[test]
    fn bad_files_fail_with_a_message_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.hbt");
        let loader = Loader::spawn(missing.clone(), || {});
        match loader.wait() {
            Some(LoadMsg::Failed(m)) => assert!(m.contains("missing.hbt"), "{m}"),
            other => panic!("expected a failure, got {other:?}"),
        }
        let empty = dir.path().join("empty.hbt");
        File::create(&empty).unwrap();
        match Loader::spawn(empty, || {}).wait() {
            Some(LoadMsg::Failed(m)) => assert!(m.contains("empty.hbt") && m.contains("empty"), "{m}"),
            other => panic!("expected a failure, got {other:?}"),
        }
        let garbage = dir.path().join("garbage.txt");
        std::fs::write(&garbage, "this is not a trace at all\n").unwrap();
        match Loader::spawn(garbage, || {}).wait() {
            Some(LoadMsg::Failed(m)) => assert!(m.contains("garbage.txt"), "{m}"),
            other => panic!("expected a failure, got {other:?}"),
        }
    }
}
