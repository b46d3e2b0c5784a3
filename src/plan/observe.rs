//! The thin async layer of planning: each object's live state and dry-run result, fetched with
//! bounded concurrency, then classified.

use std::collections::BTreeSet;

use futures::{StreamExt, stream};

use super::{Context, DryRun, ObjectPlan, Observation, classify};
use crate::cluster::{ApiFailure, Cluster};
use crate::halt::Halt;
use crate::render::DesiredObject;

/// Plans every object: GET and SSA dry-run, up to `concurrency` objects at a time.
/// `namespaces_to_create` are namespaces this same sync creates: objects in them that cannot be
/// dry-run yet are planned from their manifest. So are, in a `preview`, custom resources whose
/// CRD this sync creates.
pub async fn observe(
    cluster: &Cluster,
    objects: Vec<DesiredObject>,
    namespaces_to_create: &BTreeSet<String>,
    preview: bool,
    concurrency: usize,
    ctx: Context<'_>,
    halt: &Halt,
) -> Vec<ObjectPlan> {
    stream::iter(objects)
        .map(|object| async move {
            let observation = match halt.not_attempted() {
                Some(why) => Observation {
                    live: None,
                    dry_run: DryRun::NotAttempted(why),
                },
                None => observe_one(cluster, &object, namespaces_to_create, preview).await,
            };
            classify(object, observation, ctx)
        })
        .buffered(concurrency.max(1))
        .collect()
        .await
}

async fn observe_one(
    cluster: &Cluster,
    object: &DesiredObject,
    new_namespaces: &BTreeSet<String>,
    preview: bool,
) -> Observation {
    let Some(kind) = &object.kind else {
        return Observation {
            live: None,
            dry_run: DryRun::Rejected(cluster.unknown_kind(object).to_string()),
        };
    };
    if !kind.served {
        let crd = format!("{}.{}", kind.plural, kind.group);
        let dry_run = if preview {
            DryRun::Pending(format!("its CRD is created by this sync ({crd})"))
        } else {
            DryRun::Rejected(format!("its CRD ({crd}) is not Established"))
        };
        return Observation {
            live: None,
            dry_run,
        };
    }
    // The live object and the dry-run must see the same state of the object: a controller
    // writing in between (a Deployment's revision annotation, just after it was created) would
    // show as a change of ours. The dry-run answers with the resourceVersion it was based on.
    let mut observation = read_and_dry_run(cluster, object, new_namespaces).await;
    for _ in 1..CONSISTENT_ATTEMPTS {
        if consistent(&observation) {
            break;
        }
        tracing::debug!(object = %object.id, "changed between the read and the dry-run; reading again");
        observation = read_and_dry_run(cluster, object, new_namespaces).await;
    }
    observation
}

/// How many times a read and a dry-run are tried until they see the same state.
const CONSISTENT_ATTEMPTS: usize = 3;

/// GET, then dry-run: never both at once for one object. kube-apiserver 1.20 can crash (a
/// concurrent map access in the custom resource handler) when they overlap.
async fn read_and_dry_run(
    cluster: &Cluster,
    object: &DesiredObject,
    new_namespaces: &BTreeSet<String>,
) -> Observation {
    let live = match cluster.get(object).await {
        Ok(live) => live,
        Err(e) if e.is_missing_namespace() => None,
        Err(e) => {
            return Observation {
                live: None,
                dry_run: refused(e),
            };
        }
    };
    let dry_run = match cluster.apply(object, true, false).await {
        Ok(merged) => DryRun::Merged(merged),
        Err(e) if e.is_unreachable() => refused(e),
        Err(e) if e.is_conflict() => forced(cluster, object, e).await,
        Err(e) if e.is_missing_namespace() && in_new_namespace(object, new_namespaces) => {
            DryRun::Pending("its namespace is created by this sync".into())
        }
        Err(e) => DryRun::Rejected(e.to_string()),
    };
    Observation { live, dry_run }
}

/// Whether the dry-run was based on the very object that was read (or both saw none).
fn consistent(observation: &Observation) -> bool {
    let merged = match &observation.dry_run {
        DryRun::Merged(m) | DryRun::Conflict { merged: m, .. } => m,
        _ => return true,
    };
    let version = |v: &serde_json::Value| {
        v["metadata"]["resourceVersion"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    observation.live.as_ref().and_then(version) == version(merged)
}

/// A failed read: the server's refusal, or "not attempted" when the server is gone.
fn refused(e: ApiFailure) -> DryRun {
    if e.is_unreachable() {
        DryRun::NotAttempted(format!("not attempted: {e}"))
    } else {
        DryRun::Rejected(e.to_string())
    }
}

/// On a conflict, dry-runs again with force so the diff can still show what apply would do.
async fn forced(cluster: &Cluster, object: &DesiredObject, conflict: ApiFailure) -> DryRun {
    match cluster.apply(object, true, true).await {
        Ok(merged) => DryRun::Conflict {
            merged,
            message: conflict.message,
            causes: conflict.causes,
        },
        Err(e) => DryRun::Rejected(e.to_string()),
    }
}

fn in_new_namespace(object: &DesiredObject, new_namespaces: &BTreeSet<String>) -> bool {
    object
        .id
        .namespace
        .as_ref()
        .is_some_and(|ns| new_namespaces.contains(ns))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with_version(rv: &str) -> serde_json::Value {
        json!({"metadata": {"name": "x", "resourceVersion": rv}})
    }

    #[test]
    fn a_read_and_a_dry_run_agree_only_on_the_same_version() {
        let observed = |live: Option<serde_json::Value>, merged| Observation {
            live,
            dry_run: DryRun::Merged(merged),
        };
        assert!(consistent(&observed(
            Some(with_version("7")),
            with_version("7")
        )));
        assert!(!consistent(&observed(
            Some(with_version("7")),
            with_version("8")
        )));
        assert!(consistent(&observed(None, with_version(""))), "a create");
        assert!(
            !consistent(&observed(None, with_version("9"))),
            "created by someone in between"
        );
        let refused = Observation {
            live: Some(with_version("7")),
            dry_run: DryRun::Rejected("invalid".into()),
        };
        assert!(consistent(&refused), "nothing to compare");
    }
}
