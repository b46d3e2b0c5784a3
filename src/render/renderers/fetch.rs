//! What a chart folder needs from outside its own files, put into the render's private copy
//! before helm runs: the chart itself when the folder names one in a repository, and the
//! `dependencies:` of a chart that does not vendor them in `charts/` (from repositories, or
//! `file://` folders of the same source). Archives are unpacked under the archive rules, so
//! helm only ever reads what was checked.

use std::path::{Component, Path, PathBuf};

use super::Job;
use super::dependencies::{self, Dependency};
use crate::remote::archive::{self, Entry};
use crate::remote::{ChartRef, Remote, RemoteError, RemoteOptions};
use crate::render::ResolvedChart;
use crate::source::{TreeFile, folders::CHART_FILE};

/// Where a fetched remote chart is unpacked, inside its folder in the copy (a hidden name: no
/// source file can be there).
pub(super) const REMOTE_CHART_DIR: &str = ".driftless-chart";

/// One thing to put into the copy.
#[derive(Debug, Clone)]
pub(super) struct Fetch {
    /// The folder it becomes, in the copy.
    pub dest: PathBuf,
    pub from: From,
    /// A dependency's name (`None`: the folder's own chart).
    pub dependency: Option<String>,
}

#[derive(Debug, Clone)]
pub(super) enum From {
    Remote(ChartRef),
    /// A chart folder of the same source.
    Local(PathBuf),
}

/// Files to write into the copy, and what was resolved.
#[derive(Debug, Default)]
pub(super) struct Fetched {
    pub files: Vec<(PathBuf, Vec<u8>)>,
    pub charts: Vec<ResolvedChart>,
}

/// The fetches of a local chart folder: each dependency its `charts/` does not hold. A
/// `Chart.lock` pins versions, and must match `Chart.yaml`.
pub(super) fn dependencies_of<'t>(
    folder: &Path,
    file: impl Fn(&Path) -> Option<&'t TreeFile>,
    vendored: &[&TreeFile],
) -> Result<Vec<Fetch>, String> {
    let Some(chart) = file(&folder.join(CHART_FILE)) else {
        return Ok(Vec::new());
    };
    let text = String::from_utf8_lossy(&chart.bytes);
    let wanted = dependencies::dependencies(&text).map_err(|e| format!("{CHART_FILE}: {e}"))?;
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let lock = match file(&folder.join("Chart.lock")) {
        Some(lock) => {
            let lock = dependencies::lock(&String::from_utf8_lossy(&lock.bytes))
                .map_err(|e| format!("Chart.lock: {e}"))?;
            dependencies::check_lock(&wanted, &lock)?;
            Some(lock)
        }
        None => None,
    };
    let charts = folder.join("charts");
    let mut fetches = Vec::new();
    for dep in &wanted {
        if is_vendored(dep, &charts, vendored) {
            continue;
        }
        let locked = lock
            .as_ref()
            .and_then(|l| l.dependencies.iter().find(|d| d.name == dep.name));
        let version = locked
            .and_then(|d| d.version.clone())
            .or(dep.version.clone());
        let repo = dep.repository.trim();
        let from = if let Some(path) = repo.strip_prefix("file://") {
            From::Local(inside(folder, path).ok_or_else(|| {
                format!(
                    "{CHART_FILE}: dependency {}: {repo} is outside the source: vendor it in charts/",
                    dep.name
                )
            })?)
        } else if repo.starts_with("https://")
            || repo.starts_with("http://")
            || repo.starts_with("oci://")
        {
            From::Remote(ChartRef {
                repo: repo.trim_end_matches('/').to_string(),
                chart: dep.name.clone(),
                version,
            })
        } else {
            return Err(format!(
                "{CHART_FILE}: dependency {}: repository {repo:?} is a name from helm's \
                 repositories.yaml, \
                 which driftless does not read: give its URL (https:// or oci://)",
                dep.name
            ));
        };
        fetches.push(Fetch {
            dest: charts.join(&dep.name),
            from,
            dependency: Some(dep.name.clone()),
        });
    }
    Ok(fetches)
}

/// A dependency already in `charts/`: a folder or an archive of its name, as helm finds it.
fn is_vendored(dep: &Dependency, charts: &Path, files: &[&TreeFile]) -> bool {
    files.iter().any(|f| {
        let Ok(rest) = f.path.strip_prefix(charts) else {
            return false;
        };
        let mut parts = rest.components();
        match (parts.next(), parts.next()) {
            (Some(Component::Normal(dir)), Some(_)) => dir == dep.name.as_str(),
            (Some(Component::Normal(file)), None) => {
                let file = file.to_string_lossy();
                file.strip_prefix(&format!("{}-", dep.name))
                    .is_some_and(|v| {
                        v.ends_with(".tgz") && v.starts_with(|c: char| c.is_ascii_digit())
                    })
            }
            _ => false,
        }
    })
}

/// `folder/relative`, resolved without leaving the source root.
fn inside(folder: &Path, relative: &str) -> Option<PathBuf> {
    let mut path = PathBuf::new();
    for part in folder.join(relative).components() {
        match part {
            Component::Normal(p) => path.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                if !path.pop() {
                    return None;
                }
            }
            _ => return None,
        }
    }
    Some(path)
}

/// Fetches and unpacks what `job` needs (its inputs hold the chart folders of `file://`
/// dependencies), each archive under the size cap.
pub(super) async fn fetch(
    job: &Job<'_>,
    remote: Option<&Remote>,
    options: &RemoteOptions,
) -> Result<Fetched, RemoteError> {
    let folder = &job.folder.path;
    let limits = archive::Limits {
        max_total_bytes: options.max_bytes,
        ..archive::Limits::default()
    };
    let limits = &limits;
    let mut fetched = Fetched::default();
    for fetch in &job.fetches {
        match &fetch.from {
            From::Local(from) => {
                for file in job.inputs.iter().filter(|f| f.path.starts_with(from)) {
                    let Ok(rest) = file.path.strip_prefix(from) else {
                        continue;
                    };
                    fetched
                        .files
                        .push((fetch.dest.join(rest), file.bytes.clone()));
                }
            }
            From::Remote(chart) => {
                let remote = remote.ok_or_else(|| {
                    RemoteError::new(format!("{chart}: no client for remote charts"))
                })?;
                let got = remote.chart(chart).await?;
                let entries = archive::unpack_tar_gz(&got.archive, limits)
                    .map_err(|e| RemoteError::new(format!("{chart}: {e}")))?;
                fetched.files.extend(
                    under(&fetch.dest, entries).map_err(|e| e.context(&chart.to_string()))?,
                );
                fetched.charts.push(ResolvedChart {
                    folder: folder.to_path_buf(),
                    chart: chart.chart.clone(),
                    repo: chart.repo.clone(),
                    version: got.version,
                    digest: got.digest,
                    dependency: fetch.dependency.is_some(),
                });
            }
        }
    }
    Ok(fetched)
}

/// A chart archive's files (`NAME/...`) at `dest/...`: one top folder, as `helm package` makes.
fn under(dest: &Path, entries: Vec<Entry>) -> Result<Vec<(PathBuf, Vec<u8>)>, RemoteError> {
    let top = |e: &Entry| e.path.components().next().map(|c| c.as_os_str().to_owned());
    let first = entries.first().and_then(top);
    if entries.is_empty() || entries.iter().any(|e| top(e) != first) {
        return Err(RemoteError::new(
            "the archive is not one chart folder (as `helm package` makes it)",
        ));
    }
    let mut files = Vec::new();
    for entry in entries {
        let rest: PathBuf = entry.path.components().skip(1).collect();
        files.push((dest.join(rest), entry.bytes));
    }
    if !files.iter().any(|(p, _)| p == &dest.join(CHART_FILE)) {
        return Err(RemoteError::new("the archive holds no Chart.yaml"));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(paths: &[&str]) -> Vec<TreeFile> {
        paths
            .iter()
            .map(|p| TreeFile {
                path: p.into(),
                bytes: Vec::new(),
            })
            .collect()
    }

    #[test]
    fn vendored_dependencies_are_not_fetched() {
        let dep = |name: &str| Dependency {
            name: name.into(),
            ..Dependency::default()
        };
        let files = tree(&[
            "web/charts/db-1.2.3.tgz",
            "web/charts/cache/Chart.yaml",
            "web/charts/dbx.txt",
        ]);
        let files: Vec<&TreeFile> = files.iter().collect();
        let charts = Path::new("web/charts");
        assert!(is_vendored(&dep("db"), charts, &files));
        assert!(is_vendored(&dep("cache"), charts, &files));
        assert!(!is_vendored(&dep("dbx"), charts, &files));
        assert!(!is_vendored(&dep("queue"), charts, &files));
    }

    #[test]
    fn file_dependencies_stay_in_the_source() {
        assert_eq!(
            inside(Path::new("apps/web"), "../lib"),
            Some("apps/lib".into())
        );
        assert_eq!(inside(Path::new("web"), "../../etc"), None);
        assert_eq!(inside(Path::new("web"), "/etc"), None);
    }

    #[test]
    fn a_chart_archive_is_one_folder() {
        let entry = |p: &str| Entry {
            path: p.into(),
            bytes: b"x".to_vec(),
        };
        let files = under(
            Path::new("w/.driftless-chart"),
            vec![entry("web/Chart.yaml"), entry("web/templates/a.yaml")],
        )
        .unwrap();
        assert_eq!(files[1].0, Path::new("w/.driftless-chart/templates/a.yaml"));
        assert!(under(Path::new("d"), vec![entry("a/Chart.yaml"), entry("b/x")]).is_err());
        assert!(under(Path::new("d"), vec![entry("a/values.yaml")]).is_err());
    }
}
