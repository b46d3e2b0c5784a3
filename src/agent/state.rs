//! What the agent knows about each of its sync sets, as `/report` and `/readyz` show it: who
//! leads, which revision each namespace last applied and attempted, and what failed.

use std::collections::BTreeMap;
use std::sync::Mutex;

use k8s_openapi::jiff::Timestamp;
use serde::Serialize;

use crate::plan::namespace_label;
use crate::report::{Outcome, Report};
use crate::runner::{Pass, PassOutcome, PassResult};

/// The agent's view of all its sets; shared by the workers and the HTTP server.
#[derive(Debug, Default)]
pub struct AgentState {
    sets: Mutex<BTreeMap<String, SetStatus>>,
}

/// A set's role on this replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Role {
    /// Not yet connected, or not yet looked at the Lease.
    Starting,
    /// Another replica leads: this one serves health and metrics, and waits.
    Standby,
    Leader,
    /// The worker stopped (shutdown, or a fault: then `/healthz` fails).
    Stopped,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
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
    /// `synced`, `degraded` (some namespaces failed), `unchanged`, or `failed` (nothing
    /// applied: see `error`).
    pub result: Option<&'static str>,
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
    pub drift: super::drift::DriftStatus,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceStatus {
    /// The last revision applied to this namespace with no failure.
    pub last_applied_revision: Option<String>,
    pub last_attempted_revision: Option<String>,
    /// Objects per outcome in the last pass (non-zero only).
    pub objects: BTreeMap<&'static str, usize>,
    pub failures: Vec<ObjectFailure>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectFailure {
    pub object: String,
    pub outcome: &'static str,
    /// The typed reason (`Forbidden`, `Invalid`, `InventoryFailed`, ...).
    pub reason: &'static str,
    /// `file:line`, or `inventory` for an object Git no longer holds.
    pub source: String,
    pub message: String,
}

impl AgentState {
    pub fn new(sets: impl IntoIterator<Item = (String, String)>) -> AgentState {
        let sets = sets
            .into_iter()
            .map(|(name, source)| {
                let status = SetStatus {
                    name: name.clone(),
                    source,
                    role: Role::Starting,
                    leader: None,
                    loaded: false,
                    last_applied_revision: None,
                    last_attempted_revision: None,
                    last_attempt_time: None,
                    last_success_time: None,
                    result: None,
                    ready: false,
                    error: None,
                    consecutive_failures: 0,
                    namespaces: BTreeMap::new(),
                    charts: Vec::new(),
                    drift: Default::default(),
                };
                (name, status)
            })
            .collect();
        AgentState {
            sets: Mutex::new(sets),
        }
    }

    fn with<R>(&self, set: &str, f: impl FnOnce(&mut SetStatus) -> R) -> Option<R> {
        let mut sets = self.sets.lock().unwrap_or_else(|p| p.into_inner());
        sets.get_mut(set).map(f)
    }

    /// Another replica leads (`leader`), recording `revision` as synced.
    pub fn standby(&self, set: &str, leader: Option<String>, revision: Option<String>) {
        self.with(set, |s| {
            s.role = Role::Standby;
            s.leader = leader;
            s.loaded = true;
            if revision.is_some() {
                s.last_applied_revision = revision;
            }
        });
    }

    /// This replica leads, starting from the revision the Lease records.
    pub fn leading(&self, set: &str, identity: &str, revision: Option<String>) {
        self.with(set, |s| {
            s.role = Role::Leader;
            s.leader = Some(identity.to_string());
            s.loaded = false;
            s.drift = Default::default();
            if revision.is_some() {
                s.last_applied_revision = revision;
            }
        });
    }

    pub fn stopped(&self, set: &str, why: Option<String>) {
        self.with(set, |s| {
            s.role = Role::Stopped;
            if why.is_some() {
                s.error = why;
            }
        });
    }

    /// Records a pass this replica ran as leader.
    pub fn record(&self, set: &str, pass: &Pass) {
        let now = Timestamp::now().to_string();
        self.with(set, |s| {
            s.loaded = true;
            s.last_attempt_time = Some(now.clone());
            let outcome = pass.result.outcome();
            if outcome != PassOutcome::Unchanged {
                s.ready = outcome == PassOutcome::Synced;
            }
            match &pass.result {
                PassResult::Report(report) => {
                    let failed = report.failed();
                    s.result = Some(outcome.label());
                    s.error = None;
                    s.consecutive_failures = 0;
                    s.last_attempted_revision = report.revision.clone();
                    s.charts = report.charts.clone();
                    if !failed {
                        s.last_applied_revision = report.revision.clone();
                        s.last_success_time = Some(now);
                    }
                    record_namespaces(&mut s.namespaces, report);
                }
                // Nothing ran: the last pass's result still describes the set.
                PassResult::Unchanged(_) => {
                    s.result.get_or_insert(outcome.label());
                }
                PassResult::Waiting(why) => {
                    s.result = Some(outcome.label());
                    s.error = Some(why.clone());
                }
                PassResult::Failed(e) => {
                    s.result = Some(outcome.label());
                    s.error = Some(format!("{e:#}"));
                    s.consecutive_failures += 1;
                    if let crate::Error::NotApplied { revision, .. } = e
                        && revision.is_some()
                    {
                        s.last_attempted_revision = revision.clone();
                    }
                }
            }
        });
    }

    /// Updates what the set's watches see.
    pub fn drift(&self, set: &str, f: impl FnOnce(&mut super::drift::DriftStatus)) {
        self.with(set, |s| f(&mut s.drift));
    }

    /// Every set has loaded (and, where this replica leads, its watches have synced); else
    /// the names of those that have not.
    pub fn ready(&self) -> Result<(), Vec<String>> {
        let sets = self.sets.lock().unwrap_or_else(|p| p.into_inner());
        let waiting: Vec<String> = sets
            .values()
            .filter(|s| {
                // Watches start once a pass resolved objects: a set that only waited (dependsOn)
                // or failed so far has loaded, with nothing to watch yet.
                let watches_due = !matches!(s.result, Some("waiting" | "failed"));
                !s.loaded || (s.role == Role::Leader && watches_due && !s.drift.watching)
            })
            .map(|s| s.name.clone())
            .collect();
        if waiting.is_empty() {
            Ok(())
        } else {
            Err(waiting)
        }
    }

    /// Sets whose worker stopped while the agent was not shutting down.
    pub fn stopped_sets(&self) -> Vec<String> {
        let sets = self.sets.lock().unwrap_or_else(|p| p.into_inner());
        sets.values()
            .filter(|s| s.role == Role::Stopped)
            .map(|s| s.name.clone())
            .collect()
    }

    pub fn snapshot(&self) -> Vec<SetStatus> {
        let sets = self.sets.lock().unwrap_or_else(|p| p.into_inner());
        sets.values().cloned().collect()
    }
}

/// Updates each namespace of the report; a namespace that failed keeps its last applied
/// revision.
fn record_namespaces(namespaces: &mut BTreeMap<String, NamespaceStatus>, report: &Report) {
    let mut before = std::mem::take(namespaces);
    for ns in &report.namespaces {
        let label = namespace_label(&ns.namespace).to_string();
        let mut status = before.remove(&label).unwrap_or_default();
        status.last_attempted_revision = report.revision.clone();
        if !ns.failed() {
            status.last_applied_revision = report.revision.clone();
        }
        status.objects = Outcome::ALL
            .iter()
            .map(|o| (o.key(), ns.count(*o)))
            .filter(|(_, n)| *n > 0)
            .collect();
        status.failures = ns
            .errors
            .iter()
            .map(|e| ObjectFailure {
                object: format!("namespace {}", namespace_label(&ns.namespace)),
                outcome: Outcome::Failed.key(),
                reason: crate::report::Reason::InventoryFailed.label(),
                source: "inventory".into(),
                message: e.clone(),
            })
            .chain(
                ns.objects
                    .iter()
                    .filter(|o| matches!(o.outcome, Outcome::Failed | Outcome::NotAttempted))
                    .map(|o| ObjectFailure {
                        object: o.id.to_string(),
                        outcome: o.outcome.key(),
                        reason: o.reason.map_or("", |r| r.label()),
                        source: o.source(),
                        message: o.message.clone().unwrap_or_default(),
                    }),
            )
            .collect();
        namespaces.insert(label, status);
    }
}
