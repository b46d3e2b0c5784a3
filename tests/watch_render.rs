//! `driftless render` (no cluster needed) and `--watch` on a directory.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
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
    assert!(
        run.stdout.contains("# Source: mlops-platform/mlflow.yaml:"),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains("CHANGE-ME"),
        "Secret values are masked in render output"
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
    assert!(broken.stderr.contains("bad.yaml:"), "{}", broken.stderr);
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
    assert!(
        run.stderr.contains("bomb.yaml:") && run.stderr.contains("alias replay limit"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("deep.yaml:1:") && run.stderr.contains("recursion limit"),
        "{}",
        run.stderr
    );

    let big = driftless(&[
        "render",
        "--source",
        &ws.path().to_string_lossy(),
        "--max-file-size",
        "100",
    ]);
    assert_eq!(big.code, 2);
    assert!(
        big.stderr.contains("bomb.yaml") && big.stderr.contains("over the limit of 100"),
        "{}",
        big.stderr
    );
}

#[tokio::test]
async fn watch_reruns_the_diff_when_a_file_changes() {
    let ns = support::unique("dl-watch");
    let ws = Workspace::new();
    let cm = |v: &str| {
        format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: live\n  namespace: {ns}\ndata:\n  value: {v}\n"
        )
    };
    ws.write("app.yaml", &cm("first-value"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_driftless"))
        .args([
            "diff",
            "--watch",
            "--source",
            &ws.path().to_string_lossy(),
            "--kubeconfig",
            &support::cluster().kubeconfig.to_string_lossy(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let wait_for = |needle: &str| {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(200))
                && line.contains(needle)
            {
                return true;
            }
        }
        false
    };
    let first = wait_for("+  value: first-value");
    ws.write("app.yaml", &cm("second-value"));
    let second = wait_for("value: second-value");
    let _ = child.kill();
    let _ = child.wait();
    assert!(first, "the first pass shows the diff");
    assert!(second, "an edit re-runs the diff");
}
