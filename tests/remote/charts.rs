//! Charts from repositories: a `driftless-helm.yaml` naming `repo`, `chart` and `version` (or a
//! range) renders that chart with the folder's values; the version and digest it resolved to are
//! in the report and on the set's Lease. Private repositories take credentials from files; bad
//! input (an unknown chart or version, a range with no match, a tampered archive, a host the set
//! does not name) is an error naming the chart, with nothing applied.

use std::path::Path;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;

use super::{Access, source, strs};
use crate::support::charts::{self, servers};
use crate::support::{self, offline, unique};

/// A ConfigMap named after the release, saying the chart's version and `.Values.greeting`.
pub const TEMPLATE: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-{{ .Chart.Name }}\ndata:\n  version: {{ .Chart.Version | quote }}\n  greeting: {{ .Values.greeting | default \"hello\" | quote }}\n";

/// Packages chart NAME at each of `versions` into `work`; their .tgz files.
pub fn package_versions(work: &Path, name: &str, versions: &[&str]) -> Vec<std::path::PathBuf> {
    versions
        .iter()
        .map(|v| {
            let dir = work.join(format!("src-{v}"));
            let chart = charts::new_chart(&dir, name, v, &[("cm.yaml", TEMPLATE)]);
            charts::package(&chart, work)
        })
        .collect()
}

/// Publishes `name` at `versions` into a repository of its own under `sub`; its URL.
fn publish(sub: &str, name: &str, versions: &[&str]) -> String {
    let work = tempfile::tempdir().unwrap();
    let folder = unique("repo");
    let mut url = String::new();
    for tgz in package_versions(work.path(), name, versions) {
        url = charts::publish_https_in(sub, &folder, &tgz);
    }
    url
}

fn settings(namespace: &str, repo: &str, chart: &str, version: &str) -> String {
    format!("namespace: {namespace}\nrepo: {repo}\nchart: {chart}\nversion: \"{version}\"\n")
}

fn render(dir: &Path, args: &[String]) -> support::Run {
    let dir = dir.display().to_string();
    let mut all = vec!["render".to_string(), "--source".into(), dir];
    all.extend(args.iter().cloned());
    offline(&strs(&all))
}

#[test]
fn a_range_renders_the_newest_match_with_the_folders_values() {
    let name = unique("web");
    let repo = publish("charts", &name, &["1.0.0", "1.4.2", "2.0.0", "1.5.0-rc.1"]);
    let src = source(&[
        (
            "web/driftless-helm.yaml",
            &settings("apps", &repo, &name, "^1.0"),
        ),
        ("web/values.yaml", "greeting: from-git\n"),
    ]);
    let access = Access::new();
    let out =
        render(src.path(), &access.args()).succeeded("render a chart from an https repository");
    assert_contains!(
        out,
        "version: \"1.4.2\"",
        "the newest 1.x, not the prerelease"
    );
    assert_contains!(out, "greeting: from-git");
    assert_contains!(out, "namespace: apps");

    let json = render(
        src.path(),
        &[access.args(), vec!["-o".into(), "json".into()]].concat(),
    )
    .succeeded("render as JSON");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let chart = &report["charts"][0];
    assert_eq!(chart["chart"], name.as_str());
    assert_eq!(chart["version"], "1.4.2");
    let tgz = std::fs::read(
        servers()
            .repo_dir()
            .join("charts")
            .join(repo.rsplit('/').next().unwrap())
            .join(format!("{name}-1.4.2.tgz")),
    )
    .unwrap();
    assert_eq!(
        chart["digest"],
        charts::sha256_digest(&tgz),
        "the archive's digest"
    );

    // A pinned version is read from the cache: the repository is not asked again.
    let pinned = source(&[
        (
            "web/driftless-helm.yaml",
            &settings("apps", &repo, &name, "1.4.2"),
        ),
        ("web/values.yaml", "greeting: from-git\n"),
    ]);
    let before = nginx_requests(&name);
    let again = render(pinned.path(), &access.args()).succeeded("render the pinned version");
    assert_eq!(again, out);
    assert_eq!(
        nginx_requests(&name),
        before,
        "no request for a cached exact version"
    );
}

/// Requests nginx served that name `needle`.
fn nginx_requests(needle: &str) -> usize {
    servers()
        .nginx_log()
        .lines()
        .filter(|l| l.contains(needle))
        .count()
}

#[test]
fn private_repositories_take_credentials_from_files_and_never_print_them() {
    let name = unique("private");
    let private = publish("private", &name, &["0.1.0"]);
    let bearer = publish("bearer", &name, &["0.2.0"]);
    let access = Access::new();
    let src =
        |repo: &str| source(&[("p/driftless-helm.yaml", &settings("apps", repo, &name, "*"))]);
    let basic = src(&private);
    let out = render(basic.path(), &access.args_private()).succeeded("basic auth from files");
    assert_contains!(out, "version: \"0.1.0\"");
    let token = src(&bearer);
    let out = render(token.path(), &access.args_bearer()).succeeded("a bearer token from a file");
    assert_contains!(out, "version: \"0.2.0\"");

    let mut loud = access.args();
    loud.push("-vv".into());
    let refused = render(basic.path(), &loud);
    assert_eq!(refused.code, 2, "no credentials: refused");
    assert_contains!(refused.stderr, "401");
    assert_contains!(refused.stderr, name.as_str(), "names the chart");
    assert_contains!(refused.stderr, "--remote-auth");
    let mut loud = access.args_private();
    loud.push("-vv".into());
    let run = render(basic.path(), &loud);
    for secret in [
        servers().repo_password(),
        servers().repo_token(),
        servers().registry_password(),
    ] {
        assert_not_contains!(run.all_output(), secret.as_str(), "a credential printed");
        assert_not_contains!(
            refused.all_output(),
            secret.as_str(),
            "a credential printed"
        );
    }
}

#[test]
fn a_chart_pushed_to_a_registry_with_helm_renders_from_oci() {
    let work = tempfile::tempdir().unwrap();
    let name = unique("ocichart");
    let path = unique("charts");
    let mut base = String::new();
    for tgz in package_versions(work.path(), &name, &["3.1.0", "3.2.0", "4.0.0"]) {
        base = charts::push_oci(&tgz, &path);
    }
    let src = source(&[(
        "o/driftless-helm.yaml",
        &settings("apps", &base, &name, "~3"),
    )]);
    let access = Access::new();
    let json = render(
        src.path(),
        &[access.args(), vec!["-o".into(), "json".into()]].concat(),
    )
    .succeeded("render an OCI chart");
    assert_contains!(json, "3.2.0");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["charts"][0]["version"], "3.2.0");
    let digest = report["charts"][0]["digest"].as_str().unwrap().to_string();
    assert!(digest.starts_with("sha256:"), "{digest}");
    // The digest is the manifest's, as `helm pull` prints it.
    let (_, manifest_digest) =
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(charts::pull_manifest(
                servers().registry(),
                &format!("{path}/{name}"),
                "3.2.0",
            ));
    assert_eq!(digest, manifest_digest);
}

#[test]
fn bad_chart_references_are_errors_naming_the_chart() {
    let name = unique("bad");
    let repo = publish("charts", &name, &["1.0.0", "1.1.0"]);
    let access = Access::new();
    let cases = [
        (
            settings("apps", &repo, "no-such-chart", "1.0.0"),
            vec!["no chart named no-such-chart", name.as_str()],
        ),
        (
            settings("apps", &repo, &name, "9.9.9"),
            vec!["9.9.9", "1.1.0"],
        ),
        (
            settings("apps", &repo, &name, ">=2.0.0"),
            vec![">=2.0.0", "newest: 1.1.0"],
        ),
        (
            settings("apps", &repo, &name, "not a range"),
            vec!["not a range"],
        ),
    ];
    for (text, wanted) in cases {
        let src = source(&[("c/driftless-helm.yaml", &text)]);
        let run = render(src.path(), &access.args());
        assert_eq!(run.code, 2, "refused: {text}");
        assert_contains!(
            run.stderr,
            "c (chart): chart ",
            "names the folder and the chart"
        );
        for w in wanted {
            assert_contains!(run.stderr, w);
        }
        assert_eq!(run.stdout, "", "nothing rendered");
    }

    // A host the set does not name is never asked.
    let src = source(&[(
        "c/driftless-helm.yaml",
        &settings("apps", "https://charts.example.invalid", &name, "1.0.0"),
    )]);
    let run = render(src.path(), &access.args());
    assert_eq!(run.code, 2);
    assert_contains!(run.stderr, "charts.example.invalid is not allowed");
    assert_contains!(run.stderr, "--allow-host charts.example.invalid");
}

#[test]
fn a_tampered_archive_is_refused_by_its_digest() {
    let name = unique("tamper");
    let repo = publish("charts", &name, &["1.0.0"]);
    let folder = repo.rsplit('/').next().unwrap();
    let tgz = servers()
        .repo_dir()
        .join("charts")
        .join(folder)
        .join(format!("{name}-1.0.0.tgz"));
    // Another chart's bytes under the indexed name: a valid archive, the wrong digest.
    let work = tempfile::tempdir().unwrap();
    let other = package_versions(work.path(), &name, &["1.0.0"]);
    let mut bytes = std::fs::read(&other[0]).unwrap();
    bytes.extend_from_slice(&[0; 16]);
    std::fs::write(&tgz, bytes).unwrap();
    let src = source(&[(
        "t/driftless-helm.yaml",
        &settings("apps", &repo, &name, "1.0.0"),
    )]);
    let access = Access::new();
    let run = render(src.path(), &access.args());
    assert_eq!(run.code, 2);
    assert_contains!(run.stderr, "digest mismatch");
    assert_contains!(run.stderr, name.as_str());
    assert!(
        !access.cache().join("blobs").exists()
            || std::fs::read_dir(access.cache().join("blobs/sha256"))
                .unwrap()
                .count()
                == 0,
        "nothing tampered is cached"
    );
}

#[tokio::test]
async fn sync_applies_a_repository_chart_and_records_what_it_resolved() {
    let name = unique("synced");
    let repo = publish("charts", &name, &["1.0.0", "1.2.0"]);
    let ns = unique("remote-chart");
    let src = source(&[
        (
            "web/driftless-helm.yaml",
            &settings(&ns, &repo, &name, "1.x"),
        ),
        ("web/values.yaml", "greeting: applied\n"),
        (
            "ns.yaml",
            &format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n"),
        ),
    ]);
    let access = Access::new();
    let diff = support::diff(src.path(), &strs(&access.args()));
    assert_eq!(diff.code, 1, "changes to make");
    assert_contains!(diff.stderr, format!("chart {name} 1.2.0 (sha256:"));
    support::sync(src.path(), &strs(&access.args())).succeeded("sync a repository chart");
    let cms: Api<ConfigMap> = Api::namespaced(support::client().await, &ns);
    let cm = cms.get(&format!("web-{name}")).await.unwrap();
    assert_eq!(cm.data.unwrap()["greeting"], "applied");

    let leases: Api<Lease> =
        Api::namespaced(support::client().await, support::inventory_namespace());
    let lease = leases
        .get(&format!("driftless-{}", support::set_name()))
        .await
        .unwrap();
    let charts = lease.metadata.annotations.unwrap()["driftless.dev/charts"].clone();
    assert_contains!(charts, format!("{name} 1.2.0 sha256:"));
    assert_contains!(charts, repo.as_str());

    // A new match: the next diff names the new version, and sync moves to it.
    let work = tempfile::tempdir().unwrap();
    let tgz = package_versions(work.path(), &name, &["1.3.0"]);
    let folder = repo.rsplit('/').next().unwrap();
    charts::publish_https_in("charts", folder, &tgz[0]);
    let diff = support::diff(src.path(), &strs(&access.args()));
    assert_eq!(diff.code, 1);
    assert_contains!(diff.stderr, format!("chart {name} 1.3.0 (sha256:"));
    support::delete_namespaces(&[ns]).await;
}
