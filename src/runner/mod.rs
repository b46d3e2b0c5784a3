//! The flow for one sync set, once or on every trigger. The CLI's `sync` and `diff`, their
//! `--watch` mode and the agent are thin layers over a [`Runner`]: they differ only in what
//! feeds its [`Triggers`] and what they do with each report.

mod directory;
mod recorded;
mod schedule;
mod triggers;

pub use schedule::{BACKOFF_CAP, Paced, Schedule, backoff};
pub use triggers::{Requester, Trigger, Triggers};

use std::sync::Arc;

use tokio_util::task::AbortOnDropHandle;

use crate::cluster::SetLock;
use crate::cluster::{Cluster, ConnectOptions};
use crate::error::{Error, Result, Stage};
use crate::halt::Halt;
use crate::lint::{LintReport, LintSettings};
use crate::render::{self, Rendered};
use crate::report::{Mode, Report};
use crate::settings::SetSettings;
use crate::source::{Snapshot, Source};
use crate::sync;

pub struct Runner {
    settings: SetSettings,
    connect: ConnectOptions,
    cluster: Option<Cluster>,
    /// The first connection, begun while the source is read and rendered: discovery and the
    /// TLS handshakes cost round trips that need not wait for the render.
    connecting: Option<Connecting>,
    /// Stops the whole run (a signal); each pass gets a child of it.
    halt: Halt,
    /// Lint each revision: findings go into its report, and past `--fail-on` a sync refuses.
    lint: Option<LintSettings>,
    /// The agent's: the Lease it writes under and where drift is told about passes; `None`:
    /// each pass takes and gives back the set's Lease itself, and an unchanged revision is
    /// skipped.
    lead: Option<Lead>,
    history: History,
}

/// What an agent's set worker adds to its runner.
pub struct Lead {
    /// The set's Lease, held and renewed by the worker.
    pub lock: Arc<SetLock>,
    /// Re-sync an unchanged revision this often (watches see drift in between).
    pub resync_every: std::time::Duration,
    /// Where the desired objects of each pass go (the drift watches).
    pub desired: tokio::sync::watch::Sender<crate::drift::Desired>,
    /// Sets this one waits for (`dependsOn`): it passes once each synced everything.
    pub depends_on: Vec<crate::inventory::SetName>,
    /// What `driftless suspend` and `reconcile` ask, from the set's Lease.
    pub control: tokio::sync::watch::Receiver<crate::cluster::Control>,
    /// The last reconcile request a pass answered (the set's stored status says).
    pub handled_reconcile: Option<String>,
    /// Whether to give the set to another replica now (asked between passes only).
    pub yield_now: Arc<dyn Fn() -> bool + Send + Sync>,
}

impl Lead {
    /// A reconcile request no pass answered yet, now answered by the pass about to run.
    fn take_reconcile(&mut self) -> Option<String> {
        let asked = self.control.borrow().reconcile.clone()?;
        if Some(&asked) == self.handled_reconcile.as_ref() {
            return None;
        }
        self.handled_reconcile = Some(asked.clone());
        Some(asked)
    }
}

/// What the passes so far found.
#[derive(Debug, Default)]
struct History {
    /// The revision the last pass processed.
    last_revision: Option<String>,
    /// The revision the cluster runs, as far as this runner knows.
    live_revision: Option<String>,
    /// A revision that did not render: not read again until the source moves on.
    broken_revision: Option<String>,
    /// When a pass last planned (and applied) the whole set.
    last_full: Option<std::time::Instant>,
    /// The agent's directory: its stamp when last read (see [`directory`]).
    dir_stamp: Option<String>,
}

/// One pass: what started it, what reading the source took, and what it did.
#[derive(Debug)]
pub struct Pass {
    pub trigger: Trigger,
    /// `None` for a directory source.
    pub fetch: Option<Fetch>,
    pub result: PassResult,
    pub elapsed: std::time::Duration,
    /// The `driftless reconcile` request this pass answered (its timestamp).
    pub reconciled: Option<String>,
}

/// How reading a Git source went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetch {
    /// The remote ref moved: objects were downloaded.
    Fetched,
    /// The remote ref had not moved (or the commit was cached): no download.
    UpToDate,
    Failed,
}

impl Fetch {
    pub fn label(self) -> &'static str {
        match self {
            Fetch::Fetched => "fetched",
            Fetch::UpToDate => "up_to_date",
            Fetch::Failed => "failed",
        }
    }
}

/// What one pass did: a report, a revision it skipped, or why it did not run.
#[derive(Debug)]
pub enum PassResult {
    Report(Box<Report>),
    /// The source's revision is the one last processed (or a broken one): nothing to do.
    Unchanged(Option<String>),
    /// A set it depends on has not synced everything yet: nothing read, nothing applied (why).
    Waiting(String),
    Failed(Error),
}

/// What a pass came to, in one word: `/report`, the metrics and the logs all say it this way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassOutcome {
    /// Everything applied.
    Synced,
    /// It ran, and some namespaces failed.
    Degraded,
    /// Nothing to do: the revision was the one last processed.
    Unchanged,
    /// Waiting for the sets it depends on.
    Waiting,
    /// Nothing applied: the source, the render, the cluster or a guard stopped it.
    Failed,
}

impl PassOutcome {
    pub fn label(self) -> &'static str {
        match self {
            PassOutcome::Synced => "synced",
            PassOutcome::Degraded => "degraded",
            PassOutcome::Unchanged => "unchanged",
            PassOutcome::Waiting => "waiting",
            PassOutcome::Failed => "failed",
        }
    }
}

impl PassResult {
    pub fn outcome(&self) -> PassOutcome {
        match self {
            PassResult::Report(r) if r.failed() => PassOutcome::Degraded,
            PassResult::Report(_) => PassOutcome::Synced,
            PassResult::Unchanged(_) => PassOutcome::Unchanged,
            PassResult::Waiting(_) => PassOutcome::Waiting,
            PassResult::Failed(_) => PassOutcome::Failed,
        }
    }

    /// How the pass paces the next one.
    pub fn paced(&self) -> Paced {
        match self {
            // Waiting is paced as a pass that ran: it looks again at the next interval.
            PassResult::Report(_) | PassResult::Unchanged(_) | PassResult::Waiting(_) => Paced::Ran,
            PassResult::Failed(e) if e.stage() == Stage::Render => Paced::Broken,
            PassResult::Failed(_) => Paced::Failed,
        }
    }
}

impl Runner {
    pub fn new(mut settings: SetSettings, connect: ConnectOptions) -> Runner {
        // The set's parents record where it comes from (see `inventory::Claim`).
        let claim = &mut settings.sync.claim;
        if claim.source.is_none() {
            claim.source = Some(settings.source.identity());
        }
        Runner {
            settings,
            connect,
            cluster: None,
            connecting: None,
            halt: Halt::new(),
            lint: None,
            lead: None,
            history: History::default(),
        }
    }

    /// Tells the drift watches each pass's desired objects, and when a pass writes.
    fn publish(&self, passing: bool, objects: Option<Vec<Arc<crate::render::DesiredObject>>>) {
        let Some(lead) = &self.lead else {
            return;
        };
        lead.desired.send_modify(|d| {
            d.passing = passing;
            if let Some(objects) = objects {
                d.objects = Arc::new(objects);
            }
        });
    }

    /// Lints every revision before planning it (see [`crate::lint`]).
    pub fn linted(mut self, settings: LintSettings) -> Runner {
        self.lint = Some(settings);
        self
    }

    /// Uses a connected cluster (shared by the agent's sets) instead of connecting.
    pub fn on_cluster(mut self, cluster: Cluster) -> Runner {
        self.cluster = Some(cluster);
        self
    }

    /// Writes under the Lease the caller holds and renews, re-syncing an unchanged revision
    /// every `lead.resync_every` (the agent). `live` is the revision the Lease records as
    /// synced.
    pub fn leading(mut self, lead: Lead, live: Option<String>) -> Runner {
        self.lead = Some(lead);
        self.history.live_revision = live;
        self
    }

    /// Stops starting work once `halt` fires (signals, in the CLI and the agent).
    pub fn halted_by(mut self, halt: Halt) -> Runner {
        self.halt = halt;
        self
    }

    pub fn settings(&self) -> &SetSettings {
        &self.settings
    }

    /// The revision the cluster runs, as far as this runner knows.
    pub fn live_revision(&self) -> Option<&str> {
        self.history.live_revision.as_deref()
    }

    /// One full pass: read, render, plan, and apply (or preview). A sync records it in the
    /// set's stored status.
    pub async fn run_once(&mut self) -> Result<Report> {
        let started = std::time::Instant::now();
        let (halt, deadline) = self.pass_halt();
        self.begin_connecting().await;
        let load = self.settings.source.load(&self.settings.source_options);
        let result = match until_halted(&halt, "reading the source", load).await {
            Ok(snapshot) => self.process(snapshot, &halt).await,
            Err(e) => Err(self.not_applied(e, None)),
        };
        if let Some(timer) = deadline {
            timer.abort();
        }
        let (Some(cluster), Mode::Sync) = (&self.cluster, self.settings.sync.mode) else {
            return result;
        };
        // The report goes into the pass to be recorded, and comes back out.
        let pass = self.pass_of(
            match result {
                Ok(report) => PassResult::Report(Box::new(report)),
                Err(e) => PassResult::Failed(e),
            },
            started,
        );
        let source = self.settings.source.describe();
        recorded::record(cluster, &self.settings.sync.set, &source, &pass).await;
        match pass.result {
            PassResult::Report(report) => Ok(*report),
            PassResult::Failed(e) => Err(e),
            PassResult::Unchanged(_) | PassResult::Waiting(_) => {
                Err(Error::Lock("a one-shot pass always runs".into()))
            }
        }
    }

    fn pass_of(&self, result: PassResult, started: std::time::Instant) -> Pass {
        Pass {
            trigger: Trigger::Requested,
            fetch: None,
            result,
            elapsed: started.elapsed(),
            reconciled: None,
        }
    }

    /// The halt of one pass: the run's (signals), and the pass's own deadline (`--timeout`)
    /// from its very start, so reading, rendering and connecting count too.
    fn pass_halt(&self) -> (Halt, Option<tokio::task::JoinHandle<()>>) {
        let halt = self.halt.child();
        let deadline = self.settings.timeout.map(|t| halt.with_deadline(t));
        (halt, deadline)
    }

    /// A pass, skipping a revision already processed (unless re-syncing) or known broken.
    pub async fn pass(&mut self, trigger: Trigger) -> Pass {
        let started = std::time::Instant::now();
        if let Some(why) = self.waiting().await {
            let reconciled = self.take_reconcile();
            return Pass {
                trigger,
                fetch: None,
                result: PassResult::Waiting(why),
                elapsed: started.elapsed(),
                reconciled,
            };
        }
        // A reconcile asked for is a full pass, as a resync.
        let reconciled = self.take_reconcile();
        let seen = &self.history;
        let resync_due = match (&self.lead, seen.last_full) {
            _ if reconciled.is_some() || trigger == Trigger::Resumed => true,
            (Some(lead), Some(at)) => at.elapsed() >= lead.resync_every,
            (Some(_), None) => true,
            (None, _) => false,
        };
        let skip = match resync_due {
            true => seen.broken_revision.clone(),
            false => seen.last_revision.clone().or(seen.broken_revision.clone()),
        };
        let is_git = matches!(self.settings.source, Source::Git(_) | Source::Oci(_));
        // The agent's directory, untouched since it was last read: nothing is read at all.
        let stamp = self.dir_stamp().await;
        if !resync_due && stamp.is_some() && stamp == self.history.dir_stamp {
            return Pass {
                trigger,
                fetch: None,
                result: PassResult::Unchanged(skip),
                elapsed: started.elapsed(),
                reconciled,
            };
        }
        let (halt, deadline) = self.pass_halt();
        self.begin_connecting().await;
        let read = self
            .settings
            .source
            .read(&self.settings.source_options, skip.as_deref());
        let read = until_halted(&halt, "reading the source", read).await;
        let (fetch, result) = match read {
            Ok(read) => {
                let fetch = match read.downloaded {
                    true => Fetch::Fetched,
                    false => Fetch::UpToDate,
                };
                let snapshot = read.snapshot.map(|mut snapshot| {
                    if stamp.is_some() {
                        let revision = directory::revision(&snapshot, &self.settings.render);
                        snapshot.revision = Some(revision);
                    }
                    snapshot
                });
                // A directory read again that holds the same bytes: the revision processed.
                let snapshot =
                    snapshot.filter(|s| resync_due || s.revision.is_none() || s.revision != skip);
                let result = match snapshot {
                    Some(snapshot) => match self.process(snapshot, &halt).await {
                        Ok(report) => PassResult::Report(Box::new(report)),
                        Err(e) => PassResult::Failed(e),
                    },
                    None => PassResult::Unchanged(skip),
                };
                (fetch, result)
            }
            Err(e) => (Fetch::Failed, PassResult::Failed(self.not_applied(e, None))),
        };
        if let Some(timer) = deadline {
            timer.abort();
        }
        // The stamp stands for what the pass made of the directory: a revision processed or
        // known broken. A pass that failed otherwise (the cluster) reads it again next time.
        let settled = match &result {
            PassResult::Failed(e) => e.stage() == Stage::Render,
            _ => true,
        };
        self.history.dir_stamp = stamp.filter(|_| settled);
        Pass {
            trigger,
            fetch: is_git.then_some(fetch),
            result,
            elapsed: started.elapsed(),
            reconciled,
        }
    }

    /// Why this set waits (`dependsOn`): the first set it depends on whose Lease does not say
    /// its last pass synced everything.
    async fn waiting(&self) -> Option<String> {
        let lead = self.lead.as_ref()?;
        for set in &lead.depends_on {
            let lease = format!("driftless-{set}");
            match lead.lock.peer_ready(&lease).await {
                Ok(true) => {}
                Ok(false) => {
                    return Some(format!(
                        "waiting for sync set \"{set}\" (dependsOn) to sync everything"
                    ));
                }
                Err(e) => return Some(format!("waiting for sync set \"{set}\" (dependsOn): {e}")),
            }
        }
        None
    }

    /// Runs a pass on every trigger until halted (or, leading, until the set is to be given
    /// away), handing each to `on_pass`.
    pub async fn run(&mut self, mut triggers: Triggers, mut on_pass: impl FnMut(&Pass)) {
        let halt = self.halt.clone();
        while let Some(trigger) = triggers.next(&halt).await {
            if self.lead.as_ref().is_some_and(|l| (l.yield_now)()) {
                // Another replica takes the set over: between passes, never during one.
                return;
            }
            if self.suspended() {
                // Nothing runs; `resume` asks for a pass.
                triggers.after(schedule::Paced::Ran);
                continue;
            }
            let pass = self.pass(trigger).await;
            triggers.after(pass.result.paced());
            on_pass(&pass);
            if !matches!(
                pass.result,
                PassResult::Unchanged(_) | PassResult::Waiting(_)
            ) {
                // What the pass read, planned and reported is freed; the pages stay ours
                // until handed back.
                crate::memory::release();
            }
        }
    }

    /// The stamp of the agent's directory source (`None` for other sources, and for the CLI,
    /// which reads a directory whole every time and names no revision for it).
    async fn dir_stamp(&self) -> Option<String> {
        let (Some(_), Source::Dir(path)) = (&self.lead, &self.settings.source) else {
            return None;
        };
        let path = path.clone();
        tokio::task::spawn_blocking(move || directory::stamp(&path))
            .await
            .ok()
    }

    fn take_reconcile(&mut self) -> Option<String> {
        self.lead.as_mut().and_then(Lead::take_reconcile)
    }

    /// `driftless suspend`: the agent runs no pass for the set.
    fn suspended(&self) -> bool {
        self.lead
            .as_ref()
            .is_some_and(|lead| lead.control.borrow().suspended)
    }

    /// The triggers of `--watch`: file events for a directory, polling for Git.
    pub fn watch_triggers(&self) -> Result<Triggers> {
        match &self.settings.source {
            Source::Dir(path) => {
                let mut triggers = Triggers::new(None);
                triggers
                    .watch_dir(path)
                    .map_err(|e| watch_err(&self.settings.source, e))?;
                triggers.requester().request(Trigger::Schedule);
                Ok(triggers)
            }
            Source::Git(_) | Source::Oci(_) => {
                Ok(Triggers::new(Some(Schedule::new(self.settings.interval))))
            }
        }
    }

    async fn process(&mut self, snapshot: Snapshot, halt: &Halt) -> Result<Report> {
        let revision = snapshot.revision.clone();
        let (rendered, lint) = until_halted(halt, "rendering", self.render(snapshot)).await?;
        let connect = self.connected(&rendered);
        let cluster = until_halted(halt, "connecting to the cluster", connect)
            .await
            .map_err(|e| self.not_applied(e, revision.as_deref()))?;
        let options = &self.settings.sync;
        self.publish(true, None);
        let (result, desired) = match &self.lead {
            Some(lead) => {
                match sync::run_held(&cluster, rendered, options, &lead.lock, halt).await {
                    Ok((report, desired)) => (Ok(report), Some(desired)),
                    Err(e) => (Err(e), None),
                }
            }
            None => (sync::run(&cluster, rendered, options, halt).await, None),
        };
        // One notice that the pass ended (with its objects when it had them).
        self.publish(false, desired);
        let mut report = result.map_err(|e| self.not_applied(e, revision.as_deref()))?;
        report.lint = lint;
        self.history.last_revision = revision;
        // A pass with failures is tried again at the next interval, not the next resync.
        self.history.last_full = (!report.failed()).then(std::time::Instant::now);
        if report.mode == Mode::Sync && !report.failed() {
            self.history.live_revision = report.revision.clone();
            if self.lead.is_none() {
                self.settings
                    .source
                    .record_synced(report.revision.as_deref())?;
            }
        }
        Ok(report)
    }

    /// Renders and lints the revision, before connecting: a broken revision is reported even
    /// with no cluster at hand. Past `--fail-on`, a sync refuses.
    async fn render(&mut self, snapshot: Snapshot) -> Result<(Rendered, Option<LintReport>)> {
        let revision = snapshot.revision.clone();
        let rendered =
            match render::renderers::render_snapshot(&snapshot, &self.settings.render).await {
                Ok(rendered) => rendered,
                Err(e) => {
                    self.history.broken_revision = revision.clone();
                    return Err(self.not_applied(e.into(), revision.as_deref()));
                }
            };
        self.history.broken_revision = None;
        let lint = match &self.lint {
            Some(settings) => Some(
                settings
                    .run(&self.settings.source, &rendered)
                    .map_err(|e| self.not_applied(e, revision.as_deref()))?,
            ),
            None => None,
        };
        if let Some(lint) = lint
            .as_ref()
            .filter(|l| l.fails() && !self.settings.sync.previews())
        {
            return Err(self.not_applied(Error::Refused(lint.refusal()), revision.as_deref()));
        }
        Ok((rendered, lint))
    }

    /// Starts connecting in the background when no cluster is at hand (the CLI's first pass).
    /// Its errors wait for the render: a broken revision is reported first, as with no cluster.
    /// One left by an earlier pass (whose render failed) is kept if it connected; its error is
    /// that pass's, and a new attempt begins.
    async fn begin_connecting(&mut self) {
        if let Some(earlier) = self.connecting.take_if(|c| c.is_finished()) {
            self.cluster = connected_by(earlier).await.ok();
        }
        if self.cluster.is_none() && self.connecting.is_none() {
            let options = self.connect.clone();
            let task = tokio::spawn(async move { Cluster::connect(&options).await });
            self.connecting = Some(AbortOnDropHandle::new(task));
        }
    }

    /// The cluster (connected once, then kept), with a discovery cache that knows the
    /// revision's kinds.
    async fn connected(&mut self, rendered: &Rendered) -> Result<Cluster> {
        let cluster = match (self.cluster.take(), self.connecting.take()) {
            (Some(c), _) => c,
            (None, Some(connecting)) => connected_by(connecting).await?,
            (None, None) => Cluster::connect(&self.connect).await?,
        };
        let cluster = self.cluster.insert(cluster).clone();
        // A server given up on in an earlier pass gets another chance.
        cluster.flow().reset();
        let kinds: Vec<(String, String)> = rendered
            .manifests
            .iter()
            .map(|m| (m.api_version().to_string(), m.kind().to_string()))
            .collect();
        cluster
            .refresh_catalog_if_stale(kinds.iter().map(|(a, k)| {
                let (group, version) = a.rsplit_once('/').unwrap_or(("", a));
                (group, version, k.as_str())
            }))
            .await?;
        Ok(cluster)
    }

    /// Wraps a failure that stopped a pass before anything was applied, naming what still runs.
    fn not_applied(&self, cause: Error, revision: Option<&str>) -> Error {
        if matches!(cause, Error::NotApplied { .. } | Error::Connect(_)) {
            return cause;
        }
        let live = self
            .history
            .live_revision
            .clone()
            .or_else(|| self.settings.source.last_synced());
        Error::NotApplied {
            cause: Box::new(cause),
            revision: revision.map(str::to_string),
            live,
        }
    }
}

/// A connection under way (`Runner::connecting`); dropped (a halt, the process ending), it
/// stops.
type Connecting = AbortOnDropHandle<Result<Cluster>>;

/// The cluster a [`Connecting`] ends with.
async fn connected_by(task: Connecting) -> Result<Cluster> {
    task.await
        .map_err(|e| Error::Connect(format!("connecting stopped: {e}")))?
}

fn watch_err(source: &Source, e: impl std::fmt::Display) -> Error {
    Error::Source {
        path: source.describe().into(),
        reason: format!("cannot watch: {e}"),
    }
}

/// Runs `stage` unless `halt` fires first (a signal, the pass's `--timeout`): then the stage is
/// dropped, and the error says what was going on.
async fn until_halted<T>(
    halt: &Halt,
    what: &str,
    stage: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    tokio::select! {
        result = stage => result,
        _ = halt.halted() => Err(Error::Stopped(format!(
            "while {what}: {}",
            halt.reason().map_or("halted", |r| r.describe())
        ))),
    }
}
