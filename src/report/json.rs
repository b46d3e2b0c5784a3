//! The report as JSON, for machines (a stable shape, built explicitly rather than derived so the
//! internal types can change without breaking consumers). Written object by object: a report of
//! thousands of objects is never a tree in memory. Keys come in sorted order.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value, json};

use super::{Mode, NamespaceReport, ObjectReport, Outcome, Report};
use crate::health::HealthState;
use crate::lint::{Change, Finding, LintReport, Severity};

/// The report as one JSON text, for tests; the CLI streams [`write_json`].
#[cfg(test)]
pub fn render_json(report: &Report) -> String {
    let mut out = Vec::new();
    match write_json(report, &mut out) {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Writes the report as JSON to `out` as it is serialized: ten thousand objects make a text of
/// about 10 MB, never held whole.
pub fn write_json(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &Doc(report))?;
    out.write_all(b"\n")
}

struct Doc<'a>(&'a Report);

impl Serialize for Doc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let report = self.0;
        let mode = match report.mode {
            Mode::Sync => "sync",
            Mode::Preview => "preview",
            Mode::Lint => "lint",
        };
        let mut m = s.serialize_map(None)?;
        // Where an offline preview's comparison started; null against a cluster.
        m.serialize_entry("base", &report.base)?;
        // Charts fetched from repositories: name, repo, version (as resolved) and digest.
        m.serialize_entry("charts", &report.charts)?;
        m.serialize_entry("counts", &counts(|o| report.count(o)))?;
        m.serialize_entry("exitCode", &report.exit_code())?;
        m.serialize_entry("healthCounts", &health_counts(|s| report.count_health(s)))?;
        m.serialize_entry("lint", &report.lint.as_ref().map(Lint))?;
        m.serialize_entry("mode", mode)?;
        m.serialize_entry("namespaces", &Each(&report.namespaces, Namespace))?;
        m.serialize_entry("revision", &report.revision)?;
        m.serialize_entry("set", &report.set)?;
        m.serialize_entry("source", &report.source)?;
        // A preview's chart folders left out for want of the network.
        m.serialize_entry("unavailable", &report.unavailable)?;
        m.end()
    }
}

/// A list written element by element, each as `F` makes it: never a tree of the whole list.
struct Each<'a, T, F>(&'a [T], F);

impl<'a, T, V: Serialize, F: Fn(&'a T) -> V> Serialize for Each<'a, T, F> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for element in self.0 {
            seq.serialize_element(&(self.1)(element))?;
        }
        seq.end()
    }
}

struct Namespace<'a>(&'a NamespaceReport);

impl Serialize for Namespace<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ns = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("counts", &counts(|o| ns.count(o)))?;
        m.serialize_entry("errors", &ns.errors)?;
        m.serialize_entry("failed", &ns.failed())?;
        m.serialize_entry("healthCounts", &health_counts(|s| ns.count_health(s)))?;
        m.serialize_entry("namespace", &ns.namespace)?;
        m.serialize_entry("objects", &Each(&ns.objects, object))?;
        m.end()
    }
}

fn counts(count: impl Fn(Outcome) -> usize) -> Value {
    let map: Map<String, Value> = Outcome::ALL
        .iter()
        .map(|&o| (o.key().to_string(), json!(count(o))))
        .collect();
    Value::Object(map)
}

/// Objects per health state; all zero when nothing was waited on.
fn health_counts(count: impl Fn(HealthState) -> usize) -> Value {
    let map: Map<String, Value> = HealthState::ALL
        .iter()
        .map(|&s| (s.key().to_string(), json!(count(s))))
        .collect();
    Value::Object(map)
}

fn object(o: &ObjectReport) -> Value {
    json!({
        "apiVersion": o.id.api_version(),
        "kind": o.id.kind,
        "namespace": o.id.namespace,
        "name": o.id.name,
        "source": o.source(),
        "outcome": o.outcome.key(),
        // Why it was skipped, failed, held or not attempted (`Forbidden`, `NotAdopted`, ...).
        "reason": o.reason.map(|r| r.label()),
        "diff": o.diff,
        "message": o.message,
        "conflict": o.conflict,
        "drift": o.drift,
        // `healthy`, `unhealthy`, `inProgress`; null when not waited on.
        "health": o.health.as_ref().map(|h| h.state().key()),
        "healthMessage": o.health.as_ref().and_then(|h| h.message()),
        // `wave 2`, `pre-sync hook, weight -5`; null for wave 0 without hooks.
        "stage": o.stage,
        "fields": o.fields,
    })
}

/// The findings: counts of the active ones per severity, and every finding.
struct Lint<'a>(&'a LintReport);

impl Serialize for Lint<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let report = self.0;
        let counts: Map<String, Value> = Severity::ALL
            .iter()
            .map(|&s| (s.label().to_string(), json!(report.count(s))))
            .collect();
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(
            "added",
            &report.compared.then(|| report.changed(Change::Added)),
        )?;
        m.serialize_entry("counts", &counts)?;
        m.serialize_entry("failOn", &report.fail_on.map(Severity::label))?;
        m.serialize_entry("failed", &report.fails())?;
        m.serialize_entry("findings", &Each(&report.findings, finding))?;
        m.serialize_entry(
            "fixed",
            &report.compared.then(|| report.changed(Change::Fixed)),
        )?;
        m.serialize_entry("suppressed", &report.suppressed())?;
        m.end()
    }
}

fn finding(f: &Finding) -> Value {
    json!({
        "check": f.check.id(),
        "severity": f.severity.label(),
        "apiVersion": f.object.api_version(),
        "kind": f.object.kind,
        "namespace": f.object.namespace,
        "name": f.object.name,
        "source": f.origin.to_string(),
        "path": f.path,
        "message": f.message,
        "fix": f.fix(),
        "suppressed": f.suppressed,
        // `added` or `fixed` against a base revision; null otherwise.
        "change": f.change.map(Change::label),
    })
}
