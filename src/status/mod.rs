//! A sync set's status: what `/report`, the dashboard, `driftless status` and the set's status
//! ConfigMap on the cluster all show. One type, built from passes and drift findings by
//! whoever runs them (the agent's leader, the CLI's `sync`), bounded before it is stored.
//!
//! ```text
//!   Pass, Finding ─> SetStatus ─> /report, dashboard (agent)
//!                             └─> compact() ─> ConfigMap driftless-status-<set> ─> driftless status
//! ```

mod compact;
mod record;
#[cfg(test)]
mod tests;
mod view;

pub use compact::{RECORD_LIMIT, compact};
pub use view::{LeaseView, SetView, get, lease_name, list};

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

/// A set's role on one replica (on the cluster: `leader` when an agent leads it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Role {
    /// Not yet connected, or not yet looked at the Lease.
    #[default]
    Starting,
    /// Another replica leads: this one serves health and metrics, and waits.
    Standby,
    Leader,
    /// The worker stopped (shutdown, or a fault: then `/healthz` fails).
    Stopped,
    /// Recorded by a CLI `sync`, not by an agent.
    Cli,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SetStatus {
    pub name: String,
    pub source: String,
    pub role: Role,
    /// Who holds the set's Lease, as last seen.
    pub leader: Option<String>,
    /// Whether the set has loaded: its first pass ran here, or the Lease was read (standby).
    pub loaded: bool,
    /// The last revision synced with no failure (from the Lease when this replica took over).
    pub last_applied_revision: Option<String>,
    pub last_attempted_revision: Option<String>,
    pub last_attempt_time: Option<String>,
    pub last_success_time: Option<String>,
    /// `synced`, `degraded` (some namespaces failed), `unchanged`, `waiting`, or `failed`
    /// (nothing applied: see `error`).
    pub result: Option<String>,
    /// The last pass that ran synced everything. A set that fails or is refused (a prune over
    /// budget, another source) is not ready, while the agent as a whole stays ready.
    pub ready: bool,
    /// Why the last pass applied nothing (a revision that does not render, with file:line).
    pub error: Option<String>,
    pub consecutive_failures: u32,
    pub namespaces: BTreeMap<String, NamespaceStatus>,
    /// The charts the last pass that ran resolved (version and digest), from repositories.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub charts: Vec<crate::render::ResolvedChart>,
    /// What the set's watches see (on the leader).
    pub drift: DriftStatus,
    /// `driftless suspend`: no pass and no self-heal until `driftless resume`.
    pub suspended: bool,
    /// The last `driftless reconcile` request a pass handled (its timestamp, as requested).
    pub last_handled_reconcile: Option<String>,
    /// Where a revision's commit is shown: a URL template with `{revision}` (the dashboard).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit_url: Option<String>,
    /// The last passes and drift events, oldest first (at most [`TIMELINE`]).
    pub timeline: VecDeque<TimelineEntry>,
    /// What [`compact()`] left out to stay under [`RECORD_LIMIT`] (failures, drifted objects,
    /// namespaces); 0 when nothing was.
    #[serde(skip_serializing_if = "is_zero")]
    pub omitted: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NamespaceStatus {
    /// The last revision applied to this namespace with no failure.
    pub last_applied_revision: Option<String>,
    pub last_attempted_revision: Option<String>,
    /// Objects per outcome in the last pass (non-zero only).
    pub objects: BTreeMap<String, usize>,
    pub failures: Vec<ObjectFailure>,
    /// Failures left out of `failures` (see [`compact()`]).
    #[serde(skip_serializing_if = "is_zero")]
    pub more_failures: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ObjectFailure {
    pub object: String,
    pub outcome: String,
    /// The typed reason (`Forbidden`, `Invalid`, `InventoryFailed`, ...).
    pub reason: String,
    /// `file:line`, or `inventory` for an object Git no longer holds.
    pub source: String,
    pub message: String,
}

/// A set's drift, as its watches see it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DriftStatus {
    /// Every watch of the set has listed its objects: drift is seen as it happens.
    pub watching: bool,
    /// Objects that differ from Git now, by object.
    pub drifted: BTreeMap<String, Drifted>,
    /// Drifted objects left out of `drifted` (see [`compact()`]).
    #[serde(skip_serializing_if = "is_zero")]
    pub more: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Drifted {
    /// `changed by kubectl-edit (.spec.replicas)`, or `deleted outside Git`.
    pub by: String,
    /// The field managers that made it (`kubectl-edit`; `deleted`, `unknown`).
    pub managers: Vec<String>,
    pub since: String,
    /// Corrected too often: left alone until its source changes.
    pub fight: bool,
}

/// How many passes and drift events a set's timeline keeps.
pub const TIMELINE: usize = 20;

/// One pass or drift event, as the timeline shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TimelineEntry {
    /// RFC 3339.
    pub at: String,
    /// A pass's result (`synced`, `degraded`, `failed`, `waiting`), or a drift event
    /// (`drifted`, `corrected`, `fight`), or `suspended`, `resumed`.
    pub what: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// A drift event's object (`apps/v1 Deployment team/web`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// What started a pass (`schedule`, `reconcile`, ...), or who drifted an object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl SetStatus {
    pub fn new(name: &str, source: &str) -> SetStatus {
        SetStatus {
            name: name.to_string(),
            source: source.to_string(),
            ..SetStatus::default()
        }
    }

    /// Adds an entry to the timeline, dropping the oldest past [`TIMELINE`].
    pub fn remember(&mut self, entry: TimelineEntry) {
        self.timeline.push_back(entry);
        while self.timeline.len() > TIMELINE {
            self.timeline.pop_front();
        }
    }

    /// The message a one-line view shows: the error, else the first failure.
    pub fn message(&self) -> Option<String> {
        if let Some(error) = &self.error {
            return Some(error.clone());
        }
        // `file:line` first: it is what a reader acts on, and it survives a cut.
        let failure = self.namespaces.values().find_map(|s| s.failures.first())?;
        Some(format!(
            "{}: {}: {}",
            failure.source, failure.object, failure.message
        ))
    }
}

/// A revision as a glance shows it: a commit's first 12 hex digits, anything else whole.
pub fn short_revision(revision: &str) -> &str {
    let commit = revision.len() >= 40 && revision.bytes().all(|b| b.is_ascii_hexdigit());
    match commit {
        true => &revision[..12],
        false => revision,
    }
}

/// How long ago `at` (RFC 3339) was, in its largest unit (`45s`, `3m`, `2h`, `4d`); `-` when
/// it cannot be read.
pub fn age(at: &str, now: k8s_openapi::jiff::Timestamp) -> String {
    let Ok(then) = at.parse::<k8s_openapi::jiff::Timestamp>() else {
        return "-".into();
    };
    span(now.as_second() - then.as_second())
}

/// `seconds` in its largest unit: `45s`, `3m`, `2h`, `4d` (a negative span is `0s`).
pub fn span(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}
