//! With `--prune-namespaces`: deleting a Namespace deletes everything in it, so a Namespace Git
//! dropped is pruned only when it holds nothing but what this set prunes anyway. Every kind a
//! namespace can hold is listed there (metadata only); one object that is someone else's, or
//! one this set keeps, keeps the Namespace, and the report names it. A listing that fails keeps
//! it too: what decides a prune must be read.

use std::collections::{HashMap, HashSet};

use futures::{StreamExt, stream};
use serde_json::Value;

use super::parent::{ID_LABEL, PART_OF_LABEL, SET_LABEL};
use super::{Inventory, SetRef};
use crate::cluster::Cluster;
use crate::halt::Halt;
use crate::plan::{PruneDecision, Reason};
use crate::render::{KindInfo, ObjectId};

/// Field managers of the control plane: what they made in a namespace (its `default`
/// ServiceAccount and token, `kube-root-ca.crt`, Endpoints) goes with it.
const CONTROL_PLANE: [&str; 4] = [
    "kube-controller-manager",
    "kube-apiserver",
    "kube-scheduler",
    "kubelet",
];

/// Groups whose objects are views or records, never content: metrics, events.
const NOT_CONTENT: [(&str, &str); 3] = [
    ("", "Event"),
    ("events.k8s.io", "Event"),
    ("metrics.k8s.io", "PodMetrics"),
];

/// How many objects a report names before "and N more"; listing stops there.
const NAMED: usize = 5;

/// What this set knows of its own members in one namespace.
#[derive(Debug, Default)]
pub(super) struct OwnMembers {
    /// Members this sync deletes anyway.
    pub going: HashSet<(String, String, String)>,
    /// Members it keeps, and why.
    pub kept: HashMap<(String, String, String), String>,
}

/// `(group, kind, name)`: an object within one namespace.
fn key(id: &ObjectId) -> (String, String, String) {
    (id.group.clone(), id.kind.clone(), id.name.clone())
}

/// Why `live` (an object of `kind` in the namespace) keeps the namespace; `None` when it goes
/// with it harmlessly. `ours`: this set's ApplySet ids there.
pub(super) fn keeps(
    kind: &KindInfo,
    live: &Value,
    ours: &[String],
    set: &SetRef,
    own: &OwnMembers,
) -> Option<String> {
    let meta = &live["metadata"];
    let name = meta["name"].as_str().unwrap_or_default();
    let k = (kind.group.clone(), kind.kind.clone(), name.to_string());
    if own.going.contains(&k) {
        return None;
    }
    let describe = |why: &str| format!("{} {name} ({why})", kind_label(kind));
    if let Some(why) = own.kept.get(&k) {
        return Some(describe(why));
    }
    // A dependant goes with its owner; an owner that stays is listed itself.
    if meta["ownerReferences"]
        .as_array()
        .is_some_and(|o| !o.is_empty())
    {
        return None;
    }
    let labels = &meta["labels"];
    if labels[ID_LABEL]
        .as_str()
        .is_some_and(|id| ours.iter().any(|o| o == id))
    {
        return None; // this set's own inventory there
    }
    if made_by_control_plane(meta) {
        return None;
    }
    let part_of = labels[PART_OF_LABEL].as_str();
    let why = match (labels[SET_LABEL].as_str(), part_of) {
        (_, Some(p)) if ours.iter().any(|o| o == p) => "in this set's source".to_string(),
        (Some(other), _) if other != set.name.as_str() => format!("sync set \"{other}\""),
        (_, Some(p)) => format!("ApplySet {p}"),
        _ if labels[ID_LABEL].is_string() => "another sync set's inventory".to_string(),
        _ => "not this set's".to_string(),
    };
    Some(describe(&why))
}

/// Every writer of it is the control plane (or, with no record of writers, it is one of the
/// objects every namespace gets).
fn made_by_control_plane(meta: &Value) -> bool {
    match meta["managedFields"].as_array() {
        Some(entries) if !entries.is_empty() => entries.iter().all(|e| {
            e["manager"]
                .as_str()
                .is_some_and(|m| CONTROL_PLANE.contains(&m))
        }),
        _ => matches!(meta["name"].as_str(), Some("default" | "kube-root-ca.crt")),
    }
}

fn kind_label(kind: &KindInfo) -> String {
    match kind.group.as_str() {
        "" => format!("{} {}", kind.version, kind.kind),
        group => format!("{group}/{} {}", kind.version, kind.kind),
    }
}

impl Inventory {
    /// Keeps each Namespace that this sync would prune unless it holds only what the set prunes
    /// anyway (see the module docs). Run before the prune guard: a kept Namespace is no prune.
    pub async fn check_namespaces(&mut self, cluster: &Cluster, concurrency: usize, halt: &Halt) {
        let namespaces: Vec<String> = self
            .entries
            .get(&None)
            .and_then(|e| e.members.as_ref())
            .map(|m| {
                m.candidates
                    .iter()
                    .filter(|c| c.plan.id.is_namespace() && c.plan.decision == PruneDecision::Prune)
                    .map(|c| c.plan.id.name.clone())
                    .collect()
            })
            .unwrap_or_default();
        if namespaces.is_empty() {
            return;
        }
        let kinds: Vec<KindInfo> = cluster
            .catalog()
            .namespaced_listable()
            .into_iter()
            .filter(|k| !NOT_CONTENT.contains(&(k.group.as_str(), k.kind.as_str())))
            .collect();
        let set = self.set.clone();
        let census = Census {
            cluster,
            kinds: &kinds,
            set: &set,
            concurrency,
            halt,
        };
        for ns in namespaces {
            let kept = match self.own_members(&ns) {
                Err(why) => Some(why),
                Ok(own) => census.keepers(&ns, &own).await,
            };
            if let Some(why) = kept {
                tracing::info!(namespace = %ns, %why, "Namespace kept");
                self.keep_namespace(&ns, why);
            }
        }
    }

    /// This set's members in `ns`: which this sync deletes and which it keeps. An error when
    /// they could not all be listed.
    fn own_members(&self, ns: &str) -> Result<OwnMembers, String> {
        let mut own = OwnMembers::default();
        let Some(members) = self
            .entries
            .get(&Some(ns.to_string()))
            .and_then(|e| e.members.as_ref())
        else {
            return Ok(own);
        };
        if let Some(error) = &members.error {
            return Err(format!(
                "not pruned: this set's members there are unknown: {error}"
            ));
        }
        for c in &members.candidates {
            match &c.plan.decision {
                PruneDecision::Prune => own.going.insert(key(&c.plan.id)),
                PruneDecision::Keep(_, why) => {
                    let why = why.trim_start_matches("not pruned: ").to_string();
                    own.kept.insert(key(&c.plan.id), why).is_none()
                }
            };
        }
        Ok(own)
    }

    fn keep_namespace(&mut self, ns: &str, why: String) {
        let candidates = self
            .entries
            .get_mut(&None)
            .and_then(|e| e.members.as_mut())
            .map(|m| m.candidates.iter_mut());
        for c in candidates.into_iter().flatten() {
            if c.plan.id.is_namespace() && c.plan.id.name == ns {
                c.plan.decision = PruneDecision::Keep(Reason::NamespaceNotEmpty, why.clone());
                c.plan.diff.clear();
            }
        }
    }
}

/// How a namespace's contents are read: every kind it can hold, `concurrency` at once.
struct Census<'a> {
    cluster: &'a Cluster,
    kinds: &'a [KindInfo],
    set: &'a SetRef,
    concurrency: usize,
    halt: &'a Halt,
}

impl Census<'_> {
    /// Lists every kind in `ns` (metadata only) until [`NAMED`] objects that keep it are found.
    /// `Some(why)` when the Namespace must stay.
    async fn keepers(&self, ns: &str, own: &OwnMembers) -> Option<String> {
        let ours = self.set.ids(&Some(ns.to_string()));
        let ours = &ours;
        let (cluster, kinds, set, halt) = (self.cluster, self.kinds, self.set, self.halt);
        // Collected first: a lazy iterator of borrowing futures is not provably `Send`.
        let jobs: Vec<_> = kinds
            .iter()
            .map(|kind| async move {
                let mut found = Vec::new();
                if halt.is_halted() {
                    return Err(format!(
                        "{}: not read (the run was halted)",
                        kind_label(kind)
                    ));
                }
                let listed = cluster
                    .list_metadata_each(kind, ns, |live| {
                        found.extend(keeps(kind, &live, ours, set, own));
                        found.len() < NAMED
                    })
                    .await;
                match listed {
                    Ok(()) => Ok(found),
                    Err(e) => Err(format!("cannot list {}: {e}", kind_label(kind))),
                }
            })
            .collect();
        let results: Vec<Result<Vec<String>, String>> = stream::iter(jobs)
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await;
        let mut keepers = Vec::new();
        for result in results {
            match result {
                Ok(found) => keepers.extend(found),
                Err(why) => {
                    return Some(format!(
                        "not pruned: what it holds could not all be read ({why}); deleting it would delete whatever that is"
                    ));
                }
            }
        }
        if keepers.is_empty() {
            return None;
        }
        keepers.sort();
        let more = keepers.len().saturating_sub(NAMED);
        keepers.truncate(NAMED);
        let more = match more {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        Some(format!(
            "not pruned: deleting it would delete what is not this set's to prune: {}{more}",
            keepers.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn set() -> SetRef {
        SetRef {
            name: "ux-a".parse().unwrap(),
            inventory_namespace: "driftless-system".into(),
        }
    }

    fn cm() -> KindInfo {
        KindInfo::core("ConfigMap", "configmaps", true)
    }

    fn object(name: &str, labels: Value, managers: &[&str]) -> Value {
        let fields: Vec<Value> = managers.iter().map(|m| json!({"manager": m})).collect();
        json!({"metadata": {"name": name, "namespace": "ux", "labels": labels, "managedFields": fields}})
    }

    #[test]
    fn what_keeps_a_namespace() {
        let ours = vec!["applyset-a-v1".to_string()];
        let mut own = OwnMembers::default();
        own.going
            .insert((String::new(), "ConfigMap".into(), "a1".into()));
        own.kept.insert(
            (String::new(), "ConfigMap".into(), "a-keep".into()),
            "not pruned: annotated driftless.dev/prune: disabled".into(),
        );
        let ours_label = json!({PART_OF_LABEL: "applyset-a-v1", SET_LABEL: "ux-a"});
        let keeps = |live: &Value| keeps(&cm(), live, &ours, &set(), &own);

        assert_eq!(
            keeps(&object("a1", ours_label.clone(), &["driftless"])),
            None
        );
        let kept = keeps(&object("a-keep", ours_label.clone(), &["driftless"])).unwrap();
        assert!(
            kept.contains("v1 ConfigMap a-keep") && kept.contains("prune: disabled"),
            "{kept}"
        );
        let desired = keeps(&object("a-desired", ours_label, &["driftless"])).unwrap();
        assert!(desired.contains("in this set's source"), "{desired}");

        let other = json!({PART_OF_LABEL: "applyset-b-v1", SET_LABEL: "ux-b"});
        let b = keeps(&object("b-keep", other, &["driftless"])).unwrap();
        assert!(b.contains("sync set \"ux-b\""), "{b}");
        let hand = keeps(&object("handmade", json!({}), &["kubectl-create"])).unwrap();
        assert!(hand.contains("not this set's"), "{hand}");

        // What every namespace gets, and dependants, go with it.
        let system = object("kube-root-ca.crt", json!({}), &["kube-controller-manager"]);
        assert_eq!(keeps(&system), None);
        assert_eq!(keeps(&object("default", json!({}), &[])), None);
        let mut owned = object(
            "web-abc",
            json!({}),
            &["kube-controller-manager", "kubelet"],
        );
        owned["metadata"]["ownerReferences"] = json!([{"kind": "ReplicaSet", "name": "web"}]);
        assert_eq!(keeps(&owned), None);
        let inventory = object(
            "driftless-ux-a",
            json!({ID_LABEL: "applyset-a-v1"}),
            &["driftless"],
        );
        assert_eq!(keeps(&inventory), None, "this set's own inventory");
        let foreign = object(
            "driftless-ux-b",
            json!({ID_LABEL: "applyset-b-v1"}),
            &["driftless"],
        );
        assert!(
            keeps(&foreign)
                .unwrap()
                .contains("another sync set's inventory")
        );
    }
}
