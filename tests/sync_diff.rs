//! Sync and diff of the example platform: creation, idempotence, changes, drift, Secrets.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use crate::support::{self, Workspace, diff, sync};

/// +/- lines of a diff, without the ---/+++ headers.
fn changed_lines(diff: &str) -> Vec<&str> {
    diff.lines()
        .filter(|l| {
            (l.starts_with('+') && !l.starts_with("+++"))
                || (l.starts_with('-') && !l.starts_with("---"))
        })
        .collect()
}

#[tokio::test]
async fn sync_creates_the_example_platform_then_everything_is_unchanged() {
    let ws = Workspace::example();
    let platform = &ws.namespaces[0];

    let preview = diff(ws.path(), &[]);
    assert_eq!(
        preview.code, 1,
        "a diff against an empty cluster shows changes"
    );
    assert_contains!(
        preview.stdout,
        format!("+++ desired/apps/v1/Deployment/{platform}/mlflow")
    );
    assert!(
        changed_lines(&preview.stdout)
            .iter()
            .all(|l| l.starts_with('+')),
        "new objects are all-added"
    );

    let json = diff(ws.path(), &["--output", "json"]);
    assert_eq!(json.code, 1);
    let doc: serde_json::Value =
        serde_json::from_str(&json.stdout).expect("--output json prints one JSON document");
    assert_eq!(doc["counts"]["created"], 34);
    assert_eq!(doc["exitCode"], 1);
    let markdown = diff(ws.path(), &["--output", "markdown"]);
    assert!(
        markdown
            .stdout
            .starts_with("### driftless: changes to apply"),
        "{}",
        markdown.stdout
    );

    let first = sync(ws.path(), &[]);
    assert_eq!(first.code, 0, "first sync applies everything");
    assert_contains!(
        first.stdout,
        format!("namespace {platform}: ok: 21 created\n")
    );
    assert_contains!(first.stdout, "34 objects in 4 namespaces, 0 failed");

    let client = support::client().await;
    let mlflow = Api::<Deployment>::namespaced(client.clone(), platform)
        .get("mlflow")
        .await
        .unwrap();
    assert_eq!(mlflow.spec.unwrap().replicas, Some(2));
    let managers: Vec<_> = mlflow
        .metadata
        .managed_fields
        .unwrap()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert_contains!(managers, "driftless", "applied under our field manager");

    let second = sync(ws.path(), &[]);
    assert_eq!(second.code, 0);
    for ns in &ws.namespaces {
        // Only unchanged objects: the only count is "N unchanged".
        let line = second
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("namespace {ns}: ")))
            .unwrap_or_default();
        assert!(line.ends_with(" unchanged"), "{line}");
        assert_not_contains!(line, ',');
        assert_contains!(second.stdout, format!("namespace {ns}: ok: "));
    }
    assert_not_contains!(second.stdout, ["created  ", "configured  "]);

    let clean = diff(ws.path(), &[]);
    assert_eq!(clean.code, 0, "in sync: exit 0");
    assert_eq!(clean.stdout, "", "no diff when in sync");
    ws.cleanup().await;
}

#[tokio::test]
async fn a_changed_manifest_shows_exactly_that_change() {
    let ws = Workspace::example();
    assert_eq!(sync(ws.path(), &[]).code, 0);
    ws.edit(
        "mlops-platform/config.yaml",
        "POSTGRES_PORT: \"5432\"",
        "POSTGRES_PORT: \"6432\"",
    );

    let preview = diff(ws.path(), &[]);
    assert_eq!(preview.code, 1);
    let lines = changed_lines(&preview.stdout);
    assert_eq!(lines.len(), 2, "only the port changes: {lines:?}");
    assert!(lines[0].starts_with('-'), "{lines:?}");
    assert_contains!(lines[0], ["POSTGRES_PORT", "5432"]);
    assert!(lines[1].starts_with('+'), "{lines:?}");
    assert_contains!(lines[1], ["POSTGRES_PORT", "6432"]);
    assert_contains!(
        preview.stdout,
        format!("--- live/v1/ConfigMap/{}/mlflow-config", ws.namespaces[0])
    );
    assert_contains!(preview.stderr, "would configure  v1 ConfigMap");

    let applied = sync(ws.path(), &[]);
    assert_contains!(
        applied.stdout,
        format!(
            "configured       v1 ConfigMap {}/mlflow-config",
            ws.namespaces[0]
        )
    );
    let cm = Api::<ConfigMap>::namespaced(support::client().await, &ws.namespaces[0])
        .get("mlflow-config")
        .await
        .unwrap();
    assert_eq!(cm.data.unwrap()["POSTGRES_PORT"], "6432");
    assert_eq!(diff(ws.path(), &[]).code, 0);
    ws.cleanup().await;
}

#[tokio::test]
async fn kubectl_scale_shows_as_replicas_drift_and_sync_heals_it() {
    let ws = Workspace::example();
    let platform = &ws.namespaces[0];
    assert_eq!(sync(ws.path(), &[]).code, 0);

    // What `kubectl scale deployment/mlflow --replicas=5` sends.
    let deployments = Api::<Deployment>::namespaced(support::client().await, platform);
    let params = PatchParams {
        field_manager: Some("kubectl-scale".into()),
        ..Default::default()
    };
    deployments
        .patch_scale(
            "mlflow",
            &params,
            &Patch::Merge(json!({"spec": {"replicas": 5}})),
        )
        .await
        .unwrap();

    let preview = diff(ws.path(), &[]);
    assert_eq!(preview.code, 1);
    assert_eq!(
        changed_lines(&preview.stdout),
        ["-  replicas: 5", "+  replicas: 2"],
        "{}",
        preview.stdout
    );
    assert_contains!(
        preview.stdout,
        format!("--- live/apps/v1/Deployment/{platform}/mlflow")
    );

    let healed = sync(ws.path(), &[]);
    assert_eq!(healed.code, 0);
    assert_eq!(
        deployments
            .get("mlflow")
            .await
            .unwrap()
            .spec
            .unwrap()
            .replicas,
        Some(2)
    );
    assert_eq!(diff(ws.path(), &[]).code, 0);
    ws.cleanup().await;
}

#[tokio::test]
async fn a_changed_secret_value_shows_only_masked() {
    let ns = support::unique("dl-secret");
    let ws = Workspace::new();
    let secret = |user: &str, password: &str| {
        format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: {ns}\ndata:\n  user: {user}\nstringData:\n  password: {password}\n"
        )
    };
    // base64 of "first-user-value" and "second-user-value".
    let (user1, user2) = ("Zmlyc3QtdXNlci12YWx1ZQ==", "c2Vjb25kLXVzZXItdmFsdWU=");
    ws.write("secret.yaml", &secret(user1, "first-password-value"));
    let created = sync(ws.path(), &["-v"]);
    assert_eq!(created.code, 0);

    ws.write("secret.yaml", &secret(user2, "second-password-value"));
    let preview = diff(ws.path(), &["-vv"]);
    assert_eq!(preview.code, 1);
    assert_contains!(preview.stdout, ["*** (before)", "*** (after)"]);
    let applied = sync(ws.path(), &["-vv"]);
    assert_eq!(applied.code, 0);
    let stored = Api::<Secret>::namespaced(support::client().await, &ns)
        .get("creds")
        .await
        .unwrap();
    assert_eq!(stored.data.unwrap()["password"].0, b"second-password-value");

    for run in [&created, &preview, &applied] {
        let out = run.all_output();
        for value in [
            user1,
            user2,
            "first-user-value",
            "second-user-value",
            "first-password-value",
            "second-password-value",
        ] {
            assert_not_contains!(out, value, "secret value {value} leaked into output");
        }
        let b64_password = "c2Vjb25kLXBhc3N3b3JkLXZhbHVl";
        assert_not_contains!(out, b64_password, "encoded secret leaked");
    }
    support::delete_namespaces(&[ns]).await;
}

#[tokio::test]
async fn synced_deployments_are_reconciled_by_the_controller_manager() {
    if !support::require_controller_manager(
        "synced_deployments_are_reconciled_by_the_controller_manager",
    ) {
        return;
    }
    let ns = support::unique("dl-cm");
    let ws = Workspace::new();
    ws.write("app.yaml", &format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: {ns}\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27.0\n"
    ));
    assert_eq!(sync(ws.path(), &[]).code, 0);
    let replica_sets =
        Api::<k8s_openapi::api::apps::v1::ReplicaSet>::namespaced(support::client().await, &ns);
    let owned = support::eventually(|| async {
        let list = replica_sets.list(&Default::default()).await.unwrap();
        list.items.iter().any(|rs| {
            rs.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.kind == "Deployment" && o.name == "web")
        })
    })
    .await;
    assert!(
        owned,
        "the Deployment driftless applied got a ReplicaSet from the controller manager"
    );
    support::delete_namespaces(&[ns]).await;
}
