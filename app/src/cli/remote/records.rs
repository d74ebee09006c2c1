//! From measured streams to the engine's `RequestRecord`s, so `summarize` gives the remote
//! run the same goodput, attainment and statistics as an engine run.
use super::run::{RemoteRun, RequestResult, Timed};
use engine::serve::metrics::{summarize, Breakdown, RequestRecord, Slo, Stats, Summary};

/// A request that did not complete, with the reason.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Failure {
    pub id: u64,
    pub scheduled_s: f64,
    pub error: String,
}

/// A remote run's results in the engine's terms.
#[derive(Debug, Clone)]
pub struct RemoteResults {
    pub records: Vec<RequestRecord>,
    pub failures: Vec<Failure>,
    pub summary: Summary,
    /// ITL per token (a chunk's gap shared by its tokens); None when some server chunk's
    /// token count was unknown.
    pub itl_per_token_ms: Option<Stats>,
    /// Completed requests whose server sent no `usage`: their output counts are chunk counts.
    pub usage_missing: usize,
    /// Completed requests whose tokens per chunk were unknown (spread evenly over chunks).
    pub chunk_tokens_unknown: usize,
}

/// Tokens each content chunk carried, when known: from per-chunk usage, or one each when the
/// final count equals the chunk count.
pub fn chunk_tokens(t: &Timed) -> Option<Vec<usize>> {
    if let Some(cum) = &t.chunk_usage {
        let mut prev = 0;
        let ks: Vec<usize> = cum
            .iter()
            .map(|&c| {
                let k = c.saturating_sub(prev);
                prev = prev.max(c);
                k
            })
            .collect();
        if ks.iter().sum::<usize>() == output_tokens(t) {
            return Some(ks);
        }
    }
    (output_tokens(t) == t.chunk_s.len()).then(|| vec![1; t.chunk_s.len()])
}

/// Output tokens: the server's `usage.completion_tokens` (streamed text is never re-tokenized);
/// the number of content chunks when the server sent no usage. At least 1: text arrived.
pub fn output_tokens(t: &Timed) -> usize {
    t.completion_tokens.unwrap_or(t.chunk_s.len()).max(1)
}

/// The time of every output token: a chunk of k tokens gives k entries at its arrival. With
/// unknown counts the tokens are spread over the chunks, first and last chunk included.
pub fn token_times(t: &Timed) -> Vec<f64> {
    let n = output_tokens(t);
    let c = &t.chunk_s;
    match chunk_tokens(t) {
        Some(ks) => c
            .iter()
            .zip(ks)
            .flat_map(|(&s, k)| std::iter::repeat_n(s, k))
            .collect(),
        None if n == 1 => vec![c[0]],
        None => (0..n)
            .map(|j| c[((j * (c.len() - 1)) as f64 / (n - 1) as f64).round() as usize])
            .collect(),
    }
}

/// A completed request as the engine records one; latencies run from the scheduled send.
pub fn record(r: &RequestResult, t: &Timed) -> RequestRecord {
    let out = output_tokens(t);
    let ttft = t.chunk_s[0] - r.scheduled_s;
    let e2el = t.done_s - r.scheduled_s;
    let tpot = if out > 1 {
        (e2el - ttft) / (out - 1) as f64
    } else {
        0.0
    };
    RequestRecord {
        id: r.id,
        arrival_s: r.scheduled_s,
        prompt_tokens: t.prompt_tokens.unwrap_or(r.planned_prompt_tokens),
        output_tokens: out,
        token_times_s: token_times(t),
        ttft_ms: ttft * 1e3,
        tpot_ms: tpot * 1e3,
        e2el_ms: e2el * 1e3,
        // Per chunk, as vLLM reports ITL.
        itl_ms: t.chunk_s.windows(2).map(|w| (w[1] - w[0]) * 1e3).collect(),
        breakdown_ms: Breakdown::default(),
        preemptions: 0,
        prefill_instance: None,
        decode_instance: None,
    }
}

/// Per-token gaps: each chunk after the first shares its gap among its tokens.
fn per_token_itl(t: &Timed, ks: &[usize]) -> Vec<f64> {
    t.chunk_s
        .windows(2)
        .zip(&ks[1..])
        .flat_map(|(w, &k)| std::iter::repeat_n((w[1] - w[0]) * 1e3 / k.max(1) as f64, k))
        .collect()
}

pub fn results(run: &RemoteRun, slo: &Slo) -> RemoteResults {
    let mut records = Vec::new();
    let mut failures = Vec::new();
    let mut per_token = Some(Vec::new());
    let (mut usage_missing, mut unknown) = (0, 0);
    for r in &run.results {
        match &r.outcome {
            Ok(t) => {
                records.push(record(r, t));
                usage_missing += t.completion_tokens.is_none() as usize;
                match chunk_tokens(t) {
                    Some(ks) => {
                        if let Some(v) = &mut per_token {
                            v.extend(per_token_itl(t, &ks));
                        }
                    }
                    None => {
                        unknown += 1;
                        per_token = None;
                    }
                }
            }
            Err(e) => failures.push(Failure {
                id: r.id,
                scheduled_s: r.scheduled_s,
                error: e.clone(),
            }),
        }
    }
    // One server, whatever its GPUs: per-GPU goodput is not known from outside.
    let summary = summarize(&records, slo, 1);
    RemoteResults {
        records,
        failures,
        summary,
        itl_per_token_ms: per_token.map(Stats::of),
        usage_missing,
        chunk_tokens_unknown: unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timed(chunks: &[f64], usage: Option<usize>, cum: Option<Vec<usize>>) -> Timed {
        Timed {
            chunk_s: chunks.to_vec(),
            chunk_usage: cum,
            done_s: chunks[chunks.len() - 1] + 0.01,
            prompt_tokens: Some(7),
            completion_tokens: usage,
        }
    }

    #[test]
    fn multi_token_chunks() {
        let t = timed(&[1.0, 2.0, 4.0], Some(5), Some(vec![1, 3, 5]));
        assert_eq!(chunk_tokens(&t), Some(vec![1, 2, 2]));
        assert_eq!(token_times(&t), vec![1.0, 2.0, 2.0, 4.0, 4.0]);
        assert_eq!(
            per_token_itl(&t, &[1, 2, 2]),
            vec![500.0, 500.0, 1000.0, 1000.0]
        );
    }

    #[test]
    fn unknown_split_spreads_tokens() {
        let t = timed(&[1.0, 2.0, 3.0], Some(5), None);
        assert_eq!(chunk_tokens(&t), None);
        let tt = token_times(&t);
        assert_eq!(tt.len(), 5);
        assert_eq!((tt[0], tt[4]), (1.0, 3.0));
        let t = timed(&[1.0, 2.0], None, None);
        assert_eq!((output_tokens(&t), chunk_tokens(&t)), (2, Some(vec![1, 1])));
    }
}
