//! One sync (or preview) of a rendered revision: resolve, check the inventory guards, plan and
//! apply in two phases (Namespaces and CRDs first, then everything else), prune what Git no
//! longer holds, and report per namespace.

mod inventory;
mod scope;

pub use scope::{Scope, ScopeSet};

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tracing::Instrument as _;

use crate::apply::{self, ApplyOptions};
use crate::cluster::{Cluster, Propagation};
use crate::error::Result;
use crate::plan::inventory::{Budget, Parent};
use crate::plan::{self, Context, DEFAULT_TAKEOVER_MANAGERS, NamespaceKey, order};
use crate::render::{self, DesiredObject, Manifest, Rendered};
use crate::report::{Mode, ObjectReport, Outcome, Report};

#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Preview only: dry-run everything, write nothing.
    pub dry_run: bool,
    pub concurrency: usize,
    pub force_conflicts: bool,
    /// Namespace for namespaced objects that name none.
    pub default_namespace: Option<String>,
    /// How long to wait for a new CRD to be Established.
    pub crd_timeout: Duration,
    pub scope: Scope,
    /// Take over existing objects driftless did not create.
    pub adopt: bool,
    /// Field-manager prefixes whose changes are drift to take back.
    pub takeover_managers: Vec<String>,
    /// Where the cluster-scoped objects' inventory lives.
    pub inventory_namespace: String,
    /// `None`: never delete anything.
    pub prune: Option<PruneOptions>,
}

#[derive(Debug, Clone, Copy)]
pub struct PruneOptions {
    pub budget: Budget,
    pub propagation: Propagation,
    pub namespaces: bool,
    pub crds: bool,
    pub allow_empty: bool,
}

impl Default for PruneOptions {
    fn default() -> Self {
        PruneOptions {
            budget: Budget::Percent(25),
            propagation: Propagation::Background,
            namespaces: false,
            crds: false,
            allow_empty: false,
        }
    }
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            dry_run: false,
            concurrency: 8,
            force_conflicts: false,
            default_namespace: None,
            crd_timeout: Duration::from_secs(60),
            scope: Scope::All,
            adopt: false,
            takeover_managers: DEFAULT_TAKEOVER_MANAGERS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            inventory_namespace: "driftless-system".into(),
            prune: None,
        }
    }
}

/// Syncs (or previews) one rendered revision. Resolve problems (a namespaced object with no
/// namespace, a duplicate) and refused prunes are errors of the whole run: nothing is applied.
/// Failures of single objects fail their namespace in the report.
pub async fn run(
    cluster: &mut Cluster,
    rendered: &Rendered,
    options: &SyncOptions,
) -> Result<Report> {
    // Every log line of this run names the revision it comes from.
    let span = tracing::info_span!(
        "sync",
        revision = rendered.revision.as_deref().unwrap_or("-")
    );
    run_in_span(cluster, rendered, options)
        .instrument(span)
        .await
}

async fn run_in_span(
    cluster: &mut Cluster,
    rendered: &Rendered,
    options: &SyncOptions,
) -> Result<Report> {
    let revision = rendered.revision.as_deref();
    let mode = if options.dry_run {
        Mode::Preview
    } else {
        Mode::Sync
    };
    let mut report = Report::new(mode, rendered.origin.clone(), rendered.revision.clone());
    let desired = resolve(cluster, &rendered.manifests, options)?;
    let scope = ScopeSet::new(&options.scope, &desired);
    let (desired, outside): (Vec<_>, Vec<_>) =
        desired.into_iter().partition(|o| scope.contains(&o.id));
    for o in outside {
        report.extend(o.id.namespace.clone(), vec![ObjectReport::out_of_scope(o)]);
    }
    tracing::info!(objects = desired.len(), source = %rendered.origin, "resolved");

    let inventories = match &options.prune {
        Some(prune) => {
            let keys =
                inventory::keys(cluster, &desired, &scope, &options.inventory_namespace).await;
            let found = inventory::gather(cluster, &keys, &desired, options, prune, revision).await;
            inventory::check_guards(&found, desired.len(), prune)?;
            found
        }
        None => Vec::new(),
    };
    // What each parent lists now. Without --prune, still read: a sync that does not prune must
    // not drop the kinds of members a later pruning sync has to find.
    let live_kinds: BTreeMap<NamespaceKey, BTreeSet<String>> = match &options.prune {
        Some(_) => inventories
            .iter()
            .map(|i| (i.key.clone(), i.live_kinds.clone()))
            .collect(),
        None if options.dry_run => BTreeMap::new(),
        None => {
            let keys = desired
                .iter()
                .map(|o| o.id.namespace.clone())
                .chain([None])
                .collect();
            inventory::read_parents(cluster, &keys, &options.inventory_namespace).await
        }
    };

    if !options.dry_run {
        // The cluster-scoped inventory first: Namespaces are applied next.
        let kinds = inventory::desired_kinds(&desired);
        let parents = pre_apply_kinds(&kinds, &live_kinds, options, |k| k.is_none());
        inventory::write_parents(cluster, &parents, &options.inventory_namespace).await;
    }
    let (foundation, _) = split(labelled(desired, options));
    let new_namespaces: BTreeSet<String> = foundation
        .iter()
        .filter(|o| o.id.is_namespace())
        .map(|o| o.id.name.clone())
        .collect();
    let foundation_results =
        run_phase(cluster, foundation, &new_namespaces, options, revision).await;
    let new_crds = written_crds(&foundation_results);
    for (ns, lines) in foundation_results {
        report.extend(ns, lines);
    }
    if !options.dry_run && !new_crds.is_empty() {
        for name in &new_crds {
            if let Err(e) = cluster.wait_established(name, options.crd_timeout).await {
                tracing::warn!(crd = %name, error = %e, "CRD not established");
            }
        }
        cluster.refresh_catalog().await?;
    }
    // Resolve again: CRDs established above make their kinds known to discovery.
    let desired: Vec<DesiredObject> = resolve(cluster, &rendered.manifests, options)?
        .into_iter()
        .filter(|o| scope.contains(&o.id))
        .collect();
    let wanted_kinds = inventory::desired_kinds(&desired);
    if !options.dry_run {
        // Before applying, the namespaces' parents list every kind they may hold: old and new.
        let parents = pre_apply_kinds(&wanted_kinds, &live_kinds, options, |k| k.is_some());
        inventory::write_parents(cluster, &parents, &options.inventory_namespace).await;
    }
    let (_, rest) = split(labelled(desired, options));
    for (ns, lines) in run_phase(cluster, rest, &new_namespaces, options, revision).await {
        report.extend(ns, lines);
    }

    if let Some(prune) = &options.prune {
        let failed: BTreeSet<NamespaceKey> = report
            .namespaces
            .iter()
            .filter(|n| {
                n.objects
                    .iter()
                    .any(|o| matches!(o.outcome, Outcome::Failed | Outcome::Held))
            })
            .map(|n| n.namespace.clone())
            .collect();
        let (lines, remaining) =
            inventory::prune(cluster, inventories, &failed, options, prune).await;
        for (ns, l) in lines {
            report.extend(ns, l);
        }
        if !options.dry_run {
            // After pruning, the parents list what they hold now: desired, kept and failed.
            let parents = post_prune_kinds(&wanted_kinds, &live_kinds, &remaining, options);
            inventory::write_parents(cluster, &parents, &options.inventory_namespace).await;
        }
    }
    Ok(report)
}

/// Each key's parent, listing the desired group-kinds plus `extra[key]`.
fn parents<'a>(
    keys: impl IntoIterator<Item = &'a NamespaceKey>,
    wanted: &BTreeMap<NamespaceKey, BTreeSet<String>>,
    extra: &BTreeMap<NamespaceKey, BTreeSet<String>>,
    options: &SyncOptions,
) -> Vec<(Parent, BTreeSet<String>)> {
    let keys: BTreeSet<&NamespaceKey> = keys.into_iter().collect();
    keys.into_iter()
        .map(|key| {
            let mut kinds = wanted.get(key).cloned().unwrap_or_default();
            kinds.extend(extra.get(key).into_iter().flatten().cloned());
            (Parent::for_scope(key, &options.inventory_namespace), kinds)
        })
        .collect()
}

/// Before applying, the parents of the keys `which` selects list the union of what they listed
/// and what the desired set holds, so an interrupted sync leaves every member findable. Nothing
/// to record and nothing recorded: no parent.
fn pre_apply_kinds(
    wanted: &BTreeMap<NamespaceKey, BTreeSet<String>>,
    live: &BTreeMap<NamespaceKey, BTreeSet<String>>,
    options: &SyncOptions,
    which: impl Fn(&NamespaceKey) -> bool,
) -> Vec<(Parent, BTreeSet<String>)> {
    let keys = wanted.keys().chain(live.keys()).filter(|k| which(k));
    let mut list = parents(keys, wanted, live, options);
    list.retain(|(_, kinds)| !kinds.is_empty());
    list
}

/// After pruning, each parent lists what it holds now: the desired kinds, and those of members
/// still present (kept, or whose delete failed); possibly nothing.
fn post_prune_kinds(
    wanted: &BTreeMap<NamespaceKey, BTreeSet<String>>,
    live: &BTreeMap<NamespaceKey, BTreeSet<String>>,
    remaining: &BTreeMap<NamespaceKey, BTreeSet<String>>,
    options: &SyncOptions,
) -> Vec<(Parent, BTreeSet<String>)> {
    parents(wanted.keys().chain(live.keys()), wanted, remaining, options)
}

fn labelled(mut desired: Vec<DesiredObject>, options: &SyncOptions) -> Vec<DesiredObject> {
    inventory::label_members(&mut desired, &options.inventory_namespace);
    desired
}

fn resolve(
    cluster: &Cluster,
    manifests: &[Manifest],
    options: &SyncOptions,
) -> Result<Vec<DesiredObject>> {
    Ok(render::resolve(
        manifests,
        cluster.catalog(),
        options.default_namespace.as_deref(),
    )?
    .objects)
}

fn split(desired: Vec<DesiredObject>) -> (Vec<DesiredObject>, Vec<DesiredObject>) {
    desired
        .into_iter()
        .partition(|o| order::is_foundation(&o.id))
}

async fn run_phase(
    cluster: &Cluster,
    objects: Vec<DesiredObject>,
    new_namespaces: &BTreeSet<String>,
    options: &SyncOptions,
    revision: Option<&str>,
) -> Vec<(NamespaceKey, Vec<ObjectReport>)> {
    // A sync has already created its namespaces and CRDs by the second phase; only a preview
    // may plan objects whose namespace or CRD does not exist yet.
    let empty = BTreeSet::new();
    let pending_ok = if options.dry_run {
        new_namespaces
    } else {
        &empty
    };
    let ctx = Context {
        field_manager: cluster.field_manager(),
        revision,
        adopt: options.adopt,
        takeover_managers: &options.takeover_managers,
    };
    let plans = plan::observe(
        cluster,
        objects,
        pending_ok,
        options.dry_run,
        options.concurrency,
        ctx,
    )
    .await;
    let grouped = plan::group_by_namespace(plans);
    if options.dry_run {
        return grouped
            .into_iter()
            .map(|ns| {
                (
                    ns.namespace,
                    ns.objects.into_iter().map(ObjectReport::planned).collect(),
                )
            })
            .collect();
    }
    let apply_options = ApplyOptions {
        concurrency: options.concurrency,
        force_conflicts: options.force_conflicts,
    };
    apply::execute(cluster, grouped, apply_options).await
}

/// Names of CRDs that this phase created or changed.
fn written_crds(results: &[(NamespaceKey, Vec<ObjectReport>)]) -> Vec<String> {
    results
        .iter()
        .flat_map(|(_, lines)| lines)
        .filter(|l| l.id.is_crd())
        .filter(|l| matches!(l.outcome, Outcome::Created | Outcome::Configured))
        .map(|l| l.id.name.clone())
        .collect()
}
