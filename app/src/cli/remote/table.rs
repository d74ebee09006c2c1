//! How `bench --target` shows its results: `bench`'s table rows that a remote server can have
//! (no steps, breakdown or preemptions: those are inside the server), and `bench`'s CSV
//! tables with mode "remote", plus failures.csv.
use super::records::RemoteResults;
use super::run::RemoteRun;
use crate::cli::output::Csv;
use crate::cli::report::{f, request_cells, token_rows, REQUEST_COLUMNS, TOKEN_COLUMNS};
use engine::serve::metrics::Stats;
use std::path::Path;

/// How many failure messages the table shows.
const SHOWN_ERRORS: usize = 5;

pub fn print_table(label: &str, run: &RemoteRun, res: &RemoteResults) {
    let s = &res.summary;
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut row = |name: &str, v: String| rows.push((name.to_string(), v));
    row("Successful requests", s.completed.to_string());
    row("Failed requests", res.failures.len().to_string());
    row(
        "Maximum request concurrency",
        run.max_concurrency
            .map_or("unlimited".into(), |n| n.to_string()),
    );
    row("Benchmark duration (s)", format!("{:.2}", s.duration_s));
    row("Total input tokens", s.total_input_tokens.to_string());
    row("Total generated tokens", s.total_output_tokens.to_string());
    row(
        "Request throughput (req/s)",
        format!("{:.3}", s.throughput_rps),
    );
    row(
        "Output token throughput (tok/s)",
        format!("{:.1}", s.output_tps),
    );
    row("Goodput (req/s)", format!("{:.3}", s.goodput_rps));
    let pct = |x: f64| format!("{:.1}", x * 100.0);
    row("SLO attainment, joint (%)", pct(s.attainment.joint));
    row("SLO attainment, TTFT (%)", pct(s.attainment.ttft));
    row("SLO attainment, TPOT (%)", pct(s.attainment.tpot));
    let stats: [(&str, Stats); 4] = [
        ("TTFT", s.ttft_ms),
        ("TPOT", s.tpot_ms),
        ("ITL", s.itl_ms),
        ("E2EL", s.e2el_ms),
    ];
    for (name, st) in stats {
        row(&format!("Mean {name} (ms)"), format!("{:.1}", st.mean));
        row(&format!("Median {name} (ms)"), format!("{:.1}", st.median));
        row(&format!("P90 {name} (ms)"), format!("{:.1}", st.p90));
        row(&format!("P99 {name} (ms)"), format!("{:.1}", st.p99));
    }
    match res.itl_per_token_ms {
        Some(st) => {
            row("Mean ITL per token (ms)", format!("{:.1}", st.mean));
            row("P99 ITL per token (ms)", format!("{:.1}", st.p99));
        }
        None => row("ITL per token (ms)", "unknown".into()),
    }
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(10) + 2;
    let col = label.chars().count().clamp(16, 40) + 2;
    let title = format!("{:=^w$}", " Serving Benchmark Result ", w = width + col);
    println!("{title}");
    println!("{:<width$}{label:>col$}", "Target");
    for (name, v) in rows {
        println!("{name:<width$}{v:>col$}");
    }
    println!(
        "SLOs: TTFT ≤ {} ms, TPOT ≤ {} ms",
        s.slo.ttft_ms, s.slo.tpot_ms
    );
    println!("{}", "=".repeat(title.chars().count()));
    notes(run, res);
}

/// What the numbers above need said beside them.
fn notes(run: &RemoteRun, res: &RemoteResults) {
    if res.chunk_tokens_unknown > 0 {
        println!(
            "ITL is per chunk; {} requests streamed chunks of unknown token counts, so ITL \
             per token is unknown (their token times are spread over their chunks)",
            res.chunk_tokens_unknown
        );
    }
    if res.usage_missing > 0 {
        println!(
            "{} requests had no usage in their stream: their output counts are chunk counts",
            res.usage_missing
        );
    }
    if run.warmup_failures > 0 {
        println!(
            "{} of {} warm-up requests failed",
            run.warmup_failures, run.warmups
        );
    }
    for f in res.failures.iter().take(SHOWN_ERRORS) {
        println!("request {} failed: {}", f.id, f.error);
    }
    if res.failures.len() > SHOWN_ERRORS {
        println!(
            "... and {} more failures (--json or --csv lists them all)",
            res.failures.len() - SHOWN_ERRORS
        );
    }
}

/// A CSV cell holding free text.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\"").replace(['\n', '\r'], " "))
}

/// `bench --csv`'s summary, requests and tokens tables (mode "remote"), and failures.csv.
pub fn write_csv(dir: &Path, run: &RemoteRun, res: &RemoteResults) -> anyhow::Result<()> {
    let s = &res.summary;
    let mut summary = Csv::new(crate::cli::report::SUMMARY_COLUMNS);
    summary.row(&crate::cli::report::summary_row("remote", 1, s));
    let mut requests = Csv::new(&[REQUEST_COLUMNS, &["sent_s"]].concat());
    let mut tokens = Csv::new(TOKEN_COLUMNS);
    // Results are in id order.
    let sent = |id: u64| {
        let i = run.results.binary_search_by_key(&id, |r| r.id).ok()?;
        Some(run.results[i].sent_s)
    };
    for q in &res.records {
        let mut row = request_cells("remote", q);
        row.push(f(sent(q.id).unwrap_or(q.arrival_s)));
        requests.row(&row);
        token_rows(&mut tokens, "remote", q);
    }
    let mut failures = Csv::new(&["id", "scheduled_s", "error"]);
    for x in &res.failures {
        failures.row(&[x.id.to_string(), f(x.scheduled_s), quoted(&x.error)]);
    }
    summary.write(dir, "summary.csv")?;
    requests.write(dir, "requests.csv")?;
    tokens.write(dir, "tokens.csv")?;
    failures.write(dir, "failures.csv")
}
