//! Goodput Lab's front ends: the command line (`cli`) and the workbench window (`gui`). Both
//! only hold an `Experiment` and the handles of the runs they started; the engine owns the runs.
pub mod cli;
pub mod gui;

/// `bench --target`'s client (a remote server's benchmark), for tests and other front ends.
pub mod remote_bench {
    pub use crate::cli::remote::*;
}
