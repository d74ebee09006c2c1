//! Planning at cluster scale: search modes, P:D splits and tensor parallelism on the modeled
//! clock, rank them by per-GPU goodput, and export the choice as launch settings.
pub mod candidates;
pub mod deployment;
pub mod export;
pub mod frontier;
pub mod search;
pub mod spec;

pub use search::{plan, spawn_plan, Evaluated, PlanReport, RateSample};
pub use spec::PlanSpec;

#[cfg(test)]
mod tests;
