//! Goodput Lab's front ends: the command line (`cli`) and the workbench window (`gui`). Both
//! only hold an `Experiment` and the handles of the runs they started; the engine owns the runs.
pub mod cli;
pub mod gui;
