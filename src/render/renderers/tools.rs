//! Which renderer binaries to run, and their versions: `--helm-binary` / `--kustomize-binary`
//! when given, else `helm`, and `kustomize` or else `kubectl kustomize`, from PATH.

use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use super::cache::RenderCache;
use super::exec::{self, Run};

/// The binaries asked for (flags or environment); `None`: look on PATH.
#[derive(Debug, Clone, Default)]
pub struct Tools {
    pub helm: Option<PathBuf>,
    pub kustomize: Option<PathBuf>,
}

/// A renderer found, with its version.
#[derive(Debug, Clone)]
pub struct Tool {
    pub path: PathBuf,
    /// A `kubectl` binary, run as `kubectl kustomize`.
    pub kubectl: bool,
    /// `v4.3.1`, `kubectl v1.37.1 (kustomize v5.8.1)`.
    pub version: String,
    /// Path, size and modification time: a changed binary is another renderer.
    pub identity: String,
}

const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

pub async fn helm(tools: &Tools, cache: &RenderCache, home: &Path) -> Result<Tool, String> {
    let path = match &tools.helm {
        Some(path) => path.clone(),
        None => on_path("helm").ok_or(
            "helm is not installed: install helm (v3 or later) on PATH, or pass --helm-binary",
        )?,
    };
    let mut tool =
        identify(&path, false).map_err(|e| format!("helm binary {e} (--helm-binary)"))?;
    let said = probe(&tool, &["version", "--short"], cache, home).await?;
    let version =
        semver(&said).ok_or_else(|| format!("{}: no version in {said:?}", show(&path)))?;
    if version.0 < 3 {
        return Err(format!(
            "helm {} at {} is too old: install helm v3 or later, or pass --helm-binary",
            version.1,
            show(&path)
        ));
    }
    tool.version = version.1;
    Ok(tool)
}

pub async fn kustomize(tools: &Tools, cache: &RenderCache, home: &Path) -> Result<Tool, String> {
    let path = match &tools.kustomize {
        Some(path) => path.clone(),
        None => on_path("kustomize").or_else(|| on_path("kubectl")).ok_or(
            "kustomize is not installed: install kustomize (v5) or kubectl (1.27 or later, which \
             has it built in) on PATH, or pass --kustomize-binary",
        )?,
    };
    let kubectl = path
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("kubectl"));
    let mut tool = identify(&path, kubectl)
        .map_err(|e| format!("kustomize binary {e} (--kustomize-binary)"))?;
    let (version, major) = if kubectl {
        let said = probe(&tool, &["version", "--client"], cache, home).await?;
        let own = semver(&said).map(|v| v.1).unwrap_or_default();
        let built_in = said
            .lines()
            .find_map(|l| l.strip_prefix("Kustomize Version:"))
            .and_then(semver);
        match built_in {
            Some((major, v)) => (format!("kubectl {own} (kustomize {v})"), major),
            None => (format!("kubectl {own}"), 0),
        }
    } else {
        let said = probe(&tool, &["version"], cache, home).await?;
        let (major, v) =
            semver(&said).ok_or_else(|| format!("{}: no version in {said:?}", show(&path)))?;
        (v, major)
    };
    if major < 4 {
        return Err(format!(
            "{version} at {} has no usable kustomize (v4 or later is needed): install kustomize \
             (v5), or kubectl 1.27 or later, or pass --kustomize-binary",
            show(&path)
        ));
    }
    tool.version = version;
    Ok(tool)
}

fn show(path: &Path) -> String {
    path.display().to_string()
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

fn identify(path: &Path, kubectl: bool) -> Result<Tool, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", show(path)))?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Ok(Tool {
        path: path.to_path_buf(),
        kubectl,
        version: String::new(),
        identity: format!("{}|{}|{modified}", show(path), meta.len()),
    })
}

/// What `tool ARGS` prints, asked once per binary and process.
async fn probe(
    tool: &Tool,
    args: &[&str],
    cache: &RenderCache,
    home: &Path,
) -> Result<String, String> {
    if let Some(said) = cache.version(&tool.identity) {
        return Ok(said);
    }
    let run = Run {
        program: &tool.path,
        args: args.iter().map(Into::into).collect(),
        cwd: home,
        home,
        network: false,
        timeout: PROBE_TIMEOUT,
        max_output: 1 << 20,
        stdin: None,
    };
    let said = exec::run(run)
        .await
        .map_err(|e| format!("{} {}: {e}", show(&tool.path), args.join(" ")))?;
    let said = String::from_utf8_lossy(&said).into_owned();
    cache.put_version(&tool.identity, &said);
    Ok(said)
}

/// The first `vX.Y.Z` in a text: its major number, and `vX.Y.Z`.
fn semver(text: &str) -> Option<(u64, String)> {
    text.match_indices('v').find_map(|(at, _)| {
        let rest = &text[at + 1..];
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let numbers: Vec<&str> = rest[..end].split('.').collect();
        if numbers.len() < 3 || numbers.iter().take(3).any(|n| n.is_empty()) {
            return None;
        }
        let major = numbers[0].parse().ok()?;
        Some((major, format!("v{}", numbers[..3].join("."))))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_as_the_tools_print_them() {
        assert_eq!(semver("v4.3.1+gc0d08d0"), Some((4, "v4.3.1".into())));
        assert_eq!(semver("v5.8.1\n"), Some((5, "v5.8.1".into())));
        assert_eq!(
            semver("{Version:kustomize/v4.5.7 GitCommit:56d82a8}"),
            Some((4, "v4.5.7".into()))
        );
        assert_eq!(semver(" v5.5.0"), Some((5, "v5.5.0".into())));
        assert_eq!(semver("version unknown"), None);
    }
}
