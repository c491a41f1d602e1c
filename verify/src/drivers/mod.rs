//! The checkers that run the scenarios and the model: `loom` (exhaustive up to a
//! preemption bound, feature `loom`), [`shuttle`] (random, PCT and DFS campaigns,
//! replayable tokens) and [`fuzz`] (the fuzz target bodies over raw bytes).

pub mod fuzz;
#[cfg(feature = "loom")]
pub mod loom;
#[cfg(feature = "loom")]
pub mod loom_depth;
pub mod shuttle;
