//! Events from passes: a namespace that failed (`SyncFailed`, on its inventory parent), what was
//! pruned (`Pruned`, on the parent it was listed in), and a pass that applied nothing
//! (`RenderFailed`, `FetchFailed`, `SyncFailed`, on the set's Lease). Deciding what to say is a
//! pure function of the pass; the [`Publisher`] sends each distinct Event at most once per
//! [`REPEAT_AFTER`], so a failure that persists does not flood the API server.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::cluster::{Cluster, EventSpec, NOTE_LIMIT};
use crate::error::Stage;
use crate::inventory::SetRef;
use crate::report::{NamespaceReport, Outcome, Report};
use crate::runner::{Pass, PassResult};

/// An Event already sent is sent again only after this long.
pub const REPEAT_AFTER: Duration = Duration::from_secs(600);
/// Events waiting to be sent; more are dropped (and logged).
const QUEUE: usize = 64;
/// The `reportingController` of every Event.
pub const CONTROLLER: &str = "driftless.dev/agent";

/// The Events a pass calls for.
pub fn events_for(set: &SetRef, pass: &Pass) -> Vec<EventSpec> {
    match &pass.result {
        PassResult::Report(report) => report
            .namespaces
            .iter()
            .flat_map(|ns| namespace_events(set, report, ns))
            .collect(),
        PassResult::Unchanged(_) | PassResult::Waiting(_) => Vec::new(),
        PassResult::Failed(e) => {
            let (reason, action) = match e.stage() {
                Stage::Render => ("RenderFailed", "Render"),
                Stage::Fetch | Stage::Source => ("FetchFailed", "Fetch"),
                _ => ("SyncFailed", "Sync"),
            };
            vec![EventSpec {
                regarding: lease_ref(set),
                warning: true,
                reason,
                action,
                note: format!("{e:#}"),
                set: None,
            }]
        }
    }
}

fn namespace_events(set: &SetRef, report: &Report, ns: &NamespaceReport) -> Vec<EventSpec> {
    let revision = report
        .revision
        .as_deref()
        .map_or(String::new(), |r| format!("revision {}: ", short(r)));
    let mut events = Vec::new();
    if ns.failed() {
        let failures: Vec<String> = ns
            .errors
            .iter()
            .cloned()
            .chain(
                ns.objects
                    .iter()
                    .filter(|o| matches!(o.outcome, Outcome::Failed | Outcome::NotAttempted))
                    .map(|o| format!("{}: {}", o.id, o.message.as_deref().unwrap_or("failed"))),
            )
            .collect();
        events.push(EventSpec {
            regarding: parent_ref(set, &ns.namespace),
            warning: true,
            reason: "SyncFailed",
            action: "Sync",
            note: listing(&revision, "failed", &failures),
            set: None,
        });
    }
    let pruned: Vec<String> = ns
        .objects
        .iter()
        .filter(|o| o.outcome == Outcome::Pruned)
        .map(|o| o.id.to_string())
        .collect();
    if !pruned.is_empty() {
        events.push(EventSpec {
            regarding: parent_ref(set, &ns.namespace),
            warning: false,
            reason: "Pruned",
            action: "Prune",
            note: listing(&revision, "pruned (no longer in Git)", &pruned),
            set: None,
        });
    }
    events
}

/// `revision abc123: 2 failed: a: why; b: why`, cut to fit a note.
fn listing(revision: &str, what: &str, items: &[String]) -> String {
    let mut note = format!("{revision}{} {what}: ", items.len());
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            note.push_str("; ");
        }
        if note.len() + item.len() > NOTE_LIMIT - 40 {
            let _ = write!(note, "and {} more (see /report)", items.len() - i);
            break;
        }
        note.push_str(item);
    }
    note
}

fn short(revision: &str) -> &str {
    revision.get(..12).unwrap_or(revision)
}

/// The set's inventory parent for a namespace (the cluster-scoped one for `None`).
fn parent_ref(set: &SetRef, key: &Option<String>) -> ObjectReference {
    let parent = set.parent(key);
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Secret".into()),
        namespace: Some(parent.namespace.clone()),
        name: Some(parent.name.clone()),
        ..ObjectReference::default()
    }
}

/// The set's Lease: it exists whenever the agent runs the set.
pub fn lease_ref(set: &SetRef) -> ObjectReference {
    ObjectReference {
        api_version: Some("coordination.k8s.io/v1".into()),
        kind: Some("Lease".into()),
        namespace: Some(set.inventory_namespace.clone()),
        name: Some(format!("driftless-{}", set.name)),
        ..ObjectReference::default()
    }
}

/// Sends Events in the background, each distinct one at most once per [`REPEAT_AFTER`].
#[derive(Clone)]
pub struct Publisher {
    queue: mpsc::Sender<EventSpec>,
}

impl Publisher {
    /// Starts the sender; it stops when every `Publisher` clone is dropped.
    pub fn start(cluster: Cluster, instance: String) -> Publisher {
        let (queue, mut rx) = mpsc::channel::<EventSpec>(QUEUE);
        tokio::spawn(async move {
            let mut dedup = Dedup::default();
            while let Some(event) = rx.recv().await {
                if !dedup.admit(&event, Instant::now()) {
                    continue;
                }
                if let Err(e) = cluster.publish_event(&event, CONTROLLER, &instance).await {
                    tracing::warn!(reason = event.reason, error = %e, "cannot create an Event");
                }
            }
        });
        Publisher { queue }
    }

    /// Sends `events` about sync set `set`.
    pub fn send(&self, set: &str, events: Vec<EventSpec>) {
        for mut event in events {
            event.set = Some(set.to_string());
            event.note = crate::redact::scrub(&event.note).into_owned();
            if self.queue.try_send(event).is_err() {
                tracing::warn!("Event queue full: an Event was dropped");
            }
        }
    }
}

/// Which Events were sent when.
#[derive(Default)]
struct Dedup {
    sent: HashMap<String, Instant>,
}

impl Dedup {
    /// Whether to send `event` now; remembers it if so.
    fn admit(&mut self, event: &EventSpec, now: Instant) -> bool {
        self.sent
            .retain(|_, at| now.duration_since(*at) < REPEAT_AFTER);
        let r = &event.regarding;
        let key = format!(
            "{:?}/{:?}/{:?}/{}/{}/{}",
            r.kind, r.namespace, r.name, event.warning, event.reason, event.note
        );
        if self.sent.contains_key(&key) {
            return false;
        }
        self.sent.insert(key, now);
        true
    }
}

#[cfg(test)]
mod tests;
