//! `no-backup`: persistent storage that nothing in the source says is backed up.
//!
//! Covered is a PersistentVolumeClaim, or a StatefulSet with volume claim templates, that
//! - is annotated `driftless.dev/backup: <how>` (any value but `none` or `false`), or
//! - (a StatefulSet) has the Velero pod annotation `backup.velero.io/backup-volumes`, or
//! - falls under a Velero `Schedule` or `Backup` of the source (its namespace included, not
//!   excluded, and its labels selected), or a K8up `Schedule` in its namespace.

use serde_json::Value;

use super::finding::{Check, Finding};
use super::workload::{Object, selects};

/// The annotation that says how an object's data is backed up.
pub const BACKUP_ANNOTATION: &str = "driftless.dev/backup";
const VELERO_VOLUMES: &str = "backup.velero.io/backup-volumes";

/// The backup policies the source holds.
#[derive(Debug, Default)]
pub struct Policies {
    /// Velero: (included namespaces, excluded namespaces, label selector).
    velero: Vec<(Vec<String>, Vec<String>, Value)>,
    /// Namespaces with a K8up Schedule.
    k8up: Vec<String>,
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

impl Policies {
    pub fn from_objects(objects: &[Object]) -> Policies {
        let mut policies = Policies::default();
        for o in objects {
            let spec = if o.is("velero.io", "Schedule") {
                &o.value["spec"]["template"]
            } else if o.is("velero.io", "Backup") {
                &o.value["spec"]
            } else {
                if o.is("k8up.io", "Schedule") {
                    policies.k8up.push(o.namespace().to_string());
                }
                continue;
            };
            policies.velero.push((
                strings(&spec["includedNamespaces"]),
                strings(&spec["excludedNamespaces"]),
                spec["labelSelector"].clone(),
            ));
        }
        policies
    }

    fn cover(&self, namespace: &str, labels: &Value) -> bool {
        let velero = self.velero.iter().any(|(included, excluded, selector)| {
            let in_scope =
                included.is_empty() || included.iter().any(|n| n == "*" || n == namespace);
            in_scope && !excluded.iter().any(|n| n == namespace) && selects(selector, labels)
        });
        velero || self.k8up.iter().any(|n| n == namespace)
    }
}

pub fn check(object: &Object, policies: &Policies, out: &mut Vec<Finding>) {
    let claims: Vec<String> = if object.is("", "PersistentVolumeClaim") {
        vec![object.id.name.clone()]
    } else if object.is("apps", "StatefulSet") {
        object.value["spec"]["volumeClaimTemplates"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| t["metadata"]["name"].as_str().unwrap_or("?").to_string())
            .collect()
    } else {
        return;
    };
    if claims.is_empty() {
        return;
    }
    let annotated = object
        .annotation(BACKUP_ANNOTATION)
        .map(str::trim)
        .filter(|v| !v.is_empty());
    if annotated.is_some_and(|v| !matches!(v.to_ascii_lowercase().as_str(), "none" | "false")) {
        return;
    }
    let template = &object.value["spec"]["template"]["metadata"];
    if !template["annotations"][VELERO_VOLUMES].is_null() {
        return;
    }
    if policies.cover(object.namespace(), &object.value["metadata"]["labels"]) {
        return;
    }
    let what = if object.id.kind == "StatefulSet" {
        format!("its volume claims ({})", claims.join(", "))
    } else {
        "this claim".to_string()
    };
    let why = match annotated {
        Some(_) => format!("{BACKUP_ANNOTATION} says none"),
        None => format!("no {BACKUP_ANNOTATION} annotation, Velero or K8up schedule covers it"),
    };
    out.push(Finding::new(
        Check::NoBackup,
        object,
        format!("metadata.annotations.{BACKUP_ANNOTATION}"),
        format!("nothing backs up {what}: {why}"),
    ));
}
