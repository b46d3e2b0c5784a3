//! The LISTs behind [`super::Inventory::list`]: a kind that several namespaces of the set use
//! is read once across namespaces, selected by all their parents' ids, and each object is
//! handed to its namespace's parent; where the identity may not list across namespaces (a
//! tenant), or the LIST fails, each namespace is read on its own, as before. Either way a
//! parent sees exactly the objects a LIST in its namespace by its own ids would show it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Deref;

use futures::{StreamExt, stream};
use serde_json::Value;

use super::members::{Candidate, Members};
use super::parent::{PART_OF_LABEL, group_kind, members_selector, split_group_kind};
use super::{Entry, Ledger};
use crate::cluster::Cluster;
use crate::plan::NamespaceKey;
use crate::plan::live::{Live, LiveIndex};
use crate::plan::prune::{PrunePlan, decide};
use crate::render::{KindInfo, ObjectId};

use super::listing::ListOptions;

/// Parent ids one LIST selects at most: the selector stays a few KiB.
const IDS_PER_LIST: usize = 64;

/// What decides the LISTs of one parent: its key, the kinds it needs and the ids that mean
/// "this set" there (known before the parent is read: see [`super::listing::Prefetched`]).
pub(super) struct Shape<'a> {
    pub key: &'a NamespaceKey,
    pub kinds: BTreeSet<String>,
    pub ids: Vec<String>,
}

/// One parent to list.
pub(super) struct KeyListing<'a> {
    pub shape: Shape<'a>,
    pub entry: &'a Entry,
}

impl<'a> std::ops::Deref for KeyListing<'a> {
    type Target = Shape<'a>;

    fn deref(&self) -> &Shape<'a> {
        &self.shape
    }
}

/// What LISTs found for one parent.
#[derive(Debug, Default)]
pub(super) struct Found {
    pub members: Members,
    pub index: LiveIndex,
}

impl Found {
    fn merge(&mut self, other: Found) {
        let (m, o) = (&mut self.members, other.members);
        m.in_scope += o.in_scope;
        m.candidates.extend(o.candidates);
        m.remaining.extend(o.remaining);
        m.legacy_remaining += o.legacy_remaining;
        if m.error.is_none() {
            m.error = o.error;
        }
        self.index.extend(other.index);
    }
}

/// What every LIST shares.
pub(super) struct Lister<'a> {
    pub cluster: &'a Cluster,
    /// Each desired object's manifest hash, by identity.
    pub wanted: &'a HashMap<(&'a str, &'a str, Option<&'a str>, &'a str), String>,
    pub scope: &'a super::ScopeSet,
    pub options: ListOptions<'a>,
}

/// One unit of listing work.
pub(super) enum Job<'k, K> {
    /// Some kinds of one parent, in its namespace.
    Key(&'k K, BTreeSet<String>),
    /// One kind across the namespaces of these parents.
    Across(KindInfo, Vec<&'k K>),
}

/// One LIST of a job: its group-kind, namespace (`None`: across namespaces, or cluster-wide)
/// and selector.
pub(super) type PageKey = (String, Option<String>, String);

impl<'a, K: Deref<Target = Shape<'a>>> Job<'_, K> {
    /// The LISTs the job starts with, as [`PageKey`]s with their kinds (kinds the server does
    /// not serve are left out).
    pub fn lists(&self, catalog: &crate::cluster::Catalog) -> Vec<(KindInfo, PageKey)> {
        match self {
            Job::Key(k, kinds) => {
                let selector = members_selector(&k.ids);
                kinds
                    .iter()
                    .filter_map(|gk| {
                        let (group, kind) = split_group_kind(gk);
                        let info = catalog.lookup_group_kind(&group, &kind)?;
                        Some((info, (gk.clone(), k.key.clone(), selector.clone())))
                    })
                    .collect()
            }
            Job::Across(info, keys) => {
                let gk = group_kind(&info.group, &info.kind);
                let selector = members_selector(keys.iter().flat_map(|k| k.ids.iter()));
                vec![(info.clone(), (gk, None, selector))]
            }
        }
    }
}

/// A namespaced kind that two or more parents use is one job across namespaces (unless this
/// identity was refused that before); everything else is listed per parent.
pub(super) fn jobs<'k, 'a, K: Deref<Target = Shape<'a>>>(
    cluster: &Cluster,
    keys: &'k [K],
) -> Vec<Job<'k, K>> {
    let catalog = cluster.catalog();
    let mut users: BTreeMap<&str, Vec<&K>> = BTreeMap::new();
    for k in keys.iter().filter(|k| k.key.is_some()) {
        for gk in &k.kinds {
            users.entry(gk.as_str()).or_default().push(k);
        }
    }
    let mut across = BTreeSet::new();
    let mut jobs = Vec::new();
    for (gk, users) in users {
        let (group, kind) = split_group_kind(gk);
        let Some(info) = catalog.lookup_group_kind(&group, &kind) else {
            continue;
        };
        if users.len() < 2 || !info.namespaced || cluster.refused_across(&info) {
            continue;
        }
        across.insert(gk.to_string());
        for chunk in chunks(users, |k| k.ids.len(), IDS_PER_LIST) {
            jobs.push(Job::Across(info.clone(), chunk));
        }
    }
    for k in keys {
        let own: BTreeSet<String> = k.kinds.difference(&across).cloned().collect();
        if !own.is_empty() {
            jobs.push(Job::Key(k, own));
        }
    }
    jobs
}

impl Lister<'_> {
    /// Lists every parent's members, up to `concurrency` LISTs at a time.
    pub async fn run(&self, keys: &[KeyListing<'_>]) -> BTreeMap<NamespaceKey, Found> {
        // Collected first: a lazy iterator of borrowing futures is not provably `Send`.
        let jobs: Vec<_> = jobs(self.cluster, keys)
            .into_iter()
            .map(|job| async move {
                match job {
                    Job::Key(k, kinds) => vec![(k.key.clone(), self.key(k, &kinds).await)],
                    Job::Across(info, keys) => self.across(&info, &keys).await,
                }
            })
            .collect();
        let results: Vec<Vec<(NamespaceKey, Found)>> = stream::iter(jobs)
            .buffer_unordered(self.options.concurrency.max(1))
            .collect()
            .await;
        let mut out: BTreeMap<NamespaceKey, Found> = keys
            .iter()
            .map(|k| (k.key.clone(), Found::default()))
            .collect();
        for (key, found) in results.into_iter().flatten() {
            out.entry(key).or_default().merge(found);
        }
        out
    }

    /// Lists one parent's members of `kinds` in its namespace (or cluster-wide for the
    /// cluster-scoped parent).
    async fn key(&self, k: &KeyListing<'_>, kinds: &BTreeSet<String>) -> Found {
        let mut found = Found::default();
        let selector = members_selector(&k.ids);
        for gk in kinds {
            let (group, kind) = split_group_kind(gk);
            let catalog = self.cluster.catalog();
            let Some(info) = catalog.lookup_group_kind(&group, &kind) else {
                if let Some(reason) = catalog.unavailable_reason_for_group(&group) {
                    found.members.error = Some(format!("cannot list {gk} members: {reason}"));
                    return found;
                }
                // A kind this sync's own CRD brings (not served yet), or one the server dropped.
                continue;
            };
            let first =
                self.options
                    .prefetched
                    .take(&(gk.clone(), k.key.clone(), selector.clone()));
            let listed = self
                .cluster
                .list_each_from(&info, k.key.as_deref(), &selector, first, |live| {
                    self.take(k, &info, live, &mut found)
                })
                .await;
            if let Err(e) = listed {
                found.members.error = Some(format!("cannot list {gk} members: {e}"));
                return found;
            }
        }
        found
    }

    /// Lists one kind across the namespaces of `keys`, handing each object to the parent of
    /// its namespace when it carries one of that parent's ids. On a failure, what the LIST
    /// found is dropped and each namespace is listed on its own.
    async fn across(
        &self,
        info: &KindInfo,
        keys: &[&KeyListing<'_>],
    ) -> Vec<(NamespaceKey, Found)> {
        let by_namespace: HashMap<&str, usize> = keys
            .iter()
            .enumerate()
            .filter_map(|(i, k)| k.key.as_deref().map(|ns| (ns, i)))
            .collect();
        let mut found: Vec<Found> = keys.iter().map(|_| Found::default()).collect();
        let selector = members_selector(keys.iter().flat_map(|k| k.ids.iter()));
        let gk = group_kind(&info.group, &info.kind);
        let first = self
            .options
            .prefetched
            .take(&(gk.clone(), None, selector.clone()));
        let listed = self
            .cluster
            .list_each_from(info, None, &selector, first, |live| {
                let namespace = live["metadata"]["namespace"].as_str().unwrap_or_default();
                let Some(&i) = by_namespace.get(namespace) else {
                    return;
                };
                let part_of = live["metadata"]["labels"][PART_OF_LABEL].as_str();
                if keys[i].ids.iter().any(|id| Some(id.as_str()) == part_of) {
                    self.take(keys[i], info, live, &mut found[i]);
                }
            })
            .await;
        if let Err(e) = listed {
            if e.code == 403 {
                self.cluster.refuse_across(info);
            }
            tracing::debug!(kind = %gk, error = %e, "cannot list across namespaces; listing each");
            let kinds = BTreeSet::from([gk]);
            let mut out = Vec::new();
            for k in keys {
                out.push((k.key.clone(), self.key(k, &kinds).await));
            }
            return out;
        }
        keys.iter().map(|k| k.key.clone()).zip(found).collect()
    }

    /// One listed object of `k`'s: the live state of a desired one, or what Git dropped.
    fn take(&self, k: &KeyListing<'_>, info: &KindInfo, live: Value, found: &mut Found) {
        let members = &mut found.members;
        let id = live_id(info, &live);
        let is_legacy = k
            .entry
            .legacy
            .as_ref()
            .is_some_and(|(p, _)| live["metadata"]["labels"][PART_OF_LABEL] == p.id());
        if !self.scope.contains(&id) {
            // Not this sync's to touch: it stays, and so does its kind.
            members.remaining.insert(group_kind(&id.group, &id.kind));
            members.legacy_remaining += usize::from(is_legacy);
            return;
        }
        members.in_scope += 1;
        if let Some(w) = self.wanted.get(&id.key()) {
            let live = listed(&k.entry.ledger, w, &id, live, self.options);
            found.index.insert(&id, live);
            return;
        }
        let decision = decide(&id, &live, &k.ids, self.options.prune);
        let plan = PrunePlan::new(id, info.clone(), decision, &live, self.options.revision);
        members.candidates.push(Candidate {
            plan,
            legacy: is_legacy,
        });
    }
}

/// `items` in order, grouped so that no group weighs more than `cap` (but one item each).
fn chunks<T>(items: Vec<T>, weight: impl Fn(&T) -> usize, cap: usize) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = Vec::new();
    let mut load = 0;
    for item in items {
        let w = weight(&item);
        match out.last_mut() {
            Some(last) if load + w <= cap => last.push(item),
            _ => {
                load = 0;
                out.push(vec![item]);
            }
        }
        load += w;
    }
    out
}

/// A listed desired object: proven unchanged by its ledger record, or kept to dry-run against.
fn listed(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_keep_under_the_cap_and_the_order() {
        let groups = chunks(vec![2, 2, 2, 1, 5, 9, 1], |w| *w, 5);
        assert_eq!(
            groups,
            vec![vec![2, 2], vec![2, 1], vec![5], vec![9], vec![1]]
        );
        assert!(chunks(Vec::<usize>::new(), |w| *w, 5).is_empty());
    }
}
