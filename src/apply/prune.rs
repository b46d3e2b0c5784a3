//! Deletes pruned objects: in the order given (reverse apply order), each rank a wave of
//! parallel deletes, so dependants go before what they depend on.

use futures::{StreamExt, stream};

use crate::cluster::{ApiFailure, Cluster, Propagation};
use crate::plan::{PrunePlan, order};

/// Deletes every plan; returns each with its tag and result, in completion order.
pub async fn delete_all<T: Send>(
    cluster: &Cluster,
    plans: Vec<(T, PrunePlan)>,
    propagation: Propagation,
    concurrency: usize,
) -> Vec<(T, PrunePlan, Result<(), ApiFailure>)> {
    let mut done = Vec::with_capacity(plans.len());
    for wave in order::waves(plans, |(_, p)| &p.id) {
        let results: Vec<_> = stream::iter(wave)
            .map(|(tag, plan)| async move {
                let ns = plan.id.namespace.clone();
                let result = cluster
                    .delete(&plan.kind, ns.as_deref(), &plan.id.name, propagation)
                    .await;
                match &result {
                    Ok(()) => tracing::info!(object = %plan.id, "pruned"),
                    Err(e) => tracing::warn!(object = %plan.id, error = %e, "prune failed"),
                }
                (tag, plan, result)
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        done.extend(results);
    }
    done
}
