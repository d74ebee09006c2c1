//! The experiment type: RON in and out, defaults, errors that name the field, the line and the
//! column, and the machine fit measured on a real (tiny) model.
use engine::serve::events::Emitter;
use engine::serve::experiment::{prepare, Experiment, MachineFit};
use engine::serve::workload::LenDist;

#[test]
fn a_partial_file_takes_the_defaults_and_round_trips() {
    let e = Experiment::from_ron(
        "x.ron",
        "#![enable(implicit_some)]\n(model: \"tiny\", gpus: 4, pd: (1, 3), workload: (rate: 3.5, prompt_len: Uniform(lo: 4, hi: 9)))",
    )
    .unwrap();
    assert_eq!(e.gpus, 4);
    assert_eq!(e.pd, Some((1, 3)));
    assert_eq!(e.workload.rate, 3.5);
    assert_eq!(
        e.workload.prompt_len,
        Some(LenDist::Uniform { lo: 4, hi: 9 })
    );
    let d = Experiment::default();
    assert_eq!(e.slo, d.slo);
    assert_eq!(e.sched, d.sched);
    assert_eq!(
        Experiment::from_ron("y.ron", &e.to_ron().unwrap()).unwrap(),
        e
    );
}

#[test]
fn malformed_files_name_the_file_line_and_field() {
    let err = Experiment::from_ron("bad.ron", "(\n  gpus: 2,\n  gpu_count: 3,\n)")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("bad.ron: 3:"), "{err}");
    assert!(err.contains("gpu_count"), "{err}");
    let err = Experiment::from_ron("bad.ron", "(gpus: \"two\")")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("bad.ron: 1:"), "{err}");
    let missing = Experiment::load(std::path::Path::new("/no/such/experiment.ron"));
    assert!(missing
        .unwrap_err()
        .to_string()
        .contains("/no/such/experiment.ron"));
}

#[test]
fn impossible_settings_are_refused_by_field() {
    let spec = engine::model::cards::card("tiny").unwrap().spec;
    type Edit = fn(&mut Experiment);
    let cases: Vec<(Edit, &str)> = vec![
        (|e| e.workload.rate = 0.0, "workload.rate"),
        (|e| e.slo.tpot_ms = -1.0, "slo.tpot_ms"),
        (|e| e.modes.clear(), "modes"),
        (|e| e.link = "warp".into(), "link"),
        (|e| e.hardware = "tpu".into(), "hardware"),
        (|e| e.pd = Some((2, 1)), "pd"),
        (|e| e.sched.max_seqs = 0, "sched.max_seqs"),
        (|e| e.sampling.top_p = 0.0, "sampling.top_p"),
        (|e| e.sweep.rates = vec![1.0, -1.0], "sweep.rates"),
        (
            |e| e.workload.output_len = Some(LenDist::Fixed(0)),
            "workload.output_len",
        ),
    ];
    for (edit, field) in cases {
        let mut e = Experiment::default();
        edit(&mut e);
        match e.resolve(&spec) {
            Err(engine::EngineError::Field { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
}

#[test]
fn a_machine_fit_is_measured_cached_and_applied() {
    let dir = tempfile::tempdir().unwrap();
    std::env::set_var(engine::model::cards::MODELS_DIR_ENV, dir.path());
    let mut e = Experiment {
        model: "tiny".into(),
        synthetic: true,
        threads: Some(1),
        ..Experiment::default()
    };
    e.workload.prompt_len = Some(LenDist::Fixed(64));
    e.workload.output_len = Some(LenDist::Fixed(16));
    e.fit = Some(MachineFit {
        prefill_tokens: 64,
        decode_batch: 4,
        context: 32,
        ..MachineFit::default()
    });
    let p = prepare(&e, None, &Emitter::none()).unwrap();
    let f = p.figures.clone().unwrap();
    assert!(f.prefill_ms > 0.0 && f.decode1_ms > 0.0 && f.decode_batch_ms > 0.0);
    let fitted = &p.experiment;
    assert!(fitted.fit.is_none());
    assert!(fitted.slo.tpot_ms > 0.0 && fitted.workload.rate > 0.0);
    assert_eq!(fitted.sweep.rates.len(), 4);
    // The second preparation reads the cache: the same figures exactly.
    assert!(dir.path().join(".cache/machine-fits.ron").is_file());
    let again = prepare(&e, None, &Emitter::none()).unwrap();
    assert_eq!(again.figures.unwrap(), f);
}
