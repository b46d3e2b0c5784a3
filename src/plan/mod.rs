//! Desired versus live, per namespace. Pure: the async layer ([`observe`]) gathers each object's
//! live state and server-side dry-run result; [`classify`] turns them into an [`ObjectPlan`].

pub mod diff;
pub mod mask;
pub mod normalize;
mod observe;
pub mod order;

pub use observe::observe;

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
}

/// What the server said to a server-side apply dry-run of the desired object.
#[derive(Debug, Clone, PartialEq)]
pub enum DryRun {
    /// The object as it would be after the apply.
    Merged(Value),
    /// Another field manager owns fields we set; `merged` is the forced result, for the diff.
    Conflict {
        merged: Value,
        message: String,
    },
    /// Cannot be dry-run yet (its namespace or CRD is created by this same sync): the diff shows
    /// the manifest as written.
    Pending(String),
    Rejected(String),
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
    pub object: DesiredObject,
    pub action: Action,
    /// Unified diff of normalized, masked objects; empty when nothing visible changes.
    pub diff: String,
    /// Whether the apply must write: a visible change, or our field ownership differs.
    pub needs_write: bool,
    /// The reason for [`Action::Fail`], or a note (why a diff shows the manifest as written).
    pub message: Option<String>,
    /// Set when another field manager owns fields we set (names it and the fields).
    pub conflict: Option<String>,
}

impl ObjectPlan {
    pub fn id(&self) -> &ObjectId {
        &self.object.id
    }
    pub fn origin(&self) -> &Origin {
        &self.object.origin
    }
    /// True when this object stops its namespace from being applied.
    pub fn blocks(&self, force_conflicts: bool) -> bool {
        self.action == Action::Fail || (self.conflict.is_some() && !force_conflicts)
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

/// Groups object plans by namespace (cluster-scoped first), each in apply order.
pub fn group_by_namespace(plans: Vec<ObjectPlan>) -> Vec<NamespacePlan> {
    let mut groups: Vec<NamespacePlan> = Vec::new();
    for plan in plans {
        let ns = plan.id().namespace.clone();
        match groups.iter_mut().find(|g| g.namespace == ns) {
            Some(g) => g.objects.push(plan),
            None => groups.push(NamespacePlan {
                namespace: ns,
                objects: vec![plan],
            }),
        }
    }
    groups.sort_by(|a, b| a.namespace.cmp(&b.namespace));
    for g in &mut groups {
        g.objects
            .sort_by(|a, b| order::apply_key(a.id()).cmp(&order::apply_key(b.id())));
    }
    groups
}

/// What every object's plan shares: our field manager, and the revision the desired state is from.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub field_manager: &'a str,
    pub revision: Option<&'a str>,
}

/// Decides what to do with one object, given what the server said.
pub fn classify(object: DesiredObject, observed: Observation, ctx: Context<'_>) -> ObjectPlan {
    let field_manager = ctx.field_manager;
    let secret = object.is_secret();
    let hide = |msg: String| -> String {
        if !secret {
            return msg;
        }
        let msg = mask::scrub(&msg, &object.manifest);
        match &observed.live {
            Some(live) => mask::scrub(&msg, live),
            None => msg,
        }
    };
    let (merged, conflict, note) = match &observed.dry_run {
        DryRun::Rejected(reason) => {
            let message = Some(hide(reason.clone()));
            return ObjectPlan {
                object,
                action: Action::Fail,
                diff: String::new(),
                needs_write: false,
                message,
                conflict: None,
            };
        }
        DryRun::Merged(merged) => (merged, None, None),
        DryRun::Conflict { merged, message } => (merged, Some(hide(message.clone())), None),
        DryRun::Pending(why) => (&object.manifest, None, Some(why.clone())),
    };
    let mut before = observed.live.as_ref().map(normalize::normalize);
    let mut after = normalize::normalize(merged);
    if secret {
        mask::mask_secret_pair(before.as_mut(), Some(&mut after));
    }
    let diff = diff::unified(&object.id, before.as_ref(), Some(&after), ctx.revision);
    let (action, needs_write) = match &observed.live {
        None => (Action::Create, true),
        Some(_) if !diff.is_empty() => (Action::Update, true),
        Some(live) => {
            let owned_now = applied_fields(live, field_manager);
            (
                Action::Unchanged,
                owned_now.is_none() || owned_now != applied_fields(merged, field_manager),
            )
        }
    };
    ObjectPlan {
        object,
        action,
        diff,
        needs_write,
        message: note,
        conflict,
    }
}

/// The fields `manager` owns through server-side apply, as recorded in managedFields.
fn applied_fields<'a>(object: &'a Value, manager: &str) -> Option<&'a Value> {
    object["metadata"]["managedFields"]
        .as_array()?
        .iter()
        .find(|e| e["manager"] == manager && e["operation"] == "Apply")
        .map(|e| &e["fieldsV1"])
}

#[cfg(test)]
mod tests;
