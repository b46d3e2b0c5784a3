//! Faults on the real control plane: etcd and the API server killed, frozen and restarted mid-run,
//! a throttling server, signals, a run killed mid-prune, a Git remote that stops answering. No
//! mocks: the faults are real processes misbehaving, in control planes of each test's own.
//!
//! Each case checks four things: the run ends in bounded time; the exit code and message say
//! what failed; nothing is lost and nothing wrongly pruned; the next run converges with the
//! inventory complete.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;

use crate::support::identity::Identity;
use crate::support::private::PrivateCluster;
use crate::support::{self, Run, audit, driftless_as};

#[path = "../benches/corpus.rs"]
mod corpus;

/// A run that met a fault, and how long it went on after the fault.
struct Faulted {
    run: Run,
    after_fault: Duration,
}

/// Runs driftless with `-v`; as soon as a line of its log contains `trigger`, calls `fault`
/// with its pid. The fault must happen: a run that never logs `trigger` fails the test.
fn run_with_fault(
    kubeconfig: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    trigger: &str,
    fault: impl FnOnce(u32),
) -> Faulted {
    let mut args = args.to_vec();
    args.push("-v");
    let mut child = support::command(kubeconfig, &args, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn driftless");
    let mut stdout = child.stdout.take().expect("stdout");
    let out_reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    let mut stderr = String::new();
    let mut fault = Some(fault);
    let mut faulted_at = None;
    for line in BufReader::new(child.stderr.take().expect("stderr")).lines() {
        let line = line.unwrap_or_default();
        if faulted_at.is_none() && line.contains(trigger) {
            if let Some(f) = fault.take() {
                f(child.id());
            }
            faulted_at = Some(Instant::now());
        }
        stderr.push_str(&line);
        stderr.push('\n');
    }
    let status = child.wait().expect("wait for driftless");
    let stdout = out_reader.join().unwrap_or_default();
    let faulted_at = faulted_at.unwrap_or_else(|| {
        panic!("the run never logged {trigger:?}: no fault injected\n{stdout}{stderr}")
    });
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr,
    };
    eprintln!(
        "$ driftless {} (fault at {trigger:?})\n-> exit {} {:.1}s after the fault\n{}{}",
        args.join(" "),
        run.code,
        faulted_at.elapsed().as_secs_f32(),
        run.stdout,
        tail(&run.stderr, 30)
    );
    Faulted {
        after_fault: faulted_at.elapsed(),
        run,
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n") + "\n"
}

/// A corpus of `namespaces` x `per` objects in a temporary folder.
struct Corpus {
    dir: tempfile::TempDir,
    prefix: String,
    namespaces: usize,
    per: usize,
}

impl Corpus {
    fn new(namespaces: usize, per: usize) -> Corpus {
        let corpus = Corpus {
            dir: tempfile::tempdir().unwrap(),
            prefix: support::unique("dl-fault"),
            namespaces,
            per,
        };
        corpus.write("v1");
        corpus
    }

    fn write(&self, version: &str) -> Vec<String> {
        corpus::write(
            self.dir.path(),
            &self.prefix,
            self.namespaces,
            self.per,
            version,
        )
    }

    fn path(&self) -> String {
        self.dir.path().to_string_lossy().into_owned()
    }

    fn namespaces(&self) -> Vec<String> {
        (0..self.namespaces)
            .map(|n| format!("{}-{n:03}", self.prefix))
            .collect()
    }

    /// Removes `n` ConfigMaps from the source, namespace after namespace; returns them as
    /// `namespace/name`.
    fn drop_config_maps(&self, n: usize) -> Vec<String> {
        let mut dropped = Vec::new();
        for ns in self.namespaces() {
            for i in (0..self.per).step_by(corpus::KINDS.len()) {
                let name = format!("configmap-{i:04}");
                let file = self.dir.path().join(&ns).join(format!("{name}.yaml"));
                if dropped.len() < n && std::fs::remove_file(file).is_ok() {
                    dropped.push(format!("{ns}/{name}"));
                }
            }
        }
        assert_eq!(dropped.len(), n, "the corpus holds {n} ConfigMaps to drop");
        dropped
    }

    fn objects(&self) -> usize {
        self.namespaces * (self.per + 1)
    }
}

/// The ConfigMaps of the corpus that the cluster holds, with their `version`.
async fn config_map_versions(kubeconfig: &Path, corpus: &Corpus) -> Vec<(String, String)> {
    let client = support::client_for(kubeconfig).await;
    let mut found = Vec::new();
    for ns in corpus.namespaces() {
        let list = Api::<ConfigMap>::namespaced(client.clone(), &ns)
            .list(&Default::default())
            .await
            .unwrap();
        for cm in list.items {
            let name = cm.metadata.name.clone().unwrap_or_default();
            if name.starts_with("configmap-") {
                let version = cm.data.unwrap_or_default().remove("version");
                found.push((format!("{ns}/{name}"), version.unwrap_or_default()));
            }
        }
    }
    found.sort();
    found
}

/// Converged: a sync changes nothing more, `diff --prune` is clean, and exactly the
/// ConfigMaps of the source are live, at `version`.
async fn assert_converged(kubeconfig: &Path, corpus: &Corpus, version: &str) {
    let src = corpus.path();
    let sync = driftless_as(kubeconfig, &["sync", "--source", &src, "--prune"], &[]);
    assert_eq!(sync.code, 0, "the next run converges");
    let diff = driftless_as(kubeconfig, &["diff", "--source", &src, "--prune"], &[]);
    assert_eq!(diff.code, 0, "and then nothing differs");
    let mut expected = Vec::new();
    for ns in corpus.namespaces() {
        for entry in std::fs::read_dir(corpus.dir.path().join(&ns)).unwrap() {
            let file = entry.unwrap().file_name().to_string_lossy().into_owned();
            if let Some(name) = file.strip_prefix("configmap-") {
                expected.push(format!("{ns}/configmap-{}", name.trim_end_matches(".yaml")));
            }
        }
    }
    expected.sort();
    let live = config_map_versions(kubeconfig, corpus).await;
    let names: Vec<&String> = live.iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        expected.iter().collect::<Vec<_>>(),
        "every ConfigMap of the source, no other"
    );
    assert!(live.iter().all(|(_, v)| v == version), "all at {version}");
}

/// Lines of driftless's own log at error level: one per cause, never one per object.
fn error_lines(run: &Run) -> Vec<&str> {
    run.stderr
        .lines()
        .filter(|l| l.contains(" ERROR "))
        .collect()
}

#[tokio::test]
async fn the_api_server_killed_or_frozen_mid_sync_ends_the_run_in_bounded_time() {
    let cluster = PrivateCluster::start(&[]);
    let kc = cluster.kubeconfig().to_path_buf();
    let corpus = Corpus::new(5, 60);
    let src = corpus.path();

    // Killed while applying, not restarted: the run ends within 15 s, at any concurrency.
    for concurrency in ["8", "1"] {
        let faulted = run_with_fault(
            &kc,
            &[
                "sync",
                "--source",
                &src,
                "--prune",
                "--concurrency",
                concurrency,
            ],
            &[],
            ": applied ",
            |_| cluster.signal("kube-apiserver", "KILL"),
        );
        assert_eq!(faulted.run.code, 2, "a dead server fails the run");
        assert!(
            faulted.after_fault < Duration::from_secs(15),
            "ended {:?} after the server died",
            faulted.after_fault
        );
        assert_contains!(faulted.run.stdout, "not attempted: API server unreachable");
        let errors = error_lines(&faulted.run);
        assert_eq!(errors.len(), 1, "one line for the cause: {errors:#?}");
        assert_contains!(errors[0], "API server unreachable");
        cluster.restart("kube-apiserver");
        cluster.wait_ready().await;
    }
    assert_converged(&kc, &corpus, "v1").await;

    // Frozen while applying: bounded by the request timeout, then converges once thawed.
    corpus.write("v2");
    let faulted = run_with_fault(
        &kc,
        &[
            "sync",
            "--source",
            &src,
            "--prune",
            "--request-timeout",
            "3s",
        ],
        &[],
        ": applied ",
        |_| cluster.signal("kube-apiserver", "STOP"),
    );
    assert_eq!(faulted.run.code, 2);
    assert!(
        faulted.after_fault < Duration::from_secs(20),
        "ended {:?} after the server froze",
        faulted.after_fault
    );
    assert_contains!(faulted.run.stdout, "not attempted");
    cluster.signal("kube-apiserver", "CONT");
    cluster.wait_ready().await;
    assert_converged(&kc, &corpus, "v2").await;
}

#[tokio::test]
async fn etcd_frozen_at_apply_time_and_killed_at_prune_time_loses_nothing() {
    let cluster = PrivateCluster::start(&[]);
    let kc = cluster.kubeconfig().to_path_buf();
    let corpus = Corpus::new(5, 60);
    let src = corpus.path();
    let synced = driftless_as(&kc, &["sync", "--source", &src, "--prune"], &[]);
    assert_eq!(synced.code, 0);

    corpus.write("v2");
    let faulted = run_with_fault(
        &kc,
        &[
            "sync",
            "--source",
            &src,
            "--prune",
            "--request-timeout",
            "3s",
        ],
        &[],
        ": applied ",
        |_| cluster.signal("etcd", "STOP"),
    );
    assert_eq!(faulted.run.code, 2);
    assert!(
        faulted.after_fault < Duration::from_secs(20),
        "ended {:?} after etcd froze",
        faulted.after_fault
    );
    cluster.signal("etcd", "CONT");
    cluster.wait_ready().await;
    assert_converged(&kc, &corpus, "v2").await;

    // Killed while pruning, restarted on the same data: what was dropped goes, nothing else.
    let dropped = corpus.drop_config_maps(30);
    let faulted = run_with_fault(
        &kc,
        &[
            "sync",
            "--source",
            &src,
            "--prune",
            "--max-prune",
            "100%",
            "--request-timeout",
            "3s",
            "--concurrency",
            "1",
        ],
        &[],
        ": pruned ",
        |_| cluster.signal("etcd", "KILL"),
    );
    assert_eq!(faulted.run.code, 2);
    assert!(
        faulted.after_fault < Duration::from_secs(20),
        "ended {:?} after etcd died",
        faulted.after_fault
    );
    cluster.restart("etcd");
    cluster.wait_ready().await;
    assert_converged(&kc, &corpus, "v2").await;
    let live = config_map_versions(&kc, &corpus).await;
    for name in dropped {
        assert!(!live.iter().any(|(n, _)| *n == name), "{name} is gone");
    }
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
    let kc = support::cluster().kubeconfig.clone();
    let corpus = Corpus::new(5, 60);
    let src = corpus.path();

    let faulted = run_with_fault(
        &kc,
        &["sync", "--source", &src, "--prune"],
        &[],
        ": applied ",
        |pid| signal(pid, "TERM"),
    );
    assert_eq!(faulted.run.code, 143, "SIGTERM: 128 + 15");
    let line = interrupted_line(&faulted.run);
    let (applied, pruned, not_attempted) = line;
    assert!(applied > 0 && not_attempted > 0 && pruned == 0, "{line:?}");
    assert_contains!(faulted.run.stdout, "not attempted: interrupted (SIGTERM)");
    assert!(
        faulted.after_fault < Duration::from_secs(35),
        "{:?}",
        faulted.after_fault
    );
    assert_converged(&kc, &corpus, "v1").await;

    let dropped = corpus.drop_config_maps(30);
    let faulted = run_with_fault(
        &kc,
        &[
            "sync",
            "--source",
            &src,
            "--prune",
            "--max-prune",
            "100%",
            "--concurrency",
            "1",
        ],
        &[],
        ": pruned ",
        |pid| signal(pid, "INT"),
    );
    assert_eq!(faulted.run.code, 130, "SIGINT: 128 + 2");
    let (applied, pruned, not_attempted) = interrupted_line(&faulted.run);
    assert_eq!(applied, 0);
    assert_eq!(
        pruned + not_attempted,
        dropped.len(),
        "each prune done or reported undone"
    );
    assert_converged(&kc, &corpus, "v1").await;
    support::delete_namespaces(&corpus.namespaces()).await;
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
    let kc = support::cluster().kubeconfig.clone();
    let corpus = Corpus::new(3, 40);
    let src = corpus.path();
    assert_eq!(
        driftless_as(&kc, &["sync", "--source", &src, "--prune"], &[]).code,
        0
    );
    corpus.write("v2");
    let dropped = corpus.drop_config_maps(8);
    let faulted = run_with_fault(
        &kc,
        &[
            "sync",
            "--source",
            &src,
            "--prune",
            "--max-prune",
            "100%",
            "--concurrency",
            "1",
        ],
        &[],
        ": pruning ",
        |pid| signal(pid, "KILL"),
    );
    assert_eq!(faulted.run.code, -1, "killed");
    assert_converged(&kc, &corpus, "v2").await;
    let live = config_map_versions(&kc, &corpus).await;
    for name in dropped {
        assert!(!live.iter().any(|(n, _)| *n == name), "{name} is gone");
    }
    support::delete_namespaces(&corpus.namespaces()).await;
}

fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -{sig} {pid}");
}

/// (applied, pruned, not attempted) from `interrupted: N applied, M pruned, K not attempted`.
fn interrupted_line(run: &Run) -> (usize, usize, usize) {
    let line = run
        .stderr
        .lines()
        .find(|l| l.starts_with("interrupted: "))
        .unwrap_or_else(|| panic!("no interrupted line:\n{}", tail(&run.stderr, 20)));
    let numbers: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    match numbers[..] {
        [a, p, n] => (a, p, n),
        _ => panic!("unreadable: {line}"),
    }
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
