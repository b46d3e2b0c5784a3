//! The in-cluster agent: keeps each sync set of its config in line with its source. Per set, one
//! replica leads (holds the set's Lease) and writes; the others stand by, ready to take over.
//! Every replica serves `/metrics`, `/healthz`, `/readyz` and `/report`.
//!
//! ```text
//!   config ─> per set: worker ─ standby ⇄ leader ─> Runner (triggers: schedule, files)
//!                                                    └─> report ─> state, metrics, Events
//! ```

mod drift;
mod events;
mod hook;
mod http;
mod metrics;
mod receiver;
mod state;
mod worker;

pub use events::{REPEAT_AFTER, events_for};
pub use metrics::Metrics;
pub use state::{AgentState, Role, SetStatus};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use crate::cluster::Cluster;
use crate::cluster::LockOptions;
use crate::error::{Error, Result};
use crate::halt::Halt;
use crate::runner::backoff;
use crate::settings::AgentSettings;
use receiver::HookSlot;
use worker::SetWorker;

/// How long a stopping agent lets passes finish their writes before it gives the Leases back
/// anyway (a pod gets `terminationGracePeriodSeconds`, 30 s by default; this leaves room).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(7);

/// Runs until `halt` fires, then finishes the writes in flight and gives every Lease back.
pub async fn run(settings: AgentSettings, halt: Halt) -> Result<()> {
    let state = Arc::new(AgentState::new(
        settings
            .sets
            .iter()
            .map(|s| (s.sync.set.name.to_string(), s.source.describe())),
    ));
    let metrics = Arc::new(Metrics::new());
    for set in &settings.sets {
        metrics.set_leader(&set.sync.set.name.to_string(), false);
    }
    let hooks: receiver::Hooks = Arc::new(
        settings
            .sets
            .iter()
            .filter_map(|s| {
                let hook = s.webhook.clone()?;
                Some((s.sync.set.name.to_string(), Arc::new(HookSlot::new(hook))))
            })
            .collect(),
    );
    let router = http::router(state.clone(), metrics.clone(), &settings.identity);
    let what = "/metrics, /healthz, /readyz, /report";
    let mut servers = vec![(settings.listen, router, what)];
    // The hook port is the one a Git host reaches: with no webhook, nothing listens there.
    if hooks.is_empty() {
        tracing::info!(
            "no sync set has a webhook: the hook port ({}) is not opened",
            settings.hook_listen
        );
    } else {
        let router = http::hook_router(hooks.clone(), metrics.clone());
        servers.push((settings.hook_listen, router, "/hook/<set>"));
    }
    let mut served = Vec::new();
    for (listen, router, what) in servers {
        let server = http::serve(listen, router, halt.clone(), what)
            .await
            .map_err(|e| Error::Connect(format!("cannot listen on {listen}: {e}")))?;
        served.push(server);
    }
    let Some(cluster) = connect(&settings, &halt).await else {
        futures::future::join_all(served).await;
        return Ok(());
    };
    let events = events::Publisher::start(cluster.clone(), settings.identity.clone());
    let mut workers = JoinSet::new();
    let mut names = HashMap::new();
    let mut locks = Vec::new();
    for set in settings.sets {
        let name = set.sync.set.name.to_string();
        let options = LockOptions::for_agent(settings.identity.clone(), settings.advertise.clone());
        let lock = Arc::new(set.sync.set.lock(&cluster, options));
        locks.push(lock.clone());
        let hook = hooks.get(&name).cloned();
        if let Some(hook) = &hook {
            hook.attach(lock.clone());
        }
        let worker = SetWorker {
            settings: set,
            connect: settings.connect.clone(),
            cluster: cluster.clone(),
            lock,
            identity: settings.identity.clone(),
            state: state.clone(),
            metrics: metrics.clone(),
            events: events.clone(),
            hook,
            halt: halt.clone(),
        };
        let handle = workers.spawn(worker.run());
        names.insert(handle.id(), name);
    }
    supervise(&mut workers, &names, &state, &halt).await;
    // Shutting down: passes start no new write; give them a bounded time to finish.
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while workers.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            "writes still in flight after {}s: stopping them",
            SHUTDOWN_GRACE.as_secs()
        );
        workers.abort_all();
        while workers.join_next().await.is_some() {}
    }
    for lock in &locks {
        let _ = tokio::time::timeout(Duration::from_secs(2), lock.release()).await;
    }
    futures::future::join_all(served).await;
    tracing::info!("stopped; every Lease given back");
    Ok(())
}

/// Waits for the halt; a worker that ends before it (a panic) is reported, and `/healthz`
/// fails so the kubelet restarts the pod.
async fn supervise(
    workers: &mut JoinSet<()>,
    names: &HashMap<tokio::task::Id, String>,
    state: &AgentState,
    halt: &Halt,
) {
    loop {
        tokio::select! {
            _ = halt.halted() => return,
            joined = workers.join_next_with_id() => {
                let (id, why) = match joined {
                    None => return,
                    Some(Ok((id, ()))) => (id, "stopped".to_string()),
                    Some(Err(e)) => (e.id(), format!("failed: {e}")),
                };
                let name = names.get(&id).map_or("?", String::as_str);
                tracing::error!(set = name, "sync set worker {why}");
                state.stopped(name, Some(format!("worker {why}")));
            }
        }
    }
}

/// Connects, trying again (backing off) until the API server answers or the agent stops.
async fn connect(settings: &AgentSettings, halt: &Halt) -> Option<Cluster> {
    let mut failures = 0;
    loop {
        match Cluster::connect(&settings.connect).await {
            Ok(cluster) => return Some(cluster),
            Err(e) => {
                failures += 1;
                let wait = backoff(Duration::from_secs(30), failures);
                tracing::error!(error = %e, retry_in_s = wait.as_secs(), "cannot reach the API server");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = halt.halted() => return None,
                }
            }
        }
    }
}
