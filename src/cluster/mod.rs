//! Everything that talks to the API server: client construction, the discovery cache, and the
//! few calls the other stages need (get, list, server-side apply, delete, CRD readiness,
//! Leases). Nothing here decides anything.

mod config;
mod discovery;
mod events;
mod failure;
mod lease;
mod lock;
mod objects;
mod page;
mod records;
mod retry;
mod status;
mod throttle;
mod transport;
mod write;

pub use discovery::Catalog;
pub use events::{EventSpec, NOTE_LIMIT, SET_LABEL};
pub use failure::ApiFailure;
use failure::failure;
pub use failure::{NoAnswer, Op};
pub use lease::Leases;
pub use lock::{
    Control, LockOptions, RECONCILE_ANNOTATION, SUSPENDED_ANNOTATION, SetLock, Taken, TookFrom,
};
pub use objects::Propagation;
pub use records::{Records, STATUS_KEY, STATUS_LABEL, status_name};
pub use retry::Flow;
pub use throttle::fan_out;
pub use write::Writer;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind, PartialObjectMeta};
use serde_json::Value;

use crate::error::Result;
use crate::halt::Halt;
use crate::render::{DesiredObject, KindInfo, KindLookup};

/// How to reach the cluster. With neither set: in-cluster config inside a pod, else the usual
/// kubeconfig (`$KUBECONFIG`, `~/.kube/config`).
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub field_manager: String,
    /// How long one request may go without an answer (`--request-timeout`).
    pub request_timeout: Duration,
    /// Most requests in flight at once (`--concurrency`); fewer while the server throttles.
    pub max_in_flight: usize,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            kubeconfig: None,
            context: None,
            field_manager: "driftless".into(),
            request_timeout: Duration::from_secs(30),
            max_in_flight: 8,
        }
    }
}

/// A connected cluster: the client, the discovery cache, our field manager, and the policy
/// every request follows. Cheap to clone: every clone shares one connection pool, one discovery
/// cache and one request policy (the agent's sets share one).
#[derive(Clone)]
pub struct Cluster {
    client: Client,
    /// For watches: a read may wait as long as a watch lasts (the server ends each one within
    /// [`WATCH_READ_TIMEOUT`]), where a request's read is cut at the request timeout.
    watch_client: Client,
    catalog: Arc<Mutex<Discovered>>,
    field_manager: String,
    flow: Arc<Flow>,
    /// Namespaces this process has seen exist: a namespace is rarely deleted, and reading one
    /// that was costs an empty LIST, so only an unseen one needs the server's word.
    seen_namespaces: Arc<Mutex<std::collections::BTreeSet<String>>>,
    /// Kinds this identity may not list across namespaces (a tenant's Role): read per
    /// namespace from then on.
    refused_across: Arc<Mutex<std::collections::BTreeSet<String>>>,
}

/// The discovery cache and when it was filled.
struct Discovered {
    catalog: Arc<Catalog>,
    at: Instant,
}

/// A watch is ended by the server after at most 290 s (kube-runtime asks for that); a read
/// that waits longer is a dead connection.
const WATCH_READ_TIMEOUT: Duration = Duration::from_secs(330);

/// How long a discovery cache is trusted when nothing says it is stale.
const DISCOVERY_TTL: Duration = Duration::from_secs(600);

/// How a server-side apply is sent: for real (only through a [`Writer`]) or as a dry-run, and
/// whether it takes fields other managers own (`force`) or stops at a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Apply {
    dry_run: bool,
    force: bool,
}

/// A mutex's guard, also after a panic while it was held: what it guards here (caches, sets of
/// names) stays valid whatever a holder was doing.
pub(crate) fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `driftless/<version>`, sent with every request.
pub fn user_agent() -> String {
    format!("driftless/{}", env!("CARGO_PKG_VERSION"))
}

impl Cluster {
    pub async fn connect(options: &ConnectOptions) -> Result<Cluster> {
        let (mut config, source) = config::load(options).await?;
        // The transport's own bounds; each attempt is also cut at the request timeout above it.
        config.read_timeout = Some(options.request_timeout);
        config.write_timeout = Some(options.request_timeout);
        config.connect_timeout = Some(options.request_timeout.min(retry::CONNECT_TIMEOUT_CAP));
        // kube retries 429s and 5xx on its own, per request, unseen: the request policy here
        // must see every answer to throttle all workers together and to bound each attempt.
        config.default_retry = false;
        if let Ok(agent) = http::HeaderValue::from_str(&user_agent()) {
            config.headers.push((http::header::USER_AGENT, agent));
        }
        let server = config.cluster_url.to_string();
        let mut watch_config = config.clone();
        watch_config.read_timeout = Some(WATCH_READ_TIMEOUT);
        let client = config::client(config, &source)?;
        let watch_client = config::client(watch_config, &source)?;
        let flow = Arc::new(Flow::new(
            &server,
            options.request_timeout,
            options.max_in_flight,
        ));
        let catalog = Catalog::discover(&client, &flow).await?;
        flow.connected();
        let catalog = Arc::new(Mutex::new(Discovered {
            catalog: Arc::new(catalog),
            at: Instant::now(),
        }));
        Ok(Cluster {
            client,
            watch_client,
            catalog,
            field_manager: options.field_manager.clone(),
            flow,
            seen_namespaces: Arc::default(),
            refused_across: Arc::default(),
        })
    }

    /// The request policy: whether the server is still reachable, and its reset for a new pass.
    pub fn flow(&self) -> &Flow {
        &self.flow
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A metadata watch of `kind` (in `namespace`, or everywhere) selected by `selector`,
    /// re-listing and backing off on its own after errors.
    pub fn watch_metadata(
        &self,
        kind: &KindInfo,
        namespace: Option<&str>,
        selector: &str,
    ) -> impl futures::Stream<
        Item = Result<kube::runtime::watcher::Event<PartialObjectMeta<DynamicObject>>, ApiFailure>,
    > + Send
    + use<> {
        use futures::StreamExt as _;
        use kube::runtime::WatchStreamExt as _;
        let ar = api_resource(kind);
        let client = self.watch_client.clone();
        let api: Api<PartialObjectMeta<DynamicObject>> = match namespace {
            Some(ns) if kind.namespaced => Api::namespaced_with(client, ns, &ar),
            _ => Api::all_with(client, &ar),
        };
        let config = kube::runtime::watcher::Config::default().labels(selector);
        kube::runtime::watcher(api, config)
            .default_backoff()
            .map(|event| event.map_err(failure::watch_failure))
    }

    /// The discovery cache as it stands (a refresh replaces it; holders keep theirs).
    pub fn catalog(&self) -> Arc<Catalog> {
        locked(&self.catalog).catalog.clone()
    }

    pub fn field_manager(&self) -> &str {
        &self.field_manager
    }

    /// Re-runs discovery, after this sync established CRDs.
    pub async fn refresh_catalog(&self) -> Result<()> {
        let catalog = Catalog::discover(&self.client, &self.flow).await?;
        let fresh = Discovered {
            catalog: Arc::new(catalog),
            at: Instant::now(),
        };
        *locked(&self.catalog) = fresh;
        Ok(())
    }

    /// Runs discovery again when the cache is older than its TTL or does not know one of
    /// `kinds` (group, version, kind): a new CRD, an API server upgraded since.
    pub async fn refresh_catalog_if_stale<'a>(
        &self,
        kinds: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
    ) -> Result<()> {
        let (catalog, age) = {
            let d = locked(&self.catalog);
            (d.catalog.clone(), d.at.elapsed())
        };
        let unknown = kinds
            .into_iter()
            .any(|(g, v, k)| catalog.lookup(g, v, k).is_none());
        if unknown || age >= DISCOVERY_TTL {
            self.refresh_catalog().await?;
        }
        Ok(())
    }

    /// The live object, or `None` when it does not exist.
    pub async fn get(&self, object: &DesiredObject) -> Result<Option<Value>, ApiFailure> {
        let api = self.api(object)?;
        let name = &object.id.name;
        let get = || async { Ok(api.get_opt(name).await?) };
        let live = self.flow.call("get", Op::Read, get).await?;
        live.map(to_value).transpose()
    }

    /// What the server would make of the manifest (server-side apply, `dryRun=All`): with
    /// `forced`, taking every field; else a conflict is an answer.
    pub async fn dry_run(&self, object: &DesiredObject, forced: bool) -> Result<Value, ApiFailure> {
        let how = Apply {
            dry_run: true,
            force: forced,
        };
        self.apply(object, how, None).await
    }

    /// Server-side apply of the manifest under our field manager.
    async fn apply(
        &self,
        object: &DesiredObject,
        how: Apply,
        halt: Option<&Halt>,
    ) -> Result<Value, ApiFailure> {
        let api = self.api(object)?;
        let mut params = PatchParams::apply(&self.field_manager);
        params.dry_run = how.dry_run;
        params.force = how.force;
        let (name, patch) = (&object.id.name, Patch::Apply(&object.manifest));
        let applied = self
            .flow
            .call_until("apply", Op::Apply, halt, || async {
                Ok(api.patch(name, &params, &patch).await?)
            })
            .await?;
        to_value(applied)
    }

    /// Waits until the named CRD reports `Established`.
    pub async fn wait_established(&self, name: &str, timeout: Duration) -> Result<(), ApiFailure> {
        let api: Api<CustomResourceDefinition> = Api::all(self.client.clone());
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let get = || async { Ok(api.get(name).await?) };
            let crd = self.flow.call("get crd", Op::Read, get).await?;
            let established = crd
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            if established {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(failure(format!(
                    "CRD {name} not Established after {}s",
                    timeout.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The failure for a kind that neither the server nor a CRD in the source knows.
    pub fn unknown_kind(&self, object: &DesiredObject) -> ApiFailure {
        let id = &object.id;
        match self.catalog().unavailable_reason(&id.group, &id.version) {
            Some(reason) => failure(format!(
                "discovery of {} failed, kind {} unknown: {reason}",
                id.api_version(),
                id.kind
            )),
            None => failure(format!(
                "the server has no kind {} in {} (is its CRD installed?)",
                id.kind,
                id.api_version()
            )),
        }
    }

    fn api(&self, object: &DesiredObject) -> Result<Api<DynamicObject>, ApiFailure> {
        let kind = object
            .kind
            .as_ref()
            .ok_or_else(|| self.unknown_kind(object))?;
        let ar = api_resource(kind);
        Ok(match &object.id.namespace {
            Some(ns) if kind.namespaced => Api::namespaced_with(self.client.clone(), ns, &ar),
            _ => Api::all_with(self.client.clone(), &ar),
        })
    }
}

fn api_resource(kind: &KindInfo) -> ApiResource {
    let gvk = GroupVersionKind::gvk(&kind.group, &kind.version, &kind.kind);
    ApiResource::from_gvk_with_plural(&gvk, &kind.plural)
}

fn to_value(object: DynamicObject) -> Result<Value, ApiFailure> {
    serde_json::to_value(object)
        .map_err(|e| failure(format!("unreadable object from the server: {e}")))
}
