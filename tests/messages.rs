//! What driftless says when the server refuses, fails, is not there, is not Kubernetes, or
//! does not answer: one message, naming the server, what failed and why, in its own words.

use std::time::{Duration, Instant};

use crate::support::endpoint::{Endpoint, Reply};
use crate::support::{self, Run, Workspace, driftless_as};

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
    assert!(
        run.stderr.contains(&format!(
            "127.0.0.1:{} does not look like a Kubernetes API server (GET /api answered with \
             something that is not Kubernetes discovery)",
            page.port
        )),
        "{}",
        run.stderr
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
    assert!(!run.all_output().contains("deadline has elapsed"));
}
