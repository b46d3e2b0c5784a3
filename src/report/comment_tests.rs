//! Reports that must fit a comment, lint findings in every output, and SARIF.

use std::path::PathBuf;

use super::budget::diff_fields;
use super::*;
use crate::lint::{Change, Check, Finding, Severity};

fn object(kind: &str, ns: &str, name: &str, outcome: Outcome, diff: String) -> ObjectReport {
    ObjectReport {
        id: ObjectId {
            group: if kind == "Deployment" {
                "apps".into()
            } else {
                String::new()
            },
            version: "v1".into(),
            kind: kind.into(),
            namespace: Some(ns.into()),
            name: name.into(),
        },
        origin: Some(Origin::file(PathBuf::from(format!("{ns}/{name}.yaml")), 1)),
        outcome,
        reason: None,
        diff,
        message: None,
        conflict: None,
        drift: None,
        health: None,
        stage: None,
        fields: Vec::new(),
    }
}

/// A diff of `lines` changed lines, unique to `name`.
fn diff_of(name: &str, lines: usize) -> String {
    let mut diff =
        format!("--- base/x/{name}\n+++ desired/x/{name}\n@@ -1,{lines} +1,{lines} @@\n");
    for i in 0..lines {
        diff.push_str(&format!(
            "-  key{i}: old-{name}-{i}\n+  key{i}: new-{name}-{i}\n"
        ));
    }
    diff
}

fn finding(check: Check, name: &str, change: Option<Change>) -> Finding {
    Finding {
        check,
        severity: check.default_severity(),
        object: object("Deployment", "ns", name, Outcome::Unchanged, String::new())
            .id
            .into(),
        origin: Origin::file(PathBuf::from("apps/web.yaml"), 7).into(),
        path: "spec.template.spec.containers[0].image".into(),
        message: format!("container {name}: image nginx has no tag (so `latest`)"),
        suppressed: None,
        change,
    }
}

/// A preview with everything: prunes, a Secret, hundreds of changes and creations, findings.
fn big_report() -> Report {
    let mut r = Report::new(
        Mode::Preview,
        "default".into(),
        "repo".into(),
        Some("h1".into()),
    );
    r.base = Some("revision b1".into());
    for i in 0..300 {
        let mut o = object(
            "ConfigMap",
            "apps",
            &format!("cm-{i:03}"),
            Outcome::Configured,
            diff_of(&format!("cm-{i:03}"), 12),
        );
        o.fields = (0..12).map(|k| format!("data.key{k}")).collect();
        r.extend(Some("apps".into()), vec![o]);
    }
    for i in 0..60 {
        r.extend(
            Some("new".into()),
            vec![object(
                "ConfigMap",
                "new",
                &format!("made-{i}"),
                Outcome::Created,
                diff_of(&format!("made-{i}"), 20),
            )],
        );
    }
    r.extend(
        Some("old".into()),
        vec![object(
            "ConfigMap",
            "old",
            "gone",
            Outcome::Pruned,
            diff_of("gone", 5),
        )],
    );
    r.extend(Some("apps".into()), vec![object("Secret", "apps", "creds", Outcome::Configured, "--- base/v1/Secret/apps/creds\n+++ desired/v1/Secret/apps/creds\n@@ -1 +1 @@\n-  password: \"*** (before)\"\n+  password: \"*** (after)\"\n".into())]);
    r.lint = Some(crate::lint::LintReport::new(
        vec![finding(Check::LatestTag, "web", None)],
        None,
    ));
    r
}

#[test]
fn a_report_over_budget_comes_out_under_it_keeping_the_summary_and_naming_what_it_left_out() {
    let r = big_report();
    let whole = render_markdown_with(&r, &MarkdownOptions::unlimited());
    assert!(whole.len() > 150_000, "{}", whole.len());
    assert!(!whole.contains("Left out"));
    for max in [60_000, 20_000, 5_000] {
        let options = MarkdownOptions {
            max_size: max,
            full_report: Some("https://ci.example.com/artifacts/driftless-report.md".into()),
        };
        let md = render_markdown_with(&r, &options);
        assert!(md.len() <= max, "{max}: {}", md.len());
        assert!(md.starts_with("### driftless: changes to apply\n"), "{md}");
        assert!(
            md.contains("| `apps` | ✅ ok | 0 | 301 | 0 | 0 | 0 | 0 | 0 | 0 |"),
            "{md}"
        );
        assert!(
            md.contains("| high | `latest-tag` |"),
            "findings come first: {md}"
        );
        assert!(
            md.contains(&format!("**Left out to fit {max} characters**")),
            "{md}"
        );
        assert!(
            md.contains("The whole report: https://ci.example.com/artifacts/driftless-report.md."),
            "{md}"
        );
        // Prunes, then Secrets and RBAC, keep their diffs longest.
        assert!(md.contains("--- base/x/gone"), "{max}: the prune's diff");
        assert!(
            md.contains("+  password: \"*** (after)\""),
            "{max}: the Secret's diff"
        );
        assert!(!md.contains("cut to fit"), "the estimate held: {max}");
    }
    let md = render_markdown_with(
        &r,
        &MarkdownOptions {
            max_size: 20_000,
            full_report: None,
        },
    );
    assert!(
        md.contains("- `v1 ConfigMap apps/cm-"),
        "fields or names of what did not fit: {md}"
    );
    assert!(md.contains("Run driftless with `--report-file PATH` to keep the whole report."));
    let (sections, created) = (md.find("#### Changed:"), md.find("#### Created:"));
    assert!(
        sections.is_some() && (created.is_none() || created > sections),
        "changes before creations"
    );
}

#[test]
fn shrinking_goes_from_diffs_to_fields_to_names() {
    let r = big_report();
    let md = render_markdown_with(
        &r,
        &MarkdownOptions {
            max_size: 30_000,
            full_report: None,
        },
    );
    assert!(
        md.contains("--- base/x/cm-000"),
        "the first changes keep their diffs"
    );
    assert!(
        md.contains("- `v1 ConfigMap apps/cm-"),
        "later ones their fields: {md}"
    );
    assert!(
        md.contains("- `v1 ConfigMap apps/cm-299`\n"),
        "the last ones their names: {md}"
    );
    assert!(
        md.contains("- `v1 ConfigMap new/made-59`\n"),
        "creations last, by name: {md}"
    );
    assert!(md.contains("the diffs of"), "{md}");
    let tiny = render_markdown_with(
        &r,
        &MarkdownOptions {
            max_size: 3_000,
            full_report: None,
        },
    );
    assert!(
        tiny.len() <= 3_000 && tiny.contains("objects entirely"),
        "{tiny}"
    );
}

#[test]
fn a_change_repeated_on_many_objects_is_shown_once_with_the_count() {
    let mut r = Report::new(Mode::Preview, "default".into(), "repo".into(), None);
    for i in 0..30 {
        let name = format!("app-{i:02}");
        let diff = format!(
            "--- base/apps/v1/Deployment/ns/{name}\n+++ desired/apps/v1/Deployment/ns/{name}\n@@ -3,7 +3,7 @@\n   labels:\n     app: {name}\n-    chart: web-1.2.0\n+    chart: web-1.3.0\n   name: {name}\n"
        );
        r.extend(
            Some("ns".into()),
            vec![object("Deployment", "ns", &name, Outcome::Configured, diff)],
        );
    }
    r.extend(
        Some("ns".into()),
        vec![object(
            "Deployment",
            "ns",
            "other",
            Outcome::Configured,
            diff_of("other", 1),
        )],
    );
    let md = render_markdown(&r);
    assert_eq!(md.matches("+    chart: web-1.3.0").count(), 1, "{md}");
    assert!(md.contains("The same change on 30 objects"), "{md}");
    assert!(
        md.contains("`apps/v1 Deployment ns/app-00`, `apps/v1 Deployment ns/app-01`"),
        "{md}"
    );
    assert!(
        md.contains("and 10 more"),
        "names beyond twenty are counted: {md}"
    );
    assert!(md.contains("#### Changed: 31 objects"), "{md}");
    assert!(
        md.contains("--- base/x/other"),
        "a change of its own is shown as before"
    );
}

#[test]
fn field_paths_from_a_diff_reach_as_far_as_its_context() {
    let diff = "--- a\n+++ b\n@@ -1,9 +1,9 @@\n metadata:\n   labels:\n-    chart: a\n+    chart: b\n spec:\n-  replicas: 1\n+  replicas: 2\n@@ -20,4 +20,4 @@\n       - name: app\n-        image: x:1\n+        image: x:2\n";
    assert_eq!(
        diff_fields(diff),
        ["metadata.labels.chart", "spec.replicas", "…image"]
    );
}

#[test]
fn findings_fail_a_run_only_when_asked() {
    let mut r = Report::new(Mode::Preview, "default".into(), "repo".into(), None);
    r.lint = Some(crate::lint::LintReport::new(
        vec![finding(Check::LatestTag, "web", None)],
        None,
    ));
    assert_eq!(r.exit_code(), 0);
    if let Some(l) = r.lint.as_mut() {
        l.fail_on = Some(Severity::Critical);
    }
    assert_eq!(r.exit_code(), 0);
    if let Some(l) = r.lint.as_mut() {
        l.fail_on = Some(Severity::High);
    }
    assert_eq!(r.exit_code(), 2);
    assert!(render_markdown(&r).starts_with("### driftless: lint findings at or above --fail-on"));
    r.mode = Mode::Lint;
    assert_eq!(r.exit_code(), 1, "lint alone exits 1 for findings");
    let text = render_summary(&r);
    assert!(
        text.contains("HIGH     latest-tag          apps/v1 Deployment ns/web (apps/web.yaml:7)"),
        "{text}"
    );
    assert!(text.contains("fix: pin a version tag"), "{text}");
    let v: serde_json::Value = serde_json::from_str(&render_json(&r)).unwrap();
    assert_eq!(v["mode"], "lint");
    assert_eq!(v["lint"]["counts"]["high"], 1);
    assert_eq!(v["lint"]["failed"], true);
    assert_eq!(v["lint"]["findings"][0]["check"], "latest-tag");
    assert_eq!(v["lint"]["findings"][0]["source"], "apps/web.yaml:7");
}

#[test]
fn sarif_has_every_rule_and_a_located_result_per_finding() {
    let mut r = Report::new(Mode::Lint, String::new(), "repo".into(), Some("abc".into()));
    let mut suppressed = finding(Check::PullPolicy, "api", None);
    suppressed.suppressed = Some("pinned at admission".into());
    let mut lint = crate::lint::LintReport::compare(
        vec![finding(Check::RunAsRoot, "old", None)],
        vec![finding(Check::LatestTag, "web", None), suppressed],
        None,
    );
    lint.root = "clusters/prod".into();
    r.lint = Some(lint);
    let v: serde_json::Value = serde_json::from_str(&render_sarif(&r)).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    assert_eq!(
        run["tool"]["driver"]["rules"].as_array().map(Vec::len),
        Some(Check::ALL.len())
    );
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "the fixed finding is no result");
    let location = &results[0]["locations"][0]["physicalLocation"];
    assert_eq!(
        location["artifactLocation"]["uri"],
        "clusters/prod/apps/web.yaml"
    );
    assert_eq!(location["region"]["startLine"], 7);
    assert_eq!(results[0]["level"], "error");
    assert_eq!(results[0]["baselineState"], "new");
    assert_eq!(
        results[1]["suppressions"][0]["justification"],
        "pinned at admission"
    );
    assert_eq!(run["properties"]["revision"], "abc");
}
