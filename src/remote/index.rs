//! A Helm chart repository's `index.yaml`: which versions of which charts it holds, where each
//! archive is and its digest.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The parts of `index.yaml` a fetch needs.
#[derive(Debug, Default, Deserialize)]
pub struct Index {
    #[serde(default)]
    entries: BTreeMap<String, Vec<ChartVersion>>,
}

/// One version of one chart in an index.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct ChartVersion {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
    /// `sha256` of the archive, as `helm repo index` writes it (hex, without a prefix).
    #[serde(default)]
    pub digest: Option<String>,
    #[serde(default)]
    pub urls: Vec<String>,
    #[serde(default)]
    pub deprecated: bool,
}

impl Index {
    pub fn parse(text: &str) -> Result<Index, String> {
        if text.trim().is_empty() {
            return Err("index.yaml is empty".into());
        }
        // The index is the repository's, not ours: say where it is wrong, not what it holds.
        let index: Index = serde_saphyr::from_str(text).map_err(|e| {
            let line = e.to_string().lines().next().unwrap_or_default().to_string();
            format!("not a chart repository index: {line}")
        })?;
        Ok(index)
    }

    /// The versions of `chart`, in the index's order; none if it is unknown.
    pub fn versions(&self, chart: &str) -> &[ChartVersion] {
        self.entries
            .get(chart)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The charts the index holds, sorted.
    pub fn charts(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }
}

/// Where a chart's archive is: `url` as the index gives it, absolute or relative to the index.
/// Only https (or http) URLs are followed.
pub fn chart_url(index_url: &str, url: &str) -> Result<String, String> {
    let url = url.trim();
    if url.is_empty() {
        return Err("the index gives no URL for it".into());
    }
    if let Some((scheme, _)) = url.split_once("://") {
        return match scheme {
            "https" | "http" => Ok(url.to_string()),
            _ => Err(format!(
                "the index points to {scheme}:// , which is not fetched"
            )),
        };
    }
    // Relative to the folder of index.yaml, as helm resolves it.
    let base = index_url.split(['?', '#']).next().unwrap_or(index_url);
    let folder = match base.rsplit_once('/') {
        Some((folder, last)) if last.ends_with(".yaml") || last.is_empty() => folder,
        _ => base.trim_end_matches('/'),
    };
    if let Some(rooted) = url.strip_prefix('/') {
        let origin_end = folder
            .find("://")
            .map(|i| i + 3)
            .and_then(|start| folder[start..].find('/').map(|i| start + i))
            .unwrap_or(folder.len());
        return Ok(format!("{}/{rooted}", &folder[..origin_end]));
    }
    Ok(format!("{folder}/{}", url.trim_start_matches("./")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = r#"apiVersion: v1
entries:
  mlflow:
  - apiVersion: v2
    name: mlflow
    version: 1.2.0
    digest: 3f1b
    urls:
    - mlflow-1.2.0.tgz
    created: "2026-01-01T00:00:00Z"
  - name: mlflow
    version: 1.1.0
    deprecated: true
    urls: [https://cdn.example.com/mlflow-1.1.0.tgz]
  minio:
  - name: minio
    version: 5.0.0
    urls: []
generated: "2026-01-01T00:00:00Z"
"#;

    #[test]
    fn lists_charts_and_versions() {
        let index = Index::parse(INDEX).unwrap();
        assert_eq!(index.charts().collect::<Vec<_>>(), ["minio", "mlflow"]);
        let versions = index.versions("mlflow");
        assert_eq!(versions.len(), 2);
        assert_eq!(versions[0].version, "1.2.0");
        assert_eq!(versions[0].digest.as_deref(), Some("3f1b"));
        assert!(versions[1].deprecated);
        assert!(index.versions("postgres").is_empty());
    }

    #[test]
    fn garbage_is_refused_without_quoting_it() {
        assert!(Index::parse("").is_err());
        let err = Index::parse("entries: [secret-looking-value").unwrap_err();
        assert!(err.starts_with("not a chart repository index"), "{err}");
        let err = Index::parse("entries:\n  x: 5\n").unwrap_err();
        assert!(err.starts_with("not a chart repository index"), "{err}");
    }

    #[test]
    fn urls_resolve_like_helm() {
        let index = "https://charts.example.com/stable/index.yaml";
        assert_eq!(
            chart_url(index, "mlflow-1.2.0.tgz").unwrap(),
            "https://charts.example.com/stable/mlflow-1.2.0.tgz"
        );
        assert_eq!(
            chart_url(index, "./a/mlflow-1.2.0.tgz").unwrap(),
            "https://charts.example.com/stable/a/mlflow-1.2.0.tgz"
        );
        assert_eq!(
            chart_url(index, "/files/mlflow.tgz").unwrap(),
            "https://charts.example.com/files/mlflow.tgz"
        );
        assert_eq!(
            chart_url(index, "https://cdn.example.com/x.tgz").unwrap(),
            "https://cdn.example.com/x.tgz"
        );
        assert!(chart_url(index, "file:///etc/passwd").is_err());
        assert!(chart_url(index, " ").is_err());
    }
}
