//! Desired versus live, per namespace. Pure: the async layer ([`fn@observe`]) gathers each object's
//! live state and server-side dry-run result; [`fn@classify`] turns them into an [`ObjectPlan`].

mod classify;
pub mod diff;
pub mod ledger;
pub mod live;
pub mod mask;
pub mod normalize;
mod observe;
pub mod order;
pub mod prune;
mod reason;
pub mod replace;

pub use classify::{Context, DEFAULT_TAKEOVER_MANAGERS, ForeignOwner, classify, no_foreign_owner};
pub use observe::{Reads, observe};
pub use prune::{PruneDecision, PrunePlan};
pub use reason::Reason;

use serde_json::Value;

use crate::render::{DesiredObject, ObjectId, Origin};

/// Which namespace a plan is for; `None` holds the cluster-scoped objects.
pub type NamespaceKey = Option<String>;

/// Prints a namespace key the one way every output uses.
pub fn namespace_label(ns: &NamespaceKey) -> &str {
    ns.as_deref().unwrap_or("(cluster-scoped)")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Create,
    Update,
    Unchanged,
    /// The server (or discovery) refused the object; the message says why.
    Fail,
    /// Left alone: it exists and driftless does not manage it, and adoption was not asked for.
    Skip,
    /// Deleted and created again: the server refuses the change as immutable, and the object
    /// may be replaced (a Job, or as its annotation or the set says).
    Replace,
    /// Not planned: the run was halted, or the API server is gone; the message says which.
    NotAttempted,
}

/// What the server said to a server-side apply dry-run of the desired object.
#[derive(Debug, Clone, PartialEq)]
pub enum DryRun {
    /// The object as it would be after the apply.
    Merged(Value),
    /// Other field managers own fields we set; `merged` is the forced result, for the diff.
    /// `causes` are the server's (message, field) pairs naming each manager and field.
    Conflict {
        merged: Value,
        message: String,
        causes: Vec<(String, String)>,
    },
    /// Cannot be dry-run yet (its namespace or CRD is created by this same sync): the diff shows
    /// the manifest as written.
    Pending(String),
    Rejected(Reason, String),
    /// Never asked: the run was halted or the server is unreachable (why).
    NotAttempted(Reason, String),
    /// Not asked: the set's ledger proves the object unchanged since driftless last applied or
    /// verified it (see [`ledger`]).
    Proven,
    /// The server refuses the change as immutable: the fields it names, and its message.
    Immutable {
        fields: Vec<String>,
        message: String,
    },
    /// Not asked: a run-once object (a Job) that driftless applied with this very manifest is
    /// gone: it ran to its end and was deleted since (a TTL, a cleanup).
    Done,
}

/// Everything the planner needs to know about one object's present.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub live: Option<Value>,
    pub dry_run: DryRun,
}

/// The plan for one object.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectPlan {
    pub object: std::sync::Arc<DesiredObject>,
    pub action: Action,
    /// Unified diff of normalized, masked objects; empty when nothing visible changes.
    pub diff: String,
    /// Whether the apply must write: a visible change, or our field ownership differs.
    pub needs_write: bool,
    /// Why it fails, is skipped or is not attempted.
    pub reason: Option<Reason>,
    /// The reason for [`Action::Fail`], or a note (why a diff shows the manifest as written).
    pub message: Option<String>,
    /// Set when another field manager owns fields we set (names it and the fields).
    pub conflict: Option<String>,
    /// Set when kubectl (or another takeover manager) changed fields out of band: the apply
    /// takes them back, and this says who changed what.
    pub drift: Option<String>,
    /// For the ledger: what a dry-run verified unchanged (a write records what it applied).
    pub record: Option<ledger::Record>,
}

impl ObjectPlan {
    /// A plan with nothing to say but its action: the base of every other.
    pub fn new(object: std::sync::Arc<DesiredObject>, action: Action) -> ObjectPlan {
        ObjectPlan {
            object,
            action,
            diff: String::new(),
            needs_write: false,
            reason: None,
            message: None,
            conflict: None,
            drift: None,
            record: None,
        }
    }

    pub fn id(&self) -> &ObjectId {
        &self.object.id
    }
    pub fn origin(&self) -> &Origin {
        &self.object.origin
    }
    /// True when this object stops its namespace from being applied. An object left alone
    /// (not adopted) blocks nothing: it is not written, whoever owns its fields.
    pub fn blocks(&self, force_conflicts: bool) -> bool {
        // A running Job whose template changed fails alone.
        if self.reason == Some(Reason::JobRunning) {
            return false;
        }
        matches!(self.action, Action::Fail | Action::NotAttempted)
            || (self.conflict.is_some() && !force_conflicts && self.action != Action::Skip)
    }
}

/// The plan for one namespace (or the cluster-scoped objects), in apply order.
#[derive(Debug, Clone, PartialEq)]
pub struct NamespacePlan {
    pub namespace: NamespaceKey,
    pub objects: Vec<ObjectPlan>,
}

impl NamespacePlan {
    pub fn blocked(&self, force_conflicts: bool) -> bool {
        self.objects.iter().any(|o| o.blocks(force_conflicts))
    }
}

/// Groups object plans by namespace (cluster-scoped first), each in apply order: stage first
/// (hooks, waves), then the kinds' order. Sorted by borrowed keys and moved once into groups of
/// their exact size: a pass's plans are never held twice over while they are grouped.
pub fn group_by_namespace(plans: Vec<ObjectPlan>) -> Vec<NamespacePlan> {
    // Stage and rank once per plan (both look things up), not once per comparison.
    let ranks: Vec<(order::Stage, usize)> = plans
        .iter()
        .map(|p| {
            let id = p.id();
            let stage = order::Stage::of(&p.object.lifecycle());
            (stage, order::rank(&id.group, &id.kind))
        })
        .collect();
    let key = |i: usize| {
        let id = plans[i].id();
        (&id.namespace, ranks[i], order::name_key(id))
    };
    let mut sorted: Vec<usize> = (0..plans.len()).collect();
    sorted.sort_by(|&a, &b| key(a).cmp(&key(b)));
    let runs: Vec<(NamespaceKey, usize)> = sorted
        .chunk_by(|&a, &b| plans[a].id().namespace == plans[b].id().namespace)
        .map(|run| (plans[run[0]].id().namespace.clone(), run.len()))
        .collect();
    let mut slots: Vec<Option<ObjectPlan>> = plans.into_iter().map(Some).collect();
    let mut sorted = sorted.into_iter();
    runs.into_iter()
        .map(|(namespace, len)| {
            let mut objects = Vec::with_capacity(len);
            objects.extend(sorted.by_ref().take(len).filter_map(|i| slots[i].take()));
            NamespacePlan { namespace, objects }
        })
        .collect()
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
