//! Workloads: when requests arrive and how long their prompts and outputs are. Arrivals follow
//! `vllm bench serve`: gamma-distributed gaps with shape = burstiness (1 = Poisson, < 1
//! burstier) and mean 1/rate; an infinite rate sends everything at t = 0. Everything is drawn
//! from one RNG seeded by the run, so the same seed gives the same requests for every mode.
use crate::error::{EngineError, Result};
use crate::serve::request::{Prompt, RequestSpec};
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Gamma, LogNormal, Normal};
use serde::{Deserialize, Serialize};

/// A token-length distribution (results are clamped to `[1, max]`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum LenDist {
    Fixed(usize),
    Uniform {
        lo: usize,
        hi: usize,
    },
    Normal {
        mean: f64,
        std: f64,
    },
    /// Parameterised by its mean and the sigma of the underlying normal.
    LogNormal {
        mean: f64,
        sigma: f64,
    },
}

impl LenDist {
    /// The distribution's mean (before clamping to a context).
    pub fn mean(&self) -> f64 {
        match *self {
            LenDist::Fixed(n) => n as f64,
            LenDist::Uniform { lo, hi } => (lo + hi) as f64 / 2.0,
            LenDist::Normal { mean, .. } | LenDist::LogNormal { mean, .. } => mean,
        }
    }

    /// Parses `N`, `uniform:LO-HI`, `normal:MEAN,STD`, `lognormal:MEAN,SIGMA`.
    /// `field` names the setting in errors.
    pub fn parse(s: &str, field: &str) -> Result<LenDist> {
        let bad = || {
            EngineError::field(
                field,
                format!(
                    "{s:?}: expected N, uniform:LO-HI, normal:MEAN,STD or lognormal:MEAN,SIGMA"
                ),
            )
        };
        let d = if let Some(r) = s.strip_prefix("uniform:") {
            let (a, b) = r.split_once('-').ok_or_else(bad)?;
            LenDist::Uniform {
                lo: a.trim().parse().map_err(|_| bad())?,
                hi: b.trim().parse().map_err(|_| bad())?,
            }
        } else if let Some(r) = s.strip_prefix("normal:") {
            let (a, b) = r.split_once(',').ok_or_else(bad)?;
            LenDist::Normal {
                mean: a.trim().parse().map_err(|_| bad())?,
                std: b.trim().parse().map_err(|_| bad())?,
            }
        } else if let Some(r) = s.strip_prefix("lognormal:") {
            let (a, b) = r.split_once(',').ok_or_else(bad)?;
            LenDist::LogNormal {
                mean: a.trim().parse().map_err(|_| bad())?,
                sigma: b.trim().parse().map_err(|_| bad())?,
            }
        } else {
            LenDist::Fixed(s.trim().parse().map_err(|_| bad())?)
        };
        d.validate(field)?;
        Ok(d)
    }

    pub fn validate(&self, field: &str) -> Result<()> {
        let ok = match *self {
            LenDist::Fixed(n) => n >= 1,
            LenDist::Uniform { lo, hi } => lo >= 1 && lo <= hi,
            LenDist::Normal { mean, std } => mean >= 1.0 && std >= 0.0 && std.is_finite(),
            LenDist::LogNormal { mean, sigma } => mean >= 1.0 && (0.0..5.0).contains(&sigma),
        };
        if ok {
            Ok(())
        } else {
            Err(EngineError::field(
                field,
                format!("lengths must be ≥ 1 (got {self:?})"),
            ))
        }
    }

    pub fn sample(&self, rng: &mut impl Rng, max: usize) -> usize {
        let x = match *self {
            LenDist::Fixed(n) => n as f64,
            LenDist::Uniform { lo, hi } => rng.random_range(lo..=hi) as f64,
            LenDist::Normal { mean, std } => Normal::new(mean, std).map_or(mean, |d| d.sample(rng)),
            LenDist::LogNormal { mean, sigma } => {
                // E[X] = exp(mu + sigma²/2), so mu follows from the requested mean.
                let mu = mean.ln() - sigma * sigma / 2.0;
                LogNormal::new(mu, sigma).map_or(mean, |d| d.sample(rng))
            }
        };
        (x.round() as usize).clamp(1, max.max(1))
    }
}

/// Prompt/output length shapes of published workloads. These are approximations chosen here to
/// resemble the datasets' reported averages and skew, not fits to the data (see README).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Preset {
    /// ShareGPT chat: vLLM's paper reports mean input 161 and mean output 338 tokens, both
    /// long-tailed.
    Chat,
    /// HumanEval-like code completion: mid-length prompts, short completions.
    Code,
    /// LongBench-like summarization: long documents in, short summaries out.
    Summarization,
}

impl Preset {
    pub fn parse(s: &str) -> Result<Preset> {
        match s {
            "chat" | "sharegpt" => Ok(Preset::Chat),
            "code" | "humaneval" => Ok(Preset::Code),
            "summarization" | "longbench" => Ok(Preset::Summarization),
            _ => Err(EngineError::field(
                "workload.dataset",
                format!("{s:?}: expected chat, code or summarization"),
            )),
        }
    }

    /// (prompt, output) distributions at `scale` = 1.0 (published sizes); smaller scales suit
    /// slow devices and keep the shape.
    pub fn lengths(self, scale: f64) -> (LenDist, LenDist) {
        let (pm, ps, om, os) = match self {
            Preset::Chat => (161.0, 1.0, 338.0, 0.9),
            Preset::Code => (150.0, 0.4, 100.0, 0.5),
            Preset::Summarization => (1800.0, 0.5, 120.0, 0.4),
        };
        (
            LenDist::LogNormal {
                mean: (pm * scale).max(1.0),
                sigma: ps,
            },
            LenDist::LogNormal {
                mean: (om * scale).max(1.0),
                sigma: os,
            },
        )
    }
}

/// `n` random token ids in `[first_id, vocab)`: prompts whose content does not matter, only
/// their length (a step's time does not depend on which tokens it holds).
pub fn random_prompt(rng: &mut impl Rng, n: usize, vocab: usize, first_id: u32) -> Vec<u32> {
    let lo = first_id.min(vocab.saturating_sub(1) as u32);
    (0..n).map(|_| rng.random_range(lo..vocab as u32)).collect()
}

/// How many requests a workload holds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Count {
    Requests(usize),
    /// Arrivals until this time (at least one request).
    Duration(f64),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadSpec {
    /// Requests per second; `f64::INFINITY` sends all at t = 0.
    pub rate: f64,
    pub burstiness: f64,
    pub count: Count,
    pub prompt: LenDist,
    pub output: LenDist,
    pub seed: u64,
}

impl WorkloadSpec {
    pub fn validate(&self) -> Result<()> {
        if self.rate.is_nan() || self.rate <= 0.0 {
            return Err(EngineError::field(
                "workload.rate",
                format!("must be > 0 (or inf), got {}", self.rate),
            ));
        }
        if !(self.burstiness > 0.0 && self.burstiness.is_finite()) {
            return Err(EngineError::field("workload.burstiness", "must be > 0"));
        }
        match self.count {
            Count::Requests(0) => {
                return Err(EngineError::field("workload.num_requests", "must be ≥ 1"))
            }
            Count::Duration(d) if !(d > 0.0 && d.is_finite()) => {
                return Err(EngineError::field("workload.duration_secs", "must be > 0"))
            }
            Count::Duration(_) if self.rate.is_infinite() => {
                return Err(EngineError::field(
                    "workload.duration_secs",
                    "needs a finite request rate",
                ))
            }
            _ => {}
        }
        self.prompt.validate("workload.prompt_len")?;
        self.output.validate("workload.output_len")
    }

    /// Draws the requests. Prompt tokens are random ids in `[first_id, vocab)` (the engine's
    /// step time does not depend on which tokens they are); prompts are capped so that prompt
    /// and output fit `max_context`.
    pub fn generate(
        &self,
        vocab: usize,
        first_id: u32,
        max_context: usize,
    ) -> Result<Vec<RequestSpec>> {
        self.generate_as(vocab, first_id, max_context, false)
    }

    /// `generate` with seeded prompts (`Prompt::Seeded`, for lean runs): the same arrivals and
    /// lengths, other ids, 32 bytes per prompt.
    pub fn generate_seeded(
        &self,
        vocab: usize,
        first_id: u32,
        max_context: usize,
    ) -> Result<Vec<RequestSpec>> {
        self.generate_as(vocab, first_id, max_context, true)
    }

    fn generate_as(
        &self,
        vocab: usize,
        first_id: u32,
        max_context: usize,
        seeded: bool,
    ) -> Result<Vec<RequestSpec>> {
        self.validate()?;
        if max_context < 2 {
            return Err(EngineError::Invalid(
                "the model's context is too short".into(),
            ));
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(self.seed);
        // Shape k and scale 1/(rate k) give mean gap 1/rate and CV 1/sqrt(k).
        let gap = if self.rate.is_finite() {
            Some(
                Gamma::new(self.burstiness, 1.0 / (self.rate * self.burstiness))
                    .map_err(|e| EngineError::Invalid(format!("arrival distribution: {e}")))?,
            )
        } else {
            None
        };
        let mut out = Vec::new();
        let mut t = 0.0;
        loop {
            match self.count {
                Count::Requests(n) if out.len() >= n => break,
                Count::Duration(d) if t > d && !out.is_empty() => break,
                _ => {}
            }
            let output_tokens = self.output.sample(&mut rng, max_context - 1);
            let prompt_len = self.prompt.sample(&mut rng, max_context - output_tokens);
            // The held ids' draws are taken either way, so both forms share every length.
            let ids = random_prompt(&mut rng, prompt_len, vocab, first_id);
            let prompt = if seeded {
                let seed = super::prompt::prompt_seed(self.seed, out.len() as u64);
                Prompt::seeded(seed, prompt_len, vocab, first_id)
            } else {
                Prompt::Ids(ids)
            };
            out.push(RequestSpec {
                id: out.len() as u64,
                arrival_s: t,
                prompt,
                output_tokens,
            });
            if let Some(g) = &gap {
                t += g.sample(&mut rng);
            }
        }
        Ok(out)
    }
}
