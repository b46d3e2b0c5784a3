//! Why an object was skipped, failed, held or not attempted: one typed reason per meaning, so
//! metric labels, Event notes and JSON reports stay stable while messages read well.

use crate::cluster::ApiFailure;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    // Skipped.
    /// Its namespace is outside the namespaces this sync manages (or suspended).
    OutOfScope,
    /// Unchanged: a run-once object that ran for its manifest and was deleted since.
    Completed,
    /// It exists, driftless did not create it, and `--adopt` was not given.
    NotAdopted,
    /// Not a member of this set's inventory (no part-of label of ours, or a copied label).
    NotMember,
    /// Owned by another object (an ownerReference): its garbage collector deletes it.
    OwnerReference,
    /// Annotated not to be pruned.
    PruneOptOut,
    /// Pruning it was not allowed (Namespaces, CRDs, a namespace with pruning off).
    PrunePolicy,
    /// A Namespace that holds objects that are not this set's to prune: deleting it would
    /// delete them.
    NamespaceNotEmpty,
    // Failed.
    /// Another sync set owns it.
    OwnedByOtherSet,
    /// Another field manager owns fields this sync sets.
    Conflict,
    /// The server refused it as invalid (400, 422), or its kind is not served.
    Invalid,
    /// The server refuses the change as immutable, and it may not be replaced.
    Immutable,
    /// A running Job whose template changed: it fails alone until it finished.
    JobRunning,
    /// This identity may not do what it needs (403).
    Forbidden,
    /// Any other answer from the server.
    ApiError,
    /// Its namespace's inventory could not be read or written.
    InventoryFailed,
    /// Not applied: its namespace's inventory could not be written, so it could never be pruned.
    NotRecorded,
    // Held, or skipped from a prune.
    /// Another object in its namespace failed.
    NamespaceFailed,
    // Not attempted.
    /// The run was halted: a signal, its deadline, or the set's Lease was lost.
    Halted,
    /// The API server could not be reached.
    Unreachable,
}

impl Reason {
    /// A stable CamelCase name (Kubernetes' style for reasons), for labels and reports.
    pub fn label(self) -> &'static str {
        match self {
            Reason::OutOfScope => "OutOfScope",
            Reason::Completed => "Completed",
            Reason::Immutable => "Immutable",
            Reason::JobRunning => "JobRunning",
            Reason::NotAdopted => "NotAdopted",
            Reason::NotMember => "NotMember",
            Reason::OwnerReference => "OwnerReference",
            Reason::PruneOptOut => "PruneOptOut",
            Reason::PrunePolicy => "PrunePolicy",
            Reason::NamespaceNotEmpty => "NamespaceNotEmpty",
            Reason::OwnedByOtherSet => "OwnedByOtherSet",
            Reason::Conflict => "Conflict",
            Reason::Invalid => "Invalid",
            Reason::Forbidden => "Forbidden",
            Reason::ApiError => "ApiError",
            Reason::InventoryFailed => "InventoryFailed",
            Reason::NotRecorded => "NotRecorded",
            Reason::NamespaceFailed => "NamespaceFailed",
            Reason::Halted => "Halted",
            Reason::Unreachable => "Unreachable",
        }
    }

    /// The reason for a request the server answered with an error (or did not answer).
    pub fn of_failure(e: &ApiFailure) -> Reason {
        if e.is_unreachable() {
            return Reason::Unreachable;
        }
        match e.code {
            403 => Reason::Forbidden,
            409 if e.is_conflict() => Reason::Conflict,
            400 | 404 | 422 => Reason::Invalid,
            _ => Reason::ApiError,
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: u16, reason: &str) -> ApiFailure {
        ApiFailure {
            code,
            reason: reason.into(),
            message: String::new(),
            details_kind: String::new(),
            causes: Vec::new(),
            retry_after: None,
            no_answer: None,
        }
    }

    #[test]
    fn failures_map_by_status_not_by_message() {
        assert_eq!(
            Reason::of_failure(&failure(403, "Forbidden")),
            Reason::Forbidden
        );
        assert_eq!(
            Reason::of_failure(&failure(422, "Invalid")),
            Reason::Invalid
        );
        assert_eq!(
            Reason::of_failure(&failure(409, "Conflict")),
            Reason::Conflict
        );
        // A 409 AlreadyExists is no field-manager conflict.
        assert_eq!(
            Reason::of_failure(&failure(409, "AlreadyExists")),
            Reason::ApiError
        );
        assert_eq!(
            Reason::of_failure(&failure(500, "InternalError")),
            Reason::ApiError
        );
    }

    #[test]
    fn labels_are_distinct() {
        let all = [
            Reason::OutOfScope,
            Reason::Completed,
            Reason::Immutable,
            Reason::JobRunning,
            Reason::NotAdopted,
            Reason::NotMember,
            Reason::OwnerReference,
            Reason::PruneOptOut,
            Reason::PrunePolicy,
            Reason::NamespaceNotEmpty,
            Reason::OwnedByOtherSet,
            Reason::Conflict,
            Reason::Invalid,
            Reason::Forbidden,
            Reason::ApiError,
            Reason::InventoryFailed,
            Reason::NotRecorded,
            Reason::NamespaceFailed,
            Reason::Halted,
            Reason::Unreachable,
        ];
        let labels: std::collections::BTreeSet<_> = all.iter().map(|r| r.label()).collect();
        assert_eq!(labels.len(), all.len());
    }
}
