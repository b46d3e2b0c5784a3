//! The offline comparison on literal revisions.

use std::path::PathBuf;

use super::*;
use crate::report::Outcome;
use crate::source::{Snapshot, SourceFile};

fn revision(sha: &str, files: &[(&str, &str)]) -> Rendered {
    let snapshot = Snapshot {
        origin: "repo".into(),
        revision: Some(sha.into()),
        files: files
            .iter()
            .map(|(path, content)| SourceFile {
                path: PathBuf::from(path),
                content: content.to_string(),
            })
            .collect(),
        ..Snapshot::default()
    };
    render::render(&snapshot, &render::Decryption::default()).expect("renders")
}

fn config_map(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: ns\ndata:\n  level: {value}\n"
    )
}

fn secret(value: &str, extra: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: ns\nstringData:\n  password: {value}\n{extra}"
    )
}

fn outcomes(report: &Report) -> Vec<(String, Outcome)> {
    report
        .objects()
        .map(|o| (o.id.to_string(), o.outcome))
        .collect()
}

fn options() -> CompareOptions {
    CompareOptions {
        set: "default".into(),
        ..CompareOptions::default()
    }
}

#[test]
fn created_changed_deleted_and_unchanged() {
    let base = revision(
        "b1",
        &[
            ("a.yaml", &config_map("a", "info")),
            ("b.yaml", &config_map("b", "x")),
            ("c.yaml", &config_map("c", "y")),
        ],
    );
    let head = revision(
        "h1",
        &[
            ("a.yaml", &config_map("a", "debug")),
            ("c.yaml", &config_map("c", "y")),
            ("d.yaml", &config_map("d", "z")),
        ],
    );
    let report = compare(base, head, &options()).expect("compares");
    let mut got = outcomes(&report);
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        [
            ("v1 ConfigMap ns/a".to_string(), Outcome::Configured),
            ("v1 ConfigMap ns/b".to_string(), Outcome::Pruned),
            ("v1 ConfigMap ns/c".to_string(), Outcome::Unchanged),
            ("v1 ConfigMap ns/d".to_string(), Outcome::Created),
        ]
    );
    assert_eq!(report.exit_code(), 1);
    assert_eq!(report.revision.as_deref(), Some("h1"));
    let a = report.objects().find(|o| o.id.name == "a").expect("a");
    assert!(
        a.diff.starts_with(
            "--- base/v1/ConfigMap/ns/a\trevision b1\n+++ desired/v1/ConfigMap/ns/a\trevision h1\n"
        ),
        "{}",
        a.diff
    );
    assert!(
        a.diff.contains("-  level: info\n+  level: debug\n"),
        "{}",
        a.diff
    );
    assert_eq!(a.fields, ["data.level"]);
    let b = report.objects().find(|o| o.id.name == "b").expect("b");
    assert!(
        b.diff.contains("+++ /dev/null") && b.origin.is_none(),
        "{}",
        b.diff
    );
}

#[test]
fn a_renamed_file_that_moves_no_object_changes_nothing() {
    let base = revision("b1", &[("old/a.yaml", &config_map("a", "info"))]);
    let head = revision(
        "h1",
        &[(
            "new/a.yaml",
            &format!("# moved\n{}", config_map("a", "info")),
        )],
    );
    let report = compare(base, head, &options()).expect("compares");
    assert_eq!(
        outcomes(&report),
        [("v1 ConfigMap ns/a".to_string(), Outcome::Unchanged)]
    );
    assert_eq!(report.exit_code(), 0);
    assert_eq!(
        report
            .objects()
            .next()
            .and_then(|o| o.origin.clone())
            .map(|o| o.to_string()),
        Some("new/a.yaml:1".into())
    );
}

#[test]
fn a_secret_value_change_shows_only_masked_and_names_keys() {
    let base = revision(
        "b1",
        &[("s.yaml", &secret("hunter2-old", "  gone: dropped-value\n"))],
    );
    let head = revision(
        "h1",
        &[("s.yaml", &secret("hunter2-new", "  added: new-value\n"))],
    );
    let report = compare(base, head, &options()).expect("compares");
    let s = report.objects().next().expect("one");
    assert_eq!(s.outcome, Outcome::Configured);
    assert!(
        s.diff.contains("-  password: \"*** (before)\"\n")
            && s.diff.contains("+  password: \"*** (after)\"\n"),
        "{}",
        s.diff
    );
    assert!(
        s.diff.contains("+  added: \"***\"") && s.diff.contains("-  gone: \"***\""),
        "{}",
        s.diff
    );
    assert!(
        !s.diff.contains("hunter2") && !s.diff.contains("-value"),
        "{}",
        s.diff
    );
    assert_eq!(
        s.fields,
        ["stringData.added", "stringData.gone", "stringData.password"]
    );
}

#[test]
fn namespaces_from_the_table_crds_of_either_revision_or_the_flag() {
    let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\nspec:\n  group: example.com\n  scope: Namespaced\n  names: {kind: Widget, plural: widgets}\n  versions: [{name: v1}]\n";
    let widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n";
    let role = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r, namespace: ignored}\nrules: []\n";
    let base = revision("b1", &[("crd.yaml", crd)]);
    let head = revision(
        "h1",
        &[
            ("w.yaml", widget),
            ("r.yaml", role),
            (
                "cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
            ),
        ],
    );
    let e =
        compare(base.clone(), head.clone(), &options()).expect_err("no namespace for the Widget");
    let text = e.to_string();
    assert!(
        text.starts_with("the head (revision h1) does not render"),
        "{text}"
    );
    assert!(
        text.contains("Widget is namespaced but names no namespace")
            && text.contains("ConfigMap is namespaced"),
        "{text}"
    );
    let with_ns = CompareOptions {
        default_namespace: Some("team".into()),
        ..options()
    };
    let report = compare(base, head, &with_ns).expect("compares");
    let mut got: Vec<String> = report.objects().map(|o| o.id.to_string()).collect();
    got.sort();
    assert_eq!(
        got,
        [
            "apiextensions.k8s.io/v1 CustomResourceDefinition widgets.example.com",
            "example.com/v1 Widget team/w",
            "rbac.authorization.k8s.io/v1 ClusterRole r",
            "v1 ConfigMap team/c",
        ]
    );
    let crd_line = report.objects().find(|o| o.id.is_crd()).expect("crd");
    assert_eq!(
        (crd_line.outcome, crd_line.message.as_deref()),
        (
            Outcome::Skipped,
            Some("not pruned: CRDs are pruned only with --prune-crds")
        )
    );
}

#[test]
fn unknown_kinds_say_how_they_were_taken_and_kept_deletions_are_skipped() {
    let thing = "apiVersion: acme.io/v1\nkind: Gadget\nmetadata: {name: g, namespace: ns}\n";
    let kept = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep\n  namespace: ns\n  annotations: {driftless.dev/prune: disabled}\n";
    let namespace = "apiVersion: v1\nkind: Namespace\nmetadata: {name: ns}\n";
    let base = revision("b1", &[("k.yaml", kept), ("n.yaml", namespace)]);
    let head = revision("h1", &[("g.yaml", thing)]);
    let report = compare(base, head, &options()).expect("compares");
    let gadget = report
        .objects()
        .find(|o| o.id.kind == "Gadget")
        .expect("gadget");
    assert!(
        gadget
            .message
            .as_deref()
            .is_some_and(|m| m.contains("kind not known offline") && m.contains("namespaced"))
    );
    let skipped: Vec<&str> = report
        .objects()
        .filter(|o| o.outcome == Outcome::Skipped)
        .filter_map(|o| o.message.as_deref())
        .collect();
    assert_eq!(
        skipped,
        [
            "not pruned: Namespaces are pruned only with --prune-namespaces",
            "not pruned: annotated driftless.dev/prune: disabled"
        ]
    );
    let prune_all = CompareOptions {
        prune_namespaces: true,
        ..options()
    };
    let base = revision("b1", &[("n.yaml", namespace)]);
    let report = compare(base, revision("h1", &[]), &prune_all).expect("compares");
    assert_eq!(
        outcomes(&report),
        [("v1 Namespace ns".to_string(), Outcome::Pruned)]
    );
}

#[test]
fn changed_fields_walk_maps_and_lists() {
    let before = serde_json::json!({"spec": {"replicas": 1, "template": {"spec": {"containers": [{"image": "a:1"}, {"image": "b:1"}]}}}, "data": {"x": "1"}});
    let after = serde_json::json!({"spec": {"replicas": 2, "template": {"spec": {"containers": [{"image": "a:2"}, {"image": "b:1"}]}}}, "data": {"y": "1"}});
    assert_eq!(
        changed_fields(&before, &after),
        [
            "data.x",
            "data.y",
            "spec.replicas",
            "spec.template.spec.containers[0].image"
        ]
    );
    let grown = serde_json::json!({"spec": {"replicas": 1, "template": {"spec": {"containers": [{"image": "a:1"}]}}}, "data": {"x": "1"}});
    assert_eq!(
        changed_fields(&grown, &before),
        ["spec.template.spec.containers"]
    );
}
