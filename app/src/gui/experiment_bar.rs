//! The experiment bar: every control edits the `Experiment` (the type the CLI and lessons
//! use). Each control has a label (AccessKit finds it, tests find it) and a hover text.
pub mod devices;
pub mod labelled;
pub mod weights;

use super::app::Workbench;
use super::worker::Status;
use egui::{DragValue, Slider, Ui};
use engine::model::cards::card_names;
use engine::serve::cluster::{ClockKind, Mode};
use engine::serve::experiment::{scenarios, Experiment};
use labelled::combo;

/// A labelled number field; the label names it for screen readers and tests.
pub fn number<N: egui::emath::Numeric>(
    ui: &mut Ui,
    label: &str,
    value: &mut N,
    range: std::ops::RangeInclusive<N>,
    tip: &str,
) -> bool {
    let l = ui.label(label);
    ui.add(DragValue::new(value).range(range).speed(0.1))
        .labelled_by(l.id)
        .on_hover_text(tip)
        .changed()
}

pub fn experiment_bar_ui(ui: &mut Ui, w: &mut Workbench) {
    ui.horizontal_wrapped(|ui| {
        run_buttons_ui(ui, w);
        ui.separator();
        scenario_menu_ui(ui, w);
        model_ui(ui, w);
        devices::device_ui(ui, &mut w.experiment.device);
        clock_ui(ui, &mut w.experiment);
    });
    ui.horizontal_wrapped(|ui| {
        let e = &mut w.experiment;
        number(ui, "GPUs", &mut e.gpus, 1..=64, "Logical GPUs per mode: replicas for aggregated and chunked, prefill + decode instances for disaggregated. Modes are compared at equal GPU count.");
        let mut p = e.pd.map_or(e.gpus.div_ceil(2), |(p, _)| p);
        if number(ui, "Prefill GPUs", &mut p, 1..=e.gpus.saturating_sub(1).max(1), "Disaggregated: how many of the GPUs prefill; the rest decode (the P:D ratio).") {
            e.pd = Some((p, e.gpus.saturating_sub(p)));
        }
        if let Some((p, d)) = e.pd {
            if p + d != e.gpus {
                e.pd = Some((p.min(e.gpus.saturating_sub(1)).max(1), e.gpus.saturating_sub(p.min(e.gpus.saturating_sub(1)).max(1))));
            }
        }
        ui.separator();
        number(ui, "Request rate (req/s)", &mut e.workload.rate, 0.01..=1000.0, "Mean arrivals per second (gamma-distributed gaps, vLLM's convention).");
        number(ui, "Burstiness", &mut e.workload.burstiness, 0.05..=10.0, "Gamma shape of the arrival gaps: 1 is Poisson, below 1 burstier.");
        number(ui, "Requests", &mut e.workload.num_requests, 1..=100_000, "How many requests arrive.");
        number(ui, "Seed", &mut e.workload.seed, 0..=u64::MAX, "Seeds arrivals, lengths and prompts: the same seed gives every mode the same workload.");
    });
    ui.horizontal_wrapped(|ui| {
        let e = &mut w.experiment;
        ui.add(Slider::new(&mut e.slo.ttft_ms, 0.1..=60_000.0).logarithmic(true).text("TTFT SLO (ms)"))
            .on_hover_text("Time to first token = first-token time − arrival. A request meets the SLO when its TTFT is at most this.");
        ui.add(Slider::new(&mut e.slo.tpot_ms, 0.01..=2_000.0).logarithmic(true).text("TPOT SLO (ms)"))
            .on_hover_text("Time per output token = (E2E latency − TTFT) ÷ (output tokens − 1). Met when at most this.");
        ui.separator();
        number(ui, "Token budget", &mut e.sched.token_budget, 16..=16_384, "Chunked prefill: tokens per step; decodes go first and prompt chunks fill the rest (Sarathi-Serve, vLLM v1).");
        number(ui, "Partial prefills", &mut e.sched.max_partial_prefills, 1..=16, "Chunked: prompts being prefilled at once.");
        let link = e.link.clone();
        combo(ui, "KV link", &link, "Disaggregated: the link a KV cache crosses from a prefill to a decode instance; time = latency + bytes ÷ bandwidth.", |ui| {
            for l in ["nvlink", "pcie", "ib"] {
                ui.selectable_value(&mut e.link, l.to_string(), l);
            }
        });
    });
    file_ui(ui, w);
}

fn run_buttons_ui(ui: &mut Ui, w: &mut Workbench) {
    if ui
        .button("Run")
        .on_hover_text("Run every mode on the same workload (cancels a running one).")
        .clicked()
    {
        w.start();
    }
    let running = w.worker.status == Status::Running;
    let paused = w.worker.status == Status::Paused;
    if running
        && ui
            .button("Pause")
            .on_hover_text("Freeze the run; the counters stop.")
            .clicked()
    {
        w.worker.pause();
    }
    if paused
        && ui
            .button("Resume")
            .on_hover_text("Continue the paused run.")
            .clicked()
    {
        w.worker.resume();
    }
    if ui
        .button("Reset")
        .on_hover_text("Cancel the run and clear the charts.")
        .clicked()
    {
        w.worker.reset();
    }
}

fn scenario_menu_ui(ui: &mut Ui, w: &mut Workbench) {
    let all = scenarios().unwrap_or_default();
    let current = w.experiment.name.clone();
    let mut picked = None;
    combo(
        ui,
        "Scenario",
        &current,
        "A named experiment (as `goodput-lab scenarios` lists): picking one replaces every setting.",
        |ui| {
            for s in all {
                let name = s.name.clone();
                if ui
                    .selectable_label(current == name, &name)
                    .on_hover_text(&s.about)
                    .clicked()
                {
                    picked = Some(s);
                }
            }
        },
    );
    if let Some(s) = picked {
        w.experiment = s;
    }
}

fn model_ui(ui: &mut Ui, w: &mut Workbench) {
    let e = &mut w.experiment;
    let model = e.model.clone();
    combo(ui, "Model", &model, "A model card; real weights when fetched (the Fetch weights button, or goodput-lab models fetch), else seeded random weights of the same shape.", |ui| {
        for c in card_names() {
            ui.selectable_value(&mut e.model, c.clone(), c);
        }
    });
    ui.checkbox(&mut e.synthetic, "Synthetic weights")
        .on_hover_text("Seeded random weights of the card's exact shape: same compute and memory traffic, no download, nonsense text.");
    weights::weights_ui(ui, w);
}

fn clock_ui(ui: &mut Ui, e: &mut Experiment) {
    let clock = format!("{:?}", e.clock).to_lowercase();
    combo(ui, "Clock", &clock, "measured: steps really run and their times advance each logical GPU's clock; wall: real time, one mode; modeled: a cost model predicts each step.", |ui| {
        ui.selectable_value(&mut e.clock, ClockKind::Measured, "measured");
        ui.selectable_value(&mut e.clock, ClockKind::Wall, "wall");
        ui.selectable_value(&mut e.clock, ClockKind::Modeled, "modeled");
    });
    if e.clock == ClockKind::Modeled {
        let hw = e.hardware.clone();
        combo(ui, "Hardware", &hw, "Modeled clock: the hardware profile whose peak FLOPs and memory bandwidth the roofline cost model uses.", |ui| {
            for h in engine::serve::hardware::Hardware::builtin() {
                ui.selectable_value(&mut e.hardware, h.name.clone(), &h.name)
                    .on_hover_text(&h.description);
            }
            if engine::serve::hardware::this_machine_path().is_file() {
                let m = engine::serve::hardware::THIS_MACHINE;
                ui.selectable_value(&mut e.hardware, m.to_string(), m)
                    .on_hover_text("This machine's calibrated profile (the calibrate command).");
            }
        });
    }
    if e.clock == ClockKind::Wall && e.modes.len() > 1 {
        e.modes.truncate(1);
    }
    if e.clock != ClockKind::Wall && e.modes.len() < 3 {
        e.modes = Mode::ALL.to_vec();
    }
}

fn file_ui(ui: &mut Ui, w: &mut Workbench) {
    ui.horizontal(|ui| {
        let l = ui.label("Experiment file");
        ui.text_edit_singleline(&mut w.file).labelled_by(l.id)
            .on_hover_text("A RON experiment, as `goodput-lab bench --save-experiment` writes; the CLI runs the same file with --experiment.");
        if ui.button("Load").on_hover_text("Replace every setting with the experiment file's.").clicked() {
            match Experiment::load(std::path::Path::new(&w.file)) {
                Ok(e) => w.experiment = e,
                Err(e) => w.error = Some(e.to_string()),
            }
        }
        if ui.button("Save").on_hover_text("Write the settings to the experiment file (RON).").clicked() {
            let r = w.experiment.to_ron().map_err(|e| e.to_string()).and_then(|t| std::fs::write(&w.file, t).map_err(|e| format!("{}: {e}", w.file)));
            if let Err(e) = r {
                w.error = Some(e);
            }
        }
        if let Some(err) = &w.error {
            ui.colored_label(egui::Color32::LIGHT_RED, err);
        }
    });
}
