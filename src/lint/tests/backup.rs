//! `no-backup`: the annotation, Velero and K8up.

use super::*;

fn stateful(annotations: &str, claims: bool) -> String {
    let claims = if claims {
        "  volumeClaimTemplates:\n  - metadata: {name: data}\n"
    } else {
        ""
    };
    format!(
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: pg\n  namespace: ns\n  labels: {{app: pg}}\n{annotations}spec:\n  template:\n    metadata: {{labels: {{app: pg}}}}\n    spec:\n      containers: [{{name: pg, image: 'pg:16.3.0'}}]\n{claims}"
    )
}

const PVC: &str = "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data, namespace: ns}\nspec: {accessModes: [ReadWriteOnce]}\n";

#[test]
fn storage_nothing_backs_up() {
    let at = "metadata.annotations.driftless.dev/backup".to_string();
    assert_eq!(
        of(Check::NoBackup, &stateful("", true)),
        [(at.clone(), Severity::Medium)]
    );
    assert_eq!(of(Check::NoBackup, PVC), [(at, Severity::Medium)]);
    assert!(
        of(Check::NoBackup, &stateful("", false)).is_empty(),
        "no claims, no state"
    );
    let none = stateful("  annotations: {driftless.dev/backup: none}\n", true);
    assert!(
        findings(&none)
            .iter()
            .any(|f| f.message.contains("says none"))
    );
}

#[test]
fn the_annotation_velero_and_k8up_cover_it() {
    let annotated = stateful(
        "  annotations: {driftless.dev/backup: velero schedule platform-daily}\n",
        true,
    );
    assert!(of(Check::NoBackup, &annotated).is_empty());
    let pod_annotation = stateful("", true).replace(
        "metadata: {labels: {app: pg}}",
        "metadata: {labels: {app: pg}, annotations: {backup.velero.io/backup-volumes: data}}",
    );
    assert!(of(Check::NoBackup, &pod_annotation).is_empty());
    let schedule = |template: &str| {
        format!(
            "apiVersion: velero.io/v1\nkind: Schedule\nmetadata: {{name: daily, namespace: velero}}\nspec:\n  schedule: '0 3 * * *'\n  template:\n{template}---\n{PVC}"
        )
    };
    assert!(of(Check::NoBackup, &schedule("    includedNamespaces: [ns]\n")).is_empty());
    assert!(
        of(
            Check::NoBackup,
            &schedule("    includedNamespaces: ['*']\n")
        )
        .is_empty()
    );
    assert!(
        of(Check::NoBackup, &schedule("    ttl: 72h\n")).is_empty(),
        "no list: every namespace"
    );
    assert_eq!(
        of(
            Check::NoBackup,
            &schedule("    includedNamespaces: [other]\n")
        )
        .len(),
        1
    );
    assert_eq!(
        of(Check::NoBackup, &schedule("    excludedNamespaces: [ns]\n")).len(),
        1
    );
    assert_eq!(
        of(
            Check::NoBackup,
            &schedule("    labelSelector: {matchLabels: {backup: 'yes'}}\n")
        )
        .len(),
        1
    );
    let k8up = format!(
        "apiVersion: k8up.io/v1\nkind: Schedule\nmetadata: {{name: b, namespace: ns}}\nspec: {{}}\n---\n{PVC}"
    );
    assert!(of(Check::NoBackup, &k8up).is_empty());
}
