//! The calls inventory and prune need: list members by label, delete, read and write parents.

use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PropagationPolicy,
};
use serde_json::Value;

use super::retry::retrying;
use super::{ApiFailure, Cluster, api_resource, to_value};
use crate::plan::inventory::{
    CLUSTER_PARENT_NAME, ID_LABEL, PARENT_NAME, Parent, TOOLING_ANNOTATION,
};
use crate::render::KindInfo;

/// How deletions propagate to dependants (`--prune-propagation`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Propagation {
    #[default]
    Background,
    Foreground,
    Orphan,
}

impl Cluster {
    fn dynamic(&self, kind: &KindInfo, namespace: Option<&str>) -> Api<DynamicObject> {
        let ar = api_resource(kind);
        match namespace {
            Some(ns) if kind.namespaced => Api::namespaced_with(self.client.clone(), ns, &ar),
            _ => Api::all_with(self.client.clone(), &ar),
        }
    }

    /// Objects of one kind carrying `selector`, in a namespace (or cluster-wide for
    /// cluster-scoped kinds).
    pub async fn list_labelled(
        &self,
        kind: &KindInfo,
        namespace: Option<&str>,
        selector: &str,
    ) -> Result<Vec<Value>, ApiFailure> {
        let (api, params) = (
            self.dynamic(kind, namespace),
            ListParams::default().labels(selector),
        );
        let list = retrying("list", || async { Ok(api.list(&params).await?) }).await?;
        let mut out = Vec::with_capacity(list.items.len());
        for mut item in list.items {
            // List items omit apiVersion/kind; put them back for uniform handling.
            item.types = Some(kube::core::TypeMeta {
                api_version: if kind.group.is_empty() {
                    kind.version.clone()
                } else {
                    format!("{}/{}", kind.group, kind.version)
                },
                kind: kind.kind.clone(),
            });
            out.push(to_value(item)?);
        }
        Ok(out)
    }

    /// Deletes an object; an object already gone counts as deleted.
    pub async fn delete(
        &self,
        kind: &KindInfo,
        namespace: Option<&str>,
        name: &str,
        propagation: Propagation,
    ) -> Result<(), ApiFailure> {
        let params = DeleteParams {
            propagation_policy: Some(match propagation {
                Propagation::Background => PropagationPolicy::Background,
                Propagation::Foreground => PropagationPolicy::Foreground,
                Propagation::Orphan => PropagationPolicy::Orphan,
            }),
            ..DeleteParams::default()
        };
        let api = self.dynamic(kind, namespace);
        match retrying("delete", || async { Ok(api.delete(name, &params).await?) }).await {
            Ok(_) => Ok(()),
            Err(failure) if failure.code == 404 => Ok(()),
            Err(failure) => Err(failure),
        }
    }

    /// The live parent Secret, if it exists.
    pub async fn get_parent(&self, parent: &Parent) -> Result<Option<Value>, ApiFailure> {
        let api = self.dynamic(&secret_kind(), Some(&parent.namespace));
        let live = retrying("get inventory", || async {
            Ok(api.get_opt(&parent.name).await?)
        })
        .await?;
        live.map(to_value).transpose()
    }

    /// Writes a parent Secret (server-side apply, forced: it is ours alone).
    pub async fn apply_parent(&self, parent: &Parent, manifest: &Value) -> Result<(), ApiFailure> {
        let api = self.dynamic(&secret_kind(), Some(&parent.namespace));
        let params = PatchParams::apply(&self.field_manager).force();
        let patch = Patch::Apply(manifest);
        retrying("write inventory", || async {
            Ok(api.patch(&parent.name, &params, &patch).await?)
        })
        .await?;
        Ok(())
    }

    /// Namespaces holding a driftless inventory parent (ours: by name and tooling annotation).
    pub async fn inventory_namespaces(&self) -> Result<Vec<(String, String)>, ApiFailure> {
        let (api, params) = (
            self.dynamic(&secret_kind(), None),
            ListParams::default().labels(ID_LABEL),
        );
        let secrets = retrying("list inventories", || async {
            Ok(api.list(&params).await?)
        })
        .await?;
        Ok(secrets
            .items
            .into_iter()
            .filter(|s| {
                let name = s.metadata.name.as_deref().unwrap_or_default();
                let tooling = s
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(TOOLING_ANNOTATION));
                (name == PARENT_NAME || name == CLUSTER_PARENT_NAME)
                    && tooling.is_some_and(|t| t.starts_with("driftless/"))
            })
            .filter_map(|s| Some((s.metadata.namespace?, s.metadata.name?)))
            .collect())
    }

    /// Creates a namespace if it does not exist (the inventory namespace).
    pub async fn ensure_namespace(&self, name: &str) -> Result<(), ApiFailure> {
        let kind = KindInfo {
            group: String::new(),
            version: "v1".into(),
            kind: "Namespace".into(),
            plural: "namespaces".into(),
            namespaced: false,
            served: true,
        };
        let api = self.dynamic(&kind, None);
        if api.get_opt(name).await?.is_some() {
            return Ok(());
        }
        let manifest = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        api.patch(
            name,
            &PatchParams::apply(&self.field_manager),
            &Patch::Apply(&manifest),
        )
        .await?;
        Ok(())
    }
}

fn secret_kind() -> KindInfo {
    KindInfo {
        group: String::new(),
        version: "v1".into(),
        kind: "Secret".into(),
        plural: "secrets".into(),
        namespaced: true,
        served: true,
    }
}
