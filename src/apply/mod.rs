//! Executes a plan: server-side apply of every object that needs a write, in apply order, with
//! bounded concurrency. A namespace whose plan has a failure is not applied at all, so a broken
//! object never leaves its namespace half-updated, and other namespaces go ahead.

pub mod prune;

use std::collections::BTreeMap;

use futures::{StreamExt, stream};

use crate::cluster::{Cluster, Writer};
use crate::halt::Halt;
use crate::plan::ledger::Record;
use crate::plan::{Action, NamespaceKey, NamespacePlan, ObjectPlan, Reason, order};
use crate::render::ObjectId;
use crate::report::{ObjectReport, Outcome};

#[derive(Debug, Clone, Copy)]
pub struct ApplyOptions {
    pub concurrency: usize,
    pub force_conflicts: bool,
}

const HELD: &str = "not applied: another object in this namespace failed";

/// What applying did: each namespace's report lines in apply order, and for the set's ledger
/// the record of every object applied or verified unchanged.
#[derive(Debug, Default)]
pub struct Applied {
    pub lines: Vec<(NamespaceKey, Vec<ObjectReport>)>,
    pub records: Vec<(ObjectId, Record)>,
}

impl Applied {
    /// The plans as planned, written nothing (a preview).
    pub fn previewed(plans: Vec<NamespacePlan>) -> Applied {
        let lines = plans
            .into_iter()
            .map(|ns| {
                let lines = ns.objects.into_iter().map(ObjectReport::planned).collect();
                (ns.namespace, lines)
            })
            .collect();
        Applied {
            lines,
            records: Vec::new(),
        }
    }
}

/// Applies the plans with `writer` (without one, what needs a write is not attempted: the run
/// was halted before it took the Lease). Namespaces in `held` (their inventory could not be
/// recorded) are not applied at all.
pub async fn execute(
    cluster: &Cluster,
    writer: Option<&Writer<'_>>,
    plans: Vec<NamespacePlan>,
    options: ApplyOptions,
    held: &BTreeMap<NamespaceKey, String>,
    halt: &Halt,
) -> Applied {
    let mut records = Vec::new();
    let mut results: Vec<(NamespaceKey, Vec<Option<ObjectReport>>)> = Vec::new();
    // (namespace index, object index, plan) of every write, across namespaces.
    let mut writes: Vec<(usize, usize, ObjectPlan)> = Vec::new();
    for (ns_idx, ns) in plans.into_iter().enumerate() {
        let blocked = ns.blocked(options.force_conflicts);
        let unrecorded = held.get(&ns.namespace);
        let mut lines = Vec::with_capacity(ns.objects.len());
        for (obj_idx, plan) in ns.objects.into_iter().enumerate() {
            if let Some(why) = unrecorded {
                let gone = cluster.flow().unreachable();
                lines.push(Some(unrecorded_line(plan, why, gone)));
            } else if blocked {
                lines.push(Some(blocked_line(plan, options.force_conflicts)));
            } else if plan.needs_write {
                writes.push((ns_idx, obj_idx, plan));
                lines.push(None);
            } else {
                if let Some(record) = plan.record.clone() {
                    records.push((plan.id().clone(), record));
                }
                lines.push(Some(ObjectReport::planned(plan)));
            }
        }
        results.push((ns.namespace, lines));
    }
    // Writes go in waves of equal rank, so what others depend on exists first.
    writes.sort_by(|a, b| order::apply_key(a.2.id()).cmp(&order::apply_key(b.2.id())));
    for wave in order::waves(writes, |w| w.2.id()) {
        let done: Vec<(usize, usize, ObjectReport, Option<Record>)> = stream::iter(wave)
            .map(|(ns_idx, obj_idx, plan)| async move {
                let force = options.force_conflicts || plan.drift.is_some();
                let (line, record) = match (halt.not_attempted(), writer) {
                    (None, Some(writer)) => write(writer, plan, force, halt).await,
                    (why, _) => {
                        let why = why.unwrap_or_else(|| "not attempted: no Lease held".into());
                        let line = ObjectReport::planned(plan).not_attempted(Reason::Halted, why);
                        (line, None)
                    }
                };
                (ns_idx, obj_idx, line, record)
            })
            .buffer_unordered(crate::cluster::fan_out(options.concurrency))
            .collect()
            .await;
        for (ns_idx, obj_idx, line, record) in done {
            records.extend(record.map(|r| (line.id.clone(), r)));
            results[ns_idx].1[obj_idx] = Some(line);
        }
    }
    let lines = results
        .into_iter()
        .map(|(ns, lines)| (ns, lines.into_iter().flatten().collect()))
        .collect();
    Applied { lines, records }
}

/// Applies one object: its report line, and on success its ledger record.
async fn write(
    writer: &Writer<'_>,
    plan: ObjectPlan,
    force: bool,
    halt: &Halt,
) -> (ObjectReport, Option<Record>) {
    let result = match plan.action {
        Action::Replace => writer.replace(&plan.object, force, halt).await,
        _ => writer.apply(&plan.object, force, Some(halt)).await,
    };
    let (id, manifest) = (plan.object.id.clone(), plan.object.manifest.clone());
    let mut line = ObjectReport::planned(plan);
    let mut record = None;
    match result {
        Ok(applied) => {
            tracing::info!(object = %line.id, outcome = line.outcome.label(), "applied");
            let hash = manifest.hash();
            record = Record::of(&hash, &applied, writer.cluster().field_manager());
        }
        Err(e) if e.is_unreachable() => {
            let line = line.not_attempted(Reason::Unreachable, format!("not attempted: {e}"));
            return (line, None);
        }
        Err(e) if e.is_halted() => return (line.not_attempted(Reason::Halted, e.message), None),
        Err(e) => {
            let message = crate::plan::mask::scrub_object(&e.to_string(), &id, &manifest.value());
            tracing::debug!(object = %line.id, error = %message, "apply failed");
            line.outcome = Outcome::Failed;
            line.reason = Some(Reason::of_failure(&e));
            line.message = Some(message);
        }
    }
    (line, record)
}

/// Not applied: a member the inventory does not record could never be pruned. When the server
/// is gone, that is all there is to say: not attempted.
fn unrecorded_line(plan: ObjectPlan, why: &str, unreachable: Option<String>) -> ObjectReport {
    let mut line = ObjectReport::planned(plan);
    match (line.outcome, unreachable) {
        (Outcome::Failed | Outcome::NotAttempted, _) => {}
        (_, Some(gone)) => {
            return line.not_attempted(Reason::Unreachable, format!("not attempted: {gone}"));
        }
        _ => {
            line.outcome = Outcome::Failed;
            line.reason = Some(Reason::NotRecorded);
            line.message = Some(format!("not applied: {why}"));
        }
    }
    line.diff.clear();
    line
}

fn blocked_line(plan: ObjectPlan, force: bool) -> ObjectReport {
    let conflict_blocks =
        plan.conflict.is_some() && !force && !matches!(plan.action, Action::Fail | Action::Skip);
    let fails = plan.blocks(force);
    let mut line = ObjectReport::planned(plan);
    if conflict_blocks {
        line.outcome = Outcome::Failed;
        line.reason = Some(Reason::Conflict);
        line.message = Some(
            "conflict with another field manager (use --force-conflicts to take the fields)".into(),
        );
    } else if !fails {
        line.outcome = Outcome::Held;
        line.reason = Some(Reason::NamespaceFailed);
        line.message = Some(HELD.into());
    }
    line
}
