//! What a first-hour user found, on a real API server: no prune of another source's or another
//! set's objects without a word, and no exit 0 over an object that differs from Git.

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::api::{Api, PostParams};
use serde_json::{Value, json};

use crate::support::gitops::{config_map, namespace};
use crate::support::{self, Workspace, driftless};

/// `driftless CMD --source DIR --name SET ARGS...`.
fn run(cmd: &str, ws: &Workspace, set: &str, args: &[&str]) -> support::Run {
    let source = ws.path().to_string_lossy().into_owned();
    let mut all = vec![cmd, "--source", &source, "--name", set];
    all.extend_from_slice(args);
    driftless(&all)
}

fn json_of(run: &support::Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

async fn exists(ns: &str, name: &str) -> bool {
    Api::<ConfigMap>::namespaced(support::client().await, ns)
        .get_opt(name)
        .await
        .unwrap()
        .is_some()
}

/// The `driftless.dev/<key>` annotation of the set's inventory in `ns`.
async fn recorded(ns: &str, set: &str, key: &str) -> String {
    let parent = Api::<Secret>::namespaced(support::client().await, ns)
        .get(&format!("driftless-{set}"))
        .await
        .unwrap();
    parent.metadata.annotations.unwrap()[&format!("driftless.dev/{key}")].clone()
}

#[tokio::test]
async fn a_set_belongs_to_one_source_and_moves_only_on_purpose() {
    let set = support::unique("shared");
    let ns = support::unique("dl-two-sources");
    let (team_a, team_b) = (Workspace::new(), Workspace::new());
    team_a.write("ns.yaml", &namespace(&ns));
    team_a.write("a.yaml", &config_map(&ns, "a1", "v"));
    team_b.write("b.yaml", &config_map(&ns, "b1", "v"));
    assert_eq!(run("sync", &team_a, &set, &[]).code, 0);

    // Another source under the same name: refused before anything is written.
    for cmd in ["sync", "diff"] {
        let refused = run(cmd, &team_b, &set, &["--prune"]);
        assert_eq!(refused.code, 2, "{cmd}");
        let team_a_path = team_a.path().canonicalize().unwrap();
        for part in [
            format!(
                "sync set \"{set}\" belongs to source {}",
                team_a_path.display()
            ),
            "--name".to_string(),
            "--take-over-set".to_string(),
        ] {
            assert_contains!(refused.stderr, part);
        }
    }
    assert!(!exists(&ns, "b1").await, "nothing of team-b was applied");
    let team_a_id = team_a.path().canonicalize().unwrap();
    let team_a_id = team_a_id.to_string_lossy();
    assert_eq!(recorded(&ns, &set, "source").await, team_a_id);

    // team-a's own prune never sees team-b's objects: team-b made none.
    assert_eq!(run("sync", &team_a, &set, &["--prune"]).code, 0);

    // Moved on purpose: recorded, and what the new source does not hold is pruned.
    let moved = run(
        "sync",
        &team_b,
        &set,
        &["--take-over-set", "--prune", "--max-prune", "100%"],
    );
    assert_eq!(moved.code, 0, "{}", moved.stderr);
    assert!(exists(&ns, "b1").await && !exists(&ns, "a1").await);
    assert_eq!(recorded(&ns, &set, "taken-over-from").await, team_a_id);
    assert_eq!(run("sync", &team_a, &set, &["--prune"]).code, 2);
    support::delete_namespaces(&[ns]).await;
}

#[tokio::test]
async fn prune_namespaces_keeps_a_namespace_holding_what_is_not_this_sets() {
    let ns = support::unique("dl-nsprune");
    let (set_a, set_b) = (support::unique("ux-a"), support::unique("ux-b"));
    let (a, b) = (Workspace::new(), Workspace::new());
    a.write("ns.yaml", &namespace(&ns));
    a.write("a1.yaml", &config_map(&ns, "a1", "v"));
    let keep = config_map(&ns, "a-keep", "v").replace(
        "  namespace:",
        "  annotations: {driftless.dev/prune: disabled}\n  namespace:",
    );
    a.write("a-keep.yaml", &keep);
    b.write("b.yaml", &config_map(&ns, "b-keep", "v"));
    assert_eq!(run("sync", &a, &set_a, &[]).code, 0);
    assert_eq!(run("sync", &b, &set_b, &[]).code, 0);

    for rel in ["ns.yaml", "a1.yaml", "a-keep.yaml"] {
        a.write(rel, "# dropped\n");
    }
    let flags = [
        "--prune",
        "--prune-namespaces",
        "--allow-empty",
        "-o",
        "json",
    ];
    for cmd in ["diff", "sync"] {
        let out = run(cmd, &a, &set_a, &flags);
        let report = json_of(&out);
        let line = report["namespaces"][0]["objects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["kind"] == "Namespace")
            .cloned()
            .unwrap();
        assert_eq!(line["outcome"], "skipped", "{line}");
        assert_eq!(line["reason"], "NamespaceNotEmpty", "{line}");
        let why = line["message"].as_str().unwrap();
        assert_contains!(
            why,
            "ConfigMap a-keep (annotated driftless.dev/prune: disabled)"
        );
        assert_contains!(why, format!("ConfigMap b-keep (sync set \"{set_b}\")"));
    }
    assert!(exists(&ns, "b-keep").await && exists(&ns, "a-keep").await);
    assert!(!exists(&ns, "a1").await, "a's own prunable member goes");
    let namespaces = Api::<Namespace>::all(support::client().await);
    let live = namespaces.get(&ns).await.unwrap();
    assert!(
        live.metadata.deletion_timestamp.is_none(),
        "the Namespace stays"
    );

    // Once only what the set prunes anyway is left there, the Namespace goes.
    let cms = Api::<ConfigMap>::namespaced(support::client().await, &ns);
    for name in ["a-keep", "b-keep"] {
        cms.delete(name, &Default::default()).await.unwrap();
    }
    Api::<Secret>::namespaced(support::client().await, &ns)
        .delete(&format!("driftless-{set_b}"), &Default::default())
        .await
        .unwrap();
    let gone = run("sync", &a, &set_a, &flags);
    assert_eq!(gone.code, 0);
    let live = namespaces.get_opt(&ns).await.unwrap();
    assert!(live.is_none_or(|n| n.metadata.deletion_timestamp.is_some()));
}

#[tokio::test]
async fn a_dropped_object_is_orphaned_without_prune_and_a_diff_says_so() {
    let ns = support::unique("dl-orphan");
    let set = support::unique("orph");
    let ws = Workspace::new();
    ws.write("ns.yaml", &namespace(&ns));
    ws.write("keep.yaml", &config_map(&ns, "keep", "v"));
    ws.write("drop.yaml", &config_map(&ns, "drop", "v"));
    assert_eq!(run("sync", &ws, &set, &[]).code, 0);
    ws.write("drop.yaml", "# dropped\n");

    let diff = run("diff", &ws, &set, &[]);
    assert_eq!(diff.code, 1, "an orphan differs from Git");
    assert_contains!(diff.stdout, format!("--- live/v1/ConfigMap/{ns}/drop"));
    assert_contains!(
        diff.stderr,
        format!("orphaned         v1 ConfigMap {ns}/drop")
    );
    let sync = run("sync", &ws, &set, &[]);
    assert_eq!(sync.code, 0);
    assert_contains!(
        sync.stdout,
        "1 orphaned (prune is off: --prune deletes them)"
    );
    let report = json_of(&run("diff", &ws, &set, &["-o", "json"]));
    assert_eq!(report["counts"]["orphaned"], 1);
    assert_eq!(report["exitCode"], 1);
    assert!(
        exists(&ns, "drop").await,
        "nothing is deleted without --prune"
    );
    let pruned = run("sync", &ws, &set, &["--prune", "--max-prune", "1"]);
    assert_eq!(pruned.code, 0);
    assert!(!exists(&ns, "drop").await);
    assert_eq!(run("diff", &ws, &set, &[]).code, 0);
    support::delete_namespaces(&[ns]).await;
}

#[tokio::test]
async fn over_budget_names_what_is_at_risk_and_allow_empty_empties_a_set() {
    let ns = support::unique("dl-budget");
    let set = support::unique("budget");
    let ws = Workspace::new();
    ws.write("ns.yaml", &namespace(&ns));
    for i in 0..30 {
        ws.write(
            &format!("cm-{i}.yaml"),
            &config_map(&ns, &format!("cm-{i}"), "v"),
        );
    }
    assert_eq!(run("sync", &ws, &set, &[]).code, 0);
    for i in 0..25 {
        ws.write(&format!("cm-{i}.yaml"), "# dropped\n");
    }
    let diff = run("diff", &ws, &set, &["--prune"]);
    assert_eq!(diff.code, 2);
    assert_contains!(
        diff.stderr,
        "would prune 25 of its 31 objects in scope, over the budget --max-prune 25%"
    );
    assert_contains!(diff.stderr, format!("  - v1 ConfigMap {ns}/cm-0\n"));
    assert_contains!(diff.stderr, "  ... and 5 more", "capped, with a count");

    // An emptied source: --allow-empty alone empties the set on purpose.
    for i in 25..30 {
        ws.write(&format!("cm-{i}.yaml"), "# dropped\n");
    }
    ws.write("ns.yaml", "# dropped\n");
    let refused = run("sync", &ws, &set, &["--prune"]);
    assert_eq!(refused.code, 2);
    assert_contains!(refused.stderr, "--allow-empty empties the set on purpose");
    let emptied = run("sync", &ws, &set, &["--prune", "--allow-empty"]);
    assert_eq!(emptied.code, 0, "{}", emptied.stderr);
    assert!(!exists(&ns, "cm-29").await);
    support::delete_namespaces(&[ns]).await;
}

#[tokio::test]
async fn an_object_git_defines_that_differs_and_is_not_adopted_is_not_in_sync() {
    let ns = support::unique("dl-handmade");
    let set = support::unique("hm");
    let ws = Workspace::new();
    ws.write("ns.yaml", &namespace(&ns));
    assert_eq!(run("sync", &ws, &set, &[]).code, 0);
    let handmade: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "handmade", "namespace": ns},
        "data": {"a": "1"},
    }))
    .unwrap();
    Api::<ConfigMap>::namespaced(support::client().await, &ns)
        .create(&PostParams::default(), &handmade)
        .await
        .unwrap();
    let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: handmade-creds\n  namespace: NS\nstringData:\n  token: dlHandmadeCanary\n".replace("NS", &ns);
    let live_secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "handmade-creds", "namespace": ns},
        "stringData": {"token": "dlOldHandmadeCanary"},
    }))
    .unwrap();
    Api::<Secret>::namespaced(support::client().await, &ns)
        .create(&PostParams::default(), &live_secret)
        .await
        .unwrap();
    let manifest = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: handmade\n  namespace: {ns}\ndata:\n  a: \"2\"\n"
    );
    ws.write("handmade.yaml", &manifest);
    ws.write("secret.yaml", &secret);

    let diff = run("diff", &ws, &set, &[]);
    assert_eq!(diff.code, 1, "a difference, not adopted or not");
    assert_contains!(diff.stdout, "-  a: \"1\"\n+  a: \"2\"\n");
    assert_not_contains!(diff.all_output(), "HandmadeCanary", "masked as usual");
    assert_contains!(diff.stderr, "not in sync");
    let sync = run("sync", &ws, &set, &[]);
    assert_contains!(
        sync.stdout,
        "2 not in sync (not adopted: --adopt takes them over)"
    );
    let report = json_of(&run("diff", &ws, &set, &["-o", "json"]));
    assert_eq!(report["counts"]["notInSync"], 2);
    assert_eq!(report["exitCode"], 1);
    let json = report.to_string();
    assert_contains!(json, "\"reason\":\"NotAdopted\"");
    assert_not_contains!(json, "HandmadeCanary");
    let adopted = run("sync", &ws, &set, &["--adopt", "--force-conflicts"]);
    assert_eq!(adopted.code, 0);
    assert_eq!(run("diff", &ws, &set, &[]).code, 0);
    support::delete_namespaces(&[ns]).await;
}
