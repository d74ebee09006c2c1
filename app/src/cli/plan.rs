//! `plan`: which mode, P:D split and tensor parallelism serves a model best on a GPU budget
//! under SLOs, searched on the modeled clock; the ranked plans with error bars, the Pareto
//! frontier, and the best plan's launch settings for vLLM, SGLang and Dynamo.
use super::follow::follow;
use super::output::write_atomic;
use clap::Args;
use engine::plan::{spawn_plan, PlanReport, PlanSpec};
use engine::serve::cluster::Mode;
use engine::serve::metrics::Slo;
use engine::serve::workload::{LenDist, Preset};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct PlanArgs {
    /// Model card (see `models list`).
    #[arg(long, default_value = "llama-3-70b")]
    pub model: String,
    /// Hardware profile: a100-40, a100-80, h100-sxm, h200, b200, l40s, cpu (a100, h100 are
    /// aliases), this-machine, or a .ron file.
    #[arg(long, default_value = "h100-sxm")]
    pub hardware: String,
    /// GPUs the plan may use.
    #[arg(long, default_value_t = 16)]
    pub gpus: usize,
    #[arg(long, default_value_t = 500.0)]
    pub slo_ttft_ms: f64,
    #[arg(long, default_value_t = 50.0)]
    pub slo_tpot_ms: f64,
    /// Share of requests that must meet both SLOs.
    #[arg(long, default_value_t = 0.9)]
    pub attainment: f64,
    /// Traffic shape: chat (ShareGPT), code (HumanEval), summarization (LongBench).
    #[arg(long, default_value = "chat")]
    pub dataset: String,
    /// Prompt tokens instead of the dataset's: N, uniform:LO-HI, normal:MEAN,STD, lognormal:MEAN,SIGMA.
    #[arg(long)]
    pub prompt_len: Option<String>,
    /// Output tokens instead of the dataset's (same forms).
    #[arg(long)]
    pub output_len: Option<String>,
    /// Requests per simulation [default: 100 per GPU, at least 1000].
    #[arg(long)]
    pub num_requests: Option<usize>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Workload seeds the best plans are searched on (their range is the error bar).
    #[arg(long, default_value_t = 3)]
    pub seeds: usize,
    /// Modes searched [default: all three].
    #[arg(long, value_delimiter = ',')]
    pub modes: Vec<String>,
    /// Tensor-parallel degrees tried [default: powers of two up to a node].
    #[arg(long, value_delimiter = ',')]
    pub tp: Vec<usize>,
    /// Chunked prefill token budgets tried.
    #[arg(long, value_delimiter = ',', default_value = "512,2048,8192")]
    pub token_budgets: Vec<usize>,
    /// Most sequences per instance.
    #[arg(long, default_value_t = 256)]
    pub max_seqs: usize,
    /// Share of GPU memory for weights and KV cache.
    #[arg(long, default_value_t = 0.9)]
    pub mem_util: f64,
    /// Aggregated replicas pause decodes for prompt steps (vLLM v0, DistServe's baseline).
    #[arg(long)]
    pub prefill_only_steps: bool,
    /// Plans to print.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Write the whole report (plans, curves, frontier) as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the best plan's launch settings (vllm.sh, sglang.sh, dynamo.yaml) into this folder.
    #[arg(long)]
    pub export: Option<PathBuf>,
}

impl PlanArgs {
    /// The engine's spec; engine errors name its fields, mapped to flags by `main`.
    pub fn spec(&self) -> anyhow::Result<PlanSpec> {
        let modes = if self.modes.is_empty() {
            Mode::ALL.to_vec()
        } else {
            self.modes
                .iter()
                .map(|m| Mode::parse(m.trim()))
                .collect::<Result<_, _>>()?
        };
        let len = |s: &Option<String>, f: &str| -> anyhow::Result<Option<LenDist>> {
            Ok(match s {
                Some(s) => Some(LenDist::parse(s, f)?),
                None => None,
            })
        };
        Ok(PlanSpec {
            model: self.model.clone(),
            hardware: self.hardware.clone(),
            gpus: self.gpus,
            slo: Slo {
                ttft_ms: self.slo_ttft_ms,
                tpot_ms: self.slo_tpot_ms,
            },
            attainment: self.attainment,
            dataset: Preset::parse(&self.dataset)?,
            prompt_len: len(&self.prompt_len, "prompt_len")?,
            output_len: len(&self.output_len, "output_len")?,
            burstiness: 1.0,
            num_requests: self.num_requests,
            seed: self.seed,
            seeds: self.seeds,
            error_bar_top: self.top.min(5),
            modes,
            tp: (!self.tp.is_empty()).then(|| self.tp.clone()),
            token_budgets: self.token_budgets.clone(),
            max_seqs: self.max_seqs,
            mem_util: self.mem_util,
            prefill_only_steps: self.prefill_only_steps,
        })
    }
}

pub fn run(a: PlanArgs) -> anyhow::Result<()> {
    let spec = a.spec()?;
    let t0 = std::time::Instant::now();
    let report = follow(spawn_plan(spec)?, None)?;
    print_report(&report, a.top);
    println!(
        "{} simulations of at least {} requests each (three request lifetimes of arrivals) in {:.1} s",
        report.simulations,
        report.num_requests,
        t0.elapsed().as_secs_f64()
    );
    if let Some(p) = &a.json {
        write_atomic(p, &serde_json::to_string_pretty(&report)?)?;
        println!("wrote {}", p.display());
    }
    if let (Some(dir), Some(best)) = (&a.export, report.plans.first()) {
        std::fs::create_dir_all(dir)?;
        for (name, text) in engine::plan::export::all(&best.deployment) {
            let p = dir.join(name);
            write_atomic(&p, &text)?;
            println!("wrote {}", p.display());
        }
    }
    Ok(())
}

fn print_report(r: &PlanReport, top: usize) {
    let s = &r.spec;
    let traffic = match (&s.prompt_len, &s.output_len) {
        (None, None) => format!("{:?} traffic", s.dataset),
        (p, o) => {
            let (dp, dout) = s.dataset.lengths(1.0);
            format!(
                "prompts {:?}, outputs {:?}",
                p.unwrap_or(dp),
                o.unwrap_or(dout)
            )
        }
    };
    println!(
        "{} on {} × {} GPUs, {traffic}, TTFT ≤ {} ms and TPOT ≤ {} ms for {:.0} % of requests",
        s.model,
        s.gpus,
        r.hardware,
        s.slo.ttft_ms,
        s.slo.tpot_ms,
        s.attainment * 100.0
    );
    println!("cost model: {}", r.cost_model);
    println!(
        "\n{:>3}  {:<44} {:>4} {:>9} {:>20} {:>9} {:>9} {:>9} {:>9}",
        "#",
        "plan",
        "GPUs",
        "req/s",
        "req/s/GPU [range]",
        "p90 TTFT",
        "p90 TPOT",
        "tok/s/GPU",
        "tok/s/usr"
    );
    for (i, e) in r.plans.iter().take(top).enumerate() {
        let range = e
            .per_gpu_range
            .map_or(String::new(), |(lo, hi)| format!("[{lo:.3}–{hi:.3}]"));
        let at = e.at_goodput;
        let f = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.1}"));
        println!(
            "{:>3}  {:<44} {:>4} {:>9.2} {:>6.3} {:>13} {:>9} {:>9} {:>9} {:>9}",
            i + 1,
            e.label,
            e.candidate.gpus(),
            e.goodput_rps,
            e.goodput_per_gpu_rps,
            range,
            f(at.map(|a| a.ttft_p90_ms)),
            f(at.map(|a| a.tpot_p90_ms)),
            f(at.map(|a| a.tokens_per_s_per_gpu)),
            f(at.map(|a| a.tokens_per_s_per_user)),
        );
    }
    if r.plans.len() > top {
        println!("     … {} more (--top, --json)", r.plans.len() - top);
    }
    println!(
        "\nPareto frontier (simulated rates that met the target; more per user ↔ more per GPU):"
    );
    println!(
        "{:>10} {:>10} {:>8} {:>6}  plan",
        "tok/s/usr", "tok/s/GPU", "req/s", "att."
    );
    for p in &r.frontier {
        println!(
            "{:>10.1} {:>10.1} {:>8.2} {:>5.0}%  {}",
            p.tokens_per_s_per_user,
            p.tokens_per_s_per_gpu,
            p.rate,
            p.attainment * 100.0,
            p.label
        );
    }
    println!(
        "\nreq/s: the highest rate at which {:.0} % of requests meet both SLOs (modeled clock), \
         found to within ~2 %; [range]: over {} workload seeds.",
        s.attainment * 100.0,
        s.seeds
    );
}
