use std::path::PathBuf;

use super::*;

fn obj(kind: &str, name: &str, outcome: Outcome, diff: &str) -> ObjectReport {
    ObjectReport {
        id: ObjectId {
            group: String::new(),
            version: "v1".into(),
            kind: kind.into(),
            namespace: Some("ns".into()),
            name: name.into(),
        },
        origin: Some(Origin {
            file: PathBuf::from("a.yaml"),
            line: 3,
            rendered_by: None,
        }),
        outcome,
        reason: None,
        diff: diff.into(),
        message: (outcome == Outcome::Failed).then(|| "denied (403 Forbidden)".to_string()),
        conflict: None,
        drift: None,
        health: None,
        stage: None,
        fields: Vec::new(),
    }
}

#[test]
fn exit_codes_follow_kubectl_diff_for_previews() {
    let mut r = Report::new(Mode::Preview, "default".into(), "dir".into(), None);
    r.extend(
        Some("ns".into()),
        vec![obj("ConfigMap", "a", Outcome::Unchanged, "")],
    );
    assert_eq!(r.exit_code(), 0);
    r.extend(
        Some("ns".into()),
        vec![obj("ConfigMap", "b", Outcome::Configured, "-a\n+b\n")],
    );
    assert_eq!(r.exit_code(), 1);
    r.extend(
        Some("other".into()),
        vec![obj("ConfigMap", "c", Outcome::Failed, "")],
    );
    assert_eq!(r.exit_code(), 2);
}

#[test]
fn sync_exit_code_is_zero_even_with_changes() {
    let mut r = Report::new(Mode::Sync, "default".into(), "dir".into(), None);
    r.extend(None, vec![obj("Namespace", "a", Outcome::Created, "+x\n")]);
    assert_eq!(r.exit_code(), 0);
}

#[test]
fn summary_counts_and_names_every_object_per_namespace() {
    let mut r = Report::new(
        Mode::Sync,
        "default".into(),
        "examples/platform-repo".into(),
        None,
    );
    r.extend(
        Some("b".into()),
        vec![
            obj("ConfigMap", "x", Outcome::Failed, ""),
            obj("Secret", "y", Outcome::Held, ""),
        ],
    );
    r.extend(
        Some("a".into()),
        vec![obj("ConfigMap", "z", Outcome::Created, "+z\n")],
    );
    let text = render_summary(&r);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "driftless sync of sync set default from examples/platform-repo"
    );
    assert_eq!(lines[1], "namespace a: ok: 1 created");
    assert!(
        lines[2].contains("created") && lines[2].ends_with("v1 ConfigMap ns/z"),
        "{text}"
    );
    assert!(
        lines[3] == "namespace b: FAILED: 1 failed, 1 held",
        "{text}"
    );
    assert!(
        lines[4].contains("v1 ConfigMap ns/x: denied (403 Forbidden) (a.yaml:3)"),
        "{text}"
    );
    assert_eq!(
        lines.last().unwrap(),
        &"3 objects in 2 namespaces, 1 failed"
    );
}

#[test]
fn diffs_are_grouped_per_namespace() {
    let mut r = Report::new(Mode::Preview, "default".into(), "dir".into(), None);
    r.extend(
        Some("a".into()),
        vec![obj("ConfigMap", "x", Outcome::Unchanged, "")],
    );
    r.extend(
        Some("b".into()),
        vec![obj("ConfigMap", "y", Outcome::Configured, "--- a\n+++ b\n")],
    );
    assert_eq!(render_diffs(&r), "# namespace b\n--- a\n+++ b\n");
}

#[test]
fn json_has_counts_outcomes_and_exit_code() {
    let mut r = Report::new(
        Mode::Preview,
        "default".into(),
        "dir".into(),
        Some("abc123".into()),
    );
    r.extend(
        Some("ns".into()),
        vec![obj("ConfigMap", "b", Outcome::Configured, "-a\n+b\n")],
    );
    let v: serde_json::Value = serde_json::from_str(&render_json(&r)).unwrap();
    assert_eq!(v["exitCode"], 1);
    assert_eq!(v["revision"], "abc123");
    assert_eq!(v["counts"]["configured"], 1);
    let o = &v["namespaces"][0]["objects"][0];
    assert_eq!(
        (
            o["kind"].as_str(),
            o["outcome"].as_str(),
            o["source"].as_str()
        ),
        (Some("ConfigMap"), Some("configured"), Some("a.yaml:3"))
    );
    assert_eq!(o["diff"], "-a\n+b\n");
}

#[test]
fn json_names_the_typed_reason_of_an_object_left_alone() {
    let mut r = Report::new(Mode::Sync, "default".into(), "dir".into(), None);
    let mut held = obj("ConfigMap", "b", Outcome::Held, "");
    held.reason = Some(Reason::NamespaceFailed);
    r.extend(
        Some("ns".into()),
        vec![held, obj("ConfigMap", "c", Outcome::Created, "")],
    );
    let v: serde_json::Value = serde_json::from_str(&render_json(&r)).unwrap();
    let objects = &v["namespaces"][0]["objects"];
    assert_eq!(objects[0]["reason"], "NamespaceFailed");
    assert_eq!(objects[1]["reason"], serde_json::Value::Null);
}

#[test]
fn markdown_has_a_table_and_fenced_diffs() {
    let mut r = Report::new(Mode::Preview, "default".into(), "dir".into(), None);
    r.extend(
        Some("ns".into()),
        vec![
            obj("ConfigMap", "b", Outcome::Configured, "-a\n+```b\n"),
            obj("Secret", "x", Outcome::Failed, ""),
        ],
    );
    let md = render_markdown(&r);
    assert!(md.starts_with("### driftless: errors\n"), "{md}");
    assert!(
        md.contains("| `ns` | ❌ failed | 0 | 1 | 0 | 0 | 0 | 1 | 0 |"),
        "{md}"
    );
    assert!(md.contains("```diff\n-a\n+`\u{200b}``b\n```\n"), "{md}");
    assert!(
        md.contains("- **v1 Secret ns/x** (`a.yaml:3`): denied (403 Forbidden)"),
        "{md}"
    );
}

#[test]
fn a_namespace_can_fail_without_a_failed_object() {
    let mut r = Report::new(Mode::Sync, "a".into(), "dir".into(), None);
    r.extend(
        Some("n".into()),
        vec![obj("ConfigMap", "z", Outcome::Unchanged, "")],
    );
    assert_eq!(r.exit_code(), 0);
    r.fail_namespace(Some("n".into()), "cannot write the inventory".into());
    assert_eq!(r.exit_code(), 2);
    let text = render_summary(&r);
    assert!(
        text.contains("namespace n: FAILED")
            && text.contains("  error: cannot write the inventory"),
        "{text}"
    );
    assert!(render_json(&r).contains("\"errors\": [\n        \"cannot write the inventory\""));
    assert!(render_markdown(&r).contains("- **error**: cannot write the inventory"));
}

#[test]
fn health_after_a_wait_is_in_every_output_and_fails_only_its_namespace() {
    use crate::health::Health;
    let mut r = Report::new(Mode::Sync, "a".into(), "dir".into(), None);
    let mut healthy = obj("ConfigMap", "ok", Outcome::Created, "+x\n");
    healthy.health = Some(Health::Healthy);
    r.extend(Some("good".into()), vec![healthy]);
    let mut broken = obj("Job", "migrate", Outcome::Unchanged, "");
    broken.health = Some(Health::Failed(
        "job failed: BackoffLimitExceeded: Job has reached the specified backoff limit".into(),
    ));
    let mut slow = obj("Deployment", "web", Outcome::Configured, "-a\n+b\n");
    slow.health = Some(Health::InProgress(
        "1/2 replicas available (not healthy within 30s)".into(),
    ));
    r.extend(Some("bad".into()), vec![broken, slow]);
    assert_eq!(r.exit_code(), 2);
    assert!(!r.namespaces[1].failed() && r.namespaces[0].failed());

    let text = render_summary(&r);
    assert!(text.contains("namespace good: ok: 1 created\n"), "{text}");
    assert!(
        text.contains(
            "v1 Job ns/migrate [unhealthy: job failed: BackoffLimitExceeded: Job has reached \
             the specified backoff limit] (a.yaml:3)"
        ),
        "{text}"
    );
    assert!(
        text.contains("v1 Deployment ns/web [in progress: 1/2 replicas available"),
        "{text}"
    );
    assert!(text.contains("v1 ConfigMap ns/ok [healthy]\n"), "{text}");
    assert!(
        text.ends_with(
            "3 objects in 2 namespaces, 0 failed; health: 1 healthy, 1 unhealthy, 1 in progress\n"
        ),
        "{text}"
    );

    let v: serde_json::Value = serde_json::from_str(&render_json(&r)).unwrap();
    assert_eq!(v["exitCode"], 2);
    assert_eq!(v["healthCounts"]["inProgress"], 1);
    let bad = &v["namespaces"][0];
    assert_eq!(
        (
            bad["failed"].as_bool(),
            bad["healthCounts"]["unhealthy"].as_u64()
        ),
        (Some(true), Some(1))
    );
    assert_eq!(bad["objects"][0]["health"], "unhealthy");
    assert!(
        bad["objects"][0]["healthMessage"]
            .as_str()
            .unwrap()
            .contains("BackoffLimitExceeded")
    );
    assert_eq!(v["namespaces"][1]["objects"][0]["health"], "healthy");
    assert!(v["namespaces"][1]["objects"][0]["healthMessage"].is_null());

    let md = render_markdown(&r);
    assert!(
        md.contains("Health after the sync: 1 healthy, 1 unhealthy, 1 in progress."),
        "{md}"
    );
    assert!(
        md.contains(
            "- **v1 Job ns/migrate** (`a.yaml:3`): unhealthy: job failed: BackoffLimitExceeded"
        ),
        "{md}"
    );
}

#[test]
fn reports_without_a_wait_say_nothing_of_health() {
    let mut r = Report::new(Mode::Sync, "a".into(), "dir".into(), None);
    r.extend(
        Some("n".into()),
        vec![obj("ConfigMap", "z", Outcome::Created, "")],
    );
    assert!(render_summary(&r).ends_with("1 objects in 1 namespaces, 0 failed\n"));
    assert!(!render_markdown(&r).contains("Health"));
    let v: serde_json::Value = serde_json::from_str(&render_json(&r)).unwrap();
    assert!(v["namespaces"][0]["objects"][0]["health"].is_null());
}
