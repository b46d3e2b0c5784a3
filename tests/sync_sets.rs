//! Sync sets: each source owns its objects by name. Two sets share a cluster and a namespace
//! without ever pruning, counting, listing or changing each other's objects; one set has one
//! writer at a time; a sync that changes nothing writes nothing.

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::ClusterRole;
use kube::api::{Api, PostParams};
use serde_json::json;

use crate::support::gitops::{Env, config_map, config_maps, namespace, write_namespace};
use crate::support::identity::Identity;
use crate::support::{self, Run, audit};

fn service_account(ns: &str, name: &str) -> String {
    format!("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n  namespace: {ns}\n")
}

/// `n` ConfigMaps named `{prefix}-0..` in `ns`, one file each under `dir`.
fn write_config_maps(env: &Env, dir: &str, ns: &str, prefix: &str, n: usize) {
    for i in 0..n {
        let name = format!("{prefix}-{i}");
        env.repo
            .write(&format!("{dir}/{name}.yaml"), &config_map(ns, &name, "v"));
    }
}

fn cluster_role(name: &str) -> String {
    format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {name}\nrules:\n- apiGroups: [\"\"]\n  resources: [configmaps]\n  verbs: [get]\n"
    )
}

fn drop_file(env: &Env, rel: &str) {
    env.repo.write(rel, "# removed\n");
}

async fn cm_value(ns: &str, name: &str) -> Option<String> {
    Api::<ConfigMap>::namespaced(support::client().await, ns)
        .get_opt(name)
        .await
        .unwrap()
        .and_then(|c| c.data)
        .map(|d| d["value"].clone())
}

#[tokio::test]
async fn two_sets_share_a_namespace_and_prune_only_their_own() {
    let (a, b) = (Env::new(), Env::new());
    let shared = support::unique("dl-shared");
    let (own_a, own_b) = (support::unique("dl-own-a"), support::unique("dl-own-b"));
    b.repo.write("shared-ns.yaml", &namespace(&shared));
    write_config_maps(&b, "b", &shared, "b", 3);
    write_namespace(&b.repo, &own_b, 2);
    b.repo.write("role.yaml", &cluster_role(&own_b));
    b.repo.commit("b");
    assert_eq!(b.run("sync", &["--prune"]).code, 0);
    write_config_maps(&a, "a", &shared, "a", 3);
    write_namespace(&a.repo, &own_a, 2);
    a.repo.write("role.yaml", &cluster_role(&own_a));
    a.repo.commit("a");
    // Without --prune: what a sync records before applying must already list every kind.
    assert_eq!(a.run("sync", &[]).code, 0);

    // a drops one of its ConfigMaps in the shared namespace, its ClusterRole, and its own
    // namespace entirely.
    drop_file(&a, "a/a-2.yaml");
    drop_file(&a, "role.yaml");
    for rel in ["namespace.yaml", "cm-0.yaml", "cm-1.yaml"] {
        drop_file(&a, &format!("{own_a}/{rel}"));
    }
    a.repo.commit("a shrinks");
    let preview = a.run(
        "diff",
        &["--prune", "--prune-namespaces", "--max-prune", "100%"],
    );
    assert_eq!(preview.code, 1);
    let pruned = a.run(
        "sync",
        &["--prune", "--prune-namespaces", "--max-prune", "100%"],
    );
    assert_eq!(pruned.code, 0);
    for run in [&preview, &pruned] {
        let out = run.all_output();
        for gone in [
            format!("ConfigMap {shared}/a-2"),
            format!("ConfigMap {own_a}/cm-0"),
            format!("Namespace {own_a}"),
            format!("ClusterRole {own_a}"),
        ] {
            assert_contains!(out, gone, "{gone} is pruned");
        }
        assert_not_contains!(
            out,
            ["/b-", own_b],
            "b's objects never appear in a's report"
        );
    }
    assert_eq!(cm_value(&shared, "a-2").await, None);
    assert_eq!(cm_value(&shared, "a-0").await.as_deref(), Some("v"));
    for i in 0..3 {
        assert_eq!(
            cm_value(&shared, &format!("b-{i}")).await.as_deref(),
            Some("v")
        );
    }
    assert_eq!(config_maps(&own_b).await, ["cm-0", "cm-1"]);
    let roles = Api::<ClusterRole>::all(support::client().await);
    assert!(roles.get_opt(&own_a).await.unwrap().is_none());
    assert!(roles.get_opt(&own_b).await.unwrap().is_some());
    let namespaces = Api::<Namespace>::all(support::client().await);
    let terminating =
        |ns: Option<Namespace>| ns.is_none_or(|n| n.metadata.deletion_timestamp.is_some());
    assert!(terminating(namespaces.get_opt(&own_a).await.unwrap()));
    assert!(!terminating(namespaces.get_opt(&own_b).await.unwrap()));
    assert!(!terminating(namespaces.get_opt(&shared).await.unwrap()));

    // Each set has its own parent in the shared namespace.
    let secrets = Api::<Secret>::namespaced(support::client().await, &shared);
    for env in [&a, &b] {
        let parent = secrets
            .get(&format!("driftless-{}", env.set))
            .await
            .unwrap();
        assert_eq!(
            parent.metadata.labels.unwrap()["driftless.dev/sync-set"],
            env.set
        );
    }
    let _ = roles.delete(&own_b, &Default::default()).await;
    a.cleanup(&[&shared, &own_a]).await;
    b.cleanup(&[&own_b]).await;
}

#[tokio::test]
async fn an_object_another_set_owns_is_a_conflict_even_with_adopt() {
    let (a, b) = (Env::new(), Env::new());
    let ns = support::unique("dl-owned");
    write_namespace(&b.repo, &ns, 2);
    b.repo.commit("b");
    assert_eq!(b.run("sync", &["--prune"]).code, 0);
    a.repo.write("mine.yaml", &config_map(&ns, "mine", "a"));
    a.repo
        .write("theirs.yaml", &config_map(&ns, "cm-1", "a's value"));
    a.repo.commit("a claims b's cm-1");
    for extra in [
        &[][..],
        &["--adopt"][..],
        &["--adopt", "--force-conflicts"][..],
    ] {
        let run = a.run("sync", extra);
        assert_eq!(run.code, 2, "{extra:?}");
        assert_contains!(
            run.stdout,
            [
                format!("[conflict: owned by sync set \"{}\"]", b.set),
                format!("ConfigMap {ns}/cm-1")
            ]
        );
        assert_eq!(
            cm_value(&ns, "cm-1").await.as_deref(),
            Some("v"),
            "unchanged"
        );
    }
    let preview = a.run("diff", &[]);
    assert_eq!(preview.code, 2);
    assert_contains!(preview.stderr, format!("owned by sync set \"{}\"", b.set));
    let json = a.run("diff", &["--output", "json"]);
    assert_eq!(
        json.reason_of("ConfigMap", &ns, "cm-1").as_deref(),
        Some("OwnedByOtherSet"),
        "{}",
        json.stdout
    );
    a.cleanup(&[&ns]).await;
    b.cleanup(&[]).await;
}

#[tokio::test]
async fn the_prune_budget_counts_only_the_sets_own_members() {
    let (a, b) = (Env::new(), Env::new());
    let ns = support::unique("dl-budget");
    b.repo.write("ns.yaml", &namespace(&ns));
    write_config_maps(&b, "b", &ns, "b", 30);
    b.repo.commit("b holds many");
    assert_eq!(b.run("sync", &[]).code, 0);
    write_config_maps(&a, "a", &ns, "a", 7);
    a.repo.commit("a holds seven");
    assert_eq!(a.run("sync", &["--prune"]).code, 0);
    for i in 0..5 {
        drop_file(&a, &format!("a/a-{i}.yaml"));
    }
    a.repo.commit("a drops five");
    let refused = a.run("sync", &["--prune"]);
    assert_eq!(refused.code, 2);
    assert_contains!(
        refused.stderr,
        ["would prune 5 of its 7 objects", "--max-prune 25%"]
    );
    assert_eq!(cm_value(&ns, "a-0").await.as_deref(), Some("v"));
    a.cleanup(&[&ns]).await;
    b.cleanup(&[]).await;
}

#[tokio::test]
async fn a_namespace_that_left_the_source_is_still_the_sets() {
    let env = Env::new();
    let (kept, left) = (support::unique("dl-kept"), support::unique("dl-left"));
    write_namespace(&env.repo, &kept, 10);
    write_namespace(&env.repo, &left, 2);
    env.repo.commit("two namespaces");
    assert_eq!(env.run("sync", &["--prune"]).code, 0);
    for rel in ["namespace.yaml", "cm-0.yaml", "cm-1.yaml"] {
        drop_file(&env, &format!("{left}/{rel}"));
    }
    env.repo.commit("every file of one namespace gone");
    let preview = env.run("diff", &["--prune"]);
    assert_eq!(preview.code, 1, "{}", preview.stderr);
    for name in ["cm-0", "cm-1"] {
        assert_contains!(
            preview.stderr,
            format!("would prune      v1 ConfigMap {left}/{name}")
        );
    }
    // 2 ConfigMaps of 14 members (12 ConfigMaps, 2 Namespaces): within 25%.
    let synced = env.run("sync", &["--prune"]);
    assert_eq!(synced.code, 0);
    assert!(config_maps(&left).await.is_empty());
    assert_eq!(config_maps(&kept).await.len(), 10);

    // An emptied source scoped to one namespace is refused, naming what it would delete.
    for i in 0..10 {
        drop_file(&env, &format!("{kept}/cm-{i}.yaml"));
    }
    drop_file(&env, &format!("{kept}/namespace.yaml"));
    env.repo.commit("empty");
    let refused = env.run(
        "sync",
        &["--prune", "--namespace", &kept, "--max-prune", "100%"],
    );
    assert_eq!(refused.code, 2);
    assert_contains!(
        refused.stderr,
        [
            "the source holds no objects in scope",
            format!("v1 ConfigMap {kept}/cm-0"),
            "--allow-empty"
        ]
    );
    assert_eq!(config_maps(&kept).await.len(), 10);
    env.cleanup(&[&kept, &left]).await;
}

/// The leak this issue was filed for: a parent that cannot be read must never be rewritten.
#[tokio::test]
async fn an_unreadable_inventory_stops_the_sync_before_it_writes() {
    let env = Env::new();
    let ns = support::unique("dl-unread");
    env.repo.write("ns.yaml", &namespace(&ns));
    env.repo.write("cm.yaml", &config_map(&ns, "cm-0", "v"));
    env.repo.write("sa-0.yaml", &service_account(&ns, "sa-0"));
    env.repo.write("sa-1.yaml", &service_account(&ns, "sa-1"));
    env.repo.commit("a ConfigMap and two ServiceAccounts");
    assert_eq!(env.run("sync", &["--prune"]).code, 0);
    let secrets = Api::<Secret>::namespaced(support::client().await, &ns);
    let parent_name = format!("driftless-{}", env.set);
    let before = secrets.get(&parent_name).await.unwrap();

    // May write Secrets, but not read them.
    let limited = Identity::user_with_rules(json!([
        {"apiGroups": ["*"], "resources": ["configmaps", "serviceaccounts", "namespaces", "leases"], "verbs": ["*"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create", "update", "patch", "delete"]}
    ]))
    .await;
    drop_file(&env, "sa-0.yaml");
    drop_file(&env, "sa-1.yaml");
    env.repo
        .write("cm.yaml", &config_map(&ns, "cm-0", "changed"));
    env.repo
        .commit("drop the ServiceAccounts, change the ConfigMap");
    for scope in [&[][..], &["--namespace", ns.as_str()][..]] {
        let run = env.run_as(limited.path(), "sync", scope);
        assert_eq!(run.code, 2, "{scope:?}");
        assert_contains!(
            run.stderr,
            ["cannot read its inventories", "nothing was written"]
        );
    }
    let after = secrets.get(&parent_name).await.unwrap();
    assert_eq!(
        after.metadata.resource_version, before.metadata.resource_version,
        "the parent is unchanged"
    );
    assert_eq!(
        cm_value(&ns, "cm-0").await.as_deref(),
        Some("v"),
        "nothing applied"
    );

    let pruned = env.run("sync", &["--prune", "--max-prune", "100%"]);
    assert_eq!(pruned.code, 0);
    let accounts = Api::<ServiceAccount>::namespaced(support::client().await, &ns);
    for sa in ["sa-0", "sa-1"] {
        assert_contains!(
            pruned.stdout,
            format!("pruned           v1 ServiceAccount {ns}/{sa}")
        );
        assert!(accounts.get_opt(sa).await.unwrap().is_none());
    }
    env.cleanup(&[&ns]).await;
}

#[tokio::test]
async fn one_writer_at_a_time_and_a_held_lease_names_its_holder() {
    let env = Env::new();
    let ns = support::unique("dl-lock");
    write_namespace(&env.repo, &ns, 8);
    env.repo.commit("eight");
    assert_eq!(env.run("sync", &["--prune"]).code, 0);

    // Someone else holds the set's Lease.
    let leases = Api::<Lease>::namespaced(support::client().await, &env.inventory_ns);
    let lease_name = format!("driftless-{}", env.set);
    let mut lease = leases.get(&lease_name).await.unwrap();
    assert_eq!(
        lease.spec.as_ref().unwrap().holder_identity,
        None,
        "released"
    );
    lease.spec.as_mut().unwrap().holder_identity = Some("ci-job-42".into());
    lease.spec.as_mut().unwrap().lease_duration_seconds = Some(3600);
    let lease = leases
        .replace(&lease_name, &PostParams::default(), &lease)
        .await
        .unwrap();

    for i in [0, 1] {
        drop_file(&env, &format!("{ns}/cm-{i}.yaml"));
    }
    env.repo.write(
        &format!("{ns}/extra-0.yaml"),
        &config_map(&ns, "extra-0", "v"),
    );
    env.repo.write(
        &format!("{ns}/extra-1.yaml"),
        &config_map(&ns, "extra-1", "v"),
    );
    env.repo.commit("two out, two in");
    let timed_out = env.run(
        "sync",
        &["--prune", "--max-prune", "100%", "--lock-timeout", "2"],
    );
    assert_eq!(timed_out.code, 2);
    assert_contains!(timed_out.stderr, ["locked by ci-job-42", "--lock-timeout"]);
    assert_eq!(
        config_maps(&ns).await.len(),
        8,
        "nothing written while locked"
    );
    assert!(
        env.run("diff", &["--prune"]).code == 1,
        "a preview takes no lock"
    );

    // Two runs start while the Lease is held: both wait; once it is free, one writes and the
    // other plans again and finds nothing left to do.
    let spawn = || {
        let url = env.repo.file_url();
        let cache = env.cache.path().to_string_lossy().into_owned();
        std::process::Command::new(env!("CARGO_BIN_EXE_driftless"))
            .args([
                "sync",
                "--source",
                &url,
                "--cache-dir",
                &cache,
                "--name",
                &env.set,
            ])
            .args([
                "--inventory-namespace",
                &env.inventory_ns,
                "--prune",
                "--max-prune",
                "100%",
            ])
            .arg("--kubeconfig")
            .arg(&support::cluster().kubeconfig)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (spawn(), spawn());
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(config_maps(&ns).await.len(), 8, "both wait for the Lease");
    let mut free = lease.clone();
    free.spec.as_mut().unwrap().holder_identity = None;
    leases
        .replace(&lease_name, &PostParams::default(), &free)
        .await
        .unwrap();
    let outputs: Vec<String> = [first, second]
        .into_iter()
        .map(|child| {
            Run::from_output(child.wait_with_output().unwrap()).succeeded("driftless sync")
        })
        .collect();
    let count = |what: &str| {
        outputs
            .iter()
            .map(|o| o.matches(what).count())
            .sum::<usize>()
    };
    assert_eq!(
        count("\n  pruned "),
        2,
        "each prune reported once: {outputs:?}"
    );
    assert_eq!(
        count("\n  created "),
        2,
        "each create reported once: {outputs:?}"
    );
    assert_eq!(
        config_maps(&ns).await,
        [
            "cm-2", "cm-3", "cm-4", "cm-5", "cm-6", "cm-7", "extra-0", "extra-1"
        ]
    );
    // The inventory is complete: every member is found by the next pruning sync.
    drop_file(&env, &format!("{ns}/extra-0.yaml"));
    env.repo.commit("drop extra-0");
    let next = env.run("sync", &["--prune", "--max-prune", "100%"]);
    assert_contains!(
        next.stdout,
        format!("pruned           v1 ConfigMap {ns}/extra-0")
    );
    env.cleanup(&[&ns]).await;
}

#[tokio::test]
async fn a_second_sync_of_an_unchanged_source_writes_nothing() {
    let Some(log) = audit::log_path("a_second_sync_of_an_unchanged_source_writes_nothing") else {
        return;
    };
    let env = Env::new();
    let ns = support::unique("dl-noop");
    write_namespace(&env.repo, &ns, 5);
    env.repo
        .write(&format!("{ns}/sa.yaml"), &service_account(&ns, "app"));
    env.repo.commit("five ConfigMaps and a ServiceAccount");
    let identity = Identity::service_account(&env.inventory_ns).await;
    let from = audit::mark(&log);
    assert_eq!(env.run_as(identity.path(), "sync", &["--prune"]).code, 0);
    let first = audit::requests_since(&log, from, &identity.username).await;
    eprintln!("first sync: {first:?}");
    assert!(first.writes() >= 7, "the first sync writes: {first:?}");

    for _ in 0..2 {
        let from = audit::mark(&log);
        let again = env.run_as(identity.path(), "sync", &["--prune"]);
        assert_eq!(again.code, 0);
        let requests = audit::requests_since(&log, from, &identity.username).await;
        eprintln!("no-op sync: {requests:?}");
        assert_eq!(requests.writes(), 0, "no write at all: {requests:?}");
        assert!(
            requests.total() > 0,
            "the log sees this identity: {requests:?}"
        );
    }
    env.cleanup(&[&ns]).await;
}

/// Inventories written before sync sets had names belong to the set `default`, which takes
/// them over and retires the old parent.
#[tokio::test]
async fn the_default_set_takes_over_inventories_from_before_sync_sets() {
    // Scoped to its own namespace (and inventory namespace): other tests' `default` sets are
    // never read.
    let env = Env::with_set("default");
    let ns = support::unique("dl-legacy");
    let c = support::client().await;
    let namespace_obj: Namespace =
        serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
    Api::<Namespace>::all(c.clone())
        .create(&PostParams::default(), &namespace_obj)
        .await
        .unwrap();
    // What an earlier driftless left: a parent and two members applied by its field manager.
    let legacy_id = {
        use base64::Engine as _;
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(format!("driftless-inventory.{ns}.Secret.").as_bytes());
        format!(
            "applyset-{}-v1",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
        )
    };
    let apply = kube::api::PatchParams::apply("driftless").force();
    let secrets = Api::<Secret>::namespaced(c.clone(), &ns);
    let parent = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {
        "name": "driftless-inventory", "namespace": ns,
        "labels": {"applyset.kubernetes.io/id": legacy_id},
        "annotations": {"applyset.kubernetes.io/tooling": "driftless/0.1.0",
                        "applyset.kubernetes.io/contains-group-kinds": "ConfigMap"}}});
    secrets
        .patch(
            "driftless-inventory",
            &apply,
            &kube::api::Patch::Apply(&parent),
        )
        .await
        .unwrap();
    let cms = Api::<ConfigMap>::namespaced(c.clone(), &ns);
    for name in ["cm-0", "cm-1"] {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": name, "namespace": ns,
            "labels": {"applyset.kubernetes.io/part-of": legacy_id}}, "data": {"value": "v"}});
        cms.patch(name, &apply, &kube::api::Patch::Apply(&cm))
            .await
            .unwrap();
    }

    env.repo.write("cm-0.yaml", &config_map(&ns, "cm-0", "v"));
    env.repo.commit("keep cm-0 only");
    let args = ["--namespace", &ns, "--prune", "--max-prune", "100%"];
    let preview = env.run("diff", &args);
    assert_eq!(preview.code, 1);
    assert_contains!(
        preview.stderr,
        format!("would prune      v1 ConfigMap {ns}/cm-1")
    );
    assert_eq!(env.run("sync", &args).code, 0);
    assert_eq!(config_maps(&ns).await, ["cm-0"]);
    let cm0 = cms.get("cm-0").await.unwrap();
    assert_eq!(
        cm0.metadata.labels.unwrap()["driftless.dev/sync-set"],
        "default"
    );
    assert!(
        secrets
            .get_opt("driftless-inventory")
            .await
            .unwrap()
            .is_none(),
        "retired"
    );
    assert!(
        secrets
            .get_opt("driftless-default")
            .await
            .unwrap()
            .is_some()
    );
    env.cleanup(&[&ns]).await;
}
