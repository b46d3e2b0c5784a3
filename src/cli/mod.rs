//! Command-line flags (raw), the settings they turn into, and the commands as far as they
//! stay below the runner and the agent: what needs no cluster ([`offline`]), and what `sync`
//! and `diff` print ([`live`], [`mod@print`]).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::cluster::ConnectOptions;
use crate::cluster::Propagation;
use crate::health::{ProgressStyle, WaitOptions};
use crate::inventory::{Budget, Claim, Knobs, PruneSettings, Scope, SetName, SetRef};
use crate::plan::DEFAULT_TAKEOVER_MANAGERS;
use crate::report::{Format, Mode};
use crate::settings::SetSettings;
pub use crate::settings::parse_duration;

/// An interval between passes or polls: a duration of at least a second (`diff --watch` and the
/// agent read `DRIFTLESS_INTERVAL` alike).
pub fn parse_interval(s: &str) -> Result<Duration, String> {
    let interval = parse_duration(s)?;
    if interval < Duration::from_secs(1) {
        return Err(format!("interval {s:?} is under 1s"));
    }
    Ok(interval)
}
use crate::sync::SyncOptions;

mod agent;
mod applies;
mod error;
pub mod live;
pub mod offline;
pub mod output;
pub mod print;
pub mod render_output;
mod report;
mod signals;
mod source;
pub mod steer;

pub use agent::AgentArgs;
pub use applies::ArgsError;
pub use error::CommandError;
pub use report::{LintArgs, RenderArgs, RenderFormat, ReportArgs};
pub use signals::watch_signals;
pub use source::{BaseArgs, RendererArgs, SourceArgs};

#[derive(Debug, Parser)]
#[command(
    name = "driftless",
    version,
    about = "GitOps sync for Kubernetes: plan with server-side dry-run, apply safely, report drift."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Kubeconfig file (default: in-cluster config in a pod, else $KUBECONFIG or ~/.kube/config).
    #[arg(long, global = true, env = "DRIFTLESS_KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use.
    #[arg(long, global = true, env = "DRIFTLESS_CONTEXT")]
    pub context: Option<String>,
    /// Limit the sync to these namespaces (repeatable, or comma-separated); the first is also
    /// the namespace for namespaced objects whose manifest names none.
    #[arg(
        short = 'n',
        long,
        global = true,
        env = "DRIFTLESS_NAMESPACE",
        value_delimiter = ','
    )]
    pub namespace: Vec<String>,
    /// Field manager name for server-side apply [default: driftless].
    #[arg(long, global = true, env = "DRIFTLESS_FIELD_MANAGER")]
    pub field_manager: Option<String>,
    /// How long one API request may go without an answer before it is retried or fails
    /// (`30s`, `1m`; as kubectl's flag of that name) [default: 30s].
    #[arg(long, global = true, env = "DRIFTLESS_REQUEST_TIMEOUT", value_parser = parse_duration)]
    pub request_timeout: Option<Duration>,
    /// More logging on stderr (-v: debug, -vv: trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Log lines as text, or as one JSON object per line (for a log pipeline).
    #[arg(long, global = true, env = "DRIFTLESS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply the manifests with server-side apply (or, with --dry-run, show the diff).
    Sync(SyncArgs),
    /// Show what a sync would change, as a unified diff; exit 0 in sync, 1 changes, 2 error.
    Diff(RunArgs),
    /// Print the rendered desired set, in apply order, with each object's source; no cluster
    /// needed. Exit 2 on any render error.
    Render(RenderArgs),
    /// Run in the cluster: keep every sync set of the config file in line with its source, one
    /// replica writing per set; see drift as it happens (and heal it where asked); serve
    /// /metrics, /healthz, /readyz and /report, and webhooks on POST /hook/<set>.
    #[allow(rustdoc::invalid_html_tags)]
    Agent(AgentArgs),
    /// Check the manifests against the platform's rules; no cluster needed. Exit 0 clean, 1
    /// findings at or above --fail-on (default: low), 2 error.
    Lint(LintArgs),
    /// The sync sets on the cluster: ready, revision, last sync, drift; one set in detail.
    Status(steer::StatusArgs),
    /// Ask a set's agent for a full pass now; with --wait, print its result (exit 0 synced).
    Reconcile(steer::ReconcileArgs),
    /// Stop the agent's passes and self-heal for a set (drift is still reported).
    Suspend(steer::SetArgs),
    /// Let the agent sync and heal a suspended set again (a pass runs at once).
    Resume(steer::SetArgs),
    /// What a set manages, by namespace and kind, with health and drift.
    Tree(steer::SetArgs),
    /// A set's Events (every set's without SET), oldest first.
    Events(steer::EventsArgs),
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Do not write: dry-run everything and print the diff (the same as `driftless diff`).
    #[arg(long)]
    pub dry_run: bool,
    /// After applying, wait until what the sync manages is healthy (Deployments, StatefulSets
    /// and DaemonSets rolled out, Jobs complete, claims bound); an object that fails or is not
    /// healthy within --wait-timeout fails its namespace.
    #[arg(long, env = "DRIFTLESS_WAIT")]
    pub wait: bool,
    /// How long --wait waits (`30s`, `5m`).
    #[arg(long, env = "DRIFTLESS_WAIT_TIMEOUT", default_value = "5m", value_parser = parse_duration)]
    pub wait_timeout: Duration,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Requests in flight at once, for dry-runs and applies alike.
    #[arg(long, env = "DRIFTLESS_CONCURRENCY", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// Take fields that another field manager owns instead of failing the object.
    #[arg(long)]
    pub force_conflicts: bool,
    /// Dry-run every object, even those the set's ledger proves unchanged since driftless last
    /// applied or verified them.
    #[arg(long, env = "DRIFTLESS_VERIFY")]
    pub verify: bool,
    /// How long to wait for a new CRD to become Established (`90s`, `2m`; a bare number is
    /// seconds).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub crd_timeout: Duration,
    /// Output format: text (diffs on stdout, summary on stderr), markdown (a PR comment), json
    /// or sarif (the lint findings, for code scanning).
    #[arg(short, long, env = "DRIFTLESS_OUTPUT", value_enum, default_value_t = Format::Text)]
    pub output: Format,
    /// A deadline for the whole run (`10m`): when it passes, no new write starts, the run
    /// reports what it did and did not do, and exits 2. Default: none.
    #[arg(long, env = "DRIFTLESS_TIMEOUT", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Keep running: re-run on every file change (directory) or new commit (Git, polled).
    #[arg(long)]
    pub watch: bool,
    /// With --watch on a Git source: time between polls (`30s`, `5m`; at least 1s).
    #[arg(long, env = "DRIFTLESS_INTERVAL", default_value = "60s", value_parser = parse_interval)]
    pub interval: Duration,
    #[command(flatten)]
    pub inventory: InventoryArgs,
    #[command(flatten)]
    pub base: BaseArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// The sync set, inventory, pruning, adoption and drift.
#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// The sync set this source is: it owns the objects it applies, and prunes only those. Two
    /// sources syncing into one cluster need two names.
    #[arg(long, env = "DRIFTLESS_NAME", default_value = crate::inventory::DEFAULT_SET, value_parser = clap::value_parser!(SetName))]
    pub name: SetName,
    /// How long a sync waits for another run of the same sync set to finish writing (`60s`,
    /// `5m`; a bare number is seconds).
    #[arg(long, env = "DRIFTLESS_LOCK_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub lock_timeout: Duration,
    /// Delete objects that driftless applied earlier and the source no longer holds
    /// (`diff --prune` shows them as deletions).
    #[arg(long, env = "DRIFTLESS_PRUNE")]
    pub prune: bool,
    /// How deletions propagate to dependants.
    #[arg(long, value_enum, default_value_t = Propagation::Background)]
    pub prune_propagation: Propagation,
    /// Also prune Namespaces (and so everything in them).
    #[arg(long)]
    pub prune_namespaces: bool,
    /// Also prune CustomResourceDefinitions (and so all their custom resources).
    #[arg(long)]
    pub prune_crds: bool,
    /// Most objects one sync may prune: a count (10) or a percentage of the sync set's objects
    /// in scope (25%).
    #[arg(long, default_value = "25%", value_parser = clap::value_parser!(Budget))]
    pub max_prune: Budget,
    /// Allow a source with no objects to prune everything the inventory holds.
    #[arg(long)]
    pub allow_empty: bool,
    /// Deprecated, and what every sync does now: a sync touches only its own sync set's
    /// objects (see --name).
    #[arg(long, hide = true, conflicts_with = "namespace")]
    pub namespaces_from_source: bool,
    /// Take over existing objects that driftless did not create.
    #[arg(long)]
    pub adopt: bool,
    /// Replace (delete and create) objects of this kind when the server refuses a change as
    /// immutable (repeatable or comma-separated; Jobs always are).
    #[arg(long, value_delimiter = ',')]
    pub replace_immutable: Vec<String>,
    /// Move the sync set to this source although its records name another one (a repository
    /// that moved); what this source does not hold is then pruned with --prune.
    #[arg(long)]
    pub take_over_set: bool,
    /// Field managers (name prefixes) whose changes are drift that a sync takes back:
    /// comma-separated (`kubectl,helm`) or the flag repeated.
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_TAKEOVER_MANAGERS.map(String::from))]
    pub takeover_managers: Vec<String>,
    /// Namespace for the sync set's inventory of cluster-scoped objects, and its Lease.
    #[arg(
        long,
        env = "DRIFTLESS_INVENTORY_NAMESPACE",
        default_value = "driftless-system"
    )]
    pub inventory_namespace: String,
}

impl Cli {
    pub fn connect_options(&self) -> ConnectOptions {
        let max_in_flight = self
            .run_args()
            .map_or(8, |(run, _)| usize::from(run.concurrency));
        let defaults = ConnectOptions::default();
        ConnectOptions {
            kubeconfig: self.global.kubeconfig.clone(),
            context: self.global.context.clone(),
            field_manager: self
                .global
                .field_manager
                .clone()
                .unwrap_or(defaults.field_manager),
            request_timeout: self
                .global
                .request_timeout
                .unwrap_or(defaults.request_timeout)
                .max(Duration::from_millis(100)),
            max_in_flight,
        }
    }

    /// The sync set a `sync` or `diff` runs: its source, options and pacing.
    pub fn set_settings(&self) -> Result<SetSettings, String> {
        let Some((run, _)) = self.run_args() else {
            return Err("not a sync".into());
        };
        Ok(SetSettings {
            webhook: None,
            commit_url: None,
            drift: Default::default(),
            resync_interval: crate::settings::DEFAULT_RESYNC_INTERVAL,
            depends_on: Vec::new(),
            source: run.source.source()?,
            source_options: run.source.options(),
            render: run.source.render_options()?,
            sync: self.sync_options(),
            interval: run.interval,
            timeout: run.timeout,
        })
    }

    /// The run flags and whether the run writes (`Sync`) or only shows (`Preview`); `None` for
    /// `render`, `agent` and `lint`.
    pub fn run_args(&self) -> Option<(&RunArgs, Mode)> {
        match &self.command {
            Command::Sync(s) if s.dry_run => Some((&s.run, Mode::Preview)),
            Command::Sync(s) => Some((&s.run, Mode::Sync)),
            Command::Diff(r) => Some((r, Mode::Preview)),
            _ => None,
        }
    }

    pub fn sync_options(&self) -> SyncOptions {
        let Some((run, mode)) = self.run_args() else {
            return SyncOptions::default();
        };
        let inv = &run.inventory;
        let scope = if self.global.namespace.is_empty() {
            Scope::All
        } else {
            Scope::Namespaces(self.global.namespace.iter().cloned().collect())
        };
        SyncOptions {
            mode,
            concurrency: usize::from(run.concurrency),
            force_conflicts: run.force_conflicts,
            default_namespace: self.global.namespace.first().cloned(),
            crd_timeout: run.crd_timeout,
            scope,
            adopt: inv.adopt,
            takeover_managers: inv.takeover_managers.clone(),
            replace_immutable: inv.replace_immutable.clone(),
            set: SetRef {
                name: inv.name.clone(),
                inventory_namespace: inv.inventory_namespace.clone(),
            },
            // The source's identity is filled in by the runner.
            claim: Claim {
                source: None,
                take_over: inv.take_over_set,
                knobs: Knobs::Flags,
            },
            lock_timeout: inv.lock_timeout,
            prune: inv.prune.then_some(PruneSettings {
                budget: inv.max_prune,
                propagation: inv.prune_propagation,
                namespaces: inv.prune_namespaces,
                crds: inv.prune_crds,
                allow_empty: inv.allow_empty,
                unpruned_namespaces: Default::default(),
            }),
            wait: self.wait_options(),
            verify: run.verify,
        }
    }

    /// `sync --wait`: how long, and how progress shows on stderr.
    fn wait_options(&self) -> Option<WaitOptions> {
        match &self.command {
            Command::Sync(sync) if sync.wait && !sync.dry_run => Some(WaitOptions {
                timeout: sync.wait_timeout,
                progress: ProgressStyle::for_stderr(),
                ..WaitOptions::default()
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod lint_flag_tests;
#[cfg(test)]
mod tests;
