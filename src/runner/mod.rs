//! The flow for one sync set, once or on every trigger. The CLI's `sync` and `diff`, their
//! `--watch` mode and the agent are thin layers over a [`Runner`]: they differ only in what
//! feeds its [`Triggers`] and what they do with each report.

mod schedule;
mod triggers;

pub use schedule::{BACKOFF_CAP, Paced, Schedule, backoff};
pub use triggers::{Requester, Trigger, Triggers};

use std::sync::Arc;

use crate::cluster::SetLock;
use crate::cluster::{Cluster, ConnectOptions};
use crate::error::{Error, Result};
use crate::halt::Halt;
use crate::lint::LintSettings;
use crate::render;
use crate::report::{Mode, Report};
use crate::settings::SetSettings;
use crate::source::{Snapshot, Source};
use crate::sync;

pub struct Runner {
    settings: SetSettings,
    connect: ConnectOptions,
    cluster: Option<Cluster>,
    /// The Lease this runner writes under, held by its caller (the agent's set worker); `None`:
    /// each pass takes and gives back the set's Lease itself.
    lock: Option<Arc<SetLock>>,
    /// Re-sync a revision already synced (the agent: to take drift back); else skip it.
    resync: bool,
    /// The revision the last pass processed.
    last_revision: Option<String>,
    /// The revision the cluster runs, as far as this runner knows.
    live_revision: Option<String>,
    /// A revision that did not render: not read again until the source moves on.
    broken_revision: Option<String>,
    /// Stops the whole run (a signal); each pass gets a child of it.
    halt: Halt,
    /// Lint each revision: findings go into its report, and past `--fail-on` a sync refuses.
    lint: Option<LintSettings>,
    /// Re-sync an unchanged revision only this often (watches see drift in between).
    resync_every: Option<std::time::Duration>,
    /// When a pass last planned (and applied) the whole set.
    last_full: Option<std::time::Instant>,
    /// Where the desired objects of each pass go (the drift watches).
    desired: Option<tokio::sync::watch::Sender<crate::drift::Desired>>,
}

/// One pass: what started it, what reading the source took, and what it did.
#[derive(Debug)]
pub struct Pass {
    pub trigger: Trigger,
    /// `None` for a directory source.
    pub fetch: Option<Fetch>,
    pub result: PassResult,
    pub elapsed: std::time::Duration,
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
    /// Nothing applied: the source, the render, the cluster or a guard stopped it.
    Failed,
}

impl PassOutcome {
    pub fn label(self) -> &'static str {
        match self {
            PassOutcome::Synced => "synced",
            PassOutcome::Degraded => "degraded",
            PassOutcome::Unchanged => "unchanged",
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
            PassResult::Failed(_) => PassOutcome::Failed,
        }
    }

    /// How the pass paces the next one.
    pub fn paced(&self) -> Paced {
        match self {
            PassResult::Report(_) | PassResult::Unchanged(_) => Paced::Ran,
            PassResult::Failed(e) if e.stage() == "render" => Paced::Broken,
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
            lock: None,
            resync: false,
            last_revision: None,
            live_revision: None,
            broken_revision: None,
            halt: Halt::new(),
            lint: None,
            resync_every: None,
            last_full: None,
            desired: None,
        }
    }

    /// Re-syncs an unchanged revision only every `every` (the agent, when watches report
    /// drift), not on every interval.
    pub fn resync_every(mut self, every: std::time::Duration) -> Runner {
        self.resync_every = Some(every);
        self
    }

    /// Tells `tx` each pass's desired objects, and when a pass writes.
    pub fn publishing_desired(
        mut self,
        tx: tokio::sync::watch::Sender<crate::drift::Desired>,
    ) -> Runner {
        self.desired = Some(tx);
        self
    }

    fn publish(&self, passing: bool, objects: Option<Vec<Arc<crate::render::DesiredObject>>>) {
        let Some(tx) = &self.desired else {
            return;
        };
        tx.send_modify(|d| {
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

    /// Writes under a Lease the caller holds and renews; every interval re-syncs the revision
    /// (the agent). `live` is the revision the Lease records as synced.
    pub fn leading(mut self, lock: Arc<SetLock>, live: Option<String>) -> Runner {
        self.lock = Some(lock);
        self.resync = true;
        self.live_revision = live;
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
        self.live_revision.as_deref()
    }

    /// One full pass: read, render, plan, and apply (or preview).
    pub async fn run_once(&mut self) -> Result<Report> {
        let snapshot = self
            .settings
            .source
            .load(&self.settings.source_options)
            .await
            .map_err(|e| self.not_applied(e, None))?;
        self.process(snapshot).await
    }

    /// A pass, skipping a revision already processed (unless re-syncing) or known broken.
    pub async fn pass(&mut self, trigger: Trigger) -> Pass {
        let started = std::time::Instant::now();
        let resync_due = match (self.resync_every, self.last_full) {
            (Some(every), Some(at)) => at.elapsed() >= every,
            _ => true,
        };
        let skip = match self.resync && resync_due {
            true => self.broken_revision.clone(),
            false => self.last_revision.clone().or(self.broken_revision.clone()),
        };
        let is_git = matches!(self.settings.source, Source::Git(_));
        let read = self
            .settings
            .source
            .read(&self.settings.source_options, skip.as_deref())
            .await;
        let (fetch, result) = match read {
            Ok(read) => {
                let fetch = match read.downloaded {
                    true => Fetch::Fetched,
                    false => Fetch::UpToDate,
                };
                let result = match read.snapshot {
                    Some(snapshot) => match self.process(snapshot).await {
                        Ok(report) => PassResult::Report(Box::new(report)),
                        Err(e) => PassResult::Failed(e),
                    },
                    None => PassResult::Unchanged(skip),
                };
                (fetch, result)
            }
            Err(e) => (Fetch::Failed, PassResult::Failed(self.not_applied(e, None))),
        };
        Pass {
            trigger,
            fetch: is_git.then_some(fetch),
            result,
            elapsed: started.elapsed(),
        }
    }

    /// Runs a pass on every trigger until halted, handing each to `on_pass`.
    pub async fn run(&mut self, mut triggers: Triggers, mut on_pass: impl FnMut(&Pass)) {
        let halt = self.halt.clone();
        while let Some(trigger) = triggers.next(&halt).await {
            let pass = self.pass(trigger).await;
            triggers.after(pass.result.paced());
            on_pass(&pass);
        }
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
            Source::Git(_) => Ok(Triggers::new(Some(Schedule::new(self.settings.interval)))),
        }
    }

    async fn process(&mut self, snapshot: Snapshot) -> Result<Report> {
        let revision = snapshot.revision.clone();
        // Render before connecting: a broken revision is reported even with no cluster at hand.
        let rendered =
            match render::renderers::render_snapshot(&snapshot, &self.settings.render).await {
                Ok(rendered) => rendered,
                Err(e) => {
                    self.broken_revision = revision.clone();
                    return Err(self.not_applied(e.into(), revision.as_deref()));
                }
            };
        self.broken_revision = None;
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
        let cluster = match self.cluster.take() {
            Some(c) => c,
            None => Cluster::connect(&self.connect).await?,
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
        let halt = self.halt.child();
        let deadline = self.settings.timeout.map(|t| halt.with_deadline(t));
        let options = &self.settings.sync;
        self.publish(true, None);
        let (result, desired) = match &self.lock {
            Some(lock) => match sync::run_held(&cluster, rendered, options, lock, &halt).await {
                Ok((report, desired)) => (Ok(report), Some(desired)),
                Err(e) => (Err(e), None),
            },
            None => (sync::run(&cluster, rendered, options, &halt).await, None),
        };
        // One notice that the pass ended (with its objects when it had them).
        self.publish(false, desired);
        if let Some(timer) = deadline {
            timer.abort();
        }
        let mut report = result.map_err(|e| self.not_applied(e, revision.as_deref()))?;
        report.lint = lint;
        self.last_revision = revision;
        // A pass with failures is tried again at the next interval, not the next resync.
        self.last_full = (!report.failed()).then(std::time::Instant::now);
        if report.mode == Mode::Sync && !report.failed() {
            self.live_revision = report.revision.clone();
            if self.lock.is_none() {
                self.settings
                    .source
                    .record_synced(report.revision.as_deref())?;
            }
        }
        Ok(report)
    }

    /// Wraps a failure that stopped a pass before anything was applied, naming what still runs.
    fn not_applied(&self, cause: Error, revision: Option<&str>) -> Error {
        if matches!(cause, Error::NotApplied { .. } | Error::Connect(_)) {
            return cause;
        }
        let live = self
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

fn watch_err(source: &Source, e: impl std::fmt::Display) -> Error {
    Error::Source {
        path: source.describe().into(),
        reason: format!("cannot watch: {e}"),
    }
}
