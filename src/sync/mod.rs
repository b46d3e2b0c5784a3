//! One sync (or preview) of a rendered revision for one sync set, in the README's steps:
//! 1. resolve the desired set and keep what is in scope;
//! 2. load the set's inventory and list what it holds; with `--prune`, check the guards;
//! 3. Namespaces and CRDs: plan, record the cluster-scoped parent, apply, wait for the CRDs;
//! 4. everything else: plan, record the namespaces' parents, apply;
//! 5. prune what Git dropped (without `--prune`: report it as orphaned);
//! 6. record what the parents hold now;
//! 7. with `--wait`, once the Lease is given back, wait until what the sync manages is healthy.
//!
//! What a pass may do is one value, its [`Access`]: a preview writes nothing (it holds no
//! Lease, so it can get no [`Writer`]); a sync takes the set's Lease just before its first
//! write, so a sync with nothing to do writes nothing at all. If another writer of the set ran
//! since planning began, it plans again under the Lease.

mod desired;
mod phase;
mod prune;
mod stages;

use std::collections::BTreeSet;
use std::time::Duration;

use tracing::Instrument as _;

use crate::cluster::{Cluster, LockOptions, SetLock, Taken, Writer};
use crate::error::{Error, Result};
use crate::halt::Halt;
use crate::health::WaitOptions;
use crate::inventory::{
    Claim, Inventory, ListOptions, Namespaces, Prefetched, PruneSettings, Scope, SetRef,
};
use crate::plan::prune::PruneRules;
use crate::plan::{DEFAULT_TAKEOVER_MANAGERS, NamespaceKey};
use crate::render::{DesiredObject, Rendered};
use crate::report::{Mode, ObjectReport, Outcome, Report};
use desired::Desired;

#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// [`Mode::Preview`]: dry-run everything, write nothing; [`Mode::Sync`]: apply.
    pub mode: Mode,
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
    /// Kinds replaced (deleted and created) when the server refuses a change as immutable,
    /// besides Jobs (`--replace-immutable`, `replaceImmutable`).
    pub replace_immutable: Vec<String>,
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
            mode: Mode::Sync,
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
            replace_immutable: Vec::new(),
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

impl SyncOptions {
    pub fn previews(&self) -> bool {
        self.mode == Mode::Preview
    }
}

/// Syncs (or previews) one rendered revision, taking the set's Lease for its writes and giving
/// it back. Resolve problems (a namespaced object with no namespace, a duplicate), an
/// unreadable inventory and refused prunes are errors of the whole run: nothing is written.
/// Failures of single objects fail their namespace in the report. Once `halt` fires, no new
/// request that plans or writes starts: what is left is reported as not attempted, and the
/// inventories stay consistent (they record before every apply, and are never shrunk after a
/// halt).
pub async fn run(
    cluster: &Cluster,
    rendered: Rendered,
    options: &SyncOptions,
    halt: &Halt,
) -> Result<Report> {
    let span = span(options, &rendered);
    async {
        let source = Desired::resolve(cluster, rendered, options)?;
        if options.previews() {
            let result = run_passes(cluster, &source, options, Access::Preview, halt).await;
            return finish(cluster, result, options, halt).await;
        }
        let lock = options
            .set
            .lock(cluster, LockOptions::for_cli(options.lock_timeout));
        lock.observe().await?;
        let result = run_passes(cluster, &source, options, Access::Lease(&lock), halt).await;
        record_revision(&lock, &result, &source);
        lock.release().await;
        finish(cluster, result, options, halt).await
    }
    .instrument(span)
    .await
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
) -> Result<(Report, Vec<std::sync::Arc<DesiredObject>>)> {
    let span = span(options, &rendered);
    async {
        let source = Desired::resolve(cluster, rendered, options)?;
        let access = match options.mode {
            Mode::Sync => Access::Lease(lock),
            _ => Access::Preview,
        };
        let result = run_passes(cluster, &source, options, access, halt).await;
        if access.writes() {
            record_revision(lock, &result, &source);
        }
        let report = finish(cluster, result, options, halt).await?;
        Ok((report, source.objects))
    }
    .instrument(span)
    .await
}

/// Every log line of a run names the set and the revision it comes from.
fn span(options: &SyncOptions, rendered: &Rendered) -> tracing::Span {
    tracing::info_span!(
        "sync",
        set = %options.set.name,
        revision = rendered.revision.as_deref().unwrap_or("-")
    )
}

/// A revision synced with no failure is the one the set's Lease records, with the charts it
/// resolved (a directory has no revision, but its charts are as much worth recording).
fn record_revision(lock: &SetLock, result: &Result<Report, Stop>, source: &Desired) {
    let Ok(report) = result else { return };
    if report.failed() {
        return;
    }
    if let Some(revision) = &source.revision {
        lock.record_revision(revision);
    }
    lock.record_charts(charts_record(&source.charts));
}

/// The charts as the Lease records them: a line each, within an annotation's room.
fn charts_record(charts: &[crate::render::ResolvedChart]) -> String {
    const ROOM: usize = 16 << 10;
    let mut out = String::new();
    for c in charts {
        let line = format!("{} {} {} {}\n", c.chart, c.version, c.digest, c.repo);
        if out.len() + line.len() > ROOM {
            break;
        }
        out.push_str(&line);
    }
    out
}

/// What a pass may do: nothing but read (a preview), or write under the set's Lease.
#[derive(Clone, Copy)]
enum Access<'a> {
    Preview,
    Lease(&'a SetLock),
}

impl Access<'_> {
    fn writes(self) -> bool {
        matches!(self, Access::Lease(_))
    }

    fn mode(self) -> Mode {
        match self {
            Access::Preview => Mode::Preview,
            Access::Lease(_) => Mode::Sync,
        }
    }
}

/// One pass, and a second one if another writer of the set ran while the first planned.
async fn run_passes(
    cluster: &Cluster,
    source: &Desired,
    options: &SyncOptions,
    access: Access<'_>,
    halt: &Halt,
) -> Result<Report, Stop> {
    let pass = Pass {
        options,
        revision: source.revision.as_deref(),
        access,
        halt,
    };
    let result = pass.run(cluster, source).await;
    if !matches!(result, Err(Stop::Replan)) {
        return result;
    }
    tracing::info!("another writer of this sync set ran meanwhile: planning again");
    pass.run(cluster, source).await
}

/// Step 7: with `--wait`, after the Lease is given back (waiting writes nothing and must not
/// keep writers out), waits until what the sync manages is healthy.
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
    if let Some(wait) = options.wait.as_ref().filter(|_| !options.previews()) {
        let objects = report.to_wait_on();
        let health = crate::health::wait(cluster, objects, wait, options.concurrency, halt).await;
        report.record_health(health);
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
    access: Access<'a>,
    halt: &'a Halt,
}

impl Pass<'_> {
    /// The right to write: takes the set's Lease if it is not held yet (`None` in a preview).
    async fn writer<'c>(&self, cluster: &'c Cluster) -> Result<Option<Writer<'c>>, Stop> {
        let Access::Lease(lock) = self.access else {
            return Ok(None);
        };
        if !lock.is_held().await
            && lock.take(cluster, self.halt).await? == Taken::AfterAnotherWriter
        {
            return Err(Stop::Replan);
        }
        Ok(Some(lock.writer(cluster).await?))
    }

    async fn run(&self, cluster: &Cluster, source: &Desired) -> Result<Report, Stop> {
        let options = self.options;
        let mut report = Report::new(
            self.access.mode(),
            options.set.name.to_string(),
            source.origin.clone(),
            source.revision.clone(),
        );
        report.charts = source.charts.clone();
        // 1. The desired set, in scope, labelled as the set's (resolved once, before any pass).
        for line in &source.outside {
            report.extend(line.id.namespace.clone(), vec![line.clone()]);
        }
        // 2. The inventory, what the set holds, and the guards.
        let (mut inventory, desired, index) = self.inventory(cluster, source, &mut report).await?;
        let wanted = crate::inventory::desired_kinds(&desired);
        // 3. and 4. Namespaces and CRDs, then everything else (see `phase`).
        let records =
            phase::apply_all(cluster, self, &mut inventory, &index, desired, &mut report).await?;
        // 5. Prune what Git dropped, where everything applied.
        let failed = failed_namespaces(&report);
        report.extend_all(prune::run(cluster, self, &mut inventory, &failed).await?);
        // 6. Record what each parent holds now (after a halt the parents keep what they list:
        //    a superset, never a leak).
        if self.access.writes() && !self.halt.is_halted() {
            inventory.note(&records);
            let pruning = options.prune.is_some();
            let writer = match inventory.needs_record_after(&wanted, &failed, pruning) {
                true => self.writer(cluster).await?,
                false => None,
            };
            if let Some(writer) = writer {
                let failures = inventory
                    .record_after(&writer, &wanted, &failed, pruning)
                    .await;
                for (key, why) in failures {
                    report.fail_namespace(key, why);
                }
            }
        }
        Ok(report)
    }

    /// Step 2: reads the set's inventory (failing namespaces it may not read), lists what it
    /// holds (one LIST per kind across its namespaces), and with `--prune` checks the guards. Returns
    /// the desired objects that can be synced, and what the listing found of them.
    async fn inventory(
        &self,
        cluster: &Cluster,
        source: &Desired,
        report: &mut Report,
    ) -> Result<
        (
            Inventory,
            Vec<std::sync::Arc<DesiredObject>>,
            crate::plan::live::LiveIndex,
        ),
        Stop,
    > {
        let options = self.options;
        let set = &options.set;
        // Which namespaces exist, and the first page of each LIST, are read beside the parents.
        let (inventory, namespaces, prefetched) = tokio::join!(
            Inventory::load(cluster, set, &options.claim, &source.scope, &source.objects),
            Namespaces::read(cluster, &source.objects),
            Prefetched::read(cluster, set, &source.objects, options.concurrency),
        );
        let mut inventory = inventory?;
        // Namespaces whose inventory this identity may not read fail alone; the others go on.
        let (desired, unreadable) = inventory.unreadable(source.objects.clone());
        for (ns, (why, objects)) in unreadable {
            let key = Some(ns);
            report.fail_namespace(key.clone(), why.clone());
            let lines = objects
                .iter()
                .map(|o| ObjectReport::blocked(o, &why))
                .collect();
            report.extend(key, lines);
        }
        let list = ListOptions {
            field_manager: cluster.field_manager(),
            prune: self.prune_rules(cluster),
            verify: options.verify,
            revision: self.revision,
            concurrency: options.concurrency,
            namespaces: &namespaces,
            prefetched: &prefetched,
        };
        let index = inventory.list(cluster, &desired, list).await;
        // The pages are parsed and dropped: what they left between live blocks goes back before
        // the plan and the report are built (2-5 MiB of a 10,000-object diff's peak).
        crate::memory::release();
        if let Some(prune) = &options.prune {
            if prune.namespaces {
                inventory
                    .check_namespaces(cluster, options.concurrency, self.halt)
                    .await;
            }
            inventory.guard(desired.len(), prune, options.claim.knobs)?;
        }
        Ok((inventory, desired, index))
    }

    /// What decides a prune; without `--prune`, what it would decide (orphans are reported).
    fn prune_rules<'c>(&'c self, cluster: &'c Cluster) -> PruneRules<'c> {
        let field_manager = cluster.field_manager();
        match &self.options.prune {
            Some(prune) => PruneRules {
                field_manager,
                namespaces: prune.namespaces,
                crds: prune.crds,
                unpruned: Some(&prune.unpruned_namespaces),
            },
            None => PruneRules {
                field_manager,
                ..PruneRules::default()
            },
        }
    }
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
