//! One way to hide Secret values, for every output path (diffs, reports, logs, errors).

use base64::Engine as _;
use serde_json::Value;

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

/// Removes any of a Secret's values (as written, base64-decoded for `data`, base64-encoded for
/// `stringData`, which the server stores encoded in `data`) from a message, for server errors
/// that might quote them back.
pub fn scrub(message: &str, secret: &Value) -> String {
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
    // Longest first, so a value that contains another is hidden whole.
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    let mut out = message.to_string();
    for v in values.iter().filter(|v| v.trim().len() >= 3) {
        out = out.replace(v.as_str(), MASK);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
