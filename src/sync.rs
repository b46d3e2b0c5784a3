//! One sync (or preview) of a snapshot: render, resolve, then plan and apply in two phases
//! (Namespaces and CRDs first, then everything else), and report per namespace.

use std::collections::BTreeSet;
use std::time::Duration;

use tracing::Instrument as _;

use crate::apply::{self, ApplyOptions};
use crate::cluster::Cluster;
use crate::error::Result;
use crate::plan::{self, order};
use crate::render::{self, DesiredObject, DesiredSet, Manifest, Rendered};
use crate::report::{Mode, ObjectReport, Report};

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
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            dry_run: false,
            concurrency: 8,
            force_conflicts: false,
            default_namespace: None,
            crd_timeout: Duration::from_secs(60),
        }
    }
}

/// Syncs (or previews) one rendered revision. Resolve problems (a namespaced object with no
/// namespace, a duplicate) are errors of the whole run: nothing is applied. Failures of single
/// objects fail their namespace in the report.
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
    let manifests = &rendered.manifests;
    let desired = resolve(cluster, manifests, options)?;
    let mode = if options.dry_run {
        Mode::Preview
    } else {
        Mode::Sync
    };
    let mut report = Report::new(mode, rendered.origin.clone(), rendered.revision.clone());
    tracing::info!(objects = desired.objects.len(), source = %rendered.origin, "resolved");

    let (foundation, _) = split(desired);
    let new_namespaces: BTreeSet<String> = foundation
        .iter()
        .filter(|o| o.id.group.is_empty() && o.id.kind == "Namespace")
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
    let (_, rest) = split(resolve(cluster, manifests, options)?);
    for (ns, lines) in run_phase(cluster, rest, &new_namespaces, options, revision).await {
        report.extend(ns, lines);
    }
    Ok(report)
}

fn resolve(cluster: &Cluster, manifests: &[Manifest], options: &SyncOptions) -> Result<DesiredSet> {
    Ok(render::resolve(
        manifests,
        cluster.catalog(),
        options.default_namespace.as_deref(),
    )?)
}

fn split(desired: DesiredSet) -> (Vec<DesiredObject>, Vec<DesiredObject>) {
    desired
        .objects
        .into_iter()
        .partition(|o| order::is_foundation(&o.id))
}

async fn run_phase(
    cluster: &Cluster,
    objects: Vec<DesiredObject>,
    new_namespaces: &BTreeSet<String>,
    options: &SyncOptions,
    revision: Option<&str>,
) -> Vec<(plan::NamespaceKey, Vec<ObjectReport>)> {
    // A sync has already created its namespaces and CRDs by the second phase; only a preview
    // may plan objects whose namespace or CRD does not exist yet.
    let empty = BTreeSet::new();
    let pending_ok = if options.dry_run {
        new_namespaces
    } else {
        &empty
    };
    let plans = plan::observe(
        cluster,
        objects,
        pending_ok,
        options.dry_run,
        options.concurrency,
        revision,
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
fn written_crds(results: &[(plan::NamespaceKey, Vec<ObjectReport>)]) -> Vec<String> {
    results
        .iter()
        .flat_map(|(_, lines)| lines)
        .filter(|l| l.id.kind == "CustomResourceDefinition" && l.id.group == "apiextensions.k8s.io")
        .filter(|l| {
            matches!(
                l.outcome,
                crate::report::Outcome::Created | crate::report::Outcome::Configured
            )
        })
        .map(|l| l.id.name.clone())
        .collect()
}
