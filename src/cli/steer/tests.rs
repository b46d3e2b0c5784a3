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
