//! Running an experiment: `prepare` loads the model (unless given one), applies the machine
//! fit, calibrates the modeled clock and resolves the configs; `Prepared::run_modes` runs every
//! mode on the identical workload; `spawn` does both on a worker thread behind a `RunHandle`.
use super::{Experiment, MachineFigures, Resolved};
use crate::error::{EngineError, Result};
use crate::loader::{load, load_spec, load_tokenizer, threads_or_all, LoadOptions, LoadedModel};
use crate::model::spec::ModelSpec;
use crate::model::tokenizer::Tokenizer;
use crate::serve::cluster::{run, ClockKind, RunInputs, RunReport};
use crate::serve::cost_model::{CostModel, Hardware};
use crate::serve::events::{Emitter, Event, RunControl};
use crate::serve::handle::{spawn_job, RunHandle};
use crate::serve::request::RequestSpec;
use std::sync::Arc;

/// An experiment made ready to run: absolute (fitted) values, its model and cost model.
pub struct Prepared {
    /// The experiment as it runs: the machine fit applied, so saving it repeats this run.
    pub experiment: Experiment,
    pub model_name: String,
    pub spec: ModelSpec,
    pub model: Option<Arc<LoadedModel>>,
    pub cost: Option<Arc<CostModel>>,
    pub resolved: Resolved,
    pub stop_ids: Arc<[u32]>,
    tokenizer: Tokenizer,
    /// What the machine fit measured, when the experiment has one.
    pub figures: Option<MachineFigures>,
}

/// The options that load `exp`'s model.
pub fn load_options(exp: &Experiment) -> LoadOptions {
    LoadOptions {
        model: exp.model.clone(),
        synthetic: exp.synthetic,
        threads: threads_or_all(exp.threads),
        seed: exp.weights_seed,
        device: exp.device,
    }
}

/// Loads what `exp` needs (or uses `model`), measures the machine fit and the calibration when
/// asked, and resolves every mode's config. Progress lines go to `emitter`.
pub fn prepare(
    exp: &Experiment,
    model: Option<Arc<LoadedModel>>,
    emitter: &Emitter,
) -> Result<Prepared> {
    exp.check()?;
    let model = match (model, exp.needs_weights()) {
        (Some(m), _) => Some(m),
        (None, true) => {
            emitter.progress(
                None,
                0,
                1,
                format!("loading {} on {}", exp.model, exp.device),
            );
            Some(Arc::new(load(&load_options(exp))?))
        }
        (None, false) => None,
    };
    let (spec, tokenizer) = match &model {
        Some(m) => (m.spec().clone(), m.tokenizer.clone()),
        None => (load_spec(&exp.model)?, load_tokenizer(&exp.model, true)?),
    };
    let mut figures = None;
    let mut experiment = exp.clone();
    if let (Some(fit), Some(m)) = (&exp.fit, &model) {
        emitter.progress(
            None,
            0,
            1,
            "measuring this machine's step times for the fit".into(),
        );
        let f = fit.measure(&m.model, &m.name, threads_or_all(exp.threads))?;
        emitter.progress(None, 1, 1, f.describe());
        experiment = exp.apply_fit(&f)?;
        figures = Some(f);
    }
    let resolved = experiment.resolve(&spec)?;
    let cost = match (experiment.clock, &model) {
        (ClockKind::Modeled, Some(m)) if experiment.calibrate => {
            emitter.progress(
                None,
                0,
                1,
                "calibrating the modeled clock on this machine".into(),
            );
            // The datasheet profile of the GPU in hand when the experiment kept the CPU one.
            let mut hardware = resolved.hardware.clone();
            if let (true, Some(p)) = (hardware.name == "cpu", m.model.hardware_profile()) {
                hardware = Hardware::named(p)?;
            }
            let c = crate::measure::calibrate::calibrate(&m.model, hardware, &Emitter::none())?;
            emitter.progress(
                None,
                1,
                1,
                format!(
                    "calibrated on {}: {} of the {} rooflines",
                    m.model.device(),
                    c.describe(),
                    c.hardware.name
                ),
            );
            Some(Arc::new(c))
        }
        (ClockKind::Modeled, _) => Some(Arc::new(CostModel::new(
            spec.clone(),
            resolved.hardware.clone(),
        ))),
        _ => None,
    };
    if experiment.clock != ClockKind::Modeled && model.is_none() {
        return Err(EngineError::Internal(
            "a measured run without weights".into(),
        ));
    }
    Ok(Prepared {
        model_name: model.as_ref().map_or(exp.model.clone(), |m| m.name.clone()),
        stop_ids: tokenizer.stop_ids().into(),
        experiment,
        spec,
        model,
        cost,
        resolved,
        tokenizer,
        figures,
    })
}

impl Prepared {
    /// The model's tokenizer (a server encodes its prompts and decodes its outputs with it).
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The workload at `rate` (the same seed gives the same requests for every mode), from the
    /// trace when there is one; checked against every mode's config. Lean runs hold seeded
    /// prompts (the same lengths and arrivals, other ids).
    pub fn requests(&self, rate: f64) -> Result<Arc<[RequestSpec]>> {
        let e = &self.experiment;
        let reqs = match &e.workload.trace {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|err| EngineError::BadFile {
                    path: path.clone(),
                    reason: err.to_string(),
                })?;
                let encode = |s: &str| self.tokenizer.encode(s);
                crate::serve::trace::parse_trace(
                    &text,
                    &encode,
                    self.spec.vocab_size,
                    17,
                    self.spec.max_context,
                    e.workload.seed,
                )
                .map_err(|err| EngineError::BadFile {
                    path: path.clone(),
                    reason: err.to_string(),
                })?
            }
            None => {
                let w = e.workload_at(rate)?;
                let (vocab, max) = (self.spec.vocab_size, self.spec.max_context);
                if e.lean {
                    w.generate_seeded(vocab, 17, max)?
                } else {
                    w.generate(vocab, 17, max)?
                }
            }
        };
        for c in &self.resolved.configs {
            c.validate(&reqs)?;
        }
        Ok(reqs.into())
    }

    /// What one mode's run needs.
    pub fn inputs(&self, mode_index: usize, requests: Arc<[RequestSpec]>) -> RunInputs {
        RunInputs {
            config: self.resolved.configs[mode_index].clone(),
            requests,
            model: self.model.clone(),
            cost: self.cost.clone(),
            slo: self.resolved.slo,
            stop_ids: self.stop_ids.clone(),
            lean: self.experiment.lean,
        }
    }

    /// Every mode in turn on `requests`; one progress line per finished mode. A cancelled run
    /// stops after the mode it was in (that report says `cancelled`).
    pub fn run_modes(
        &self,
        requests: &Arc<[RequestSpec]>,
        label: &str,
        emitter: &Emitter,
        control: &RunControl,
    ) -> Result<Vec<RunReport>> {
        let n = self.resolved.configs.len();
        let mut out = Vec::new();
        for i in 0..n {
            let r = run(&self.inputs(i, requests.clone()), emitter, control)?;
            let s = &r.summary;
            let line = format!(
                "{label}{}: attainment {:.1} %, goodput {:.3} req/s, throughput {:.3} req/s",
                r.mode.name(),
                s.attainment.joint * 100.0,
                s.goodput_rps,
                s.throughput_rps
            );
            emitter.progress(Some(r.mode), i + 1, n, line);
            let cancelled = r.cancelled;
            out.push(r);
            if cancelled {
                break;
            }
        }
        Ok(out)
    }
}

impl Prepared {
    /// The slowdown table on the modeled clock: each cell predicted by the cost model that
    /// times this experiment's modeled runs (the engine measures interference only on a
    /// device).
    pub fn modeled_interference(
        &self,
        cfg: &crate::measure::interference::InterferenceConfig,
    ) -> Result<Vec<crate::measure::interference::InterferenceRow>> {
        let cost = self.cost.as_ref().ok_or_else(|| {
            EngineError::field(
                "clock",
                "a slowdown table without a device needs the modeled clock",
            )
        })?;
        crate::measure::interference::modeled(cost, cfg)
    }
}

/// What a spawned experiment produced.
pub struct BenchOutput {
    pub prepared: Prepared,
    pub requests: Arc<[RequestSpec]>,
    pub reports: Vec<RunReport>,
}

/// Prepares and runs every mode of `exp` on a worker thread at the experiment's rate.
pub fn spawn(exp: Experiment, model: Option<Arc<LoadedModel>>) -> Result<RunHandle<BenchOutput>> {
    spawn_edited(exp, model, |requests, _| requests)
}

/// `spawn`, with the drawn workload passed through `edit` first (a lesson or the presenter
/// adds a long prompt to it); `edit` sees the model's shape.
pub fn spawn_edited(
    exp: Experiment,
    model: Option<Arc<LoadedModel>>,
    edit: impl FnOnce(Arc<[RequestSpec]>, &ModelSpec) -> Arc<[RequestSpec]> + Send + 'static,
) -> Result<RunHandle<BenchOutput>> {
    spawn_job("experiment", move |em, ctl| {
        let prepared = prepare(&exp, model, em)?;
        em.emit(None, Event::Prepared(Box::new(prepared.experiment.clone())));
        let requests = prepared.requests(prepared.experiment.workload.rate)?;
        let requests = edit(requests, &prepared.spec);
        let reports = prepared.run_modes(&requests, "", em, ctl)?;
        Ok(BenchOutput {
            prepared,
            requests,
            reports,
        })
    })
}
