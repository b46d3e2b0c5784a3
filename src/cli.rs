//! Command-line flags (raw), and the settings they turn into.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::cluster::ConnectOptions;
use crate::cluster::Propagation;
use crate::health::{ProgressStyle, WaitOptions};
use crate::inventory::{Budget, PruneSettings, Scope, SetName, SetRef};
use crate::lint::{FailOn, LintSettings};
use crate::plan::DEFAULT_TAKEOVER_MANAGERS;
use crate::render::renderers::{HelmSettings, RenderOptions, Tools};
use crate::report::{DEFAULT_COMMENT_SIZE, Format, MarkdownOptions};
use crate::settings::file::Overrides;
pub use crate::settings::parse_duration;
use crate::settings::{SetSettings, default_cache_dir};
use crate::source::git::{GitAuth, GitSpec, SecretText};
use crate::source::{FilterSpec, Limits, Source, SourceOptions};
use crate::sync::SyncOptions;

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
    /// Run in the cluster: keep every sync set of the config file in line with its source,
    /// one replica writing per set, and serve /metrics, /healthz, /readyz and /report.
    Agent(AgentArgs),
    /// Check the manifests against the platform's rules; no cluster needed. Exit 0 clean, 1
    /// findings at or above --fail-on (default: low), 2 error.
    Lint(LintArgs),
}

/// The agent's flags; each wins over the config file.
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The config file: the sync sets, their sources and policies (see the README).
    #[arg(long, env = "DRIFTLESS_CONFIG")]
    pub config: PathBuf,
    /// Only read and validate the config file, then exit (0 valid, 2 not).
    #[arg(long)]
    pub check: bool,
    /// Address for /metrics, /healthz, /readyz and /report [default: 0.0.0.0:8080].
    #[arg(long, env = "DRIFTLESS_LISTEN")]
    pub listen: Option<std::net::SocketAddr>,
    /// This replica's name in Leases and Events [default: $POD_NAME, else host and pid].
    #[arg(long, env = "DRIFTLESS_IDENTITY")]
    pub identity: Option<String>,
    /// Namespace for each set's Lease and cluster-scoped inventory [default: driftless-system].
    #[arg(long, env = "DRIFTLESS_INVENTORY_NAMESPACE")]
    pub inventory_namespace: Option<String>,
    /// Where Git caches live (an emptyDir in a pod).
    #[arg(long, env = "DRIFTLESS_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Every set's interval, whatever the file says (`30s`, `5m`).
    #[arg(long, env = "DRIFTLESS_INTERVAL", value_parser = parse_duration)]
    pub interval: Option<Duration>,
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
    #[arg(long, env = "DRIFTLESS_WAIT", conflicts_with = "dry_run")]
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
    /// Seconds to wait for a new CRD to become Established.
    #[arg(long, default_value_t = 60)]
    pub crd_timeout: u64,
    /// Output format: text (diffs on stdout, summary), markdown (a PR comment) or json.
    #[arg(short, long, env = "DRIFTLESS_OUTPUT", value_enum, default_value_t = Format::Text)]
    pub output: Format,
    /// A deadline for the whole run (`10m`): when it passes, no new write starts, the run
    /// reports what it did and did not do, and exits 2. Default: none.
    #[arg(long, env = "DRIFTLESS_TIMEOUT", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Keep running: re-run on every file change (directory) or new commit (Git, polled).
    #[arg(long)]
    pub watch: bool,
    /// With --watch on a Git source: seconds between polls.
    #[arg(long, env = "DRIFTLESS_INTERVAL", default_value_t = 60)]
    pub interval: u64,
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
    /// Seconds a sync waits for another run of the same sync set to finish writing.
    #[arg(long, env = "DRIFTLESS_LOCK_TIMEOUT", default_value_t = 60)]
    pub lock_timeout: u64,
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
    /// Field managers (name prefixes) whose changes are drift that a sync takes back.
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

#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// yaml (documents with `# Source:` comments) or json.
    #[arg(short, long, value_enum, default_value_t = RenderFormat::Yaml)]
    pub output: RenderFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RenderFormat {
    Yaml,
    Json,
}

/// Where the manifests come from, and how to read them.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// A directory (or file) of manifests, or a Git URL: https://, http://, ssh://,
    /// git@host:org/repo.git, file://.
    #[arg(long, env = "DRIFTLESS_SOURCE")]
    pub source: String,
    /// Git: branch, tag or commit SHA (default: the remote's default branch).
    #[arg(long, env = "DRIFTLESS_REVISION")]
    pub revision: Option<String>,
    /// Git: the directory inside the repository that holds the manifests.
    #[arg(long, env = "DRIFTLESS_PATH", default_value = "")]
    pub path: String,
    /// Git: where cache clones live (default: ~/.cache/driftless/git).
    #[arg(long, env = "DRIFTLESS_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Git over https: user name for the token (default: git).
    #[arg(long, env = "DRIFTLESS_GIT_USERNAME")]
    pub git_username: Option<String>,
    /// Git over https: file holding the token or password (or set DRIFTLESS_GIT_TOKEN).
    #[arg(long, env = "DRIFTLESS_GIT_TOKEN_FILE")]
    pub git_token_file: Option<PathBuf>,
    /// Git over ssh: private key file.
    #[arg(long, env = "DRIFTLESS_GIT_SSH_KEY_FILE")]
    pub git_ssh_key_file: Option<PathBuf>,
    /// Git over ssh: file holding the private key's passphrase.
    #[arg(long, env = "DRIFTLESS_GIT_SSH_PASSPHRASE_FILE")]
    pub git_ssh_passphrase_file: Option<PathBuf>,
    /// Git over ssh: known_hosts file to check the server's host key against
    /// (default: ~/.ssh/known_hosts).
    #[arg(long, env = "DRIFTLESS_GIT_KNOWN_HOSTS_FILE")]
    pub git_known_hosts_file: Option<PathBuf>,
    /// Git over ssh: accept any host key. Unsafe: for throwaway test setups only.
    #[arg(long)]
    pub git_insecure_skip_host_key_check: bool,
    /// Only read files matching these globs (relative to the source root; repeatable).
    #[arg(long)]
    pub include: Vec<String>,
    /// Skip files matching these globs (repeatable).
    #[arg(long)]
    pub exclude: Vec<String>,
    /// How long reading one revision may take (a Git remote that stops answering).
    #[arg(long, env = "DRIFTLESS_FETCH_TIMEOUT", default_value = "2m", value_parser = parse_duration)]
    pub fetch_timeout: Duration,
    /// Largest manifest file, in bytes.
    #[arg(long, default_value_t = Limits::default().max_file_bytes)]
    pub max_file_size: u64,
    /// Most manifest bytes in one revision.
    #[arg(long, default_value_t = Limits::default().max_total_bytes)]
    pub max_total_size: u64,
    #[command(flatten)]
    pub renderers: RendererArgs,
}

/// Kustomizations and Helm charts in the source: which binaries render them, and how.
#[derive(Debug, Clone, Args)]
pub struct RendererArgs {
    /// helm binary for charts (default: helm on PATH).
    #[arg(long, env = "DRIFTLESS_HELM_BINARY")]
    pub helm_binary: Option<PathBuf>,
    /// kustomize binary, or a kubectl binary to run as `kubectl kustomize` (default: kustomize
    /// on PATH, else kubectl).
    #[arg(long, env = "DRIFTLESS_KUSTOMIZE_BINARY")]
    pub kustomize_binary: Option<PathBuf>,
    /// Let kustomize fetch remote bases and charts (it fetches arbitrary URLs).
    #[arg(long, env = "DRIFTLESS_ALLOW_REMOTE_BASES")]
    pub allow_remote_bases: bool,
    /// Let kustomize render the helmCharts of a kustomization (with --helm-binary's helm).
    #[arg(long)]
    pub kustomize_enable_helm: bool,
    /// How long one render may take (`60s`, `2m`).
    #[arg(long, env = "DRIFTLESS_RENDER_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub render_timeout: Duration,
    /// Charts: release name (default: the chart folder's name), over driftless-helm.yaml's.
    #[arg(long)]
    pub helm_release: Option<String>,
    /// Charts: release namespace, over driftless-helm.yaml's.
    #[arg(long)]
    pub helm_namespace: Option<String>,
    /// Charts: a values file of the chart folder, after driftless-helm.yaml's (repeatable).
    #[arg(long)]
    pub helm_values: Vec<String>,
    /// Charts: a value (key=value, as helm --set), after driftless-helm.yaml's (repeatable).
    #[arg(long)]
    pub helm_set: Vec<String>,
}

impl RendererArgs {
    /// The render settings; `max_output`: the most one render may print.
    pub fn options(&self, max_output: u64) -> RenderOptions {
        RenderOptions {
            tools: Tools {
                helm: self.helm_binary.clone(),
                kustomize: self.kustomize_binary.clone(),
            },
            allow_remote_bases: self.allow_remote_bases,
            kustomize_enable_helm: self.kustomize_enable_helm,
            timeout: self.render_timeout,
            max_output,
            helm: HelmSettings {
                release_name: self.helm_release.clone(),
                namespace: self.helm_namespace.clone(),
                values_files: self.helm_values.clone(),
                set: self.helm_set.clone(),
                ..HelmSettings::default()
            },
            ..RenderOptions::default()
        }
    }
}

impl SourceArgs {
    /// The configured source. Credential files are read at every fetch (never printed); they
    /// must be readable now.
    pub fn source(&self) -> Result<Source, String> {
        let secret_file =
            |path: &Option<PathBuf>, what: &str| -> Result<Option<SecretText>, String> {
                let Some(path) = path else { return Ok(None) };
                let secret = SecretText::File(path.clone());
                secret.read().map_err(|e| format!("{what}: {e}"))?;
                Ok(Some(secret))
            };
        let auth = GitAuth {
            username: self.git_username.clone(),
            // A token file wins; else the DRIFTLESS_GIT_TOKEN environment variable (never a flag:
            // flags show in process listings).
            token: secret_file(&self.git_token_file, "--git-token-file")?.or_else(|| {
                std::env::var("DRIFTLESS_GIT_TOKEN")
                    .ok()
                    .filter(|t| !t.is_empty())
                    .map(SecretText::Value)
            }),
            ssh_key: self.git_ssh_key_file.clone(),
            ssh_passphrase: secret_file(
                &self.git_ssh_passphrase_file,
                "--git-ssh-passphrase-file",
            )?,
            known_hosts: self.git_known_hosts_file.clone(),
            insecure_skip_host_key_check: self.git_insecure_skip_host_key_check,
        };
        let cache_dir = self.cache_dir.clone().unwrap_or_else(default_cache_dir);
        Ok(Source::new(&self.source, |url| GitSpec {
            url,
            revision: self.revision.clone(),
            path: self.path.clone(),
            auth,
            cache_dir,
        }))
    }

    pub fn options(&self) -> SourceOptions {
        SourceOptions {
            limits: Limits {
                max_file_bytes: self.max_file_size,
                max_total_bytes: self.max_total_size,
                ..Limits::default()
            },
            filter: FilterSpec {
                include: self.include.clone(),
                exclude: self.exclude.clone(),
            },
            fetch_timeout: self.fetch_timeout,
            render: self.renderers.options(self.max_total_size),
        }
    }
}

// Lint and offline previews: `lint`, and what `diff` and `sync` take for them.

#[derive(Debug, Args)]
pub struct LintArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub base: BaseArgs,
    #[command(flatten)]
    pub report: ReportArgs,
    /// Output format: text, markdown (a PR comment), json or sarif (code scanning).
    #[arg(short, long, env = "DRIFTLESS_OUTPUT", value_enum, default_value_t = Format::Text)]
    pub output: Format,
}

/// What an offline preview compares with. Either makes `diff` render both revisions and compare
/// them with no cluster at all.
#[derive(Debug, Clone, Args)]
pub struct BaseArgs {
    /// Preview offline: compare with this revision (a Git branch, tag or commit) of the source,
    /// or of --base-source.
    #[arg(long, env = "DRIFTLESS_BASE")]
    pub base: Option<String>,
    /// Preview offline: compare with this source (a directory, or a Git URL; with --base as its
    /// revision).
    #[arg(long, env = "DRIFTLESS_BASE_SOURCE")]
    pub base_source: Option<String>,
}

impl BaseArgs {
    pub fn is_set(&self) -> bool {
        self.base.is_some() || self.base_source.is_some()
    }

    /// The base source: --base-source, or the source itself, at --base. The Git flags of the
    /// source (credentials, --path, cache) apply to both.
    pub fn source(&self, head: &SourceArgs) -> Result<Option<Source>, String> {
        if !self.is_set() {
            return Ok(None);
        }
        let mut args = head.clone();
        if let Some(spec) = &self.base_source {
            args.source = spec.clone();
        }
        args.revision = self.base.clone();
        let source = args.source()?;
        if matches!(source, Source::Dir(_)) && self.base.is_some() {
            return Err(format!(
                "--base names a Git revision, and {} is a directory: compare two directories with --base-source DIR",
                source.describe()
            ));
        }
        Ok(Some(source))
    }
}

/// Lint findings in reports, and the report's size and copy.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// Fail on lint findings at or above this severity (never, low, medium, high, critical):
    /// `diff` exits 2, `sync` applies nothing, `lint` exits 1. Default: the repository's
    /// failOn, else never (`lint`: low).
    #[arg(long, env = "DRIFTLESS_FAIL_ON", value_parser = clap::value_parser!(FailOn))]
    pub fail_on: Option<FailOn>,
    /// Most characters a Markdown report takes: what does not fit shrinks from diffs to changed
    /// fields to names, and the comment says what it left out.
    #[arg(long, env = "DRIFTLESS_MAX_COMMENT_SIZE", default_value_t = DEFAULT_COMMENT_SIZE)]
    pub max_comment_size: usize,
    /// Also write the whole report, in the --output format and never shortened, to this file
    /// (for a CI artifact).
    #[arg(long, env = "DRIFTLESS_REPORT_FILE")]
    pub report_file: Option<PathBuf>,
    /// Where readers find the whole report (a CI artifact's URL): a shortened comment names it.
    #[arg(long, env = "DRIFTLESS_REPORT_URL")]
    pub report_url: Option<String>,
}

impl ReportArgs {
    /// How a run lints: `default_fail_on` unless the flag or the repository says otherwise.
    pub fn lint_settings(
        &self,
        source: &SourceArgs,
        default_fail_on: FailOn,
        default_namespace: Option<String>,
    ) -> LintSettings {
        LintSettings {
            fail_on: self.fail_on,
            default_fail_on,
            default_namespace,
            root: source.lint_root(),
        }
    }

    /// The comment's budget, and where the whole report is.
    pub fn markdown_options(&self) -> MarkdownOptions {
        let file = self
            .report_file
            .as_ref()
            .map(|f| format!("`{}`", f.display()));
        MarkdownOptions {
            max_size: self.max_comment_size,
            full_report: self.report_url.clone().or(file),
        }
    }
}

impl SourceArgs {
    /// Where the source root sits in its repository, for code scanning: a Git source's
    /// --path, a relative directory as given.
    pub fn lint_root(&self) -> String {
        let dir = std::path::Path::new(&self.source);
        if crate::source::git::GitUrl::parse(&self.source).is_some() {
            self.path.trim_matches('/').to_string()
        } else if dir.is_relative() && dir.is_dir() {
            let dir = self.source.trim_start_matches("./").trim_end_matches('/');
            if dir == "." {
                String::new()
            } else {
                dir.to_string()
            }
        } else {
            String::new()
        }
    }
}

#[cfg(test)]
mod lint_flag_tests {
    use super::*;
    use crate::lint::Severity;

    #[test]
    fn lint_and_offline_preview_flags() {
        let cli = Cli::try_parse_from(["driftless", "diff", "--source", "d", "--base-source", "e"])
            .unwrap();
        let Command::Diff(run) = &cli.command else {
            panic!("diff")
        };
        assert!(run.base.is_set());
        assert_eq!(run.report.max_comment_size, DEFAULT_COMMENT_SIZE);
        assert!(matches!(
            run.base.source(&run.source),
            Ok(Some(Source::Dir(_)))
        ));
        let cli =
            Cli::try_parse_from(["driftless", "diff", "--source", "d", "--base", "main"]).unwrap();
        let Command::Diff(run) = &cli.command else {
            panic!("diff")
        };
        let e = run.base.source(&run.source).unwrap_err();
        assert!(e.contains("--base names a Git revision"), "{e}");
        let cli = Cli::try_parse_from([
            "driftless",
            "lint",
            "--source",
            "https://h/r.git",
            "--path",
            "/env/prod/",
            "--base",
            "main",
            "--fail-on",
            "high",
            "-o",
            "sarif",
            "--max-comment-size",
            "1000",
        ])
        .unwrap();
        let Command::Lint(lint) = &cli.command else {
            panic!("lint")
        };
        assert_eq!(lint.report.fail_on, Some(FailOn::At(Severity::High)));
        assert_eq!(lint.output, Format::Sarif);
        assert_eq!(lint.source.lint_root(), "env/prod");
        assert!(matches!(
            lint.base.source(&lint.source),
            Ok(Some(Source::Git(_)))
        ));
        assert!(
            Cli::try_parse_from(["driftless", "lint", "--source", "d", "--fail-on", "urgent"])
                .is_err()
        );
        assert!(cli.run_args().is_none());
    }
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
            source: run.source.source()?,
            source_options: run.source.options(),
            sync: self.sync_options(),
            interval: Duration::from_secs(run.interval.max(1)),
            timeout: run.timeout,
        })
    }

    /// What the agent's flags (and environment) set over its config file.
    pub fn agent_overrides(&self, agent: &AgentArgs) -> Overrides {
        Overrides {
            listen: agent.listen,
            identity: agent.identity.clone(),
            inventory_namespace: agent.inventory_namespace.clone(),
            field_manager: self.global.field_manager.clone(),
            cache_dir: agent.cache_dir.clone(),
            request_timeout: self.global.request_timeout,
            kubeconfig: self.global.kubeconfig.clone(),
            context: self.global.context.clone(),
            interval: agent.interval,
        }
    }

    /// The run flags and whether this is a preview; `None` for `render`.
    pub fn run_args(&self) -> Option<(&RunArgs, bool)> {
        match &self.command {
            Command::Sync(s) => Some((&s.run, s.dry_run)),
            Command::Diff(r) => Some((r, true)),
            Command::Render(_) | Command::Agent(_) | Command::Lint(_) => None,
        }
    }

    pub fn sync_options(&self) -> SyncOptions {
        let Some((run, dry_run)) = self.run_args() else {
            return SyncOptions::default();
        };
        let inv = &run.inventory;
        let scope = if self.global.namespace.is_empty() {
            Scope::All
        } else {
            Scope::Namespaces(self.global.namespace.iter().cloned().collect())
        };
        SyncOptions {
            dry_run,
            concurrency: usize::from(run.concurrency),
            force_conflicts: run.force_conflicts,
            default_namespace: self.global.namespace.first().cloned(),
            crd_timeout: Duration::from_secs(run.crd_timeout),
            scope,
            adopt: inv.adopt,
            takeover_managers: inv.takeover_managers.clone(),
            set: SetRef {
                name: inv.name.clone(),
                inventory_namespace: inv.inventory_namespace.clone(),
            },
            lock_timeout: Duration::from_secs(inv.lock_timeout),
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
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(args).unwrap()
    }

    #[test]
    fn diff_is_sync_dry_run() {
        let diff = parse(&["driftless", "diff", "--source", "d"]);
        let sync = parse(&["driftless", "sync", "--dry-run", "--source", "d", "-n", "x"]);
        assert!(diff.sync_options().dry_run && sync.sync_options().dry_run);
        assert_eq!(sync.sync_options().default_namespace.as_deref(), Some("x"));
        assert_eq!(diff.sync_options().concurrency, 8);
        assert_eq!(diff.connect_options().field_manager, "driftless");
    }

    #[test]
    fn durations_read_as_kubectl_writes_them() {
        let cli = parse(&["driftless", "sync", "--source", "d", "--timeout", "10m"]);
        let Command::Sync(sync) = &cli.command else {
            panic!("sync")
        };
        assert_eq!(sync.run.timeout, Some(Duration::from_secs(600)));
        assert_eq!(
            cli.connect_options().request_timeout,
            Duration::from_secs(30)
        );
    }

    #[test]
    fn wait_is_for_syncs_that_write() {
        let cli = parse(&["driftless", "sync", "--source", "d", "--wait"]);
        let wait = cli.sync_options().wait.unwrap();
        assert_eq!(wait.timeout, Duration::from_secs(300));
        let cli = parse(&[
            "driftless",
            "sync",
            "--source",
            "d",
            "--wait",
            "--wait-timeout",
            "30s",
        ]);
        assert_eq!(
            cli.sync_options().wait.unwrap().timeout,
            Duration::from_secs(30)
        );
        let cli = parse(&["driftless", "sync", "--source", "d"]);
        assert!(cli.sync_options().wait.is_none());
        assert!(
            Cli::try_parse_from(["driftless", "sync", "--source", "d", "--wait", "--dry-run"])
                .is_err()
        );
        assert!(Cli::try_parse_from(["driftless", "diff", "--source", "d", "--wait"]).is_err());
    }

    #[test]
    fn concurrency_must_be_positive() {
        assert!(
            Cli::try_parse_from(["driftless", "sync", "--source", "d", "--concurrency", "0"])
                .is_err()
        );
    }

    #[test]
    fn git_urls_become_git_sources() {
        let cli = parse(&[
            "driftless",
            "diff",
            "--source",
            "https://u:t@host/org/repo.git",
            "--revision",
            "v1",
            "--path",
            "env/prod",
        ]);
        let Command::Diff(run) = &cli.command else {
            panic!("diff")
        };
        let source = run.source.source().unwrap();
        assert!(matches!(source, Source::Git(_)));
        assert_eq!(
            source.describe(),
            "https://host/org/repo.git (path env/prod)"
        );
        let cli = parse(&[
            "driftless",
            "render",
            "--source",
            "examples/platform-repo",
            "--exclude",
            "**/secrets.yaml",
        ]);
        let Command::Render(render) = &cli.command else {
            panic!("render")
        };
        assert!(matches!(render.source.source().unwrap(), Source::Dir(_)));
        assert_eq!(render.source.options().filter.exclude, ["**/secrets.yaml"]);
    }
}
