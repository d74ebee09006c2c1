//! Flags shared by `bench` and `sweep`: the model, the modes and cluster, the clock, the
//! workload, the SLOs and the schedulers' knobs. A `--scenario` fills in what is not given.
use anyhow::Context;
use clap::Args;
use engine::backend::cuda::load::load_cuda;
use engine::backend::Device;
use engine::cluster::{ClockKind, Mode, ModelRef, Router, ServeConfig};
use engine::cost_model::{CostModel, Hardware};
use engine::link::LinkModel;
use engine::loader::{load, load_spec, load_tokenizer, LoadOptions, LoadedModel};
use engine::metrics::Slo;
use engine::model::spec::ModelSpec;
use engine::request::RequestSpec;
use engine::sampler::SamplingParams;
use engine::scenario::{scenario, Scenario};
use engine::workload::{Count, LenDist, Preset, WorkloadSpec};
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// A named scenario (model, clock, workload, SLOs); explicit flags override it.
    #[arg(long)]
    pub scenario: Option<String>,
    /// Model card or .gguf path [default: the scenario's, else smollm2-135m].
    #[arg(long)]
    pub model: Option<String>,
    /// Seeded random weights of the card's shape (no download).
    #[arg(long)]
    pub synthetic: bool,
    #[arg(long)]
    pub threads: Option<usize>,
    #[arg(long, default_value_t = 0)]
    pub weights_seed: u64,
    /// Where the steps run (measured and wall clocks): cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: engine::backend::Device,
    /// Modes to run, each on the identical workload.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "aggregated,chunked,disaggregated"
    )]
    pub modes: Vec<String>,
    /// Logical GPUs per mode (replicas, or P + D) [default: scenario's, else 2].
    #[arg(long)]
    pub gpus: Option<usize>,
    /// Prefill:decode instances for disaggregated mode, e.g. 1:1 [default: half and half].
    #[arg(long)]
    pub pd: Option<String>,
    /// round-robin or least-loaded.
    #[arg(long, default_value = "least-loaded")]
    pub router: String,
    /// measured (steps run, their times advance virtual clocks), wall, or modeled.
    #[arg(long)]
    pub clock: Option<String>,
    /// Hardware profile of the modeled clock: cpu, a100, h100.
    #[arg(long)]
    pub hardware: Option<String>,
    /// Fit the modeled clock to steps measured on this machine (needs the model's weights).
    #[arg(long)]
    pub calibrate: bool,
    /// Requests per second, or inf [default: scenario's, else 1].
    #[arg(long, allow_hyphen_values = true)]
    pub request_rate: Option<f64>,
    /// Gamma shape of the arrival gaps: 1 = Poisson, < 1 burstier.
    #[arg(long, default_value_t = 1.0, allow_hyphen_values = true)]
    pub burstiness: f64,
    #[arg(long)]
    pub num_requests: Option<usize>,
    /// Arrivals for this long instead of a request count.
    #[arg(long, allow_hyphen_values = true)]
    pub duration_secs: Option<f64>,
    /// Prompt tokens: N, uniform:LO-HI, normal:MEAN,STD, lognormal:MEAN,SIGMA.
    #[arg(long)]
    pub prompt_len: Option<String>,
    /// Output tokens, same forms as --prompt-len.
    #[arg(long)]
    pub output_len: Option<String>,
    /// Length shapes of a published workload: chat (ShareGPT), code (HumanEval), summarization (LongBench).
    #[arg(long)]
    pub dataset: Option<String>,
    /// Scales the dataset's lengths (slow devices: < 1).
    #[arg(long, default_value_t = 1.0)]
    pub dataset_scale: f64,
    /// Replay a JSONL trace instead of generating arrivals.
    #[arg(long)]
    pub trace: Option<PathBuf>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long, allow_hyphen_values = true)]
    pub slo_ttft_ms: Option<f64>,
    #[arg(long, allow_hyphen_values = true)]
    pub slo_tpot_ms: Option<f64>,
    /// Token limit of an aggregated (or prefill-instance) step [default: the model's context].
    #[arg(long)]
    pub max_batched_tokens: Option<usize>,
    /// Aggregated: steps that admit prompts pause the decodes (vLLM v0).
    #[arg(long)]
    pub prefill_only_steps: bool,
    /// Chunked (and decode-instance) token budget per step [default: scenario's, else 256].
    #[arg(long)]
    pub token_budget: Option<usize>,
    #[arg(long, default_value_t = 1)]
    pub max_partial_prefills: usize,
    /// Most requests an instance holds at once [default: scenario's, else 64].
    #[arg(long)]
    pub max_seqs: Option<usize>,
    /// KV cache of each instance, in tokens [default: scenario's, else 8192].
    #[arg(long)]
    pub kv_tokens: Option<usize>,
    /// KV transfer link: nvlink, pcie, ib, or <GB/s>,<µs>.
    #[arg(long, default_value = "pcie")]
    pub link: String,
    /// End a request at an end-of-sequence token (default: outputs have their set length).
    #[arg(long)]
    pub stop_at_eos: bool,
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f32,
    #[arg(long, default_value_t = 1.0)]
    pub top_p: f32,
    /// Write everything as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write summary, request, token and step tables as CSV into this folder.
    #[arg(long)]
    pub csv: Option<PathBuf>,
}

/// A resolved setup: the model (or its shape), the cost model, the per-mode configs.
pub struct Setup {
    pub model_name: String,
    pub loaded: Option<LoadedModel>,
    pub cuda: Option<engine::backend::cuda::load::CudaModel>,
    pub spec: ModelSpec,
    pub cost: Option<CostModel>,
    pub configs: Vec<ServeConfig>,
    pub slo: Slo,
    pub stop_ids: Vec<u32>,
    pub rate: f64,
    encode: Option<engine::model::tokenizer::Tokenizer>,
}

impl Setup {
    /// The model whose steps run, on the device it was loaded on.
    pub fn model_ref(&self) -> Option<ModelRef<'_>> {
        match (&self.loaded, &self.cuda) {
            (Some(m), _) => Some(ModelRef::Cpu(&m.llama)),
            (None, Some(c)) => Some(ModelRef::Cuda(&c.llama)),
            (None, None) => None,
        }
    }
}

fn positive(v: f64, flag: &str) -> anyhow::Result<f64> {
    if !(v > 0.0 && v.is_finite()) {
        anyhow::bail!("{flag} must be > 0, got {v}");
    }
    Ok(v)
}

impl ServeArgs {
    fn scenario(&self) -> anyhow::Result<Option<Scenario>> {
        Ok(self.scenario.as_deref().map(scenario).transpose()?)
    }

    pub fn setup(&self) -> anyhow::Result<Setup> {
        let sc = self.scenario()?;
        let model = self
            .model
            .clone()
            .or(sc.as_ref().map(|s| s.model.to_string()))
            .unwrap_or("smollm2-135m".into());
        let synthetic =
            self.synthetic || (self.model.is_none() && sc.as_ref().is_some_and(|s| s.synthetic));
        let clock = ClockKind::parse(self.clock.as_deref().unwrap_or(match &sc {
            Some(s) if s.clock == ClockKind::Modeled => "modeled",
            _ => "measured",
        }))?;
        let modes: Vec<Mode> = self
            .modes
            .iter()
            .map(|m| Mode::parse(m.trim()))
            .collect::<Result<_, _>>()?;
        if modes.is_empty() {
            anyhow::bail!("--modes: give at least one mode");
        }
        if clock == ClockKind::Wall && modes.len() > 1 {
            anyhow::bail!(
                "--clock wall runs one mode at a time in real time: pass a single --modes value"
            );
        }
        let slo = Slo {
            ttft_ms: positive(
                self.slo_ttft_ms
                    .or(sc.as_ref().map(|s| s.slo.ttft_ms))
                    .unwrap_or(2000.0),
                "--slo-ttft-ms",
            )?,
            tpot_ms: positive(
                self.slo_tpot_ms
                    .or(sc.as_ref().map(|s| s.slo.tpot_ms))
                    .unwrap_or(100.0),
                "--slo-tpot-ms",
            )?,
        };
        let rate = self
            .request_rate
            .or(sc.as_ref().map(|s| s.rate))
            .unwrap_or(1.0);
        let hw_name = self
            .hardware
            .clone()
            .or(sc.as_ref().map(|s| s.hardware.to_string()))
            .unwrap_or("cpu".into());
        let hardware = Hardware::preset(&hw_name)?;
        let threads = super::threads_or_all(self.threads);
        let needs_weights = clock != ClockKind::Modeled || self.calibrate;
        let opts = LoadOptions {
            model: model.clone(),
            synthetic,
            threads,
            seed: self.weights_seed,
        };
        let (loaded, cuda) = match (needs_weights, self.device) {
            (false, _) => (None, None),
            (true, Device::Cpu) => (Some(load(&opts)?), None),
            (true, Device::Cuda(_)) if self.calibrate => {
                anyhow::bail!("--calibrate fits the cost model on the CPU engine: drop --device")
            }
            (true, Device::Cuda(n)) => (None, Some(load_cuda(&opts, n)?)),
        };
        let spec = match (&loaded, &cuda) {
            (Some(m), _) => m.llama.weights.spec.clone(),
            (None, Some(c)) => c.llama.weights.spec.clone(),
            (None, None) => load_spec(&model)?,
        };
        let cost = match (clock, &loaded) {
            (ClockKind::Modeled, Some(m)) => {
                Some(engine::interference::calibrate(&m.llama, hardware)?)
            }
            (ClockKind::Modeled, None) => Some(CostModel::roofline_only(spec.clone(), hardware)),
            _ => None,
        };
        let tokenizer = match (&loaded, &cuda) {
            (Some(m), _) => m.tokenizer.clone(),
            (None, Some(c)) => c.tokenizer.clone(),
            (None, None) => load_tokenizer(&model, true)?,
        };
        let gpus = self.gpus.or(sc.as_ref().map(|s| s.gpus)).unwrap_or(2);
        let pd = self.pd.as_deref().map(parse_pd).transpose()?;
        let mut configs = Vec::new();
        for mode in modes {
            let mut c = ServeConfig::defaults(mode, gpus, spec.max_context);
            c.pd = pd;
            c.router = Router::parse(&self.router)?;
            c.clock = clock;
            c.link = LinkModel::parse(&self.link)?;
            c.max_batched_tokens = self.max_batched_tokens.unwrap_or(spec.max_context);
            c.prefill_only_steps = self.prefill_only_steps;
            c.token_budget = self
                .token_budget
                .or(sc.as_ref().map(|s| s.token_budget))
                .unwrap_or(256);
            c.max_partial_prefills = self.max_partial_prefills;
            c.max_seqs = self
                .max_seqs
                .or(sc.as_ref().map(|s| s.max_seqs))
                .unwrap_or(64);
            c.kv_tokens = self
                .kv_tokens
                .or(sc.as_ref().map(|s| s.kv_tokens))
                .unwrap_or(8192);
            c.sampling = SamplingParams {
                temperature: self.temperature,
                top_p: self.top_p,
                seed: self.seed,
            };
            c.sampling.validate()?;
            c.stop_at_eos = self.stop_at_eos;
            configs.push(c);
        }
        Ok(Setup {
            model_name: model,
            stop_ids: tokenizer.stop_ids(),
            encode: Some(tokenizer),
            loaded,
            cuda,
            spec,
            cost,
            configs,
            slo,
            rate,
        })
    }

    /// The requests at `rate` (the same seed gives the same requests for every mode).
    pub fn requests(&self, setup: &Setup, rate: f64) -> anyhow::Result<Vec<RequestSpec>> {
        let spec = &setup.spec;
        let reqs = if let Some(path) = &self.trace {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("--trace {}", path.display()))?;
            let tok = setup.encode.as_ref();
            let encode = |s: &str| match tok {
                Some(t) => t.encode(s),
                None => Err(engine::EngineError::Invalid(
                    "no tokenizer for prompt text".into(),
                )),
            };
            engine::trace::parse_trace(
                &text,
                &encode,
                spec.vocab_size,
                17,
                spec.max_context,
                self.seed,
            )
            .with_context(|| format!("--trace {}", path.display()))?
        } else {
            self.workload(rate)?
                .generate(spec.vocab_size, 17, spec.max_context)?
        };
        for c in &setup.configs {
            c.validate(&reqs)?;
        }
        Ok(reqs)
    }

    pub fn workload(&self, rate: f64) -> anyhow::Result<WorkloadSpec> {
        let sc = self.scenario()?;
        let (mut prompt, mut output) = match &sc {
            Some(s) => (s.prompt, s.output),
            None => (LenDist::Fixed(128), LenDist::Fixed(32)),
        };
        if let Some(d) = &self.dataset {
            (prompt, output) =
                Preset::parse(d)?.lengths(positive(self.dataset_scale, "--dataset-scale")?);
        }
        if let Some(p) = &self.prompt_len {
            prompt = LenDist::parse(p, "--prompt-len")?;
        }
        if let Some(o) = &self.output_len {
            output = LenDist::parse(o, "--output-len")?;
        }
        let count = match (self.num_requests, self.duration_secs) {
            (Some(_), Some(_)) => anyhow::bail!("give --num-requests or --duration-secs, not both"),
            (None, Some(d)) => Count::Duration(d),
            (n, None) => Count::Requests(n.or(sc.as_ref().map(|s| s.num_requests)).unwrap_or(40)),
        };
        Ok(WorkloadSpec {
            rate,
            burstiness: self.burstiness,
            count,
            prompt,
            output,
            seed: self.seed,
        })
    }
}

fn parse_pd(s: &str) -> anyhow::Result<(usize, usize)> {
    let bad = || anyhow::anyhow!("--pd {s:?}: expected P:D with P, D ≥ 1, e.g. 1:1");
    let (p, d) = s.split_once(':').ok_or_else(bad)?;
    let (p, d): (usize, usize) = (
        p.trim().parse().map_err(|_| bad())?,
        d.trim().parse().map_err(|_| bad())?,
    );
    if p == 0 || d == 0 {
        return Err(bad());
    }
    Ok((p, d))
}
