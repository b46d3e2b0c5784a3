//! Validated settings: what one sync set reads, how it syncs, and how often; and what the agent
//! serves. Built once, from the command line (`sync`, `diff`) or from the agent's config file
//! ([`mod@file`]); every default lives in the types' `Default`s, so both paths agree.

pub mod file;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::cluster::ConnectOptions;
use crate::render::renderers::RenderOptions;
use crate::source::{Source, SourceOptions};
use crate::sync::SyncOptions;

/// How often the agent looks for a new revision when the config names no interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// Where the agent serves `/metrics`, `/healthz`, `/readyz` and `/report`.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:8080";
/// Where webhook calls come in: a port of their own, so what is exposed to Git hosts is only
/// `/hook` (Flux's receiver listens on 9292 too).
pub const DEFAULT_HOOK_LISTEN: &str = "0.0.0.0:9292";

/// One sync set, ready to run.
#[derive(Debug, Clone)]
pub struct SetSettings {
    pub source: Source,
    pub source_options: SourceOptions,
    /// How kustomizations and charts are rendered (and the cache of what they rendered).
    pub render: RenderOptions,
    pub sync: SyncOptions,
    /// How often the source is looked at (Git is polled; a directory is also watched).
    pub interval: Duration,
    /// A deadline for each pass: past it, no new write starts.
    pub timeout: Option<Duration>,
    /// `POST /hook/<set>`: who signs calls and with what (the agent only).
    pub webhook: Option<WebhookSettings>,
    /// Self-heal and how drift is watched (the agent only).
    pub drift: crate::drift::DriftSettings,
    /// How often the agent re-syncs a revision it already synced (watches see drift between).
    pub resync_interval: Duration,
    /// Sets this one waits for: it syncs once each has synced everything (the agent only).
    pub depends_on: Vec<crate::inventory::SetName>,
    /// Where the dashboard links a revision (`https://git.example.com/p/commit/{revision}`).
    pub commit_url: Option<String>,
}

/// The agent re-verifies everything this often even when watches saw nothing.
pub const DEFAULT_RESYNC_INTERVAL: Duration = Duration::from_secs(600);

/// A set's webhook: the provider's signature scheme and the file holding its secret (re-read
/// on every call, as mounted Secrets rotate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    pub provider: HookProvider,
    pub secret_file: std::path::PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HookProvider {
    /// `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`.
    GitHub,
    /// `X-Gitlab-Token: <the secret>`.
    GitLab,
    /// `X-Signature: sha256=<hex HMAC-SHA256 of the body>` (as Flux's generic-hmac receiver).
    Generic,
}

impl HookProvider {
    pub fn label(self) -> &'static str {
        match self {
            HookProvider::GitHub => "github",
            HookProvider::GitLab => "gitlab",
            HookProvider::Generic => "generic",
        }
    }
}

/// The agent: its sets and how it serves them.
#[derive(Debug, Clone)]
pub struct AgentSettings {
    pub connect: ConnectOptions,
    pub sets: Vec<SetSettings>,
    pub listen: SocketAddr,
    /// Where `POST /hook/<set>` is served.
    pub hook_listen: SocketAddr,
    /// Where other replicas reach this one's hook listener (a standby passes calls on to the
    /// leader).
    pub advertise: Option<String>,
    /// Who this replica is, as Leases and Events name it (the pod's name).
    pub identity: String,
    /// Serve the read-only dashboard at `/` (`dashboard: true`, `--dashboard`).
    pub dashboard: bool,
}

/// `30s`, `5m`, `1h`, `250ms`, or plain seconds (`30`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (n, unit) = number_and_unit(s)
        .ok_or_else(|| format!("invalid duration {s:?}: a number with a unit (30s, 5m, 1h)"))?;
    let unit_ms = match unit {
        "ms" => 1,
        "" | "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(format!("invalid duration {s:?}: units are ms, s, m, h")),
    };
    Ok(Duration::from_millis(n.saturating_mul(unit_ms)))
}

/// `30s` as (30, "s"): the leading digits and what follows them.
fn number_and_unit(s: &str) -> Option<(u64, &str)> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    Some((number.parse().ok()?, unit))
}

/// A size in bytes: `1048576`, `512KiB`, `16MiB`, `1GiB` (also `Ki`/`Mi`/`Gi`, as Kubernetes
/// writes them), or `100k`/`100KB`, `16M`/`16MB`, `1G`/`1GB` in powers of ten.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (n, unit) = number_and_unit(s)
        .ok_or_else(|| format!("invalid size {s:?}: a number with a unit (512KiB, 16MiB)"))?;
    let unit_bytes: u64 = match unit.trim() {
        "" | "B" => 1,
        "k" | "K" | "kB" | "KB" => 1_000,
        "Ki" | "KiB" => 1 << 10,
        "M" | "MB" => 1_000_000,
        "Mi" | "MiB" => 1 << 20,
        "G" | "GB" => 1_000_000_000,
        "Gi" | "GiB" => 1 << 30,
        _ => {
            return Err(format!(
                "invalid size {s:?}: units are B, KiB, MiB, GiB (or k, M, G)"
            ));
        }
    };
    n.checked_mul(unit_bytes)
        .ok_or_else(|| format!("invalid size {s:?}: too large"))
}

/// `~/.cache/driftless/git` (or `$XDG_CACHE_HOME/driftless/git`).
pub fn default_cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("driftless").join("git")
}

/// This replica's name: `$POD_NAME` in a pod (the Deployment sets it), else host and pid.
pub fn default_identity() -> String {
    if let Ok(pod) = std::env::var("POD_NAME")
        && !pod.is_empty()
    {
        return pod;
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into());
    format!("agent@{host}:{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_kubectl_writes_them() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("soon").is_err() && parse_duration("5d").is_err());
    }

    #[test]
    fn sizes_take_binary_and_decimal_units() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("100KiB"), Ok(102_400));
        assert_eq!(parse_size("16Mi"), Ok(16 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("2M"), Ok(2_000_000));
        assert_eq!(parse_size("3 kB"), Ok(3_000));
        assert!(parse_size("lots").is_err() && parse_size("5TiB").is_err());
        assert!(parse_size("99999999999999GiB").is_err());
    }
}
