//! Objects across releases, on the API server alone: an immutable change is refused in a few
//! words naming the fields and the fix, and replaced when the set or the object says so; a bad
//! lifecycle annotation is an error at its file and line that applies nothing.

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::Api;

use crate::support::gitops::namespace;
use crate::support::{self, Workspace};

fn deployment(ns: &str, app: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: {ns}\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: {app}}}\n  template:\n    metadata:\n      labels: {{app: {app}}}\n    spec:\n      containers:\n      - name: app\n        image: registry.example.com/web:1.0.0\n"
    )
}

async fn uid(ns: &str) -> Option<String> {
    let api = Api::<Deployment>::namespaced(support::client().await, ns);
    api.get_opt("web").await.unwrap()?.metadata.uid
}

#[tokio::test]
async fn an_immutable_change_names_the_fields_and_the_fix_and_is_replaced_when_asked() {
    let ns = support::unique("dl-immutable");
    let mut ws = Workspace::new();
    ws.namespaces.push(ns.clone());
    ws.write(
        "app.yaml",
        &format!("{}---\n{}", namespace(&ns), deployment(&ns, "web")),
    );
    assert_eq!(support::sync(ws.path(), &[]).code, 0);
    let before = uid(&ns).await;

    // A new selector: the server refuses it as immutable.
    ws.write(
        "app.yaml",
        &format!("{}---\n{}", namespace(&ns), deployment(&ns, "web2")),
    );
    let refused = support::sync(ws.path(), &["-o", "json"]);
    assert_eq!(refused.code, 2);
    assert_eq!(
        refused.reason_of("Deployment", &ns, "web").as_deref(),
        Some("Immutable")
    );
    let report: serde_json::Value = serde_json::from_str(&refused.stdout).unwrap();
    let message = report["namespaces"][1]["objects"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert_contains!(
        message,
        [
            "spec.selector",
            "--replace-immutable Deployment",
            "driftless.dev/replace"
        ]
    );
    assert!(
        message.len() <= 300,
        "{} characters: {message}",
        message.len()
    );
    assert_not_contains!(refused.stdout, "LabelSelector{");
    assert_eq!(uid(&ns).await, before);

    // Replaced when the sync says so: deleted, and created with the new selector.
    let replaced = support::sync(ws.path(), &["--replace-immutable", "Deployment"]);
    assert_eq!(replaced.code, 0, "{}", replaced.stdout);
    assert_contains!(
        replaced.stdout,
        format!("replaced         apps/v1 Deployment {ns}/web")
    );
    assert_ne!(uid(&ns).await, before);
    assert_eq!(support::diff(ws.path(), &[]).code, 0);
    ws.cleanup().await;
}

#[tokio::test]
async fn a_bad_lifecycle_annotation_is_an_error_at_its_line_and_nothing_is_applied() {
    let ns = support::unique("dl-bad-lifecycle");
    let mut ws = Workspace::new();
    ws.namespaces.push(ns.clone());
    let cm = |name: &str, annotations: &str| {
        format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {ns}\n  annotations: {{{annotations}}}\n"
        )
    };
    let mut text = namespace(&ns).replace(
        "metadata:\n",
        "metadata:\n  annotations: {driftless.dev/replace: force}\n",
    );
    text.push_str(&cm("wave", "driftless.dev/wave: first"));
    text.push_str(&cm("hook", "argocd.argoproj.io/hook: BeforeSync"));
    ws.write("bad.yaml", &text);
    let run = support::sync(ws.path(), &[]);
    assert_eq!(run.code, 2);
    assert_contains!(
        run.stderr,
        [
            "bad.yaml:1",
            "replacing it would delete everything in it",
            "bad.yaml:7",
            "driftless.dev/wave: \"first\" is not an integer",
            "bad.yaml:14",
            "unknown hook \"BeforeSync\"",
            "nothing applied",
        ]
    );
    let namespaces = Api::<k8s_openapi::api::core::v1::Namespace>::all(support::client().await);
    assert!(namespaces.get_opt(&ns).await.unwrap().is_none());
}

#[tokio::test]
async fn the_examples_training_job_with_a_new_image_never_holds_its_namespace() {
    let ws = Workspace::example();
    let training = ws.namespaces[1].clone();
    assert_eq!(support::sync(ws.path(), &[]).code, 0);
    let job = "mlops-training/train-job.yaml";
    ws.edit(
        job,
        "python:3.12.4-slim-bookworm",
        "python:3.12.5-slim-bookworm",
    );
    ws.edit(
        job,
        "  name: train-baseline\n",
        "  name: train-baseline\n  annotations: {team: ml}\n",
    );

    // Its pod cannot start here, so the Job still runs: it fails alone, nothing is held.
    let run = support::sync(ws.path(), &[]);
    assert_eq!(run.code, 2);
    let summary = run
        .stdout
        .lines()
        .find(|l| l.starts_with(&format!("namespace {training}:")))
        .unwrap()
        .to_string();
    assert_not_contains!(summary, "held");
    assert_contains!(run.stdout, "a running Job is not replaced");
    let line = run.stdout.lines().find(|l| l.contains("Job ")).unwrap();
    assert!(line.len() <= 400, "{line}");

    // Said on purpose (or once it finished), it is replaced, and the report says why.
    ws.edit(
        job,
        "annotations: {team: ml}",
        "annotations: {driftless.dev/replace: force}",
    );
    let replaced = support::sync(ws.path(), &[]);
    assert_eq!(replaced.code, 0, "{}", replaced.stdout);
    assert_contains!(
        replaced.stdout,
        format!(
            "replaced         batch/v1 Job {training}/train-baseline: spec.template cannot change in place: deleted and created again"
        )
    );
    ws.cleanup().await;
}
