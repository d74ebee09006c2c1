//! An experiment patch: any subset of an `Experiment`'s fields, nested structs field by field,
//! applied on top of the current experiment. It is a typed mirror of `Experiment` rather than a
//! generic RON map because `ron::Value` drops enum variant names (`LogNormal(…)`, `Chat`); typed,
//! a misspelt field is a serde error naming it, with its line and column. A test parses every
//! scenario's full RON as a patch, so a field added to `Experiment` and not here fails it.
//!
//! Fields that are `Option`s in `Experiment` are `Option<Option<_>>` here: absent leaves the
//! field alone, `None` clears it, a value (with RON's `implicit_some`) sets it.
use crate::backend::Device;
use crate::serve::cluster::{ClockKind, Mode, Router};
use crate::serve::experiment::{Experiment, MachineFit, Sampling, SchedKnobs, SweepSpec, Workload};
use crate::serve::metrics::Slo;
use crate::serve::workload::{LenDist, Preset};
use serde::{Deserialize, Deserializer};
use std::path::PathBuf;

/// Reads a present field of an `Option` type as "set it to this", `None` included.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Declares a patch struct and its `apply`: `set` fields replace the target's field, `nested`
/// fields are patches of a nested struct, applied field by field.
macro_rules! patch {
    ($(#[$doc:meta])* $name:ident for $target:ty {
        $($(#[$fm:meta])* $kind:ident $field:ident: $ty:ty,)*
    }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct $name {
            $($(#[$fm])* pub $field: $ty,)*
        }

        impl $name {
            pub fn apply(&self, target: &mut $target) {
                $(patch!(@apply $kind self.$field, target.$field);)*
            }

            /// Whether the patch changes nothing.
            pub fn is_empty(&self) -> bool {
                *self == Self::default()
            }
        }
    };
    (@apply set $p:expr, $t:expr) => {
        if let Some(v) = &$p {
            $t = v.clone();
        }
    };
    (@apply nested $p:expr, $t:expr) => {
        if let Some(p) = &$p {
            p.apply(&mut $t);
        }
    };
}

patch! {
    /// A partial `Experiment`.
    ExperimentPatch for Experiment {
        set name: Option<String>,
        set about: Option<String>,
        set model: Option<String>,
        set synthetic: Option<bool>,
        set weights_seed: Option<u64>,
        set device: Option<Device>,
        #[serde(deserialize_with = "present")]
        set threads: Option<Option<usize>>,
        set clock: Option<ClockKind>,
        set hardware: Option<String>,
        set tp: Option<usize>,
        set decode_tp: Option<usize>,
        set lean: Option<bool>,
        set calibrate: Option<bool>,
        set modes: Option<Vec<Mode>>,
        set gpus: Option<usize>,
        #[serde(deserialize_with = "present")]
        set pd: Option<Option<(usize, usize)>>,
        set router: Option<Router>,
        set link: Option<String>,
        nested workload: Option<WorkloadPatch>,
        nested slo: Option<SloPatch>,
        nested sched: Option<SchedPatch>,
        nested sampling: Option<SamplingPatch>,
        nested sweep: Option<SweepPatch>,
        #[serde(deserialize_with = "present")]
        set fit: Option<Option<MachineFit>>,
    }
}

patch! {
    WorkloadPatch for Workload {
        set rate: Option<f64>,
        set burstiness: Option<f64>,
        set num_requests: Option<usize>,
        #[serde(deserialize_with = "present")]
        set duration_secs: Option<Option<f64>>,
        #[serde(deserialize_with = "present")]
        set dataset: Option<Option<Preset>>,
        set dataset_scale: Option<f64>,
        #[serde(deserialize_with = "present")]
        set prompt_len: Option<Option<LenDist>>,
        #[serde(deserialize_with = "present")]
        set output_len: Option<Option<LenDist>>,
        #[serde(deserialize_with = "present")]
        set trace: Option<Option<PathBuf>>,
        set seed: Option<u64>,
    }
}

patch! {
    SloPatch for Slo {
        set ttft_ms: Option<f64>,
        set tpot_ms: Option<f64>,
    }
}

patch! {
    SchedPatch for SchedKnobs {
        #[serde(deserialize_with = "present")]
        set max_batched_tokens: Option<Option<usize>>,
        set prefill_only_steps: Option<bool>,
        set token_budget: Option<usize>,
        set max_partial_prefills: Option<usize>,
        set max_seqs: Option<usize>,
        set kv_tokens: Option<usize>,
        set block_size: Option<usize>,
    }
}

patch! {
    SamplingPatch for Sampling {
        set temperature: Option<f32>,
        set top_p: Option<f32>,
        set stop_at_eos: Option<bool>,
    }
}

patch! {
    SweepPatch for SweepSpec {
        set rates: Option<Vec<f64>>,
        set slo_scales: Option<Vec<f64>>,
        #[serde(deserialize_with = "present")]
        set slo_scale_rate: Option<Option<f64>>,
    }
}

impl ExperimentPatch {
    /// `base` with the patch on top.
    pub fn applied_to(&self, base: &Experiment) -> Experiment {
        let mut e = base.clone();
        self.apply(&mut e);
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> ExperimentPatch {
        let opts = ron::Options::default()
            .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
        opts.from_str(text).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Every field of `Experiment` is patchable: a scenario's full RON read as a patch turns
    /// any experiment into that scenario.
    #[test]
    fn a_full_experiment_is_a_patch_that_sets_every_field() {
        let scenarios = crate::serve::experiment::scenarios().unwrap();
        let mut scratch = Experiment {
            threads: Some(3),
            pd: Some((1, 1)),
            ..Default::default()
        };
        scratch.workload.trace = Some("x.jsonl".into());
        scratch.sched.max_batched_tokens = Some(99);
        scratch.sweep.slo_scale_rate = Some(2.0);
        for s in scenarios.iter().chain([&Experiment::default()]) {
            let p = read(&s.to_ron().unwrap());
            assert_eq!(&p.applied_to(&scratch), s, "{}", s.name);
        }
    }

    #[test]
    fn a_partial_patch_leaves_the_rest_and_none_clears() {
        let p = read("(gpus: 4, pd: (1, 3), workload: (rate: 2.5, prompt_len: LogNormal(mean: 9.0, sigma: 0.5)), slo: (tpot_ms: 7.0), threads: None)");
        let mut base = Experiment {
            threads: Some(2),
            ..Default::default()
        };
        base.slo.ttft_ms = 123.0;
        let e = p.applied_to(&base);
        assert_eq!((e.gpus, e.pd, e.threads), (4, Some((1, 3)), None));
        assert_eq!(e.workload.rate, 2.5);
        assert_eq!(e.workload.num_requests, base.workload.num_requests);
        assert_eq!((e.slo.ttft_ms, e.slo.tpot_ms), (123.0, 7.0));
        assert!(ExperimentPatch::default().is_empty() && !p.is_empty());
    }
}
