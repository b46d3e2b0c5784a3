//! Bad input: per-namespace failures, render errors, missing namespaces, CRDs, unknown kinds.

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};

use crate::support::{self, Workspace, diff, sync};

fn namespace(name: &str) -> String {
    format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n---\n")
}

fn config_map(ns: &str, name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {ns}\ndata:\n  k: v\n---\n"
    )
}

async fn exists_cm(ns: &str, name: &str) -> bool {
    Api::<ConfigMap>::namespaced(support::client().await, ns)
        .get_opt(name)
        .await
        .unwrap()
        .is_some()
}

async fn exists_ns(name: &str) -> bool {
    Api::<Namespace>::all(support::client().await)
        .get_opt(name)
        .await
        .unwrap()
        .is_some()
}

#[tokio::test]
async fn an_invalid_object_fails_its_namespace_only() {
    let (broken, healthy) = (support::unique("dl-broken"), support::unique("dl-healthy"));
    let ws = Workspace::new();
    ws.write(
        "namespaces.yaml",
        &(namespace(&broken) + &namespace(&healthy)),
    );
    ws.write("broken/app.yaml", &(config_map(&broken, "settings") + &format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: bad\n  namespace: {broken}\nspec:\n  replicas: -1\n  selector:\n    matchLabels: {{app: bad}}\n  template:\n    metadata:\n      labels: {{app: bad}}\n    spec:\n      containers:\n      - name: app\n        image: nginx:1.27.0\n"
    )));
    ws.write("healthy/app.yaml", &config_map(&healthy, "settings"));

    let run = sync(ws.path(), &[]);
    assert_eq!(run.code, 2, "any failure exits 2");
    assert_contains!(run.stdout, format!("namespace {broken}: FAILED"));
    assert_contains!(run.stdout, format!("namespace {healthy}: ok: 1 created"));
    let failed_line = run
        .stdout
        .lines()
        .find(|l| l.contains("failed") && l.contains("Deployment"))
        .unwrap();
    assert_contains!(failed_line, format!("apps/v1 Deployment {broken}/bad"));
    assert_contains!(failed_line, ["replicas", "broken/app.yaml:"]);
    assert_contains!(
        run.stdout,
        format!("held             v1 ConfigMap {broken}/settings")
    );

    assert!(
        exists_cm(&healthy, "settings").await,
        "the healthy namespace is synced"
    );
    assert!(
        !exists_cm(&broken, "settings").await,
        "nothing of the broken namespace is applied"
    );
    support::delete_namespaces(&[broken, healthy]).await;
}

#[tokio::test]
async fn a_yaml_syntax_error_names_file_and_line_and_nothing_is_applied() {
    let ns = support::unique("dl-yaml");
    let ws = Workspace::new();
    ws.write(
        "a-namespace.yaml",
        &(namespace(&ns) + &config_map(&ns, "fine")),
    );
    ws.write(
        "b/broken.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\ndata:\n  a: b: c\n",
    );

    for run in [sync(ws.path(), &[]), diff(ws.path(), &[])] {
        assert_eq!(run.code, 2);
        assert_contains!(run.stderr, "b/broken.yaml:6: invalid YAML");
        assert_contains!(run.stderr, "nothing applied");
    }
    assert!(
        !exists_ns(&ns).await,
        "a revision that fails to render is never applied"
    );
}

#[tokio::test]
async fn a_namespaced_object_without_a_namespace_is_a_clear_error() {
    let ns = support::unique("dl-nons");
    let ws = Workspace::new();
    ws.write("ns.yaml", &namespace(&ns));
    ws.write(
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: orphan\ndata:\n  k: v\n",
    );

    let run = sync(ws.path(), &[]);
    assert_eq!(run.code, 2);
    assert_contains!(
        run.stderr,
        "app/cm.yaml:1: v1 ConfigMap orphan: ConfigMap is namespaced but names no namespace"
    );
    assert_contains!(run.stderr, "--namespace");
    assert!(!exists_ns(&ns).await, "nothing applied");

    let run = sync(ws.path(), &["--namespace", &ns]);
    assert_eq!(run.code, 0);
    assert!(exists_cm(&ns, "orphan").await, "--namespace gives it one");
    support::delete_namespaces(&[ns]).await;
}

#[tokio::test]
async fn an_unknown_kind_fails_its_namespace_only() {
    let (odd, fine) = (support::unique("dl-odd"), support::unique("dl-fine"));
    let ws = Workspace::new();
    ws.write("all.yaml", &(namespace(&odd) + &namespace(&fine) + &config_map(&fine, "c") + &format!(
        "apiVersion: nothing.driftless.test/v1\nkind: Gizmo\nmetadata:\n  name: g\n  namespace: {odd}\n"
    )));
    let run = sync(ws.path(), &[]);
    assert_eq!(run.code, 2);
    assert_contains!(
        run.stdout,
        "the server has no kind Gizmo in nothing.driftless.test/v1"
    );
    assert!(exists_cm(&fine, "c").await);
    support::delete_namespaces(&[odd, fine]).await;
}

#[tokio::test]
async fn crds_are_established_before_their_custom_resources() {
    let ns = support::unique("dl-crd");
    let group = format!("{}.driftless.test", support::unique("g"));
    let crd_name = format!("gadgets.{group}");
    let ws = Workspace::new();
    // The custom resource sorts first in the source; apply order must still put the CRD first.
    ws.write("a-gadget.yaml", &format!(
        "apiVersion: {group}/v1\nkind: Gadget\nmetadata:\n  name: g1\n  namespace: {ns}\nspec:\n  size: 3\n"
    ));
    ws.write("b-crd.yaml", &(namespace(&ns) + &format!(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: {crd_name}\nspec:\n  group: {group}\n  scope: Namespaced\n  names: {{kind: Gadget, plural: gadgets, singular: gadget, listKind: GadgetList}}\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        properties:\n          spec:\n            type: object\n            properties:\n              size: {{type: integer}}\n"
    )));

    let preview = diff(ws.path(), &[]);
    assert_eq!(
        preview.code, 1,
        "a preview shows the CR as new even before its CRD exists"
    );
    assert_contains!(preview.stderr, "its CRD is created by this sync");

    let run = sync(ws.path(), &[]);
    assert_eq!(run.code, 0);
    assert_contains!(
        run.stdout,
        format!("created          {group}/v1 Gadget {ns}/g1")
    );
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(&group, "v1", "Gadget"),
        "gadgets",
    );
    let client = support::client().await;
    let gadget = Api::<DynamicObject>::namespaced_with(client.clone(), &ns, &ar)
        .get("g1")
        .await
        .unwrap();
    assert_eq!(gadget.data["spec"]["size"], 3);
    assert_eq!(diff(ws.path(), &[]).code, 0, "in sync after one run");

    let _ = Api::<CustomResourceDefinition>::all(client)
        .delete(&crd_name, &DeleteParams::default())
        .await;
    support::delete_namespaces(&[ns]).await;
}

#[tokio::test]
async fn the_deploy_manifests_are_valid_for_the_server() {
    let preview = diff(&support::repo_root().join("deploy"), &[]);
    assert!(
        preview.code <= 1,
        "deploy/ must dry-run cleanly: {}",
        preview.stderr
    );
    assert_contains!(preview.stderr, "0 failed");
}
