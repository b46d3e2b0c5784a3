//! The agent (`driftless agent --config`), run as a process on this machine against the test
//! cluster: commits land within an interval, a broken commit is reported and never applied,
//! SIGTERM gives the Lease back, a standby takes over from a leader that died. `agent/pods.rs`
//! runs it as `deploy/` installs it, in pods on the test node.

mod directory;
mod pods;
mod shares;

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::events::v1::Event;
use kube::api::Api;

use crate::support::agent::{AgentProcess, parse_openmetrics, sample};
use crate::support::git::TestRepo;
use crate::support::gitops::{app_repo, app_yaml, config_map, edit_value, namespace, value_of};
use crate::support::{self, Workspace};

/// An agent config: one set reading `url` every second, pruning.
fn config(set: &str, url: &str) -> String {
    format!(
        "apiVersion: driftless.dev/v1alpha1\nkind: AgentConfig\nsets:\n  - name: {set}\n    \
         source:\n      git: {{url: '{url}', revision: main}}\n    interval: 1s\n    \
         prune: {{enabled: true}}\n"
    )
}

async fn lease(set: &str) -> Option<Lease> {
    let api = Api::<Lease>::namespaced(support::client().await, support::inventory_namespace());
    api.get_opt(&format!("driftless-{set}")).await.ok()?
}

fn holder(lease: &Option<Lease>) -> Option<String> {
    lease.as_ref()?.spec.as_ref()?.holder_identity.clone()
}

/// Events with `reason` about the set's Lease.
async fn lease_events(set: &str, reason: &str) -> Vec<Event> {
    let api = Api::<Event>::namespaced(support::client().await, support::inventory_namespace());
    let lease = format!("driftless-{set}");
    api.list(&Default::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some(reason))
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(lease.as_str()))
        .collect()
}

fn write_config(ws: &Workspace, set: &str, repo: &TestRepo) -> std::path::PathBuf {
    ws.write("agent.yaml", &config(set, &repo.file_url()));
    ws.file("agent.yaml")
}

#[tokio::test]
async fn commits_land_a_broken_one_is_reported_and_sigterm_gives_the_lease_back() {
    let (set, ns, ws, repo) = app_repo("dl-agent");
    let mut agent = AgentProcess::start(&write_config(&ws, &set, &repo), "agent-a", ws.path());
    agent.wait_ready().await;
    assert!(
        support::eventually(|| async { value_of(&ns, "app").await.as_deref() == Some("v1") }).await,
        "{}",
        agent.log()
    );

    // A new commit lands within the next interval.
    repo.write("app.yaml", &app_yaml(&ns, "v2"));
    let good = repo.commit("v2");
    assert!(
        support::eventually(|| async { value_of(&ns, "app").await.as_deref() == Some("v2") }).await,
        "{}",
        agent.log()
    );

    // A commit that does not render: nothing applied, the failure reported with file:line.
    repo.write(
        "app.yaml",
        &format!(
            "{}---\n{}  broken: [unclosed\n",
            namespace(&ns),
            config_map(&ns, "app", "v3")
        ),
    );
    let broken = repo.commit("broken");
    let reported = support::eventually(|| async {
        agent.report()["sets"][0]["lastAttemptedRevision"] == broken.as_str()
    })
    .await;
    let report = agent.report();
    assert!(reported, "{report:#}\n{}", agent.log());
    let status = &report["sets"][0];
    assert_eq!(status["result"], "failed", "{status:#}");
    assert_eq!(status["lastAppliedRevision"], good.as_str(), "{status:#}");
    let error = status["error"].as_str().unwrap_or_default();
    assert_contains!(error, ["app.yaml:", good]);
    assert_eq!(
        value_of(&ns, "app").await.as_deref(),
        Some("v2"),
        "the last good revision runs"
    );
    assert!(
        support::eventually(|| async { lease_events(&set, "RenderFailed").await.len() == 1 }).await,
        "no RenderFailed Event on the Lease:\n{}",
        agent.log()
    );
    // Passes go on every second; the same failure is not announced again.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        lease_events(&set, "RenderFailed").await.len(),
        1,
        "the Event was repeated"
    );
    let samples = parse_openmetrics(&agent.body("/metrics"));
    let failed = sample(
        &samples,
        "driftless_sync_runs_total",
        &["result=\"failed\"", "stage=\"render\""],
    );
    assert!(failed.is_some_and(|n| n >= 1.0), "{samples:?}");
    assert_eq!(sample(&samples, "driftless_is_leader", &[&set]), Some(1.0));
    assert_eq!(
        sample(
            &samples,
            "driftless_revision_info",
            &[&format!("revision=\"{good}\"")]
        ),
        Some(1.0),
        "{samples:?}"
    );

    // Fixed: the next commit lands.
    repo.write("app.yaml", &app_yaml(&ns, "v4"));
    let fixed = repo.commit("fixed");
    assert!(
        support::eventually(|| async { value_of(&ns, "app").await.as_deref() == Some("v4") }).await,
        "{}",
        agent.log()
    );
    assert!(
        support::eventually(|| async {
            agent.report()["sets"][0]["lastAppliedRevision"] == fixed.as_str()
        })
        .await
    );
    assert_eq!(holder(&lease(&set).await).as_deref(), Some("agent-a"));

    // SIGTERM: exit 0 within 10 s, the Lease given back, the synced revision recorded on it.
    let status = agent.terminate(Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| s.success()),
        "exit {status:?}:\n{}",
        agent.log()
    );
    let released = lease(&set).await;
    assert_eq!(
        holder(&released),
        None,
        "the Lease was not given back: {released:?}"
    );
    let recorded = released
        .and_then(|l| l.metadata.annotations)
        .and_then(|a| a.get("driftless.dev/revision").cloned());
    assert_eq!(recorded.as_deref(), Some(fixed.as_str()));
    support::delete_namespaces(&[ns]).await;
}

#[tokio::test]
async fn a_standby_takes_over_when_the_leader_dies() {
    let (set, ns, ws, repo) = app_repo("dl-agent");
    let config = write_config(&ws, &set, &repo);
    let mut first = AgentProcess::start(&config, "agent-1", ws.path());
    first.wait_ready().await;
    let mut second = AgentProcess::start(&config, "agent-2", ws.path());
    second.wait_ready().await;
    assert!(
        support::eventually(|| async { value_of(&ns, "app").await.as_deref() == Some("v1") }).await
    );
    let leader = holder(&lease(&set).await).expect("a leader");
    let (leading, standing_by) = match leader.as_str() {
        "agent-1" => (&mut first, &mut second),
        _ => (&mut second, &mut first),
    };
    // The standby serves metrics, and says it does not lead.
    let samples = parse_openmetrics(&standing_by.body("/metrics"));
    assert_eq!(sample(&samples, "driftless_is_leader", &[&set]), Some(0.0));
    assert_eq!(standing_by.report()["sets"][0]["role"], "standby");
    // ... and shows what the leader stores: its revision and namespaces, on any replica.
    let mirrored = support::eventually(|| async {
        let seen = &standing_by.report()["sets"][0];
        seen["namespaces"][&ns]["objects"]["created"] == 1 && seen["leader"] == leader.as_str()
    });
    assert!(mirrored.await, "{:#}", standing_by.report());

    leading.kill();
    let next = standing_by.identity.clone();
    let took_over = support::poll_until(Duration::from_secs(25), || async {
        (holder(&lease(&set).await).as_deref() == Some(next.as_str())).then_some(())
    });
    assert!(
        took_over.await.is_some(),
        "{} did not take over:\n{}",
        next,
        standing_by.log()
    );
    let samples = parse_openmetrics(&standing_by.body("/metrics"));
    assert_eq!(
        sample(
            &samples,
            "driftless_leader_takeovers_total",
            &["previous=\"expired\""]
        ),
        Some(1.0),
        "{samples:?}"
    );
    repo.write("app.yaml", &app_yaml(&ns, "v2"));
    repo.commit("v2");
    assert!(
        support::eventually(|| async { value_of(&ns, "app").await.as_deref() == Some("v2") }).await,
        "{}",
        standing_by.log()
    );
    support::delete_namespaces(&[ns]).await;
}

#[tokio::test]
async fn with_no_webhook_nothing_listens_on_the_hook_port() {
    let (set, _, ws, repo) = app_repo("dl-nohook");
    let agent = AgentProcess::start(&write_config(&ws, &set, &repo), "nohook-a", ws.path());
    agent.wait_ready().await;
    assert_eq!(agent.get("/healthz").map(|(status, _)| status), Some(200));
    let hook = std::net::TcpStream::connect(("127.0.0.1", agent.hook_port));
    assert!(hook.is_err(), "the hook port answers:\n{}", agent.log());
    assert_contains!(agent.log(), "no sync set has a webhook");
    ws.cleanup().await;
}

#[test]
fn agent_check_names_the_config_line() {
    let ws = Workspace::new();
    ws.write(
        "bad.yaml",
        "sets:\n  - name: a\n    source: {directory: /m}\n    interval: soon\n",
    );
    let run = support::driftless(&[
        "agent",
        "--config",
        &ws.file("bad.yaml").to_string_lossy(),
        "--check",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_contains!(run.stderr, "bad.yaml:4: interval: invalid duration");
    ws.write("good.yaml", &config("a", "https://git.example.com/r.git"));
    let run = support::driftless(&[
        "agent",
        "--config",
        &ws.file("good.yaml").to_string_lossy(),
        "--check",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // A set's namespaces are in the file: the global flag would be silently ignored.
    let good = ws.file("good.yaml").to_string_lossy().into_owned();
    let run = support::driftless(&["agent", "--config", &good, "--check", "-n", "team"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_contains!(run.stderr, "namespaces:");
}

/// `sha256=<hex>` of `body` with `secret`, as GitHub signs a call.
fn github_signature(secret: &str, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

fn fetches(agent: &AgentProcess) -> f64 {
    parse_openmetrics(&agent.body("/metrics"))
        .iter()
        .filter(|(series, _)| series.starts_with("driftless_git_fetches_total"))
        .map(|(_, v)| v)
        .sum()
}

#[tokio::test]
async fn a_signed_webhook_fetches_now_and_a_bad_one_changes_nothing() {
    let (set, ns) = (support::unique("agent"), support::unique("dl-hook"));
    let mut ws = Workspace::new();
    ws.namespaces.push(ns.clone());
    let repo = TestRepo::local();
    let write = |value: &str| {
        repo.write("app.yaml", &app_yaml(&ns, value));
        repo.commit(value)
    };
    write("v1");
    let secret = "webhook-s3cret";
    ws.write("hook-secret", &format!("{secret}\n"));
    // An hour between polls: only a webhook fetches.
    let config = format!(
        "apiVersion: driftless.dev/v1alpha1\nkind: AgentConfig\nsets:\n  - name: {set}\n    \
         source:\n      git: {{url: '{}', revision: main}}\n    interval: 1h\n    \
         webhook: {{provider: github, secretFile: '{}'}}\n",
        repo.file_url(),
        ws.file("hook-secret").display()
    );
    ws.write("agent.yaml", &config);
    let leader = AgentProcess::start(&ws.file("agent.yaml"), "hook-a", ws.path());
    leader.wait_ready().await;
    assert!(
        support::eventually(|| async { value_of(&ns, "app").await.as_deref() == Some("v1") }).await,
        "{}",
        leader.log()
    );
    let path = format!("/hook/{set}");
    let push = br#"{"ref":"refs/heads/main"}"#;

    // Unsigned, badly signed, signed with another secret: 401, and nothing is fetched.
    write("v2");
    let before = fetches(&leader);
    let good = github_signature(secret, push);
    let mut tampered = good.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    let other = github_signature("other", push);
    for headers in [
        vec![],
        vec![("X-Hub-Signature-256", "sha256=00")],
        vec![("X-Hub-Signature-256", tampered.as_str())],
        vec![("X-Hub-Signature-256", other.as_str())],
        vec![("X-Gitlab-Token", secret)],
    ] {
        let (status, body) = leader.post(&path, &headers, push);
        assert_eq!(status, 401, "{headers:?}: {body}");
    }
    // A changed body under a good signature.
    let (status, _) = leader.post(
        &path,
        &[("X-Hub-Signature-256", &good)],
        br#"{"ref":"refs/heads/evil"}"#,
    );
    assert_eq!(status, 401);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(fetches(&leader), before, "a refused call fetched");
    assert_eq!(value_of(&ns, "app").await.as_deref(), Some("v1"));
    let samples = parse_openmetrics(&leader.body("/metrics"));
    assert_eq!(
        sample(
            &samples,
            "driftless_webhook_calls_total",
            &["result=\"unauthorized\""]
        ),
        Some(6.0),
        "{samples:?}"
    );
    // A secret never shows in what the agent says.
    assert_not_contains!(leader.log(), secret);

    // GitHub's ping is answered and fetches nothing; a signed push fetches now.
    let (status, _) = leader.post(
        &path,
        &[("X-Hub-Signature-256", &good), ("X-GitHub-Event", "ping")],
        push,
    );
    assert_eq!(status, 200);
    let (status, body) = leader.post(&path, &[("X-Hub-Signature-256", &good)], push);
    assert_eq!(status, 202, "{body}");
    assert!(
        support::eventually(|| async { value_of(&ns, "app").await.as_deref() == Some("v2") }).await,
        "{}",
        leader.log()
    );
    let (status, _) = leader.post("/hook/no-such-set", &[("X-Hub-Signature-256", &good)], push);
    assert_eq!(status, 404);
    let (status, _) = leader.post(&path, &[], &vec![b'x'; 1024 * 1024 + 1]);
    assert_eq!(status, 413, "the body is capped at 1 MiB");

    // A caller that never finishes its body is cut off, not waited for.
    {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", leader.hook_port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n0123456789"
        )
        .unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    }

    // A call that reaches the standby is passed on to the leader.
    let standby = AgentProcess::start(&ws.file("agent.yaml"), "hook-b", ws.path());
    standby.wait_ready().await;
    write("v3");
    let (status, body) = standby.post(&path, &[("X-Hub-Signature-256", &good)], push);
    assert_eq!(status, 202, "{body}\n{}", standby.log());
    assert!(
        support::eventually(|| async { value_of(&ns, "app").await.as_deref() == Some("v3") }).await,
        "{}",
        leader.log()
    );
    let samples = parse_openmetrics(&standby.body("/metrics"));
    assert_eq!(
        sample(
            &samples,
            "driftless_webhook_calls_total",
            &["result=\"forwarded\""]
        ),
        Some(1.0),
        "{samples:?}"
    );
    support::delete_namespaces(&[ns]).await;
}

/// Events in `ns` with `reason` about the object named `name`.
async fn object_events(ns: &str, name: &str, reason: &str) -> Vec<Event> {
    let api = Api::<Event>::namespaced(support::client().await, ns);
    api.list(&Default::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some(reason))
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .collect()
}

/// A DriftDetected Event says the object was deleted.
async fn assert_deletion_reported(ns: &str, name: &str) {
    let events = object_events(ns, name, "DriftDetected").await;
    let notes: Vec<&str> = events.iter().filter_map(|e| e.note.as_deref()).collect();
    assert_contains!(
        notes.join("\n"),
        "deleted outside Git",
        "the deletion was not reported"
    );
}

/// A second writer, `fighter`, that changes the value back every 400 ms, 12 times.
async fn fight(ns: &str, name: &str) {
    for round in 0..12 {
        edit_value(ns, name, "fighter", &format!("fighter-{round}")).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
}

#[tokio::test]
async fn drift_is_reported_at_once_and_healed_where_asked_until_a_fight() {
    let set = support::unique("drift");
    let (watched, healed) = (support::unique("dl-drift"), support::unique("dl-heal"));
    let mut ws = Workspace::new();
    ws.namespaces.extend([watched.clone(), healed.clone()]);
    let repo = TestRepo::local();
    for ns in [&watched, &healed] {
        repo.write(
            &format!("{ns}.yaml"),
            &format!("{}---\n{}", namespace(ns), config_map(ns, "app", "git")),
        );
    }
    repo.commit("v1");
    // Self-heal in one namespace only; an hour between polls: only the watches act.
    let config = format!(
        "apiVersion: driftless.dev/v1alpha1\nkind: AgentConfig\nsets:\n  - name: {set}\n    \
         source:\n      git: {{url: '{}', revision: main}}\n    interval: 1h\n    \
         namespaceOverrides:\n      {healed}: {{selfHeal: true}}\n",
        repo.file_url()
    );
    ws.write("agent.yaml", &config);
    let agent = AgentProcess::start(&ws.file("agent.yaml"), "drift-a", ws.path());
    agent.wait_ready().await;
    for ns in [&watched, &healed] {
        assert!(
            support::eventually(|| async { value_of(ns, "app").await.as_deref() == Some("git") })
                .await,
            "{}",
            agent.log()
        );
    }
    let watching =
        support::eventually(|| async { agent.report()["sets"][0]["drift"]["watching"] == true })
            .await;
    assert!(watching, "{:#}", agent.report());

    // Another writer's own fields (a label driftless does not set) are no drift.
    {
        use kube::api::{Patch, PatchParams};
        let api = Api::<ConfigMap>::namespaced(support::client().await, &watched);
        let params = PatchParams {
            field_manager: Some("labeler".into()),
            ..Default::default()
        };
        let label = serde_json::json!({"metadata": {"labels": {"team": "data"}}});
        api.patch("app", &params, &Patch::Merge(&label))
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        object_events(&watched, "app", "DriftDetected")
            .await
            .is_empty(),
        "a label of another manager was called drift"
    );

    // A kubectl edit: reported on the object, naming the manager and the field; left as is.
    edit_value(&watched, "app", "kubectl-edit", "by hand").await;
    let events = support::poll_until(Duration::from_secs(10), || async {
        let found = object_events(&watched, "app", "DriftDetected").await;
        (!found.is_empty()).then_some(found)
    })
    .await
    .unwrap_or_default();
    let note = events
        .first()
        .and_then(|e| e.note.clone())
        .unwrap_or_default();
    assert_contains!(note, ["kubectl-edit", ".data.value"], "{}", agent.log());
    assert_not_contains!(note, "by hand", "a value in an Event");
    let samples = parse_openmetrics(&agent.body("/metrics"));
    assert_eq!(
        sample(
            &samples,
            "driftless_drifted_objects",
            &[&format!("namespace=\"{watched}\""), "kind=\"ConfigMap\""]
        ),
        Some(1.0),
        "{samples:?}"
    );
    assert_eq!(
        sample(
            &samples,
            "driftless_drift_events_total",
            &["manager=\"kubectl-edit\""]
        ),
        Some(1.0)
    );
    let drifted = agent.report()["sets"][0]["drift"]["drifted"].clone();
    let key = format!("v1 ConfigMap {watched}/app");
    assert_contains!(
        drifted[&key]["by"].as_str().unwrap_or_default(),
        "kubectl-edit",
        "{drifted:#}"
    );
    assert_eq!(value_of(&watched, "app").await.as_deref(), Some("by hand"));

    // With self-heal: put back, and a deleted object is recreated.
    edit_value(&healed, "app", "kubectl-edit", "by hand").await;
    assert!(
        support::eventually(|| async { value_of(&healed, "app").await.as_deref() == Some("git") })
            .await,
        "{}",
        agent.log()
    );
    assert!(
        !object_events(&healed, "app", "DriftCorrected")
            .await
            .is_empty()
    );
    Api::<ConfigMap>::namespaced(support::client().await, &healed)
        .delete("app", &Default::default())
        .await
        .unwrap();
    assert!(
        support::eventually(|| async { value_of(&healed, "app").await.as_deref() == Some("git") })
            .await,
        "not recreated:\n{}",
        agent.log()
    );
    assert_deletion_reported(&healed, "app").await;

    // Another writer that keeps changing it back: a fight, and correction stops.
    fight(&healed, "app").await;
    assert!(
        support::eventually(|| async {
            !object_events(&healed, "app", "DriftFight").await.is_empty()
        })
        .await,
        "no fight reported:\n{}",
        agent.log()
    );
    let fight = object_events(&healed, "app", "DriftFight").await;
    let note = fight[0].note.clone().unwrap_or_default();
    assert_contains!(note, "fighter");
    edit_value(&healed, "app", "fighter", "fighter-last").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        value_of(&healed, "app").await.as_deref(),
        Some("fighter-last"),
        "corrected during a fight"
    );
    let samples = parse_openmetrics(&agent.body("/metrics"));
    assert_eq!(
        sample(
            &samples,
            "driftless_drift_corrections_total",
            &["result=\"fight\""]
        ),
        Some(1.0)
    );
    support::delete_namespaces(&[watched, healed]).await;
}

#[tokio::test]
async fn drift_is_still_seen_after_the_api_server_restarts() {
    let private = crate::support::private::PrivateCluster::start(&[]);
    let client = support::client_for(private.kubeconfig()).await;
    let (set, ns) = (support::unique("agent"), support::unique("dl-restart"));
    let ws = Workspace::new();
    ws.write("manifests/app.yaml", &app_yaml(&ns, "git"));
    let config = format!(
        "apiVersion: driftless.dev/v1alpha1\nkind: AgentConfig\nsets:\n  - name: {set}\n    \
         source: {{directory: '{}'}}\n    interval: 1h\n",
        ws.file("manifests").display()
    );
    ws.write("agent.yaml", &config);
    let agent = AgentProcess::start_on(
        private.kubeconfig(),
        &ws.file("agent.yaml"),
        "restart-a",
        ws.path(),
    );
    agent.wait_ready().await;
    let configmaps = Api::<ConfigMap>::namespaced(client.clone(), &ns);
    let value = || async {
        configmaps
            .get_opt("app")
            .await
            .ok()
            .flatten()
            .and_then(|c| c.data?.get("value").cloned())
    };
    assert!(
        support::eventually(|| async { value().await.as_deref() == Some("git") }).await,
        "{}",
        agent.log()
    );

    // The API server dies for longer than the Lease lasts and comes back: the agent takes
    // its Lease again and the watches resume on their own.
    private.signal("kube-apiserver", "KILL");
    tokio::time::sleep(Duration::from_secs(12)).await;
    private.restart("kube-apiserver");
    private.wait_ready().await;
    // It leads again (its Lease expired meanwhile) and its watches are back.
    let back = support::poll_until(Duration::from_secs(60), || async {
        let log = agent.log();
        // After its first pass there: the watches of what it manages, synced.
        let again = log.find("previous=\"self\"")?;
        let watching = again + log[again..].find("watches=2")?;
        log[watching..].contains("watches synced").then_some(())
    });
    assert!(
        back.await.is_some(),
        "the agent did not lead again:\n{}",
        agent.log()
    );
    let client = support::client_for(private.kubeconfig()).await;
    let configmaps = Api::<ConfigMap>::namespaced(client.clone(), &ns);
    let params = kube::api::PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..Default::default()
    };
    let patch = serde_json::json!({"data": {"value": "by hand"}});
    configmaps
        .patch("app", &params, &kube::api::Patch::Merge(&patch))
        .await
        .unwrap();
    let events = Api::<Event>::namespaced(client, &ns);
    // The watches back off up to 30 s between attempts while the server was gone.
    let seen = support::poll_until(Duration::from_secs(60), || async {
        let list = events.list(&Default::default()).await.map(|l| l.items);
        list.unwrap_or_default()
            .iter()
            .any(|e| {
                e.reason.as_deref() == Some("DriftDetected")
                    && e.note
                        .as_deref()
                        .is_some_and(|n| n.contains("kubectl-edit"))
            })
            .then_some(())
    });
    assert!(
        seen.await.is_some(),
        "no drift seen after the restart:\n{}",
        agent.log()
    );
    assert!(matches!(agent.get("/healthz"), Some((200, _))));
}

#[tokio::test]
async fn a_set_refused_over_its_prune_budget_is_not_ready_and_the_agent_still_is() {
    let (set, ns, ws, repo) = app_repo("dl-agent-budget");
    let mut objects = app_yaml(&ns, "v1");
    for i in 0..4 {
        objects.push_str(&format!(
            "---\n{}",
            config_map(&ns, &format!("extra-{i}"), "v")
        ));
    }
    repo.write("app.yaml", &objects);
    repo.commit("five objects");
    let agent = AgentProcess::start(&write_config(&ws, &set, &repo), "agent-b", ws.path());
    agent.wait_ready().await;
    let ready = |report: &serde_json::Value| report["sets"][0]["ready"].as_bool();
    assert!(
        support::eventually(|| async { ready(&agent.report()) == Some(true) }).await,
        "{}",
        agent.log()
    );

    // Four of six dropped: over the default budget of 25%, refused at every pass.
    repo.write("app.yaml", &app_yaml(&ns, "v1"));
    repo.commit("drops four");
    let refused = support::eventually(|| async {
        let report = agent.report();
        ready(&report) == Some(false)
            && report["sets"][0]["error"]
                .as_str()
                .is_some_and(|e| e.contains("over the budget prune.maxPrune 25%"))
    })
    .await;
    assert!(refused, "{}\n{}", agent.body("/report"), agent.log());
    let error = agent.report()["sets"][0]["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert_not_contains!(error, "--max-prune", "the agent names its config key");
    assert_contains!(error, format!("v1 ConfigMap {ns}/extra-0"));
    let metrics = parse_openmetrics(&agent.body("/metrics"));
    let label = format!("set=\"{set}\"");
    assert_eq!(
        sample(&metrics, "driftless_set_ready", &[&label]),
        Some(0.0)
    );
    assert!(
        matches!(agent.get("/readyz"), Some((200, _))),
        "one refused set does not take the agent out of its Service"
    );
    assert_eq!(
        value_of(&ns, "extra-0").await.as_deref(),
        Some("v"),
        "nothing pruned"
    );
}

#[tokio::test]
async fn a_set_waits_for_the_sets_it_depends_on_and_a_cycle_is_refused() {
    let (first, second) = (support::unique("crds"), support::unique("apps"));
    let (ns_a, ns_b) = (support::unique("dl-dep-a"), support::unique("dl-dep-b"));
    let mut ws = Workspace::new();
    ws.namespaces.extend([ns_a.clone(), ns_b.clone()]);
    // `first` does not render yet: `second`, which depends on it, waits.
    ws.write(
        "a/app.yaml",
        &format!("{}  broken: [unclosed\n", app_yaml(&ns_a, "v1")),
    );
    ws.write("b/app.yaml", &app_yaml(&ns_b, "v1"));
    let config = format!(
        "sets:\n  - name: {first}\n    source: {{directory: {}}}\n    interval: 1s\n  - name: {second}\n    source: {{directory: {}}}\n    interval: 1s\n    dependsOn: [{first}]\n",
        ws.file("a").display(),
        ws.file("b").display()
    );
    ws.write("agent.yaml", &config);
    let agent = AgentProcess::start(&ws.file("agent.yaml"), "agent-dep", ws.path());
    agent.wait_ready().await;
    let result = |set: &str| {
        let report = agent.report();
        let sets = report["sets"].as_array().cloned().unwrap_or_default();
        let status = sets.into_iter().find(|s| s["name"] == set).unwrap();
        (
            status["result"].as_str().map(str::to_string),
            status["error"].clone(),
        )
    };
    let waiting = support::eventually(|| async { result(&second).0.as_deref() == Some("waiting") });
    assert!(waiting.await, "{:?}\n{}", result(&second), agent.log());
    assert_contains!(
        result(&second).1.to_string(),
        format!("waiting for sync set \\\"{first}\\\"")
    );
    assert_eq!(
        value_of(&ns_b, "app").await,
        None,
        "nothing applied while it waits"
    );

    // Once `first` syncs everything, `second` follows.
    ws.write("a/app.yaml", &app_yaml(&ns_a, "v1"));
    let synced = support::eventually(|| async { value_of(&ns_b, "app").await.is_some() });
    assert!(synced.await, "{}", agent.log());
    assert!(value_of(&ns_a, "app").await.is_some());

    // A cycle is a config error naming it.
    let cycle = config.replace(
        &format!("    interval: 1s\n  - name: {second}"),
        &format!("    interval: 1s\n    dependsOn: [{second}]\n  - name: {second}"),
    );
    ws.write("cycle.yaml", &cycle);
    let check = support::driftless(&[
        "agent",
        "--config",
        &ws.file("cycle.yaml").to_string_lossy(),
        "--check",
    ]);
    assert_eq!(check.code, 2);
    assert_contains!(
        check.stderr,
        [
            format!("cycle.yaml:5"),
            format!("dependsOn makes a cycle: {first} -> {second} -> {first}")
        ]
    );
    ws.cleanup().await;
}
