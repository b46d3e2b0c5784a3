//! A Git repository synced as its own sync set (`--name`) with its own `--inventory-namespace`,
//! so tests that prune never see each other's inventories.

use std::path::Path;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;

use super::git::TestRepo;
use super::{Run, driftless_as, driftless_with_env};
use crate::support;

pub struct Env {
    pub repo: TestRepo,
    pub cache: tempfile::TempDir,
    pub inventory_ns: String,
    /// The sync set this repository is.
    pub set: String,
}

impl Env {
    pub fn new() -> Env {
        Env::with_set(&support::unique("set"))
    }

    /// A repository synced as the sync set `set`.
    pub fn with_set(set: &str) -> Env {
        Env {
            repo: TestRepo::local(),
            cache: tempfile::tempdir().unwrap(),
            inventory_ns: support::unique("dl-inv"),
            set: set.to_string(),
        }
    }

    /// A repository holding one namespace with `n` ConfigMaps, synced with `--prune`.
    pub async fn synced(prefix: &str, n: usize) -> (Env, String) {
        let env = Env::new();
        let ns = support::unique(prefix);
        write_namespace(&env.repo, &ns, n);
        env.repo.commit("initial");
        assert_eq!(env.run("sync", &["--prune"]).code, 0);
        (env, ns)
    }

    fn args<'a>(
        &'a self,
        cmd: &'a str,
        url: &'a str,
        cache: &'a str,
        extra: &[&'a str],
    ) -> Vec<&'a str> {
        let mut args = vec![
            cmd,
            "--source",
            url,
            "--cache-dir",
            cache,
            "--name",
            &self.set,
            "--inventory-namespace",
            &self.inventory_ns,
        ];
        args.extend_from_slice(extra);
        args
    }

    pub fn run(&self, cmd: &str, extra: &[&str]) -> Run {
        let (url, cache) = (
            self.repo.file_url(),
            self.cache.path().to_string_lossy().into_owned(),
        );
        driftless_with_env(&self.args(cmd, &url, &cache, extra), &[])
    }

    pub fn run_as(&self, kubeconfig: &Path, cmd: &str, extra: &[&str]) -> Run {
        let (url, cache) = (
            self.repo.file_url(),
            self.cache.path().to_string_lossy().into_owned(),
        );
        driftless_as(kubeconfig, &self.args(cmd, &url, &cache, extra), &[])
    }

    pub async fn cleanup(&self, namespaces: &[&str]) {
        let mut all: Vec<String> = namespaces.iter().map(|s| s.to_string()).collect();
        all.push(self.inventory_ns.clone());
        support::delete_namespaces(&all).await;
    }
}

pub fn namespace(ns: &str) -> String {
    format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n")
}

pub fn config_map(ns: &str, name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {ns}\ndata:\n  value: \"{value}\"\n"
    )
}

pub fn deployment(ns: &str, name: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n      - name: app\n        image: nginx:1.27.0\n"
    )
}

/// A namespace with `n` ConfigMaps `cm-0..cm-n` in one file each.
pub fn write_namespace(repo: &TestRepo, ns: &str, n: usize) {
    repo.write(&format!("{ns}/namespace.yaml"), &namespace(ns));
    for i in 0..n {
        repo.write(
            &format!("{ns}/cm-{i}.yaml"),
            &config_map(ns, &format!("cm-{i}"), "v"),
        );
    }
}

pub async fn config_maps(ns: &str) -> Vec<String> {
    let list = Api::<ConfigMap>::namespaced(support::client().await, ns)
        .list(&Default::default())
        .await
        .unwrap();
    let mut names: Vec<String> = list
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .filter(|n| n.starts_with("cm-") || n.starts_with("extra"))
        .collect();
    names.sort();
    names
}

/// The ApplySet id of `set`'s parent in `ns` (KEP-3659), computed here independently.
pub fn applyset_id(set: &str, ns: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(format!("driftless-{set}.{ns}.Secret.").as_bytes());
    format!(
        "applyset-{}-v1",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
    )
}

/// The namespace `ns` and its ConfigMap `app` holding `value`.
pub fn app_yaml(ns: &str, value: &str) -> String {
    format!("{}---\n{}", namespace(ns), config_map(ns, "app", value))
}

/// A set name, a namespace (cleaned up with the workspace), and a repository whose first
/// commit holds the namespace and its ConfigMap `app` at `v1`.
pub fn app_repo(prefix: &str) -> (String, String, support::Workspace, TestRepo) {
    let (set, ns) = (support::unique("agent"), support::unique(prefix));
    let mut ws = support::Workspace::new();
    ws.namespaces.push(ns.clone());
    let repo = TestRepo::local();
    repo.write("app.yaml", &app_yaml(&ns, "v1"));
    repo.commit("v1");
    (set, ns, ws, repo)
}

/// `data.value` of ConfigMap `name` in `ns`, if it exists.
pub async fn value_of(ns: &str, name: &str) -> Option<String> {
    let api = Api::<ConfigMap>::namespaced(support::client().await, ns);
    api.get_opt(name).await.ok()??.data?.get("value").cloned()
}

/// Sets `data.value` of a ConfigMap as `manager` would (a `kubectl edit` is `kubectl-edit`).
pub async fn edit_value(ns: &str, name: &str, manager: &str, value: &str) {
    use kube::api::{Patch, PatchParams};
    let api = Api::<ConfigMap>::namespaced(support::client().await, ns);
    let params = PatchParams {
        field_manager: Some(manager.into()),
        ..Default::default()
    };
    let patch = serde_json::json!({"data": {"value": value}});
    api.patch(name, &params, &Patch::Merge(&patch))
        .await
        .expect("edit the ConfigMap");
}
