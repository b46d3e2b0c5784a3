//! `run-as-root` and `missing-resources`.

use super::*;

fn root(pod: &str, container: &str) -> Vec<(String, Severity)> {
    of(Check::RunAsRoot, &deployment(pod, container))
}

const C: &str = "spec.template.spec.containers[0].securityContext";

#[test]
fn run_as_non_root_merges_pod_and_container() {
    assert!(root(GOOD_POD, GOOD_CONTAINER).is_empty());
    let on_container = GOOD_CONTAINER.replace(
        "allowPrivilegeEscalation: false",
        "allowPrivilegeEscalation: false\n    runAsNonRoot: true",
    );
    assert!(
        root("", &on_container).is_empty(),
        "the container's own setting counts"
    );
    assert_eq!(
        root("", GOOD_CONTAINER),
        [(format!("{C}.runAsNonRoot"), Severity::High)]
    );
    let overridden = GOOD_CONTAINER.replace(
        "allowPrivilegeEscalation: false",
        "allowPrivilegeEscalation: false\n    runAsNonRoot: false",
    );
    assert_eq!(
        root(GOOD_POD, &overridden).len(),
        1,
        "the container overrides the pod"
    );
}

#[test]
fn uid_zero_is_root_whatever_run_as_non_root_says() {
    let pod = "securityContext:\n  runAsNonRoot: true\n  runAsUser: 0";
    assert_eq!(
        root(pod, GOOD_CONTAINER),
        [(format!("{C}.runAsUser"), Severity::High)]
    );
    let container = GOOD_CONTAINER.replace(
        "allowPrivilegeEscalation: false",
        "allowPrivilegeEscalation: false\n    runAsUser: 0",
    );
    assert_eq!(root(GOOD_POD, &container).len(), 1);
}

#[test]
fn privileged_escalation_and_capabilities() {
    let privileged = GOOD_CONTAINER.replace("allowPrivilegeEscalation: false", "privileged: true");
    assert_eq!(
        root(GOOD_POD, &privileged),
        [(format!("{C}.privileged"), Severity::Critical)]
    );
    let escalation = GOOD_CONTAINER.replace(
        "allowPrivilegeEscalation: false",
        "allowPrivilegeEscalation: true",
    );
    assert_eq!(
        root(GOOD_POD, &escalation),
        [(format!("{C}.allowPrivilegeEscalation"), Severity::High)]
    );
    let unset = GOOD_CONTAINER.replace(
        "allowPrivilegeEscalation: false",
        "readOnlyRootFilesystem: true",
    );
    assert_eq!(
        root(GOOD_POD, &unset),
        [(format!("{C}.allowPrivilegeEscalation"), Severity::Medium)]
    );
    let caps =
        |add: &str| GOOD_CONTAINER.replace("drop: [ALL]", &format!("drop: [ALL], add: [{add}]"));
    assert_eq!(
        root(GOOD_POD, &caps("NET_ADMIN")),
        [(format!("{C}.capabilities.add"), Severity::High)]
    );
    assert_eq!(
        root(GOOD_POD, &caps("CHOWN")),
        [(format!("{C}.capabilities.add"), Severity::Medium)]
    );
    assert!(root(GOOD_POD, &caps("NET_BIND_SERVICE")).is_empty());
    let host = format!("{GOOD_POD}\nhostPID: true");
    assert_eq!(
        root(&host, GOOD_CONTAINER),
        [("spec.template.spec.hostPID".to_string(), Severity::High)]
    );
}

#[test]
fn bare_pods_are_checked_too() {
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns}\nspec:\n  containers: [{name: c, image: 'a:1.0.0'}]\n";
    assert_eq!(
        of(Check::RunAsRoot, pod).len(),
        2,
        "runAsNonRoot and escalation"
    );
    assert_eq!(
        of(Check::MissingResources, pod),
        [("spec.containers[0].resources".to_string(), Severity::Medium)]
    );
}

#[test]
fn missing_resources_names_what_is_missing() {
    assert!(
        of(
            Check::MissingResources,
            &deployment(GOOD_POD, GOOD_CONTAINER)
        )
        .is_empty()
    );
    let no_limit =
        GOOD_CONTAINER.replace("    limits: {memory: 128Mi}\n", "    limits: {cpu: 1}\n");
    let all = findings(&deployment(GOOD_POD, &no_limit));
    let found: Vec<&Finding> = all
        .iter()
        .filter(|f| f.check == Check::MissingResources)
        .collect();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].message, "container app sets no limits.memory");
    let none = "- name: app\n  image: a:1.0.0";
    let all = findings(&deployment(GOOD_POD, none));
    let message = &all
        .iter()
        .find(|f| f.check == Check::MissingResources)
        .expect("found")
        .message;
    assert_eq!(
        message,
        "container app sets no limits.memory, requests.cpu, requests.memory"
    );
}

#[test]
fn a_limit_range_default_counts_as_set() {
    let limits = "apiVersion: v1\nkind: LimitRange\nmetadata: {name: d, namespace: ns}\nspec:\n  limits:\n  - type: Container\n    default: {cpu: 1, memory: 1Gi}\n---\n";
    let bare = format!(
        "{limits}{}",
        deployment(GOOD_POD, "- name: app\n  image: a:1.0.0")
    );
    assert!(of(Check::MissingResources, &bare).is_empty());
    let other_ns = bare.replace("namespace: ns}", "namespace: other}");
    assert_eq!(
        of(Check::MissingResources, &other_ns).len(),
        1,
        "only in its own namespace"
    );
}
