//! `sweep`: SLO attainment and goodput against request rate for every mode, DistServe's per-GPU
//! goodput, and the SLO-scale curve at one fixed rate.
use super::bench::run_mode;
use super::output::{check_csv_dir, check_writable, write_atomic, Csv};
use super::serve_args::ServeArgs;
use clap::Args;
use engine::sweep::{max_rate_at, slo_scale_curve, RatePoint, ScalePoint, TARGET};
use serde::Serialize;

#[derive(Args, Debug)]
pub struct SweepArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Request rates to visit [default: the scenario's].
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    pub rates: Vec<f64>,
    /// SLO scale factors for the SLO-scale curve, at --request-rate.
    #[arg(long, value_delimiter = ',', default_value = "0.25,0.5,0.75,1,1.5,2,3")]
    pub slo_scales: Vec<f64>,
}

#[derive(Serialize)]
struct Point {
    rate: f64,
    attainment: f64,
    attainment_ttft: f64,
    attainment_tpot: f64,
    goodput_rps: f64,
    throughput_rps: f64,
    ttft_p90_ms: f64,
    tpot_p90_ms: f64,
}

#[derive(Serialize)]
struct ModeSweep {
    mode: &'static str,
    gpus: usize,
    points: Vec<Point>,
    /// Highest rate with ≥ 90 % joint attainment (interpolated); null if even the lowest misses.
    max_rate_at_target: Option<f64>,
    per_gpu_goodput_rps: Option<f64>,
    slo_scale_rate: f64,
    slo_scale: Vec<ScalePoint>,
}

pub fn run_sweep(a: SweepArgs) -> anyhow::Result<()> {
    let s = &a.serve;
    if let Some(p) = &s.json {
        check_writable(p)?;
    }
    if let Some(d) = &s.csv {
        check_csv_dir(d)?;
    }
    let mut rates = a.rates.clone();
    if rates.is_empty() {
        match s
            .scenario
            .as_deref()
            .map(engine::scenario::scenario)
            .transpose()?
        {
            Some(sc) => rates = sc.rates.to_vec(),
            None => anyhow::bail!("--rates: give the rates to sweep (or a --scenario)"),
        }
    }
    if let Some(r) = rates.iter().find(|r| !(**r > 0.0 && r.is_finite())) {
        anyhow::bail!("--rates: every rate must be a finite number > 0, got {r}");
    }
    if let Some(k) = a.slo_scales.iter().find(|k| !(**k > 0.0 && k.is_finite())) {
        anyhow::bail!("--slo-scales: every scale must be > 0, got {k}");
    }
    let setup = s.setup()?;
    // Fail on any bad rate before the first long run.
    let workloads: Vec<_> = rates
        .iter()
        .map(|&r| s.requests(&setup, r))
        .collect::<Result<_, _>>()?;
    let fixed = s.requests(&setup, setup.rate)?;
    let mut out = Vec::new();
    for cfg in &setup.configs {
        let mut points = Vec::new();
        for (rate, reqs) in rates.iter().zip(&workloads) {
            let r = run_mode(&setup, cfg, reqs, &format!("{} {rate}/s", cfg.mode.name()))?;
            let m = &r.summary;
            points.push(Point {
                rate: *rate,
                attainment: m.attainment.joint,
                attainment_ttft: m.attainment.ttft,
                attainment_tpot: m.attainment.tpot,
                goodput_rps: m.goodput_rps,
                throughput_rps: m.throughput_rps,
                ttft_p90_ms: m.ttft_ms.p90,
                tpot_p90_ms: m.tpot_ms.p90,
            });
        }
        let fixed_run = run_mode(
            &setup,
            cfg,
            &fixed,
            &format!("{} SLO scale", cfg.mode.name()),
        )?;
        let curve: Vec<RatePoint> = points
            .iter()
            .map(|p| RatePoint {
                rate: p.rate,
                attainment: p.attainment,
            })
            .collect();
        let max = max_rate_at(&curve, TARGET);
        out.push(ModeSweep {
            mode: cfg.mode.name(),
            gpus: cfg.gpus,
            points,
            max_rate_at_target: max,
            per_gpu_goodput_rps: max.map(|r| r / cfg.gpus as f64),
            slo_scale_rate: setup.rate,
            slo_scale: slo_scale_curve(&fixed_run.requests, &setup.slo, &a.slo_scales),
        });
    }
    print_sweep(&out, &setup.slo);
    if let Some(p) = &s.json {
        let j = serde_json::json!({"model": setup.model_name, "slo": setup.slo, "target": TARGET, "modes": out});
        write_atomic(p, &serde_json::to_string_pretty(&j)?)?;
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
        for m in &out {
            for p in &m.points {
                pts.row(&[
                    m.mode.into(),
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
                    m.mode.into(),
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

fn print_sweep(out: &[ModeSweep], slo: &engine::metrics::Slo) {
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
                m.mode,
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
            m.mode,
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
            print!("{:<28}", format!("{} attain %", m.mode));
            for c in &m.slo_scale {
                print!("{:>7.1}", c.attainment * 100.0);
            }
            println!();
        }
    }
}
