//! One phase of a sync (Namespaces and CRDs, then the rest): plan, record in the inventory,
//! apply.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;

use super::{Pass, Stop};
use crate::apply::{self, ApplyOptions};
use crate::cluster::Cluster;
use crate::inventory::Inventory;
use crate::plan::live::LiveIndex;
use crate::plan::{self, Context, NamespaceKey, NamespacePlan, Reads};
use crate::render::{DesiredObject, ObjectId};
use crate::report::ObjectReport;

/// Labels the objects as the set's members and plans them (GET and dry-run each).
pub(super) async fn plan(
    cluster: &Cluster,
    pass: &Pass<'_>,
    inventory: &Inventory,
    index: &LiveIndex,
    objects: Vec<Arc<DesiredObject>>,
    new_namespaces: &BTreeSet<String>,
) -> Vec<NamespacePlan> {
    let options = pass.options;
    let set = inventory.set();
    // A sync has already created its namespaces and CRDs by the second phase; only a preview
    // may plan objects whose namespace or CRD does not exist yet.
    let empty = BTreeSet::new();
    let pending_ok = if options.dry_run {
        new_namespaces
    } else {
        &empty
    };
    let foreign_owner = |id: &ObjectId, live: &Value| set.owner_of(&id.namespace, live).conflict();
    let ctx = Context {
        field_manager: cluster.field_manager(),
        revision: pass.revision,
        adopt: options.adopt,
        takeover_managers: &options.takeover_managers,
        foreign_owner: &foreign_owner,
    };
    let reads = Reads {
        index,
        new_namespaces: pending_ok,
        preview: options.dry_run,
        concurrency: options.concurrency,
    };
    let plans = plan::observe(cluster, objects, reads, ctx, pass.halt).await;
    plan::group_by_namespace(plans)
}

/// Before a sync applies anything in this phase: takes the Lease if anything is to be written,
/// and records the kinds about to be applied in the parents `which` selects. Returns the keys
/// whose parent could not be written (nothing is applied there).
pub(super) async fn record(
    cluster: &Cluster,
    pass: &mut Pass<'_>,
    inventory: &mut Inventory,
    plans: &[NamespacePlan],
    kinds: &BTreeMap<NamespaceKey, BTreeSet<String>>,
    which: impl Fn(&NamespaceKey) -> bool,
) -> Result<BTreeMap<NamespaceKey, String>, Stop> {
    // A halted run applies nothing more, so it has nothing more to record.
    if pass.options.dry_run || pass.halt.is_halted() {
        return Ok(BTreeMap::new());
    }
    let writes = plans.iter().flat_map(|p| &p.objects).any(|o| o.needs_write);
    let records = inventory.needs_record(kinds, &which);
    if !writes && !records {
        return Ok(BTreeMap::new());
    }
    pass.writer(cluster).await?;
    Ok(inventory.record(cluster, kinds, which).await)
}

/// Applies the plans (a preview reports them as planned). Namespaces in `held` are not applied.
pub(super) async fn apply(
    cluster: &Cluster,
    pass: &Pass<'_>,
    plans: Vec<NamespacePlan>,
    held: &BTreeMap<NamespaceKey, String>,
) -> Vec<(NamespaceKey, Vec<ObjectReport>)> {
    let options = pass.options;
    if options.dry_run {
        return plans
            .into_iter()
            .map(|ns| {
                let lines = ns.objects.into_iter().map(ObjectReport::planned).collect();
                (ns.namespace, lines)
            })
            .collect();
    }
    let writes = plans
        .iter()
        .flat_map(|p| &p.objects)
        .filter(|o| o.needs_write)
        .count();
    if writes > 0 {
        tracing::info!(objects = writes, "applying");
    }
    let apply_options = ApplyOptions {
        concurrency: options.concurrency,
        force_conflicts: options.force_conflicts,
    };
    apply::execute(cluster, plans, apply_options, held, pass.halt).await
}
