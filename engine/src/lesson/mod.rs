//! Guided lessons: files in `lessons/` that walk a learner through one published finding, step
//! by step, on the workbench's own runs. Each step patches the experiment, runs something,
//! points at a chart, may ask a question and may check a claim on the learner's numbers.
//!
//! - [`format`]: the file format, loading and validation (problems name file, line, field).
//! - [`patch`]: partial experiments applied on top of the current one.
//! - [`expr`], [`eval`], [`functions`]: the check language, its evaluation over [`Results`]
//!   and the functions a check may call.
//! - [`results`]: what checks read, filled from bench, sweep and interference outputs.
//! - [`embedded`]: the shipped lessons, compiled in.
//! - [`play`]: playing lessons on a seeded modeled run; `check_all` for the CLI and tests.
//! - `locate`: field paths and positions in RON text (for the problems' lines and columns).
pub mod embedded;
pub mod eval;
pub mod expr;
pub mod format;
pub mod functions;
mod locate;
pub mod patch;
pub mod play;
pub mod results;
mod token;

pub use embedded::{embedded, embedded_names};
pub use eval::{Check, CheckOutcome};
pub use expr::ExprError;
pub use format::{
    load_dir, load_file, parse, Action, Chart, Choice, Highlight, Lesson, LessonFile, Question,
    Step, View,
};
pub use locate::Pos;
pub use patch::ExperimentPatch;
pub use play::{
    base_experiment, check_all, default_dir, interference_config, play, run_action,
    with_long_prompt,
};
pub use results::{Maxima, ModeResult, Results};

use std::fmt;
use std::path::{Path, PathBuf};

/// Something wrong with a lesson: where (file, 1-based line and column, field path such as
/// `steps[2].check`) and what.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    /// Empty when the problem is about the whole file.
    pub field: String,
    pub message: String,
}

impl Problem {
    pub fn new(file: &Path, pos: Pos, field: &str, message: impl Into<String>) -> Problem {
        Problem {
            file: file.to_path_buf(),
            line: pos.line,
            column: pos.column,
            field: field.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file.display(), self.line, self.column)?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        write!(f, "{}", self.message)
    }
}
