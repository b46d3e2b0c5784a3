//! The proof that lets a plan skip an object's dry-run: what driftless applied (or verified) last
//! time, and what it found the object to be right after.
//!
//! A [`Record`] is written to the set's inventory after each sync that applies or verifies an
//! object: a hash of the desired manifest as applied, and a fingerprint of the object as it
//! stood: driftless's own `managedFields` entry (its fields and the time it last wrote them)
//! and the object's `generation`. A later plan may skip the dry-run when both still hold:
//! - the desired manifest hashes the same: the source did not change it;
//! - the live object has the same fingerprint: nobody touched what driftless owns. An edit by
//!   kubectl or any other manager takes ownership of the fields it changed (driftless's entry
//!   shrinks); a write under driftless's own name moves the entry's time; a spec change by any
//!   path (even one that records no managedFields, as the scale subresource on 1.20) moves the
//!   generation. Status updates and other managers' own fields move none of them.
//!
//! Anything not proven takes the full dry-run path.

use serde_json::Value;

pub use crate::render::short_hash;

/// What driftless last applied or verified of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Hash of the desired manifest as applied (labels included).
    pub desired: String,
    /// Hash of driftless's `Apply` entry in `managedFields`: its fields and its time.
    pub fields: String,
    /// `metadata.generation` when it has one.
    pub generation: Option<i64>,
}

impl Record {
    /// The record of `live`, as it stands, for a desired manifest hashing to `desired`; `None`
    /// when driftless never applied it (no `Apply` entry of its field manager).
    pub fn of(desired: &str, live: &Value, field_manager: &str) -> Option<Record> {
        Some(Record {
            desired: desired.to_string(),
            fields: fingerprint(live, field_manager)?,
            generation: live["metadata"]["generation"].as_i64(),
        })
    }

    /// Whether `live` is provably as driftless left it, and `desired` what it applied then.
    pub fn proves_unchanged(&self, desired: &str, live: &Value, field_manager: &str) -> bool {
        Record::of(desired, live, field_manager).as_ref() == Some(self)
    }

    /// The stored form: `desired.fields.generation`.
    pub fn encode(&self) -> String {
        let generation = self.generation.map(|g| g.to_string()).unwrap_or_default();
        format!("{}.{}.{generation}", self.desired, self.fields)
    }

    pub fn decode(text: &str) -> Option<Record> {
        let mut parts = text.splitn(3, '.');
        let (desired, fields, generation) = (parts.next()?, parts.next()?, parts.next()?);
        if desired.is_empty() || fields.is_empty() {
            return None;
        }
        let generation = match generation {
            "" => None,
            g => Some(g.parse().ok()?),
        };
        Some(Record {
            desired: desired.into(),
            fields: fields.into(),
            generation,
        })
    }
}

/// The hash of a desired manifest (serde_json's maps are ordered: the same manifest always
/// hashes the same).
pub fn desired_hash(manifest: &Value) -> String {
    short_hash(manifest.to_string().as_bytes())
}

/// Hash of the field manager's `Apply` entry (fields and time), or `None` without one. For a
/// Secret also its `data`: a manifest that sets `stringData` owns `stringData`, which the server
/// turns into `data`, so an edit of `data` takes nothing away from driftless's entry.
fn fingerprint(live: &Value, field_manager: &str) -> Option<String> {
    let entry = live["metadata"]["managedFields"]
        .as_array()?
        .iter()
        .find(|e| e["manager"] == field_manager && e["operation"] == "Apply")?;
    let mut fields = format!("{}|{}", entry["fieldsV1"], entry["time"]);
    if live["kind"] == "Secret" && live["apiVersion"] == "v1" {
        fields.push('|');
        fields.push_str(&live["data"].to_string());
    }
    Some(short_hash(fields.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn live(fields: Value, time: &str, generation: i64, others: Value) -> Value {
        let mut managed = vec![
            json!({"manager": "driftless", "operation": "Apply", "fieldsV1": fields, "time": time}),
        ];
        managed.extend(others.as_array().cloned().unwrap_or_default());
        json!({"metadata": {"generation": generation, "managedFields": managed, "resourceVersion": "5"},
               "spec": {"replicas": 2}, "status": {"readyReplicas": 1}})
    }

    #[test]
    fn records_round_trip_and_reject_garbage() {
        let r = Record {
            desired: "aa".into(),
            fields: "bb".into(),
            generation: Some(3),
        };
        assert_eq!(Record::decode(&r.encode()), Some(r));
        let no_gen = Record {
            desired: "aa".into(),
            fields: "bb".into(),
            generation: None,
        };
        assert_eq!(Record::decode(&no_gen.encode()), Some(no_gen));
        for bad in ["", "aa", "aa.bb", ".bb.1", "aa.bb.x"] {
            assert_eq!(Record::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn what_proves_an_object_unchanged_and_what_does_not() {
        let fields = json!({"f:spec": {"f:replicas": {}}});
        let synced = live(fields.clone(), "t1", 4, json!([]));
        let record = Record::of("d1", &synced, "driftless").unwrap();
        assert!(record.proves_unchanged("d1", &synced, "driftless"));

        // Status updates, other managers' own fields, a new resourceVersion: still proven.
        let mut status = synced.clone();
        status["status"]["readyReplicas"] = json!(2);
        status["metadata"]["resourceVersion"] = json!("9");
        let hpa = json!([{"manager": "hpa", "operation": "Update", "fieldsV1": {"f:metadata": {"f:labels": {"f:x": {}}}}}]);
        let mut labelled = live(fields.clone(), "t1", 4, hpa);
        labelled["metadata"]["labels"] = json!({"x": "y"});
        for same in [&status, &labelled] {
            assert!(record.proves_unchanged("d1", same, "driftless"));
        }

        // A new desired manifest, an edit that took a field, a write under our name, a spec
        // change that recorded nothing (1.20's scale subresource), or no entry at all: not.
        assert!(!record.proves_unchanged("d2", &synced, "driftless"));
        let took = live(json!({"f:spec": {}}), "t1", 4, json!([]));
        let rewritten = live(fields.clone(), "t2", 4, json!([]));
        let scaled = live(fields, "t1", 5, json!([]));
        let recreated = json!({"metadata": {"generation": 1}});
        for changed in [&took, &rewritten, &scaled, &recreated] {
            assert!(
                !record.proves_unchanged("d1", changed, "driftless"),
                "{changed}"
            );
        }
    }

    #[test]
    fn a_secret_written_through_string_data_is_proven_by_its_data_too() {
        // driftless owns `stringData`; kubectl edits `data`: nobody takes a field from driftless.
        let secret = |value: &str| {
            json!({"apiVersion": "v1", "kind": "Secret", "data": {"password": value},
                   "metadata": {"managedFields": [
                       {"manager": "driftless", "operation": "Apply", "time": "t1",
                        "fieldsV1": {"f:stringData": {"f:password": {}}}}]}})
        };
        let record = Record::of("d", &secret("czE="), "driftless").unwrap();
        assert!(record.proves_unchanged("d", &secret("czE="), "driftless"));
        assert!(!record.proves_unchanged("d", &secret("ZWRpdGVk"), "driftless"));
    }

    #[test]
    fn desired_hashes_follow_content_not_formatting() {
        let a = json!({"data": {"x": "1", "y": "2"}});
        let b: Value = serde_json::from_str(r#"{"data":{"y":"2","x":"1"}}"#).unwrap();
        assert_eq!(desired_hash(&a), desired_hash(&b));
        assert_ne!(desired_hash(&a), desired_hash(&json!({"data": {"x": "1"}})));
        assert_eq!(desired_hash(&a).len(), 16);
    }
}
