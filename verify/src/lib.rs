//! Scenarios, the mutation catalogue drivers, loom/shuttle drivers, golden data and the
//! `slab-verify` CLI support code. Depends on `slab-model`; the model knows nothing of it.

pub mod diagram;
pub mod drivers;
pub mod golden;
pub mod html;
pub mod matrix;
pub mod reference;
pub mod scenarios;
pub mod svg;
pub mod witness;

/// The old path of [`scenarios`], kept while `matrix.rs` still uses it.
#[doc(hidden)]
pub mod scenario {
    pub use crate::scenarios::*;
}

/// The old path of [`drivers::shuttle`], kept while `matrix.rs` still uses it.
#[doc(hidden)]
pub mod shuttle_driver {
    pub use crate::drivers::shuttle::*;
}

/// The old path of [`drivers::loom`], kept while `matrix.rs` still uses it.
#[doc(hidden)]
#[cfg(feature = "loom")]
pub mod loom_driver {
    pub use crate::drivers::loom::*;
}
