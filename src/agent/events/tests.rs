use std::path::PathBuf;

use super::*;
use crate::inventory::SetName;
use crate::render::{ObjectId, Origin};
use crate::report::{Mode, ObjectReport};
use crate::runner::Trigger;

fn set() -> SetRef {
    SetRef {
        name: "platform".parse::<SetName>().unwrap(),
        inventory_namespace: "driftless-system".into(),
    }
}

fn line(ns: &str, name: &str, outcome: Outcome, message: Option<&str>) -> ObjectReport {
    ObjectReport {
        id: ObjectId::for_test("v1", "ConfigMap", ns, name),
        origin: Some(Origin::file(PathBuf::from("a.yaml"), 3)),
        outcome,
        reason: None,
        diff: String::new(),
        message: message.map(str::to_string),
        conflict: None,
        drift: None,
        health: None,
        stage: None,
        fields: Vec::new(),
    }
}

fn pass(result: PassResult) -> Pass {
    Pass {
        trigger: Trigger::Schedule,
        fetch: None,
        result,
        elapsed: Duration::from_millis(5),
        reconciled: None,
    }
}

#[test]
fn failures_and_prunes_go_on_the_namespace_parent() {
    let mut report = Report::new(
        Mode::Sync,
        "platform".into(),
        "git".into(),
        Some("0123456789abcdef".into()),
    );
    report.extend(
        Some("good".into()),
        vec![line("good", "a", Outcome::Unchanged, None)],
    );
    report.extend(
        Some("bad".into()),
        vec![
            line(
                "bad",
                "b",
                Outcome::Failed,
                Some("configmaps is forbidden (403 Forbidden)"),
            ),
            line("bad", "c", Outcome::Held, Some("not applied")),
        ],
    );
    report.extend(
        Some("good".into()),
        vec![line("good", "old", Outcome::Pruned, None)],
    );
    let events = events_for(&set(), &pass(PassResult::Report(Box::new(report))));
    assert_eq!(events.len(), 2, "{events:#?}");
    let failed = events.iter().find(|e| e.reason == "SyncFailed").unwrap();
    assert!(failed.warning);
    assert_eq!(failed.regarding.namespace.as_deref(), Some("bad"));
    assert_eq!(failed.regarding.name.as_deref(), Some("driftless-platform"));
    assert_eq!(failed.regarding.kind.as_deref(), Some("Secret"));
    assert!(failed.note.starts_with("revision 0123456789ab: 1 failed: v1 ConfigMap bad/b: configmaps is forbidden (403 Forbidden)"), "{}", failed.note);
    let pruned = events.iter().find(|e| e.reason == "Pruned").unwrap();
    assert!(!pruned.warning && pruned.regarding.namespace.as_deref() == Some("good"));
    assert!(
        pruned.note.contains("v1 ConfigMap good/old"),
        "{}",
        pruned.note
    );
    assert!(events_for(&set(), &pass(PassResult::Unchanged(None))).is_empty());
}

#[test]
fn a_pass_that_applied_nothing_goes_on_the_lease() {
    let e = crate::Error::Fetch {
        origin: "https://h/r.git".into(),
        reason: "connection refused".into(),
    };
    let events = events_for(&set(), &pass(PassResult::Failed(e)));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].reason, "FetchFailed");
    assert_eq!(events[0].regarding.kind.as_deref(), Some("Lease"));
    assert_eq!(
        events[0].regarding.namespace.as_deref(),
        Some("driftless-system")
    );
}

#[test]
fn long_lists_are_cut_to_fit_a_note() {
    let items: Vec<String> = (0..200)
        .map(|i| format!("v1 ConfigMap ns/object-{i}"))
        .collect();
    let note = listing("revision abc: ", "pruned", &items);
    assert!(note.len() <= NOTE_LIMIT, "{}", note.len());
    assert!(note.ends_with("more (see /report)"), "{note}");
}

#[tokio::test(start_paused = true)]
async fn the_same_event_is_sent_once_per_window() {
    let mut dedup = Dedup::default();
    let event = EventSpec {
        regarding: lease_ref(&set()),
        warning: true,
        reason: "RenderFailed",
        action: "Render",
        note: "a.yaml:3: bad".into(),
        set: None,
    };
    let start = Instant::now();
    assert!(dedup.admit(&event, start));
    assert!(!dedup.admit(&event, start + Duration::from_secs(60)));
    let other = EventSpec {
        note: "a.yaml:4: worse".into(),
        ..event.clone()
    };
    assert!(
        dedup.admit(&other, start + Duration::from_secs(61)),
        "a new message is news"
    );
    assert!(dedup.admit(&event, start + REPEAT_AFTER + Duration::from_secs(1)));
}
