//! Metric formulas against timelines computed by hand.
use engine::serve::metrics::{attainment, percentile, summarize, RequestRecord, Slo, Stats};
use engine::serve::request::{Request, RequestSpec};

fn request(arrival: f64, times: &[f64], stamps: (f64, Option<(f64, f64)>, f64)) -> Request {
    let spec = RequestSpec {
        id: 0,
        arrival_s: arrival,
        prompt: vec![1; 10].into(),
        output_tokens: times.len(),
    };
    let mut r = Request::new(&spec);
    r.token_times_s = times.to_vec();
    r.stamps.prefill_start_s = Some(stamps.0);
    if let Some((a, b)) = stamps.1 {
        r.stamps.transfer_start_s = Some(a);
        r.stamps.transfer_end_s = Some(b);
    }
    r.stamps.decode_start_s = Some(stamps.2);
    r
}

#[test]
fn ttft_tpot_itl_e2el_and_breakdown() {
    // Arrives at 1.0, prefill runs 1.5–2.0 (first token), transfer 2.0–2.1, waits, decodes from
    // 2.3; tokens at 2.0, 2.5, 2.6, 3.0.
    let r = request(1.0, &[2.0, 2.5, 2.6, 3.0], (1.5, Some((2.0, 2.1)), 2.3));
    let m = RequestRecord::from_request(&r);
    assert!((m.ttft_ms - 1000.0).abs() < 1e-9);
    assert!((m.e2el_ms - 2000.0).abs() < 1e-9);
    // (E2EL − TTFT) / (n − 1) = 1000 / 3.
    assert!((m.tpot_ms - 1000.0 / 3.0).abs() < 1e-9);
    let itl: Vec<f64> = m.itl_ms.iter().map(|x| (x * 1e6).round() / 1e6).collect();
    assert_eq!(itl, vec![500.0, 100.0, 400.0]);
    let b = m.breakdown_ms;
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    assert!(close(b.prefill_queue, 500.0) && close(b.prefill_exec, 500.0));
    assert!(
        close(b.kv_transfer, 100.0) && close(b.decode_queue, 200.0) && close(b.decode_exec, 700.0)
    );
}

#[test]
fn one_token_outputs_have_zero_tpot() {
    let m = RequestRecord::from_request(&request(0.0, &[0.4], (0.1, None, 0.4)));
    assert_eq!(m.tpot_ms, 0.0);
    assert!(m.itl_ms.is_empty());
    assert!((m.breakdown_ms.decode_exec).abs() < 1e-9);
}

#[test]
fn percentiles_interpolate_like_numpy() {
    let v = [1.0, 2.0, 3.0, 4.0];
    // numpy.percentile([1,2,3,4], [50, 90, 99]) = 2.5, 3.7, 3.97
    assert!((percentile(&v, 50.0) - 2.5).abs() < 1e-12);
    assert!((percentile(&v, 90.0) - 3.7).abs() < 1e-12);
    assert!((percentile(&v, 99.0) - 3.97).abs() < 1e-12);
    let s = Stats::of([4.0, 1.0, 3.0, 2.0]);
    assert_eq!((s.mean, s.median), (2.5, 2.5));
}

#[test]
fn attainment_and_goodput() {
    // TTFTs 100, 300, 100 ms; TPOTs 10, 10, 50 ms; SLO 200 ms / 20 ms: only the first meets both.
    let recs: Vec<RequestRecord> = [(0.1, 0.01), (0.3, 0.01), (0.1, 0.05)]
        .iter()
        .map(|&(ttft, tpot)| {
            let times = [ttft, ttft + tpot, ttft + 2.0 * tpot];
            RequestRecord::from_request(&request(0.0, &times, (0.0, None, ttft)))
        })
        .collect();
    let slo = Slo {
        ttft_ms: 200.0,
        tpot_ms: 20.0,
    };
    let a = attainment(&recs, &slo);
    assert!((a.joint - 1.0 / 3.0).abs() < 1e-12);
    assert!((a.ttft - 2.0 / 3.0).abs() < 1e-12);
    assert!((a.tpot - 2.0 / 3.0).abs() < 1e-12);
    let s = summarize(&recs, &slo, 2);
    // The run lasts until the last token: 0.3 + 2 · 0.01 = 0.32 s.
    assert!((s.duration_s - 0.32).abs() < 1e-12, "{}", s.duration_s);
    assert!((s.goodput_rps - 1.0 / 0.32).abs() < 1e-9);
    assert!((s.goodput_per_gpu_rps - 0.5 / 0.32).abs() < 1e-9);
    assert!((s.throughput_rps - 3.0 / 0.32).abs() < 1e-9);
    assert!((s.output_tps - 9.0 / 0.32).abs() < 1e-9);
    // Doubling the SLOs lets every request through.
    assert_eq!(attainment(&recs, &slo.scaled(2.5)).joint, 1.0);
}
