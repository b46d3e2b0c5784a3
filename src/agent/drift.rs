//! What the agent does with drift findings: a log line, `/report` (the set's drifted objects),
//! metrics, and Events on the object itself (`DriftDetected`, `DriftCorrected`, `DriftFight`).

use std::sync::Arc;

use k8s_openapi::api::core::v1::ObjectReference;

use super::context::AgentContext;
use crate::cluster::EventSpec;
use crate::drift::{Finding, fight};
use crate::render::ObjectId;

/// Where one set's findings go.
#[derive(Clone)]
pub struct Sink {
    pub ctx: Arc<AgentContext>,
    pub set: String,
}

impl Sink {
    pub fn found(&self, finding: Finding) {
        log(&self.set, &finding);
        self.ctx.state.found(&self.set, &finding);
        self.ctx.metrics.drift(&self.set, &finding);
        self.ctx.events.send(&self.set, events_for(&finding));
    }
}

fn log(set: &str, finding: &Finding) {
    match finding {
        Finding::Detected { id, by, .. } => tracing::warn!(set, object = %id, "drift: {by}"),
        Finding::Corrected { id, .. } => tracing::info!(set, object = %id, "drift corrected"),
        Finding::Fight { id, with } => {
            tracing::warn!(set, object = %id, with = %with, "drift fight: correction stopped")
        }
        Finding::Cleared { id } => tracing::info!(set, object = %id, "back in line with Git"),
        Finding::Synced => tracing::info!(set, "watches synced: drift is seen as it happens"),
        Finding::WatchFailed { error } => tracing::warn!(set, %error, "a watch failed; retrying"),
    }
}

/// The Events a finding calls for, on the object itself.
pub fn events_for(finding: &Finding) -> Vec<EventSpec> {
    let (id, warning, reason, action, note) = match finding {
        Finding::Detected { id, by, .. } => (
            id,
            true,
            "DriftDetected",
            "Detect",
            format!("differs from Git: {by}"),
        ),
        Finding::Corrected { id, deleted } => (
            id,
            false,
            "DriftCorrected",
            "Correct",
            match deleted {
                true => "recreated as Git says (self-heal)".to_string(),
                false => "put back as Git says (self-heal)".to_string(),
            },
        ),
        Finding::Fight { id, with } => (
            id,
            true,
            "DriftFight",
            "Correct",
            format!(
                "corrected {} times within {} s, and changed again by {with}: left alone until its source changes",
                fight::LIMIT,
                fight::WINDOW.as_secs()
            ),
        ),
        Finding::Cleared { .. } | Finding::Synced | Finding::WatchFailed { .. } => {
            return Vec::new();
        }
    };
    vec![EventSpec {
        regarding: object_ref(id),
        warning,
        reason,
        action,
        note,
        set: None,
    }]
}

fn object_ref(id: &ObjectId) -> ObjectReference {
    ObjectReference {
        api_version: Some(id.api_version()),
        kind: Some(id.kind.clone()),
        namespace: id.namespace.clone(),
        name: Some(id.name.clone()),
        ..ObjectReference::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_become_events_on_the_object_and_report_entries() {
        let id = ObjectId::for_test("apps/v1", "Deployment", "team", "web");
        let detected = Finding::Detected {
            id: id.clone(),
            by: "changed by kubectl-edit (.spec.replicas)".into(),
            managers: vec!["kubectl-edit".into()],
            deleted: false,
            new: true,
        };
        let events = events_for(&detected);
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!((e.reason, e.warning), ("DriftDetected", true));
        assert!(
            e.note.contains("kubectl-edit (.spec.replicas)"),
            "{}",
            e.note
        );
        assert_eq!(e.regarding.kind.as_deref(), Some("Deployment"));
        assert_eq!(e.regarding.api_version.as_deref(), Some("apps/v1"));
        assert_eq!(e.regarding.namespace.as_deref(), Some("team"));

        let mut set = crate::status::SetStatus::new("s", "dir");
        set.record_finding(&detected);
        let key = id.to_string();
        assert!(set.drift.drifted.contains_key(&key));
        assert_eq!(set.drift.drifted[&key].managers, ["kubectl-edit"]);
        assert_eq!(set.timeline.back().unwrap().what, "drifted");
        let fight = Finding::Fight {
            id: id.clone(),
            with: "kubectl-edit".into(),
        };
        assert_eq!(events_for(&fight)[0].reason, "DriftFight");
        set.record_finding(&fight);
        assert!(set.drift.drifted[&key].fight);
        let corrected = Finding::Corrected { id, deleted: true };
        assert_eq!(events_for(&corrected)[0].reason, "DriftCorrected");
        assert!(!events_for(&corrected)[0].warning);
        set.record_finding(&corrected);
        assert!(set.drift.drifted.is_empty());
        assert_eq!(set.timeline.back().unwrap().what, "corrected");
        assert!(events_for(&Finding::Synced).is_empty());
    }
}
