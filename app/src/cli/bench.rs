//! `bench`: every mode on the identical arrival sequence, side by side.
use super::output::{check_csv_dir, check_writable, write_atomic};
use super::report::{print_table, write_csv};
use super::serve_args::{ServeArgs, Setup};
use clap::Args;
use engine::cluster::{run, RunInputs, RunReport, ServeConfig};
use engine::events::{Event, RunControl};
use engine::request::RequestSpec;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Serialize)]
struct BenchJson<'a> {
    model: &'a str,
    clock: engine::cluster::ClockKind,
    request_rate: f64,
    num_requests: usize,
    seed: u64,
    cost_model: Option<&'a engine::cost_model::CostModel>,
    modes: &'a [RunReport],
}

pub fn run_bench(a: BenchArgs) -> anyhow::Result<()> {
    let s = &a.serve;
    if let Some(p) = &s.json {
        check_writable(p)?;
    }
    if let Some(d) = &s.csv {
        check_csv_dir(d)?;
    }
    let setup = s.setup()?;
    let reqs = s.requests(&setup, setup.rate)?;
    let mut reports = Vec::new();
    for cfg in &setup.configs {
        reports.push(run_mode(
            &setup,
            cfg,
            &reqs,
            &format!("{} ", cfg.mode.name()),
        )?);
    }
    print_table(&reports);
    if let Some(p) = &s.json {
        let j = BenchJson {
            model: &setup.model_name,
            clock: setup.configs[0].clock,
            request_rate: setup.rate,
            num_requests: reqs.len(),
            seed: s.seed,
            cost_model: setup.cost.as_ref(),
            modes: &reports,
        };
        write_atomic(p, &serde_json::to_string(&j)?)?;
    }
    if let Some(d) = &s.csv {
        write_csv(d, &reports)?;
    }
    Ok(())
}

/// Runs one mode on a worker thread while this thread shows progress from its events.
pub fn run_mode(
    setup: &Setup,
    cfg: &ServeConfig,
    reqs: &[RequestSpec],
    label: &str,
) -> anyhow::Result<RunReport> {
    let (tx, rx) = crossbeam_channel::unbounded();
    let bar = ProgressBar::new(reqs.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:>16} {bar:30} {pos}/{len} requests  {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(label.to_string());
    let report = std::thread::scope(|scope| {
        let worker = scope.spawn(|| {
            run(RunInputs {
                config: cfg,
                requests: reqs,
                model: setup.model_ref(),
                cost: setup.cost.as_ref(),
                slo: setup.slo,
                stop_ids: &setup.stop_ids,
                events: Some(tx),
                control: RunControl::default(),
            })
        });
        // The channel closes when the run ends and drops its sender.
        for e in rx.iter() {
            if let Event::Finished(_) = e {
                bar.inc(1);
            }
        }
        worker
            .join()
            .map_err(|_| anyhow::anyhow!("the {} run panicked", cfg.mode.name()))
    })??;
    bar.finish_and_clear();
    Ok(report)
}
