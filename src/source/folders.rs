//! Folders of a source that a renderer turns into manifests: a kustomization or a Helm chart.
//! Their files are read whole (templates, values, vendored charts) and never as plain manifests;
//! a folder inside one of them belongs to it.

use std::path::PathBuf;

/// The files that make a folder a kustomization, as kustomize looks for them.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];
/// The file that makes a folder a Helm chart.
pub const CHART_FILE: &str = "Chart.yaml";

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
    let (mut kustomization, mut chart) = (None, None);
    for name in names {
        let name = name.as_ref();
        if KUSTOMIZATION_FILES.contains(&name) {
            if let Some(first) = kustomization {
                return Err(format!("both {first} and {name}: keep one"));
            }
            kustomization = Some(name.to_string());
        } else if name == CHART_FILE {
            chart = Some(name.to_string());
        }
    }
    match (kustomization, chart) {
        (Some(k), Some(_)) => Err(format!(
            "both a {CHART_FILE} and a {k}: a folder is a chart or a kustomization, not both"
        )),
        (Some(k), None) => Ok(Some((FolderKind::Kustomize, k))),
        (None, Some(c)) => Ok(Some((FolderKind::Helm, c))),
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
        assert!(folder_kind(["Chart.yaml", "kustomization.yml"]).is_err());
        assert!(folder_kind(["kustomization.yml", "kustomization.yaml"]).is_err());
    }
}
