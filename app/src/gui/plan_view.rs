//! The Plan view: asks the cluster planner which mode, P:D split and tensor parallelism serve a
//! model best on a GPU budget under SLOs, then shows the ranked plans, the Pareto frontier, the
//! goodput curves and the chosen plan's launch settings. The search runs in the worker
//! (`worker::plan`); this view edits a `PlanSpec`, sends it, and reads the latest report.
pub mod charts;

use super::app::Workbench;
use super::experiment_bar::labelled::combo;
use egui::{Color32, DragValue, RichText, Ui};
use engine::plan::{export, Evaluated, PlanReport, PlanSpec};
use engine::serve::cluster::Mode;
use engine::serve::hardware::{this_machine_path, Hardware, THIS_MACHINE};
use engine::serve::workload::Preset;

/// What the view remembers between frames; the report itself lives in the worker.
#[derive(Default)]
pub struct PlanView {
    /// The spec the form edits and Run plan sends (tests set it directly).
    pub spec: PlanSpec,
    /// Index of the selected plan in the report's ranking.
    pub selected: Option<usize>,
    /// Which of the launch-settings files is shown (index into `export::all`).
    pub launch: usize,
    /// The worker's report generation this view last saw.
    seen: u64,
    /// `export::all` of the selected plan, kept while the selection stands.
    launch_files: Option<(usize, Vec<(&'static str, String)>)>,
    /// Card names, and (profile, description); read on the first frame.
    cards: Vec<String>,
    profiles: Vec<(String, String)>,
}

const DATASETS: [(Preset, &str); 3] = [
    (Preset::Chat, "chat"),
    (Preset::Code, "code"),
    (Preset::Summarization, "summarization"),
];

pub fn plan_view_ui(ui: &mut Ui, w: &mut Workbench) {
    // A new report (or a failed search): select its best plan.
    if w.worker.plan.generation != w.plan.seen {
        w.plan.seen = w.worker.plan.generation;
        w.plan.selected = w
            .worker
            .plan
            .report
            .as_ref()
            .and_then(|r| (!r.plans.is_empty()).then_some(0));
        w.plan.launch_files = None;
    }
    spec_ui(ui, &mut w.plan);
    run_ui(ui, w);
    let Some(r) = &w.worker.plan.report else {
        return;
    };
    ui.label(format!(
        "{} plans for {} on {} × {}, ranked by goodput per GPU at {:.0} % attainment ({} simulations of at least {} requests).",
        r.plans.len(),
        r.spec.model,
        r.spec.gpus,
        r.hardware,
        r.spec.attainment * 100.0,
        r.simulations,
        r.num_requests
    ));
    if let Some(i) = table_ui(ui, r, w.plan.selected) {
        w.plan.selected = Some(i);
    }
    let hover = w.hover_lines;
    ui.columns(2, |c| {
        charts::pareto_ui(&mut c[0], r, w.plan.selected, hover);
        charts::goodput_curves_ui(&mut c[1], r, w.plan.selected, hover);
    });
    launch_ui(ui, r, &mut w.plan);
}

fn spec_ui(ui: &mut Ui, v: &mut PlanView) {
    if v.cards.is_empty() {
        v.cards = engine::model::cards::all_cards()
            .into_iter()
            .map(|c| c.name)
            .collect();
        v.profiles = Hardware::builtin()
            .into_iter()
            .map(|h| (h.name, h.description))
            .collect();
        if this_machine_path().is_file() {
            v.profiles.push((
                THIS_MACHINE.into(),
                "This machine's calibrated profile (the calibrate command).".into(),
            ));
        }
    }
    let (cards, profiles) = (&v.cards, &v.profiles);
    let s = &mut v.spec;
    ui.horizontal_wrapped(|ui| {
        let model = s.model.clone();
        combo(ui, "Model card", &model, "The model to serve (its weights and KV cache decide which tensor-parallel degrees fit).", |ui| {
            for c in cards.iter() {
                ui.selectable_value(&mut s.model, c.clone(), c);
            }
        });
        let hw = s.hardware.clone();
        combo(ui, "Hardware profile", &hw, "The GPU whose datasheet (or calibrated) roofline times every simulated step.", |ui| {
            for (name, about) in profiles.iter() {
                ui.selectable_value(&mut s.hardware, name.clone(), name).on_hover_text(about);
            }
        });
        super::experiment_bar::number(ui, "GPU budget", &mut s.gpus, 1..=128, "GPUs the plan may use; a plan may leave some idle when that serves more per GPU.");
        super::experiment_bar::number(ui, "TTFT SLO ms", &mut s.slo.ttft_ms, 1.0..=60_000.0, "Time to first token a request must meet.");
        super::experiment_bar::number(ui, "TPOT SLO ms", &mut s.slo.tpot_ms, 0.1..=2_000.0, "Time per output token a request must meet.");
        let l = ui.label("Attainment %");
        let mut pct = s.attainment * 100.0;
        let r = ui.add(DragValue::new(&mut pct).range(1.0..=100.0).speed(0.5)).labelled_by(l.id)
            .on_hover_text("Share of requests that must meet both SLOs (DistServe's 90 %).");
        if r.changed() {
            s.attainment = pct / 100.0;
        }
    });
    ui.horizontal_wrapped(|ui| {
        let name = DATASETS.iter().find(|(p, _)| *p == s.dataset).map_or("chat", |(_, n)| n);
        combo(ui, "Dataset", name, "The traffic's length shapes: chat (ShareGPT), code (HumanEval), summarization (LongBench).", |ui| {
            for (p, n) in DATASETS {
                ui.selectable_value(&mut s.dataset, p, n);
            }
        });
        ui.separator();
        ui.label("Modes:");
        for m in Mode::ALL {
            let mut on = s.modes.contains(&m);
            if ui.checkbox(&mut on, m.name()).on_hover_text("Search this mode's configurations.").changed() {
                // Kept in the engine's order, so the same choice gives the same spec.
                s.modes = Mode::ALL.into_iter().filter(|x| if *x == m { on } else { s.modes.contains(x) }).collect();
            }
        }
    });
}

fn run_ui(ui: &mut Ui, w: &mut Workbench) {
    ui.horizontal(|ui| {
        let job = &mut w.worker.plan;
        // Named like Run sweep: the tab above is already called Plan.
        if !job.is_running() && ui.button("Run plan").on_hover_text("Search every mode, P:D split and tensor-parallel degree on the modeled clock and rank them by goodput per GPU.").clicked() {
            job.start(&w.plan.spec);
            return;
        }
        if job.is_running() {
            let (done, total) = job.progress;
            let frac = if total == 0 { 0.0 } else { done as f32 / total as f32 };
            ui.add(egui::ProgressBar::new(frac).text(format!("{done}/{total} candidates")).desired_width(220.0));
            if job.is_cancelling() {
                ui.label("cancelling…");
            } else if ui.button("Cancel plan").on_hover_text("Stop the search once the candidates in flight finish.").clicked() {
                job.cancel();
            }
        }
        if !job.line.is_empty() {
            ui.weak(&job.line);
        }
    });
    if let Some(e) = &w.worker.plan.error {
        ui.colored_label(Color32::LIGHT_RED, with_control(e));
    }
}

/// An engine field error (`gpus: …`) named by the control that sets the field.
fn with_control(err: &str) -> String {
    const CONTROLS: [(&str, &str); 7] = [
        ("model", "Model card"),
        ("hardware", "Hardware profile"),
        ("gpus", "GPU budget"),
        ("slo.ttft_ms", "TTFT SLO ms"),
        ("slo.tpot_ms", "TPOT SLO ms"),
        ("attainment", "Attainment %"),
        ("modes", "Modes"),
    ];
    match err.split_once(": ") {
        Some((field, reason)) => match CONTROLS.iter().find(|(f, _)| *f == field) {
            Some((_, control)) => format!("{control}: {reason}"),
            None => err.to_string(),
        },
        None => err.to_string(),
    }
}

fn cell(v: Option<f64>, digits: usize) -> String {
    v.map_or("–".into(), |x| format!("{x:.digits$}"))
}

/// The ranked plans; returns the row clicked.
fn table_ui(ui: &mut Ui, r: &PlanReport, selected: Option<usize>) -> Option<usize> {
    let mut clicked = None;
    egui::ScrollArea::vertical()
        .id_salt("plan_table")
        .max_height(240.0)
        .show(ui, |ui| {
            egui::Grid::new("plan_rows")
                .striped(true)
                .num_columns(9)
                .show(ui, |ui| {
                    for h in [
                        "#",
                        "plan (click to select)",
                        "GPUs used",
                        "goodput req/s",
                        "req/s/GPU [min–max]",
                        "p90 TTFT ms",
                        "p90 TPOT ms",
                        "tok/s/GPU",
                        "tok/s/user",
                    ] {
                        ui.strong(h);
                    }
                    ui.end_row();
                    for (i, e) in r.plans.iter().enumerate() {
                        ui.label((i + 1).to_string());
                        if ui.selectable_label(selected == Some(i), &e.label).clicked() {
                            clicked = Some(i);
                        }
                        row_cells(ui, e);
                        ui.end_row();
                    }
                });
        });
    clicked
}

fn row_cells(ui: &mut Ui, e: &Evaluated) {
    let a = e.at_goodput.filter(|_| e.goodput_rps > 0.0);
    ui.label(e.candidate.gpus().to_string());
    ui.label(format!("{:.2}", e.goodput_rps));
    let range = e
        .per_gpu_range
        .map_or(String::new(), |(lo, hi)| format!(" [{lo:.3}–{hi:.3}]"));
    ui.label(format!("{:.3}{range}", e.goodput_per_gpu_rps));
    ui.label(cell(a.map(|s| s.ttft_p90_ms), 0));
    ui.label(cell(a.map(|s| s.tpot_p90_ms), 1));
    ui.label(cell(a.map(|s| s.tokens_per_s_per_gpu), 0));
    ui.label(cell(a.map(|s| s.tokens_per_s_per_user), 1));
}

/// The selected plan's launch settings (vLLM, SGLang, Dynamo) and the cost model behind it.
fn launch_ui(ui: &mut Ui, r: &PlanReport, v: &mut PlanView) {
    let Some(i) = v.selected.filter(|&i| i < r.plans.len()) else {
        return;
    };
    let e = &r.plans[i];
    egui::CollapsingHeader::new(format!("Launch settings: #{} {}", i + 1, e.label))
        .id_salt("launch_settings")
        .default_open(true)
        .show(ui, |ui| {
            ui.label(format!("Cost model: {}", r.cost_model));
            if v.launch_files.as_ref().is_none_or(|(k, _)| *k != i) {
                v.launch_files = Some((i, export::all(&e.deployment)));
            }
            let Some((_, files)) = &v.launch_files else {
                return;
            };
            ui.horizontal(|ui| {
                for (k, (name, _)) in files.iter().enumerate() {
                    ui.selectable_value(&mut v.launch, k, *name);
                }
                ui.separator();
                let text = files.get(v.launch).map_or("", |(_, t)| t.as_str());
                if ui
                    .button("Copy")
                    .on_hover_text("Copy this file to the clipboard.")
                    .clicked()
                {
                    ui.ctx().copy_text(text.to_string());
                }
            });
            let text = files.get(v.launch).map_or("", |(_, t)| t.as_str());
            egui::ScrollArea::both()
                .id_salt("launch_text")
                .max_height(320.0)
                .show(ui, |ui| {
                    let l = egui::Label::new(RichText::new(text).monospace()).extend();
                    ui.add(l.selectable(true));
                });
        });
}
