//! Other identities than the test cluster's admin: a user with chosen RBAC rules (by
//! impersonation), or a ServiceAccount with its own token (its requests are told apart in the
//! audit log, and the server never exempts it from throttling as it does `system:masters`).

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::{Value, json};

use super::{client, cluster, unique};

/// An identity for `driftless --kubeconfig`, with the RBAC objects it needs; they are removed
/// when it is dropped (best effort).
pub struct Identity {
    pub kubeconfig: tempfile::NamedTempFile,
    /// The name the API server (and its audit log) knows it by.
    pub username: String,
    bindings: Vec<String>,
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
        let mut config = admin_config();
        for u in config["users"].as_array_mut().unwrap() {
            u["user"]["as"] = json!(user);
        }
        Identity {
            kubeconfig: write_config(&config),
            username: user.clone(),
            bindings: vec![user],
        }
    }

    /// A ServiceAccount in `namespace` (created here, with the namespace) bound to
    /// cluster-admin, authenticating with its own token.
    pub async fn service_account(namespace: &str) -> Identity {
        let name = unique("dl-sa");
        let c = client().await;
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
        bind_to(&binding, "cluster-admin", subject).await;
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
        let mut config = admin_config();
        for u in config["users"].as_array_mut().unwrap() {
            u["user"] = json!({"token": token});
        }
        Identity {
            kubeconfig: write_config(&config),
            username: format!("system:serviceaccount:{namespace}:{name}"),
            bindings: vec![binding],
        }
    }

    pub fn path(&self) -> &std::path::Path {
        self.kubeconfig.path()
    }
}

impl Drop for Identity {
    fn drop(&mut self) {
        let bindings = std::mem::take(&mut self.bindings);
        // Drop cannot await; a short-lived runtime on its own thread does the cleanup.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Runtime::new() else {
                return;
            };
            rt.block_on(async {
                let c = client().await;
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

async fn bind(name: &str, rules: Value, subject: Value) {
    let role: ClusterRole =
        serde_json::from_value(json!({"metadata": {"name": name}, "rules": rules})).unwrap();
    Api::<ClusterRole>::all(client().await)
        .create(&PostParams::default(), &role)
        .await
        .unwrap();
    bind_to(name, name, subject).await;
}

async fn bind_to(name: &str, role: &str, subject: Value) {
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [subject]
    }))
    .unwrap();
    Api::<ClusterRoleBinding>::all(client().await)
        .create(&PostParams::default(), &binding)
        .await
        .unwrap();
}

fn admin_config() -> Value {
    let admin = std::fs::read_to_string(&cluster().kubeconfig).unwrap();
    serde_saphyr::from_str(&admin).unwrap()
}

fn write_config(config: &Value) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_string(config).unwrap()).unwrap();
    file
}
