//! Writes: server-side apply for real, deletes, driftless's own objects. Every one goes through
//! a [`Writer`], which only a holder of the set's Lease gets ([`super::SetLock::writer`]): a
//! preview, which takes no Lease, has no way to write.

use serde_json::Value;

use super::{ApiFailure, Apply, Cluster, Propagation};
use crate::render::{DesiredObject, KindInfo};

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
    /// managers own (drift taken back, `--force-conflicts`).
    pub async fn apply(&self, object: &DesiredObject, force: bool) -> Result<Value, ApiFailure> {
        let how = Apply {
            dry_run: false,
            force,
        };
        self.cluster.apply(object, how).await
    }

    /// Server-side apply of a manifest of driftless's own (inventory parents), forced.
    pub async fn apply_own(&self, kind: &KindInfo, manifest: &Value) -> Result<(), ApiFailure> {
        self.cluster.apply_own(kind, manifest).await
    }

    /// Deletes an object; an object already gone counts as deleted.
    pub async fn delete(
        &self,
        kind: &KindInfo,
        namespace: Option<&str>,
        name: &str,
        propagation: Propagation,
    ) -> Result<(), ApiFailure> {
        self.cluster
            .delete(kind, namespace, name, propagation)
            .await
    }

    /// Creates a namespace unless it exists.
    pub async fn ensure_namespace(&self, name: &str) -> Result<(), ApiFailure> {
        self.cluster.ensure_namespace(name).await
    }
}
