//! `bench`: every mode on the identical arrival sequence, side by side (a thin caller of the
//! engine's `experiment::spawn`).
use super::follow::follow;
use super::output::write_atomic;
use super::report::{print_table, write_csv};
use super::serve_args::ServeArgs;
use clap::Args;
use engine::serve::cluster::RunReport;
use serde::Serialize;

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
}

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

pub fn run_bench(a: BenchArgs) -> anyhow::Result<()> {
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
        let j = BenchJson {
            model: &p.model_name,
            clock: p.experiment.clock,
            request_rate: p.experiment.workload.rate,
            num_requests: out.requests.len(),
            seed: p.experiment.workload.seed,
            cost_model: p.cost.as_deref(),
            modes: &out.reports,
        };
        write_atomic(path, &serde_json::to_string(&j)?)?;
    }
    if let Some(d) = &s.csv {
        write_csv(d, &out.reports)?;
    }
    Ok(())
}
