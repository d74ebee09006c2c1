//! `bench --target --json`: `bench`'s schema (`modes`: one run, mode "remote") with
//! `vllm bench serve`'s result keys at the top level, so tools written for either read it.
//! The vLLM keys follow vLLM's definitions: `duration` runs to the last request's end, failed
//! requests stay in the per-request lists (TTFT 0, no ITLs, their error), std is the population
//! standard deviation, times in `ttfts`/`itls` are seconds.
use super::records::{output_tokens, Failure, RemoteResults};
use super::run::RemoteRun;
use engine::serve::metrics::{percentile, RequestRecord, Summary};
use serde::Serialize;
use serde_json::{json, Map, Value};

/// The run's settings, written beside the results.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    pub target: String,
    pub endpoint: String,
    pub backend: String,
    pub model_id: String,
    pub tokenizer: Option<String>,
    /// Whether prompt lengths were counted with a real tokenizer.
    pub exact_prompt_lengths: bool,
    pub request_rate: f64,
    pub burstiness: f64,
    pub seed: u64,
    pub num_prompts: usize,
    pub num_warmups: usize,
    pub shared_prefix_tokens: usize,
}

/// The `modes` entry: the shape of `bench`'s `RunReport`.
#[derive(Serialize)]
struct ModeJson<'a> {
    mode: &'static str,
    gpus: usize,
    pd: Option<(usize, usize)>,
    clock: &'static str,
    cancelled: bool,
    summary: &'a Summary,
    requests: &'a [RequestRecord],
    steps: [(); 0],
}

fn stats_ms(out: &mut Map<String, Value>, name: &str, mut v: Vec<f64>) {
    v.sort_by(f64::total_cmp);
    let n = v.len().max(1) as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    out.insert(format!("mean_{name}_ms"), json!(mean));
    out.insert(format!("median_{name}_ms"), json!(percentile(&v, 50.0)));
    out.insert(format!("std_{name}_ms"), json!(var.sqrt()));
    out.insert(format!("p90_{name}_ms"), json!(percentile(&v, 90.0)));
    out.insert(format!("p99_{name}_ms"), json!(percentile(&v, 99.0)));
}

/// The whole JSON document.
pub fn to_json(info: &RunInfo, run: &RemoteRun, res: &RemoteResults) -> anyhow::Result<String> {
    let recs = &res.records;
    let s = &res.summary;
    let dur = run.duration_s;
    let per_s = |x: f64| if dur > 0.0 { x / dur } else { 0.0 };
    let good = (s.attainment.joint * recs.len() as f64).round();
    let total_in: usize = recs.iter().map(|r| r.prompt_tokens).sum();
    let total_out: usize = recs.iter().map(|r| r.output_tokens).sum();
    let mut m = Map::new();
    m.insert("duration".into(), json!(dur));
    m.insert("completed".into(), json!(recs.len()));
    m.insert("failed".into(), json!(res.failures.len()));
    m.insert("max_concurrency".into(), json!(run.max_concurrency));
    m.insert("total_input_tokens".into(), json!(total_in));
    m.insert("total_output_tokens".into(), json!(total_out));
    m.insert("request_throughput".into(), json!(per_s(recs.len() as f64)));
    m.insert("request_goodput".into(), json!(per_s(good)));
    m.insert("output_throughput".into(), json!(per_s(total_out as f64)));
    m.insert(
        "total_token_throughput".into(),
        json!(per_s((total_in + total_out) as f64)),
    );
    stats_ms(&mut m, "ttft", recs.iter().map(|r| r.ttft_ms).collect());
    let multi = recs.iter().filter(|r| r.output_tokens > 1);
    stats_ms(&mut m, "tpot", multi.map(|r| r.tpot_ms).collect());
    let itl = recs.iter().flat_map(|r| r.itl_ms.iter().copied());
    stats_ms(&mut m, "itl", itl.collect());
    stats_ms(&mut m, "e2el", recs.iter().map(|r| r.e2el_ms).collect());

    // Per-request lists in request order, failures included (as vLLM keeps them).
    let (mut input_lens, mut output_lens, mut ttfts, mut itls, mut errors) =
        (vec![], vec![], vec![], vec![], vec![]);
    let mut by_id = recs.iter().peekable();
    for r in &run.results {
        let rec = by_id.next_if(|q| q.id == r.id);
        let ok = r.outcome.as_ref().ok();
        input_lens.push(rec.map_or(r.planned_prompt_tokens, |q| q.prompt_tokens));
        output_lens.push(ok.map_or(0, output_tokens));
        ttfts.push(rec.map_or(0.0, |q| q.ttft_ms / 1e3));
        itls.push(rec.map_or(vec![], |q| {
            q.itl_ms.iter().map(|x| x / 1e3).collect::<Vec<_>>()
        }));
        errors.push(r.outcome.as_ref().err().cloned().unwrap_or_default());
    }
    m.insert("input_lens".into(), json!(input_lens));
    m.insert("output_lens".into(), json!(output_lens));
    m.insert("ttfts".into(), json!(ttfts));
    m.insert("itls".into(), json!(itls));
    m.insert("errors".into(), json!(errors));

    // This tool's own keys.
    m.insert("run".into(), serde_json::to_value(info)?);
    m.insert("request_rate".into(), json!(info.request_rate));
    m.insert("burstiness".into(), json!(info.burstiness));
    m.insert("model_id".into(), json!(info.model_id));
    m.insert("backend".into(), json!(info.backend));
    m.insert("num_prompts".into(), json!(info.num_prompts));
    // `bench --json`'s own top-level keys.
    m.insert("model".into(), json!(info.model_id));
    m.insert("clock".into(), json!("wall"));
    m.insert("num_requests".into(), json!(info.num_prompts));
    m.insert("seed".into(), json!(info.seed));
    m.insert("cost_model".into(), Value::Null);
    m.insert(
        "itl_per_token_ms".into(),
        serde_json::to_value(res.itl_per_token_ms)?,
    );
    m.insert("usage_missing".into(), json!(res.usage_missing));
    m.insert(
        "failures".into(),
        serde_json::to_value::<&[Failure]>(&res.failures)?,
    );
    let sched: Vec<_> = run
        .results
        .iter()
        .map(|r| json!({"id": r.id, "scheduled_s": r.scheduled_s, "sent_s": r.sent_s}))
        .collect();
    m.insert("send_times".into(), json!(sched));
    m.insert(
        "modes".into(),
        serde_json::to_value([ModeJson {
            mode: "remote",
            gpus: 1,
            pd: None,
            clock: "wall",
            cancelled: false,
            summary: s,
            requests: recs,
            steps: [],
        }])?,
    );
    Ok(serde_json::to_string(&Value::Object(m))?)
}
