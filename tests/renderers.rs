//! Kustomizations and Helm charts as sources, with the pinned renderers (`support::renderers`):
//! sync, diff, prune, provenance; equal to the renderers run by hand; failures that apply
//! nothing; chart Secrets masked; unchanged inputs never rendered twice in one process.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::Api;
use serde_json::Value;

use crate::support::{self, Run, Workspace, diff, driftless, renderers, sync};

mod failures;

pub(crate) const PASSWORD: &str = "chart-pw-5e7a1c9d";

/// A namespace (plain file), a chart of four objects (one of them a Secret from the values,
/// one only while `extra` is on), and a kustomize base with two overlays.
pub(crate) fn workspace(ns: &str) -> Workspace {
    let mut ws = Workspace::new();
    ws.namespaces.push(ns.to_string());
    ws.write(
        "namespace.yaml",
        &format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n"),
    );
    ws.write(
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    );
    ws.write(
        "charts/web/values.yaml",
        &format!("greeting: hello\nextra: true\npassword: {PASSWORD}\n"),
    );
    ws.write(
        "charts/web/driftless-helm.yaml",
        &format!("releaseName: web\nnamespace: {ns}\n"),
    );
    let cm = |name: &str, data: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  {data}\n")
    };
    ws.write(
        "charts/web/templates/config.yaml",
        &cm(
            "{{ .Release.Name }}-config",
            "greeting: {{ .Values.greeting | quote }}",
        ),
    );
    ws.write(
        "charts/web/templates/other.yaml",
        &cm("{{ .Release.Name }}-other", "fixed: \"yes\""),
    );
    ws.write(
        "charts/web/templates/extra.yaml",
        &format!(
            "{{{{- if .Values.extra }}}}\n{}{{{{- end }}}}\n",
            cm("{{ .Release.Name }}-extra", "on: \"true\"")
        ),
    );
    ws.write(
        "charts/web/templates/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-credentials\nstringData:\n  password: {{ .Values.password | quote }}\n",
    );
    ws.write(
        "app/base/kustomization.yaml",
        "resources: [settings.yaml]\n",
    );
    ws.write("app/base/settings.yaml", &cm("settings", "level: base"));
    for overlay in ["dev", "prod"] {
        ws.write(
            &format!("app/overlays/{overlay}/kustomization.yaml"),
            &format!("namespace: {ns}\nnamePrefix: {overlay}-\nresources: [../../base]\n"),
        );
    }
    ws
}

pub(crate) fn source(ws: &Workspace) -> String {
    ws.path().to_string_lossy().into_owned()
}

async fn config_maps(ns: &str) -> BTreeSet<String> {
    let api: Api<ConfigMap> = Api::namespaced(support::client().await, ns);
    let list = api.list(&Default::default()).await.unwrap();
    list.items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .filter(|n| n != "kube-root-ca.crt")
        .collect()
}

pub(crate) async fn namespace_exists(ns: &str) -> bool {
    let api: Api<Namespace> = Api::all(support::client().await);
    api.get_opt(ns).await.unwrap().is_some()
}

fn changed(run: &Run) -> Vec<(String, String)> {
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let mut out = Vec::new();
    for ns in doc["namespaces"].as_array().unwrap() {
        for o in ns["objects"].as_array().unwrap() {
            if o["outcome"] != "unchanged" {
                let what = format!("{} {} {}", o["outcome"], o["kind"], o["name"]);
                out.push((what.replace('"', ""), o["source"].as_str().unwrap().into()));
            }
        }
    }
    out
}

#[tokio::test]
async fn an_overlay_and_a_chart_sync_diff_and_prune_with_their_provenance() {
    let ns = support::unique("dl-render");
    let ws = workspace(&ns);
    let first = sync(ws.path(), &["--prune"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let names = [
        "dev-settings",
        "prod-settings",
        "web-config",
        "web-extra",
        "web-other",
    ];
    assert_eq!(config_maps(&ns).await, names.map(String::from).into());
    assert_eq!(diff(ws.path(), &[]).code, 0, "in sync after the sync");

    ws.edit(
        "charts/web/values.yaml",
        "greeting: hello",
        "greeting: bonjour",
    );
    let preview = diff(ws.path(), &["-o", "json"]);
    assert_eq!(preview.code, 1, "{}", preview.stderr);
    assert_eq!(
        changed(&preview),
        [(
            "configured ConfigMap web-config".to_string(),
            "charts/web, template templates/config.yaml".to_string()
        )],
        "a values change touches exactly the objects that use the value"
    );
    let text = diff(ws.path(), &[]);
    assert_eq!(
        text.stdout.matches("+++ desired/").count(),
        1,
        "{}",
        text.stdout
    );
    assert_contains!(text.stdout, "+  greeting: bonjour");

    ws.edit("charts/web/values.yaml", "extra: true", "extra: false");
    let pruned = sync(ws.path(), &["--prune", "-o", "json"]);
    assert_eq!(pruned.code, 0, "{}", pruned.stderr);
    let mut outcomes = changed(&pruned);
    outcomes.sort();
    assert_eq!(
        outcomes
            .iter()
            .map(|(what, _)| what.as_str())
            .collect::<Vec<_>>(),
        [
            "configured ConfigMap web-config",
            "pruned ConfigMap web-extra"
        ]
    );
    let left = ["dev-settings", "prod-settings", "web-config", "web-other"];
    assert_eq!(config_maps(&ns).await, left.map(String::from).into());
    let overlay = driftless(&["render", "--source", &source(&ws), "-o", "json"]);
    let doc: Value = serde_json::from_str(&overlay.stdout).unwrap();
    let sources: BTreeSet<&str> = doc["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["source"].as_str().unwrap())
        .collect();
    assert_contains!(sources, "app/overlays/prod (kustomization)");
    assert_contains!(sources, "namespace.yaml:1");
    ws.cleanup().await;
}

/// Documents of a renderer's output as JSON values, each with `namespace` when it names none.
fn objects(yaml: &str, namespace: Option<&str>) -> BTreeSet<String> {
    let docs = driftless::render::yaml::parse_file(yaml, false).unwrap();
    docs.into_iter()
        .map(|d| {
            let mut v = d.value;
            if let Some(ns) = namespace
                && v["metadata"].get("namespace").is_none()
            {
                v["metadata"]["namespace"] = ns.into();
            }
            v.to_string()
        })
        .collect()
}

fn by_hand(dir: &Path, program: &Path, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    Run::from_output(out).succeeded(program.display())
}

#[test]
fn the_rendered_set_is_what_the_renderers_print_by_hand_from_a_folder_or_a_commit() {
    let ns = support::unique("dl-hand");
    let ws = workspace(&ns);
    let helm = by_hand(
        ws.path(),
        &renderers::helm(),
        &["template", "web", "charts/web", "--namespace", &ns],
    );
    let mut expected = objects(&helm, Some(&ns));
    for overlay in ["app/overlays/dev", "app/overlays/prod"] {
        expected.extend(objects(
            &by_hand(ws.path(), &renderers::kubectl(), &["kustomize", overlay]),
            None,
        ));
    }
    expected.extend(objects(
        &std::fs::read_to_string(ws.file("namespace.yaml")).unwrap(),
        None,
    ));
    // Unmasked, to compare: the renderers' own output, as JSON (the Secret's value included).
    let rendered = |source: &str| -> BTreeSet<String> {
        let run = driftless(&["render", "--source", source, "-o", "json"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let doc: Value = serde_json::from_str(&run.stdout).unwrap();
        doc["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["object"].to_string())
            .collect()
    };
    let masked = |set: &BTreeSet<String>| -> BTreeSet<String> {
        set.iter()
            .map(|o| o.replace(&format!("\"{PASSWORD}\""), "\"***\""))
            .collect()
    };
    let from_dir = rendered(&source(&ws));
    assert_eq!(from_dir, masked(&expected));
    assert_eq!(from_dir.len(), 7);

    // The same files in a Git commit: rendered from a copy of the commit's tree.
    let repo = support::git::TestRepo::local();
    for entry in walk(ws.path()) {
        let rel = entry
            .strip_prefix(ws.path())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        repo.write(&rel, &std::fs::read_to_string(&entry).unwrap());
    }
    repo.commit("charts and overlays");
    let cache = tempfile::tempdir().unwrap();
    let run = driftless(&[
        "render",
        "--source",
        &repo.file_url(),
        "--cache-dir",
        &cache.path().to_string_lossy(),
        "-o",
        "json",
    ]);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let from_git: BTreeSet<String> = doc["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["object"].to_string())
        .collect();
    assert_eq!(from_git, from_dir);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
