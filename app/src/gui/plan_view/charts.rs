//! The Plan view's two charts: the Pareto frontier of tokens/s per GPU against tokens/s per
//! user, and attainment against request rate per GPU for the best plans.
use egui::{Color32, Ui};
use egui_plot::{Corner, HLine, Legend, Line, MarkerShape, Plot, Points};
use engine::plan::{Evaluated, PlanReport};

const FAINT: Color32 = Color32::from_rgba_premultiplied(110, 110, 110, 110);
const FRONTIER: Color32 = Color32::from_rgb(90, 170, 255);
const SELECTED: Color32 = Color32::from_rgb(255, 165, 40);
/// One colour per curve (a line and its markers share it).
const PALETTE: [Color32; 6] = [
    Color32::from_rgb(90, 170, 255),
    Color32::from_rgb(110, 200, 110),
    Color32::from_rgb(230, 120, 200),
    Color32::from_rgb(220, 200, 80),
    Color32::from_rgb(150, 130, 240),
    Color32::from_rgb(255, 165, 40),
];
/// Plans whose goodput curves are drawn (plus the selected one).
const CURVES: usize = 5;

/// Every simulated rate of `e` that met the target, as (tokens/s/user, tokens/s/GPU).
fn met(e: &Evaluated, target: f64) -> impl Iterator<Item = [f64; 2]> + '_ {
    e.curve
        .iter()
        .filter(move |s| s.attainment >= target && s.tokens_per_s_per_user > 0.0)
        .map(|s| [s.tokens_per_s_per_user, s.tokens_per_s_per_gpu])
}

pub fn pareto_ui(ui: &mut Ui, r: &PlanReport, selected: Option<usize>, hover: bool) -> egui::Rect {
    let target = r.spec.attainment;
    let all: Vec<[f64; 2]> = r.plans.iter().flat_map(|e| met(e, target)).collect();
    let frontier: Vec<[f64; 2]> = r
        .frontier
        .iter()
        .map(|p| [p.tokens_per_s_per_user, p.tokens_per_s_per_gpu])
        .collect();
    let chosen = selected.and_then(|i| Some((i, r.plans.get(i)?)));
    Plot::new("plan_pareto")
        .height(280.0)
        .legend(Legend::default().position(Corner::LeftBottom))
        .x_axis_label("tokens/s per user")
        .y_axis_label("tokens/s per GPU")
        .include_x(0.0)
        .include_y(0.0)
        .show_crosshair(hover)
        .allow_scroll(false)
        .show(ui, |p| {
            p.points(Points::new("simulated rates meeting the target", all).color(FAINT).radius(2.0));
            p.line(Line::new("frontier", frontier.clone()).color(FRONTIER).width(2.0));
            p.points(Points::new("frontier", frontier).color(FRONTIER).radius(3.5));
            if let Some((i, e)) = chosen {
                let pts: Vec<[f64; 2]> = met(e, target).collect();
                p.points(
                    Points::new(format!("selected #{}", i + 1), pts)
                        .color(SELECTED)
                        .shape(MarkerShape::Diamond)
                        .radius(5.0),
                );
            }
        })
        .response
        .on_hover_text("Every simulated rate of every plan that met the attainment target (faint), and the frontier: the points no other beats on both throughput per GPU and speed per user. Raising the load moves a plan toward more per GPU and less per user.")
        .rect
}

pub fn goodput_curves_ui(
    ui: &mut Ui,
    r: &PlanReport,
    selected: Option<usize>,
    hover: bool,
) -> egui::Rect {
    let mut shown: Vec<usize> = (0..r.plans.len().min(CURVES)).collect();
    if let Some(i) = selected.filter(|&i| i >= CURVES && i < r.plans.len()) {
        shown.push(i);
    }
    Plot::new("plan_goodput")
        .height(280.0)
        .legend(
            Legend::default()
                .follow_insertion_order(true)
                .position(Corner::LeftBottom),
        )
        .x_axis_label("request rate per GPU (req/s)")
        .y_axis_label("attainment")
        .include_y(0.0)
        .include_y(1.0)
        .show_crosshair(hover)
        .allow_scroll(false)
        .show(ui, |p| {
            // A bottom legend lists items last-first, so the best plan goes in last: first in
            // the legend and drawn on top.
            p.hline(HLine::new("target", r.spec.attainment).color(Color32::GRAY));
            for (k, i) in shown.into_iter().enumerate().rev() {
                let color = PALETTE[k % PALETTE.len()];
                let e = &r.plans[i];
                let gpus = e.candidate.gpus().max(1) as f64;
                let pts: Vec<[f64; 2]> = e.curve.iter().map(|s| [s.rate / gpus, s.attainment]).collect();
                let name = format!("#{} {}", i + 1, e.label);
                let width = if selected == Some(i) { 3.0 } else { 1.5 };
                p.line(Line::new(name.clone(), pts.clone()).color(color).width(width));
                p.points(Points::new(name, pts).color(color).radius(2.5));
            }
        })
        .response
        .on_hover_text("Share of requests meeting both SLOs at each simulated rate, per GPU, for the best plans; a plan's goodput is the highest rate still at or above the target line.")
        .rect
}
