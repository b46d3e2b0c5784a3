//! The prune half of the inventory's lifecycle: with each parent's members listed (see
//! `listing`), guard, hand out what Git dropped, and record what remains once the sync says
//! what it deleted. The inventory decides and deletes nothing itself ([`crate::plan::prune`]
//! decides, the sync deletes).

use std::collections::{BTreeSet, HashSet};

use super::Inventory;
use super::claim::{Knob, Knobs};
use super::parent::group_kind;
use super::rules::Budget;
use crate::cluster::Propagation;
use crate::error::{Error, Result};
use crate::plan::prune::Hold;
use crate::plan::{NamespaceKey, PrunePlan};
use crate::render::ObjectId;

/// How many members a refusal names before "and N more".
const NAMED_IN_REFUSAL: usize = 20;

/// What one parent's member listing found.
#[derive(Debug, Default)]
pub(super) struct Members {
    /// How many members are in scope, desired or not (the prune budget's denominator): a
    /// count, not their ids, which would cost a few hundred bytes per object.
    pub in_scope: usize,
    pub candidates: Vec<Candidate>,
    /// Candidates handed out, until [`Inventory::settle`] says which are gone: (id, legacy).
    pub pending: Vec<(ObjectId, bool)>,
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

/// One key's members that Git dropped, as a prune (or a report of orphans) gets them.
#[derive(Debug)]
pub struct Candidates {
    pub key: NamespaceKey,
    /// Why every member here stays, whatever its decision.
    pub hold: Option<Hold>,
    pub plans: Vec<PrunePlan>,
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
            .any(|c| c.plan.deletes())
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
        let members: usize = self.listed().map(|m| m.in_scope).sum();
        let set = &self.set.name;
        let prunes: Vec<&ObjectId> = self
            .listed()
            .flat_map(|m| &m.candidates)
            .filter(|c| c.plan.deletes())
            .map(|c| &c.plan.id)
            .collect();
        if desired_in_scope == 0 && members > 0 {
            if settings.allow_empty {
                return Ok(());
            }
            return Err(Error::Refused(format!(
                "the source holds no objects in scope but sync set \"{set}\" holds {} there, and would prune {}:\n{}\nrefusing to prune everything ({} empties the set on purpose)",
                members,
                prunes.len(),
                name_some(&prunes),
                knobs.name(Knob::AllowEmpty),
            )));
        }
        if !settings.budget.allows(prunes.len(), members) {
            return Err(Error::Refused(format!(
                "sync set \"{set}\" would prune {} of its {} objects in scope, over the budget {} {}:\n{}\nraise {} if that is intended",
                prunes.len(),
                members,
                knobs.name(Knob::MaxPrune),
                settings.budget,
                name_some(&prunes),
                knobs.name(Knob::MaxPrune),
            )));
        }
        Ok(())
    }

    /// Hands out the members Git dropped, per key, with why a key keeps them all: its members
    /// could not all be listed, or it is in `failed` (an apply failed there). Until
    /// [`Inventory::settle`], every one of them counts as staying.
    pub fn take_candidates(&mut self, failed: &BTreeSet<NamespaceKey>) -> Vec<Candidates> {
        let mut out = Vec::new();
        for (key, entry) in self.entries.iter_mut() {
            let Some(members) = entry.members.as_mut() else {
                continue;
            };
            let hold = match &members.error {
                Some(why) => Some(Hold::Unlisted(why.clone())),
                None => failed.contains(key).then_some(Hold::NamespaceFailed),
            };
            let mut plans = Vec::new();
            for Candidate { plan, legacy } in std::mem::take(&mut members.candidates) {
                members.pending.push((plan.id.clone(), legacy));
                plans.push(plan);
            }
            out.push(Candidates {
                key: key.clone(),
                hold,
                plans,
            });
        }
        out
    }

    /// Records what became of the candidates handed out: those in `gone` were deleted (their
    /// ledger records go too); every other one stays, and so does its kind.
    pub fn settle(&mut self, gone: &[ObjectId]) {
        let gone: HashSet<_> = gone.iter().map(ObjectId::key).collect();
        for entry in self.entries.values_mut() {
            let Some(members) = entry.members.as_mut() else {
                continue;
            };
            for (id, legacy) in std::mem::take(&mut members.pending) {
                if gone.contains(&id.key()) {
                    entry.ledger.remove(&id);
                } else {
                    members.remaining.insert(group_kind(&id.group, &id.kind));
                    members.legacy_remaining += usize::from(legacy);
                }
            }
        }
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
