//! Leases (`coordination.k8s.io/v1`): read, create and replace with the resourceVersion as a
//! precondition, so two writers can never both win. What a Lease means is decided above.

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};

use std::sync::Arc;

use super::failure::Op;
use super::retry::Flow;
use super::{ApiFailure, Cluster};

/// The Leases of one namespace. Owned and cheap to clone, for a background renewer.
#[derive(Clone)]
pub struct Leases {
    api: Api<Lease>,
    /// For watches: reads wait as long as a watch lasts.
    watch_api: Api<Lease>,
    field_manager: String,
    flow: Arc<Flow>,
}

impl Cluster {
    pub fn leases(&self, namespace: &str) -> Leases {
        Leases {
            api: Api::namespaced(self.client.clone(), namespace),
            watch_api: Api::namespaced(self.watch_client.clone(), namespace),
            field_manager: self.field_manager.clone(),
            flow: self.flow.clone(),
        }
    }
}

impl Leases {
    pub async fn get(&self, name: &str) -> Result<Option<Lease>, ApiFailure> {
        let get = || async { Ok(self.api.get_opt(name).await?) };
        self.flow.call("get lease", Op::Read, get).await
    }

    /// The Lease as it changes: `Some(lease)` (or `Some(None)` once deleted) at each change,
    /// `None` when the watch failed (it retries, backing off). Costs one open watch, not a
    /// request per change.
    pub fn changes(
        &self,
        name: &str,
    ) -> impl futures::Stream<Item = Option<Option<Lease>>> + Send + use<> {
        use futures::StreamExt as _;
        use kube::runtime::WatchStreamExt as _;
        use kube::runtime::watcher::{self, Event};
        let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
        watcher::watcher(self.watch_api.clone(), config)
            .default_backoff()
            .filter_map(|event| async move {
                match event {
                    Ok(Event::Apply(lease) | Event::InitApply(lease)) => Some(Some(Some(lease))),
                    Ok(Event::Delete(_)) => Some(Some(None)),
                    Ok(Event::Init | Event::InitDone) => None,
                    Err(_) => Some(None),
                }
            })
    }

    /// Every Lease of the namespace.
    pub async fn list(&self) -> Result<Vec<Lease>, ApiFailure> {
        let params = ListParams::default();
        let list = || async { Ok(self.api.list(&params).await?.items) };
        self.flow.call("list leases", Op::Read, list).await
    }

    /// Sets (or with `None` removes) one annotation of an existing Lease, leaving the rest to
    /// its holder: a merge patch, so it never races a renewal into a lost write. 404 when
    /// there is no such Lease.
    pub async fn annotate(
        &self,
        name: &str,
        key: &str,
        value: Option<&str>,
    ) -> Result<Lease, ApiFailure> {
        let patch = serde_json::json!({"metadata": {"annotations": {key: value}}});
        let params = PatchParams {
            field_manager: Some(self.field_manager.clone()),
            ..PatchParams::default()
        };
        let annotate = || async {
            let patch = Patch::Merge(&patch);
            Ok(self.api.patch(name, &params, &patch).await?)
        };
        self.flow.call("annotate lease", Op::Apply, annotate).await
    }

    /// Creates the Lease; fails with 409 AlreadyExists when someone else created it first.
    /// Not retried: a lost answer must not turn into a second attempt that looks like a race.
    pub async fn create(&self, lease: &Lease) -> Result<Lease, ApiFailure> {
        let params = self.params();
        let create = || async { Ok(self.api.create(&params, lease).await?) };
        self.flow.call("create lease", Op::Guarded, create).await
    }

    /// Replaces the Lease; `lease.metadata.resourceVersion` must still be current, or this
    /// fails with 409 Conflict.
    pub async fn replace(&self, lease: &Lease) -> Result<Lease, ApiFailure> {
        let (name, params) = (
            lease.metadata.name.clone().unwrap_or_default(),
            self.params(),
        );
        let replace = || async { Ok(self.api.replace(&name, &params, lease).await?) };
        self.flow.call("replace lease", Op::Guarded, replace).await
    }

    fn params(&self) -> PostParams {
        PostParams {
            field_manager: Some(self.field_manager.clone()),
            ..PostParams::default()
        }
    }
}
