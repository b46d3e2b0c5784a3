//! What driftless says when the server refuses, fails, is not there, is not Kubernetes, or
//! does not answer: one message, naming the server, what failed and why, in its own words.

use std::time::{Duration, Instant};

use crate::support::endpoint::{Endpoint, Reply};
use crate::support::identity::Identity;
use crate::support::{self, Run, Workspace, audit, driftless_as};

/// `diff` of a one-namespace source against the server of `kubeconfig`.
fn diff_against(kubeconfig: &std::path::Path, extra: &[&str]) -> Run {
    let ws = Workspace::new();
    ws.write(
        "ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: dl-messages\n",
    );
    let src = ws.path().to_string_lossy().into_owned();
    let mut args = vec!["diff", "--source", &src];
    args.extend_from_slice(extra);
    driftless_as(kubeconfig, &args, &[])
}

/// The lines of `run`'s output that mention `text`.
fn lines_with<'a>(run: &'a Run, text: &str) -> Vec<&'a str> {
    run.stdout
        .lines()
        .chain(run.stderr.lines())
        .filter(|l| l.contains(text))
        .collect()
}

#[test]
fn a_refused_connection_names_the_server_once() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = support::endpoint::kubeconfig(dir.path(), "https://127.0.0.1:1");
    let run = diff_against(&kubeconfig, &[]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr.trim(),
        "error: cannot connect to the cluster: https://127.0.0.1:1: connection refused"
    );
    // At -v too: the retries are debug lines; the cause is said once, by the error.
    let verbose = diff_against(&kubeconfig, &["-v"]);
    let said = lines_with(&verbose, "connection refused");
    let errors: Vec<&&str> = said
        .iter()
        .filter(|l| l.contains("ERROR") || l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{said:#?}");
}

#[test]
fn an_endpoint_that_is_not_kubernetes_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let not_found = Endpoint::start(Reply::Http(
        "404 Not Found",
        "text/html",
        "<html><body>Not Found</body></html>",
    ));
    let run = diff_against(&not_found.kubeconfig(dir.path(), "http"), &[]);
    assert_eq!(run.code, 2);
    let server = format!("http://127.0.0.1:{}", not_found.port);
    assert_eq!(
        run.stderr.trim(),
        format!(
            "error: cannot connect to the cluster: {server} does not look like a Kubernetes API \
             server (GET /api answered 404 Not Found)"
        )
    );
    // A web page where discovery's JSON should be.
    let page = Endpoint::start(Reply::Http("200 OK", "text/html", "<html>Welcome</html>"));
    let run = diff_against(&page.kubeconfig(dir.path(), "http"), &[]);
    assert_eq!(run.code, 2);
    assert_contains!(
        run.stderr,
        format!(
            "127.0.0.1:{} does not look like a Kubernetes API server (GET /api answered with \
             something that is not Kubernetes discovery)",
            page.port
        )
    );
}

#[test]
fn a_frozen_server_names_what_timed_out_and_the_flag_that_bounds_it() {
    let dir = tempfile::tempdir().unwrap();
    let frozen = Endpoint::start(Reply::Silent);
    // Plain HTTP: the request is sent and never answered.
    let started = Instant::now();
    let run = diff_against(
        &frozen.kubeconfig(dir.path(), "http"),
        &["--request-timeout", "2s"],
    );
    assert_eq!(run.code, 2);
    assert!(started.elapsed() < Duration::from_secs(15), "bounded");
    assert_eq!(
        run.stderr.trim(),
        format!(
            "error: cannot connect to the cluster: http://127.0.0.1:{} did not answer the \
             discovery request within 2s (--request-timeout)",
            frozen.port
        )
    );
    // HTTPS: the TLS handshake never completes.
    let run = diff_against(
        &frozen.kubeconfig(dir.path(), "https"),
        &["--request-timeout", "2s"],
    );
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr.trim(),
        format!(
            "error: cannot connect to the cluster: https://127.0.0.1:{} did not complete a \
             connection (TCP and TLS handshake) within 2s (--request-timeout, at most 10s)",
            frozen.port
        )
    );
    assert_not_contains!(run.all_output(), "deadline has elapsed");
}

/// The connection begins while the source is read and rendered, but a broken revision is
/// still what is reported, and at once: not a server that has not answered yet.
#[test]
fn a_broken_revision_is_reported_at_once_with_a_server_that_does_not_answer() {
    let dir = tempfile::tempdir().unwrap();
    let frozen = Endpoint::start(Reply::Silent);
    let ws = Workspace::new();
    ws.write(
        "broken.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: [\n",
    );
    let src = ws.path().to_string_lossy().into_owned();
    let started = Instant::now();
    let run = driftless_as(
        &frozen.kubeconfig(dir.path(), "https"),
        &["diff", "--source", &src, "--request-timeout", "30s"],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "not held by the connection"
    );
    assert_contains!(run.stderr, "broken.yaml:");
    assert_not_contains!(run.all_output(), "connect");
}

/// `--timeout` bounds the whole run from its start: a Git server that accepts the connection and
/// never answers stops the run at the deadline, saying what it was doing.
#[test]
fn the_run_deadline_covers_reading_the_source() {
    let frozen = Endpoint::start(Reply::Silent);
    let url = format!("http://127.0.0.1:{}/platform.git", frozen.port);
    let started = Instant::now();
    let run = support::offline(&["diff", "--source", &url, "--timeout", "2s"]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(started.elapsed() < Duration::from_secs(20), "bounded");
    assert_eq!(
        run.stderr.trim(),
        "error: stopped while reading the source: the run's deadline (--timeout) passed\n\
         nothing applied; the cluster keeps what it runs"
    );
}

/// The objects of a JSON report: (kind/name, reason, message).
fn objects(run: &Run) -> Vec<(String, String, String)> {
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("a JSON report");
    let mut found = Vec::new();
    for ns in report["namespaces"].as_array().into_iter().flatten() {
        for o in ns["objects"].as_array().into_iter().flatten() {
            let text = |k: &str| o[k].as_str().unwrap_or_default().to_string();
            found.push((
                format!("{}/{}", text("kind"), text("name")),
                text("reason"),
                text("message"),
            ));
        }
    }
    found
}

#[tokio::test]
async fn a_typed_patch_error_fails_at_once_as_invalid_naming_the_field() {
    let test = "a_typed_patch_error_fails_at_once_as_invalid_naming_the_field";
    let Some(log) = audit::log_path(test) else {
        return;
    };
    let ns = support::unique("dl-typed");
    let identity = Identity::service_account(&ns).await;
    let ws = Workspace::new();
    ws.write(
        "settings.yaml",
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: {ns}\n\
             data:\n  n: 5\n"
        ),
    );
    let src = ws.path().to_string_lossy().into_owned();
    let mark = audit::mark(&log);
    let run = driftless_as(
        identity.path(),
        &["sync", "--source", &src, "-o", "json", "-v"],
        &[],
    );
    let requests = audit::requests_since(&log, mark, &identity.username).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        objects(&run),
        vec![(
            "ConfigMap/settings".to_string(),
            "Invalid".to_string(),
            "`.data.n` must be a string (422 Invalid)".to_string()
        )]
    );
    assert_not_contains!(run.stderr, "retrying");
    assert_eq!(
        requests.verbs.get("dryrun-patch"),
        Some(&1),
        "one dry-run, no retry: {requests:?}"
    );
    // 500 (400 once the upstream fix is in): answered once.
    let refused: usize = [400, 500]
        .iter()
        .filter_map(|c| requests.codes.get(c))
        .sum();
    assert_eq!(refused, 1, "{requests:?}");
    support::delete_namespaces(&[ns]).await;
}

#[tokio::test]
async fn a_refused_immutable_field_is_named_in_a_short_message_not_a_go_dump() {
    let ns = support::unique("dl-immutable");
    let ws = Workspace::new();
    // No pods: nothing to run, the template is all that matters.
    let job = |command: &str| {
        format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\napiVersion: batch/v1\n\
             kind: Job\nmetadata:\n  name: once\n  namespace: {ns}\n  annotations: \
             {{driftless.dev/replace: never}}\nspec:\n  parallelism: 0\n  \
             template:\n    spec:\n      restartPolicy: Never\n      containers:\n      \
             - name: main\n        image: registry.example.com/tool:1.0.0\n        \
             command: [\"{command}\"]\n"
        )
    };
    ws.write("job.yaml", &job("true"));
    assert_eq!(support::sync(ws.path(), &[]).code, 0);
    ws.write("job.yaml", &job("false"));
    let run = support::sync(ws.path(), &["-o", "json"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let found = objects(&run);
    let (_, reason, message) = found
        .iter()
        .find(|(id, _, _)| id == "Job/once")
        .unwrap_or_else(|| panic!("{found:?}"));
    // Never replaced (it says so): refused, naming the field and why, in a few words.
    assert_eq!(reason, "Immutable");
    assert!(
        message.starts_with("spec.template cannot change in place (immutable)"),
        "{message}"
    );
    assert_contains!(message, "driftless.dev/replace: never");
    let words = message.trim_end_matches(" (422 Invalid)");
    assert!(words.chars().count() <= 300, "{}", words.len());
    assert_not_contains!(message, "core.PodTemplateSpec");
    support::delete_namespaces(&[ns]).await;
}
