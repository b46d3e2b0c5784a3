//! Reading what the set holds: one LIST per kind across the set's namespaces (or per
//! (namespace, kind) where that is not allowed), selected by the set's `part-of` labels, serves
//! both the plan (the live state of each desired object, or the proof that it is unchanged) and
//! the prune (the members Git dropped). Namespaces that do not exist are not read at all.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use futures::{StreamExt, stream};

use super::Inventory;
use super::SetRef;
use super::lister::{KeyListing, Lister, PageKey, Shape, jobs};
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
    /// Which namespaces exist, if read beside the parents.
    pub namespaces: &'a Namespaces,
    /// First pages of the LISTs, read beside the parents.
    pub prefetched: &'a Prefetched,
}

/// The first page of each LIST the desired objects call for, read beside the parents (the
/// LISTs need the parents' ledgers, but not to be sent): one round trip fewer before a plan.
/// A LIST the parents change (a kind or namespace only they record, an absent namespace) is
/// sent again; a page nothing takes is dropped with the pass.
#[derive(Debug, Default)]
pub struct Prefetched(Mutex<HashMap<PageKey, String>>);

impl Prefetched {
    /// Reads the first pages, up to `concurrency` at a time. A failure is left to the LIST
    /// itself, sent again (but a refused LIST across namespaces is not tried twice).
    pub async fn read(
        cluster: &Cluster,
        set: &SetRef,
        desired: &[Arc<DesiredObject>],
        concurrency: usize,
    ) -> Prefetched {
        let kinds = super::desired_kinds(desired);
        let shapes: Vec<Shape> = kinds
            .iter()
            .map(|(key, kinds)| Shape {
                key,
                kinds: kinds.clone(),
                ids: set.ids(key),
            })
            .collect();
        let lists: Vec<_> = {
            let catalog = cluster.catalog();
            let shapes: Vec<&Shape> = shapes.iter().collect();
            jobs(cluster, &shapes)
                .iter()
                .flat_map(|job| job.lists(&catalog))
                .collect()
        };
        let pages: Vec<(PageKey, String)> = stream::iter(lists)
            .map(|(info, key)| async move {
                match cluster.first_page(&info, key.1.as_deref(), &key.2).await {
                    Ok(page) => Some((key, page)),
                    // As the listing would: a tenant lists each of its namespaces instead.
                    Err(e) if e.code == 403 && key.1.is_none() && info.namespaced => {
                        cluster.refuse_across(&info);
                        None
                    }
                    Err(_) => None,
                }
            })
            .buffer_unordered(concurrency.max(1))
            .filter_map(|page| async move { page })
            .collect()
            .await;
        Prefetched(Mutex::new(pages.into_iter().collect()))
    }

    /// The first page of this LIST, if it was read.
    pub(super) fn take(&self, key: &PageKey) -> Option<String> {
        self.0.lock().ok()?.remove(key)
    }
}

/// Which namespaces exist, read beside the parents (one round trip fewer before the LISTs).
#[derive(Debug, Default)]
pub enum Namespaces {
    /// Not read: the listing reads them if it needs to.
    #[default]
    Unread,
    Read(BTreeSet<String>),
    /// This identity may not read Namespaces: every namespace is listed.
    Unreadable,
}

impl Namespaces {
    /// Reads which namespaces exist, unless this process has seen each desired one exist.
    pub async fn read(cluster: &Cluster, desired: &[Arc<DesiredObject>]) -> Namespaces {
        let names: BTreeSet<&str> = desired
            .iter()
            .filter_map(|o| o.id.namespace.as_deref())
            .collect();
        let names: Vec<&str> = names.into_iter().collect();
        if names.is_empty() || cluster.has_seen_namespaces(&names) {
            return Namespaces::Unread;
        }
        match cluster.read_namespaces().await {
            Ok(existing) => Namespaces::Read(existing),
            Err(_) => Namespaces::Unreadable,
        }
    }

    /// Which of `names` do not exist.
    async fn absent(&self, cluster: &Cluster, names: &[&str]) -> BTreeSet<String> {
        match self {
            _ if names.is_empty() => BTreeSet::new(),
            Namespaces::Read(existing) => names
                .iter()
                .filter(|n| !existing.contains(**n))
                .map(|n| n.to_string())
                .collect(),
            Namespaces::Unreadable => BTreeSet::new(),
            Namespaces::Unread => cluster.absent_namespaces(names).await.unwrap_or_default(),
        }
    }
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
        let absent = options.namespaces.absent(cluster, &namespaces).await;
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
                    shape: Shape {
                        key,
                        kinds,
                        ids: self.set.ids(key),
                    },
                    entry,
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
