//! Hardware profiles of the modeled clock: peak FLOP/s, memory bandwidth and size, how GPUs
//! connect, and the source of each datasheet figure. The datasheet profiles are RON files in
//! `engine/hardware/`, embedded like the model cards; `this-machine` is what `calibrate`
//! stored (a profile with a fitted correction); any other `.ron` path is read as a profile.
use crate::error::{EngineError, Result};
use crate::model::spec::ModelSpec;
use crate::serve::link::LinkModel;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What the roofline misses, fitted on measured steps: `t = a + max(b_c · compute, b_m ·
/// memory)` (see `cost_model`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Correction {
    /// Fixed seconds per step.
    pub a_s: f64,
    /// Multiplier on the compute time (1 / the share of peak reached).
    pub b_compute: f64,
    /// Multiplier on the memory time (1 / the share of bandwidth reached).
    pub b_memory: f64,
    /// Multiplier on the attention time.
    #[serde(default = "one_f")]
    pub b_attention: f64,
    /// Share of the smaller GEMM time (compute or memory) that does not overlap the larger:
    /// 0 is the ideal roofline's max, 1 their sum.
    #[serde(default)]
    pub serial: f64,
    /// Model and device the steps were measured on (`smollm2-135m on cpu`).
    pub fitted_on: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hardware {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Dense bf16 matmul peak of one GPU, TFLOP/s.
    pub peak_tflops: f64,
    /// Memory bandwidth of one GPU, GB/s.
    pub mem_gb_per_s: f64,
    /// Memory of one GPU, GB (what weights and KV cache share).
    #[serde(default = "default_mem_gb")]
    pub mem_gb: f64,
    /// Bytes per weight as the engine stores them (Q4_1 ≈ 0.625, bf16 = 2).
    pub weight_bytes_per_param: f64,
    pub kv_bytes_per_value: f64,
    /// GPUs that share the fast intra-node link; instances never span nodes.
    #[serde(default = "one")]
    pub gpus_per_node: usize,
    /// GPU to GPU inside a node, per direction (tensor-parallel all-reduce, KV hand-off).
    #[serde(default = "LinkModel::pcie")]
    pub intra_node: LinkModel,
    /// GPU to GPU across nodes, per GPU and direction.
    #[serde(default = "LinkModel::pcie")]
    pub inter_node: LinkModel,
    /// Where each figure comes from.
    #[serde(default)]
    pub sources: Vec<String>,
    /// A fitted correction (`calibrate`); none for datasheet profiles.
    #[serde(default)]
    pub correction: Option<Correction>,
}

fn default_mem_gb() -> f64 {
    80.0
}
fn one() -> usize {
    1
}
fn one_f() -> f64 {
    1.0
}

/// (file name, contents) of every built-in profile.
const EMBEDDED: &[(&str, &str)] = &[
    ("cpu.ron", include_str!("../../hardware/cpu.ron")),
    ("a100-40.ron", include_str!("../../hardware/a100-40.ron")),
    ("a100-80.ron", include_str!("../../hardware/a100-80.ron")),
    ("h100-sxm.ron", include_str!("../../hardware/h100-sxm.ron")),
    ("h200.ron", include_str!("../../hardware/h200.ron")),
    ("b200.ron", include_str!("../../hardware/b200.ron")),
    ("l40s.ron", include_str!("../../hardware/l40s.ron")),
];

/// Short names kept from before the profiles were files.
const ALIASES: &[(&str, &str)] = &[("a100", "a100-80"), ("h100", "h100-sxm")];

/// The profile `calibrate` writes and `this-machine` reads.
pub const THIS_MACHINE: &str = "this-machine";

impl Hardware {
    /// Parses a profile; `file` only names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Hardware> {
        let h: Hardware = ron::from_str(text).map_err(|e| {
            EngineError::field("hardware", format!("{file}: not a hardware profile: {e}"))
        })?;
        h.check()
            .map_err(|m| EngineError::field("hardware", format!("{file}: {m}")))?;
        Ok(h)
    }

    fn check(&self) -> std::result::Result<(), String> {
        let positive = [
            ("peak_tflops", self.peak_tflops),
            ("mem_gb_per_s", self.mem_gb_per_s),
            ("mem_gb", self.mem_gb),
            ("weight_bytes_per_param", self.weight_bytes_per_param),
            ("kv_bytes_per_value", self.kv_bytes_per_value),
            ("intra_node.gb_per_s", self.intra_node.gb_per_s),
            ("inter_node.gb_per_s", self.inter_node.gb_per_s),
        ];
        if let Some((f, v)) = positive.iter().find(|(_, v)| !(v.is_finite() && *v > 0.0)) {
            return Err(format!("{f} must be a positive number, not {v}"));
        }
        if self.gpus_per_node == 0 {
            return Err("gpus_per_node must be ≥ 1".into());
        }
        if let Some(c) = &self.correction {
            let ok = |x: f64| x.is_finite() && x >= 0.0;
            if !(ok(c.a_s) && ok(c.b_compute) && ok(c.b_memory) && ok(c.b_attention)) {
                return Err(
                    "correction: a_s, b_compute, b_memory and b_attention must be ≥ 0".into(),
                );
            }
        }
        Ok(())
    }

    /// Every built-in profile, in a stable order.
    pub fn builtin() -> Vec<Hardware> {
        EMBEDDED
            .iter()
            .map(|(f, t)| {
                // Embedded at compile time and checked by `every_profile_parses`.
                Hardware::parse(f, t).unwrap_or_else(|e| panic!("built-in profile: {e}"))
            })
            .collect()
    }

    /// Names `named` accepts, for help texts.
    pub fn names() -> Vec<String> {
        let mut v: Vec<String> = Self::builtin().into_iter().map(|h| h.name).collect();
        v.extend(ALIASES.iter().map(|(a, _)| a.to_string()));
        v.push(THIS_MACHINE.into());
        v
    }

    /// A built-in profile or alias, `this-machine`, or a path to a `.ron` profile.
    pub fn named(name: &str) -> Result<Hardware> {
        let wanted = ALIASES
            .iter()
            .find(|(a, _)| *a == name)
            .map_or(name, |(_, to)| to);
        if let Some(h) = Self::builtin().into_iter().find(|h| h.name == wanted) {
            return Ok(h);
        }
        let path = if name == THIS_MACHINE {
            let p = this_machine_path();
            if !p.is_file() {
                return Err(EngineError::field(
                    "hardware",
                    format!(
                        "this-machine has no calibration yet ({} is missing): calibrate first",
                        p.display()
                    ),
                ));
            }
            p
        } else if name.ends_with(".ron") {
            PathBuf::from(name)
        } else {
            return Err(EngineError::field(
                "hardware",
                format!(
                    "{name:?}: expected one of {} or a .ron profile",
                    Self::names().join(", ")
                ),
            ));
        };
        Self::load(&path)
    }

    /// Reads a profile file.
    pub fn load(path: &Path) -> Result<Hardware> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            EngineError::field("hardware", format!("cannot read {}: {e}", path.display()))
        })?;
        Self::parse(&path.display().to_string(), &text)
    }

    /// Writes the profile as RON (creating the folder).
    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let text = ron::ser::to_string_pretty(self, ron::ser::PrettyConfig::default())
            .map_err(|e| EngineError::Internal(format!("hardware profile to RON: {e}")))?;
        std::fs::write(path, text + "\n")?;
        Ok(())
    }

    /// Bytes of KV cache one token takes in the whole model (GQA: only the KV heads count).
    pub fn kv_bytes_per_token(&self, spec: &ModelSpec) -> f64 {
        spec.kv_values_per_token() as f64 * self.kv_bytes_per_value
    }

    /// Bytes of weights each GPU of a `tp`-way instance holds (every matrix split `tp` ways;
    /// embeddings are counted like the LM head).
    pub fn weight_bytes_per_gpu(&self, spec: &ModelSpec, tp: usize) -> f64 {
        spec.matmul_params() as f64 * self.weight_bytes_per_param / tp.max(1) as f64
    }

    /// KV tokens a `tp`-way instance can hold: `mem_util` of each GPU's memory (vLLM's
    /// `gpu_memory_utilization`, 0.9 by default) less its share of the weights. KV heads are
    /// split `tp` ways but replicated when there are fewer KV heads than GPUs. Activations
    /// and CUDA graphs are not counted. `None` when the weights alone do not fit.
    pub fn kv_capacity_tokens(&self, spec: &ModelSpec, tp: usize, mem_util: f64) -> Option<usize> {
        let tp = tp.max(1);
        let free = self.mem_gb * 1e9 * mem_util - self.weight_bytes_per_gpu(spec, tp);
        let heads_per_gpu = spec.n_kv_heads.div_ceil(tp) as f64;
        let per_token_per_gpu =
            self.kv_bytes_per_token(spec) * heads_per_gpu / spec.n_kv_heads as f64;
        (free > 0.0).then(|| (free / per_token_per_gpu) as usize)
    }
}

/// Where `calibrate` stores this machine's profile: `<models>/.cache/this-machine.ron`.
pub fn this_machine_path() -> PathBuf {
    crate::model::cards::models_dir()
        .join(".cache")
        .join(format!("{THIS_MACHINE}.ron"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_parses_and_names_its_sources() {
        let all = Hardware::builtin();
        assert_eq!(all.len(), EMBEDDED.len());
        for h in &all {
            assert!(!h.sources.is_empty(), "{}", h.name);
            assert!(h.correction.is_none(), "{}", h.name);
        }
        assert_eq!(Hardware::named("h100").expect("alias").name, "h100-sxm");
        assert_eq!(Hardware::named("a100").expect("alias").mem_gb, 80.0);
        let err = Hardware::named("tpu-v9").expect_err("unknown").to_string();
        assert!(err.contains("hardware") && err.contains("h200"), "{err}");
    }

    #[test]
    fn a_bad_profile_names_the_field() {
        let text = include_str!("../../hardware/h200.ron").replace("141.0", "-1.0");
        let err = Hardware::parse("x.ron", &text)
            .expect_err("negative")
            .to_string();
        assert!(err.contains("mem_gb"), "{err}");
        assert!(Hardware::parse("y.ron", "(name: 3)").is_err());
    }

    #[test]
    fn kv_capacity_is_gqa_aware_and_counts_the_weights() {
        let spec = crate::model::cards::card("llama-3-70b").expect("card").spec;
        let h = Hardware::named("h100-sxm").expect("h100");
        // 80 layers × 8 KV heads × 128 × 2 (K and V) × 2 bytes = 327 680 bytes per token.
        assert_eq!(h.kv_bytes_per_token(&spec), 327_680.0);
        // 70B in bf16 does not fit one 80 GB GPU; two at 90 % leave room for a few prompts.
        assert!(h.kv_capacity_tokens(&spec, 1, 0.9).is_none());
        // 69 501 714 432 matmul parameters (80 × 855 638 016 + 8192 × 128 256), 2 bytes each.
        let weights = 69_501_714_432.0 * 2.0;
        let tp2 = h.kv_capacity_tokens(&spec, 2, 0.9).expect("tp2");
        assert_eq!(tp2, (2.0 * (72e9 - weights / 2.0) / 327_680.0) as usize);
        assert!((10_000..20_000).contains(&tp2), "{tp2}");
        let tp4 = h.kv_capacity_tokens(&spec, 4, 0.9).expect("tp4");
        let by_hand = (4.0 * (72e9 - weights / 4.0) / 327_680.0) as usize;
        assert!(tp4.abs_diff(by_hand) <= 1, "{tp4} vs {by_hand}");
        // Past 8 GPUs the 8 KV heads are replicated: capacity per GPU stops growing.
        let tp16 = h.kv_capacity_tokens(&spec, 16, 0.9).expect("tp16");
        let per_gpu_free_16 = 72e9 - h.weight_bytes_per_gpu(&spec, 16);
        assert_eq!(tp16, (per_gpu_free_16 / (327_680.0 / 8.0)) as usize);
    }

    #[test]
    fn a_saved_profile_reads_back() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut h = Hardware::named("cpu").expect("cpu");
        h.name = THIS_MACHINE.into();
        h.correction = Some(Correction {
            a_s: 0.002,
            b_compute: 1.5,
            b_memory: 1.2,
            b_attention: 1.1,
            serial: 0.25,
            fitted_on: "smollm2-135m on cpu".into(),
        });
        let p = dir.path().join("sub").join("p.ron");
        h.save(&p).expect("save");
        assert_eq!(Hardware::named(p.to_str().expect("utf8")).expect("load"), h);
    }
}
