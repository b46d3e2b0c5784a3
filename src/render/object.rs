//! How an object is named everywhere: messages, diffs, reports.

use std::fmt;
use std::path::PathBuf;

/// Where a manifest came from: a file and line, or a folder a renderer made it from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin {
    /// The file, or the rendered folder, relative to the source root.
    pub file: PathBuf,
    /// 1-based line in `file`; 0 when a renderer made the object (its output is no file).
    pub line: usize,
    /// The renderer that made the object from the folder `file`, if one did.
    pub rendered_by: Option<RenderedBy>,
}

/// What rendered a folder of the source.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RenderedBy {
    /// `kustomize build` of a folder with a kustomization.
    Kustomize,
    /// `helm template` of a chart folder; the template that made the object, as helm named it
    /// (relative to the chart), when helm said.
    Helm { template: Option<String> },
}

impl Origin {
    /// A plain manifest file's document starting at `line`.
    pub fn file(file: impl Into<PathBuf>, line: usize) -> Origin {
        Origin {
            file: file.into(),
            line,
            rendered_by: None,
        }
    }

    /// An object (or a problem) of the rendered folder `folder`.
    pub fn rendered(folder: impl Into<PathBuf>, by: RenderedBy) -> Origin {
        Origin {
            file: folder.into(),
            line: 0,
            rendered_by: Some(by),
        }
    }
}

/// `mlops-platform/nginx.yaml:12`, `overlays/prod (kustomization)`,
/// `charts/mlflow, template templates/deployment.yaml`.
impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        match &self.rendered_by {
            None => write!(f, "{file}:{}", self.line),
            Some(RenderedBy::Kustomize) => write!(f, "{file} (kustomization)"),
            Some(RenderedBy::Helm { template: None }) => write!(f, "{file} (chart)"),
            Some(RenderedBy::Helm {
                template: Some(template),
            }) => write!(f, "{file}, template {template}"),
        }
    }
}

/// The identity of an object: `apps/v1 Deployment mlops-platform/mlflow`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectId {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Identity without the version: two manifests with the same key are the same object.
    pub fn key(&self) -> (&str, &str, Option<&str>, &str) {
        (
            &self.group,
            &self.kind,
            self.namespace.as_deref(),
            &self.name,
        )
    }

    /// A core-group Secret: its values are masked everywhere.
    pub fn is_secret(&self) -> bool {
        self.group.is_empty() && self.kind == "Secret"
    }

    /// A core-group Namespace.
    pub fn is_namespace(&self) -> bool {
        self.group.is_empty() && self.kind == "Namespace"
    }

    /// A CustomResourceDefinition.
    pub fn is_crd(&self) -> bool {
        self.group == "apiextensions.k8s.io" && self.kind == "CustomResourceDefinition"
    }

    /// A path-like name for diff headers: `apps/v1/Deployment/mlops-platform/mlflow`.
    pub fn path(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/{}/{}/{}", self.api_version(), self.kind, ns, self.name),
            None => format!("{}/{}/{}", self.api_version(), self.kind, self.name),
        }
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ", self.api_version(), self.kind)?;
        if let Some(ns) = &self.namespace {
            write!(f, "{ns}/")?;
        }
        f.write_str(&self.name)
    }
}

/// Splits `apps/v1` into (`apps`, `v1`) and `v1` into (``, `v1`).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

#[cfg(test)]
impl ObjectId {
    /// A test's object: `ObjectId::for_test("apps/v1", "Deployment", "team", "web")`, or
    /// `None` for the namespace of a cluster-scoped one.
    pub fn for_test<'a>(
        api_version: &str,
        kind: &str,
        namespace: impl Into<Option<&'a str>>,
        name: &str,
    ) -> ObjectId {
        let (group, version) = split_api_version(api_version);
        ObjectId {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            namespace: namespace.into().map(str::to_string),
            name: name.into(),
        }
    }
}
