//! Where pods hide in objects: the pod spec of every workload kind (and of custom resources that
//! embed a pod template the usual way), its containers, and label selectors.

use std::sync::Arc;

use serde_json::Value;

use crate::render::{ObjectId, Origin};

/// One object of the source, parsed once for every check.
#[derive(Debug, Clone)]
pub struct Object {
    pub id: Arc<ObjectId>,
    pub origin: Arc<Origin>,
    pub value: Value,
    /// Read from a SOPS file: encrypted in Git, whatever it holds once decrypted.
    pub encrypted: bool,
}

impl Object {
    pub fn is(&self, group: &str, kind: &str) -> bool {
        self.id.group == group && self.id.kind == kind
    }

    pub fn namespace(&self) -> &str {
        self.id.namespace.as_deref().unwrap_or("")
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.value["metadata"]["annotations"][key].as_str()
    }
}

/// The pod spec of a workload, with where it sits and its pods' labels.
pub struct PodSpec<'a> {
    /// `spec.template.spec`.
    pub path: String,
    pub spec: &'a Value,
    /// The pod template's metadata (labels, annotations).
    pub metadata: &'a Value,
}

/// One container (or init or ephemeral container) of a pod spec.
pub struct Container<'a> {
    /// `spec.template.spec.containers[0]`.
    pub path: String,
    pub value: &'a Value,
}

impl Container<'_> {
    pub fn name(&self) -> &str {
        self.value["name"].as_str().unwrap_or("?")
    }
    pub fn field(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }
}

/// The pod spec of a Pod, a CronJob, a PodTemplate, or any object with `spec.template.spec`
/// holding containers (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, an Argo Rollout).
pub fn pod_spec(object: &Object) -> Option<PodSpec<'_>> {
    let v = &object.value;
    let (path, template): (&str, &Value) = match (object.id.group.as_str(), object.id.kind.as_str())
    {
        ("", "Pod") => return pod_at("spec", &v["spec"], &v["metadata"]),
        ("", "PodTemplate") => ("template", &v["template"]),
        ("batch", "CronJob") => (
            "spec.jobTemplate.spec.template",
            &v["spec"]["jobTemplate"]["spec"]["template"],
        ),
        _ => ("spec.template", &v["spec"]["template"]),
    };
    pod_at(
        &format!("{path}.spec"),
        &template["spec"],
        &template["metadata"],
    )
}

fn pod_at<'a>(path: &str, spec: &'a Value, metadata: &'a Value) -> Option<PodSpec<'a>> {
    spec["containers"].as_array()?;
    Some(PodSpec {
        path: path.to_string(),
        spec,
        metadata,
    })
}

impl<'a> PodSpec<'a> {
    /// Containers, then init containers, then ephemeral containers.
    pub fn containers(&self) -> Vec<Container<'a>> {
        let mut out = Vec::new();
        for list in ["containers", "initContainers", "ephemeralContainers"] {
            for (i, value) in self.spec[list].as_array().into_iter().flatten().enumerate() {
                out.push(Container {
                    path: format!("{}.{list}[{i}]", self.path),
                    value,
                });
            }
        }
        out
    }

    pub fn labels(&self) -> &'a Value {
        &self.metadata["labels"]
    }

    pub fn field(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }
}

/// Whether a Kubernetes label selector (`matchLabels`, `matchExpressions`) selects `labels`.
/// An empty selector selects everything; a selector this code cannot read selects nothing.
pub fn selects(selector: &Value, labels: &Value) -> bool {
    if selector.is_null() {
        return true;
    }
    let Some(selector) = selector.as_object() else {
        return false;
    };
    let label = |key: &str| labels[key].as_str();
    let match_labels = selector.get("matchLabels").and_then(Value::as_object);
    let labels_ok = match_labels
        .into_iter()
        .flatten()
        .all(|(k, v)| label(k).is_some() && label(k) == v.as_str());
    let expressions = selector.get("matchExpressions").and_then(Value::as_array);
    let expressions_ok = expressions.into_iter().flatten().all(|e| {
        let key = e["key"].as_str().unwrap_or_default();
        let values: Vec<&str> = e["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        match (e["operator"].as_str(), label(key)) {
            (Some("In"), Some(v)) => values.contains(&v),
            (Some("NotIn"), Some(v)) => !values.contains(&v),
            (Some("NotIn" | "DoesNotExist"), None) => true,
            (Some("Exists"), Some(_)) => true,
            _ => false,
        }
    });
    labels_ok && expressions_ok
}
