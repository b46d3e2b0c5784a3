//! One rule per kind, after kstatus: a workload is healthy once its controller has observed the
//! latest generation and the replicas it asks for are updated and ready; a Job once complete; a
//! claim once bound. A workload whose pods cannot start fails at once rather than time out.

use serde_json::Value;

use super::Health;
use super::pods::{self, PodTrouble};

pub(super) fn deployment(d: &Value, pods: &[Value]) -> Health {
    if let Some(waiting) = unobserved(d) {
        return with_pods(d, pods, waiting);
    }
    let status = &d["status"];
    if let Some(c) = condition(status, "Progressing")
        && c["status"] == "False"
        && c["reason"] == "ProgressDeadlineExceeded"
    {
        return Health::Failed(format!(
            "progress deadline exceeded: {}",
            text(&c["message"])
        ));
    }
    let desired = count(&d["spec"]["replicas"], 1);
    let updated = count(&status["updatedReplicas"], 0);
    let total = count(&status["replicas"], 0);
    let available = count(&status["availableReplicas"], 0);
    let ready = count(&status["readyReplicas"], 0);
    let mut waiting = if updated < desired {
        format!("{updated}/{desired} replicas updated")
    } else if total > updated {
        format!("{} old replicas pending termination", total - updated)
    } else if available < desired {
        format!("{available}/{desired} replicas available")
    } else if ready < desired {
        format!("{ready}/{desired} replicas ready")
    } else {
        return Health::Healthy;
    };
    // Pods that were never made (a quota, an admission webhook): no pod to tell why.
    if let Some(c) = condition(status, "ReplicaFailure").filter(|c| c["status"] == "True") {
        waiting.push_str(&format!(
            "; pods cannot be created: {}: {}",
            text(&c["reason"]),
            text(&c["message"])
        ));
    }
    with_pods(d, pods, waiting)
}

pub(super) fn stateful_set(s: &Value, pods: &[Value]) -> Health {
    if let Some(waiting) = unobserved(s) {
        return with_pods(s, pods, waiting);
    }
    let (spec, status) = (&s["spec"], &s["status"]);
    let desired = count(&spec["replicas"], 1);
    let ready = count(&status["readyReplicas"], 0);
    let updated = count(&status["updatedReplicas"], 0);
    let strategy = &spec["updateStrategy"];
    let partition = count(&strategy["rollingUpdate"]["partition"], 0);
    let (current, update) = (&status["currentRevision"], &status["updateRevision"]);
    let waiting = if ready < desired {
        format!("{ready}/{desired} replicas ready")
    } else if strategy["type"] == "OnDelete" {
        // Pods change only when someone deletes them: nothing to wait for.
        return Health::Healthy;
    } else if partition > 0 {
        let wanted = desired.saturating_sub(partition);
        if updated >= wanted {
            return Health::Healthy;
        }
        format!("{updated}/{wanted} replicas updated (partition {partition})")
    } else if update.is_string() && current != update {
        format!(
            "rolling out revision {}: {updated}/{desired} replicas updated",
            text(update)
        )
    } else {
        return Health::Healthy;
    };
    with_pods(s, pods, waiting)
}

pub(super) fn daemon_set(d: &Value, pods: &[Value]) -> Health {
    if let Some(waiting) = unobserved(d) {
        return with_pods(d, pods, waiting);
    }
    let status = &d["status"];
    let desired = count(&status["desiredNumberScheduled"], 0);
    let updated = count(&status["updatedNumberScheduled"], 0);
    let ready = count(&status["numberReady"], 0);
    let waiting = if updated < desired {
        format!("{updated}/{desired} pods updated")
    } else if ready < desired {
        format!("{ready}/{desired} pods ready")
    } else {
        return Health::Healthy;
    };
    with_pods(d, pods, waiting)
}

pub(super) fn job(j: &Value, pods: &[Value]) -> Health {
    let status = &j["status"];
    if let Some(c) = condition(status, "Failed").filter(|c| c["status"] == "True") {
        let reason = text(&c["reason"]);
        return Health::Failed(match c["message"].as_str() {
            Some(message) => format!("job failed: {reason}: {message}"),
            None => format!("job failed: {reason}"),
        });
    }
    if condition(status, "Complete").is_some_and(|c| c["status"] == "True") {
        return Health::Healthy;
    }
    // A suspended Job runs nothing until resumed, as its manifest asks: nothing to wait for.
    if j["spec"]["suspend"] == true {
        return Health::Healthy;
    }
    let completions = count(&j["spec"]["completions"], 1);
    let succeeded = count(&status["succeeded"], 0);
    let active = count(&status["active"], 0);
    let mut waiting = format!("{succeeded}/{completions} completions, {active} active");
    match count(&status["failed"], 0) {
        0 => {}
        failed => waiting.push_str(&format!(", {failed} failed")),
    }
    with_pods(j, pods, waiting)
}

pub(super) fn claim(c: &Value) -> Health {
    match c["status"]["phase"].as_str() {
        Some("Bound") => Health::Healthy,
        Some("Lost") => Health::Failed("the claim lost its volume (phase Lost)".into()),
        Some(phase) => Health::InProgress(format!("phase {phase}, not Bound")),
        None => Health::InProgress("no phase yet, not Bound".into()),
    }
}

/// An unhealthy workload's verdict once its pods are seen: failed if they cannot start,
/// otherwise in progress with `waiting`, and what holds its pods back, if anything does.
fn with_pods(workload: &Value, pods: &[Value], waiting: String) -> Health {
    match pods::trouble(workload, pods) {
        Some(PodTrouble::CannotStart(why)) => Health::Failed(why),
        Some(PodTrouble::Stalled(why)) => Health::InProgress(format!("{waiting}; {why}")),
        None => Health::InProgress(waiting),
    }
}

/// Why the status cannot be trusted yet: the controller has not seen the latest spec.
fn unobserved(object: &Value) -> Option<String> {
    let generation = object["metadata"]["generation"].as_i64().unwrap_or(0);
    match object["status"]["observedGeneration"].as_i64() {
        Some(observed) if observed >= generation => None,
        _ => Some(format!(
            "waiting for the controller to observe generation {generation}"
        )),
    }
}

fn condition<'a>(status: &'a Value, kind: &str) -> Option<&'a Value> {
    status["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

fn count(value: &Value, default: u64) -> u64 {
    value.as_u64().unwrap_or(default)
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("?")
}
