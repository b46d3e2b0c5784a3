//! Every rule, on literal objects: healthy, in progress and failed for each kind.

mod deployments;
mod other_kinds;

use serde_json::{Value, json};

use super::*;

fn deployment(replicas: u64, status: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ns", "generation": 2},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"spec": {"containers": [{"name": "main", "image": "local/web:2"}]}}
        },
        "status": status
    })
}

fn rolled_out(n: u64) -> Value {
    json!({"observedGeneration": 2, "replicas": n, "updatedReplicas": n,
           "readyReplicas": n, "availableReplicas": n})
}

/// A pod of `app: web` whose container `main` runs `image` and waits for `reason`.
fn waiting_pod(name: &str, image: &str, reason: &str, message: &str) -> Value {
    json!({
        "metadata": {"name": name, "labels": {"app": "web", "pod-template-hash": "abc"}},
        "spec": {"containers": [{"name": "main", "image": image}]},
        "status": {"phase": "Pending", "containerStatuses": [{
            "name": "main", "image": image, "ready": false, "restartCount": 0,
            "state": {"waiting": {"reason": reason, "message": message}}
        }]}
    })
}

fn in_progress(h: Health) -> String {
    match h {
        Health::InProgress(why) => why,
        other => panic!("expected in progress, got {other:?}"),
    }
}

fn failed(h: Health) -> String {
    match h {
        Health::Failed(why) => why,
        other => panic!("expected failed, got {other:?}"),
    }
}
