//! `calibrate`: time a grid of real steps on this machine, fit the modeled clock's correction
//! to them, and store the result as the `this-machine` hardware profile; `validate`: how far
//! the calibrated modeled clock is from the measured one on one workload.
use super::follow::follow;
use super::output::write_atomic;
use super::serve_args::ServeArgs;
use super::ModelArgs;
use clap::Args;
use engine::measure::calibrate::{calibrate_samples, profile};
use engine::serve::events::Emitter;
use engine::serve::hardware::{this_machine_path, Hardware};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct CalibrateArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Datasheet profile whose roofline the steps are fitted to [default: the device's own:
    /// cpu, or a100/h100 from the GPU's name].
    #[arg(long)]
    pub hardware: Option<String>,
    /// Where to store the profile [default: models/.cache/this-machine.ron, which
    /// `--hardware this-machine` reads].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run_calibrate(a: CalibrateArgs) -> anyhow::Result<()> {
    let m = a.model.load()?;
    let base = match (&a.hardware, m.model.hardware_profile()) {
        (Some(h), _) => Hardware::named(h)?,
        (None, Some(p)) => Hardware::named(p)?,
        (None, None) => {
            anyhow::bail!("no built-in profile matches this GPU: name the closest with --hardware")
        }
    };
    let shapes = engine::measure::calibrate::shape_count(m.model.device());
    eprintln!(
        "timing {shapes} step shapes of {} on {} …",
        m.name,
        m.model.device()
    );
    let (cm, samples) = calibrate_samples(&m.model, base, &Emitter::none())?;
    println!(
        "{:>8} {:>8} {:>8} {:>12} {:>12} {:>8}",
        "prefill", "decode", "context", "measured ms", "fitted ms", "error"
    );
    for s in &samples {
        let ctx = (s.work.kv_tokens_read - s.work.prefill_tokens)
            .checked_div(s.work.decode_tokens)
            .unwrap_or(0);
        println!(
            "{:>8} {:>8} {:>8} {:>12.2} {:>12.2} {:>7.1}%",
            s.work.prefill_tokens,
            s.work.decode_tokens,
            ctx,
            s.measured_s * 1e3,
            s.predicted_s * 1e3,
            (s.predicted_s / s.measured_s - 1.0) * 100.0
        );
    }
    let hw = profile(&cm, &m.name, m.model.device());
    let path = a.out.clone().unwrap_or_else(this_machine_path);
    hw.save(&path)?;
    println!(
        "fit: {} of the {} rooflines",
        cm.describe(),
        cm.hardware.name
    );
    println!(
        "stored {} (use it with --hardware {})",
        path.display(),
        if a.out.is_some() {
            path.display().to_string()
        } else {
            engine::serve::hardware::THIS_MACHINE.to_string()
        }
    );
    Ok(())
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// The workload [default: --scenario cpu-chat].
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Measured runs of the workload: the reference is their median, and their range (the
    /// machine's own noise) is printed beside it.
    #[arg(long, default_value_t = 1)]
    pub repeats: usize,
}

pub fn run_validate(mut a: ValidateArgs) -> anyhow::Result<()> {
    let s = &mut a.serve;
    if s.scenario.is_none() && s.experiment.is_none() {
        s.scenario = Some("cpu-chat".into());
    }
    s.check_outputs()?;
    let exp = s.experiment()?;
    let v = follow(engine::measure::validate::spawn(exp, a.repeats)?, None)?;
    let e = &v.experiment;
    println!(
        "{} on {}, {} requests at {} req/s, SLO TTFT {} ms / TPOT {} ms, {} logical GPUs",
        e.model,
        e.device,
        e.workload.num_requests,
        e.workload.rate,
        e.slo.ttft_ms,
        e.slo.tpot_ms,
        e.gpus
    );
    println!("modeled clock: {}", v.cost_model);
    let runs = v.measured.len();
    println!(
        "\n{:<14} {:<14} {:>10} {:>19} {:>10} {:>8}",
        "mode",
        "figure",
        if runs > 1 { "measured*" } else { "measured" },
        "measured range",
        "modeled",
        "error"
    );
    for r in &v.rows {
        let (lo, hi) = r.measured_range;
        println!(
            "{:<14} {:<14} {:>10.2} {:>19} {:>10.2} {:>+7.1}%",
            r.mode.name(),
            r.metric,
            r.measured,
            format!("{lo:.2}–{hi:.2}"),
            r.modeled,
            r.rel_error * 100.0
        );
    }
    let mut errs: Vec<f64> = v.rows.iter().map(|r| r.rel_error.abs()).collect();
    errs.sort_by(f64::total_cmp);
    let within = |x: f64| errs.iter().filter(|e| **e <= x).count();
    println!(
        "\n|error|: median {:.1} %, worst {:.1} %; within 5 %: {} of {}, within 10 %: {}",
        engine::serve::metrics::percentile(&errs, 50.0) * 100.0,
        v.worst() * 100.0,
        within(0.05),
        errs.len(),
        within(0.10)
    );
    if runs > 1 {
        let mut spread: Vec<f64> = v.rows.iter().map(|r| r.spread()).collect();
        spread.sort_by(f64::total_cmp);
        println!(
            "* median of {runs} measured runs; their range is {:.1} % of it at the median figure, \
             {:.1} % at the worst (the machine's own noise)",
            engine::serve::metrics::percentile(&spread, 50.0) * 100.0,
            spread.last().copied().unwrap_or(0.0) * 100.0
        );
        let inside = v.rows.iter().filter(|r| r.modeled_in_range()).count();
        println!(
            "  the modeled figure lies inside the measured range for {inside} of {}",
            v.rows.len()
        );
    }
    if let Some(p) = &s.json {
        write_atomic(p, &serde_json::to_string_pretty(&v)?)?;
    }
    Ok(())
}
