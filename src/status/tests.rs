use super::*;

fn failure(i: usize, message: &str) -> ObjectFailure {
    ObjectFailure {
        object: format!("v1 ConfigMap team/cm-{i}"),
        outcome: "failed".into(),
        reason: "Invalid".into(),
        source: format!("apps/cm.yaml:{i}"),
        message: message.into(),
    }
}

fn big_status(namespaces: usize, failures: usize, drifted: usize) -> SetStatus {
    let mut status = SetStatus::new("platform", "git https://example.com/p.git");
    status.error = Some("x".repeat(5000));
    for n in 0..namespaces {
        let ns = NamespaceStatus {
            objects: [("created".to_string(), 10)].into(),
            failures: (0..failures)
                .map(|i| failure(i, &"m".repeat(800)))
                .collect(),
            ..NamespaceStatus::default()
        };
        status.namespaces.insert(format!("team-{n:03}"), ns);
    }
    for d in 0..drifted {
        status.drift.drifted.insert(
            format!("apps/v1 Deployment team/web-{d:03}"),
            Drifted {
                by: "changed by kubectl-edit (.spec.replicas)".into(),
                managers: vec!["kubectl-edit".into()],
                since: "2026-12-05T07:00:00Z".into(),
                fight: false,
            },
        );
    }
    for i in 0..TIMELINE + 5 {
        status.remember(TimelineEntry {
            at: format!("2026-12-05T07:{i:02}:00Z"),
            what: "synced".into(),
            ..TimelineEntry::default()
        });
    }
    status
}

#[test]
fn a_small_status_is_stored_whole() {
    let mut status = big_status(3, 1, 2);
    status.error = None;
    for ns in status.namespaces.values_mut() {
        ns.failures[0].message = "short".into();
    }
    let (small, json) = compact(&status).unwrap();
    assert_eq!(small, status);
    assert_eq!(small.omitted, 0);
    let back: SetStatus = serde_json::from_str(&json).unwrap();
    assert_eq!(back, status);
}

#[test]
fn a_huge_status_fits_the_limit_and_counts_what_it_left_out() {
    let status = big_status(500, 50, 300);
    let (small, json) = compact(&status).unwrap();
    assert!(json.len() <= RECORD_LIMIT, "{} bytes", json.len());
    assert!(small.omitted > 0);
    assert!(small.drift.more > 0 && !small.drift.drifted.is_empty());
    let ns = small.namespaces.values().next().unwrap();
    assert!(ns.more_failures > 0 && !ns.failures.is_empty());
    assert!(ns.failures[0].message.ends_with('…'));
    // The newest timeline entries stay.
    assert_eq!(small.timeline.back(), status.timeline.back());
}

#[test]
fn failing_namespaces_are_kept_before_the_others() {
    let mut status = big_status(300, 0, 0);
    status.namespaces.get_mut("team-299").unwrap().failures = vec![failure(1, "bad")];
    let (small, _) = compact(&status).unwrap();
    assert!(small.namespaces.len() < 300);
    assert!(small.namespaces.contains_key("team-299"));
}

#[test]
fn the_timeline_keeps_the_newest_entries() {
    let status = big_status(0, 0, 0);
    assert_eq!(status.timeline.len(), TIMELINE);
    assert_eq!(status.timeline.front().unwrap().at, "2026-12-05T07:05:00Z");
}

#[test]
fn the_message_is_the_error_or_the_first_failure() {
    let mut status = big_status(2, 1, 0);
    status.error = None;
    let message = status.message().unwrap();
    assert!(message.contains("apps/cm.yaml:0"), "{message}");
    status.error = Some("render failed".into());
    assert_eq!(status.message().as_deref(), Some("render failed"));
}
