//! Properties of the pure planning, over generated objects: the apply order is a total order,
//! masking hides every Secret value and is idempotent, normalization is idempotent, and an object
//! never differs from itself. Case counts are kept small so the suite stays fast.

use std::cmp::Ordering;
use std::path::PathBuf;

use base64::Engine as _;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::diff::{to_yaml, unified};
use super::mask::{mask_secret, mask_secret_pair, scrub};
use super::normalize::{LAST_APPLIED, normalize};
use super::order::{apply_key, is_foundation};
use super::{Context, DesiredObject, DryRun, Observation, classify};
use crate::render::{ObjectId, Origin};

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// Ids from small pools, so that equal and nearly equal ids (same kind and name in another
/// group or version) come up often.
fn object_id() -> impl Strategy<Value = ObjectId> {
    const GROUPS: [&str; 5] = [
        "",
        "apps",
        "example.com",
        "other.io",
        "apiextensions.k8s.io",
    ];
    const KINDS: [&str; 7] = [
        "Namespace",
        "CustomResourceDefinition",
        "Secret",
        "ConfigMap",
        "Deployment",
        "Widget",
        "ValidatingWebhookConfiguration",
    ];
    (
        prop::sample::select(&GROUPS[..]),
        prop::sample::select(&["v1", "v2"][..]),
        prop::sample::select(&KINDS[..]),
        prop::option::of(prop::sample::select(&["a", "b"][..])),
        "[ab]{0,2}",
    )
        .prop_map(|(group, version, kind, namespace, name)| ObjectId {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            namespace: namespace.map(str::to_string),
            name,
        })
}

/// Two ids: unrelated, equal, or equal but for one field.
fn id_pair() -> impl Strategy<Value = (ObjectId, ObjectId)> {
    (object_id(), object_id(), 0..6u8).prop_map(|(a, other, how)| {
        let b = match how {
            0 => other,
            1 => a.clone(),
            2 => ObjectId {
                group: other.group,
                ..a.clone()
            },
            3 => ObjectId {
                version: other.version,
                ..a.clone()
            },
            4 => ObjectId {
                namespace: other.namespace,
                ..a.clone()
            },
            _ => ObjectId {
                name: other.name,
                ..a.clone()
            },
        };
        (a, b)
    })
}

fn cmp(a: &ObjectId, b: &ObjectId) -> Ordering {
    apply_key(a).cmp(&apply_key(b))
}

/// A secret value: long and random enough never to occur by chance in the rest of the object.
fn secret_value() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{8,20}"
}

/// A Secret with `data` (base64 of generated plain values) and `stringData`, and those values.
fn secret() -> impl Strategy<Value = (Value, Vec<String>)> {
    (
        prop::collection::btree_map("[a-z]{1,5}", secret_value(), 0..4),
        prop::collection::btree_map("[a-z]{1,5}", secret_value(), 0..4),
        "[a-z]{1,8}",
    )
        .prop_map(|(data, string_data, name)| {
            let values: Vec<String> = data.values().chain(string_data.values()).cloned().collect();
            let data: Map<String, Value> = data
                .into_iter()
                .map(|(k, v)| (k, Value::from(b64(&v))))
                .collect();
            let secret = json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": name, "namespace": "ns", "resourceVersion": "7"},
                "type": "Opaque", "data": data, "stringData": string_data,
            });
            (secret, values)
        })
}

/// Neither a value nor its base64 form appears in `text`.
fn assert_hidden(text: &str, values: &[String]) -> Result<(), TestCaseError> {
    for value in values {
        prop_assert!(!text.contains(value.as_str()), "{value} shows in:\n{text}");
        let encoded = b64(value);
        prop_assert!(!text.contains(&encoded), "{encoded} shows in:\n{text}");
    }
    Ok(())
}

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        "[a-z0-9 :*#-]{0,10}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An object as the server returns it: any content, plus some of the fields it owns.
fn live_object() -> impl Strategy<Value = Value> {
    (
        json_value(),
        json_value(),
        any::<bool>(),
        any::<bool>(),
        prop::collection::btree_map("[a-z]{1,6}", "[a-z]{0,6}", 0..3),
    )
        .prop_map(|(spec, status, server_fields, last_applied, annotations)| {
            let mut meta = json!({"name": "x", "namespace": "ns"});
            if server_fields {
                meta["managedFields"] = json!([{"manager": "driftless"}]);
                meta["resourceVersion"] = json!("42");
                meta["uid"] = json!("u-1");
                meta["generation"] = json!(3);
            }
            let mut annotations: Map<String, Value> = annotations
                .into_iter()
                .map(|(k, v)| (k, Value::from(v)))
                .collect();
            if last_applied {
                annotations.insert(LAST_APPLIED.into(), Value::from("{}"));
            }
            if !annotations.is_empty() {
                meta["annotations"] = Value::Object(annotations);
            }
            json!({"apiVersion": "v1", "kind": "Thing", "metadata": meta, "spec": spec, "status": status})
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn apply_order_is_a_total_order_consistent_with_equality(
        (a, b) in id_pair(), c in object_id()
    ) {
        prop_assert_eq!(cmp(&a, &b) == Ordering::Equal, a == b);
        prop_assert_eq!(cmp(&a, &b), cmp(&b, &a).reverse());
        if cmp(&a, &b) != Ordering::Greater && cmp(&b, &c) != Ordering::Greater {
            prop_assert_ne!(cmp(&a, &c), Ordering::Greater);
        }
        if is_foundation(&a) && !is_foundation(&b) {
            prop_assert_eq!(cmp(&a, &b), Ordering::Less);
        }
    }

    #[test]
    fn apply_order_does_not_depend_on_input_order(
        ids in prop::collection::vec(object_id(), 0..12)
    ) {
        let sorted = |mut ids: Vec<ObjectId>| {
            ids.sort_by(cmp);
            ids
        };
        let reversed: Vec<ObjectId> = ids.iter().rev().cloned().collect();
        prop_assert_eq!(sorted(ids), sorted(reversed));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn a_masked_secret_shows_no_value_and_masking_again_changes_nothing(
        (secret, values) in secret()
    ) {
        let mut masked = secret.clone();
        mask_secret(&mut masked);
        assert_hidden(&to_yaml(&masked), &values)?;
        let mut again = masked.clone();
        mask_secret(&mut again);
        prop_assert_eq!(again, masked);
    }

    #[test]
    fn a_masked_secret_pair_and_its_diff_show_no_value(
        (live, live_values) in secret(), (desired, desired_values) in secret()
    ) {
        let values: Vec<String> = live_values.into_iter().chain(desired_values).collect();
        let id = ObjectId::for_test("v1", "Secret", "ns", "s");
        let (mut before, mut after) = (normalize(&live), normalize(&desired));
        mask_secret_pair(Some(&mut before), Some(&mut after));
        let diff = unified(&id, Some(&before), Some(&after), None);
        assert_hidden(&format!("{}{}{diff}", to_yaml(&before), to_yaml(&after)), &values)?;
        let (b1, a1) = (before.clone(), after.clone());
        mask_secret_pair(Some(&mut before), Some(&mut after));
        prop_assert_eq!((before, after), (b1, a1));

        // The same through the planner, as `diff` and `sync` print it.
        let object = DesiredObject {
            id,
            kind: None,
            manifest: desired.clone().into(),
            origin: Origin { file: PathBuf::from("s.yaml"), line: 1, rendered_by: None },
            sops: None,
        };
        let ctx = Context { field_manager: "driftless", revision: None, adopt: true, takeover_managers: &[], foreign_owner: &super::no_foreign_owner, replace_kinds: &[] };
        let observed = Observation { live: Some(live), dry_run: DryRun::Merged(desired) };
        let plan = classify(object, observed, ctx);
        assert_hidden(&plan.diff, &values)?;
    }

    #[test]
    fn scrub_leaves_no_value_in_a_message_and_is_idempotent(
        (secret, values) in secret(),
        filler in prop::collection::vec("[a-z :\"=]{0,6}", 0..8),
    ) {
        // A server message quoting the values, their base64 forms, and text around them.
        let mut message = String::new();
        for (i, text) in filler.iter().enumerate() {
            message.push_str(text);
            if let Some(v) = values.get(i % values.len().max(1)) {
                let quoted = if i % 2 == 0 { v.clone() } else { b64(v) };
                message.push_str(&quoted);
            }
        }
        let once = scrub(&message, &secret);
        assert_hidden(&once, &values)?;
        prop_assert_eq!(scrub(&once, &secret), once);
    }

    #[test]
    fn normalization_is_idempotent_and_an_object_never_differs_from_itself(
        object in live_object(), other in json_value()
    ) {
        let once = normalize(&object);
        prop_assert_eq!(normalize(&once), once.clone());
        prop_assert!(once.get("status").is_none());
        let id = ObjectId::for_test("v1", "Secret", "ns", "s");
        prop_assert_eq!(unified(&id, Some(&object), Some(&object), Some("rev")), "");
        prop_assert_eq!(unified(&id, Some(&once), Some(&once), None), "");
        prop_assert_eq!(normalize(&normalize(&other)), normalize(&other));
        prop_assert_eq!(unified(&id, Some(&other), Some(&other), None), "");
    }
}
