//! A set's leader, seen and steered from outside: it follows what `driftless suspend`,
//! `resume` and `reconcile` write on the set's Lease (one watch), and keeps the set's status
//! stored on the cluster for `driftless status` (a write when it changes, none while idle).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::context::AgentContext;
use super::events::lease_ref;
use crate::cluster::{Control, EventSpec, SetLock};
use crate::drift::Desired;
use crate::halt::Halt;
use crate::inventory::SetRef;
use crate::runner::{Requester, Trigger};
use crate::status::{SetStatus, compact};

/// Writes closer together than this are one (a burst of drift findings).
const SETTLE: Duration = Duration::from_millis(200);
/// How long to wait after a failed write before trying again without a change.
const RETRY: Duration = Duration::from_secs(5);

/// Where a leader's steering goes.
pub struct Steering {
    pub ctx: Arc<AgentContext>,
    pub set: SetRef,
    pub lock: Arc<SetLock>,
    pub requester: Requester,
    pub desired: watch::Sender<Desired>,
}

impl Steering {
    fn name(&self) -> String {
        self.set.name.to_string()
    }

    /// Follows the Lease's control annotations until dropped: the returned receiver is what
    /// the runner reads. `handled`: the reconcile request last answered (not counted again).
    pub async fn follow(
        self,
        handled: Option<String>,
    ) -> (watch::Receiver<Control>, JoinHandle<()>) {
        // As the Lease was taken: a suspended set runs no first pass.
        let suspended = self.lock.control().await.suspended;
        let name = self.name();
        self.ctx.state.suspended(&name, suspended);
        self.ctx.metrics.set_suspended(&name, suspended);
        self.desired.send_modify(|d| d.suspended = suspended);
        let (tx, rx) = watch::channel(Control {
            reconcile: handled,
            suspended,
        });
        let task = tokio::spawn(async move {
            let mut controls = std::pin::pin!(self.lock.controls());
            while let Some(control) = controls.next().await {
                let before = tx.send_replace(control.clone());
                self.changed(&before, &control);
            }
        });
        (rx, task)
    }

    fn changed(&self, before: &Control, now: &Control) {
        let name = self.name();
        if now.suspended != before.suspended {
            let (reason, note) = match now.suspended {
                true => (
                    "Suspended",
                    "suspended: no pass and no self-heal until resumed",
                ),
                false => ("Resumed", "resumed: a full pass now, then syncing again"),
            };
            tracing::info!(set = %name, "{note}");
            self.ctx.state.suspended(&name, now.suspended);
            self.ctx.metrics.set_suspended(&name, now.suspended);
            self.desired.send_modify(|d| d.suspended = now.suspended);
            self.event(reason, "Suspend", note.into());
            if !now.suspended {
                self.requester.request(Trigger::Resumed);
            }
        }
        if now.reconcile.is_some() && now.reconcile != before.reconcile {
            let asked = now.reconcile.as_deref().unwrap_or_default();
            tracing::info!(set = %name, asked, "reconcile requested");
            self.ctx.metrics.reconcile_requested(&name);
            if now.suspended {
                self.event(
                    "ReconcileRefused",
                    "Reconcile",
                    "suspended: resume it first".into(),
                );
            } else {
                self.event(
                    "ReconcileRequested",
                    "Reconcile",
                    format!("asked at {asked}"),
                );
                self.requester.request(Trigger::Reconcile);
            }
        }
    }

    fn event(&self, reason: &'static str, action: &'static str, note: String) {
        let event = EventSpec {
            regarding: lease_ref(&self.set),
            reason,
            action,
            note,
            ..EventSpec::default()
        };
        self.ctx.events.send(&self.name(), vec![event]);
    }
}

/// The status the set's previous leader (or a CLI sync) stored, if readable.
pub async fn stored(ctx: &AgentContext, set: &SetRef) -> Option<SetStatus> {
    let records = ctx.cluster.records(&set.inventory_namespace);
    match records.get(&set.name.to_string()).await {
        Ok(json) => json.and_then(|j| serde_json::from_str(&j).ok()),
        Err(e) => {
            tracing::warn!(set = %set.name, error = %e, "cannot read the set's stored status");
            None
        }
    }
}

/// Stores the set's status at each change until `halt`: compacted, and only when it differs
/// from what was stored (a pass that found the revision unchanged writes nothing).
pub fn keep_stored(ctx: Arc<AgentContext>, set: SetRef, halt: Halt) -> JoinHandle<()> {
    tokio::spawn(async move {
        let name = set.name.to_string();
        let records = ctx.cluster.records(&set.inventory_namespace);
        let mut changes = ctx.state.subscribe();
        let mut stored: Option<String> = None;
        loop {
            let wait = match ctx.state.get(&name).and_then(|s| compact(&s)) {
                Some((status, json)) if Some(content(&status)) != stored => {
                    match records.store(&name, &json).await {
                        Ok(()) => {
                            stored = Some(content(&status));
                            None
                        }
                        Err(e) => {
                            tracing::warn!(set = %name, error = %e, "cannot store the set's status");
                            Some(RETRY)
                        }
                    }
                }
                _ => None,
            };
            tokio::select! {
                _ = halt.halted() => return,
                _ = changes.changed() => tokio::time::sleep(SETTLE).await,
                _ = tokio::time::sleep(wait.unwrap_or(Duration::MAX)), if wait.is_some() => {}
            }
        }
    })
}

/// What makes a status worth storing again: all of it but when an idle pass last looked.
fn content(status: &SetStatus) -> String {
    let mut status = status.clone();
    status.last_attempt_time = None;
    serde_json::to_string(&status).unwrap_or_default()
}

/// Until aborted, shows what the set's leader stores as this standby's view of the set (one
/// watch), so `/report` and the dashboard say the same on every replica.
pub fn mirror(ctx: Arc<AgentContext>, set: SetRef) -> JoinHandle<()> {
    tokio::spawn(async move {
        let name = set.name.to_string();
        let mut changes =
            std::pin::pin!(ctx.cluster.records(&set.inventory_namespace).changes(&name));
        while let Some(change) = changes.next().await {
            if let Some(stored) = change.and_then(|j| serde_json::from_str(&j).ok()) {
                ctx.state.mirror(&name, stored);
            }
        }
    })
}
