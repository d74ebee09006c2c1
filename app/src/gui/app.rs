//! The workbench: an experiment being edited, the jobs it started (`Worker`) and what the
//! window shows. Each frame drains the jobs' events within a small budget, then draws.
use super::lesson_state::{self, Lessons};
use super::plan_view::{self, PlanView};
use super::presenter::{self, Presenter};
use super::worker::{Status, Worker};
use super::{compare, curves, experiment_bar, inspector, interference, lesson_panel};
use engine::serve::cluster::Mode;
use engine::serve::experiment::{scenario, Experiment};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Compare,
    Curves,
    Interference,
    Inspector,
    Plan,
}

impl View {
    pub fn parse(s: &str) -> Option<View> {
        Some(match s {
            "compare" => View::Compare,
            "curves" => View::Curves,
            "interference" => View::Interference,
            "inspector" => View::Inspector,
            "plan" => View::Plan,
            _ => return None,
        })
    }
}

/// Taking one screenshot of the real window and exiting (`gui --screenshot`).
pub struct Shot {
    pub path: std::path::PathBuf,
    pub after: Duration,
    pub started: Instant,
    pub requested: bool,
    /// Set by the screenshot callback: Ok once written, or why not.
    pub result: Arc<Mutex<Option<Result<(), String>>>>,
}

/// Timing frames once the run has ended (`gui --bench-frames N`): every frame repaints at once,
/// so the gap between frames is the whole frame time (UI, tessellation, GL, swap).
pub struct FrameBench {
    pub frames: usize,
    pub times_ms: Vec<f64>,
    pub last: Option<Instant>,
}

pub struct Workbench {
    pub experiment: Experiment,
    pub worker: Worker,
    pub view: View,
    pub selected: Option<(Mode, u64)>,
    /// The experiment file the Load and Save buttons use.
    pub file: String,
    pub error: Option<String>,
    /// Plots draw hover crosshairs; screenshots turn them off (Xvfb parks the pointer mid-window).
    pub hover_lines: bool,
    pub shot: Option<Shot>,
    pub frame_bench: Option<FrameBench>,
    /// The guided lessons and where the learner is in them.
    pub lessons: Lessons,
    /// The chart the current lesson step points at (outlined where it is drawn).
    pub highlight: Option<engine::lesson::Chart>,
    /// Presenter mode (big type, one mode on a paced clock, a live token stream).
    pub presenter: Option<Presenter>,
    /// The Plan view's spec and selection (its search runs in `worker.plan`).
    pub plan: PlanView,
    /// The native window clears to the panels' colour, so the panels draw no fill of their own:
    /// under a software rasteriser every window-sized layer costs (one fewer made frames ~25 %
    /// faster). Off where nothing clears behind them (kittest's renderer clears to transparent).
    pub window_clears: bool,
}

const STORAGE_KEY: &str = "experiment";
const LESSONS_KEY: &str = "lesson_progress";

/// The first-launch experiment: the CPU chat scenario on synthetic weights (no download), its
/// rate and SLOs fitted to this machine.
pub fn first_launch() -> Experiment {
    let mut e = scenario("cpu-chat").unwrap_or_default();
    e.synthetic = true;
    e
}

impl Workbench {
    pub fn new(experiment: Experiment) -> Self {
        Workbench {
            experiment,
            worker: Worker::default(),
            view: View::Compare,
            selected: None,
            file: "experiment.ron".into(),
            error: None,
            hover_lines: true,
            shot: None,
            frame_bench: None,
            lessons: Lessons::default(),
            highlight: None,
            presenter: None,
            plan: PlanView::default(),
            window_clears: false,
        }
    }

    /// Restores the learner's lesson progress (eframe persistence).
    pub fn restore_lessons(&mut self, storage: Option<&dyn eframe::Storage>) {
        if let Some(t) = storage.and_then(|s| s.get_string(LESSONS_KEY)) {
            self.lessons.restore_progress(&t);
        }
    }

    /// Restores the last experiment (eframe persistence) or starts from the first-launch one.
    pub fn restore(storage: Option<&dyn eframe::Storage>) -> Experiment {
        storage
            .and_then(|s| s.get_string(STORAGE_KEY))
            .and_then(|t| Experiment::from_ron("saved", &t).ok())
            .unwrap_or_else(first_launch)
    }

    /// Serves the experiment's model and first mode over HTTP from inside the window; the
    /// store fills with the requests clients send.
    pub fn start_server(&mut self, port: u16) {
        self.error = None;
        self.selected = None;
        if let Err(e) = self.experiment.check() {
            self.error = Some(e.to_string());
            return;
        }
        self.worker.reset();
        let w = &mut self.worker;
        w.live.start(&self.experiment, port, &mut w.store);
        w.status = Status::Running;
    }

    pub fn start(&mut self) {
        self.error = None;
        self.selected = None;
        if let Err(e) = self.experiment.check() {
            self.error = Some(e.to_string());
            return;
        }
        self.worker.start(&self.experiment);
    }

    /// Sweeps the experiment: its own (or fitted) rates, else 0.5×, 1×, 1.5× and 2× its rate.
    pub fn start_sweep(&mut self) {
        let mut e = self.experiment.clone();
        if !e.has_sweep_rates() {
            let r = e.workload.rate;
            e.sweep.rates = vec![0.5 * r, r, 1.5 * r, 2.0 * r];
        }
        self.worker.start_sweep(&e);
    }

    /// Measures the slowdown table on the experiment's model and device.
    pub fn start_interference(&mut self) {
        let cfg = engine::measure::interference::InterferenceConfig {
            decode_batches: vec![1, 8, 32],
            prefill_lens: vec![0, 64, 128, 256, 512, 1024],
            context: 128,
            repeats: 2,
            seed: 0,
        };
        self.worker.start_interference(&self.experiment, cfg);
    }

    /// Searches cluster plans for the Plan view's spec (cancels a running search).
    pub fn start_plan(&mut self) {
        self.worker.plan.start(&self.plan.spec);
    }

    fn status_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            for (v, name) in [
                (View::Compare, "Compare"),
                (View::Curves, "Curves"),
                (View::Interference, "Interference"),
                (View::Inspector, "Inspector"),
                (View::Plan, "Plan"),
            ] {
                ui.selectable_value(&mut self.view, v, name);
            }
            ui.separator();
            let s = &self.worker.store;
            let finished: usize = s.modes.iter().map(|d| d.requests.len()).sum();
            let total = s.total_requests * s.modes.len();
            let text = match &self.worker.status {
                Status::Idle => "idle".to_string(),
                Status::Running => match self.worker.live.address() {
                    Some(a) => format!("serving at {a}: {finished} requests finished"),
                    None if self.worker.live.is_on() => "starting the server…".to_string(),
                    None => format!("running: {finished}/{total} requests"),
                },
                Status::Paused => format!("paused at {finished}/{total}"),
                Status::Done => format!("done: {finished} requests"),
                Status::Failed(e) => format!("failed: {e}"),
            };
            ui.label(text);
            if let Some(line) = s.log.last() {
                ui.weak(line);
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui
                    .button("Presenter")
                    .on_hover_text("Presenter mode: big type, one mode at a time on a clock paced to real time, a live token stream and a button that injects a long prompt (Esc leaves).")
                    .clicked()
                {
                    self.presenter = Some(Presenter::new(&self.experiment));
                }
                let lessons = ui
                    .selectable_label(self.lessons.open, "Lessons")
                    .on_hover_text("Guided lessons: each step sets up the workbench, runs it here and checks what your own run shows.");
                if lessons.clicked() {
                    self.lessons.open = !self.lessons.open;
                }
            });
        });
    }

    /// One frame: drain events, draw, and drive a pending screenshot.
    pub fn frame_ui(&mut self, ui: &mut egui::Ui) {
        if self.presenter.is_some() {
            presenter::presenter_ui(ui, self);
            self.drive_shot(ui.ctx());
            return;
        }
        self.worker.drain(Duration::from_millis(8));
        lesson_state::poll(self);
        // A machine-fitted experiment runs with absolute values: show and use those.
        if let Some(e) = self.worker.store.prepared.take() {
            self.experiment = e;
        }
        egui::Panel::top("experiment")
            .frame(self.panel_frame(egui::Frame::side_top_panel(ui.style())))
            .show(ui, |ui| {
                experiment_bar::experiment_bar_ui(ui, self);
                self.status_ui(ui);
            });
        if self.lessons.open {
            egui::Panel::left("lessons")
                .frame(self.panel_frame(egui::Frame::side_top_panel(ui.style())))
                .resizable(true)
                .default_size(420.0)
                .show(ui, |ui| lesson_panel::lesson_panel(ui, self));
        }
        egui::CentralPanel::default()
            .frame(self.panel_frame(egui::Frame::central_panel(ui.style())))
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| match self.view {
                    View::Compare => compare::compare_ui(ui, self),
                    View::Curves => curves::curves_ui(ui, self),
                    View::Interference => interference::interference_ui(ui, self),
                    View::Inspector => inspector::inspector_ui(ui, self),
                    View::Plan => plan_view::plan_view_ui(ui, self),
                });
            });
        if self.worker.is_busy() || self.lessons.waiting.is_some() {
            ui.ctx().request_repaint_after(Duration::from_millis(33));
        }
        self.drive_shot(ui.ctx());
        self.drive_frame_bench(ui.ctx());
    }

    /// A panel's frame, without its fill where the window's clear colour already is that fill.
    fn panel_frame(&self, frame: egui::Frame) -> egui::Frame {
        if self.window_clears {
            frame.fill(egui::Color32::TRANSPARENT)
        } else {
            frame
        }
    }

    fn drive_frame_bench(&mut self, ctx: &egui::Context) {
        let done = self.worker.status == Status::Done;
        let Some(b) = &mut self.frame_bench else {
            return;
        };
        ctx.request_repaint();
        if !done {
            return;
        }
        let now = Instant::now();
        if let Some(t) = b.last {
            b.times_ms.push((now - t).as_secs_f64() * 1e3);
        }
        b.last = Some(now);
        if b.times_ms.len() >= b.frames {
            let mut v = b.times_ms.clone();
            v.sort_by(|a, b| a.total_cmp(b));
            let s = &self.worker.store;
            let reqs: usize = s.modes.iter().map(|d| d.requests.len()).sum();
            let steps: usize = s.modes.iter().map(|d| d.steps.len()).sum();
            println!(
                "{} frames with {reqs} requests and {steps} steps in view: frame time median {:.2} ms (min {:.2}, p90 {:.2}, max {:.2}) = {:.1} frames/s",
                v.len(),
                v[v.len() / 2],
                v[0],
                v[v.len() * 9 / 10],
                v[v.len() - 1],
                1e3 / v[v.len() / 2]
            );
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            self.frame_bench = None;
        }
    }

    fn drive_shot(&mut self, ctx: &egui::Context) {
        let Some(shot) = &mut self.shot else { return };
        if let Some(done) = shot.result.lock().map(|g| g.clone()).unwrap_or(None) {
            if let Err(e) = done {
                eprintln!("error: screenshot: {e}");
            }
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            return;
        }
        let idle = match &self.presenter {
            Some(p) => p.ready_for_shot(),
            // The Plan view's data is the search, not a run.
            None if self.view == View::Plan => {
                self.worker.plan.generation > 0 && !self.worker.is_busy()
            }
            None => {
                self.worker.status == Status::Done
                    && !self.worker.is_busy()
                    && self.lessons.waiting.is_none()
            }
        };
        if !shot.requested && (shot.started.elapsed() >= shot.after || idle) {
            shot.requested = true;
            let (path, result) = (shot.path.clone(), shot.result.clone());
            ctx.request_screenshot(move |img| {
                let r = super::export::write_png(&path, &img);
                if let Ok(mut g) = result.lock() {
                    *g = Some(r);
                }
            });
        }
        ctx.request_repaint_after(Duration::from_millis(50));
    }
}

impl eframe::App for Workbench {
    fn clear_color(&self, visuals: &egui::Visuals) -> [f32; 4] {
        visuals.panel_fill.to_normalized_gamma_f32()
    }
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.frame_ui(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if let Ok(t) = self.experiment.to_ron() {
            storage.set_string(STORAGE_KEY, t);
        }
        storage.set_string(LESSONS_KEY, self.lessons.progress_ron());
    }
}
