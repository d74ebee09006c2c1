//! Playing a lesson without a window: each step's patch applied cumulatively to a seeded
//! modeled experiment, its action run through the engine's blocking run functions, its check
//! evaluated. `check_all` does this for files and folders and lists every problem; the CLI's
//! `lessons check` and the tests call it, and the GUI can run `run_action` on a worker.
use super::format::{load_dir, load_file, Action, LessonFile};
use super::results::Results;
use super::Problem;
use crate::error::{EngineError, Result};
use crate::measure::interference::InterferenceConfig;
use crate::model::spec::ModelSpec;
use crate::serve::cluster::ClockKind;
use crate::serve::events::{Emitter, RunControl};
use crate::serve::experiment::{prepare, BenchOutput, Experiment, Prepared};
use crate::serve::request::RequestSpec;
use crate::serve::sweep::run_sweep;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where every lesson starts: the tiny model's shape on the modeled clock with this CPU's
/// hardware profile and seed 0, so a lesson's numbers are the same on every machine and every
/// run, and take moments. The GUI starts a lesson from it too, so the learner sees what the
/// checker checked.
pub fn base_experiment() -> Experiment {
    Experiment {
        name: "lesson".into(),
        model: "tiny".into(),
        synthetic: true,
        clock: ClockKind::Modeled,
        hardware: "cpu".into(),
        ..Experiment::default()
    }
}

/// The interference grid lessons use: decode batches 1, 8 and 32 at a 256-token context, with
/// prefills of 128 to 2048 tokens (those that fit the model's context).
pub fn interference_config(spec: &ModelSpec) -> InterferenceConfig {
    let context = 256.min(spec.max_context / 4);
    InterferenceConfig {
        decode_batches: vec![1, 8, 32],
        prefill_lens: [0, 128, 256, 512, 1024, 2048]
            .into_iter()
            .filter(|&l| l <= spec.max_context)
            .collect(),
        context,
        repeats: 3,
        seed: 0,
    }
}

/// `requests` with one more prompt of `tokens` tokens arriving with the middle request (the
/// presenter's "inject a long prompt"), ids renumbered in arrival order as runs require.
pub fn with_long_prompt(
    requests: &[RequestSpec],
    tokens: usize,
    vocab_size: usize,
) -> Arc<[RequestSpec]> {
    let mut out: Vec<RequestSpec> = requests.to_vec();
    let mid = out.len() / 2;
    let arrival_s = out.get(mid).map_or(0.0, |r| r.arrival_s);
    let output_tokens = out.get(mid).map_or(16, |r| r.output_tokens);
    // Any token ids do: steps cost the same whatever the text.
    let span = vocab_size.saturating_sub(17).max(1);
    let prompt: Vec<u32> = (0..tokens).map(|i| (17 + i * 7919 % span) as u32).collect();
    out.insert(
        mid,
        RequestSpec {
            id: 0,
            arrival_s,
            prompt: prompt.into(),
            output_tokens,
        },
    );
    for (i, r) in out.iter_mut().enumerate() {
        r.id = i as u64;
    }
    out.into()
}

fn bench(p: Prepared, requests: Arc<[RequestSpec]>) -> Result<BenchOutput> {
    let reports = p.run_modes(&requests, "", &Emitter::none(), &RunControl::default())?;
    Ok(BenchOutput {
        prepared: p,
        requests,
        reports,
    })
}

/// Runs `action` on `exp` to completion (blocking) and folds what it produced into `results`.
pub fn run_action(exp: &Experiment, action: Action, results: Results) -> Result<Results> {
    if action == Action::None {
        return Ok(results);
    }
    let em = Emitter::none();
    let p = prepare(exp, None, &em)?;
    Ok(match action {
        Action::None => results,
        Action::Run => {
            let reqs = p.requests(p.experiment.workload.rate)?;
            results.with_bench(&bench(p, reqs)?)
        }
        Action::InjectLongPrompt { tokens } => {
            let reqs = p.requests(p.experiment.workload.rate)?;
            let reqs = with_long_prompt(&reqs, tokens, p.spec.vocab_size);
            for c in &p.resolved.configs {
                c.validate(&reqs)?;
            }
            results.with_bench(&bench(p, reqs)?)
        }
        Action::Sweep => results.with_sweep(&run_sweep(&p, &em, &RunControl::default())?),
        Action::Interference => {
            results.with_interference(&p.modeled_interference(&interference_config(&p.spec))?)
        }
    })
}

/// Plays every step of `file` and returns what went wrong: a patch the engine refuses, an
/// action that fails, a check that cannot be evaluated or does not hold (with the numbers).
/// Every step is played on the modeled clock, whatever its patch says, so the outcome is the
/// same on every machine.
pub fn play(file: &LessonFile) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut exp = base_experiment();
    let mut results = Results::default();
    for (i, step) in file.lesson.steps.iter().enumerate() {
        step.patch.apply(&mut exp);
        exp.clock = ClockKind::Modeled;
        exp.calibrate = false;
        exp.fit = None;
        match run_action(&exp, step.action, results.clone()) {
            Ok(r) => results = r,
            Err(EngineError::Field { field, reason }) => {
                let at = format!("steps[{i}].patch.{field}");
                problems.push(file.problem(&at, format!("{field}: {reason}")));
                break;
            }
            Err(e) => {
                problems.push(file.problem(&format!("steps[{i}].action"), e.to_string()));
                break;
            }
        }
        let Some(Some(check)) = file.checks.get(i) else {
            continue;
        };
        let at = format!("steps[{i}].check");
        match check.evaluate(&results) {
            Ok(o) if o.passed => {}
            Ok(o) => problems.push(file.problem(
                &at,
                format!(
                    "`{}` does not hold on the seeded modeled run: {}",
                    check.text(),
                    o.describe()
                ),
            )),
            Err(e) => problems.push(file.problem(&at, e.to_string())),
        }
    }
    problems
}

/// Every lesson file under `paths` (files, or folders of `*.ron`) validated and played; an
/// empty list means every check holds.
pub fn check_all(paths: &[PathBuf]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for path in paths {
        let loaded = if path.is_dir() {
            load_dir(path)
        } else {
            vec![load_file(path)]
        };
        for l in loaded {
            match l {
                Ok(f) => problems.extend(play(&f)),
                Err(p) => problems.extend(p),
            }
        }
    }
    problems
}

/// The folder `lessons check` reads when given none.
pub fn default_dir() -> &'static Path {
    Path::new("lessons")
}
