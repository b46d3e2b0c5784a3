//! `sync --wait` on the test node: it returns once what it applied runs, fails the namespace of
//! what cannot run (and only that namespace), ends at its timeout, and stops on a signal. Each
//! run has a short `--wait-timeout`, so that a wrong verdict cannot hang the suite.

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::Stdio;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::Api;

use super::{deployment, deployment_of, job, namespace, node, pod_spec, pods_summary, workspace};
use crate::support;

/// Long enough for pods on a loaded machine; a failure is expected well before it.
const WAIT: &str = "120s";

#[tokio::test]
async fn sync_wait_returns_once_a_deployment_is_available() {
    let test = "sync_wait_returns_once_a_deployment_is_available";
    if !support::require_node(test) {
        return;
    }
    let (ws, ns) = workspace("dl-wait-web");
    let web = deployment(&ns, "web", 2, &node().workload);
    ws.write("web.yaml", &format!("{}---\n{web}", namespace(&ns)));
    let run = support::sync(ws.path(), &["--wait", "--wait-timeout", WAIT]);
    assert_eq!(run.code, 0, "{}", pods_summary(&ns).await);
    assert_contains!(run.stdout, format!("apps/v1 Deployment {ns}/web [healthy]"));
    // What the wait called healthy, the cluster says too.
    let deployments = Api::<Deployment>::namespaced(support::client().await, &ns);
    let status = deployments.get("web").await.unwrap().status.unwrap();
    assert_eq!(status.available_replicas, Some(2));

    // A sync that changes nothing still waits on what it manages, and says so in JSON.
    let again = support::sync(
        ws.path(),
        &["--wait", "--wait-timeout", "30s", "-o", "json"],
    );
    assert_eq!(again.code, 0);
    let report: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    let objects = report["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|n| n["objects"].as_array().unwrap());
    let web = objects
        .into_iter()
        .find(|o| o["kind"] == "Deployment")
        .unwrap();
    assert_eq!(
        (&web["outcome"], &web["health"]),
        (&"unchanged".into(), &"healthy".into())
    );
    assert_eq!(
        report["healthCounts"]["healthy"], 2,
        "the Namespace and web"
    );
}

#[tokio::test]
async fn sync_wait_fails_the_namespace_whose_image_cannot_be_pulled_and_no_other() {
    let test = "sync_wait_fails_the_namespace_whose_image_cannot_be_pulled_and_no_other";
    if !support::require_node(test) {
        return;
    }
    let (ws, bad) = workspace("dl-wait-noimg");
    let (_other, good) = workspace("dl-wait-fine");
    let ghost = deployment(&bad, "ghost", 1, "docker.io/local/does-not-exist:1");
    let web = deployment(&good, "web", 1, &node().workload);
    ws.write("bad.yaml", &format!("{}---\n{ghost}", namespace(&bad)));
    ws.write("good.yaml", &format!("{}---\n{web}", namespace(&good)));
    let started = Instant::now();
    let run = support::sync(ws.path(), &["--wait", "--wait-timeout", WAIT]);
    let took = started.elapsed();
    assert_eq!(run.code, 2, "{}", pods_summary(&bad).await);
    let out = &run.stdout;
    assert_contains!(out, format!("namespace {bad}: FAILED"));
    assert_contains!(
        out,
        format!(
            "apps/v1 Deployment {bad}/ghost [unhealthy: image cannot be pulled: ErrImageNeverPull"
        )
    );
    assert_contains!(out, format!("namespace {good}: ok"));
    assert_contains!(out, format!("apps/v1 Deployment {good}/web [healthy]"));
    // The pull error ends the wait: it does not sit out the timeout.
    assert!(took < Duration::from_secs(100), "took {took:?}");
    // Without a terminal: one plain line per namespace as it ends.
    assert_contains!(
        run.stderr,
        format!("wait: namespace {good} is healthy (1 object)")
    );
    assert_contains!(
        run.stderr,
        format!(
            "wait: namespace {bad} is unhealthy: apps/v1 Deployment {bad}/ghost: image cannot \
             be pulled: ErrImageNeverPull"
        )
    );
}

#[tokio::test]
async fn sync_wait_fails_naming_a_job_that_exits_1() {
    let test = "sync_wait_fails_naming_a_job_that_exits_1";
    if !support::require_node(test) {
        return;
    }
    let (ws, ns) = workspace("dl-wait-job");
    let command = "[/bin/sh, -c, 'echo failing on purpose; exit 1']";
    let pod = pod_spec(&node().workload, command, 65534, "", "", "");
    ws.write(
        "job.yaml",
        &format!("{}---\n{}", namespace(&ns), job(&ns, "fails", "", &pod)),
    );
    let run = support::sync(ws.path(), &["--wait", "--wait-timeout", WAIT]);
    assert_eq!(run.code, 2, "{}", pods_summary(&ns).await);
    assert_contains!(
        run.stdout,
        format!("batch/v1 Job {ns}/fails [unhealthy: job failed: BackoffLimitExceeded")
    );
    assert_contains!(run.stdout, format!("namespace {ns}: FAILED"));
}

/// A Deployment whose pod runs but never becomes ready: nothing listens on the probed port.
fn never_ready(ns: &str) -> String {
    let probe =
        "  readinessProbe:\n    httpGet: {path: /ready, port: 8080}\n    periodSeconds: 1\n";
    let command = "[/bin/sleep, '3600']";
    let spec = pod_spec(&node().workload, command, 65534, probe, "", "");
    format!(
        "{}---\n{}",
        namespace(ns),
        deployment_of(ns, "idle", 1, &spec)
    )
}

#[tokio::test]
async fn sync_wait_ends_at_its_timeout_with_what_is_still_in_progress() {
    let test = "sync_wait_ends_at_its_timeout_with_what_is_still_in_progress";
    if !support::require_node(test) {
        return;
    }
    let (ws, ns) = workspace("dl-wait-slow");
    ws.write("idle.yaml", &never_ready(&ns));
    let started = Instant::now();
    let run = support::sync(ws.path(), &["--wait", "--wait-timeout", "6s"]);
    assert_eq!(run.code, 2);
    assert!(started.elapsed() < Duration::from_secs(40));
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains(&format!("apps/v1 Deployment {ns}/idle")))
        .unwrap_or_default();
    assert_contains!(
        line,
        ["[in progress: ", "(not healthy within 6s)]"],
        "{}",
        run.stdout
    );
    assert_contains!(
        run.stderr,
        format!("wait: namespace {ns} is not healthy: 1 object still in progress")
    );
}

#[tokio::test]
async fn sync_wait_says_why_no_node_runs_a_pod_and_that_the_timeout_passed() {
    let test = "sync_wait_says_why_no_node_runs_a_pod_and_that_the_timeout_passed";
    if !support::require_node(test) {
        return;
    }
    let (ws, ns) = workspace("dl-wait-pending");
    let spec = pod_spec(&node().workload, "[/bin/sleep, '3600']", 65534, "", "", "");
    let nowhere = format!("{spec}nodeSelector: {{driftless.dev/no-such-node: 'true'}}\n");
    let huge = spec
        .replace("requests: {cpu: 10m", "requests: {cpu: '1000'")
        .replace("limits: {cpu: 500m", "limits: {cpu: '1000'");
    ws.write(
        "pending.yaml",
        &format!(
            "{}---\n{}---\n{}",
            namespace(&ns),
            deployment_of(&ns, "nowhere", 1, &nowhere),
            deployment_of(&ns, "huge", 1, &huge)
        ),
    );
    let run = support::sync(ws.path(), &["--wait", "--wait-timeout", "15s"]);
    assert_eq!(run.code, 2);
    for (name, why) in [
        ("nowhere", "node(s) didn't match"),
        ("huge", "Insufficient cpu"),
    ] {
        let line = run
            .stdout
            .lines()
            .find(|l| l.contains(&format!("apps/v1 Deployment {ns}/{name} ")))
            .unwrap_or_default();
        assert_contains!(
            line,
            [
                "[in progress: 0/1 replicas available; pod ",
                " is Pending: no node can run it (Unschedulable: ",
                why,
                "(not healthy within 15s)]"
            ],
            "{name}: {}",
            run.stdout
        );
    }
}

#[tokio::test]
async fn sync_wait_stops_at_once_on_sigint_and_reports_what_was_in_progress() {
    let test = "sync_wait_stops_at_once_on_sigint_and_reports_what_was_in_progress";
    if !support::require_node(test) {
        return;
    }
    let (ws, ns) = workspace("dl-wait-int");
    ws.write("idle.yaml", &never_ready(&ns));
    let source = ws.path().to_string_lossy().into_owned();
    let args = [
        "sync",
        "--source",
        &source,
        "--wait",
        "--wait-timeout",
        WAIT,
        "-v",
    ];
    let mut child = support::command(&support::cluster().kubeconfig, &args, &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let waiting = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.contains("waiting for health"));
    assert!(waiting, "the run never started waiting");
    // A round or two in: the wait is polling, not starting.
    std::thread::sleep(Duration::from_millis(1500));
    let signalled = Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let _rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    let out = reader.join().unwrap();
    assert_eq!(status.code(), Some(130), "{out}");
    assert!(signalled.elapsed() < Duration::from_secs(10));
    assert_contains!(
        out,
        [
            format!("apps/v1 Deployment {ns}/idle [in progress: "),
            "(wait stopped: interrupted (SIGINT))]"
        ]
    );
}
