//! 1. A revision's desired set, resolved once: every pass and phase shares these objects.

use std::sync::Arc;

use super::SyncOptions;
use crate::cluster::Cluster;
use crate::error::Result;
use crate::inventory::ScopeSet;
use crate::render::{self, DesiredObject, Rendered, ResolvedChart};
use crate::report::ObjectReport;

pub(super) struct Desired {
    pub origin: String,
    pub revision: Option<String>,
    /// Charts fetched from repositories, as resolved.
    pub charts: Vec<ResolvedChart>,
    pub scope: ScopeSet,
    /// In scope, labelled as the set's members.
    pub objects: Vec<Arc<DesiredObject>>,
    /// Out of scope, reported as skipped.
    pub outside: Vec<ObjectReport>,
}

impl Desired {
    /// Resolves the manifests (taking them: the desired set is the one copy kept), keeps what
    /// is in scope and labels it as the set's.
    pub fn resolve(
        cluster: &Cluster,
        rendered: Rendered,
        options: &SyncOptions,
    ) -> Result<Desired> {
        let resolved = render::resolve(
            rendered.manifests,
            &*cluster.catalog(),
            options.default_namespace.as_deref(),
        )?;
        let scope = ScopeSet::new(&options.scope);
        let (mut inside, outside): (Vec<_>, Vec<_>) = resolved
            .objects
            .into_iter()
            // Helm's test hooks check a release; they are never part of one.
            .filter(|o| !o.lifecycle().test)
            .partition(|o| scope.contains(&o.id));
        options.set.label(&mut inside);
        mark_hooks(&mut inside, rendered.revision.as_deref());
        tracing::info!(objects = inside.len(), source = %rendered.origin, "resolved");
        // Not `collect()`: it would reuse `inside`'s buffer, keeping ~350 bytes per object
        // for an 8-byte pointer for the life of the pass.
        let mut objects = Vec::with_capacity(inside.len());
        objects.extend(inside.into_iter().map(Arc::new));
        Ok(Desired {
            origin: rendered.origin,
            revision: rendered.revision,
            charts: rendered.charts,
            scope,
            objects,
            outside: outside
                .into_iter()
                .map(ObjectReport::out_of_scope)
                .collect(),
        })
    }
}

/// A hook runs once per revision: the revision it runs for is part of its manifest, so a new
/// one is a change (it runs again), and the same one is not.
fn mark_hooks(objects: &mut [DesiredObject], revision: Option<&str>) {
    let Some(revision) = revision else {
        return;
    };
    for o in objects.iter_mut().filter(|o| o.lifecycle().hook.is_some()) {
        o.manifest.edit(|m| {
            if let Some(meta) = m["metadata"].as_object_mut() {
                let annotations = meta
                    .entry("annotations")
                    .or_insert_with(|| serde_json::json!({}));
                annotations[HOOK_REVISION] = serde_json::json!(revision);
            }
        });
    }
}

/// The revision a hook last ran for.
pub const HOOK_REVISION: &str = "driftless.dev/hook-revision";
