//! Sending a workload on its schedule: each request leaves at `t0 + arrival_s`, waits for a
//! free slot under `--max-concurrency`, and has its latencies measured from the scheduled time,
//! so time spent waiting for a slot counts (vllm-project/vllm#54101: measuring from the send
//! hid it and reported 506 ms mean E2EL where 1932 ms was real).
use super::client::{send_one, ClientConfig, Streamed};
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::time::{sleep_until, timeout, Duration, Instant};

/// One request of the workload, with the prompt text already built.
#[derive(Debug, Clone)]
pub struct PlannedRequest {
    pub id: u64,
    /// Scheduled send time, seconds from the start of the timed run.
    pub arrival_s: f64,
    pub prompt: String,
    /// The prompt's length as this client counted it (the server's count wins when it reports
    /// `usage.prompt_tokens`).
    pub prompt_tokens: usize,
    pub output_tokens: usize,
}

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Most requests in flight at once (None: no limit).
    pub max_concurrency: Option<usize>,
    /// Sent before the timed run, all at once under the same concurrency limit; no metric
    /// includes them.
    pub warmups: Vec<PlannedRequest>,
}

/// A stream as seconds from the start of the timed run.
#[derive(Debug, Clone, PartialEq)]
pub struct Timed {
    /// Arrival of each content chunk.
    pub chunk_s: Vec<f64>,
    /// Cumulative completion tokens at each content chunk, when the server reported them.
    pub chunk_usage: Option<Vec<usize>>,
    pub done_s: f64,
    pub prompt_tokens: Option<usize>,
    pub completion_tokens: Option<usize>,
}

/// What happened to one request.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestResult {
    pub id: u64,
    pub scheduled_s: f64,
    /// When it actually left (after any wait for a concurrency slot).
    pub sent_s: f64,
    /// When it finished, succeeded or not.
    pub finished_s: f64,
    pub planned_prompt_tokens: usize,
    pub planned_output_tokens: usize,
    pub outcome: Result<Timed, String>,
}

/// A whole timed run (warm-ups already dropped).
#[derive(Debug, Clone)]
pub struct RemoteRun {
    /// In request-id order.
    pub results: Vec<RequestResult>,
    /// From the start of the timed run to the last request's end (vLLM's `duration`).
    pub duration_s: f64,
    pub max_concurrency: Option<usize>,
    /// Warm-ups sent and how many of them failed (a hint when the server is not ready).
    pub warmups: usize,
    pub warmup_failures: usize,
}

/// Called once per finished timed request (progress bars); `true` when it succeeded.
pub type OnDone = Arc<dyn Fn(bool) + Send + Sync>;

/// Sends the warm-ups, then the timed requests on their schedule, and collects every outcome.
/// It never fails on a request: each failure is recorded with its error text.
pub async fn run_requests(
    cfg: &ClientConfig,
    requests: Vec<PlannedRequest>,
    opts: &RunOptions,
    on_done: Option<OnDone>,
) -> anyhow::Result<RemoteRun> {
    if opts.max_concurrency == Some(0) {
        anyhow::bail!("--max-concurrency must be at least 1");
    }
    let http = cfg.http()?;
    let slots = opts
        .max_concurrency
        .map(|n| Arc::new(Semaphore::new(n.min(Semaphore::MAX_PERMITS))));
    let cfg = Arc::new(cfg.clone());

    let warm = spawn_all(
        &http,
        &cfg,
        &slots,
        opts.warmups.clone(),
        Instant::now(),
        None,
    );
    let mut warmup_failures = 0;
    for h in warm {
        if !matches!(h.await, Ok(r) if r.outcome.is_ok()) {
            warmup_failures += 1;
        }
    }

    // The timed run starts after the warm-ups: arrivals are relative to this instant.
    let t0 = Instant::now();
    let handles = spawn_all(&http, &cfg, &slots, requests.clone(), t0, on_done);
    let mut results = Vec::with_capacity(handles.len());
    for (h, req) in handles.into_iter().zip(&requests) {
        let r = h.await.unwrap_or_else(|e| RequestResult {
            // A task cannot panic by design; should one, the run still reports it.
            outcome: Err(format!("client task failed: {e}")),
            ..unsent(req, t0.elapsed().as_secs_f64())
        });
        results.push(r);
    }
    results.sort_by_key(|r| r.id);
    let duration_s = results.iter().map(|r| r.finished_s).fold(0.0, f64::max);
    Ok(RemoteRun {
        results,
        duration_s,
        max_concurrency: opts.max_concurrency,
        warmups: opts.warmups.len(),
        warmup_failures,
    })
}

fn unsent(req: &PlannedRequest, now_s: f64) -> RequestResult {
    RequestResult {
        id: req.id,
        scheduled_s: req.arrival_s,
        sent_s: now_s,
        finished_s: now_s,
        planned_prompt_tokens: req.prompt_tokens,
        planned_output_tokens: req.output_tokens,
        outcome: Err(String::new()),
    }
}

fn spawn_all(
    http: &reqwest::Client,
    cfg: &Arc<ClientConfig>,
    slots: &Option<Arc<Semaphore>>,
    requests: Vec<PlannedRequest>,
    t0: Instant,
    on_done: Option<OnDone>,
) -> Vec<tokio::task::JoinHandle<RequestResult>> {
    requests
        .into_iter()
        .map(|req| {
            let (http, cfg, slots, on_done) =
                (http.clone(), cfg.clone(), slots.clone(), on_done.clone());
            tokio::spawn(async move {
                let r = one(&http, &cfg, slots, req, t0).await;
                if let Some(f) = &on_done {
                    f(r.outcome.is_ok());
                }
                r
            })
        })
        .collect()
}

async fn one(
    http: &reqwest::Client,
    cfg: &ClientConfig,
    slots: Option<Arc<Semaphore>>,
    req: PlannedRequest,
    t0: Instant,
) -> RequestResult {
    let secs = |t: Instant| t.saturating_duration_since(t0).as_secs_f64();
    let arrival = Duration::try_from_secs_f64(req.arrival_s.max(0.0)).unwrap_or(Duration::MAX);
    sleep_until(t0.checked_add(arrival).unwrap_or(t0)).await;
    // The semaphore is never closed, so acquiring only waits; the permit is held to the end.
    let _permit = match slots {
        Some(s) => s.acquire_owned().await.ok(),
        None => None,
    };
    let sent = Instant::now();
    let outcome = match timeout(
        cfg.timeout,
        send_one(http, cfg, &req.prompt, req.output_tokens),
    )
    .await
    {
        Ok(r) => r.map(|s| timed(s, secs)),
        Err(_) => Err(format!(
            "timed out after {:.1} s (--request-timeout-secs)",
            cfg.timeout.as_secs_f64()
        )),
    };
    RequestResult {
        sent_s: secs(sent),
        finished_s: secs(Instant::now()),
        outcome,
        ..unsent(&req, 0.0)
    }
}

fn timed(s: Streamed, secs: impl Fn(Instant) -> f64) -> Timed {
    Timed {
        chunk_s: s.chunks.iter().map(|t| secs(*t)).collect(),
        chunk_usage: s.chunk_usage,
        done_s: secs(s.done),
        prompt_tokens: s.prompt_tokens,
        completion_tokens: s.completion_tokens,
    }
}
