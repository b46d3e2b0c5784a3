//! Who owns what: conflicts with other field managers, kubectl drift taken back, adoption.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::support;
use crate::support::gitops::{Env, deployment, namespace, write_namespace};

#[tokio::test]
async fn conflicts_name_the_manager_and_kubectl_drift_is_taken_back() {
    let env = Env::new();
    let ns = support::unique("dl-owner");
    env.repo.write(
        "app.yaml",
        &format!("{}---\n{}", namespace(&ns), deployment(&ns, "web")),
    );
    env.repo.commit("web");
    assert_eq!(env.run("sync", &[]).code, 0);
    let deployments = Api::<Deployment>::namespaced(support::client().await, &ns);
    let set_replicas = |manager: &'static str, n: i32| {
        let deployments = deployments.clone();
        async move {
            let params = PatchParams {
                field_manager: Some(manager.into()),
                ..Default::default()
            };
            deployments
                .patch(
                    "web",
                    &params,
                    &Patch::Merge(json!({"spec": {"replicas": n}})),
                )
                .await
                .unwrap();
        }
    };

    set_replicas("hpa-controller", 5).await;
    let preview = env.run("diff", &[]);
    assert_eq!(preview.code, 1);
    assert_contains!(
        preview.stderr,
        "[conflict: hpa-controller owns .spec.replicas]"
    );
    let refused = env.run("sync", &[]);
    assert_eq!(refused.code, 2);
    assert_contains!(
        refused.stdout,
        ["hpa-controller owns .spec.replicas", "--force-conflicts"]
    );
    assert_eq!(
        deployments.get("web").await.unwrap().spec.unwrap().replicas,
        Some(5)
    );
    let json = env.run("diff", &["--output", "json"]);
    assert_eq!(
        json.reason_of("Deployment", &ns, "web").as_deref(),
        Some("Conflict"),
        "{}",
        json.stdout
    );
    assert_eq!(env.run("sync", &["--force-conflicts"]).code, 0);
    assert_eq!(
        deployments.get("web").await.unwrap().spec.unwrap().replicas,
        Some(2)
    );

    set_replicas("kubectl-edit", 7).await;
    let healed = env.run("sync", &[]);
    assert_eq!(healed.code, 0, "kubectl's changes are drift, taken back");
    assert_contains!(
        healed.stdout,
        "[drift: kubectl-edit changed .spec.replicas]"
    );
    assert_eq!(
        deployments.get("web").await.unwrap().spec.unwrap().replicas,
        Some(2)
    );
    env.cleanup(&[&ns]).await;
}

#[tokio::test]
async fn existing_objects_are_adopted_only_with_adopt() {
    let env = Env::new();
    let ns = support::unique("dl-adopt");
    let client = support::client().await;
    let namespace_obj: Namespace =
        serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
    let created_by = PostParams {
        field_manager: Some("kubectl-create".into()),
        ..Default::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&created_by, &namespace_obj)
        .await
        .unwrap();
    let existing: ConfigMap = serde_json::from_value(
        json!({"metadata": {"name": "cm-0", "namespace": ns}, "data": {"value": "hand-made"}}),
    )
    .unwrap();
    Api::<ConfigMap>::namespaced(client.clone(), &ns)
        .create(&created_by, &existing)
        .await
        .unwrap();
    write_namespace(&env.repo, &ns, 1);
    env.repo.commit("one");

    let left = env.run("sync", &[]);
    assert_eq!(left.code, 0);
    assert_contains!(
        left.stdout,
        format!(
            "not in sync      v1 ConfigMap {ns}/cm-0: differs from Git, and is not managed by driftless"
        )
    );
    let value = || async {
        Api::<ConfigMap>::namespaced(support::client().await, &ns)
            .get("cm-0")
            .await
            .unwrap()
            .data
            .unwrap()["value"]
            .clone()
    };
    assert_eq!(value().await, "hand-made");
    let json = env.run("diff", &["--output", "json"]);
    assert_eq!(
        json.reason_of("ConfigMap", &ns, "cm-0").as_deref(),
        Some("NotAdopted"),
        "{}",
        json.stdout
    );
    let adopted = env.run("sync", &["--adopt"]);
    assert_eq!(adopted.code, 0);
    assert_eq!(value().await, "v");
    env.cleanup(&[&ns]).await;
}
