//! What a repository says about its lint: `.driftless-lint.yaml` at the source root (checks
//! disabled, severities changed, the `--fail-on` default) and, per object, suppressions with a
//! reason in the `driftless.dev/lint-ignore` annotation.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::finding::{Check, Severity};

/// The configuration file, at the source root (the `--path` folder of a Git source).
pub const CONFIG_FILE: &str = ".driftless-lint.yaml";
/// One `<check-id>: <reason>` per line (or separated by `;`).
pub const IGNORE_ANNOTATION: &str = "driftless.dev/lint-ignore";

/// The severity at which findings fail a run, or never.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    Never,
    At(Severity),
}

impl FailOn {
    pub fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Never => None,
            FailOn::At(s) => Some(s),
        }
    }
}

impl std::str::FromStr for FailOn {
    type Err = String;
    fn from_str(s: &str) -> Result<FailOn, String> {
        if s.trim().eq_ignore_ascii_case("never") {
            return Ok(FailOn::Never);
        }
        s.parse()
            .map(FailOn::At)
            .map_err(|_| format!("unknown severity {s:?}: never, low, medium, high or critical"))
    }
}

/// A repository's lint configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LintConfig {
    pub disabled: BTreeSet<Check>,
    pub severities: BTreeMap<Check, Severity>,
    /// What `--fail-on` is when the command line does not say.
    pub fail_on: Option<FailOn>,
}

/// A configuration file that cannot be used; the run stops, naming the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{CONFIG_FILE}: {reason}")]
pub struct ConfigError {
    pub reason: String,
}

fn bad(reason: impl Into<String>) -> ConfigError {
    ConfigError {
        reason: reason.into(),
    }
}

fn check_id(id: &Value) -> Result<Check, ConfigError> {
    let text = id.as_str().unwrap_or_default();
    Check::from_id(text).ok_or_else(|| {
        let known: Vec<&str> = Check::ALL.iter().map(|c| c.id()).collect();
        bad(format!(
            "unknown check {id}; the checks are {}",
            known.join(", ")
        ))
    })
}

impl LintConfig {
    /// Parses the file's text:
    ///
    /// ```yaml
    /// disable: [pull-policy]
    /// severity:
    ///   no-backup: low
    /// failOn: high
    /// ```
    pub fn parse(text: &str) -> Result<LintConfig, ConfigError> {
        let docs = crate::render::yaml::parse_file(text, false)
            .map_err(|e| bad(format!("line {}: {}", e.line, e.reason)))?;
        let mut config = LintConfig::default();
        let Some(doc) = docs.first() else {
            return Ok(config);
        };
        if docs.len() > 1 {
            return Err(bad("one YAML document expected"));
        }
        let Some(map) = doc.value.as_object() else {
            return Err(bad("a mapping expected (disable, severity, failOn)"));
        };
        for (key, value) in map {
            match key.as_str() {
                "disable" => {
                    let items = value
                        .as_array()
                        .ok_or_else(|| bad("disable: a list of check ids expected"))?;
                    for item in items {
                        config.disabled.insert(check_id(item)?);
                    }
                }
                "severity" => {
                    let items = value.as_object().ok_or_else(|| {
                        bad("severity: a mapping of check id to severity expected")
                    })?;
                    for (id, severity) in items {
                        let severity = severity
                            .as_str()
                            .unwrap_or_default()
                            .parse()
                            .map_err(|e| bad(format!("severity of {id}: {e}")))?;
                        config
                            .severities
                            .insert(check_id(&Value::from(id.as_str()))?, severity);
                    }
                }
                "failOn" => {
                    let text = value.as_str().unwrap_or_default();
                    config.fail_on = Some(text.parse().map_err(|e| bad(format!("failOn: {e}")))?);
                }
                other => {
                    return Err(bad(format!(
                        "unknown key {other:?}: the keys are disable, severity, failOn"
                    )));
                }
            }
        }
        Ok(config)
    }
}

/// An object's suppressions: the checks it silences, each with its reason, and the entries that
/// name no known check or give no reason.
#[derive(Debug, Default, PartialEq)]
pub struct Suppressions {
    pub reasons: BTreeMap<Check, String>,
    pub invalid: Vec<String>,
}

impl Suppressions {
    pub fn of(annotation: Option<&str>) -> Suppressions {
        let mut out = Suppressions::default();
        let Some(text) = annotation else {
            return out;
        };
        for entry in entries(text) {
            match entry.split_once(':') {
                Some((id, reason)) if !reason.trim().is_empty() => match Check::from_id(id) {
                    Some(check) => {
                        out.reasons.insert(check, reason.trim().to_string());
                    }
                    None => out.invalid.push(format!("{:?} names no check", id.trim())),
                },
                _ => out.invalid.push(format!(
                    "{:?} gives no reason (write `<check-id>: <why>`)",
                    entry.split(':').next().unwrap_or_default().trim()
                )),
            }
        }
        out
    }
}

/// Entries one per line; on one line, `;` starts a new entry only before `<check-id>:`, so a
/// reason may hold a `;`.
fn entries(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let mut current: Option<String> = None;
        for piece in line.split(';') {
            let starts_entry = piece
                .split_once(':')
                .is_some_and(|(id, _)| Check::from_id(id).is_some());
            match current.as_mut() {
                Some(entry) if !starts_entry => {
                    entry.push(';');
                    entry.push_str(piece);
                }
                _ => {
                    out.extend(current.take());
                    current = Some(piece.to_string());
                }
            }
        }
        out.extend(current);
    }
    out.into_iter()
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty())
        .collect()
}
