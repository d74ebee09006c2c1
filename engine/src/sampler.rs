//! Next-token choice: greedy, or temperature + top-p with a per-request seeded RNG so a
//! sampled run is reproducible.
use crate::backend::cpu::ops::argmax;
use crate::error::{EngineError, Result};
use rand::{Rng, SeedableRng};

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SamplingParams {
    /// 0 means greedy.
    pub temperature: f32,
    pub top_p: f32,
    pub seed: u64,
}

impl Default for SamplingParams {
    fn default() -> Self {
        SamplingParams {
            temperature: 0.0,
            top_p: 1.0,
            seed: 0,
        }
    }
}

impl SamplingParams {
    pub fn validate(&self) -> Result<()> {
        if !(self.temperature >= 0.0 && self.temperature.is_finite()) {
            return Err(EngineError::field("sampling.temperature", "must be ≥ 0"));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(EngineError::field("sampling.top_p", "must be in (0, 1]"));
        }
        Ok(())
    }
}

pub struct Sampler {
    params: SamplingParams,
    rng: rand::rngs::StdRng,
    probs: Vec<(u32, f32)>,
}

impl Sampler {
    pub fn new(params: SamplingParams) -> Self {
        Sampler {
            params,
            rng: rand::rngs::StdRng::seed_from_u64(params.seed),
            probs: Vec::new(),
        }
    }

    pub fn sample(&mut self, logits: &[f32]) -> u32 {
        if self.params.temperature == 0.0 {
            return argmax(logits) as u32;
        }
        let inv_t = 1.0 / self.params.temperature;
        let max = logits.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        let total: f32 = logits.iter().map(|&l| ((l - max) * inv_t).exp()).sum();
        let top_p = self.params.top_p;
        // The nucleus is the smallest set of most likely tokens whose mass reaches top_p. All its
        // members have p ≥ the threshold once the tokens above the threshold hold that mass, so
        // only those need sorting; lower the threshold until they do.
        let mut threshold = 1e-3f32;
        loop {
            self.probs.clear();
            let mut mass = 0.0;
            for (i, &l) in logits.iter().enumerate() {
                let p = ((l - max) * inv_t).exp() / total;
                if p >= threshold {
                    self.probs.push((i as u32, p));
                    mass += p;
                }
            }
            if mass >= top_p || threshold < 1e-12 {
                break;
            }
            threshold *= 0.01;
        }
        self.probs
            .sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut cum = 0.0;
        let mut cut = self.probs.len();
        for (i, &(_, p)) in self.probs.iter().enumerate() {
            cum += p;
            if cum >= top_p {
                cut = i + 1;
                break;
            }
        }
        let nucleus = &self.probs[..cut];
        let mass: f32 = nucleus.iter().map(|p| p.1).sum();
        let mut r = self.rng.random::<f32>() * mass;
        for &(id, p) in nucleus {
            if r < p {
                return id;
            }
            r -= p;
        }
        nucleus[nucleus.len() - 1].0
    }
}
