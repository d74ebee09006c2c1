//! The interference view: decode step slowdown against the length of a prefill sharing the
//! step, one line per decode batch and as a heatmap beside it, measured live on the
//! experiment's model and device.
pub mod heatmap;

use super::app::Workbench;
use egui::Ui;
use egui_plot::{Legend, Line, Plot};

pub fn interference_ui(ui: &mut Ui, w: &mut Workbench) {
    super::export::export_bar_ui(ui, w);
    ui.horizontal(|ui| {
        let busy = w.worker.interference.handle.is_some();
        if !busy && ui.button("Measure interference").on_hover_text("Times decode batches of 1, 8 and 32 alone and sharing a step with a 0–1024-token prefill, on this machine.").clicked() {
            w.start_interference();
        }
        if busy {
            ui.spinner();
            ui.label("measuring…");
        }
        if let Some(e) = &w.worker.interference.error {
            ui.colored_label(egui::Color32::LIGHT_RED, e);
        }
    });
    let rows = &w.worker.interference.rows;
    let mut batches: Vec<usize> = rows.iter().map(|r| r.decode_batch).collect();
    batches.sort_unstable();
    batches.dedup();
    let mut rects = Vec::new();
    ui.columns(2, |c| {
    let r = Plot::new("slowdown").height(320.0).legend(Legend::default().follow_insertion_order(true)).x_axis_label("prefill tokens in the same step").y_axis_label("decode step slowdown (×)").show(&mut c[0], |p| {
        for b in batches {
            let pts: Vec<[f64; 2]> = rows.iter().filter(|r| r.decode_batch == b).map(|r| [r.prefill_len as f64, r.slowdown]).collect();
            p.line(Line::new(format!("decode batch {b}"), pts));
        }
    }).response.on_hover_text("Slowdown = the step's time ÷ the same decode batch's step alone. On a GPU (DistServe, A100, 13B) ≈2× at 128 prefill tokens and >10× past 1 k; a 2-core CPU has no idle compute, so its slowdowns are far larger.");
    rects.push(("slowdown lines", r.rect));
    rects.push(("slowdown heatmap", heatmap::heatmap_ui(&mut c[1], rows)));
    });
    if !rows.is_empty() {
        egui::Grid::new("interference_rows")
            .striped(true)
            .show(ui, |ui| {
                ui.label("decode batch");
                ui.label("prefill");
                ui.label("step ms");
                ui.label("slowdown");
                ui.end_row();
                for r in rows {
                    ui.label(r.decode_batch.to_string());
                    ui.label(r.prefill_len.to_string());
                    ui.label(format!("{:.2}", r.step_ms));
                    ui.label(format!("{:.2}×", r.slowdown));
                    ui.end_row();
                }
            });
    }
    for (name, rect) in rects {
        super::highlight::mark_named(ui, w.highlight, name, rect);
        w.worker.exports.note(name, rect);
    }
}
