//! The interference view: decode step slowdown against the length of a prefill sharing the
//! step, one line per decode batch, measured live on the experiment's model and device.
use super::app::Workbench;
use egui::Ui;
use egui_plot::{Legend, Line, Plot};

pub fn interference_ui(ui: &mut Ui, w: &mut Workbench) {
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
    batches.dedup();
    Plot::new("slowdown").height(320.0).legend(Legend::default()).x_axis_label("prefill tokens in the same step").y_axis_label("decode step slowdown (×)").show(ui, |p| {
        for b in batches {
            let pts: Vec<[f64; 2]> = rows.iter().filter(|r| r.decode_batch == b).map(|r| [r.prefill_len as f64, r.slowdown]).collect();
            p.line(Line::new(format!("decode batch {b}"), pts));
        }
    }).response.on_hover_text("Slowdown = the step's time ÷ the same decode batch's step alone. On a GPU (DistServe, A100, 13B) ≈2× at 128 prefill tokens and >10× past 1 k; a 2-core CPU has no idle compute, so its slowdowns are far larger.");
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
}
