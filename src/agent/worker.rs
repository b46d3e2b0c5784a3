//! One sync set on one replica: stand by until the set's Lease is free, then lead: run a pass
//! on every trigger under the Lease until it is lost (stand by again) or the agent stops (give
//! it back).

use std::sync::Arc;
use std::time::Duration;

use super::context::AgentContext;
use super::drift::Sink;
use super::events::events_for;
use super::receiver::HookSlot;
use super::steer;
use crate::cluster::SetLock;
use crate::halt::HaltReason;
use crate::report::Outcome;
use crate::runner::{Lead, Pass, PassOutcome, PassResult, Runner, Schedule, Triggers};
use crate::settings::SetSettings;
use crate::source::Source;

/// How long to wait after the Lease could not be read before looking again.
const RETRY: Duration = Duration::from_secs(5);

pub struct SetWorker {
    pub ctx: Arc<AgentContext>,
    pub settings: SetSettings,
    pub lock: Arc<SetLock>,
    /// The set's webhook, told whether this replica leads.
    pub hook: Option<Arc<HookSlot>>,
}

impl SetWorker {
    fn name(&self) -> String {
        self.settings.sync.set.name.to_string()
    }

    pub async fn run(self) {
        let name = self.name();
        while !self.ctx.halt.is_halted() {
            self.ctx.metrics.set_leader(&name, false);
            match self.lock.holder().await {
                Ok((holder, revision)) if holder.as_deref() != Some(self.ctx.identity.as_str()) => {
                    self.ctx.state.standby(&name, holder, revision);
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(set = %name, error = %e, "cannot read the sync set's Lease");
                    self.pause(RETRY).await;
                    // A server given up on (it was down) is asked again: an agent outlives it.
                    self.ctx.cluster.flow().reset();
                    continue;
                }
            }
            // While standing by, the leader's stored status is shown here too.
            let mirror = steer::mirror(self.ctx.clone(), self.settings.sync.set.clone());
            let shares = self.ctx.shares.clone();
            let may = move || shares.may_take();
            let taken = self
                .lock
                .take_when(&self.ctx.cluster, &self.ctx.halt, &may)
                .await;
            mirror.abort();
            if let Err(e) = taken {
                if !self.ctx.halt.is_halted() {
                    tracing::warn!(set = %name, error = %e, "cannot take the sync set's Lease");
                    self.pause(RETRY).await;
                }
                continue;
            }
            self.led(true);
            self.lead().await;
            self.led(false);
        }
        self.lock.release().await;
        self.ctx.metrics.set_leader(&name, false);
        self.ctx.state.stopped(&name, None);
    }

    async fn lead(&self) {
        let name = self.name();
        let live = self.lock.revision();
        let from = self.lock.took_from().await;
        if let Some(from) = from {
            self.ctx.metrics.took_over(&name, from);
        }
        tracing::info!(set = %name, revision = live.as_deref().unwrap_or("-"), previous = from.map_or("-", |f| f.label()), "leading the sync set");
        self.ctx
            .state
            .leading(&name, &self.ctx.identity, live.clone());
        self.ctx.metrics.set_leader(&name, true);
        self.ctx.metrics.set_revision(&name, live.as_deref());
        let halt = self.ctx.halt.child();
        let lock = self.lock.clone();
        let on_loss = halt.clone();
        let guard = tokio::spawn(async move {
            tokio::select! {
                _ = lock.lost() => on_loss.halt(HaltReason::LeaseLost),
                _ = on_loss.halted() => {}
            }
        });
        // Drift: watches of the set's members, fed the desired objects of each pass.
        let (desired_tx, desired_rx) =
            tokio::sync::watch::channel(crate::drift::Desired::default());
        let sink = Sink {
            ctx: self.ctx.clone(),
            set: name.clone(),
        };
        let drift = tokio::spawn(crate::drift::run(
            self.ctx.cluster.clone(),
            self.lock.clone(),
            self.settings.drift.clone(),
            desired_rx,
            move |finding| sink.found(finding),
            halt.clone(),
        ));
        let mut triggers = Triggers::new(Some(Schedule::new(self.settings.interval)));
        if let Source::Dir(path) = &self.settings.source
            && let Err(e) = triggers.watch_dir(path)
        {
            tracing::warn!(set = %name, error = %e, "cannot watch the directory: polling only");
        }
        let (control, handled, steering) = self.steer(&triggers, &desired_tx, &halt).await;
        let lead = Lead {
            depends_on: self.settings.depends_on.clone(),
            lock: self.lock.clone(),
            resync_every: self.settings.resync_interval,
            desired: desired_tx,
            control,
            handled_reconcile: handled,
            yield_now: {
                let (shares, name) = (self.ctx.shares.clone(), name.clone());
                std::sync::Arc::new(move || shares.should_yield(&name))
            },
        };
        let mut runner = Runner::new(self.settings.clone(), self.ctx.connect.clone())
            .on_cluster(self.ctx.cluster.clone())
            .leading(lead, live)
            .halted_by(halt.clone());
        if let Some(hook) = &self.hook {
            hook.leading(Some(triggers.requester()));
        }
        runner.run(triggers, |pass| self.observe(pass)).await;
        if let Some(hook) = &self.hook {
            hook.leading(None);
        }
        drift.abort();
        guard.abort();
        for task in steering {
            task.abort();
        }
        match halt.reason() {
            Some(HaltReason::LeaseLost) => {
                tracing::warn!(set = %name, "lost the sync set's Lease: standing by");
                self.lock.release().await;
            }
            // The runner stopped between passes to give the set away (see `shares`).
            None => {
                tracing::info!(set = %name, share = self.ctx.shares.share(), "leading more than this replica's share: gave the sync set to another replica");
                self.lock.release().await;
            }
            Some(_) => {}
        }
    }

    /// Counts the set in (or out of) this replica's share.
    fn led(&self, leads: bool) {
        let held = self.ctx.shares.leading(&self.name(), leads);
        self.ctx.metrics.set_led_sets(&self.ctx.identity, held);
    }

    /// Starts what lets the set be seen and steered while this replica leads: the stored
    /// status (continued from the previous leader's), and the Lease's control annotations.
    async fn steer(
        &self,
        triggers: &Triggers,
        desired: &tokio::sync::watch::Sender<crate::drift::Desired>,
        halt: &crate::halt::Halt,
    ) -> (
        tokio::sync::watch::Receiver<crate::cluster::Control>,
        Option<String>,
        Vec<tokio::task::JoinHandle<()>>,
    ) {
        let set = &self.settings.sync.set;
        let name = self.name();
        if let Some(stored) = steer::stored(&self.ctx, set).await {
            self.ctx.state.resume_from(&name, stored);
        }
        let handled = self
            .ctx
            .state
            .get(&name)
            .and_then(|s| s.last_handled_reconcile);
        let steering = steer::Steering {
            ctx: self.ctx.clone(),
            set: set.clone(),
            lock: self.lock.clone(),
            requester: triggers.requester(),
            desired: desired.clone(),
        };
        let (control, follower) = steering.follow(handled.clone()).await;
        let keeper = steer::keep_stored(self.ctx.clone(), set.clone(), halt.clone());
        (control, handled, vec![follower, keeper])
    }

    /// Everything one pass tells the outside: a log line, `/report`, metrics, Events.
    fn observe(&self, pass: &Pass) {
        let name = self.name();
        log_pass(&name, pass);
        // What sets that depend on this one wait for, on the Lease (any replica reads it).
        match pass.result.outcome() {
            PassOutcome::Unchanged => {}
            outcome => self.lock.record_ready(outcome == PassOutcome::Synced),
        }
        self.ctx.state.record(&name, pass);
        self.ctx.metrics.record(&name, pass);
        self.ctx
            .events
            .send(&name, events_for(&self.settings.sync.set, pass));
    }

    async fn pause(&self, wait: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = self.ctx.halt.halted() => {}
        }
    }
}

fn log_pass(set: &str, pass: &Pass) {
    let elapsed_ms = pass.elapsed.as_millis() as u64;
    let trigger = pass.trigger.label();
    match &pass.result {
        PassResult::Report(report) => {
            let count = |o| report.count(o);
            tracing::info!(
                set,
                trigger,
                revision = report.revision.as_deref().unwrap_or("-"),
                created = count(Outcome::Created),
                configured = count(Outcome::Configured),
                unchanged = count(Outcome::Unchanged),
                pruned = count(Outcome::Pruned),
                failed = count(Outcome::Failed),
                elapsed_ms,
                "{}",
                if report.failed() {
                    "synced with failures"
                } else {
                    "synced"
                }
            );
        }
        PassResult::Waiting(why) => tracing::info!(set, trigger, "{why}"),
        PassResult::Unchanged(revision) => {
            tracing::debug!(
                set,
                trigger,
                revision = revision.as_deref().unwrap_or("-"),
                "unchanged"
            );
        }
        PassResult::Failed(e) => {
            tracing::error!(set, trigger, stage = e.stage().label(), elapsed_ms, error = %format!("{e:#}"), "nothing applied");
        }
    }
}
