//! What a workload's pods say about it: an image that cannot be pulled or a container that
//! cannot be configured will not fix itself; a crash loop or a pod no node can run might (a
//! node may join), so it only explains the wait. Pods are the workload's by its label selector, and only containers
//! that run the image its template asks for count (a pod of an older template may still fail
//! while a rollout replaces it).

use serde_json::Value;

/// Waiting reasons that waiting will not cure.
const PULL_FAILURES: [&str; 4] = [
    "ErrImagePull",
    "ImagePullBackOff",
    "ErrImageNeverPull",
    "InvalidImageName",
];
const CONFIG_FAILURES: [&str; 1] = ["CreateContainerConfigError"];
/// Waiting reasons that may pass (a dependency comes up), worth naming while waiting.
const STALLS: [&str; 3] = [
    "CrashLoopBackOff",
    "RunContainerError",
    "CreateContainerError",
];

/// Longest pod or container message quoted (registries write long ones).
const MESSAGE_LIMIT: usize = 300;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PodTrouble {
    /// The workload has failed: its pods will not start by waiting.
    CannotStart(String),
    /// Something holds its pods back that may yet pass.
    Stalled(String),
}

/// The first reason, in pod order, that the workload's pods do not start: a failure if any
/// pod has one, else the first stall.
pub(super) fn trouble(workload: &Value, pods: &[Value]) -> Option<PodTrouble> {
    let selector = &workload["spec"]["selector"];
    let template = &workload["spec"]["template"]["spec"];
    let mut stalled = None;
    let ours = pods
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null() && selects(selector, p));
    for pod in ours {
        let pod_name = pod["metadata"]["name"].as_str().unwrap_or("?");
        for status in container_statuses(pod) {
            let container = status["name"].as_str().unwrap_or("?");
            if !runs_template_image(template, pod, container) {
                continue;
            }
            let waiting = &status["state"]["waiting"];
            let Some(reason) = waiting["reason"].as_str() else {
                // Between two crashes a container runs (or has just ended): its restarts tell.
                if stalled.is_none()
                    && status["ready"] != true
                    && let Some(restarts) = status["restartCount"].as_u64().filter(|&n| n > 0)
                {
                    let last = last_exit(status);
                    stalled = Some(PodTrouble::Stalled(format!(
                        "restarted {restarts} times{last} (pod {pod_name}, container {container})"
                    )));
                }
                continue;
            };
            let detail = match one_line(waiting["message"].as_str().unwrap_or("")) {
                message if message.is_empty() => reason.to_string(),
                message => format!("{reason}: {message}"),
            };
            let place = format!("(pod {pod_name}, container {container})");
            if PULL_FAILURES.contains(&reason) {
                return Some(PodTrouble::CannotStart(format!(
                    "image cannot be pulled: {detail} {place}"
                )));
            }
            if CONFIG_FAILURES.contains(&reason) {
                return Some(PodTrouble::CannotStart(format!(
                    "container cannot start: {detail} {place}"
                )));
            }
            if STALLS.contains(&reason) && stalled.is_none() {
                let last = last_exit(status);
                stalled = Some(PodTrouble::Stalled(format!("{reason}{last} {place}")));
            }
        }
        if stalled.is_none()
            && of_template(template, pod)
            && let Some(why) = unscheduled(pod)
        {
            stalled = Some(PodTrouble::Stalled(format!(
                "pod {pod_name} is Pending: {why}"
            )));
        }
    }
    stalled
}

/// Whether a label selector (`matchLabels`, `matchExpressions`) selects the pod. An empty or
/// missing selector selects nothing here: no pod is blamed on a workload by accident.
fn selects(selector: &Value, pod: &Value) -> bool {
    let labels = &pod["metadata"]["labels"];
    let match_labels = selector["matchLabels"].as_object();
    let expressions = selector["matchExpressions"].as_array();
    if match_labels.is_none_or(|m| m.is_empty()) && expressions.is_none_or(|e| e.is_empty()) {
        return false;
    }
    match_labels
        .into_iter()
        .flatten()
        .all(|(key, value)| labels[key.as_str()] == *value)
        && expressions
            .into_iter()
            .flatten()
            .all(|e| expression_holds(e, labels))
}

fn expression_holds(expression: &Value, labels: &Value) -> bool {
    let key = expression["key"].as_str().unwrap_or_default();
    let value = labels[key].as_str();
    let values: Vec<&str> = expression["values"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let listed = value.is_some_and(|v| values.contains(&v));
    match expression["operator"].as_str() {
        Some("In") => listed,
        Some("NotIn") => !listed,
        Some("Exists") => value.is_some(),
        Some("DoesNotExist") => value.is_none(),
        _ => false,
    }
}

fn container_statuses(pod: &Value) -> impl Iterator<Item = &Value> {
    let status = &pod["status"];
    ["initContainerStatuses", "containerStatuses"]
        .into_iter()
        .filter_map(|field| status[field].as_array())
        .flatten()
}

/// Whether the pod's container of that name runs the image the workload's template names.
fn runs_template_image(template: &Value, pod: &Value, container: &str) -> bool {
    match (
        image_of(template, container),
        image_of(&pod["spec"], container),
    ) {
        (Some(wanted), Some(running)) => wanted == running,
        _ => false,
    }
}

fn image_of<'a>(pod_spec: &'a Value, container: &str) -> Option<&'a str> {
    ["initContainers", "containers"]
        .into_iter()
        .filter_map(|field| pod_spec[field].as_array())
        .flatten()
        .find(|c| c["name"] == container)
        .and_then(|c| c["image"].as_str())
}

/// ` (last exit: Error, code 1)` when the container ran before.
fn last_exit(status: &Value) -> String {
    let terminated = &status["lastState"]["terminated"];
    match terminated["exitCode"].as_i64() {
        Some(code) => {
            let reason = terminated["reason"].as_str().unwrap_or("exited");
            format!(" (last exit: {reason}, code {code})")
        }
        None => String::new(),
    }
}

/// Whether the pod runs the workload's template (an older template's pod may wait for nothing).
fn of_template(template: &Value, pod: &Value) -> bool {
    pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .any(|name| runs_template_image(template, pod, name))
}

/// Why a Pending pod has no node, from its `PodScheduled` condition: no node can run it (the
/// scheduler's reason), it is held back (`SchedulingGated`), or nothing has placed it yet.
fn unscheduled(pod: &Value) -> Option<String> {
    if pod["status"]["phase"] != "Pending" || pod["spec"]["nodeName"].is_string() {
        return None;
    }
    let scheduled = pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "PodScheduled");
    let Some(condition) = scheduled else {
        // Containers that report a state have a node, whatever the conditions say.
        let started = pod["status"]["containerStatuses"].is_array();
        return (!started).then(|| "not scheduled yet (is a scheduler running?)".into());
    };
    if condition["status"] == "True" {
        return None;
    }
    let reason = condition["reason"].as_str().unwrap_or("not scheduled");
    let message = one_line(condition["message"].as_str().unwrap_or_default());
    Some(match (reason, message.as_str()) {
        ("Unschedulable", "") => "no node can run it (Unschedulable)".into(),
        ("Unschedulable", m) => format!("no node can run it (Unschedulable: {m})"),
        (r, "") => format!("not scheduled: {r}"),
        (r, m) => format!("not scheduled: {r}: {m}"),
    })
}

/// A message on one line, cut to a readable length.
fn one_line(message: &str) -> String {
    let flat = message.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(MESSAGE_LIMIT) {
        Some((cut, _)) => format!("{}...", &flat[..cut]),
        None => flat,
    }
}
