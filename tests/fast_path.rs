//! The fast path (a plan that skips the dry-run of objects its ledger proves unchanged) must
//! never say "unchanged" where the full dry-run path finds a change. A property test against the
//! real API server: random changes of every kind drift can take are made to a synced set, and
//! `diff` with and without `--verify` must agree on every object.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, ServiceAccount};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};

use crate::support::gitops::{config_map, namespace};
use crate::support::identity::Identity;
use crate::support::{self, Workspace, audit};

const PER_KIND: usize = 3;

fn secret(ns: &str, name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {ns}\nstringData:\n  password: \"{value}\"\n"
    )
}

fn deployment(ns: &str, name: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n      - name: app\n        image: registry.example.com/app:1.0.0\n"
    )
}

fn service_account(ns: &str, name: &str) -> String {
    format!("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n  namespace: {ns}\n")
}

fn write_corpus(ws: &Workspace, ns: &str) {
    ws.write("ns.yaml", &namespace(ns));
    for i in 0..PER_KIND {
        ws.write(
            &format!("cm-{i}.yaml"),
            &config_map(ns, &format!("cm-{i}"), "v"),
        );
        ws.write(
            &format!("secret-{i}.yaml"),
            &secret(ns, &format!("secret-{i}"), "s1"),
        );
        ws.write(
            &format!("deploy-{i}.yaml"),
            &deployment(ns, &format!("deploy-{i}")),
        );
        ws.write(
            &format!("sa-{i}.yaml"),
            &service_account(ns, &format!("sa-{i}")),
        );
    }
}

/// One way an object can drift, or its source change.
#[derive(Debug, Clone, Copy)]
enum Variant {
    KubectlEdit,
    ScaleSubresource,
    LabelByAnotherManager,
    DesiredChange,
    Deleted,
    StatusOnly,
    SecretValueEdit,
    NoOpVersionBump,
}

const VARIANTS: [Variant; 8] = [
    Variant::KubectlEdit,
    Variant::ScaleSubresource,
    Variant::LabelByAnotherManager,
    Variant::DesiredChange,
    Variant::Deleted,
    Variant::StatusOnly,
    Variant::SecretValueEdit,
    Variant::NoOpVersionBump,
];

fn manager(name: &str) -> PatchParams {
    PatchParams {
        field_manager: Some(name.into()),
        ..Default::default()
    }
}

/// Makes `variant` happen to object number `i` of the kind it applies to.
async fn make(variant: Variant, ns: &str, i: usize, ws: &Workspace, round: usize) {
    let c = support::client().await;
    let cms = Api::<ConfigMap>::namespaced(c.clone(), ns);
    let deploys = Api::<Deployment>::namespaced(c.clone(), ns);
    let cm = format!("cm-{i}");
    match variant {
        Variant::KubectlEdit => {
            let edit = Patch::Merge(json!({"data": {"value": format!("edited-{round}")}}));
            cms.patch(&cm, &manager("kubectl-edit"), &edit)
                .await
                .unwrap();
        }
        Variant::ScaleSubresource => {
            let scale = Patch::Merge(json!({"spec": {"replicas": 3 + round}}));
            deploys
                .patch_scale(&format!("deploy-{i}"), &PatchParams::default(), &scale)
                .await
                .unwrap();
        }
        Variant::LabelByAnotherManager => {
            let label = json!({"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": cm, "namespace": ns, "labels": {"team": format!("r{round}")}}});
            let params = PatchParams::apply("other-controller");
            cms.patch(&cm, &params, &Patch::Apply(&label))
                .await
                .unwrap();
        }
        Variant::DesiredChange => {
            ws.write(
                &format!("cm-{i}.yaml"),
                &config_map(ns, &cm, &format!("new-{round}")),
            );
        }
        Variant::Deleted => {
            Api::<ServiceAccount>::namespaced(c, ns)
                .delete(&format!("sa-{i}"), &DeleteParams::default())
                .await
                .unwrap();
        }
        Variant::StatusOnly => {
            let status = Patch::Merge(json!({"status": {"observedGeneration": 1, "replicas": 7}}));
            let _ = deploys
                .patch_status(&format!("deploy-{i}"), &manager("status-writer"), &status)
                .await;
        }
        Variant::SecretValueEdit => {
            use base64::Engine as _;
            let value = base64::engine::general_purpose::STANDARD.encode(format!("s-{round}"));
            let edit = Patch::Merge(json!({"data": {"password": value}}));
            Api::<Secret>::namespaced(c, ns)
                .patch(&format!("secret-{i}"), &manager("kubectl-edit"), &edit)
                .await
                .unwrap();
        }
        Variant::NoOpVersionBump => {
            let add = Patch::Merge(json!({"metadata": {"annotations": {"touched": "yes"}}}));
            let remove = Patch::Merge(json!({"metadata": {"annotations": {"touched": null}}}));
            cms.patch(&cm, &manager("toucher"), &add).await.unwrap();
            cms.patch(&cm, &manager("toucher"), &remove).await.unwrap();
        }
    }
}

/// Each object's outcome and diff, from a JSON report.
fn outcomes(stdout: &str) -> Vec<(String, String, String)> {
    let report: Value = serde_json::from_str(stdout).unwrap();
    let mut out = Vec::new();
    for ns in report["namespaces"].as_array().unwrap() {
        for o in ns["objects"].as_array().unwrap() {
            out.push((
                format!("{} {}/{}", o["kind"], o["namespace"], o["name"]),
                o["outcome"].as_str().unwrap_or_default().to_string(),
                o["diff"].as_str().unwrap_or_default().to_string(),
            ));
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn the_fast_path_never_says_unchanged_where_the_dry_run_finds_a_change() {
    let Some(log) =
        audit::log_path("the_fast_path_never_says_unchanged_where_the_dry_run_finds_a_change")
    else {
        return;
    };
    let ws = Workspace::new();
    let ns = support::unique("dl-fast");
    write_corpus(&ws, &ns);
    let identity = Identity::service_account(&support::unique("dl-fast-sa")).await;
    let src = ws.path().to_string_lossy().into_owned();
    let run = |cmd: &'static str, extra: &[&str]| {
        let mut args = vec![cmd, "--source", src.as_str(), "--prune", "-o", "json"];
        args.extend_from_slice(extra);
        support::driftless_as(identity.path(), &args, &[])
    };
    assert_eq!(run("sync", &[]).code, 0);

    // Unchanged: the fast path dry-runs nothing at all.
    let mark = audit::mark(&log);
    let quiet = run("diff", &[]);
    assert_eq!(quiet.code, 0, "{}", quiet.stderr);
    let requests = audit::requests_since(&log, mark, &identity.username).await;
    assert_eq!(
        requests.verbs.get("dryrun-patch"),
        None,
        "no dry-run: {requests:?}"
    );

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as usize;
    eprintln!("variant seed: {seed}");
    for round in 0..3 {
        // Every variant, each on a random object of its kind (several may hit one object).
        let picks: Vec<(Variant, usize)> = VARIANTS
            .iter()
            .enumerate()
            .map(|(k, v)| {
                let n = seed
                    .wrapping_mul(2654435761)
                    .wrapping_add(round * 97 + k * 31);
                (*v, (n >> 7) % PER_KIND)
            })
            .collect();
        eprintln!("round {round}: {picks:?}");
        for (variant, i) in &picks {
            make(*variant, &ns, *i, &ws, round).await;
        }
        let mark = audit::mark(&log);
        let fast = run("diff", &[]);
        let fast_requests = audit::requests_since(&log, mark, &identity.username).await;
        let full = run("diff", &["--verify"]);
        assert_eq!(fast.code, full.code, "round {round}: {picks:?}");
        assert_eq!(
            outcomes(&fast.stdout),
            outcomes(&full.stdout),
            "round {round}: the two paths agree on every object ({picks:?})"
        );
        let dry_runs = fast_requests
            .verbs
            .get("dryrun-patch")
            .copied()
            .unwrap_or(0);
        let objects = outcomes(&full.stdout).len();
        assert!(
            dry_runs < objects,
            "the fast path skipped proven objects: {dry_runs} dry-runs for {objects} objects"
        );
        // Converge before the next round.
        assert_eq!(run("sync", &[]).code, 0);
        assert_eq!(run("diff", &[]).code, 0, "converged after round {round}");
    }
    support::delete_namespaces(&[ns]).await;
}
