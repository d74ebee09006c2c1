//! `bench`: every mode on the identical arrival sequence, side by side (a thin caller of the
//! engine's `experiment::spawn`).
use super::follow::follow;
use super::output::write_atomic;
use super::report::{print_table, write_csv};
use super::serve_args::ServeArgs;
use clap::Args;
use engine::serve::cluster::RunReport;
use engine::serve::cost_model::CostModel;
use engine::serve::experiment::Experiment;
use serde::Serialize;

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// `--target URL` and its flags: benchmark a running server instead of the engine.
    #[command(flatten)]
    pub remote: super::remote::RemoteArgs,
}

/// `bench --json`'s schema; the window's Export JSON writes the same.
#[derive(Serialize)]
struct BenchJson<'a> {
    model: &'a str,
    clock: engine::serve::cluster::ClockKind,
    request_rate: f64,
    num_requests: usize,
    seed: u64,
    cost_model: Option<&'a engine::serve::cost_model::CostModel>,
    modes: &'a [RunReport],
}

/// The run as `bench --json` writes it: `experiment` as it ran (machine fit applied).
pub fn bench_json(
    model: &str,
    experiment: &Experiment,
    cost_model: Option<&CostModel>,
    num_requests: usize,
    modes: &[RunReport],
) -> anyhow::Result<String> {
    Ok(serde_json::to_string(&BenchJson {
        model,
        clock: experiment.clock,
        request_rate: experiment.workload.rate,
        num_requests,
        seed: experiment.workload.seed,
        cost_model,
        modes,
    })?)
}

pub fn run_bench(a: BenchArgs) -> anyhow::Result<()> {
    if a.remote.target.is_some() {
        return super::remote::run_remote(&a.serve, &a.remote);
    }
    let s = &a.serve;
    s.check_outputs()?;
    let exp = s.experiment()?;
    let n = exp.workload.num_requests;
    let out = follow(engine::serve::experiment::spawn(exp, None)?, Some(n))?;
    let p = &out.prepared;
    if let Some(f) = &p.figures {
        println!("{}", f.describe());
        println!(
            "fitted to this machine: {} req/s, SLO TTFT {} ms / TPOT {} ms",
            p.experiment.workload.rate, p.experiment.slo.ttft_ms, p.experiment.slo.tpot_ms
        );
    }
    print_table(&out.reports);
    s.save(&p.experiment)?;
    if let Some(path) = &s.json {
        let j = bench_json(
            &p.model_name,
            &p.experiment,
            p.cost.as_deref(),
            out.requests.len(),
            &out.reports,
        )?;
        write_atomic(path, &j)?;
    }
    if let Some(d) = &s.csv {
        write_csv(d, &out.reports)?;
    }
    Ok(())
}
