//! NVIDIA Dynamo v1.1.0, vLLM backend: a `DynamoGraphDeployment` (nvidia.com/v1alpha1) with a
//! Frontend and one worker service per instance group, shaped like the release's own
//! `examples/backends/vllm/deploy/{agg,disagg}.yaml`: `componentType`/`subComponentType`,
//! `replicas`, `resources.limits.gpu`, and `python3 -m dynamo.vllm` with list args. (The wheel
//! ships no examples: they were read at ai-dynamo/dynamo main df888f6, 2026-04-21, whose
//! `pyproject.toml` says 1.1.0; the wheel's own v1alpha1 manifests have the same shape.)
use super::vllm::NIXL_KV_CONFIG;
use super::{place, role_name, summary};
use crate::plan::deployment::Deployment;
use crate::serve::cluster::Mode;
use crate::serve::events::Role;

/// The runtime image of the release (vLLM 0.19.0 inside), as the v1.1.0 wheel's own manifests
/// (`dynamo/planner/tests/manual/perf_test_configs/*.yaml`) name it.
pub const DYNAMO_IMAGE: &str = "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.1.0";

/// Worker args `python3 -m dynamo.vllm` may be given here. `--disaggregation-mode` (agg, prefill,
/// decode; `--is-prefill-worker` is deprecated) is checked in `dynamo/vllm/backend_args.py` of the
/// ai-dynamo 1.1.0 wheel; its `dynamo/vllm/args.py` adds vLLM's own `AsyncEngineArgs` parser, so
/// the rest are vLLM 0.19.0 flags (see `VLLM_FLAGS`). That `args.py` also refuses a prefill
/// worker without `--kv-transfer-config`.
pub const DYNAMO_VLLM_FLAGS: &[&str] = &[
    "--model",
    "--disaggregation-mode",
    "--tensor-parallel-size",
    "--max-num-batched-tokens",
    "--max-num-seqs",
    "--max-model-len",
    "--enable-chunked-prefill",
    "--no-enable-chunked-prefill",
    "--kv-transfer-config",
];

/// Flags of `python3 -m dynamo.frontend` emitted here: none. The release's examples leave the
/// Frontend's command to the operator (`componentType: frontend`), and so does this manifest.
pub const DYNAMO_FRONTEND_FLAGS: &[&str] = &[];

pub(crate) fn manifest(d: &Deployment) -> String {
    let mut out = format!(
        "# Goodput Lab plan export for NVIDIA Dynamo v1.1.0, vLLM backend (vLLM 0.19.0 in\n\
         # {DYNAMO_IMAGE}).\n# Plan: {}.\n",
        summary(d)
    );
    if let Err(why) = place(d) {
        return out + &format!("# this plan cannot be launched: {why}\n");
    }
    out += "# Needs the Dynamo platform (CRDs and operator) in the cluster and a secret\n\
            # hf-token-secret holding HF_TOKEN. Apply with: kubectl apply -n <namespace> -f dynamo.yaml\n\
            # Clients talk to the Frontend service on port 8000; it routes round robin.\n";
    if d.mode == Mode::Disaggregated {
        out += "# Prefill and decode workers both load NixlConnector (as the release's\n\
                # launch/disagg.sh does); Dynamo's frontend sends each request through both.\n";
    }
    out += &format!(
        "apiVersion: nvidia.com/v1alpha1\nkind: DynamoGraphDeployment\nmetadata:\n  name: {}\n\
         spec:\n  services:\n    Frontend:\n      componentType: frontend\n      replicas: 1\n      \
         extraPodSpec:\n        mainContainer:\n          image: {DYNAMO_IMAGE}\n",
        object_name(d)
    );
    let mut names: Vec<String> = Vec::new();
    for g in d.groups.iter().filter(|g| g.count > 0) {
        let base = match g.role {
            Role::Prefill => "VllmPrefillWorker",
            // The release's agg.yaml calls its single worker VllmDecodeWorker too.
            Role::Decode | Role::Mixed => "VllmDecodeWorker",
        };
        let taken = names.iter().filter(|n| n.starts_with(base)).count();
        let name = if taken == 0 {
            base.to_string()
        } else {
            format!("{base}{}", taken + 1)
        };
        out += &format!(
            "    {name}:\n      envFromSecret: hf-token-secret\n      componentType: worker\n"
        );
        if g.role != Role::Mixed {
            out += &format!("      subComponentType: {}\n", role_name(g.role));
        }
        out += &format!(
            "      replicas: {}\n      resources:\n        limits:\n          gpu: '{}'\n      \
             extraPodSpec:\n        mainContainer:\n          image: {DYNAMO_IMAGE}\n          \
             workingDir: /workspace/examples/backends/vllm\n          command:\n          - python3\n          \
             - -m\n          - dynamo.vllm\n          args:\n",
            g.count, g.tp
        );
        for a in worker_args(d, g.role, g.tp) {
            out += &format!("          - {}\n", yaml_scalar(&a));
        }
        names.push(name);
    }
    out
}

fn worker_args(d: &Deployment, role: Role, tp: usize) -> Vec<String> {
    let mut a: Vec<String> = vec!["--model".into(), d.hf_repo.clone()];
    if role != Role::Mixed {
        a.extend(["--disaggregation-mode".into(), role_name(role).into()]);
    }
    for (flag, v) in [
        ("--tensor-parallel-size", tp),
        ("--max-num-batched-tokens", d.max_batched_tokens),
        ("--max-num-seqs", d.max_seqs),
        ("--max-model-len", d.max_model_len),
    ] {
        a.extend([flag.into(), v.to_string()]);
    }
    a.push(
        if d.chunked_prefill {
            "--enable-chunked-prefill"
        } else {
            "--no-enable-chunked-prefill"
        }
        .into(),
    );
    if role != Role::Mixed {
        a.extend(["--kv-transfer-config".into(), NIXL_KV_CONFIG.into()]);
    }
    a
}

/// A Kubernetes object name (lowercase letters, digits, '-'; at most 63) from the model and mode.
fn object_name(d: &Deployment) -> String {
    let raw = format!("{}-{}", d.model, d.mode.name()).to_ascii_lowercase();
    let mut s = String::new();
    for c in raw.chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if !(c == '-' && (s.is_empty() || s.ends_with('-'))) {
            s.push(c);
        }
    }
    s.truncate(63);
    let s = s.trim_end_matches('-').to_string();
    if s.is_empty() {
        "goodput-plan".into()
    } else {
        s
    }
}

/// A YAML scalar that reads back as the same string: bare when plainly safe, single-quoted
/// otherwise (numbers included, so every arg stays a string as the container's argv needs).
fn yaml_scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        && !s.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && !s
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
        && !["true", "false", "yes", "no", "null", "on", "off"]
            .contains(&s.to_ascii_lowercase().as_str());
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use serde_norway::Value;

    fn services(d: &Deployment) -> serde_norway::Mapping {
        let v: Value = serde_norway::from_str(&manifest(d)).expect("valid YAML");
        assert_eq!(v["apiVersion"].as_str(), Some("nvidia.com/v1alpha1"));
        assert_eq!(v["kind"].as_str(), Some("DynamoGraphDeployment"));
        v["spec"]["services"].as_mapping().unwrap().clone()
    }

    fn args(svc: &Value) -> Vec<String> {
        let main = &svc["extraPodSpec"]["mainContainer"];
        let cmd: Vec<&str> = main["command"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        assert_eq!(cmd, ["python3", "-m", "dynamo.vllm"]);
        main["args"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|x| x.as_str().expect("string arg").to_string())
            .collect()
    }

    #[test]
    fn services_match_the_plan() {
        for d in all_plans() {
            let s = services(&d);
            assert!(s.contains_key("Frontend"));
            let workers: Vec<&Value> = s
                .values()
                .filter(|v| v["componentType"].as_str() == Some("worker"))
                .collect();
            assert_eq!(workers.len(), d.groups.len());
            for (w, g) in workers.iter().zip(&d.groups) {
                assert_eq!(w["replicas"].as_u64(), Some(g.count as u64));
                let gpu: usize = w["resources"]["limits"]["gpu"]
                    .as_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert_eq!(gpu, g.tp);
                let a = args(w);
                assert_eq!(value::<usize>(&a, "--tensor-parallel-size"), Some(g.tp));
                assert_eq!(
                    value::<String>(&a, "--model").as_deref(),
                    Some(d.hf_repo.as_str())
                );
                let sub = w["subComponentType"].as_str();
                assert_eq!(sub, (g.role != Role::Mixed).then(|| role_name(g.role)));
                assert_eq!(value::<String>(&a, "--disaggregation-mode").as_deref(), sub);
            }
            let gpus: usize = workers
                .iter()
                .map(|w| {
                    w["replicas"].as_u64().unwrap() as usize
                        * w["resources"]["limits"]["gpu"]
                            .as_str()
                            .unwrap()
                            .parse::<usize>()
                            .unwrap()
                })
                .sum();
            assert_eq!(gpus, d.gpus());
        }
    }

    #[test]
    fn worker_args_are_flags_dynamo_1_1_parses() {
        for d in all_plans() {
            let text = manifest(&d);
            assert!(!text.contains("--max-num-partial-prefills"));
            for (_, w) in services(&d)
                .iter()
                .filter(|(k, _)| k.as_str() != Some("Frontend"))
            {
                let a = args(w);
                for f in flags(&a) {
                    assert!(DYNAMO_VLLM_FLAGS.contains(&f), "{f}");
                }
                if let Some(i) = a.iter().position(|x| x == "--kv-transfer-config") {
                    let j: serde_json::Value = serde_json::from_str(&a[i + 1]).unwrap();
                    assert_eq!(j["kv_connector"], "NixlConnector");
                } else {
                    assert_ne!(d.mode, Mode::Disaggregated, "a P/D worker without NIXL");
                }
            }
        }
    }

    #[test]
    fn names_and_scalars_survive_odd_input() {
        let mut d = disagg();
        d.model = "Qwen2.5 7B (it's)".into();
        d.hf_repo = "org/model:weird 'quote'".into();
        let v: Value = serde_norway::from_str(&manifest(&d)).unwrap();
        let name = v["metadata"]["name"].as_str().unwrap();
        assert_eq!(name, "qwen2-5-7b-it-s-disaggregated");
        let w = &v["spec"]["services"]["VllmPrefillWorker"];
        assert_eq!(
            value::<String>(&args(w), "--model").as_deref(),
            Some("org/model:weird 'quote'")
        );
        for s in ["8192", "true", "-1", "1.5", "1e5", "a: b"] {
            let back: String = serde_norway::from_str(&yaml_scalar(s)).unwrap();
            assert_eq!(back, s);
        }
    }
}
