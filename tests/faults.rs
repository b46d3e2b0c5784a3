//! Faults on the real control plane: etcd and the API server killed, frozen and restarted mid-run,
//! a throttling server, signals, a run killed mid-prune, a Git remote that stops answering. No
//! mocks: the faults are real processes misbehaving, in control planes of each test's own.
//!
//! Each case checks four things: the run ends in bounded time; the exit code and message say
//! what failed; nothing is lost and nothing wrongly pruned; the next run converges with the
//! inventory complete. The cases that fault a sync at one of its steps are tables of
//! [`Step`]s, run by [`scenario::run`].

mod corpus;
mod harness;
mod scenario;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;

use self::corpus::Corpus;
use self::harness::{Interrupted, signal};
use self::scenario::{APPLIED, Fault, PRUNED, PRUNING, STEP, Step};
use crate::support::identity::Identity;
use crate::support::private::PrivateCluster;
use crate::support::{self, audit, driftless_as};

/// Prunes may take every object, one at a time, so a fault lands between two.
const PRUNE_ONE_BY_ONE: &[&str] = &["--max-prune", "100%", "--concurrency", "1"];

const API_SERVER_KILLED: Step = Step {
    fault: Fault::ControlPlane("kube-apiserver", "KILL"),
    within: Some(15),
    says: Some("not attempted: API server unreachable"),
    error: Some("API server unreachable"),
    ..STEP
};

#[tokio::test]
async fn the_api_server_killed_or_frozen_mid_sync_ends_the_run_in_bounded_time() {
    let cluster = PrivateCluster::start(&[]);
    let steps = [
        // Killed while applying, restarted once the run ended: it ends within 15 s, at any
        // concurrency.
        Step {
            flags: &["--concurrency", "8"],
            converge: false,
            ..API_SERVER_KILLED
        },
        Step {
            flags: &["--concurrency", "1"],
            ..API_SERVER_KILLED
        },
        // Frozen while applying: bounded by the request timeout, then converges once thawed.
        Step {
            version: Some("v2"),
            flags: &["--request-timeout", "3s"],
            fault: Fault::ControlPlane("kube-apiserver", "STOP"),
            within: Some(20),
            says: Some("not attempted"),
            ..STEP
        },
    ];
    scenario::run(Some(&cluster), &Corpus::new(5, 60), false, &steps).await;
}

#[tokio::test]
async fn etcd_frozen_at_apply_time_and_killed_at_prune_time_loses_nothing() {
    let cluster = PrivateCluster::start(&[]);
    let steps = [
        Step {
            version: Some("v2"),
            flags: &["--request-timeout", "3s"],
            fault: Fault::ControlPlane("etcd", "STOP"),
            within: Some(20),
            ..STEP
        },
        // Killed while pruning, restarted on the same data: what was dropped goes, nothing else.
        Step {
            drop: 30,
            flags: &[
                "--max-prune",
                "100%",
                "--request-timeout",
                "3s",
                "--concurrency",
                "1",
            ],
            fault: Fault::ControlPlane("etcd", "KILL"),
            at: PRUNED,
            within: Some(20),
            ..STEP
        },
    ];
    scenario::run(Some(&cluster), &Corpus::new(5, 60), true, &steps).await;
}

#[tokio::test]
async fn a_throttling_server_is_followed_not_flooded() {
    let cluster = PrivateCluster::start(&["--throttle"]);
    let kc = cluster.kubeconfig().to_path_buf();
    // system:masters is never throttled: a ServiceAccount is.
    let identity = Identity::service_account_on(&kc, &support::unique("dl-throttled")).await;
    let corpus = Corpus::new(5, 60);
    let src = corpus.path();
    let mark = audit::mark(&cluster.audit_log);
    let started = Instant::now();
    let run = driftless_as(
        identity.path(),
        &["sync", "--source", &src, "--prune", "--concurrency", "16"],
        &[],
    );
    let took = started.elapsed();
    assert_eq!(run.code, 0, "no object fails for being throttled");
    assert_contains!(run.stdout, format!("{} objects in", corpus.objects()));
    let requests = audit::requests_since(&cluster.audit_log, mark, &identity.username).await;
    eprintln!(
        "throttled cold sync of {} objects: {:.1}s, {} requests answered, {} answered 429",
        corpus.objects(),
        took.as_secs_f32(),
        requests.answered(),
        requests.throttled()
    );
    assert!(
        requests.throttled() > 0,
        "the server did throttle: {requests:?}"
    );
    assert!(
        requests.throttled() < requests.answered(),
        "fewer 429s than answered requests: {requests:?}"
    );
    // A hang guard, not a speed target (that is measured in the benchmark).
    assert!(took < Duration::from_secs(240), "took {took:?}");
}

#[tokio::test]
async fn signals_stop_new_writes_print_the_partial_report_and_keep_inventories_whole() {
    let steps = [
        Step {
            fault: Fault::Driftless("TERM"),
            at: APPLIED,
            code: 143, // 128 + 15
            within: Some(35),
            says: Some("not attempted: interrupted (SIGTERM)"),
            interrupted: Some(stopped_while_applying),
            ..STEP
        },
        Step {
            drop: 30,
            flags: PRUNE_ONE_BY_ONE,
            fault: Fault::Driftless("INT"),
            at: PRUNED,
            code: 130, // 128 + 2
            interrupted: Some(stopped_while_pruning),
            ..STEP
        },
    ];
    scenario::run(None, &Corpus::new(5, 60), false, &steps).await;
}

/// Some objects applied, some not attempted, nothing pruned yet.
fn stopped_while_applying(line: Interrupted, _dropped: usize) {
    let (applied, pruned, not_attempted) = line;
    assert!(applied > 0 && not_attempted > 0 && pruned == 0, "{line:?}");
}

/// Nothing left to apply; each prune done or reported undone.
fn stopped_while_pruning(line: Interrupted, dropped: usize) {
    let (applied, pruned, not_attempted) = line;
    assert_eq!(applied, 0);
    assert_eq!(
        pruned + not_attempted,
        dropped,
        "each prune done or reported undone"
    );
}

#[tokio::test]
async fn sigint_inherited_as_ignored_still_stops_the_run() {
    let kc = support::cluster().kubeconfig.clone();
    let corpus = Corpus::new(3, 60);
    let src = corpus.path();
    let script = format!(
        "trap '' INT; exec '{}' \"$@\"",
        env!("CARGO_BIN_EXE_driftless")
    );
    let kubeconfig = kc.to_string_lossy().into_owned();
    let mut child = std::process::Command::new("sh")
        .args(["-c", &script, "driftless", "sync", "--source", &src, "-v"])
        .args(["--kubeconfig", &kubeconfig])
        .env("DRIFTLESS_NAME", support::unique("set"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    for line in lines.by_ref() {
        if line.unwrap_or_default().contains(": applied ") {
            signal(pid, "INT");
            break;
        }
    }
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{rest:#?}");
    assert!(
        rest.iter().any(|l| l.starts_with("interrupted: ")),
        "{rest:#?}"
    );
    support::delete_namespaces(&corpus.namespaces()).await;
}

#[tokio::test]
async fn a_run_killed_between_the_inventory_write_and_the_deletes_is_completed_next_time() {
    let steps = [Step {
        version: Some("v2"),
        drop: 8,
        flags: PRUNE_ONE_BY_ONE,
        fault: Fault::Driftless("KILL"),
        at: PRUNING,
        code: -1, // killed
        ..STEP
    }];
    scenario::run(None, &Corpus::new(3, 40), true, &steps).await;
}

#[tokio::test]
async fn a_git_remote_that_stops_answering_applies_nothing_and_names_the_last_good_revision() {
    use crate::support::git::{TestRepo, servers};
    use crate::support::proxy::StallingProxy;

    let ns = support::unique("dl-stall");
    let repo = TestRepo::served();
    let cm = |value: &str| {
        format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: {ns}\ndata:\n  value: \"{value}\"\n"
        )
    };
    repo.write("app.yaml", &cm("one"));
    let good = repo.commit("one");
    // The Git server, reached through a proxy that can stop answering.
    let direct = servers().url("GIT_TESTENV_HTTP", &repo);
    let authority = direct
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let proxy = StallingProxy::start(&authority);
    let url = direct.replace(&authority, &format!("127.0.0.1:{}", proxy.port));
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().to_string_lossy().into_owned();
    let token = servers().get("GIT_TESTENV_TOKEN_FILE");
    let args = [
        "sync",
        "--source",
        &url,
        "--cache-dir",
        &cache_dir,
        "--git-token-file",
        token,
        "--fetch-timeout",
        "3s",
    ];
    assert_eq!(support::driftless(&args).code, 0);

    repo.write("app.yaml", &cm("two"));
    repo.commit("two");
    proxy.stall(true);
    let started = Instant::now();
    let stalled = support::driftless(&args);
    assert_eq!(stalled.code, 2);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "bounded: {:?}",
        started.elapsed()
    );
    assert_contains!(
        stalled.stderr,
        [
            "--fetch-timeout",
            format!("nothing applied; the cluster keeps revision {good}")
        ]
    );
    let live = Api::<ConfigMap>::namespaced(support::client().await, &ns)
        .get("settings")
        .await
        .unwrap();
    assert_eq!(live.data.unwrap()["value"], "one", "nothing applied");

    proxy.stall(false);
    assert_eq!(support::driftless(&args).code, 0, "the next run converges");
    let live = Api::<ConfigMap>::namespaced(support::client().await, &ns)
        .get("settings")
        .await
        .unwrap();
    assert_eq!(live.data.unwrap()["value"], "two");
    support::delete_namespaces(&[ns]).await;
}
