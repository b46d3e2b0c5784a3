use std::path::PathBuf;

use serde_json::json;

use super::*;
use crate::source::{Snapshot, SourceFile};

fn snapshot(files: &[(&str, &str)]) -> Snapshot {
    Snapshot {
        origin: "test".into(),
        revision: None,
        files: files
            .iter()
            .map(|(p, c)| SourceFile {
                path: PathBuf::from(p),
                content: c.to_string(),
            })
            .collect(),
    }
}

/// A lookup that knows a few built-in kinds, like a 1.20 server would.
struct Builtins;

impl KindLookup for Builtins {
    fn lookup(&self, group: &str, version: &str, kind: &str) -> Option<KindInfo> {
        let (plural, namespaced) = match (group, version, kind) {
            ("", "v1", "Namespace") => ("namespaces", false),
            ("", "v1", "ConfigMap") => ("configmaps", true),
            ("", "v1", "Secret") => ("secrets", true),
            ("apps", "v1", "Deployment") => ("deployments", true),
            ("rbac.authorization.k8s.io", "v1", "ClusterRole") => ("clusterroles", false),
            _ => return None,
        };
        Some(KindInfo {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: plural.into(),
            namespaced,
            served: true,
        })
    }
}

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: team\n";

#[test]
fn renders_documents_with_origins() {
    let snap = snapshot(&[(
        "a.yaml",
        &format!("{CM}---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n"),
    )]);
    let manifests = render(&snap).unwrap().manifests;
    assert_eq!(manifests.len(), 2);
    assert_eq!(manifests[1].origin.to_string(), "a.yaml:7");
    assert_eq!(manifests[1].kind(), "Namespace");
}

#[test]
fn lists_are_expanded() {
    let list = json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "x"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "x"}},
    ]});
    let manifests = render(&snapshot(&[("l.json", &list.to_string())]))
        .unwrap()
        .manifests;
    let names: Vec<_> = manifests.iter().map(Manifest::name).collect();
    assert_eq!(names, ["a", "b"]);
}

#[test]
fn missing_fields_are_named_with_file_and_line() {
    let snap = snapshot(&[
        ("ok.yaml", CM),
        (
            "bad.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  namespace: x\n---\n- a\n- b\n",
        ),
    ]);
    let err = render(&snap).unwrap_err();
    assert_eq!(err.issues.len(), 2, "{err}");
    assert_eq!(err.issues[0].line, 1);
    assert!(err.issues[0].reason.contains("metadata.name"), "{err}");
    assert_eq!(err.issues[1].line, 6);
    assert!(
        err.to_string()
            .contains("bad.yaml:6: a document must be a mapping"),
        "{err}"
    );
}

#[test]
fn yaml_syntax_errors_name_file_and_line() {
    let snap = snapshot(&[(
        "dir/broken.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [x\n",
    )]);
    let err = render(&snap).unwrap_err();
    assert_eq!(err.issues[0].file, PathBuf::from("dir/broken.yaml"));
    assert!(err.issues[0].line >= 4, "{err}");
    assert!(err.to_string().contains("invalid YAML"), "{err}");
}

#[test]
fn resolve_sets_namespaces_and_scope() {
    let snap = snapshot(&[(
        "a.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: r\n  namespace: ignored\n",
    )]);
    let manifests = render(&snap).unwrap().manifests;
    let set = resolve(&manifests, &Builtins, Some("dflt")).unwrap();
    assert_eq!(set.objects[0].id.to_string(), "apps/v1 Deployment dflt/web");
    assert_eq!(set.objects[0].manifest["metadata"]["namespace"], "dflt");
    assert_eq!(
        set.objects[1].id.to_string(),
        "rbac.authorization.k8s.io/v1 ClusterRole r"
    );
    assert!(
        set.objects[1].manifest["metadata"]
            .get("namespace")
            .is_none()
    );
}

#[test]
fn namespaced_object_without_namespace_is_a_clear_error() {
    let manifests = render(&snapshot(&[(
        "x/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
    )]))
    .unwrap()
    .manifests;
    let err = resolve(&manifests, &Builtins, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("x/cm.yaml:1: v1 ConfigMap c: ConfigMap is namespaced but names no namespace"),
        "{err}"
    );
    assert!(err.contains("--namespace"), "{err}");
}

#[test]
fn duplicates_name_both_places() {
    let manifests = render(&snapshot(&[("a.yaml", CM), ("b.yaml", CM)]))
        .unwrap()
        .manifests;
    let err = resolve(&manifests, &Builtins, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("b.yaml:1: v1 ConfigMap team/cfg: defined twice: first at a.yaml:1"),
        "{err}"
    );
}

#[test]
fn kinds_from_crds_in_the_set_resolve_as_not_yet_served() {
    let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  scope: Namespaced\n  names: {kind: Widget, plural: widgets}\n  versions:\n  - name: v1\n";
    let cr = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: team\n---\napiVersion: other.io/v1\nkind: Gadget\nmetadata:\n  name: g\n";
    let manifests = render(&snapshot(&[("crd.yaml", crd), ("cr.yaml", cr)]))
        .unwrap()
        .manifests;
    struct WithCrdKind;
    impl KindLookup for WithCrdKind {
        fn lookup(&self, g: &str, v: &str, k: &str) -> Option<KindInfo> {
            if g == "apiextensions.k8s.io" {
                return Some(KindInfo {
                    group: g.into(),
                    version: v.into(),
                    kind: k.into(),
                    plural: "customresourcedefinitions".into(),
                    namespaced: false,
                    served: true,
                });
            }
            Builtins.lookup(g, v, k)
        }
    }
    let set = resolve(&manifests, &WithCrdKind, None).unwrap();
    let widget = set.objects.iter().find(|o| o.id.kind == "Widget").unwrap();
    let kind = widget.kind.as_ref().unwrap();
    assert!(kind.namespaced && !kind.served);
    assert_eq!(kind.plural, "widgets");
    let gadget = set.objects.iter().find(|o| o.id.kind == "Gadget").unwrap();
    assert!(gadget.kind.is_none());
    assert_eq!(gadget.id.namespace, None);
}
