//! Kustomizations: which are rendered (those no other kustomization of the source uses), what
//! each reads (its folder and the bases it uses, all inside the source), and what is refused
//! before kustomize runs: remote bases and charts, and bases that leave the source.

use std::collections::{BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use super::scrub::Secrets;
use crate::render::yaml;
use crate::source::folders::KUSTOMIZATION_FILES;
use crate::source::{FolderKind, RenderFolder, TreeFile};

/// Fields whose entries are other kustomizations (or files).
const REFERENCES: [&str; 3] = ["resources", "bases", "components"];

/// The source's render folders, by path, for lookups.
pub(super) struct Tree<'a> {
    files: HashMap<&'a Path, &'a TreeFile>,
}

impl<'a> Tree<'a> {
    pub(super) fn new(files: &'a [TreeFile]) -> Tree<'a> {
        Tree {
            files: files.iter().map(|f| (f.path.as_path(), f)).collect(),
        }
    }

    pub(super) fn file(&self, path: &Path) -> Option<&'a TreeFile> {
        self.files.get(path).copied()
    }

    fn kustomization(&self, dir: &Path) -> Option<&'a TreeFile> {
        KUSTOMIZATION_FILES
            .iter()
            .find_map(|name| self.file(&dir.join(name)))
    }

    fn has_dir(&self, dir: &Path) -> bool {
        self.files.keys().any(|p| p.starts_with(dir) && *p != dir)
    }
}

/// One kustomization read: the folders it reads (its own, then its bases), whether it uses
/// anything remote, and the values its secret generators hold.
#[derive(Debug, Default)]
pub(super) struct Reach {
    pub dirs: BTreeSet<PathBuf>,
    pub remote: bool,
    pub secrets: Secrets,
    /// A Component: only ever rendered through a kustomization that uses it.
    pub component: bool,
}

/// What may be used.
#[derive(Debug, Clone, Copy)]
pub(super) struct Allow {
    pub remote: bool,
    pub helm: bool,
}

/// Follows `dir`'s kustomization and every local base it uses, transitively.
pub(super) fn reach(tree: &Tree<'_>, dir: &Path, allow: Allow) -> Result<Reach, String> {
    let mut reach = Reach::default();
    let start = dir;
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        if !reach.dirs.insert(dir.clone()) {
            continue;
        }
        let Some(file) = tree.kustomization(&dir) else {
            continue;
        };
        let at = |reason: String| format!("{}: {reason}", file.path.display());
        let text = std::str::from_utf8(&file.bytes).map_err(|_| at("not valid UTF-8".into()))?;
        let doc = yaml::parse_file(text, false)
            .map_err(|e| at(format!("line {}: invalid YAML: {}", e.line, e.reason)))?
            .into_iter()
            .next()
            .map_or(Value::Null, |d| d.value);
        if dir == start {
            reach.component = doc["kind"] == "Component";
        }
        for field in REFERENCES {
            for entry in doc[field].as_array().into_iter().flatten() {
                let Some(entry) = entry.as_str() else {
                    return Err(at(format!("{field}: entries must be strings")));
                };
                match local(&dir, entry) {
                    Local::Remote if allow.remote => reach.remote = true,
                    Local::Remote => {
                        return Err(at(format!(
                            "{field} entry {entry} is remote: remote bases fetch arbitrary \
                             URLs and are refused without --allow-remote-bases"
                        )));
                    }
                    Local::Outside => {
                        return Err(at(format!("{field} entry {entry} leaves the source")));
                    }
                    Local::Path(path) if tree.kustomization(&path).is_some() => todo.push(path),
                    Local::Path(path) if tree.file(&path).is_some() || tree.has_dir(&path) => {}
                    Local::Path(_) if allow.remote => reach.remote = true,
                    Local::Path(_) => {
                        return Err(at(format!(
                            "{field} entry {entry}: no such file or kustomization in the source \
                             (remote bases are refused without --allow-remote-bases)"
                        )));
                    }
                }
            }
        }
        for chart in doc["helmCharts"].as_array().into_iter().flatten() {
            let name = chart["name"].as_str().unwrap_or("?");
            if !allow.helm {
                return Err(at(format!(
                    "helmCharts ({name}) need --kustomize-enable-helm (kustomize runs helm)"
                )));
            }
            if chart["repo"].as_str().is_some_and(|r| !r.is_empty()) {
                if !allow.remote {
                    return Err(at(format!(
                        "helmCharts {name} comes from a remote repository: refused without \
                         --allow-remote-bases (vendor the chart instead)"
                    )));
                }
                reach.remote = true;
            }
            if let Some(values) = chart.get("valuesInline") {
                reach.secrets.values(values);
            }
        }
        for generator in doc["secretGenerator"].as_array().into_iter().flatten() {
            for literal in generator["literals"].as_array().into_iter().flatten() {
                if let Some((k, v)) = literal.as_str().and_then(|l| l.split_once('=')) {
                    reach.secrets.pair(k, v);
                }
            }
        }
    }
    Ok(reach)
}

enum Local {
    Path(PathBuf),
    Outside,
    Remote,
}

/// Where an entry of a kustomization in `dir` points, inside the source.
fn local(dir: &Path, entry: &str) -> Local {
    let remote_prefixes = [
        "github.com/",
        "gitlab.com/",
        "bitbucket.org/",
        "git@",
        "git::",
    ];
    if entry.contains("://") || remote_prefixes.iter().any(|p| entry.starts_with(p)) {
        return Local::Remote;
    }
    let mut parts: Vec<&std::ffi::OsStr> = dir.iter().collect();
    for c in Path::new(entry).components() {
        match c {
            Component::Normal(n) => parts.push(n),
            Component::CurDir => {}
            Component::ParentDir => {
                if parts.pop().is_none() {
                    return Local::Outside;
                }
            }
            Component::RootDir | Component::Prefix(_) => return Local::Outside,
        }
    }
    Local::Path(parts.iter().collect())
}

/// The kustomizations to render: every one that no other uses, and is no Component. A
/// kustomization used only from a cycle would render nowhere: that is an error.
pub(super) fn roots<'f>(
    folders: &'f [RenderFolder],
    reaches: &HashMap<&'f Path, Reach>,
) -> (Vec<&'f RenderFolder>, Vec<(&'f RenderFolder, String)>) {
    let kustomizations = folders.iter().filter(|f| f.kind == FolderKind::Kustomize);
    let used_by_others = |dir: &Path| {
        reaches
            .iter()
            .any(|(from, r)| *from != dir && r.dirs.contains(dir))
    };
    let roots: Vec<&RenderFolder> = kustomizations
        .clone()
        .filter(|f| reaches.get(f.path.as_path()).is_some_and(|r| !r.component))
        .filter(|f| !used_by_others(&f.path))
        .collect();
    let reached = |dir: &Path| {
        roots.iter().any(|r| {
            reaches
                .get(r.path.as_path())
                .is_some_and(|r| r.dirs.contains(dir))
        })
    };
    let orphans = kustomizations
        .filter(|f| reaches.get(f.path.as_path()).is_some_and(|r| !r.component))
        .filter(|f| !reached(&f.path))
        .map(|f| {
            let reason = "used by other kustomizations but by none that is rendered: a cycle of \
                          bases?"
                .to_string();
            (f, reason)
        })
        .collect();
    (roots, orphans)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> Vec<TreeFile> {
        list.iter()
            .map(|(p, c)| TreeFile {
                path: PathBuf::from(p),
                bytes: c.as_bytes().to_vec(),
            })
            .collect()
    }

    const ALLOW_NONE: Allow = Allow {
        remote: false,
        helm: false,
    };

    #[test]
    fn overlays_reach_their_bases_and_only_overlays_render() {
        let tree_files = files(&[
            ("base/kustomization.yaml", "resources: [cm.yaml]\n"),
            ("base/cm.yaml", "kind: ConfigMap\n"),
            (
                "overlays/dev/kustomization.yaml",
                "resources: [../../base]\n",
            ),
            (
                "overlays/prod/kustomization.yml",
                "resources:\n- ../../base\ncomponents: [../../parts]\n",
            ),
            ("parts/kustomization.yaml", "kind: Component\n"),
        ]);
        let tree = Tree::new(&tree_files);
        let folders: Vec<RenderFolder> = ["base", "overlays/dev", "overlays/prod", "parts"]
            .iter()
            .map(|p| RenderFolder {
                path: PathBuf::from(p),
                kind: FolderKind::Kustomize,
                marker: "kustomization.yaml".into(),
            })
            .collect();
        let reaches: HashMap<&Path, Reach> = folders
            .iter()
            .map(|f| (f.path.as_path(), reach(&tree, &f.path, ALLOW_NONE).unwrap()))
            .collect();
        let prod = &reaches[Path::new("overlays/prod")];
        let dirs: Vec<&str> = prod.dirs.iter().map(|d| d.to_str().unwrap()).collect();
        assert_eq!(dirs, ["base", "overlays/prod", "parts"]);
        let (roots, orphans) = roots(&folders, &reaches);
        let roots: Vec<&str> = roots.iter().map(|f| f.path.to_str().unwrap()).collect();
        assert_eq!(roots, ["overlays/dev", "overlays/prod"]);
        assert!(orphans.is_empty());
    }

    #[test]
    fn remote_and_escaping_bases_are_refused() {
        let refuse = |kustomization: &str| {
            let tree_files = files(&[("app/kustomization.yaml", kustomization)]);
            reach(&Tree::new(&tree_files), Path::new("app"), ALLOW_NONE).unwrap_err()
        };
        let err = refuse("resources:\n- https://github.com/org/repo//base?ref=v1\n");
        assert!(
            err.contains("remote") && err.contains("--allow-remote-bases"),
            "{err}"
        );
        assert!(refuse("resources: [github.com/org/repo/base]\n").contains("remote"));
        assert!(refuse("resources: [../../../etc]\n").contains("leaves the source"));
        assert!(refuse("resources: [missing]\n").contains("no such file"));
        assert!(refuse("helmCharts: [{name: x}]\n").contains("--kustomize-enable-helm"));
        let tree_files = files(&[("app/kustomization.yaml", "resources: [example.com/x]\n")]);
        let allow = Allow {
            remote: true,
            helm: false,
        };
        assert!(
            reach(&Tree::new(&tree_files), Path::new("app"), allow)
                .unwrap()
                .remote
        );
    }
}
