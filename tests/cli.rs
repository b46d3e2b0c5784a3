//! The command line as a Unix tool: a reader that leaves (`| head`) ends the output quietly.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{self, Run, Workspace};

/// A source whose every output is far larger than a pipe's buffer (64 KiB), so a reader that
/// leaves after one byte closes the pipe while driftless is still writing: 150 ConfigMaps of
/// 8 KB, each with 8 literal passwords (1,200 lint findings; masked in diffs).
fn big_source(ns: &str) -> Workspace {
    let mut ws = Workspace::new();
    ws.namespaces.push(ns.to_string());
    ws.write(
        "namespace.yaml",
        &format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n"),
    );
    let keys: String = (0..8)
        .map(|k| format!("  db_password_{k}: literal-{k}\n"))
        .collect();
    let blob = "x".repeat(8000);
    for i in 0..150 {
        ws.write(
            &format!("cm{i:03}.yaml"),
            &format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm{i}\n  namespace: {ns}\ndata:\n{keys}  blob: {blob}\n"
            ),
        );
    }
    ws
}

/// `driftless ARGS | head -c 1`: driftless's exit code and stderr (its stdout went to head).
fn into_head(args: &[&str]) -> Run {
    let mut driftless = support::command(&support::cluster().kubeconfig, args, &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let head = Command::new("head")
        .args(["-c", "1"])
        .stdin(Stdio::from(driftless.stdout.take().unwrap()))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // driftless first: its stderr must be drained while it runs.
    let run = Run::from_output(driftless.wait_with_output().unwrap());
    let head = head.wait_with_output().unwrap();
    assert_eq!(head.stdout.len(), 1, "head read one byte of {args:?}");
    eprintln!(
        "$ driftless {} | head -c 1\n-> exit {}\n{}",
        args.join(" "),
        run.code,
        run.stderr.lines().take(20).collect::<Vec<_>>().join("\n")
    );
    run
}

fn assert_quiet_end(args: &[&str], expected: i32) {
    let run = into_head(args);
    assert_not_contains!(run.stderr, ["panicked", "Broken pipe"], "{args:?}");
    assert_eq!(run.code, expected, "{args:?}: {}", run.stderr);
}

#[tokio::test]
async fn a_closed_pipe_ends_every_command_quietly() {
    let ns = support::unique("dl-pipe");
    let ws = big_source(&ns);
    let src = ws.path().to_string_lossy().into_owned();
    // The corpus is what makes the pipe close early.
    let rendered = support::driftless(&["render", "--source", &src]);
    assert!(rendered.stdout.len() > 1 << 20, "{}", rendered.stdout.len());

    let empty = Workspace::new();
    let base = empty.path().to_string_lossy().into_owned();
    assert_quiet_end(&["render", "--source", &src], 0);
    assert_quiet_end(&["render", "--source", &src, "-o", "json"], 0);
    assert_quiet_end(&["lint", "--source", &src], 1);
    assert_quiet_end(&["diff", "--source", &src, "--base-source", &base], 1);
    assert_quiet_end(&["diff", "--source", &src], 1);
    // The sync's output is written once it is done: the sync finishes whoever reads it.
    assert_quiet_end(&["sync", "--source", &src], 0);
    let after = support::diff(ws.path(), &[]);
    assert_eq!(after.code, 0, "every object was applied: {}", after.stderr);
    ws.cleanup().await;
}

#[tokio::test]
async fn diff_watch_stops_once_its_reader_leaves() {
    let ns = support::unique("dl-pipe");
    let ws = big_source(&ns);
    let src = ws.path().to_string_lossy().into_owned();
    let started = Instant::now();
    let run = into_head(&["diff", "--watch", "--source", &src]);
    assert_not_contains!(run.stderr, "panicked");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_contains!(run.stderr, "--- pass 1 ---");
    assert_not_contains!(run.stderr, "--- pass 2 ---");
    assert!(started.elapsed() < Duration::from_secs(60));
    ws.cleanup().await;
}

#[tokio::test]
async fn durations_take_units_on_every_flag_and_variable() {
    let ns = support::unique("dl-dur");
    let mut ws = Workspace::new();
    ws.namespaces.push(ns.clone());
    let manifest = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: {ns}\ndata:\n  k: v\n"
    );
    ws.write("app.yaml", &manifest);
    let run = support::sync(
        ws.path(),
        &[
            "--lock-timeout",
            "2m",
            "--crd-timeout",
            "90s",
            "--timeout",
            "5m",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let bad = support::sync(ws.path(), &["--lock-timeout", "soon"]);
    assert_eq!(bad.code, 2);
    assert_contains!(bad.stderr, "invalid duration");

    // --interval paces the polls of a Git source.
    let repo = support::git::TestRepo::local();
    repo.write("app.yaml", &manifest);
    repo.commit("first");
    let cache = tempfile::tempdir().unwrap();
    let (url, cache) = (repo.file_url(), cache.path().to_string_lossy().into_owned());
    let watch = ["diff", "--watch", "--source", &url, "--cache-dir", &cache];
    let watcher =
        crate::watch_render::Watcher::start(&[&watch[..], &["--interval", "1m"]].concat());
    assert!(watcher.wait_for("--- pass 1 ---"));

    // DRIFTLESS_INTERVAL reads the same for `diff --watch` and the agent.
    ws.write(
        "agent.yaml",
        "sets:\n  - name: a\n    source: {directory: /m}\n",
    );
    let config = ws.file("agent.yaml").to_string_lossy().into_owned();
    let check = ["agent", "--config", &config, "--check"];
    let ok = support::driftless_with_env(&check, &[("DRIFTLESS_INTERVAL", "2m")]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    for args in [&check[..], &watch[..]] {
        let short = support::driftless_with_env(args, &[("DRIFTLESS_INTERVAL", "500ms")]);
        assert_eq!(short.code, 2, "{}", short.stderr);
        assert_contains!(short.stderr, "under 1s");
    }
    ws.cleanup().await;
}

#[test]
fn git_flags_on_a_directory_are_refused_and_ignored_from_the_environment() {
    let ws = Workspace::new();
    ws.write(
        "sub/app.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: x\n",
    );
    ws.write(
        "outside.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: outside\n  namespace: x\n",
    );
    let dir = ws.path().to_string_lossy().into_owned();
    let path = support::driftless(&["render", "--source", &dir, "--path", "sub"]);
    assert_eq!(path.code, 2, "{}", path.stderr);
    assert!(path.stdout.is_empty(), "nothing is read: {}", path.stdout);
    assert_contains!(
        path.stderr,
        ["--path applies to Git sources", "pass --source DIR/SUB"]
    );
    let revision = support::driftless(&["diff", "--source", &dir, "--revision", "main"]);
    assert_eq!(revision.code, 2, "{}", revision.stderr);
    assert_contains!(revision.stderr, "--revision applies to Git sources");
    // Exported for every command, the same settings are ambient: the directory is read whole.
    let ambient = support::driftless_with_env(
        &["render", "--source", &dir],
        &[("DRIFTLESS_PATH", "sub"), ("DRIFTLESS_REVISION", "main")],
    );
    assert_eq!(ambient.code, 0, "{}", ambient.stderr);
    assert_contains!(ambient.stdout, ["name: app", "name: outside"]);
    // The directory it meant: its own --source.
    let sub = ws.file("sub").to_string_lossy().into_owned();
    let narrowed = support::driftless(&["render", "--source", &sub]);
    assert_eq!(narrowed.code, 0, "{}", narrowed.stderr);
    assert_not_contains!(narrowed.stdout, "name: outside");
}

/// Code scanning resolves SARIF paths from the repository root: every one names a file there.
#[test]
fn sarif_paths_are_files_from_the_repository_root() {
    for source in [
        "tests/golden/head",
        "./tests/golden/head/",
        "tests/golden/head/apps.yaml",
    ] {
        let run = support::offline(&["lint", "--source", source, "-o", "sarif"]);
        assert_eq!(run.code, 1, "{source}: {}", run.stderr);
        let sarif: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        let uris: Vec<&str> = sarif["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| {
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str()
            })
            .collect();
        assert!(!uris.is_empty(), "{source}: no results");
        for uri in uris {
            assert!(
                uri.starts_with("tests/golden/head/") && support::repo_root().join(uri).is_file(),
                "{source}: {uri}"
            );
        }
    }
}
