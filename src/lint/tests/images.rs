//! Image references, `latest-tag` and `pull-policy`.

use super::*;

fn parts(image: &str) -> (Option<&str>, &str, Option<&str>, Option<&str>) {
    let r = ImageRef::parse(image).expect("parses");
    (r.registry, r.repository, r.tag, r.digest)
}

#[test]
fn registry_ports_tags_and_digests_parse_as_runtimes_read_them() {
    assert_eq!(parts("nginx"), (None, "nginx", None, None));
    assert_eq!(parts("nginx:1.27"), (None, "nginx", Some("1.27"), None));
    assert_eq!(
        parts("registry:5000/app"),
        (Some("registry:5000"), "app", None, None)
    );
    assert_eq!(
        parts("registry:5000/team/app:2.0.1"),
        (Some("registry:5000"), "team/app", Some("2.0.1"), None)
    );
    assert_eq!(
        parts("localhost/app"),
        (Some("localhost"), "app", None, None)
    );
    assert_eq!(
        parts("library/postgres:16"),
        (None, "library/postgres", Some("16"), None)
    );
    assert_eq!(
        parts("app@sha256:abcd"),
        (None, "app", None, Some("sha256:abcd"))
    );
    assert_eq!(
        parts("ghcr.io/o/app:1.0@sha256:abcd"),
        (Some("ghcr.io"), "o/app", Some("1.0"), Some("sha256:abcd"))
    );
    assert_eq!(ImageRef::parse("  "), None);
}

#[test]
fn pins() {
    let pin = |image: &str| ImageRef::parse(image).map(|r| r.pin());
    assert_eq!(pin("app@sha256:abcd"), Some(Pin::Digest));
    assert_eq!(pin("app:latest@sha256:abcd"), Some(Pin::Digest));
    assert_eq!(pin("registry:5000/app"), Some(Pin::Latest));
    assert_eq!(pin("app:LATEST"), Some(Pin::Latest));
    for release in [
        "app:1.2.3",
        "app:v2.14.1",
        "app:1.27.0-alpine",
        "minio:RELEASE.2024-06-13T22-53-53Z",
        "app:20240613",
        "app:sha-1a2b3c4",
    ] {
        assert_eq!(pin(release), Some(Pin::Release), "{release}");
    }
    for floating in [
        "app:1",
        "app:1.27",
        "postgres:16.3-bookworm",
        "app:stable",
        "app:main",
    ] {
        assert_eq!(pin(floating), Some(Pin::Floating), "{floating}");
    }
}

fn container(image: &str, policy: Option<&str>) -> String {
    let policy = policy.map_or(String::new(), |p| format!("\n  imagePullPolicy: {p}"));
    deployment(
        GOOD_POD,
        &format!(
            "{}{policy}",
            GOOD_CONTAINER.replace("registry.example.com/app:1.2.3", image)
        ),
    )
}

#[test]
fn latest_tag_fires_on_no_tag_and_latest_only() {
    let at = "spec.template.spec.containers[0].image".to_string();
    assert_eq!(
        of(Check::LatestTag, &container("nginx", None)),
        [(at.clone(), Severity::High)]
    );
    assert_eq!(
        of(Check::LatestTag, &container("nginx:latest", None)).len(),
        1
    );
    assert_eq!(
        of(Check::LatestTag, &container("registry:5000/app", None)).len(),
        1
    );
    for pinned in ["registry:5000/app:1.0.0", "app@sha256:abcd", "nginx:1.27"] {
        assert!(
            of(Check::LatestTag, &container(pinned, None)).is_empty(),
            "{pinned}"
        );
    }
    let message = &findings(&container("registry:5000/app", None))[0].message;
    assert!(
        message.contains("registry:5000/app has no tag"),
        "{message}"
    );
}

#[test]
fn latest_tag_looks_into_init_containers_and_cron_jobs() {
    let cron = "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c, namespace: ns}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          initContainers: [{name: i, image: busybox}]\n          containers: [{name: c, image: 'app:1.0.0'}]\n";
    assert_eq!(
        of(Check::LatestTag, cron),
        [(
            "spec.jobTemplate.spec.template.spec.initContainers[0].image".to_string(),
            Severity::High
        )]
    );
}

#[test]
fn pull_policy_fires_on_moving_tags_not_pulled_always() {
    let at = "spec.template.spec.containers[0].imagePullPolicy".to_string();
    assert_eq!(
        of(Check::PullPolicy, &container("nginx:1.27", None)),
        [(at, Severity::Low)]
    );
    assert_eq!(
        of(
            Check::PullPolicy,
            &container("nginx:1.27", Some("IfNotPresent"))
        )
        .len(),
        1
    );
    assert_eq!(
        of(
            Check::PullPolicy,
            &container("nginx:latest", Some("IfNotPresent"))
        )
        .len(),
        1
    );
    assert!(of(Check::PullPolicy, &container("nginx:1.27", Some("Always"))).is_empty());
    assert!(
        of(Check::PullPolicy, &container("nginx", None)).is_empty(),
        "latest defaults to Always"
    );
    assert!(of(Check::PullPolicy, &container("nginx:1.27.0", None)).is_empty());
    assert!(
        of(
            Check::PullPolicy,
            &container("nginx@sha256:abcd", Some("IfNotPresent"))
        )
        .is_empty()
    );
}
