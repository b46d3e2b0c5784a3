//! A CLI `sync` records its pass in the set's stored status, as the agent does, so `driftless
//! status` shows a set run from CI too. A sync that changed something is recorded; one that
//! changed nothing only when what a reader acts on moved (the result, the revisions, the
//! failures): a second sync of an unchanged source still writes nothing. A set an agent leads
//! is left to the agent.

use k8s_openapi::jiff::Timestamp;

use crate::cluster::Cluster;
use crate::runner::Pass;
use crate::status::{LeaseView, Role, SetStatus, compact, lease_name};

/// Records `pass` of `set` (from `source`); failures to read or write are warnings: the sync
/// itself is done.
pub async fn record(cluster: &Cluster, set: &crate::inventory::SetRef, source: &str, pass: &Pass) {
    let (name, ns) = (set.name.to_string(), &set.inventory_namespace);
    let records = cluster.records(ns);
    let lease = cluster.leases(ns).get(&lease_name(&name)).await;
    if let Ok(Some(lease)) = &lease {
        let view = LeaseView::of(lease, Timestamp::now());
        let agent = view
            .holder
            .as_deref()
            .is_some_and(|h| !h.starts_with("sync@"));
        if view.alive && agent {
            return;
        }
    }
    let before = match records.get(&name).await {
        Ok(json) => json.and_then(|j| serde_json::from_str::<SetStatus>(&j).ok()),
        Err(e) => {
            tracing::warn!(set = %name, error = %e, "cannot read the set's stored status; not recording this sync");
            return;
        }
    };
    let mut status = before
        .clone()
        .unwrap_or_else(|| SetStatus::new(&name, source));
    status.role = Role::Cli;
    status.leader = None;
    status.source = source.to_string();
    status.record_pass(pass);
    // A pass that wrote took the Lease already; one that wrote nothing stays without a write
    // unless what a reader acts on changed.
    let wrote = match &pass.result {
        crate::runner::PassResult::Report(report) => report.changed(),
        _ => false,
    };
    if !wrote && before.as_ref().is_some_and(|b| gist(b) == gist(&status)) {
        return;
    }
    let Some((_, json)) = compact(&status) else {
        return;
    };
    if let Err(e) = records.store(&name, &json).await {
        tracing::warn!(set = %name, error = %e, "cannot record the sync in the set's stored status");
    }
}

/// What makes a stored status worth replacing.
fn gist(s: &SetStatus) -> impl PartialEq + use<> {
    let namespaces: Vec<_> = s
        .namespaces
        .iter()
        .map(|(ns, n)| {
            (
                ns.clone(),
                n.last_applied_revision.clone(),
                n.failures.clone(),
            )
        })
        .collect();
    (
        s.result.clone(),
        s.ready,
        s.error.clone(),
        s.last_applied_revision.clone(),
        s.last_attempted_revision.clone(),
        namespaces,
    )
}
