//! The curves view: TTFT and TPOT CDFs of the modes overlaid, the five-stage latency breakdown,
//! and a rate sweep (attainment and goodput against request rate, per-GPU goodput at 90 %,
//! the SLO-scale curve).
use super::app::Workbench;
use super::downsample::min_max;
use egui::Ui;
use egui_plot::{Bar, BarChart, HLine, Legend, Line, Plot};
use engine::serve::metrics::mean_breakdown;
use engine::serve::sweep::{SweepPoint, TARGET};

fn cdf(mut v: Vec<f64>) -> Vec<[f64; 2]> {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len() as f64;
    let pts: Vec<[f64; 2]> = v
        .iter()
        .enumerate()
        .map(|(i, x)| [*x, (i + 1) as f64 / n])
        .collect();
    min_max(&pts, 400)
}

pub fn curves_ui(ui: &mut Ui, w: &mut Workbench) {
    super::export::export_bar_ui(ui, w);
    let modes = &w.worker.store.modes;
    let mut rects = Vec::new();
    ui.columns(2, |c| {
        let r = Plot::new("ttft_cdf").height(200.0).legend(Legend::default()).x_axis_label("TTFT (ms)").y_axis_label("share of requests").show(&mut c[0], |p| {
            for d in modes {
                p.line(Line::new(d.mode.name(), cdf(d.requests.iter().map(|r| r.ttft_ms).collect())));
            }
        }).response.on_hover_text("Cumulative distribution of TTFT: how many requests got their first token within x ms.");
        rects.push(("TTFT CDF", r.rect));
        let r = Plot::new("tpot_cdf").height(200.0).legend(Legend::default()).x_axis_label("TPOT (ms)").y_axis_label("share of requests").show(&mut c[1], |p| {
            for d in modes {
                let v = d.requests.iter().filter(|r| r.output_tokens > 1).map(|r| r.tpot_ms).collect();
                p.line(Line::new(d.mode.name(), cdf(v)));
            }
        }).response.on_hover_text("Cumulative distribution of TPOT (requests with more than one output token).");
        rects.push(("TPOT CDF", r.rect));
    });
    rects.push(("latency breakdown", breakdown_ui(ui, w)));
    for (name, rect) in rects {
        super::highlight::mark_named(ui, w.highlight, name, rect);
        w.worker.exports.note(name, rect);
    }
    sweep_ui(ui, w);
}

/// Mean latency per stage, stacked, one bar per mode (DistServe's breakdown).
fn breakdown_ui(ui: &mut Ui, w: &Workbench) -> egui::Rect {
    let names = [
        "prefill queue",
        "prefill",
        "KV transfer",
        "decode queue",
        "decode",
    ];
    let mut charts: Vec<Vec<Bar>> = vec![Vec::new(); 5];
    for (i, d) in w.worker.store.modes.iter().enumerate() {
        let b = mean_breakdown(&d.requests);
        let parts = [
            b.prefill_queue,
            b.prefill_exec,
            b.kv_transfer,
            b.decode_queue,
            b.decode_exec,
        ];
        let mut base = 0.0;
        for (k, v) in parts.iter().enumerate() {
            charts[k].push(
                Bar::new(i as f64, *v)
                    .base_offset(base)
                    .width(0.6)
                    .name(d.mode.name()),
            );
            base += v;
        }
    }
    Plot::new("breakdown").height(160.0).legend(Legend::default()).y_axis_label("mean ms per request").x_axis_label("0 aggregated · 1 chunked · 2 disaggregated").show(ui, |p| {
        for (bars, name) in charts.into_iter().zip(names) {
            p.bar_chart(BarChart::new(name, bars));
        }
    }).response.on_hover_text("Where a request's time goes, on average: prefill queue, prefill execution, KV transfer, decode queue, decode execution (they sum to the end-to-end latency).").rect
}

fn sweep_ui(ui: &mut Ui, w: &mut Workbench) {
    ui.horizontal(|ui| {
        let running = w.worker.sweep.handle.is_some();
        if !running && ui.button("Run sweep").on_hover_text("Every mode at 0.5×, 1×, 1.5× and 2× the request rate (or the scenario's sweep rates); the SLO-scale curve reuses the middle rate's run.").clicked() {
            w.start_sweep();
        }
        if running {
            let (done, total) = w.worker.sweep.progress;
            ui.add(egui::ProgressBar::new(done as f32 / total.max(1) as f32).text(format!("sweep {done}/{total}")).desired_width(200.0));
            if ui.button("Cancel sweep").on_hover_text("Stop the running sweep.").clicked() {
                if let Some(h) = &w.worker.sweep.handle {
                    h.cancel();
                }
            }
        }
        if let Some(e) = &w.worker.sweep.error {
            ui.colored_label(egui::Color32::LIGHT_RED, e);
        }
    });
    let Some(r) = &w.worker.sweep.report else {
        return;
    };
    let mut rects = Vec::new();
    ui.columns(3, |c| {
        let lines = |f: fn(&SweepPoint) -> [f64; 2]| -> Vec<(&str, Vec<[f64; 2]>)> {
            r.modes
                .iter()
                .map(|m| (m.mode.name(), m.points.iter().map(f).collect()))
                .collect()
        };
        let attain = lines(|q| [q.rate, q.attainment]);
        let rect = mode_lines(
            &mut c[0],
            "attain_rate",
            "request rate (req/s)",
            "attainment",
            attain,
            |p| {
                p.hline(HLine::new("90 %", TARGET));
            },
        );
        rects.push(("attainment vs rate", rect));
        let goodput = lines(|q| [q.rate, q.goodput_rps]);
        let rect = mode_lines(
            &mut c[1],
            "goodput_rate",
            "request rate (req/s)",
            "goodput (req/s)",
            goodput,
            |_| {},
        );
        rects.push(("goodput vs rate", rect));
        let scale = r
            .modes
            .iter()
            .map(|m| {
                (
                    m.mode.name(),
                    m.slo_scale
                        .iter()
                        .map(|q| [q.scale, q.attainment])
                        .collect(),
                )
            })
            .collect();
        let rect = mode_lines(
            &mut c[2],
            "slo_scale",
            "SLO scale",
            "attainment",
            scale,
            |_| {},
        );
        rects.push(("SLO scale", rect));
    });
    let hl = w.highlight;
    super::highlight::marked(ui, hl, engine::lesson::Chart::PerGpu, |ui| {
        ui.horizontal(|ui| {
        ui.label("Per-GPU goodput at 90 % attainment:").on_hover_text("DistServe's measure: the highest rate per GPU at which at least 90 % of requests meet both SLOs.");
        for m in &r.modes {
            let v = m.per_gpu_goodput_rps.map_or("below the lowest rate".into(), |v| format!("{v:.3} req/s"));
            ui.label(format!("{}: {v}", m.mode.name()));
        }
        ui.label(format!("(SLO-scale curve from {})", r.slo_scale_source));
    })
    });
    for (name, rect) in rects {
        super::highlight::mark_named(ui, hl, name, rect);
        w.worker.exports.note(name, rect);
    }
}

/// One line per mode in a small plot (the sweep's three charts); returns the plot's rect.
fn mode_lines(
    ui: &mut Ui,
    id: &str,
    x: &str,
    y: &str,
    lines: Vec<(&str, Vec<[f64; 2]>)>,
    extra: impl FnOnce(&mut egui_plot::PlotUi),
) -> egui::Rect {
    Plot::new(id)
        .height(180.0)
        .legend(Legend::default())
        .x_axis_label(x)
        .y_axis_label(y)
        .show(ui, |p| {
            for (name, pts) in lines {
                p.line(Line::new(name, pts));
            }
            extra(p);
        })
        .response
        .rect
}
