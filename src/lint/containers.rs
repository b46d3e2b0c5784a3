//! How containers run: `run-as-root` (the pod's and the container's securityContext merged, as
//! the kubelet merges them) and `missing-resources` (after the namespace's LimitRange defaults).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::finding::{Check, Finding, Severity};
use super::workload::{Object, PodSpec, pod_spec};

/// Capabilities that amount to root on the node, or close to it.
const DANGEROUS_CAPABILITIES: [&str; 8] = [
    "ALL",
    "SYS_ADMIN",
    "NET_ADMIN",
    "SYS_PTRACE",
    "SYS_MODULE",
    "DAC_READ_SEARCH",
    "BPF",
    "SYS_RAWIO",
];

/// The one capability the restricted Pod Security Standard lets a container add.
const HARMLESS_CAPABILITY: &str = "NET_BIND_SERVICE";

/// `run-as-root`, per container, and for the pod's host namespaces.
pub fn check_root(object: &Object, out: &mut Vec<Finding>) {
    let Some(pod) = pod_spec(object) else {
        return;
    };
    host_namespaces(object, &pod, out);
    let pod_context = &pod.spec["securityContext"];
    for container in pod.containers() {
        let context = &container.value["securityContext"];
        let said = user(context, pod_context)
            .into_iter()
            .chain(privilege(context))
            .chain(capabilities(context));
        for (key, message, severity) in said {
            out.push(
                Finding::new(
                    Check::RunAsRoot,
                    object,
                    container.field(&format!("securityContext.{key}")),
                    format!("container {}: {message}", container.name()),
                )
                .with_severity(severity),
            );
        }
    }
}

/// What a container's securityContext says: the key, what is wrong, and how bad.
type Said = (&'static str, String, Severity);

/// `hostPID` and `hostIPC`: the pod sees the node's processes or shared memory.
fn host_namespaces(object: &Object, pod: &PodSpec<'_>, out: &mut Vec<Finding>) {
    for key in ["hostPID", "hostIPC"] {
        if pod.spec[key] == true {
            out.push(
                Finding::new(
                    Check::RunAsRoot,
                    object,
                    pod.field(key),
                    format!("the pod shares the node's {} namespace ({key})", &key[4..]),
                )
                .with_severity(Severity::High),
            );
        }
    }
}

/// Who the container runs as (its own setting, else the pod's): UID 0, or nothing that says it
/// is not root.
fn user(context: &Value, pod_context: &Value) -> Option<Said> {
    let merged = |key: &str| match &context[key] {
        Value::Null => &pod_context[key],
        own => own,
    };
    if merged("runAsUser").as_i64() == Some(0) {
        Some(("runAsUser", "runs as UID 0 (root)".into(), Severity::High))
    } else if merged("runAsNonRoot") != true {
        Some((
            "runAsNonRoot",
            "runAsNonRoot is not true (neither the pod nor the container sets it), so it may run as root".into(),
            Severity::High,
        ))
    } else {
        None
    }
}

/// Privileged, and privilege escalation (allowed unless turned off; moot when privileged).
fn privilege(context: &Value) -> Vec<Said> {
    let mut said = Vec::new();
    if context["privileged"] == true {
        said.push((
            "privileged",
            "is privileged (root on the node)".into(),
            Severity::Critical,
        ));
    }
    match &context["allowPrivilegeEscalation"] {
        Value::Bool(false) => {}
        Value::Bool(true) => said.push((
            "allowPrivilegeEscalation",
            "allows privilege escalation".into(),
            Severity::High,
        )),
        _ if context["privileged"] != true => said.push((
            "allowPrivilegeEscalation",
            "does not set allowPrivilegeEscalation: false (escalation is allowed by default)"
                .into(),
            Severity::Medium,
        )),
        _ => {}
    }
    said
}

/// Capabilities added beyond the harmless one; high when one of them is close to root.
fn capabilities(context: &Value) -> Option<Said> {
    let added: Vec<&str> = context["capabilities"]["add"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|c| capability(c) != HARMLESS_CAPABILITY)
        .collect();
    if added.is_empty() {
        return None;
    }
    let dangerous = added
        .iter()
        .any(|c| DANGEROUS_CAPABILITIES.contains(&capability(c)));
    let severity = match dangerous {
        true => Severity::High,
        false => Severity::Medium,
    };
    Some((
        "capabilities.add",
        format!("adds capabilities {}", added.join(", ")),
        severity,
    ))
}

/// `CAP_SYS_ADMIN` and `sys_admin` name `SYS_ADMIN`.
fn capability(name: &str) -> &str {
    let name = name.trim();
    name.strip_prefix("CAP_").unwrap_or(name)
}

/// What LimitRanges give the containers of each namespace that set none themselves.
#[derive(Debug, Default)]
pub struct LimitDefaults(BTreeMap<String, BTreeSet<&'static str>>);

const LIMIT_MEMORY: &str = "limits.memory";
const REQUEST_CPU: &str = "requests.cpu";
const REQUEST_MEMORY: &str = "requests.memory";

impl LimitDefaults {
    pub fn from_objects(objects: &[Object]) -> LimitDefaults {
        let mut defaults = LimitDefaults::default();
        for o in objects.iter().filter(|o| o.is("", "LimitRange")) {
            let entry = defaults.0.entry(o.namespace().to_string()).or_default();
            let limits = o.value["spec"]["limits"].as_array().into_iter().flatten();
            for limit in limits.filter(|l| l["type"] == "Container") {
                // A default limit is also the default request, as the API server applies it.
                if !limit["default"]["memory"].is_null() {
                    entry.extend([LIMIT_MEMORY, REQUEST_MEMORY]);
                }
                if !limit["default"]["cpu"].is_null() {
                    entry.insert(REQUEST_CPU);
                }
                if !limit["defaultRequest"]["memory"].is_null() {
                    entry.insert(REQUEST_MEMORY);
                }
                if !limit["defaultRequest"]["cpu"].is_null() {
                    entry.insert(REQUEST_CPU);
                }
            }
        }
        defaults
    }

    fn gives(&self, namespace: &str, field: &str) -> bool {
        self.0.get(namespace).is_some_and(|f| f.contains(field))
    }
}

/// `missing-resources`, per container and init container.
pub fn check_resources(object: &Object, defaults: &LimitDefaults, out: &mut Vec<Finding>) {
    let Some(pod) = pod_spec(object) else {
        return;
    };
    for container in pod_containers_with_resources(&pod) {
        let resources = &container.1["resources"];
        let missing: Vec<&str> = [LIMIT_MEMORY, REQUEST_CPU, REQUEST_MEMORY]
            .into_iter()
            .filter(|field| {
                let (section, name) = field.split_once('.').unwrap_or_default();
                resources[section][name].is_null() && !defaults.gives(object.namespace(), field)
            })
            .collect();
        if missing.is_empty() {
            continue;
        }
        let name = container.1["name"].as_str().unwrap_or("?");
        out.push(Finding::new(
            Check::MissingResources,
            object,
            format!("{}.resources", container.0),
            format!("container {name} sets no {}", missing.join(", ")),
        ));
    }
}

/// Containers and init containers (ephemeral containers take no resources).
fn pod_containers_with_resources<'a>(pod: &PodSpec<'a>) -> Vec<(String, &'a Value)> {
    pod.containers()
        .into_iter()
        .filter(|c| !c.path.contains(".ephemeralContainers["))
        .map(|c| (c.path, c.value))
        .collect()
}
