//! A chosen [`Deployment`] as launch settings for three real serving systems: a bash script for
//! vLLM, one for SGLang, and a `DynamoGraphDeployment` manifest for NVIDIA Dynamo's vLLM backend.
//!
//! Every flag these files may emit is listed in a `*_FLAGS` constant, each checked against the
//! argument parser of the release named in [`TARGETS`] (the files that were read are cited beside
//! each list). The three targets belong together: Dynamo v1.1.0 pins vLLM 0.19.0 and SGLang
//! 0.5.10.post1 (`Requires-Dist` of the `ai-dynamo` 1.1.0 wheel).
//!
//! Placement is shared: instances are packed onto nodes in group order, each on consecutive GPUs of
//! one node (the plans never split an instance across nodes), so GPU ids stay below
//! `gpus_per_node` and never overlap on a node.
use super::deployment::Deployment;
use crate::serve::cluster::Mode;
use crate::serve::events::Role;

mod dynamo;
mod sglang;
mod vllm;

pub use dynamo::{DYNAMO_FRONTEND_FLAGS, DYNAMO_IMAGE, DYNAMO_VLLM_FLAGS};
pub use sglang::{SGLANG_FLAGS, SGLANG_ROUTER_FLAGS};
pub use vllm::{VLLM_FLAGS, VLLM_PROXY_FLAGS};

/// The releases the exported files are written for (system, version).
pub const TARGETS: &[(&str, &str)] = &[
    ("vLLM", "v0.19.0"),
    ("SGLang", "v0.5.10.post1"),
    ("sglang-router", "v0.3.2"),
    ("NVIDIA Dynamo", "v1.1.0"),
];

/// `vllm.sh`: one `vllm serve` per instance, plus the P/D proxy or a load-balancer note.
pub fn vllm(d: &Deployment) -> String {
    vllm::script(d)
}

/// `sglang.sh`: one `sglang.launch_server` per instance, plus `sglang_router` in front.
pub fn sglang(d: &Deployment) -> String {
    sglang::script(d)
}

/// `dynamo.yaml`: a `DynamoGraphDeployment` (nvidia.com/v1alpha1) for Dynamo's vLLM backend.
pub fn dynamo(d: &Deployment) -> String {
    dynamo::manifest(d)
}

/// Every export, as (file name, contents).
pub fn all(d: &Deployment) -> Vec<(&'static str, String)> {
    vec![
        ("vllm.sh", vllm(d)),
        ("sglang.sh", sglang(d)),
        ("dynamo.yaml", dynamo(d)),
    ]
}

/// One instance and where it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Slot {
    pub role: Role,
    /// Position among the instances of its role (for labels).
    pub index: usize,
    /// Position among all instances (ports and bootstrap ports are derived from it, so they
    /// never collide, whatever node two instances share).
    pub global: usize,
    /// Node index (0-based) and the instance's first GPU on that node.
    pub node: usize,
    pub first_gpu: usize,
    pub tp: usize,
}

impl Slot {
    /// `CUDA_VISIBLE_DEVICES` value: the instance's GPUs on its node.
    pub fn gpu_list(&self) -> String {
        let ids: Vec<String> = (self.first_gpu..self.first_gpu + self.tp)
            .map(|g| g.to_string())
            .collect();
        ids.join(",")
    }

    /// The script block that starts this instance on its own node only: `command` guarded by
    /// `NODE_RANK`, with a comment naming the instance and its GPUs.
    pub fn on_its_node(&self, command: &str) -> String {
        format!(
            "if [ \"$NODE_RANK\" = {} ]; then\n  # {} {}: GPUs {} of node {}\n{command}fi\n",
            self.node,
            role_name(self.role),
            self.index,
            self.gpu_list(),
            self.node,
        )
    }
}

/// Packs the instances onto nodes in group order; `Err` says why the plan cannot be laid out.
pub(crate) fn place(d: &Deployment) -> Result<Vec<Slot>, String> {
    if d.gpus_per_node == 0 {
        return Err("gpus_per_node is 0".into());
    }
    let mut slots = Vec::new();
    let (mut node, mut next) = (0, 0);
    for g in &d.groups {
        if g.tp == 0 || g.tp > d.gpus_per_node {
            return Err(format!(
                "a {} instance with tensor parallelism {} does not fit a node of {} GPUs",
                role_name(g.role),
                g.tp,
                d.gpus_per_node
            ));
        }
        for _ in 0..g.count {
            if next + g.tp > d.gpus_per_node {
                node += 1;
                next = 0;
            }
            let global = slots.len();
            let index = slots.iter().filter(|s: &&Slot| s.role == g.role).count();
            slots.push(Slot {
                role: g.role,
                index,
                global,
                node,
                first_gpu: next,
                tp: g.tp,
            });
            next += g.tp;
        }
    }
    if slots.is_empty() {
        return Err("the plan has no instances".into());
    }
    if d.mode == Mode::Disaggregated
        && !(slots.iter().any(|s| s.role == Role::Prefill)
            && slots.iter().any(|s| s.role == Role::Decode))
    {
        return Err("a disaggregated plan needs prefill and decode instances".into());
    }
    Ok(slots)
}

pub(crate) fn role_name(r: Role) -> &'static str {
    match r {
        Role::Mixed => "mixed",
        Role::Prefill => "prefill",
        Role::Decode => "decode",
    }
}

/// One line that says what the plan is (the header of every export).
pub(crate) fn summary(d: &Deployment) -> String {
    let groups: Vec<String> = d
        .groups
        .iter()
        .map(|g| format!("{} {} x TP{}", g.count, role_name(g.role), g.tp))
        .collect();
    format!(
        "{} ({}), {}: {}; {} GPUs, {} per node",
        d.model,
        d.hf_repo,
        d.mode.name(),
        groups.join(", "),
        d.gpus(),
        d.gpus_per_node
    )
}

/// A word as bash reads it: left bare when that is safe, single-quoted otherwise.
pub(crate) fn sh_word(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:@%+=,".contains(c));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The failure script for a plan that cannot be laid out: it says why and exits non-zero rather
/// than launching something the plan did not choose.
pub(crate) fn refusal(system: &str, d: &Deployment, why: &str) -> String {
    format!(
        "#!/usr/bin/env bash\n# Goodput Lab plan export for {system}: {}\n\
         echo {} >&2\nexit 1\n",
        summary(d),
        sh_word(&format!("this plan cannot be launched: {why}"))
    )
}

/// `NODE_RANK`/`NODE<k>` preamble shared by the two scripts: the same file runs on every node.
pub(crate) fn node_preamble(nodes: usize) -> String {
    let mut s = String::from(
        "# Run this same file on every node, with NODE_RANK set to that node's index, and\n\
         # NODE0.. set to the nodes' addresses (the defaults suit a single node).\n\
         set -euo pipefail\nNODE_RANK=\"${NODE_RANK:-0}\"\n",
    );
    for k in 0..nodes {
        s += &format!("NODE{k}=\"${{NODE{k}:-127.0.0.1}}\"\n");
    }
    s
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Plans the three exports are tested on, and a reader for the scripts' command lines.
    use super::super::deployment::{Deployment, InstanceGroup};
    use crate::serve::cluster::Mode;
    use crate::serve::events::Role;

    fn plan(mode: Mode, groups: &[(Role, usize, usize)], chunked: bool) -> Deployment {
        Deployment {
            model: "llama-3-70b".into(),
            hf_repo: "meta-llama/Meta-Llama-3-70B-Instruct".into(),
            mode,
            groups: groups
                .iter()
                .map(|&(role, count, tp)| InstanceGroup { role, count, tp })
                .collect(),
            max_batched_tokens: 8192,
            chunked_prefill: chunked,
            max_seqs: 256,
            max_model_len: 8192,
            gpus_per_node: 8,
        }
    }

    /// 2 prefill TP2 + 1 decode TP4 on 8-GPU nodes.
    pub fn disagg() -> Deployment {
        plan(
            Mode::Disaggregated,
            &[(Role::Prefill, 2, 2), (Role::Decode, 1, 4)],
            false,
        )
    }
    /// 4 replicas TP2, whole prompts.
    pub fn agg() -> Deployment {
        plan(Mode::Aggregated, &[(Role::Mixed, 4, 2)], false)
    }
    /// 3 chunked-prefill replicas TP4: two nodes.
    pub fn chunked() -> Deployment {
        plan(Mode::Chunked, &[(Role::Mixed, 3, 4)], true)
    }
    pub fn all_plans() -> Vec<Deployment> {
        vec![disagg(), agg(), chunked()]
    }

    /// The script's commands as shell words: `\`-continued lines joined, comments dropped,
    /// leading `VAR=value` words split off into the first element.
    pub fn commands(script: &str) -> Vec<(Vec<String>, Vec<String>)> {
        let joined = script.replace("\\\n", " ");
        let mut out = Vec::new();
        for line in joined.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words = shlex::split(line).unwrap_or_else(|| panic!("not shell words: {line}"));
            let cut = words
                .iter()
                .position(|w| !is_assignment(w))
                .unwrap_or(words.len());
            let (env, rest) = words.split_at(cut);
            let rest: Vec<String> = rest.iter().filter(|w| *w != "&").cloned().collect();
            if !rest.is_empty() {
                out.push((env.to_vec(), rest));
            }
        }
        out
    }

    fn is_assignment(w: &str) -> bool {
        match w.split_once('=') {
            Some((k, _)) => {
                !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            }
            None => false,
        }
    }

    /// The `--flag` words of a command (values such as `-1` are not flags).
    pub fn flags(words: &[String]) -> Vec<&str> {
        words
            .iter()
            .filter(|w| w.starts_with("--"))
            .map(String::as_str)
            .collect()
    }

    /// The value after `flag`, parsed.
    pub fn value<T: std::str::FromStr>(words: &[String], flag: &str) -> Option<T> {
        let i = words.iter().position(|w| w == flag)?;
        words.get(i + 1)?.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;

    #[test]
    fn placement_packs_nodes_without_overlap() {
        for d in all_plans() {
            let slots = place(&d).unwrap();
            assert_eq!(slots.iter().map(|s| s.tp).sum::<usize>(), d.gpus());
            for s in &slots {
                assert!(s.first_gpu + s.tp <= d.gpus_per_node, "{s:?}");
            }
            for (i, a) in slots.iter().enumerate() {
                for b in &slots[i + 1..] {
                    let apart = a.node != b.node
                        || a.first_gpu + a.tp <= b.first_gpu
                        || b.first_gpu + b.tp <= a.first_gpu;
                    assert!(apart, "{a:?} overlaps {b:?}");
                }
            }
        }
        // Three TP4 replicas on 8-GPU nodes: the third starts node 1.
        let nodes: Vec<usize> = place(&chunked()).unwrap().iter().map(|s| s.node).collect();
        assert_eq!(nodes, vec![0, 0, 1]);
    }

    #[test]
    fn a_plan_that_cannot_be_laid_out_is_refused() {
        let mut d = agg();
        d.gpus_per_node = 1;
        assert!(place(&d).is_err());
        for (name, text) in all(&d) {
            assert!(text.contains("cannot be launched"), "{name}");
            assert!(
                !text.contains("vllm serve") && !text.contains("launch_server"),
                "{name}"
            );
        }
    }

    #[test]
    fn all_names_three_files_and_every_target_has_a_version() {
        let names: Vec<&str> = all(&disagg()).iter().map(|(n, _)| *n).collect();
        assert_eq!(names, vec!["vllm.sh", "sglang.sh", "dynamo.yaml"]);
        for (system, version) in TARGETS {
            assert!(version.starts_with('v') && !system.is_empty());
        }
    }

    #[test]
    fn shell_words_round_trip() {
        for s in ["meta-llama/Llama-3", "a b", "it's", "", "{\"k\":1}"] {
            assert_eq!(shlex::split(&sh_word(s)).unwrap(), vec![s.to_string()]);
        }
    }
}
