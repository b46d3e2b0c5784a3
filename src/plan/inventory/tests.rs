use serde_json::json;

use super::*;

fn id(group: &str, kind: &str, name: &str) -> ObjectId {
    ObjectId {
        group: group.into(),
        version: "v1".into(),
        kind: kind.into(),
        namespace: Some("team".into()),
        name: name.into(),
    }
}

const RULES: PruneRules<'static> = PruneRules {
    field_manager: "driftless",
    namespaces: false,
    crds: false,
};

fn member(applyset: &str, extra_meta: serde_json::Value) -> serde_json::Value {
    let mut obj = json!({"metadata": {
        "name": "x",
        "labels": {PART_OF_LABEL: applyset},
        "managedFields": [{"manager": "driftless", "operation": "Apply"}],
    }});
    for (k, v) in extra_meta.as_object().unwrap() {
        obj["metadata"][k] = v.clone();
    }
    obj
}

#[test]
fn ids_follow_kep_3659() {
    // base64url(sha256("driftless-inventory.team.Secret.")), computed independently.
    let parent = Parent::for_scope(&Some("team".into()), "driftless-system");
    assert_eq!(
        parent.id(),
        "applyset-FeO6jtN1rVemdc6eRIXbwd_MkIHGSTfG5ogLbpxkG4I-v1"
    );
    let cluster = Parent::for_scope(&None, "driftless-system");
    assert_eq!(
        (cluster.name.as_str(), cluster.namespace.as_str()),
        (CLUSTER_PARENT_NAME, "driftless-system")
    );
    assert_ne!(cluster.id(), parent.id());
}

#[test]
fn parent_manifest_carries_id_tooling_and_sorted_group_kinds() {
    let parent = Parent::for_scope(&Some("team".into()), "driftless-system");
    let kinds: BTreeSet<String> = ["Deployment.apps", "ConfigMap"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let m = parent.manifest(&kinds);
    assert_eq!(m["metadata"]["labels"][ID_LABEL], parent.id());
    assert_eq!(
        m["metadata"]["annotations"][GROUP_KINDS_ANNOTATION],
        "ConfigMap,Deployment.apps"
    );
    assert!(
        m["metadata"]["annotations"][TOOLING_ANNOTATION]
            .as_str()
            .unwrap()
            .starts_with("driftless/")
    );
    assert_eq!(parent_group_kinds(&m), kinds);
}

#[test]
fn group_kinds_round_trip() {
    assert_eq!(group_kind("apps", "Deployment"), "Deployment.apps");
    assert_eq!(group_kind("", "ConfigMap"), "ConfigMap");
    assert_eq!(
        split_group_kind("Ingress.networking.k8s.io"),
        ("networking.k8s.io".into(), "Ingress".into())
    );
    assert_eq!(split_group_kind("Secret"), (String::new(), "Secret".into()));
}

#[test]
fn members_get_the_part_of_label() {
    let mut m = json!({"metadata": {"name": "a"}});
    label_member(&mut m, "applyset-x-v1");
    assert_eq!(m["metadata"]["labels"][PART_OF_LABEL], "applyset-x-v1");
}

#[test]
fn only_our_unowned_unprotected_members_are_pruned() {
    let set = "applyset-x-v1";
    assert_eq!(
        decide(
            &id("", "ConfigMap", "a"),
            &member(set, json!({})),
            set,
            RULES
        ),
        PruneDecision::Prune
    );
    let keep = |obj| {
        matches!(
            decide(&id("", "ConfigMap", "a"), &obj, set, RULES),
            PruneDecision::Keep(_)
        )
    };
    assert!(
        keep(member("applyset-other-v1", json!({}))),
        "other inventory"
    );
    assert!(
        keep(member(
            set,
            json!({"managedFields": [{"manager": "kubectl-client-side-apply"}]})
        )),
        "copied label"
    );
    assert!(
        keep(member(
            set,
            json!({"ownerReferences": [{"kind": "ReplicaSet", "name": "r"}]})
        )),
        "owned"
    );
    for (k, v) in OPT_OUTS {
        assert!(keep(member(set, json!({"annotations": {k: v}}))), "{k}");
    }
}

#[test]
fn namespaces_and_crds_need_their_flag() {
    let set = "applyset-x-v1";
    let ns = id("", "Namespace", "n");
    let crd = id("apiextensions.k8s.io", "CustomResourceDefinition", "c");
    let obj = member(set, json!({}));
    assert!(
        matches!(decide(&ns, &obj, set, RULES), PruneDecision::Keep(r) if r.contains("--prune-namespaces"))
    );
    assert!(
        matches!(decide(&crd, &obj, set, RULES), PruneDecision::Keep(r) if r.contains("--prune-crds"))
    );
    let all = PruneRules {
        namespaces: true,
        crds: true,
        ..RULES
    };
    assert_eq!(decide(&ns, &obj, set, all), PruneDecision::Prune);
    assert_eq!(decide(&crd, &obj, set, all), PruneDecision::Prune);
}

#[test]
fn budgets_parse_and_bound() {
    assert_eq!("25%".parse::<Budget>(), Ok(Budget::Percent(25)));
    assert_eq!("3".parse::<Budget>(), Ok(Budget::Count(3)));
    assert!("150%".parse::<Budget>().is_err() && "lots".parse::<Budget>().is_err());
    assert!(Budget::Percent(25).allows(1, 4) && !Budget::Percent(25).allows(2, 4));
    assert!(Budget::Count(3).allows(3, 3) && !Budget::Count(3).allows(4, 100));
    assert!(Budget::Percent(25).allows(0, 0));
}
