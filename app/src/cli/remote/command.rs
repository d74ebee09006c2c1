//! The `bench --target` command: draw the workload as `bench` does, build its prompts, send
//! them from a tokio runtime of its own (the rest of the app is synchronous), and report.
use super::client::{first_model, ClientConfig, Endpoint};
use super::prompts::{PromptBuilder, TokenCounter};
use super::run::{run_requests, OnDone, PlannedRequest, RunOptions};
use super::vllm_json::{to_json, RunInfo};
use super::{records, table, RemoteArgs};
use crate::cli::output::write_atomic;
use crate::cli::serve_args::ServeArgs;
use engine::serve::experiment::Experiment;
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::Arc;
use std::time::Duration;

/// Stand-ins for a model's shape when drawing lengths: the ids are thrown away (prompts are
/// text), and the context is large enough never to cap a length.
const VOCAB: usize = 32_000;
const FIRST_ID: u32 = 17;
const MAX_CONTEXT: usize = 1 << 20;

/// A trace line's prompt text, when it has one (the engine's parser keeps only token ids).
#[derive(serde::Deserialize)]
struct TraceText {
    prompt: Option<String>,
}

/// The workload's requests with their prompt text.
fn plan(exp: &Experiment, b: &PromptBuilder) -> anyhow::Result<Vec<PlannedRequest>> {
    let w = &exp.workload;
    let (specs, texts) = match &w.trace {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("--trace {}: {e}", path.display()))?;
            let encode = |s: &str| Ok(vec![0; b.given(s).1]);
            let specs = engine::serve::trace::parse_trace(
                &text,
                &encode,
                VOCAB,
                FIRST_ID,
                MAX_CONTEXT,
                w.seed,
            )
            .map_err(|e| anyhow::anyhow!("--trace {}: {e}", path.display()))?;
            // Same lines, same order as the parser reads them (blank lines skipped).
            let texts = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| serde_json::from_str::<TraceText>(l).map(|t| t.prompt))
                .collect::<Result<Vec<_>, _>>()?;
            (specs, texts)
        }
        None => {
            let specs = exp
                .workload_at(w.rate)?
                .generate(VOCAB, FIRST_ID, MAX_CONTEXT)?;
            let n = specs.len();
            (specs, vec![None; n])
        }
    };
    Ok(specs
        .into_iter()
        .zip(texts)
        .map(|(s, text)| {
            let (prompt, prompt_tokens) = match text {
                Some(t) => b.given(&t),
                None => b.prompt(&format!("Request {}", s.id), s.id, s.prompt.len()),
            };
            PlannedRequest {
                id: s.id,
                arrival_s: s.arrival_s,
                prompt,
                prompt_tokens,
                output_tokens: s.output_tokens,
            }
        })
        .collect())
}

/// Warm-ups with the first request's lengths but prompts of their own, so they do not warm
/// the cache for the timed prompts.
fn warmups(first: &PlannedRequest, n: usize, b: &PromptBuilder) -> Vec<PlannedRequest> {
    (0..n as u64)
        .map(|i| {
            let (prompt, prompt_tokens) =
                b.prompt(&format!("Warmup {i}"), i, first.prompt_tokens.max(1));
            PlannedRequest {
                id: i,
                arrival_s: 0.0,
                prompt,
                prompt_tokens,
                output_tokens: first.output_tokens,
            }
        })
        .collect()
}

fn progress(n: usize) -> ProgressBar {
    let bar = ProgressBar::new(n as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:>16} {bar:30} {pos}/{len}  {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("remote");
    bar
}

/// `bench --target URL`.
pub fn run_remote(s: &ServeArgs, r: &RemoteArgs) -> anyhow::Result<()> {
    s.check_outputs()?;
    let exp = s.experiment()?;
    let slo = exp.slo;
    if !(slo.ttft_ms > 0.0 && slo.tpot_ms > 0.0) {
        anyhow::bail!("the SLOs must be > 0 ms");
    }
    if exp.fit.is_some() {
        eprintln!(
            "note: the machine fit of this experiment does not apply to a remote server; using \
             {} req/s and SLO TTFT {} ms / TPOT {} ms",
            exp.workload.rate, slo.ttft_ms, slo.tpot_ms
        );
    }
    if !(r.request_timeout_secs > 0.0 && r.request_timeout_secs.is_finite()) {
        anyhow::bail!("--request-timeout-secs must be > 0");
    }
    let endpoint = Endpoint::parse(&r.endpoint)?;
    let mut cfg = ClientConfig {
        base_url: r.base_url()?,
        endpoint,
        model: String::new(),
        headers: r.header_pairs()?,
        timeout: Duration::from_secs_f64(r.request_timeout_secs),
        temperature: s.temperature.unwrap_or(0.0),
        top_p: s.top_p,
        ignore_eos: !s.stop_at_eos,
    };
    let counter = TokenCounter::load(r.tokenizer.as_deref())?;
    let builder = PromptBuilder::new(counter, r.shared_prefix_tokens);
    if !builder.exact() {
        eprintln!(
            "note: no --tokenizer, so prompt lengths are approximate (one word ≈ one token); \
             input token counts come from the server's usage where it reports them"
        );
    }
    let requests = plan(&exp, &builder)?;
    let opts = RunOptions {
        max_concurrency: r.max_concurrency,
        warmups: warmups(&requests[0], r.num_warmups, &builder),
    };
    let n = requests.len();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let bar = progress(n);
    let run = rt.block_on(async {
        cfg.model = match &r.api_model {
            Some(m) => m.clone(),
            None => first_model(&cfg.http()?, &cfg).await?,
        };
        eprintln!(
            "benchmarking {} ({}, model {}): {n} requests at {} req/s, max concurrency {}{}",
            cfg.base_url,
            endpoint.path(),
            cfg.model,
            exp.workload.rate,
            r.max_concurrency
                .map_or("unlimited".to_string(), |c| c.to_string()),
            match r.num_warmups {
                0 => String::new(),
                w => format!(", after {w} warm-up requests"),
            }
        );
        let b = bar.clone();
        let tick: OnDone = Arc::new(move |_| b.inc(1));
        run_requests(&cfg, requests, &opts, Some(tick)).await
    })?;
    bar.finish_and_clear();
    let res = records::results(&run, &slo);
    table::print_table(&cfg.base_url, &run, &res);
    s.save(&exp)?;
    if let Some(path) = &s.json {
        let info = RunInfo {
            target: cfg.base_url.clone(),
            endpoint: endpoint.path().into(),
            backend: endpoint.backend().into(),
            model_id: cfg.model.clone(),
            tokenizer: r.tokenizer.clone(),
            exact_prompt_lengths: builder.exact(),
            request_rate: exp.workload.rate,
            burstiness: exp.workload.burstiness,
            seed: exp.workload.seed,
            num_prompts: n,
            num_warmups: r.num_warmups,
            shared_prefix_tokens: builder.shared_tokens(),
        };
        write_atomic(path, &to_json(&info, &run, &res)?)?;
    }
    if let Some(d) = &s.csv {
        table::write_csv(d, &run, &res)?;
    }
    Ok(())
}
