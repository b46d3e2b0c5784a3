//! The pinned renderers the tests run (installed by `scripts/renderers` into the cache): helm
//! v4.3.1 and kubectl v1.37.1, whose built-in kustomize is v5.8.1. The machine's own helm or
//! kubectl (Debian's kubectl 1.20 has a kustomize too old to use) are never what a test gets.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The folder holding `helm` and `kubectl`, installed on first use.
pub fn dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| super::tools_dir("scripts/renderers"))
}

pub fn helm() -> PathBuf {
    dir().join("helm")
}

/// Run as `kubectl kustomize`.
pub fn kubectl() -> PathBuf {
    dir().join("kubectl")
}

/// A script in `dir` that appends a line to `dir/starts` and runs `real`: counts how often
/// driftless starts a renderer (version probes included).
pub fn counting(dir: &Path, name: &str, real: &Path) -> PathBuf {
    let path = dir.join(name);
    let script = format!(
        "#!/bin/sh\necho \"{name} $*\" >> '{}'\nexec '{}' \"$@\"\n",
        dir.join("starts").display(),
        real.display()
    );
    std::fs::write(&path, script).expect("write wrapper");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// How many renderer processes the wrappers in `dir` started so far.
pub fn starts(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("starts"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}
