//! Day 2 on the test node: a Job whose template changes is replaced (once it finished: a running
//! one fails alone and holds nothing else back), and a Job that ran for its manifest is not run
//! again when a TTL or a cleanup deletes it, by a sync or by the agent, until its manifest
//! changes.

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams};

use super::{job, namespace, node, pod_spec, pods_summary, workspace};
use crate::support::agent::AgentProcess;
use crate::support::gitops::config_map;
use crate::support::{self, Workspace};

const WAIT: &str = "120s";

/// A Job running `script` in the node's image, with its ConfigMap `cfg` holding `value`.
fn release(ns: &str, script: &str, value: &str) -> String {
    let command = format!("[/bin/sh, -c, '{script}']");
    let pod = pod_spec(&node().workload, &command, 65534, "", "", "");
    format!(
        "{}---\n{}---\n{}",
        namespace(ns),
        config_map(ns, "cfg", value),
        job(ns, "train", "", &pod)
    )
}

async fn job_uid(ns: &str) -> Option<String> {
    let jobs = Api::<Job>::namespaced(support::client().await, ns);
    jobs.get_opt("train").await.unwrap()?.metadata.uid
}

async fn cfg(ns: &str) -> Option<String> {
    let cms = Api::<ConfigMap>::namespaced(support::client().await, ns);
    cms.get_opt("cfg")
        .await
        .unwrap()?
        .data?
        .get("value")
        .cloned()
}

#[tokio::test]
async fn a_changed_job_is_replaced_once_finished_and_a_running_one_fails_alone() {
    let test = "a_changed_job_is_replaced_once_finished_and_a_running_one_fails_alone";
    if !support::require_node(test) {
        return;
    }
    let (ws, ns) = workspace("dl-replace");
    ws.write("app.yaml", &release(&ns, "echo v1", "one"));
    let first = support::sync(ws.path(), &["--wait", "--wait-timeout", WAIT]);
    assert_eq!(first.code, 0, "{}", pods_summary(&ns).await);
    let before = job_uid(&ns).await;

    // The training Job's template changes (a new release): replaced, and said why.
    ws.write("app.yaml", &release(&ns, "echo v2", "two"));
    let preview = support::diff(ws.path(), &[]);
    assert_eq!(preview.code, 1);
    assert_contains!(
        preview.stderr,
        format!("would replace    batch/v1 Job {ns}/train: spec.template cannot change in place")
    );
    let replaced = support::sync(ws.path(), &["--wait", "--wait-timeout", WAIT, "-o", "json"]);
    assert_eq!(
        replaced.code,
        0,
        "{}\n{}",
        replaced.stderr,
        pods_summary(&ns).await
    );
    let report: serde_json::Value = serde_json::from_str(&replaced.stdout).unwrap();
    assert_eq!(report["counts"]["replaced"], 1, "{}", replaced.stdout);
    assert_ne!(job_uid(&ns).await, before, "a new Job");
    assert_eq!(cfg(&ns).await.as_deref(), Some("two"));

    // A Job still running is not killed: it fails alone, and the rest of its namespace syncs.
    ws.write("app.yaml", &release(&ns, "sleep 300", "three"));
    assert_eq!(support::sync(ws.path(), &[]).code, 0);
    let running = job_uid(&ns).await;
    ws.write("app.yaml", &release(&ns, "sleep 301", "four"));
    let alone = support::sync(ws.path(), &[]);
    assert_eq!(alone.code, 2, "the Job failed");
    assert_contains!(alone.stdout, "a running Job is not replaced");
    assert_eq!(cfg(&ns).await.as_deref(), Some("four"), "not held");
    assert_eq!(job_uid(&ns).await, running);
    // Said on purpose, it is replaced now.
    let forced = release(&ns, "sleep 301", "four").replace(
        "kind: Job\nmetadata:\n",
        "kind: Job\nmetadata:\n  annotations: {driftless.dev/replace: force}\n",
    );
    ws.write("app.yaml", &forced);
    let now = support::sync(ws.path(), &[]);
    assert_eq!(now.code, 0, "{}", now.stdout);
    assert_ne!(job_uid(&ns).await, running);
}

#[tokio::test]
async fn a_job_that_ran_is_not_run_again_after_a_cleanup_until_its_manifest_changes() {
    let test = "a_job_that_ran_is_not_run_again_after_a_cleanup_until_its_manifest_changes";
    if !support::require_node(test) {
        return;
    }
    let (ws, ns) = workspace("dl-ran");
    ws.write("app.yaml", &release(&ns, "echo once", "one"));
    let ran = support::sync(ws.path(), &["--wait", "--wait-timeout", WAIT]);
    assert_eq!(ran.code, 0, "{}", pods_summary(&ns).await);
    let jobs = Api::<Job>::namespaced(support::client().await, &ns);
    // What a TTL does: the finished Job is deleted.
    jobs.delete("train", &DeleteParams::background())
        .await
        .unwrap();
    assert!(support::eventually(|| async { job_uid(&ns).await.is_none() }).await);

    let again = support::sync(ws.path(), &["--wait", "--wait-timeout", WAIT]);
    assert_eq!(again.code, 0, "{}", again.stdout);
    assert_contains!(again.stdout, "ran to its end for this manifest");
    assert_eq!(job_uid(&ns).await, None, "not run again");
    assert_eq!(support::diff(ws.path(), &[]).code, 0, "nothing differs");

    // The agent agrees (its records are the set's), self-heal on: no drift, no new run.
    let config = format!(
        "sets:\n  - name: {}\n    source: {{directory: {}}}\n    interval: 1s\n    selfHeal: true\n",
        support::set_name(),
        ws.path().display()
    );
    let home = Workspace::new();
    home.write("agent.yaml", &config);
    let agent = AgentProcess::start(&home.file("agent.yaml"), "agent-ran", home.path());
    agent.wait_ready().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(job_uid(&ns).await, None, "{}", agent.log());
    assert_not_contains!(agent.log(), "deleted outside Git");

    // A new manifest runs once.
    ws.write("app.yaml", &release(&ns, "echo twice", "one"));
    let new = support::poll_until(Duration::from_secs(30), || async { job_uid(&ns).await }).await;
    assert!(new.is_some(), "{}", agent.log());
}
