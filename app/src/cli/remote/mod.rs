//! `bench --target URL`: the same workloads sent to any OpenAI-compatible server.
//!
//! `client` sends one streamed request and times its chunks, `run` sends a workload on its
//! schedule, `prompts` builds prompt text of a token length, `records` turns streams into the
//! engine's `RequestRecord`s (so `summarize` gives goodput as for an engine run), `table` and
//! `vllm_json` write the results, `command` is the CLI around them.
mod client;
mod command;
mod prompts;
mod records;
mod run;
mod sse;
mod table;
mod vllm_json;

pub use client::{first_model, normalize_base, send_one, ClientConfig, Endpoint, Streamed};
pub use command::run_remote;
pub use prompts::{PromptBuilder, TokenCounter};
pub use records::{chunk_tokens, output_tokens, record, results, Failure, RemoteResults};
pub use run::{run_requests, OnDone, PlannedRequest, RemoteRun, RequestResult, RunOptions, Timed};
pub use vllm_json::{to_json, RunInfo};

use clap::Args;

/// Flags of `bench --target`; the workload and SLO flags are `bench`'s own.
#[derive(Args, Debug, Clone, Default)]
pub struct RemoteArgs {
    /// Benchmark this OpenAI-compatible server (http://host:port) instead of running the
    /// engine. The workload, SLO, --temperature, --top-p, --stop-at-eos, --json and --csv
    /// flags apply; the engine's own (--modes, --clock, --gpus, ...) do not.
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// API path: /v1/completions or /v1/chat/completions.
    #[arg(long, default_value = "/v1/completions", requires = "target")]
    pub endpoint: String,
    /// Model name sent in each request [default: the first of GET /v1/models].
    #[arg(long, requires = "target")]
    pub api_model: Option<String>,
    /// Most requests in flight at once; a request waiting for a slot still has its latency
    /// measured from its scheduled time [default: no limit].
    #[arg(long, requires = "target")]
    pub max_concurrency: Option<usize>,
    /// Extra HTTP header, e.g. "Authorization: Bearer KEY" (repeatable).
    #[arg(long = "header", value_name = "K:V", requires = "target")]
    pub headers: Vec<String>,
    /// Tokenizer for exact prompt lengths: a tokenizer.json (or its folder), a .gguf, or a
    /// model card [default: one word per token, approximate].
    #[arg(long, requires = "target")]
    pub tokenizer: Option<String>,
    /// Requests sent before the timed run (excluded from every metric).
    #[arg(long, default_value_t = 0, requires = "target")]
    pub num_warmups: usize,
    /// Limit on one request, a stalled stream included.
    #[arg(long, default_value_t = 300.0, requires = "target")]
    pub request_timeout_secs: f64,
    /// Tokens every prompt shares at its start (0: every prompt starts uniquely, so a prefix
    /// cache cannot serve one prompt from another).
    #[arg(long, default_value_t = 0, requires = "target")]
    pub shared_prefix_tokens: usize,
}

impl RemoteArgs {
    /// The `--header` flags as (name, value) pairs.
    pub fn header_pairs(&self) -> anyhow::Result<Vec<(String, String)>> {
        self.headers
            .iter()
            .map(|h| {
                let (k, v) = h
                    .split_once(':')
                    .ok_or_else(|| anyhow::anyhow!("--header {h:?}: expected NAME:VALUE"))?;
                Ok((k.trim().to_string(), v.trim().to_string()))
            })
            .collect()
    }

    /// `--target` as a plain-HTTP base URL.
    pub fn base_url(&self) -> anyhow::Result<String> {
        let t = self.target.as_deref().unwrap_or_default().trim();
        if t.starts_with("https://") {
            anyhow::bail!(
                "--target {t}: this build speaks plain HTTP only; use http:// (e.g. through a \
                 local TLS-terminating proxy)"
            );
        }
        let url = if t.contains("://") {
            t.to_string()
        } else {
            format!("http://{t}")
        };
        if !url.starts_with("http://") || url.len() <= "http://".len() {
            anyhow::bail!("--target {t}: expected http://host:port");
        }
        Ok(normalize_base(&url).to_string())
    }
}
