//! A directory source has a revision (the hash of what a render reads): the agent polls it
//! without reading it while nothing changed, sends nothing at an idle interval but its Lease
//! renewals, and syncs a changed file at the next interval.

use std::time::Duration;

use crate::support::agent::AgentProcess;
use crate::support::audit;
use crate::support::gitops::{app_yaml, value_of};
use crate::support::identity::Identity;
use crate::support::{self, Workspace};

#[tokio::test]
async fn an_unchanged_directory_sends_nothing_at_an_idle_interval_and_a_change_syncs() {
    let Some(log) = audit::log_path("an_unchanged_directory_sends_nothing_at_an_idle_interval")
    else {
        return;
    };
    let (set, ns) = (support::unique("dir"), support::unique("dl-dir"));
    let mut ws = Workspace::new();
    ws.namespaces.push(ns.clone());
    ws.write("manifests/app.yaml", &app_yaml(&ns, "v1"));
    // A second of interval: five idle intervals in the window below.
    let config = format!(
        "apiVersion: driftless.dev/v1alpha1\nkind: AgentConfig\nsets:\n  - name: {set}\n    \
         source: {{directory: '{}'}}\n    interval: 1s\n    resyncInterval: 10m\n",
        ws.file("manifests").display()
    );
    ws.write("agent.yaml", &config);
    let identity = Identity::service_account(support::inventory_namespace()).await;
    let agent = AgentProcess::start_on(identity.path(), &ws.file("agent.yaml"), "dir-a", ws.path());
    agent.wait_ready().await;
    assert!(
        support::eventually(|| async { value_of(&ns, "app").await.as_deref() == Some("v1") }).await,
        "{}",
        agent.log()
    );
    // The ConfigMap is written before the pass ends; the revision is recorded when it ends.
    let applied = || agent.report()["sets"][0]["lastAppliedRevision"].clone();
    let is_hash = |r: &serde_json::Value| r.as_str().is_some_and(|r| r.starts_with("sha256:"));
    support::eventually(|| async { is_hash(&applied()) }).await;
    let first = applied();
    assert!(is_hash(&first), "{first}\n{}", agent.log());

    // Idle: five intervals, and a file touched without a change of its bytes.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let from = audit::mark(&log);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let touched = std::fs::read(ws.file("manifests/app.yaml")).unwrap();
    std::fs::write(ws.file("manifests/app.yaml"), touched).unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle = audit::requests_since(&log, from, &identity.username).await;
    eprintln!("idle: {idle:?}");
    assert!(
        idle.resources.keys().any(|k| k.starts_with("leases/")),
        "the log sees the agent: {idle:?}"
    );
    assert_eq!(
        idle.besides_leases_and_watches(),
        Default::default(),
        "an idle directory sent requests:\n{}",
        agent.log()
    );
    assert_eq!(agent.report()["sets"][0]["lastAppliedRevision"], first);

    // A changed file is a new revision, synced at the next interval.
    ws.write("manifests/app.yaml", &app_yaml(&ns, "v2"));
    assert!(
        support::poll_until(Duration::from_secs(10), || async {
            (value_of(&ns, "app").await.as_deref() == Some("v2")).then_some(())
        })
        .await
        .is_some(),
        "{}",
        agent.log()
    );
    support::eventually(|| async { applied() != first }).await;
    let second = applied();
    assert!(is_hash(&second) && second != first, "{second}");
}
