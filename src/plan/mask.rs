//! One way to hide secret values, for every output path (diffs, reports, logs, errors): a
//! Secret's values, and the secrets people put where they should not, in pod templates and
//! ConfigMaps: a literal named like a password or token, a password inside a URL, a private key
//! (see [`literals`]).

pub mod decrypted;
mod literals;

pub use literals::{
    SecretKind, SecretLiteral, is_reference, secret_like_name, secret_literals, url_password,
};

use base64::Engine as _;
use serde_json::Value;

pub use crate::render::MASK;
use crate::render::ObjectId;

const MASK_BEFORE: &str = "*** (before)";
const MASK_AFTER: &str = "*** (after)";
const SECRET_FIELDS: [&str; 2] = ["data", "stringData"];

/// Masks the values of a Secret pair the way `kubectl diff` does: every value becomes `***`,
/// and a value that differs between the two sides becomes `*** (before)` / `*** (after)`, so
/// a diff still shows *that* a key changed, never *what* it holds.
pub fn mask_secret_pair(before: Option<&mut Value>, after: Option<&mut Value>) {
    let (mut before, mut after) = (before, after);
    for field in SECRET_FIELDS {
        let b = before
            .as_deref_mut()
            .and_then(|o| o.get_mut(field))
            .and_then(Value::as_object_mut);
        let a = after
            .as_deref_mut()
            .and_then(|o| o.get_mut(field))
            .and_then(Value::as_object_mut);
        match (b, a) {
            (Some(b), Some(a)) => {
                for (key, av) in a.iter_mut() {
                    match b.get_mut(key) {
                        Some(bv) if bv != av => {
                            *bv = Value::from(MASK_BEFORE);
                            *av = Value::from(MASK_AFTER);
                        }
                        Some(bv) => {
                            *bv = Value::from(MASK);
                            *av = Value::from(MASK);
                        }
                        None => *av = Value::from(MASK),
                    }
                }
                for (key, bv) in b.iter_mut() {
                    if !a.contains_key(key) {
                        *bv = Value::from(MASK);
                    }
                }
            }
            (Some(only), None) | (None, Some(only)) => mask_all(only),
            (None, None) => {}
        }
        // A value that is not a mapping cannot be matched key by key: hide it whole.
        for side in [before.as_deref_mut(), after.as_deref_mut()]
            .into_iter()
            .flatten()
        {
            if let Some(v) = side
                .get_mut(field)
                .filter(|v| !v.is_object() && !v.is_null())
            {
                *v = Value::from(MASK);
            }
        }
    }
}

/// Masks every value of one Secret.
pub fn mask_secret(object: &mut Value) {
    mask_secret_pair(Some(object), None);
}

fn mask_all(map: &mut serde_json::Map<String, Value>) {
    for v in map.values_mut() {
        *v = Value::from(MASK);
    }
}

/// Masks what is secret in `id`'s two sides (live, desired) the one way every output does. A
/// Secret's values are also hidden wherever else they appear in it (a label, an annotation).
pub fn mask_pair(id: &ObjectId, before: Option<&mut Value>, after: Option<&mut Value>) {
    if !id.is_secret() {
        if decrypted::either(before.as_deref(), after.as_deref()) {
            return decrypted::mask_pair(before, after);
        }
        return mask_literals(id, before, after);
    }
    let mut values = before.as_deref().map(secret_values).unwrap_or_default();
    values.extend(after.as_deref().map(secret_values).unwrap_or_default());
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    let (mut before, mut after) = (before, after);
    mask_secret_pair(before.as_deref_mut(), after.as_deref_mut());
    for side in [before, after].into_iter().flatten() {
        hide_strings(side, &values);
    }
}

/// Replaces every occurrence of `values` in every string of `value` (keys included).
fn hide_strings(value: &mut Value, values: &[String]) {
    let hide = |s: &str| -> String {
        values
            .iter()
            .filter(|v| v.trim().len() >= 3)
            .fold(s.to_string(), |s, v| s.replace(v.as_str(), MASK))
    };
    match value {
        Value::String(s) => *s = hide(s),
        Value::Array(items) => items.iter_mut().for_each(|i| hide_strings(i, values)),
        Value::Object(map) => {
            let entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
            for (key, mut child) in entries {
                hide_strings(&mut child, values);
                map.insert(hide(&key), child);
            }
        }
        _ => {}
    }
}

/// Masks what is secret in one object.
pub fn mask_object(id: &ObjectId, object: &mut Value) {
    mask_pair(id, Some(object), None);
}

/// Removes every secret value of `id` (see [`mask_pair`]) from a message about it.
pub fn scrub_object(message: &str, id: &ObjectId, object: &Value) -> String {
    if id.is_secret() {
        return scrub(message, object);
    }
    let mut out = message.to_string();
    let mut values: Vec<String> = named_literals(id, object)
        .into_iter()
        .flat_map(|(_, name, value)| secret_parts(&name, &value))
        .collect();
    if decrypted::either(Some(object), None) {
        values.extend(decrypted::values(object));
    }
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    for v in values.iter().filter(|v| v.len() >= 3) {
        out = out.replace(v.as_str(), MASK);
    }
    out
}

/// The parts of a literal that are secret (see [`secret_literals`]).
fn secret_parts(name: &str, value: &str) -> Vec<String> {
    secret_literals(name, value)
        .into_iter()
        .map(|l| l.text)
        .collect()
}

/// The literals of an object that may hold secrets: env literals of any pod template (of any
/// workload or custom resource), and a ConfigMap's `data`, as (JSON pointer, name, value).
pub fn named_literals(id: &ObjectId, object: &Value) -> Vec<(String, String, String)> {
    let mut found = env_literals(object);
    if id.group.is_empty() && id.kind == "ConfigMap" {
        let data = object.get("data").and_then(Value::as_object);
        for (key, value) in data.into_iter().flatten() {
            if let Some(text) = value.as_str() {
                found.push((
                    format!("/data/{}", escape(key)),
                    key.clone(),
                    text.to_string(),
                ));
            }
        }
    }
    found
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Every `env: [{name, value}]` literal in an object (pod templates of any workload or custom
/// resource), as (JSON pointer of the value, name, value).
pub fn env_literals(object: &Value) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    walk_env(object, String::new(), &mut found);
    found
}

fn walk_env(value: &Value, path: String, found: &mut Vec<(String, String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let child_path = format!("{path}/{}", escape(key));
                if key == "env"
                    && let Some(items) = child.as_array()
                {
                    for (i, item) in items.iter().enumerate() {
                        if let (Some(name), Some(v)) =
                            (item["name"].as_str(), item["value"].as_str())
                        {
                            found.push((format!("{child_path}/{i}/value"), name.into(), v.into()));
                        }
                    }
                } else {
                    walk_env(child, child_path, found);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk_env(item, format!("{path}/{i}"), found);
            }
        }
        _ => {}
    }
}

/// Masks secret literals on both sides; a secret that differs shows `*** (before)` and
/// `*** (after)`, so a diff still says *that* it changed.
fn mask_literals(id: &ObjectId, before: Option<&mut Value>, after: Option<&mut Value>) {
    let literals = |o: &Value| named_literals(id, o);
    let b_env = before.as_deref().map(literals).unwrap_or_default();
    let a_env = after.as_deref().map(literals).unwrap_or_default();
    let value_at = |env: &[(String, String, String)], at: &str| {
        env.iter()
            .find(|(p, _, _)| p == at)
            .map(|(_, _, v)| v.clone())
    };
    let mut plan: Vec<(bool, String, String)> = Vec::new();
    for (side_is_after, env, other) in [(false, &b_env, &a_env), (true, &a_env, &b_env)] {
        for (pointer, name, value) in env.iter() {
            let mut secrets = secret_parts(name, value);
            if secrets.is_empty() {
                continue;
            }
            // Longest first, so a secret that contains another is hidden whole.
            secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
            let changed = value_at(other, pointer).is_some_and(|o| &o != value);
            let mask = match (changed, side_is_after) {
                (false, _) => MASK,
                (true, false) => MASK_BEFORE,
                (true, true) => MASK_AFTER,
            };
            let masked = secrets
                .iter()
                .fold(value.clone(), |v, secret| v.replace(secret.as_str(), mask));
            plan.push((side_is_after, pointer.clone(), masked));
        }
    }
    let (mut before, mut after) = (before, after);
    for (side_is_after, pointer, masked) in plan {
        let side = if side_is_after {
            after.as_deref_mut()
        } else {
            before.as_deref_mut()
        };
        if let Some(v) = side.and_then(|s| s.pointer_mut(&pointer)) {
            *v = Value::from(masked);
        }
    }
}

/// Removes any of a Secret's values (as written, base64-decoded for `data`, base64-encoded for
/// `stringData`, which the server stores encoded in `data`) from a message, for server errors
/// that might quote them back.
pub fn scrub(message: &str, secret: &Value) -> String {
    let mut values = secret_values(secret);
    // Longest first, so a value that contains another is hidden whole.
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    let mut out = message.to_string();
    for v in values.iter().filter(|v| v.trim().len() >= 3) {
        out = out.replace(v.as_str(), MASK);
    }
    out
}

/// Every form of a Secret's values that a text might hold: as written, base64-decoded for
/// `data`, base64-encoded for `stringData` (the server stores it encoded in `data`).
fn secret_values(secret: &Value) -> Vec<String> {
    let mut values: Vec<String> = Vec::new();
    for field in SECRET_FIELDS {
        let Some(map) = secret.get(field).and_then(Value::as_object) else {
            continue;
        };
        for v in map.values() {
            let text = match v.as_str() {
                Some(s) => s.to_string(),
                None => v.to_string(),
            };
            let engine = base64::engine::general_purpose::STANDARD;
            if field == "data"
                && let Ok(decoded) = engine.decode(text.trim())
                && let Ok(decoded) = String::from_utf8(decoded)
            {
                values.push(decoded);
            }
            if field == "stringData" {
                values.push(engine.encode(&text));
            }
            values.push(text);
        }
    }
    values
}

#[cfg(test)]
mod tests;
