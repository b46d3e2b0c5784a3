//! Which namespaces a sync touches (`--namespace`, `--namespaces-from-source`, or all).

use std::collections::BTreeSet;

use crate::plan::NamespaceKey;
use crate::render::{DesiredObject, ObjectId};

/// What the user asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Scope {
    /// Every namespace the source names, and every namespace holding a driftless inventory.
    #[default]
    All,
    /// Only these namespaces (and their Namespace objects); other cluster-scoped objects are
    /// skipped.
    Namespaces(BTreeSet<String>),
    /// Only the namespaces the source itself names, and its cluster-scoped objects.
    FromSource,
}

/// The scope resolved against a desired set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeSet {
    /// `None`: every namespace.
    namespaces: Option<BTreeSet<String>>,
    /// Whether cluster-scoped objects (besides Namespaces named in `namespaces`) are in scope.
    cluster: bool,
}

impl ScopeSet {
    pub fn new(scope: &Scope, desired: &[DesiredObject]) -> ScopeSet {
        match scope {
            Scope::All => ScopeSet {
                namespaces: None,
                cluster: true,
            },
            Scope::Namespaces(set) => ScopeSet {
                namespaces: Some(set.clone()),
                cluster: false,
            },
            Scope::FromSource => {
                let mut set = BTreeSet::new();
                for o in desired {
                    if let Some(ns) = &o.id.namespace {
                        set.insert(ns.clone());
                    } else if o.id.is_namespace() {
                        set.insert(o.id.name.clone());
                    }
                }
                ScopeSet {
                    namespaces: Some(set),
                    cluster: true,
                }
            }
        }
    }

    fn has_namespace(&self, ns: &str) -> bool {
        self.namespaces.as_ref().is_none_or(|set| set.contains(ns))
    }

    /// Whether the sync may apply (or prune) this object.
    pub fn contains(&self, id: &ObjectId) -> bool {
        match &id.namespace {
            Some(ns) => self.has_namespace(ns),
            None if id.is_namespace() => self.cluster || self.has_namespace(&id.name),
            None => self.cluster,
        }
    }

    /// Whether the inventory for this key may be pruned.
    pub fn contains_inventory(&self, key: &NamespaceKey) -> bool {
        match key {
            Some(ns) => self.has_namespace(ns),
            None => self.cluster,
        }
    }

    /// Whether inventories found on the cluster (not named by the source) are in scope.
    pub fn includes_unnamed(&self) -> bool {
        self.namespaces.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Origin;
    use std::path::PathBuf;

    fn obj(kind: &str, ns: Option<&str>, name: &str) -> DesiredObject {
        DesiredObject {
            id: ObjectId {
                group: String::new(),
                version: "v1".into(),
                kind: kind.into(),
                namespace: ns.map(Into::into),
                name: name.into(),
            },
            kind: None,
            manifest: serde_json::json!({}),
            origin: Origin {
                file: PathBuf::from("f"),
                line: 1,
            },
        }
    }

    #[test]
    fn explicit_namespaces_limit_everything_else() {
        let scope = ScopeSet::new(&Scope::Namespaces(["a".to_string()].into()), &[]);
        assert!(scope.contains(&obj("ConfigMap", Some("a"), "x").id));
        assert!(!scope.contains(&obj("ConfigMap", Some("b"), "x").id));
        assert!(scope.contains(&obj("Namespace", None, "a").id));
        assert!(!scope.contains(&obj("Namespace", None, "b").id));
        assert!(!scope.contains(&obj("ClusterRole", None, "r").id));
        assert!(scope.contains_inventory(&Some("a".into())) && !scope.contains_inventory(&None));
        assert!(!scope.includes_unnamed());
    }

    #[test]
    fn from_source_means_the_namespaces_the_source_names() {
        let desired = [
            obj("Namespace", None, "a"),
            obj("ConfigMap", Some("b"), "x"),
        ];
        let scope = ScopeSet::new(&Scope::FromSource, &desired);
        assert!(
            scope.contains_inventory(&Some("a".into()))
                && scope.contains_inventory(&Some("b".into()))
        );
        assert!(!scope.contains_inventory(&Some("c".into())));
        assert!(
            scope.contains_inventory(&None) && scope.contains(&obj("ClusterRole", None, "r").id)
        );
    }

    #[test]
    fn all_is_everything() {
        let scope = ScopeSet::new(&Scope::All, &[]);
        assert!(scope.contains(&obj("ConfigMap", Some("z"), "x").id) && scope.includes_unnamed());
    }
}
