//! Presenter mode's two charts: the TPOT of the last seconds as a large gauge against the SLO,
//! and every gap between tokens over run time (a stall is a spike).
use super::presenter_stream::{Streams, WINDOW_S};
use egui::{Color32, RichText, Ui};
use egui_plot::{HLine, Line, Plot};

pub const BIG: f32 = 26.0;
pub const GOOD: Color32 = Color32::from_rgb(90, 220, 120);
pub const BAD: Color32 = Color32::from_rgb(255, 90, 80);

/// The worst stream's TPOT of the last seconds against the SLO, large.
pub fn gauge_ui(ui: &mut Ui, s: &Streams) {
    let recent = s.recent_tpot_ms();
    let slo = s.slo_tpot_ms();
    let (text, color) = match (recent, slo) {
        (Some(v), Some(slo)) => (format!("{v:.0} ms"), if v <= slo { GOOD } else { BAD }),
        (Some(v), None) => (format!("{v:.0} ms"), Color32::WHITE),
        _ => ("-".into(), Color32::GRAY),
    };
    ui.label(
        RichText::new(format!("TPOT of the worst stream, last {WINDOW_S:.0} s"))
            .size(BIG * 0.7)
            .color(Color32::LIGHT_GRAY),
    );
    ui.label(RichText::new(text).size(BIG * 3.0).strong().color(color));
    if let (Some(v), Some(slo)) = (recent, slo) {
        let frac = (v / (3.0 * slo)).min(1.0) as f32;
        let (rect, _) =
            ui.allocate_exact_size(egui::vec2(ui.available_width(), 28.0), egui::Sense::hover());
        let painter = ui.painter();
        painter.rect_filled(rect, 6.0, Color32::from_gray(40));
        let mut fill = rect;
        fill.set_width(rect.width() * frac);
        painter.rect_filled(fill, 6.0, color);
        let x = rect.left() + rect.width() / 3.0;
        painter.line_segment(
            [
                egui::pos2(x, rect.top() - 4.0),
                egui::pos2(x, rect.bottom() + 4.0),
            ],
            egui::Stroke::new(4.0, Color32::WHITE),
        );
        ui.label(
            RichText::new(format!(
                "SLO {slo:.0} ms (white mark): 2.5× this machine's steady TPOT"
            ))
            .size(BIG * 0.5)
            .color(Color32::LIGHT_GRAY),
        );
    }
}

/// Every token's gap since the previous one over run time: a stall is a spike.
pub fn itl_plot_ui(ui: &mut Ui, s: &Streams) {
    let pts = s.gap_points();
    Plot::new("presenter_itl")
        .height(ui.available_height().clamp(200.0, 420.0))
        .x_axis_label("run time (s)")
        .y_axis_label("gap between tokens (ms)")
        .include_y(0.0)
        .show_crosshair(false)
        .allow_scroll(false)
        .show(ui, |plot| {
            plot.line(
                Line::new("token gaps", pts)
                    .color(Color32::from_rgb(90, 170, 255))
                    .width(3.0),
            );
            if let Some(slo) = s.slo_tpot_ms() {
                plot.hline(HLine::new("SLO", slo).color(Color32::WHITE).width(2.0));
            }
            for t in &s.injections {
                plot.vline(
                    egui_plot::VLine::new("injected", *t)
                        .color(Color32::from_rgb(255, 190, 40))
                        .width(3.0),
                );
            }
        });
}
