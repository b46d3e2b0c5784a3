//! Chart dependencies, as argocd-example-apps' `helm-dependency` has them: a chart in the source
//! whose `Chart.yaml` names a chart in a repository and one beside it (`file://`). driftless
//! renders the same objects as `helm dependency build && helm template` by hand, checks
//! `Chart.lock`, and refuses a lock out of step with `Chart.yaml`.

use std::collections::BTreeSet;
use std::path::Path;

use super::charts::{TEMPLATE, package_versions};
use super::{Access, strs};
use crate::support::charts::{self, servers};
use crate::support::{offline, unique};

const PARENT_TEMPLATE: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-parent\ndata:\n  replicas: {{ .Values.replicas | quote }}\n";

/// `app/`: a chart depending on NAME from REPO (values set for it) and on `../lib` by path.
fn write_parent(root: &Path, name: &str, repo: &str, range: &str) {
    let app = root.join("app");
    std::fs::create_dir_all(app.join("templates")).unwrap();
    std::fs::write(
        app.join("Chart.yaml"),
        format!(
            "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n- name: {name}\n  version: \"{range}\"\n  repository: {repo}\n- name: lib\n  version: 0.3.0\n  repository: file://../lib\n  condition: lib.enabled\n"
        ),
    )
    .unwrap();
    std::fs::write(
        app.join("values.yaml"),
        format!("replicas: 2\n{name}:\n  greeting: from-parent\nlib:\n  enabled: true\n  greeting: lib-hello\n"),
    )
    .unwrap();
    std::fs::write(app.join("templates/parent.yaml"), PARENT_TEMPLATE).unwrap();
    std::fs::write(
        app.join("driftless-helm.yaml"),
        "namespace: apps\nreleaseName: rel\n",
    )
    .unwrap();
    charts::new_chart(root, "lib", "0.3.0", &[("cm.yaml", TEMPLATE)]);
}

/// (kind, name, data) of every object in a YAML stream.
fn objects(yaml: &str) -> BTreeSet<String> {
    yaml.split("\n---")
        .filter_map(|doc| serde_saphyr::from_str::<serde_json::Value>(doc).ok())
        .filter(|v| v.is_object())
        .map(|v| format!("{} {} {}", v["kind"], v["metadata"]["name"], v["data"]))
        .collect()
}

fn publish(name: &str, versions: &[&str]) -> String {
    let work = tempfile::tempdir().unwrap();
    let folder = unique("deps");
    let mut url = String::new();
    for tgz in package_versions(work.path(), name, versions) {
        url = charts::publish_https_in("charts", &folder, &tgz);
    }
    url
}

/// `helm dependency update` in a copy of the chart, as a user would before committing: the
/// Chart.lock it writes, and `helm template`'s output.
fn by_hand(root: &Path, repo: &str) -> (String, String) {
    let home = tempfile::tempdir().unwrap();
    let ca = servers().ca().display().to_string();
    let helm = |args: &[&str]| {
        let out = charts::helm_command_in(home.path())
            .args(args)
            .output()
            .unwrap();
        crate::support::Run::from_output(out).succeeded(format!("helm {}", args.join(" ")))
    };
    helm(&["repo", "add", "deps", repo, "--ca-file", &ca]);
    let copy = tempfile::tempdir().unwrap();
    for chart in ["app", "lib"] {
        let status = std::process::Command::new("cp")
            .arg("-r")
            .arg(root.join(chart))
            .arg(copy.path())
            .status()
            .unwrap();
        assert!(status.success());
    }
    let app = copy.path().join("app").display().to_string();
    helm(&["dependency", "update", &app]);
    let lock = std::fs::read_to_string(copy.path().join("app/Chart.lock")).unwrap();
    let template = helm(&["template", "rel", &app, "--namespace", "apps"]);
    (lock, template)
}

#[test]
fn a_chart_with_dependencies_renders_what_helm_renders_by_hand() {
    let name = unique("dep");
    let repo = publish(&name, &["1.0.0", "1.1.0"]);
    let src = tempfile::tempdir().unwrap();
    write_parent(src.path(), &name, &repo, "1.x");
    let (lock, template) = by_hand(src.path(), &repo);
    assert_contains!(
        template,
        "greeting: \"from-parent\"",
        "helm passed the values down"
    );
    let access = Access::new();
    let render = |dir: &Path| {
        let mut args = vec![
            "render".to_string(),
            "--source".into(),
            dir.display().to_string(),
        ];
        args.extend(access.args());
        offline(&strs(&args))
    };

    // No Chart.lock: the range resolves as helm's does.
    let ours = render(src.path()).succeeded("render a chart with dependencies");
    assert_eq!(objects(&ours), objects(&template));
    assert_eq!(objects(&ours).len(), 3, "{ours}");

    // With the Chart.lock helm wrote: the same, pinned by it.
    std::fs::write(src.path().join("app/Chart.lock"), &lock).unwrap();
    let locked = render(src.path()).succeeded("render with Chart.lock");
    assert_eq!(objects(&locked), objects(&template));

    // Chart.yaml changed without `helm dependency update`: refused, not silently re-resolved.
    let chart_yaml = src.path().join("app/Chart.yaml");
    let text = std::fs::read_to_string(&chart_yaml)
        .unwrap()
        .replace("\"1.x\"", "\"1.0.0\"");
    std::fs::write(&chart_yaml, text).unwrap();
    let run = render(src.path());
    assert_eq!(run.code, 2);
    assert_contains!(
        run.stderr,
        "app (chart): Chart.lock is out of sync with Chart.yaml"
    );
    assert_contains!(run.stderr, "helm dependency update");
    assert_eq!(run.stdout, "");
}

#[test]
fn dependencies_outside_the_source_or_by_repository_name_are_refused() {
    let src = tempfile::tempdir().unwrap();
    write_parent(src.path(), "x", "alias:stable", "1.0.0");
    let access = Access::new();
    let mut args = vec![
        "render".to_string(),
        "--source".into(),
        src.path().display().to_string(),
    ];
    args.extend(access.args());
    let run = offline(&strs(&args));
    assert_eq!(run.code, 2);
    assert_contains!(
        run.stderr,
        "app (chart): Chart.yaml: dependency x: repository \"alias:stable\""
    );
    assert_contains!(run.stderr, "repositories.yaml");

    let text = std::fs::read_to_string(src.path().join("app/Chart.yaml"))
        .unwrap()
        .replace(
            "repository: alias:stable",
            "repository: file://../../../etc",
        );
    std::fs::write(src.path().join("app/Chart.yaml"), text).unwrap();
    let run = offline(&strs(&args));
    assert_eq!(run.code, 2);
    assert_contains!(run.stderr, "outside the source");
}
