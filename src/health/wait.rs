//! `sync --wait`: polls what a sync manages until each object is healthy or failed, the timeout
//! passes, or the run is halted, and says how each one ended. A round is
//! one GET per object still in progress and one LIST of pods per namespace holding such a
//! workload, all through the cluster's request policy; rounds are a second apart.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use futures::{StreamExt, stream};
use serde_json::Value;
use tokio::time::{Instant, sleep, sleep_until};

use super::progress::{Progress, human, objects};
use super::{Health, Kind, ProgressStyle, health};
use crate::cluster::Cluster;
use crate::halt::Halt;
use crate::plan::{NamespaceKey, namespace_label};
use crate::render::{KindInfo, KindLookup as _, ObjectId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitOptions {
    /// How long to wait for everything to be healthy (`--wait-timeout`).
    pub timeout: Duration,
    /// Time between two rounds of polls.
    pub interval: Duration,
    pub progress: ProgressStyle,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            timeout: Duration::from_secs(300),
            interval: Duration::from_secs(1),
            progress: ProgressStyle::Lines,
        }
    }
}

/// One object waited on, and what was seen of it last.
struct Target {
    id: ObjectId,
    kind: Kind,
    /// `None`: the server does not serve its kind (it cannot be read).
    info: Option<KindInfo>,
    health: Health,
}

/// Why the wait ended.
enum Ending {
    AllDone,
    TimedOut,
    Halted,
    Unreachable(String),
}

/// Waits on `objects` (what a sync manages and exists after it), and returns each one's
/// health at the end: healthy, failed, or still in progress (and why the wait ended). Waits on
/// nothing once the run is halted.
pub async fn wait(
    cluster: &Cluster,
    objects: Vec<ObjectId>,
    options: &WaitOptions,
    concurrency: usize,
    halt: &Halt,
) -> Vec<(ObjectId, Health)> {
    if halt.is_halted() || objects.is_empty() {
        return Vec::new();
    }
    let mut targets = targets(cluster, objects);
    tracing::info!(objects = targets.len(), timeout = ?options.timeout, "waiting for health");
    let mut progress = Progress::new(options.progress, std::io::stderr(), options.timeout);
    let started = Instant::now();
    let deadline = started + options.timeout;
    let mut announced = BTreeSet::new();
    let ending = loop {
        let polled = tokio::select! {
            _ = halt.halted() => break Ending::Halted,
            _ = sleep_until(deadline) => break Ending::TimedOut,
            polled = poll(cluster, &targets, concurrency) => polled,
        };
        for (i, health) in polled {
            targets[i].health = health;
        }
        announce(&mut progress, &targets, &mut announced, None);
        let pending: Vec<(String, String)> = targets
            .iter()
            .filter_map(|t| match &t.health {
                Health::InProgress(why) => Some((t.id.to_string(), why.clone())),
                _ => None,
            })
            .collect();
        progress.pending(started.elapsed(), &pending);
        if pending.is_empty() {
            break Ending::AllDone;
        }
        if let Some(gone) = cluster.flow().unreachable() {
            break Ending::Unreachable(gone);
        }
        tokio::select! {
            _ = halt.halted() => break Ending::Halted,
            _ = sleep_until(deadline) => break Ending::TimedOut,
            _ = sleep(options.interval) => {}
        }
    };
    match ending {
        Ending::Halted => progress.keep(),
        _ => progress.finish(),
    }
    let why = match ending {
        Ending::AllDone => None,
        Ending::TimedOut => Some(format!("not healthy within {}", human(options.timeout))),
        Ending::Halted => Some(format!(
            "wait stopped: {}",
            halt.reason().map_or("halted", |r| r.describe())
        )),
        Ending::Unreachable(gone) => Some(format!("wait stopped: {gone}")),
    };
    if let Some(why) = &why {
        for t in &mut targets {
            if let Health::InProgress(was) = &t.health {
                t.health = Health::InProgress(format!("{was} ({why})"));
            }
        }
    }
    announce(&mut progress, &targets, &mut announced, why.as_deref());
    targets.into_iter().map(|t| (t.id, t.health)).collect()
}

/// Each object with how to read it.
fn targets(cluster: &Cluster, objects: Vec<ObjectId>) -> Vec<Target> {
    let catalog = cluster.catalog();
    objects
        .into_iter()
        .map(|id| {
            let info = catalog
                .lookup(&id.group, &id.version, &id.kind)
                .or_else(|| catalog.lookup_group_kind(&id.group, &id.kind));
            Target {
                kind: Kind::of(&id.group, &id.kind),
                info,
                id,
                health: Health::InProgress("not checked yet".into()),
            }
        })
        .collect()
}

/// One round: the pods of every namespace with a workload in progress, then every object in
/// progress. Returns the new health of each, by index.
async fn poll(cluster: &Cluster, targets: &[Target], concurrency: usize) -> Vec<(usize, Health)> {
    let open: Vec<usize> = (0..targets.len())
        .filter(|&i| !targets[i].health.is_final())
        .collect();
    let namespaces: BTreeSet<&str> = open
        .iter()
        .map(|&i| &targets[i])
        .filter(|t| t.kind.runs_pods())
        .filter_map(|t| t.id.namespace.as_deref())
        .collect();
    let pod_kind = KindInfo::core("Pod", "pods", true);
    let listed = futures::future::join_all(namespaces.into_iter().map(|ns| {
        let pod_kind = &pod_kind;
        async move { (ns, cluster.list(pod_kind, Some(ns), "").await) }
    }))
    .await;
    let mut pods: HashMap<&str, Vec<Value>> = HashMap::new();
    for (ns, result) in listed {
        match result {
            Ok(list) => {
                pods.insert(ns, list);
            }
            // The workloads' own status still says how far they are.
            Err(e) => tracing::debug!(namespace = ns, error = %e, "pods not listed"),
        }
    }
    let pods = &pods;
    stream::iter(open)
        .map(|i| async move { (i, check(cluster, &targets[i], pods).await) })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await
}

async fn check(cluster: &Cluster, target: &Target, pods: &HashMap<&str, Vec<Value>>) -> Health {
    let Some(info) = &target.info else {
        return Health::Failed("the server does not serve its kind".into());
    };
    let namespace = target.id.namespace.as_deref();
    match cluster.get_named(info, namespace, &target.id.name).await {
        Ok(Some(live)) => {
            let pods = namespace.and_then(|ns| pods.get(ns));
            health(target.kind, &live, pods.map_or(&[], Vec::as_slice))
        }
        Ok(None) => Health::InProgress("not found".into()),
        Err(e) => Health::InProgress(format!("cannot be read: {e}")),
    }
}

/// Says once per namespace when it is all healthy or has a failed object; with `ending` (the
/// wait is over), also why the others are not.
fn announce<W: std::io::Write>(
    progress: &mut Progress<W>,
    targets: &[Target],
    announced: &mut BTreeSet<NamespaceKey>,
    ending: Option<&str>,
) {
    let mut by_namespace: BTreeMap<&NamespaceKey, Vec<&Target>> = BTreeMap::new();
    for t in targets {
        by_namespace.entry(&t.id.namespace).or_default().push(t);
    }
    for (n, group) in by_namespace {
        if announced.contains(n) {
            continue;
        }
        let label = namespace_label(n);
        let failed = group.iter().find(|t| matches!(t.health, Health::Failed(_)));
        let waiting: Vec<&&Target> = group
            .iter()
            .filter(|t| matches!(t.health, Health::InProgress(_)))
            .collect();
        let line = match (failed, waiting.first(), ending) {
            (Some(t), _, _) => format!("namespace {label} is unhealthy: {}: {}", t.id, why(t)),
            (None, None, _) => format!("namespace {label} is healthy ({})", objects(group.len())),
            (None, Some(t), Some(_)) => format!(
                "namespace {label} is not healthy: {} still in progress, first {}: {}",
                objects(waiting.len()),
                t.id,
                why(t)
            ),
            (None, Some(_), None) => continue,
        };
        progress.say(&line);
        announced.insert(n.clone());
    }
}

fn why(target: &Target) -> &str {
    target.health.message().unwrap_or_default()
}
