//! Folders of a source that a renderer turns into manifests: a kustomization or a Helm chart.
//! Their files are read whole (templates, values, vendored charts) and never as plain manifests;
//! a folder inside one of them belongs to it.

use std::path::PathBuf;

/// The files that make a folder a kustomization, as kustomize looks for them.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];
/// The file that makes a folder a Helm chart.
pub const CHART_FILE: &str = "Chart.yaml";
/// A chart's release settings; alone in a folder, it names a chart from a repository.
pub const CHART_SETTINGS_FILE: &str = "driftless-helm.yaml";

/// Which renderer a folder needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FolderKind {
    Kustomize,
    Helm,
}

/// A folder to render, relative to the source root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderFolder {
    pub path: PathBuf,
    pub kind: FolderKind,
    /// The file that made it one (`kustomization.yaml`, `Chart.yaml`).
    pub marker: String,
}

/// Any file inside a render folder, relative to the source root. Bytes: charts vendor `.tgz`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeFile {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
}

/// Which renderer a folder holding files named `names` needs, if any; a folder that is both a
/// chart and a kustomization is an error, as no one can say which was meant.
pub fn folder_kind<S: AsRef<str>>(
    names: impl IntoIterator<Item = S>,
) -> Result<Option<(FolderKind, String)>, String> {
    let (mut kustomization, mut chart, mut settings) = (None, None, false);
    for name in names {
        let name = name.as_ref();
        if KUSTOMIZATION_FILES.contains(&name) {
            if let Some(first) = kustomization {
                return Err(format!("both {first} and {name}: keep one"));
            }
            kustomization = Some(name.to_string());
        } else if name == CHART_FILE {
            chart = Some(name.to_string());
        } else if name == CHART_SETTINGS_FILE {
            settings = true;
        }
    }
    let helm = chart.or_else(|| settings.then(|| CHART_SETTINGS_FILE.to_string()));
    match (kustomization, helm) {
        (Some(k), Some(h)) => Err(format!(
            "both a {h} and a {k}: a folder is a chart or a kustomization, not both"
        )),
        (Some(k), None) => Ok(Some((FolderKind::Kustomize, k))),
        (None, Some(h)) => Ok(Some((FolderKind::Helm, h))),
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_say_which_renderer() {
        assert_eq!(
            folder_kind(["a.yaml", "kustomization.yaml"]),
            Ok(Some((FolderKind::Kustomize, "kustomization.yaml".into())))
        );
        assert_eq!(
            folder_kind(["Kustomization"]).unwrap().unwrap().0,
            FolderKind::Kustomize
        );
        assert_eq!(
            folder_kind(["values.yaml", "Chart.yaml"])
                .unwrap()
                .unwrap()
                .0,
            FolderKind::Helm
        );
        assert_eq!(folder_kind(["a.yaml", "chart.yaml"]), Ok(None));
        assert_eq!(
            folder_kind(["values.yaml", "driftless-helm.yaml"]),
            Ok(Some((FolderKind::Helm, "driftless-helm.yaml".into())))
        );
        assert_eq!(
            folder_kind(["driftless-helm.yaml", "Chart.yaml"]),
            Ok(Some((FolderKind::Helm, "Chart.yaml".into())))
        );
        assert!(folder_kind(["driftless-helm.yaml", "kustomization.yaml"]).is_err());
        assert!(folder_kind(["Chart.yaml", "kustomization.yml"]).is_err());
        assert!(folder_kind(["kustomization.yml", "kustomization.yaml"]).is_err());
    }
}
