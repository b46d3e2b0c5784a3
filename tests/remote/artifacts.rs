//! OCI artifacts of manifests as a source: Flux's format and a plain tar+gzip layer render like a
//! folder; a hostile or oversized archive, a manifest without the layer, a registry that refuses
//! or hangs, each gets an error that names the source and quotes no credential.

use super::{Access, configmap, strs};
use crate::support::charts::{self, Artifact, Entry, OCI_LAYER, servers};
use crate::support::{offline, unique};

fn render(source: &str, access: &Access, extra: &[&str]) -> crate::support::Run {
    let mut args = vec!["render".to_string(), "--source".into(), source.to_string()];
    args.extend(access.args());
    args.extend(extra.iter().map(|s| s.to_string()));
    offline(&strs(&args))
}

#[tokio::test]
async fn a_flux_artifact_renders_like_a_folder_by_tag_and_by_digest() {
    let repo = unique("artifacts/platform");
    let files = [
        ("apps/a.yaml", configmap("apps", "a", "one").leak() as &str),
        ("apps/b.yaml", configmap("apps", "b", "two").leak()),
        ("README.md", "not a manifest\n"),
    ];
    let artifact = Artifact::flux(&files);
    let digest = charts::push(servers().registry(), &repo, "v1", &artifact).await;
    let access = Access::new();

    let by_tag = format!("oci://{}/{repo}:v1", servers().registry());
    let out = render(&by_tag, &access, &[]).succeeded("render an artifact by tag");
    assert_contains!(out, "name: a");
    assert_contains!(out, "value: two");

    let by_digest = format!("oci://{}/{repo}@{digest}", servers().registry());
    let again = render(&by_digest, &access, &[]).succeeded("render an artifact by digest");
    assert_eq!(again, out, "the same bytes render the same");

    let only = render(&by_tag, &access, &["--path", "apps"]).succeeded("render a folder of it");
    assert_contains!(only, "name: b");

    // The source's revision is the manifest digest, as a Git source's is its commit.
    let json = render(&by_tag, &access, &["--output", "json"]).succeeded("render as JSON");
    assert_contains!(json, digest.as_str());
}

#[tokio::test]
async fn a_plain_tar_gzip_layer_is_chosen_by_media_type() {
    let repo = unique("artifacts/plain");
    let tgz = charts::tgz(&[("cm.yaml", &configmap("apps", "plain", "three"))]);
    let mut artifact = Artifact::flux_tgz(charts::tgz(&[("other.yaml", "x: 1\n")]));
    artifact.layers[0].media_type = "application/vnd.example.notes.v1.tar+gzip".into();
    let artifact = artifact.with_layer(OCI_LAYER, tgz);
    charts::push(servers().registry(), &repo, "v1", &artifact).await;
    let access = Access::new();
    let source = format!("oci://{}/{repo}:v1", servers().registry());

    let run = render(&source, &access, &[]);
    assert_eq!(run.code, 2, "two tar+gzip layers and no choice");
    assert_contains!(run.stderr, source.as_str());
    assert_contains!(run.stderr, "--oci-layer-media-type");

    let out = render(&source, &access, &["--oci-layer-media-type", OCI_LAYER])
        .succeeded("render the chosen layer");
    assert_contains!(out, "name: plain");

    let run = render(
        &source,
        &access,
        &["--oci-layer-media-type", "application/x-none"],
    );
    assert_eq!(run.code, 2);
    assert_contains!(run.stderr, "no layer of media type application/x-none");
    assert_contains!(run.stderr, OCI_LAYER);
}

#[tokio::test]
async fn hostile_archives_are_refused_naming_the_entry() {
    let access = Access::new();
    let cm = configmap("apps", "x", "1");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "dotdot",
            charts::raw_tgz(&[
                Entry::File("ok.yaml", cm.as_bytes()),
                Entry::File("../escape.yaml", b"x: 1\n"),
            ]),
            "../escape.yaml",
        ),
        (
            "absolute",
            charts::raw_tgz(&[Entry::File("/etc/escape.yaml", b"x: 1\n")]),
            "/etc/escape.yaml",
        ),
        (
            "symlink",
            charts::raw_tgz(&[
                Entry::File("ok.yaml", cm.as_bytes()),
                Entry::Symlink("passwd.yaml", "/etc/passwd"),
            ]),
            "passwd.yaml",
        ),
        (
            "symlink-up",
            charts::raw_tgz(&[Entry::Symlink("up.yaml", "../../x.yaml")]),
            "up.yaml",
        ),
    ];
    for (name, layer, entry) in cases {
        let repo = unique(&format!("artifacts/{name}"));
        charts::push(
            servers().registry(),
            &repo,
            "v1",
            &Artifact::flux_tgz(layer),
        )
        .await;
        let source = format!("oci://{}/{repo}:v1", servers().registry());
        let run = render(&source, &access, &[]);
        assert_eq!(run.code, 2, "{name}: refused");
        assert_contains!(run.stderr, source.as_str(), "{name}: names the source");
        assert_contains!(run.stderr, entry, "{name}: names the entry");
        assert_not_contains!(run.stdout, "name: x", "{name}: nothing rendered");
        assert!(!access.cache().join("../escape.yaml").exists());
    }
}

#[tokio::test]
async fn an_artifact_over_the_size_cap_is_refused() {
    let repo = unique("artifacts/big");
    let big = format!("data: {}\n", "a".repeat(300_000));
    let artifact = Artifact::flux(&[("big.yaml", &big)]);
    charts::push(servers().registry(), &repo, "v1", &artifact).await;
    let access = Access::new();
    let source = format!("oci://{}/{repo}:v1", servers().registry());
    let run = render(&source, &access, &["--max-total-size", "100KiB"]);
    assert_eq!(run.code, 2);
    assert_contains!(run.stderr, source.as_str());
    assert_contains!(run.stderr, "size cap");
}

#[tokio::test]
async fn a_registry_that_refuses_or_hangs_is_named_and_no_password_is_printed() {
    let repo = unique("artifacts/auth");
    charts::push(
        servers().registry(),
        &repo,
        "v1",
        &Artifact::flux(&[("a.yaml", "x: 1\n")]),
    )
    .await;
    let source = format!("oci://{}/{repo}:v1", servers().registry());
    let access = Access::new();

    // A config.json with the wrong password: a 401, and neither password printed.
    let wrong = access.dir.path().join("wrong.json");
    let bad = super::base64_encode(&format!(
        "{}:not-the-password-5150",
        servers().registry_user()
    ));
    std::fs::write(
        &wrong,
        format!(
            r#"{{"auths": {{"{}": {{"auth": "{bad}"}}}}}}"#,
            servers().registry()
        ),
    )
    .unwrap();
    let mut args = vec!["render".to_string(), "--source".into(), source.clone()];
    args.extend(access.args_with_config(&wrong));
    args.push("-vv".into());
    let run = offline(&strs(&args));
    assert_eq!(run.code, 2);
    assert_contains!(run.stderr, source.as_str());
    assert_contains!(run.stderr, "401");
    for secret in [
        "not-the-password-5150",
        bad.as_str(),
        servers().registry_password().as_str(),
    ] {
        assert_not_contains!(run.all_output(), secret, "no credential printed");
    }

    // A registry that never answers: bounded by --fetch-timeout.
    let hang = format!("oci://{}/platform:v1", servers().hang());
    let started = std::time::Instant::now();
    let mut args = vec!["render".to_string(), "--source".into(), hang.clone()];
    args.extend(access.args());
    args.extend(["--fetch-timeout".into(), "2s".into()]);
    let run = offline(&strs(&args));
    assert_eq!(run.code, 2);
    assert_contains!(run.stderr, servers().hang());
    assert_contains!(run.stderr, "--fetch-timeout");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "bounded"
    );
}
