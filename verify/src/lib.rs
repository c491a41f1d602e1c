//! Scenarios, golden data and the `slab-verify` CLI support code.

pub mod golden;
pub mod reference;
