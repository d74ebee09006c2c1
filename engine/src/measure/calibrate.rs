//! Calibration: a grid of real steps on the device, fitted to the roofline of a hardware
//! profile as `a + max(b_c · compute, b_m · memory) + s · min(…) + b_a · attention`. The result
//! is a profile of its own (`this-machine`) that the modeled clock uses like any other.
use super::interference::{measure, InterferenceConfig};
use super::steps::{time_steps, StepShape, Timing};
use crate::backend::{Device, DeviceModel};
use crate::error::Result;
use crate::serve::cost_model::{CostModel, StepWork};
use crate::serve::events::{Emitter, RunControl};
use crate::serve::hardware::{Correction, Hardware, THIS_MACHINE};
use serde::{Deserialize, Serialize};

/// One grid point: its shape, what it took, what the fit predicts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub work: StepWork,
    pub measured_s: f64,
    pub predicted_s: f64,
}

/// The grids a device is calibrated on: decode batches with and without a co-scheduled
/// prompt at one context, and the same decode batches alone at 4× that context, so that the
/// attention term varies apart from the GEMMs. A GPU stays memory-bound up to hundreds of
/// prefill tokens: its grid must reach compute-bound steps too, or the compute multiplier has
/// nothing to fit; and it must hold the small chunks chunked prefill makes (64–256 tokens),
/// where compute and memory time are close and their overlap decides the step's time.
pub fn grids(device: Device) -> Vec<InterferenceConfig> {
    let base = grid(device);
    let long = InterferenceConfig {
        prefill_lens: vec![0],
        context: base.context * 4,
        ..base.clone()
    };
    vec![base, long]
}

fn grid(device: Device) -> InterferenceConfig {
    match device {
        Device::Cpu => InterferenceConfig {
            decode_batches: vec![1, 8, 32],
            prefill_lens: vec![0, 64, 256],
            context: 128,
            repeats: 2,
            seed: 0,
        },
        Device::Cuda(_) => InterferenceConfig {
            decode_batches: vec![1, 8, 32],
            prefill_lens: vec![0, 64, 256, 512, 2048],
            context: 512,
            repeats: 3,
            seed: 0,
        },
    }
}

/// Prompts timed alone (no decode rows): the steps of a disaggregated prefill instance.
pub fn prefill_only_lens(device: Device) -> Vec<usize> {
    match device {
        Device::Cpu => vec![64, 256],
        Device::Cuda(_) => vec![64, 256, 512, 2048],
    }
}

/// How many step shapes `calibrate_samples` times on `device`.
pub fn shape_count(device: Device) -> usize {
    let grid: usize = grids(device)
        .iter()
        .map(|g| g.decode_batches.len() * g.prefill_lens.len())
        .sum();
    grid + prefill_only_lens(device).len()
}

/// Measures the grid on `model` and fits the roofline of `hardware` (its own correction, if
/// any, is ignored) to it. Returns the fitted cost model and every sample.
pub fn calibrate_samples(
    model: &DeviceModel,
    hardware: Hardware,
    emitter: &Emitter,
) -> Result<(CostModel, Vec<Sample>)> {
    let mut pairs = Vec::new();
    let grid = grids(model.device());
    for g in &grid {
        let rows = measure(model, g, emitter, &RunControl::default())?;
        pairs.extend(rows.iter().map(|r| (r.work(), r.step_ms / 1e3)));
    }
    let repeats = grid.first().map_or(2, |g| g.repeats);
    let alone = prefill_only_lens(model.device());
    let shape = |prefill| StepShape {
        decode: 0,
        context: 0,
        prefill,
    };
    // Each timed prompt is freed after its step, so the longest one sizes the session.
    let longest = alone.iter().copied().max().unwrap_or(0);
    let mut s = model.session_for(shape(longest).kv_tokens(repeats, 16))?;
    let vocab = model.spec().vocab_size;
    let timing = Timing::with_sampling_fixed_context();
    for (i, &l) in alone.iter().enumerate() {
        let shape = shape(l);
        let ms = time_steps(s.as_mut(), vocab, shape, repeats, i as u64, timing)?;
        emitter.progress(
            None,
            i + 1,
            alone.len(),
            format!("prefill {l} alone: {ms:.2} ms"),
        );
        pairs.push((shape.work(), ms / 1e3));
    }
    let hardware = Hardware {
        correction: None,
        ..hardware
    };
    let mut cm = CostModel::roofline_only(model.spec().clone(), hardware);
    cm.fit(&pairs)?;
    let samples = pairs
        .iter()
        .map(|&(work, measured_s)| Sample {
            work,
            measured_s,
            predicted_s: cm.predict_s(&work),
        })
        .collect();
    Ok((cm, samples))
}

/// `calibrate_samples` without the samples.
pub fn calibrate(model: &DeviceModel, hardware: Hardware, emitter: &Emitter) -> Result<CostModel> {
    Ok(calibrate_samples(model, hardware, emitter)?.0)
}

/// The profile `calibrate` stores: the base profile with the fitted correction, named
/// `this-machine`.
pub fn profile(cm: &CostModel, model_name: &str, device: Device) -> Hardware {
    let fitted_on = format!("{model_name} on {device}");
    Hardware {
        name: THIS_MACHINE.into(),
        description: format!("{} calibrated on {fitted_on}", cm.hardware.name),
        correction: Some(Correction {
            a_s: cm.a_s,
            b_compute: cm.b_compute,
            b_memory: cm.b_memory,
            b_attention: cm.b_attention,
            serial: cm.serial,
            fitted_on,
        }),
        ..cm.hardware.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A profile written from a fit predicts what the fit predicts, through the modeled
    /// clock's own constructor.
    #[test]
    fn a_stored_calibration_drives_the_modeled_clock() {
        let spec = crate::model::cards::card("smollm2-135m")
            .expect("card")
            .spec;
        let mut cm = CostModel::roofline_only(spec.clone(), Hardware::named("cpu").expect("cpu"));
        let shapes: Vec<StepWork> = [(0, 1), (0, 32), (256, 8), (64, 1), (256, 0), (0, 8)]
            .iter()
            .map(|&(p, d)| StepWork {
                prefill_tokens: p,
                decode_tokens: d,
                attn_pairs: p * p / 2 + d * 128,
                kv_tokens_read: p + d * 128,
                prefill_attn_pairs: p * p / 2,
                prefill_kv_tokens_read: p,
                lm_head_rows: Some(d + usize::from(p > 0)),
            })
            .collect();
        // Planted: 3 ms fixed, 2.5 × GEMM compute, 1.5 × GEMM memory, 1.2 × attention.
        let planted: Vec<_> = shapes
            .iter()
            .map(|s| {
                let t = cm.terms(s, 1);
                (
                    *s,
                    3e-3 + (2.5 * t.gemm_compute).max(1.5 * t.gemm_memory) + 1.2 * t.attention,
                )
            })
            .collect();
        cm.fit(&planted).expect("fit");
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("this-machine.ron");
        profile(&cm, "smollm2-135m", Device::Cpu)
            .save(&path)
            .expect("save");
        let loaded = Hardware::load(&path).expect("load");
        let k = loaded.correction.as_ref().expect("correction");
        assert!(
            (k.a_s - 3e-3).abs() < 1e-9 && (k.b_compute - 2.5).abs() < 1e-6,
            "{k:?}"
        );
        let again = CostModel::new(spec, loaded);
        for (s, t) in &planted {
            assert!((again.predict_s(s) - t).abs() < 1e-9 * t.max(1.0));
        }
    }
}
