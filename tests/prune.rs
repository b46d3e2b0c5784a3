//! Pruning with the ApplySet inventory: exactly what Git dropped, never anything else, and the
//! guards that stop a sync before it deletes too much.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, PostParams};
use serde_json::json;

use crate::support::gitops::{
    Env, applyset_id, config_map, config_maps, deployment, write_namespace,
};
use crate::support::identity::Identity;
use crate::support::{self, Run, driftless_with_env};

#[tokio::test]
async fn removing_a_manifest_from_a_commit_prunes_exactly_that_object() {
    let env = Env::new();
    let ns = support::unique("dl-prune");
    write_namespace(&env.repo, &ns, 5);
    env.repo
        .write(&format!("{ns}/web.yaml"), &deployment(&ns, "web"));
    env.repo.commit("five config maps and a deployment");
    assert_eq!(env.run("sync", &["--prune"]).code, 0);
    assert_eq!(
        config_maps(&ns).await,
        ["cm-0", "cm-1", "cm-2", "cm-3", "cm-4"]
    );

    // kubectl reads the inventory: the part-of label lists exactly the managed objects.
    let kubeconfig = support::cluster().kubeconfig.to_string_lossy().into_owned();
    let out = std::process::Command::new("kubectl")
        .args([
            "--kubeconfig",
            &kubeconfig,
            "get",
            "configmaps,deployments,secrets",
            "-n",
            &ns,
            "-o",
            "name",
            "-l",
        ])
        .arg(format!(
            "applyset.kubernetes.io/part-of={}",
            applyset_id(&env.set, &ns)
        ))
        .output()
        .expect("kubectl is installed (scripts/test installs it)");
    let run = Run::from_output(out);
    let mut listed: Vec<&str> = run.stdout.lines().collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            "configmap/cm-0",
            "configmap/cm-1",
            "configmap/cm-2",
            "configmap/cm-3",
            "configmap/cm-4",
            "deployment.apps/web"
        ],
        "{}",
        run.stderr
    );
    let parent =
        Api::<k8s_openapi::api::core::v1::Secret>::namespaced(support::client().await, &ns)
            .get(&format!("driftless-{}", env.set))
            .await
            .unwrap();
    let annotations = parent.metadata.annotations.unwrap();
    assert_eq!(
        annotations["applyset.kubernetes.io/contains-group-kinds"],
        "ConfigMap,Deployment.apps"
    );
    assert!(annotations["applyset.kubernetes.io/tooling"].starts_with("driftless/"));
    assert_eq!(
        parent.metadata.labels.unwrap()["applyset.kubernetes.io/id"],
        applyset_id(&env.set, &ns)
    );

    env.repo.write(&format!("{ns}/cm-3.yaml"), "# removed\n");
    env.repo.commit("drop cm-3");
    let preview = env.run("diff", &["--prune"]);
    assert_eq!(preview.code, 1, "a prune is a difference");
    assert_contains!(
        preview.stderr,
        format!("would prune      v1 ConfigMap {ns}/cm-3")
    );
    assert_contains!(
        preview.stdout,
        [format!("--- live/v1/ConfigMap/{ns}/cm-3"), "+++ /dev/null"]
    );
    let orphaned = env.run("diff", &[]);
    assert_eq!(
        orphaned.code, 1,
        "without --prune nothing is deleted, and what Git dropped still differs"
    );
    assert_contains!(
        orphaned.stderr,
        format!("orphaned         v1 ConfigMap {ns}/cm-3")
    );

    let synced = env.run("sync", &["--prune"]);
    assert_eq!(synced.code, 0);
    assert_contains!(
        synced.stdout,
        format!("pruned           v1 ConfigMap {ns}/cm-3")
    );
    assert_eq!(
        config_maps(&ns).await,
        ["cm-0", "cm-1", "cm-2", "cm-4"],
        "exactly cm-3 is gone"
    );

    // A pruned Deployment takes its ReplicaSets with it (background propagation, real GC).
    let replica_sets = Api::<ReplicaSet>::namespaced(support::client().await, &ns);
    let has_rs = || async {
        !replica_sets
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .is_empty()
    };
    if support::require_controller_manager("pruned deployments cascade") {
        assert!(
            support::eventually(has_rs).await,
            "the Deployment got a ReplicaSet"
        );
    }
    env.repo.write(&format!("{ns}/web.yaml"), "# removed\n");
    env.repo.commit("drop the deployment");
    // A sync without --prune first: it must keep Deployment.apps listed on the parent, or the
    // pruning sync after it could no longer find the Deployment.
    assert_eq!(env.run("sync", &[]).code, 0);
    assert_eq!(env.run("sync", &["--prune"]).code, 0);
    assert!(
        Api::<Deployment>::namespaced(support::client().await, &ns)
            .get_opt("web")
            .await
            .unwrap()
            .is_none()
    );
    if support::require_controller_manager("pruned deployments cascade") {
        let gone = support::eventually(|| async { !has_rs().await }).await;
        assert!(gone, "the garbage collector removed the ReplicaSet");
    }
    env.cleanup(&[&ns]).await;
}

#[tokio::test]
async fn a_copied_part_of_label_never_makes_an_object_prunable() {
    let (env, ns) = Env::synced("dl-copy", 4).await;

    let intruder: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "extra", "namespace": ns, "labels": {"applyset.kubernetes.io/part-of": applyset_id(&env.set, &ns)}},
        "data": {"k": "v"}
    }))
    .unwrap();
    let params = PostParams {
        field_manager: Some("someone-else".into()),
        ..Default::default()
    };
    Api::<ConfigMap>::namespaced(support::client().await, &ns)
        .create(&params, &intruder)
        .await
        .unwrap();

    let synced = env.run("sync", &["--prune"]);
    assert_eq!(synced.code, 0);
    assert_contains!(synced.stdout, "never applied it");
    assert_eq!(
        config_maps(&ns).await,
        ["cm-0", "cm-1", "cm-2", "cm-3", "extra"],
        "the copied label does not make it ours"
    );
    env.cleanup(&[&ns]).await;
}

#[tokio::test]
async fn an_emptied_source_and_a_prune_over_budget_are_refused() {
    let (env, ns) = Env::synced("dl-guard", 4).await;

    // Three of five inventory members (four ConfigMaps and the Namespace): 60% > 25%.
    for i in 0..3 {
        env.repo.write(&format!("{ns}/cm-{i}.yaml"), "# removed\n");
    }
    env.repo.write(
        &format!("{ns}/cm-3.yaml"),
        &config_map(&ns, "cm-3", "changed"),
    );
    env.repo.commit("drop three");
    let refused = env.run("sync", &["--prune"]);
    assert_eq!(refused.code, 2);
    assert_contains!(
        refused.stderr,
        ["would prune 3 of its 5 objects", "--max-prune 25%"]
    );
    assert_eq!(
        config_maps(&ns).await,
        ["cm-0", "cm-1", "cm-2", "cm-3"],
        "nothing pruned"
    );
    let cm3 = Api::<ConfigMap>::namespaced(support::client().await, &ns)
        .get("cm-3")
        .await
        .unwrap();
    assert_eq!(cm3.data.unwrap()["value"], "v", "nothing applied either");
    assert_eq!(
        env.run("sync", &["--prune", "--max-prune", "3"]).code,
        0,
        "a count budget allows it"
    );
    assert_eq!(config_maps(&ns).await, ["cm-3"]);

    for rel in [format!("{ns}/cm-3.yaml"), format!("{ns}/namespace.yaml")] {
        env.repo.write(&rel, "# removed\n");
    }
    env.repo.commit("empty");
    let empty = env.run("sync", &["--prune", "--max-prune", "100%"]);
    assert_eq!(empty.code, 2);
    assert_contains!(
        empty.stderr,
        ["the source holds no objects", "--allow-empty"]
    );
    assert_eq!(config_maps(&ns).await, ["cm-3"]);
    env.cleanup(&[&ns]).await;
}

#[tokio::test]
async fn an_interrupted_prune_is_completed_by_the_next_sync() {
    let (env, ns) = Env::synced("dl-retry", 5).await;
    env.repo.write(&format!("{ns}/cm-4.yaml"), "# removed\n");
    env.repo.commit("drop cm-4");

    // An identity that may do everything but delete ConfigMaps: the prune fails with a 403.
    let limited = Identity::user_with_rules(json!([
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch", "create", "update", "patch"]},
        {"apiGroups": [""], "resources": ["secrets", "namespaces"], "verbs": ["delete"]}
    ]))
    .await;
    let client = support::client().await;
    let interrupted = env.run_as(limited.path(), "sync", &["--prune"]);
    assert_eq!(interrupted.code, 2, "a failed delete fails the sync");
    assert_contains!(
        interrupted.stdout,
        "prune failed, kept in the inventory for the next sync"
    );
    assert_contains!(config_maps(&ns).await, "cm-4");
    let parent = Api::<k8s_openapi::api::core::v1::Secret>::namespaced(client.clone(), &ns)
        .get(&format!("driftless-{}", env.set))
        .await
        .unwrap();
    assert_contains!(
        parent.metadata.annotations.unwrap()["applyset.kubernetes.io/contains-group-kinds"],
        "ConfigMap"
    );

    let completed = env.run("sync", &["--prune"]);
    assert_eq!(completed.code, 0);
    assert_eq!(
        config_maps(&ns).await,
        ["cm-0", "cm-1", "cm-2", "cm-3"],
        "the next sync completes the prune"
    );
    env.cleanup(&[&ns]).await;
}

#[tokio::test]
async fn namespaces_outside_the_scope_are_untouched() {
    let env = Env::new();
    let (inside, outside) = (support::unique("dl-in"), support::unique("dl-out"));
    write_namespace(&env.repo, &inside, 4);
    write_namespace(&env.repo, &outside, 4);
    env.repo.commit("two namespaces");
    assert_eq!(env.run("sync", &["--prune"]).code, 0);

    env.repo.write(
        &format!("{inside}/cm-0.yaml"),
        &config_map(&inside, "cm-0", "new"),
    );
    env.repo.write(
        &format!("{outside}/cm-0.yaml"),
        &config_map(&outside, "cm-0", "new"),
    );
    env.repo
        .write(&format!("{outside}/cm-3.yaml"), "# removed\n");
    env.repo.commit("change both");
    let (url, cache) = (
        env.repo.file_url(),
        env.cache.path().to_string_lossy().into_owned(),
    );
    let scoped = driftless_with_env(
        &[
            "sync",
            "--source",
            &url,
            "--cache-dir",
            &cache,
            "--inventory-namespace",
            &env.inventory_ns,
            "--name",
            &env.set,
            "--prune",
            "--namespace",
            &inside,
        ],
        &[],
    );
    assert_eq!(scoped.code, 0);
    assert_contains!(
        scoped.stdout,
        format!(
            "skipped          v1 ConfigMap {outside}/cm-0: outside the namespaces this sync manages"
        )
    );
    let value = |ns: String| async move {
        Api::<ConfigMap>::namespaced(support::client().await, &ns)
            .get("cm-0")
            .await
            .unwrap()
            .data
            .unwrap()["value"]
            .clone()
    };
    assert_eq!(value(inside.clone()).await, "new");
    assert_eq!(
        value(outside.clone()).await,
        "v",
        "the other namespace is not applied"
    );
    assert_eq!(
        config_maps(&outside).await,
        ["cm-0", "cm-1", "cm-2", "cm-3"],
        "nor pruned"
    );
    env.cleanup(&[&inside, &outside]).await;
}

#[tokio::test]
async fn pruned_namespaces_terminate_only_with_prune_namespaces() {
    if !support::require_controller_manager(
        "pruned_namespaces_terminate_only_with_prune_namespaces",
    ) {
        return;
    }
    let env = Env::new();
    let (keep, gone) = (support::unique("dl-keep"), support::unique("dl-gone"));
    write_namespace(&env.repo, &keep, 1);
    write_namespace(&env.repo, &gone, 1);
    env.repo.commit("two");
    assert_eq!(env.run("sync", &["--prune"]).code, 0);
    for rel in [
        format!("{gone}/namespace.yaml"),
        format!("{gone}/cm-0.yaml"),
    ] {
        env.repo.write(&rel, "# removed\n");
    }
    env.repo.commit("drop a namespace");
    let kept = env.run("sync", &["--prune", "--max-prune", "100%"]);
    assert_eq!(kept.code, 0);
    assert_contains!(
        kept.stdout,
        "Namespaces are pruned only with --prune-namespaces"
    );
    let namespaces = Api::<Namespace>::all(support::client().await);
    assert!(namespaces.get_opt(&gone).await.unwrap().is_some());

    assert_eq!(
        env.run(
            "sync",
            &["--prune", "--prune-namespaces", "--max-prune", "100%"]
        )
        .code,
        0
    );
    let terminated =
        support::eventually(|| async { namespaces.get_opt(&gone).await.unwrap().is_none() }).await;
    assert!(terminated, "the namespace finished terminating");
    assert!(namespaces.get_opt(&keep).await.unwrap().is_some());
    env.cleanup(&[&keep]).await;
}

#[tokio::test]
async fn a_namespace_with_a_failed_apply_is_not_pruned() {
    let (env, ns) = Env::synced("dl-nofail", 4).await;
    env.repo.write(&format!("{ns}/cm-3.yaml"), "# removed\n");
    env.repo.write(
        &format!("{ns}/bad.yaml"),
        &format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: bad\n  namespace: {ns}\nspec:\n  ports:\n  - port: 99999\n    protocol: TCP\n"),
    );
    env.repo.commit("drop cm-3, add an invalid Service");
    let run = env.run("sync", &["--prune"]);
    assert_eq!(run.code, 2);
    assert_contains!(
        run.stdout,
        format!("skipped          v1 ConfigMap {ns}/cm-3: not pruned: this namespace has failures")
    );
    assert_eq!(config_maps(&ns).await, ["cm-0", "cm-1", "cm-2", "cm-3"]);
    env.cleanup(&[&ns]).await;
}
