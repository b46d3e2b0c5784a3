//! The report as JSON, for machines (a stable shape, built explicitly rather than derived so the
//! internal types can change without breaking consumers).

use serde_json::{Map, Value, json};

use super::{Mode, NamespaceReport, ObjectReport, Outcome, Report};
use crate::health::HealthState;

pub fn render_json(report: &Report) -> String {
    let namespaces: Vec<Value> = report.namespaces.iter().map(namespace).collect();
    let doc = json!({
        "mode": match report.mode { Mode::Sync => "sync", Mode::Preview => "preview" },
        "set": report.set,
        "source": report.source,
        "revision": report.revision,
        "exitCode": report.exit_code(),
        "counts": counts(|o| report.objects().filter(|r| r.outcome == o).count()),
        "healthCounts": health_counts(|s| report.count_health(s)),
        "namespaces": namespaces,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
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

fn namespace(ns: &NamespaceReport) -> Value {
    json!({
        "namespace": ns.namespace,
        "failed": ns.failed(),
        "errors": ns.errors,
        "counts": counts(|o| ns.count(o)),
        "healthCounts": health_counts(|s| ns.count_health(s)),
        "objects": ns.objects.iter().map(object).collect::<Vec<_>>(),
    })
}

fn object(o: &ObjectReport) -> Value {
    json!({
        "apiVersion": o.id.api_version(),
        "kind": o.id.kind,
        "namespace": o.id.namespace,
        "name": o.id.name,
        "source": o.source(),
        "outcome": o.outcome.key(),
        "diff": o.diff,
        "message": o.message,
        "conflict": o.conflict,
        "drift": o.drift,
        // `healthy`, `unhealthy`, `inProgress`; null when not waited on.
        "health": o.health.as_ref().map(|h| h.state().key()),
        "healthMessage": o.health.as_ref().and_then(|h| h.message()),
    })
}
