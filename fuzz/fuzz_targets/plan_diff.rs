//! Normalize, mask and diff on arbitrary JSON: the input is one or two JSON values (live, then
//! desired). Normalizing twice changes nothing, an object diffed with itself is empty, and a
//! Secret's masked diff shows no value of `data` or `stringData`, only masks.
#![no_main]

use driftless::plan::diff::unified;
use driftless::plan::mask::{MASK, mask_secret, mask_secret_pair, scrub};
use driftless::plan::normalize::normalize;
use driftless::render::ObjectId;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const MASKS: [&str; 3] = [MASK, "*** (before)", "*** (after)"];

fn id() -> ObjectId {
    ObjectId {
        group: String::new(),
        version: "v1".into(),
        kind: "Secret".into(),
        namespace: Some("ns".into()),
        name: "s".into(),
    }
}

/// Every value under `data` and `stringData` is a mask.
fn assert_masked(object: &Value) {
    for field in ["data", "stringData"] {
        let Some(v) = object.get(field) else { continue };
        match v {
            Value::Null => {}
            Value::Object(map) => {
                for v in map.values() {
                    assert!(
                        v.as_str().is_some_and(|s| MASKS.contains(&s)),
                        "{field}: {object}"
                    );
                }
            }
            other => assert_eq!(other, MASK, "{field}: {object}"),
        }
    }
}

/// The Secret's values as text, and the base64-decoded text of `data` values.
fn values(object: &Value) -> Vec<String> {
    use base64::Engine as _;
    let mut out = Vec::new();
    for field in ["data", "stringData"] {
        for v in object
            .get(field)
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.values())
        {
            let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            if field == "data"
                && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(text.trim())
                && let Ok(decoded) = String::from_utf8(bytes)
            {
                out.push(decoded);
            }
            out.push(text);
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let mut stream = serde_json::Deserializer::from_slice(data).into_iter::<Value>();
    let Some(Ok(live)) = stream.next() else {
        return;
    };
    let desired = match stream.next() {
        Some(Ok(v)) => v,
        _ => live.clone(),
    };
    let id = id();

    for v in [&live, &desired] {
        let once = normalize(v);
        assert_eq!(normalize(&once), once, "normalize is not idempotent");
        assert_eq!(unified(&id, Some(&once), Some(&once), Some("rev")), "");
        let mut masked = once.clone();
        mask_secret(&mut masked);
        assert_masked(&masked);
        let mut twice = masked.clone();
        mask_secret(&mut twice);
        assert_eq!(twice, masked, "mask_secret is not idempotent");
        // Masked the same way on both sides: still no diff.
        let (mut a, mut b) = (once.clone(), once.clone());
        mask_secret_pair(Some(&mut a), Some(&mut b));
        assert_eq!(unified(&id, Some(&a), Some(&b), None), "");
    }

    let (mut before, mut after) = (normalize(&live), normalize(&desired));
    mask_secret_pair(Some(&mut before), Some(&mut after));
    assert_masked(&before);
    assert_masked(&after);
    let (b1, a1) = (before.clone(), after.clone());
    mask_secret_pair(Some(&mut before), Some(&mut after));
    assert_eq!(
        (&before, &after),
        (&b1, &a1),
        "mask_secret_pair is not idempotent"
    );
    let diff = unified(&id, Some(&before), Some(&after), None);
    // A value may still show where the object holds it outside data/stringData (a label, say).
    let elsewhere = format!(
        "{}{}",
        unified(&id, None, Some(&before), None),
        unified(&id, None, Some(&after), None)
    );
    for value in values(&live).iter().chain(&values(&desired)) {
        if value.len() >= 4 && !elsewhere.contains(value.as_str()) {
            assert!(
                !diff.contains(value.as_str()),
                "{value:?} shows in the diff:\n{diff}"
            );
        }
    }

    // Server messages: values (and decoded `data` values) are scrubbed, and scrubbing again
    // changes nothing. (A value with `*` in it could be made of a mask and text: left out.)
    let message = String::from_utf8_lossy(data);
    for secret in [&live, &desired] {
        let values = values(secret);
        if values.iter().any(|v| v.contains('*')) {
            continue;
        }
        let once = scrub(&message, secret);
        assert_eq!(scrub(&once, secret), once, "scrub is not idempotent");
        for value in values.iter().filter(|v| v.trim().len() >= 3) {
            assert!(!once.contains(value.as_str()), "{value:?} left in {once:?}");
        }
    }
});
