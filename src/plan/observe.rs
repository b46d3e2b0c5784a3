//! The thin async layer of planning: each object's dry-run result (when its answer is not
//! already known) against its live state, fetched with bounded concurrency, then classified.
//!
//! Live state comes from the set's listing ([`LiveIndex`]): an object proven unchanged needs no
//! request at all; a listed one needs its dry-run; one the listing did not find is dry-run
//! first, and read (GET) only if the dry-run shows it exists (an object without the set's
//! label: adoption, or another owner). A cold sync thus costs a dry-run and an apply per
//! object, nothing more.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures::{StreamExt, stream};
use serde_json::Value;

use super::live::{Live, LiveIndex};
use super::{Context, DryRun, ObjectPlan, Observation, Reason, classify};
use crate::cluster::{ApiFailure, Cluster};
use crate::halt::Halt;
use crate::render::DesiredObject;

/// How many times a read and a dry-run are tried until they see the same state.
const CONSISTENT_ATTEMPTS: usize = 3;

/// What planning reads, and how.
#[derive(Clone, Copy)]
pub struct Reads<'a> {
    pub index: &'a LiveIndex,
    /// Namespaces this same sync creates: objects in them that cannot be dry-run yet are
    /// planned from their manifest. So are, in a preview, custom resources whose CRD this sync
    /// creates.
    pub new_namespaces: &'a BTreeSet<String>,
    pub preview: bool,
    pub concurrency: usize,
}

/// Plans every object; the cluster's windows bound the requests in flight (`concurrency`).
pub async fn observe(
    cluster: &Cluster,
    objects: Vec<Arc<DesiredObject>>,
    reads: Reads<'_>,
    ctx: Context<'_>,
    halt: &Halt,
) -> Vec<ObjectPlan> {
    // Sized up front: growing it would hold two copies of a pass's plans for a moment.
    let mut plans = Vec::with_capacity(objects.len());
    stream::iter(objects)
        .map(|object| async move {
            let observation = match halt.not_attempted() {
                Some(why) => Observation {
                    live: None,
                    dry_run: DryRun::NotAttempted(Reason::Halted, why),
                },
                None => observe_one(cluster, &object, reads).await,
            };
            classify(object, observation, ctx)
        })
        .buffered(crate::cluster::fan_out(reads.concurrency))
        .for_each(|plan| {
            plans.push(plan);
            std::future::ready(())
        })
        .await;
    plans
}

async fn observe_one(cluster: &Cluster, object: &DesiredObject, reads: Reads<'_>) -> Observation {
    let Some(kind) = &object.kind else {
        return Observation {
            live: None,
            dry_run: DryRun::Rejected(Reason::Invalid, cluster.unknown_kind(object).to_string()),
        };
    };
    if !kind.served {
        let crd = format!("{}.{}", kind.plural, kind.group);
        let dry_run = if reads.preview {
            DryRun::Pending(format!("its CRD is created by this sync ({crd})"))
        } else {
            DryRun::Rejected(
                Reason::Invalid,
                format!("its CRD ({crd}) is not Established"),
            )
        };
        return Observation {
            live: None,
            dry_run,
        };
    }
    let listed = match reads.index.get(&object.id) {
        Some(Live::Proven) => {
            return Observation {
                live: None,
                dry_run: DryRun::Proven,
            };
        }
        Some(Live::Done) => {
            return Observation {
                live: None,
                dry_run: DryRun::Done,
            };
        }
        Some(Live::Object(live)) => Some(live.clone()),
        None => None,
    };
    let observation = observe_by_dry_run(cluster, object, listed, reads.new_namespaces).await;
    match observation {
        // Whether it may be replaced depends on the live object (a running Job is not).
        Observation {
            live: None,
            dry_run: dry_run @ DryRun::Immutable { .. },
        } => match cluster.get(object).await {
            Ok(live) => Observation { live, dry_run },
            Err(e) => Observation {
                live: None,
                dry_run: refused(e),
            },
        },
        other => other,
    }
}

/// Dry-runs the object against its live state. The two must describe the same state of the
/// object: a controller writing in between (a Deployment's revision annotation, just after it
/// was created) would show as a change of ours. The dry-run answers with the resourceVersion it
/// was based on; on a mismatch the object is read again (GET, then dry-run: never both at once
/// for one object, as kube-apiserver 1.20 can crash when they overlap on a custom resource).
async fn observe_by_dry_run(
    cluster: &Cluster,
    object: &DesiredObject,
    listed: Option<Value>,
    new_namespaces: &BTreeSet<String>,
) -> Observation {
    let mut live = listed;
    let mut dry_run = dry_run(cluster, object, new_namespaces).await;
    for attempt in 0..CONSISTENT_ATTEMPTS {
        let observation = Observation {
            live: live.take(),
            dry_run,
        };
        if consistent(&observation) || attempt + 1 == CONSISTENT_ATTEMPTS {
            return observation;
        }
        if observation.live.is_some() {
            tracing::debug!(object = %object.id, "changed between the read and the dry-run; reading again");
        }
        live = match cluster.get(object).await {
            Ok(live) => live,
            Err(e) if e.is_missing_namespace() => None,
            Err(e) => {
                return Observation {
                    live: None,
                    dry_run: refused(e),
                };
            }
        };
        // The first mismatch of an unlisted object is only "it exists": the dry-run stands
        // if the object did not change since.
        dry_run = if consistent(&Observation {
            live: live.clone(),
            dry_run: observation.dry_run.clone(),
        }) {
            observation.dry_run
        } else {
            self::dry_run(cluster, object, new_namespaces).await
        };
    }
    Observation { live, dry_run }
}

async fn dry_run(
    cluster: &Cluster,
    object: &DesiredObject,
    new_namespaces: &BTreeSet<String>,
) -> DryRun {
    match cluster.dry_run(object, false).await {
        Ok(merged) => DryRun::Merged(merged),
        Err(e) if e.is_unreachable() => refused(e),
        Err(e) if e.is_conflict() => forced(cluster, object, e).await,
        Err(e) if e.is_missing_namespace() && in_new_namespace(object, new_namespaces) => {
            DryRun::Pending("its namespace is created by this sync".into())
        }
        Err(e) => match e.immutable_fields() {
            fields if !fields.is_empty() => DryRun::Immutable {
                fields,
                message: e.to_string(),
            },
            _ => DryRun::Rejected(Reason::of_failure(&e), e.to_string()),
        },
    }
}

/// Whether the dry-run was based on the very object that was read (or both saw none).
fn consistent(observation: &Observation) -> bool {
    let merged = match &observation.dry_run {
        DryRun::Merged(m) | DryRun::Conflict { merged: m, .. } => m,
        _ => return true,
    };
    let version = |v: &Value| {
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
        DryRun::NotAttempted(Reason::Unreachable, format!("not attempted: {e}"))
    } else {
        DryRun::Rejected(Reason::of_failure(&e), e.to_string())
    }
}

/// On a conflict, dry-runs again with force so the diff can still show what apply would do.
async fn forced(cluster: &Cluster, object: &DesiredObject, conflict: ApiFailure) -> DryRun {
    match cluster.dry_run(object, true).await {
        Ok(merged) => DryRun::Conflict {
            merged,
            message: conflict.message,
            causes: conflict.causes,
        },
        Err(e) => DryRun::Rejected(Reason::of_failure(&e), e.to_string()),
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

    fn with_version(rv: &str) -> Value {
        json!({"metadata": {"name": "x", "resourceVersion": rv}})
    }

    #[test]
    fn a_read_and_a_dry_run_agree_only_on_the_same_version() {
        let observed = |live: Option<Value>, merged| Observation {
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
            "it exists without the set's label: read it"
        );
        let refused = Observation {
            live: Some(with_version("7")),
            dry_run: DryRun::Rejected(Reason::Invalid, "invalid".into()),
        };
        assert!(consistent(&refused), "nothing to compare");
    }
}
