//! Git sources against real servers: file://, http(s) with a token, ssh with a key and
//! known_hosts. Pinning, incremental fetches, force-pushes, auth failures, a remote that is down.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;

use crate::support::git::{TestRepo, servers};
use crate::support::{self, Run, driftless_with_env};

fn platform(ns: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: {ns}\ndata:\n  value: \"{value}\"\n"
    )
}

async fn live_value(ns: &str) -> Option<String> {
    let cm = Api::<ConfigMap>::namespaced(support::client().await, ns)
        .get_opt("settings")
        .await
        .unwrap()?;
    cm.data.and_then(|d| d.get("value").cloned())
}

/// `driftless CMD --source URL --cache-dir CACHE EXTRA...`.
fn run(cmd: &str, url: &str, cache: &std::path::Path, extra: &[&str]) -> Run {
    let cache = cache.to_string_lossy();
    let mut args = vec![cmd, "--source", url, "--cache-dir", &cache];
    args.extend_from_slice(extra);
    driftless_with_env(&args, &[])
}

#[tokio::test]
async fn a_commit_in_a_file_repo_is_synced_exactly_and_pins_hold() {
    let ns = support::unique("dl-git");
    let repo = TestRepo::local();
    repo.write("deploy/app.yaml", &platform(&ns, "one"));
    repo.write("README.md", "not a manifest");
    let first = repo.commit("first");
    repo.tag("v1");
    let cache = tempfile::tempdir().unwrap();
    let url = repo.file_url();

    let synced = run("sync", &url, cache.path(), &[]);
    assert_eq!(synced.code, 0);
    assert_contains!(
        synced.stdout,
        format!("at {first}"),
        "the report names the commit"
    );
    assert_eq!(live_value(&ns).await.as_deref(), Some("one"));

    repo.write("deploy/app.yaml", &platform(&ns, "two"));
    let second = repo.commit("second");
    let preview = run("diff", &url, cache.path(), &[]);
    assert_eq!(preview.code, 1, "the new commit is picked up");
    assert_contains!(
        preview.stdout,
        format!("\trevision {second}"),
        "diff headers name the commit"
    );
    assert_contains!(preview.stdout, ["-  value: one", "+  value: two"]);

    for pin in [first.as_str(), &first[..10], "v1"] {
        let pinned = run("diff", &url, cache.path(), &["--revision", pin]);
        assert_eq!(pinned.code, 0, "--revision {pin} is the synced commit");
        assert_contains!(pinned.stderr, format!("at {first}"));
    }
    let missing = run(
        "diff",
        &url,
        cache.path(),
        &["--revision", "no-such-branch"],
    );
    assert_eq!(missing.code, 2);
    assert_contains!(missing.stderr, "revision no-such-branch not found");

    // Another folder of the repository is another source: the set moves there on purpose.
    let moved = ["--path", "deploy", "--take-over-set"];
    let applied = run("sync", &url, cache.path(), &moved);
    assert_eq!(applied.code, 0);
    assert_eq!(live_value(&ns).await.as_deref(), Some("two"));
    support::delete_namespaces(&[ns]).await;
}

#[tokio::test]
async fn a_broken_commit_or_a_dead_remote_keeps_the_last_good_revision() {
    let ns = support::unique("dl-keep");
    let repo = TestRepo::local();
    repo.write("app.yaml", &platform(&ns, "good"));
    let good = repo.commit("good");
    let cache = tempfile::tempdir().unwrap();
    let url = repo.file_url();
    assert_eq!(run("sync", &url, cache.path(), &[]).code, 0);

    repo.write(
        "app.yaml",
        &format!("{}---\nkind: [unclosed\n", platform(&ns, "bad")),
    );
    let bad = repo.commit("bad");
    let broken = run("sync", &url, cache.path(), &[]);
    assert_eq!(broken.code, 2);
    assert_contains!(broken.stderr, "app.yaml:", "names the file and line");
    assert_contains!(
        broken.stderr,
        format!("nothing applied from revision {bad}")
    );
    assert_contains!(broken.stderr, format!("the cluster keeps revision {good}"));
    assert_eq!(
        live_value(&ns).await.as_deref(),
        Some("good"),
        "a revision that fails to render is never applied"
    );

    let moved = repo.bare.with_extension("moved");
    std::fs::rename(&repo.bare, &moved).unwrap();
    let down = run("sync", &url, cache.path(), &[]);
    assert_eq!(down.code, 2);
    assert_contains!(down.stderr, "fetching file://");
    assert_contains!(down.stderr, format!("the cluster keeps revision {good}"));
    std::fs::rename(&moved, &repo.bare).unwrap();
    support::delete_namespaces(&[ns]).await;
}

#[tokio::test]
async fn https_with_a_token_fetches_incrementally_and_follows_force_pushes() {
    let s = servers();
    let ns = support::unique("dl-https");
    let repo = TestRepo::served();
    repo.write("app.yaml", &platform(&ns, "one"));
    let first = repo.commit("first");
    let cache = tempfile::tempdir().unwrap();
    let url = s.url("GIT_TESTENV_HTTPS", &repo);
    let token = ["--git-token-file", s.get("GIT_TESTENV_TOKEN_FILE")];
    let ca = [("SSL_CERT_FILE", s.get("GIT_TESTENV_CA"))];
    let run_https = |cmd: &str, extra: &[&str]| {
        let cache = cache.path().to_string_lossy().into_owned();
        let mut args = vec![cmd, "--source", url.as_str(), "--cache-dir", cache.as_str()];
        args.extend_from_slice(&token);
        args.extend_from_slice(extra);
        driftless_with_env(&args, &ca)
    };

    let synced = run_https("sync", &[]);
    assert_eq!(synced.code, 0);
    assert_contains!(synced.stdout, format!("at {first}"));
    assert_eq!(live_value(&ns).await.as_deref(), Some("one"));

    repo.write("app.yaml", &platform(&ns, "two"));
    let second = repo.commit("second");
    let synced = run_https("sync", &[]);
    assert_contains!(
        synced.stdout,
        format!("at {second}"),
        "a new commit is fetched"
    );
    assert_eq!(live_value(&ns).await.as_deref(), Some("two"));

    // Rewrite the branch: drop `second`, commit `third` on top of `first`, force-push.
    repo.reset_hard(&first);
    repo.write("app.yaml", &platform(&ns, "three"));
    let third = repo.commit("third");
    let synced = run_https("sync", &[]);
    assert_contains!(
        synced.stdout,
        format!("at {third}"),
        "a force-push is followed"
    );
    assert_eq!(live_value(&ns).await.as_deref(), Some("three"));

    let wrong = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(wrong.path(), "not-the-token").unwrap();
    let cache2 = tempfile::tempdir().unwrap();
    let refused = driftless_with_env(
        &[
            "diff",
            "--source",
            &url,
            "--cache-dir",
            &cache2.path().to_string_lossy(),
            "--git-token-file",
            &wrong.path().to_string_lossy(),
        ],
        &ca,
    );
    assert_eq!(refused.code, 2);
    assert_contains!(refused.stderr, "authentication to https://127.0.0.1");
    assert_not_contains!(
        refused.all_output(),
        "not-the-token",
        "the token never prints"
    );

    let plain = s.url("GIT_TESTENV_HTTP", &repo);
    let cache3 = tempfile::tempdir().unwrap();
    let over_http = driftless_with_env(
        &[
            "diff",
            "--source",
            &plain,
            "--cache-dir",
            &cache3.path().to_string_lossy(),
            "--git-token-file",
            s.get("GIT_TESTENV_TOKEN_FILE"),
            // Another port is another server, so another source: a preview of moving the set.
            "--take-over-set",
        ],
        &[],
    );
    assert_eq!(
        over_http.code, 0,
        "plain http works too: {}",
        over_http.stderr
    );
    let token = std::fs::read_to_string(s.get("GIT_TESTENV_TOKEN_FILE")).unwrap();
    for r in [&synced, &refused, &over_http] {
        assert_not_contains!(r.all_output(), token.trim(), "the token never prints");
    }
    support::delete_namespaces(&[ns]).await;
}

#[tokio::test]
async fn ssh_with_a_key_checks_the_host_key() {
    let s = servers();
    let ns = support::unique("dl-ssh");
    let repo = TestRepo::served();
    repo.write("app.yaml", &platform(&ns, "ssh"));
    let commit = repo.commit("over ssh");
    let url = s.url("GIT_TESTENV_SSH", &repo);
    let cache = tempfile::tempdir().unwrap();
    let cache_arg = cache.path().to_string_lossy().into_owned();
    let ssh = |key: &str, known_hosts: &str, extra: &[&str]| {
        let mut args = vec![
            "sync",
            "--source",
            url.as_str(),
            "--cache-dir",
            cache_arg.as_str(),
            "--git-ssh-key-file",
            key,
            "--git-known-hosts-file",
            known_hosts,
        ];
        args.extend_from_slice(extra);
        driftless_with_env(&args, &[])
    };
    let (key, known) = (
        s.get("GIT_TESTENV_SSH_KEY"),
        s.get("GIT_TESTENV_KNOWN_HOSTS"),
    );

    let empty = tempfile::NamedTempFile::new().unwrap();
    let empty = empty.path().to_string_lossy().into_owned();
    let unknown = ssh(key, &empty, &[]);
    assert_eq!(unknown.code, 2);
    assert_contains!(unknown.stderr, ["is not in", "refusing an unknown host"]);

    let stranger = ssh(s.get("GIT_TESTENV_SSH_OTHER_KEY"), known, &[]);
    assert_eq!(stranger.code, 2);
    assert_contains!(stranger.stderr, "authentication to ssh://");

    let synced = ssh(key, known, &[]);
    assert_eq!(synced.code, 0, "{}", synced.stderr);
    assert_contains!(synced.stdout, format!("at {commit}"));
    assert_eq!(live_value(&ns).await.as_deref(), Some("ssh"));

    let skipped = ssh(key, &empty, &["--git-insecure-skip-host-key-check"]);
    assert_eq!(skipped.code, 0, "{}", skipped.stderr);
    support::delete_namespaces(&[ns]).await;
}

#[tokio::test]
async fn symlinks_that_leave_the_repository_are_refused() {
    let repo = TestRepo::local();
    repo.write("ok.yaml", &platform("dl-unused", "x"));
    repo.symlink("evil.yaml", "../../../../etc/passwd");
    repo.commit("evil");
    let cache = tempfile::tempdir().unwrap();
    let rendered = run("render", &repo.file_url(), cache.path(), &[]);
    assert_eq!(rendered.code, 2);
    assert_contains!(rendered.stderr, ["evil.yaml", "leaves the repository"]);
    let escaped = run(
        "render",
        &repo.file_url(),
        cache.path(),
        &["--path", "../x"],
    );
    assert_eq!(escaped.code, 2);
    assert_contains!(escaped.stderr, "without `..`");
}
