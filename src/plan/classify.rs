//! The pure decision for one object: create, update, unchanged, fail or skip, with its diff,
//! and how conflicts with other field managers are read (drift to take back, or a conflict).

use std::sync::Arc;

use serde_json::Value;

use super::ledger::Record;
use super::{
    Action, DesiredObject, DryRun, ObjectPlan, Observation, Reason, diff, mask, normalize,
};
use crate::render::ObjectId;

/// Field managers whose changes are drift that a sync takes back: kubectl's own managers
/// (`kubectl-edit`, `kubectl-scale`, `kubectl-client-side-apply`, ...) and the manager the
/// server records for changes made before the first server-side apply.
pub const DEFAULT_TAKEOVER_MANAGERS: [&str; 2] = ["kubectl", "before-first-apply"];

/// What every object's plan shares.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub field_manager: &'a str,
    /// The revision the desired state is from (named in diff headers).
    pub revision: Option<&'a str>,
    /// Take over existing objects that driftless did not create.
    pub adopt: bool,
    /// Prefixes of field managers whose changes are drift (taken back), not conflicts.
    pub takeover_managers: &'a [String],
    /// Who else owns a live object (another sync set or ApplySet), if anyone: such an object is
    /// left alone whatever the flags say.
    pub foreign_owner: &'a ForeignOwner<'a>,
    /// Kinds replaced when the server refuses a change as immutable, besides Jobs.
    pub replace_kinds: &'a [String],
}

/// Names the owner of a live object when it is not this sync set (nor nobody).
pub type ForeignOwner<'a> = dyn Fn(&ObjectId, &Value) -> Option<String> + Sync + 'a;

/// For planning outside any sync set (tests, tools): nobody else owns anything.
pub fn no_foreign_owner(_: &ObjectId, _: &Value) -> Option<String> {
    None
}

/// Decides what to do with one object, given what the server said.
pub fn classify(
    object: impl Into<Arc<DesiredObject>>,
    observed: Observation,
    ctx: Context<'_>,
) -> ObjectPlan {
    let object = object.into();
    if let Some(owner) = observed
        .live
        .as_ref()
        .and_then(|live| (ctx.foreign_owner)(&object.id, live))
    {
        return ObjectPlan {
            reason: Some(Reason::OwnedByOtherSet),
            message: Some(format!(
                "left unchanged: {owner}, and an object belongs to one sync set (see \"Sync sets\" in the README to move it)"
            )),
            conflict: Some(owner),
            ..ObjectPlan::new(object, Action::Fail)
        };
    }
    let hide = |msg: &str| hide(msg, &object, observed.live.as_ref());
    // A manifest planned as written (its namespace or CRD comes with this sync).
    let written = match &observed.dry_run {
        DryRun::Pending(_) => object.manifest.value(),
        _ => Value::Null,
    };
    let merge = match &observed.dry_run {
        DryRun::NotAttempted(reason, why) => {
            return ObjectPlan {
                reason: Some(*reason),
                message: Some(why.clone()),
                ..ObjectPlan::new(object, Action::NotAttempted)
            };
        }
        DryRun::Proven => return ObjectPlan::new(object, Action::Unchanged),
        DryRun::Done => {
            return ObjectPlan {
                reason: Some(Reason::Completed),
                message: Some(
                    "ran to its end for this manifest and was deleted since: not run again until its manifest changes"
                        .into(),
                ),
                ..ObjectPlan::new(object, Action::Unchanged)
            };
        }
        DryRun::Immutable { fields, message } => {
            let message = hide(message);
            let live = observed.live.as_ref();
            return immutable(object, live, fields, &message, ctx);
        }
        DryRun::Rejected(reason, why) => {
            return ObjectPlan {
                reason: Some(*reason),
                message: Some(hide(why)),
                ..ObjectPlan::new(object, Action::Fail)
            };
        }
        DryRun::Merged(merged) => Merge::clean(merged),
        DryRun::Conflict {
            merged,
            message,
            causes,
        } => Merge::conflicted(merged, &hide(message), causes, ctx.takeover_managers),
        DryRun::Pending(why) => Merge {
            note: Some(why.clone()),
            ..Merge::clean(&written)
        },
    };
    decide(object, observed.live.as_ref(), merge, ctx)
}

/// A change the server refuses as immutable: replaced, failed alone (a running Job), or failed.
fn immutable(
    object: Arc<DesiredObject>,
    live: Option<&Value>,
    fields: &[String],
    message: &str,
    ctx: Context<'_>,
) -> ObjectPlan {
    match super::replace::judge(&object, live, fields, ctx.replace_kinds) {
        super::replace::Verdict::Replace(why) => {
            let mut after = normalize::normalize(&object.manifest.value());
            let mut before =
                live.map(|l| super::replace::project(&normalize::normalize(l), &after));
            mask::mask_pair(&object.id, before.as_mut(), Some(&mut after));
            let diff = diff::unified(&object.id, before.as_ref(), Some(&after), ctx.revision);
            ObjectPlan {
                diff,
                needs_write: true,
                message: Some(why),
                ..ObjectPlan::new(object, Action::Replace)
            }
        }
        super::replace::Verdict::Running(why) => ObjectPlan {
            reason: Some(Reason::JobRunning),
            message: Some(why),
            ..ObjectPlan::new(object, Action::Fail)
        },
        super::replace::Verdict::Refuse(why) => {
            tracing::debug!(object = %object.id, server = message, "immutable change refused");
            ObjectPlan {
                reason: Some(Reason::Immutable),
                message: Some(why),
                ..ObjectPlan::new(object, Action::Fail)
            }
        }
    }
}

/// What the dry-run made of the manifest, and how the server's conflicts read.
struct Merge<'a> {
    merged: &'a Value,
    /// Another field manager owns fields we set.
    conflict: Option<String>,
    /// Only takeover managers (kubectl) changed what we set: drift, taken back.
    drift: Option<String>,
    /// How the object was planned (its namespace or CRD comes with this sync).
    note: Option<String>,
}

impl<'a> Merge<'a> {
    fn clean(merged: &'a Value) -> Merge<'a> {
        Merge {
            merged,
            conflict: None,
            drift: None,
            note: None,
        }
    }

    /// A conflict is drift when every manager it names is a takeover manager.
    fn conflicted(
        merged: &'a Value,
        message: &str,
        causes: &[(String, String)],
        takeover_managers: &[String],
    ) -> Merge<'a> {
        let owners = owners(causes);
        let merge = Merge::clean(merged);
        if owners.is_empty() {
            return Merge {
                conflict: Some(message.to_string()),
                ..merge
            };
        }
        match owners
            .iter()
            .all(|(m, _)| is_takeover(m, takeover_managers))
        {
            true => Merge {
                drift: Some(describe_owners(&owners, "changed")),
                ..merge
            },
            false => Merge {
                conflict: Some(describe_owners(&owners, "owns")),
                ..merge
            },
        }
    }
}

/// A server message about the object, with its values (desired and live) masked.
fn hide(message: &str, object: &DesiredObject, live: Option<&Value>) -> String {
    let message = mask::scrub_object(message, &object.id, &object.manifest.value());
    match live {
        Some(live) => mask::scrub_object(&message, &object.id, live),
        None => message,
    }
}

/// Create, update, leave alone or keep unchanged, from the live object and the merge.
fn decide(
    object: Arc<DesiredObject>,
    live: Option<&Value>,
    merge: Merge<'_>,
    ctx: Context<'_>,
) -> ObjectPlan {
    let mut before = live.map(normalize::normalize);
    let mut after = normalize::normalize(merge.merged);
    let not_adopted = live.is_some_and(|live| !ctx.adopt && !managed_by(live, ctx.field_manager));
    if let (true, Some(before)) = (not_adopted, &before) {
        // What Git would change, not the labels an adoption adds.
        normalize::without_membership(&mut after, before);
    }
    mask::mask_pair(&object.id, before.as_mut(), Some(&mut after));
    // An object left alone keeps its diff: what differs from Git is shown (masked), and a
    // preview exits 1 for it.
    let diff = diff::unified(&object.id, before.as_ref(), Some(&after), ctx.revision);
    let (action, needs_write, note) = match live {
        None => (Action::Create, true, merge.note),
        Some(_) if not_adopted => {
            let why = match diff.is_empty() {
                true => "exists and is not managed by driftless",
                false => "differs from Git, and is not managed by driftless",
            };
            let why = format!("{why}: left untouched (pass --adopt to take it over)");
            (Action::Skip, false, Some(why))
        }
        // A hook whose manifest changed (or the revision it runs for) runs again.
        Some(_) if !diff.is_empty() && object.lifecycle().hook.is_some() => {
            let why = "hook: runs again for this revision (deleted and created)".to_string();
            (Action::Replace, true, Some(why))
        }
        Some(_) if !diff.is_empty() => (Action::Update, true, merge.note),
        Some(live) => {
            let owned_now = applied_fields(live, ctx.field_manager);
            let ours = applied_fields(merge.merged, ctx.field_manager);
            let write = owned_now.is_none() || owned_now != ours;
            (Action::Unchanged, write, merge.note)
        }
    };
    // Verified unchanged and nothing to write: the ledger may record it as it stands.
    let record = match (live, action, needs_write) {
        (Some(live), Action::Unchanged, false) => {
            Record::of(&object.manifest.hash(), live, ctx.field_manager)
        }
        _ => None,
    };
    let reason = match action {
        Action::Skip => Some(Reason::NotAdopted),
        _ if merge.conflict.is_some() => Some(Reason::Conflict),
        _ => None,
    };
    ObjectPlan {
        diff,
        needs_write,
        reason,
        message: note,
        conflict: merge.conflict,
        drift: merge.drift,
        record,
        ..ObjectPlan::new(object, action)
    }
}

/// Whether `manager` has ever written this object (any operation).
fn managed_by(live: &Value, manager: &str) -> bool {
    live["metadata"]["managedFields"]
        .as_array()
        .is_some_and(|e| e.iter().any(|m| m["manager"] == manager))
}

/// The fields `manager` owns through server-side apply, as recorded in managedFields.
fn applied_fields<'a>(object: &'a Value, manager: &str) -> Option<&'a Value> {
    object["metadata"]["managedFields"]
        .as_array()?
        .iter()
        .find(|e| e["manager"] == manager && e["operation"] == "Apply")
        .map(|e| &e["fieldsV1"])
}

fn is_takeover(manager: &str, prefixes: &[String]) -> bool {
    prefixes.iter().any(|p| manager.starts_with(p.as_str()))
}

/// (manager, field) pairs from the server's conflict causes
/// (`conflict with "kubectl-edit" using apps/v1`, `.spec.replicas`).
fn owners(causes: &[(String, String)]) -> Vec<(String, String)> {
    causes
        .iter()
        .filter_map(|(message, field)| {
            let rest = message.split_once("conflict with \"")?.1;
            let manager = rest.split_once('"')?.0;
            Some((manager.to_string(), field.clone()))
        })
        .collect()
}

/// `kubectl-edit changed .spec.replicas; helm changed .data.x`.
fn describe_owners(owners: &[(String, String)], verb: &str) -> String {
    let mut by_manager: Vec<(String, Vec<String>)> = Vec::new();
    for (manager, field) in owners {
        match by_manager.iter_mut().find(|(m, _)| m == manager) {
            Some((_, fields)) => fields.push(field.clone()),
            None => by_manager.push((manager.clone(), vec![field.clone()])),
        }
    }
    by_manager
        .iter()
        .map(|(m, f)| format!("{m} {verb} {}", f.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_causes_name_managers_and_fields() {
        let causes = vec![
            (
                "conflict with \"kubectl-edit\" using apps/v1".to_string(),
                ".spec.replicas".to_string(),
            ),
            (
                "conflict with \"kubectl-edit\" using apps/v1".to_string(),
                ".spec.paused".to_string(),
            ),
            (
                "conflict with \"helm\" using v1".to_string(),
                ".data.x".to_string(),
            ),
        ];
        let o = owners(&causes);
        assert_eq!(o.len(), 3);
        assert_eq!(
            describe_owners(&o, "owns"),
            "kubectl-edit owns .spec.replicas, .spec.paused; helm owns .data.x"
        );
        let prefixes = vec!["kubectl".to_string()];
        assert!(is_takeover("kubectl-edit", &prefixes) && !is_takeover("helm", &prefixes));
    }
}
