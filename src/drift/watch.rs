//! Metadata watches of a set's members: one per kind the set uses (cluster-wide, or per
//! namespace when the set names its namespaces, as a tenant's Roles allow), selected by the
//! set's part-of labels. Each watch feeds [`Change`]s into one channel.

use std::collections::{BTreeSet, HashSet};

use futures::StreamExt;
use kube::runtime::watcher::Event;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::Key;
use crate::cluster::Cluster;
use crate::render::KindInfo;

/// What one watch saw.
#[derive(Debug)]
pub enum Change {
    /// An object as it is now: its metadata (as JSON).
    Seen { key: Key, metadata: Value },
    /// An object is gone.
    Gone { key: Key },
    /// The watch listed its objects once: from now on it reports changes.
    Synced { watch: usize },
    /// The watch failed (it retries, backing off).
    Failed { watch: usize, error: String },
}

/// One watch: a kind, where, and which objects.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Spec {
    pub kind: KindInfo,
    pub namespace: Option<String>,
    pub selector: String,
}

/// The watches for members of `kinds` labelled with one of `ids`: per namespace of
/// `namespaces` when given, else one cluster-wide per kind.
pub fn specs(
    kinds: &BTreeSet<KindInfo>,
    ids: &BTreeSet<String>,
    namespaces: Option<&BTreeSet<String>>,
) -> Vec<Spec> {
    if ids.is_empty() {
        return Vec::new();
    }
    let selector = crate::inventory::members_selector(ids);
    let mut specs = Vec::new();
    for kind in kinds {
        match namespaces {
            // A set limited to namespaces manages no cluster-scoped object (a tenant could not
            // watch one either).
            Some(_) if !kind.namespaced => {}
            Some(namespaces) => {
                for ns in namespaces {
                    specs.push(Spec {
                        kind: kind.clone(),
                        namespace: Some(ns.clone()),
                        selector: selector.clone(),
                    });
                }
            }
            _ => specs.push(Spec {
                kind: kind.clone(),
                namespace: None,
                selector: selector.clone(),
            }),
        }
    }
    specs
}

/// Starts every watch; they stop when the returned set is dropped.
pub fn start(cluster: &Cluster, specs: &[Spec], tx: mpsc::Sender<Change>) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    for (index, spec) in specs.iter().enumerate() {
        let stream = cluster.watch_metadata(&spec.kind, spec.namespace.as_deref(), &spec.selector);
        let (tx, kind) = (tx.clone(), spec.kind.clone());
        tasks.spawn(async move {
            let mut stream = std::pin::pin!(stream);
            // Keys seen since the current (re)list began, and those of the last complete one:
            // what a re-list no longer shows was deleted while the watch was down.
            let (mut listing, mut listed) = (HashSet::new(), HashSet::new());
            while let Some(event) = stream.next().await {
                let changes = match event {
                    Ok(Event::Init) => {
                        listing.clear();
                        Vec::new()
                    }
                    Ok(Event::InitApply(object)) => {
                        let change = seen(&kind, object);
                        if let Change::Seen { key, .. } = &change {
                            listing.insert(*key);
                        }
                        vec![change]
                    }
                    Ok(Event::InitDone) => {
                        let mut changes: Vec<Change> = listed
                            .difference(&listing)
                            .map(|key: &Key| Change::Gone { key: *key })
                            .collect();
                        listed = std::mem::take(&mut listing);
                        changes.push(Change::Synced { watch: index });
                        changes
                    }
                    Ok(Event::Apply(object)) => {
                        let change = seen(&kind, object);
                        if let Change::Seen { key, .. } = &change {
                            listed.insert(*key);
                        }
                        vec![change]
                    }
                    Ok(Event::Delete(object)) => {
                        let key = key_of(&kind, &object.metadata);
                        listed.remove(&key);
                        vec![Change::Gone { key }]
                    }
                    Err(e) => vec![Change::Failed {
                        watch: index,
                        error: e.to_string(),
                    }],
                };
                for change in changes {
                    if tx.send(change).await.is_err() {
                        return;
                    }
                }
            }
        });
    }
    tasks
}

fn key_of(
    kind: &KindInfo,
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> Key {
    Key::new(
        &kind.group,
        &kind.kind,
        meta.namespace.as_deref(),
        meta.name.as_deref().unwrap_or_default(),
    )
}

fn seen(
    kind: &KindInfo,
    object: kube::core::PartialObjectMeta<kube::api::DynamicObject>,
) -> Change {
    let key = key_of(kind, &object.metadata);
    let metadata = serde_json::to_value(&object.metadata).unwrap_or(Value::Null);
    Change::Seen { key, metadata }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(name: &str, namespaced: bool) -> KindInfo {
        KindInfo {
            group: String::new(),
            version: "v1".into(),
            kind: name.into(),
            plural: format!("{}s", name.to_lowercase()),
            namespaced,
            served: true,
        }
    }

    #[test]
    fn one_watch_per_kind_or_per_namespace_and_kind() {
        let kinds: BTreeSet<_> = [kind("ConfigMap", true), kind("Namespace", false)].into();
        let ids: BTreeSet<_> = ["applyset-a-v1".to_string(), "applyset-b-v1".into()].into();
        let all = specs(&kinds, &ids, None);
        assert_eq!(all.len(), 2);
        assert_eq!(
            all[0].selector,
            "applyset.kubernetes.io/part-of in (applyset-a-v1,applyset-b-v1)"
        );
        assert!(all.iter().all(|s| s.namespace.is_none()));
        let namespaces: BTreeSet<_> = ["a".to_string(), "b".into()].into();
        let tenant = specs(&kinds, &ids, Some(&namespaces));
        // ConfigMaps in each namespace; no cluster-scoped kind.
        assert_eq!(tenant.len(), 2);
        assert!(tenant.iter().all(|s| s.kind.namespaced));
        assert!(specs(&kinds, &BTreeSet::new(), None).is_empty());
    }
}
