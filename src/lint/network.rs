//! Who can reach what: `no-network-policy` (workloads no policy of the source selects) and
//! `exposed-service` (what is reachable from outside the cluster, louder for sensitive ports).

use serde_json::Value;

use super::finding::{Check, Finding, Severity};
use super::workload::{Object, PodSpec, pod_spec, selects};

/// Well-known ports of APIs and data stores that should never face the outside.
const SENSITIVE_PORTS: [(i64, &str); 26] = [
    (22, "ssh"),
    (23, "telnet"),
    (2375, "Docker API"),
    (2376, "Docker API (TLS)"),
    (2379, "etcd"),
    (2380, "etcd peers"),
    (3000, "Grafana"),
    (3306, "MySQL"),
    (5000, "MLflow / registry"),
    (5432, "PostgreSQL"),
    (5601, "Kibana"),
    (5984, "CouchDB"),
    (6379, "Redis"),
    (6443, "Kubernetes API"),
    (8200, "Vault"),
    (8500, "Consul"),
    (8888, "Jupyter"),
    (9000, "MinIO S3 API"),
    (9001, "MinIO console"),
    (9090, "Prometheus"),
    (9092, "Kafka"),
    (9200, "Elasticsearch"),
    (10250, "kubelet"),
    (11211, "memcached"),
    (15672, "RabbitMQ management"),
    (27017, "MongoDB"),
];

fn sensitive(port: i64) -> Option<&'static str> {
    SENSITIVE_PORTS
        .iter()
        .find(|(p, _)| *p == port)
        .map(|(_, name)| *name)
}

/// The pod selectors of the source's network policies, per namespace.
#[derive(Debug, Default)]
pub struct Policies(Vec<(String, Value)>);

impl Policies {
    pub fn from_objects(objects: &[Object]) -> Policies {
        let selectors = objects.iter().filter_map(|o| {
            let selector = if o.is("networking.k8s.io", "NetworkPolicy") {
                &o.value["spec"]["podSelector"]
            } else if o.is("cilium.io", "CiliumNetworkPolicy") {
                &o.value["spec"]["endpointSelector"]
            } else {
                return None;
            };
            // `podSelector: {}` and a missing one both select every pod.
            let selector = match selector {
                Value::Null => Value::Object(Default::default()),
                s => s.clone(),
            };
            Some((o.namespace().to_string(), selector))
        });
        Policies(selectors.collect())
    }

    fn cover(&self, namespace: &str, labels: &Value) -> bool {
        self.0
            .iter()
            .any(|(ns, selector)| ns == namespace && selects(selector, labels))
    }
}

/// `no-network-policy`: a workload whose pods no NetworkPolicy in its namespace selects.
pub fn check_policies(object: &Object, policies: &Policies, out: &mut Vec<Finding>) {
    let Some(pod) = pod_spec(object) else {
        return;
    };
    if policies.cover(object.namespace(), pod.labels()) {
        return;
    }
    let labels_path = pod.path.trim_end_matches(".spec").to_string() + ".metadata.labels";
    let namespace = match object.namespace() {
        "" => "its namespace".to_string(),
        ns => format!("namespace {ns}"),
    };
    out.push(Finding::new(
        Check::NoNetworkPolicy,
        object,
        labels_path,
        format!("no NetworkPolicy in {namespace} selects its pods: any pod can reach them"),
    ));
}

/// Port numbers of a list of port specs, with the sensitive ones named.
fn ports(list: &Value, keys: &[&str]) -> (Vec<String>, Vec<String>) {
    let (mut all, mut loud) = (Vec::new(), Vec::new());
    for port in list.as_array().into_iter().flatten() {
        for key in keys {
            let Some(n) = port[*key].as_i64() else {
                continue;
            };
            let text = n.to_string();
            if !all.contains(&text) {
                all.push(text);
            }
            if let Some(name) = sensitive(n) {
                let named = format!("{n} ({name})");
                if !loud.contains(&named) {
                    loud.push(named);
                }
            }
        }
    }
    (all, loud)
}

fn severity(loud: &[String]) -> Severity {
    if loud.is_empty() {
        Severity::Medium
    } else {
        Severity::High
    }
}

fn sensitive_note(loud: &[String]) -> String {
    if loud.is_empty() {
        String::new()
    } else {
        format!("; sensitive: {}", loud.join(", "))
    }
}

/// `exposed-service`: LoadBalancer and NodePort Services, externalIPs, hostNetwork, hostPort.
pub fn check_exposure(object: &Object, out: &mut Vec<Finding>) {
    if object.is("", "Service") {
        service_exposure(object, out);
    } else if let Some(pod) = pod_spec(object) {
        pod_exposure(object, &pod, out);
    }
}

/// A Service reached from outside the cluster: its type, or externalIPs.
fn service_exposure(object: &Object, out: &mut Vec<Finding>) {
    let spec = &object.value["spec"];
    let (all, loud) = ports(&spec["ports"], &["port", "targetPort", "nodePort"]);
    let kind = spec["type"].as_str().unwrap_or("ClusterIP");
    if matches!(kind, "LoadBalancer" | "NodePort") {
        out.push(
            Finding::new(
                Check::ExposedService,
                object,
                "spec.type".into(),
                format!(
                    "Service of type {kind} exposes port {} outside the cluster{}",
                    all.join(", "),
                    sensitive_note(&loud)
                ),
            )
            .with_severity(severity(&loud)),
        );
    }
    if spec["externalIPs"]
        .as_array()
        .is_some_and(|ips| !ips.is_empty())
    {
        out.push(
            Finding::new(
                Check::ExposedService,
                object,
                "spec.externalIPs".into(),
                format!(
                    "Service takes traffic on externalIPs for port {}{}",
                    all.join(", "),
                    sensitive_note(&loud)
                ),
            )
            .with_severity(severity(&loud)),
        );
    }
}

/// A pod on the node's network, or a container bound to a port of the node.
fn pod_exposure(object: &Object, pod: &PodSpec<'_>, out: &mut Vec<Finding>) {
    if pod.spec["hostNetwork"] == true {
        let containers = pod.containers();
        let mut loud = Vec::new();
        for c in &containers {
            loud.extend(ports(&c.value["ports"], &["containerPort"]).1);
        }
        out.push(
            Finding::new(
                Check::ExposedService,
                object,
                pod.field("hostNetwork"),
                format!(
                    "the pod uses the node's network: its ports listen on the node{}",
                    sensitive_note(&loud)
                ),
            )
            .with_severity(severity(&loud)),
        );
    }
    for container in pod.containers() {
        let (host_ports, loud) = ports(&container.value["ports"], &["hostPort"]);
        if host_ports.is_empty() {
            continue;
        }
        out.push(
            Finding::new(
                Check::ExposedService,
                object,
                container.field("ports"),
                format!(
                    "container {} binds hostPort {} on the node{}",
                    container.name(),
                    host_ports.join(", "),
                    sensitive_note(&loud)
                ),
            )
            .with_severity(severity(&loud)),
        );
    }
}
