//! What driftless syncs really runs: Deployments roll out (or fail to), Jobs end, and driftless
//! itself works inside a pod with its in-cluster credentials. Needs the test node
//! (`scripts/kube-testenv up --node`): its images are imported, never pulled. `sync --wait` on
//! the node: [`wait`].

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};

use crate::support::{self, NodeImages, Workspace};

mod lifecycle;
mod wait;

/// Pods start in seconds on an idle machine; this bound leaves room for a loaded one.
const POD_TIMEOUT: Duration = Duration::from_secs(120);

#[tokio::test]
async fn a_synced_deployment_becomes_available() {
    let test = "a_synced_deployment_becomes_available";
    if !support::require_node(test) {
        return;
    }
    let (ws, ns) = workspace("dl-node-web");
    let image = &node().workload;
    ws.write(
        "web.yaml",
        &format!(
            "{}---\n{}",
            namespace(&ns),
            deployment(&ns, "web", 2, image)
        ),
    );
    assert_eq!(support::sync(ws.path(), &[]).code, 0);

    let deployments = Api::<Deployment>::namespaced(support::client().await, &ns);
    let available = support::poll_until(POD_TIMEOUT, || async {
        let status = deployments.get("web").await.unwrap().status?;
        let available = status
            .conditions?
            .into_iter()
            .any(|c| c.type_ == "Available" && c.status == "True");
        (available && status.available_replicas == Some(2)).then_some(())
    })
    .await;
    assert!(
        available.is_some(),
        "web is not available: {}",
        pods_summary(&ns).await
    );
}

#[tokio::test]
async fn an_image_that_is_not_on_the_node_is_never_pulled() {
    let test = "an_image_that_is_not_on_the_node_is_never_pulled";
    if !support::require_node(test) {
        return;
    }
    let (ws, ns) = workspace("dl-node-noimg");
    let image = "docker.io/local/does-not-exist:1";
    ws.write(
        "ghost.yaml",
        &format!(
            "{}---\n{}",
            namespace(&ns),
            deployment(&ns, "ghost", 1, image)
        ),
    );
    assert_eq!(support::sync(ws.path(), &[]).code, 0);

    let pods = Api::<Pod>::namespaced(support::client().await, &ns);
    let reason = support::poll_until(POD_TIMEOUT, || async {
        let list = pods.list(&ListParams::default()).await.unwrap();
        list.items.iter().find_map(waiting_reason)
    })
    .await;
    assert_eq!(
        reason.as_deref(),
        Some("ErrImageNeverPull"),
        "{}",
        pods_summary(&ns).await
    );
    let deployments = Api::<Deployment>::namespaced(support::client().await, &ns);
    let status = deployments.get("ghost").await.unwrap().status.unwrap();
    assert_eq!(status.available_replicas.unwrap_or(0), 0);
}

#[tokio::test]
async fn a_job_that_exits_1_fails_and_its_log_is_readable() {
    let test = "a_job_that_exits_1_fails_and_its_log_is_readable";
    if !support::require_node(test) {
        return;
    }
    let (ws, ns) = workspace("dl-node-fail");
    let command = "[/bin/sh, -c, 'echo failing on purpose; exit 1']";
    let pod = pod_spec(&node().workload, command, 65534, "", "", "");
    ws.write(
        "job.yaml",
        &format!("{}---\n{}", namespace(&ns), job(&ns, "fails", "", &pod)),
    );
    assert_eq!(support::sync(ws.path(), &[]).code, 0);

    let jobs = Api::<Job>::namespaced(support::client().await, &ns);
    let reason = support::poll_until(POD_TIMEOUT, || async { job_end(&jobs, "fails").await }).await;
    assert_eq!(
        reason,
        Some(("Failed".to_string(), "BackoffLimitExceeded".to_string())),
        "{}",
        pods_summary(&ns).await
    );
    // The API server reads logs from the kubelet, on the node's IP.
    let logs = job_logs(&ns, "fails").await;
    assert_contains!(logs, "failing on purpose");
}

#[tokio::test]
async fn driftless_in_a_pod_diffs_with_its_in_cluster_credentials() {
    let test = "driftless_in_a_pod_diffs_with_its_in_cluster_credentials";
    if !support::require_node(test) || !support::require_driftless_image(test) {
        return;
    }
    let (ws, ns) = workspace("dl-node-incluster");
    // What the pod diffs: a ConfigMap the host applied, so the diff finds no change and exits
    // 0. The pod reads it from a ConfigMap volume (files behind `..data` symlinks).
    let settings = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: {ns}\n\
         data:\n  level: info\n"
    );
    let manifests = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: manifests\n  namespace: {ns}\n\
         data:\n  settings.yaml: |\n{}",
        indent(&settings, 4)
    );
    // The pod reaches the API server the way any pod does: KUBERNETES_SERVICE_HOST is the
    // `kubernetes` Service, routed by kube-proxy; nothing is overridden.
    // A namespace-scoped identity reads only its namespace: `--namespace`, and its own namespace
    // for the set's cluster-wide records. What it diffs is a set of its own, `settings` alone,
    // which the host synced from another directory: the preview takes it over (and so writes
    // nothing).
    let settings_set = support::unique("settings");
    let command = format!(
        "[/usr/local/bin/driftless, diff, --source, /manifests, --namespace, {ns}, \
         --inventory-namespace, {ns}, --name, {settings_set}, --take-over-set]"
    );
    let pod = pod_spec(
        node().driftless.as_ref().unwrap(),
        &command,
        65532,
        "",
        "  - {name: manifests, mountPath: /manifests, readOnly: true}\n",
        "- {name: manifests, configMap: {name: manifests}}\n",
    );
    let rbac = format!(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: driftless\n  namespace: {ns}\n\
         ---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  \
         name: driftless-admin\n  namespace: {ns}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  \
         kind: ClusterRole\n  name: cluster-admin\nsubjects:\n- kind: ServiceAccount\n  \
         name: driftless\n  namespace: {ns}\n"
    );
    // The namespace, its RBAC and the pod's manifests; then `settings` as a set of its own,
    // under the namespace's own inventory; then the Job that diffs it.
    let base = format!("{}---\n{manifests}---\n{rbac}", namespace(&ns));
    ws.write("incluster.yaml", &base);
    assert_eq!(support::sync(ws.path(), &[]).code, 0);
    let settings_source = Workspace::new();
    settings_source.write("settings.yaml", &settings);
    let source = settings_source.path().to_string_lossy().into_owned();
    let args = [
        "sync",
        "--source",
        &source,
        "--name",
        &settings_set,
        "--inventory-namespace",
        &ns,
    ];
    assert_eq!(support::driftless(&args).code, 0);
    let with_job = format!("{base}---\n{}", job(&ns, "diff", "driftless", &pod));
    ws.write("incluster.yaml", &with_job);
    assert_eq!(support::sync(ws.path(), &[]).code, 0);

    let jobs = Api::<Job>::namespaced(support::client().await, &ns);
    let end = support::poll_until(POD_TIMEOUT, || async { job_end(&jobs, "diff").await }).await;
    let logs = job_logs(&ns, "diff").await;
    assert_eq!(
        end.as_ref().map(|(kind, _)| kind.as_str()),
        Some("Complete"),
        "driftless diff in the pod did not exit 0:\n{logs}\n{}",
        pods_summary(&ns).await
    );
    // It read the manifests: an empty source would exit 0 too.
    assert_contains!(logs, ns, "the report names no namespace {ns}");
}

fn node() -> &'static NodeImages {
    support::cluster().node.as_ref().unwrap()
}

/// A workspace for one namespace, deleted when the test ends, pass or fail.
fn workspace(prefix: &str) -> (NamespaceGuard, String) {
    let ns = support::unique(prefix);
    let mut ws = Workspace::new();
    ws.namespaces.push(ns.clone());
    (NamespaceGuard(ws), ns)
}

/// Deletes the workspace's namespaces on drop, so a failed assertion leaves no pods running.
struct NamespaceGuard(Workspace);

impl std::ops::Deref for NamespaceGuard {
    type Target = Workspace;
    fn deref(&self) -> &Workspace {
        &self.0
    }
}

impl Drop for NamespaceGuard {
    fn drop(&mut self) {
        let names = self.0.namespaces.clone();
        // Drop cannot await, and the test's own runtime may be unwinding: a runtime of its own.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(support::delete_namespaces(&names));
        })
        .join();
    }
}

/// How a Job ended: its `Complete` or `Failed` condition and that condition's reason.
async fn job_end(jobs: &Api<Job>, name: &str) -> Option<(String, String)> {
    let status = jobs.get(name).await.unwrap().status?;
    status.conditions?.into_iter().find_map(|c| {
        ((c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
            .then(|| (c.type_, c.reason.unwrap_or_default()))
    })
}

/// The logs of a Job's (first) pod.
async fn job_logs(ns: &str, job: &str) -> String {
    let pods = Api::<Pod>::namespaced(support::client().await, ns);
    let list = pods
        .list(&ListParams::default().labels(&format!("job-name={job}")))
        .await
        .unwrap();
    let Some(name) = list.items.first().and_then(|p| p.metadata.name.clone()) else {
        return format!("(no pod of job {job})");
    };
    pods.logs(&name, &LogParams::default())
        .await
        .unwrap_or_else(|e| format!("(no logs of {name}: {e})"))
}

/// Why a container of the pod waits, once that is more than being created.
fn waiting_reason(pod: &Pod) -> Option<String> {
    let statuses = pod.status.as_ref()?.container_statuses.as_ref()?;
    statuses
        .iter()
        .filter_map(|s| s.state.as_ref()?.waiting.as_ref()?.reason.clone())
        .find(|reason| reason != "ContainerCreating" && reason != "PodInitializing")
}

/// Every pod's phase and container states, for assertion messages.
async fn pods_summary(ns: &str) -> String {
    let pods = Api::<Pod>::namespaced(support::client().await, ns);
    let Ok(list) = pods.list(&ListParams::default()).await else {
        return "(pods could not be listed)".into();
    };
    let lines: Vec<String> = list
        .items
        .iter()
        .map(|p| {
            let status = p.status.clone().unwrap_or_default();
            format!(
                "pod {}: {} {}",
                p.metadata.name.as_deref().unwrap_or("?"),
                status.phase.unwrap_or_default(),
                serde_json::to_string(&status.container_statuses).unwrap_or_default()
            )
        })
        .collect();
    format!("pods in {ns}:\n{}", lines.join("\n"))
}

fn namespace(ns: &str) -> String {
    format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n")
}

/// A pod template's spec (at indent 0) for one container `main`, hardened as a real workload
/// would be: non-root, read-only root filesystem, no privilege escalation, requests and limits.
/// `container`, `mounts` and `volumes` are more YAML lines for the container, its volume mounts
/// and the pod's volumes.
fn pod_spec(
    image: &str,
    command: &str,
    uid: u32,
    container: &str,
    mounts: &str,
    volumes: &str,
) -> String {
    format!(
        "terminationGracePeriodSeconds: 1
securityContext: {{runAsNonRoot: true, runAsUser: {uid}, runAsGroup: {uid}}}
containers:
- name: main
  image: {image}
  imagePullPolicy: Never
  command: {command}
{container}  env: [{{name: HOME, value: /tmp}}]
  securityContext:
    readOnlyRootFilesystem: true
    allowPrivilegeEscalation: false
    capabilities: {{drop: [ALL]}}
  resources:
    requests: {{cpu: 10m, memory: 16Mi}}
    limits: {{cpu: 500m, memory: 128Mi}}
  volumeMounts:
  - {{name: tmp, mountPath: /tmp}}
{mounts}volumes:
- {{name: tmp, emptyDir: {{}}}}
{volumes}"
    )
}

/// A Deployment of busybox's httpd, ready once it serves /ready.
fn deployment(ns: &str, name: &str, replicas: u32, image: &str) -> String {
    let probe = "  ports: [{containerPort: 8080, protocol: TCP}]
  readinessProbe:
    httpGet: {path: /ready, port: 8080}
    periodSeconds: 1
";
    let command = "[/bin/httpd, -f, -p, '8080', -h, /www]";
    deployment_of(
        ns,
        name,
        replicas,
        &pod_spec(image, command, 65534, probe, "", ""),
    )
}

/// A Deployment of pods labelled `app: NAME` with the pod spec `spec` (at indent 0).
fn deployment_of(ns: &str, name: &str, replicas: u32, spec: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {ns}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
{}",
        indent(spec, 6)
    )
}

/// A Job that runs its pod once: no retry, so a failure is final at once.
fn job(ns: &str, name: &str, service_account: &str, pod: &str) -> String {
    let account = if service_account.is_empty() {
        String::new()
    } else {
        format!("      serviceAccountName: {service_account}\n")
    };
    format!(
        "apiVersion: batch/v1
kind: Job
metadata:
  name: {name}
  namespace: {ns}
spec:
  backoffLimit: 0
  activeDeadlineSeconds: 300
  template:
    spec:
      restartPolicy: Never
{account}{}",
        indent(pod, 6)
    )
}

fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.lines().map(|line| format!("{pad}{line}\n")).collect()
}
