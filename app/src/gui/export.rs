//! Writing what the window shows: one chart or the whole window as PNG (a screenshot cropped
//! to the chart's rect), and the finished run as CSV and JSON in the CLI's schema (written by
//! the CLI's own writers). Files go next to the experiment file.
use super::app::Workbench;
use super::experiment_bar::labelled::combo;
use egui::{Color32, ColorImage, Rect, Ui};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub fn write_png(path: &Path, img: &ColorImage) -> Result<(), String> {
    let [w, h] = img.size;
    let bytes: Vec<u8> = img.pixels.iter().flat_map(|c| c.to_array()).collect();
    image::save_buffer(
        path,
        &bytes,
        w as u32,
        h as u32,
        image::ExtendedColorType::Rgba8,
    )
    .map_err(|e| format!("{}: {e}", path.display()))
}

/// Cuts `rect` (in points) out of a screenshot, clamped to the image: a chart partly off
/// screen gives its visible part, one wholly off gives an error (`ColorImage::region` would
/// panic on either).
pub fn crop(img: &ColorImage, rect: Rect, pixels_per_point: f32) -> Result<ColorImage, String> {
    let [w, h] = img.size;
    let px = |v: f32, max: usize| ((v * pixels_per_point).round().max(0.0) as usize).min(max);
    let (x0, x1) = (px(rect.min.x, w), px(rect.max.x, w));
    let (y0, y1) = (px(rect.min.y, h), px(rect.max.y, h));
    if x1 <= x0 || y1 <= y0 {
        return Err("the chart is not on screen: scroll it into view".into());
    }
    let mut pixels = Vec::with_capacity((x1 - x0) * (y1 - y0));
    for row in y0..y1 {
        pixels.extend_from_slice(&img.pixels[row * w + x0..row * w + x1]);
    }
    Ok(ColorImage::new([x1 - x0, y1 - y0], pixels))
}

/// The export state: the charts of the last frame, the one picked, the last outcome.
#[derive(Default)]
pub struct Exports {
    /// Charts drawn in the last complete frame: name and rect in points.
    pub charts: Vec<(String, Rect)>,
    drawing: Vec<(String, Rect)>,
    /// The chart "Save chart PNG" writes (the first one when unset or gone).
    pub chart: Option<String>,
    /// The part of the window the view is visible in: a chart scrolled under the bar above
    /// is cut to it.
    visible: Option<Rect>,
    /// What the last export wrote, or why it failed; the screenshot callback sets it later.
    pub outcome: Arc<Mutex<Option<Result<String, String>>>>,
}

pub const WHOLE_WINDOW: &str = "whole window";

impl Exports {
    /// Records a chart drawn this frame (the export bar offers it from the next frame on).
    pub fn note(&mut self, name: impl Into<String>, rect: Rect) {
        self.drawing.push((name.into(), rect));
    }

    /// Called once a frame before the charts are drawn.
    fn new_frame(&mut self) {
        self.charts = std::mem::take(&mut self.drawing);
    }

    pub fn set_outcome(&self, r: Result<String, String>) {
        if let Ok(mut g) = self.outcome.lock() {
            *g = Some(r);
        }
    }

    pub fn outcome(&self) -> Option<Result<String, String>> {
        self.outcome.lock().ok().and_then(|g| g.clone())
    }
}

/// `dir/experiment.ron` → `dir/experiment-<what>`: exports land next to the experiment file.
pub fn next_to(file: &str, what: &str) -> PathBuf {
    let p = Path::new(file);
    let stem = p
        .file_stem()
        .map_or("experiment".into(), |s| s.to_string_lossy());
    p.with_file_name(format!("{stem}-{what}"))
}

/// A chart's name as part of a file name.
fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    s.split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// Whether there is a finished run to export (cheap: the buttons ask every frame).
fn has_finished_run(w: &Workbench) -> bool {
    w.worker.info.is_some() && w.worker.store.modes.iter().any(|d| d.report.is_some())
}

/// The finished run's reports, or why there are none yet.
fn finished_reports(w: &Workbench) -> Result<Vec<engine::serve::cluster::RunReport>, String> {
    let reports = w.worker.store.reports();
    if reports.is_empty() || w.worker.info.is_none() {
        return Err("no finished run to export: run the experiment to the end first".into());
    }
    Ok(reports)
}

/// Writes the run as `bench --json` does.
pub fn export_json(w: &Workbench, path: &Path) -> Result<(), String> {
    let reports = finished_reports(w)?;
    let (Some(info), Some(exp)) = (&w.worker.info, &w.worker.ran) else {
        return Err("no finished run to export".into());
    };
    let text = crate::cli::bench::bench_json(
        &info.model_name,
        exp,
        info.cost.as_deref(),
        info.num_requests,
        &reports,
    )
    .map_err(|e| e.to_string())?;
    crate::cli::output::write_atomic(path, &text).map_err(|e| e.to_string())
}

/// Writes the run's CSV tables (summary, requests, tokens, steps) as `bench --csv` does.
pub fn export_csv(w: &Workbench, dir: &Path) -> Result<(), String> {
    let reports = finished_reports(w)?;
    crate::cli::report::write_csv(dir, &reports).map_err(|e| e.to_string())
}

/// Asks for a screenshot and writes `rect` of it to `path` when it arrives (next frame).
pub fn request_png(ctx: &egui::Context, exports: &Exports, rect: Rect, path: PathBuf) {
    let outcome = exports.outcome.clone();
    let ppp = ctx.pixels_per_point();
    exports.set_outcome(Ok(format!("taking a screenshot for {}…", path.display())));
    ctx.request_screenshot(move |img| {
        let r = crop(&img, rect, ppp)
            .and_then(|c| write_png(&path, &c))
            .map(|()| format!("wrote {}", path.display()));
        if let Ok(mut g) = outcome.lock() {
            *g = Some(r);
        }
    });
}

/// Export CSV, Export JSON, the chart picker and Save chart PNG; each view shows it first.
pub fn export_bar_ui(ui: &mut Ui, w: &mut Workbench) {
    w.worker.exports.new_frame();
    w.worker.exports.visible = Some(ui.clip_rect());
    ui.horizontal_wrapped(|ui| {
        let done = has_finished_run(w);
        let csv = next_to(&w.file, "run-csv");
        let json = next_to(&w.file, "run.json");
        let r = ui
            .add_enabled(done, egui::Button::new("Export CSV"))
            .on_hover_text(format!(
                "Write the finished run as CSV tables (summary, requests, tokens, steps), the \
                 schema of `goodput-lab bench --csv`, into {}",
                csv.display()
            ))
            .on_disabled_hover_text("Available once a run has finished.");
        if r.clicked() {
            let out = export_csv(w, &csv).map(|()| format!("wrote {}", csv.display()));
            w.worker.exports.set_outcome(out);
        }
        let r = ui
            .add_enabled(done, egui::Button::new("Export JSON"))
            .on_hover_text(format!(
                "Write the finished run as JSON, the schema of `goodput-lab bench --json`, to {}",
                json.display()
            ))
            .on_disabled_hover_text("Available once a run has finished.");
        if r.clicked() {
            let out = export_json(w, &json).map(|()| format!("wrote {}", json.display()));
            w.worker.exports.set_outcome(out);
        }
        ui.separator();
        chart_png_ui(ui, w);
        match w.worker.exports.outcome() {
            Some(Ok(m)) => {
                ui.weak(m);
            }
            Some(Err(e)) => {
                ui.colored_label(Color32::LIGHT_RED, e);
            }
            None => {}
        }
    });
}

fn chart_png_ui(ui: &mut Ui, w: &mut Workbench) {
    let ex = &mut w.worker.exports;
    let mut names: Vec<String> = ex.charts.iter().map(|(n, _)| n.clone()).collect();
    names.push(WHOLE_WINDOW.into());
    let picked = ex
        .chart
        .clone()
        .filter(|c| names.contains(c))
        .unwrap_or_else(|| names[0].clone());
    let mut choice = picked.clone();
    combo(
        ui,
        "Chart",
        &picked,
        "The chart Save chart PNG writes (or the whole window).",
        |ui| {
            for n in &names {
                ui.selectable_value(&mut choice, n.clone(), n);
            }
        },
    );
    // Remembered only once picked: until then the first chart of the view is the default.
    if choice != picked {
        ex.chart = Some(choice.clone());
    }
    let path = next_to(&w.file, &format!("{}.png", slug(&choice)));
    let clicked = ui
        .button("Save chart PNG")
        .on_hover_text(format!(
            "Write the picked chart as it is on screen to {}",
            path.display()
        ))
        .clicked();
    if clicked {
        let rect = ex.charts.iter().find(|(n, _)| *n == choice).map_or_else(
            || ui.ctx().content_rect(),
            |(_, r)| ex.visible.map_or(*r, |v| r.intersect(v)),
        );
        request_png(ui.ctx(), ex, rect, path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_clamps_to_the_image() {
        let img = ColorImage::new([4, 3], (0..12).map(Color32::from_gray).collect());
        let c = crop(
            &img,
            Rect::from_min_max([1.0, 1.0].into(), [9.0, 9.0].into()),
            1.0,
        )
        .unwrap();
        assert_eq!(c.size, [3, 2]);
        assert_eq!(c.pixels[0], Color32::from_gray(5));
        let off = Rect::from_min_max([10.0, 0.0].into(), [20.0, 3.0].into());
        assert!(crop(&img, off, 1.0).is_err());
        // Two pixels per point.
        let c = crop(
            &img,
            Rect::from_min_max([0.0, 0.0].into(), [1.0, 1.0].into()),
            2.0,
        )
        .unwrap();
        assert_eq!(c.size, [2, 2]);
    }

    #[test]
    fn exports_sit_next_to_the_experiment_file() {
        assert_eq!(
            next_to("dir/e.ron", "run.json"),
            PathBuf::from("dir/e-run.json")
        );
        assert_eq!(next_to("e.ron", "run-csv"), PathBuf::from("e-run-csv"));
        assert_eq!(slug("TTFT CDF (all modes)"), "ttft-cdf-all-modes");
    }
}
