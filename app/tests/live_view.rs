//! The window as a live server's viewer (`gui --serve PORT`): requests a client sends over HTTP
//! appear in the compare view's store as they finish, with their steps, and the status line
//! says where to send them.
mod common;
use common::{wait_for, window};
use egui_kittest::kittest::Queryable;
use engine::serve::cluster::{ClockKind, Mode};
use serde_json::{json, Value};

#[test]
fn requests_sent_to_the_windows_server_show_up_live() {
    let mut e = common::tiny(ClockKind::Wall, 1);
    e.modes = vec![Mode::Disaggregated];
    let mut h = window(e);
    h.state_mut().start_server(0);
    wait_for(&mut h, 60, "the server's address", |w| {
        w.worker.live.address().is_some()
    });
    let base = h.state().worker.live.address().unwrap();
    assert!(h
        .query_by_label_contains("serving at http://127.0.0.1:")
        .is_some());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let bodies: Vec<Value> = rt.block_on(async {
        let c = reqwest::Client::new();
        let mut out = Vec::new();
        for k in 0..3 {
            let r = c
                .post(format!("{base}/completions"))
                .json(
                    &json!({"prompt": format!("request {k}"), "max_tokens": 5 + k,
                              "ignore_eos": true}),
                )
                .send()
                .await
                .unwrap();
            out.push(r.json().await.unwrap());
        }
        out
    });
    for (k, b) in bodies.iter().enumerate() {
        assert_eq!(b["usage"]["completion_tokens"], 5 + k, "{b}");
    }
    wait_for(&mut h, 30, "three finished requests in the store", |w| {
        w.worker.store.modes[0].requests.len() == 3
    });
    let d = &h.state().worker.store.modes[0];
    assert_eq!(d.mode, Mode::Disaggregated);
    let outs: Vec<usize> = d.requests.iter().map(|r| r.output_tokens).collect();
    assert_eq!(outs, vec![5, 6, 7]);
    // Prefill and decode instances both stepped, and the KV moved between them.
    assert!(d.steps.iter().any(|s| s.prefill_tokens > 0));
    assert!(d
        .steps
        .iter()
        .any(|s| s.decode_tokens > 0 && s.prefill_tokens == 0));
    assert_eq!(d.transfers.len(), 3);
    // Starting an ordinary run stops the server.
    h.state_mut().worker.reset();
    assert!(!h.state().worker.live.is_on());
}
