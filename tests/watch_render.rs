//! `driftless render` (no cluster needed) and `--watch` on a directory.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use crate::support::{self, Workspace, driftless};

#[test]
fn render_prints_the_ordered_set_with_sources_and_masked_secrets() {
    let example = support::repo_root().join("examples/platform-repo");
    let run = driftless(&["render", "--source", &example.to_string_lossy()]);
    assert_eq!(run.code, 0);
    let first_doc = run.stdout.find("kind: Namespace").unwrap();
    let first_deploy = run.stdout.find("kind: Deployment").unwrap();
    assert!(first_doc < first_deploy, "Namespaces first");
    assert_contains!(run.stdout, "# Source: mlops-platform/mlflow.yaml:");
    assert_contains!(run.stdout, "POSTGRES_PASSWORD: \"***\"");
    assert_not_contains!(
        run.stdout,
        "demo-postgres-password",
        "decrypted Secret values are masked in render output"
    );
    assert_eq!(
        run.stdout.matches("\n---\n").count() + 1,
        34,
        "one document per object"
    );

    let json = driftless(&[
        "render",
        "--source",
        &example.to_string_lossy(),
        "--output",
        "json",
        "--exclude",
        "**/secrets.yaml",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        doc["objects"].as_array().unwrap().len(),
        31,
        "--exclude drops the three Secrets"
    );

    let ws = Workspace::new();
    ws.write(
        "ok.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n",
    );
    ws.write(
        "bad.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [\n",
    );
    let broken = driftless(&["render", "--source", &ws.path().to_string_lossy()]);
    assert_eq!(broken.code, 2);
    assert_contains!(broken.stderr, "bad.yaml:");
}

#[test]
fn yaml_bombs_and_oversized_files_fail_fast_with_clear_errors() {
    let ws = Workspace::new();
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        bomb.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    ws.write("bomb.yaml", &bomb);
    ws.write(
        "deep.yaml",
        &format!("a: {}{}\n", "[".repeat(300), "]".repeat(300)),
    );
    let run = driftless(&["render", "--source", &ws.path().to_string_lossy()]);
    assert_eq!(run.code, 2);
    assert_contains!(
        run.stderr,
        ["bomb.yaml:", "aliases (`*name`) expand to too much"]
    );
    assert_contains!(run.stderr, ["deep.yaml:1:", "recursion limit"]);

    let big = driftless(&[
        "render",
        "--source",
        &ws.path().to_string_lossy(),
        "--max-file-size",
        "100",
    ]);
    assert_eq!(big.code, 2);
    assert_contains!(big.stderr, ["bomb.yaml", "over the limit of 100"]);
}

/// A running `driftless ... --watch`, its stdout and stderr lines merged into one channel.
pub(crate) struct Watcher {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
}

impl Watcher {
    /// With this process's own set: a `default` set of a test running alongside (another
    /// source's) would refuse it.
    pub(crate) fn start(args: &[&str]) -> Watcher {
        let mut child = support::command(&support::cluster().kubeconfig, args, &[])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let out: Box<dyn std::io::Read + Send> = Box::new(child.stdout.take().unwrap());
        let err: Box<dyn std::io::Read + Send> = Box::new(child.stderr.take().unwrap());
        for stream in [out, err] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Watcher { child, lines }
    }

    /// Waits (up to a minute) for a line containing `needle`.
    pub(crate) fn wait_for(&self, needle: &str) -> bool {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200))
                && line.contains(needle)
            {
                return true;
            }
        }
        false
    }

    /// Whether a line containing `needle` shows up within `window`.
    fn sees_within(&self, needle: &str, window: Duration) -> bool {
        let deadline = std::time::Instant::now() + window;
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            if let Ok(line) = self.lines.recv_timeout(left)
                && line.contains(needle)
            {
                return true;
            }
        }
        false
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config_map_source(ns: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: live\n  namespace: {ns}\ndata:\n  value: {value}\n"
    )
}

#[tokio::test]
async fn watch_reruns_the_diff_when_a_file_changes() {
    let ns = support::unique("dl-watch");
    let ws = Workspace::new();
    ws.write("app.yaml", &config_map_source(&ns, "first-value"));
    let watcher = Watcher::start(&["diff", "--watch", "--source", &ws.path().to_string_lossy()]);
    let first = watcher.wait_for("+  value: first-value");
    ws.write("app.yaml", &config_map_source(&ns, "second-value"));
    let second = watcher.wait_for("value: second-value");
    assert!(first, "the first pass shows the diff");
    assert!(second, "an edit re-runs the diff");
}

#[tokio::test]
async fn watch_polls_git_and_skips_unchanged_commits() {
    let ns = support::unique("dl-poll");
    let repo = crate::support::git::TestRepo::local();
    repo.write("app.yaml", &config_map_source(&ns, "first-value"));
    repo.commit("first");
    let cache = tempfile::tempdir().unwrap();
    let (url, cache) = (repo.file_url(), cache.path().to_string_lossy().into_owned());
    let watcher = Watcher::start(&[
        "diff",
        "--watch",
        "--interval",
        "1",
        "--source",
        &url,
        "--cache-dir",
        &cache,
    ]);
    assert!(
        watcher.wait_for("--- pass 1 ---"),
        "the first pass runs at once"
    );
    assert!(
        !watcher.sees_within("--- pass 2 ---", Duration::from_secs(4)),
        "polls that find the same commit do not re-render or re-plan"
    );
    repo.write("app.yaml", &config_map_source(&ns, "second-value"));
    let second = repo.commit("second");
    assert!(
        watcher.wait_for("--- pass 2 ---"),
        "a new commit is picked up"
    );
    assert!(
        watcher.wait_for(&format!("at {second}")),
        "and the pass names it"
    );
}
