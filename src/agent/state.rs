//! What the agent knows about each of its sync sets, as `/report` and `/readyz` show it: who
//! leads, which revision each namespace last applied and attempted, and what failed.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::runner::Pass;

/// The agent's view of all its sets; shared by the workers and the HTTP server.
#[derive(Debug)]
pub struct AgentState {
    sets: Mutex<BTreeMap<String, SetStatus>>,
    /// Bumped at every change: what keeps each set's stored status current waits on it.
    changed: tokio::sync::watch::Sender<u64>,
}

pub use crate::status::{Role, SetStatus};

impl AgentState {
    /// Each set by name, its source and its commit link template.
    pub fn new(sets: impl IntoIterator<Item = (String, String, Option<String>)>) -> AgentState {
        let sets = sets
            .into_iter()
            .map(|(name, source, commit_url)| {
                let status = SetStatus {
                    commit_url,
                    ..SetStatus::new(&name, &source)
                };
                (name, status)
            })
            .collect();
        AgentState {
            sets: Mutex::new(sets),
            changed: tokio::sync::watch::channel(0).0,
        }
    }

    fn with<R>(&self, set: &str, f: impl FnOnce(&mut SetStatus) -> R) -> Option<R> {
        let mut sets = self.sets.lock().unwrap_or_else(|p| p.into_inner());
        let changed = sets.get_mut(set).map(f);
        self.changed.send_modify(|n| *n += 1);
        changed
    }

    /// Resolves at each change of any set (see [`AgentState::get`]).
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
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
        self.with(set, |s| s.record_pass(pass));
    }

    /// Records what the set's watches found.
    pub fn found(&self, set: &str, finding: &crate::drift::Finding) {
        self.with(set, |s| s.record_finding(finding));
    }

    /// Records whether the set is suspended.
    pub fn suspended(&self, set: &str, suspended: bool) {
        self.with(set, |s| {
            // Suspended, it runs no pass: what the set is now is loaded.
            s.loaded |= suspended;
            s.record_suspended(suspended)
        });
    }

    /// The set's status now.
    pub fn get(&self, set: &str) -> Option<SetStatus> {
        let sets = self.sets.lock().unwrap_or_else(|p| p.into_inner());
        sets.get(set).cloned()
    }

    /// On a standby: the leader's stored status, keeping this replica's role and loading.
    pub fn mirror(&self, set: &str, stored: SetStatus) {
        self.with(set, |s| {
            let (role, loaded, commit_url) = (s.role, s.loaded, s.commit_url.take());
            *s = SetStatus {
                role,
                loaded,
                commit_url,
                ..stored
            };
        });
    }

    /// Continues from what the set's previous leader stored: its timeline and the last
    /// reconcile request answered.
    pub fn resume_from(&self, set: &str, stored: SetStatus) {
        self.with(set, |s| {
            if s.timeline.is_empty() {
                s.timeline = stored.timeline;
            }
            if s.last_handled_reconcile.is_none() {
                s.last_handled_reconcile = stored.last_handled_reconcile;
            }
        });
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
                let watches_due = !matches!(s.result.as_deref(), Some("waiting" | "failed"));
                // A suspended set runs no pass, so it starts no watch.
                let watches_due = watches_due && !s.suspended;
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
