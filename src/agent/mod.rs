//! The in-cluster agent: keeps each sync set of its config in line with its source. Per set, one
//! replica leads (holds the set's Lease) and writes; the others stand by, ready to take over.
//! Every replica serves `/metrics`, `/healthz`, `/readyz` and `/report`.
//!
//! ```text
//!   config ─> per set: worker ─ standby ⇄ leader ─> Runner (triggers: schedule, files)
//!                                                    └─> report ─> state, metrics, Events
//! ```

mod context;
mod dashboard;
mod drift;
mod events;
mod hook;
mod http;
mod metrics;
mod receiver;
mod shares;
mod state;
mod steer;
mod worker;

pub use events::{REPEAT_AFTER, events_for};
pub use metrics::Metrics;
pub use state::{AgentState, Role, SetStatus};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use crate::cluster::Cluster;
use crate::cluster::{LockOptions, SetLock};
use crate::error::{Error, Result};
use crate::halt::Halt;
use crate::runner::backoff;
use crate::settings::AgentSettings;
use context::AgentContext;
use receiver::HookSlot;
use worker::SetWorker;

/// How long a stopping agent lets passes finish their writes before it gives the Leases back
/// anyway (a pod gets `terminationGracePeriodSeconds`, 30 s by default; this leaves room).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(7);

/// Runs until `halt` fires, then finishes the writes in flight and gives every Lease back.
pub async fn run(settings: AgentSettings, halt: Halt) -> Result<()> {
    let state = Arc::new(AgentState::new(settings.sets.iter().map(|s| {
        let name = s.sync.set.name.to_string();
        (name, s.source.describe(), s.commit_url.clone())
    })));
    let metrics = Arc::new(Metrics::new());
    for set in &settings.sets {
        metrics.set_leader(&set.sync.set.name.to_string(), false);
        metrics.set_suspended(&set.sync.set.name.to_string(), false);
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
    let served = serve(&settings, &state, &metrics, &hooks, &halt).await?;
    let Some(cluster) = connect(&settings, &halt).await else {
        futures::future::join_all(served).await;
        return Ok(());
    };
    // The replicas that run the same sets share them out (see `shares`).
    let shares = Arc::new(shares::Shares::new(settings.sets.len()));
    let membership = settings.sets.first().map(|first| {
        shares::start(
            cluster.clone(),
            first.sync.set.inventory_namespace.clone(),
            shares::member_identity(&settings.identity, &settings.sets),
            shares.clone(),
            halt.clone(),
        )
    });
    let ctx = Arc::new(AgentContext {
        shares,
        events: events::Publisher::start(cluster.clone(), settings.identity.clone()),
        cluster,
        connect: settings.connect.clone(),
        identity: settings.identity.clone(),
        state,
        metrics,
        halt: halt.clone(),
    });
    let advertise = settings.advertise.clone();
    let (mut workers, names, locks) = spawn_workers(&ctx, settings.sets, &hooks, advertise);
    supervise(&mut workers, &names, &ctx.state, &halt).await;
    shut_down(&mut workers, &locks).await;
    if let Some(membership) = membership {
        let _ = tokio::time::timeout(Duration::from_secs(2), membership).await;
    }
    futures::future::join_all(served).await;
    tracing::info!("stopped; every Lease given back");
    Ok(())
}

/// Starts the HTTP listeners: the endpoints, and the hook port when a set has a webhook (the
/// port a Git host reaches: with no webhook, nothing listens there).
async fn serve(
    settings: &AgentSettings,
    state: &Arc<AgentState>,
    metrics: &Arc<Metrics>,
    hooks: &receiver::Hooks,
    halt: &Halt,
) -> Result<Vec<tokio::task::JoinHandle<()>>> {
    let router = http::router(
        state.clone(),
        metrics.clone(),
        &settings.identity,
        settings.dashboard,
    );
    let what = match settings.dashboard {
        true => "/ (dashboard), /metrics, /healthz, /readyz, /report",
        false => "/metrics, /healthz, /readyz, /report",
    };
    let mut servers = vec![(settings.listen, router, what)];
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
    Ok(served)
}

/// One worker per set, each with the set's Lease (shared with its webhook).
fn spawn_workers(
    ctx: &Arc<AgentContext>,
    sets: Vec<crate::settings::SetSettings>,
    hooks: &receiver::Hooks,
    advertise: Option<String>,
) -> (
    JoinSet<()>,
    HashMap<tokio::task::Id, String>,
    Vec<Arc<SetLock>>,
) {
    let mut workers = JoinSet::new();
    let mut names = HashMap::new();
    let mut locks = Vec::new();
    for set in sets {
        let name = set.sync.set.name.to_string();
        let options = LockOptions::for_agent(ctx.identity.clone(), advertise.clone());
        let lock = Arc::new(set.sync.set.lock(&ctx.cluster, options));
        locks.push(lock.clone());
        let hook = hooks.get(&name).cloned();
        if let Some(hook) = &hook {
            hook.attach(lock.clone());
        }
        let worker = SetWorker {
            ctx: ctx.clone(),
            settings: set,
            lock,
            hook,
        };
        let handle = workers.spawn(worker.run());
        names.insert(handle.id(), name);
    }
    (workers, names, locks)
}

/// Shutting down: passes start no new write; give them a bounded time to finish, then give
/// every Lease back.
async fn shut_down(workers: &mut JoinSet<()>, locks: &[Arc<SetLock>]) {
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
    for lock in locks {
        let _ = tokio::time::timeout(Duration::from_secs(2), lock.release()).await;
    }
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
