//! Lint findings in reports against the cluster: there, failing nothing unless asked; past
//! `--fail-on`, a diff exits 2 and a sync applies nothing.

use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;

use crate::support::{self, Workspace, diff, sync};

#[tokio::test]
async fn findings_ride_along_and_fail_on_stops_a_sync_before_it_writes() {
    let ns = support::unique("dl-lint");
    let ws = Workspace::new();
    ws.write(
        "app.yaml",
        &format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: {ns}\nspec:\n  selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      containers:\n      - name: web\n        image: nginx\n"
        ),
    );
    let preview = diff(ws.path(), &["-o", "json"]);
    assert_eq!(preview.code, 1, "findings fail nothing unless asked");
    let doc: serde_json::Value = serde_json::from_str(&preview.stdout).unwrap();
    let checks: Vec<&str> = doc["lint"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["check"].as_str())
        .collect();
    assert_contains!(checks, ["latest-tag", "run-as-root"]);
    assert_eq!(doc["lint"]["failed"], false);

    let gated = diff(ws.path(), &["--fail-on", "high"]);
    assert_eq!(gated.code, 2, "{}", gated.stderr);
    assert_contains!(gated.stderr, "HIGH     latest-tag");

    let refused = sync(ws.path(), &["--fail-on", "high"]);
    assert_eq!(refused.code, 2);
    assert_contains!(
        refused.stderr,
        "refused: 2 lint findings at or above --fail-on high"
    );
    assert_contains!(refused.stderr, "latest-tag apps/v1 Deployment");
    let namespaces: Api<Namespace> = Api::all(support::client().await);
    assert!(
        namespaces.get_opt(&ns).await.unwrap().is_none(),
        "nothing applied"
    );

    let applied = sync(ws.path(), &["--fail-on", "critical"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    assert_contains!(applied.stdout, "lint: ");
    support::delete_namespaces(&[ns]).await;
}
