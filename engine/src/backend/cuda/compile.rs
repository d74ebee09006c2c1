//! The kernels' CUDA C, compiled at start-up by NVRTC to PTX for the device's architecture
//! (no nvcc at build time, no CUDA headers needed: the sources are header-free).
use super::libs::{require, Lib};
use crate::error::{EngineError, Result};

/// The sources, in compile order: `kernels.cu` holds the helpers the others use.
const SOURCES: [&str; 5] = [
    include_str!("kernels.cu"),
    include_str!("attention.cu"),
    include_str!("decode_attention.cu"),
    include_str!("flash_prefill.cu"),
    include_str!("sampling.cu"),
];

/// Every kernel entry point the host launches.
pub const KERNELS: [&str; 16] = [
    "rms_norm_bf16",
    "rope_kv_write",
    "silu_mul_bf16",
    "embed_gather",
    "gather_rows",
    "fill_uniform_bf16",
    "fill_f32",
    "paged_attention",
    "paged_decode_attention",
    "merge_decode_splits",
    "flash_prefill_hd16",
    "flash_prefill_hd64",
    "flash_prefill_hd128",
    "argmax_rows",
    "sample_rows",
    "add_f32",
];

/// The whole program as NVRTC compiles it.
pub fn source() -> String {
    SOURCES.join("\n")
}

/// NVRTC's virtual architecture for a compute capability. bf16 cuBLAS GEMMs need sm_80+.
pub fn arch_for(major: i32, minor: i32) -> Result<&'static str> {
    Ok(match (major, minor) {
        (8, 0) => "compute_80",
        (8, 6) => "compute_86",
        (8, 7) => "compute_87",
        (8, 9) => "compute_89",
        (9, _) => "compute_90",
        (10, _) => "compute_100",
        (12, _) => "compute_120",
        // PTX for an older virtual arch runs on newer GPUs (the driver JITs it).
        (m, _) if m >= 8 => "compute_80",
        _ => {
            return Err(EngineError::Cuda(format!(
                "compute capability {major}.{minor} is too old: bf16 needs 8.0 (Ampere) or newer"
            )))
        }
    })
}

/// Compiles every kernel to PTX text for `arch` (e.g. `compute_90`).
pub fn compile_ptx(arch: &'static str) -> Result<String> {
    require(&[Lib::Nvrtc])?;
    let opts = cudarc::nvrtc::CompileOptions {
        arch: Some(arch),
        name: Some("goodput_lab_kernels.cu".into()),
        ..Default::default()
    };
    cudarc::nvrtc::compile_ptx_with_opts(source(), opts)
        .map(|p| p.to_src())
        .map_err(|e| EngineError::Cuda(format!("NVRTC could not compile the kernels: {e}")))
}

/// Compiles for a real architecture (`sm_90`) through NVRTC's built-in ptxas with `-v` and
/// returns its log: registers, shared memory and spills per kernel (tests check the kernels
/// assemble and do not spill, without a GPU).
pub fn ptxas_log(sm: &str) -> Result<String> {
    use cudarc::nvrtc::result;
    require(&[Lib::Nvrtc])?;
    let src = std::ffi::CString::new(source())
        .map_err(|_| EngineError::Cuda("kernel source contains a NUL byte".into()))?;
    let fail = |e: &dyn std::fmt::Debug| EngineError::Cuda(format!("NVRTC ({sm}): {e:?}"));
    let prog = result::create_program(&src, None).map_err(|e| fail(&e))?;
    let opts = [
        format!("--gpu-architecture={sm}"),
        "--ptxas-options=-v".to_string(),
    ];
    // Safety: `prog` was just created and is destroyed once, below.
    let compiled = unsafe { result::compile_program(prog, &opts) };
    let log = unsafe { result::get_program_log(prog) };
    let _ = unsafe { result::destroy_program(prog) };
    let log: Vec<u8> = log
        .map_err(|e| fail(&e))?
        .into_iter()
        .take_while(|&c| c != 0)
        .map(|c| c as u8)
        .collect();
    let log = String::from_utf8_lossy(&log).into_owned();
    compiled.map_err(|e| fail(&format!("{e:?}\n{log}")))?;
    Ok(log)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names after `extern "C" __global__` (and an optional `__launch_bounds__(...)`).
    fn declared_kernels(src: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = src;
        while let Some(i) = rest.find("extern \"C\" __global__") {
            rest = &rest[i + 21..];
            let mut s = rest.trim_start().trim_start_matches("void").trim_start();
            if s.starts_with("__launch_bounds__") {
                s = s.split_once(')').map_or("", |(_, after)| after);
            }
            let name: String = s
                .trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.push(name);
        }
        out
    }

    #[test]
    fn kernel_list_matches_the_sources() {
        let mut declared = declared_kernels(&source());
        let mut listed: Vec<String> = KERNELS.iter().map(|s| s.to_string()).collect();
        declared.sort();
        listed.sort();
        assert_eq!(declared, listed);
    }

    #[test]
    fn archs() {
        assert_eq!(arch_for(8, 0).unwrap(), "compute_80");
        assert_eq!(arch_for(9, 0).unwrap(), "compute_90");
        assert_eq!(arch_for(8, 8).unwrap(), "compute_80");
        assert!(arch_for(7, 5).is_err());
    }

    /// Every kernel assembles to machine code for A100 and H100 with nothing in local memory
    /// (a stack frame or spills would mean slow local-memory traffic in the inner loops).
    #[test]
    fn every_kernel_assembles_for_sm80_and_sm90_without_spills() {
        super::super::fetch_nvrtc::ensure_nvrtc().expect("NVRTC from PyPI");
        for sm in ["sm_80", "sm_90"] {
            let log = ptxas_log(sm).unwrap_or_else(|e| panic!("{sm}: {e}"));
            for k in KERNELS {
                let entry = format!("Compiling entry function '{k}' for '{sm}'");
                assert!(log.contains(&entry), "{sm}: {k} not assembled:\n{log}");
            }
            let mut func = "";
            for line in log.lines() {
                if let Some(f) = line.split("Function properties for ").nth(1) {
                    func = f.trim();
                }
                if !line.contains("stack frame") {
                    continue;
                }
                assert!(
                    line.contains(" 0 bytes spill stores, 0 bytes spill loads"),
                    "{sm} {func}: {line}"
                );
                // sincosf keeps a small array for its rare huge-argument reduction.
                if func != "rope_kv_write" {
                    assert!(line.contains(" 0 bytes stack frame"), "{sm} {func}: {line}");
                }
            }
        }
    }

    /// Needs libnvrtc (fetched from PyPI into the models cache when absent); no GPU.
    #[test]
    fn every_kernel_compiles_for_sm80_and_sm90() {
        super::super::fetch_nvrtc::ensure_nvrtc().expect("NVRTC from PyPI");
        for arch in ["compute_80", "compute_90"] {
            let ptx = compile_ptx(arch).unwrap_or_else(|e| panic!("{arch}: {e}"));
            let target = format!(".target sm_{}", &arch["compute_".len()..]);
            assert!(ptx.contains(&target), "{arch}: no `{target}` in the PTX");
            for k in KERNELS {
                assert!(
                    ptx.contains(&format!(".entry {k}(")),
                    "{arch}: kernel {k} missing from the PTX"
                );
            }
        }
    }
}
