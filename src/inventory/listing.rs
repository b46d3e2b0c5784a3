//! Reading what the set holds: one LIST per kind across the set's namespaces (or per
//! (namespace, kind) where that is not allowed), selected by the set's `part-of` labels, serves
//! both the plan (the live state of each desired object, or the proof that it is unchanged) and
//! the prune (the members Git dropped). Namespaces that do not exist are not read at all.

use std::collections::HashMap;
use std::sync::Arc;

use super::Inventory;
use super::lister::{KeyListing, Lister};
use crate::cluster::Cluster;
use crate::plan::live::{Live, LiveIndex};
use crate::plan::prune::PruneRules;
use crate::render::DesiredObject;

/// How the listing reads what it finds.
#[derive(Debug, Clone, Copy)]
pub struct ListOptions<'a> {
    pub field_manager: &'a str,
    /// How to decide what becomes of members Git dropped (with or without `--prune`: without,
    /// they are reported as orphaned).
    pub prune: PruneRules<'a>,
    /// `--verify`: prove nothing unchanged from the ledger; every object takes the dry-run.
    pub verify: bool,
    pub revision: Option<&'a str>,
    pub concurrency: usize,
}

impl Inventory {
    /// Lists the set's members in scope (desired objects, and every kind the parents record),
    /// proving what it can unchanged from the ledger.
    pub async fn list(
        &mut self,
        cluster: &Cluster,
        desired: &[Arc<DesiredObject>],
        options: ListOptions<'_>,
    ) -> LiveIndex {
        let wanted_kinds = super::desired_kinds(desired);
        // Each desired object's hash, as a listed member is matched against it.
        let wanted: HashMap<_, String> = desired
            .iter()
            .map(|o| (o.id.key(), o.manifest.hash()))
            .collect();
        // Namespaces that do not exist hold nothing (a namespace-scoped identity may not read
        // Namespaces: then every namespace is read).
        let namespaces: Vec<&str> = self.entries.keys().flatten().map(String::as_str).collect();
        let absent = match namespaces.is_empty() {
            true => Default::default(),
            false => cluster
                .absent_namespaces(&namespaces)
                .await
                .unwrap_or_default(),
        };
        let lister = Lister {
            cluster,
            wanted: &wanted,
            scope: &self.scope,
            options,
        };
        let keys: Vec<KeyListing> = self
            .entries
            .iter()
            .filter(|(key, _)| !key.as_ref().is_some_and(|ns| absent.contains(ns)))
            .map(|(key, entry)| {
                // The kinds only the parent records: what Git dropped is found there.
                let mut kinds = wanted_kinds.get(key).cloned().unwrap_or_default();
                kinds.extend(entry.recorded());
                KeyListing {
                    key,
                    entry,
                    kinds,
                    ids: self.set.ids(key),
                }
            })
            .collect();
        let results = lister.run(&keys).await;
        let mut index = LiveIndex::default();
        index.reserve(results.values().map(|f| f.index.len()).sum());
        for (key, found) in results {
            index.extend(found.index);
            if let Some(entry) = self.entries.get_mut(&key) {
                entry.members = Some(found.members);
            }
        }
        self.mark_done(desired, &mut index);
        tracing::debug!(
            listed = index.len(),
            proven = index.proven(),
            "listed the set's members"
        );
        index
    }
}

impl Inventory {
    /// Run-once objects (Jobs) that were not listed, and that the set applied with this very
    /// manifest (its ledger says so): they ran and were deleted since (a TTL, a cleanup), and are
    /// not run again until their manifest changes.
    fn mark_done(&self, desired: &[Arc<DesiredObject>], index: &mut LiveIndex) {
        let once = |o: &&Arc<DesiredObject>| o.runs_once() || o.lifecycle().hook.is_some();
        for o in desired.iter().filter(once) {
            if index.get(&o.id).is_some() {
                continue;
            }
            let applied = self
                .entries
                .get(&o.id.namespace)
                .and_then(|e| e.ledger.get(&o.id))
                .is_some_and(|r| r.desired == o.manifest.hash());
            if applied {
                index.insert(&o.id, Live::Done);
            }
        }
    }
}
