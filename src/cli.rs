//! Command-line flags (raw), and the settings they turn into.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::cluster::ConnectOptions;
use crate::report::Format;
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
    /// Namespace for namespaced objects whose manifest names none.
    #[arg(short = 'n', long, global = true, env = "DRIFTLESS_NAMESPACE")]
    pub namespace: Option<String>,
    /// Field manager name for server-side apply.
    #[arg(
        long,
        global = true,
        env = "DRIFTLESS_FIELD_MANAGER",
        default_value = "driftless"
    )]
    pub field_manager: String,
    /// More logging on stderr (-v: debug, -vv: trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply the manifests with server-side apply (or, with --dry-run, show the diff).
    Sync(SyncArgs),
    /// Show what a sync would change, as a unified diff; exit 0 in sync, 1 changes, 2 error.
    Diff(RunArgs),
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Do not write: dry-run everything and print the diff (the same as `driftless diff`).
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Directory (or file) of manifests: *.yaml, *.yml, *.json, read recursively.
    #[arg(long, env = "DRIFTLESS_SOURCE")]
    pub source: PathBuf,
    /// Requests in flight at once, for dry-runs and applies alike.
    #[arg(long, env = "DRIFTLESS_CONCURRENCY", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// Take fields that another field manager owns instead of failing the object.
    #[arg(long)]
    pub force_conflicts: bool,
    /// Seconds to wait for a new CRD to become Established.
    #[arg(long, default_value_t = 60)]
    pub crd_timeout: u64,
    /// Output format: text (diffs on stdout, summary), markdown (a PR comment) or json.
    #[arg(short, long, env = "DRIFTLESS_OUTPUT", value_enum, default_value_t = Format::Text)]
    pub output: Format,
}

impl Cli {
    pub fn connect_options(&self) -> ConnectOptions {
        ConnectOptions {
            kubeconfig: self.global.kubeconfig.clone(),
            context: self.global.context.clone(),
            field_manager: self.global.field_manager.clone(),
        }
    }

    /// The run flags and whether this is a preview.
    pub fn run_args(&self) -> (&RunArgs, bool) {
        match &self.command {
            Command::Sync(s) => (&s.run, s.dry_run),
            Command::Diff(r) => (r, true),
        }
    }

    pub fn sync_options(&self) -> SyncOptions {
        let (run, dry_run) = self.run_args();
        SyncOptions {
            dry_run,
            concurrency: usize::from(run.concurrency),
            force_conflicts: run.force_conflicts,
            default_namespace: self.global.namespace.clone(),
            crd_timeout: Duration::from_secs(run.crd_timeout),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_is_sync_dry_run() {
        let diff = Cli::try_parse_from(["driftless", "diff", "--source", "d"]).unwrap();
        let sync =
            Cli::try_parse_from(["driftless", "sync", "--dry-run", "--source", "d", "-n", "x"])
                .unwrap();
        assert!(diff.sync_options().dry_run && sync.sync_options().dry_run);
        assert_eq!(sync.sync_options().default_namespace.as_deref(), Some("x"));
        assert_eq!(diff.sync_options().concurrency, 8);
        assert_eq!(diff.connect_options().field_manager, "driftless");
    }

    #[test]
    fn concurrency_must_be_positive() {
        assert!(
            Cli::try_parse_from(["driftless", "sync", "--source", "d", "--concurrency", "0"])
                .is_err()
        );
    }
}
