//! From an experiment to what the cluster runs: one `ServeConfig` per mode, the SLOs, the
//! hardware profile and the workload, after every check. Errors name the experiment's field.
use super::Experiment;
use crate::error::{EngineError, Result};
use crate::model::spec::ModelSpec;
use crate::sampler::SamplingParams;
use crate::serve::cluster::{ClockKind, Mode, ServeConfig};
use crate::serve::cost_model::Hardware;
use crate::serve::link::LinkModel;
use crate::serve::metrics::Slo;
use crate::serve::workload::{Count, WorkloadSpec};

/// An experiment checked against a model's shape.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub configs: Vec<ServeConfig>,
    pub slo: Slo,
    pub hardware: Hardware,
}

fn positive(v: f64, field: &str) -> Result<f64> {
    if !(v > 0.0 && v.is_finite()) {
        return Err(EngineError::field(field, format!("must be > 0, got {v}")));
    }
    Ok(v)
}

impl Experiment {
    /// The checks that need no model: modes, clock, SLOs, sweep values, names of presets.
    pub fn check(&self) -> Result<()> {
        if self.modes.is_empty() {
            return Err(EngineError::field("modes", "give at least one mode"));
        }
        if self.clock == ClockKind::Wall && self.modes.len() > 1 {
            return Err(EngineError::field(
                "modes",
                "the wall clock runs one mode at a time in real time: give a single mode",
            ));
        }
        positive(self.slo.ttft_ms, "slo.ttft_ms")?;
        positive(self.slo.tpot_ms, "slo.tpot_ms")?;
        if let Some(r) = self
            .sweep
            .rates
            .iter()
            .find(|r| !(**r > 0.0 && r.is_finite()))
        {
            return Err(EngineError::field(
                "sweep.rates",
                format!("every rate must be a finite number > 0, got {r}"),
            ));
        }
        if let Some(k) = self
            .sweep
            .slo_scales
            .iter()
            .find(|k| !(**k > 0.0 && k.is_finite()))
        {
            return Err(EngineError::field(
                "sweep.slo_scales",
                format!("every scale must be > 0, got {k}"),
            ));
        }
        if let Some(r) = self.sweep.slo_scale_rate {
            positive(r, "sweep.slo_scale_rate")?;
        }
        if self.threads == Some(0) {
            return Err(EngineError::field("threads", "must be at least 1"));
        }
        if let Some(f) = &self.fit {
            f.check()?;
        }
        Hardware::named(&self.hardware)?;
        LinkModel::parse(&self.link)?;
        self.workload_at(self.workload.rate)?.validate()?;
        self.sampling_params().validate()
    }

    pub fn sampling_params(&self) -> SamplingParams {
        SamplingParams {
            temperature: self.sampling.temperature,
            top_p: self.sampling.top_p,
            seed: self.workload.seed,
        }
    }

    /// The workload drawn at `rate` (every other field from the experiment).
    pub fn workload_at(&self, rate: f64) -> Result<WorkloadSpec> {
        let (prompt, output) = self.lengths()?;
        let w = &self.workload;
        Ok(WorkloadSpec {
            rate,
            burstiness: w.burstiness,
            count: match w.duration_secs {
                Some(d) => Count::Duration(d),
                None => Count::Requests(w.num_requests),
            },
            prompt,
            output,
            seed: w.seed,
        })
    }

    /// The cluster config of one mode, before validation.
    pub fn serve_config(&self, mode: Mode, max_context: usize) -> Result<ServeConfig> {
        let k = &self.sched;
        Ok(ServeConfig {
            tp: self.tp,
            decode_tp: self.decode_tp,
            decode_kv_tokens: None,
            mode,
            gpus: self.gpus,
            pd: self.pd,
            router: self.router,
            max_batched_tokens: k.max_batched_tokens.unwrap_or(max_context),
            prefill_only_steps: k.prefill_only_steps,
            token_budget: k.token_budget,
            max_partial_prefills: k.max_partial_prefills,
            max_seqs: k.max_seqs,
            kv_tokens: k.kv_tokens,
            block_size: k.block_size,
            link: LinkModel::parse(&self.link)?,
            clock: self.clock,
            sampling: self.sampling_params(),
            stop_at_eos: self.sampling.stop_at_eos,
        })
    }

    /// Checks everything and builds one config per mode for a model of shape `spec`.
    pub fn resolve(&self, spec: &ModelSpec) -> Result<Resolved> {
        self.check()?;
        let mut configs = Vec::new();
        for &mode in &self.modes {
            let c = self.serve_config(mode, spec.max_context)?;
            c.validate(&[])?;
            configs.push(c);
        }
        Ok(Resolved {
            configs,
            slo: self.slo,
            hardware: Hardware::named(&self.hardware)?,
        })
    }
}
