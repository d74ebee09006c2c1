//! Flags shared by `bench` and `sweep`. They are overrides on an `Experiment` (the engine's
//! type, defaults and checks): the base is `--experiment FILE.ron`, a `--scenario`, or the
//! defaults, and every flag given replaces one field. Nothing here decides a default.
use clap::Args;
use engine::backend::Device;
use engine::serve::cluster::{ClockKind, Mode, Router};
use engine::serve::experiment::{scenario, Experiment};
use engine::serve::workload::{LenDist, Preset};
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// A named scenario (`goodput-lab scenarios`); flags given beside it override its fields.
    #[arg(long)]
    pub scenario: Option<String>,
    /// An experiment file (RON, as --save-experiment writes); flags beside it override it.
    #[arg(long)]
    pub experiment: Option<PathBuf>,
    /// Write the experiment as it ran (machine fit applied) to this RON file.
    #[arg(long)]
    pub save_experiment: Option<PathBuf>,
    /// Model card or .gguf path [default: smollm2-135m].
    #[arg(long)]
    pub model: Option<String>,
    /// Seeded random weights of the card's shape (no download).
    #[arg(long)]
    pub synthetic: bool,
    /// CPU worker threads [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Seed of the synthetic weights [default: 0].
    #[arg(long)]
    pub weights_seed: Option<u64>,
    /// Where the steps run (measured and wall clocks): cpu, cuda or cuda:N [default: cpu].
    #[arg(long)]
    pub device: Option<Device>,
    /// Modes to run, each on the identical workload [default: all three].
    #[arg(long, value_delimiter = ',')]
    pub modes: Vec<String>,
    /// Logical GPUs per mode (replicas, or P + D) [default: 2].
    #[arg(long)]
    pub gpus: Option<usize>,
    /// Prefill:decode instances for disaggregated mode, e.g. 1:1 [default: half and half].
    #[arg(long)]
    pub pd: Option<String>,
    /// round-robin or least-loaded [default: least-loaded].
    #[arg(long)]
    pub router: Option<String>,
    /// measured (steps run, their times advance virtual clocks), wall, or modeled.
    #[arg(long)]
    pub clock: Option<String>,
    /// Hardware profile of the modeled clock: cpu, a100-40, a100-80, h100-sxm, h200, b200,
    /// l40s (a100, h100 are aliases), this-machine (after `calibrate`) or a .ron file
    /// [default: cpu].
    #[arg(long)]
    pub hardware: Option<String>,
    /// GPUs per replica or prefill instance (tensor parallelism; modeled clock) [default: 1].
    #[arg(long)]
    pub tp: Option<usize>,
    /// GPUs per decode instance (disaggregated; modeled clock) [default: 1].
    #[arg(long)]
    pub decode_tp: Option<usize>,
    /// Keep summaries only (no step records or per-token lists): for very large modeled runs.
    #[arg(long)]
    pub lean: bool,
    /// Fit the modeled clock to steps measured on this machine (needs the model's weights).
    #[arg(long)]
    pub calibrate: bool,
    /// Requests per second, or inf [default: 1]. For `sweep`: the SLO-scale curve's rate.
    #[arg(long, allow_hyphen_values = true)]
    pub request_rate: Option<f64>,
    /// Gamma shape of the arrival gaps: 1 = Poisson, < 1 burstier [default: 1].
    #[arg(long, allow_hyphen_values = true)]
    pub burstiness: Option<f64>,
    /// Requests in the workload [default: 40].
    #[arg(long)]
    pub num_requests: Option<usize>,
    /// Arrivals for this long instead of a request count.
    #[arg(long, allow_hyphen_values = true)]
    pub duration_secs: Option<f64>,
    /// Prompt tokens: N, uniform:LO-HI, normal:MEAN,STD, lognormal:MEAN,SIGMA [default: 128].
    #[arg(long)]
    pub prompt_len: Option<String>,
    /// Output tokens, same forms as --prompt-len [default: 32].
    #[arg(long)]
    pub output_len: Option<String>,
    /// Length shapes of a published workload: chat (ShareGPT), code (HumanEval), summarization (LongBench).
    #[arg(long)]
    pub dataset: Option<String>,
    /// Scales the dataset's lengths (slow devices: < 1) [default: 1].
    #[arg(long)]
    pub dataset_scale: Option<f64>,
    /// Replay a JSONL trace instead of generating arrivals.
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Seeds the workload and sampling [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
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
    /// Chunked (and decode-instance) token budget per step [default: 256].
    #[arg(long)]
    pub token_budget: Option<usize>,
    /// Chunked: prompts prefilled at once [default: 1].
    #[arg(long)]
    pub max_partial_prefills: Option<usize>,
    /// Most requests an instance holds at once [default: 64].
    #[arg(long)]
    pub max_seqs: Option<usize>,
    /// KV cache of each instance, in tokens [default: 8192].
    #[arg(long)]
    pub kv_tokens: Option<usize>,
    /// KV transfer link: nvlink, pcie, ib, or <GB/s>,<µs> [default: pcie].
    #[arg(long)]
    pub link: Option<String>,
    /// End a request at an end-of-sequence token (default: outputs have their set length).
    #[arg(long)]
    pub stop_at_eos: bool,
    #[arg(long)]
    pub temperature: Option<f32>,
    #[arg(long)]
    pub top_p: Option<f32>,
    /// Write everything as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write summary, request, token and step tables as CSV into this folder.
    #[arg(long)]
    pub csv: Option<PathBuf>,
}

fn set<T: Clone>(slot: &mut T, v: &Option<T>) {
    if let Some(v) = v {
        *slot = v.clone();
    }
}

fn parse_pd(s: &str) -> engine::Result<(usize, usize)> {
    let bad =
        || engine::EngineError::field("pd", format!("{s:?}: expected P:D with P, D ≥ 1, e.g. 1:1"));
    let (p, d) = s.split_once(':').ok_or_else(bad)?;
    let p: usize = p.trim().parse().map_err(|_| bad())?;
    let d: usize = d.trim().parse().map_err(|_| bad())?;
    if p == 0 || d == 0 {
        return Err(bad());
    }
    Ok((p, d))
}

impl ServeArgs {
    /// The experiment these flags describe, checked (model-independent checks only; the rest
    /// happens when it is prepared).
    pub fn experiment(&self) -> anyhow::Result<Experiment> {
        let mut e = match (&self.experiment, &self.scenario) {
            (Some(_), Some(_)) => anyhow::bail!("give --experiment or --scenario, not both"),
            (Some(p), None) => Experiment::load(p)?,
            (None, Some(s)) => scenario(s)?,
            (None, None) => Experiment::default(),
        };
        set(&mut e.model, &self.model);
        e.synthetic |= self.synthetic;
        if self.threads.is_some() {
            e.threads = self.threads;
        }
        set(&mut e.weights_seed, &self.weights_seed);
        set(&mut e.device, &self.device);
        if !self.modes.is_empty() {
            e.modes = self
                .modes
                .iter()
                .map(|m| Mode::parse(m.trim()))
                .collect::<Result<_, _>>()?;
        }
        set(&mut e.gpus, &self.gpus);
        if let Some(pd) = &self.pd {
            e.pd = Some(parse_pd(pd)?);
        }
        if let Some(r) = &self.router {
            e.router = Router::parse(r)?;
        }
        if let Some(c) = &self.clock {
            e.clock = ClockKind::parse(c)?;
        }
        set(&mut e.hardware, &self.hardware);
        set(&mut e.tp, &self.tp);
        set(&mut e.decode_tp, &self.decode_tp);
        e.lean |= self.lean;
        e.calibrate |= self.calibrate;
        let w = &mut e.workload;
        set(&mut w.burstiness, &self.burstiness);
        if let Some(n) = self.num_requests {
            w.num_requests = n;
            w.duration_secs = None;
        }
        if self.duration_secs.is_some() {
            if self.num_requests.is_some() {
                anyhow::bail!("give --num-requests or --duration-secs, not both");
            }
            w.duration_secs = self.duration_secs;
        }
        if let Some(d) = &self.dataset {
            // A dataset replaces the base's length shapes; --prompt-len/--output-len still win.
            w.dataset = Some(Preset::parse(d)?);
            w.prompt_len = None;
            w.output_len = None;
        }
        set(&mut w.dataset_scale, &self.dataset_scale);
        if let Some(p) = &self.prompt_len {
            w.prompt_len = Some(LenDist::parse(p, "workload.prompt_len")?);
        }
        if let Some(o) = &self.output_len {
            w.output_len = Some(LenDist::parse(o, "workload.output_len")?);
        }
        if self.trace.is_some() {
            w.trace = self.trace.clone();
        }
        set(&mut w.seed, &self.seed);
        set(&mut e.slo.ttft_ms, &self.slo_ttft_ms);
        set(&mut e.slo.tpot_ms, &self.slo_tpot_ms);
        let k = &mut e.sched;
        if self.max_batched_tokens.is_some() {
            k.max_batched_tokens = self.max_batched_tokens;
        }
        k.prefill_only_steps |= self.prefill_only_steps;
        set(&mut k.token_budget, &self.token_budget);
        set(&mut k.max_partial_prefills, &self.max_partial_prefills);
        set(&mut k.max_seqs, &self.max_seqs);
        set(&mut k.kv_tokens, &self.kv_tokens);
        set(&mut e.link, &self.link);
        e.sampling.stop_at_eos |= self.stop_at_eos;
        set(&mut e.sampling.temperature, &self.temperature);
        set(&mut e.sampling.top_p, &self.top_p);
        set(&mut e.workload.rate, &self.request_rate);
        // Explicit values replace what a machine fit would have computed.
        if let Some(f) = &mut e.fit {
            if self.request_rate.is_some() {
                f.load = None;
            }
            if self.slo_ttft_ms.is_some() {
                f.ttft_x_prefill = None;
            }
            if self.slo_tpot_ms.is_some() {
                f.tpot_x_decode = None;
            }
        }
        Ok(e)
    }

    /// Writes `--save-experiment` (the experiment as it ran).
    pub fn save(&self, e: &Experiment) -> anyhow::Result<()> {
        if let Some(p) = &self.save_experiment {
            super::output::write_atomic(p, &e.to_ron()?)?;
        }
        Ok(())
    }

    /// Fails before a long run when an output path cannot be written.
    pub fn check_outputs(&self) -> anyhow::Result<()> {
        for p in [&self.json, &self.save_experiment].into_iter().flatten() {
            super::output::check_writable(p)?;
        }
        if let Some(d) = &self.csv {
            super::output::check_csv_dir(d)?;
        }
        Ok(())
    }
}
