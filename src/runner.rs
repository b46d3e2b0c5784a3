//! The flow for one configured source, once or on every change. The CLI's `sync` and `diff`,
//! their `--watch` mode and the daemon are all thin layers over a [`Runner`].

use std::time::Duration;

use notify_debouncer_mini::{DebounceEventResult, new_debouncer, notify::RecursiveMode};
use tokio::sync::mpsc;

use crate::cluster::{Cluster, ConnectOptions};
use crate::error::{Error, Result};
use crate::halt::Halt;
use crate::lint::LintSettings;
use crate::render;
use crate::report::{Mode, Report};
use crate::source::{Snapshot, Source, SourceOptions};
use crate::sync::{self, SyncOptions};

pub struct Runner {
    pub source: Source,
    pub source_options: SourceOptions,
    pub sync_options: SyncOptions,
    pub connect: ConnectOptions,
    cluster: Option<Cluster>,
    /// The revision the last pass processed, to skip unchanged commits.
    last_revision: Option<String>,
    /// Stops the whole run (a signal); each pass gets a child of it.
    halt: Halt,
    /// Each pass's deadline (`--timeout`).
    pass_timeout: Option<Duration>,
    /// Lint each revision: findings go into its report, and past `--fail-on` a sync refuses.
    lint: Option<LintSettings>,
}

impl Runner {
    pub fn new(
        source: Source,
        source_options: SourceOptions,
        sync_options: SyncOptions,
        connect: ConnectOptions,
    ) -> Runner {
        Runner {
            source,
            source_options,
            sync_options,
            connect,
            cluster: None,
            last_revision: None,
            halt: Halt::new(),
            pass_timeout: None,
            lint: None,
        }
    }

    /// Lints every revision before planning it (see [`crate::lint`]).
    pub fn linted(mut self, settings: LintSettings) -> Runner {
        self.lint = Some(settings);
        self
    }

    /// Stops starting work once `halt` fires (signals, in the CLI and the agent).
    pub fn halted_by(mut self, halt: Halt) -> Runner {
        self.halt = halt;
        self
    }

    /// A deadline for each pass: past it, a pass starts no new write and reports the rest as
    /// not attempted.
    pub fn pass_timeout(mut self, timeout: Option<Duration>) -> Runner {
        self.pass_timeout = timeout;
        self
    }

    /// One full pass: read, render, plan, and apply (or preview).
    pub async fn run_once(&mut self) -> Result<Report> {
        let snapshot = self
            .source
            .load(&self.source_options)
            .await
            .map_err(|e| self.not_applied(e, None))?;
        self.process(snapshot).await
    }

    /// A pass that does nothing when the source's revision is the one already processed.
    pub async fn run_if_changed(&mut self) -> Result<Option<Report>> {
        let last = self.last_revision.clone();
        let loaded = self
            .source
            .load_if_changed(&self.source_options, last.as_deref())
            .await;
        match loaded.map_err(|e| self.not_applied(e, None))? {
            Some(snapshot) => self.process(snapshot).await.map(Some),
            None => Ok(None),
        }
    }

    async fn process(&mut self, snapshot: Snapshot) -> Result<Report> {
        let revision = snapshot.revision.clone();
        // Render before connecting: a broken revision is reported even with no cluster at hand.
        let rendered = render::render(&snapshot)
            .map_err(|e| self.not_applied(e.into(), revision.as_deref()))?;
        let lint = match &self.lint {
            Some(settings) => Some(
                settings
                    .run(&self.source, &rendered)
                    .map_err(|e| self.not_applied(e, revision.as_deref()))?,
            ),
            None => None,
        };
        if let Some(lint) = lint
            .as_ref()
            .filter(|l| l.fails() && !self.sync_options.dry_run)
        {
            return Err(self.not_applied(Error::Refused(lint.refusal()), revision.as_deref()));
        }
        let cluster = match self.cluster.take() {
            Some(mut c) => {
                c.refresh_catalog().await?;
                c
            }
            None => Cluster::connect(&self.connect).await?,
        };
        let cluster = self.cluster.insert(cluster);
        // A server given up on in an earlier pass gets another chance.
        cluster.flow().reset();
        let halt = self.halt.child();
        let deadline = self.pass_timeout.map(|t| halt.with_deadline(t));
        let result = sync::run(cluster, rendered, &self.sync_options, &halt).await;
        if let Some(timer) = deadline {
            timer.abort();
        }
        let mut report = result.map_err(|e| not_applied(&self.source, e, revision.as_deref()))?;
        report.lint = lint;
        self.last_revision = revision;
        if report.mode == Mode::Sync && !report.failed() {
            self.source.record_synced(report.revision.as_deref())?;
        }
        Ok(report)
    }

    fn not_applied(&self, cause: Error, revision: Option<&str>) -> Error {
        not_applied(&self.source, cause, revision)
    }

    /// Runs a pass now and again on every change: file events for a directory (debounced),
    /// polling every `interval` for Git (skipping unchanged commits). Stops once halted.
    pub async fn watch(
        &mut self,
        interval: Duration,
        mut on_pass: impl FnMut(Result<Report>),
    ) -> Result<()> {
        let (tx, mut rx) = mpsc::unbounded_channel::<()>();
        let _debouncer = match &self.source {
            Source::Dir(path) => {
                let mut debouncer = new_debouncer(
                    Duration::from_millis(300),
                    move |res: DebounceEventResult| {
                        if res.is_ok() {
                            let _ = tx.send(());
                        }
                    },
                )
                .map_err(|e| watch_err(&self.source, e))?;
                debouncer
                    .watcher()
                    .watch(path, RecursiveMode::Recursive)
                    .map_err(|e| watch_err(&self.source, e))?;
                Some(debouncer)
            }
            Source::Git(_) => None,
        };
        let is_dir = matches!(self.source, Source::Dir(_));
        on_pass(self.run_once().await);
        let halt = self.halt.clone();
        loop {
            tokio::select! {
                _ = halt.halted() => return Ok(()),
                event = rx.recv(), if is_dir => {
                    if event.is_none() { return Ok(()); }
                    while rx.try_recv().is_ok() {}
                    on_pass(self.run_once().await);
                }
                _ = tokio::time::sleep(interval), if !is_dir => {
                    match self.run_if_changed().await {
                        Ok(Some(report)) => on_pass(Ok(report)),
                        Ok(None) => tracing::debug!(revision = ?self.last_revision, "unchanged"),
                        Err(e) => on_pass(Err(e)),
                    }
                }
            }
        }
    }
}

fn watch_err(source: &Source, e: impl std::fmt::Display) -> Error {
    Error::Source {
        path: source.describe().into(),
        reason: format!("cannot watch: {e}"),
    }
}

/// Wraps a failure that stopped a pass before anything was applied, naming what still runs.
fn not_applied(source: &Source, cause: Error, revision: Option<&str>) -> Error {
    if matches!(cause, Error::NotApplied { .. } | Error::Connect(_)) {
        return cause;
    }
    Error::NotApplied {
        cause: Box::new(cause),
        revision: revision.map(str::to_string),
        live: source.last_synced(),
    }
}
