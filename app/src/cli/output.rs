//! Result files: written whole or not at all, with their folders checked before a long run.
use std::path::Path;

/// Writes through a temp file so a failed run never leaves half a file behind.
pub fn write_atomic(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, text).map_err(|e| anyhow::anyhow!("writing {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    Ok(())
}

/// Fails before a long run if `--json FILE`'s folder does not exist.
pub fn check_writable(path: &Path) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        anyhow::bail!(
            "--json {}: folder {} does not exist",
            path.display(),
            dir.display()
        );
    }
    Ok(())
}

/// Fails before a long run if `--csv DIR` can be neither found nor created.
pub fn check_csv_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if dir.exists() {
        anyhow::bail!("--csv {}: not a folder", dir.display());
    }
    let parent = dir
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !parent.is_dir() {
        anyhow::bail!(
            "--csv {}: folder {} does not exist",
            dir.display(),
            parent.display()
        );
    }
    Ok(())
}

/// A CSV table built in memory and written whole.
pub struct Csv {
    text: String,
}

impl Csv {
    pub fn new(header: &[&str]) -> Self {
        Csv {
            text: header.join(",") + "\n",
        }
    }

    pub fn row(&mut self, cells: &[String]) {
        self.text += &cells.join(",");
        self.text.push('\n');
    }

    pub fn write(&self, dir: &Path, name: &str) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("--csv {}: {e}", dir.display()))?;
        write_atomic(&dir.join(name), &self.text)
    }
}
