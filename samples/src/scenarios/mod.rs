//! The scenarios, grouped by the mechanism they exercise. Each module lists its scenarios
//! in a `SCENARIOS` table next to the code, with the expected findings.

use crate::Scenario;

mod atomics;
mod channels;
mod counters;
mod init;
mod lock_order;
mod publication;
mod rwlock;
mod waitgroup;

/// Every module's table.
pub(crate) const GROUPS: &[&[Scenario]] = &[
    publication::SCENARIOS,
    counters::SCENARIOS,
    waitgroup::SCENARIOS,
    init::SCENARIOS,
    atomics::SCENARIOS,
    channels::SCENARIOS,
    rwlock::SCENARIOS,
    lock_order::SCENARIOS,
];
