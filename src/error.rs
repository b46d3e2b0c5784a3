//! One error type for the library, with a variant per stage of the flow.

use std::path::PathBuf;

/// Errors that stop a whole run. Per-object failures (a 422, a conflict) are not errors of the
/// run: they are recorded in the [`crate::report::Report`] and fail only their namespace.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The agent's config file: where, and what is wrong.
    #[error("config {}{}: {reason}", .path.display(), line_note(.line))]
    Config {
        path: PathBuf,
        line: Option<u64>,
        reason: String,
    },

    #[error("source {path}: {reason}")]
    Source { path: PathBuf, reason: String },

    /// Fetching a Git revision failed (remote down, auth refused, unknown revision).
    #[error("fetching {origin}: {reason}")]
    Fetch { origin: String, reason: String },

    #[error(transparent)]
    Render(#[from] crate::render::RenderError),

    /// The repository's lint configuration cannot be used.
    #[error(transparent)]
    LintConfig(#[from] crate::lint::ConfigError),

    #[error("cannot connect to the cluster: {0}")]
    Connect(String),

    #[error("API discovery failed: {0}")]
    Discovery(String),

    /// A guard refused the sync before anything was written (an emptied source, a prune over
    /// budget).
    #[error("refused: {0}")]
    Refused(String),

    /// The set's inventory could not be read: nothing was written, because what decides a
    /// prune (and what a parent must keep listing) is unknown.
    #[error("sync set {set:?}: {reason}")]
    Inventory { set: String, reason: String },

    /// The set's Lease: held by another writer past `--lock-timeout`, unreadable, or lost.
    #[error("{0}")]
    Lock(String),

    /// The run was stopped (a signal, its `--timeout`) before it got to apply anything.
    #[error("stopped {0}")]
    Stopped(String),

    /// A pass stopped before applying anything; says which revision the cluster keeps.
    #[error("{cause}\nnothing applied{}; {}", revision_note(.revision), live_note(.live))]
    NotApplied {
        cause: Box<Error>,
        revision: Option<String>,
        live: Option<String>,
    },
}

fn line_note(line: &Option<u64>) -> String {
    line.map(|l| format!(":{l}")).unwrap_or_default()
}

fn revision_note(revision: &Option<String>) -> String {
    revision
        .as_ref()
        .map(|r| format!(" from revision {r}"))
        .unwrap_or_default()
}

fn live_note(live: &Option<String>) -> String {
    match live {
        Some(r) => format!("the cluster keeps revision {r}, the last one synced"),
        None => "the cluster keeps what it runs".to_string(),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where a run stopped, as a typed value: what paces the next pass and names Events and
/// metric labels (`render`, `fetch`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    Config,
    Source,
    Fetch,
    Render,
    Lint,
    Connect,
    Discovery,
    Refused,
    Inventory,
    Lock,
    Stopped,
}

impl Stage {
    /// A short, stable label for metrics and logs.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Config => "config",
            Stage::Source => "source",
            Stage::Fetch => "fetch",
            Stage::Render => "render",
            Stage::Lint => "lint",
            Stage::Connect => "connect",
            Stage::Discovery => "discovery",
            Stage::Refused => "refused",
            Stage::Inventory => "inventory",
            Stage::Lock => "lock",
            Stage::Stopped => "stopped",
        }
    }
}

impl Error {
    /// The stage the error stopped the run at.
    pub fn stage(&self) -> Stage {
        match self {
            Error::Config { .. } => Stage::Config,
            Error::Source { .. } => Stage::Source,
            Error::Fetch { .. } => Stage::Fetch,
            Error::Render(_) => Stage::Render,
            Error::LintConfig(_) => Stage::Lint,
            Error::Connect(_) => Stage::Connect,
            Error::Discovery(_) => Stage::Discovery,
            Error::Refused(_) => Stage::Refused,
            Error::Inventory { .. } => Stage::Inventory,
            Error::Lock(_) => Stage::Lock,
            Error::Stopped(_) => Stage::Stopped,
            Error::NotApplied { cause, .. } => cause.stage(),
        }
    }
}
