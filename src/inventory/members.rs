//! The prune half of the inventory's lifecycle: list each parent's members, decide what Git
//! dropped, guard, delete, and record what remains.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use futures::{StreamExt, stream};
use serde_json::Value;

use super::Inventory;
use super::parent::{PART_OF_LABEL, Parent, group_kind, split_group_kind};
use super::rules::{Budget, PruneDecision, PruneRules, decide};
use crate::apply::prune::{Deletion, delete_all};
use crate::cluster::{Cluster, Propagation};
use crate::error::{Error, Result};
use crate::halt::Halt;
use crate::plan::{NamespaceKey, PrunePlan, diff, mask, normalize, order};
use crate::render::{DesiredObject, KindInfo, ObjectId};
use crate::report::{ObjectReport, Outcome};

/// How many members a refusal names before "and N more".
const NAMED_IN_REFUSAL: usize = 10;

/// What one parent's member listing found.
#[derive(Debug, Default)]
pub(super) struct Members {
    /// Members in scope, desired or not (the prune budget's denominator).
    pub in_scope: Vec<ObjectId>,
    pub candidates: Vec<Candidate>,
    /// Group-kinds of members that stay after this sync (kept, or their delete failed).
    pub remaining: BTreeSet<String>,
    /// Members still labelled for the pre-sync-sets parent after this sync.
    pub legacy_remaining: usize,
    /// Why the members could not all be listed: this key is then neither pruned nor shrunk.
    pub error: Option<String>,
}

/// A member that Git no longer holds.
#[derive(Debug)]
pub(super) struct Candidate {
    pub plan: PrunePlan,
    /// Labelled for the pre-sync-sets parent.
    pub legacy: bool,
}

/// What `--prune` allows, and how deletions run.
#[derive(Debug, Clone, Copy)]
pub struct PruneSettings {
    pub budget: Budget,
    pub propagation: Propagation,
    pub namespaces: bool,
    pub crds: bool,
    pub allow_empty: bool,
}

impl Default for PruneSettings {
    fn default() -> Self {
        PruneSettings {
            budget: Budget::Percent(25),
            propagation: Propagation::Background,
            namespaces: false,
            crds: false,
            allow_empty: false,
        }
    }
}

impl Inventory {
    /// Lists every parent's members (one LIST per kind it records or the sync applies) and
    /// decides which of them Git dropped.
    pub async fn find_prunes(
        &mut self,
        cluster: &Cluster,
        desired: &[DesiredObject],
        rules: PruneRules<'_>,
        revision: Option<&str>,
        concurrency: usize,
    ) {
        let wanted = super::desired_kinds(desired);
        let desired_ids: HashSet<_> = desired.iter().map(|o| o.id.key()).collect();
        let jobs = self.entries.iter().map(|(key, entry)| {
            let mut kinds = entry.recorded();
            kinds.extend(wanted.get(key).into_iter().flatten().cloned());
            let (ours, legacy) = (
                self.set.ids(key),
                entry.legacy.as_ref().map(|(p, _)| p.id()),
            );
            let desired_ids = &desired_ids;
            let scope = &self.scope;
            async move {
                let mut members = Members::default();
                let found = list_members(cluster, key, &kinds, &ours).await;
                match found {
                    Err(e) => members.error = Some(e),
                    Ok(listed) => {
                        for (info, live) in listed {
                            let id = live_id(&info, &live);
                            let is_legacy = legacy
                                .as_deref()
                                .is_some_and(|l| live["metadata"]["labels"][PART_OF_LABEL] == l);
                            if !scope.contains(&id) {
                                // Not this sync's to touch: it stays, and so does its kind.
                                members.remaining.insert(group_kind(&id.group, &id.kind));
                                members.legacy_remaining += usize::from(is_legacy);
                                continue;
                            }
                            members.in_scope.push(id.clone());
                            if desired_ids.contains(&id.key()) {
                                continue;
                            }
                            let decision = decide(&id, &live, &ours, rules);
                            let plan = prune_plan(id, info, decision, &live, revision);
                            members.candidates.push(Candidate {
                                plan,
                                legacy: is_legacy,
                            });
                        }
                    }
                }
                (key.clone(), members)
            }
        });
        let results: Vec<_> = stream::iter(jobs)
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        for (key, members) in results {
            if let Some(entry) = self.entries.get_mut(&key) {
                entry.members = Some(members);
            }
        }
    }

    fn listed(&self) -> impl Iterator<Item = &Members> {
        self.entries.values().filter_map(|e| e.members.as_ref())
    }

    /// Whether any member is to be deleted.
    pub fn has_prunes(&self) -> bool {
        self.listed()
            .filter(|m| m.error.is_none())
            .flat_map(|m| &m.candidates)
            .any(|c| c.plan.decision == PruneDecision::Prune)
    }

    /// Refuses an emptied source and a prune over budget, before anything is written. Counts
    /// only this set's members in scope.
    pub fn guard(&self, desired_in_scope: usize, settings: &PruneSettings) -> Result<()> {
        let members: Vec<&ObjectId> = self.listed().flat_map(|m| &m.in_scope).collect();
        let set = self.set.name.to_string();
        if desired_in_scope == 0 && !members.is_empty() && !settings.allow_empty {
            return Err(Error::Refused(format!(
                "the source holds no objects in scope but sync set {set:?} holds {} there ({}): refusing to prune everything (pass --allow-empty if that is intended)",
                members.len(),
                name_some(&members)
            )));
        }
        let prunes = self
            .listed()
            .flat_map(|m| &m.candidates)
            .filter(|c| c.plan.decision == PruneDecision::Prune)
            .count();
        if !settings.budget.allows(prunes, members.len()) {
            return Err(Error::Refused(format!(
                "this sync would prune {prunes} of the {} objects of sync set {set:?} in scope, over the budget --max-prune {}: nothing applied or pruned (raise --max-prune if that is intended)",
                members.len(),
                settings.budget
            )));
        }
        Ok(())
    }

    /// Deletes the members Git dropped in namespaces that applied cleanly (a preview only
    /// reports them). Returns the report lines per key.
    pub async fn prune(
        &mut self,
        cluster: &Cluster,
        failed: &BTreeSet<NamespaceKey>,
        dry_run: bool,
        settings: &PruneSettings,
        concurrency: usize,
        halt: &Halt,
    ) -> Vec<(NamespaceKey, Vec<ObjectReport>)> {
        let mut lines: Vec<(NamespaceKey, Vec<ObjectReport>)> = Vec::new();
        let mut deletes: Vec<((usize, bool), PrunePlan)> = Vec::new();
        for (key, entry) in self.entries.iter_mut() {
            let Some(members) = entry.members.as_mut() else {
                continue;
            };
            let keep_all = members.error.clone().or_else(|| {
                failed
                    .contains(key)
                    .then(|| "not pruned: this namespace has failures".to_string())
            });
            let mut ns_lines = Vec::new();
            for Candidate { plan, legacy } in std::mem::take(&mut members.candidates) {
                let gk = group_kind(&plan.id.group, &plan.id.kind);
                let deleting = keep_all.is_none() && plan.decision == PruneDecision::Prune;
                if !deleting || dry_run {
                    members.remaining.insert(gk);
                    members.legacy_remaining += usize::from(legacy);
                }
                match &keep_all {
                    Some(why) => {
                        let mut line = ObjectReport::prune(plan);
                        line.outcome = if members.error.is_some() {
                            Outcome::Failed
                        } else {
                            Outcome::Skipped
                        };
                        line.diff.clear();
                        line.message = Some(why.clone());
                        ns_lines.push(line);
                    }
                    None if deleting && !dry_run => deletes.push(((lines.len(), legacy), plan)),
                    None => ns_lines.push(ObjectReport::prune(plan)),
                }
            }
            lines.push((key.clone(), ns_lines));
        }
        // Reverse apply order: dependants first, Namespaces and CRDs last.
        deletes.sort_by(|a, b| order::apply_key(&b.1.id).cmp(&order::apply_key(&a.1.id)));
        if !deletes.is_empty() {
            tracing::info!(objects = deletes.len(), "pruning");
        }
        let done = delete_all(cluster, deletes, settings.propagation, concurrency, halt).await;
        for ((idx, legacy), plan, deletion) in done {
            let key = lines[idx].0.clone();
            let mut line = ObjectReport::prune(plan);
            if !matches!(deletion, Deletion::Deleted)
                && let Some(members) = self.entries.get_mut(&key).and_then(|e| e.members.as_mut())
            {
                members
                    .remaining
                    .insert(group_kind(&line.id.group, &line.id.kind));
                members.legacy_remaining += usize::from(legacy);
            }
            match deletion {
                Deletion::Deleted => {}
                Deletion::NotAttempted(why) => line = line.not_attempted(why),
                Deletion::Failed(e) => {
                    line.outcome = Outcome::Failed;
                    line.message = Some(format!(
                        "prune failed, kept in the inventory for the next sync: {e}"
                    ));
                }
            }
            lines[idx].1.push(line);
        }
        lines
    }

    /// After pruning: each listed parent lists what it holds now (the desired kinds and those of
    /// members that stay), or is deleted when that is nothing; a pre-sync-sets parent is
    /// deleted once no member carries its label. A parent whose members could not be listed is
    /// left as it is. Returns the keys whose parent could not be written.
    pub async fn record_pruned(
        &mut self,
        cluster: &Cluster,
        desired: &BTreeMap<NamespaceKey, BTreeSet<String>>,
        failed: &BTreeSet<NamespaceKey>,
    ) -> BTreeMap<NamespaceKey, String> {
        let (writes, retired) = self.after_prune(desired, failed);
        let mut failures = self.write(cluster, writes).await;
        for legacy in retired {
            let ns = Some(legacy.namespace.as_str());
            match cluster
                .delete(&KindInfo::secret(), ns, &legacy.name, Default::default())
                .await
            {
                Ok(()) => {
                    tracing::info!(parent = %legacy.describe(), "retired a pre-sync-sets inventory");
                    if let Some(entry) = self.entries.get_mut(&legacy.key) {
                        entry.legacy = None;
                    }
                }
                Err(e) => {
                    failures.insert(
                        legacy.key.clone(),
                        format!("cannot delete the old inventory {}: {e}", legacy.describe()),
                    );
                }
            }
        }
        failures
    }

    /// Whether [`Inventory::record_pruned`] would write anything.
    pub fn needs_record_pruned(
        &self,
        desired: &BTreeMap<NamespaceKey, BTreeSet<String>>,
        failed: &BTreeSet<NamespaceKey>,
    ) -> bool {
        let (writes, retired) = self.after_prune(desired, failed);
        !writes.is_empty() || !retired.is_empty()
    }

    /// The parents to rewrite after pruning (key, kinds), and the pre-sync-sets parents to
    /// retire.
    fn after_prune(
        &self,
        desired: &BTreeMap<NamespaceKey, BTreeSet<String>>,
        failed: &BTreeSet<NamespaceKey>,
    ) -> (Vec<(NamespaceKey, BTreeSet<String>)>, Vec<Parent>) {
        let mut writes = Vec::new();
        let mut retired = Vec::new();
        for (key, entry) in &self.entries {
            let Some(members) = entry.members.as_ref().filter(|m| m.error.is_none()) else {
                continue;
            };
            let mut kinds = desired.get(key).cloned().unwrap_or_default();
            kinds.extend(members.remaining.iter().cloned());
            let changes = match &entry.live {
                Some(live) => live.differs(&kinds),
                None => !kinds.is_empty(),
            };
            if changes {
                writes.push((key.clone(), kinds));
            }
            if let Some((legacy, _)) = &entry.legacy
                && members.legacy_remaining == 0
                && !failed.contains(key)
            {
                retired.push(legacy.clone());
            }
        }
        (writes, retired)
    }
}

/// Every member of one parent: a LIST per group-kind, selected by the part-of label.
async fn list_members(
    cluster: &Cluster,
    key: &NamespaceKey,
    kinds: &BTreeSet<String>,
    ours: &[String],
) -> Result<Vec<(KindInfo, Value)>, String> {
    let selector = match ours {
        [one] => format!("{PART_OF_LABEL}={one}"),
        many => format!("{PART_OF_LABEL} in ({})", many.join(",")),
    };
    let mut out = Vec::new();
    for gk in kinds {
        let (group, kind) = split_group_kind(gk);
        let catalog = cluster.catalog();
        let Some(info) = catalog.lookup_group_kind(&group, &kind) else {
            if let Some(reason) = catalog.unavailable_reason_for_group(&group) {
                return Err(format!("cannot list {gk} members: {reason}"));
            }
            tracing::warn!(group_kind = %gk, "inventory lists a kind the server does not serve; skipped");
            continue;
        };
        let listed = cluster
            .list(&info, key.as_deref(), &selector)
            .await
            .map_err(|e| format!("cannot list {gk} members: {e}"))?;
        out.extend(listed.into_iter().map(|live| (info.clone(), live)));
    }
    Ok(out)
}

fn prune_plan(
    id: ObjectId,
    kind: KindInfo,
    decision: PruneDecision,
    live: &Value,
    revision: Option<&str>,
) -> PrunePlan {
    let mut before = normalize::normalize(live);
    mask::mask_object(&id, &mut before);
    let diff = diff::unified(&id, Some(&before), None, revision);
    PrunePlan {
        id,
        kind,
        decision,
        diff,
    }
}

fn live_id(info: &KindInfo, live: &Value) -> ObjectId {
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

/// `a, b, c and 7 more`.
fn name_some(ids: &[&ObjectId]) -> String {
    let named: Vec<String> = ids
        .iter()
        .take(NAMED_IN_REFUSAL)
        .map(ToString::to_string)
        .collect();
    match ids.len().saturating_sub(NAMED_IN_REFUSAL) {
        0 => named.join(", "),
        more => format!("{} and {more} more", named.join(", ")),
    }
}
