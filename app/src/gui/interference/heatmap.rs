//! The interference heatmap: decode batch (rows) × prefill length (columns), each cell coloured
//! by the decode step's slowdown on a log scale and labelled with it, and a colour legend.
use egui::{Align2, Color32, FontId, Rect, Sense, Stroke, Ui, Vec2};
use engine::measure::interference::InterferenceRow;

/// The table as a grid: `cells[row][col]` is the slowdown of `batches[row]` with a prefill of
/// `lens[col]` tokens, `None` where it was not measured (or is not a finite number).
#[derive(Debug, Clone, PartialEq)]
pub struct Heat {
    pub batches: Vec<usize>,
    pub lens: Vec<usize>,
    pub cells: Vec<Vec<Option<f64>>>,
    /// The largest slowdown (at least 1).
    pub max: f64,
}

pub fn heat(rows: &[InterferenceRow]) -> Heat {
    let mut batches: Vec<usize> = rows.iter().map(|r| r.decode_batch).collect();
    let mut lens: Vec<usize> = rows.iter().map(|r| r.prefill_len).collect();
    batches.sort_unstable();
    batches.dedup();
    lens.sort_unstable();
    lens.dedup();
    let mut cells = vec![vec![None; lens.len()]; batches.len()];
    let mut max = 1.0f64;
    for r in rows.iter().filter(|r| r.slowdown.is_finite()) {
        let (Ok(i), Ok(j)) = (
            batches.binary_search(&r.decode_batch),
            lens.binary_search(&r.prefill_len),
        ) else {
            continue;
        };
        cells[i][j] = Some(r.slowdown);
        max = max.max(r.slowdown);
    }
    Heat {
        batches,
        lens,
        cells,
        max,
    }
}

/// Where `slowdown` sits between 1× and `max` on a log scale, in 0..=1.
pub fn level(slowdown: f64, max: f64) -> f32 {
    if max <= 1.0 || slowdown <= 1.0 {
        return 0.0;
    }
    (slowdown.ln() / max.ln()).clamp(0.0, 1.0) as f32
}

/// Cool blue (no slowdown) through amber to red (the worst measured).
pub fn color(level: f32) -> Color32 {
    let stops = [
        (0.0, Color32::from_rgb(40, 80, 140)),
        (0.5, Color32::from_rgb(225, 165, 50)),
        (1.0, Color32::from_rgb(210, 50, 45)),
    ];
    let l = level.clamp(0.0, 1.0);
    let (a, b) = if l <= 0.5 {
        (stops[0], stops[1])
    } else {
        (stops[1], stops[2])
    };
    let t = (l - a.0) / (b.0 - a.0);
    let mix = |x: u8, y: u8| (x as f32 + (y as f32 - x as f32) * t).round() as u8;
    Color32::from_rgb(
        mix(a.1.r(), b.1.r()),
        mix(a.1.g(), b.1.g()),
        mix(a.1.b(), b.1.b()),
    )
}

/// Dark text on light cells, light text on dark ones.
fn text_on(c: Color32) -> Color32 {
    let luma = 0.299 * c.r() as f32 + 0.587 * c.g() as f32 + 0.114 * c.b() as f32;
    if luma > 140.0 {
        Color32::BLACK
    } else {
        Color32::WHITE
    }
}

const CELL: Vec2 = Vec2::new(64.0, 28.0);
const LABEL_W: f32 = 56.0;

/// Draws the heatmap; returns its rect (for the PNG export).
pub fn heatmap_ui(ui: &mut Ui, rows: &[InterferenceRow]) -> Rect {
    let h = heat(rows);
    let (nr, nc) = (h.batches.len(), h.lens.len());
    // Title row, the cells, the column labels and axis title, then the legend.
    let size = Vec2::new(
        LABEL_W + CELL.x * nc.max(1) as f32,
        20.0 + CELL.y * nr as f32 + 40.0 + 36.0,
    );
    let (rect, resp) = ui.allocate_exact_size(size, Sense::hover());
    resp.widget_info(|| {
        egui::WidgetInfo::labeled(egui::accesskit::Role::Image, true, "interference heatmap")
    });
    resp.on_hover_text(
        "Each cell: a decode batch (row) sharing its step with a prefill of that many tokens \
         (column); colour and number give the decode step's slowdown = step time ÷ the same \
         batch's step alone (log colour scale from 1× to the worst measured).",
    );
    if !ui.is_rect_visible(rect) {
        return rect;
    }
    let p = ui.painter_at(rect);
    let font = FontId::proportional(13.0);
    let fg = ui.visuals().text_color();
    let o = rect.min;
    p.text(
        o + Vec2::new(0.0, 2.0),
        Align2::LEFT_TOP,
        "slowdown (×): decode batch per row",
        font.clone(),
        fg,
    );
    let top = o.y + 20.0;
    if nr == 0 {
        p.text(
            o + Vec2::new(0.0, 30.0),
            Align2::LEFT_TOP,
            "nothing measured yet",
            font,
            ui.visuals().weak_text_color(),
        );
        return rect;
    }
    for (i, b) in h.batches.iter().enumerate() {
        let y = top + CELL.y * i as f32;
        p.text(
            egui::pos2(o.x + LABEL_W - 8.0, y + CELL.y / 2.0),
            Align2::RIGHT_CENTER,
            b.to_string(),
            font.clone(),
            fg,
        );
        for (j, v) in h.cells[i].iter().enumerate() {
            let cell = Rect::from_min_size(egui::pos2(o.x + LABEL_W + CELL.x * j as f32, y), CELL)
                .shrink(1.0);
            let (fill, text) = match v {
                Some(s) => (color(level(*s, h.max)), format!("{s:.2}")),
                None => (ui.visuals().faint_bg_color, "–".into()),
            };
            p.rect_filled(cell, 2.0, fill);
            p.text(
                cell.center(),
                Align2::CENTER_CENTER,
                text,
                font.clone(),
                text_on(fill),
            );
        }
    }
    let below = top + CELL.y * nr as f32;
    for (j, l) in h.lens.iter().enumerate() {
        let x = o.x + LABEL_W + CELL.x * (j as f32 + 0.5);
        p.text(
            egui::pos2(x, below + 2.0),
            Align2::CENTER_TOP,
            l.to_string(),
            font.clone(),
            fg,
        );
    }
    p.text(
        egui::pos2(o.x + LABEL_W, below + 20.0),
        Align2::LEFT_TOP,
        "prefill tokens in the same step",
        font.clone(),
        fg,
    );
    legend(
        &p,
        egui::pos2(o.x + LABEL_W, below + 42.0),
        h.max,
        &font,
        fg,
    );
    rect
}

/// A gradient bar from 1× to the worst slowdown, labelled at both ends and the middle.
fn legend(p: &egui::Painter, at: egui::Pos2, max: f64, font: &FontId, fg: Color32) {
    let (w, hgt, steps) = (200.0, 12.0, 40);
    for k in 0..steps {
        let l = k as f32 / (steps - 1) as f32;
        let r = Rect::from_min_size(
            egui::pos2(at.x + w * k as f32 / steps as f32, at.y),
            Vec2::new(w / steps as f32 + 0.5, hgt),
        );
        p.rect_filled(r, 0.0, color(l));
    }
    p.rect_stroke(
        Rect::from_min_size(at, Vec2::new(w, hgt)),
        0.0,
        Stroke::new(1.0, fg),
        egui::StrokeKind::Outside,
    );
    let mid = max.sqrt();
    for (x, v) in [(0.0, 1.0), (w / 2.0, mid), (w, max)] {
        p.text(
            egui::pos2(at.x + x, at.y + hgt + 2.0),
            Align2::CENTER_TOP,
            format!("{v:.1}×"),
            font.clone(),
            fg,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(b: usize, l: usize, s: f64) -> InterferenceRow {
        InterferenceRow {
            decode_batch: b,
            prefill_len: l,
            context: 128,
            step_ms: s,
            slowdown: s,
        }
    }

    #[test]
    fn the_grid_has_a_cell_per_batch_and_length() {
        let rows = [
            row(8, 0, 1.0),
            row(8, 512, 4.0),
            row(1, 0, 1.0),
            row(1, 512, f64::NAN),
        ];
        let h = heat(&rows);
        assert_eq!(h.batches, vec![1, 8]);
        assert_eq!(h.lens, vec![0, 512]);
        assert_eq!(
            h.cells,
            vec![vec![Some(1.0), None], vec![Some(1.0), Some(4.0)]]
        );
        assert_eq!(h.max, 4.0);
        assert_eq!(heat(&[]).cells.len(), 0);
    }

    #[test]
    fn colours_run_from_cool_to_hot() {
        assert_eq!(level(1.0, 4.0), 0.0);
        assert_eq!(level(4.0, 4.0), 1.0);
        assert!((level(2.0, 4.0) - 0.5).abs() < 1e-6);
        assert_eq!(level(3.0, 1.0), 0.0);
        assert_eq!(color(0.0), Color32::from_rgb(40, 80, 140));
        assert_eq!(color(1.0), Color32::from_rgb(210, 50, 45));
        assert!(color(0.9).r() > color(0.1).r());
    }
}
