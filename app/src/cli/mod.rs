//! Command-line definitions and dispatch.
pub(crate) mod bench;
mod bench_model;
mod calibrate;
pub mod flags;
mod follow;
mod generate;
mod gpu_check;
mod interference;
mod lessons;
mod models;
pub(crate) mod output;
mod plan;
pub(crate) mod remote;
pub(crate) mod report;
pub(crate) mod serve;
mod serve_args;
mod sweep;
mod tokenize;

use clap::{Args, Parser, Subcommand};
use engine::loader::{load, load_tokenizer, LoadOptions, LoadedModel};
use engine::model::tokenizer::Tokenizer;

#[derive(Parser, Debug)]
#[command(
    name = "goodput-lab",
    version,
    about = "Goodput Lab: prefill/decode interference and goodput on a real LLM engine"
)]
pub struct Cli {
    /// Without a command, the workbench window opens.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List model cards or fetch real weights.
    Models {
        #[command(subcommand)]
        action: models::ModelsAction,
    },
    /// Token ids of a text.
    Tokenize(tokenize::TokenizeArgs),
    /// Generate text from a prompt.
    Generate(generate::GenerateArgs),
    /// Prefill and decode speed of a model on this machine.
    BenchModel(bench_model::BenchModelArgs),
    /// Run aggregated, chunked and disaggregated serving on the same workload, side by side.
    Bench(bench::BenchArgs),
    /// Attainment and goodput against request rate per mode; per-GPU goodput; SLO-scale curve.
    Sweep(sweep::SweepArgs),
    /// Decode step time with a co-scheduled prefill chunk of each length: the slowdown table.
    Interference(interference::InterferenceArgs),
    /// List the named scenarios.
    Scenarios,
    /// Guided lessons: check that every lesson parses and its claims hold.
    Lessons {
        #[command(subcommand)]
        action: lessons::LessonsAction,
    },
    /// Serve one mode as an OpenAI-compatible HTTP server (completions, chat, metrics).
    Serve(serve::ServeCmdArgs),
    /// Time a grid of real steps here and store the fitted modeled clock as `this-machine`.
    Calibrate(calibrate::CalibrateArgs),
    /// Run one workload measured and on the calibrated modeled clock: the model's error.
    Validate(calibrate::ValidateArgs),
    /// Rank aggregated, chunked and disaggregated plans (P:D, tensor parallelism) for a model
    /// on N GPUs under SLOs on the modeled clock; export the best to vLLM, SGLang and Dynamo.
    Plan(plan::PlanArgs),
    /// Check the CUDA backend on this machine's GPU: accuracy, step times, roofline.
    GpuCheck(gpu_check::GpuCheckArgs),
    /// Open the workbench window (also what no command does).
    Gui(crate::gui::GuiArgs),
}

/// Options every model-driven command shares.
#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// Model card name (see `models list`) or path to a .gguf file.
    #[arg(long, default_value = "smollm2-135m")]
    pub model: String,
    /// Use seeded random weights of the card's shape (no download needed).
    #[arg(long)]
    pub synthetic: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Seed for synthetic weights.
    #[arg(long, default_value_t = 0)]
    pub weights_seed: u64,
    /// Where the model runs: cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: engine::backend::Device,
}

impl ModelArgs {
    pub fn load_tokenizer(&self) -> anyhow::Result<Tokenizer> {
        Ok(load_tokenizer(&self.model, self.synthetic)?)
    }

    pub fn load(&self) -> anyhow::Result<LoadedModel> {
        Ok(load(&self.options())?)
    }

    pub fn options(&self) -> LoadOptions {
        let threads = threads_or_all(self.threads);
        LoadOptions {
            model: self.model.clone(),
            synthetic: self.synthetic,
            threads,
            seed: self.weights_seed,
            device: self.device,
        }
    }
}

pub use engine::loader::threads_or_all;

pub fn run(cli: Cli) -> anyhow::Result<()> {
    let Some(command) = cli.command else {
        return crate::gui::run(crate::gui::GuiArgs::default_args());
    };
    match command {
        Command::Models { action } => models::run(action),
        Command::Tokenize(a) => tokenize::run(a),
        Command::Generate(a) => generate::run(a),
        Command::BenchModel(a) => bench_model::run(a),
        Command::Bench(a) => bench::run_bench(a),
        Command::Sweep(a) => sweep::run_sweep(a),
        Command::Interference(a) => interference::run(a),
        Command::Scenarios => {
            for s in engine::serve::experiment::scenarios()? {
                println!("{:<24} {}", s.name, s.about);
                let (rate, slo) = match &s.fit {
                    Some(_) => (
                        "rate and SLOs fitted to this machine".to_string(),
                        String::new(),
                    ),
                    None => (
                        format!("{} req/s", s.workload.rate),
                        format!(
                            ", SLO TTFT {} ms / TPOT {} ms",
                            s.slo.ttft_ms, s.slo.tpot_ms
                        ),
                    ),
                };
                println!(
                    "{:<24} model {}, {:?} clock, {} GPUs, {rate}{slo}",
                    "", s.model, s.clock, s.gpus
                );
            }
            Ok(())
        }
        Command::Lessons { action } => lessons::run(action),
        Command::GpuCheck(a) => gpu_check::run(a),
        Command::Plan(a) => plan::run(a),
        Command::Calibrate(a) => calibrate::run_calibrate(a),
        Command::Validate(a) => calibrate::run_validate(a),
        Command::Serve(a) => serve::run(a),
        Command::Gui(a) => crate::gui::run(a),
    }
}
