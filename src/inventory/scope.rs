//! Which of a sync set's namespaces one sync touches: all of them, or those `--namespace` names.

use std::collections::BTreeSet;

use crate::plan::NamespaceKey;
use crate::render::ObjectId;

/// What the user asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Scope {
    /// Everything the set holds: the namespaces its source names, every namespace where it has
    /// an inventory (a namespace that left the source is still the set's), and its
    /// cluster-scoped objects.
    #[default]
    All,
    /// Only these namespaces (and their Namespace objects); other cluster-scoped objects are
    /// skipped.
    Namespaces(BTreeSet<String>),
    /// Everything but these namespaces (suspended in the agent's config): neither applied nor
    /// pruned there, and their Namespace objects left alone.
    AllExcept(BTreeSet<String>),
}

/// The scope resolved against a desired set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeSet {
    /// `None`: every namespace.
    namespaces: Option<BTreeSet<String>>,
    /// Whether cluster-scoped objects (besides Namespaces named in `namespaces`) are in scope.
    cluster: bool,
    /// Namespaces left alone even when `namespaces` is every namespace.
    excluded: BTreeSet<String>,
}

impl ScopeSet {
    pub fn new(scope: &Scope) -> ScopeSet {
        match scope {
            Scope::All => ScopeSet {
                namespaces: None,
                cluster: true,
                excluded: BTreeSet::new(),
            },
            Scope::Namespaces(set) => ScopeSet {
                namespaces: Some(set.clone()),
                cluster: false,
                excluded: BTreeSet::new(),
            },
            Scope::AllExcept(set) => ScopeSet {
                namespaces: None,
                cluster: true,
                excluded: set.clone(),
            },
        }
    }

    /// The namespaces in scope; `None`: every namespace.
    pub fn namespaces(&self) -> Option<&BTreeSet<String>> {
        self.namespaces.as_ref()
    }

    fn has_namespace(&self, ns: &str) -> bool {
        !self.excluded.contains(ns) && self.namespaces.as_ref().is_none_or(|set| set.contains(ns))
    }

    /// Whether the sync may apply (or prune) this object.
    pub fn contains(&self, id: &ObjectId) -> bool {
        match &id.namespace {
            Some(ns) => self.has_namespace(ns),
            None if id.is_namespace() => {
                !self.excluded.contains(&id.name) && (self.cluster || self.has_namespace(&id.name))
            }
            None => self.cluster,
        }
    }

    /// Whether the inventory for this key is read. The cluster-scoped inventory always is: it
    /// holds the Namespace objects of the namespaces in scope.
    pub fn contains_inventory(&self, key: &NamespaceKey) -> bool {
        match key {
            Some(ns) => self.has_namespace(ns),
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_namespaces_limit_everything_else() {
        let scope = ScopeSet::new(&Scope::Namespaces(["a".to_string()].into()));
        assert!(scope.contains(&ObjectId::for_test("v1", "ConfigMap", "a", "x")));
        assert!(!scope.contains(&ObjectId::for_test("v1", "ConfigMap", "b", "x")));
        assert!(scope.contains(&ObjectId::for_test("v1", "Namespace", None, "a")));
        assert!(!scope.contains(&ObjectId::for_test("v1", "Namespace", None, "b")));
        assert!(!scope.contains(&ObjectId::for_test("v1", "ClusterRole", None, "r")));
        assert!(scope.contains_inventory(&Some("a".into())));
        assert!(!scope.contains_inventory(&Some("b".into())));
        assert!(scope.contains_inventory(&None), "for the Namespace objects");
        assert_eq!(scope.namespaces().map(|s| s.len()), Some(1));
    }

    #[test]
    fn all_is_everything() {
        let scope = ScopeSet::new(&Scope::All);
        assert!(scope.contains(&ObjectId::for_test("v1", "ConfigMap", "z", "x")));
        assert!(scope.contains(&ObjectId::for_test("v1", "ClusterRole", None, "r")));
        assert!(scope.contains_inventory(&Some("z".into())) && scope.namespaces().is_none());
    }

    #[test]
    fn suspended_namespaces_are_left_alone() {
        let scope = ScopeSet::new(&Scope::AllExcept(["off".to_string()].into()));
        assert!(scope.contains(&ObjectId::for_test("v1", "ConfigMap", "on", "x")));
        assert!(!scope.contains(&ObjectId::for_test("v1", "ConfigMap", "off", "x")));
        assert!(!scope.contains(&ObjectId::for_test("v1", "Namespace", None, "off")));
        assert!(scope.contains(&ObjectId::for_test("v1", "Namespace", None, "on")));
        assert!(scope.contains(&ObjectId::for_test("v1", "ClusterRole", None, "r")));
        assert!(!scope.contains_inventory(&Some("off".into())));
        assert!(scope.namespaces().is_none(), "one cluster-wide LIST still");
    }
}
