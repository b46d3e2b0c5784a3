//! The prune half of the inventory's lifecycle: with each parent's members listed (see
//! `listing`), guard, delete what Git dropped, and record what remains.

use std::collections::BTreeSet;

use super::Inventory;
use super::claim::{Knob, Knobs};
use super::parent::group_kind;
use super::rules::{Budget, PruneDecision};
use crate::apply::prune::{Deletion, delete_all};
use crate::cluster::{Cluster, Propagation};
use crate::error::{Error, Result};
use crate::halt::Halt;
use crate::plan::{NamespaceKey, PrunePlan, Reason, order};
use crate::render::ObjectId;
use crate::report::{ObjectReport, Outcome};

/// How many members a refusal names before "and N more".
const NAMED_IN_REFUSAL: usize = 20;

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
#[derive(Debug, Clone)]
pub struct PruneSettings {
    pub budget: Budget,
    pub propagation: Propagation,
    pub namespaces: bool,
    pub crds: bool,
    pub allow_empty: bool,
    /// Namespaces where nothing is pruned.
    pub unpruned_namespaces: std::collections::BTreeSet<String>,
}

impl Default for PruneSettings {
    fn default() -> Self {
        PruneSettings {
            budget: Budget::Percent(25),
            propagation: Propagation::Background,
            namespaces: false,
            crds: false,
            allow_empty: false,
            unpruned_namespaces: Default::default(),
        }
    }
}

impl Inventory {
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

    /// Without `--prune`: the members Git dropped, as orphaned (or skipped, when a prune would
    /// keep them too). A key whose members could not all be listed reports what it found.
    pub fn orphans(&mut self) -> Vec<(NamespaceKey, Vec<ObjectReport>)> {
        let mut lines = Vec::new();
        for (key, entry) in self.entries.iter_mut() {
            let Some(members) = entry.members.as_mut() else {
                continue;
            };
            if let Some(why) = &members.error {
                tracing::warn!(namespace = ?key, error = %why, "cannot tell what Git dropped here");
            }
            let candidates = std::mem::take(&mut members.candidates);
            let orphans = candidates.into_iter().map(|c| ObjectReport::orphan(c.plan));
            lines.push((key.clone(), orphans.collect()));
        }
        lines
    }

    /// Refuses an emptied source (unless `allowEmpty`: then the set may empty, whatever the
    /// budget) and a prune over budget, before anything is written, naming what would go.
    /// Counts only this set's members in scope.
    pub fn guard(
        &self,
        desired_in_scope: usize,
        settings: &PruneSettings,
        knobs: Knobs,
    ) -> Result<()> {
        let members: Vec<&ObjectId> = self.listed().flat_map(|m| &m.in_scope).collect();
        let set = &self.set.name;
        let prunes: Vec<&ObjectId> = self
            .listed()
            .flat_map(|m| &m.candidates)
            .filter(|c| c.plan.decision == PruneDecision::Prune)
            .map(|c| &c.plan.id)
            .collect();
        if desired_in_scope == 0 && !members.is_empty() {
            if settings.allow_empty {
                return Ok(());
            }
            return Err(Error::Refused(format!(
                "the source holds no objects in scope but sync set \"{set}\" holds {} there, and would prune {}:\n{}\nrefusing to prune everything ({} empties the set on purpose)",
                members.len(),
                prunes.len(),
                name_some(&prunes),
                knobs.name(Knob::AllowEmpty),
            )));
        }
        if !settings.budget.allows(prunes.len(), members.len()) {
            return Err(Error::Refused(format!(
                "sync set \"{set}\" would prune {} of its {} objects in scope, over the budget {} {}:\n{}\nraise {} if that is intended",
                prunes.len(),
                members.len(),
                knobs.name(Knob::MaxPrune),
                settings.budget,
                name_some(&prunes),
                knobs.name(Knob::MaxPrune),
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
                        line.reason = Some(Reason::NamespaceFailed);
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
                Deletion::NotAttempted(reason, why) => line = line.not_attempted(reason, why),
                Deletion::Failed(e) => {
                    line.outcome = Outcome::Failed;
                    line.reason = Some(Reason::of_failure(&e));
                    line.message = Some(format!(
                        "prune failed, kept in the inventory for the next sync: {e}"
                    ));
                }
            }
            lines[idx].1.push(line);
        }
        lines
    }
}

/// One line per object, `  - v1 ConfigMap ns/a`, then `  ... and 7 more`.
fn name_some(ids: &[&ObjectId]) -> String {
    let mut lines: Vec<String> = ids
        .iter()
        .take(NAMED_IN_REFUSAL)
        .map(|id| format!("  - {id}"))
        .collect();
    if let more @ 1.. = ids.len().saturating_sub(NAMED_IN_REFUSAL) {
        lines.push(format!("  ... and {more} more"));
    }
    lines.join("\n")
}
