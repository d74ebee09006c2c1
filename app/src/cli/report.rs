//! How `bench` shows its results: a side-by-side table in the manner of `vllm bench serve`
//! (one column per mode), and CSV tables for spreadsheets.
use super::output::Csv;
use engine::serve::cluster::RunReport;
use engine::serve::metrics::{Breakdown, RequestRecord, Stats, Summary};
use std::path::Path;

fn gpus_label(r: &RunReport) -> String {
    match r.pd {
        Some((p, d)) => format!("{} ({p}P:{d}D)", r.gpus),
        None => format!("{}", r.gpus),
    }
}

fn mean_breakdown(r: &RunReport) -> Breakdown {
    engine::serve::metrics::mean_breakdown(&r.requests)
}

pub fn print_table(reports: &[RunReport]) {
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let mut row = |name: &str, f: &dyn Fn(&RunReport) -> String| {
        rows.push((name.to_string(), reports.iter().map(f).collect()));
    };
    row("GPUs", &gpus_label);
    row("Successful requests", &|r| r.summary.completed.to_string());
    row("Benchmark duration (s)", &|r| {
        format!("{:.2}", r.summary.duration_s)
    });
    row("Total input tokens", &|r| {
        r.summary.total_input_tokens.to_string()
    });
    row("Total generated tokens", &|r| {
        r.summary.total_output_tokens.to_string()
    });
    row("Request throughput (req/s)", &|r| {
        format!("{:.3}", r.summary.throughput_rps)
    });
    row("Output token throughput (tok/s)", &|r| {
        format!("{:.1}", r.summary.output_tps)
    });
    row("Goodput (req/s)", &|r| {
        format!("{:.3}", r.summary.goodput_rps)
    });
    row("Goodput per GPU (req/s)", &|r| {
        format!("{:.3}", r.summary.goodput_per_gpu_rps)
    });
    row("SLO attainment, joint (%)", &|r| {
        format!("{:.1}", r.summary.attainment.joint * 100.0)
    });
    row("SLO attainment, TTFT (%)", &|r| {
        format!("{:.1}", r.summary.attainment.ttft * 100.0)
    });
    row("SLO attainment, TPOT (%)", &|r| {
        format!("{:.1}", r.summary.attainment.tpot * 100.0)
    });
    type Pick = fn(&RunReport) -> Stats;
    let stats: [(&str, Pick); 4] = [
        ("TTFT", |r| r.summary.ttft_ms),
        ("TPOT", |r| r.summary.tpot_ms),
        ("ITL", |r| r.summary.itl_ms),
        ("E2EL", |r| r.summary.e2el_ms),
    ];
    for (name, pick) in stats {
        row(&format!("Mean {name} (ms)"), &|r| {
            format!("{:.1}", pick(r).mean)
        });
        row(&format!("Median {name} (ms)"), &|r| {
            format!("{:.1}", pick(r).median)
        });
        row(&format!("P90 {name} (ms)"), &|r| {
            format!("{:.1}", pick(r).p90)
        });
        row(&format!("P99 {name} (ms)"), &|r| {
            format!("{:.1}", pick(r).p99)
        });
    }
    row("Mean prefill queue (ms)", &|r| {
        format!("{:.1}", mean_breakdown(r).prefill_queue)
    });
    row("Mean prefill execution (ms)", &|r| {
        format!("{:.1}", mean_breakdown(r).prefill_exec)
    });
    row("Mean KV transfer (ms)", &|r| {
        format!("{:.2}", mean_breakdown(r).kv_transfer)
    });
    row("Mean decode queue (ms)", &|r| {
        format!("{:.1}", mean_breakdown(r).decode_queue)
    });
    row("Mean decode execution (ms)", &|r| {
        format!("{:.1}", mean_breakdown(r).decode_exec)
    });
    row("Steps", &|r| r.steps.len().to_string());
    row("Preemptions", &|r| r.summary.preemptions.to_string());
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(10) + 2;
    let col = 16;
    let title = format!(
        "{:=^w$}",
        " Serving Benchmark Result ",
        w = width + col * reports.len()
    );
    println!("{title}");
    print!("{:<width$}", "Mode");
    for r in reports {
        print!("{:>col$}", r.mode.name());
    }
    println!();
    for (name, cells) in rows {
        print!("{name:<width$}");
        for c in cells {
            print!("{c:>col$}");
        }
        println!();
    }
    let s = &reports[0].summary.slo;
    println!("SLOs: TTFT ≤ {} ms, TPOT ≤ {} ms", s.ttft_ms, s.tpot_ms);
    println!("{}", "=".repeat(title.chars().count()));
}

/// A number as every CSV table writes it.
pub fn f(x: f64) -> String {
    format!("{x:.6}")
}

/// The columns of `summary.csv` (`bench --csv`, the window's export, `bench --target --csv`).
pub const SUMMARY_COLUMNS: &[&str] = &[
    "mode",
    "gpus",
    "completed",
    "duration_s",
    "throughput_rps",
    "output_tps",
    "goodput_rps",
    "goodput_per_gpu_rps",
    "attainment_joint",
    "attainment_ttft",
    "attainment_tpot",
    "ttft_mean_ms",
    "ttft_p99_ms",
    "tpot_mean_ms",
    "tpot_p99_ms",
    "itl_p99_ms",
    "e2el_mean_ms",
    "preemptions",
];

/// The columns `requests.csv` starts with (`bench` and `bench --target` add their own after).
pub const REQUEST_COLUMNS: &[&str] = &[
    "mode",
    "id",
    "arrival_s",
    "prompt_tokens",
    "output_tokens",
    "ttft_ms",
    "tpot_ms",
    "e2el_ms",
];

/// A request's cells under `REQUEST_COLUMNS`.
pub fn request_cells(mode: &str, q: &RequestRecord) -> Vec<String> {
    vec![
        mode.to_string(),
        q.id.to_string(),
        f(q.arrival_s),
        q.prompt_tokens.to_string(),
        q.output_tokens.to_string(),
        f(q.ttft_ms),
        f(q.tpot_ms),
        f(q.e2el_ms),
    ]
}

/// The columns of `tokens.csv`.
pub const TOKEN_COLUMNS: &[&str] = &["mode", "id", "index", "t_s"];

/// `tokens.csv`'s rows for `q`: one per generated token.
pub fn token_rows(tokens: &mut Csv, mode: &str, q: &RequestRecord) {
    for (i, t) in q.token_times_s.iter().enumerate() {
        tokens.row(&[mode.to_string(), q.id.to_string(), i.to_string(), f(*t)]);
    }
}

/// One mode's row of `summary.csv`.
pub fn summary_row(mode: &str, gpus: usize, s: &Summary) -> Vec<String> {
    vec![
        mode.to_string(),
        gpus.to_string(),
        s.completed.to_string(),
        f(s.duration_s),
        f(s.throughput_rps),
        f(s.output_tps),
        f(s.goodput_rps),
        f(s.goodput_per_gpu_rps),
        f(s.attainment.joint),
        f(s.attainment.ttft),
        f(s.attainment.tpot),
        f(s.ttft_ms.mean),
        f(s.ttft_ms.p99),
        f(s.tpot_ms.mean),
        f(s.tpot_ms.p99),
        f(s.itl_ms.p99),
        f(s.e2el_ms.mean),
        s.preemptions.to_string(),
    ]
}

pub fn write_csv(dir: &Path, reports: &[RunReport]) -> anyhow::Result<()> {
    let mut summary = Csv::new(SUMMARY_COLUMNS);
    let breakdown = [
        "prefill_queue_ms",
        "prefill_exec_ms",
        "kv_transfer_ms",
        "decode_queue_ms",
        "decode_exec_ms",
        "preemptions",
    ];
    let mut requests = Csv::new(&[REQUEST_COLUMNS, &breakdown].concat());
    let mut tokens = Csv::new(TOKEN_COLUMNS);
    let mut steps = Csv::new(&[
        "mode",
        "instance",
        "role",
        "start_s",
        "end_s",
        "prefill_tokens",
        "decode_tokens",
        "seqs",
        "kv_blocks",
    ]);
    for r in reports {
        let m = r.mode.name().to_string();
        let s = &r.summary;
        summary.row(&summary_row(&m, r.gpus, s));
        for q in &r.requests {
            let b = q.breakdown_ms;
            let mut row = request_cells(&m, q);
            row.extend([
                f(b.prefill_queue),
                f(b.prefill_exec),
                f(b.kv_transfer),
                f(b.decode_queue),
                f(b.decode_exec),
                q.preemptions.to_string(),
            ]);
            requests.row(&row);
            token_rows(&mut tokens, &m, q);
        }
        for st in &r.steps {
            steps.row(&[
                m.clone(),
                st.instance.to_string(),
                format!("{:?}", st.role).to_lowercase(),
                f(st.start_s),
                f(st.end_s),
                st.prefill_tokens.to_string(),
                st.decode_tokens.to_string(),
                st.seqs.to_string(),
                st.kv_blocks.to_string(),
            ]);
        }
    }
    summary.write(dir, "summary.csv")?;
    requests.write(dir, "requests.csv")?;
    tokens.write(dir, "tokens.csv")?;
    steps.write(dir, "steps.csv")
}
