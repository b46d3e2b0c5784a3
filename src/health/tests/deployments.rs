//! Deployments, and what their pods say (shared with every workload kind).

use serde_json::{Value, json};

use super::*;

#[test]
fn a_deployment_is_healthy_once_every_replica_is_updated_and_available() {
    let d = deployment(3, rolled_out(3));
    assert_eq!(health(Kind::Deployment, &d, &[]), Health::Healthy);
    // No replicas field: one is meant.
    let mut one = deployment(1, rolled_out(1));
    one["spec"].as_object_mut().unwrap().remove("replicas");
    assert_eq!(health(Kind::Deployment, &one, &[]), Health::Healthy);
    assert_eq!(
        health(Kind::Deployment, &deployment(0, rolled_out(0)), &[]),
        Health::Healthy
    );
}

#[test]
fn a_deployment_in_rollout_says_what_it_waits_for() {
    let stale = deployment(
        3,
        json!({"observedGeneration": 1, "replicas": 3, "updatedReplicas": 3,
        "readyReplicas": 3, "availableReplicas": 3}),
    );
    assert_eq!(
        in_progress(health(Kind::Deployment, &stale, &[])),
        "waiting for the controller to observe generation 2"
    );
    let no_status = deployment(3, Value::Null);
    assert!(in_progress(health(Kind::Deployment, &no_status, &[])).contains("generation 2"));
    let updating = deployment(
        3,
        json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 1,
               "readyReplicas": 3, "availableReplicas": 3}),
    );
    assert_eq!(
        in_progress(health(Kind::Deployment, &updating, &[])),
        "1/3 replicas updated"
    );
    let old = deployment(
        3,
        json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 3,
               "readyReplicas": 4, "availableReplicas": 4}),
    );
    assert_eq!(
        in_progress(health(Kind::Deployment, &old, &[])),
        "1 old replicas pending termination"
    );
    let starting = deployment(
        3,
        json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3,
               "readyReplicas": 2, "availableReplicas": 2}),
    );
    assert_eq!(
        in_progress(health(Kind::Deployment, &starting, &[])),
        "2/3 replicas available"
    );
}

#[test]
fn a_deployment_past_its_progress_deadline_fails() {
    let mut status = rolled_out(1);
    status["availableReplicas"] = json!(0);
    status["conditions"] = json!([{
        "type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
        "message": "ReplicaSet \"web-abc\" has timed out progressing."
    }]);
    let d = deployment(1, status);
    assert_eq!(
        failed(health(Kind::Deployment, &d, &[])),
        "progress deadline exceeded: ReplicaSet \"web-abc\" has timed out progressing."
    );
}

#[test]
fn a_deployment_whose_image_cannot_be_pulled_fails_naming_the_pull_error() {
    let mut status = rolled_out(1);
    status["readyReplicas"] = json!(0);
    status["availableReplicas"] = json!(0);
    let d = deployment(1, status);
    for reason in [
        "ErrImagePull",
        "ImagePullBackOff",
        "ErrImageNeverPull",
        "InvalidImageName",
    ] {
        let pod = waiting_pod(
            "web-abc-1",
            "local/web:2",
            reason,
            "Container image \"local/web:2\" is not present",
        );
        assert_eq!(
            failed(health(Kind::Deployment, &d, &[pod])),
            format!(
                "image cannot be pulled: {reason}: Container image \"local/web:2\" is not \
                 present (pod web-abc-1, container main)"
            )
        );
    }
    let config = waiting_pod(
        "web-abc-1",
        "local/web:2",
        "CreateContainerConfigError",
        "secret \"db\" not found",
    );
    assert_eq!(
        failed(health(Kind::Deployment, &d, &[config])),
        "container cannot start: CreateContainerConfigError: secret \"db\" not found \
         (pod web-abc-1, container main)"
    );
}

#[test]
fn only_the_workloads_own_pods_of_its_current_image_count() {
    let mut status = rolled_out(1);
    status["availableReplicas"] = json!(0);
    let d = deployment(1, status);
    let other_app = {
        let mut p = waiting_pod("api-1", "local/web:2", "ErrImagePull", "");
        p["metadata"]["labels"]["app"] = json!("api");
        p
    };
    let old_image = waiting_pod("web-old-1", "local/web:1", "ImagePullBackOff", "");
    let deleted = {
        let mut p = waiting_pod("web-abc-2", "local/web:2", "ErrImagePull", "");
        p["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
        p
    };
    assert_eq!(
        in_progress(health(
            Kind::Deployment,
            &d,
            &[other_app, old_image, deleted]
        )),
        "0/1 replicas available"
    );
    // A rolled-out Deployment is healthy whatever a leftover pod says.
    let leftover = waiting_pod("web-abc-3", "local/web:2", "ErrImagePull", "");
    assert_eq!(
        health(Kind::Deployment, &deployment(1, rolled_out(1)), &[leftover]),
        Health::Healthy
    );
}

#[test]
fn a_crash_loop_stays_in_progress_and_names_its_reason() {
    let mut status = rolled_out(1);
    status["availableReplicas"] = json!(0);
    let d = deployment(1, status);
    let mut pod = waiting_pod(
        "web-abc-1",
        "local/web:2",
        "CrashLoopBackOff",
        "back-off 10s",
    );
    pod["status"]["containerStatuses"][0]["lastState"] =
        json!({"terminated": {"exitCode": 1, "reason": "Error"}});
    assert_eq!(
        in_progress(health(Kind::Deployment, &d, &[pod])),
        "0/1 replicas available; CrashLoopBackOff (last exit: Error, code 1) \
         (pod web-abc-1, container main)"
    );
    // Between two crashes the container runs: its restarts still name the crash.
    let mut between = waiting_pod("web-abc-1", "local/web:2", "", "");
    between["status"]["containerStatuses"][0] = json!({
        "name": "main", "ready": false, "restartCount": 2, "state": {"running": {}},
        "lastState": {"terminated": {"exitCode": 3, "reason": "Error"}}
    });
    assert_eq!(
        in_progress(health(Kind::Deployment, &d, &[between])),
        "0/1 replicas available; restarted 2 times (last exit: Error, code 3) \
         (pod web-abc-1, container main)"
    );
}

#[test]
fn match_expressions_select_pods_as_the_api_server_does() {
    let mut d = deployment(1, json!({"observedGeneration": 2}));
    d["spec"]["selector"] = json!({"matchExpressions": [
        {"key": "app", "operator": "In", "values": ["web", "www"]},
        {"key": "tier", "operator": "NotIn", "values": ["db"]},
        {"key": "pod-template-hash", "operator": "Exists"},
        {"key": "canary", "operator": "DoesNotExist"}
    ]});
    let pod = waiting_pod("web-abc-1", "local/web:2", "ErrImagePull", "");
    assert!(matches!(
        health(Kind::Deployment, &d, std::slice::from_ref(&pod)),
        Health::Failed(_)
    ));
    let mut canary = pod.clone();
    canary["metadata"]["labels"]["canary"] = json!("yes");
    assert!(matches!(
        health(Kind::Deployment, &d, &[canary]),
        Health::InProgress(_)
    ));
    // No selector at all selects nothing.
    d["spec"]["selector"] = json!({});
    assert!(matches!(
        health(Kind::Deployment, &d, &[pod]),
        Health::InProgress(_)
    ));
}

/// A pod of `app: web` still Pending, with `conditions`.
fn pending_pod(name: &str, conditions: Value) -> Value {
    json!({
        "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "main", "image": "local/web:2"}]},
        "status": {"phase": "Pending", "conditions": conditions}
    })
}

#[test]
fn a_pod_no_node_can_run_says_why_and_stays_in_progress() {
    let d = deployment(
        1,
        json!({"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1}),
    );
    let unschedulable = pending_pod(
        "web-1",
        json!([{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                "message": "0/1 nodes are available: 1 Insufficient cpu."}]),
    );
    assert_eq!(
        in_progress(health(Kind::Deployment, &d, &[unschedulable])),
        "0/1 replicas available; pod web-1 is Pending: no node can run it (Unschedulable: 0/1 \
         nodes are available: 1 Insufficient cpu.)"
    );
    let gated = pending_pod(
        "web-2",
        json!([{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated",
                "message": "Scheduling is blocked due to non-empty scheduling gates"}]),
    );
    assert!(
        in_progress(health(Kind::Deployment, &d, &[gated])).ends_with(
            "pod web-2 is Pending: not scheduled: SchedulingGated: Scheduling is blocked due to \
             non-empty scheduling gates"
        )
    );
    let unplaced = pending_pod("web-3", json!([]));
    assert!(
        in_progress(health(Kind::Deployment, &d, &[unplaced]))
            .ends_with("pod web-3 is Pending: not scheduled yet (is a scheduler running?)")
    );
    let mut placed = pending_pod("web-4", json!([{"type": "PodScheduled", "status": "True"}]));
    assert_eq!(
        in_progress(health(Kind::Deployment, &d, &[placed.clone()])),
        "0/1 replicas available"
    );
    placed["spec"]["nodeName"] = json!("node-1");
    placed["status"]["conditions"] = json!([]);
    assert_eq!(
        in_progress(health(Kind::Deployment, &d, &[placed])),
        "0/1 replicas available"
    );
}

#[test]
fn pods_that_cannot_be_created_are_named_from_the_deployments_condition() {
    let d = deployment(
        2,
        json!({"observedGeneration": 2, "replicas": 0, "updatedReplicas": 0, "conditions": [
            {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
             "message": "pods \"web-abc\" is forbidden: exceeded quota: pods"}]}),
    );
    assert_eq!(
        in_progress(health(Kind::Deployment, &d, &[])),
        "0/2 replicas updated; pods cannot be created: FailedCreate: pods \"web-abc\" is \
         forbidden: exceeded quota: pods"
    );
}
