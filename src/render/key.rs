//! How a map names an object: 16 bytes (a digest of its identity without a version), not five
//! strings, since a set's objects are keys in large maps (the drift loop's and its watches',
//! the listing's live index).

use sha2::{Digest, Sha256};

use crate::render::ObjectId;

/// An object's identity across API versions. Two objects share one only if 128 bits of
/// SHA-256 collide; the reports name objects by the desired object's own id, never by this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key(u128);

impl Key {
    pub fn new(group: &str, kind: &str, namespace: Option<&str>, name: &str) -> Key {
        let mut hash = Sha256::new();
        // Length-prefixed, so no two identities write the same bytes; a cluster-scoped
        // object's namespace is absent, not empty.
        for part in [Some(group), Some(kind), namespace, Some(name)] {
            match part {
                Some(part) => {
                    hash.update([1]);
                    hash.update((part.len() as u64).to_le_bytes());
                    hash.update(part.as_bytes());
                }
                None => hash.update([0]),
            }
        }
        let digest = hash.finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Key(u128::from_le_bytes(bytes))
    }

    pub fn of(id: &ObjectId) -> Key {
        Key::new(&id.group, &id.kind, id.namespace.as_deref(), &id.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(version: &str, namespace: Option<&str>, name: &str) -> ObjectId {
        ObjectId {
            group: "apps".into(),
            version: version.into(),
            kind: "Deployment".into(),
            namespace: namespace.map(str::to_string),
            name: name.into(),
        }
    }

    #[test]
    fn one_key_across_versions_and_distinct_otherwise() {
        assert_eq!(
            Key::of(&id("v1", Some("a"), "web")),
            Key::of(&id("v1beta1", Some("a"), "web"))
        );
        assert_eq!(
            Key::of(&id("v1", Some("a"), "web")),
            Key::new("apps", "Deployment", Some("a"), "web")
        );
        assert_ne!(
            Key::of(&id("v1", Some("a"), "web")),
            Key::of(&id("v1", Some("b"), "web"))
        );
        assert_ne!(
            Key::of(&id("v1", Some("ab"), "c")),
            Key::of(&id("v1", Some("a"), "bc"))
        );
        assert_ne!(
            Key::of(&id("v1", None, "web")),
            Key::of(&id("v1", Some(""), "web"))
        );
    }
}
