//! The chart a lesson points at is outlined where it is drawn: each chart reports its rect and
//! its kind, and the outline is painted when it is the one asked for.
use egui::{Color32, Rect, Stroke, StrokeKind, Ui};
use engine::lesson::Chart;

pub const OUTLINE: Color32 = Color32::from_rgb(250, 200, 40);

/// Outlines `rect` if `chart` is the highlighted one.
pub fn mark(ui: &Ui, active: Option<Chart>, chart: Chart, rect: Rect) {
    if active == Some(chart) {
        ui.painter().rect_stroke(
            rect.expand(4.0),
            6.0,
            Stroke::new(3.0, OUTLINE),
            StrokeKind::Outside,
        );
    }
}

/// Draws `add` in its own scope and outlines it if `chart` is the highlighted one.
pub fn marked<R>(
    ui: &mut Ui,
    active: Option<Chart>,
    chart: Chart,
    add: impl FnOnce(&mut Ui) -> R,
) -> R {
    let inner = ui.scope(add);
    mark(ui, active, chart, inner.response.rect);
    inner.inner
}

/// The lesson chart an exported chart name shows (the views name their charts for export).
pub fn chart_of(name: &str) -> Option<Chart> {
    let kinds = [
        ("TTFT vs TPOT", Chart::Scatter),
        ("step timeline", Chart::Timeline),
        ("KV blocks", Chart::KvBlocks),
        ("TTFT CDF", Chart::Cdf),
        ("TPOT CDF", Chart::Cdf),
        ("latency breakdown", Chart::Breakdown),
        ("attainment vs rate", Chart::GoodputVsRate),
        ("goodput vs rate", Chart::GoodputVsRate),
        ("SLO scale", Chart::SloScale),
        ("slowdown lines", Chart::SlowdownCurve),
        ("slowdown heatmap", Chart::Heatmap),
        ("request timeline", Chart::RequestTimeline),
    ];
    kinds
        .iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map(|&(_, c)| c)
}

/// Outlines the chart exported as `name` if it is the highlighted kind.
pub fn mark_named(ui: &Ui, active: Option<Chart>, name: &str, rect: Rect) {
    if let Some(c) = chart_of(name) {
        mark(ui, active, c, rect);
    }
}
