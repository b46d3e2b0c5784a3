//! Steps 3 and 4 of a sync: Namespaces and CRDs first, then everything else. Each phase is the
//! same plan -> record -> apply; what differs is which objects it takes and whose parents it
//! records before applying.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;

use super::{Pass, Stop};
use crate::apply::{self, Applied, ApplyOptions};
use crate::cluster::Cluster;
use crate::health::{ProgressStyle, WaitOptions};
use crate::inventory::{self, Inventory};
use crate::plan::ledger::Record;
use crate::plan::live::LiveIndex;
use crate::plan::{self, Context, NamespaceKey, NamespacePlan, Reads, order};
use crate::render::{self, DesiredObject, ObjectId};
use crate::report::{ObjectReport, Outcome, Report};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Namespaces and CRDs, which the rest needs to exist first.
    Foundation,
    Rest,
}

impl Phase {
    /// Whose parents the phase records before it applies: the cluster-scoped one (listing every
    /// cluster-scoped kind of the sync: Namespaces now, ClusterRoles in the next phase), or the
    /// namespaces'.
    fn records(self, key: &NamespaceKey) -> bool {
        match self {
            Phase::Foundation => key.is_none(),
            Phase::Rest => key.is_some(),
        }
    }
}

/// Steps 3 and 4: both phases, their lines into `report`. Returns the ledger records of what
/// was applied or verified.
pub(super) async fn apply_all(
    cluster: &Cluster,
    pass: &Pass<'_>,
    inventory: &mut Inventory,
    index: &LiveIndex,
    desired: Vec<Arc<DesiredObject>>,
    report: &mut Report,
) -> Result<Vec<(ObjectId, Record)>, Stop> {
    let kinds = inventory::desired_kinds(&desired);
    let (foundation, mut rest): (Vec<_>, Vec<_>) = desired
        .into_iter()
        .partition(|o| order::is_foundation(&o.id));
    // Namespaces this sync creates: a preview plans what goes in them from the manifests.
    let new_namespaces: BTreeSet<String> = foundation
        .iter()
        .filter(|o| o.id.is_namespace())
        .map(|o| o.id.name.clone())
        .collect();
    let step = Step {
        cluster,
        pass,
        index,
        kinds: &kinds,
        new_namespaces: &new_namespaces,
    };
    let first = step.run(inventory, Phase::Foundation, foundation).await?;
    let new_crds = written_crds(&first.lines);
    let mut records = first.records;
    report.extend_all(first.lines);
    if pass.access.writes() && !new_crds.is_empty() {
        for name in &new_crds {
            if let Err(e) = cluster
                .wait_established(name, pass.options.crd_timeout)
                .await
            {
                tracing::warn!(crd = %name, error = %e, "CRD not established");
            }
        }
        cluster.refresh_catalog().await?;
    }
    // CRDs established above make their kinds known.
    render::refresh_kinds(&mut rest, &*cluster.catalog());
    let second = step.run(inventory, Phase::Rest, rest).await?;
    records.extend(second.records);
    report.extend_all(second.lines);
    Ok(records)
}

/// What both phases share.
struct Step<'a> {
    cluster: &'a Cluster,
    pass: &'a Pass<'a>,
    index: &'a LiveIndex,
    /// Group-kinds of every desired object, per inventory key.
    kinds: &'a BTreeMap<NamespaceKey, BTreeSet<String>>,
    new_namespaces: &'a BTreeSet<String>,
}

impl Step<'_> {
    /// Plans the objects; in a sync, records them in the parents the phase selects (taking the
    /// Lease if anything is to be written) and applies them.
    async fn run(
        &self,
        inventory: &mut Inventory,
        phase: Phase,
        objects: Vec<Arc<DesiredObject>>,
    ) -> Result<Applied, Stop> {
        let plans = self.plan(inventory, objects).await;
        if !self.pass.access.writes() {
            return Ok(Applied::previewed(plans));
        }
        let options = self.pass.options;
        let held = self.record(inventory, phase, &plans).await?;
        let writer = match plans.iter().flat_map(|p| &p.objects).any(|o| o.needs_write) {
            true if !self.pass.halt.is_halted() => self.pass.writer(self.cluster).await?,
            _ => None,
        };
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
        if phase == Phase::Rest && super::stages::needed(&plans) {
            let staging = super::stages::Staging {
                cluster: self.cluster,
                writer: writer.as_ref(),
                options: apply_options,
                // Between stages a wait is bounded as `--wait` is, and shows nothing itself.
                wait: WaitOptions {
                    progress: ProgressStyle::Off,
                    ..options.wait.clone().unwrap_or_default()
                },
                halt: self.pass.halt,
            };
            return Ok(staging.apply(plans, &held).await);
        }
        let applied = apply::execute(
            self.cluster,
            writer.as_ref(),
            plans,
            apply_options,
            &held,
            self.pass.halt,
        );
        Ok(applied.await)
    }

    /// Plans the objects (GET and dry-run each, unless the ledger proves them unchanged).
    async fn plan(
        &self,
        inventory: &Inventory,
        objects: Vec<Arc<DesiredObject>>,
    ) -> Vec<NamespacePlan> {
        let options = self.pass.options;
        let set = inventory.set();
        // A sync has already created its namespaces and CRDs by the second phase; only a preview
        // may plan objects whose namespace or CRD does not exist yet.
        let empty = BTreeSet::new();
        let preview = !self.pass.access.writes();
        let pending_ok = if preview { self.new_namespaces } else { &empty };
        let foreign_owner =
            |id: &ObjectId, live: &Value| set.owner_of(&id.namespace, live).conflict();
        let ctx = Context {
            field_manager: self.cluster.field_manager(),
            revision: self.pass.revision,
            adopt: options.adopt,
            takeover_managers: &options.takeover_managers,
            foreign_owner: &foreign_owner,
            replace_kinds: &options.replace_immutable,
        };
        let reads = Reads {
            index: self.index,
            new_namespaces: pending_ok,
            preview,
            concurrency: options.concurrency,
        };
        let plans = plan::observe(self.cluster, objects, reads, ctx, self.pass.halt).await;
        plan::group_by_namespace(plans)
    }

    /// Before a sync applies anything in this phase: records the kinds about to be applied in
    /// the parents the phase selects, taking the Lease if that or an apply writes. Returns the
    /// keys whose parent could not be written (nothing is applied there).
    async fn record(
        &self,
        inventory: &mut Inventory,
        phase: Phase,
        plans: &[NamespacePlan],
    ) -> Result<BTreeMap<NamespaceKey, String>, Stop> {
        // A halted run applies nothing more, so it has nothing more to record.
        if self.pass.halt.is_halted() {
            return Ok(BTreeMap::new());
        }
        let writes = plans.iter().flat_map(|p| &p.objects).any(|o| o.needs_write);
        let which = |key: &NamespaceKey| phase.records(key);
        if !writes && !inventory.needs_record(self.kinds, which) {
            return Ok(BTreeMap::new());
        }
        match self.pass.writer(self.cluster).await? {
            Some(writer) => Ok(inventory.record(&writer, self.kinds, which).await),
            None => Ok(BTreeMap::new()),
        }
    }
}

/// Names of CRDs that this phase created or changed.
fn written_crds(results: &[(NamespaceKey, Vec<ObjectReport>)]) -> Vec<String> {
    results
        .iter()
        .flat_map(|(_, lines)| lines)
        .filter(|l| l.id.is_crd())
        .filter(|l| matches!(l.outcome, Outcome::Created | Outcome::Configured))
        .map(|l| l.id.name.clone())
        .collect()
}
