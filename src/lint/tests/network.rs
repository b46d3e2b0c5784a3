//! `no-network-policy` and `exposed-service`.

use super::*;

const POLICY: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: ns}\nspec:\n";

fn workload() -> String {
    deployment(GOOD_POD, GOOD_CONTAINER)
}

#[test]
fn a_workload_no_policy_selects() {
    let at = "spec.template.metadata.labels".to_string();
    assert_eq!(
        of(Check::NoNetworkPolicy, &workload()),
        [(at, Severity::Medium)]
    );
    for selector in [
        "  podSelector: {}\n",
        "  podSelector:\n    matchLabels: {app: web}\n",
        "  podSelector:\n    matchExpressions: [{key: app, operator: In, values: [web, api]}]\n",
        "  podSelector:\n    matchExpressions: [{key: app, operator: Exists}]\n",
    ] {
        let yaml = format!("{POLICY}{selector}---\n{}", workload());
        assert!(of(Check::NoNetworkPolicy, &yaml).is_empty(), "{selector}");
    }
    for selector in [
        "  podSelector:\n    matchLabels: {app: api}\n",
        "  podSelector:\n    matchExpressions: [{key: app, operator: NotIn, values: [web]}]\n",
        "  podSelector:\n    matchExpressions: [{key: tier, operator: Exists}]\n",
    ] {
        let yaml = format!("{POLICY}{selector}---\n{}", workload());
        assert_eq!(of(Check::NoNetworkPolicy, &yaml).len(), 1, "{selector}");
    }
    let elsewhere = format!(
        "{}  podSelector: {{}}\n---\n{}",
        POLICY.replace("namespace: ns", "namespace: other"),
        workload()
    );
    assert_eq!(
        of(Check::NoNetworkPolicy, &elsewhere).len(),
        1,
        "only its own namespace counts"
    );
    let no_workload = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: ns}\n";
    assert!(of(Check::NoNetworkPolicy, no_workload).is_empty());
}

fn service(spec: &str) -> String {
    format!("apiVersion: v1\nkind: Service\nmetadata: {{name: s, namespace: ns}}\nspec:\n{spec}")
}

#[test]
fn load_balancers_and_node_ports_louder_on_sensitive_ports() {
    let web = service("  type: LoadBalancer\n  ports: [{port: 443, targetPort: 8443}]\n");
    assert_eq!(
        of(Check::ExposedService, &web),
        [("spec.type".to_string(), Severity::Medium)]
    );
    let db = service("  type: NodePort\n  ports: [{port: 5432}]\n");
    assert_eq!(
        of(Check::ExposedService, &db),
        [("spec.type".to_string(), Severity::High)]
    );
    assert!(findings(&db)[0].message.contains("5432 (PostgreSQL)"));
    let ips = service("  externalIPs: [203.0.113.7]\n  ports: [{port: 6379}]\n");
    assert_eq!(
        of(Check::ExposedService, &ips),
        [("spec.externalIPs".to_string(), Severity::High)]
    );
    assert!(of(Check::ExposedService, &service("  ports: [{port: 5432}]\n")).is_empty());
    assert!(
        of(
            Check::ExposedService,
            &service("  type: ClusterIP\n  ports: [{port: 80}]\n")
        )
        .is_empty()
    );
}

#[test]
fn host_network_and_host_ports() {
    let host = deployment(&format!("{GOOD_POD}\nhostNetwork: true"), GOOD_CONTAINER);
    assert_eq!(
        of(Check::ExposedService, &host),
        [(
            "spec.template.spec.hostNetwork".to_string(),
            Severity::Medium
        )]
    );
    let port = deployment(
        GOOD_POD,
        &format!("{GOOD_CONTAINER}\n  ports: [{{containerPort: 6379, hostPort: 6379}}]"),
    );
    assert_eq!(
        of(Check::ExposedService, &port),
        [(
            "spec.template.spec.containers[0].ports".to_string(),
            Severity::High
        )]
    );
    let plain = deployment(
        GOOD_POD,
        &format!("{GOOD_CONTAINER}\n  ports: [{{containerPort: 6379}}]"),
    );
    assert!(of(Check::ExposedService, &plain).is_empty());
}
