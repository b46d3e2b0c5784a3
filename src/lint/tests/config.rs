//! `.driftless-lint.yaml` and `driftless.dev/lint-ignore`.

use super::*;

const LATEST: &str = "- name: app\n  image: nginx\n  resources: {requests: {cpu: 1, memory: 1Gi}, limits: {memory: 1Gi}}\n  securityContext: {allowPrivilegeEscalation: false}";

#[test]
fn the_config_file_disables_and_reweighs_checks() {
    let config = LintConfig::parse(
        "disable: [no-network-policy]\nseverity:\n  latest-tag: critical\nfailOn: medium\n",
    )
    .expect("parses");
    assert_eq!(config.fail_on, Some(FailOn::At(Severity::Medium)));
    let all = lint(&manifests(&deployment(GOOD_POD, LATEST)), &config, None);
    let found: Vec<(Check, Severity)> = all.iter().map(|f| (f.check, f.severity)).collect();
    assert_eq!(found, [(Check::LatestTag, Severity::Critical)]);
    assert_eq!(
        LintConfig::parse("").expect("empty is fine"),
        LintConfig::default()
    );
    assert_eq!(
        LintConfig::parse("failOn: never\n").expect("never").fail_on,
        Some(FailOn::Never)
    );
}

#[test]
fn config_mistakes_are_errors_naming_the_file() {
    for (text, says) in [
        ("disable: [latest-tags]\n", "unknown check \"latest-tags\""),
        ("severity: {latest-tag: urgent}\n", "severity of latest-tag"),
        ("failon: high\n", "unknown key \"failon\""),
        ("- a\n", "a mapping expected"),
        ("disable: [a\n", "line 1"),
    ] {
        let e = LintConfig::parse(text).expect_err(text).to_string();
        assert!(
            e.starts_with(".driftless-lint.yaml: ") && e.contains(says),
            "{text}: {e}"
        );
    }
}

#[test]
fn suppressions_need_a_known_check_and_a_reason() {
    let annotated = |value: &str| {
        deployment(GOOD_POD, LATEST).replacen(
            "  namespace: ns\n",
            &format!("  namespace: ns\n  annotations:\n    driftless.dev/lint-ignore: {value}\n"),
            1,
        )
    };
    let all = findings(&annotated(
        "'latest-tag: the operator pins it by digest at admission'",
    ));
    let latest = all
        .iter()
        .find(|f| f.check == Check::LatestTag)
        .expect("still reported");
    assert_eq!(
        latest.suppressed.as_deref(),
        Some("the operator pins it by digest at admission")
    );
    let report = LintReport::new(all.clone(), Some(Severity::Low));
    assert!(
        report.failing().all(|f| f.check != Check::LatestTag),
        "suppressed fails nothing"
    );
    let two = findings(&annotated(
        "|\n      latest-tag: pinned elsewhere\n      no-network-policy: a mesh policy covers it; see the runbook",
    ));
    assert!(two.iter().all(|f| f.suppressed.is_some()), "{two:#?}");
    let inline = findings(&annotated(
        "'latest-tag: pinned; really; no-network-policy: mesh'",
    ));
    let reasons: Vec<Option<&str>> = inline.iter().map(|f| f.suppressed.as_deref()).collect();
    assert_eq!(reasons, [Some("pinned; really"), Some("mesh")]);
    let bad = findings(&annotated("'latest-tag, nonsense: x'"));
    let invalid: Vec<&str> = bad
        .iter()
        .filter(|f| f.check == Check::InvalidSuppression)
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(
        invalid,
        ["lint-ignore entry \"latest-tag, nonsense\" names no check"]
    );
    let no_reason = findings(&annotated("'latest-tag:'"));
    assert!(
        no_reason
            .iter()
            .any(|f| f.check == Check::InvalidSuppression && f.message.contains("gives no reason"))
    );
    assert!(
        no_reason
            .iter()
            .any(|f| f.check == Check::LatestTag && f.suppressed.is_none())
    );
}
