//! StatefulSets, DaemonSets, Jobs, claims, and every other kind.

use serde_json::{Value, json};

use super::*;

fn stateful_set(status: Value, strategy: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "db", "generation": 3},
        "spec": {"replicas": 2, "updateStrategy": strategy,
                 "selector": {"matchLabels": {"app": "db"}},
                 "template": {"spec": {"containers": [{"name": "db", "image": "local/db:1"}]}}},
        "status": status
    })
}

#[test]
fn a_stateful_set_is_healthy_once_its_revision_is_rolled_out_and_ready() {
    let rolling = json!({"type": "RollingUpdate"});
    let done = json!({"observedGeneration": 3, "replicas": 2, "readyReplicas": 2,
        "updatedReplicas": 2, "currentRevision": "db-2", "updateRevision": "db-2"});
    assert_eq!(
        health(Kind::StatefulSet, &stateful_set(done, rolling.clone()), &[]),
        Health::Healthy
    );
    let rolling_out = json!({"observedGeneration": 3, "replicas": 2, "readyReplicas": 2,
        "updatedReplicas": 1, "currentRevision": "db-1", "updateRevision": "db-2"});
    assert_eq!(
        in_progress(health(
            Kind::StatefulSet,
            &stateful_set(rolling_out.clone(), rolling.clone()),
            &[]
        )),
        "rolling out revision db-2: 1/2 replicas updated"
    );
    let not_ready = json!({"observedGeneration": 3, "replicas": 2, "readyReplicas": 1,
        "currentRevision": "db-2", "updateRevision": "db-2"});
    assert_eq!(
        in_progress(health(
            Kind::StatefulSet,
            &stateful_set(not_ready, rolling.clone()),
            &[]
        )),
        "1/2 replicas ready"
    );
    let stale = json!({"observedGeneration": 2, "readyReplicas": 2});
    assert!(
        in_progress(health(
            Kind::StatefulSet,
            &stateful_set(stale, rolling),
            &[]
        ))
        .contains("generation 3")
    );
    // OnDelete: pods change when deleted; a partition: only the pods above it are updated.
    let on_delete = json!({"type": "OnDelete"});
    assert_eq!(
        health(
            Kind::StatefulSet,
            &stateful_set(rolling_out.clone(), on_delete),
            &[]
        ),
        Health::Healthy
    );
    let partition = json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 1}});
    assert_eq!(
        health(
            Kind::StatefulSet,
            &stateful_set(rolling_out, partition),
            &[]
        ),
        Health::Healthy
    );
}

#[test]
fn a_stateful_set_whose_image_cannot_be_pulled_fails() {
    let status = json!({"observedGeneration": 3, "replicas": 1, "readyReplicas": 0});
    let s = stateful_set(status, json!({"type": "RollingUpdate"}));
    let mut pod = waiting_pod("db-0", "local/db:1", "ErrImageNeverPull", "not present");
    pod["metadata"]["labels"] = json!({"app": "db"});
    pod["spec"]["containers"][0]["name"] = json!("db");
    pod["status"]["containerStatuses"][0]["name"] = json!("db");
    assert_eq!(
        failed(health(Kind::StatefulSet, &s, &[pod])),
        "image cannot be pulled: ErrImageNeverPull: not present (pod db-0, container db)"
    );
}

fn daemon_set(status: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "agent", "generation": 1},
        "spec": {"selector": {"matchLabels": {"app": "agent"}}},
        "status": status
    })
}

#[test]
fn a_daemon_set_is_healthy_once_every_scheduled_pod_is_updated_and_ready() {
    let done = json!({"observedGeneration": 1, "desiredNumberScheduled": 3,
        "updatedNumberScheduled": 3, "numberReady": 3, "numberAvailable": 3});
    assert_eq!(
        health(Kind::DaemonSet, &daemon_set(done), &[]),
        Health::Healthy
    );
    let updating = json!({"observedGeneration": 1, "desiredNumberScheduled": 3,
        "updatedNumberScheduled": 2, "numberReady": 3});
    assert_eq!(
        in_progress(health(Kind::DaemonSet, &daemon_set(updating), &[])),
        "2/3 pods updated"
    );
    let starting = json!({"observedGeneration": 1, "desiredNumberScheduled": 3,
        "updatedNumberScheduled": 3, "numberReady": 1});
    assert_eq!(
        in_progress(health(Kind::DaemonSet, &daemon_set(starting), &[])),
        "1/3 pods ready"
    );
    let unobserved = json!({"observedGeneration": 0});
    assert!(matches!(
        health(Kind::DaemonSet, &daemon_set(unobserved), &[]),
        Health::InProgress(_)
    ));
    // No node to run on: nothing to wait for.
    let nowhere = json!({"observedGeneration": 1, "desiredNumberScheduled": 0});
    assert_eq!(
        health(Kind::DaemonSet, &daemon_set(nowhere), &[]),
        Health::Healthy
    );
}

fn job(spec: Value, status: Value) -> Value {
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate"},
           "spec": spec, "status": status})
}

#[test]
fn a_job_is_healthy_once_complete() {
    let complete = json!({"succeeded": 1, "conditions": [
        {"type": "Complete", "status": "True"}]});
    assert_eq!(
        health(Kind::Job, &job(json!({}), complete), &[]),
        Health::Healthy
    );
    let running = json!({"active": 1});
    assert_eq!(
        in_progress(health(
            Kind::Job,
            &job(json!({"completions": 3}), running),
            &[]
        )),
        "0/3 completions, 1 active"
    );
    let retrying = json!({"active": 1, "failed": 2});
    assert_eq!(
        in_progress(health(Kind::Job, &job(json!({}), retrying), &[])),
        "0/1 completions, 1 active, 2 failed"
    );
    let suspended = job(json!({"suspend": true}), Value::Null);
    assert_eq!(health(Kind::Job, &suspended, &[]), Health::Healthy);
}

#[test]
fn a_job_past_its_backoff_limit_fails_with_the_reason() {
    let status = json!({"failed": 1, "conditions": [{"type": "Failed", "status": "True",
        "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]});
    assert_eq!(
        failed(health(
            Kind::Job,
            &job(json!({"backoffLimit": 0}), status),
            &[]
        )),
        "job failed: BackoffLimitExceeded: Job has reached the specified backoff limit"
    );
    let deadline = json!({"conditions": [{"type": "Failed", "status": "True",
        "reason": "DeadlineExceeded"}]});
    assert_eq!(
        failed(health(Kind::Job, &job(json!({}), deadline), &[])),
        "job failed: DeadlineExceeded"
    );
}

#[test]
fn a_job_whose_image_cannot_be_pulled_fails() {
    let spec = json!({"selector": {"matchLabels": {"controller-uid": "u1"}},
        "template": {"spec": {"containers": [{"name": "main", "image": "local/nope:1"}]}}});
    let mut pod = waiting_pod("migrate-x", "local/nope:1", "ErrImageNeverPull", "");
    pod["metadata"]["labels"] = json!({"controller-uid": "u1", "job-name": "migrate"});
    assert_eq!(
        failed(health(Kind::Job, &job(spec, json!({"active": 1})), &[pod])),
        "image cannot be pulled: ErrImageNeverPull (pod migrate-x, container main)"
    );
}

#[test]
fn a_claim_is_healthy_once_bound() {
    let claim = |phase: Value| json!({"kind": "PersistentVolumeClaim", "status": {"phase": phase}});
    assert_eq!(
        health(Kind::PersistentVolumeClaim, &claim(json!("Bound")), &[]),
        Health::Healthy
    );
    assert_eq!(
        in_progress(health(
            Kind::PersistentVolumeClaim,
            &claim(json!("Pending")),
            &[]
        )),
        "phase Pending, not Bound"
    );
    assert!(matches!(
        health(Kind::PersistentVolumeClaim, &claim(Value::Null), &[]),
        Health::InProgress(_)
    ));
    assert!(
        failed(health(
            Kind::PersistentVolumeClaim,
            &claim(json!("Lost")),
            &[]
        ))
        .contains("Lost")
    );
}

#[test]
fn other_kinds_are_healthy_once_they_exist_unless_being_deleted() {
    let cm = json!({"kind": "ConfigMap", "metadata": {"name": "settings"}});
    assert_eq!(health(Kind::Other, &cm, &[]), Health::Healthy);
    let going = json!({"kind": "ConfigMap",
        "metadata": {"name": "settings", "deletionTimestamp": "2024-01-01T00:00:00Z"}});
    assert_eq!(
        in_progress(health(Kind::Other, &going, &[])),
        "being deleted"
    );
}

#[test]
fn kinds_are_told_apart_by_group_and_name() {
    assert_eq!(Kind::of("apps", "Deployment"), Kind::Deployment);
    assert_eq!(Kind::of("batch", "Job"), Kind::Job);
    assert_eq!(
        Kind::of("", "PersistentVolumeClaim"),
        Kind::PersistentVolumeClaim
    );
    assert_eq!(Kind::of("example.com", "Deployment"), Kind::Other);
    assert!(Kind::Job.runs_pods() && !Kind::PersistentVolumeClaim.runs_pods());
}

#[test]
fn health_reads_the_same_in_every_output() {
    assert_eq!(Health::Healthy.to_string(), "healthy");
    let failed = Health::Failed("job failed: BackoffLimitExceeded".into());
    assert_eq!(
        failed.to_string(),
        "unhealthy: job failed: BackoffLimitExceeded"
    );
    assert_eq!(failed.state().key(), "unhealthy");
    let waiting = Health::InProgress("1/2 replicas available".into());
    assert_eq!(waiting.to_string(), "in progress: 1/2 replicas available");
    assert_eq!(waiting.state().key(), "inProgress");
    assert!(failed.is_final() && Health::Healthy.is_final() && !waiting.is_final());
}
