//! The lesson file format (`lessons/NN-name.ron`): a title, a goal, the published finding it
//! reproduces with its citation, and steps. A step says a few sentences, patches the
//! experiment, runs something, points at a chart, may ask a question and may check a claim on
//! the learner's numbers. Reading a file validates it whole (checks parsed, questions
//! answerable, highlights on the view that has the chart); every problem names the file, the
//! line, the column and the field.
use super::eval::Check;
use super::locate::{inside_string, path_at, position_of, Pos};
use super::patch::ExperimentPatch;
use super::Problem;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lesson {
    pub title: String,
    /// What the learner will be able to see or explain afterwards.
    pub goal: String,
    /// The published finding the lesson reproduces.
    pub finding: String,
    pub citation: String,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// A few sentences of plain text (`*emphasis*` and `code` marks at most).
    pub text: String,
    /// Applied on top of the experiment as it stands after the previous steps.
    #[serde(default)]
    pub patch: ExperimentPatch,
    #[serde(default)]
    pub action: Action,
    #[serde(default)]
    pub highlight: Option<Highlight>,
    #[serde(default)]
    pub question: Option<Question>,
    /// A claim on the learner's results in the check language (`lesson::expr`).
    #[serde(default)]
    pub check: Option<String>,
    /// Said when the step runs on a modeled GPU because its effect only shows at GPU scale.
    #[serde(default)]
    pub device_note: Option<String>,
    /// What to try when the check does not hold on the learner's run.
    #[serde(default)]
    pub hint: Option<String>,
}

/// What a step runs once its patch is applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum Action {
    #[default]
    None,
    /// Every mode of the experiment on the same workload.
    Run,
    /// Every mode at every rate of `sweep.rates`.
    Sweep,
    /// The decode-slowdown table (`lesson::interference_config`).
    Interference,
    /// A run whose workload gets one extra prompt of `tokens` tokens halfway through.
    InjectLongPrompt { tokens: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Highlight {
    pub view: View,
    #[serde(default)]
    pub chart: Option<Chart>,
}

/// The workbench's views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum View {
    Compare,
    Curves,
    Interference,
    Inspector,
}

/// The workbench's charts, each on one view (`Chart::view`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Chart {
    /// TTFT against TPOT per request, with the SLO box.
    Scatter,
    /// Goodput, attainment, throughput and percentiles.
    Counters,
    /// Steps per logical GPU; KV transfers between lanes.
    Timeline,
    KvBlocks,
    Cdf,
    Breakdown,
    GoodputVsRate,
    SloScale,
    PerGpu,
    SlowdownCurve,
    Heatmap,
    /// One request's stages (the inspector).
    RequestTimeline,
}

impl Chart {
    pub fn view(self) -> View {
        match self {
            Chart::Scatter | Chart::Counters | Chart::Timeline | Chart::KvBlocks => View::Compare,
            Chart::Cdf
            | Chart::Breakdown
            | Chart::GoodputVsRate
            | Chart::SloScale
            | Chart::PerGpu => View::Curves,
            Chart::SlowdownCurve | Chart::Heatmap => View::Interference,
            Chart::RequestTimeline => View::Inspector,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub prompt: String,
    pub choices: Vec<Choice>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub text: String,
    #[serde(default)]
    pub correct: bool,
    /// Shown once the learner picks this choice: why it is right or wrong.
    pub explanation: String,
}

/// A lesson read from its file, with each step's check parsed and the text kept so later
/// problems (a check that fails on a run) can point into the file.
#[derive(Debug, Clone)]
pub struct LessonFile {
    pub path: PathBuf,
    pub lesson: Lesson,
    /// One entry per step: its parsed check, if it has one.
    pub checks: Vec<Option<Check>>,
    text: String,
}

impl LessonFile {
    /// A problem at `field` (`steps[2].check`), located at the nearest enclosing field the
    /// file spells out (a field left to its default is not in the text).
    pub fn problem(&self, field: &str, message: impl Into<String>) -> Problem {
        let mut path = field;
        let pos = loop {
            if let Some(p) = position_of(&self.text, path) {
                break p;
            }
            match path.rfind(['.', '[']) {
                Some(cut) => path = &path[..cut],
                None => break Pos { line: 1, column: 1 },
            }
        };
        Problem::new(&self.path, pos, field, message)
    }
}

fn options() -> ron::Options {
    // `Some(…)` is optional in lessons, as in the scenarios' `#![enable(implicit_some)]`.
    ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
}

/// Reads and validates a lesson; `file` names it in problems.
pub fn parse(file: &Path, text: &str) -> Result<LessonFile, Vec<Problem>> {
    let lesson: Lesson = options().from_str(text).map_err(|e| {
        let pos = Pos {
            line: e.position.line,
            column: e.position.col,
        };
        let missing = matches!(e.code, ron::Error::MissingStructField { .. });
        let mut field = path_at(text, pos, missing);
        let named = match &e.code {
            ron::Error::NoSuchStructField { found, .. } => Some(found.as_str()),
            ron::Error::MissingStructField { field, .. } => Some(*field),
            _ => None,
        };
        if let Some(n) = named.filter(|n| !field.ends_with(n)) {
            field = if field.is_empty() {
                n.to_string()
            } else {
                format!("{field}.{n}")
            };
        }
        // The patch types mirror the experiment's; name the experiment's in messages.
        let message = e.code.to_string().replace("Patch`", "`");
        vec![Problem::new(file, pos, &field, message)]
    })?;
    let mut f = LessonFile {
        path: file.to_path_buf(),
        checks: Vec::new(),
        lesson,
        text: text.to_string(),
    };
    let mut problems = Vec::new();
    let l = &f.lesson;
    for (name, v) in [
        ("title", &l.title),
        ("goal", &l.goal),
        ("finding", &l.finding),
        ("citation", &l.citation),
    ] {
        if v.trim().is_empty() {
            problems.push(f.problem(name, "must not be empty"));
        }
    }
    if l.steps.is_empty() {
        problems.push(f.problem("steps", "a lesson needs at least one step"));
    }
    let mut checks = Vec::new();
    for (i, s) in l.steps.iter().enumerate() {
        let at = |field: &str| format!("steps[{i}].{field}");
        if s.text.trim().is_empty() {
            problems.push(f.problem(&at("text"), "must not be empty"));
        }
        if let Some(h) = s.highlight.and_then(|h| h.chart.map(|c| (h.view, c))) {
            if h.1.view() != h.0 {
                let msg = format!("{:?} is on the {:?} view, not {:?}", h.1, h.1.view(), h.0);
                problems.push(f.problem(&at("highlight.chart"), msg));
            }
        }
        if let Action::InjectLongPrompt { tokens: 0 } = s.action {
            problems.push(f.problem(&at("action"), "tokens must be at least 1"));
        }
        if let Some(q) = &s.question {
            if q.choices.len() < 2 {
                problems.push(f.problem(&at("question.choices"), "give at least two choices"));
            } else if !q.choices.iter().any(|c| c.correct) {
                problems.push(f.problem(&at("question.choices"), "no choice is marked correct"));
            }
        }
        checks.push(match &s.check {
            None => None,
            Some(text) => match Check::parse(text) {
                Ok(c) => Some(c),
                Err(e) => {
                    let field = at("check");
                    let start = position_of(&f.text, &field).unwrap_or(Pos { line: 1, column: 1 });
                    let pos = inside_string(&f.text, start, e.column);
                    problems.push(Problem::new(&f.path, pos, &field, e.message));
                    None
                }
            },
        });
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    f.checks = checks;
    Ok(f)
}

pub fn load_file(path: &Path) -> Result<LessonFile, Vec<Problem>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![Problem::new(
            path,
            Pos { line: 1, column: 1 },
            "",
            e.to_string(),
        )]
    })?;
    parse(path, &text)
}

/// Every `*.ron` in `dir`, sorted by file name, each read on its own so one malformed lesson
/// does not hide the others. An unreadable or empty folder is one `Err`.
pub fn load_dir(dir: &Path) -> Vec<Result<LessonFile, Vec<Problem>>> {
    let start = Pos { line: 1, column: 1 };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => return vec![Err(vec![Problem::new(dir, start, "", e.to_string())])],
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ron") && p.is_file())
        .collect();
    if files.is_empty() {
        return vec![Err(vec![Problem::new(
            dir,
            start,
            "",
            "no lessons (*.ron) here",
        )])];
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    files.iter().map(|p| load_file(p)).collect()
}
