use serde_json::json;

use super::ledger::Ledger;
use super::parent::{LiveParent, label_member, split_group_kind};
use super::*;
use crate::plan::Reason;
use crate::plan::prune::{OPT_OUTS, PruneDecision, PruneRules, decide};
use crate::render::ObjectId;

const RULES: PruneRules<'static> = PruneRules {
    field_manager: "driftless",
    namespaces: false,
    crds: false,
    unpruned: None,
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

fn set(name: &str) -> SetRef {
    SetRef {
        name: name.parse().unwrap(),
        inventory_namespace: "driftless-system".into(),
    }
}

fn ns(name: &str) -> NamespaceKey {
    Some(name.to_string())
}

#[test]
fn one_id_selects_by_equality_and_many_by_set() {
    let one = ["applyset-a-v1".to_string()];
    assert_eq!(
        members_selector(&one),
        "applyset.kubernetes.io/part-of=applyset-a-v1"
    );
    let two = ["applyset-a-v1".to_string(), "applyset-b-v1".to_string()];
    assert_eq!(
        members_selector(&two),
        "applyset.kubernetes.io/part-of in (applyset-a-v1,applyset-b-v1)"
    );
}

#[test]
fn ids_follow_kep_3659() {
    // base64url(sha256("<name>.<namespace>.Secret.")), computed independently (Python).
    let platform = set("platform");
    let parent = platform.parent(&ns("team"));
    assert_eq!(
        (parent.name.as_str(), parent.namespace.as_str()),
        ("driftless-platform", "team")
    );
    assert_eq!(
        parent.id(),
        "applyset-bxtAvvm_fFdneLTZtG0_LGcqGmIqVMU4WipnxHz-qAM-v1"
    );
    let cluster = platform.parent(&None);
    assert_eq!(
        (cluster.name.as_str(), cluster.namespace.as_str()),
        ("driftless-platform.cluster", "driftless-system")
    );
    assert_eq!(
        cluster.id(),
        "applyset-xpuEAAKx3BdjlXwKLS_yWqRgxfw01LqfL9LVScw38j0-v1"
    );
    // What driftless wrote before sync sets had names.
    assert_eq!(
        Parent::legacy(&ns("team"), "driftless-system").id(),
        "applyset-FeO6jtN1rVemdc6eRIXbwd_MkIHGSTfG5ogLbpxkG4I-v1"
    );
}

#[test]
fn only_the_default_set_claims_pre_sync_set_members() {
    let legacy = Parent::legacy(&ns("team"), "driftless-system").id();
    assert_eq!(set("default").ids(&ns("team")).len(), 2);
    assert!(set("default").ids(&ns("team")).contains(&legacy));
    assert_eq!(set("platform").ids(&ns("team")).len(), 1);
}

#[test]
fn parent_manifest_carries_id_set_tooling_and_sorted_group_kinds() {
    let platform = set("platform");
    let parent = platform.parent(&ns("team"));
    let kinds: BTreeSet<String> = ["Deployment.apps", "ConfigMap"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut ledger = Ledger::default();
    let web = ObjectId::for_test("apps/v1", "Deployment", "team", "web");
    let record = crate::plan::ledger::Record {
        desired: "d".into(),
        fields: "f".into(),
        generation: Some(1),
    };
    ledger.insert(&web, record.clone());
    let provenance = Provenance {
        source: Some("github.com/acme/platform".into()),
        taken_over_from: None,
    };
    let m = parent.manifest(&platform.name, &kinds, &ledger, &provenance);
    assert_eq!(
        m["metadata"]["annotations"][SOURCE_ANNOTATION],
        "github.com/acme/platform"
    );
    assert_eq!(m["metadata"]["labels"][ID_LABEL], parent.id());
    assert_eq!(m["metadata"]["labels"][SET_LABEL], "platform");
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
    assert!(parent.is(&m) && !platform.parent(&ns("other")).is(&m));
    let live = LiveParent::read(&m, &platform.name);
    assert_eq!(live.group_kinds, kinds);
    assert_eq!(
        live.ledger.get(&web),
        Some(&record),
        "the ledger travels on the parent"
    );
    assert!(
        !live.differs(&kinds, &ledger, &provenance),
        "a rewrite would change nothing"
    );
    let mut newer = ledger.clone();
    newer.remove(&web);
    assert!(
        live.differs(&kinds, &newer, &provenance),
        "a new ledger is a change"
    );
    assert!(
        live.differs(&kinds, &ledger, &Provenance::default()),
        "a new source is a change"
    );
    let mut more = kinds.clone();
    more.insert("Secret".into());
    assert!(live.differs(&more, &ledger, &provenance));
    assert!(
        LiveParent::read(&m, &"other".parse().unwrap()).differs(&kinds, &ledger, &provenance),
        "another set's labels are rewritten"
    );
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
fn members_get_the_part_of_and_set_labels() {
    let mut m = json!({"metadata": {"name": "a"}});
    let platform = set("platform");
    label_member(&mut m, "applyset-x-v1", &platform.name);
    assert_eq!(m["metadata"]["labels"][PART_OF_LABEL], "applyset-x-v1");
    assert_eq!(m["metadata"]["labels"][SET_LABEL], "platform");
}

#[test]
fn owners_are_told_apart_by_label() {
    let a = set("a");
    let key = ns("team");
    let ours = a.parent(&key).id();
    let labelled = |labels: serde_json::Value| json!({"metadata": {"labels": labels}});
    assert_eq!(
        a.owner_of(&key, &labelled(json!({PART_OF_LABEL: ours}))),
        Owner::Us
    );
    assert_eq!(a.owner_of(&key, &json!({"metadata": {}})), Owner::Nobody);
    let b = set("b");
    let theirs = labelled(json!({PART_OF_LABEL: b.parent(&key).id(), SET_LABEL: "b"}));
    assert_eq!(a.owner_of(&key, &theirs), Owner::Set("b".into()));
    assert_eq!(
        Owner::Set("b".into()).conflict().as_deref(),
        Some("owned by sync set \"b\"")
    );
    let kubectl = labelled(json!({PART_OF_LABEL: "applyset-k-v1"}));
    assert_eq!(
        a.owner_of(&key, &kubectl),
        Owner::ApplySet("applyset-k-v1".into())
    );
    let legacy = labelled(json!({PART_OF_LABEL: Parent::legacy(&key, "driftless-system").id()}));
    assert_eq!(set("default").owner_of(&key, &legacy), Owner::Us);
    assert!(matches!(a.owner_of(&key, &legacy), Owner::ApplySet(_)));
}

#[test]
fn only_our_unowned_unprotected_members_are_pruned() {
    let set = "applyset-x-v1";
    let ours = &[set.to_string()];
    let a = ObjectId::for_test("v1", "ConfigMap", "team", "a");
    assert_eq!(
        decide(&a, &member(set, json!({})), ours, RULES),
        PruneDecision::Prune
    );
    let keep = |obj| matches!(decide(&a, &obj, ours, RULES), PruneDecision::Keep(_, _));
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
    let ours = &[set.to_string()];
    let ns = ObjectId::for_test("v1", "Namespace", "team", "n");
    let crd = ObjectId::for_test(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "team",
        "c",
    );
    let obj = member(set, json!({}));
    assert!(
        matches!(decide(&ns, &obj, ours, RULES), PruneDecision::Keep(Reason::PrunePolicy, r) if r.contains("--prune-namespaces"))
    );
    assert!(
        matches!(decide(&crd, &obj, ours, RULES), PruneDecision::Keep(Reason::PrunePolicy, r) if r.contains("--prune-crds"))
    );
    let all = PruneRules {
        namespaces: true,
        crds: true,
        ..RULES
    };
    assert_eq!(decide(&ns, &obj, ours, all), PruneDecision::Prune);
    assert_eq!(decide(&crd, &obj, ours, all), PruneDecision::Prune);
    let off: std::collections::BTreeSet<String> = ["team".to_string()].into();
    let overridden = PruneRules {
        unpruned: Some(&off),
        ..all
    };
    let member_of_team = ObjectId::for_test("v1", "ConfigMap", "team", "x");
    assert!(
        matches!(decide(&member_of_team, &obj, ours, overridden), PruneDecision::Keep(Reason::PrunePolicy, r) if r.contains("namespaceOverrides"))
    );
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
