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
    let hide = |msg: String| -> String {
        let msg = mask::scrub_object(&msg, &object.id, &object.manifest.value());
        match &observed.live {
            Some(live) => mask::scrub_object(&msg, &object.id, live),
            None => msg,
        }
    };
    if let Some(owner) = observed
        .live
        .as_ref()
        .and_then(|live| (ctx.foreign_owner)(&object.id, live))
    {
        return ObjectPlan {
            object,
            action: Action::Fail,
            diff: String::new(),
            needs_write: false,
            reason: Some(Reason::OwnedByOtherSet),
            message: Some(format!(
                "left unchanged: {owner}, and an object belongs to one sync set (see \"Sync sets\" in the README to move it)"
            )),
            conflict: Some(owner),
            drift: None,
            record: None,
        };
    }
    // A manifest planned as written (its namespace or CRD comes with this sync).
    let written = match &observed.dry_run {
        DryRun::Pending(_) => object.manifest.value(),
        _ => Value::Null,
    };
    let (merged, conflict, drift, note) = match &observed.dry_run {
        DryRun::NotAttempted(reason, why) => {
            return ObjectPlan {
                object,
                action: Action::NotAttempted,
                diff: String::new(),
                needs_write: false,
                reason: Some(*reason),
                message: Some(why.clone()),
                conflict: None,
                drift: None,
                record: None,
            };
        }
        DryRun::Proven => {
            return ObjectPlan {
                object,
                action: Action::Unchanged,
                diff: String::new(),
                needs_write: false,
                reason: None,
                message: None,
                conflict: None,
                drift: None,
                record: None,
            };
        }
        DryRun::Rejected(reason, why) => {
            let message = Some(hide(why.clone()));
            return ObjectPlan {
                object,
                action: Action::Fail,
                diff: String::new(),
                needs_write: false,
                reason: Some(*reason),
                message,
                conflict: None,
                drift: None,
                record: None,
            };
        }
        DryRun::Merged(merged) => (merged, None, None, None),
        DryRun::Conflict {
            merged,
            message,
            causes,
        } => {
            let owners = owners(causes);
            if !owners.is_empty()
                && owners
                    .iter()
                    .all(|(m, _)| is_takeover(m, ctx.takeover_managers))
            {
                (
                    merged,
                    None,
                    Some(describe_owners(&owners, "changed")),
                    None,
                )
            } else if owners.is_empty() {
                (merged, Some(hide(message.clone())), None, None)
            } else {
                (merged, Some(describe_owners(&owners, "owns")), None, None)
            }
        }
        DryRun::Pending(why) => (&written, None, None, Some(why.clone())),
    };
    let mut before = observed.live.as_ref().map(normalize::normalize);
    let mut after = normalize::normalize(merged);
    let not_adopted = observed
        .live
        .as_ref()
        .is_some_and(|live| !ctx.adopt && !managed_by(live, ctx.field_manager));
    if let (true, Some(before)) = (not_adopted, &before) {
        // What Git would change, not the labels an adoption adds.
        normalize::without_membership(&mut after, before);
    }
    mask::mask_pair(&object.id, before.as_mut(), Some(&mut after));
    let diff = diff::unified(&object.id, before.as_ref(), Some(&after), ctx.revision);
    let (action, needs_write, note) = match &observed.live {
        None => (Action::Create, true, note),
        Some(_) if not_adopted => {
            let why = match diff.is_empty() {
                true => {
                    "exists and is not managed by driftless: left untouched (pass --adopt to take it over)"
                }
                false => {
                    "differs from Git, and is not managed by driftless: left untouched (pass --adopt to take it over)"
                }
            };
            (Action::Skip, false, Some(why.to_string()))
        }
        Some(_) if !diff.is_empty() => (Action::Update, true, note),
        Some(live) => {
            let owned_now = applied_fields(live, ctx.field_manager);
            let write =
                owned_now.is_none() || owned_now != applied_fields(merged, ctx.field_manager);
            (Action::Unchanged, write, note)
        }
    };
    // An object left alone keeps its diff: what differs from Git is shown (masked), and a preview
    // exits 1 for it.
    // Verified unchanged and nothing to write: the ledger may record it as it stands.
    let record = match (&observed.live, action, needs_write) {
        (Some(live), Action::Unchanged, false) => {
            Record::of(&object.manifest.hash(), live, ctx.field_manager)
        }
        _ => None,
    };
    let reason = match action {
        Action::Skip => Some(Reason::NotAdopted),
        _ if conflict.is_some() => Some(Reason::Conflict),
        _ => None,
    };
    ObjectPlan {
        object,
        action,
        diff,
        needs_write,
        reason,
        message: note,
        conflict,
        drift,
        record,
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
