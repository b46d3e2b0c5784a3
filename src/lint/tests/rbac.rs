//! `rbac-overbroad`.

use super::*;

fn role(kind: &str, rules: &str) -> String {
    format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata: {{name: r, namespace: ns}}\nrules:\n{rules}"
    )
}

#[test]
fn cluster_admin_bindings() {
    let binding = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: b}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: ServiceAccount, name: ci, namespace: tools}]\n";
    assert_eq!(
        of(Check::RbacOverbroad, binding),
        [("roleRef.name".to_string(), Severity::Critical)]
    );
    let all = findings(binding);
    assert_eq!(
        all[0].object.to_string(),
        "rbac.authorization.k8s.io/v1 ClusterRoleBinding b",
        "cluster-scoped"
    );
    assert!(all[0].message.contains("ServiceAccount tools/ci"));
    let local = binding.replace(
        "ClusterRoleBinding\nmetadata: {name: b}",
        "RoleBinding\nmetadata: {name: b, namespace: ns}",
    );
    assert_eq!(
        of(Check::RbacOverbroad, &local),
        [("roleRef.name".to_string(), Severity::High)]
    );
    let view = binding.replace("name: cluster-admin", "name: view");
    assert!(of(Check::RbacOverbroad, &view).is_empty());
}

#[test]
fn wildcards_secrets_exec_and_power_verbs() {
    let found = |rules: &str| -> Vec<String> {
        findings(&role("Role", rules))
            .into_iter()
            .filter(|f| f.check == Check::RbacOverbroad)
            .map(|f| f.message)
            .collect()
    };
    assert_eq!(
        found("- {apiGroups: ['*'], resources: ['*'], verbs: ['*']}\n"),
        ["Role rule 0: wildcard in verbs, resources, apiGroups; reads Secrets"]
    );
    assert_eq!(
        found("- {apiGroups: [''], resources: [secrets], verbs: [get, list]}\n"),
        ["Role rule 0: reads Secrets"]
    );
    assert_eq!(
        found("- {apiGroups: [''], resources: [pods/exec], verbs: [create]}\n"),
        ["Role rule 0: runs commands in pods (pods/exec)"]
    );
    assert_eq!(
        found(
            "- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind, escalate]}\n"
        ),
        ["Role rule 0: grants bind, escalate"]
    );
    assert!(found("- {apiGroups: [''], resources: [configmaps, pods], verbs: [get, list, watch]}\n- {apiGroups: [''], resources: [secrets], verbs: [create]}\n").is_empty());
    let cluster = findings(&role(
        "ClusterRole",
        "- {apiGroups: [''], resources: [secrets], verbs: [watch]}\n",
    ));
    assert_eq!(cluster[0].path, "rules[0]");
}
