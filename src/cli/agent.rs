//! `driftless agent`: its flags, and what they set over its config file.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{Cli, parse_interval};
use crate::settings::file::Overrides;

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
    /// Address for webhook calls, POST /hook/<set> [default: 0.0.0.0:9292].
    #[allow(rustdoc::invalid_html_tags)]
    #[arg(long, env = "DRIFTLESS_HOOK_LISTEN")]
    pub hook_listen: Option<std::net::SocketAddr>,
    /// Where other replicas reach this one's hook listener, to pass calls on to the leader
    /// [default: $POD_IP and the hook port, else the hook address].
    #[arg(long, env = "DRIFTLESS_ADVERTISE")]
    pub advertise: Option<String>,
    /// This replica's name in Leases and Events [default: $POD_NAME, else host and pid].
    #[arg(long, env = "DRIFTLESS_IDENTITY")]
    pub identity: Option<String>,
    /// Namespace for each set's Lease and cluster-scoped inventory [default: driftless-system].
    #[arg(long, env = "DRIFTLESS_INVENTORY_NAMESPACE")]
    pub inventory_namespace: Option<String>,
    /// Where Git caches live (an emptyDir in a pod).
    #[arg(long, env = "DRIFTLESS_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Every set's interval, whatever the file says (`30s`, `5m`; at least 1s).
    #[arg(long, env = "DRIFTLESS_INTERVAL", value_parser = parse_interval)]
    pub interval: Option<Duration>,
    /// helm binary for every set's charts, over the file's (default: helm on PATH).
    #[arg(long, env = "DRIFTLESS_HELM_BINARY")]
    pub helm_binary: Option<PathBuf>,
    /// kustomize (or kubectl) binary for every set, over the file's.
    #[arg(long, env = "DRIFTLESS_KUSTOMIZE_BINARY")]
    pub kustomize_binary: Option<PathBuf>,
    /// Serve the read-only dashboard at / on the listen address (as `dashboard: true`).
    #[arg(long, env = "DRIFTLESS_DASHBOARD")]
    pub dashboard: bool,
}

impl Cli {
    /// What the agent's flags (and environment) set over its config file.
    pub fn agent_overrides(&self, agent: &AgentArgs) -> Overrides {
        Overrides {
            listen: agent.listen,
            advertise: agent.advertise.clone(),
            hook_listen: agent.hook_listen,
            identity: agent.identity.clone(),
            inventory_namespace: agent.inventory_namespace.clone(),
            field_manager: self.global.field_manager.clone(),
            cache_dir: agent.cache_dir.clone(),
            request_timeout: self.global.request_timeout,
            kubeconfig: self.global.kubeconfig.clone(),
            context: self.global.context.clone(),
            interval: agent.interval,
            dashboard: agent.dashboard,
            tools: crate::render::renderers::Tools {
                helm: agent.helm_binary.clone(),
                kustomize: agent.kustomize_binary.clone(),
            },
        }
    }
}
