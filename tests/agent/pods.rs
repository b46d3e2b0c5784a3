//! The agent as `deploy/` installs it, in pods on the test node: its ServiceAccount, exactly
//! `deploy/`'s RBAC (cluster-wide, and the tenant overlay), in-cluster config, two replicas. A
//! bare repository on this machine reaches the pods through a hostPath volume (`file://`).

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::{Value, json};

use super::value_of;
use crate::support::agent::{http_get, parse_openmetrics, sample};
use crate::support::git::TestRepo;
use crate::support::gitops::{config_map, namespace};
use crate::support::{self, Run, Workspace};

const POD_TIMEOUT: Duration = Duration::from_secs(120);

/// An install of the agent from `deploy/` (or `deploy/tenant`), renamed so that tests do not
/// meet: its namespace, its cluster-wide RBAC names, its image and config.
struct Install {
    /// The agent's namespace (`driftless-system` in `deploy/`), its Leases and records.
    ns: String,
    set: String,
    repo: TestRepo,
    /// Namespaces to rename in `deploy/` (the tenant's Roles).
    renames: Vec<(&'static str, String)>,
    /// `namespaces:` of the set, for a tenant.
    scope: Vec<String>,
    /// More keys of the set, in the config's YAML (indented as keys of the set).
    extra: String,
    interval: &'static str,
    /// Keys of the `driftless-git` Secret the Deployment mounts at /etc/driftless-git.
    git_secret: Vec<(&'static str, String)>,
    /// `keys.txt` of the `driftless-sops` Secret the Deployment mounts at /etc/driftless-sops.
    sops_key: Option<String>,
    /// Port-forwards by (pod, remote port).
    forwards: std::sync::Mutex<std::collections::HashMap<(String, u16), Forward>>,
}

/// `kubectl port-forward pod/NAME :PORT`, stopped on drop.
struct Forward {
    child: std::process::Child,
    port: u16,
    /// Kept open: kubectl dies writing its next line to a closed pipe.
    _stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl Forward {
    fn start(ns: &str, pod: &str, remote: u16) -> Option<Forward> {
        use std::io::BufRead as _;
        let mut child = std::process::Command::new(support::renderers::kubectl())
            .arg("--kubeconfig")
            .arg(&support::cluster().kubeconfig)
            .args([
                "-n",
                ns,
                "port-forward",
                &format!("pod/{pod}"),
                &format!(":{remote}"),
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let stdout = child.stdout.take()?;
        let mut line = String::new();
        let mut stdout = std::io::BufReader::new(stdout);
        stdout.read_line(&mut line).ok()?;
        // `Forwarding from 127.0.0.1:36829 -> 8080`
        let port = line
            .split("127.0.0.1:")
            .nth(1)?
            .split_whitespace()
            .next()?
            .parse()
            .ok()?;
        Some(Forward {
            child,
            port,
            _stdout: stdout,
        })
    }
}

impl Drop for Forward {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Install {
    fn new(repo: TestRepo) -> Install {
        Install {
            ns: support::unique("dl-agentsys"),
            set: support::unique("agent"),
            repo,
            renames: Vec::new(),
            scope: Vec::new(),
            extra: String::new(),
            interval: "2s",
            git_secret: Vec::new(),
            sops_key: None,
            forwards: Default::default(),
        }
    }

    fn config(&self) -> String {
        let scope = match self.scope.is_empty() {
            true => String::new(),
            false => format!("    namespaces: [{}]\n", self.scope.join(", ")),
        };
        format!(
            "apiVersion: driftless.dev/v1alpha1\nkind: AgentConfig\nsets:\n  - name: {}\n    \
             source:\n      git: {{url: 'file:///git/{}', revision: main}}\n    interval: {}\n    \
             prune: {{enabled: true}}\n{scope}{}",
            self.set, self.repo.name, self.interval, self.extra
        )
    }

    /// `deploy/` (or an overlay) rendered by the pinned kustomize, made this test's.
    fn manifests(&self, overlay: &str) -> Vec<Value> {
        let dir = support::repo_root().join(overlay);
        let out = std::process::Command::new(support::renderers::kubectl())
            .args(["kustomize", &dir.to_string_lossy()])
            .output()
            .expect("kubectl kustomize");
        let mut text = Run::from_output(out).succeeded("kubectl kustomize");
        text = text.replace("driftless-system", &self.ns);
        text = text.replace("driftless-agent", &format!("{}-agent", self.ns));
        text = text.replace("driftless-tenant", &format!("{}-tenant", self.ns));
        for (from, to) in &self.renames {
            text = text.replace(from, to);
        }
        let mut docs: Vec<Value> = serde_saphyr::from_multiple(&text).expect("YAML");
        if !self.git_secret.is_empty() {
            let data: serde_json::Map<String, Value> = self
                .git_secret
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect();
            docs.push(json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "driftless-git", "namespace": self.ns},
                "stringData": data}));
        }
        if let Some(key) = &self.sops_key {
            docs.push(json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "driftless-sops", "namespace": self.ns},
                "stringData": {"keys.txt": key}}));
        }
        docs.into_iter().map(|d| self.adapt(d)).collect()
    }

    /// The node's image (nothing can be pulled), the repository mounted at /git, our config.
    fn adapt(&self, mut doc: Value) -> Value {
        match doc["kind"].as_str() {
            Some("ConfigMap") => {
                doc["data"] = json!({"config.yaml": self.config()});
            }
            Some("Deployment") => {
                let image = support::cluster()
                    .node
                    .as_ref()
                    .unwrap()
                    .driftless
                    .clone()
                    .unwrap();
                let spec = &mut doc["spec"]["template"]["spec"];
                let container = &mut spec["containers"][0];
                assert_eq!(container["name"], "agent");
                container["image"] = json!(image);
                container["imagePullPolicy"] = json!("Never");
                container["volumeMounts"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"name": "repo", "mountPath": "/git", "readOnly": true}));
                let holder = self.repo.bare.parent().unwrap();
                spec["volumes"].as_array_mut().unwrap().push(
                    json!({"name": "repo", "hostPath": {"path": holder, "type": "Directory"}}),
                );
            }
            _ => {}
        }
        doc
    }

    /// Applies the install (as the test's admin) and waits for both replicas to be ready.
    async fn apply(&self, overlay: &str, ws: &Workspace) {
        // The pods run as 65532: the repository must be theirs to open (libgit2 checks).
        let holder = self.repo.bare.parent().unwrap();
        run("chmod", &["0755", &holder.to_string_lossy()]);
        run(
            "chown",
            &["-R", "65532:65532", &self.repo.bare.to_string_lossy()],
        );
        for (i, doc) in self.manifests(overlay).iter().enumerate() {
            ws.write(&format!("install/{i:02}.json"), &doc.to_string());
        }
        let run = support::sync(&ws.file("install"), &[]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let api = Api::<Deployment>::namespaced(support::client().await, &self.ns);
        let ready = support::poll_until(POD_TIMEOUT, || async {
            let d = api.get("driftless").await.ok()?;
            (d.status?.ready_replicas? == 2).then_some(())
        })
        .await;
        assert!(
            ready.is_some(),
            "the agent's pods never became ready:\n{}",
            self.pods().await
        );
    }

    async fn leader(&self) -> Option<String> {
        let api = Api::<k8s_openapi::api::coordination::v1::Lease>::namespaced(
            support::client().await,
            &self.ns,
        );
        let lease = api
            .get_opt(&format!("driftless-{}", self.set))
            .await
            .ok()??;
        lease.spec?.holder_identity
    }

    /// The pod that leads the set, and one that stands by.
    async fn roles(&self) -> (String, String) {
        let leader = self.leader().await.expect("a leader");
        let standby = self
            .pod_names()
            .await
            .into_iter()
            .find(|p| *p != leader)
            .expect("a standby");
        (leader, standby)
    }

    async fn pod_names(&self) -> Vec<String> {
        let api = Api::<Pod>::namespaced(support::client().await, &self.ns);
        let pods = api.list(&ListParams::default()).await.unwrap();
        pods.items
            .into_iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .filter_map(|p| p.metadata.name)
            .collect()
    }

    /// A local port forwarded to a pod's `remote` port (pod IPs are not reachable from this
    /// machine's side of the node, nor from the API server's).
    fn forward(&self, pod: &str, remote: u16) -> Option<u16> {
        let mut forwards = self.forwards.lock().unwrap();
        let key = (pod.to_string(), remote);
        if !forwards.contains_key(&key) {
            forwards.insert(key.clone(), Forward::start(&self.ns, pod, remote)?);
        }
        Some(forwards[&key].port)
    }

    /// POST to a pod's webhook port (9292): (status, body).
    async fn post(
        &self,
        pod: &str,
        path: &str,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Option<(u16, String)> {
        let port = self.forward(pod, 9292)?;
        let path = path.to_string();
        tokio::task::spawn_blocking(move || {
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            crate::support::agent::http_post(port, &path, &headers, &body)
        })
        .await
        .ok()?
    }

    /// GET `path` from a pod's port 8080.
    async fn get(&self, pod: &str, path: &str) -> Option<String> {
        let port = self.forward(pod, 8080)?;
        let path = path.to_string();
        match tokio::task::spawn_blocking(move || http_get(port, &path)).await {
            Ok(Some((200, body))) => Some(body),
            _ => None,
        }
    }

    async fn report(&self, pod: &str) -> Value {
        let text = self.get(pod, "/report").await.unwrap_or_default();
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn pods(&self) -> String {
        let api = Api::<Pod>::namespaced(support::client().await, &self.ns);
        let pods = api
            .list(&ListParams::default())
            .await
            .map(|l| l.items)
            .unwrap_or_default();
        let mut out = String::new();
        for pod in pods {
            let name = pod.metadata.name.unwrap_or_default();
            out += &format!(
                "{name}: {:?}\n",
                pod.status.map(|s| (s.phase, s.container_statuses))
            );
            let logs: Api<Pod> = Api::namespaced(support::client().await, &self.ns);
            out += &logs
                .logs(&name, &Default::default())
                .await
                .unwrap_or_default();
        }
        out
    }

    /// Removes what the install made outside namespaces.
    async fn remove(&self, namespaces: &[String]) {
        let client = support::client().await;
        let dp = DeleteParams::background();
        let _ = Api::<ClusterRoleBinding>::all(client.clone())
            .delete(&format!("{}-agent", self.ns), &dp)
            .await;
        let _ = Api::<ClusterRole>::all(client)
            .delete(&format!("{}-agent", self.ns), &dp)
            .await;
        let mut all = namespaces.to_vec();
        all.push(self.ns.clone());
        support::delete_namespaces(&all).await;
    }
}

fn run(cmd: &str, args: &[&str]) {
    let status = std::process::Command::new(cmd)
        .args(args)
        .status()
        .expect(cmd);
    assert!(status.success(), "{cmd} {args:?}");
}

fn app(ns: &str, value: &str) -> String {
    format!("{}---\n{}", namespace(ns), config_map(ns, "app", value))
}

#[tokio::test]
async fn the_agent_in_pods_syncs_commits_and_fails_over() {
    let test = "the_agent_in_pods_syncs_commits_and_fails_over";
    if !support::require_node(test) || !support::require_driftless_image(test) {
        return;
    }
    let ns = support::unique("dl-agentpod");
    let ws = Workspace::new();
    let repo = TestRepo::local();
    repo.write("app.yaml", &app(&ns, "v1"));
    // A SOPS-encrypted Secret, opened with the key deploy/ mounts from the driftless-sops Secret.
    ws.write(
        "db.yaml",
        &format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: {ns}\nstringData:\n  password: pod-decrypted-7\n"),
    );
    let recipient = support::demo_recipient();
    let encrypted = support::demo_sops(ws.path(), &["encrypt", "--age", &recipient, "db.yaml"]);
    repo.write("db.yaml", &encrypted);
    repo.commit("v1");
    let mut install = Install::new(repo);
    let key = std::fs::read_to_string(support::repo_root().join(support::DEMO_AGE_KEY)).unwrap();
    install.sops_key = Some(key);
    install.extra =
        "    decryption: {provider: sops, ageKeyFile: /etc/driftless-sops/keys.txt}\n".into();
    install.apply("deploy", &ws).await;
    let has = |value: &'static str| {
        let ns = ns.clone();
        move || {
            let ns = ns.clone();
            async move { value_of(&ns, "app").await.as_deref() == Some(value) }
        }
    };
    assert!(
        support::eventually(has("v1")).await,
        "{}",
        install.pods().await
    );
    let secrets =
        Api::<k8s_openapi::api::core::v1::Secret>::namespaced(support::client().await, &ns);
    let db = secrets
        .get("db")
        .await
        .expect("the decrypted Secret was applied");
    assert_eq!(
        db.data.unwrap_or_default()["password"].0,
        b"pod-decrypted-7"
    );
    let (leader, standby) = install.roles().await;

    // Both serve metrics; only the leader writes.
    for (pod, leading) in [(&leader, 1.0), (&standby, 0.0)] {
        let text = install.get(pod, "/metrics").await.expect("metrics");
        let samples = parse_openmetrics(&text);
        assert_eq!(
            sample(&samples, "driftless_is_leader", &[&install.set]),
            Some(leading),
            "{pod}: {text}"
        );
    }
    assert_eq!(install.report(&standby).await["sets"][0]["role"], "standby");

    // A commit lands within an interval; a broken one is reported and not applied.
    install.repo.write("app.yaml", &app(&ns, "v2"));
    install.repo.commit("v2");
    assert!(
        support::eventually(has("v2")).await,
        "{}",
        install.pods().await
    );
    install
        .repo
        .write("app.yaml", &format!("{}  broken: [\n", app(&ns, "v3")));
    let broken = install.repo.commit("broken");
    let reported = support::poll_until(POD_TIMEOUT, || async {
        let report = install.report(&leader).await;
        (report["sets"][0]["lastAttemptedRevision"] == broken.as_str()).then_some(report)
    })
    .await
    .expect("the broken commit was never reported");
    let error = reported["sets"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_contains!(error, "app.yaml:", "{reported:#}");
    assert_eq!(value_of(&ns, "app").await.as_deref(), Some("v2"));
    let events = support::poll_until(POD_TIMEOUT, || async {
        let api = Api::<k8s_openapi::api::events::v1::Event>::namespaced(
            support::client().await,
            &install.ns,
        );
        let items = api.list(&ListParams::default()).await.ok()?.items;
        items
            .into_iter()
            .find(|e| e.reason.as_deref() == Some("RenderFailed"))
    })
    .await;
    assert!(
        events.is_some(),
        "no RenderFailed Event:\n{}",
        install.pods().await
    );

    // The leader's pod is deleted (SIGTERM): it gives the Lease back, the standby takes it at
    // once (not after it expires), and the next commit still lands.
    let pods = Api::<Pod>::namespaced(support::client().await, &install.ns);
    pods.delete(&leader, &DeleteParams::default())
        .await
        .unwrap();
    // Usually the standby; the replacement pod may win the race once it runs.
    let next = support::poll_until(POD_TIMEOUT, || async {
        install.leader().await.filter(|l| *l != leader)
    })
    .await;
    let Some(next) = next else {
        panic!("no replica took over:\n{}", install.pods().await);
    };
    // The replacement pod may still be starting: its port takes a moment to answer. The Lease
    // names the new holder a moment before its metrics say so.
    let text = support::poll_until(POD_TIMEOUT, || async {
        let text = install.get(&next, "/metrics").await?;
        text.lines()
            .any(|l| l.starts_with("driftless_is_leader{") && l.ends_with(" 1"))
            .then_some(text)
    })
    .await
    .unwrap_or_else(|| panic!("{next} holds the Lease but never said it leads"));
    let samples = parse_openmetrics(&text);
    assert_eq!(
        sample(
            &samples,
            "driftless_leader_takeovers_total",
            &["previous=\"released\""]
        ),
        Some(1.0),
        "the old leader did not give the Lease back on SIGTERM: {text}"
    );
    install.repo.write("app.yaml", &app(&ns, "v4"));
    install.repo.commit("v4");
    assert!(
        support::eventually(has("v4")).await,
        "{}",
        install.pods().await
    );
    install.remove(&[ns]).await;
}

#[tokio::test]
async fn a_tenant_agent_reports_403_outside_its_namespaces_and_syncs_the_others() {
    let test = "a_tenant_agent_reports_403_outside_its_namespaces_and_syncs_the_others";
    if !support::require_node(test) || !support::require_driftless_image(test) {
        return;
    }
    let [a, b, c] = ["dl-tenant-a", "dl-tenant-b", "dl-tenant-c"].map(support::unique);
    let client = support::client().await;
    for ns in [&a, &b, &c] {
        let object: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &object)
            .await
            .unwrap();
    }
    let ws = Workspace::new();
    let repo = TestRepo::local();
    for ns in [&a, &b, &c] {
        repo.write(&format!("{ns}.yaml"), &config_map(ns, "app", "v1"));
    }
    repo.commit("v1");
    let mut install = Install::new(repo);
    // The tenant's Roles are for a and b; its config also names c, which it may not touch.
    install.renames = vec![("mlops-platform", a.clone()), ("mlops-training", b.clone())];
    install.scope = vec![a.clone(), b.clone(), c.clone()];
    install.apply("deploy/tenant", &ws).await;
    for ns in [&a, &b] {
        let ns = ns.clone();
        let synced =
            support::eventually(|| async { value_of(&ns, "app").await.as_deref() == Some("v1") })
                .await;
        assert!(synced, "{ns} was not synced:\n{}", install.pods().await);
    }
    let leader = install.leader().await.expect("a leader");
    let report = support::poll_until(POD_TIMEOUT, || async {
        let report = install.report(&leader).await;
        report["sets"][0]["namespaces"][&c]["failures"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("403"))
            .then_some(report)
    })
    .await;
    assert!(
        report.is_some(),
        "no 403 for {c}:\n{}",
        install.pods().await
    );
    let report = report.unwrap();
    assert_eq!(report["sets"][0]["result"], "degraded", "{report:#}");
    assert!(
        report["sets"][0]["namespaces"][&a]["failures"]
            .as_array()
            .is_some_and(Vec::is_empty),
        "{report:#}"
    );
    assert_eq!(value_of(&c, "app").await, None, "{c} was written");
    install.remove(&[a, b, c]).await;
}

#[tokio::test]
async fn in_pods_drift_is_seen_healed_and_fought_and_a_signed_webhook_fetches_now() {
    let test = "in_pods_drift_is_seen_healed_and_fought_and_a_signed_webhook_fetches_now";
    if !support::require_node(test) || !support::require_driftless_image(test) {
        return;
    }
    let (watched, healed) = (support::unique("dl-podrift"), support::unique("dl-podheal"));
    let ws = Workspace::new();
    let repo = TestRepo::local();
    repo.write("watched.yaml", &app(&watched, "v1"));
    repo.write("healed.yaml", &app(&healed, "v1"));
    repo.commit("v1");
    let secret = "pod-hook-s3cret";
    let mut install = Install::new(repo);
    // An hour between polls: only webhooks fetch, only watches see drift.
    install.interval = "1h";
    install.git_secret = vec![("webhook-secret", secret.to_string())];
    install.extra = format!(
        "    webhook: {{provider: github, secretFile: /etc/driftless-git/webhook-secret}}\n    \
         namespaceOverrides:\n      {healed}: {{selfHeal: true}}\n"
    );
    install.apply("deploy", &ws).await;
    for ns in [&watched, &healed] {
        assert!(
            support::eventually(|| async { value_of(ns, "app").await.as_deref() == Some("v1") })
                .await,
            "{}",
            install.pods().await
        );
    }
    let (leader, standby) = install.roles().await;

    // A kubectl edit: an Event on the object naming kubectl-edit and the field, and the
    // drift metric rises.
    super::edit_value(&watched, "app", "kubectl-edit", "by hand").await;
    let edited = std::time::Instant::now();
    let detected = support::poll_until(POD_TIMEOUT, || async {
        super::object_events(&watched, "app", "DriftDetected")
            .await
            .into_iter()
            .next()
    })
    .await
    .expect("no DriftDetected Event");
    eprintln!("drift seen in {:?}", edited.elapsed());
    let note = detected.note.unwrap_or_default();
    assert_contains!(note, ["kubectl-edit", ".data.value"]);
    let text = install.get(&leader, "/metrics").await.expect("metrics");
    assert_eq!(
        sample(
            &parse_openmetrics(&text),
            "driftless_drifted_objects",
            &[&format!("namespace=\"{watched}\"")]
        ),
        Some(1.0),
        "{text}"
    );

    // Self-heal: an edit is put back, a deleted object is recreated.
    super::edit_value(&healed, "app", "kubectl-edit", "by hand").await;
    assert!(
        support::eventually(|| async { value_of(&healed, "app").await.as_deref() == Some("v1") })
            .await,
        "{}",
        install.pods().await
    );
    let configmaps =
        Api::<k8s_openapi::api::core::v1::ConfigMap>::namespaced(support::client().await, &healed);
    configmaps
        .delete("app", &DeleteParams::default())
        .await
        .unwrap();
    assert!(
        support::eventually(|| async { value_of(&healed, "app").await.as_deref() == Some("v1") })
            .await,
        "not recreated:\n{}",
        install.pods().await
    );
    super::assert_deletion_reported(&healed, "app").await;

    // A second writer that keeps changing it: a fight, and correction stops.
    super::fight(&healed, "app").await;
    let fight = support::poll_until(POD_TIMEOUT, || async {
        super::object_events(&healed, "app", "DriftFight")
            .await
            .into_iter()
            .next()
    })
    .await
    .expect("no DriftFight Event");
    assert_contains!(fight.note.unwrap_or_default(), "fighter");
    super::edit_value(&healed, "app", "fighter", "fighter-last").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        value_of(&healed, "app").await.as_deref(),
        Some("fighter-last")
    );

    // Webhooks: a bad signature is refused and fetches nothing; a good one, sent to the
    // standby, is passed on to the leader and the commit lands.
    install.repo.write("watched.yaml", &app(&watched, "v2"));
    install.repo.commit("v2");
    let path = format!("/hook/{}", install.set);
    let body = br#"{"ref":"refs/heads/main"}"#.to_vec();
    let bad = vec![("X-Hub-Signature-256".to_string(), "sha256=00".to_string())];
    let answer = install.post(&standby, &path, bad, body.clone()).await;
    assert_eq!(answer.map(|a| a.0), Some(401));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(value_of(&watched, "app").await.as_deref(), Some("by hand"));
    let good = vec![(
        "X-Hub-Signature-256".to_string(),
        super::github_signature(secret, &body),
    )];
    let sent = std::time::Instant::now();
    let answer = install.post(&standby, &path, good, body).await;
    assert_eq!(answer.as_ref().map(|a| a.0), Some(202), "{answer:?}");
    assert!(
        support::eventually(|| async { value_of(&watched, "app").await.as_deref() == Some("v2") })
            .await,
        "{}",
        install.pods().await
    );
    eprintln!("webhook to applied: {:?}", sent.elapsed());
    // The pass that applied v2 took the hand edit back: no longer drifted.
    let cleared = support::poll_until(POD_TIMEOUT, || async {
        let report = install.report(&leader).await;
        let drifted = report["sets"][0]["drift"]["drifted"].as_object()?.clone();
        (!drifted.keys().any(|k| k.contains(watched.as_str()))).then_some(())
    })
    .await;
    assert!(cleared.is_some(), "{:#}", install.report(&leader).await);
    install.remove(&[watched, healed]).await;
}
