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

#[cfg(test)]
mod tests {
    use super::*;

    fn sampler(temperature: f32, top_p: f32, seed: u64) -> Sampler {
        Sampler::new(SamplingParams {
            temperature,
            top_p,
            seed,
        })
    }

    fn counts(s: &mut Sampler, logits: &[f32], n: usize) -> Vec<f64> {
        let mut c = vec![0.0; logits.len()];
        for _ in 0..n {
            c[s.sample(logits) as usize] += 1.0;
        }
        c
    }

    /// Pearson's chi-square of observed counts against expected probabilities.
    fn chi2(obs: &[f64], p: &[f64]) -> f64 {
        let n: f64 = obs.iter().sum();
        obs.iter()
            .zip(p)
            .map(|(o, p)| (o - n * p).powi(2) / (n * p))
            .sum()
    }

    #[test]
    fn sampled_frequencies_match_the_probabilities() {
        let p = [0.5, 0.25, 0.15, 0.1];
        let logits: Vec<f32> = p.iter().map(|x: &f64| x.ln() as f32).collect();
        let obs = counts(&mut sampler(1.0, 1.0, 7), &logits, 20_000);
        // 3 degrees of freedom: 16.27 is the 0.1 % critical value.
        let fit = chi2(&obs, &p);
        assert!(fit < 16.27, "chi2 {fit} for {obs:?}");
        // The same test rejects a wrong distribution, so it has power.
        assert!(chi2(&obs, &[0.25; 4]) > 1000.0);
        // Temperature 2 flattens: p^(1/2), renormalised.
        let z: f64 = p.iter().map(|x| x.sqrt()).sum();
        let flat: Vec<f64> = p.iter().map(|x| x.sqrt() / z).collect();
        let obs = counts(&mut sampler(2.0, 1.0, 8), &logits, 20_000);
        assert!(chi2(&obs, &flat) < 16.27, "{obs:?}");
    }

    #[test]
    fn top_p_keeps_the_nucleus_only() {
        let p = [0.5, 0.25, 0.15, 0.1];
        let logits: Vec<f32> = p.iter().map(|x: &f64| x.ln() as f32).collect();
        // 0.5 + 0.25 reaches 0.7: the two least likely tokens are never drawn.
        let obs = counts(&mut sampler(1.0, 0.7, 9), &logits, 20_000);
        assert_eq!((obs[2], obs[3]), (0.0, 0.0));
        // 1 degree of freedom: 10.83 is the 0.1 % critical value.
        let fit = chi2(&obs[..2], &[2.0 / 3.0, 1.0 / 3.0]);
        assert!(fit < 10.83, "chi2 {fit} for {obs:?}");
    }

    #[test]
    fn a_tiny_top_p_is_greedy() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut s = sampler(1.0, 1e-6, 4);
        for _ in 0..200 {
            let logits: Vec<f32> = (0..500).map(|_| rng.random_range(-5.0..5.0)).collect();
            assert_eq!(s.sample(&logits) as usize, argmax(&logits));
        }
    }

    #[test]
    fn seeds_change_sampled_text_and_repeat_it() {
        use crate::backend::cpu::{llama::Llama, weights::Weights};
        use crate::generate::{generate, GenerateRequest};
        let spec = crate::model::cards::card("tiny").unwrap().spec;
        let llama = Llama::new(Weights::synthetic(&spec, 0).unwrap(), 1).unwrap();
        let run = |temperature: f32, seed: u64| {
            let req = GenerateRequest {
                prompt_ids: vec![20, 21, 22, 23],
                max_tokens: 24,
                sampling: SamplingParams {
                    temperature,
                    top_p: 1.0,
                    seed,
                },
                stop_ids: Vec::new(),
            };
            generate(&llama, &req, |_| {}).unwrap().output_ids
        };
        assert_ne!(
            run(1.0, 1),
            run(1.0, 2),
            "two seeds gave the same sampled text"
        );
        assert_eq!(run(1.0, 1), run(1.0, 1));
        // Greedy ignores the seed.
        assert_eq!(run(0.0, 1), run(0.0, 2));
    }
}
