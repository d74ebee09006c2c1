//! A lesson being followed in the window: which lesson and step, the experiment the steps
//! built, what the learner's runs produced so far (`Results`) and the current check's outcome.
//! The step's action runs through the workbench's own jobs, so every chart moves as usual; the
//! check is re-evaluated whenever one of those jobs brings new data (the learner may also
//! change a knob and press Run themselves).
use super::app::{View, Workbench};
use super::worker::Status;
use engine::lesson::{
    base_experiment, embedded, interference_config, Action, Chart, CheckOutcome, LessonFile,
    Problem, Results,
};
use std::collections::BTreeMap;

/// What new data the jobs hold; a change means the check is evaluated again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Seen {
    run_done: bool,
    sweep: bool,
    interference_rows: usize,
}

pub struct Lessons {
    /// The shipped lessons (a malformed one is its problems; the others still work).
    pub files: Vec<Result<LessonFile, Vec<Problem>>>,
    /// The side panel is shown.
    pub open: bool,
    pub current: Option<usize>,
    pub step: usize,
    pub results: Results,
    /// The current step's check on the learner's data: `None` until there is data for it.
    pub outcome: Option<Result<CheckOutcome, String>>,
    /// The learner's choice in the step's question.
    pub answer: Option<usize>,
    /// The action of the current step has been started and its data is awaited.
    pub waiting: Option<Action>,
    /// Furthest step reached per lesson file name (persisted between launches).
    pub progress: BTreeMap<String, usize>,
    seen: Seen,
}

impl Default for Lessons {
    fn default() -> Self {
        Lessons {
            files: embedded(),
            open: false,
            current: None,
            step: 0,
            results: Results::default(),
            outcome: None,
            answer: None,
            waiting: None,
            progress: BTreeMap::new(),
            seen: Seen::default(),
        }
    }
}

/// The file name a lesson's progress is stored under.
pub fn key(f: &LessonFile) -> String {
    f.path
        .file_name()
        .map_or(String::new(), |n| n.to_string_lossy().into_owned())
}

impl Lessons {
    pub fn lesson(&self) -> Option<&LessonFile> {
        self.files.get(self.current?)?.as_ref().ok()
    }

    /// Progress as RON (eframe storage).
    pub fn progress_ron(&self) -> String {
        ron::to_string(&self.progress).unwrap_or_default()
    }

    pub fn restore_progress(&mut self, text: &str) {
        if let Ok(p) = ron::from_str(text) {
            self.progress = p;
        }
    }
}

/// Opens lesson `index` (0-based) at the step the learner reached, or at `step` if given.
pub fn open(w: &mut Workbench, index: usize, step: Option<usize>) {
    let Some(Ok(f)) = w.lessons.files.get(index) else {
        return;
    };
    let n = f.lesson.steps.len();
    let saved = w.lessons.progress.get(&key(f)).copied().unwrap_or(0);
    w.lessons.open = true;
    w.lessons.current = Some(index);
    w.lessons.results = Results::default();
    go_to(w, step.unwrap_or(saved).min(n.saturating_sub(1)));
}

/// Leaves the lesson (the experiment stays as the lesson left it).
pub fn close(w: &mut Workbench) {
    w.lessons.current = None;
    w.lessons.waiting = None;
    w.lessons.outcome = None;
    w.highlight = None;
}

/// Enters step `step`: the experiment is the lesson's base with every patch up to this step
/// applied (so going back or jumping in sets the same workbench up), the view and chart are
/// pointed at, and the step's action starts.
pub fn go_to(w: &mut Workbench, step: usize) {
    let Some(f) = w.lessons.lesson().cloned() else {
        return;
    };
    let Some(s) = f.lesson.steps.get(step) else {
        return;
    };
    let mut exp = base_experiment();
    for p in f.lesson.steps.iter().take(step + 1) {
        p.patch.apply(&mut exp);
    }
    w.experiment = exp;
    w.lessons.step = step;
    w.lessons.answer = None;
    w.lessons.outcome = None;
    let reached = w.lessons.progress.entry(key(&f)).or_insert(0);
    *reached = (*reached).max(step);
    if let Some(h) = s.highlight {
        w.view = view_of(h.view);
        w.highlight = h.chart;
    } else {
        w.highlight = None;
    }
    start_action(w, s.action);
    if w.lessons.waiting.is_none() {
        // A step without an action checks what earlier steps produced.
        evaluate(w);
    }
}

/// Runs `action` on the workbench's jobs.
pub fn start_action(w: &mut Workbench, action: Action) {
    w.error = None;
    w.lessons.waiting = (action != Action::None).then_some(action);
    match action {
        Action::None => {}
        Action::Run => w.start(),
        Action::InjectLongPrompt { tokens } => {
            w.worker.start_edited(&w.experiment, Some(tokens));
        }
        Action::Sweep => w.start_sweep(),
        Action::Interference => match engine::loader::load_spec(&w.experiment.model) {
            Ok(spec) => w
                .worker
                .start_interference(&w.experiment, interference_config(&spec)),
            Err(e) => w.error = Some(e.to_string()),
        },
    }
    // Data from before this action is not what the step asks about.
    w.lessons.seen = seen(w);
}

fn seen(w: &Workbench) -> Seen {
    Seen {
        run_done: w.worker.status == Status::Done,
        sweep: w.worker.sweep.report.is_some(),
        interference_rows: w.worker.interference.rows.len(),
    }
}

/// Each frame: folds data the jobs finished into the results and evaluates the step's check.
pub fn poll(w: &mut Workbench) {
    if w.lessons.current.is_none() {
        return;
    }
    let now = seen(w);
    let before = w.lessons.seen;
    if now == before {
        return;
    }
    w.lessons.seen = now;
    let mut r = std::mem::take(&mut w.lessons.results);
    if now.run_done && !before.run_done {
        r = r.with_reports(&w.worker.store.reports());
    }
    if now.sweep && !before.sweep {
        if let Some(rep) = &w.worker.sweep.report {
            r = r.with_sweep(rep);
        }
    }
    if now.interference_rows > 0 && now.interference_rows != before.interference_rows {
        r = r.with_interference(&w.worker.interference.rows);
    }
    w.lessons.results = r;
    if waiting_done(w) {
        w.lessons.waiting = None;
    }
    evaluate(w);
}

fn waiting_done(w: &Workbench) -> bool {
    match w.lessons.waiting {
        None => true,
        Some(Action::Run | Action::InjectLongPrompt { .. }) => {
            !matches!(w.worker.status, Status::Running | Status::Paused)
        }
        Some(Action::Sweep) => w.worker.sweep.handle.is_none(),
        Some(Action::Interference) => w.worker.interference.handle.is_none(),
        Some(Action::None) => true,
    }
}

/// The current step's check over the results so far.
pub fn evaluate(w: &mut Workbench) {
    let (Some(f), step) = (w.lessons.lesson(), w.lessons.step) else {
        return;
    };
    let Some(Some(check)) = f.checks.get(step) else {
        w.lessons.outcome = None;
        return;
    };
    w.lessons.outcome = Some(
        check
            .evaluate(&w.lessons.results)
            .map_err(|e| e.to_string()),
    );
}

pub fn view_of(v: engine::lesson::View) -> View {
    match v {
        engine::lesson::View::Compare => View::Compare,
        engine::lesson::View::Curves => View::Curves,
        engine::lesson::View::Interference => View::Interference,
        engine::lesson::View::Inspector => View::Inspector,
    }
}

/// Words for a chart, as the panel points at it.
pub fn chart_name(c: Chart) -> &'static str {
    match c {
        Chart::Scatter => "the TTFT–TPOT scatter",
        Chart::Counters => "the counters",
        Chart::Timeline => "the step timeline",
        Chart::KvBlocks => "the KV blocks chart",
        Chart::Cdf => "the TTFT and TPOT CDFs",
        Chart::Breakdown => "the latency breakdown",
        Chart::GoodputVsRate => "goodput vs request rate",
        Chart::SloScale => "the SLO-scale curve",
        Chart::PerGpu => "per-GPU goodput",
        Chart::SlowdownCurve => "the slowdown curve",
        Chart::Heatmap => "the slowdown heatmap",
        Chart::RequestTimeline => "the request's timeline",
    }
}
