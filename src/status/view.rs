//! A set as `driftless status` sees it from outside the agent: its stored status and its
//! Lease (who leads, whether that holder is alive, whether it is suspended), read with the
//! caller's own identity: RBAC decides which sets it sees.

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::jiff::Timestamp;
use serde::Serialize;

use super::SetStatus;
use crate::cluster::{ApiFailure, Cluster, Control};
use crate::error::Error;

/// One set: what its writer stored and what its Lease says.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SetView {
    pub name: String,
    /// `None`: no pass stored one yet (an agent older than status records, or none ran).
    pub status: Option<SetStatus>,
    pub lease: Option<LeaseView>,
}

/// The set's Lease, read.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaseView {
    pub holder: Option<String>,
    /// The holder renewed it within its duration (by this machine's clock).
    pub alive: bool,
    pub suspended: bool,
    /// The last reconcile request (its timestamp).
    pub reconcile_requested: Option<String>,
}

impl LeaseView {
    pub fn of(lease: &Lease, now: Timestamp) -> LeaseView {
        let spec = lease.spec.as_ref();
        let holder = spec
            .and_then(|s| s.holder_identity.clone())
            .filter(|h| !h.is_empty());
        let alive = spec.is_some_and(|s| {
            let renewed = s.renew_time.as_ref().map(|t| t.0);
            let duration = i64::from(s.lease_duration_seconds.unwrap_or(0));
            renewed.is_some_and(|r| now.as_second() - r.as_second() <= duration)
        });
        let control = Control::of(lease);
        LeaseView {
            alive: alive && holder.is_some(),
            holder,
            suspended: control.suspended,
            reconcile_requested: control.reconcile,
        }
    }
}

impl SetView {
    /// Whether the set is suspended: as its Lease says (the agent records it only once it
    /// saw it).
    pub fn suspended(&self) -> bool {
        self.lease.as_ref().is_some_and(|l| l.suspended)
    }
}

/// The Lease's name for `set`.
pub fn lease_name(set: &str) -> String {
    format!("driftless-{set}")
}

/// Every set of `namespace` the caller may list: one LIST of status ConfigMaps and one of
/// Leases.
pub async fn list(cluster: &Cluster, namespace: &str) -> Result<Vec<SetView>, Error> {
    let records = cluster.records(namespace).list().await;
    let records = records.map_err(|e| read_err(namespace, "list sync sets' statuses", e))?;
    let leases = cluster.leases(namespace).list().await;
    let leases = leases.map_err(|e| read_err(namespace, "list sync sets' Leases", e))?;
    let now = Timestamp::now();
    let mut views: std::collections::BTreeMap<String, SetView> = records
        .into_iter()
        .map(|(name, json)| {
            let status = serde_json::from_str(&json).ok();
            (
                name.clone(),
                SetView {
                    name,
                    status,
                    lease: None,
                },
            )
        })
        .collect();
    for lease in leases {
        let Some(set) = set_of_lease(&lease) else {
            continue;
        };
        let view = views.entry(set.clone()).or_insert(SetView {
            name: set,
            status: None,
            lease: None,
        });
        view.lease = Some(LeaseView::of(&lease, now));
    }
    Ok(views.into_values().collect())
}

/// One set, by name; an error when neither its status nor its Lease exists.
pub async fn get(cluster: &Cluster, namespace: &str, set: &str) -> Result<SetView, Error> {
    let json = cluster.records(namespace).get(set).await;
    let json = json.map_err(|e| read_err(namespace, &format!("read sync set {set:?}"), e))?;
    let lease = cluster.leases(namespace).get(&lease_name(set)).await;
    let lease = lease.map_err(|e| read_err(namespace, &format!("read sync set {set:?}"), e))?;
    if json.is_none() && lease.is_none() {
        return Err(Error::Lock(format!(
            "no sync set {set:?} in namespace {namespace}: no agent or sync has run it there \
             (see --inventory-namespace)"
        )));
    }
    Ok(SetView {
        name: set.to_string(),
        status: json.and_then(|j| serde_json::from_str(&j).ok()),
        lease: lease.map(|l| LeaseView::of(&l, Timestamp::now())),
    })
}

/// The set a Lease is of: `driftless-<set>` that records a revision, readiness or a holder.
fn set_of_lease(lease: &Lease) -> Option<String> {
    let set = lease.metadata.name.as_deref()?.strip_prefix("driftless-")?;
    let ours = lease
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.keys().any(|k| k.starts_with("driftless.dev/")));
    ours.then(|| set.to_string())
}

fn read_err(namespace: &str, what: &str, e: ApiFailure) -> Error {
    let hint = match e.code {
        403 => " (your identity may not: a tenant names its own set, `driftless status SET`)",
        _ => "",
    };
    Error::Lock(format!("cannot {what} in namespace {namespace}: {e}{hint}"))
}
