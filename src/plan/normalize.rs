//! One normalization for every output path: what the server adds that is not "the object".

use serde_json::Value;

/// Metadata the server owns; a diff of these is noise, never a real change.
const SERVER_METADATA: [&str; 6] = [
    "managedFields",
    "resourceVersion",
    "uid",
    "generation",
    "creationTimestamp",
    "selfLink",
];

/// The ApplySet membership label (KEP-3659) a sync puts on every object it applies.
pub const PART_OF_LABEL: &str = "applyset.kubernetes.io/part-of";
/// The sync set that owns an object (on members and parents), as Flux labels objects with their
/// Kustomization's name: `kubectl get all -A -l driftless.dev/sync-set=platform`.
pub const SET_LABEL: &str = "driftless.dev/sync-set";

/// `after` with driftless's membership labels as `before` has them: what a manifest would change
/// in an object it does not manage, apart from claiming it.
pub fn without_membership(after: &mut Value, before: &Value) {
    let Some(labels) = after["metadata"]
        .get_mut("labels")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for key in [PART_OF_LABEL, SET_LABEL] {
        match before["metadata"]["labels"].get(key) {
            Some(value) => labels.insert(key.to_string(), value.clone()),
            None => labels.remove(key),
        };
    }
    if labels.is_empty()
        && let Some(meta) = after["metadata"].as_object_mut()
    {
        meta.remove("labels");
    }
}

/// Client-side apply's copy of the manifest: redundant with the object and may hold Secret data.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Returns the object without status, server-owned metadata and the last-applied annotation.
pub fn normalize(object: &Value) -> Value {
    let mut out = object.clone();
    let Some(map) = out.as_object_mut() else {
        return out;
    };
    map.remove("status");
    if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
        for key in SERVER_METADATA {
            meta.remove(key);
        }
        let now_empty = match meta.get_mut("annotations").and_then(Value::as_object_mut) {
            Some(annotations) => {
                annotations.remove(LAST_APPLIED);
                annotations.is_empty()
            }
            None => false,
        };
        if now_empty {
            meta.remove("annotations");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strips_server_fields_and_status() {
        let live = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {
                "name": "web", "namespace": "ns", "uid": "u", "resourceVersion": "42",
                "generation": 3, "creationTimestamp": "2020-01-01T00:00:00Z", "selfLink": "/x",
                "managedFields": [{"manager": "driftless"}],
                "annotations": {LAST_APPLIED: "{}"},
                "labels": {"app": "web"}
            },
            "spec": {"replicas": 2},
            "status": {"replicas": 2}
        });
        assert_eq!(
            normalize(&live),
            json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "ns", "labels": {"app": "web"}},
                "spec": {"replicas": 2}
            })
        );
    }

    #[test]
    fn keeps_other_annotations() {
        let obj = json!({"metadata": {"annotations": {LAST_APPLIED: "{}", "team": "ml"}}});
        assert_eq!(
            normalize(&obj),
            json!({"metadata": {"annotations": {"team": "ml"}}})
        );
    }

    #[test]
    fn leaves_non_objects_alone() {
        assert_eq!(normalize(&json!("x")), json!("x"));
    }
}
