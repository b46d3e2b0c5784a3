//! Events (`events.k8s.io/v1`): created through the request policy like every other call, so
//! they are bounded, throttled and never retried into a flood. What to say is decided above.

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};

use super::failure::Op;
use super::{ApiFailure, Cluster};

/// One Event to create.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EventSpec {
    pub regarding: ObjectReference,
    pub warning: bool,
    /// `SyncFailed`, `Pruned`: stable, PascalCase.
    pub reason: &'static str,
    /// What driftless did (`Sync`, `Prune`, `Render`).
    pub action: &'static str,
    /// At most 1 KiB, never holding a secret.
    pub note: String,
    /// The sync set it is about: labeled [`SET_LABEL`], so `driftless events SET` finds it.
    pub set: Option<String>,
}

/// The label naming the sync set an Event is about.
pub const SET_LABEL: &str = "driftless.dev/set";

/// The most the API server accepts in an Event's note.
pub const NOTE_LIMIT: usize = 1024;

impl Cluster {
    /// Creates the Event in the namespace of the object it regards.
    pub async fn publish_event(
        &self,
        event: &EventSpec,
        controller: &str,
        instance: &str,
    ) -> Result<(), ApiFailure> {
        let namespace = event
            .regarding
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let now = Timestamp::now();
        let object = Event {
            metadata: ObjectMeta {
                // `<object>.<nanoseconds in hex>`, as kubectl and client-go name Events.
                name: Some(format!(
                    "{}.{:x}",
                    event.regarding.name.as_deref().unwrap_or("driftless"),
                    now.as_nanosecond()
                )),
                namespace: Some(namespace.clone()),
                labels: event
                    .set
                    .as_ref()
                    .map(|set| [(SET_LABEL.to_string(), set.clone())].into()),
                ..ObjectMeta::default()
            },
            event_time: Some(MicroTime(now)),
            type_: Some(if event.warning { "Warning" } else { "Normal" }.into()),
            reason: Some(event.reason.into()),
            action: Some(event.action.into()),
            note: Some(truncate(&event.note, NOTE_LIMIT)),
            regarding: Some(event.regarding.clone()),
            reporting_controller: Some(controller.into()),
            reporting_instance: Some(instance.into()),
            ..Event::default()
        };
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        let params = PostParams::default();
        let create = || async { Ok(api.create(&params, &object).await.map(|_| ())?) };
        // Guarded: a lost answer is not retried (a second Event would be a duplicate).
        self.flow.call("create event", Op::Guarded, create).await
    }
}

impl Cluster {
    /// The Events labeled `selector`, in `namespace` (every namespace with `None`).
    pub async fn list_events(
        &self,
        namespace: Option<&str>,
        selector: &str,
    ) -> Result<Vec<Event>, ApiFailure> {
        let api: Api<Event> = match namespace {
            Some(ns) => Api::namespaced(self.client.clone(), ns),
            None => Api::all(self.client.clone()),
        };
        let params = kube::api::ListParams::default().labels(selector);
        let list = || async { Ok(api.list(&params).await?.items) };
        self.flow.call("list events", Op::Read, list).await
    }
}

/// Cuts `text` to at most `limit` bytes, on a character boundary, marking the cut.
pub fn truncate(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let mut end = limit.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

#[cfg(test)]
mod tests {
    #[test]
    fn notes_are_cut_on_character_boundaries() {
        assert_eq!(super::truncate("short", 10), "short");
        let cut = super::truncate(&"é".repeat(600), 1024);
        assert!(cut.len() <= 1024 && cut.ends_with("..."), "{}", cut.len());
    }
}
