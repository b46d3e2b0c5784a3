use std::path::PathBuf;

use serde_json::{Value, json};

use super::*;
use crate::render::{KindInfo, ObjectId};

const CTX: Context<'static> = Context {
    field_manager: "driftless",
    revision: None,
    adopt: true,
    takeover_managers: &[],
    foreign_owner: &no_foreign_owner,
    replace_kinds: &[],
};

fn desired(kind: &str, ns: &str, name: &str, manifest: Value) -> DesiredObject {
    let (group, api_version) = match kind {
        "Deployment" => ("apps", "apps/v1"),
        _ => ("", "v1"),
    };
    DesiredObject {
        id: ObjectId::for_test(api_version, kind, ns, name),
        kind: Some(std::sync::Arc::new(KindInfo {
            group: group.into(),
            version: "v1".into(),
            kind: kind.into(),
            plural: "x".into(),
            namespaced: true,
            served: true,
        })),
        manifest: manifest.into(),
        origin: Origin {
            file: PathBuf::from("f.yaml"),
            line: 1,
            rendered_by: None,
        },
        sops: None,
    }
}

fn managed(obj: Value, fields: Value) -> Value {
    let mut obj = obj;
    obj["metadata"]["managedFields"] =
        json!([{"manager": "driftless", "operation": "Apply", "fieldsV1": fields}]);
    obj["metadata"]["resourceVersion"] = json!("7");
    obj
}

fn deploy(replicas: u32) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "ns"}, "spec": {"replicas": replicas}})
}

#[test]
fn absent_object_is_created_and_all_added() {
    let obj = desired("Deployment", "ns", "web", deploy(2));
    let plan = classify(
        obj,
        Observation {
            live: None,
            dry_run: DryRun::Merged(managed(deploy(2), json!({"f:spec": {}}))),
        },
        CTX,
    );
    assert_eq!(plan.action, Action::Create);
    assert!(plan.needs_write);
    assert!(plan.diff.contains("+  replicas: 2"), "{}", plan.diff);
    assert!(
        !plan.diff.contains("managedFields") && !plan.diff.contains("resourceVersion"),
        "{}",
        plan.diff
    );
}

#[test]
fn same_object_with_same_ownership_is_unchanged_without_a_write() {
    let live = managed(deploy(2), json!({"f:spec": {"f:replicas": {}}}));
    let mut merged = live.clone();
    merged["metadata"]["resourceVersion"] = json!("8");
    let plan = classify(
        desired("Deployment", "ns", "web", deploy(2)),
        Observation {
            live: Some(live),
            dry_run: DryRun::Merged(merged),
        },
        CTX,
    );
    assert_eq!(
        (plan.action, plan.needs_write, plan.diff.as_str()),
        (Action::Unchanged, false, "")
    );
}

#[test]
fn same_values_but_not_yet_ours_is_unchanged_with_a_write() {
    let live = deploy(2);
    let merged = managed(deploy(2), json!({"f:spec": {"f:replicas": {}}}));
    let plan = classify(
        desired("Deployment", "ns", "web", deploy(2)),
        Observation {
            live: Some(live),
            dry_run: DryRun::Merged(merged),
        },
        CTX,
    );
    assert_eq!((plan.action, plan.needs_write), (Action::Unchanged, true));
}

#[test]
fn drift_is_an_update_with_the_exact_change() {
    let fields = json!({"f:spec": {"f:replicas": {}}});
    let plan = classify(
        desired("Deployment", "ns", "web", deploy(2)),
        Observation {
            live: Some(managed(deploy(5), fields.clone())),
            dry_run: DryRun::Merged(managed(deploy(2), fields)),
        },
        CTX,
    );
    assert_eq!(plan.action, Action::Update);
    assert!(
        plan.diff.contains("-  replicas: 5\n+  replicas: 2\n"),
        "{}",
        plan.diff
    );
}

#[test]
fn conflicts_keep_the_diff_and_block_unless_forced() {
    let plan = classify(
        desired("Deployment", "ns", "web", deploy(2)),
        Observation {
            live: Some(deploy(5)),
            dry_run: DryRun::Conflict {
                merged: deploy(2),
                message: "Apply failed with 1 conflict".into(),
                causes: vec![(
                    "conflict with \"hpa-controller\" using apps/v1".into(),
                    ".spec.replicas".into(),
                )],
            },
        },
        CTX,
    );
    assert_eq!(plan.action, Action::Update);
    assert_eq!(
        plan.conflict.as_deref(),
        Some("hpa-controller owns .spec.replicas")
    );
    assert!(plan.blocks(false) && !plan.blocks(true));
}

#[test]
fn kubectl_changes_are_drift_to_take_back_not_conflicts() {
    let takeover = vec!["kubectl".to_string(), "before-first-apply".to_string()];
    let ctx = Context {
        takeover_managers: &takeover,
        ..CTX
    };
    let plan = classify(
        desired("Deployment", "ns", "web", deploy(2)),
        Observation {
            live: Some(managed(deploy(5), json!({}))),
            dry_run: DryRun::Conflict {
                merged: deploy(2),
                message: "Apply failed with 1 conflict".into(),
                causes: vec![(
                    "conflict with \"kubectl-edit\" using apps/v1".into(),
                    ".spec.replicas".into(),
                )],
            },
        },
        ctx,
    );
    assert_eq!(plan.conflict, None);
    assert_eq!(
        plan.drift.as_deref(),
        Some("kubectl-edit changed .spec.replicas")
    );
    assert!(!plan.blocks(false), "drift is taken back, never a failure");
    assert!(
        plan.diff.contains("-  replicas: 5\n+  replicas: 2\n"),
        "{}",
        plan.diff
    );
}

#[test]
fn objects_driftless_did_not_create_are_adopted_only_when_asked() {
    let observe = || Observation {
        live: Some(deploy(3)),
        dry_run: DryRun::Merged(managed(deploy(2), json!({}))),
    };
    let left = classify(
        desired("Deployment", "ns", "web", deploy(2)),
        observe(),
        Context {
            adopt: false,
            ..CTX
        },
    );
    assert_eq!((left.action, left.needs_write), (Action::Skip, false));
    assert!(
        left.diff.contains("-  replicas: 3\n+  replicas: 2\n"),
        "what differs from Git is shown, not adopted or not: {}",
        left.diff
    );
    assert!(left.message.as_deref().unwrap().contains("--adopt"));
    assert!(
        left.message
            .as_deref()
            .unwrap()
            .contains("differs from Git")
    );
    let same = classify(
        desired("Deployment", "ns", "web", deploy(2)),
        Observation {
            live: Some(deploy(2)),
            dry_run: DryRun::Merged({
                let mut merged = managed(deploy(2), json!({}));
                merged["metadata"]["labels"] = json!({
                    normalize::PART_OF_LABEL: "applyset-x-v1",
                    normalize::SET_LABEL: "platform",
                });
                merged
            }),
        },
        Context {
            adopt: false,
            ..CTX
        },
    );
    assert_eq!(
        (same.action, same.diff.as_str()),
        (Action::Skip, ""),
        "the labels an adoption would add are no difference"
    );
    assert!(
        !left.blocks(false),
        "an object left alone does not fail its namespace"
    );
    let adopted = classify(
        desired("Deployment", "ns", "web", deploy(2)),
        observe(),
        CTX,
    );
    assert_eq!(
        (adopted.action, adopted.needs_write),
        (Action::Update, true)
    );
}

#[test]
fn secret_diffs_never_show_values() {
    let secret = |v: &str| json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "ns"}, "data": {"password": v, "user": "YWRtaW4="}});
    let plan = classify(
        desired("Secret", "ns", "s", secret("bmV3LXZhbHVl")),
        Observation {
            live: Some(secret("b2xkLXZhbHVl")),
            dry_run: DryRun::Merged(secret("bmV3LXZhbHVl")),
        },
        CTX,
    );
    assert_eq!(plan.action, Action::Update);
    assert!(
        plan.diff.contains("-  password: '*** (before)'")
            || plan.diff.contains("-  password: \"*** (before)\""),
        "{}",
        plan.diff
    );
    assert!(plan.diff.contains("*** (after)"), "{}", plan.diff);
    for value in [
        "bmV3LXZhbHVl",
        "b2xkLXZhbHVl",
        "YWRtaW4=",
        "new-value",
        "old-value",
    ] {
        assert!(!plan.diff.contains(value), "{value} leaked: {}", plan.diff);
    }
}

#[test]
fn rejected_secret_errors_are_scrubbed() {
    let manifest = json!({"kind": "Secret", "stringData": {"token": "s3cr3t-token"}});
    let plan = classify(
        desired("Secret", "ns", "s", manifest),
        Observation {
            live: None,
            dry_run: DryRun::Rejected(Reason::Invalid, "invalid value \"s3cr3t-token\"".into()),
        },
        CTX,
    );
    assert_eq!(plan.action, Action::Fail);
    assert_eq!(plan.message.as_deref(), Some("invalid value \"***\""));
}

#[test]
fn pending_objects_show_the_manifest_as_created() {
    let plan = classify(
        desired("Deployment", "ns", "web", deploy(3)),
        Observation {
            live: None,
            dry_run: DryRun::Pending("namespace ns is created by this sync".into()),
        },
        CTX,
    );
    assert_eq!(plan.action, Action::Create);
    assert!(plan.diff.contains("+  replicas: 3"));
    assert!(plan.message.unwrap().contains("created by this sync"));
}

#[test]
fn groups_by_namespace_in_apply_order() {
    let mk = |kind: &str, ns: &str, name: &str| {
        classify(
            desired(kind, ns, name, json!({})),
            Observation {
                live: None,
                dry_run: DryRun::Rejected(Reason::Invalid, "x".into()),
            },
            CTX,
        )
    };
    let groups = group_by_namespace(vec![
        mk("Deployment", "b", "d"),
        mk("ConfigMap", "a", "c"),
        mk("ConfigMap", "b", "c"),
    ]);
    let shape: Vec<_> = groups
        .iter()
        .map(|g| {
            (
                g.namespace.clone().unwrap(),
                g.objects
                    .iter()
                    .map(|o| o.id().kind.clone())
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            ("a".to_string(), vec!["ConfigMap".to_string()]),
            (
                "b".to_string(),
                vec!["ConfigMap".to_string(), "Deployment".to_string()]
            )
        ]
    );
    assert!(groups[0].blocked(true));
}

#[test]
fn an_object_another_set_owns_is_left_alone_whatever_the_flags() {
    let owned_by_b = |_: &ObjectId, live: &Value| {
        live["metadata"]["labels"]["owner"]
            .as_str()
            .map(|o| format!("owned by sync set {o:?}"))
    };
    let mut live = managed(deploy(3), json!({}));
    live["metadata"]["labels"] = json!({"owner": "b"});
    let plan = classify(
        desired("Deployment", "ns", "web", deploy(2)),
        Observation {
            live: Some(live),
            dry_run: DryRun::Merged(deploy(2)),
        },
        Context {
            adopt: true,
            foreign_owner: &owned_by_b,
            ..CTX
        },
    );
    assert_eq!((plan.action, plan.needs_write), (Action::Fail, false));
    assert_eq!(plan.conflict.as_deref(), Some("owned by sync set \"b\""));
    assert!(
        plan.diff.is_empty() && plan.blocks(true),
        "not even --force-conflicts"
    );
}
