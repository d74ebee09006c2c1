//! Serving metrics with `vllm bench serve`'s definitions (DESIGN.md): TTFT, TPOT, ITL, E2EL,
//! percentiles with linear interpolation (numpy's default), SLO attainment and goodput, plus
//! DistServe's five-stage latency breakdown.
use crate::serve::request::{ReqId, Request};
use serde::{Deserialize, Serialize};

/// Where a request's end-to-end latency went; the five parts sum to E2EL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    pub prefill_queue: f64,
    pub prefill_exec: f64,
    pub kv_transfer: f64,
    pub decode_queue: f64,
    pub decode_exec: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub id: ReqId,
    pub arrival_s: f64,
    pub prompt_tokens: usize,
    pub output_tokens: usize,
    /// Time of every generated token, seconds from the start of the run.
    pub token_times_s: Vec<f64>,
    pub ttft_ms: f64,
    pub tpot_ms: f64,
    pub e2el_ms: f64,
    pub itl_ms: Vec<f64>,
    pub breakdown_ms: Breakdown,
    pub preemptions: u32,
    pub prefill_instance: Option<usize>,
    pub decode_instance: Option<usize>,
}

impl RequestRecord {
    /// Needs at least one token.
    pub fn from_request(r: &Request) -> RequestRecord {
        let t = &r.token_times_s;
        let first = t[0];
        let last = t[t.len() - 1];
        let ttft = first - r.arrival_s;
        let e2el = last - r.arrival_s;
        let tpot = if t.len() > 1 {
            (e2el - ttft) / (t.len() - 1) as f64
        } else {
            0.0
        };
        let s = &r.stamps;
        let prefill_start = s.prefill_start_s.unwrap_or(r.arrival_s);
        let transfer = match (s.transfer_start_s, s.transfer_end_s) {
            (Some(a), Some(b)) => b - a,
            _ => 0.0,
        };
        // Decoding starts with the first step that computes a generated token; a one-token
        // output never decodes.
        let decode_start = s.decode_start_s.unwrap_or(last).min(last).max(first);
        let breakdown = Breakdown {
            prefill_queue: (prefill_start - r.arrival_s) * 1e3,
            prefill_exec: (first - prefill_start) * 1e3,
            kv_transfer: transfer * 1e3,
            decode_queue: (decode_start - first - transfer) * 1e3,
            decode_exec: (last - decode_start) * 1e3,
        };
        RequestRecord {
            id: r.id,
            arrival_s: r.arrival_s,
            prompt_tokens: r.prompt_len,
            output_tokens: t.len(),
            token_times_s: t.clone(),
            ttft_ms: ttft * 1e3,
            tpot_ms: tpot * 1e3,
            e2el_ms: e2el * 1e3,
            itl_ms: t.windows(2).map(|w| (w[1] - w[0]) * 1e3).collect(),
            breakdown_ms: breakdown,
            preemptions: r.preemptions,
            prefill_instance: r.prefill_instance,
            decode_instance: r.decode_instance,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Slo {
    pub ttft_ms: f64,
    pub tpot_ms: f64,
}

impl Slo {
    pub fn scaled(&self, k: f64) -> Slo {
        Slo {
            ttft_ms: self.ttft_ms * k,
            tpot_ms: self.tpot_ms * k,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub mean: f64,
    pub median: f64,
    pub p90: f64,
    pub p99: f64,
}

/// Linear-interpolated percentile of sorted data (numpy's default method).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let x = p / 100.0 * (sorted.len() - 1) as f64;
    let lo = x.floor() as usize;
    let hi = x.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (x - lo as f64)
}

impl Stats {
    pub fn of(values: impl IntoIterator<Item = f64>) -> Stats {
        let mut v: Vec<f64> = values.into_iter().collect();
        if v.is_empty() {
            return Stats::default();
        }
        v.sort_by(f64::total_cmp);
        Stats {
            mean: v.iter().sum::<f64>() / v.len() as f64,
            median: percentile(&v, 50.0),
            p90: percentile(&v, 90.0),
            p99: percentile(&v, 99.0),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Attainment {
    pub joint: f64,
    pub ttft: f64,
    pub tpot: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub completed: usize,
    /// From the start of the run (t = 0, the first arrival) to the last token.
    pub duration_s: f64,
    pub goodput_rps: f64,
    pub goodput_per_gpu_rps: f64,
    pub throughput_rps: f64,
    pub output_tps: f64,
    pub total_input_tokens: usize,
    pub total_output_tokens: usize,
    pub ttft_ms: Stats,
    pub tpot_ms: Stats,
    pub itl_ms: Stats,
    pub e2el_ms: Stats,
    pub attainment: Attainment,
    pub slo: Slo,
    pub preemptions: u64,
}

/// Fraction of requests meeting the SLOs: (joint, TTFT only, TPOT only). A request meets an SLO
/// when its figure is at most the target (vLLM's `--goodput` rule).
pub fn attainment(reqs: &[RequestRecord], slo: &Slo) -> Attainment {
    if reqs.is_empty() {
        return Attainment::default();
    }
    let n = reqs.len() as f64;
    let ttft_ok = |r: &&RequestRecord| r.ttft_ms <= slo.ttft_ms;
    let tpot_ok = |r: &&RequestRecord| r.tpot_ms <= slo.tpot_ms;
    Attainment {
        joint: reqs.iter().filter(|r| ttft_ok(r) && tpot_ok(r)).count() as f64 / n,
        ttft: reqs.iter().filter(ttft_ok).count() as f64 / n,
        tpot: reqs.iter().filter(tpot_ok).count() as f64 / n,
    }
}

/// Mean of each latency-breakdown stage over the requests (all zero when there are none).
pub fn mean_breakdown(reqs: &[RequestRecord]) -> Breakdown {
    let n = reqs.len().max(1) as f64;
    let mut b = Breakdown::default();
    for q in reqs {
        let x = q.breakdown_ms;
        b.prefill_queue += x.prefill_queue / n;
        b.prefill_exec += x.prefill_exec / n;
        b.kv_transfer += x.kv_transfer / n;
        b.decode_queue += x.decode_queue / n;
        b.decode_exec += x.decode_exec / n;
    }
    b
}

pub fn summarize(reqs: &[RequestRecord], slo: &Slo, gpus: usize) -> Summary {
    let duration_s = reqs
        .iter()
        .filter_map(|r| r.token_times_s.last().copied())
        .fold(0.0, f64::max);
    let per_s = |x: f64| {
        if duration_s > 0.0 {
            x / duration_s
        } else {
            0.0
        }
    };
    let att = attainment(reqs, slo);
    let good = (att.joint * reqs.len() as f64).round();
    let out_tokens: usize = reqs.iter().map(|r| r.output_tokens).sum();
    Summary {
        completed: reqs.len(),
        duration_s,
        goodput_rps: per_s(good),
        goodput_per_gpu_rps: per_s(good) / gpus.max(1) as f64,
        throughput_rps: per_s(reqs.len() as f64),
        output_tps: per_s(out_tokens as f64),
        total_input_tokens: reqs.iter().map(|r| r.prompt_tokens).sum(),
        total_output_tokens: out_tokens,
        ttft_ms: Stats::of(reqs.iter().map(|r| r.ttft_ms)),
        tpot_ms: Stats::of(
            reqs.iter()
                .filter(|r| r.output_tokens > 1)
                .map(|r| r.tpot_ms),
        ),
        itl_ms: Stats::of(reqs.iter().flat_map(|r| r.itl_ms.iter().copied())),
        e2el_ms: Stats::of(reqs.iter().map(|r| r.e2el_ms)),
        attainment: att,
        slo: *slo,
        preemptions: reqs.iter().map(|r| r.preemptions as u64).sum(),
    }
}
