//! Presenter mode: prefill/decode interference made visible to a room. One mode at a time on
//! the measured clock paced to real time (each logical GPU's steps are timed for real and shown
//! when the wall clock reaches them, so disaggregated instances do not wait on each other's
//! compute), a few chat streams printing their tokens, a large TPOT gauge against the SLO, the
//! token gaps over time, and a button (or `I`) that injects a long prompt into the running run.
//! Keys: 1/2/3 switch mode, I injects, Space pauses, Esc leaves.
use super::app::Workbench;
use super::presenter_charts::{gauge_ui, itl_plot_ui, BAD, BIG};
use super::presenter_stream::Streams;
use egui::{Color32, RichText, Ui};
use engine::model::cards;
use engine::serve::cluster::{ClockKind, Mode};
use engine::serve::events::Injection;
use engine::serve::experiment::{spawn_edited, BenchOutput, Experiment};
use engine::serve::handle::RunHandle;
use engine::serve::request::RequestSpec;
use engine::serve::workload::LenDist;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Prompts for the streams when real weights are loaded (otherwise the workload's own ids).
const CHAT: [&str; 6] = [
    "Explain in a few sentences why the sky is blue.",
    "Write a short poem about a lighthouse keeper.",
    "What are three tips for learning a new language?",
    "Describe how a bicycle works to a child.",
    "Give me a simple recipe for tomato soup.",
    "Why do cats purr? Answer briefly.",
];

pub struct Presenter {
    pub mode: Mode,
    /// Prompt tokens of the next injected request.
    pub inject_tokens: usize,
    base: Experiment,
    handle: Option<RunHandle<BenchOutput>>,
    retiring: Vec<RunHandle<BenchOutput>>,
    pub streams: Streams,
    pub paused: bool,
    pub error: Option<String>,
    started: Instant,
    /// Injects once after this long (screenshots); `None` for a live audience.
    pub auto_inject: Option<Duration>,
    injected_at: Option<Instant>,
}

/// The experiment presenter mode runs: SmolLM2 (real weights when fetched, else synthetic) on
/// the experiment's device, 2 logical GPUs, short chat prompts with long answers at a rate that
/// keeps a handful of streams going.
pub fn presenter_experiment(current: &Experiment) -> Experiment {
    let card = "smollm2-135m";
    let real = cards::card(card).is_ok_and(|c| cards::has_weights(&c));
    let mut e = Experiment {
        name: "presenter".into(),
        model: card.into(),
        synthetic: !real,
        device: current.device,
        threads: current.threads,
        clock: ClockKind::Measured,
        gpus: 2,
        ..Experiment::default()
    };
    // A few streams at once on a 2-core CPU: load that leaves the steady TPOT steady, so what
    // changes when a long prompt arrives is the prompt's doing.
    e.workload.rate = 0.8;
    e.workload.num_requests = 2000;
    e.workload.prompt_len = Some(LenDist::Fixed(48));
    e.workload.output_len = Some(LenDist::Fixed(160));
    // Real weights end their answers; synthetic ones run to the drawn length.
    e.sampling.stop_at_eos = real;
    e.workload.seed = 7;
    e.sched.token_budget = 64;
    e
}

impl Presenter {
    pub fn new(current: &Experiment) -> Self {
        Self::with_experiment(current, presenter_experiment(current))
    }

    /// Presenter mode on `base` (its model, device, workload) instead of the default one.
    pub fn with_experiment(current: &Experiment, base: Experiment) -> Self {
        // A prompt that stalls a CPU for a second or two, or a GPU visibly.
        let inject_tokens = match current.device {
            engine::backend::Device::Cpu => 384,
            engine::backend::Device::Cuda(_) => 2048,
        };
        let mut p = Presenter {
            mode: Mode::Aggregated,
            inject_tokens,
            base,
            handle: None,
            retiring: Vec::new(),
            streams: Streams::default(),
            paused: false,
            error: None,
            started: Instant::now(),
            auto_inject: None,
            injected_at: None,
        };
        p.restart();
        p
    }

    /// (Re)starts the run in the current mode; the old run is cancelled on its own thread.
    pub fn restart(&mut self) {
        if let Some(h) = self.handle.take() {
            h.cancel();
            h.resume();
            self.retiring.push(h);
        }
        let mut e = self.base.clone();
        e.modes = vec![self.mode];
        let tokenizer = engine::loader::load_tokenizer(&e.model, e.synthetic).ok();
        self.streams = Streams::new(tokenizer.clone().map(Arc::new));
        let real = !e.synthetic;
        let job = spawn_edited(e, None, move |reqs, _| match (&tokenizer, real) {
            (Some(t), true) => chat_prompts(&reqs, t),
            _ => reqs,
        });
        match job {
            Ok(h) => {
                h.control.set_paced(true);
                self.handle = Some(h);
                self.error = None;
            }
            Err(e) => self.error = Some(e.to_string()),
        }
        self.paused = false;
        self.started = Instant::now();
        self.injected_at = None;
    }

    pub fn set_mode(&mut self, m: Mode) {
        if m != self.mode {
            self.mode = m;
            self.restart();
        }
    }

    pub fn inject(&mut self) {
        if let Some(h) = &self.handle {
            h.control
                .inject(Injection::placeholder(self.inject_tokens, 16));
            self.streams.mark_injection(self.inject_tokens);
            self.injected_at = Some(Instant::now());
        }
    }

    fn toggle_pause(&mut self) {
        if let Some(h) = &self.handle {
            self.paused = !self.paused;
            if self.paused {
                h.pause();
            } else {
                h.resume();
            }
        }
    }

    /// A screenshot shows the stall: taken once the run's own time is 0.5 s past the injected
    /// prompt's first token (its prefill step has ended, so the gap it caused is in the data and
    /// still inside the gauge's window).
    pub fn ready_for_shot(&self) -> bool {
        self.streams
            .injected_first_token()
            .is_some_and(|t| self.streams.latest_t() > t + 0.5)
    }

    fn drain(&mut self) {
        self.retiring.retain(|h| !h.is_finished());
        let Some(h) = &self.handle else { return };
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_millis(8) {
            let Ok(ev) = h.events.try_recv() else { break };
            self.streams.apply(&ev.event);
        }
        if h.is_finished() && h.events.is_empty() {
            if let Some(h) = self.handle.take() {
                if let Err(e) = h.join() {
                    self.error = Some(e.to_string());
                }
            }
        }
        if let (Some(after), None) = (self.auto_inject, self.injected_at) {
            if self.started.elapsed() >= after {
                self.inject();
            }
        }
    }
}

/// Replaces the workload's prompt ids with chat prompts (ChatML, as SmolLM2-Instruct expects).
fn chat_prompts(
    reqs: &Arc<[RequestSpec]>,
    t: &engine::model::tokenizer::Tokenizer,
) -> Arc<[RequestSpec]> {
    let mut out: Vec<RequestSpec> = reqs.to_vec();
    for (i, r) in out.iter_mut().enumerate() {
        let text = format!(
            "<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n",
            CHAT[i % CHAT.len()]
        );
        if let Ok(ids) = t.encode(&text) {
            if !ids.is_empty() {
                r.prompt = ids.into();
            }
        }
    }
    out.into()
}

/// The whole window in presenter mode.
pub fn presenter_ui(ui: &mut Ui, w: &mut Workbench) {
    let ctx = ui.ctx().clone();
    let Some(p) = w.presenter.as_mut() else {
        return;
    };
    p.drain();
    let mut leave = false;
    let mut new_mode = None;
    ctx.input(|i| {
        for (key, mode) in [
            (egui::Key::Num1, Mode::Aggregated),
            (egui::Key::Num2, Mode::Chunked),
            (egui::Key::Num3, Mode::Disaggregated),
        ] {
            if i.key_pressed(key) {
                new_mode = Some(mode);
            }
        }
        leave = i.key_pressed(egui::Key::Escape);
    });
    if let Some(m) = new_mode {
        p.set_mode(m);
    }
    if ctx.input(|i| i.key_pressed(egui::Key::I)) {
        p.inject();
    }
    if ctx.input(|i| i.key_pressed(egui::Key::Space)) {
        p.toggle_pause();
    }
    egui::CentralPanel::default()
        .frame(egui::Frame::new().fill(Color32::BLACK).inner_margin(24.0))
        .show(ui, |ui| {
            ui.style_mut().visuals = egui::Visuals::dark();
            header_ui(ui, p, &mut leave);
            ui.add_space(10.0);
            ui.columns(2, |c| {
                super::presenter_stream::streams_ui(&mut c[0], &p.streams);
                gauge_ui(&mut c[1], &p.streams);
                itl_plot_ui(&mut c[1], &p.streams);
            });
        });
    if leave {
        w.presenter = None;
        return;
    }
    ctx.request_repaint_after(Duration::from_millis(33));
}

fn header_ui(ui: &mut Ui, p: &mut Presenter, leave: &mut bool) {
    ui.horizontal(|ui| {
        ui.label(RichText::new("Goodput Lab: live").size(BIG).strong().color(Color32::WHITE));
        ui.add_space(20.0);
        for (i, m) in Mode::ALL.iter().enumerate() {
            let text = RichText::new(format!("{} {}", i + 1, m.name())).size(BIG * 0.8);
            if ui
                .selectable_label(p.mode == *m, text)
                .on_hover_text(format!("Run {} (key {})", m.name(), i + 1))
                .clicked()
            {
                p.set_mode(*m);
            }
        }
        ui.add_space(20.0);
        let inject = egui::Button::new(
            RichText::new(format!("Inject a {}-token prompt (I)", p.inject_tokens))
                .size(BIG * 0.8)
                .color(Color32::BLACK),
        )
        .fill(Color32::from_rgb(255, 190, 40));
        if ui
            .add(inject)
            .on_hover_text("Adds one long prompt to the running run now. In aggregated mode its prefill shares a step with every running decode, so the streams stall.")
            .clicked()
        {
            p.inject();
        }
        ui.add(
            egui::Slider::new(&mut p.inject_tokens, 128..=1800)
                .text("prompt tokens")
                .logarithmic(true),
        )
        .on_hover_text("Length of the injected prompt.");
        let pause = if p.paused { "Resume (Space)" } else { "Pause (Space)" };
        if ui.button(RichText::new(pause).size(BIG * 0.6)).clicked() {
            p.toggle_pause();
        }
        if ui
            .button(RichText::new("Leave (Esc)").size(BIG * 0.6))
            .on_hover_text("Back to the workbench.")
            .clicked()
        {
            *leave = true;
        }
    });
    let what = format!(
        "{} on {}, 2 logical GPUs{}, measured clock paced to real time{}",
        p.base.model,
        p.base.device,
        if p.mode == Mode::Disaggregated {
            " (1P:1D)"
        } else {
            ""
        },
        if p.base.synthetic {
            "; synthetic weights: the text is noise"
        } else {
            ""
        }
    );
    ui.label(
        RichText::new(what)
            .size(BIG * 0.55)
            .color(Color32::LIGHT_GRAY),
    );
    if let Some(e) = &p.error {
        ui.label(RichText::new(e).size(BIG * 0.6).color(BAD));
    }
}
