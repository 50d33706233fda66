//! Lock-order graph and cycle search (potential deadlocks). Filled in by issue 5.

use hb_format::{ObjectId, TaskId};

use crate::engine::Held;
use crate::types::{LockCycle, LockMode, Options, Site, Stats};
use crate::vc::Vc;

/// Collects lock-order edges during the happens-before pass.
#[derive(Debug)]
pub(crate) struct LockOrder {}

impl LockOrder {
    pub(crate) fn new(_opts: &Options) -> Self {
        LockOrder {}
    }

    /// A lock request event (where a task asked for a lock).
    pub(crate) fn request(&mut self, _task: TaskId, _lock: ObjectId, _site: Site) {}

    /// An acquisition of `obj` by `task` while holding `held`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn acquire(
        &mut self,
        _task: TaskId,
        _held: &[Held],
        _obj: ObjectId,
        _mode: LockMode,
        _site: Site,
        _nl: &Vc,
        _ix: usize,
    ) {
    }

    /// The cycles found.
    pub(crate) fn cycles(self, _stats: &mut Stats) -> Vec<LockCycle> {
        Vec::new()
    }
}
