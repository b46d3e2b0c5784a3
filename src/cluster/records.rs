//! Each sync set's status on the cluster: a ConfigMap `driftless-status-<set>` in the inventory
//! namespace, one JSON document (bounded by its writer), labeled so every set's can be listed.
//! Written with server-side apply by the set's writer; read by anyone its RBAC lets read it (a
//! tenant's Role can name its own sets' ConfigMaps).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, ListParams, Patch, PatchParams};

use super::failure::Op;
use super::{ApiFailure, Cluster};

/// The label naming the set a status ConfigMap is of.
pub const STATUS_LABEL: &str = "driftless.dev/status-of";
/// The ConfigMap's key holding the status.
pub const STATUS_KEY: &str = "status.json";

/// The status ConfigMap's name for `set`.
pub fn status_name(set: &str) -> String {
    format!("driftless-status-{set}")
}

/// The status ConfigMaps of one namespace.
#[derive(Clone)]
pub struct Records {
    api: Api<ConfigMap>,
    watch_api: Api<ConfigMap>,
    field_manager: String,
    flow: std::sync::Arc<super::Flow>,
}

impl Cluster {
    pub fn records(&self, namespace: &str) -> Records {
        Records {
            api: Api::namespaced(self.client.clone(), namespace),
            watch_api: Api::namespaced(self.watch_client.clone(), namespace),
            field_manager: self.field_manager.clone(),
            flow: self.flow.clone(),
        }
    }
}

impl Records {
    /// The status of `set` as stored (its JSON), `None` when none was recorded.
    pub async fn get(&self, set: &str) -> Result<Option<String>, ApiFailure> {
        let name = status_name(set);
        let get = || async { Ok(self.api.get_opt(&name).await?) };
        let map = self.flow.call("get status", Op::Read, get).await?;
        Ok(map.and_then(status_of))
    }

    /// Every set's stored status (its JSON), by set.
    pub async fn list(&self) -> Result<BTreeMap<String, String>, ApiFailure> {
        let params = ListParams::default().labels(STATUS_LABEL);
        let list = || async { Ok(self.api.list(&params).await?) };
        let maps = self.flow.call("list statuses", Op::Read, list).await?;
        Ok(maps
            .items
            .into_iter()
            .filter_map(|m| {
                let set = m.metadata.labels.as_ref()?.get(STATUS_LABEL)?.clone();
                Some((set, status_of(m)?))
            })
            .collect())
    }

    /// Stores `json` as the status of `set` (server-side apply, taking the fields back from
    /// any other writer: the status is the set writer's alone).
    pub async fn store(&self, set: &str, json: &str) -> Result<(), ApiFailure> {
        let name = status_name(set);
        let map = ConfigMap {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some([(STATUS_LABEL.to_string(), set.to_string())].into()),
                ..ObjectMeta::default()
            },
            data: Some([(STATUS_KEY.to_string(), json.to_string())].into()),
            ..ConfigMap::default()
        };
        let params = PatchParams::apply(&self.field_manager).force();
        let apply = || async {
            let patch = Patch::Apply(&map);
            Ok(self.api.patch(&name, &params, &patch).await.map(|_| ())?)
        };
        self.flow.call("store status", Op::Apply, apply).await
    }

    /// The status of `set` as it changes: `Some(json)` at each change (and once at the start),
    /// `None` when the watch failed (it retries, backing off). One open watch, no polling.
    pub fn changes(&self, set: &str) -> impl futures::Stream<Item = Option<String>> + Send + use<> {
        use futures::StreamExt as _;
        use kube::runtime::WatchStreamExt as _;
        use kube::runtime::watcher::{self, Event};
        let config =
            watcher::Config::default().fields(&format!("metadata.name={}", status_name(set)));
        watcher::watcher(self.watch_api.clone(), config)
            .default_backoff()
            .filter_map(|event| async move {
                match event {
                    Ok(Event::Apply(map) | Event::InitApply(map)) => status_of(map).map(Some),
                    Ok(Event::Delete(_) | Event::Init | Event::InitDone) => None,
                    Err(_) => Some(None),
                }
            })
    }
}

impl Records {
    /// Every set's status as it changes (the set's name at each change).
    pub fn all_changes(&self) -> impl futures::Stream<Item = Option<String>> + Send + use<> {
        use futures::StreamExt as _;
        use kube::runtime::WatchStreamExt as _;
        use kube::runtime::watcher::{self, Event};
        let config = watcher::Config::default().labels(STATUS_LABEL);
        watcher::watcher(self.watch_api.clone(), config)
            .default_backoff()
            .filter_map(|event| async move {
                match event {
                    Ok(Event::Apply(map) | Event::Delete(map)) => Some(map.metadata.name),
                    Ok(Event::InitDone) => Some(None),
                    Ok(Event::Init | Event::InitApply(_)) => None,
                    Err(_) => None,
                }
            })
    }
}

fn status_of(map: ConfigMap) -> Option<String> {
    map.data?.remove(STATUS_KEY)
}
