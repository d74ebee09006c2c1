//! `--device cuda`: on a machine without the NVIDIA driver (CI) every model command fails
//! cleanly, naming the missing library; on a GPU machine it runs.
use e2e_tests::{ids, run_err, run_json};
use engine::backend::cuda::libs::Lib;

const GENERATE: [&str; 10] = [
    "generate",
    "--model",
    "tiny",
    "--synthetic",
    "--prompt",
    "hello",
    "--max-tokens",
    "4",
    "--json",
    "--device",
];

#[test]
fn cuda_device_names_what_is_missing_or_runs() {
    let args: Vec<&str> = GENERATE.iter().copied().chain(["cuda"]).collect();
    if Lib::Driver.present() {
        let v = run_json(&args, &[]);
        assert_eq!(ids(&v["output_ids"]).len(), 4, "{v}");
        return;
    }
    let err = run_err(&args, &[]);
    assert!(err.contains("libcuda"), "{err}");
    assert!(err.contains("CUDA is not available"), "{err}");
    for cmd in [
        &[
            "bench-model",
            "--model",
            "tiny",
            "--synthetic",
            "--device",
            "cuda:1",
        ][..],
        &["gpu-check"][..],
        &[
            "bench",
            "--model",
            "tiny",
            "--synthetic",
            "--num-requests",
            "4",
            "--device",
            "cuda",
        ][..],
        &[
            "sweep",
            "--model",
            "tiny",
            "--synthetic",
            "--rates",
            "1",
            "--device",
            "cuda",
        ][..],
        &[
            "interference",
            "--model",
            "tiny",
            "--synthetic",
            "--device",
            "cuda",
        ][..],
    ] {
        let err = run_err(cmd, &[]);
        assert!(err.contains("libcuda"), "{cmd:?}: {err}");
    }
}

#[test]
fn bad_device_is_a_usage_error() {
    let args: Vec<&str> = GENERATE.iter().copied().chain(["cuda:x"]).collect();
    let err = run_err(&args, &[]);
    assert!(err.contains("expected cpu, cuda or cuda:N"), "{err}");
}
