//! The offline preview and lint, driven through the binary with no cluster at all: two commits
//! of a Git repository, two directories, golden Markdown and SARIF.

use std::path::PathBuf;

use crate::support::git::TestRepo;
use crate::support::{Run, Workspace, offline, repo_root};

fn config_map(name: &str, data: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: shop\ndata:\n{data}"
    )
}

fn secret(password: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: shop\n  annotations:\n    driftless.dev/lint-ignore: \"plaintext-secret: test data\"\nstringData:\n  password: {password}\n"
    )
}

const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      securityContext: {runAsNonRoot: true, runAsUser: 1000}\n      containers:\n      - name: web\n        image: registry.example.com/web:1.0.0\n        resources: {requests: {cpu: 10m, memory: 16Mi}, limits: {memory: 32Mi}}\n        securityContext: {allowPrivilegeEscalation: false}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: shop}\nspec: {podSelector: {}}\n";

/// Two commits: the second changes a ConfigMap and a Secret's value, deletes one ConfigMap,
/// adds one holding a password, and moves the Deployment's file without changing it.
fn two_commits() -> (TestRepo, String, String) {
    let repo = TestRepo::local();
    repo.write(
        "namespace.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n",
    );
    repo.write(
        "app/config.yaml",
        &config_map("settings", "  level: info\n"),
    );
    repo.write("app/secret.yaml", &secret("first-password-value"));
    repo.write(
        "app/old.yaml",
        &config_map("old", "  API_TOKEN: old-token-value\n"),
    );
    repo.write("app/web.yaml", DEPLOYMENT);
    let base = repo.commit("base");
    repo.write(
        "app/config.yaml",
        &config_map("settings", "  level: debug\n"),
    );
    repo.write("app/secret.yaml", &secret("second-password-value"));
    repo.remove("app/old.yaml");
    repo.write(
        "app/new.yaml",
        &config_map("new", "  DB_PASSWORD: new-password-value\n"),
    );
    repo.remove("app/web.yaml");
    repo.write("workloads/web.yaml", DEPLOYMENT);
    let head = repo.commit("head");
    (repo, base, head)
}

fn git_diff(repo: &TestRepo, cache: &std::path::Path, extra: &[&str]) -> Run {
    let url = repo.file_url();
    let cache = cache.to_string_lossy();
    let mut args = vec!["diff", "--source", &url, "--cache-dir", &cache];
    args.extend_from_slice(extra);
    offline(&args)
}

#[test]
fn an_offline_diff_of_two_commits_needs_no_cluster() {
    let (repo, base, head) = two_commits();
    let cache = tempfile::tempdir().unwrap();
    let run = git_diff(&repo, cache.path(), &["--base", &base]);
    assert_eq!(run.code, 1, "changes: {}", run.stderr);
    let out = &run.stdout;
    assert_contains!(
        out,
        format!(
            "--- base/v1/ConfigMap/shop/settings\trevision {base}\n+++ desired/v1/ConfigMap/shop/settings\trevision {head}\n"
        )
    );
    assert_contains!(out, "-  level: info\n+  level: debug\n");
    assert_contains!(
        out,
        "-  password: \"*** (before)\"\n+  password: \"*** (after)\"\n"
    );
    assert_contains!(out, ["--- base/v1/ConfigMap/shop/old", "+++ /dev/null"]);
    assert_contains!(out, "--- /dev/null\n+++ desired/v1/ConfigMap/shop/new");
    assert_contains!(
        out,
        "+  DB_PASSWORD: \"***\"",
        "a ConfigMap's secret literal is masked too"
    );
    assert_not_contains!(out, "Deployment", "a moved file moves no object");
    let summary = &run.stderr;
    assert_contains!(
        summary,
        format!("against revision {base} (offline: no cluster)")
    );
    assert_contains!(
        summary,
        "namespace shop: ok: 1 created, 2 configured, 2 unchanged, 1 pruned"
    );
    assert_contains!(summary, ["secret-in-configmap", "[added]", "[fixed]"]);
    for value in [
        "first-password",
        "second-password",
        "old-token-value",
        "new-password-value",
    ] {
        assert_not_contains!(run.all_output(), value, "{value} printed");
    }

    // HEAD by default; a short SHA for the base; JSON names both.
    let json = git_diff(&repo, cache.path(), &["--base", &base[..8], "-o", "json"]);
    assert_eq!(json.code, 1);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["revision"], head.as_str());
    assert_eq!(doc["base"], format!("revision {base}"));
    assert_eq!(
        (
            doc["counts"]["created"].as_u64(),
            doc["counts"]["configured"].as_u64(),
            doc["counts"]["pruned"].as_u64()
        ),
        (Some(1), Some(2), Some(1))
    );
    assert_eq!(doc["lint"]["added"], 1);
    assert_eq!(doc["lint"]["fixed"], 1);
    let settings = doc["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|n| n["objects"].as_array().unwrap())
        .find(|o| o["name"] == "settings")
        .unwrap();
    assert_eq!(settings["fields"], serde_json::json!(["data.level"]));

    // The same revision on both sides: nothing to do.
    let same = git_diff(
        &repo,
        cache.path(),
        &["--base", "main", "--revision", "main"],
    );
    assert_eq!(same.code, 0, "{}", same.stderr);
    assert!(same.stdout.is_empty());
    // The other way round, what the head adds is deleted.
    let back = git_diff(&repo, cache.path(), &["--base", &head, "--revision", &base]);
    assert_eq!(back.code, 1);
    assert_contains!(
        back.stdout,
        ["--- base/v1/ConfigMap/shop/new", "+++ /dev/null"]
    );
}

#[test]
fn two_directories_fail_on_findings_and_keep_the_whole_report() {
    let (base, head) = (Workspace::new(), Workspace::new());
    base.write("web.yaml", DEPLOYMENT);
    head.write("web.yaml", &DEPLOYMENT.replace("web:1.0.0", "web:latest"));
    let (b, h) = (base.path().to_string_lossy(), head.path().to_string_lossy());
    let report = tempfile::tempdir().unwrap();
    let file = report.path().join("report.md");
    let file_arg = file.to_string_lossy();
    let run = offline(&[
        "diff",
        "--base-source",
        &b,
        "--source",
        &h,
        "-o",
        "markdown",
        "--max-comment-size",
        "900",
        "--report-file",
        &file_arg,
    ]);
    assert_eq!(run.code, 1, "findings fail nothing unless asked");
    assert!(run.stdout.len() <= 900, "{}", run.stdout.len());
    assert_contains!(run.stdout, format!("The whole report: `{file_arg}`"));
    let whole = std::fs::read_to_string(&file).unwrap();
    assert_contains!(whole, "+      - image: registry.example.com/web:latest");
    assert_not_contains!(whole, "Left out");
    let failing = offline(&[
        "diff",
        "--base-source",
        &b,
        "--source",
        &h,
        "--fail-on",
        "high",
    ]);
    assert_eq!(failing.code, 2, "a high finding at --fail-on high");
    assert_contains!(failing.stderr, "1 at or above --fail-on high");
    let refused = offline(&["sync", "--base-source", &b, "--source", &h]);
    assert_eq!(refused.code, 2);
    assert_contains!(
        refused.stderr,
        "--base-source previews offline: use it with diff"
    );
    let git_base = offline(&["diff", "--base", "main", "--source", &h]);
    assert_eq!(git_base.code, 2);
    assert_contains!(git_base.stderr, "--base names a Git revision");
}

#[test]
fn a_namespace_nobody_names_is_an_error_unless_given() {
    let (base, head) = (Workspace::new(), Workspace::new());
    base.write(
        "a.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
    );
    head.write(
        "a.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: '1'}\n",
    );
    head.write(
        "w.yaml",
        "apiVersion: acme.io/v1\nkind: Widget\nmetadata: {name: w}\n",
    );
    let (b, h) = (base.path().to_string_lossy(), head.path().to_string_lossy());
    let run = offline(&["diff", "--base-source", &b, "--source", &h]);
    assert_eq!(run.code, 2);
    assert_contains!(
        run.stderr,
        ["the base", "ConfigMap is namespaced but names no namespace"]
    );
    let run = offline(&["diff", "--base-source", &b, "--source", &h, "-n", "team"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_contains!(run.stdout, "+++ desired/v1/ConfigMap/team/a");
    assert_contains!(
        run.stderr,
        "acme.io/v1 Widget team/w: kind not known offline"
    );
}

#[test]
fn lint_exit_codes_formats_and_the_example_platform() {
    let example = repo_root().join("examples/platform-repo");
    let clean = offline(&["lint", "--source", &example.to_string_lossy()]);
    assert_eq!(
        clean.code, 0,
        "examples/platform-repo lints clean: {}",
        clean.stdout
    );
    assert_contains!(
        clean.stdout,
        "lint: 0 findings;",
        "its Secrets are SOPS-encrypted: nothing to suppress"
    );
    assert_not_contains!(clean.stdout, "suppressed");
    let ws = Workspace::new();
    ws.write("web.yaml", &DEPLOYMENT.replace("web:1.0.0", "web"));
    let dir = ws.path().to_string_lossy();
    let found = offline(&["lint", "--source", &dir]);
    assert_eq!(found.code, 1, "{}", found.stdout);
    assert_contains!(found.stdout, "HIGH     latest-tag");
    assert_eq!(
        offline(&["lint", "--source", &dir, "--fail-on", "critical"]).code,
        0
    );
    ws.write(".driftless-lint.yaml", "failOn: never\n");
    assert_eq!(
        offline(&["lint", "--source", &dir]).code,
        0,
        "the repository's failOn"
    );
    assert_eq!(
        offline(&["lint", "--source", &dir, "--fail-on", "high"]).code,
        1,
        "the flag wins"
    );
    ws.write(".driftless-lint.yaml", "disable: [latest-tags]\n");
    let bad = offline(&["lint", "--source", &dir]);
    assert_eq!(bad.code, 2);
    assert_contains!(
        bad.stderr,
        ".driftless-lint.yaml: unknown check \"latest-tags\""
    );
    ws.write(".driftless-lint.yaml", "disable: [latest-tag]\n");
    for format in ["json", "markdown", "sarif"] {
        let run = offline(&["lint", "--source", &dir, "-o", format]);
        assert_eq!(run.code, 0, "{format}: {}", run.stderr);
        if format != "markdown" {
            serde_json::from_str::<serde_json::Value>(&run.stdout).unwrap();
        }
    }
}

#[test]
fn lint_of_a_git_source_reads_its_config_at_the_revision_and_marks_the_change() {
    let (repo, base, _) = two_commits();
    let cache = tempfile::tempdir().unwrap();
    let (url, cache) = (repo.file_url(), cache.path().to_string_lossy().into_owned());
    let run = offline(&[
        "lint",
        "--source",
        &url,
        "--cache-dir",
        &cache,
        "--base",
        &base,
    ]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_contains!(run.stdout, "1 added, 1 fixed by this change");
    repo.write(".driftless-lint.yaml", "disable: [secret-in-configmap]\n");
    repo.commit("config");
    let run = offline(&["lint", "--source", &url, "--cache-dir", &cache]);
    assert_eq!(
        run.code, 0,
        "the committed config disables the check: {}",
        run.stdout
    );
}

/// `DRIFTLESS_UPDATE_GOLDEN=1` rewrites the file instead of comparing.
fn golden(name: &str, actual: &str) {
    let path: PathBuf = repo_root().join("tests/golden").join(name);
    if std::env::var_os("DRIFTLESS_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == actual,
        "{name} differs from the golden file (DRIFTLESS_UPDATE_GOLDEN=1 rewrites it):\n{actual}"
    );
}

#[test]
fn golden_markdown_and_sarif() {
    let preview = [
        "diff",
        "--base-source",
        "tests/golden/base",
        "--source",
        "tests/golden/head",
        "-o",
        "markdown",
    ];
    let run = offline(&preview);
    assert_eq!(run.code, 1);
    golden("preview.md", &run.stdout);
    let mut small = preview.to_vec();
    small.extend([
        "--max-comment-size",
        "2500",
        "--report-url",
        "https://ci.example.com/job/1/artifacts/driftless-report.md",
    ]);
    let run = offline(&small);
    assert!(run.stdout.len() <= 2500);
    golden("preview-small.md", &run.stdout);
    let run = offline(&[
        "lint",
        "--source",
        "tests/golden/head",
        "--base-source",
        "tests/golden/base",
        "-o",
        "sarif",
    ]);
    assert_eq!(run.code, 1);
    golden("lint.sarif", &run.stdout);
}
