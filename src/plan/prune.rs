//! Pure: what becomes of a member of the set's inventory that the desired state no longer
//! holds. [`decide`] reads its live object against the rules the user set; a [`PrunePlan`] is
//! the decision with the deletion as a diff. The inventory finds the candidates, the sync
//! deletes them; neither decides.

use serde_json::Value;

use super::normalize::PART_OF_LABEL;
use super::{Reason, diff, mask, normalize};
use crate::render::{KindInfo, ObjectId};

/// Annotations that keep an object from ever being pruned.
pub const OPT_OUTS: [(&str, &str); 3] = [
    ("driftless.dev/prune", "disabled"),
    ("helm.sh/resource-policy", "keep"),
    ("client.lifecycle.config.k8s.io/deletion", "detach"),
];

/// Why a member that Git no longer holds is (or is not) deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PruneDecision {
    Prune,
    /// Kept, with the reason and a message saying why.
    Keep(Reason, String),
}

/// What the user allowed.
#[derive(Debug, Clone, Copy, Default)]
pub struct PruneRules<'a> {
    pub field_manager: &'a str,
    pub namespaces: bool,
    pub crds: bool,
    /// Namespaces where nothing is pruned (the agent config's `namespaceOverrides`).
    pub unpruned: Option<&'a std::collections::BTreeSet<String>>,
}

/// Decides whether a live member that is not desired any more may be deleted. `ours` are the
/// ApplySet ids of this set for the member's namespace.
pub fn decide(
    id: &ObjectId,
    live: &Value,
    ours: &[String],
    rules: PruneRules<'_>,
) -> PruneDecision {
    let meta = &live["metadata"];
    let labelled = meta["labels"][PART_OF_LABEL]
        .as_str()
        .is_some_and(|l| ours.iter().any(|id| id == l));
    if !labelled {
        return PruneDecision::Keep(
            Reason::NotMember,
            "not labelled as a member of this inventory".into(),
        );
    }
    let ours = meta["managedFields"]
        .as_array()
        .is_some_and(|entries| entries.iter().any(|e| e["manager"] == rules.field_manager));
    if !ours {
        return PruneDecision::Keep(
            Reason::NotMember,
            format!(
                "not pruned: field manager {} never applied it (the label was copied?)",
                rules.field_manager
            ),
        );
    }
    if let Some(owner) = meta["ownerReferences"].as_array().and_then(|o| o.first()) {
        return PruneDecision::Keep(
            Reason::OwnerReference,
            format!(
                "not pruned: owned by {} {}",
                owner["kind"].as_str().unwrap_or("?"),
                owner["name"].as_str().unwrap_or("?")
            ),
        );
    }
    for (key, value) in OPT_OUTS {
        if meta["annotations"][key] == value {
            return PruneDecision::Keep(
                Reason::PruneOptOut,
                format!("not pruned: annotated {key}: {value}"),
            );
        }
    }
    let namespace = id
        .namespace
        .as_deref()
        .or(id.is_namespace().then_some(id.name.as_str()));
    if let (Some(ns), Some(unpruned)) = (namespace, rules.unpruned)
        && unpruned.contains(ns)
    {
        return PruneDecision::Keep(
            Reason::PrunePolicy,
            format!("not pruned: pruning is off in namespace {ns} (namespaceOverrides)"),
        );
    }
    if id.is_namespace() && !rules.namespaces {
        return PruneDecision::Keep(
            Reason::PrunePolicy,
            "not pruned: Namespaces are pruned only with --prune-namespaces".into(),
        );
    }
    if id.is_crd() && !rules.crds {
        return PruneDecision::Keep(
            Reason::PrunePolicy,
            "not pruned: CRDs are pruned only with --prune-crds".into(),
        );
    }
    PruneDecision::Prune
}

/// A member of an inventory that the desired state no longer holds.
#[derive(Debug, Clone, PartialEq)]
pub struct PrunePlan {
    pub id: ObjectId,
    pub kind: KindInfo,
    pub decision: PruneDecision,
    /// The deletion as a diff (everything removed), masked.
    pub diff: String,
}

impl PrunePlan {
    /// Decides what becomes of `live` (a member Git dropped) and writes its deletion as a
    /// masked diff.
    pub fn new(
        id: ObjectId,
        kind: KindInfo,
        decision: PruneDecision,
        live: &Value,
        revision: Option<&str>,
    ) -> PrunePlan {
        let mut before = normalize::normalize(live);
        mask::mask_object(&id, &mut before);
        let diff = diff::unified(&id, Some(&before), None, revision);
        PrunePlan {
            id,
            kind,
            decision,
            diff,
        }
    }

    pub fn deletes(&self) -> bool {
        self.decision == PruneDecision::Prune
    }
}

/// Why every member Git dropped in one namespace stays, whatever its own decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    /// The set's members there could not all be listed (why): what decides a prune is unknown.
    Unlisted(String),
    /// An apply failed in that namespace: nothing is pruned there until it syncs cleanly.
    NamespaceFailed,
}

impl Hold {
    /// Why the member stays, for its report line.
    pub fn message(&self) -> String {
        match self {
            Hold::Unlisted(why) => why.clone(),
            Hold::NamespaceFailed => "not pruned: this namespace has failures".into(),
        }
    }
}
