//! ApplySet parents (KEP-3659, as kubectl implements them): one Secret per (sync set, namespace)
//! and one per sync set for its cluster-scoped objects. Pure: names, ids, manifests, and how a
//! live parent reads.

use std::collections::BTreeSet;

use base64::Engine as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::SetName;
use super::ledger::{LEDGER_KEY, Ledger};
use crate::plan::NamespaceKey;

pub const ID_LABEL: &str = "applyset.kubernetes.io/id";
pub use crate::plan::normalize::{PART_OF_LABEL, SET_LABEL};
pub const TOOLING_ANNOTATION: &str = "applyset.kubernetes.io/tooling";
pub const GROUP_KINDS_ANNOTATION: &str = "applyset.kubernetes.io/contains-group-kinds";
/// The source the set belongs to (see [`crate::source::SourceId`]), on every parent.
pub const SOURCE_ANNOTATION: &str = "driftless.dev/source";
/// The source a `--take-over-set` moved the set from.
pub const TAKEN_OVER_ANNOTATION: &str = "driftless.dev/taken-over-from";

/// Parent names from before sync sets: they belong to the set `default`.
const LEGACY_PARENT: &str = "driftless-inventory";
const LEGACY_CLUSTER_PARENT: &str = "driftless-inventory-cluster";

/// `driftless/<version>`, the tooling annotation's value.
pub fn tooling() -> String {
    format!("driftless/{}", env!("CARGO_PKG_VERSION"))
}

/// Where one ApplySet's parent lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parent {
    /// The namespace whose objects it tracks (`None`: the set's cluster-scoped objects).
    pub key: NamespaceKey,
    pub name: String,
    pub namespace: String,
}

impl Parent {
    /// The set's parent for one namespace (`driftless-<set>` in it), or for its cluster-scoped
    /// objects (`driftless-<set>.cluster` in the inventory namespace).
    pub fn of(set: &SetName, key: &NamespaceKey, inventory_namespace: &str) -> Parent {
        match key {
            Some(ns) => Parent {
                key: key.clone(),
                name: format!("driftless-{set}"),
                namespace: ns.clone(),
            },
            None => Parent {
                key: None,
                name: format!("driftless-{set}.cluster"),
                namespace: inventory_namespace.into(),
            },
        }
    }

    /// The parent an earlier driftless wrote for this key, before sync sets had names.
    pub fn legacy(key: &NamespaceKey, inventory_namespace: &str) -> Parent {
        let (name, namespace) = match key {
            Some(ns) => (LEGACY_PARENT, ns.as_str()),
            None => (LEGACY_CLUSTER_PARENT, inventory_namespace),
        };
        Parent {
            key: key.clone(),
            name: name.into(),
            namespace: namespace.into(),
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

    /// `namespace/name`, for messages.
    pub fn describe(&self) -> String {
        format!("Secret {}/{}", self.namespace, self.name)
    }

    /// The parent Secret's manifest, listing `group_kinds`, with its members' `ledger` and
    /// where the set comes from.
    pub fn manifest(
        &self,
        set: &SetName,
        group_kinds: &BTreeSet<String>,
        ledger: &Ledger,
        provenance: &Provenance,
    ) -> Value {
        let mut manifest = json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "labels": {ID_LABEL: self.id(), SET_LABEL: set.as_str()},
                "annotations": {
                    TOOLING_ANNOTATION: tooling(),
                    GROUP_KINDS_ANNOTATION: group_kinds.iter().cloned().collect::<Vec<_>>().join(","),
                },
            },
        });
        if !ledger.is_empty() {
            manifest["data"] = json!({LEDGER_KEY: ledger.encode()});
        }
        let annotations = &mut manifest["metadata"]["annotations"];
        if let Some(source) = &provenance.source {
            annotations[SOURCE_ANNOTATION] = json!(source);
        }
        if let Some(from) = &provenance.taken_over_from {
            annotations[TAKEN_OVER_ANNOTATION] = json!(from);
        }
        manifest
    }

    /// Whether `live` is this parent: the right name and namespace, and our id label (a Secret
    /// of that name written by someone else is not an inventory to trust or overwrite).
    pub fn is(&self, live: &Value) -> bool {
        let meta = &live["metadata"];
        meta["name"] == self.name.as_str()
            && meta["namespace"] == self.namespace.as_str()
            && meta["labels"][ID_LABEL] == self.id().as_str()
    }
}

/// Where a set's objects come from, as its parents record it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    /// The source's identity; `None` on parents written before sources were recorded.
    pub source: Option<String>,
    /// The source a `--take-over-set` moved the set from.
    pub taken_over_from: Option<String>,
}

impl Provenance {
    fn read(live: &Value) -> Provenance {
        let annotations = &live["metadata"]["annotations"];
        let text = |key: &str| annotations[key].as_str().map(str::to_string);
        Provenance {
            source: text(SOURCE_ANNOTATION),
            taken_over_from: text(TAKEN_OVER_ANNOTATION),
        }
    }
}

/// A parent as the cluster holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveParent {
    pub group_kinds: BTreeSet<String>,
    pub ledger: Ledger,
    pub provenance: Provenance,
    /// Labels and tooling as this version writes them: a rewrite changes nothing but the kinds,
    /// the ledger and the provenance.
    pub current: bool,
}

impl LiveParent {
    pub fn read(live: &Value, set: &SetName) -> LiveParent {
        let meta = &live["metadata"];
        LiveParent {
            group_kinds: parent_group_kinds(live),
            ledger: Ledger::read(live),
            provenance: Provenance::read(live),
            current: meta["labels"][SET_LABEL] == set.as_str()
                && meta["annotations"][TOOLING_ANNOTATION] == tooling().as_str(),
        }
    }

    /// Whether writing a parent listing `kinds`, holding `ledger` and recording `provenance`
    /// would change it.
    pub fn differs(
        &self,
        kinds: &BTreeSet<String>,
        ledger: &Ledger,
        provenance: &Provenance,
    ) -> bool {
        !self.current
            || &self.group_kinds != kinds
            || &self.ledger != ledger
            || &self.provenance != provenance
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

/// The label selector of the members of any of the ApplySets `ids`.
pub fn members_selector<'i>(ids: impl IntoIterator<Item = &'i String>) -> String {
    let ids: Vec<&str> = ids.into_iter().map(String::as_str).collect();
    match ids.as_slice() {
        [one] => format!("{PART_OF_LABEL}={one}"),
        many => format!("{PART_OF_LABEL} in ({})", many.join(",")),
    }
}

/// Marks a manifest as a member of the ApplySet `id`, owned by `set`.
pub fn label_member(manifest: &mut Value, id: &str, set: &SetName) {
    if let Some(meta) = manifest.get_mut("metadata").and_then(Value::as_object_mut) {
        let labels = meta.entry("labels").or_insert_with(|| json!({}));
        if let Some(labels) = labels.as_object_mut() {
            labels.insert(PART_OF_LABEL.into(), Value::String(id.to_string()));
            labels.insert(SET_LABEL.into(), Value::String(set.to_string()));
        }
    }
}
