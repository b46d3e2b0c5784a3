//! Each parent's ledger: the [`Record`] of every member the set applied or verified, kept in the
//! parent Secret's `data.ledger` (JSON: `{"Deployment.apps/web": "desired.fields.generation"}`),
//! so the proof survives between runs of the CLI and moves with the inventory.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::Value;

use super::parent::group_kind;
use crate::plan::ledger::Record;
use crate::render::ObjectId;

/// The key data holding the ledger in a parent Secret.
pub const LEDGER_KEY: &str = "ledger";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger(BTreeMap<String, Record>);

/// `Kind.group/name`: an object's entry within its namespace's parent.
pub fn entry_key(id: &ObjectId) -> String {
    format!("{}/{}", group_kind(&id.group, &id.kind), id.name)
}

impl Ledger {
    /// Reads a live parent's ledger; a missing or unreadable one is empty (every member then
    /// takes the full path once).
    pub fn read(parent: &Value) -> Ledger {
        let engine = base64::engine::general_purpose::STANDARD;
        let entries = parent["data"][LEDGER_KEY]
            .as_str()
            .and_then(|b64| engine.decode(b64).ok())
            .and_then(|json| serde_json::from_slice::<BTreeMap<String, String>>(&json).ok())
            .unwrap_or_default();
        Ledger(
            entries
                .into_iter()
                .filter_map(|(k, v)| Some((k, Record::decode(&v)?)))
                .collect(),
        )
    }

    /// The base64 of the ledger's JSON, as `data.ledger` holds it.
    pub fn encode(&self) -> String {
        let map: BTreeMap<&str, String> = self
            .0
            .iter()
            .map(|(k, r)| (k.as_str(), r.encode()))
            .collect();
        let json = serde_json::to_vec(&map).unwrap_or_default();
        base64::engine::general_purpose::STANDARD.encode(json)
    }

    pub fn get(&self, id: &ObjectId) -> Option<&Record> {
        self.0.get(&entry_key(id))
    }

    pub fn insert(&mut self, id: &ObjectId, record: Record) {
        self.0.insert(entry_key(id), record);
    }

    pub fn remove(&mut self, id: &ObjectId) {
        self.0.remove(&entry_key(id));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_ledger_round_trips_through_the_parent_secret() {
        let web = ObjectId::for_test("apps/v1", "Deployment", "ns", "web");
        let mut ledger = Ledger::default();
        let record = Record {
            desired: "d".into(),
            fields: "f".into(),
            generation: Some(2),
        };
        ledger.insert(&web, record.clone());
        let parent = json!({"data": {LEDGER_KEY: ledger.encode()}});
        let read = Ledger::read(&parent);
        assert_eq!(read.get(&web), Some(&record));
        assert_eq!(entry_key(&web), "Deployment.apps/web");
        assert!(Ledger::read(&json!({"data": {LEDGER_KEY: "not base64!"}})).is_empty());
        assert!(Ledger::read(&json!({})).is_empty());
    }
}
