//! How a pass reads what the set holds, counted by the API server's own audit log: one LIST per
//! kind across the set's namespaces, whatever their number; a tenant that may not list across
//! namespaces reads each of its namespaces instead, with the same result.

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, PostParams};
use serde_json::json;

use crate::support::gitops::{config_map, namespace};
use crate::support::identity::Identity;
use crate::support::{self, Workspace, audit};

fn secret(ns: &str, name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {ns}\nstringData:\n  password: listing-s3cret\n"
    )
}

fn service_account(ns: &str, name: &str) -> String {
    format!("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n  namespace: {ns}\n")
}

/// Each namespace's file: two ConfigMaps (`extra` only while `extra`), a Secret and a
/// ServiceAccount.
fn write(ws: &Workspace, ns: &str, with_namespace: bool, extra: bool) {
    let mut docs = Vec::new();
    if with_namespace {
        docs.push(namespace(ns));
    }
    docs.push(config_map(ns, "app", "v1"));
    if extra {
        docs.push(config_map(ns, "extra", "v1"));
    }
    docs.push(secret(ns, "db"));
    docs.push(service_account(ns, "runner"));
    ws.write(&format!("{ns}.yaml"), &docs.join("---\n"));
}

fn lists(requests: &audit::Requests, resource: &str) -> usize {
    requests
        .resources
        .get(&format!("{resource}/list"))
        .copied()
        .unwrap_or(0)
}

/// driftless run with `--prune` on a workspace by a ServiceAccount of its own.
struct Runner {
    identity: Identity,
    src: String,
}

impl Runner {
    async fn new(ws: &Workspace, prefix: &str) -> Runner {
        Runner {
            identity: Identity::service_account(&support::unique(prefix)).await,
            src: ws.path().to_string_lossy().into_owned(),
        }
    }

    fn run(&self, cmd: &str) -> support::Run {
        let args = [cmd, "--source", &self.src, "--prune"];
        support::driftless_as(self.identity.path(), &args, &[])
    }

    /// A diff that must find nothing, and the requests it sent.
    async fn no_change_diff(&self, log: &std::path::Path) -> audit::Requests {
        let mark = audit::mark(log);
        let diff = self.run("diff");
        assert_eq!(diff.code, 0, "{}", diff.all_output());
        audit::requests_since(log, mark, &self.identity.username).await
    }
}

#[tokio::test]
async fn a_no_change_diff_lists_each_kind_once_across_five_namespaces_and_prunes_through_it() {
    let test = "a_no_change_diff_lists_each_kind_once_across_five_namespaces_and_prunes_through_it";
    let Some(log) = audit::log_path(test) else {
        return;
    };
    let ws = Workspace::new();
    let names: Vec<String> = (0..5).map(|_| support::unique("dl-lists")).collect();
    for ns in &names {
        write(&ws, ns, true, true);
    }
    let runner = Runner::new(&ws, "dl-lists-sa").await;
    let run = |cmd: &str| runner.run(cmd);
    run("sync").succeeded("the first sync");

    let requests = runner.no_change_diff(&log).await;
    // One LIST per kind across the five namespaces; Secrets twice: the parents, then the
    // members. No dry-run, no GET of an object.
    assert_eq!(lists(&requests, "configmaps"), 1, "{requests:#?}");
    assert_eq!(lists(&requests, "serviceaccounts"), 1, "{requests:#?}");
    assert_eq!(lists(&requests, "secrets"), 2, "{requests:#?}");
    assert_eq!(requests.verbs.get("dryrun-patch"), None, "{requests:#?}");
    let object_reads: usize = requests
        .resources
        .iter()
        .filter(|(k, _)| k.ends_with("/list") || k.ends_with("/get"))
        .filter(|(k, _)| !k.starts_with("-/") && !k.starts_with("leases/"))
        .map(|(_, n)| n)
        .sum();
    assert!(object_reads <= 6, "{requests:#?}");

    // Git drops `extra` in two namespaces: the LIST across namespaces finds exactly those.
    for ns in &names[..2] {
        write(&ws, ns, true, false);
    }
    let diff = run("diff");
    assert_eq!(diff.code, 1, "{}", diff.all_output());
    run("sync").succeeded("the prune");
    let client = support::client().await;
    for (i, ns) in names.iter().enumerate() {
        let maps = Api::<ConfigMap>::namespaced(client.clone(), ns);
        let extra = maps.get_opt("extra").await.unwrap();
        assert_eq!(extra.is_some(), i >= 2, "{ns}/extra after the prune");
        assert!(maps.get_opt("app").await.unwrap().is_some(), "{ns}/app");
    }
    assert_eq!(run("diff").code, 0);
    support::delete_namespaces(&names).await;
}

#[tokio::test]
async fn a_tenant_that_may_not_list_across_namespaces_reads_each_of_its_own() {
    let test = "a_tenant_that_may_not_list_across_namespaces_reads_each_of_its_own";
    let Some(log) = audit::log_path(test) else {
        return;
    };
    let names: Vec<String> = (0..3).map(|_| support::unique("dl-tenant-ls")).collect();
    let client = support::client().await;
    for ns in &names {
        let object: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &object)
            .await
            .unwrap();
    }
    // The first two hold the set; the third is its inventory namespace.
    let (a, b, inventory) = (&names[0], &names[1], &names[2]);
    let tenant = Identity::user_in_namespaces(&[a, b, inventory]).await;
    let ws = Workspace::new();
    for ns in [a, b] {
        write(&ws, ns, false, true);
    }
    let src = ws.path().to_string_lossy().into_owned();
    let run = |cmd: &str| {
        let args = [
            cmd,
            "--source",
            &src,
            "--prune",
            "--namespace",
            a,
            "--namespace",
            b,
            "--inventory-namespace",
            inventory,
            "--name",
            "tenant",
        ];
        support::driftless_as(tenant.path(), &args, &[])
    };
    run("sync").succeeded("the tenant's first sync");

    let mark = audit::mark(&log);
    let diff = run("diff");
    assert_eq!(diff.code, 0, "{}", diff.all_output());
    assert!(!diff.all_output().contains("403"), "{}", diff.all_output());
    let requests = audit::requests_since(&log, mark, &tenant.username).await;
    // Per kind: one LIST across namespaces, refused, then one per namespace. Secrets: the
    // three parents, one by one, then the members like any kind.
    assert_eq!(lists(&requests, "configmaps"), 3, "{requests:#?}");
    assert_eq!(lists(&requests, "serviceaccounts"), 3, "{requests:#?}");
    assert_eq!(lists(&requests, "secrets"), 6, "{requests:#?}");
    // The three refused LISTs, and the LIST of Namespaces (a tenant may not read them).
    assert_eq!(requests.codes.get(&403).copied(), Some(4), "{requests:#?}");
    assert_eq!(requests.verbs.get("dryrun-patch"), None, "{requests:#?}");

    // Pruning reads the same way.
    write(&ws, b, false, false);
    run("sync").succeeded("the tenant's prune");
    let maps = Api::<ConfigMap>::namespaced(client.clone(), b);
    assert!(maps.get_opt("extra").await.unwrap().is_none());
    let kept = Api::<ConfigMap>::namespaced(client.clone(), a);
    assert!(kept.get_opt("extra").await.unwrap().is_some());
    support::delete_namespaces(&names).await;
}

/// More members of a kind than one LIST page holds (250): read page by page, and a prune
/// decided on the second page removes exactly what Git dropped.
#[tokio::test]
async fn a_kind_larger_than_a_page_is_read_page_by_page_and_pruned_exactly() {
    let test = "a_kind_larger_than_a_page_is_read_page_by_page_and_pruned_exactly";
    let Some(log) = audit::log_path(test) else {
        return;
    };
    let ws = Workspace::new();
    let names: Vec<String> = (0..2).map(|_| support::unique("dl-pages")).collect();
    let write_maps = |ns: &str, count: usize| {
        let mut docs = vec![namespace(ns)];
        docs.extend((0..count).map(|i| config_map(ns, &format!("map-{i:03}"), "v1")));
        ws.write(&format!("{ns}.yaml"), &docs.join("---\n"));
    };
    for ns in &names {
        write_maps(ns, 160);
    }
    let runner = Runner::new(&ws, "dl-pages-sa").await;
    let run = |cmd: &str| runner.run(cmd);
    run("sync").succeeded("the first sync");

    let requests = runner.no_change_diff(&log).await;
    // 320 ConfigMaps across both namespaces: two pages of one LIST.
    assert_eq!(lists(&requests, "configmaps"), 2, "{requests:#?}");
    assert_eq!(requests.verbs.get("dryrun-patch"), None, "{requests:#?}");

    // The last namespace's last ten sit on the second page.
    let (kept, dropped) = (&names[0], &names[1]);
    write_maps(dropped, 150);
    let diff = run("diff");
    assert_eq!(diff.code, 1, "{}", diff.all_output());
    run("sync").succeeded("the prune");
    let client = support::client().await;
    let count = |ns: &str| {
        let maps = Api::<ConfigMap>::namespaced(client.clone(), ns);
        async move {
            let list = maps.list(&Default::default()).await.unwrap();
            list.items
                .iter()
                .filter(|m| {
                    m.metadata
                        .name
                        .as_deref()
                        .is_some_and(|n| n.starts_with("map-"))
                })
                .count()
        }
    };
    assert_eq!(count(kept).await, 160);
    assert_eq!(count(dropped).await, 150);
    let maps = Api::<ConfigMap>::namespaced(client.clone(), dropped);
    assert!(maps.get_opt("map-149").await.unwrap().is_some());
    assert!(maps.get_opt("map-150").await.unwrap().is_none());
    assert_eq!(run("diff").code, 0);
    support::delete_namespaces(&names).await;
}
