//! Reading what the set holds: one LIST per (namespace, kind), selected by the set's `part-of`
//! label, serves both the plan (the live state of each desired object, or the proof that it is
//! unchanged) and the prune (the members Git dropped). Namespaces that do not exist are not
//! read at all.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use futures::{StreamExt, stream};
use serde_json::Value;

use super::members::{Candidate, Members};
use super::parent::{PART_OF_LABEL, group_kind, split_group_kind};
use super::{Entry, Inventory, Ledger};
use crate::cluster::Cluster;
use crate::plan::NamespaceKey;
use crate::plan::live::{Live, LiveIndex};
use crate::plan::prune::{PrunePlan, PruneRules, decide};
use crate::render::{DesiredObject, KindInfo, ObjectId};

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
        let lister = &lister;
        // Collected first: a lazy iterator of borrowing futures is not provably `Send`.
        let jobs: Vec<_> = self
            .entries
            .iter()
            .filter_map(|(key, entry)| {
                if let Some(ns) = key
                    && absent.contains(ns)
                {
                    return None;
                }
                // The kinds only the parent records: what Git dropped is found there.
                let mut kinds = wanted_kinds.get(key).cloned().unwrap_or_default();
                kinds.extend(entry.recorded());
                let ids = self.set.ids(key);
                Some(async move { (key.clone(), lister.key(key, entry, &kinds, &ids).await) })
            })
            .collect();
        let results: Vec<_> = stream::iter(jobs)
            .buffer_unordered(options.concurrency.max(1))
            .collect()
            .await;
        let mut index = LiveIndex::default();
        for (key, (members, found)) in results {
            index.extend(found);
            if let Some(entry) = self.entries.get_mut(&key) {
                entry.members = Some(members);
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

/// What every parent's listing shares.
struct Lister<'a> {
    cluster: &'a Cluster,
    /// Each desired object's manifest hash, by identity.
    wanted: &'a HashMap<(&'a str, &'a str, Option<&'a str>, &'a str), String>,
    scope: &'a super::ScopeSet,
    options: ListOptions<'a>,
}

impl Lister<'_> {
    /// Lists one parent's members of `kinds` (labelled with one of `ids`): the live index of
    /// the desired ones, and what Git dropped.
    async fn key(
        &self,
        key: &NamespaceKey,
        entry: &Entry,
        kinds: &BTreeSet<String>,
        ids: &[String],
    ) -> (Members, LiveIndex) {
        let (cluster, wanted, scope, options) =
            (self.cluster, self.wanted, self.scope, self.options);
        let mut members = Members::default();
        let mut index = LiveIndex::default();
        let legacy = entry.legacy.as_ref().map(|(p, _)| p.id());
        let selector = match ids {
            [one] => format!("{PART_OF_LABEL}={one}"),
            many => format!("{PART_OF_LABEL} in ({})", many.join(",")),
        };
        for gk in kinds {
            let (group, kind) = split_group_kind(gk);
            let catalog = cluster.catalog();
            let Some(info) = catalog.lookup_group_kind(&group, &kind) else {
                if let Some(reason) = catalog.unavailable_reason_for_group(&group) {
                    members.error = Some(format!("cannot list {gk} members: {reason}"));
                    return (members, index);
                }
                // A kind this sync's own CRD brings (not served yet), or one the server dropped.
                continue;
            };
            let mut each = |live: Value| {
                let id = live_id(&info, &live);
                let is_legacy = legacy
                    .as_deref()
                    .is_some_and(|l| live["metadata"]["labels"][PART_OF_LABEL] == l);
                if !scope.contains(&id) {
                    // Not this sync's to touch: it stays, and so does its kind.
                    members.remaining.insert(group_kind(&id.group, &id.kind));
                    members.legacy_remaining += usize::from(is_legacy);
                    return;
                }
                members.in_scope.push(id.clone());
                if let Some(w) = wanted.get(&id.key()) {
                    index.insert(&id, found(&entry.ledger, w, &id, live, options));
                    return;
                }
                let decision = decide(&id, &live, ids, options.prune);
                let plan = PrunePlan::new(id, info.clone(), decision, &live, options.revision);
                members.candidates.push(Candidate {
                    plan,
                    legacy: is_legacy,
                });
            };
            let listed = cluster
                .list_each(&info, key.as_deref(), &selector, &mut each)
                .await;
            if let Err(e) = listed {
                members.error = Some(format!("cannot list {gk} members: {e}"));
                return (members, index);
            }
        }
        (members, index)
    }
}

/// A listed desired object: proven unchanged by its ledger record, or kept to dry-run against.
fn found(
    ledger: &Ledger,
    hash: &str,
    id: &ObjectId,
    live: Value,
    options: ListOptions<'_>,
) -> Live {
    let proven = !options.verify
        && ledger
            .get(id)
            .is_some_and(|r| r.proves_unchanged(hash, &live, options.field_manager));
    if proven {
        Live::Proven
    } else {
        Live::Object(live)
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
