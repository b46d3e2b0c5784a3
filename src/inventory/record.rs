//! Writing the set's parents: before each apply (every kind about to be applied, so an
//! interrupted sync leaves each member findable), and after the sync (what each parent holds
//! now, and the ledger of what was applied or verified). A parent is written only when that
//! changes it; one that lists nothing is deleted.

use std::collections::{BTreeMap, BTreeSet};

use futures::{StreamExt, stream};

use super::parent::{LiveParent, Parent};
use super::{Entry, Inventory, WRITE_CONCURRENCY};
use crate::cluster::Writer;
use crate::plan::NamespaceKey;
use crate::plan::ledger::Record;
use crate::render::KindInfo;
use crate::render::ObjectId;

impl Inventory {
    /// Whether writing the parents that `which` selects, listing what they record plus
    /// `desired`, would change any of them.
    pub fn needs_record(
        &self,
        desired: &BTreeMap<NamespaceKey, BTreeSet<String>>,
        which: impl Fn(&NamespaceKey) -> bool,
    ) -> bool {
        self.pending_records(desired, &which).next().is_some()
    }

    fn pending_records<'a>(
        &'a self,
        desired: &'a BTreeMap<NamespaceKey, BTreeSet<String>>,
        which: &'a dyn Fn(&NamespaceKey) -> bool,
    ) -> impl Iterator<Item = (NamespaceKey, BTreeSet<String>)> + 'a {
        let keys: BTreeSet<&NamespaceKey> = self.entries.keys().chain(desired.keys()).collect();
        keys.into_iter().filter(|k| which(k)).filter_map(|key| {
            let mut kinds = self
                .entries
                .get(key)
                .map(Entry::recorded)
                .unwrap_or_default();
            kinds.extend(desired.get(key).into_iter().flatten().cloned());
            self.changes(key, &kinds).then(|| (key.clone(), kinds))
        })
    }

    /// Before applying: the parents `which` selects list what they recorded plus what the sync
    /// is about to apply. Returns the keys whose parent could not be written, with the reason:
    /// nothing may be applied there.
    pub async fn record(
        &mut self,
        writer: &Writer<'_>,
        desired: &BTreeMap<NamespaceKey, BTreeSet<String>>,
        which: impl Fn(&NamespaceKey) -> bool,
    ) -> BTreeMap<NamespaceKey, String> {
        let writes: Vec<_> = self.pending_records(desired, &which).collect();
        self.write(writer, writes).await
    }

    /// Whether writing `key`'s parent with `kinds` (and its ledger) would change it.
    fn changes(&self, key: &NamespaceKey, kinds: &BTreeSet<String>) -> bool {
        let entry = self.entries.get(key);
        let ledger = entry.map(|e| e.ledger.clone()).unwrap_or_default();
        match entry.and_then(|e| e.live.as_ref()) {
            Some(live) => live.differs(kinds, &ledger, &self.provenance),
            None => !kinds.is_empty(),
        }
    }

    /// Writes each (key, kinds): a parent listing them, or no parent when they are empty.
    async fn write(
        &mut self,
        writer: &Writer<'_>,
        writes: Vec<(NamespaceKey, BTreeSet<String>)>,
    ) -> BTreeMap<NamespaceKey, String> {
        let mut failed = BTreeMap::new();
        let ns = &self.set.inventory_namespace;
        if writes
            .iter()
            .any(|(k, kinds)| k.is_none() && !kinds.is_empty())
            && let Err(e) = writer.ensure_namespace(ns).await
        {
            failed.insert(
                None,
                format!("cannot create the inventory namespace {ns}: {e}"),
            );
        }
        let jobs = writes
            .into_iter()
            .filter(|(k, _)| !failed.contains_key(k))
            .map(|(key, kinds)| {
                let parent = self.set.parent(&key);
                let ledger = self
                    .entries
                    .get(&key)
                    .map(|e| e.ledger.clone())
                    .unwrap_or_default();
                let manifest = parent.manifest(&self.set.name, &kinds, &ledger, &self.provenance);
                async move {
                    let result = if kinds.is_empty() {
                        let secret = KindInfo::secret();
                        let ns = Some(parent.namespace.as_str());
                        writer
                            .delete(&secret, ns, &parent.name, Default::default(), None)
                            .await
                    } else {
                        writer.apply_own(&KindInfo::secret(), &manifest).await
                    };
                    let result = result.map_err(|e| {
                        format!("cannot write the inventory {}: {e}", parent.describe())
                    });
                    (key, kinds, ledger, result)
                }
            });
        let results: Vec<_> = stream::iter(jobs)
            .buffer_unordered(WRITE_CONCURRENCY)
            .collect()
            .await;
        let provenance = self.provenance.clone();
        for (key, kinds, ledger, result) in results {
            match result {
                Ok(()) => {
                    let entry = self.entry(&key);
                    entry.live = (!kinds.is_empty()).then_some(LiveParent {
                        group_kinds: kinds,
                        ledger,
                        provenance: provenance.clone(),
                        current: true,
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "inventory not written");
                    failed.insert(key, e);
                }
            }
        }
        failed
    }

    /// Takes the records of what a sync applied or verified into the ledgers (what it pruned
    /// left them in [`Inventory::settle`]).
    pub fn note(&mut self, records: &[(ObjectId, Record)]) {
        for (id, record) in records {
            self.entry(&id.namespace).ledger.insert(id, record.clone());
        }
    }

    /// After the sync: each parent holds its ledger as updated by [`Inventory::note`] and
    /// [`Inventory::settle`]. With
    /// `--prune` it also lists what it holds now (the desired kinds and those of members that
    /// stay), or is deleted when that is nothing, and a pre-sync-sets parent is deleted once no
    /// member carries its label; without, it never lists less than before. A parent whose
    /// members could not be listed keeps its kinds. Returns the keys whose parent could not be
    /// written.
    pub async fn record_after(
        &mut self,
        writer: &Writer<'_>,
        desired: &BTreeMap<NamespaceKey, BTreeSet<String>>,
        failed: &BTreeSet<NamespaceKey>,
        pruning: bool,
    ) -> BTreeMap<NamespaceKey, String> {
        let (writes, retired) = self.after_sync(desired, failed, pruning);
        let mut failures = self.write(writer, writes).await;
        for legacy in retired {
            let ns = Some(legacy.namespace.as_str());
            match writer
                .delete(
                    &KindInfo::secret(),
                    ns,
                    &legacy.name,
                    Default::default(),
                    None,
                )
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

    /// Whether [`Inventory::record_after`] would write anything.
    pub fn needs_record_after(
        &self,
        desired: &BTreeMap<NamespaceKey, BTreeSet<String>>,
        failed: &BTreeSet<NamespaceKey>,
        pruning: bool,
    ) -> bool {
        let (writes, retired) = self.after_sync(desired, failed, pruning);
        !writes.is_empty() || !retired.is_empty()
    }

    /// The parents to rewrite after the sync (key, kinds), and the pre-sync-sets parents to
    /// retire.
    fn after_sync(
        &self,
        desired: &BTreeMap<NamespaceKey, BTreeSet<String>>,
        failed: &BTreeSet<NamespaceKey>,
        pruning: bool,
    ) -> (Vec<(NamespaceKey, BTreeSet<String>)>, Vec<Parent>) {
        let mut writes = Vec::new();
        let mut retired = Vec::new();
        for (key, entry) in &self.entries {
            let listed = entry.members.as_ref().filter(|m| m.error.is_none());
            let mut kinds = desired.get(key).cloned().unwrap_or_default();
            match listed {
                Some(members) if pruning => kinds.extend(members.remaining.iter().cloned()),
                _ => kinds.extend(entry.recorded()),
            }
            if self.changes(key, &kinds) {
                writes.push((key.clone(), kinds));
            }
            if let (Some((legacy, _)), Some(members)) = (&entry.legacy, listed)
                && pruning
                && members.legacy_remaining == 0
                && !failed.contains(key)
            {
                retired.push(legacy.clone());
            }
        }
        (writes, retired)
    }
}
