//! What a set manages, read from its inventory: per namespace its parent Secret names the
//! kinds, and one LIST per kind (by the set's `part-of` label) finds the members, with their
//! health. Drift comes from the set's stored status.

use std::collections::BTreeMap;

use crate::cluster::Cluster;
use crate::health::{Kind, health};
use crate::inventory::{Parent, SetName, members_selector, parent_group_kinds, split_group_kind};
use crate::render::KindInfo;
use crate::status::SetView;

/// The members of one namespace (or of the cluster scope), by kind.
#[derive(Debug, Default)]
pub struct TreeNamespace {
    pub name: String,
    pub kinds: BTreeMap<String, Vec<Member>>,
    /// Why (part of) it could not be read.
    pub errors: Vec<String>,
}

#[derive(Debug)]
pub struct Member {
    pub name: String,
    /// `Healthy`, `Progressing`, `Degraded`, ...
    pub health: String,
    /// How it differs from Git, as the agent saw it.
    pub drift: Option<String>,
}

/// The set's tree: the namespaces its status names, each read from its inventory.
pub async fn read(
    cluster: &Cluster,
    inventory_namespace: &str,
    view: &SetView,
) -> Result<Vec<TreeNamespace>, crate::Error> {
    let set: SetName = view.name.parse().map_err(crate::Error::Lock)?;
    let status = view.status.clone().unwrap_or_default();
    let mut keys: Vec<Option<String>> = status
        .namespaces
        .keys()
        .map(|ns| (!ns.starts_with('(')).then(|| ns.clone()))
        .collect();
    keys.sort();
    keys.dedup();
    cluster.refresh_catalog().await?;
    let mut tree = Vec::new();
    for key in keys {
        let parent = Parent::of(&set, &key, inventory_namespace);
        let mut ns = TreeNamespace {
            name: crate::plan::namespace_label(&key).to_string(),
            ..TreeNamespace::default()
        };
        read_namespace(cluster, &parent, &status.drift.drifted, &mut ns).await;
        tree.push(ns);
    }
    Ok(tree)
}

async fn read_namespace(
    cluster: &Cluster,
    parent: &Parent,
    drifted: &BTreeMap<String, crate::status::Drifted>,
    ns: &mut TreeNamespace,
) {
    let live = cluster
        .get_named(&KindInfo::secret(), Some(&parent.namespace), &parent.name)
        .await;
    let live = match live {
        Ok(Some(live)) => live,
        Ok(None) => {
            return ns
                .errors
                .push(format!("no inventory ({})", parent.describe()));
        }
        Err(e) => return ns.errors.push(format!("{}: {e}", parent.describe())),
    };
    let selector = members_selector(&[parent.id()]);
    let catalog = cluster.catalog();
    for gk in parent_group_kinds(&live) {
        let (group, kind) = split_group_kind(&gk);
        let Some(info) = catalog.lookup_group_kind(&group, &kind) else {
            ns.errors.push(format!("{gk}: not served by the cluster"));
            continue;
        };
        let namespace = parent.key.as_deref();
        let objects = match cluster.list(&info, namespace, &selector).await {
            Ok(objects) => objects,
            Err(e) => {
                ns.errors.push(format!("{gk}: {e}"));
                continue;
            }
        };
        let members = objects.iter().map(|o| member(o, &group, &kind, drifted));
        ns.kinds.entry(kind.clone()).or_default().extend(members);
    }
}

fn member(
    object: &serde_json::Value,
    group: &str,
    kind: &str,
    drifted: &BTreeMap<String, crate::status::Drifted>,
) -> Member {
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or("?")
        .to_string();
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let id = match object["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{api_version} {kind} {ns}/{name}"),
        None => format!("{api_version} {kind} {name}"),
    };
    Member {
        health: health(Kind::of(group, kind), object, &[])
            .state()
            .label()
            .to_string(),
        drift: drifted.get(&id).map(|d| d.by.clone()),
        name,
    }
}
