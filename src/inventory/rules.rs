//! Pure rules: who owns a live object, whether a member Git dropped may be deleted, and how many
//! deletions one sync may make.

use serde_json::Value;

use super::SetName;
use super::parent::{PART_OF_LABEL, SET_LABEL};
use crate::plan::Reason;
use crate::render::ObjectId;

/// Annotations that keep an object from ever being pruned.
pub const OPT_OUTS: [(&str, &str); 3] = [
    ("driftless.dev/prune", "disabled"),
    ("helm.sh/resource-policy", "keep"),
    ("client.lifecycle.config.k8s.io/deletion", "detach"),
];

/// Which ApplySet a live object belongs to, from this set's point of view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// A member of this set (its ApplySet id, or the id an earlier driftless gave it).
    Us,
    /// No ApplySet claims it.
    Nobody,
    /// Another driftless sync set.
    Set(String),
    /// Another ApplySet (kubectl's `--applyset`, another tool); its id.
    ApplySet(String),
}

impl Owner {
    /// Why this set leaves the object alone, or `None` when it may manage it.
    pub fn conflict(&self) -> Option<String> {
        match self {
            Owner::Us | Owner::Nobody => None,
            Owner::Set(set) => Some(format!("owned by sync set {set:?}")),
            Owner::ApplySet(id) => {
                Some(format!("owned by another ApplySet ({PART_OF_LABEL}={id})"))
            }
        }
    }
}

/// Who owns `live`, given the ApplySet ids that mean "this set" for its namespace.
pub fn owner(live: &Value, ours: &[String], set: &SetName) -> Owner {
    let labels = &live["metadata"]["labels"];
    let Some(part_of) = labels[PART_OF_LABEL].as_str().filter(|s| !s.is_empty()) else {
        return Owner::Nobody;
    };
    if ours.iter().any(|id| id == part_of) {
        return Owner::Us;
    }
    match labels[SET_LABEL].as_str() {
        Some(other) if other != set.as_str() => Owner::Set(other.to_string()),
        _ => Owner::ApplySet(part_of.to_string()),
    }
}

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

/// A prune budget: an absolute count, or a percentage of the set's members in scope.
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
    /// Whether pruning `prunes` of a set of `members` objects is within the budget.
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
