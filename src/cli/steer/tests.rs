use super::print;
use crate::status::{Drifted, LeaseView, NamespaceStatus, ObjectFailure, SetStatus, SetView};
use k8s_openapi::jiff::Timestamp;

fn now() -> Timestamp {
    "2026-12-05T08:00:00Z".parse().unwrap()
}

fn failing() -> SetView {
    let mut s = SetStatus::new("platform", "git https://git.example.com/p.git");
    s.result = Some("degraded".into());
    s.last_attempted_revision = Some("4f2a9c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b".into());
    s.last_attempt_time = Some("2026-12-05T07:58:00Z".into());
    s.namespaces.insert(
        "mlops-platform".into(),
        NamespaceStatus {
            failures: vec![ObjectFailure {
                object: "apps/v1 Deployment mlops-platform/mlflow".into(),
                outcome: "failed".into(),
                reason: "Invalid".into(),
                source: "mlflow/deployment.yaml:12".into(),
                message: "`.spec.replicas` must be an integer".into(),
            }],
            ..NamespaceStatus::default()
        },
    );
    s.drift.drifted.insert(
        "v1 ConfigMap mlops-platform/settings".into(),
        Drifted {
            by: "changed by kubectl-edit (.data.level)".into(),
            managers: vec!["kubectl-edit".into()],
            since: "2026-12-05T07:59:30Z".into(),
            fight: false,
        },
    );
    SetView {
        name: "platform".into(),
        status: Some(s),
        lease: Some(LeaseView {
            holder: Some("driftless-0".into()),
            alive: true,
            suspended: false,
            reconcile_requested: None,
        }),
    }
}

#[test]
fn the_table_has_a_row_per_set_with_its_failure() {
    let mut idle = failing();
    idle.name = "apps".into();
    idle.status = None;
    let table = print::table(&[failing(), idle], now());
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("NAME "), "{table}");
    assert!(lines[1].starts_with("platform "), "{table}");
    for want in ["False", "4f2a9c1d2e3f ", "2m", "mlflow/deployment.yaml:12"] {
        assert!(lines[1].contains(want), "{want} missing: {table}");
    }
    assert!(lines[2].contains("Unknown") && lines[2].contains("no status recorded yet"));
}

#[test]
fn the_detail_shows_failures_with_file_line_and_drift_with_its_manager() {
    let detail = print::detail(&failing(), &[], now());
    assert!(detail.contains("Leader:     driftless-0"), "{detail}");
    assert!(
        detail.contains(
            "mlflow/deployment.yaml:12  apps/v1 Deployment mlops-platform/mlflow  Invalid"
        ),
        "{detail}"
    );
    let drift = detail.split("Drift:").nth(1).unwrap();
    assert!(
        drift.contains("kubectl-edit") && drift.contains(".data.level") && drift.contains("30s"),
        "{detail}"
    );
}

#[test]
fn a_set_whose_leader_is_gone_says_so() {
    let mut view = failing();
    view.lease.as_mut().unwrap().alive = false;
    let table = print::table(&[view], now());
    assert!(table.contains("no live leader; last:"), "{table}");
}

#[test]
fn a_reconcile_answer_is_one_line() {
    let view = failing();
    let line = print::pass_line(view.status.as_ref().unwrap());
    assert_eq!(line.lines().count(), 1);
    assert!(
        line.starts_with("platform: degraded at revision 4f2a9c1d2e3f:"),
        "{line}"
    );
}

#[test]
fn the_tree_lines_up_health_and_names_drift() {
    use super::tree::{Member, TreeNamespace};
    let member = |name: &str, drift: Option<&str>| Member {
        name: name.into(),
        health: "healthy".into(),
        drift: drift.map(str::to_string),
    };
    let ns = TreeNamespace {
        name: "mlops-platform".into(),
        kinds: [
            (
                "ConfigMap".to_string(),
                vec![member(
                    "mlflow-config",
                    Some("changed by kubectl-edit (.data.x)"),
                )],
            ),
            ("Service".to_string(), vec![member("mlflow", None)]),
        ]
        .into(),
        errors: vec!["Widget.example.com: not served by the cluster".into()],
    };
    let text = print::tree(&failing(), &[ns]);
    let want = "syncset/platform\n└── mlops-platform\n    \
                ├── ! Widget.example.com: not served by the cluster\n    \
                ├── ConfigMap/mlflow-config  healthy  drifted: changed by kubectl-edit (.data.x)\n    \
                └── Service/mlflow           healthy\n";
    assert_eq!(text, want);
}

#[test]
fn events_are_listed_oldest_first_with_their_object() {
    use k8s_openapi::api::core::v1::ObjectReference;
    use k8s_openapi::api::events::v1::Event;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
    let event = |at: &str, reason: &str| Event {
        event_time: Some(MicroTime(at.parse().unwrap())),
        reason: Some(reason.into()),
        type_: Some("Normal".into()),
        note: Some("a note\nwith a second line".into()),
        regarding: Some(ObjectReference {
            kind: Some("Lease".into()),
            name: Some("driftless-platform".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut events = [
        event("2026-12-05T07:59:00Z", "Resumed"),
        event("2026-12-05T07:58:00Z", "Suspended"),
    ];
    events.sort_by_key(print::event_time);
    let text = print::events(&events, now());
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[1].starts_with("2m ") && lines[1].contains("Suspended"),
        "{text}"
    );
    assert!(
        lines[2].starts_with("1m ") && lines[2].contains("Lease/driftless-platform"),
        "{text}"
    );
    assert!(lines[2].ends_with("a note…"), "{text}");
}
