//! Unified diffs of normalized, masked objects, as YAML (the form users wrote them in).

use serde_json::Value;
use similar::TextDiff;

use crate::render::ObjectId;

/// Renders an object as YAML for diffing. Keys come out sorted (serde_json's map is ordered), so
/// the same object always prints the same way.
pub fn to_yaml(value: &Value) -> String {
    serde_saphyr::to_string(value)
        .unwrap_or_else(|_| serde_json::to_string_pretty(value).unwrap_or_default() + "\n")
}

/// A unified diff from `before` (live; `None` = absent) to `after` (desired; `None` = deleted).
/// Empty when they are equal. Headers name the object the way `kubectl diff` paths do, and the
/// desired side names the revision it came from (after a tab, where diff tools expect a date).
pub fn unified(
    id: &ObjectId,
    before: Option<&Value>,
    after: Option<&Value>,
    revision: Option<&str>,
) -> String {
    let old = before.map(to_yaml).unwrap_or_default();
    let new = after.map(to_yaml).unwrap_or_default();
    if old == new {
        return String::new();
    }
    let path = id.path();
    let old_header = if before.is_some() {
        format!("live/{path}")
    } else {
        "/dev/null".into()
    };
    let mut new_header = if after.is_some() {
        format!("desired/{path}")
    } else {
        "/dev/null".into()
    };
    if let Some(rev) = revision {
        new_header.push_str(&format!("\trevision {rev}"));
    }
    TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(&old_header, &new_header)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equal_objects_have_no_diff() {
        let web = ObjectId::for_test("apps/v1", "Deployment", "ns", "web");
        let a = json!({"spec": {"replicas": 2}});
        assert_eq!(unified(&web, Some(&a), Some(&a), None), "");
    }

    #[test]
    fn shows_only_the_change() {
        let web = ObjectId::for_test("apps/v1", "Deployment", "ns", "web");
        let live = json!({"metadata": {"name": "web"}, "spec": {"replicas": 5, "paused": false}});
        let desired =
            json!({"metadata": {"name": "web"}, "spec": {"replicas": 2, "paused": false}});
        let diff = unified(&web, Some(&live), Some(&desired), None);
        assert!(
            diff.starts_with(
                "--- live/apps/v1/Deployment/ns/web\n+++ desired/apps/v1/Deployment/ns/web\n"
            ),
            "{diff}"
        );
        assert!(diff.contains("-  replicas: 5\n+  replicas: 2\n"), "{diff}");
        assert_eq!(
            diff.lines().filter(|l| l.starts_with(['+', '-'])).count(),
            4,
            "{diff}"
        );
    }

    #[test]
    fn new_objects_are_all_added() {
        let web = ObjectId::for_test("apps/v1", "Deployment", "ns", "web");
        let diff = unified(&web, None, Some(&json!({"a": 1, "b": "x"})), None);
        assert!(diff.starts_with("--- /dev/null\n+++ desired/"), "{diff}");
        assert!(diff.contains("+a: 1\n+b: x\n"), "{diff}");
        assert!(!diff.lines().skip(2).any(|l| l.starts_with('-')), "{diff}");
    }

    #[test]
    fn the_desired_side_names_its_revision() {
        let web = ObjectId::for_test("apps/v1", "Deployment", "ns", "web");
        let diff = unified(&web, None, Some(&json!({"a": 1})), Some("4f2a9c1"));
        assert!(
            diff.contains("+++ desired/apps/v1/Deployment/ns/web\trevision 4f2a9c1\n"),
            "{diff}"
        );
    }
}
