//! vLLM v0.19.0: one `vllm serve` per instance; for P/D the NixlConnector on every instance and
//! the proxy that vLLM's NixlConnector guide documents; for replicas, the load balancer its docs
//! describe.
use super::{node_preamble, place, refusal, sh_word, summary, Slot};
use crate::plan::deployment::Deployment;
use crate::serve::cluster::Mode;
use crate::serve::events::Role;

/// Flags `vllm serve` may be given here. Checked in vLLM 0.19.0 (wheel
/// `vllm-0.19.0-cp38-abi3-manylinux_2_31_x86_64.whl`, commit g2a69949bd):
/// `vllm/entrypoints/openai/cli_args.py` (FrontendArgs: `--host`, `--port`) and
/// `vllm/engine/arg_utils.py` (the rest; `SchedulerConfig.enable_chunked_prefill` is a bool, so
/// argparse's BooleanOptionalAction also makes `--no-enable-chunked-prefill`).
/// `--max-num-partial-prefills` is deliberately absent: 0.19.0's `SchedulerConfig` refuses values
/// above 1 without chunked prefill, and the plans never model concurrent partial prefills.
pub const VLLM_FLAGS: &[&str] = &[
    "--host",
    "--port",
    "--tensor-parallel-size",
    "--max-num-batched-tokens",
    "--max-num-seqs",
    "--max-model-len",
    "--enable-chunked-prefill",
    "--no-enable-chunked-prefill",
    "--kv-transfer-config",
];

/// Flags of the P/D proxy `tests/v1/kv_connector/nixl_integration/toy_proxy_server.py`, the one
/// `docs/features/nixl_connector_usage.md` documents. Checked at vLLM main 31a719b (2026-04-01,
/// where v0.19.0 branched; the file's last change before it is 60d17251c, 2025-12-08). The wheel
/// does not ship `tests/`, so the script runs it from a source checkout.
pub const VLLM_PROXY_FLAGS: &[&str] = &[
    "--host",
    "--port",
    "--prefiller-hosts",
    "--prefiller-ports",
    "--decoder-hosts",
    "--decoder-ports",
];

/// `kv_both` on every instance: the guide's own examples use it, and NixlConnector takes the
/// prefill/decode role from the proxy, not from `kv_role`.
pub(crate) const NIXL_KV_CONFIG: &str = r#"{"kv_connector":"NixlConnector","kv_role":"kv_both"}"#;

const PROXY_PORT: usize = 8000;
const FIRST_PORT: usize = 8100;
/// vLLM's default `VLLM_NIXL_SIDE_CHANNEL_PORT`; 0.19.0 opens base + DP rank, one per engine, so
/// base + first GPU is unique on a node.
const SIDE_CHANNEL_BASE: usize = 5600;
const PROXY_SCRIPT: &str = "tests/v1/kv_connector/nixl_integration/toy_proxy_server.py";

fn port(s: &Slot) -> usize {
    FIRST_PORT + s.global
}

pub(crate) fn script(d: &Deployment) -> String {
    let slots = match place(d) {
        Ok(s) => s,
        Err(why) => return refusal("vLLM v0.19.0", d, &why),
    };
    let nodes = slots.iter().map(|s| s.node).max().unwrap_or(0) + 1;
    let disagg = d.mode == Mode::Disaggregated;
    let mut out = format!(
        "#!/usr/bin/env bash\n# Goodput Lab plan export for vLLM v0.19.0 (pip install vllm==0.19.0).\n\
         # Plan: {}.\n{}",
        summary(d),
        node_preamble(nodes)
    );
    if disagg {
        out += "# P/D over NIXL (pip install nixl): every instance loads NixlConnector; the proxy at\n\
                # the end decides which ones prefill and which decode. Each instance has its own\n\
                # NIXL side-channel port on its node and advertises its node's address.\n";
    }
    out += &limits_notes(d);
    for s in &slots {
        out += &s.on_its_node(&serve_command(d, s, disagg));
    }
    out += &front(d, &slots);
    out += "wait\n";
    out
}

fn serve_command(d: &Deployment, s: &Slot, disagg: bool) -> String {
    let mut env = format!("CUDA_VISIBLE_DEVICES={}", s.gpu_list());
    if disagg {
        env += &format!(
            " VLLM_NIXL_SIDE_CHANNEL_HOST=\"$NODE{}\" VLLM_NIXL_SIDE_CHANNEL_PORT={}",
            s.node,
            SIDE_CHANNEL_BASE + s.first_gpu
        );
    }
    // vLLM v1 chunks prompts by default: the plan's choice is said either way.
    let chunk = if d.chunked_prefill {
        "--enable-chunked-prefill"
    } else {
        "--no-enable-chunked-prefill"
    };
    let mut cmd = format!(
        "  {env} \\\n    vllm serve {} --host 0.0.0.0 --port {} --tensor-parallel-size {} \\\n    \
         --max-num-batched-tokens {} --max-num-seqs {} --max-model-len {} {chunk}",
        sh_word(&d.hf_repo),
        port(s),
        s.tp,
        d.max_batched_tokens,
        d.max_seqs,
        d.max_model_len
    );
    if disagg {
        cmd += &format!(" \\\n    --kv-transfer-config {}", sh_word(NIXL_KV_CONFIG));
    }
    cmd + " &\n"
}

/// What vLLM 0.19.0's `SchedulerConfig` would refuse at start-up, said before it does.
fn limits_notes(d: &Deployment) -> String {
    let mut s = String::new();
    if !d.chunked_prefill && d.max_batched_tokens < d.max_model_len {
        s += &format!(
            "# NOTE: without chunked prefill vLLM refuses --max-num-batched-tokens ({}) below\n\
             # --max-model-len ({}); raise one or lower the other before running.\n",
            d.max_batched_tokens, d.max_model_len
        );
    }
    if d.max_batched_tokens < d.max_seqs {
        s += &format!(
            "# NOTE: vLLM refuses --max-num-batched-tokens ({}) below --max-num-seqs ({}).\n",
            d.max_batched_tokens, d.max_seqs
        );
    }
    s
}

/// The entry point clients use: the NIXL proxy, a load-balancer note, or nothing for one replica.
fn front(d: &Deployment, slots: &[Slot]) -> String {
    let of = |r: Role| -> Vec<&Slot> { slots.iter().filter(|s| s.role == r).collect() };
    if d.mode == Mode::Disaggregated {
        let (p, dec) = (of(Role::Prefill), of(Role::Decode));
        let hosts = |v: &[&Slot]| {
            v.iter()
                .map(|s| format!("\"$NODE{}\"", s.node))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let ports = |v: &[&Slot]| {
            v.iter()
                .map(|s| port(s).to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        return format!(
            "if [ \"$NODE_RANK\" = 0 ]; then\n  # Clients talk to this proxy on port {PROXY_PORT}: it sends each request to a\n  \
             # prefill instance (max_tokens=1), then to a decode instance with the KV handle,\n  \
             # round robin over each. It is vLLM's documented P/D proxy for NixlConnector\n  \
             # ({PROXY_SCRIPT} in the v0.19.0 source; needs fastapi, httpx, uvicorn).\n  \
             python \"${{VLLM_SRC:-vllm}}/{PROXY_SCRIPT}\" --host 0.0.0.0 --port {PROXY_PORT} \\\n    \
             --prefiller-hosts {} --prefiller-ports {} \\\n    --decoder-hosts {} --decoder-ports {} &\nfi\n",
            hosts(&p),
            ports(&p),
            hosts(&dec),
            ports(&dec)
        );
    }
    if slots.len() == 1 {
        return format!(
            "# One replica: clients use http://$NODE0:{} directly.\n",
            port(&slots[0])
        );
    }
    // vLLM's docs: replicas of a dense model are independent servers behind an external load
    // balancer (docs/serving/data_parallel_deployment.md); docs/deployment/nginx.md uses nginx.
    let mut s = String::from(
        "# Several replicas: put an HTTP load balancer in front (vLLM's data-parallel guide calls\n\
         # this external load balancing; its nginx guide has one `server` line per replica):\n\
         #   upstream vllm_replicas {\n",
    );
    for slot in slots {
        s += &format!("#     server $NODE{}:{};\n", slot.node, port(slot));
    }
    s + "#   }\n"
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    fn serves(script: &str) -> Vec<(Vec<String>, Vec<String>)> {
        commands(script)
            .into_iter()
            .filter(|(_, w)| w[0] == "vllm")
            .collect()
    }

    #[test]
    fn every_flag_is_one_vllm_0_19_parses() {
        for d in all_plans() {
            let text = script(&d);
            for (_, words) in commands(&text) {
                let allowed = match words[0].as_str() {
                    "vllm" => VLLM_FLAGS,
                    "python" if words[1].ends_with("toy_proxy_server.py") => VLLM_PROXY_FLAGS,
                    _ => continue,
                };
                for f in flags(&words) {
                    assert!(allowed.contains(&f), "{f} in {words:?}");
                }
            }
            assert!(!text.contains("--max-num-partial-prefills"));
        }
    }

    #[test]
    fn instances_and_tensor_parallelism_match_the_plan() {
        for d in all_plans() {
            let s = serves(&script(&d));
            let count: usize = d.groups.iter().map(|g| g.count).sum();
            assert_eq!(s.len(), count);
            let tp: usize = s
                .iter()
                .map(|(_, w)| value::<usize>(w, "--tensor-parallel-size").unwrap())
                .sum();
            assert_eq!(tp, d.gpus());
            for (env, w) in &s {
                assert_eq!(w[1], "serve");
                assert_eq!(w[2], d.hf_repo);
                let gpus = env
                    .iter()
                    .find_map(|e| e.strip_prefix("CUDA_VISIBLE_DEVICES="))
                    .unwrap();
                assert_eq!(
                    gpus.split(',').count(),
                    value::<usize>(w, "--tensor-parallel-size").unwrap()
                );
                assert_eq!(value::<usize>(w, "--max-num-seqs"), Some(d.max_seqs));
                let chunked = w.iter().any(|x| x == "--enable-chunked-prefill");
                assert_eq!(chunked, d.chunked_prefill);
            }
        }
    }

    #[test]
    fn gpus_stay_on_their_node_and_never_overlap() {
        for d in all_plans() {
            let text = script(&d);
            // Pair each serve with the node its `if` block names.
            let mut node = 0;
            let mut used: Vec<(usize, usize)> = Vec::new();
            for line in text.lines() {
                if let Some(n) = line
                    .strip_prefix("if [ \"$NODE_RANK\" = ")
                    .and_then(|r| r.split(' ').next())
                {
                    node = n.parse().unwrap();
                }
                if let Some(rest) = line.trim().strip_prefix("CUDA_VISIBLE_DEVICES=") {
                    for g in rest.split(' ').next().unwrap().split(',') {
                        let g: usize = g.parse().unwrap();
                        assert!(g < d.gpus_per_node);
                        assert!(!used.contains(&(node, g)), "GPU {g} twice on node {node}");
                        used.push((node, g));
                    }
                }
            }
            assert_eq!(used.len(), d.gpus());
        }
    }

    #[test]
    fn disaggregated_instances_load_nixl_behind_the_proxy() {
        let d = disagg();
        let text = script(&d);
        let s = serves(&text);
        for (env, w) in &s {
            let i = w.iter().position(|x| x == "--kv-transfer-config").unwrap();
            let v: serde_json::Value = serde_json::from_str(&w[i + 1]).unwrap();
            assert_eq!(v["kv_connector"], "NixlConnector");
            assert!(env
                .iter()
                .any(|e| e.starts_with("VLLM_NIXL_SIDE_CHANNEL_PORT=")));
        }
        let ports: Vec<&String> = s
            .iter()
            .flat_map(|(e, _)| e)
            .filter(|e| e.contains("SIDE_CHANNEL_PORT"))
            .collect();
        assert_eq!(ports.len(), 3);
        assert!(ports[0] != ports[1] && ports[1] != ports[2] && ports[0] != ports[2]);
        let proxy = commands(&text)
            .into_iter()
            .find(|(_, w)| w.iter().any(|x| x.ends_with("toy_proxy_server.py")))
            .unwrap()
            .1;
        assert_eq!(value::<usize>(&proxy, "--prefiller-ports"), Some(8100));
        let after = |f: &str| {
            proxy
                .iter()
                .skip_while(|x| *x != f)
                .skip(1)
                .take_while(|x| !x.starts_with("--"))
                .count()
        };
        assert_eq!(
            (after("--prefiller-hosts"), after("--prefiller-ports")),
            (2, 2)
        );
        assert_eq!((after("--decoder-hosts"), after("--decoder-ports")), (1, 1));
    }

    #[test]
    fn replicas_get_a_load_balancer_note_and_no_nixl() {
        let text = script(&agg());
        assert!(text.contains("upstream vllm_replicas"));
        assert_eq!(text.matches("#     server $NODE0:").count(), 4);
        assert!(!text.contains("kv-transfer-config") && !text.contains("toy_proxy"));
        assert!(text.contains("--no-enable-chunked-prefill"));
    }
}
