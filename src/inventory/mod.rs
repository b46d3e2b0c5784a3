//! A sync set's inventory: which objects the set applied, so it can prune what Git dropped and
//! nothing else. ApplySets (KEP-3659): one parent Secret per namespace the set uses, one for its
//! cluster-scoped objects, the `part-of` label on every member.
//!
//! [`Inventory`] owns the whole lifecycle, in the order a sync calls it:
//! 1. [`Inventory::load`]: read every parent of the set in scope. Any failure other than "not
//!    found" stops the sync before it writes anything: a parent that cannot be read would be
//!    rewritten without the kinds it lists, and their members would leak for good.
//! 2. [`Inventory::list`]: list each parent's members (what the plan reads, and what Git
//!    dropped, decided by [`crate::plan::prune`]); with `--prune`, [`Inventory::guard`] refuses
//!    an emptied source or a prune over budget.
//! 3. [`Inventory::record`] before applying: parents list what they listed plus what the sync is
//!    about to apply, so an interrupted sync leaves every member findable.
//! 4. [`Inventory::take_candidates`] hands what Git dropped to the sync, which deletes it;
//!    [`Inventory::settle`] hears what is gone, and [`Inventory::record_after`] writes what each
//!    parent holds now.
//!
//! Parents are written only when their content changes.

mod claim;
mod ledger;
mod lister;
mod listing;
mod members;
mod name;
mod occupants;
mod parent;
mod record;
mod rules;
mod scope;

pub use claim::{Claim, Knob, Knobs};
pub use listing::{ListOptions, Namespaces, Prefetched};
pub use members::{Candidates, PruneSettings};
pub use name::{DEFAULT_SET, SetName};
pub use parent::{
    GROUP_KINDS_ANNOTATION, ID_LABEL, PART_OF_LABEL, Parent, Provenance, SET_LABEL,
    SOURCE_ANNOTATION, TAKEN_OVER_ANNOTATION, TOOLING_ANNOTATION, group_kind, members_selector,
    parent_group_kinds, split_group_kind,
};
pub use rules::{Budget, Owner, owner};
pub use scope::{Scope, ScopeSet};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;

use crate::cluster::{Cluster, LockOptions, SetLock};
use crate::error::{Error, Result};
use crate::plan::NamespaceKey;
use crate::render::{DesiredObject, KindInfo};
use ledger::Ledger;
use members::Members;
use parent::LiveParent;

/// Parents written or deleted at once.
const WRITE_CONCURRENCY: usize = 8;

/// Who the set is and where its cluster-wide records live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetRef {
    pub name: SetName,
    /// Holds the parent of the set's cluster-scoped objects, and its Lease.
    pub inventory_namespace: String,
}

impl SetRef {
    pub fn parent(&self, key: &NamespaceKey) -> Parent {
        Parent::of(&self.name, key, &self.inventory_namespace)
    }

    /// The ApplySet ids that mean "this set" for objects of `key`: the parent's, and for the set
    /// `default` the one an earlier driftless (before sync sets) gave them.
    pub fn ids(&self, key: &NamespaceKey) -> Vec<String> {
        let mut ids = vec![self.parent(key).id()];
        if self.name.is_default() {
            ids.push(Parent::legacy(key, &self.inventory_namespace).id());
        }
        ids
    }

    /// The set's Lease (`driftless-<set>` in the inventory namespace): one writer at a time.
    pub fn lock(&self, cluster: &Cluster, options: LockOptions) -> SetLock {
        let name = format!("driftless-{}", self.name);
        SetLock::new(cluster, &name, &self.inventory_namespace, options)
    }

    /// Who owns a live object, from this set's point of view.
    pub fn owner_of(&self, key: &NamespaceKey, live: &Value) -> Owner {
        owner(live, &self.ids(key), &self.name)
    }

    /// Labels every desired object as a member of its namespace's parent.
    pub fn label(&self, desired: &mut [DesiredObject]) {
        for o in desired {
            let id = self.parent(&o.id.namespace).id();
            o.manifest
                .edit(|m| parent::label_member(m, &id, &self.name));
        }
    }
}

/// One parent's state: on the cluster, and what this sync learned and did.
#[derive(Debug)]
struct Entry {
    parent: Parent,
    live: Option<LiveParent>,
    /// The pre-sync-sets parent of this key (set `default` only), until it tracks nothing.
    legacy: Option<(Parent, LiveParent)>,
    /// Members, once listed.
    members: Option<Members>,
    /// The members' records to write: the live parent's, updated by this sync.
    ledger: Ledger,
}

impl Entry {
    /// Every group-kind the cluster records for this key.
    fn recorded(&self) -> BTreeSet<String> {
        let mut kinds = BTreeSet::new();
        kinds.extend(self.live.iter().flat_map(|l| l.group_kinds.iter().cloned()));
        kinds.extend(
            self.legacy
                .iter()
                .flat_map(|(_, l)| l.group_kinds.iter().cloned()),
        );
        kinds
    }
}

/// Per namespace whose inventory could not be read: why, and its desired objects.
pub type Unreadable = BTreeMap<String, (String, Vec<Arc<DesiredObject>>)>;

/// A sync set's inventories within one sync's scope.
#[derive(Debug)]
pub struct Inventory {
    set: SetRef,
    scope: ScopeSet,
    entries: BTreeMap<NamespaceKey, Entry>,
    /// Namespaces whose parents could not be read (a tenant's identity refused there): nothing
    /// is applied, listed or pruned in them, and they fail.
    unreadable: BTreeMap<String, String>,
    /// Where the set comes from, as every parent this sync writes records it.
    provenance: Provenance,
}

/// Group-kinds of the desired objects, per inventory key.
pub fn desired_kinds(desired: &[Arc<DesiredObject>]) -> BTreeMap<NamespaceKey, BTreeSet<String>> {
    let mut kinds: BTreeMap<NamespaceKey, BTreeSet<String>> = BTreeMap::new();
    for o in desired {
        kinds
            .entry(o.id.namespace.clone())
            .or_default()
            .insert(group_kind(&o.id.group, &o.id.kind));
    }
    kinds
}

impl Inventory {
    /// Reads every parent of the set in scope (one LIST for the whole cluster, or one per
    /// namespace in scope), plus an entry for each key the desired set uses. Refuses a sync
    /// whose source is not the one the parents record (see [`Claim`]).
    pub async fn load(
        cluster: &Cluster,
        set: &SetRef,
        claim: &Claim,
        scope: &ScopeSet,
        desired: &[Arc<DesiredObject>],
    ) -> Result<Inventory> {
        let (found, unreadable) = read_parents(cluster, set, scope).await?;
        let mut inventory = Inventory {
            set: set.clone(),
            scope: scope.clone(),
            entries: BTreeMap::new(),
            unreadable,
            provenance: Provenance::default(),
        };
        for key in desired.iter().map(|o| o.id.namespace.clone()) {
            if !inventory.is_unreadable(&key) {
                inventory.entry(&key);
            }
        }
        for live in &found {
            let Some(key) = inventory.key_of(live) else {
                continue;
            };
            if !scope.contains_inventory(&key) {
                continue;
            }
            let entry = inventory.entry(&key);
            if entry.parent.is(live) {
                let state = LiveParent::read(live, &set.name);
                entry.ledger = state.ledger.clone();
                entry.live = Some(state);
            } else {
                let legacy = Parent::legacy(&key, &set.inventory_namespace);
                let state = LiveParent::read(live, &set.name);
                entry.legacy = Some((legacy, state));
            }
        }
        let recorded: Vec<(String, Provenance)> = inventory
            .entries
            .values()
            .filter_map(|e| Some((e.parent.describe(), e.live.as_ref()?.provenance.clone())))
            .collect();
        inventory.provenance =
            claim::settle(&set.name, claim, &recorded).map_err(Error::Refused)?;
        Ok(inventory)
    }

    /// The key a listed Secret is a parent of, if it is one of this set's (or, for `default`,
    /// a pre-sync-sets parent).
    fn key_of(&self, live: &Value) -> Option<NamespaceKey> {
        let namespace = live["metadata"]["namespace"].as_str()?;
        let candidates = [None, Some(namespace.to_string())];
        for key in candidates {
            if self.set.parent(&key).is(live) {
                return Some(key);
            }
            if self.set.name.is_default()
                && Parent::legacy(&key, &self.set.inventory_namespace).is(live)
            {
                return Some(key);
            }
        }
        let name = live["metadata"]["name"].as_str().unwrap_or_default();
        if name == self.set.parent(&None).name {
            tracing::warn!(
                namespace,
                "sync set {} has a cluster-scoped inventory in namespace {namespace}, not in --inventory-namespace {}: its members are not pruned",
                self.set.name,
                self.set.inventory_namespace
            );
        }
        None
    }

    fn entry(&mut self, key: &NamespaceKey) -> &mut Entry {
        let set = &self.set;
        self.entries.entry(key.clone()).or_insert_with(|| Entry {
            parent: set.parent(key),
            live: None,
            legacy: None,
            members: None,
            ledger: Ledger::default(),
        })
    }

    pub fn set(&self) -> &SetRef {
        &self.set
    }

    fn is_unreadable(&self, key: &NamespaceKey) -> bool {
        key.as_ref()
            .is_some_and(|ns| self.unreadable.contains_key(ns))
    }

    /// Splits off the desired objects of namespaces whose inventory could not be read, with
    /// why: they are not applied (their members could never be found to prune).
    pub fn unreadable(
        &self,
        desired: Vec<Arc<DesiredObject>>,
    ) -> (Vec<Arc<DesiredObject>>, Unreadable) {
        let mut blocked: Unreadable = self
            .unreadable
            .iter()
            .map(|(ns, why)| (ns.clone(), (why.clone(), Vec::new())))
            .collect();
        let mut ok = Vec::with_capacity(desired.len());
        for o in desired {
            match o.id.namespace.as_ref().and_then(|ns| blocked.get_mut(ns)) {
                Some((_, objects)) => objects.push(o),
                None => ok.push(o),
            }
        }
        (ok, blocked)
    }
}

/// Every parent Secret in scope that might be the set's: one cluster-wide LIST, or one per
/// namespace in scope plus the inventory namespace. A namespace in scope that refuses the LIST
/// is returned as unreadable (with why); the inventory namespace, or the cluster-wide LIST,
/// refusing stops the sync.
async fn read_parents(
    cluster: &Cluster,
    set: &SetRef,
    scope: &ScopeSet,
) -> Result<(Vec<Value>, BTreeMap<String, String>)> {
    let secret = KindInfo::secret();
    let fail = |where_: &str, e: crate::cluster::ApiFailure| Error::Inventory {
        set: set.name.to_string(),
        reason: format!(
            "cannot read its inventories ({where_}): {e}; nothing was written (a sync with --namespace reads only those namespaces)"
        ),
    };
    let Some(namespaces) = scope.namespaces() else {
        let found = cluster
            .list(&secret, None, ID_LABEL)
            .await
            .map_err(|e| fail("all namespaces", e))?;
        return Ok((found, BTreeMap::new()));
    };
    let mut found = cluster
        .list(&secret, Some(&set.inventory_namespace), ID_LABEL)
        .await
        .map_err(|e| fail(&format!("namespace {}", set.inventory_namespace), e))?;
    let mut unreadable = BTreeMap::new();
    for ns in namespaces
        .iter()
        .filter(|ns| **ns != set.inventory_namespace)
    {
        match cluster.list(&secret, Some(ns), ID_LABEL).await {
            Ok(listed) => found.extend(listed),
            // Only a refusal is this namespace's own problem; anything else (a server gone, a
            // timeout) stops the whole sync as before.
            Err(e) if e.code == 403 => {
                tracing::warn!(namespace = %ns, error = %e, "cannot read the sync set's inventory here: the namespace is not synced");
                unreadable.insert(
                    ns.clone(),
                    format!("cannot read the sync set's inventory in namespace {ns}: {e}; nothing applied or pruned there"),
                );
            }
            Err(e) => return Err(fail(&format!("namespace {ns}"), e)),
        }
    }
    Ok((found, unreadable))
}

#[cfg(test)]
mod tests;
