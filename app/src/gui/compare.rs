//! The compare view: one column per mode on shared scales — TTFT vs TPOT per request with the
//! SLO box, the counters, the step timeline (where interference is seen) and KV blocks in use.
use super::app::Workbench;
use super::compare_geometry::{cached, key, Geometry};
use super::store::ModeData;
use egui::{Color32, Ui};
use egui_plot::{Arrows, HLine, Line, Plot, Points, VLine};
use engine::serve::metrics::Slo;

pub const MET: Color32 = Color32::from_rgb(80, 180, 100);
pub const MISSED: Color32 = Color32::from_rgb(220, 80, 70);
pub const PREFILL: Color32 = Color32::from_rgb(235, 150, 50);
pub const DECODE: Color32 = Color32::from_rgb(70, 130, 220);

/// Highest TTFT and TPOT over every mode, so the columns share their scales.
fn shared_max(modes: &[ModeData]) -> (f64, f64) {
    let mut m = (1e-3f64, 1e-3f64);
    for d in modes {
        for r in &d.requests {
            m.0 = m.0.max(r.ttft_ms);
            m.1 = m.1.max(r.tpot_ms);
        }
    }
    m
}

pub fn compare_ui(ui: &mut Ui, w: &mut Workbench) {
    let slo = w.experiment.slo;
    let (max_ttft, max_tpot) = shared_max(&w.worker.store.modes);
    let end_s = w.worker.store.end_s().max(1e-3);
    let n = w.worker.store.modes.len().max(1);
    super::export::export_bar_ui(ui, w);
    let mut clicked = None;
    let mut charts = Vec::new();
    let hl = w.highlight;
    ui.columns(n, |cols| {
        for (col, d) in cols.iter_mut().zip(w.worker.store.modes.iter_mut()) {
            col.heading(d.mode.name());
            super::highlight::marked(col, hl, engine::lesson::Chart::Counters, |ui| {
                counters_ui(ui, d, slo)
            });
            let k = key(d, slo, (max_ttft, max_tpot), end_s, col.available_width());
            let g = cached(d, k);
            let (id, rect) = scatter_ui(col, d, &g, slo, (max_ttft, max_tpot), w.hover_lines);
            if let Some(id) = id {
                clicked = Some((d.mode, id));
            }
            let name = d.mode.name();
            charts.push((format!("TTFT vs TPOT, {name}"), rect));
            charts.push((
                format!("step timeline, {name}"),
                timeline_ui(col, d, &g, end_s),
            ));
            charts.push((format!("KV blocks, {name}"), kv_ui(col, d, &g, end_s)));
        }
    });
    for (name, rect) in charts {
        super::highlight::mark_named(ui, hl, &name, rect);
        w.worker.exports.note(name, rect);
    }
    if clicked.is_some() {
        w.selected = clicked;
    }
}

fn counters_ui(ui: &mut Ui, d: &mut ModeData, slo: Slo) {
    let done = d.requests.len();
    let gpus = d.gpus;
    let s = d.summary(slo).clone();
    egui::Grid::new(("counters", d.mode.name())).num_columns(2).show(ui, |ui| {
        let row = |ui: &mut Ui, name: &str, value: String, tip: &str| {
            ui.label(name).on_hover_text(tip);
            ui.label(value).on_hover_text(tip);
            ui.end_row();
        };
        row(ui, "Finished", format!("{done}"), "Requests finished so far in this mode.");
        row(ui, "Goodput", format!("{:.3} req/s", s.goodput_rps), "Requests that met both SLOs ÷ the run's duration (vLLM --goodput).");
        row(ui, "Goodput / GPU", format!("{:.3} req/s", s.goodput_rps / gpus.max(1) as f64), "Goodput divided by the logical GPUs of the mode: modes are compared at equal GPU count.");
        row(ui, "Attainment", format!("{:.1} %", s.attainment.joint * 100.0), "Share of finished requests meeting both the TTFT and the TPOT SLO.");
        row(ui, "  TTFT / TPOT", format!("{:.1} % / {:.1} %", s.attainment.ttft * 100.0, s.attainment.tpot * 100.0), "Share meeting each SLO on its own.");
        row(ui, "Throughput", format!("{:.3} req/s", s.throughput_rps), "All finished requests ÷ duration, met or not: raw throughput misleads.");
        row(ui, "TTFT p50/p90/p99", format!("{:.0} / {:.0} / {:.0} ms", s.ttft_ms.median, s.ttft_ms.p90, s.ttft_ms.p99), "Time to first token = first-token time − arrival.");
        row(ui, "TPOT p50/p90/p99", format!("{:.1} / {:.1} / {:.1} ms", s.tpot_ms.median, s.tpot_ms.p90, s.tpot_ms.p99), "Time per output token = (E2E − TTFT) ÷ (output tokens − 1).");
    });
}

/// Returns the id of a request clicked in the plot, and the plot's rect.
fn scatter_ui(
    ui: &mut Ui,
    d: &ModeData,
    g: &Geometry,
    slo: Slo,
    max: (f64, f64),
    hover: bool,
) -> (Option<u64>, egui::Rect) {
    let resp = Plot::new(("scatter", d.mode.name()))
        .height(180.0)
        .x_axis_label("TTFT (ms)")
        .y_axis_label("TPOT (ms)")
        .include_x(0.0)
        .include_y(0.0)
        .include_x(max.0.max(slo.ttft_ms) * 1.05)
        .include_y(max.1.max(slo.tpot_ms) * 1.05)
        .show_crosshair(hover)
        .allow_scroll(false)
        .show(ui, |p| {
            p.points(Points::new("met", &g.met[..]).color(MET).radius(2.5));
            p.points(
                Points::new("missed", &g.missed[..])
                    .color(MISSED)
                    .radius(2.5),
            );
            p.hline(HLine::new("TPOT SLO", slo.tpot_ms).color(Color32::GRAY));
            p.vline(VLine::new("TTFT SLO", slo.ttft_ms).color(Color32::GRAY));
        });
    let r = resp.response.clone().on_hover_text("Each point is a request: green met both SLOs (inside the box), red missed. Click one to inspect it.");
    let pos = r.interact_pointer_pos().filter(|_| r.clicked());
    (
        pos.and_then(|pos| nearest(d, &resp.transform, pos, max)),
        r.rect,
    )
}

/// The request whose point lies nearest `pos` (distances scaled to the axes).
fn nearest(
    d: &ModeData,
    transform: &egui_plot::PlotTransform,
    pos: egui::Pos2,
    max: (f64, f64),
) -> Option<u64> {
    let c = transform.value_from_position(pos);
    let (sx, sy) = (max.0.max(1e-9), max.1.max(1e-9));
    d.requests
        .iter()
        .min_by(|a, b| {
            let da = ((a.ttft_ms - c.x) / sx).powi(2) + ((a.tpot_ms - c.y) / sy).powi(2);
            let db = ((b.ttft_ms - c.x) / sx).powi(2) + ((b.tpot_ms - c.y) / sy).powi(2);
            da.total_cmp(&db)
        })
        .map(|r| r.id)
}

/// One lane per logical GPU; in each pixel column the most tokens any step there carried
/// (orange: prefill on top of the decodes) and the most decode tokens (blue). KV transfers are
/// lines between lanes.
fn timeline_ui(ui: &mut Ui, d: &ModeData, g: &Geometry, end_s: f64) -> egui::Rect {
    let lanes = d.gpus.max(1);
    Plot::new(("timeline", d.mode.name()))
        .height(40.0 + 40.0 * lanes as f64 as f32)
        .x_axis_label("time (s)")
        .y_axis_label("GPU")
        .include_x(0.0)
        .include_x(end_s)
        .include_y(0.0)
        .include_y(lanes as f64)
        .show_crosshair(false)
        .show(ui, |p| {
            for pts in &g.totals {
                p.line(Line::new("prefill tokens", &pts[..]).color(PREFILL));
            }
            for pts in &g.decodes {
                p.line(Line::new("decode tokens", &pts[..]).color(DECODE));
            }
            // One item for the transfers (thousands of separate lines cost a frame).
            if !g.transfer_from.is_empty() {
                p.arrows(Arrows::new("KV transfer", &g.transfer_from[..], &g.transfer_to[..]).tip_length(0.0).color(Color32::from_gray(150)));
            }
        })
        .response
        .on_hover_text("The step timeline: one lane per logical GPU. Bar height: tokens in the step (blue decode, orange prefill). A tall orange bar over blue is a prefill stalling the decodes that share its step: interference. Grey lines: KV transfers between instances.")
        .rect
}

fn kv_ui(ui: &mut Ui, d: &ModeData, g: &Geometry, end_s: f64) -> egui::Rect {
    Plot::new(("kv", d.mode.name()))
        .height(90.0)
        .x_axis_label("time (s)")
        .y_axis_label("KV blocks")
        .include_x(0.0)
        .include_x(end_s)
        .include_y(0.0)
        .show_crosshair(false)
        .show(ui, |p| {
            for (lane, pts) in g.kv.iter().enumerate() {
                p.line(Line::new(format!("GPU {lane}"), &pts[..]));
            }
            p.points(Points::new("preempted", &g.preempted[..]).color(MISSED).radius(4.0));
        })
        .response
        .on_hover_text("KV-cache blocks in use per instance over time; red marks are preemptions (a request evicted and recomputed when blocks ran out).")
        .rect
}
