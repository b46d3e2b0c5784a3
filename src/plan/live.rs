//! What the cluster holds of the desired objects, as the set's LISTs found it:
//! the live object, or only the knowledge that it is provably as driftless left it (the object
//! itself is not kept: a no-change plan holds no live object in memory).

use std::collections::HashMap;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::render::ObjectId;

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
    /// By 128 bits of SHA-256 of the identity: a fifth of what its four strings take, with no
    /// collision to fear among a set's objects.
    objects: HashMap<u128, Live>,
}

fn key(id: &ObjectId) -> u128 {
    let (group, kind, namespace, name) = id.key();
    let mut hash = Sha256::new();
    // Each part ends in a byte no name holds, and a namespace says whether there is one.
    for part in [group, kind, namespace.unwrap_or_default(), name] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hash.update([u8::from(namespace.is_some())]);
    let digest = hash.finalize();
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest[..16]);
    u128::from_le_bytes(first)
}

impl LiveIndex {
    pub fn insert(&mut self, id: &ObjectId, live: Live) {
        self.objects.insert(key(id), live);
    }

    pub fn get(&self, id: &ObjectId) -> Option<&Live> {
        self.objects.get(&key(id))
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
