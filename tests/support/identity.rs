//! Other identities than the test cluster's admin: a user with chosen RBAC rules (by
//! impersonation), or a ServiceAccount with its own token (its requests are told apart in the
//! audit log, and the server never exempts it from throttling as it does `system:masters`).

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, RoleBinding};
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::{Value, json};

use super::{client, client_for, cluster, unique};

/// An identity for `driftless --kubeconfig`, with the RBAC objects it needs; they are removed
/// when it is dropped (best effort).
pub struct Identity {
    pub kubeconfig: tempfile::NamedTempFile,
    /// The name the API server (and its audit log) knows it by.
    pub username: String,
    bindings: Vec<String>,
    /// The admin kubeconfig of the cluster it lives in, for cleanup.
    cluster: std::path::PathBuf,
}

impl Identity {
    /// A user allowed exactly `rules` cluster-wide (the admin impersonates it).
    pub async fn user_with_rules(rules: Value) -> Identity {
        let user = unique("dl-user");
        bind(
            &user,
            rules,
            json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}),
        )
        .await;
        impersonating(user)
    }

    /// A user allowed everything in `namespaces` only (RoleBindings; the namespaces must
    /// exist): a tenant.
    pub async fn user_in_namespaces(namespaces: &[&str]) -> Identity {
        let user = unique("dl-tenant");
        let c = client().await;
        let everything = json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]);
        cluster_role(&c, &user, everything).await;
        for ns in namespaces {
            let binding: RoleBinding = serde_json::from_value(json!({
                "metadata": {"name": user, "namespace": ns},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": user},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
            }))
            .unwrap();
            Api::<RoleBinding>::namespaced(c.clone(), ns)
                .create(&PostParams::default(), &binding)
                .await
                .unwrap();
        }
        // The RoleBindings go with their namespaces.
        impersonating(user)
    }

    /// A ServiceAccount in `namespace` (created here, with the namespace) bound to
    /// cluster-admin, authenticating with its own token.
    pub async fn service_account(namespace: &str) -> Identity {
        Identity::service_account_on(&cluster().kubeconfig, namespace).await
    }

    /// The same, on the cluster of `kubeconfig` (a private control plane).
    pub async fn service_account_on(kubeconfig: &std::path::Path, namespace: &str) -> Identity {
        let name = unique("dl-sa");
        let c = client_for(kubeconfig).await;
        let ns: k8s_openapi::api::core::v1::Namespace =
            serde_json::from_value(json!({"metadata": {"name": namespace}})).unwrap();
        let _ = Api::all(c.clone())
            .create(&PostParams::default(), &ns)
            .await;
        let sa: ServiceAccount =
            serde_json::from_value(json!({"metadata": {"name": name, "namespace": namespace}}))
                .unwrap();
        let accounts = Api::<ServiceAccount>::namespaced(c.clone(), namespace);
        accounts.create(&PostParams::default(), &sa).await.unwrap();
        let binding = unique("dl-sa-admin");
        let subject = json!({"kind": "ServiceAccount", "name": name, "namespace": namespace});
        bind_to(&c, &binding, "cluster-admin", subject).await;
        let request = TokenRequest {
            spec: TokenRequestSpec {
                audiences: vec![],
                expiration_seconds: Some(3600),
                ..Default::default()
            },
            ..Default::default()
        };
        let token = accounts
            .create_token_request(&name, &PostParams::default(), &request)
            .await
            .unwrap()
            .status
            .unwrap()
            .token;
        let mut config = read_config(kubeconfig);
        for u in config["users"].as_array_mut().unwrap() {
            u["user"] = json!({"token": token});
        }
        Identity {
            kubeconfig: write_config(&config),
            username: format!("system:serviceaccount:{namespace}:{name}"),
            bindings: vec![binding],
            cluster: kubeconfig.to_path_buf(),
        }
    }

    pub fn path(&self) -> &std::path::Path {
        self.kubeconfig.path()
    }
}

impl Drop for Identity {
    fn drop(&mut self) {
        let bindings = std::mem::take(&mut self.bindings);
        let cluster = self.cluster.clone();
        // Drop cannot await; a short-lived runtime on its own thread does the cleanup.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Runtime::new() else {
                return;
            };
            rt.block_on(async {
                let c = client_for(&cluster).await;
                for name in bindings {
                    let _ = Api::<ClusterRoleBinding>::all(c.clone())
                        .delete(&name, &DeleteParams::default())
                        .await;
                    let _ = Api::<ClusterRole>::all(c.clone())
                        .delete(&name, &DeleteParams::default())
                        .await;
                }
            });
        })
        .join();
    }
}

/// The admin's kubeconfig impersonating `user`, whose ClusterRole (and binding) is `user`.
fn impersonating(user: String) -> Identity {
    let mut config = read_config(&cluster().kubeconfig);
    for u in config["users"].as_array_mut().unwrap() {
        u["user"]["as"] = json!(user);
    }
    Identity {
        kubeconfig: write_config(&config),
        username: user.clone(),
        bindings: vec![user],
        cluster: cluster().kubeconfig.clone(),
    }
}

async fn bind(name: &str, rules: Value, subject: Value) {
    let c = client().await;
    cluster_role(&c, name, rules).await;
    bind_to(&c, name, name, subject).await;
}

async fn cluster_role(c: &kube::Client, name: &str, rules: Value) {
    let role: ClusterRole =
        serde_json::from_value(json!({"metadata": {"name": name}, "rules": rules})).unwrap();
    Api::<ClusterRole>::all(c.clone())
        .create(&PostParams::default(), &role)
        .await
        .unwrap();
}

async fn bind_to(c: &kube::Client, name: &str, role: &str, subject: Value) {
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [subject]
    }))
    .unwrap();
    Api::<ClusterRoleBinding>::all(c.clone())
        .create(&PostParams::default(), &binding)
        .await
        .unwrap();
}

fn read_config(path: &std::path::Path) -> Value {
    let admin = std::fs::read_to_string(path).unwrap();
    serde_saphyr::from_str(&admin).unwrap()
}

fn write_config(config: &Value) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_string(config).unwrap()).unwrap();
    file
}
