//! A chart from a repository: `https://` (a Helm repository's `index.yaml`) or `oci://` (a
//! registry). A version range resolves to the newest match; the archive is verified against
//! the repository's digest (the index's `digest`, the OCI layer's) and cached by it. An exact
//! version already resolved is served from the cache without a request: a re-render of the
//! same revision gets the same bytes.

use oci_client::Reference;

use super::client::{Remote, sha256};
use super::constraint::{self, Constraint};
use super::index::{self, Index};
use super::store::Resolved;
use super::{RemoteError, Result};

/// Helm's media types for a chart in a registry (and the one older helms pushed).
const HELM_LAYER: [&str; 2] = [
    "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
    "application/tar+gzip",
];

/// A chart as a set names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartRef {
    /// `https://charts.example.com` or `oci://registry.example.com/charts`.
    pub repo: String,
    pub chart: String,
    /// An exact version or a range; none: the newest release.
    pub version: Option<String>,
}

impl std::fmt::Display for ChartRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "chart {}", self.chart)?;
        if let Some(v) = &self.version {
            write!(f, " {v}")?;
        }
        write!(f, " from {}", self.repo)
    }
}

/// A chart fetched and verified.
#[derive(Debug, Clone)]
pub struct Chart {
    pub version: String,
    /// The index's digest of the archive, or the OCI manifest's.
    pub digest: String,
    /// The `.tgz`, as `helm package` made it.
    pub archive: Vec<u8>,
}

impl ChartRef {
    fn constraint(&self) -> Result<Constraint> {
        let text = self.version.as_deref().unwrap_or("*");
        Constraint::parse(text).map_err(|e| RemoteError::new(format!("version {text:?}: {e}")))
    }

    fn key(&self) -> [&str; 3] {
        [
            self.repo.as_str(),
            self.chart.as_str(),
            self.version.as_deref().unwrap_or(""),
        ]
    }
}

impl Remote {
    /// Resolves and fetches `chart`; errors name it.
    pub async fn chart(&self, chart: &ChartRef) -> Result<Chart> {
        self.fetch_chart(chart)
            .await
            .map_err(|e| e.context(&chart.to_string()))
    }

    async fn fetch_chart(&self, chart: &ChartRef) -> Result<Chart> {
        let constraint = chart.constraint()?;
        // A version resolved before is served as it was: exact versions always, ranges only
        // when the network may not be used.
        if (constraint.is_exact() || self.offline() || self.options.preview)
            && let Some(resolved) = self.store.resolved(&chart.key())
            && let Some(archive) = self.store.blob(&resolved.blob)
        {
            return Ok(Chart {
                version: resolved.version,
                digest: resolved.digest,
                archive,
            });
        }
        let (version, digest, archive) = match chart.repo.strip_prefix("oci://") {
            Some(base) => self.oci_chart(base, chart, &constraint).await?,
            None => self.https_chart(chart, &constraint).await?,
        };
        let resolved = Resolved {
            version: version.clone(),
            digest: digest.clone(),
            blob: sha256(&archive),
        };
        self.store.put_resolved(&chart.key(), &resolved);
        Ok(Chart {
            version,
            digest,
            archive,
        })
    }

    async fn https_chart(
        &self,
        chart: &ChartRef,
        constraint: &Constraint,
    ) -> Result<(String, String, Vec<u8>)> {
        if !chart.repo.starts_with("https://") && !chart.repo.starts_with("http://") {
            return Err(RemoteError::new(format!(
                "repository {}: expected https:// or oci://",
                chart.repo
            )));
        }
        let index_url = format!("{}/index.yaml", chart.repo.trim_end_matches('/'));
        let bytes = self.get(&index_url).await?;
        let text = String::from_utf8_lossy(&bytes);
        let index =
            Index::parse(&text).map_err(|e| RemoteError::new(format!("{index_url}: {e}")))?;
        let versions = index.versions(&chart.chart);
        if versions.is_empty() {
            let mut known: Vec<&str> = index.charts().collect();
            known.sort_unstable();
            return Err(RemoteError::new(format!(
                "no chart named {} in the repository{}",
                chart.chart,
                listing(&known)
            )));
        }
        let chosen = constraint::newest(constraint, versions.iter().map(|v| v.version.as_str()))
            .ok_or_else(|| no_match(chart, versions.iter().map(|v| v.version.as_str())))?;
        let Some(entry) = versions.iter().find(|v| v.version == chosen) else {
            return Err(no_match(chart, versions.iter().map(|v| v.version.as_str())));
        };
        let digest = match &entry.digest {
            Some(d) if d.len() == 64 => format!("sha256:{d}"),
            Some(d) if d.starts_with("sha256:") => d.clone(),
            _ => {
                return Err(RemoteError::new(format!(
                    "index.yaml gives no sha256 digest for version {chosen}: it cannot be \
                     verified"
                )));
            }
        };
        if let Some(archive) = self.store.blob(&digest) {
            return Ok((chosen.to_string(), digest, archive));
        }
        let url = entry.urls.first().ok_or_else(|| {
            RemoteError::new(format!("index.yaml gives no URL for version {chosen}"))
        })?;
        let url = index::chart_url(&index_url, url).map_err(RemoteError::new)?;
        let archive = self.get(&url).await?;
        let got = sha256(&archive);
        if got != digest {
            return Err(RemoteError::new(format!(
                "{url}: digest mismatch: index.yaml says {digest}, the download is {got}: \
                 refused"
            )));
        }
        self.store.put_blob(&digest, &archive);
        Ok((chosen.to_string(), digest, archive))
    }

    async fn oci_chart(
        &self,
        base: &str,
        chart: &ChartRef,
        constraint: &Constraint,
    ) -> Result<(String, String, Vec<u8>)> {
        let name = format!("{}/{}", base.trim_end_matches('/'), chart.chart);
        let parse = |text: &str| -> Result<Reference> {
            text.parse::<Reference>()
                .map_err(|e| RemoteError::new(format!("oci://{text}: not a reference: {e}")))
        };
        let version = match constraint.is_exact() {
            true => chart.version.clone().unwrap_or_default(),
            false => {
                let tags = self.oci_tags(&parse(&name)?).await?;
                // Helm writes `+` (build metadata) as `_` in tags.
                let versions: Vec<String> = tags.iter().map(|t| t.replace('_', "+")).collect();
                constraint::newest(constraint, versions.iter().map(String::as_str))
                    .map(str::to_string)
                    .ok_or_else(|| no_match(chart, versions.iter().map(String::as_str)))?
            }
        };
        let reference = parse(&format!("{name}:{}", version.replace('+', "_")))?;
        let (manifest, digest) = self.oci_manifest(&reference).await?;
        let layer = manifest
            .layers
            .iter()
            .find(|l| HELM_LAYER.contains(&l.media_type.as_str()))
            .ok_or_else(|| {
                let types: Vec<&str> = manifest
                    .layers
                    .iter()
                    .map(|l| l.media_type.as_str())
                    .collect();
                RemoteError::new(format!(
                    "oci://{name}:{version} holds no Helm chart layer ({}; layers: {})",
                    HELM_LAYER[0],
                    types.join(", ")
                ))
            })?;
        let archive = self.oci_blob(&reference, layer).await?;
        Ok((version, digest, archive))
    }
}

fn listing(names: &[&str]) -> String {
    match names.len() {
        0 => " (it holds none)".into(),
        1..=8 => format!(" (it holds {})", names.join(", ")),
        n => format!(" (it holds {}, and {} more)", names[..8].join(", "), n - 8),
    }
}

fn no_match<'a>(chart: &ChartRef, versions: impl Iterator<Item = &'a str>) -> RemoteError {
    let mut parsed: Vec<(semver::Version, &str)> = versions
        .filter_map(|v| Some((constraint::parse_version(v)?, v)))
        .collect();
    parsed.sort();
    let newest: Vec<&str> = parsed.iter().rev().take(5).map(|(_, v)| *v).collect();
    RemoteError::new(format!(
        "no version matches {:?} (newest: {})",
        chart.version.as_deref().unwrap_or("*"),
        match newest.is_empty() {
            true => "none".to_string(),
            false => newest.join(", "),
        }
    ))
}
