//! Helm charts: the settings of a release (from the chart folder's `driftless-helm.yaml`, and
//! from flags), `helm template`'s arguments, and its output split by template.

use std::ffi::OsString;
use std::path::{Component, Path};

use serde::Deserialize;
use serde_json::Value;

use crate::remote::ChartRef;
use crate::render::yaml;

/// The per-chart settings file, beside `Chart.yaml` (or alone, naming a remote chart).
pub const HELM_SETTINGS_FILE: &str = crate::source::folders::CHART_SETTINGS_FILE;

/// How one chart becomes a release: built from a chart's [`HELM_SETTINGS_FILE`] or from flags
/// (which apply on top of the file, to every chart of the source).
///
/// ```yaml
/// releaseName: mlflow            # default: the chart folder's name
/// namespace: mlops-platform      # the release namespace; objects that name none land in it
/// valuesFiles: [values-prod.yaml] # files of the chart folder, after its values.yaml, in order
/// set: [image.tag=2.14.1]        # as `helm --set`, after the values files, in order
/// includeCrds: true              # the chart's crds/ folder too (default true)
/// kubeVersion: "1.20.0"          # Capabilities.KubeVersion (default: helm's)
/// # A chart from a repository instead of this folder (which then holds no Chart.yaml, only
/// # values): https:// (a Helm repository) or oci:// (a registry), a version or a range.
/// repo: https://charts.jetstack.io
/// chart: cert-manager
/// version: "1.14.x"
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HelmSettings {
    pub release_name: Option<String>,
    pub namespace: Option<String>,
    #[serde(default)]
    pub values_files: Vec<String>,
    #[serde(default)]
    pub set: Vec<String>,
    pub include_crds: Option<bool>,
    pub kube_version: Option<String>,
    pub repo: Option<String>,
    pub chart: Option<String>,
    pub version: Option<String>,
}

impl HelmSettings {
    /// Reads a settings file's text.
    pub fn from_yaml(text: &str) -> Result<HelmSettings, String> {
        let docs = yaml::parse_file(text, false)
            .map_err(|e| format!("line {}: invalid YAML: {}", e.line, e.reason))?;
        let value = docs.into_iter().next().map_or(Value::Null, |d| d.value);
        if value.is_null() {
            return Ok(HelmSettings::default());
        }
        serde_json::from_value(value).map_err(|e| e.to_string())
    }

    /// These settings with `over`'s on top: its names win, its lists come after ours.
    pub fn with(mut self, over: &HelmSettings) -> HelmSettings {
        self.release_name = over.release_name.clone().or(self.release_name);
        self.namespace = over.namespace.clone().or(self.namespace);
        self.values_files.extend(over.values_files.iter().cloned());
        self.set.extend(over.set.iter().cloned());
        self.include_crds = over.include_crds.or(self.include_crds);
        self.kube_version = over.kube_version.clone().or(self.kube_version);
        self
    }

    /// The chart this folder names in a repository, if it names one.
    pub(super) fn remote_chart(&self) -> Result<Option<ChartRef>, String> {
        match (&self.repo, &self.chart) {
            (None, None) if self.version.is_some() => {
                Err("version: only for a chart from a repository (repo and chart)".into())
            }
            (None, None) => Ok(None),
            (Some(_), None) => Err("repo: needs chart: (the chart's name in it)".into()),
            (None, Some(_)) => Err("chart: needs repo: (https:// or oci://)".into()),
            (Some(repo), Some(chart)) => {
                if !["https://", "http://", "oci://"]
                    .iter()
                    .any(|s| repo.starts_with(s))
                {
                    return Err(format!("repo {repo}: expected https:// or oci://"));
                }
                if chart.is_empty() || chart.contains(['/', ':', '@']) {
                    return Err(format!("chart {chart:?}: a chart's name, without / : or @"));
                }
                Ok(Some(ChartRef {
                    repo: repo.trim_end_matches('/').to_string(),
                    chart: chart.clone(),
                    version: self.version.clone(),
                }))
            }
        }
    }

    /// Checks what a chart folder needs: values files inside it, that exist.
    pub(super) fn check(&self, exists: impl Fn(&Path) -> bool) -> Result<(), String> {
        for file in &self.values_files {
            let path = Path::new(file);
            if !path.components().all(|c| matches!(c, Component::Normal(_))) {
                return Err(format!(
                    "values file {file}: must be a relative path inside the chart folder"
                ));
            }
            if !exists(path) {
                return Err(format!("values file {file}: not found in the chart folder"));
            }
        }
        if let Some(bad) = self.set.iter().find(|s| !s.contains('=')) {
            return Err(format!("set {bad:?}: must be key=value"));
        }
        Ok(())
    }

    /// `helm template` arguments for the chart at `chart` with values files from `values`
    /// (both relative to the working folder; the same folder for a chart of the source).
    /// `stdin`: the values file helm reads from its stdin instead (decrypted); the chart's own
    /// `values.yaml` is then given first, over the (absent) defaults.
    pub(super) fn args(
        &self,
        chart: &Path,
        values: &Path,
        default_release: &str,
        stdin: Option<&str>,
    ) -> Vec<OsString> {
        let release = self.release_name.as_deref().unwrap_or(default_release);
        let mut args: Vec<OsString> = vec!["template".into(), release.into(), chart.into()];
        if let Some(ns) = &self.namespace {
            args.extend(["--namespace".into(), ns.into()]);
        }
        if stdin == Some("values.yaml") && !self.values_files.iter().any(|f| f == "values.yaml") {
            args.extend(["--values".into(), "-".into()]);
        }
        for file in &self.values_files {
            let path = match stdin == Some(file.as_str()) {
                true => "-".into(),
                false => values.join(file).into_os_string(),
            };
            args.extend(["--values".into(), path]);
        }
        for set in &self.set {
            args.extend(["--set".into(), set.into()]);
        }
        if self.include_crds.unwrap_or(true) {
            args.push("--include-crds".into());
        }
        if let Some(v) = &self.kube_version {
            args.extend(["--kube-version".into(), v.into()]);
        }
        // Test hooks are pods `helm test` runs, not part of the release.
        args.push("--skip-tests".into());
        args
    }

    /// The `--set` values, for scrubbing error text.
    pub(super) fn set_values(&self) -> impl Iterator<Item = (&str, &str)> {
        self.set.iter().filter_map(|s| s.split_once('='))
    }
}

/// The template each document of `helm template`'s output came from: helm starts each with
/// `# Source: CHART/templates/x.yaml`. Paths are kept relative to the chart.
pub(super) struct Templates(Vec<(usize, String)>);

impl Templates {
    pub(super) fn new(output: &str) -> Templates {
        let found = output.lines().enumerate().filter_map(|(n, l)| {
            let source = l.strip_prefix("# Source: ")?.trim();
            let relative = source.split_once('/').map_or(source, |(_, rest)| rest);
            Some((n + 1, relative.to_string()))
        });
        Templates(found.collect())
    }

    /// The template of the document whose first line is `line`.
    pub(super) fn at(&self, line: usize) -> Option<String> {
        let before = self.0.partition_point(|(n, _)| *n <= line);
        before.checked_sub(1).map(|i| self.0[i].1.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_file_and_flags() {
        let file = HelmSettings::from_yaml(
            "releaseName: web\nnamespace: apps\nvaluesFiles: [prod.yaml]\nset: [a=1]\n",
        )
        .unwrap();
        let flags = HelmSettings {
            namespace: Some("other".into()),
            set: vec!["b=2".into()],
            ..HelmSettings::default()
        };
        let both = file.with(&flags);
        assert_eq!(both.release_name.as_deref(), Some("web"));
        assert_eq!(both.namespace.as_deref(), Some("other"));
        assert_eq!(both.set, ["a=1", "b=2"]);
        let args: Vec<String> = both
            .args(Path::new("charts/web"), Path::new("charts/web"), "x", None)
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args.join(" "),
            "template web charts/web --namespace other --values charts/web/prod.yaml --set a=1 \
             --set b=2 --include-crds --skip-tests"
        );
        let stdin = |name| -> Vec<String> {
            both.args(Path::new("c"), Path::new("c"), "x", Some(name))
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .filter(|a| a.ends_with("yaml") || a == "-")
                .collect()
        };
        assert_eq!(stdin("prod.yaml"), ["-"]);
        assert_eq!(stdin("values.yaml"), ["-", "c/prod.yaml"]);
        let err = HelmSettings::from_yaml("release: x\n").unwrap_err();
        assert!(err.contains("unknown field"), "{err}");
        assert_eq!(
            HelmSettings::from_yaml("").unwrap(),
            HelmSettings::default()
        );
    }

    #[test]
    fn values_files_stay_in_the_chart() {
        let with = |file: &str| HelmSettings {
            values_files: vec![file.into()],
            ..HelmSettings::default()
        };
        let exists = |p: &Path| p == Path::new("prod.yaml");
        assert!(with("prod.yaml").check(exists).is_ok());
        assert!(
            with("../x.yaml")
                .check(exists)
                .unwrap_err()
                .contains("inside")
        );
        assert!(
            with("/etc/passwd")
                .check(exists)
                .unwrap_err()
                .contains("inside")
        );
        assert!(
            with("https://x/v.yaml")
                .check(exists)
                .unwrap_err()
                .contains("not found")
        );
        assert!(
            with("dev.yaml")
                .check(exists)
                .unwrap_err()
                .contains("not found")
        );
    }

    #[test]
    fn templates_by_line() {
        let out = "---\n# Source: web/templates/a.yaml\nkind: A\n---\n# Source: web/charts/db/templates/b.yaml\nkind: B\n";
        let templates = Templates::new(out);
        assert_eq!(templates.at(2).as_deref(), Some("templates/a.yaml"));
        assert_eq!(templates.at(3).as_deref(), Some("templates/a.yaml"));
        assert_eq!(
            templates.at(5).as_deref(),
            Some("charts/db/templates/b.yaml")
        );
        assert_eq!(templates.at(1), None);
    }
}
