//! Deletes pruned objects: in the order given (reverse apply order), each rank a wave of
//! parallel deletes, so dependants go before what they depend on.

use futures::{StreamExt, stream};

use crate::cluster::{ApiFailure, Propagation, Writer};
use crate::halt::Halt;
use crate::plan::{PrunePlan, Reason, order};
use crate::report::{ObjectReport, Outcome};

/// What became of one delete.
#[derive(Debug)]
pub enum Deletion {
    Deleted,
    Failed(ApiFailure),
    /// Never sent (the run was halted, or the server is gone): why.
    NotAttempted(Reason, String),
}

impl Deletion {
    /// The report line of a member whose delete went this way.
    pub fn line(&self, plan: PrunePlan) -> ObjectReport {
        let line = ObjectReport::prune(plan);
        match self {
            Deletion::Deleted => line,
            Deletion::NotAttempted(reason, why) => line.not_attempted(*reason, why.clone()),
            Deletion::Failed(e) => ObjectReport {
                outcome: Outcome::Failed,
                reason: Some(Reason::of_failure(e)),
                message: Some(format!(
                    "prune failed, kept in the inventory for the next sync: {e}"
                )),
                ..line
            },
        }
    }
}

/// Deletes every plan; returns each with its tag and result, in completion order.
pub async fn delete_all<T: Send>(
    writer: &Writer<'_>,
    plans: Vec<(T, PrunePlan)>,
    propagation: Propagation,
    concurrency: usize,
    halt: &Halt,
) -> Vec<(T, PrunePlan, Deletion)> {
    let mut done = Vec::with_capacity(plans.len());
    for wave in order::waves(plans, |(_, p)| &p.id) {
        let results: Vec<_> = stream::iter(wave)
            .map(|(tag, plan)| async move {
                if let Some(why) = halt.not_attempted() {
                    return (tag, plan, Deletion::NotAttempted(Reason::Halted, why));
                }
                let ns = plan.id.namespace.clone();
                let result = writer
                    .delete(
                        &plan.kind,
                        ns.as_deref(),
                        &plan.id.name,
                        propagation,
                        Some(halt),
                    )
                    .await;
                let deletion = match result {
                    Ok(()) => {
                        tracing::info!(object = %plan.id, "pruned");
                        Deletion::Deleted
                    }
                    Err(e) if e.is_unreachable() => {
                        Deletion::NotAttempted(Reason::Unreachable, format!("not attempted: {e}"))
                    }
                    Err(e) if e.is_halted() => Deletion::NotAttempted(Reason::Halted, e.message),
                    Err(e) => {
                        tracing::debug!(object = %plan.id, error = %e, "prune failed");
                        Deletion::Failed(e)
                    }
                };
                (tag, plan, deletion)
            })
            .buffer_unordered(crate::cluster::fan_out(concurrency))
            .collect()
            .await;
        done.extend(results);
    }
    done
}
