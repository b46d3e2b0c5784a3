//! Pure rules: who owns a live object, and how many deletions one sync may make (whether a
//! member Git dropped may be deleted is [`crate::plan::prune`]'s).

use serde_json::Value;

use super::SetName;
use super::parent::{PART_OF_LABEL, SET_LABEL};

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
