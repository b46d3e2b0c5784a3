//! Step 5 of a sync: what Git dropped. The inventory hands out its candidates (each with the
//! decision [`crate::plan::prune`] made), this step deletes those that go, in reverse apply
//! order, writes their report lines, and tells the inventory what is gone. Without `--prune`
//! nothing is deleted: what a prune would delete is reported as orphaned.

use std::collections::BTreeSet;

use super::{Pass, Stop};
use crate::apply::prune::{Deletion, delete_all};
use crate::cluster::Cluster;
use crate::inventory::{Candidates, Inventory};
use crate::plan::{NamespaceKey, PrunePlan, order};
use crate::report::ObjectReport;

/// Report lines per inventory key.
type Lines = Vec<(NamespaceKey, Vec<ObjectReport>)>;

/// Prunes (or reports) what Git dropped, in namespaces that applied cleanly (not in `failed`).
pub(super) async fn run(
    cluster: &Cluster,
    pass: &Pass<'_>,
    inventory: &mut Inventory,
    failed: &BTreeSet<NamespaceKey>,
) -> Result<Lines, Stop> {
    let candidates = inventory.take_candidates(failed);
    let Some(settings) = &pass.options.prune else {
        inventory.settle(&[]);
        return Ok(orphans(candidates));
    };
    let deleting = pass.access.writes();
    let mut lines: Lines = Vec::new();
    let mut deletes: Vec<(usize, PrunePlan)> = Vec::new();
    for Candidates { key, hold, plans } in candidates {
        let mut ns_lines = Vec::new();
        for plan in plans {
            match &hold {
                Some(hold) => ns_lines.push(ObjectReport::prune_held(plan, hold)),
                None if deleting && plan.deletes() => deletes.push((lines.len(), plan)),
                None => ns_lines.push(ObjectReport::prune(plan)),
            }
        }
        lines.push((key, ns_lines));
    }
    if deletes.is_empty() {
        inventory.settle(&[]);
        return Ok(lines);
    }
    // Reverse apply order: dependants first, Namespaces and CRDs last.
    deletes.sort_by(|a, b| order::apply_key(&b.1.id).cmp(&order::apply_key(&a.1.id)));
    tracing::info!(objects = deletes.len(), "pruning");
    let Some(writer) = pass.writer(cluster).await? else {
        return Ok(lines);
    };
    let (propagation, concurrency) = (settings.propagation, pass.options.concurrency);
    let done = delete_all(&writer, deletes, propagation, concurrency, pass.halt).await;
    let mut gone = Vec::new();
    for (idx, plan, deletion) in done {
        if matches!(deletion, Deletion::Deleted) {
            gone.push(plan.id.clone());
        }
        lines[idx].1.push(deletion.line(plan));
    }
    inventory.settle(&gone);
    Ok(lines)
}

/// Without `--prune`: every candidate as orphaned (or skipped, where a prune would keep it).
fn orphans(candidates: Vec<Candidates>) -> Lines {
    candidates
        .into_iter()
        .map(|c| {
            let lines = c.plans.into_iter().map(ObjectReport::orphan).collect();
            (c.key, lines)
        })
        .collect()
}
