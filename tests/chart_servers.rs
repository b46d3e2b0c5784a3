//! The chart and artifact servers of `support::charts` work as the real clients expect: helm
//! pushes to and pulls from the registry with auth, Helm repositories over https refuse a
//! client without credentials, and artifacts pushed in Flux's format read back as pushed. No
//! cluster is needed.

use std::path::Path;

use crate::support::charts::{self, Artifact, Entry, servers};
use crate::support::{Run, unique};

const CONFIGMAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  value: one\n";

fn helm_pull(home: Option<&Path>, args: &[&str], dest: &Path) -> Run {
    // helm v4 writes into `-d` only if it exists.
    std::fs::create_dir_all(dest).unwrap();
    let mut command = match home {
        Some(home) => charts::helm_command_in(home),
        None => charts::helm_command(),
    };
    let out = command
        .arg("pull")
        .args(args)
        .arg("--ca-file")
        .arg(servers().ca())
        .arg("-d")
        .arg(dest)
        .output()
        .expect("run helm pull");
    Run::from_output(out)
}

#[test]
fn a_chart_pushed_with_helm_pulls_back_over_oci_only_when_logged_in() {
    let work = tempfile::tempdir().unwrap();
    let name = unique("chart");
    let chart = charts::new_chart(work.path(), &name, "1.2.3", &[("cm.yaml", CONFIGMAP)]);
    let tgz = charts::package(&chart, work.path());
    assert_eq!(tgz, work.path().join(format!("{name}-1.2.3.tgz")));
    let repo = unique("charts");
    let base = charts::push_oci(&tgz, &repo);
    assert_eq!(base, format!("oci://{}/{repo}", servers().registry()));

    let pulled = work.path().join("pulled");
    let url = format!("{base}/{name}");
    let run = helm_pull(None, &[&url, "--version", "1.2.3"], &pulled);
    run.succeeded("helm pull over OCI");
    let back = std::fs::read(pulled.join(format!("{name}-1.2.3.tgz"))).unwrap();
    assert_eq!(
        back,
        std::fs::read(&tgz).unwrap(),
        "the same bytes come back"
    );

    let stranger = tempfile::tempdir().unwrap();
    let refused = helm_pull(
        Some(stranger.path()),
        &[&url, "--version", "1.2.3"],
        &pulled,
    );
    assert_ne!(refused.code, 0, "a helm that never logged in is refused");
    // helm v4 (oras-go) names what it lacks: "basic credential not found".
    assert_contains!(refused.stderr, "credential not found");
}

#[tokio::test]
async fn https_repositories_serve_indexed_charts_to_who_may_read_them() {
    let work = tempfile::tempdir().unwrap();
    let name = unique("chart");
    let chart = charts::new_chart(work.path(), &name, "0.1.0", &[("cm.yaml", CONFIGMAP)]);
    let tgz = charts::package(&chart, work.path());
    let url = charts::publish_https("private", &tgz);
    assert_eq!(url, servers().repo_private_url());
    for secret in [servers().repo_password_file(), servers().repo_token_file()] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secret).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "{} is the owner's only",
            secret.display()
        );
    }

    let pulled = work.path().join("pulled");
    let password = servers().repo_password();
    let user = servers().repo_user();
    let with_password = ["--repo", &url, "--username", user, "--password", &password];
    let run = helm_pull(
        None,
        &[&[name.as_str()][..], &with_password].concat(),
        &pulled,
    );
    run.succeeded("helm pull --repo with the password");
    assert!(pulled.join(format!("{name}-0.1.0.tgz")).is_file());
    let refused = helm_pull(None, &[&name, "--repo", &url], &pulled);
    assert_ne!(refused.code, 0, "no password, no chart");
    assert_contains!(refused.stderr, "401");

    // The bearer repository, in a folder of this test's own: the token or nothing.
    let folder = unique("repo");
    let url = charts::publish_https_in("bearer", &folder, &tgz);
    assert_eq!(url, format!("{}/{folder}", servers().repo_bearer_url()));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = reqwest::Certificate::from_pem(&std::fs::read(servers().ca()).unwrap()).unwrap();
    let http = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let index = format!("{url}/index.yaml");
    let status = |request: reqwest::RequestBuilder| async move {
        request.send().await.unwrap().status().as_u16()
    };
    assert_eq!(status(http.get(&index)).await, 401);
    assert_eq!(status(http.get(&index).bearer_auth("wrong")).await, 401);
    let token = servers().repo_token();
    let answer = http.get(&index).bearer_auth(&token).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    let text = answer.text().await.unwrap();
    assert_contains!(
        text,
        format!("{url}/{name}-0.1.0.tgz"),
        "helm indexed it there"
    );
}

#[tokio::test]
async fn artifacts_pushed_in_fluxs_format_read_back_as_pushed() {
    let files = [
        ("deploy/app.yaml", "kind: ConfigMap\n"),
        ("README.md", "not a manifest\n"),
    ];
    let registry = servers().registry();
    let repo = format!("artifacts/{}", unique("app"));
    let digest = charts::push_artifact(
        registry,
        &repo,
        "v1",
        &files,
        charts::FLUX_CONTENT,
        charts::FLUX_CONFIG,
    )
    .await;

    let (manifest, pulled_digest) = charts::pull_manifest(registry, &repo, "v1").await;
    assert_eq!(pulled_digest, digest);
    assert_eq!(manifest.media_type.as_deref(), Some(charts::OCI_MANIFEST));
    assert_eq!(manifest.config.media_type, charts::FLUX_CONFIG);
    assert_eq!(manifest.layers.len(), 1);
    assert_eq!(manifest.layers[0].media_type, charts::FLUX_CONTENT);
    let annotations = manifest.annotations.clone().unwrap_or_default();
    for key in [charts::CREATED, charts::SOURCE, charts::REVISION] {
        assert!(annotations.contains_key(key), "{key} in {annotations:?}");
    }
    let layer = charts::pull_blob(registry, &repo, &manifest.layers[0]).await;
    let unpacked = charts::untgz(&layer);
    let expected = [
        ("README.md".to_string(), files[1].1.to_string()),
        ("deploy/app.yaml".to_string(), files[0].1.to_string()),
    ];
    assert_eq!(unpacked, expected, "Flux's walk order, every file");
    let (manifest, _) = charts::pull_manifest(registry, &repo, &digest).await;
    assert_eq!(manifest.layers[0].digest, charts::sha256_digest(&layer));
    let config = charts::pull_blob(registry, &repo, &manifest.config).await;
    let config: serde_json::Value = serde_json::from_slice(&config).unwrap();
    assert_eq!(
        config["rootfs"]["type"], "layers",
        "a config as Flux's: {config}"
    );

    // Several layers, one of them hostile, on the anonymous registry.
    let anon = servers().registry_anon();
    let hostile = charts::raw_tgz(&[
        Entry::File("../escape.yaml", b"kind: Secret\n"),
        Entry::Symlink("link", "/etc"),
        Entry::Hardlink("passwd", "/etc/passwd"),
    ]);
    let artifact =
        Artifact::flux_tgz(b"no gzip".to_vec()).with_layer(charts::OCI_LAYER, hostile.clone());
    charts::push(anon, &repo, "v2", &artifact).await;
    let (manifest, _) = charts::pull_manifest(anon, &repo, "v2").await;
    let types: Vec<&str> = manifest
        .layers
        .iter()
        .map(|l| l.media_type.as_str())
        .collect();
    assert_eq!(types, [charts::FLUX_CONTENT, charts::OCI_LAYER]);
    assert_eq!(
        charts::pull_blob(anon, &repo, &manifest.layers[1]).await,
        hostile
    );

    // Where no credentials are given, the registry with auth refuses.
    let image = format!("{registry}/{repo}:v1").parse().unwrap();
    let anonymous = oci_client::secrets::RegistryAuth::Anonymous;
    let refused = charts::oci_client()
        .pull_image_manifest(&image, &anonymous)
        .await;
    assert!(
        refused.is_err(),
        "anonymous pull from the registry with auth"
    );

    // And the port that hangs never answers.
    let image = format!("{}/{repo}:v1", servers().hang()).parse().unwrap();
    let client = charts::oci_client();
    let hung = tokio::time::timeout(
        std::time::Duration::from_secs(1),
        client.pull_image_manifest(&image, &anonymous),
    )
    .await;
    assert!(hung.is_err(), "no answer within 1 s: {hung:?}");
}
