//! The agent on an OCI artifact: it asks the registry for the tag's digest every interval (a
//! HEAD, counted in the registry's own access log) and downloads nothing until the digest moves;
//! a new push lands within an interval, and the digest is the set's revision.

use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;

use super::charts::package_versions;
use super::{Access, configmap};
use crate::support::agent::AgentProcess;
use crate::support::charts::{self, Artifact, servers};
use crate::support::{self, unique};

async fn value_of(ns: &str, name: &str) -> Option<String> {
    let api = Api::<ConfigMap>::namespaced(support::client().await, ns);
    api.get_opt(name).await.ok()??.data?.get("value").cloned()
}

/// Requests of `method` the registry logged for `repo` on `path` (`/manifests/`, `/blobs/`).
fn logged(method: &str, repo: &str, path: &str) -> usize {
    let needle = format!("\"{method} /v2/{repo}{path}");
    servers()
        .registry_log()
        .lines()
        .filter(|l| l.contains(&needle))
        .count()
}

#[tokio::test]
async fn the_agent_follows_a_tag_by_digest_and_downloads_only_when_it_moves() {
    let ns = unique("oci-agent");
    let repo = unique("artifacts/agent");
    // A chart from an https repository inside the artifact: the agent resolves it too.
    let chart = unique("polled");
    let work = tempfile::tempdir().unwrap();
    let tgz = package_versions(work.path(), &chart, &["2.1.0"]);
    let chart_repo = charts::publish_https_in("charts", &unique("repo"), &tgz[0]);
    let files = |value: &str| {
        vec![
            (
                "ns.yaml".to_string(),
                format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n"),
            ),
            ("app/cm.yaml".to_string(), configmap(&ns, "app", value)),
            (
                "web/driftless-helm.yaml".to_string(),
                format!("namespace: {ns}\nrepo: {chart_repo}\nchart: {chart}\nversion: \"2.x\"\n"),
            ),
        ]
    };
    let push = |value: &str| {
        let files = files(value);
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let artifact = Artifact::flux(&refs);
        let repo = repo.clone();
        async move { charts::push(servers().registry(), &repo, "latest", &artifact).await }
    };
    let first = push("v1").await;

    let access = Access::new();
    let set = unique("oci-set");
    let config = access.dir.path().join("agent.yaml");
    std::fs::write(
        &config,
        format!(
            "apiVersion: driftless.dev/v1alpha1\nkind: AgentConfig\nsets:\n  - name: {set}\n    \
             source:\n      oci: {{url: 'oci://{}/{repo}:latest'}}\n      remote:\n        \
             hosts: ['{}']\n        registryConfig: {}\n        caFiles: [{}]\n    \
             interval: 1s\n    prune: {{enabled: true}}\n",
            servers().registry(),
            super::host_of(&chart_repo),
            access.registry_config().display(),
            servers().ca().display(),
        ),
    )
    .unwrap();
    let mut agent = AgentProcess::start(&config, "oci-agent", access.dir.path());
    agent.wait_ready().await;
    assert!(
        support::eventually(|| async { value_of(&ns, "app").await.as_deref() == Some("v1") }).await,
        "{}",
        agent.log()
    );
    // The ConfigMap is written before the pass ends, and the report is updated when it does.
    let recorded = support::eventually(|| async {
        agent.report()["sets"][0]["lastAppliedRevision"] == first.as_str()
    })
    .await;
    let report = agent.report();
    assert!(recorded, "{report:#}\n{}", agent.log());
    assert_eq!(
        report["sets"][0]["charts"][0]["chart"],
        chart.as_str(),
        "{report:#}"
    );
    assert_eq!(
        report["sets"][0]["charts"][0]["version"], "2.1.0",
        "{report:#}"
    );
    let rendered = Api::<ConfigMap>::namespaced(support::client().await, &ns)
        .get(&format!("web-{chart}"))
        .await;
    assert!(rendered.is_ok(), "the chart's ConfigMap: {rendered:?}");

    // Idle: a HEAD for the tag every interval, and no manifest or blob downloaded again.
    let (heads, gets, blobs) = (
        logged("HEAD", &repo, "/manifests/latest"),
        logged("GET", &repo, "/manifests/"),
        logged("GET", &repo, "/blobs/"),
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        logged("HEAD", &repo, "/manifests/latest") >= heads + 3,
        "polled by HEAD:\n{}",
        servers().registry_log()
    );
    assert_eq!(
        logged("GET", &repo, "/manifests/"),
        gets,
        "no manifest pulled while unchanged"
    );
    assert_eq!(
        logged("GET", &repo, "/blobs/"),
        blobs,
        "no blob pulled while unchanged"
    );

    // A new push lands within an interval or two, under its digest.
    let second = push("v2").await;
    assert!(
        support::eventually(|| async { value_of(&ns, "app").await.as_deref() == Some("v2") }).await,
        "{}",
        agent.log()
    );
    assert!(
        support::eventually(|| async {
            agent.report()["sets"][0]["lastAppliedRevision"] == second.as_str()
        })
        .await,
        "{:#}",
        agent.report()
    );
    assert_eq!(
        logged("GET", &repo, "/blobs/"),
        blobs + 1,
        "one layer downloaded for the move"
    );
    agent.terminate(Duration::from_secs(10));
    support::delete_namespaces(&[ns]).await;
}
