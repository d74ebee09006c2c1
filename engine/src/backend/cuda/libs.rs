//! Finding the CUDA libraries before any cudarc call. cudarc opens `libcuda`, `libnvrtc` and
//! `libcublas` by name on first use and panics when one is missing, so every entry point checks
//! presence first and returns a typed error naming exactly what is missing.
//!
//! Libraries outside the loader's search path (pip wheels such as `nvidia-cuda-nvrtc`, or a
//! PyTorch installation's `nvidia/cu13/lib`) are opened here by full path first: glibc then
//! hands cudarc's open-by-name the already loaded library, matched by its soname.
use crate::error::{EngineError, Result};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Folders (`:`-separated) searched for CUDA libraries before the system paths.
pub const LIB_DIR_ENV: &str = "GOODPUT_LAB_CUDA_LIB_DIR";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lib {
    Driver,
    Nvrtc,
    Cublas,
}

impl Lib {
    pub const ALL: [Lib; 3] = [Lib::Driver, Lib::Nvrtc, Lib::Cublas];

    pub fn name(self) -> &'static str {
        match self {
            Lib::Driver => "libcuda (the NVIDIA driver)",
            Lib::Nvrtc => "libnvrtc (NVRTC)",
            Lib::Cublas => "libcublas (cuBLAS)",
        }
    }

    /// Whether cudarc can open the library (after the preload of `extra_dirs`).
    pub fn present(self) -> bool {
        preload();
        opens_by_name(self)
    }
}

/// Ok when every library in `libs` is present; else an error naming the missing ones.
pub fn require(libs: &[Lib]) -> Result<()> {
    require_with(libs, Lib::present)
}

/// `require` with the presence test passed in (tests fake a machine with or without a driver).
pub fn require_with(libs: &[Lib], present: impl Fn(Lib) -> bool) -> Result<()> {
    let missing: Vec<&str> = libs
        .iter()
        .filter(|&&l| !present(l))
        .map(|l| l.name())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut hint = String::new();
    if libs.iter().any(|&l| l == Lib::Driver && !present(l)) {
        hint.push_str(
            "; libcuda comes with the NVIDIA GPU driver (no GPU driver on this machine?)",
        );
    }
    if libs.iter().any(|&l| l != Lib::Driver && !present(l)) {
        hint.push_str(&format!(
            "; NVRTC and cuBLAS come with the CUDA toolkit, PyTorch, or \
             `pip install nvidia-cuda-nvrtc nvidia-cublas`; point {LIB_DIR_ENV} or \
             LD_LIBRARY_PATH at their lib folder"
        ));
    }
    Err(EngineError::CudaUnavailable {
        missing: missing.join(", "),
        hint,
    })
}

/// `$GOODPUT_LAB_CUDA_LIB_DIR`, then the lib folders of pip's NVIDIA wheels that python3 knows.
pub fn extra_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os(LIB_DIR_ENV)
        .map(|v| std::env::split_paths(&v).collect())
        .unwrap_or_default();
    dirs.extend(python_nvidia_dirs());
    dirs.push(super::fetch_nvrtc::cache_dir());
    dirs.retain(|d| d.is_dir());
    dirs.dedup();
    dirs
}

fn python_nvidia_dirs() -> Vec<PathBuf> {
    const SCRIPT: &str = "import nvidia, os\n\
        for p in nvidia.__path__:\n\
        \x20   for s in ('cu13', 'cu12', 'cuda_nvrtc', 'cublas'):\n\
        \x20       print(os.path.join(p, s, 'lib'))";
    std::process::Command::new("python3")
        .args(["-c", SCRIPT])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(PathBuf::from)
                .collect()
        })
        .unwrap_or_default()
}

/// Library files to open from a folder, dependencies first (cuBLAS needs cuBLASLt).
fn wanted(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    files.sort();
    let order = [
        "libnvrtc-builtins.so.",
        "libnvrtc.so.",
        "libcublasLt.so.",
        "libcublas.so.",
    ];
    let mut out = Vec::new();
    for prefix in order {
        out.extend(files.iter().filter(|f| {
            f.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        }));
    }
    out.into_iter().cloned().collect()
}

/// Opens the libraries of `extra_dirs` once, for the life of the process.
fn preload() {
    static LOADED: OnceLock<Vec<libloading::Library>> = OnceLock::new();
    LOADED.get_or_init(|| {
        let dirs = if Lib::ALL.iter().all(|&l| opens_by_name(l)) {
            Vec::new() // everything is already on the search path: no python3 call
        } else {
            extra_dirs()
        };
        dirs.iter()
            .flat_map(|d| wanted(d))
            // Safety: loading a library runs its initialisers; these are NVIDIA's own.
            .filter_map(|f| unsafe { libloading::Library::new(&f) }.ok())
            .collect()
    });
}

fn opens_by_name(lib: Lib) -> bool {
    // Safety: only opens the library by name to see whether it loads.
    unsafe {
        match lib {
            Lib::Driver => cudarc::driver::sys::is_culib_present(),
            Lib::Nvrtc => cudarc::nvrtc::sys::is_culib_present(),
            Lib::Cublas => cudarc::cublas::sys::is_culib_present(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_driver_is_named_without_panic() {
        let e = require_with(&Lib::ALL, |l| l != Lib::Driver).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, EngineError::CudaUnavailable { .. }));
        assert!(msg.contains("libcuda"), "{msg}");
        assert!(
            !msg.contains("libnvrtc") && !msg.contains("NVRTC and cuBLAS"),
            "{msg}"
        );
    }

    #[test]
    fn every_missing_library_is_listed() {
        let msg = require_with(&Lib::ALL, |_| false).unwrap_err().to_string();
        for l in Lib::ALL {
            assert!(msg.contains(l.name()), "{msg}");
        }
        assert!(msg.contains(LIB_DIR_ENV), "{msg}");
        assert!(require_with(&Lib::ALL, |_| true).is_ok());
    }

    /// The real check agrees with the real machine: on one without a driver (CI) it is the
    /// error naming libcuda; on a GPU machine it passes.
    #[test]
    fn real_driver_check_matches_presence() {
        match require(&[Lib::Driver]) {
            Ok(()) => assert!(Lib::Driver.present()),
            Err(e) => {
                assert!(!Lib::Driver.present());
                assert!(e.to_string().contains("libcuda"), "{e}");
            }
        }
    }

    #[test]
    fn wanted_orders_dependencies_first() {
        let dir = std::env::temp_dir().join(format!("gl-libs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for f in [
            "libcublas.so.13",
            "libcublasLt.so.13",
            "libnvrtc.so.13",
            "readme.txt",
        ] {
            std::fs::write(dir.join(f), b"").unwrap();
        }
        let names: Vec<String> = wanted(&dir)
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            names,
            ["libnvrtc.so.13", "libcublasLt.so.13", "libcublas.so.13"]
        );
    }
}
