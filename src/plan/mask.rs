//! One way to hide secret values, for every output path (diffs, reports, logs, errors): a
//! Secret's values, and the secrets people put where they should not, in pod templates: an env
//! literal named like a password or token, a password inside a URL.

use base64::Engine as _;
use serde_json::Value;

use crate::render::ObjectId;

pub const MASK: &str = "***";
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
        return mask_env_literals(before, after);
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
    let mut values: Vec<String> = env_literals(object)
        .into_iter()
        .filter_map(|(_, name, value)| secret_part(&name, &value))
        .collect();
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    for v in values.iter().filter(|v| v.len() >= 3) {
        out = out.replace(v.as_str(), MASK);
    }
    out
}

/// Env variable names that say their value is a secret.
const SECRET_NAMES: [&str; 9] = [
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "API_KEY",
    "APIKEY",
    "PRIVATE_KEY",
    "CREDENTIAL",
    "ACCESS_KEY",
];

/// The part of an env literal that is secret: the whole value for a secret-like name, the
/// password of a URL (`postgresql://user:PASSWORD@host/db`) otherwise.
fn secret_part(name: &str, value: &str) -> Option<String> {
    let upper = name.to_ascii_uppercase().replace('-', "_");
    if SECRET_NAMES.iter().any(|s| upper.contains(s)) {
        return Some(value.to_string()).filter(|v| !v.is_empty());
    }
    url_password(value).map(str::to_string)
}

/// `pass` in `scheme://user:pass@host...`.
fn url_password(value: &str) -> Option<&str> {
    let rest = &value[value.find("://")? + 3..];
    let authority = rest.split(['/', '?', '#']).next()?;
    let userinfo = &authority[..authority.rfind('@')?];
    let (_, password) = userinfo.split_once(':')?;
    Some(password).filter(|p| !p.is_empty())
}

/// Every `env: [{name, value}]` literal in an object (pod templates of any workload or custom
/// resource), as (JSON pointer of the value, name, value).
fn env_literals(object: &Value) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    walk_env(object, String::new(), &mut found);
    found
}

fn walk_env(value: &Value, path: String, found: &mut Vec<(String, String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let child_path = format!("{path}/{}", key.replace('~', "~0").replace('/', "~1"));
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

/// Masks secret env literals on both sides; a secret that differs shows `*** (before)` and
/// `*** (after)`, so a diff still says *that* it changed.
fn mask_env_literals(before: Option<&mut Value>, after: Option<&mut Value>) {
    let b_env = before.as_deref().map(env_literals).unwrap_or_default();
    let a_env = after.as_deref().map(env_literals).unwrap_or_default();
    let value_at = |env: &[(String, String, String)], at: &str| {
        env.iter()
            .find(|(p, _, _)| p == at)
            .map(|(_, _, v)| v.clone())
    };
    let mut plan: Vec<(bool, String, String, String)> = Vec::new();
    for (side_is_after, env, other) in [(false, &b_env, &a_env), (true, &a_env, &b_env)] {
        for (pointer, name, value) in env.iter() {
            let Some(secret) = secret_part(name, value) else {
                continue;
            };
            let changed = value_at(other, pointer).is_some_and(|o| &o != value);
            let mask = match (changed, side_is_after) {
                (false, _) => MASK,
                (true, false) => MASK_BEFORE,
                (true, true) => MASK_AFTER,
            };
            plan.push((
                side_is_after,
                pointer.clone(),
                value.replace(&secret, mask),
                secret,
            ));
        }
    }
    let (mut before, mut after) = (before, after);
    for (side_is_after, pointer, masked, _) in plan {
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
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment_id() -> ObjectId {
        ObjectId {
            group: "apps".into(),
            version: "v1".into(),
            kind: "Deployment".into(),
            namespace: Some("ns".into()),
            name: "web".into(),
        }
    }

    fn with_env(env: Value) -> Value {
        json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "env": env}]}}}})
    }

    #[test]
    fn secret_env_literals_and_url_passwords_are_masked_in_any_workload() {
        let mut live = with_env(json!([
            {"name": "DB_PASSWORD", "value": "hunter2"},
            {"name": "api-token", "value": "same-token"},
            {"name": "DATABASE_URL", "value": "postgresql+psycopg://mlflow:s3cr3t@db:5432/mlflow"},
            {"name": "LOG_LEVEL", "value": "info"},
        ]));
        let mut desired = with_env(json!([
            {"name": "DB_PASSWORD", "value": "hunter3"},
            {"name": "api-token", "value": "same-token"},
            {"name": "DATABASE_URL", "value": "postgresql+psycopg://mlflow:s3cr3t@db:5432/mlflow"},
            {"name": "LOG_LEVEL", "value": "debug"},
        ]));
        mask_pair(&deployment_id(), Some(&mut live), Some(&mut desired));
        let env = |v: &Value| v["spec"]["template"]["spec"]["containers"][0]["env"].clone();
        assert_eq!(env(&live)[0]["value"], "*** (before)");
        assert_eq!(env(&desired)[0]["value"], "*** (after)");
        assert_eq!(env(&live)[1]["value"], "***");
        assert_eq!(
            env(&desired)[2]["value"],
            "postgresql+psycopg://mlflow:***@db:5432/mlflow"
        );
        assert_eq!(env(&desired)[3]["value"], "debug", "not secret-like: shown");
        let text = format!("{live}{desired}");
        assert!(
            !text.contains("hunter") && !text.contains("s3cr3t") && !text.contains("same-token")
        );
    }

    #[test]
    fn a_secret_value_is_hidden_wherever_it_appears_in_its_secret() {
        let id = ObjectId {
            group: String::new(),
            version: "v1".into(),
            kind: "Secret".into(),
            namespace: Some("ns".into()),
            name: "s".into(),
        };
        let mut secret = json!({"metadata": {"labels": {"copy": "hunter2!"}, "annotations": {"hunter2": "x"}},
                                "data": {"p": "aHVudGVyMg=="}});
        mask_object(&id, &mut secret);
        assert_eq!(secret["metadata"]["labels"]["copy"], "***!");
        assert!(!secret.to_string().contains("hunter2"), "{secret}");
    }

    #[test]
    fn messages_about_a_workload_lose_its_secret_literals() {
        let object = with_env(json!([{"name": "TOKEN", "value": "tok-abcdef"}]));
        let msg = "spec.template.spec.containers[0].env[0].value: Invalid value: \"tok-abcdef\"";
        let out = scrub_object(msg, &deployment_id(), &object);
        assert_eq!(
            out,
            "spec.template.spec.containers[0].env[0].value: Invalid value: \"***\""
        );
        assert_eq!(url_password("https://host/x"), None);
        assert_eq!(url_password("redis://:pw@cache:6379"), Some("pw"));
    }

    #[test]
    fn pair_marks_changed_values_before_and_after() {
        let mut live =
            json!({"kind": "Secret", "data": {"same": "YQ==", "changed": "Yg==", "gone": "Yw=="}});
        let mut desired =
            json!({"kind": "Secret", "data": {"same": "YQ==", "changed": "ZA==", "new": "ZQ=="}});
        mask_secret_pair(Some(&mut live), Some(&mut desired));
        assert_eq!(
            live["data"],
            json!({"same": "***", "changed": "*** (before)", "gone": "***"})
        );
        assert_eq!(
            desired["data"],
            json!({"same": "***", "changed": "*** (after)", "new": "***"})
        );
    }

    #[test]
    fn one_sided_and_string_data_are_masked() {
        let mut created = json!({"stringData": {"password": "hunter2"}, "data": {"k": "dg=="}});
        mask_secret_pair(None, Some(&mut created));
        assert_eq!(
            created,
            json!({"stringData": {"password": "***"}, "data": {"k": "***"}})
        );
        let mut odd = json!({"data": "not-a-map"});
        mask_secret(&mut odd);
        assert_eq!(odd["data"], "***");
    }

    #[test]
    fn scrub_hides_raw_and_decoded_values() {
        let secret =
            json!({"data": {"p": "aHVudGVyMi1wYXNzd29yZA=="}, "stringData": {"t": "tok-123456"}});
        let msg = "bad value \"hunter2-password\" and aHVudGVyMi1wYXNzd29yZA== and tok-123456";
        let out = scrub(msg, &secret);
        assert!(
            !out.contains("hunter2") && !out.contains("aHVudGVy") && !out.contains("tok-1"),
            "{out}"
        );
        assert_eq!(out, "bad value \"***\" and *** and ***");
    }

    #[test]
    fn scrub_hides_string_data_as_the_server_stores_it() {
        // The server moves stringData into data, base64-encoded; its messages may quote that.
        let secret = json!({"stringData": {"t": "tok-123456"}});
        let msg = "data[t]: Invalid value: \"dG9rLTEyMzQ1Ng==\"";
        assert_eq!(scrub(msg, &secret), "data[t]: Invalid value: \"***\"");
    }
}
