//! The platform's rules, checked on the rendered manifests with no cluster: `driftless lint`,
//! and the findings every `diff` and `sync` report carries.
//!
//! Each check has an id, a default severity and a one-line fix ([`Check`]). A repository
//! changes them in `.driftless-lint.yaml` ([`LintConfig`]); an object silences one with a
//! reason in its `driftless.dev/lint-ignore` annotation. Findings never hold a secret's value:
//! what is secret is decided by [`crate::plan::mask`], which hides the same values everywhere.

mod backup;
mod config;
mod containers;
mod finding;
mod image;
mod network;
mod rbac;
mod secrets;
mod workload;

pub use backup::BACKUP_ANNOTATION;
pub use config::{CONFIG_FILE, ConfigError, FailOn, IGNORE_ANNOTATION, LintConfig};
pub use finding::{Change, Check, Finding, Severity};
pub use image::{ImageRef, Pin};

use std::collections::HashSet;
use std::sync::Arc;

use crate::render::{Manifest, ObjectId, Rendered, split_api_version};
use crate::source::Source;
use config::Suppressions;
use workload::Object;

/// Lints one revision's manifests. `default_namespace` is given to namespaced objects that
/// name none (`--namespace`), as a sync would.
pub fn lint(
    manifests: &[Manifest],
    config: &LintConfig,
    default_namespace: Option<&str>,
) -> Vec<Finding> {
    // Objects are parsed one at a time, so a large revision is never held twice; only the few
    // kinds whose presence changes other objects' checks are parsed up front.
    let shaping: Vec<Object> = manifests
        .iter()
        .filter(|m| SHAPING_KINDS.contains(&m.kind()))
        .map(|m| object(m, default_namespace))
        .collect();
    let limits = containers::LimitDefaults::from_objects(&shaping);
    let network_policies = network::Policies::from_objects(&shaping);
    let backups = backup::Policies::from_objects(&shaping);
    drop(shaping);
    let mut findings = Vec::new();
    for manifest in manifests {
        let object = object(manifest, default_namespace);
        let object = &object;
        let mut found = Vec::new();
        image::check(object, &mut found);
        containers::check_root(object, &mut found);
        containers::check_resources(object, &limits, &mut found);
        secrets::check_env(object, &mut found);
        secrets::check_config_map(object, &mut found);
        secrets::check_plaintext(object, &mut found);
        network::check_policies(object, &network_policies, &mut found);
        network::check_exposure(object, &mut found);
        rbac::check(object, &mut found);
        backup::check(object, &backups, &mut found);
        let suppressions = Suppressions::of(object.annotation(IGNORE_ANNOTATION));
        for problem in &suppressions.invalid {
            found.push(Finding::new(
                Check::InvalidSuppression,
                object,
                format!("metadata.annotations.{IGNORE_ANNOTATION}"),
                format!("lint-ignore entry {problem}"),
            ));
        }
        for mut finding in found {
            if config.disabled.contains(&finding.check) {
                continue;
            }
            if let Some(severity) = config.severities.get(&finding.check) {
                finding.severity = *severity;
            }
            finding.suppressed = suppressions.reasons.get(&finding.check).cloned();
            findings.push(finding);
        }
    }
    sort(&mut findings);
    findings
}

/// The kinds (any group; `from_objects` checks the group) that change other objects' checks:
/// LimitRange defaults, network policies, backup schedules.
const SHAPING_KINDS: [&str; 5] = [
    "LimitRange",
    "NetworkPolicy",
    "CiliumNetworkPolicy",
    "Schedule",
    "Backup",
];

/// Worst first, then by file and line.
fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (b.severity, &a.origin, a.check, &a.path).cmp(&(a.severity, &b.origin, b.check, &b.path))
    });
}

/// A manifest as lint sees it: parsed, namespaced as a sync would namespace it (as far as the
/// built-in kinds tell without a cluster).
fn object(m: &Manifest, default_namespace: Option<&str>) -> Object {
    let (group, version) = split_api_version(m.api_version());
    let cluster_scoped = crate::render::builtin_namespaced(group, m.kind()) == Some(false);
    let namespace = if cluster_scoped {
        None
    } else {
        m.namespace().or(default_namespace).map(str::to_string)
    };
    Object {
        id: Arc::new(ObjectId {
            group: group.to_string(),
            version: version.to_string(),
            kind: m.kind().to_string(),
            namespace,
            name: m.name().to_string(),
        }),
        origin: Arc::new(m.origin.clone()),
        value: m.value(),
        encrypted: m.sops.is_some(),
    }
}

/// The findings of a run, as every report carries them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LintReport {
    /// Worst first. Suppressed ones too (they fail nothing), and in a preview the ones the
    /// change fixed.
    pub findings: Vec<Finding>,
    /// Findings at or above this fail the run.
    pub fail_on: Option<Severity>,
    /// Compared with a base revision: findings say whether the change added or fixed them.
    pub compared: bool,
    /// Where the source root sits in its repository (`clusters/prod`, a Git source's `--path`),
    /// so code scanning finds each finding's file; empty for the repository root.
    pub root: String,
}

impl LintReport {
    pub fn new(findings: Vec<Finding>, fail_on: Option<Severity>) -> LintReport {
        LintReport {
            findings,
            fail_on,
            compared: false,
            root: String::new(),
        }
    }

    /// Marks the head's findings the base did not have as added, and appends the base's that
    /// the head no longer has as fixed. Suppressed findings count as absent.
    pub fn compare(
        base: Vec<Finding>,
        head: Vec<Finding>,
        fail_on: Option<Severity>,
    ) -> LintReport {
        let active_keys = |list: &[Finding]| -> HashSet<String> {
            list.iter()
                .filter(|f| f.suppressed.is_none())
                .map(|f| format!("{:?}", f.key()))
                .collect()
        };
        let (before, after) = (active_keys(&base), active_keys(&head));
        let mut findings: Vec<Finding> = head
            .into_iter()
            .map(|mut f| {
                if f.suppressed.is_none() && !before.contains(&format!("{:?}", f.key())) {
                    f.change = Some(Change::Added);
                }
                f
            })
            .collect();
        findings.extend(
            base.into_iter()
                .filter(|f| f.suppressed.is_none() && !after.contains(&format!("{:?}", f.key())))
                .map(|mut f| {
                    f.change = Some(Change::Fixed);
                    f
                }),
        );
        sort(&mut findings);
        LintReport {
            findings,
            fail_on,
            compared: true,
            root: String::new(),
        }
    }

    /// Findings that count: neither suppressed nor fixed.
    pub fn active(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.active())
    }

    /// The active findings at or above `--fail-on`.
    pub fn failing(&self) -> impl Iterator<Item = &Finding> {
        let threshold = self.fail_on;
        self.active()
            .filter(move |f| threshold.is_some_and(|t| f.severity >= t))
    }

    pub fn fails(&self) -> bool {
        self.failing().next().is_some()
    }

    /// Why a sync refuses to apply: the failing findings (the first ten).
    pub fn refusal(&self) -> String {
        let failing: Vec<&Finding> = self.failing().collect();
        let mut listed: Vec<String> = failing
            .iter()
            .take(10)
            .map(|f| format!("{} {} ({}): {}", f.check, f.object, f.origin, f.message))
            .collect();
        if failing.len() > 10 {
            listed.push(format!("and {} more", failing.len() - 10));
        }
        format!(
            "{} lint finding{} at or above --fail-on {}:\n  {}",
            failing.len(),
            if failing.len() == 1 { "" } else { "s" },
            self.fail_on.map_or("never", Severity::label),
            listed.join("\n  ")
        )
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.active().filter(|f| f.severity == severity).count()
    }

    pub fn suppressed(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.suppressed.is_some())
            .count()
    }

    pub fn changed(&self, change: Change) -> usize {
        self.findings
            .iter()
            .filter(|f| f.change == Some(change))
            .count()
    }

    /// `3 findings (1 high, 2 medium); 2 suppressed; 1 added, 1 fixed by this change`.
    pub fn summary(&self) -> String {
        let total = self.active().count();
        let mut out = format!("{total} finding{}", if total == 1 { "" } else { "s" });
        let counts: Vec<String> = Severity::ALL
            .iter()
            .map(|&s| (self.count(s), s))
            .filter(|(n, _)| *n > 0)
            .map(|(n, s)| format!("{n} {s}"))
            .collect();
        if !counts.is_empty() {
            out.push_str(&format!(" ({})", counts.join(", ")));
        }
        if let n @ 1.. = self.suppressed() {
            out.push_str(&format!("; {n} suppressed"));
        }
        if self.compared {
            out.push_str(&format!(
                "; {} added, {} fixed by this change",
                self.changed(Change::Added),
                self.changed(Change::Fixed)
            ));
        }
        if let Some(t) = self.fail_on {
            let n = self.failing().count();
            out.push_str(&format!("; {n} at or above --fail-on {t}"));
        }
        out
    }
}

/// How a run lints: the command line's `--fail-on` (which wins over the repository's), the
/// command's own default, and the namespace for objects that name none.
#[derive(Debug, Clone)]
pub struct LintSettings {
    pub fail_on: Option<FailOn>,
    pub default_fail_on: FailOn,
    pub default_namespace: Option<String>,
    /// See [`LintReport::root`].
    pub root: String,
}

impl LintSettings {
    /// The repository's configuration as of `revision`.
    pub fn config(&self, source: &Source, revision: Option<&str>) -> crate::Result<LintConfig> {
        let text = source.root_file(revision, CONFIG_FILE)?;
        Ok(text
            .as_deref()
            .map(LintConfig::parse)
            .transpose()?
            .unwrap_or_default())
    }

    /// What fails the run: the command line, else the configuration, else the default.
    pub fn threshold(&self, config: &LintConfig) -> Option<Severity> {
        self.fail_on
            .or(config.fail_on)
            .unwrap_or(self.default_fail_on)
            .threshold()
    }

    /// Lints one rendered revision with its own configuration.
    pub fn run(&self, source: &Source, rendered: &Rendered) -> crate::Result<LintReport> {
        let config = self.config(source, rendered.revision.as_deref())?;
        let findings = lint(
            &rendered.manifests,
            &config,
            self.default_namespace.as_deref(),
        );
        let mut report = LintReport::new(findings, self.threshold(&config));
        report.root = self.root.clone();
        Ok(report)
    }
}

#[cfg(test)]
mod tests;
