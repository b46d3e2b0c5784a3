//! Who touched an object, read from its metadata alone: which field managers wrote since it was
//! last seen, and the fields they own. A touch is only a suspect: the planner decides whether
//! it is drift (a field driftless owns now differs from Git).

use std::collections::BTreeMap;

use serde_json::Value;

/// What a watch sees of an object: each manager's entries (by manager and operation) with their
/// time and fields, and the generation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    entries: BTreeMap<(String, String), (String, Value)>,
    generation: Option<i64>,
}

/// Managers that wrote since the last look, each with the fields it owns (`.spec.replicas`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touch {
    pub managers: Vec<(String, Vec<String>)>,
    /// The spec changed with no managedFields entry to show for it (a scale subresource on old
    /// servers).
    pub generation_moved: bool,
    /// Driftless's own entries are as they were: no field it owns changed hands, so (for all but
    /// a Secret written through `stringData`) no value it set has changed.
    pub ours_unchanged: bool,
}

impl Touch {
    pub fn is_empty(&self) -> bool {
        self.managers.is_empty() && !self.generation_moved
    }

    /// `kubectl-edit (.spec.replicas), hpa (.spec.replicas)`, or `an unknown writer`.
    pub fn describe(&self) -> String {
        if self.managers.is_empty() {
            return "an unknown writer (no managedFields entry changed)".into();
        }
        let parts: Vec<String> = self
            .managers
            .iter()
            .map(|(m, fields)| match fields.is_empty() {
                true => m.clone(),
                false => format!("{m} ({})", fields.join(", ")),
            })
            .collect();
        parts.join(", ")
    }
}

impl Seen {
    /// From an object's `metadata` (as JSON: `managedFields`, `generation`).
    pub fn of(metadata: &Value) -> Seen {
        let entries = metadata["managedFields"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| {
                let manager = e["manager"].as_str()?.to_string();
                let operation = e["operation"].as_str().unwrap_or_default().to_string();
                let time = e["time"].as_str().unwrap_or_default().to_string();
                Some(((manager, operation), (time, e["fieldsV1"].clone())))
            })
            .collect();
        Seen {
            entries,
            generation: metadata["generation"].as_i64(),
        }
    }

    /// Who wrote between `self` and `now`, leaving out `ours` (driftless's own writes) and
    /// writers of status alone (controllers reporting, not changing what Git says).
    pub fn touched_by(&self, now: &Seen, ours: &str) -> Touch {
        let managers = now
            .entries
            .iter()
            .filter(|((manager, _), _)| manager != ours)
            .filter(|(key, (time, fields))| {
                self.entries
                    .get(*key)
                    .is_none_or(|(t, f)| t != time || f != fields)
            })
            .map(|((manager, _), (_, fields))| (manager.clone(), paths(fields)))
            .filter(|(_, fields)| !fields.is_empty() && !fields.iter().all(|f| is_status(f)))
            .fold(Vec::<(String, Vec<String>)>::new(), |mut acc, (m, f)| {
                match acc.iter_mut().find(|(name, _)| *name == m) {
                    Some((_, fields)) => fields.extend(f),
                    None => acc.push((m, f)),
                }
                acc
            });
        // A generation moved by our own write is ours.
        let ours_moved = now
            .entries
            .iter()
            .filter(|((m, _), _)| m == ours)
            .any(|(k, v)| self.entries.get(k) != Some(v));
        let ours_gone = self
            .entries
            .keys()
            .any(|k| k.0 == ours && !now.entries.contains_key(k));
        Touch {
            managers,
            generation_moved: now.generation != self.generation
                && now.generation.is_some()
                && !ours_moved,
            ours_unchanged: !ours_moved && !ours_gone,
        }
    }
}

fn is_status(path: &str) -> bool {
    path == ".status" || path.starts_with(".status.")
}

/// The leaf fields of a `fieldsV1` tree as paths: `{"f:spec":{"f:replicas":{}}}` is
/// `.spec.replicas`; list items keyed `k:{"name":"web"}` read `[name=web]`. At most
/// [`MAX_PATHS`], then `...`.
pub fn paths(fields: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(fields, String::new(), &mut out);
    if out.len() > MAX_PATHS {
        out.truncate(MAX_PATHS);
        out.push("...".into());
    }
    out
}

/// Paths listed per manager before the rest are elided.
const MAX_PATHS: usize = 8;

fn walk(node: &Value, at: String, out: &mut Vec<String>) {
    let Some(map) = node.as_object() else {
        return;
    };
    let children: Vec<_> = map.iter().filter(|(k, _)| k.as_str() != ".").collect();
    if children.is_empty() {
        if !at.is_empty() {
            out.push(at);
        }
        return;
    }
    for (key, child) in children {
        let step = if let Some(name) = key.strip_prefix("f:") {
            format!("{at}.{name}")
        } else if let Some(item) = key.strip_prefix("k:") {
            format!("{at}[{}]", item_key(item))
        } else if let Some(value) = key.strip_prefix("v:") {
            format!("{at}[{value}]")
        } else if let Some(index) = key.strip_prefix("i:") {
            format!("{at}[{index}]")
        } else {
            format!("{at}.{key}")
        };
        walk(child, step, out);
    }
}

/// `{"name":"web","port":80}` reads `name=web,port=80`.
fn item_key(json: &str) -> String {
    match serde_json::from_str::<serde_json::Map<String, Value>>(json) {
        Ok(map) => map
            .iter()
            .map(|(k, v)| match v.as_str() {
                Some(s) => format!("{k}={s}"),
                None => format!("{k}={v}"),
            })
            .collect::<Vec<_>>()
            .join(","),
        Err(_) => json.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn meta(entries: Value, generation: i64) -> Value {
        json!({"managedFields": entries, "generation": generation})
    }

    fn applied(time: &str) -> Value {
        json!({"manager": "driftless", "operation": "Apply", "time": time,
               "fieldsV1": {"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                   "k:{\"name\":\"web\"}": {".": {}, "f:image": {}}}}}}}})
    }

    #[test]
    fn fields_read_as_paths() {
        assert_eq!(
            paths(&applied("t")["fieldsV1"]),
            [
                ".spec.replicas",
                ".spec.template.spec.containers[name=web].image"
            ]
        );
        assert_eq!(
            paths(
                &json!({"f:data": {"f:a": {}, "f:b": {}}, "f:metadata": {"f:labels": {"f:x": {}}}})
            ),
            [".data.a", ".data.b", ".metadata.labels.x"]
        );
        let many: serde_json::Map<String, Value> =
            (0..20).map(|i| (format!("f:k{i:02}"), json!({}))).collect();
        let listed = paths(&json!({"f:data": many}));
        assert_eq!(listed.len(), MAX_PATHS + 1);
        assert_eq!(listed.last().map(String::as_str), Some("..."));
    }

    #[test]
    fn an_edit_names_its_manager_and_fields() {
        let before = Seen::of(&meta(json!([applied("t1")]), 1));
        let edit = json!({"manager": "kubectl-edit", "operation": "Update", "time": "t2",
                          "fieldsV1": {"f:spec": {"f:replicas": {}}}});
        let after = Seen::of(&meta(json!([applied("t1"), edit]), 2));
        let touch = before.touched_by(&after, "driftless");
        assert_eq!(
            touch.managers,
            [(
                "kubectl-edit".to_string(),
                vec![".spec.replicas".to_string()]
            )]
        );
        assert!(touch.generation_moved);
        assert!(
            touch.ours_unchanged,
            "the test's edit left driftless's entry as it was"
        );
        assert_eq!(touch.describe(), "kubectl-edit (.spec.replicas)");
        // An edit that took a field from driftless shrinks its entry.
        let took = json!({"manager": "driftless", "operation": "Apply", "time": "t1",
                          "fieldsV1": {"f:spec": {}}});
        let after = Seen::of(&meta(json!([took]), 1));
        assert!(!before.touched_by(&after, "driftless").ours_unchanged);
        // Seen again unchanged: nothing new.
        assert!(after.touched_by(&after, "driftless").is_empty());
    }

    #[test]
    fn our_own_writes_and_status_reports_are_not_touches() {
        let before = Seen::of(&meta(json!([applied("t1")]), 1));
        let status = json!({"manager": "kube-controller-manager", "operation": "Update",
                            "time": "t3", "fieldsV1": {"f:status": {"f:replicas": {}}}});
        let after = Seen::of(&meta(json!([applied("t2"), status]), 2));
        assert!(before.touched_by(&after, "driftless").is_empty());
        // A generation that moved with no entry to show for it is still a touch.
        let scaled = Seen::of(&meta(json!([applied("t1")]), 2));
        let touch = before.touched_by(&scaled, "driftless");
        assert!(!touch.is_empty() && touch.managers.is_empty());
        assert!(touch.describe().contains("unknown writer"));
    }
}
