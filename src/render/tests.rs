use std::path::PathBuf;

use serde_json::json;

use super::*;
use crate::source::{Snapshot, SourceFile};

fn render(snapshot: &Snapshot) -> Result<Rendered, RenderError> {
    super::render(snapshot, &Decryption::default())
}

fn snapshot(files: &[(&str, &str)]) -> Snapshot {
    Snapshot {
        origin: "test".into(),
        files: files
            .iter()
            .map(|(p, c)| SourceFile {
                path: PathBuf::from(p),
                content: c.to_string(),
            })
            .collect(),
        ..Snapshot::default()
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
    assert_eq!(err.issues[0].origin.line, 1);
    assert!(err.issues[0].reason.contains("metadata.name"), "{err}");
    assert_eq!(err.issues[1].origin.line, 6);
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
    assert_eq!(err.issues[0].origin.file, PathBuf::from("dir/broken.yaml"));
    assert!(err.issues[0].origin.line >= 4, "{err}");
    assert!(err.to_string().contains("invalid YAML"), "{err}");
}

#[test]
fn resolve_sets_namespaces_and_scope() {
    let snap = snapshot(&[(
        "a.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: r\n  namespace: ignored\n",
    )]);
    let manifests = render(&snap).unwrap().manifests;
    let set = resolve(manifests.clone(), &Builtins, Some("dflt")).unwrap();
    assert_eq!(set.objects[0].id.to_string(), "apps/v1 Deployment dflt/web");
    assert_eq!(
        set.objects[0].manifest.value()["metadata"]["namespace"],
        "dflt"
    );
    assert_eq!(
        set.objects[1].id.to_string(),
        "rbac.authorization.k8s.io/v1 ClusterRole r"
    );
    assert!(
        set.objects[1].manifest.value()["metadata"]
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
    let err = resolve(manifests.clone(), &Builtins, None)
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
    let err = resolve(manifests.clone(), &Builtins, None)
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
    let set = resolve(manifests.clone(), &WithCrdKind, None).unwrap();
    let widget = set.objects.iter().find(|o| o.id.kind == "Widget").unwrap();
    let kind = widget.kind.as_ref().unwrap();
    assert!(kind.namespaced && !kind.served);
    assert_eq!(kind.plural, "widgets");
    let gadget = set.objects.iter().find(|o| o.id.kind == "Gadget").unwrap();
    assert!(gadget.kind.is_none());
    assert_eq!(gadget.id.namespace, None);
}

/// The one problem a single-file snapshot has, as printed (`file:line: [object: ]reason`).
fn only_issue(file: &str, content: &str) -> String {
    let err = render(&snapshot(&[(file, content)])).unwrap_err();
    assert_eq!(err.issues.len(), 1, "{err}");
    let text = err.issues[0].to_string();
    // The parser's vocabulary: its option and type names mean nothing to a manifest author.
    for word in [
        "Options",
        "Option<",
        "DuplicateKeyPolicy",
        "deserialize",
        "policy",
        "budget",
        "scalar",
        "u64",
        "ignore_binary_tag_for_string",
        "total_replayed_events",
        "{ ",
    ] {
        assert!(!text.contains(word), "library wording `{word}` in: {text}");
    }
    text
}

#[test]
fn duplicate_keys_are_named_without_parser_options() {
    let svc = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  type: ClusterIP\n  type: NodePort\n";
    assert_eq!(
        only_issue("svc.yaml", svc),
        "svc.yaml:7: invalid YAML: duplicate key `type`: a key may appear only once in a mapping"
    );
}

#[test]
fn generate_name_says_apply_needs_a_name() {
    let job = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: train-\n  namespace: mlops-training\n";
    let text = only_issue("job.yaml", job);
    assert_eq!(
        text,
        "job.yaml:1: batch/v1 Job mlops-training/<no name>: metadata.name is required: apply \
         cannot use metadata.generateName (`train-`), as each sync must find the same object by \
         its name (kubectl apply refuses it too)"
    );
    assert!(!text.contains("missing or empty"), "{text}");
    // Other missing fields are still named, in the same line.
    let text = only_issue("job.yaml", "kind: Job\nmetadata:\n  generateName: train-\n");
    assert!(
        text.starts_with(
            "job.yaml:1: Job <no name>: missing or empty apiVersion; metadata.name is required"
        ),
        "{text}"
    );
}

#[test]
fn names_that_are_not_strings_are_not_called_missing() {
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: 42\n";
    assert_eq!(
        only_issue("cm.yaml", cm),
        "cm.yaml:1: v1 ConfigMap <no name>: metadata.name must be a string"
    );
}

#[test]
fn null_and_complex_keys_are_explained() {
    assert_eq!(
        only_issue("a.yaml", "apiVersion: v1\nkind: ConfigMap\ndata:\n  ~: x\n"),
        "a.yaml:4: invalid YAML: a key is null (`~`, `null` or empty): keys must be strings \
         (quote `\"null\"` if meant)"
    );
    assert_eq!(
        only_issue("a.yaml", "apiVersion: v1\n? [a, b]\n: c\n"),
        "a.yaml:2: invalid YAML: a key must be a string, not a list or a mapping"
    );
}

#[test]
fn non_finite_numbers_are_explained() {
    let text = only_issue("d.yaml", "apiVersion: v1\nkind: ConfigMap\nweight: .nan\n");
    assert_eq!(
        text,
        "d.yaml:3: invalid YAML: `.nan`, `.inf` and numbers beyond a float's range (like 1e999) \
         cannot be sent to Kubernetes: quote the value to make it a string"
    );
    assert!(!text.contains("non-finite float"), "{text}");
}

#[test]
fn tagged_values_are_explained() {
    assert_eq!(
        only_issue("t.yaml", "a: 1\nb: !!int many\n"),
        "t.yaml:2: invalid YAML: a value tagged `!!int` is not a valid integer"
    );
    assert_eq!(
        only_issue("t.yaml", "a: !!float abc\n"),
        "t.yaml:1: invalid YAML: a value tagged `!!float` is not a valid number"
    );
    assert_eq!(
        only_issue("t.yaml", "a: !!bool maybe\n"),
        "t.yaml:1: invalid YAML: a value tagged `!!bool` is not a valid boolean"
    );
    assert_eq!(
        only_issue("t.yaml", "a: !!map [1]\n"),
        "t.yaml:1: invalid YAML: tag `!!map` is not supported"
    );
    assert_eq!(
        only_issue("s.yaml", "kind: Secret\ndata:\n  k: !!binary '%%%'\n"),
        "s.yaml:3: invalid YAML: a `!!binary` value is not valid base64"
    );
    assert_eq!(
        only_issue("s.yaml", "kind: Secret\ndata:\n  k: !!binary /w==\n"),
        "s.yaml:3: invalid YAML: a `!!binary` value must decode to UTF-8 text here; put binary \
         Secret values under `data:` as base64, without the tag"
    );
}

#[test]
fn anchors_aliases_and_merges_are_explained() {
    assert_eq!(
        only_issue("a.yaml", "a: 1\nb: *nope\n"),
        "a.yaml:2: invalid YAML: an alias (`*name`) refers to no anchor (`&name`) defined before \
         it in the document"
    );
    assert_eq!(
        only_issue("a.yaml", "a: 1\n<<: 2\n"),
        "a.yaml:2: invalid YAML: a merge key (`<<`) must be followed by a mapping or a list of \
         mappings"
    );
    let mut ratio = String::from("a: &a 1\nb: [");
    ratio.push_str(&"*a, ".repeat(200));
    ratio.push_str("]\n");
    // Found only at the end of the stream: reported on the document's last line, not past it.
    assert_eq!(
        only_issue("a.yaml", &ratio),
        "a.yaml:2: invalid YAML: far more aliases (`*name`) than anchors (`&name`): driftless \
         allows at most 10 aliases per anchor"
    );
}

#[test]
fn parse_limits_are_named_in_driftless_terms() {
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let prev = format!("*a{}", i - 1);
        bomb.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
    }
    let text = only_issue("bomb.yaml", &bomb);
    assert!(
        text.ends_with(
            ": invalid YAML: aliases (`*name`) expand to too much: driftless replays at most \
             200000 values per document"
        ),
        "{text}"
    );
    let mut aliases: String = (0..1100).map(|i| format!("a{i}: &a{i} x\n")).collect();
    aliases.push_str("l: [");
    aliases.push_str(
        &(0..10_001)
            .map(|i| format!("*a{}", i % 1100))
            .collect::<Vec<_>>()
            .join(", "),
    );
    aliases.push_str("]\n");
    let text = only_issue("aliases.yaml", &aliases);
    assert!(
        text.ends_with(
            ": invalid YAML: too many aliases (`*name`) in one document: driftless reads at most \
             10000"
        ),
        "{text}"
    );
    // Deeper than the limit; on a roomy stack, as a debug build's frames are large.
    let deep = format!("a: {}{}\n", "[".repeat(101), "]".repeat(101));
    let text = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || only_issue("deep.yaml", &deep))
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(
        text,
        "deep.yaml:1: invalid YAML: too many levels of nesting: driftless reads at most 100"
    );
}

#[test]
fn many_files_are_parsed_at_once_and_kept_in_order() {
    let texts: Vec<(String, String)> = (0..300)
        .map(|i| {
            let path = format!("f{i:03}.yaml");
            let text = match i {
                150 => "kind: [unclosed\n".to_string(),
                _ => format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\n  namespace: team\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: d{i}\n  namespace: team\n"),
            };
            (path, text)
        })
        .collect();
    let files: Vec<(&str, &str)> = texts
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let err = render(&snapshot(&files)).unwrap_err();
    assert_eq!(err.issues.len(), 1, "{err}");
    assert!(err.to_string().contains("f150.yaml"), "{err}");

    let good: Vec<(&str, &str)> = files
        .iter()
        .filter(|(p, _)| *p != "f150.yaml")
        .copied()
        .collect();
    let rendered = render(&snapshot(&good)).unwrap();
    let names: Vec<String> = rendered.manifests.iter().map(|m| m.describe()).collect();
    assert_eq!(names.len(), 598);
    let expected: Vec<String> = (0..300)
        .filter(|i| *i != 150)
        .flat_map(|i| [format!("c{i}"), format!("d{i}")])
        .collect();
    for (name, want) in names.iter().zip(&expected) {
        assert!(
            name.contains(&format!("/{want}")),
            "{name} in place of {want}"
        );
    }
}
