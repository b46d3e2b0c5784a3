//! Credential files with syntax errors, each holding a canary: a kubeconfig (its YAML, a key file
//! it names, inline key data, an exec plugin's output), a Git token file, an SSH key, its
//! passphrase and known_hosts files, a webhook secret. Every command that reads one, at `-vv` in
//! every output format, names the file and prints not one byte of what it holds.

use super::{CANARY, canaries};
use crate::support::agent::AgentProcess;
use crate::support::git::{TestRepo, servers};
use crate::support::{self, Run, Workspace, driftless_as};

const FORMATS: [&str; 3] = ["text", "json", "markdown"];

/// A kubeconfig for an unreachable server whose user is `user` (indented lines).
fn kubeconfig(user: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: 'https://127.0.0.1:1'}}\n\
         users:\n- name: u\n  user:\n{user}\ncontexts:\n- name: x\n  context: {{cluster: c, user: u}}\n\
         current-context: x\n"
    )
}

/// Broken kubeconfigs (and the files they name) in `ws`: their paths.
fn broken_kubeconfigs(ws: &Workspace) -> Vec<String> {
    let dir = ws.path().display();
    ws.write(
        "key.pem",
        &format!("-----BEGIN PRIVATE KEY {CANARY}\n{CANARY}\n-----END PRIVATE KEY-----\n"),
    );
    ws.write(
        "cert.pem",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    );
    ws.write(
        "plugin.sh",
        // On stdout, which driftless reads (its stderr is the terminal's, as with kubectl).
        &format!("echo '{{\"status\": {{\"token\": \"{CANARY}'; exit 1\n"),
    );
    ws.write("garbled.sh", &format!("echo '{{\"kind\": {CANARY}'\n"));
    let exec = |script: &str| {
        format!(
            "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      \
             command: sh\n      args: ['{dir}/{script}']"
        )
    };
    let users = [
        format!("    token: {CANARY}: oops"),
        format!("    {CANARY}"),
        format!("    token: {{{CANARY}: [1]}}"),
        format!("    client-certificate-data: {CANARY}!!\n    client-key-data: {CANARY}!!"),
        format!("    client-certificate: {dir}/cert.pem\n    client-key: {dir}/key.pem"),
        format!("    token: \"{CANARY}\\n{CANARY}\""),
        exec("plugin.sh"),
        exec("garbled.sh"),
    ];
    let mut paths = Vec::new();
    for (i, user) in users.iter().enumerate() {
        let name = format!("broken-{i}.kubeconfig");
        ws.write(&name, &kubeconfig(user));
        paths.push(ws.file(&name).to_string_lossy().into_owned());
    }
    paths
}

/// Asserts no canary, in any encoding, is in what `runs` printed.
fn assert_no_canary(runs: &[Run]) {
    let everything: String = runs.iter().map(Run::all_output).collect();
    for (needle, what) in canaries() {
        let hits = everything.matches(needle.as_str()).count();
        assert_eq!(hits, 0, "{what} appears {hits} times in driftless's output");
    }
}

#[test]
fn broken_kubeconfigs_are_named_never_quoted() {
    let ws = Workspace::new();
    ws.write(
        "manifests/ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: dl-leak-kc\n",
    );
    let src = ws.file("manifests").to_string_lossy().into_owned();
    let mut runs = Vec::new();
    for path in broken_kubeconfigs(&ws) {
        for format in FORMATS {
            for command in ["diff", "sync"] {
                let run = driftless_as(
                    path.as_ref(),
                    &[command, "--source", &src, "-vv", "-o", format],
                    &[],
                );
                assert_eq!(run.code, 2, "{}", run.stderr);
                assert_contains!(
                    run.stderr,
                    format!("cannot connect to the cluster: kubeconfig {path}"),
                    "names the file"
                );
                runs.push(run);
            }
        }
    }
    assert_no_canary(&runs);
}

#[test]
fn broken_git_credential_files_are_named_never_quoted() {
    let s = servers();
    let ws = Workspace::new();
    let repo = TestRepo::served();
    repo.write(
        "ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: dl-leak-git\n",
    );
    repo.commit("one");
    ws.write("token", &format!("token: {CANARY}\n  - oops: [\n"));
    ws.write(
        "id_broken",
        &format!("-----BEGIN OPENSSH PRIVATE KEY-----\n{CANARY}:{CANARY}\n-----END\n"),
    );
    ws.write("passphrase", &format!("{CANARY}\n{CANARY}: [\n"));
    ws.write(
        "known_hosts",
        &format!("{CANARY} ssh-ed25519 [{CANARY}\n|1|{CANARY}|\n"),
    );
    let file = |name: &str| ws.file(name).to_string_lossy().into_owned();
    let (http, ssh) = (
        s.url("GIT_TESTENV_HTTP", &repo),
        s.url("GIT_TESTENV_SSH", &repo),
    );
    let (key, known) = (
        s.get("GIT_TESTENV_SSH_KEY"),
        s.get("GIT_TESTENV_KNOWN_HOSTS"),
    );
    let cases: [(&str, Vec<String>, &str); 4] = [
        (
            &http,
            vec!["--git-token-file".into(), file("token")],
            "token",
        ),
        (
            &ssh,
            vec![
                "--git-ssh-key-file".into(),
                file("id_broken"),
                "--git-known-hosts-file".into(),
                known.into(),
            ],
            "id_broken",
        ),
        (
            &ssh,
            vec![
                "--git-ssh-key-file".into(),
                key.into(),
                "--git-ssh-passphrase-file".into(),
                file("passphrase"),
                "--git-known-hosts-file".into(),
                known.into(),
            ],
            "passphrase",
        ),
        (
            &ssh,
            vec![
                "--git-ssh-key-file".into(),
                key.into(),
                "--git-known-hosts-file".into(),
                file("known_hosts"),
            ],
            "known_hosts",
        ),
    ];
    let mut runs = Vec::new();
    for (url, credentials, named) in &cases {
        for format in FORMATS {
            let cache = tempfile::tempdir().unwrap();
            let cache = cache.path().to_string_lossy().into_owned();
            let mut args = vec!["diff", "--source", url, "--cache-dir", &cache, "-vv"];
            args.extend(["-o", format]);
            args.extend(credentials.iter().map(String::as_str));
            let run = support::driftless(&args);
            assert_eq!(run.code, 2, "{}", run.stderr);
            assert_contains!(run.stderr, file(named), "names {named}");
            runs.push(run);
        }
    }
    assert_no_canary(&runs);
}

#[tokio::test]
async fn a_broken_webhook_secret_file_is_never_quoted() {
    let set = support::unique("agent-leak");
    let ws = Workspace::new();
    let repo = TestRepo::local();
    repo.write(
        "ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: dl-leak-hook\n",
    );
    repo.commit("one");
    // Not a secret's plain text: a YAML fragment with the canary, then bytes that are not UTF-8.
    let mut secret = format!("secret: {CANARY}\n  - oops: [\n").into_bytes();
    secret.extend_from_slice(&[0xff, 0xfe, b'\n']);
    std::fs::write(ws.file("hook-secret"), &secret).unwrap();
    let config = format!(
        "apiVersion: driftless.dev/v1alpha1\nkind: AgentConfig\nsets:\n  - name: {set}\n    \
         source:\n      git: {{url: '{}', revision: main}}\n    interval: 1h\n    \
         webhook: {{provider: gitlab, secretFile: '{}'}}\n",
        repo.file_url(),
        ws.file("hook-secret").display()
    );
    ws.write("agent.yaml", &config);
    let agent = AgentProcess::start_verbose(&ws.file("agent.yaml"), "leak-hook", ws.path());
    agent.wait_ready().await;
    let path = format!("/hook/{set}");
    let mut answers = String::new();
    for token in ["wrong", CANARY, &format!("secret: {CANARY}")] {
        let (status, body) = agent.post(&path, &[("X-Gitlab-Token", token)], b"{}");
        assert_eq!(status, 401, "{body}");
        answers.push_str(&body);
    }
    for page in ["/metrics", "/report", "/readyz"] {
        answers.push_str(&agent.get(page).map(|(_, body)| body).unwrap_or_default());
    }
    let run = Run {
        code: 0,
        stdout: answers,
        stderr: agent.log(),
    };
    assert_contains!(run.stderr, set, "the agent logged");
    assert_no_canary(&[run]);
}

/// Registry and chart repository credentials holding a canary: a docker config.json that is no
/// JSON, one whose password is wrong, `--remote-auth` password and token files that are wrong.
/// Each is refused naming the file or the host, and no byte of the canary is printed.
#[test]
fn registry_and_chart_repository_credentials_are_never_quoted() {
    use crate::support::charts::{self as chart_servers, Artifact};
    let s = chart_servers::servers();
    let ws = Workspace::new();
    let name = support::unique("leak");
    let work = tempfile::tempdir().unwrap();
    let chart = chart_servers::new_chart(work.path(), &name, "1.0.0", &[]);
    let tgz = chart_servers::package(&chart, work.path());
    let private = chart_servers::publish_https_in("private", &support::unique("leak"), &tgz);
    let repo = support::unique("leak/artifact");
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(chart_servers::push(
            s.registry(),
            &repo,
            "v1",
            &Artifact::flux(&[("a.yaml", "x: 1\n")]),
        ));
    let https_host = private.split('/').nth(2).unwrap().to_string();
    ws.write(
        "chart/driftless-helm.yaml",
        &format!("namespace: apps\nrepo: {private}\nchart: {name}\nversion: 1.0.0\n"),
    );
    ws.write("garbled.json", &format!("{{\"auths\": {{\"{CANARY}\": [\n"));
    let auth = super::b64(&format!("{}:{CANARY}", s.registry_user()));
    ws.write(
        "wrong.json",
        &format!(
            r#"{{"auths": {{"{}": {{"auth": "{auth}"}}}}}}"#,
            s.registry()
        ),
    );
    ws.write("basic/username", "helm\n");
    ws.write("basic/password", &format!("{CANARY}\n"));
    ws.write("bearer/token", &format!("{CANARY}\n"));
    let file = |name: &str| ws.file(name).to_string_lossy().into_owned();
    let artifact = format!("oci://{}/{repo}:v1", s.registry());
    let chart_dir = file("chart");
    let cases: [(&str, Vec<String>, &str); 4] = [
        (
            &artifact,
            vec!["--registry-config".into(), file("garbled.json")],
            "garbled.json",
        ),
        (
            &artifact,
            vec!["--registry-config".into(), file("wrong.json")],
            "401",
        ),
        (
            &chart_dir,
            vec![
                "--remote-auth".into(),
                format!("{https_host}={}", file("basic")),
            ],
            "401",
        ),
        (
            &chart_dir,
            vec![
                "--remote-auth".into(),
                format!("{https_host}={}", file("bearer")),
            ],
            "401",
        ),
    ];
    let mut runs = Vec::new();
    for (source, credentials, named) in &cases {
        for format in FORMATS {
            let cache = tempfile::tempdir().unwrap();
            let cache = cache.path().to_string_lossy().into_owned();
            let ca = s.ca().to_string_lossy().into_owned();
            let mut args = vec!["diff", "--source", source, "--cache-dir", &cache, "-vv"];
            args.extend([
                "-o",
                format,
                "--remote-ca-file",
                &ca,
                "--allow-host",
                &https_host,
            ]);
            args.extend(credentials.iter().map(String::as_str));
            let run = support::driftless(&args);
            assert_eq!(run.code, 2, "{}", run.stderr);
            assert_contains!(run.stderr, *named, "names {named}");
            runs.push(run);
        }
    }
    assert_no_canary(&runs);
}
