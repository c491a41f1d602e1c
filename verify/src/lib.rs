//! Scenarios, the mutation catalogue drivers, loom/shuttle drivers, golden data and the
//! `slab-verify` CLI support code. Depends on `slab-model`; the model knows nothing of it.

pub mod fuzz_targets;
pub mod golden;
pub mod html;
#[cfg(feature = "loom")]
pub mod loom_driver;
pub mod matrix;
pub mod reference;
pub mod scenario;
pub mod shuttle_driver;
