//! The offline preview (`diff --base-source`) with charts from a repository: resolved from the
//! cache without a request once fetched; a chart that cannot be fetched (no network) is
//! reported per folder as not compared, the rest of the preview goes on, and the exit code is
//! never 0 over what was not compared.

use super::charts::package_versions;
use super::{Access, configmap, source, strs};
use crate::support::charts::{self, servers};
use crate::support::{offline, unique};

fn settings(repo: &str, chart: &str) -> String {
    format!("namespace: apps\nrepo: {repo}\nchart: {chart}\nversion: \"1.x\"\n")
}

fn preview(base: &std::path::Path, head: &std::path::Path, args: &[String]) -> crate::support::Run {
    let mut all = vec![
        "diff".to_string(),
        "--base-source".into(),
        base.display().to_string(),
        "--source".into(),
        head.display().to_string(),
    ];
    all.extend(args.iter().cloned());
    offline(&strs(&all))
}

#[test]
fn a_preview_resolves_charts_from_the_cache_and_names_what_it_could_not_fetch() {
    let name = unique("preview");
    let work = tempfile::tempdir().unwrap();
    let folder = unique("repo");
    let mut repo = String::new();
    for tgz in package_versions(work.path(), &name, &["1.0.0", "1.1.0"]) {
        repo = charts::publish_https_in("charts", &folder, &tgz);
    }
    let files = |value: &str, repo: &str| {
        source(&[
            ("web/driftless-helm.yaml", &settings(repo, &name)),
            ("plain.yaml", &configmap("apps", "plain", value)),
        ])
    };
    let (base, head) = (files("one", &repo), files("two", &repo));
    let access = Access::new();

    let first = preview(base.path(), head.path(), &access.args());
    assert_eq!(first.code, 1, "the ConfigMap changed");
    assert_contains!(first.stderr, format!("chart {name} 1.1.0 (sha256:"));
    assert_contains!(first.stdout, "plain");
    assert_not_contains!(
        first.stdout,
        format!("web-{name}"),
        "the chart is the same on both sides"
    );

    // A new version published: the preview keeps what its cache resolved, with no request.
    let newer = package_versions(work.path(), &name, &["1.2.0"]);
    charts::publish_https_in("charts", &folder, &newer[0]);
    let requests = || {
        servers()
            .nginx_log()
            .lines()
            .filter(|l| l.contains(&folder))
            .count()
    };
    let before = requests();
    let again = preview(base.path(), head.path(), &access.args());
    assert_eq!(again.code, 1);
    assert_contains!(again.stderr, format!("chart {name} 1.1.0 (sha256:"));
    assert_eq!(requests(), before, "no request: the cache answered");

    // No cache and no network (a host that never answers): that chart is not compared, the rest
    // is, and the exit code says a difference may hide there.
    let dead = format!("https://{}/charts", servers().hang());
    let (base, head) = (files("one", &dead), files("one", &dead));
    let fresh = Access::new();
    let mut args = fresh.args();
    args.extend([
        "--allow-host".into(),
        servers().hang().into(),
        "--fetch-timeout".into(),
        "1s".into(),
    ]);
    let run = preview(base.path(), head.path(), &args);
    assert_eq!(run.code, 1, "never 0 over what was not compared");
    assert_contains!(
        run.stderr,
        format!("not compared: web: needs network: chart {name} 1.x from {dead}")
    );
    assert_contains!(run.stderr, "(its objects are left out)");
    let json = preview(
        base.path(),
        head.path(),
        &[args.clone(), vec!["-o".into(), "json".into()]].concat(),
    );
    assert_eq!(json.code, 1);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["unavailable"][0]["folder"], "web", "{report:#}");
}
