//! The inventory side of a sync: read each ApplySet, plan what to prune, check the guards, keep
//! the parents' group-kinds up to date, and prune.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use futures::{StreamExt, stream};
use serde_json::Value;

use super::{PruneOptions, SyncOptions};
use crate::cluster::Cluster;
use crate::error::{Error, Result};
use crate::plan::inventory::{self, PART_OF_LABEL, Parent, PruneDecision, PruneRules};
use crate::plan::{NamespaceKey, PrunePlan, diff, mask, normalize, order};
use crate::render::{DesiredObject, ObjectId};
use crate::report::{ObjectReport, Outcome};

/// An object's identity without its version (see [`ObjectId::key`]).
type IdKey<'a> = (&'a str, &'a str, Option<&'a str>, &'a str);

/// One ApplySet as found on the cluster, with what to prune from it.
#[derive(Debug)]
pub struct Inventory {
    pub key: NamespaceKey,
    pub parent: Parent,
    /// Group-kinds the live parent lists (empty when there is no parent yet).
    pub live_kinds: BTreeSet<String>,
    pub members: usize,
    pub prunes: Vec<PrunePlan>,
    /// Why the members could not be listed (that inventory is then not pruned).
    pub error: Option<String>,
}

/// Group-kinds of the desired objects, per inventory key.
pub fn desired_kinds(desired: &[DesiredObject]) -> BTreeMap<NamespaceKey, BTreeSet<String>> {
    let mut kinds: BTreeMap<NamespaceKey, BTreeSet<String>> = BTreeMap::new();
    for o in desired {
        kinds
            .entry(o.id.namespace.clone())
            .or_default()
            .insert(inventory::group_kind(&o.id.group, &o.id.kind));
    }
    kinds
}

/// Labels every desired object as a member of its namespace's (or the cluster's) ApplySet.
pub fn label_members(desired: &mut [DesiredObject], inventory_namespace: &str) {
    for o in desired {
        let id = Parent::for_scope(&o.id.namespace, inventory_namespace).id();
        inventory::label_member(&mut o.manifest, &id);
    }
}

/// Reads the inventories for `keys` and plans their prunes.
pub async fn gather(
    cluster: &Cluster,
    keys: &BTreeSet<NamespaceKey>,
    desired: &[DesiredObject],
    options: &SyncOptions,
    prune: &PruneOptions,
    revision: Option<&str>,
) -> Vec<Inventory> {
    let wanted_kinds = desired_kinds(desired);
    let desired_ids: HashSet<IdKey<'_>> = desired.iter().map(|o| o.id.key()).collect();
    let rules = PruneRules {
        field_manager: cluster.field_manager(),
        namespaces: prune.namespaces,
        crds: prune.crds,
    };
    stream::iter(keys.iter().cloned())
        .map(|key| {
            let parent = Parent::for_scope(&key, &options.inventory_namespace);
            let extra = wanted_kinds.get(&key).cloned().unwrap_or_default();
            let desired_ids = &desired_ids;
            async move {
                let mut inv = Inventory {
                    key,
                    parent,
                    live_kinds: BTreeSet::new(),
                    members: 0,
                    prunes: Vec::new(),
                    error: None,
                };
                if let Err(e) =
                    read_one(cluster, &mut inv, &extra, desired_ids, rules, revision).await
                {
                    inv.error = Some(e);
                }
                inv
            }
        })
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await
}

async fn read_one(
    cluster: &Cluster,
    inv: &mut Inventory,
    extra_kinds: &BTreeSet<String>,
    desired_ids: &HashSet<IdKey<'_>>,
    rules: PruneRules<'_>,
    revision: Option<&str>,
) -> Result<(), String> {
    let live = match cluster.get_parent(&inv.parent).await {
        Ok(p) => p,
        Err(e) if e.code == 404 => None,
        Err(e) => {
            return Err(format!(
                "cannot read inventory {}/{}: {e}",
                inv.parent.namespace, inv.parent.name
            ));
        }
    };
    inv.live_kinds = live
        .as_ref()
        .map(inventory::parent_group_kinds)
        .unwrap_or_default();
    let applyset = inv.parent.id();
    let selector = format!("{PART_OF_LABEL}={applyset}");
    for gk in inv.live_kinds.union(extra_kinds) {
        let (group, kind) = inventory::split_group_kind(gk);
        let Some(info) = cluster.catalog().lookup_group_kind(&group, &kind) else {
            tracing::warn!(group_kind = %gk, "inventory lists a kind the server does not serve; skipped");
            continue;
        };
        let listed = cluster
            .list_labelled(&info, inv.key.as_deref(), &selector)
            .await
            .map_err(|e| format!("cannot list {gk} members: {e}"))?;
        for live in listed {
            let id = live_id(&info, &live);
            inv.members += 1;
            if desired_ids.contains(&id.key()) {
                continue;
            }
            let decision = inventory::decide(&id, &live, &applyset, rules);
            let mut before = normalize::normalize(&live);
            if id.is_secret() {
                mask::mask_secret(&mut before);
            }
            let diff = diff::unified(&id, Some(&before), None, revision);
            inv.prunes.push(PrunePlan {
                id,
                kind: info.clone(),
                decision,
                diff,
            });
        }
    }
    Ok(())
}

fn live_id(info: &crate::render::KindInfo, live: &Value) -> ObjectId {
    ObjectId {
        group: info.group.clone(),
        version: info.version.clone(),
        kind: info.kind.clone(),
        namespace: live["metadata"]["namespace"].as_str().map(str::to_string),
        name: live["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    }
}

/// What the parents of `keys` list now (missing parents list nothing).
pub async fn read_parents(
    cluster: &Cluster,
    keys: &BTreeSet<NamespaceKey>,
    inventory_namespace: &str,
) -> BTreeMap<NamespaceKey, BTreeSet<String>> {
    let reads = keys.iter().map(|key| async move {
        let parent = Parent::for_scope(key, inventory_namespace);
        let kinds = match cluster.get_parent(&parent).await {
            Ok(live) => live
                .as_ref()
                .map(inventory::parent_group_kinds)
                .unwrap_or_default(),
            Err(e) => {
                tracing::debug!(error = %e, "no inventory parent readable");
                BTreeSet::new()
            }
        };
        (key.clone(), kinds)
    });
    stream::iter(reads).buffer_unordered(8).collect().await
}

/// Refuses an emptied source and a prune over budget, before anything is written.
pub fn check_guards(
    inventories: &[Inventory],
    desired_count: usize,
    prune: &PruneOptions,
) -> Result<()> {
    let members: usize = inventories.iter().map(|i| i.members).sum();
    if desired_count == 0 && members > 0 && !prune.allow_empty {
        return Err(Error::Refused(format!(
            "the source holds no objects but the inventory holds {members}: refusing to prune everything (pass --allow-empty if that is intended)"
        )));
    }
    let prunes = inventories
        .iter()
        .flat_map(|i| &i.prunes)
        .filter(|p| p.decision == PruneDecision::Prune)
        .count();
    if !prune.budget.allows(prunes, members) {
        return Err(Error::Refused(format!(
            "this sync would prune {prunes} of the {members} objects in its inventories, over the budget --max-prune {}: nothing applied or pruned (raise --max-prune if that is intended)",
            prune.budget
        )));
    }
    Ok(())
}

/// Writes the parents so they list `kinds` (before applying: the union with what they listed).
pub async fn write_parents(
    cluster: &Cluster,
    parents: &[(Parent, BTreeSet<String>)],
    inventory_namespace: &str,
) {
    if parents.iter().any(|(p, _)| p.scope.is_none())
        && let Err(e) = cluster.ensure_namespace(inventory_namespace).await
    {
        tracing::warn!(namespace = inventory_namespace, error = %e, "cannot create the inventory namespace");
    }
    let writes = parents.iter().map(|(parent, kinds)| async move {
        if let Err(e) = cluster.apply_parent(parent, &parent.manifest(kinds)).await {
            tracing::warn!(parent = %format!("{}/{}", parent.namespace, parent.name), error = %e, "cannot write inventory");
        }
    });
    stream::iter(writes)
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
}

/// Prunes the planned members of inventories whose namespace applied cleanly. Returns the report
/// lines per key, and the group-kinds of members that remain (kept or failed) per key.
pub async fn prune(
    cluster: &Cluster,
    inventories: Vec<Inventory>,
    failed: &BTreeSet<NamespaceKey>,
    options: &SyncOptions,
    prune: &PruneOptions,
) -> (
    Vec<(NamespaceKey, Vec<ObjectReport>)>,
    BTreeMap<NamespaceKey, BTreeSet<String>>,
) {
    let mut lines: Vec<(NamespaceKey, Vec<ObjectReport>)> = Vec::new();
    let mut remaining: BTreeMap<NamespaceKey, BTreeSet<String>> = BTreeMap::new();
    let mut deletes: Vec<(usize, PrunePlan)> = Vec::new();
    for inv in inventories {
        let mut ns_lines = Vec::new();
        let keep_all = inv.error.clone().or_else(|| {
            failed
                .contains(&inv.key)
                .then(|| "not pruned: this namespace has failures".to_string())
        });
        for plan in inv.prunes {
            let gk = inventory::group_kind(&plan.id.group, &plan.id.kind);
            match (&keep_all, &plan.decision) {
                (Some(why), _) => {
                    remaining.entry(inv.key.clone()).or_default().insert(gk);
                    let mut line = ObjectReport::prune(plan);
                    line.outcome = if inv.error.is_some() {
                        Outcome::Failed
                    } else {
                        Outcome::Skipped
                    };
                    line.diff.clear();
                    line.message = Some(why.clone());
                    ns_lines.push(line);
                }
                (None, PruneDecision::Keep(_)) => {
                    remaining.entry(inv.key.clone()).or_default().insert(gk);
                    ns_lines.push(ObjectReport::prune(plan));
                }
                (None, PruneDecision::Prune) if options.dry_run => {
                    ns_lines.push(ObjectReport::prune(plan))
                }
                (None, PruneDecision::Prune) => deletes.push((lines.len(), plan)),
            }
        }
        lines.push((inv.key, ns_lines));
    }
    // Reverse apply order: dependants first, Namespaces and CRDs last.
    deletes.sort_by(|a, b| order::apply_key(&b.1.id).cmp(&order::apply_key(&a.1.id)));
    for (idx, plan, result) in
        crate::apply::prune::delete_all(cluster, deletes, prune.propagation, options.concurrency)
            .await
    {
        let key = lines[idx].0.clone();
        let mut line = ObjectReport::prune(plan);
        if let Err(e) = result {
            remaining
                .entry(key)
                .or_default()
                .insert(inventory::group_kind(&line.id.group, &line.id.kind));
            line.outcome = Outcome::Failed;
            line.message = Some(format!(
                "prune failed, kept in the inventory for the next sync: {e}"
            ));
        }
        lines[idx].1.push(line);
    }
    (lines, remaining)
}

/// The inventory keys a sync reads: those the desired set uses, plus (when the scope allows)
/// those holding a driftless parent on the cluster.
pub async fn keys(
    cluster: &Cluster,
    desired: &[DesiredObject],
    scope: &super::ScopeSet,
    inventory_namespace: &str,
) -> BTreeSet<NamespaceKey> {
    let mut keys: BTreeSet<NamespaceKey> = desired.iter().map(|o| o.id.namespace.clone()).collect();
    // The cluster-scoped inventory, whenever cluster-scoped objects are in scope.
    keys.insert(None);
    if scope.includes_unnamed() {
        match cluster.inventory_namespaces().await {
            Ok(found) => {
                for (ns, name) in found {
                    let key = if name == inventory::CLUSTER_PARENT_NAME && ns == inventory_namespace
                    {
                        None
                    } else {
                        Some(ns)
                    };
                    keys.insert(key);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot list inventories; only the source's namespaces are pruned")
            }
        }
    }
    keys.retain(|k| scope.contains_inventory(k));
    keys
}
