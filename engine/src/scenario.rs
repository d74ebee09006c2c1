//! Named scenarios: a model, a clock, a workload and SLOs that suit a device. What is tight on
//! an H100 is impossible on a 2-core CPU, so each device kind gets its own. How the rates and
//! SLOs were chosen is written next to each (README, "Scenarios").
use crate::cluster::ClockKind;
use crate::error::{EngineError, Result};
use crate::metrics::Slo;
use crate::workload::{LenDist, Preset};

#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: &'static str,
    pub about: &'static str,
    pub model: &'static str,
    /// Seeded weights of the card's shape instead of downloaded ones.
    pub synthetic: bool,
    pub clock: ClockKind,
    /// Hardware profile of the modeled clock.
    pub hardware: &'static str,
    pub gpus: usize,
    pub rate: f64,
    pub num_requests: usize,
    pub prompt: LenDist,
    pub output: LenDist,
    pub slo: Slo,
    pub token_budget: usize,
    pub kv_tokens: usize,
    pub max_seqs: usize,
    /// Rates a sweep visits.
    pub rates: &'static [f64],
}

fn lognormal(mean: f64, sigma: f64) -> LenDist {
    LenDist::LogNormal { mean, sigma }
}

pub fn all() -> Vec<Scenario> {
    let (chat_p, chat_o) = Preset::Chat.lengths(1.0);
    let (sum_p, sum_o) = Preset::Summarization.lengths(1.0);
    vec![
        Scenario {
            name: "cpu-chat",
            about: "SmolLM2-135M on a 2-core CPU: ShareGPT-shaped chat at 0.4× length, 2 logical GPUs, measured clock",
            model: "smollm2-135m",
            synthetic: false,
            clock: ClockKind::Measured,
            hardware: "cpu",
            gpus: 2,
            rate: 2.0,
            num_requests: 40,
            // ShareGPT's means (161 in, 338 out) × 0.4, rounded.
            prompt: lognormal(64.0, 1.0),
            output: lognormal(135.0, 0.9),
            slo: Slo { ttft_ms: 1000.0, tpot_ms: 20.0 },
            token_budget: 64,
            kv_tokens: 8192,
            max_seqs: 64,
            rates: &[1.0, 2.0, 3.0, 4.0],
        },
        Scenario {
            name: "cpu-long-prompts",
            about: "SmolLM2-135M on a 2-core CPU: long prompts (~384 tokens), ~96-token answers",
            model: "smollm2-135m",
            synthetic: false,
            clock: ClockKind::Measured,
            hardware: "cpu",
            gpus: 2,
            rate: 0.5,
            num_requests: 30,
            prompt: lognormal(384.0, 0.4),
            output: lognormal(96.0, 0.4),
            slo: Slo { ttft_ms: 3000.0, tpot_ms: 25.0 },
            token_budget: 64,
            kv_tokens: 8192,
            max_seqs: 64,
            rates: &[0.25, 0.5, 0.75, 1.0],
        },
        Scenario {
            name: "tiny-quick",
            about: "the tiny synthetic model: seconds per run, for trying flags and for tests",
            model: "tiny",
            synthetic: true,
            clock: ClockKind::Measured,
            hardware: "cpu",
            gpus: 2,
            rate: 100.0,
            num_requests: 60,
            prompt: lognormal(96.0, 0.5),
            output: lognormal(16.0, 0.4),
            slo: Slo {
                ttft_ms: 5.0,
                tpot_ms: 0.3,
            },
            token_budget: 64,
            kv_tokens: 4096,
            max_seqs: 64,
            rates: &[25.0, 50.0, 100.0, 200.0],
        },
        Scenario {
            name: "h100-chat-13b",
            about:
                "Llama-2-13B shape on modeled H100s: ShareGPT-shaped chat (no download, no compute)",
            model: "llama-2-13b",
            synthetic: true,
            clock: ClockKind::Modeled,
            hardware: "h100",
            gpus: 2,
            rate: 20.0,
            num_requests: 400,
            prompt: chat_p,
            output: chat_o,
            slo: Slo {
                ttft_ms: 250.0,
                tpot_ms: 25.0,
            },
            token_budget: 512,
            kv_tokens: 60_000,
            max_seqs: 256,
            rates: &[2.0, 4.0, 8.0, 12.0, 16.0, 24.0],
        },
        Scenario {
            name: "h100-summarization-13b",
            about: "Llama-2-13B shape on modeled H100s: LongBench-shaped long prompts",
            model: "llama-2-13b",
            synthetic: true,
            clock: ClockKind::Modeled,
            hardware: "h100",
            gpus: 2,
            rate: 2.0,
            num_requests: 200,
            prompt: sum_p,
            output: sum_o,
            slo: Slo {
                ttft_ms: 1500.0,
                tpot_ms: 25.0,
            },
            token_budget: 512,
            kv_tokens: 60_000,
            max_seqs: 256,
            rates: &[0.5, 1.0, 2.0, 3.0, 4.0],
        },
    ]
}

pub fn scenario(name: &str) -> Result<Scenario> {
    all().into_iter().find(|s| s.name == name).ok_or_else(|| {
        let names: Vec<&str> = all().iter().map(|s| s.name).collect();
        EngineError::Invalid(format!(
            "--scenario {name:?}: known scenarios are {}",
            names.join(", ")
        ))
    })
}
