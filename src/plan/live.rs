//! What the cluster holds of the desired objects, as the set's LISTs found it:
//! the live object, or only the knowledge that it is provably as driftless left it (the object
//! itself is not kept: a no-change plan holds no live object in memory).

use std::collections::HashMap;

use serde_json::Value;

use crate::render::{Key, ObjectId};

/// One desired object as listed.
#[derive(Debug, Clone, PartialEq)]
pub enum Live {
    /// Its ledger record proves it unchanged: no dry-run needed.
    Proven,
    /// The live object, to dry-run against.
    Object(Value),
    /// Not listed, and a run-once object the set applied with this very manifest: it ran and
    /// was deleted since (see [`super::DryRun::Done`]).
    Done,
}

/// Listed desired objects, by identity (without version). An object not here was not listed
/// as the set's: it does not exist, or exists without the set's label (a dry-run tells which).
#[derive(Debug, Default)]
pub struct LiveIndex {
    /// By a digest of the identity: a fifth of what its strings would take.
    objects: HashMap<Key, Live>,
}

impl LiveIndex {
    pub fn insert(&mut self, id: &ObjectId, live: Live) {
        self.objects.insert(Key::of(id), live);
    }

    pub fn get(&self, id: &ObjectId) -> Option<&Live> {
        self.objects.get(&Key::of(id))
    }

    pub fn extend(&mut self, other: LiveIndex) {
        self.objects.extend(other.objects);
    }

    /// Room for `more` objects, so that merging many indexes grows the table once.
    pub fn reserve(&mut self, more: usize) {
        self.objects.reserve(more);
    }

    /// How many objects were proven unchanged.
    pub fn proven(&self) -> usize {
        self.objects
            .values()
            .filter(|l| matches!(l, Live::Proven))
            .count()
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(group: &str, kind: &str, namespace: Option<&str>, name: &str) -> ObjectId {
        ObjectId {
            group: group.into(),
            version: "v1".into(),
            kind: kind.into(),
            namespace: namespace.map(str::to_string),
            name: name.into(),
        }
    }

    #[test]
    fn identities_that_differ_anywhere_are_different_entries() {
        let ids = [
            id("", "ConfigMap", Some("a"), "b"),
            id("", "ConfigMap", Some("ab"), ""),
            id("", "ConfigMap", Some(""), "ab"),
            id("", "ConfigMap", None, "ab"),
            id("", "ConfigMapa", None, "b"),
            id("apps", "Deployment", Some("a"), "b"),
            id("", "Secret", Some("a"), "b"),
        ];
        let mut index = LiveIndex::default();
        for (i, id) in ids.iter().enumerate() {
            index.insert(id, Live::Object(Value::from(i)));
        }
        assert_eq!(index.len(), ids.len());
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(index.get(id), Some(&Live::Object(Value::from(i))));
        }
        // The version is not part of the identity: a listed v1 answers for a desired v2.
        let mut v2 = ids[0].clone();
        v2.version = "v2".into();
        assert_eq!(index.get(&v2), Some(&Live::Object(Value::from(0))));
    }
}
