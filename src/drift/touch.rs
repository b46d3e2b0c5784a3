//! Who touched an object, read from its metadata alone: which field managers wrote since it was
//! last seen, and the fields they own. A touch is only a suspect: the planner decides whether
//! it is drift (a field driftless owns now differs from Git).

use serde_json::Value;

/// What the drift loop keeps of each member between two looks, compact: per managedFields
/// entry a digest of its manager and operation and one of its time and fields, and the
/// generation. Enough to tell which entries changed; the fields themselves are read from the
/// new metadata when one did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    entries: Vec<Digest>,
    generation: Option<i64>,
}

/// One managedFields entry, digested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Digest {
    /// The manager alone: which entries are driftless's own.
    manager: u64,
    /// The manager and the operation: the entry's identity.
    key: u64,
    /// Its time and fields: whether it changed.
    state: u64,
}

/// One managedFields entry of the metadata at hand.
struct Entry<'a> {
    manager: &'a str,
    digest: Digest,
    fields: &'a Value,
}

fn digest(parts: &[&str]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    parts.hash(&mut h);
    h.finish()
}

fn entries(metadata: &Value) -> impl Iterator<Item = Entry<'_>> {
    metadata["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let manager = e["manager"].as_str()?;
            let operation = e["operation"].as_str().unwrap_or_default();
            let time = e["time"].as_str().unwrap_or_default();
            let fields = &e["fieldsV1"];
            let digest = Digest {
                manager: self::digest(&[manager]),
                key: self::digest(&[manager, operation]),
                state: self::digest(&[time, &fields.to_string()]),
            };
            Some(Entry {
                manager,
                digest,
                fields,
            })
        })
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
        Seen {
            entries: entries(metadata).map(|e| e.digest).collect(),
            generation: metadata["generation"].as_i64(),
        }
    }

    fn get(&self, key: u64) -> Option<&Digest> {
        self.entries.iter().find(|d| d.key == key)
    }

    /// Who wrote between `self` and `now` (an object's metadata), leaving out `ours`
    /// (driftless's own writes) and writers of status alone (controllers reporting, not
    /// changing what Git says).
    pub fn touched_by(&self, now: &Value, ours: &str) -> Touch {
        let current: Vec<Entry> = entries(now).collect();
        let changed = |e: &&Entry| self.get(e.digest.key) != Some(&e.digest);
        let managers = current
            .iter()
            .filter(|e| e.manager != ours)
            .filter(changed)
            .map(|e| (e.manager.to_string(), paths(e.fields)))
            .filter(|(_, fields)| !fields.is_empty() && !fields.iter().all(|f| is_status(f)))
            .fold(Vec::<(String, Vec<String>)>::new(), |mut acc, (m, f)| {
                match acc.iter_mut().find(|(name, _)| *name == m) {
                    Some((_, fields)) => fields.extend(f),
                    None => acc.push((m, f)),
                }
                acc
            });
        // A generation moved by our own write is ours.
        let ours_moved = current
            .iter()
            .filter(|e| e.manager == ours)
            .any(|e| changed(&e));
        let ours_digest = digest(&[ours]);
        let ours_gone = self
            .entries
            .iter()
            .any(|d| d.manager == ours_digest && !current.iter().any(|e| e.digest.key == d.key));
        let generation = now["generation"].as_i64();
        Touch {
            managers,
            generation_moved: generation != self.generation && generation.is_some() && !ours_moved,
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
        let after = meta(json!([applied("t1"), edit]), 2);
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
        let after = meta(json!([took]), 1);
        assert!(!before.touched_by(&after, "driftless").ours_unchanged);
        // Seen again unchanged: nothing new.
        assert!(Seen::of(&after).touched_by(&after, "driftless").is_empty());
        // Driftless's entry gone altogether (a takeover by Update) is not unchanged either.
        let gone = meta(json!([]), 1);
        assert!(!before.touched_by(&gone, "driftless").ours_unchanged);
    }

    #[test]
    fn our_own_writes_and_status_reports_are_not_touches() {
        let before = Seen::of(&meta(json!([applied("t1")]), 1));
        let status = json!({"manager": "kube-controller-manager", "operation": "Update",
                            "time": "t3", "fieldsV1": {"f:status": {"f:replicas": {}}}});
        let after = meta(json!([applied("t2"), status]), 2);
        assert!(before.touched_by(&after, "driftless").is_empty());
        // A generation that moved with no entry to show for it is still a touch.
        let scaled = meta(json!([applied("t1")]), 2);
        let touch = before.touched_by(&scaled, "driftless");
        assert!(!touch.is_empty() && touch.managers.is_empty());
        assert!(touch.describe().contains("unknown writer"));
    }
}
