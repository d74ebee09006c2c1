//! Rates and SLOs relative to this machine. A CPU scenario's absolute numbers only suit the
//! machine they were fitted on (on a slower 2-vCPU Xeon, `cpu-chat` left every mode failing),
//! so a scenario may instead state them as multiples of step times measured here: a few
//! seconds of calibration, cached per machine and model, its figures printed.
use super::Experiment;
use crate::backend::DeviceModel;
use crate::error::{EngineError, Result};
use crate::measure::steps::{time_steps, StepShape, Timing};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MachineFit {
    /// Prompt tokens of the reference prefill (alone in its step).
    pub prefill_tokens: usize,
    /// Decode batch of the loaded reference step (for the capacity estimate).
    pub decode_batch: usize,
    /// Tokens already cached for every decoding sequence of the reference steps.
    pub context: usize,
    /// TTFT SLO = this × the reference prefill's time (`None`: `slo.ttft_ms` as written).
    pub ttft_x_prefill: Option<f64>,
    /// TPOT SLO = this × an unloaded (batch 1) decode step's time (`None`: `slo.tpot_ms`).
    pub tpot_x_decode: Option<f64>,
    /// Request rate = this × the cluster's estimated capacity (`MachineFigures::capacity_rps`)
    /// (`None`: `workload.rate`).
    pub load: Option<f64>,
    /// Sweep rates as multiples of the estimated capacity (`None`: `sweep.rates`).
    pub sweep_loads: Option<Vec<f64>>,
}

impl Default for MachineFit {
    fn default() -> Self {
        MachineFit {
            prefill_tokens: 256,
            decode_batch: 8,
            context: 128,
            ttft_x_prefill: Some(2.0),
            tpot_x_decode: Some(2.0),
            load: Some(0.8),
            sweep_loads: Some(vec![0.4, 0.8, 1.2, 1.6]),
        }
    }
}

/// What was measured on this machine for a fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MachineFigures {
    /// CPU model and core count, or the GPU's name.
    pub machine: String,
    pub model: String,
    pub device: String,
    pub threads: usize,
    pub prefill_tokens: usize,
    pub decode_batch: usize,
    pub context: usize,
    /// Median time of the reference prefill.
    pub prefill_ms: f64,
    /// Median time of a batch-1 decode step.
    pub decode1_ms: f64,
    /// Median time of a `decode_batch` decode step.
    pub decode_batch_ms: f64,
}

impl MachineFit {
    pub fn check(&self) -> Result<()> {
        let pos = |v: f64, f: &str| {
            if v > 0.0 && v.is_finite() {
                Ok(())
            } else {
                Err(EngineError::field(f, format!("must be > 0, got {v}")))
            }
        };
        self.ttft_x_prefill
            .map_or(Ok(()), |v| pos(v, "fit.ttft_x_prefill"))?;
        self.tpot_x_decode
            .map_or(Ok(()), |v| pos(v, "fit.tpot_x_decode"))?;
        self.load.map_or(Ok(()), |v| pos(v, "fit.load"))?;
        for &l in self.sweep_loads.iter().flatten() {
            pos(l, "fit.sweep_loads")?;
        }
        if self.prefill_tokens == 0 || self.decode_batch == 0 {
            return Err(EngineError::field(
                "fit",
                "prefill_tokens and decode_batch must be ≥ 1",
            ));
        }
        Ok(())
    }

    /// Measures the reference steps on `model` (or reads them from the cache).
    pub fn measure(
        &self,
        model: &DeviceModel,
        name: &str,
        threads: usize,
    ) -> Result<MachineFigures> {
        let machine = machine_name(model);
        let key = |f: &MachineFigures| {
            f.machine == machine
                && f.model == name
                && f.device == model.device().to_string()
                && f.threads == threads
                && (f.prefill_tokens, f.decode_batch, f.context)
                    == (self.prefill_tokens, self.decode_batch, self.context)
        };
        let mut cache = read_cache();
        if let Some(f) = cache.iter().find(|f| key(f)) {
            return Ok(f.clone());
        }
        let spec = model.spec();
        if self.prefill_tokens > spec.max_context || self.context + 16 > spec.max_context {
            return Err(EngineError::field(
                "fit",
                "reference steps exceed the model's context",
            ));
        }
        let timing = Timing::forward_fixed_context();
        let time = |shape: StepShape, steps: usize| -> Result<f64> {
            let mut s = model.session_for(shape.kv_tokens(steps, 16))?;
            time_steps(s.as_mut(), spec.vocab_size, shape, steps, 0, timing)
        };
        let prefill_ms = time(
            StepShape {
                decode: 0,
                context: 0,
                prefill: self.prefill_tokens,
            },
            3,
        )?;
        let decode1_ms = time(
            StepShape {
                decode: 1,
                context: self.context,
                prefill: 0,
            },
            7,
        )?;
        let decode_batch_ms = time(
            StepShape {
                decode: self.decode_batch,
                context: self.context,
                prefill: 0,
            },
            5,
        )?;
        let f = MachineFigures {
            machine,
            model: name.into(),
            device: model.device().to_string(),
            threads,
            prefill_tokens: self.prefill_tokens,
            decode_batch: self.decode_batch,
            context: self.context,
            prefill_ms,
            decode1_ms,
            decode_batch_ms,
        };
        cache.push(f.clone());
        write_cache(&cache);
        Ok(f)
    }
}

impl MachineFigures {
    /// Requests per second one logical GPU can serve, roughly: a request costs its prompt's
    /// prefill (scaled from the reference prefill) plus its share of `decode_batch`-wide decode
    /// steps for its output.
    pub fn capacity_rps(&self, mean_prompt: f64, mean_output: f64) -> f64 {
        let prefill_s = self.prefill_ms / 1e3 * mean_prompt / self.prefill_tokens as f64;
        let decode_s = mean_output * self.decode_batch_ms / 1e3 / self.decode_batch as f64;
        1.0 / (prefill_s + decode_s)
    }

    pub fn describe(&self) -> String {
        format!(
            "machine fit ({}, {} on {}, {} threads): prefill {} tokens {:.1} ms, decode step batch 1 {:.2} ms, batch {} {:.2} ms (context {})",
            self.machine, self.model, self.device, self.threads, self.prefill_tokens, self.prefill_ms,
            self.decode1_ms, self.decode_batch, self.decode_batch_ms, self.context
        )
    }
}

impl Experiment {
    /// The experiment with its rate, SLOs and sweep rates made absolute from `f`.
    pub fn apply_fit(&self, f: &MachineFigures) -> Result<Experiment> {
        let Some(fit) = &self.fit else {
            return Ok(self.clone());
        };
        let (p, o) = self.lengths()?;
        let cap = self.gpus as f64 * f.capacity_rps(p.mean(), o.mean());
        let mut e = self.clone();
        if let Some(k) = fit.ttft_x_prefill {
            e.slo.ttft_ms = round3(k * f.prefill_ms);
        }
        if let Some(k) = fit.tpot_x_decode {
            e.slo.tpot_ms = round3(k * f.decode1_ms);
        }
        if let Some(k) = fit.load {
            e.workload.rate = round3(k * cap);
        }
        if let Some(loads) = &fit.sweep_loads {
            e.sweep.rates = loads.iter().map(|l| round3(l * cap)).collect();
        }
        e.fit = None;
        Ok(e)
    }
}

/// Three significant digits, so printed and saved figures read cleanly.
fn round3(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let k = 10f64.powi(2 - v.abs().log10().floor() as i32);
    (v * k).round() / k
}

fn machine_name(model: &DeviceModel) -> String {
    if let DeviceModel::Cuda(m) = model {
        return m.gpu.name.clone();
    }
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{cpu}, {cores} cores")
}

fn cache_path() -> PathBuf {
    crate::model::cards::models_dir()
        .join(".cache")
        .join("machine-fits.ron")
}

/// A missing or unreadable cache only means measuring again.
fn read_cache() -> Vec<MachineFigures> {
    std::fs::read_to_string(cache_path())
        .ok()
        .and_then(|t| ron::from_str(&t).ok())
        .unwrap_or_default()
}

fn write_cache(all: &[MachineFigures]) {
    let p = cache_path();
    if let (Some(dir), Ok(text)) = (p.parent(), ron::to_string(all)) {
        let _ = std::fs::create_dir_all(dir);
        let _ = std::fs::write(p, text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::workload::LenDist;

    #[test]
    fn rounds_to_three_digits() {
        assert_eq!(round3(1234.5), 1230.0);
        assert_eq!(round3(0.012345), 0.0123);
        assert_eq!(round3(19.96), 20.0);
    }

    #[test]
    fn fit_scales_rate_and_slos_with_the_machine() {
        let mut e = Experiment::default();
        e.workload.prompt_len = Some(LenDist::Fixed(256));
        e.workload.output_len = Some(LenDist::Fixed(100));
        e.fit = Some(MachineFit::default());
        let fast = MachineFigures {
            machine: "m".into(),
            model: "x".into(),
            device: "cpu".into(),
            threads: 2,
            prefill_tokens: 256,
            decode_batch: 8,
            context: 128,
            prefill_ms: 500.0,
            decode1_ms: 10.0,
            decode_batch_ms: 40.0,
        };
        let slow = MachineFigures {
            prefill_ms: 1000.0,
            decode1_ms: 20.0,
            decode_batch_ms: 80.0,
            ..fast.clone()
        };
        let (a, b) = (e.apply_fit(&fast).unwrap(), e.apply_fit(&slow).unwrap());
        // One request: 0.5 s of prefill + 100 × 5 ms of batched decode = 1 s, so 1 req/s per
        // GPU; 2 GPUs at load 0.8 give 1.6 req/s.
        assert_eq!(a.workload.rate, 1.6);
        assert_eq!((a.slo.ttft_ms, a.slo.tpot_ms), (1000.0, 20.0));
        // Twice as slow a machine: half the rate, twice the SLOs.
        assert_eq!(b.workload.rate, 0.8);
        assert_eq!((b.slo.ttft_ms, b.slo.tpot_ms), (2000.0, 40.0));
        assert_eq!(a.sweep.rates, vec![0.8, 1.6, 2.4, 3.2]);
        assert!(a.fit.is_none());
        // What the fit leaves out stays as written.
        let mut partial = e.clone();
        partial.fit.as_mut().unwrap().load = None;
        partial.workload.rate = 7.0;
        assert_eq!(partial.apply_fit(&fast).unwrap().workload.rate, 7.0);
    }
}
