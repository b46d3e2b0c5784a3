//! Seeing and steering sync sets from outside the agent, with the caller's own identity:
//! `driftless status` (a failure with its file:line, drift with its manager), `reconcile
//! --wait`, `suspend`/`resume` (self-heal stops and starts), `tree` and `events`, and a tenant
//! that sees its own set and is refused on another's.

use std::time::{Duration, Instant};

use crate::support::agent::{AgentProcess, parse_openmetrics, sample};
use crate::support::git::TestRepo;
use crate::support::gitops::{app_repo, app_yaml, config_map, edit_value, namespace, value_of};
use crate::support::identity::Identity;
use crate::support::{self, Workspace};

/// Commits ConfigMap `app` of namespace `ns` at `value`.
fn app(repo: &TestRepo, ns: &str, value: &str) -> String {
    repo.write("app.yaml", &app_yaml(ns, value));
    repo.commit(value)
}

/// One agent config holding `sets` (name, repository, interval, self-heal).
fn config(sets: &[(&str, &TestRepo, &str, bool)]) -> String {
    let mut text = "apiVersion: driftless.dev/v1alpha1\nkind: AgentConfig\nsets:\n".to_string();
    for (name, repo, interval, heal) in sets {
        text.push_str(&format!(
            "  - name: {name}\n    source:\n      git: {{url: '{}', revision: main}}\n    \
             interval: {interval}\n    selfHeal: {heal}\n",
            repo.file_url()
        ));
    }
    text
}

fn start(ws: &Workspace, text: &str, identity: &str) -> AgentProcess {
    ws.write("agent.yaml", text);
    AgentProcess::start(&ws.file("agent.yaml"), identity, ws.path())
}

/// Runs `driftless ARGS` until `done` holds for its stdout, for up to 20 s; the last run.
async fn until(args: &[&str], done: impl Fn(&str) -> bool) -> support::Run {
    let started = Instant::now();
    loop {
        let run = support::driftless(args);
        if done(&run.stdout) || started.elapsed() > Duration::from_secs(20) {
            return run;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn status_shows_a_failure_with_its_file_line_and_drift_with_its_manager() {
    let (set, ns, mut ws, repo) = app_repo("dl-steer");
    // A ConfigMap value must be a string: the server refuses it, named by file and line (in a
    // namespace of its own: the rest of the set lands).
    let broken_ns = format!("{ns}-b");
    ws.namespaces.push(broken_ns.clone());
    repo.write(
        "broken.yaml",
        &format!("{}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\n  namespace: {broken_ns}\ndata:\n  n: 5\n", namespace(&broken_ns)),
    );
    let revision = repo.commit("with a broken object");
    let agent = start(&ws, &config(&[(&set, &repo, "1h", false)]), "steer-a");
    agent.wait_ready().await;

    let row = until(&["status"], |out| {
        out.lines()
            .any(|l| l.starts_with(&format!("{set} ")) && l.contains("broken.yaml:"))
    })
    .await;
    let line = row
        .stdout
        .lines()
        .find(|l| l.starts_with(&format!("{set} ")))
        .unwrap_or_default();
    assert_contains!(
        line,
        ["False", &revision[..12], "broken.yaml:"],
        "{}\n{}",
        row.all_output(),
        agent.log()
    );
    assert_contains!(
        row.stdout.lines().next().unwrap_or_default(),
        ["NAME", "READY", "REVISION", "DRIFTED", "MESSAGE"]
    );

    assert!(
        support::eventually(|| async { value_of(&ns, "app").await.is_some() }).await,
        "{}",
        agent.log()
    );
    edit_value(&ns, "app", "kubectl-edit", "by hand").await;
    let detail = until(&["status", &set], |out| out.contains("Drift:\n  OBJECT")).await;
    assert_eq!(detail.code, 0, "{}", detail.all_output());
    assert_contains!(
        detail.stdout,
        [
            "broken.yaml:",
            &format!("v1 ConfigMap {broken_ns}/broken"),
            "Drift:",
            &format!("v1 ConfigMap {ns}/app"),
            "kubectl-edit",
            ".data.value",
            "DriftDetected",
        ],
        "{}",
        agent.log()
    );
    assert_not_contains!(detail.stdout, "by hand", "a value in the status");

    let json = support::driftless(&["status", &set, "-o", "json"]);
    let view: serde_json::Value = serde_json::from_str(&json.stdout).expect("status -o json");
    assert_eq!(view["status"]["result"], "degraded", "{view:#}");
    assert_eq!(
        view["status"]["drift"]["drifted"][format!("v1 ConfigMap {ns}/app")]["managers"][0],
        "kubectl-edit"
    );
    let yaml = support::driftless(&["status", &set, "-o", "yaml"]);
    assert_contains!(yaml.stdout, "lastAttemptedRevision:");

    let tree = support::driftless(&["tree", &set]);
    assert_contains!(
        tree.stdout,
        [
            &format!("syncset/{set}"),
            &ns,
            "ConfigMap/app",
            "drifted: changed by kubectl-edit"
        ],
        "{}",
        tree.all_output()
    );
    let events = support::driftless(&["events", &set]);
    assert_contains!(
        events.stdout,
        ["LAST SEEN", "DriftDetected", "SyncFailed"],
        "{}",
        events.all_output()
    );

    // Unix manners: a reader that leaves ends the output quietly; a flag that does not apply
    // is refused; an unknown set is named.
    let head = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' status '{set}' | head -1",
            env!("CARGO_BIN_EXE_driftless")
        ))
        .env("KUBECONFIG", &support::cluster().kubeconfig)
        .env(
            "DRIFTLESS_INVENTORY_NAMESPACE",
            support::inventory_namespace(),
        )
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&head.stdout).lines().count(), 1);
    assert_not_contains!(String::from_utf8_lossy(&head.stderr).to_string(), "panic");
    let flag = support::driftless(&["status", "-n", &ns]);
    assert_eq!(flag.code, 2);
    assert_contains!(flag.stderr, "--namespace does not apply");
    let unknown = support::driftless(&["status", "no-such-set"]);
    assert_eq!(unknown.code, 2);
    assert_contains!(unknown.stderr, "no sync set \"no-such-set\"");
}

#[tokio::test]
async fn reconcile_waits_for_the_pass_and_answers_within_a_second() {
    let (set, ns, ws, repo) = app_repo("dl-reconcile");
    // An hour between polls: only a reconcile brings the next commit in.
    let agent = start(&ws, &config(&[(&set, &repo, "1h", false)]), "reconcile-a");
    agent.wait_ready().await;
    assert!(
        support::eventually(|| async { value_of(&ns, "app").await.as_deref() == Some("v1") }).await
    );

    let v2 = app(&repo, &ns, "v2");
    let run = support::driftless(&["reconcile", &set, "--wait", "--timeout", "60s"]);
    let returned = k8s_openapi::jiff::Timestamp::now();
    assert_eq!(run.code, 0, "{}\n{}", run.all_output(), agent.log());
    assert_contains!(run.stdout, [&set, "synced", &v2[..12]]);
    assert_eq!(value_of(&ns, "app").await.as_deref(), Some("v2"));
    // The pass recorded its end; the command returned within a second of it.
    let view: serde_json::Value =
        serde_json::from_str(&support::driftless(&["status", &set, "-o", "json"]).stdout).unwrap();
    let ended: k8s_openapi::jiff::Timestamp = view["status"]["lastAttemptTime"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let lag = returned.duration_since(ended);
    assert!(
        lag.as_secs_f64() < 1.0,
        "returned {lag:?} after the pass ended"
    );
    assert_eq!(
        view["status"]["timeline"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()["detail"],
        "reconcile"
    );

    // A revision that fails: the answer is the failure, exit 2.
    repo.write(
        "app.yaml",
        &format!(
            "{}---\n{}  broken: [unclosed\n",
            namespace(&ns),
            config_map(&ns, "app", "v3")
        ),
    );
    repo.commit("broken");
    let failed = support::driftless(&["reconcile", &set, "--wait", "--timeout", "60s"]);
    assert_eq!(failed.code, 2, "{}", failed.all_output());
    assert_contains!(failed.stdout, [&set, "failed", "app.yaml:"]);
    let samples = parse_openmetrics(&agent.body("/metrics"));
    assert_eq!(
        sample(
            &samples,
            "driftless_reconcile_requests_total",
            &[&format!("set=\"{set}\"")]
        ),
        Some(2.0)
    );
}

#[tokio::test]
async fn suspend_stops_self_heal_and_passes_and_resume_restarts_them() {
    let (set, ns, ws, repo) = app_repo("dl-suspend");
    let mut agent = start(&ws, &config(&[(&set, &repo, "1s", true)]), "suspend-a");
    agent.wait_ready().await;
    assert!(
        support::eventually(|| async { value_of(&ns, "app").await.as_deref() == Some("v1") }).await
    );

    let run = support::driftless(&["suspend", &set]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(run.stdout.trim(), format!("syncset/{set} suspended"));
    let suspended = |agent: &AgentProcess| {
        let samples = parse_openmetrics(&agent.body("/metrics"));
        sample(
            &samples,
            "driftless_suspended",
            &[&format!("set=\"{set}\"")],
        )
    };
    assert!(
        support::eventually(|| async { suspended(&agent) == Some(1.0) }).await,
        "{}",
        agent.log()
    );
    // A hand edit stays, and a new commit is not synced.
    edit_value(&ns, "app", "kubectl-edit", "by hand").await;
    app(&repo, &ns, "v2");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        value_of(&ns, "app").await.as_deref(),
        Some("by hand"),
        "{}",
        agent.log()
    );
    let table = support::driftless(&["status"]);
    let line = table
        .stdout
        .lines()
        .find(|l| l.starts_with(&format!("{set} ")))
        .unwrap_or_default()
        .to_string();
    assert_contains!(line, "True", "{}", table.stdout);
    let refused = support::driftless(&["reconcile", &set]);
    assert_eq!(refused.code, 2);
    assert_contains!(refused.stderr, "suspended");

    // Suspension survives a restart of the agent.
    agent.terminate(Duration::from_secs(15));
    let agent = start(&ws, &config(&[(&set, &repo, "1s", true)]), "suspend-b");
    agent.wait_ready().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        value_of(&ns, "app").await.as_deref(),
        Some("by hand"),
        "{}",
        agent.log()
    );
    assert_eq!(suspended(&agent), Some(1.0));

    // `status --watch` prints the set again when it changes.
    let mut watch = support::command(
        &support::cluster().kubeconfig,
        &["status", &set, "--watch"],
        &[],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    let stdout = watch.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut shown = Vec::new();
    let mut read_until = |want: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
                let found = line == want;
                shown.push(line);
                if found {
                    return true;
                }
            }
        }
        false
    };
    let first = read_until("Suspended:  True");
    let run = support::driftless(&["resume", &set]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let redrawn = read_until("Suspended:  False");
    let _ = watch.kill();
    let _ = watch.wait();
    assert!(first, "{shown:#?}");
    assert!(redrawn, "no redraw on resume: {shown:#?}");
    assert!(
        support::eventually(|| async { value_of(&ns, "app").await.as_deref() == Some("v2") }).await,
        "resume did not sync again:\n{}",
        agent.log()
    );
    assert_eq!(suspended(&agent), Some(0.0));
    // The leader kept its Lease through both annotations: no takeover but its first.
    let samples = parse_openmetrics(&agent.body("/metrics"));
    let takeovers: f64 = samples
        .iter()
        .filter(|(name, _)| name.starts_with("driftless_leader_takeovers_total{"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(takeovers, 1.0, "{samples:?}");
    let events = support::driftless(&["events", &set]);
    assert_contains!(
        events.stdout,
        ["Suspended", "Resumed"],
        "{}",
        events.all_output()
    );
    // Suspended again, a hand edit stays; resumed, a full pass takes it back at once, though
    // the revision did not move (an ordinary pass would skip it until the next resync).
    assert_eq!(support::driftless(&["suspend", &set]).code, 0);
    assert!(support::eventually(|| async { suspended(&agent) == Some(1.0) }).await);
    edit_value(&ns, "app", "kubectl-edit", "while suspended").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        value_of(&ns, "app").await.as_deref(),
        Some("while suspended")
    );
    assert_eq!(support::driftless(&["resume", &set]).code, 0);
    assert!(
        support::eventually(|| async { value_of(&ns, "app").await.as_deref() == Some("v2") }).await,
        "resume did not take the hand edit back:\n{}",
        agent.log()
    );
    // Self-heal is back: the next hand edit is put back.
    edit_value(&ns, "app", "kubectl-edit", "again").await;
    assert!(
        support::eventually(|| async { value_of(&ns, "app").await.as_deref() == Some("v2") }).await,
        "{}",
        agent.log()
    );
}

#[tokio::test]
async fn a_tenant_sees_and_steers_its_set_and_is_refused_on_another() {
    let (mine, theirs) = (support::unique("mine"), support::unique("theirs"));
    let (ns_a, ns_b) = (support::unique("dl-mine"), support::unique("dl-theirs"));
    let mut ws = Workspace::new();
    ws.namespaces.extend([ns_a.clone(), ns_b.clone()]);
    let (repo_a, repo_b) = (TestRepo::local(), TestRepo::local());
    app(&repo_a, &ns_a, "a");
    app(&repo_b, &ns_b, "b");
    let agent = start(
        &ws,
        &config(&[
            (&mine, &repo_a, "1h", false),
            (&theirs, &repo_b, "1h", false),
        ]),
        "tenant-a",
    );
    agent.wait_ready().await;
    // A tenant's rules: its own set's status and Lease by name, Events to list.
    let tenant = Identity::user_with_rules(serde_json::json!([
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [format!("driftless-status-{mine}")], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "resourceNames": [format!("driftless-{mine}")], "verbs": ["get", "patch"]},
        {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["list"]},
    ]))
    .await;
    let as_tenant = |args: &[&str]| support::driftless_as(tenant.path(), args, &[]);
    let seen = support::poll_until(Duration::from_secs(20), || async {
        let run = as_tenant(&["status", &mine]);
        run.stdout.contains("Ready:      True").then_some(run)
    })
    .await;
    assert!(
        seen.is_some(),
        "the tenant never saw its set ready:\n{}",
        as_tenant(&["status", &mine]).all_output()
    );

    let other = as_tenant(&["status", &theirs]);
    assert_eq!(other.code, 2, "{}", other.all_output());
    assert_contains!(other.stderr, ["forbidden", &theirs]);
    let all = as_tenant(&["status"]);
    assert_eq!(all.code, 2);
    assert_contains!(all.stderr, "names its own set");
    let steer = as_tenant(&["suspend", &theirs]);
    assert_eq!(steer.code, 2);
    assert_contains!(steer.stderr, "forbidden");
    // Its own set it may steer.
    let run = as_tenant(&["reconcile", &mine, "--wait", "--timeout", "60s"]);
    assert_eq!(run.code, 0, "{}\n{}", run.all_output(), agent.log());
}
