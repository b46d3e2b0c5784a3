//! One sync (or preview) of a rendered revision for one sync set, in the README's steps:
//! 1. resolve the desired set and keep what is in scope;
//! 2. load the set's inventory; with `--prune`, find what Git dropped and check the guards;
//! 3. Namespaces and CRDs: plan, record the cluster-scoped parent, apply, wait for the CRDs;
//! 4. everything else: plan, record the namespaces' parents, apply;
//! 5. prune, and record what the parents hold now;
//! 6. with `--wait`, once the Lease is given back, wait until what the sync manages is healthy.
//!
//! A preview writes nothing. A sync takes the set's Lease just before its first write, so a sync
//! with nothing to do writes nothing at all; if another writer of the set ran since planning
//! began, it plans again under the Lease.

mod phase;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tracing::Instrument as _;

use crate::cluster::Cluster;
use crate::error::{Error, Result};
use crate::halt::Halt;
use crate::health::WaitOptions;
use crate::inventory::{
    self, Claim, Inventory, ListOptions, LockOptions, PruneRules, PruneSettings, Scope, ScopeSet,
    SetLock, SetRef, Taken,
};
use crate::plan::{DEFAULT_TAKEOVER_MANAGERS, NamespaceKey, order};
use crate::render::{self, DesiredObject, Rendered};
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
    /// Take over existing objects that no sync set owns and driftless did not create.
    pub adopt: bool,
    /// Field-manager prefixes whose changes are drift to take back.
    pub takeover_managers: Vec<String>,
    /// The sync set: its name and where its cluster-wide records live.
    pub set: SetRef,
    /// The source this sync writes the set from (the set's parents record it).
    pub claim: Claim,
    /// How long a sync waits for another writer of the set.
    pub lock_timeout: Duration,
    /// `None`: never delete anything.
    pub prune: Option<PruneSettings>,
    /// `Some`: after applying, wait until what the sync manages is healthy (`--wait`).
    pub wait: Option<WaitOptions>,
    /// Take the dry-run path for every object, even those the ledger proves unchanged.
    pub verify: bool,
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
            set: SetRef {
                name: Default::default(),
                inventory_namespace: "driftless-system".into(),
            },
            claim: Claim::default(),
            lock_timeout: Duration::from_secs(60),
            prune: None,
            verify: false,
            wait: None,
        }
    }
}

/// Syncs (or previews) one rendered revision. Resolve problems (a namespaced object with no
/// namespace, a duplicate), an unreadable inventory and refused prunes are errors of the whole
/// run: nothing is written. Failures of single objects fail their namespace in the report.
/// Once `halt` fires, no new request that plans or writes starts: what is left is reported as
/// not attempted, and the inventories stay consistent (they record before every apply, and
/// are never shrunk after a halt).
pub async fn run(
    cluster: &Cluster,
    rendered: Rendered,
    options: &SyncOptions,
    halt: &Halt,
) -> Result<Report> {
    // Every log line of this run names the set and the revision it comes from.
    let span = tracing::info_span!(
        "sync",
        set = %options.set.name,
        revision = rendered.revision.as_deref().unwrap_or("-")
    );
    run_locked(cluster, rendered, options, halt)
        .instrument(span)
        .await
}

/// A revision's desired set, resolved once: every pass and phase shares these objects.
struct Desired {
    origin: String,
    revision: Option<String>,
    scope: ScopeSet,
    /// In scope, labelled as the set's members.
    objects: Vec<Arc<DesiredObject>>,
    /// Out of scope, reported as skipped.
    outside: Vec<ObjectReport>,
}

impl Desired {
    /// Resolves the manifests (taking them: the desired set is the one copy kept), keeps what
    /// is in scope and labels it as the set's.
    fn resolve(cluster: &Cluster, rendered: Rendered, options: &SyncOptions) -> Result<Desired> {
        let resolved = render::resolve(
            rendered.manifests,
            &*cluster.catalog(),
            options.default_namespace.as_deref(),
        )?;
        let scope = ScopeSet::new(&options.scope);
        let (mut inside, outside): (Vec<_>, Vec<_>) = resolved
            .objects
            .into_iter()
            .partition(|o| scope.contains(&o.id));
        options.set.label(&mut inside);
        tracing::info!(objects = inside.len(), source = %rendered.origin, "resolved");
        Ok(Desired {
            origin: rendered.origin,
            revision: rendered.revision,
            scope,
            objects: inside.into_iter().map(Arc::new).collect(),
            outside: outside
                .into_iter()
                .map(ObjectReport::out_of_scope)
                .collect(),
        })
    }
}

async fn run_locked(
    cluster: &Cluster,
    rendered: Rendered,
    options: &SyncOptions,
    halt: &Halt,
) -> Result<Report> {
    let source = Desired::resolve(cluster, rendered, options)?;
    if options.dry_run {
        return finish(
            cluster,
            run_passes(cluster, &source, options, None, halt).await,
            options,
            halt,
        )
        .await;
    }
    let set = &options.set;
    let lock_options = LockOptions::for_cli(options.lock_timeout);
    let lock = SetLock::new(cluster, &set.name, &set.inventory_namespace, lock_options);
    lock.observe().await?;
    let result = run_passes(cluster, &source, options, Some(&lock), halt).await;
    if let (Ok(report), Some(revision)) = (&result, &source.revision)
        && !report.failed()
    {
        lock.record_revision(revision);
    }
    lock.release().await;
    finish(cluster, result, options, halt).await
}

/// Syncs one rendered revision under a Lease the caller already holds (the agent, which
/// leads the set): the Lease stays held, and records the revision once the sync succeeds.
/// Also returns the set's desired objects, as resolved and labelled (what drift is measured
/// against).
pub async fn run_held(
    cluster: &Cluster,
    rendered: Rendered,
    options: &SyncOptions,
    lock: &SetLock,
    halt: &Halt,
) -> Result<(Report, Vec<Arc<DesiredObject>>)> {
    let span = tracing::info_span!(
        "sync",
        set = %options.set.name,
        revision = rendered.revision.as_deref().unwrap_or("-")
    );
    async {
        let source = Desired::resolve(cluster, rendered, options)?;
        let result = run_passes(cluster, &source, options, Some(lock), halt).await;
        if let (Ok(report), Some(revision)) = (&result, &source.revision)
            && !options.dry_run
            && !report.failed()
        {
            lock.record_revision(revision);
        }
        let report = finish(cluster, result, options, halt).await?;
        Ok((report, source.objects))
    }
    .instrument(span)
    .await
}

/// One pass, and a second one if another writer of the set ran while the first planned.
async fn run_passes(
    cluster: &Cluster,
    source: &Desired,
    options: &SyncOptions,
    lock: Option<&SetLock>,
    halt: &Halt,
) -> Result<Report, Stop> {
    let result = pass(cluster, source, options, lock, halt).await;
    if !matches!(result, Err(Stop::Replan)) {
        return result;
    }
    tracing::info!("another writer of this sync set ran meanwhile: planning again");
    pass(cluster, source, options, lock, halt).await
}

async fn finish(
    cluster: &Cluster,
    result: Result<Report, Stop>,
    options: &SyncOptions,
    halt: &Halt,
) -> Result<Report> {
    let mut report = result.map_err(|stop| match stop {
        Stop::Failed(e) => e,
        Stop::Replan => Error::Lock("the sync set changed under its own Lease".into()),
    })?;
    // After the Lease is given back: waiting writes nothing and must not keep writers out.
    if let Some(wait) = options.wait.as_ref().filter(|_| !options.dry_run) {
        crate::health::wait(cluster, &mut report, wait, options.concurrency, halt).await;
    }
    Ok(report)
}

/// Why a pass ended early.
enum Stop {
    Failed(Error),
    /// The Lease was taken after another writer: the plan is stale, nothing was written yet.
    Replan,
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Stop::Failed(e)
    }
}

/// What a pass needs at hand.
struct Pass<'a> {
    options: &'a SyncOptions,
    revision: Option<&'a str>,
    lock: Option<&'a SetLock>,
    halt: &'a Halt,
}

impl Pass<'_> {
    /// Takes the set's Lease before the first write (nothing to take in a preview).
    async fn writer(&mut self, cluster: &Cluster) -> Result<(), Stop> {
        let Some(lock) = self.lock else {
            return Ok(());
        };
        if !lock.is_held().await
            && lock.take(cluster, self.halt).await? == Taken::AfterAnotherWriter
        {
            return Err(Stop::Replan);
        }
        Ok(lock.check()?)
    }
}

async fn pass(
    cluster: &Cluster,
    source: &Desired,
    options: &SyncOptions,
    lock: Option<&SetLock>,
    halt: &Halt,
) -> Result<Report, Stop> {
    let mode = if options.dry_run {
        Mode::Preview
    } else {
        Mode::Sync
    };
    let mut report = Report::new(
        mode,
        options.set.name.to_string(),
        source.origin.clone(),
        source.revision.clone(),
    );
    let mut pass = Pass {
        options,
        revision: source.revision.as_deref(),
        lock,
        halt,
    };

    // 1. The desired set, in scope, labelled as the set's (resolved once, before any pass).
    let scope = &source.scope;
    for line in &source.outside {
        report.extend(line.id.namespace.clone(), vec![line.clone()]);
    }
    let desired = source.objects.clone();

    // 2. The inventory, what the set holds (one LIST per namespace and kind), and what Git
    //    dropped.
    let mut inventory =
        Inventory::load(cluster, &options.set, &options.claim, scope, &desired).await?;
    // Namespaces whose inventory this identity may not read fail alone; the others go on.
    let (desired, unreadable) = inventory.unreadable(desired);
    for (ns, (why, objects)) in unreadable {
        let key = Some(ns);
        report.fail_namespace(key.clone(), why.clone());
        let lines = objects
            .iter()
            .map(|o| ObjectReport::blocked(o, &why))
            .collect();
        report.extend(key, lines);
    }
    let all_desired = desired.clone();
    // Without --prune, what a prune would delete is reported as orphaned.
    let rules = match &options.prune {
        Some(prune) => PruneRules {
            field_manager: cluster.field_manager(),
            namespaces: prune.namespaces,
            crds: prune.crds,
            unpruned: Some(&prune.unpruned_namespaces),
        },
        None => PruneRules {
            field_manager: cluster.field_manager(),
            ..PruneRules::default()
        },
    };
    let list = ListOptions {
        field_manager: cluster.field_manager(),
        prune: rules,
        verify: options.verify,
        revision: pass.revision,
        concurrency: options.concurrency,
    };
    let index = inventory.list(cluster, &desired, list).await;
    if let Some(prune) = &options.prune {
        if prune.namespaces {
            inventory
                .check_namespaces(cluster, options.concurrency, halt)
                .await;
        }
        inventory.guard(desired.len(), prune, options.claim.knobs)?;
    }

    // 3. Namespaces and CRDs, after the cluster-scoped parent records every cluster-scoped
    //    kind of the sync (Namespaces are applied next, ClusterRoles in step 4).
    let kinds = inventory::desired_kinds(&desired);
    let (foundation, _) = split(desired);
    let new_namespaces: BTreeSet<String> = foundation
        .iter()
        .filter(|o| o.id.is_namespace())
        .map(|o| o.id.name.clone())
        .collect();
    let plans = phase::plan(
        cluster,
        &pass,
        &inventory,
        &index,
        foundation,
        &new_namespaces,
    )
    .await;
    let held = phase::record(cluster, &mut pass, &mut inventory, &plans, &kinds, |k| {
        k.is_none()
    })
    .await?;
    let results = phase::apply(cluster, &pass, plans, &held).await;
    let new_crds = written_crds(&results);
    report.extend_all(results);
    if !options.dry_run && !new_crds.is_empty() {
        for name in &new_crds {
            if let Err(e) = cluster.wait_established(name, options.crd_timeout).await {
                tracing::warn!(crd = %name, error = %e, "CRD not established");
            }
        }
        cluster.refresh_catalog().await?;
    }

    // 4. Everything else; CRDs established above make their kinds known.
    let wanted = inventory::desired_kinds(&all_desired);
    let (_, mut rest) = split(all_desired);
    render::refresh_kinds(&mut rest, &*cluster.catalog());
    let plans = phase::plan(cluster, &pass, &inventory, &index, rest, &new_namespaces).await;
    let held = phase::record(cluster, &mut pass, &mut inventory, &plans, &wanted, |k| {
        k.is_some()
    })
    .await?;
    report.extend_all(phase::apply(cluster, &pass, plans, &held).await);

    // 5. Prune, then record what each parent holds now and what was applied or verified.
    let failed = failed_namespaces(&report);
    if let Some(prune) = &options.prune {
        if !options.dry_run && inventory.has_prunes() {
            pass.writer(cluster).await?;
        }
        let lines = inventory
            .prune(
                cluster,
                &failed,
                options.dry_run,
                prune,
                options.concurrency,
                halt,
            )
            .await;
        report.extend_all(lines);
    } else {
        report.extend_all(inventory.orphans());
    }
    // After a halt the parents keep what they list: a superset, never a leak.
    if !options.dry_run && !halt.is_halted() {
        inventory.note(&report);
        let pruning = options.prune.is_some();
        if inventory.needs_record_after(&wanted, &failed, pruning) {
            pass.writer(cluster).await?;
        }
        let failures = inventory
            .record_after(cluster, &wanted, &failed, pruning)
            .await;
        report_inventory_failures(&mut report, failures);
    }
    Ok(report)
}

fn split(desired: Vec<Arc<DesiredObject>>) -> (Vec<Arc<DesiredObject>>, Vec<Arc<DesiredObject>>) {
    desired
        .into_iter()
        .partition(|o| order::is_foundation(&o.id))
}

/// Namespaces where anything failed or was held: nothing is pruned there.
fn failed_namespaces(report: &Report) -> BTreeSet<NamespaceKey> {
    report
        .namespaces
        .iter()
        .filter(|n| {
            n.objects
                .iter()
                .any(|o| matches!(o.outcome, Outcome::Failed | Outcome::Held))
        })
        .map(|n| n.namespace.clone())
        .collect()
}

/// A parent that could not be written after pruning fails its namespace: the next sync must
/// look again. It still lists at least what it held, so nothing is lost.
fn report_inventory_failures(
    report: &mut Report,
    failures: std::collections::BTreeMap<NamespaceKey, String>,
) {
    for (key, why) in failures {
        report.fail_namespace(key, why);
    }
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
