//! What the cluster holds of the desired objects, as the set's LISTs found it:
//! the live object, or only the knowledge that it is provably as driftless left it (the object
//! itself is not kept: a no-change plan holds no live object in memory).

use std::collections::HashMap;

use serde_json::Value;

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
    objects: HashMap<(String, String, Option<String>, String), Live>,
}

fn key(id: &ObjectId) -> (String, String, Option<String>, String) {
    let (group, kind, namespace, name) = id.key();
    (
        group.to_string(),
        kind.to_string(),
        namespace.map(str::to_string),
        name.to_string(),
    )
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
