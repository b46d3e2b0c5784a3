//! Whether what a sync applied is running as asked (`sync --wait`), with kstatus-like rules.
//!
//! [`health`] is pure: one live object (and the pods of its namespace, for workloads) in, one
//! [`Health`] out, tested with literal objects. [`fn@wait`] is the thin async layer that polls the
//! cluster until every object is healthy or failed, the timeout passes, or the run is halted.

mod pods;
mod progress;
mod rules;
mod wait;

pub use progress::ProgressStyle;
pub use wait::{WaitOptions, wait};

use std::fmt;

use serde_json::Value;

/// What an object's live state says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// Rolled out, complete, bound, or (for kinds without rules) present.
    Healthy,
    /// Not there yet; says what is missing (`1/2 replicas available`).
    InProgress(String),
    /// Will not get there by waiting; says why (`image cannot be pulled: ErrImagePull: ...`).
    Failed(String),
}

/// [`Health`] without its message: what reports count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HealthState {
    Healthy,
    Unhealthy,
    InProgress,
}

impl HealthState {
    pub const ALL: [HealthState; 3] = [
        HealthState::Healthy,
        HealthState::Unhealthy,
        HealthState::InProgress,
    ];

    pub fn label(self) -> &'static str {
        match self {
            HealthState::Healthy => "healthy",
            HealthState::Unhealthy => "unhealthy",
            HealthState::InProgress => "in progress",
        }
    }

    /// The key in JSON reports (`inProgress`).
    pub fn key(self) -> &'static str {
        match self {
            HealthState::InProgress => "inProgress",
            other => other.label(),
        }
    }
}

impl Health {
    pub fn state(&self) -> HealthState {
        match self {
            Health::Healthy => HealthState::Healthy,
            Health::InProgress(_) => HealthState::InProgress,
            Health::Failed(_) => HealthState::Unhealthy,
        }
    }

    pub fn message(&self) -> Option<&str> {
        match self {
            Health::Healthy => None,
            Health::InProgress(why) | Health::Failed(why) => Some(why),
        }
    }

    /// Healthy or failed: polling again would not change it.
    pub fn is_final(&self) -> bool {
        !matches!(self, Health::InProgress(_))
    }
}

/// `healthy`, `unhealthy: <why>`, `in progress: <why>`.
impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.state().label())?;
        match self.message() {
            Some(why) => write!(f, ": {why}"),
            None => Ok(()),
        }
    }
}

/// The kinds with rules of their own; everything else is healthy once it exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Deployment,
    StatefulSet,
    DaemonSet,
    Job,
    PersistentVolumeClaim,
    Other,
}

impl Kind {
    pub fn of(group: &str, kind: &str) -> Kind {
        match (group, kind) {
            ("apps", "Deployment") => Kind::Deployment,
            ("apps", "StatefulSet") => Kind::StatefulSet,
            ("apps", "DaemonSet") => Kind::DaemonSet,
            ("batch", "Job") => Kind::Job,
            ("", "PersistentVolumeClaim") => Kind::PersistentVolumeClaim,
            _ => Kind::Other,
        }
    }

    /// Whether its health also depends on its pods (images that cannot be pulled, crash loops).
    pub fn runs_pods(self) -> bool {
        matches!(
            self,
            Kind::Deployment | Kind::StatefulSet | Kind::DaemonSet | Kind::Job
        )
    }
}

/// The health of one live object. `pods` are the pods of its namespace (any, unfiltered: the
/// workload's selector picks its own); only kinds that [`Kind::runs_pods`] look at them.
pub fn health(kind: Kind, object: &Value, pods: &[Value]) -> Health {
    if !object["metadata"]["deletionTimestamp"].is_null() {
        return Health::InProgress("being deleted".into());
    }
    match kind {
        Kind::Deployment => rules::deployment(object, pods),
        Kind::StatefulSet => rules::stateful_set(object, pods),
        Kind::DaemonSet => rules::daemon_set(object, pods),
        Kind::Job => rules::job(object, pods),
        Kind::PersistentVolumeClaim => rules::claim(object),
        Kind::Other => Health::Healthy,
    }
}

#[cfg(test)]
mod tests;
