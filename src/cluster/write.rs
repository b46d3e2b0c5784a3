//! Writes: server-side apply for real, deletes, driftless's own objects. Every one goes through
//! a [`Writer`], which only a holder of the set's Lease gets ([`super::SetLock::writer`]): a
//! preview, which takes no Lease, has no way to write.

use serde_json::Value;

use kube::api::{DeleteParams, Patch, PatchParams, PropagationPolicy};

use std::time::Duration;

use super::failure::{Op, failure};
use super::{ApiFailure, Apply, Cluster, Propagation};
use crate::halt::Halt;
use crate::render::{DesiredObject, KindInfo};

/// How long a replacement waits for the old object to be gone (its dependants are deleted
/// first).
pub const REPLACE_WAIT: Duration = Duration::from_secs(120);

/// The right to write to the cluster, under a set's Lease.
#[derive(Clone, Copy)]
pub struct Writer<'a> {
    cluster: &'a Cluster,
}

impl<'a> Writer<'a> {
    pub(super) fn new(cluster: &'a Cluster) -> Writer<'a> {
        Writer { cluster }
    }

    /// The cluster, for what a writer also reads.
    pub fn cluster(&self) -> &'a Cluster {
        self.cluster
    }

    /// Server-side apply of the manifest under our field manager; `force` takes fields other
    /// managers own (drift taken back, `--force-conflicts`). Not sent once `halt` fires.
    pub async fn apply(
        &self,
        object: &DesiredObject,
        force: bool,
        halt: Option<&Halt>,
    ) -> Result<Value, ApiFailure> {
        let how = Apply {
            dry_run: false,
            force,
        };
        self.cluster.apply(object, how, halt).await
    }

    /// Replaces the object: deletes it (foreground: its dependants first, as a Job's pods),
    /// waits until it is gone (at most [`REPLACE_WAIT`], or until `halt`), then applies the
    /// manifest. A deletion that does not finish in time fails: the next sync creates it.
    pub async fn replace(
        &self,
        object: &DesiredObject,
        force: bool,
        halt: &Halt,
    ) -> Result<Value, ApiFailure> {
        let Some(kind) = &object.kind else {
            return Err(self.cluster.unknown_kind(object));
        };
        let (namespace, name) = (object.id.namespace.as_deref(), &object.id.name);
        self.delete(kind, namespace, name, Propagation::Foreground, Some(halt))
            .await?;
        let deadline = tokio::time::Instant::now() + REPLACE_WAIT;
        while self.cluster.get(object).await?.is_some() {
            if let Some(why) = halt.not_attempted() {
                return Err(failure(format!("deleted, but not created again: {why}")));
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(failure(format!(
                    "deleted, and still being deleted after {REPLACE_WAIT:?} (its dependants first): the next sync creates it"
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tracing::info!(object = %object.id, "deleted to be replaced");
        // Halted now, it is gone and not back: a failure, not "not attempted".
        self.apply(object, force, Some(halt))
            .await
            .map_err(|e| match e.is_halted() {
                true => failure(format!("deleted, but not created again: {}", e.message)),
                false => e,
            })
    }

    /// Server-side apply of a manifest of driftless's own (inventory parents): forced, because
    /// those objects are ours alone.
    pub async fn apply_own(&self, kind: &KindInfo, manifest: &Value) -> Result<(), ApiFailure> {
        let meta = &manifest["metadata"];
        let name = meta["name"].as_str().unwrap_or_default();
        let api = self.cluster.dynamic(kind, meta["namespace"].as_str());
        let params = PatchParams::apply(&self.cluster.field_manager).force();
        let patch = Patch::Apply(manifest);
        self.cluster
            .flow
            .call("apply", Op::Apply, || async {
                Ok(api.patch(name, &params, &patch).await?)
            })
            .await?;
        Ok(())
    }

    /// Deletes an object; an object already gone counts as deleted. Not sent once `halt` fires.
    pub async fn delete(
        &self,
        kind: &KindInfo,
        namespace: Option<&str>,
        name: &str,
        propagation: Propagation,
        halt: Option<&Halt>,
    ) -> Result<(), ApiFailure> {
        let params = DeleteParams {
            propagation_policy: Some(match propagation {
                Propagation::Background => PropagationPolicy::Background,
                Propagation::Foreground => PropagationPolicy::Foreground,
                Propagation::Orphan => PropagationPolicy::Orphan,
            }),
            ..DeleteParams::default()
        };
        let api = self.cluster.dynamic(kind, namespace);
        match self
            .cluster
            .flow
            .call_until("delete", Op::Delete, halt, || async {
                Ok(api.delete(name, &params).await?)
            })
            .await
        {
            Ok(_) => Ok(()),
            Err(failure) if failure.code == 404 => Ok(()),
            Err(failure) => Err(failure),
        }
    }

    /// Creates a namespace if it does not exist (the inventory namespace).
    pub async fn ensure_namespace(&self, name: &str) -> Result<(), ApiFailure> {
        let kind = KindInfo::core("Namespace", "namespaces", false);
        match self.cluster.get_named(&kind, None, name).await {
            Ok(Some(_)) => return Ok(()),
            Ok(None) => {}
            // A namespace-scoped identity (a tenant) may not read Namespaces, nor create them:
            // the write into it that follows says whether it exists.
            Err(e) if e.code == 403 => return Ok(()),
            Err(e) => return Err(e),
        }
        let manifest = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        let api = self.cluster.dynamic(&kind, None);
        let params = PatchParams::apply(&self.cluster.field_manager);
        self.cluster
            .flow
            .call("create namespace", Op::Apply, || async {
                Ok(api.patch(name, &params, &Patch::Apply(&manifest)).await?)
            })
            .await?;
        Ok(())
    }
}
