//! SGLang v0.5.10.post1: one `sglang.launch_server` per instance, `sglang_router` in front
//! (PD mode with each prefill's bootstrap port, or plain replicas).
use super::{node_preamble, place, refusal, sh_word, summary, Slot};
use crate::plan::deployment::Deployment;
use crate::serve::cluster::Mode;
use crate::serve::events::Role;

/// Flags `python -m sglang.launch_server` may be given here. Checked in
/// `sglang/srt/server_args.py` of the sglang 0.5.10.post1 wheel (`ServerArgs.add_cli_args`;
/// `--disaggregation-transfer-backend` choices mooncake/nixl/ascend/fake/mori,
/// `--chunked-prefill-size -1` disables chunking, `--enable-mixed-chunk` puts prefill chunks and
/// decodes in one batch).
pub const SGLANG_FLAGS: &[&str] = &[
    "--model-path",
    "--host",
    "--port",
    "--tp-size",
    "--max-running-requests",
    "--context-length",
    "--chunked-prefill-size",
    "--max-prefill-tokens",
    "--enable-mixed-chunk",
    "--disaggregation-mode",
    "--disaggregation-transfer-backend",
    "--disaggregation-bootstrap-port",
];

/// Flags of `python -m sglang_router.launch_router`. Checked in `sglang_router/router_args.py` of
/// the sglang-router 0.3.2 wheel (`--prefill URL [BOOTSTRAP_PORT]`, where an omitted port means
/// none, so it is always given; `--decode URL`; `--worker-urls URL...`). sglang 0.5.10.post1's own
/// `sglang/test/server_fixtures/disaggregation_fixture.py` launches PD the same way.
pub const SGLANG_ROUTER_FLAGS: &[&str] = &[
    "--host",
    "--port",
    "--policy",
    "--worker-urls",
    "--pd-disaggregation",
    "--prefill",
    "--decode",
];

/// NIXL rather than SGLang's default Mooncake: the vLLM and Dynamo exports move KV with NIXL
/// too, so the three systems are compared on one transfer library (and `pip install nixl` is all
/// it needs; Mooncake needs its transfer engine installed and configured).
pub(crate) const TRANSFER_BACKEND: &str = "nixl";

const ROUTER_PORT: usize = 8000;
const FIRST_PORT: usize = 30000;
/// SGLang's default `--disaggregation-bootstrap-port`; one per prefill instance.
const FIRST_BOOTSTRAP: usize = 8998;

fn port(s: &Slot) -> usize {
    FIRST_PORT + s.global
}

fn url(s: &Slot) -> String {
    format!("\"http://$NODE{}:{}\"", s.node, port(s))
}

pub(crate) fn script(d: &Deployment) -> String {
    let slots = match place(d) {
        Ok(s) => s,
        Err(why) => return refusal("SGLang v0.5.10.post1", d, &why),
    };
    let nodes = slots.iter().map(|s| s.node).max().unwrap_or(0) + 1;
    let mut out = format!(
        "#!/usr/bin/env bash\n# Goodput Lab plan export for SGLang v0.5.10.post1 with sglang-router v0.3.2\n\
         # (pip install sglang==0.5.10.post1 sglang-router==0.3.2).\n# Plan: {}.\n{}",
        summary(d),
        node_preamble(nodes)
    );
    if d.mode == Mode::Disaggregated {
        out += &format!(
            "# P/D: KV moves over {TRANSFER_BACKEND} (pip install nixl), the same library the vLLM and\n\
             # Dynamo exports use; each prefill instance listens for decode handshakes on its own\n\
             # bootstrap port, which the router is told.\n"
        );
    }
    for s in &slots {
        out += &s.on_its_node(&server_command(d, s));
    }
    out += &router(d, &slots);
    out += "wait\n";
    out
}

fn server_command(d: &Deployment, s: &Slot) -> String {
    // Chunked: the budget is the chunk size. Whole prompts: chunking off (-1) and the budget
    // bounds a prefill batch instead.
    let budget = if d.chunked_prefill {
        let mixed = if d.mode == Mode::Disaggregated {
            ""
        } else {
            " --enable-mixed-chunk"
        };
        format!("--chunked-prefill-size {}{mixed}", d.max_batched_tokens)
    } else {
        format!(
            "--chunked-prefill-size -1 --max-prefill-tokens {}",
            d.max_batched_tokens
        )
    };
    let mut cmd = format!(
        "  CUDA_VISIBLE_DEVICES={} \\\n    python -m sglang.launch_server --model-path {} --host 0.0.0.0 \
         --port {} --tp-size {} \\\n    --max-running-requests {} --context-length {} {budget}",
        s.gpu_list(),
        sh_word(&d.hf_repo),
        port(s),
        s.tp,
        d.max_seqs,
        d.max_model_len
    );
    match s.role {
        Role::Prefill => {
            cmd += &format!(
                " \\\n    --disaggregation-mode prefill --disaggregation-transfer-backend {TRANSFER_BACKEND} \
                 --disaggregation-bootstrap-port {}",
                FIRST_BOOTSTRAP + s.global
            )
        }
        Role::Decode => {
            cmd += &format!(" \\\n    --disaggregation-mode decode --disaggregation-transfer-backend {TRANSFER_BACKEND}")
        }
        Role::Mixed => {}
    }
    cmd + " &\n"
}

/// The router clients talk to (round robin: the plans model no prefix cache, and round robin is
/// what the vLLM proxy and Dynamo's frontend do by default).
fn router(d: &Deployment, slots: &[Slot]) -> String {
    let head = format!(
        "if [ \"$NODE_RANK\" = 0 ]; then\n  # Clients talk to the router on port {ROUTER_PORT}.\n  \
         python -m sglang_router.launch_router --host 0.0.0.0 --port {ROUTER_PORT} --policy round_robin"
    );
    if d.mode == Mode::Disaggregated {
        let mut s = head + " --pd-disaggregation";
        for p in slots.iter().filter(|s| s.role == Role::Prefill) {
            s += &format!(
                " \\\n    --prefill {} {}",
                url(p),
                FIRST_BOOTSTRAP + p.global
            );
        }
        for dec in slots.iter().filter(|s| s.role == Role::Decode) {
            s += &format!(" \\\n    --decode {}", url(dec));
        }
        return s + " &\nfi\n";
    }
    if slots.len() == 1 {
        return format!(
            "# One replica: clients use http://$NODE0:{} directly.\n",
            port(&slots[0])
        );
    }
    let urls: Vec<String> = slots.iter().map(url).collect();
    format!("{head} \\\n    --worker-urls {} &\nfi\n", urls.join(" "))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    fn servers(script: &str) -> Vec<(Vec<String>, Vec<String>)> {
        commands(script)
            .into_iter()
            .filter(|(_, w)| w.iter().any(|x| x == "sglang.launch_server"))
            .collect()
    }

    fn router_of(script: &str) -> Option<Vec<String>> {
        commands(script)
            .into_iter()
            .map(|(_, w)| w)
            .find(|w| w.iter().any(|x| x == "sglang_router.launch_router"))
    }

    #[test]
    fn every_flag_is_one_sglang_parses() {
        for d in all_plans() {
            for (_, words) in commands(&script(&d)) {
                let allowed = if words.iter().any(|x| x == "sglang.launch_server") {
                    SGLANG_FLAGS
                } else if words.iter().any(|x| x == "sglang_router.launch_router") {
                    SGLANG_ROUTER_FLAGS
                } else {
                    continue;
                };
                for f in flags(&words) {
                    assert!(allowed.contains(&f), "{f} in {words:?}");
                }
            }
        }
    }

    #[test]
    fn servers_match_the_plan() {
        for d in all_plans() {
            let s = servers(&script(&d));
            assert_eq!(s.len(), d.groups.iter().map(|g| g.count).sum::<usize>());
            let tp: usize = s
                .iter()
                .map(|(_, w)| value::<usize>(w, "--tp-size").unwrap())
                .sum();
            assert_eq!(tp, d.gpus());
            let mut used = std::collections::HashSet::new();
            for (env, w) in &s {
                let gpus = env
                    .iter()
                    .find_map(|e| e.strip_prefix("CUDA_VISIBLE_DEVICES="))
                    .unwrap();
                assert_eq!(
                    gpus.split(',').count(),
                    value::<usize>(w, "--tp-size").unwrap()
                );
                assert_eq!(
                    value::<usize>(w, "--max-running-requests"),
                    Some(d.max_seqs)
                );
                let chunk: i64 = value(w, "--chunked-prefill-size").unwrap();
                assert_eq!(
                    chunk,
                    if d.chunked_prefill {
                        d.max_batched_tokens as i64
                    } else {
                        -1
                    }
                );
                assert!(
                    used.insert(value::<usize>(w, "--port").unwrap()),
                    "port reused"
                );
            }
        }
    }

    #[test]
    fn pd_router_names_every_prefill_with_its_bootstrap_port() {
        let text = script(&disagg());
        let s = servers(&text);
        let prefill: Vec<&Vec<String>> = s
            .iter()
            .map(|(_, w)| w)
            .filter(|w| w.contains(&"prefill".to_string()))
            .collect();
        assert_eq!(prefill.len(), 2);
        let r = router_of(&text).unwrap();
        assert!(r.contains(&"--pd-disaggregation".to_string()));
        for p in &prefill {
            assert_eq!(
                value::<String>(p, "--disaggregation-transfer-backend").unwrap(),
                TRANSFER_BACKEND
            );
            let boot: usize = value(p, "--disaggregation-bootstrap-port").unwrap();
            let port: usize = value(p, "--port").unwrap();
            let at = r
                .iter()
                .position(|x| x.ends_with(&format!(":{port}")))
                .unwrap();
            assert_eq!(r[at - 1], "--prefill");
            assert_eq!(r[at + 1], boot.to_string());
        }
        assert_eq!(r.iter().filter(|x| *x == "--decode").count(), 1);
    }

    #[test]
    fn replicas_sit_behind_the_router() {
        let r = router_of(&script(&agg())).unwrap();
        let urls = r
            .iter()
            .skip_while(|x| *x != "--worker-urls")
            .skip(1)
            .take_while(|x| !x.starts_with("--"))
            .count();
        assert_eq!(urls, 4);
        assert!(!script(&agg()).contains("--disaggregation"));
        assert!(script(&chunked()).contains("--enable-mixed-chunk"));
    }
}
