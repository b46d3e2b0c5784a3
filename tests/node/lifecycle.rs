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

/// A Job hook: `annotations` (YAML flow entries) make it one; it runs `script`.
fn hook(ns: &str, name: &str, annotations: &str, script: &str) -> String {
    let command = format!("[/bin/sh, -c, '{script}']");
    let pod = pod_spec(&node().workload, &command, 65534, "", "", "");
    job(ns, name, "", &pod).replace(
        "kind: Job\nmetadata:\n",
        &format!("kind: Job\nmetadata:\n  annotations: {{{annotations}}}\n"),
    )
}

/// The creation time of a ConfigMap, and of a Job's completion.
async fn created(ns: &str, name: &str) -> String {
    let cms = Api::<ConfigMap>::namespaced(support::client().await, ns);
    let cm = cms.get(name).await.unwrap();
    cm.metadata.creation_timestamp.unwrap().0.to_string()
}

async fn completed(ns: &str, name: &str) -> Option<String> {
    let jobs = Api::<Job>::namespaced(support::client().await, ns);
    let job = jobs.get_opt(name).await.unwrap()?;
    Some(job.status?.completion_time?.0.to_string())
}

#[tokio::test]
async fn argo_cd_hooks_and_sync_waves_run_in_order_and_a_failed_pre_hook_holds_the_rest() {
    let test = "argo_cd_hooks_and_sync_waves_run_in_order_and_a_failed_pre_hook_holds_the_rest";
    if !support::require_node(test) {
        return;
    }
    let (ws, ns) = workspace("dl-waves");
    let wave = |name: &str, n: i64| {
        config_map(&ns, name, "v").replace(
            "metadata:\n",
            &format!("metadata:\n  annotations: {{argocd.argoproj.io/sync-wave: \"{n}\"}}\n"),
        )
    };
    let pre = hook(
        &ns,
        "pre",
        "argocd.argoproj.io/hook: PreSync",
        "sleep 1; echo pre",
    );
    let post = hook(
        &ns,
        "post",
        "argocd.argoproj.io/hook: PostSync",
        "echo post",
    );
    ws.write(
        "app.yaml",
        &[
            namespace(&ns),
            pre,
            wave("second", 2),
            wave("first", 1),
            post,
        ]
        .join("---\n"),
    );
    let run = support::sync(ws.path(), &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, pods_summary(&ns).await);
    // Each stage was healthy before the next began.
    let pre_done = completed(&ns, "pre").await.expect("the PreSync hook ran");
    let (first, second) = (created(&ns, "first").await, created(&ns, "second").await);
    let post_done = completed(&ns, "post").await.expect("the PostSync hook ran");
    assert!(pre_done <= first && first <= second && second <= post_done);
    // The report lists them in that order.
    let at = |name: &str| run.stdout.find(&format!("{ns}/{name}")).unwrap();
    assert!(at("pre") < at("first") && at("first") < at("second") && at("second") < at("post"));

    // The same revision again: the hooks do not run again.
    let again = support::sync(ws.path(), &[]);
    assert_eq!(again.code, 0);
    assert_not_contains!(again.stdout, "replaced");

    // A PreSync hook that fails: the namespace's later stages are held, with the hook's reason.
    let failing = hook(&ns, "pre", "argocd.argoproj.io/hook: PreSync", "exit 3");
    ws.write(
        "app.yaml",
        &[
            namespace(&ns),
            failing,
            wave("second", 2).replace("\"v\"", "\"w\""),
            wave("first", 1),
        ]
        .join("---\n"),
    );
    let held = support::sync(ws.path(), &[]);
    assert_eq!(held.code, 2, "{}", held.stdout);
    assert_contains!(
        held.stdout,
        ["BackoffLimitExceeded", "an earlier stage failed"]
    );
    assert_eq!(cfg_value(&ns, "second").await.as_deref(), Some("v"), "held");
}

async fn cfg_value(ns: &str, name: &str) -> Option<String> {
    let cms = Api::<ConfigMap>::namespaced(support::client().await, ns);
    cms.get_opt(name)
        .await
        .unwrap()?
        .data?
        .get("value")
        .cloned()
}

/// A chart whose Deployment reads `version`, with a pre-install/pre-upgrade migration Job hook
/// running `migrate` (deleted once it succeeded, as charts that own a database do).
fn chart(ws: &Workspace, ns: &str, version: &str, migrate: &str) {
    ws.write("namespace.yaml", &namespace(ns));
    ws.write(
        "app/Chart.yaml",
        "apiVersion: v2\nname: app\nversion: 0.1.0\n",
    );
    ws.write("app/driftless-helm.yaml", &format!("namespace: {ns}\n"));
    ws.write("app/values.yaml", &format!("version: \"{version}\"\n"));
    let command = "[/bin/httpd, -f, -p, '8080', -h, /www]";
    let container = "  env: [{name: VERSION, value: \"{{ .Values.version }}\"}]\n";
    let pod = pod_spec(&node().workload, command, 65534, container, "", "");
    let pod = pod.replace("  env: [{name: HOME, value: /tmp}]\n", "");
    ws.write(
        "app/templates/deploy.yaml",
        &super::deployment_of(ns, "web", 1, &pod),
    );
    let job = hook(
        ns,
        "migrate",
        "helm.sh/hook: \"pre-install,pre-upgrade\", helm.sh/hook-weight: \"-5\", helm.sh/hook-delete-policy: \"before-hook-creation,hook-succeeded\"",
        migrate,
    );
    ws.write("app/templates/migrate.yaml", &job);
}

async fn deployed_version(ns: &str) -> Option<String> {
    let deployments =
        Api::<k8s_openapi::api::apps::v1::Deployment>::namespaced(support::client().await, ns);
    let d = deployments.get_opt("web").await.unwrap()?;
    let env = d.spec?.template.spec?.containers.first()?.env.clone()?;
    env.into_iter().find(|e| e.name == "VERSION")?.value
}

#[tokio::test]
async fn a_charts_migration_hook_runs_before_the_release_changes_and_a_failing_one_holds_it() {
    let test = "a_charts_migration_hook_runs_before_the_release_changes_and_a_failing_one_holds_it";
    if !support::require_node(test) {
        return;
    }
    let (ws, ns) = workspace("dl-helm-hook");
    chart(&ws, &ns, "1", "echo migrate 1");
    let install = support::sync(ws.path(), &[]);
    assert_eq!(
        install.code,
        0,
        "{}\n{}",
        install.stdout,
        pods_summary(&ns).await
    );
    assert_eq!(deployed_version(&ns).await.as_deref(), Some("1"));
    assert_eq!(
        completed(&ns, "migrate").await,
        None,
        "deleted once it succeeded"
    );

    // An upgrade: the hook runs again first, then the Deployment changes.
    chart(&ws, &ns, "2", "echo migrate 2");
    let upgrade = support::sync(ws.path(), &[]);
    assert_eq!(
        upgrade.code,
        0,
        "{}\n{}",
        upgrade.stdout,
        pods_summary(&ns).await
    );
    let at = |name: &str| upgrade.stdout.find(&format!("{ns}/{name}")).unwrap();
    assert!(at("migrate") < at("web"), "{}", upgrade.stdout);
    assert_contains!(
        upgrade.stdout,
        format!("batch/v1 Job {ns}/migrate [pre-sync hook, weight -5] [healthy]")
    );
    assert_eq!(deployed_version(&ns).await.as_deref(), Some("2"));
    assert_eq!(completed(&ns, "migrate").await, None);

    // A migration that fails holds the release, with the Job's reason.
    chart(&ws, &ns, "3", "echo cannot migrate; exit 1");
    let failed = support::sync(ws.path(), &[]);
    assert_eq!(failed.code, 2);
    assert_contains!(
        failed.stdout,
        ["BackoffLimitExceeded", "an earlier stage failed"]
    );
    assert_eq!(deployed_version(&ns).await.as_deref(), Some("2"), "held");
}
