//! `hb-viewer`: the `hb-view` desktop app, which shows an hb trace as one lane per task with
//! the happens-before edges, races and lock-order cycles that `hb-analyzer` finds.
//!
//! The crate is split so that everything but the painting is plain data, tested without a
//! window:
//! - [`model`]: the loaded trace arranged in lanes, with waits, spans, indexed edges and
//!   findings ([`model::Model`]);
//! - [`lod`]: the level-of-detail structures (per-lane sorted timestamps with a pyramid of
//!   kind masks; sorted interval sets);
//! - [`view`]: the visible time range and its zoom/pan arithmetic;
//! - [`frame`]: per-frame preparation (visible marks merged per pixel column) and the one
//!   mesh that draws them;
//! - [`findings`]: the `hb-analyzer` results turned into findings and indexed edges;
//! - [`load`]: reading, arranging and analyzing a trace on a background thread, with progress;
//! - [`demo`]: made-up traces for the demo, tests and benchmarks;
//! - `app` (feature `gui`): the egui application, whose panels return actions that are applied
//!   after drawing.

pub mod demo;
pub mod findings;
pub mod frame;
pub mod load;
pub mod lod;
pub mod model;
pub mod view;

#[cfg(feature = "gui")]
pub mod app;
