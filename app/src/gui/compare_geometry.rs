//! What the compare view's charts draw for one mode, reduced to what the screen can show and
//! kept until the data, the SLO, the shared scales or the column width change: with 10 000
//! requests and 100 000 steps a frame would otherwise spend its time rebuilding the same points.
use super::downsample::{bucket_max, min_max, thin_scatter};
use super::store::ModeData;
use egui_plot::PlotPoint;
use engine::serve::metrics::Slo;

/// Everything the geometry depends on; equal keys give equal geometry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Key {
    requests: usize,
    steps: usize,
    transfers: usize,
    preemptions: usize,
    slo: Slo,
    max: (f64, f64),
    end_s: f64,
    width: u32,
}

#[derive(Debug, Default, Clone)]
pub struct Geometry {
    /// Scatter markers: met both SLOs, missed one.
    pub met: Vec<PlotPoint>,
    pub missed: Vec<PlotPoint>,
    /// Per lane, the outline of the most tokens per pixel column, and of decode tokens.
    pub totals: Vec<Vec<PlotPoint>>,
    pub decodes: Vec<Vec<PlotPoint>>,
    /// KV transfers as arrows from the sending lane's top to the receiving lane's bottom.
    pub transfer_from: Vec<PlotPoint>,
    pub transfer_to: Vec<PlotPoint>,
    /// Per lane, KV blocks in use (min/max per column), and one mark per preempted column.
    pub kv: Vec<Vec<PlotPoint>>,
    pub preempted: Vec<PlotPoint>,
}

/// Scatter and timeline reduce to the column's width in pixels; the KV chart to half of it.
pub fn key(d: &ModeData, slo: Slo, max: (f64, f64), end_s: f64, width: f32) -> Key {
    Key {
        requests: d.requests.len(),
        steps: d.steps.len(),
        transfers: d.transfers.len(),
        preemptions: d.preemptions.len(),
        slo,
        max,
        end_s,
        width: width.max(0.0) as u32,
    }
}

fn points(v: Vec<[f64; 2]>) -> Vec<PlotPoint> {
    v.into_iter().map(PlotPoint::from).collect()
}

pub fn build(d: &ModeData, k: &Key) -> Geometry {
    let width = k.width as f32;
    let (met, missed) = scatter(d, k.slo, k.max, width);
    let (totals, decodes) = timeline(d, k.end_s, width);
    // At most ~400 transfer lines: denser ones would overlap into one band anyway.
    let stride = d.transfers.len().div_ceil(400).max(1);
    let shown = || d.transfers.iter().step_by(stride);
    let transfer_from = shown()
        .map(|t| PlotPoint::new(t.start_s, t.from as f64 + 0.95))
        .collect();
    let transfer_to = shown()
        .map(|t| PlotPoint::new(t.end_s, t.to as f64 + 0.05))
        .collect();
    let kv_buckets = (width as usize / 2).clamp(50, 400);
    let kv = (0..d.gpus)
        .map(|lane| {
            let pts: Vec<[f64; 2]> = d
                .steps
                .iter()
                .filter(|s| s.instance == lane)
                .map(|s| [s.start_s, s.kv_blocks as f64])
                .collect();
            points(min_max(&pts, kv_buckets))
        })
        .collect();
    // One mark per pixel column: a run under KV pressure preempts thousands of times.
    let pre: Vec<[f64; 2]> = d.preemptions.iter().map(|&(_, t)| [t, 0.0]).collect();
    let preempted = points(thin_scatter(&pre, [k.end_s, 1.0], kv_buckets, 1));
    Geometry {
        met,
        missed,
        totals,
        decodes,
        transfer_from,
        transfer_to,
        kv,
        preempted,
    }
}

/// One marker per 4×4-pixel cell: the markers are that wide anyway, and a software rasteriser
/// (Mesa llvmpipe) pays for every one.
fn scatter(
    d: &ModeData,
    slo: Slo,
    max: (f64, f64),
    width: f32,
) -> (Vec<PlotPoint>, Vec<PlotPoint>) {
    let (mut met, mut missed) = (Vec::new(), Vec::new());
    for r in &d.requests {
        let p = [r.ttft_ms, r.tpot_ms];
        if r.ttft_ms <= slo.ttft_ms && r.tpot_ms <= slo.tpot_ms {
            met.push(p);
        } else {
            missed.push(p);
        }
    }
    let bounds = [max.0.max(slo.ttft_ms) * 1.05, max.1.max(slo.tpot_ms) * 1.05];
    let cols = (width / 4.0).max(25.0) as usize;
    (
        points(thin_scatter(&met, bounds, cols, 45)),
        points(thin_scatter(&missed, bounds, cols, 45)),
    )
}

/// Per lane, two filled step outlines: total tokens (orange shows where prefill sits on top)
/// and decode tokens (blue). A few hundred points each, whatever the number of steps.
type Outlines = Vec<Vec<PlotPoint>>;
fn timeline(d: &ModeData, end_s: f64, width: f32) -> (Outlines, Outlines) {
    let buckets = (width as usize).clamp(50, 800);
    let peak = d
        .steps
        .iter()
        .map(|s| s.prefill_tokens + s.decode_tokens)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let step_w = end_s / buckets as f64;
    let (mut totals, mut decodes) = (Vec::new(), Vec::new());
    for lane in 0..d.gpus.max(1) {
        let steps: Vec<_> = d.steps.iter().filter(|s| s.instance == lane).collect();
        let at = |s: &&engine::serve::events::StepRecord| s.start_s;
        let dec = bucket_max(&steps, 0.0, end_s, buckets, at, |s| s.decode_tokens as f64);
        let tot = bucket_max(&steps, 0.0, end_s, buckets, at, |s| {
            (s.prefill_tokens + s.decode_tokens) as f64
        });
        let base = lane as f64;
        let outline = |v: &[f64]| -> Vec<PlotPoint> {
            v.iter()
                .enumerate()
                .flat_map(|(i, h)| {
                    let y = base + 0.9 * h / peak;
                    [
                        PlotPoint::new(i as f64 * step_w, y),
                        PlotPoint::new((i + 1) as f64 * step_w, y),
                    ]
                })
                .collect()
        };
        totals.push(outline(&tot));
        decodes.push(outline(&dec));
    }
    (totals, decodes)
}

/// The geometry for `k`, rebuilt only when the key changed since the last frame.
pub fn cached(d: &mut ModeData, k: Key) -> std::sync::Arc<Geometry> {
    match &d.geometry {
        Some((old, g)) if *old == k => g.clone(),
        _ => {
            let g = std::sync::Arc::new(build(d, &k));
            d.geometry = Some((k, g.clone()));
            g
        }
    }
}
