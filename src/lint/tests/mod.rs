//! Every check, with cases that fire and cases that must not.

mod backup;
mod config;
mod containers;
mod images;
mod network;
mod rbac;
mod secrets;

use std::path::PathBuf;

use super::*;
use crate::render::{Decryption, render};
use crate::source::{Snapshot, SourceFile};

/// The manifests of one YAML file.
fn manifests(yaml: &str) -> Vec<Manifest> {
    let snapshot = Snapshot {
        origin: "test".into(),
        revision: None,
        files: vec![SourceFile {
            path: PathBuf::from("test.yaml"),
            content: yaml.to_string(),
        }],
        ..Snapshot::default()
    };
    render(&snapshot, &Decryption::default())
        .expect("test manifests render")
        .manifests
}

/// Every finding of `yaml`, with the default configuration.
fn findings(yaml: &str) -> Vec<Finding> {
    lint(&manifests(yaml), &LintConfig::default(), Some("ns"))
}

/// The findings of one check, as (path, severity).
fn of(check: Check, yaml: &str) -> Vec<(String, Severity)> {
    findings(yaml)
        .into_iter()
        .filter(|f| f.check == check)
        .map(|f| (f.path, f.severity))
        .collect()
}

/// A Deployment whose one container is `container` (YAML at the containers' indentation),
/// with a pod securityContext of `pod`.
fn deployment(pod: &str, container: &str) -> String {
    let indent = |text: &str, n: usize| {
        text.lines()
            .map(|l| format!("{}{l}\n", " ".repeat(n)))
            .collect::<String>()
    };
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: ns\nspec:\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n{}      containers:\n{}",
        indent(pod, 6),
        indent(container, 8)
    )
}

/// A container that passes every container check.
const GOOD_CONTAINER: &str = "- name: app
  image: registry.example.com/app:1.2.3
  resources:
    requests: {cpu: 100m, memory: 64Mi}
    limits: {memory: 128Mi}
  securityContext:
    allowPrivilegeEscalation: false
    capabilities: {drop: [ALL]}";

const GOOD_POD: &str = "securityContext:\n  runAsNonRoot: true\n  runAsUser: 10001";

#[test]
fn a_good_deployment_has_findings_of_no_container_check() {
    let all = findings(&deployment(GOOD_POD, GOOD_CONTAINER));
    let checks: Vec<Check> = all.iter().map(|f| f.check).collect();
    assert_eq!(checks, [Check::NoNetworkPolicy], "{all:#?}");
}

#[test]
fn findings_come_worst_first_with_origin_and_fix() {
    let yaml = deployment(
        "",
        "- name: app\n  image: nginx\n  securityContext: {privileged: true}",
    );
    let all = findings(&yaml);
    assert_eq!(all[0].severity, Severity::Critical);
    assert!(all.windows(2).all(|w| w[0].severity >= w[1].severity));
    assert_eq!(all[0].origin.to_string(), "test.yaml:1");
    assert_eq!(all[0].object.to_string(), "apps/v1 Deployment ns/web");
    assert!(!all[0].fix().is_empty());
}

#[test]
fn compare_marks_added_and_fixed() {
    let base = findings(&deployment(
        GOOD_POD,
        "- name: app\n  image: nginx\n  resources: {requests: {cpu: 1, memory: 1Gi}, limits: {memory: 1Gi}}\n  securityContext: {allowPrivilegeEscalation: false}",
    ));
    let head = findings(&deployment("", GOOD_CONTAINER));
    let report = LintReport::compare(base, head, Some(Severity::High));
    let marked = |change| {
        report
            .findings
            .iter()
            .filter(|f| f.change == Some(change))
            .map(|f| f.check)
            .collect::<Vec<_>>()
    };
    assert_eq!(marked(Change::Added), [Check::RunAsRoot]);
    assert_eq!(marked(Change::Fixed), [Check::LatestTag]);
    assert!(report.fails(), "the added run-as-root is high");
    assert!(
        report.summary().contains("1 added, 1 fixed"),
        "{}",
        report.summary()
    );
    let unmarked = report
        .findings
        .iter()
        .find(|f| f.check == Check::NoNetworkPolicy);
    assert_eq!(
        unmarked.map(|f| f.change),
        Some(None),
        "present on both sides"
    );
}
