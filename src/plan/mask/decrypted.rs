//! Objects of a kind other than Secret decrypted from SOPS (a kind the set allows): annotated
//! at render ([`DECRYPTED`]), so every later reader (a diff against live, a prune, drift) hides
//! every value they hold, as it hides a Secret's, on both sides.

use serde_json::Value;

pub use crate::render::DECRYPTED;

use super::{MASK, MASK_AFTER, MASK_BEFORE};

/// Fields that name and describe the object rather than hold its values.
const OPEN: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// Whether either side carries the annotation.
pub fn either(before: Option<&Value>, after: Option<&Value>) -> bool {
    [before, after]
        .into_iter()
        .flatten()
        .any(|o| o["metadata"]["annotations"][DECRYPTED] == "true")
}

/// Every value outside the open fields becomes `***`; one that differs between the sides
/// becomes `*** (before)` / `*** (after)`.
pub fn mask_pair(before: Option<&mut Value>, after: Option<&mut Value>) {
    let (before, after) = (
        before.and_then(Value::as_object_mut),
        after.and_then(Value::as_object_mut),
    );
    match (before, after) {
        (Some(b), Some(a)) => {
            for (key, av) in a.iter_mut().filter(|(k, _)| !OPEN.contains(&k.as_str())) {
                match b.get_mut(key) {
                    Some(bv) => pair(bv, av),
                    None => all(av),
                }
            }
            for (key, bv) in b.iter_mut().filter(|(k, _)| !OPEN.contains(&k.as_str())) {
                if !a.contains_key(key) {
                    all(bv);
                }
            }
        }
        (Some(only), None) | (None, Some(only)) => {
            for (_, v) in only.iter_mut().filter(|(k, _)| !OPEN.contains(&k.as_str())) {
                all(v);
            }
        }
        (None, None) => {}
    }
}

fn pair(before: &mut Value, after: &mut Value) {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            for (key, av) in a.iter_mut() {
                match b.get_mut(key) {
                    Some(bv) => pair(bv, av),
                    None => all(av),
                }
            }
            for (key, bv) in b.iter_mut() {
                if !a.contains_key(key) {
                    all(bv);
                }
            }
        }
        (Value::Array(b), Value::Array(a)) if a.len() == b.len() => {
            a.iter_mut()
                .zip(b.iter_mut())
                .for_each(|(av, bv)| pair(bv, av));
        }
        (b, a) if b == a => {
            all(b);
            all(a);
        }
        (b, a) => {
            hide(b, MASK_BEFORE);
            hide(a, MASK_AFTER);
        }
    }
}

fn all(value: &mut Value) {
    hide(value, MASK);
}

/// Every leaf of `value` becomes `mask`; the shape (keys, lengths) stays.
fn hide(value: &mut Value, mask: &str) {
    match value {
        Value::Object(map) => map.values_mut().for_each(|v| hide(v, mask)),
        Value::Array(items) => items.iter_mut().for_each(|v| hide(v, mask)),
        Value::Null => {}
        leaf => *leaf = Value::from(mask),
    }
}

/// The values an annotated object holds, for scrubbing messages about it.
pub fn values(object: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(map) = object.as_object() {
        for (_, v) in map.iter().filter(|(k, _)| !OPEN.contains(&k.as_str())) {
            leaves(v, &mut out);
        }
    }
    out
}

fn leaves(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => map.values().for_each(|v| leaves(v, out)),
        Value::Array(items) => items.iter().for_each(|v| leaves(v, out)),
        Value::String(s) => out.push(s.clone()),
        Value::Null => {}
        other => out.push(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_value_is_hidden_and_a_change_still_shows() {
        let marked = json!({"annotations": {DECRYPTED: "true"}, "name": "c"});
        let mut before = json!({"kind": "ConfigMap", "metadata": marked, "data": {"a": "one", "b": "same", "gone": "x"}});
        let mut after = json!({"kind": "ConfigMap", "metadata": marked, "data": {"a": "two", "b": "same", "new": "y"}});
        assert!(either(Some(&before), None));
        mask_pair(Some(&mut before), Some(&mut after));
        assert_eq!(
            before["data"],
            json!({"a": "*** (before)", "b": "***", "gone": "***"})
        );
        assert_eq!(
            after["data"],
            json!({"a": "*** (after)", "b": "***", "new": "***"})
        );
        assert_eq!(after["metadata"]["name"], "c");
        assert_eq!(
            values(&json!({"metadata": {"name": "n"}, "data": {"k": "v", "n": 3}})),
            ["v", "3"]
        );
    }
}
