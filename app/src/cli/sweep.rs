//! `sweep`: SLO attainment and goodput against request rate for every mode, DistServe's per-GPU
//! goodput, and the SLO-scale curve at one fixed rate.
use super::follow::follow;
use super::output::{write_atomic, Csv};
use super::serve_args::ServeArgs;
use clap::Args;
use engine::serve::sweep::{spawn_sweep, ModeSweep, TARGET};

#[derive(Args, Debug)]
pub struct SweepArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Request rates to visit [default: the scenario's].
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    pub rates: Vec<f64>,
    /// SLO scale factors for the SLO-scale curve [default: 0.25,0.5,0.75,1,1.5,2,3].
    #[arg(long, value_delimiter = ',')]
    pub slo_scales: Vec<f64>,
}

pub fn run_sweep(a: SweepArgs) -> anyhow::Result<()> {
    let s = &a.serve;
    s.check_outputs()?;
    let mut exp = s.experiment()?;
    if !a.rates.is_empty() {
        exp.sweep.rates = a.rates.clone();
        if let Some(f) = &mut exp.fit {
            f.sweep_loads = None;
        }
    }
    if !a.slo_scales.is_empty() {
        exp.sweep.slo_scales = a.slo_scales.clone();
    }
    // --request-rate on a sweep names the SLO-scale curve's rate (reused if swept).
    if s.request_rate.is_some() {
        exp.sweep.slo_scale_rate = s.request_rate;
    }
    if !exp.has_sweep_rates() {
        anyhow::bail!("--rates: give the rates to sweep (or a --scenario)");
    }
    let (p, report) = follow(spawn_sweep(exp, None)?, None)?;
    if let Some(f) = &p.figures {
        println!("{}", f.describe());
    }
    let out = &report.modes;
    print_sweep(out, &p.resolved.slo, &report.slo_scale_source);
    s.save(&p.experiment)?;
    if let Some(path) = &s.json {
        let j = serde_json::json!({"model": p.model_name, "slo": p.resolved.slo, "target": TARGET, "slo_scale_source": report.slo_scale_source, "modes": out});
        write_atomic(path, &serde_json::to_string_pretty(&j)?)?;
    }
    if let Some(d) = &s.csv {
        let mut pts = Csv::new(&[
            "mode",
            "gpus",
            "rate",
            "attainment",
            "attainment_ttft",
            "attainment_tpot",
            "goodput_rps",
            "throughput_rps",
        ]);
        let mut scale = Csv::new(&["mode", "rate", "slo_scale", "attainment"]);
        for m in out {
            for p in &m.points {
                pts.row(&[
                    m.mode.name().into(),
                    m.gpus.to_string(),
                    p.rate.to_string(),
                    p.attainment.to_string(),
                    p.attainment_ttft.to_string(),
                    p.attainment_tpot.to_string(),
                    p.goodput_rps.to_string(),
                    p.throughput_rps.to_string(),
                ]);
            }
            for c in &m.slo_scale {
                scale.row(&[
                    m.mode.name().into(),
                    m.slo_scale_rate.to_string(),
                    c.scale.to_string(),
                    c.attainment.to_string(),
                ]);
            }
        }
        pts.write(d, "sweep.csv")?;
        scale.write(d, "slo_scale.csv")?;
    }
    Ok(())
}

fn print_sweep(out: &[ModeSweep], slo: &engine::serve::metrics::Slo, source: &str) {
    println!(
        "SLOs: TTFT ≤ {} ms, TPOT ≤ {} ms; attainment target {:.0} %",
        slo.ttft_ms,
        slo.tpot_ms,
        TARGET * 100.0
    );
    println!(
        "{:<15} {:>9} {:>11} {:>9} {:>9} {:>13} {:>13}",
        "mode", "rate/s", "attain %", "TTFT %", "TPOT %", "goodput/s", "throughput/s"
    );
    for m in out {
        for p in &m.points {
            println!(
                "{:<15} {:>9.3} {:>11.1} {:>9.1} {:>9.1} {:>13.3} {:>13.3}",
                m.mode.name(),
                p.rate,
                p.attainment * 100.0,
                p.attainment_ttft * 100.0,
                p.attainment_tpot * 100.0,
                p.goodput_rps,
                p.throughput_rps
            );
        }
    }
    println!(
        "\n{:<15} {:>5} {:>24} {:>22}",
        "mode", "GPUs", "max rate at target /s", "per-GPU goodput /s"
    );
    for m in out {
        // When even the highest rate meets the target, the figure is only a lower bound.
        let open = m.points.iter().map(|p| p.rate).fold(f64::MIN, f64::max)
            == m.max_rate_at_target.unwrap_or(f64::NAN);
        let show = |x: Option<f64>| {
            x.map_or("below lowest rate".to_string(), |v| {
                format!("{}{v:.3}", if open { "≥ " } else { "" })
            })
        };
        println!(
            "{:<15} {:>5} {:>24} {:>22}",
            m.mode.name(),
            m.gpus,
            show(m.max_rate_at_target),
            show(m.per_gpu_goodput_rps)
        );
    }
    if let Some(first) = out.first() {
        print!("\nSLO scale at {}/s {:>6}", first.slo_scale_rate, "");
        for c in &first.slo_scale {
            print!("{:>7}", format!("×{}", c.scale));
        }
        println!();
        for m in out {
            print!("{:<28}", format!("{} attain %", m.mode.name()));
            for c in &m.slo_scale {
                print!("{:>7.1}", c.attainment * 100.0);
            }
            println!();
        }
        println!("(SLO-scale curve from {source})");
    }
}
