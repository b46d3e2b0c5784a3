//! Pure: what becomes of an object whose change the server refuses as immutable (a Job's
//! template, a selector, a Service's `clusterIP`). Replaced on purpose, Jobs by default: the
//! object is deleted and created again with the manifest. A running Job is not killed unless
//! its manifest says `driftless.dev/replace: force`: it fails alone, and is replaced once it
//! finished. Anything else fails, naming the fields and how to allow the replacement.

use serde_json::Value;

use crate::render::DesiredObject;
use crate::render::lifecycle::{REPLACE, Replace};

/// What to do about an immutable change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Delete and create; why, for the report.
    Replace(String),
    /// A running Job: it fails alone (its namespace goes ahead) until it finished.
    Running(String),
    /// Not allowed: it fails, and says how to allow it.
    Refuse(String),
}

/// Judges an immutable change of `fields` (`spec.template`) of `object`, live as `live`.
/// `kinds` are the kinds the set replaces besides Jobs (`--replace-immutable`).
pub fn judge(
    object: &DesiredObject,
    live: Option<&Value>,
    fields: &[String],
    kinds: &[String],
) -> Verdict {
    let fields = match fields {
        [] => "a field".to_string(),
        many => many.join(", "),
    };
    let kind = &object.id.kind;
    let replace = object.lifecycle().replace;
    let by_policy = object.id.kind == "Job" && object.id.group == "batch" || kinds.contains(kind);
    let allowed = match replace {
        Replace::Never => false,
        Replace::OnImmutable | Replace::Force => true,
        Replace::Policy => by_policy,
    };
    if !allowed {
        let how = match replace {
            Replace::Never => format!("it is annotated {REPLACE}: never"),
            _ => format!("annotate {REPLACE}: on-immutable, or pass --replace-immutable {kind}"),
        };
        return Verdict::Refuse(format!(
            "{fields} cannot change in place (immutable), and it is not replaced: {how}"
        ));
    }
    if replace != Replace::Force && live.is_some_and(job_running) {
        return Verdict::Running(format!(
            "{fields} changed, and a running Job is not replaced: it fails alone until it finishes, then it is replaced (annotate {REPLACE}: force to stop it now)"
        ));
    }
    Verdict::Replace(format!(
        "{fields} cannot change in place: deleted and created again"
    ))
}

/// A Job that has not finished: no `Complete` or `Failed` condition that is true.
fn job_running(live: &Value) -> bool {
    if live["kind"] != "Job" {
        return false;
    }
    let finished = live["status"]["conditions"]
        .as_array()
        .is_some_and(|conditions| {
            conditions.iter().any(|c| {
                matches!(c["type"].as_str(), Some("Complete" | "Failed")) && c["status"] == "True"
            })
        });
    !finished
}

/// `before` cut to the shape of `after`: the keys `after` sets (lists element by element when
/// they are as long), so a diff against a manifest as written shows what it changes, not what
/// the server added.
pub fn project(before: &Value, after: &Value) -> Value {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => Value::Object(
            a.keys()
                .filter_map(|k| Some((k.clone(), project(b.get(k)?, &a[k]))))
                .collect(),
        ),
        (Value::Array(b), Value::Array(a)) if a.len() == b.len() => {
            Value::Array(b.iter().zip(a).map(|(b, a)| project(b, a)).collect())
        }
        _ => before.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::render::{Body, ObjectId, Origin};

    fn object(kind: &str, annotations: Value) -> DesiredObject {
        let api = if kind == "Job" { "batch/v1" } else { "v1" };
        let manifest = json!({"apiVersion": api, "kind": kind, "metadata": {"name": "x", "namespace": "ns", "annotations": annotations}});
        DesiredObject {
            id: ObjectId::for_test(api, kind, "ns", "x"),
            kind: None,
            manifest: Body::new(&manifest),
            origin: Origin::file("x.yaml", 1),
            sops: None,
        }
    }

    fn job(conditions: Value) -> Value {
        json!({"kind": "Job", "status": {"conditions": conditions}})
    }

    #[test]
    fn jobs_are_replaced_once_finished_other_kinds_when_asked() {
        let fields = ["spec.template".to_string()];
        let done = job(json!([{"type": "Complete", "status": "True"}]));
        let running = job(json!([]));
        let j = object("Job", json!({}));
        assert!(matches!(
            judge(&j, Some(&done), &fields, &[]),
            Verdict::Replace(_)
        ));
        let Verdict::Running(why) = judge(&j, Some(&running), &fields, &[]) else {
            panic!("a running Job is not killed");
        };
        assert!(why.contains("force"), "{why}");
        let forced = object("Job", json!({REPLACE: "force"}));
        assert!(matches!(
            judge(&forced, Some(&running), &fields, &[]),
            Verdict::Replace(_)
        ));

        let service = object("Service", json!({}));
        let ip = ["spec.clusterIP".to_string()];
        let Verdict::Refuse(why) = judge(&service, None, &ip, &[]) else {
            panic!("not replaced unless asked");
        };
        assert!(why.contains("spec.clusterIP") && why.contains("--replace-immutable Service"));
        assert!(why.len() <= 300, "{why}");
        assert!(matches!(
            judge(&service, None, &ip, &["Service".into()]),
            Verdict::Replace(_)
        ));
        let annotated = object("Service", json!({REPLACE: "on-immutable"}));
        assert!(matches!(
            judge(&annotated, None, &ip, &[]),
            Verdict::Replace(_)
        ));
        let never = object("Job", json!({REPLACE: "never"}));
        assert!(matches!(
            judge(&never, Some(&done), &fields, &[]),
            Verdict::Refuse(_)
        ));
    }

    #[test]
    fn a_projection_keeps_what_the_manifest_sets() {
        let live =
            json!({"spec": {"a": 1, "defaulted": true, "list": [{"x": 1, "y": 2}]}, "status": {}});
        let manifest = json!({"spec": {"a": 2, "list": [{"x": 3}]}});
        assert_eq!(
            project(&live, &manifest),
            json!({"spec": {"a": 1, "list": [{"x": 1}]}})
        );
    }
}
