//! The ApplySet inventory (KEP-3659, as kubectl implements it): which objects driftless applied,
//! per namespace, so it can prune what Git no longer holds, and nothing else.
//!
//! One parent Secret per namespace (`driftless-inventory`), plus one for cluster-scoped objects
//! (`driftless-inventory-cluster`, in the inventory namespace). The parent carries the ApplySet id
//! label and the group-kinds its members have; every member carries the `part-of` label. This
//! module is pure: ids, parents, and the decision of what may be pruned.

use std::collections::BTreeSet;

use base64::Engine as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::NamespaceKey;
use crate::render::ObjectId;

pub const ID_LABEL: &str = "applyset.kubernetes.io/id";
pub const PART_OF_LABEL: &str = "applyset.kubernetes.io/part-of";
pub const TOOLING_ANNOTATION: &str = "applyset.kubernetes.io/tooling";
pub const GROUP_KINDS_ANNOTATION: &str = "applyset.kubernetes.io/contains-group-kinds";
pub const PARENT_NAME: &str = "driftless-inventory";
pub const CLUSTER_PARENT_NAME: &str = "driftless-inventory-cluster";

/// Annotations that keep an object from ever being pruned.
pub const OPT_OUTS: [(&str, &str); 3] = [
    ("driftless.dev/prune", "disabled"),
    ("helm.sh/resource-policy", "keep"),
    ("client.lifecycle.config.k8s.io/deletion", "detach"),
];

/// `driftless/<version>`, the tooling annotation's value.
pub fn tooling() -> String {
    format!("driftless/{}", env!("CARGO_PKG_VERSION"))
}

/// Where one ApplySet's parent lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parent {
    /// The namespace whose objects it tracks (`None`: the cluster-scoped objects).
    pub scope: NamespaceKey,
    pub name: String,
    pub namespace: String,
}

impl Parent {
    pub fn for_scope(scope: &NamespaceKey, inventory_namespace: &str) -> Parent {
        match scope {
            Some(ns) => Parent {
                scope: scope.clone(),
                name: PARENT_NAME.into(),
                namespace: ns.clone(),
            },
            None => Parent {
                scope: None,
                name: CLUSTER_PARENT_NAME.into(),
                namespace: inventory_namespace.into(),
            },
        }
    }

    /// The ApplySet id, exactly as the KEP defines it for a Secret parent:
    /// `applyset-<base64url(sha256("<name>.<namespace>.Secret."))>-v1`.
    pub fn id(&self) -> String {
        let digest = Sha256::digest(format!("{}.{}.Secret.", self.name, self.namespace).as_bytes());
        format!(
            "applyset-{}-v1",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
        )
    }

    /// The parent Secret's manifest, listing `group_kinds`.
    pub fn manifest(&self, group_kinds: &BTreeSet<String>) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "labels": {ID_LABEL: self.id()},
                "annotations": {
                    TOOLING_ANNOTATION: tooling(),
                    GROUP_KINDS_ANNOTATION: group_kinds.iter().cloned().collect::<Vec<_>>().join(","),
                },
            },
        })
    }
}

/// `Kind.group` (`Deployment.apps`, or `ConfigMap` for the core group), as the KEP writes them.
pub fn group_kind(group: &str, kind: &str) -> String {
    if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    }
}

/// Splits a `Kind.group` back into (group, kind).
pub fn split_group_kind(gk: &str) -> (String, String) {
    match gk.split_once('.') {
        Some((kind, group)) => (group.to_string(), kind.to_string()),
        None => (String::new(), gk.to_string()),
    }
}

/// The group-kinds listed on a live parent.
pub fn parent_group_kinds(parent: &Value) -> BTreeSet<String> {
    parent["metadata"]["annotations"][GROUP_KINDS_ANNOTATION]
        .as_str()
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Adds the `part-of` label to a manifest.
pub fn label_member(manifest: &mut Value, id: &str) {
    if let Some(meta) = manifest.get_mut("metadata").and_then(Value::as_object_mut) {
        let labels = meta.entry("labels").or_insert_with(|| json!({}));
        if let Some(labels) = labels.as_object_mut() {
            labels.insert(PART_OF_LABEL.into(), Value::String(id.to_string()));
        }
    }
}

/// Why a member that Git no longer holds is (or is not) deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PruneDecision {
    Prune,
    Keep(String),
}

/// What the user allowed.
#[derive(Debug, Clone, Copy, Default)]
pub struct PruneRules<'a> {
    pub field_manager: &'a str,
    pub namespaces: bool,
    pub crds: bool,
}

/// Decides whether a live member that is not desired any more may be deleted.
pub fn decide(
    id: &ObjectId,
    live: &Value,
    applyset_id: &str,
    rules: PruneRules<'_>,
) -> PruneDecision {
    let meta = &live["metadata"];
    if meta["labels"][PART_OF_LABEL] != applyset_id {
        return PruneDecision::Keep("not labelled as a member of this inventory".into());
    }
    let ours = meta["managedFields"]
        .as_array()
        .is_some_and(|entries| entries.iter().any(|e| e["manager"] == rules.field_manager));
    if !ours {
        return PruneDecision::Keep(format!(
            "not pruned: field manager {} never applied it (the label was copied?)",
            rules.field_manager
        ));
    }
    if let Some(owner) = meta["ownerReferences"].as_array().and_then(|o| o.first()) {
        return PruneDecision::Keep(format!(
            "not pruned: owned by {} {}",
            owner["kind"].as_str().unwrap_or("?"),
            owner["name"].as_str().unwrap_or("?")
        ));
    }
    for (key, value) in OPT_OUTS {
        if meta["annotations"][key] == value {
            return PruneDecision::Keep(format!("not pruned: annotated {key}: {value}"));
        }
    }
    if id.is_namespace() && !rules.namespaces {
        return PruneDecision::Keep(
            "not pruned: Namespaces are pruned only with --prune-namespaces".into(),
        );
    }
    if id.is_crd() && !rules.crds {
        return PruneDecision::Keep("not pruned: CRDs are pruned only with --prune-crds".into());
    }
    PruneDecision::Prune
}

/// A prune budget: an absolute count, or a percentage of the inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    Count(usize),
    Percent(u8),
}

impl std::str::FromStr for Budget {
    type Err = String;
    fn from_str(s: &str) -> Result<Budget, String> {
        let bad = || format!("invalid prune budget {s:?}: a count (10) or a percentage (25%)");
        match s.strip_suffix('%') {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= 100)
                .map(Budget::Percent)
                .ok_or_else(bad),
            None => s
                .trim()
                .parse::<usize>()
                .map(Budget::Count)
                .map_err(|_| bad()),
        }
    }
}

impl Budget {
    /// Whether pruning `prunes` of an inventory of `members` objects is within the budget.
    pub fn allows(self, prunes: usize, members: usize) -> bool {
        match self {
            Budget::Count(n) => prunes <= n,
            Budget::Percent(p) => prunes * 100 <= usize::from(p) * members,
        }
    }
}

impl std::fmt::Display for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Budget::Count(n) => write!(f, "{n}"),
            Budget::Percent(p) => write!(f, "{p}%"),
        }
    }
}

#[cfg(test)]
mod tests;
