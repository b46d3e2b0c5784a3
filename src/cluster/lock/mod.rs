//! One writer per sync set: a Lease (`coordination.k8s.io/v1`, `driftless-<set>` in the
//! inventory namespace). A CLI sync holds it for its write phase; the agent holds it as long as
//! it leads the set, and its standby waits to take it over.
//!
//! A sync plans without the Lease and takes it only when it has something to write, so a sync
//! that changes nothing writes nothing. It remembers the Lease's resourceVersion from before it
//! planned: if the Lease is still at that version when taken, no other writer of the set ran in
//! between and the plan stands; otherwise the sync plans again under the Lease. Expiry is judged
//! as client-go does, by how long this process has seen the same record, never by comparing
//! clocks across machines. The Lease also carries the set's last synced revision, so a new
//! leader (or a CI job) knows what the cluster runs.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{ApiFailure, Cluster, Leases, Writer};
use crate::error::Error;
use crate::halt::Halt;
use evaluate::{Decision, Observed, evaluate};

mod evaluate;

/// The annotation on the Lease naming the revision the set last synced.
pub const REVISION_ANNOTATION: &str = "driftless.dev/revision";
/// The annotation on the Lease naming the charts fetched from repositories for that revision,
/// as resolved (`chart version digest repo`, a line each): a re-render can get the same bytes.
pub const CHARTS_ANNOTATION: &str = "driftless.dev/charts";
/// The annotation on the Lease saying whether the set's last pass synced everything (`true`):
/// what sets that depend on it wait for.
pub const READY_ANNOTATION: &str = "driftless.dev/ready";

/// The annotation on the Lease saying the set is suspended (`true`): `driftless suspend`.
pub const SUSPENDED_ANNOTATION: &str = "driftless.dev/suspended";
/// The annotation on the Lease asking its holder for a pass now: `driftless reconcile` sets it
/// to the time of asking, and the status records the request a pass answered (as Flux's
/// `reconcile.fluxcd.io/requestedAt` and `lastHandledReconcileAt`).
pub const RECONCILE_ANNOTATION: &str = "driftless.dev/reconcile-requested-at";

/// What others ask of the set's holder, on its Lease.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Control {
    pub suspended: bool,
    /// The last reconcile request (its timestamp).
    pub reconcile: Option<String>,
}

impl Control {
    pub fn of(lease: &Lease) -> Control {
        Control {
            suspended: annotation(lease, SUSPENDED_ANNOTATION).as_deref() == Some("true"),
            reconcile: annotation(lease, RECONCILE_ANNOTATION),
        }
    }
}

/// What the holder records on the Lease at its next write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Recorded {
    revision: Option<String>,
    /// `Some("")`: none any more.
    charts: Option<String>,
    ready: Option<bool>,
}
/// How long a free Lease waits for a replica within its share before any replica takes it.
const GATE_LIMIT: Duration = Duration::from_secs(20);
/// While a watch brings each change of the Lease, it is still read this often.
const WATCH_SAFETY_POLL: Duration = Duration::from_secs(30);

/// The annotation on the Lease naming where its holder takes webhook calls.
pub const ENDPOINT_ANNOTATION: &str = "driftless.dev/endpoint";

/// How the Lease is held.
#[derive(Debug, Clone)]
pub struct LockOptions {
    /// Who holds it, as others see it (`sync@host:pid.nonce`, or the agent's pod name).
    pub identity: String,
    /// How long a holder that stops renewing keeps the Lease.
    pub lease_duration: Duration,
    /// How long to wait for another holder before giving up; `None`: until halted (a standby).
    pub timeout: Option<Duration>,
    /// How often a waiting run looks again.
    pub poll: Duration,
    /// Where the holder takes webhook calls (`10.0.0.7:8080`), recorded on the Lease so a
    /// standby can pass a call on to it.
    pub endpoint: Option<String>,
}

impl LockOptions {
    /// A one-shot CLI run: unique per process, 15 s lease.
    pub fn for_cli(timeout: Duration) -> LockOptions {
        LockOptions {
            identity: cli_identity(),
            lease_duration: Duration::from_secs(15),
            timeout: Some(timeout),
            poll: Duration::from_millis(500),
            endpoint: None,
        }
    }

    /// The agent: a 10 s lease, renewed every 3.3 s. A standby follows the renewals on a watch
    /// (polling every 2 s if it cannot watch) and judges expiry by its own clock from the last
    /// renewal it saw, so it leads about 10 s after the leader's death (14 s when polling).
    pub fn for_agent(identity: String, endpoint: Option<String>) -> LockOptions {
        LockOptions {
            identity,
            endpoint,
            lease_duration: Duration::from_secs(10),
            timeout: None,
            poll: Duration::from_secs(2),
        }
    }
}

/// Whether the plan made before taking the Lease still holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// Nobody wrote to the set since the plan was made.
    Unchanged,
    /// Another writer held the Lease in between: plan again.
    AfterAnotherWriter,
}

/// Whom the Lease was taken from, last time this process took it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TookFrom {
    /// There was no Lease yet.
    Nobody,
    /// Its holder gave it back (a clean shutdown).
    Released,
    /// Its holder stopped renewing it (a crash, a partition).
    Expired,
    /// It named this process already (a restart under the same identity).
    Itself,
}

impl TookFrom {
    pub fn label(self) -> &'static str {
        match self {
            TookFrom::Nobody => "none",
            TookFrom::Released => "released",
            TookFrom::Expired => "expired",
            TookFrom::Itself => "self",
        }
    }
}

/// The set's Lease, as this process sees and holds it. Shared (`Arc`) between the agent's set
/// worker and its passes.
pub struct SetLock {
    leases: Leases,
    name: String,
    namespace: String,
    options: LockOptions,
    state: Mutex<State>,
    /// `true` once a held Lease was lost.
    lost: watch::Sender<bool>,
    /// What to record on the Lease at its next write (shared with the renewer).
    recorded: watch::Sender<Recorded>,
}

#[derive(Default)]
struct State {
    /// The Lease as it was when planning began.
    before_plan: Option<Version>,
    held: Option<Held>,
    took_from: Option<TookFrom>,
}

struct Held {
    renewer: JoinHandle<()>,
    lease: Arc<Mutex<Lease>>,
}

impl Drop for Held {
    /// A holder that goes away (a task aborted, a panic) stops renewing: the Lease expires.
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

/// A Lease's resourceVersion, as a writer saw it; `None` when there was no Lease.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Version(Option<String>);

impl SetLock {
    /// The Lease `name` in `namespace` (a set's: `driftless-<set>` in its inventory namespace).
    pub fn new(cluster: &Cluster, name: &str, namespace: &str, options: LockOptions) -> Self {
        SetLock {
            leases: cluster.leases(namespace),
            name: name.to_string(),
            namespace: namespace.to_string(),
            options,
            state: Mutex::new(State::default()),
            lost: watch::channel(false).0,
            recorded: watch::channel(Recorded::default()).0,
        }
    }

    /// Notes the Lease's version before planning (one GET, no write).
    pub async fn observe(&self) -> Result<(), Error> {
        let lease = self.leases.get(&self.name).await.map_err(|e| self.err(e))?;
        let version = Version(lease.and_then(|l| l.metadata.resource_version));
        self.state.lock().await.before_plan = Some(version);
        Ok(())
    }

    /// The right to write, while the Lease is held and not lost (see [`Writer`]).
    pub async fn writer<'a>(&self, cluster: &'a Cluster) -> Result<Writer<'a>, Error> {
        if !self.is_held().await {
            return Err(Error::Lock(format!(
                "Lease {}/{} is not held: nothing may be written",
                self.namespace, self.name
            )));
        }
        self.check()?;
        Ok(Writer::new(cluster))
    }

    pub async fn is_held(&self) -> bool {
        self.state.lock().await.held.is_some()
    }

    /// Fails once the Lease was lost (renewals failed or someone took it): stop writing.
    pub fn check(&self) -> Result<(), Error> {
        if *self.lost.borrow() {
            return Err(Error::Lock(format!(
                "lost Lease {}/{} while writing; stopped (another writer may have taken over)",
                self.namespace, self.name
            )));
        }
        Ok(())
    }

    /// Resolves once a held Lease is lost.
    pub async fn lost(&self) {
        let mut lost = self.lost.subscribe();
        let _ = lost.wait_for(|l| *l).await;
    }

    /// Whom the Lease was last taken from by this process.
    pub async fn took_from(&self) -> Option<TookFrom> {
        self.state.lock().await.took_from
    }

    /// The revision the Lease records (or will at its next write), as this holder knows it.
    pub fn revision(&self) -> Option<String> {
        self.recorded.borrow().revision.clone()
    }

    /// The revision the set last synced, as the Lease records it.
    pub async fn recorded_revision(&self) -> Result<Option<String>, Error> {
        let lease = self.leases.get(&self.name).await.map_err(|e| self.err(e))?;
        Ok(lease.and_then(|l| revision_of(&l)))
    }

    /// Who holds the Lease now (as recorded: a holder that died still shows until it expires),
    /// and the revision it records.
    pub async fn holder(&self) -> Result<(Option<String>, Option<String>), Error> {
        let lease = self.leases.get(&self.name).await.map_err(|e| self.err(e))?;
        Ok((
            lease.as_ref().and_then(holder_of),
            lease.as_ref().and_then(revision_of),
        ))
    }

    /// Who holds the Lease now and where it takes webhook calls, if it said.
    pub async fn holder_endpoint(&self) -> Result<(Option<String>, Option<String>), Error> {
        let lease = self.leases.get(&self.name).await.map_err(|e| self.err(e))?;
        let endpoint = lease
            .as_ref()
            .and_then(|l| annotation(l, ENDPOINT_ANNOTATION));
        Ok((lease.as_ref().and_then(holder_of), endpoint))
    }

    /// What others ask of the holder, as the Lease was when last taken or renewed.
    pub async fn control(&self) -> Control {
        let held = self
            .state
            .lock()
            .await
            .held
            .as_ref()
            .map(|h| h.lease.clone());
        match held {
            Some(lease) => Control::of(&*lease.lock().await),
            None => Control::default(),
        }
    }

    /// What others ask of the holder, at each change of the Lease (and once at the start):
    /// one open watch.
    pub fn controls(&self) -> impl futures::Stream<Item = Control> + Send + use<> {
        self.leases
            .changes(&self.name)
            .filter_map(|change| async move { change.flatten().map(|l| Control::of(&l)) })
    }

    /// The Lease's name and namespace (`driftless-<set>`).
    pub fn lease_name(&self) -> (&str, &str) {
        (&self.namespace, &self.name)
    }

    /// Records `revision` on the Lease (at its next renewal, which costs no extra request).
    pub fn record_revision(&self, revision: &str) {
        self.recorded
            .send_modify(|r| r.revision = Some(revision.to_string()));
    }

    /// Records the charts the revision fetched (at the next renewal; empty: none).
    pub fn record_charts(&self, charts: String) {
        self.recorded.send_modify(|r| r.charts = Some(charts));
    }

    /// Records whether the set's last pass synced everything (at the next renewal).
    pub fn record_ready(&self, ready: bool) {
        self.recorded.send_modify(|r| r.ready = Some(ready));
    }

    /// Whether the set of Lease `name` (another set, in this Lease's namespace) last synced
    /// everything, as its holder recorded; `false` when it never said or has no Lease.
    pub async fn peer_ready(&self, name: &str) -> Result<bool, Error> {
        let lease = self.leases.get(name).await.map_err(|e| self.err(e))?;
        let ready = lease.and_then(|l| annotation(&l, READY_ANNOTATION));
        Ok(ready.as_deref() == Some("true"))
    }

    /// Takes the Lease, waiting for another holder up to the timeout (or until halted).
    /// Creates the inventory namespace if needed. A thin loop around [`fn@evaluate`]: look at the
    /// Lease (pushed by a watch, else read), take it when it is free, expired or ours, else
    /// wait for its next change or its expiry.
    pub async fn take(&self, cluster: &Cluster, halt: &Halt) -> Result<Taken, Error> {
        self.take_when(cluster, halt, &|| true).await
    }

    /// As [`SetLock::take`], but a free Lease is taken only while `may` says so (the agent's
    /// fair share of sets); until then it is looked at again every poll.
    pub async fn take_when(
        &self,
        cluster: &Cluster,
        halt: &Halt,
        may: &(dyn Fn() -> bool + Sync),
    ) -> Result<Taken, Error> {
        if self.is_held().await {
            return Ok(Taken::Unchanged);
        }
        // Its home must exist before anyone can hold the Lease: the one write made without it.
        Writer::new(cluster)
            .ensure_namespace(&self.namespace)
            .await
            .map_err(|e| self.err(e))?;
        let started = Instant::now();
        let mut observed: Option<Observed> = None;
        let mut last_holder = String::new();
        let mut gated: Option<Instant> = None;
        // A holder's renewals come on a watch (no request each); lazy: a free Lease is taken
        // before it opens.
        let mut changes = std::pin::pin!(self.leases.changes(&self.name));
        let (mut pushed, mut watching) = (None, true);
        loop {
            let current = match pushed.take() {
                Some(lease) => lease,
                None => self.leases.get(&self.name).await.map_err(|e| self.err(e))?,
            };
            let me = &self.options;
            let (decision, seen) =
                evaluate(current.as_ref(), observed.as_ref(), Instant::now(), me);
            observed = Some(seen);
            let until_expiry = match decision {
                // Past GATE_LIMIT a free set is taken whatever the share says: a miscount
                // (a replica judged alive that is not) must never leave a set without a leader.
                Decision::Take
                    if !may() && gated.get_or_insert_with(Instant::now).elapsed() < GATE_LIMIT =>
                {
                    last_holder = "nobody (this replica leads its share of sets)".into();
                    me.poll
                }
                Decision::Take => match self.try_take(current).await? {
                    Some(taken) => {
                        let waited_ms = started.elapsed().as_millis() as u64;
                        tracing::debug!(lease = %self.name, waited_ms, ?taken, "Lease taken");
                        return Ok(taken);
                    }
                    // Another writer won the race: look again once it had time to write.
                    None => me.poll,
                },
                Decision::Wait {
                    holder,
                    until_expiry,
                } => {
                    last_holder = holder;
                    until_expiry
                }
            };
            let waited = started.elapsed();
            if let Some(timeout) = me.timeout
                && waited >= timeout
            {
                return Err(Error::Lock(format!(
                    "sync set is locked by {last_holder} (Lease {}/{}); gave up after {timeout:?} (--lock-timeout)",
                    self.namespace, self.name
                )));
            }
            let wait = self.next_look(until_expiry, watching, waited);
            tokio::select! {
                change = changes.next() => match change {
                    Some(Some(lease)) => {
                        pushed = Some(lease);
                        watching = true;
                    }
                    _ => {
                        watching = false;
                        tokio::time::sleep(me.poll.min(wait)).await;
                    }
                },
                _ = tokio::time::sleep(wait) => {}
                _ = halt.halted() => {
                    return Err(Error::Lock(format!(
                        "stopped waiting for Lease {}/{} (held by {last_holder}): {}",
                        self.namespace,
                        self.name,
                        halt.reason().map_or("halted", |r| r.describe())
                    )));
                }
            }
        }
    }

    /// How long to wait before looking again: until the next change on a watch (but the
    /// holder's expiry and a safety poll come first), else the poll period; never past the
    /// timeout.
    fn next_look(&self, until_expiry: Duration, watching: bool, waited: Duration) -> Duration {
        let wait = match watching {
            true => until_expiry.min(WATCH_SAFETY_POLL),
            false => self.options.poll,
        };
        match self.options.timeout {
            Some(timeout) => wait.min(timeout.saturating_sub(waited) + Duration::from_millis(10)),
            None => wait,
        }
    }

    /// One attempt to take the Lease as `current` is; `None` when another writer won the race
    /// (look again).
    async fn try_take(&self, current: Option<Lease>) -> Result<Option<Taken>, Error> {
        let base = Version(
            current
                .as_ref()
                .and_then(|l| l.metadata.resource_version.clone()),
        );
        let holder = current.as_ref().and_then(holder_of);
        let mut state = self.state.lock().await;
        // The Lease keeps what it records until this holder syncs.
        let recorded = current.as_ref().map(recorded_of).unwrap_or_default();
        let next = self.next_lease(current.as_ref(), &recorded);
        let current_existed = current.is_some();
        let attempt = match current {
            None => self.leases.create(&next).await,
            Some(_) => self.leases.replace(&next).await,
        };
        let lease = match attempt {
            Ok(lease) => lease,
            Err(e) if e.code == 409 => return Ok(None),
            Err(e) => return Err(self.err(e)),
        };
        state.took_from = Some(match (&current_existed, &holder) {
            (false, _) => TookFrom::Nobody,
            (true, None) => TookFrom::Released,
            (true, Some(previous)) if previous == &self.options.identity => TookFrom::Itself,
            (true, Some(previous)) => {
                tracing::warn!(lease = %self.name, %previous, "took over an expired Lease");
                TookFrom::Expired
            }
        });
        let taken = match &state.before_plan {
            Some(before) if *before == base => Taken::Unchanged,
            _ => Taken::AfterAnotherWriter,
        };
        self.recorded.send_replace(recorded_of(&lease));
        self.lost.send_replace(false);
        state.held = Some(self.start_renewing(lease));
        Ok(Some(taken))
    }

    /// Gives the Lease back (if held) so the next writer need not wait for it to expire.
    pub async fn release(&self) {
        let Some(mut held) = self.state.lock().await.held.take() else {
            return;
        };
        held.renewer.abort();
        let _ = (&mut held.renewer).await;
        if *self.lost.borrow() {
            return;
        }
        let mut lease = held.lease.lock().await.clone();
        set_record(&mut lease.metadata, &self.recorded.borrow().clone());
        if let Some(spec) = lease.spec.as_mut() {
            spec.holder_identity = None;
            spec.renew_time = Some(MicroTime(Timestamp::now()));
        }
        let mut attempt = self.leases.replace(&lease).await;
        // Annotated since the last renewal (`driftless suspend`): give back the Lease as it is.
        if matches!(&attempt, Err(e) if e.code == 409)
            && let Ok(Some(mut current)) = self.leases.get(&self.name).await
            && still_ours(&*held.lease.lock().await, &current)
        {
            current.spec.clone_from(&lease.spec);
            set_record(&mut current.metadata, &self.recorded.borrow().clone());
            attempt = self.leases.replace(&current).await;
        }
        if let Err(e) = attempt {
            tracing::warn!(lease = %self.name, error = %e, "cannot release the Lease; it expires by itself");
        }
    }

    fn next_lease(&self, current: Option<&Lease>, recorded: &Recorded) -> Lease {
        let now = MicroTime(Timestamp::now());
        let spec = current.and_then(|l| l.spec.as_ref());
        let ours = spec.and_then(|s| s.holder_identity.as_deref()) == Some(&self.options.identity);
        let transitions = spec.and_then(|s| s.lease_transitions).unwrap_or(0);
        let mut metadata = current
            .map(|l| l.metadata.clone())
            .unwrap_or_else(|| ObjectMeta {
                name: Some(self.name.clone()),
                namespace: Some(self.namespace.clone()),
                ..ObjectMeta::default()
            });
        metadata.managed_fields = None;
        set_record(&mut metadata, recorded);
        let annotations = metadata.annotations.get_or_insert_with(Default::default);
        match &self.options.endpoint {
            Some(endpoint) => annotations.insert(ENDPOINT_ANNOTATION.into(), endpoint.clone()),
            None => annotations.remove(ENDPOINT_ANNOTATION),
        };
        Lease {
            metadata,
            spec: Some(LeaseSpec {
                holder_identity: Some(self.options.identity.clone()),
                lease_duration_seconds: Some(self.options.lease_duration.as_secs().max(1) as i32),
                acquire_time: Some(now.clone()),
                renew_time: Some(now),
                lease_transitions: Some(transitions + i32::from(current.is_some() && !ours)),
                ..LeaseSpec::default()
            }),
        }
    }

    fn start_renewing(&self, lease: Lease) -> Held {
        let shared = Arc::new(Mutex::new(lease));
        let (leases, lost) = (self.leases.clone(), self.lost.clone());
        let (period, duration) = (self.options.lease_duration / 3, self.options.lease_duration);
        let task_lease = shared.clone();
        let lease_name = Arc::new(self.name.clone());
        let state_recorded = self.recorded.subscribe();
        let renewer = tokio::spawn(async move {
            let mut renewed = Instant::now();
            loop {
                tokio::time::sleep(period).await;
                let mut lease = task_lease.lock().await;
                let mut next = lease.clone();
                if let Some(spec) = next.spec.as_mut() {
                    spec.renew_time = Some(MicroTime(Timestamp::now()));
                }
                let wanted = state_recorded.borrow().clone();
                set_record(&mut next.metadata, &wanted);
                let mut attempt = leases.replace(&next).await;
                // Someone else wrote the Lease: a `driftless suspend` or `reconcile` annotates
                // it. Still ours if it still names this holder and the renewal last written.
                if matches!(&attempt, Err(e) if e.code == 409)
                    && let Ok(Some(current)) = leases
                        .get(&next.metadata.name.clone().unwrap_or_default())
                        .await
                    && still_ours(&lease, &current)
                {
                    let mut retry = current;
                    retry.spec.clone_from(&next.spec);
                    set_record(&mut retry.metadata, &wanted);
                    attempt = leases.replace(&retry).await;
                }
                match attempt {
                    Ok(updated) => {
                        *lease = updated;
                        renewed = Instant::now();
                    }
                    Err(e) if e.code == 409 || renewed.elapsed() >= duration => {
                        // A server that is gone was reported once already.
                        if e.is_unreachable() {
                            tracing::debug!(lease = %lease_name, error = %e, "lost the sync set's Lease");
                        } else {
                            tracing::error!(lease = %lease_name, error = %e, "lost the sync set's Lease");
                        }
                        lost.send_replace(true);
                        return;
                    }
                    Err(e) => tracing::debug!(error = %e, "Lease renewal failed; retrying"),
                }
            }
        });
        Held {
            renewer,
            lease: shared,
        }
    }

    fn err(&self, e: ApiFailure) -> Error {
        Error::Lock(format!("Lease {}/{}: {e}", self.namespace, self.name))
    }
}

/// Whether `current` is still the Lease this holder last wrote (`held`), changed only in what
/// others may write (annotations): the same holder and the same renewal.
fn still_ours(held: &Lease, current: &Lease) -> bool {
    let spec = |l: &Lease| {
        l.spec
            .as_ref()
            .map(|s| (s.holder_identity.clone(), s.renew_time.clone()))
    };
    holder_of(held).is_some() && spec(held) == spec(current)
}

pub(super) fn holder_of(lease: &Lease) -> Option<String> {
    lease
        .spec
        .as_ref()
        .and_then(|s| s.holder_identity.clone())
        .filter(|h| !h.is_empty())
}

fn revision_of(lease: &Lease) -> Option<String> {
    annotation(lease, REVISION_ANNOTATION)
}

fn annotation(lease: &Lease, key: &str) -> Option<String> {
    lease.metadata.annotations.as_ref()?.get(key).cloned()
}

fn recorded_of(lease: &Lease) -> Recorded {
    Recorded {
        revision: revision_of(lease),
        charts: annotation(lease, CHARTS_ANNOTATION),
        ready: annotation(lease, READY_ANNOTATION).map(|r| r == "true"),
    }
}

fn set_record(metadata: &mut ObjectMeta, recorded: &Recorded) {
    let annotations = metadata.annotations.get_or_insert_with(Default::default);
    if let Some(revision) = &recorded.revision {
        annotations.insert(REVISION_ANNOTATION.into(), revision.clone());
    }
    if let Some(ready) = recorded.ready {
        annotations.insert(READY_ANNOTATION.into(), ready.to_string());
    }
    match recorded.charts.as_deref() {
        Some("") => {
            annotations.remove(CHARTS_ANNOTATION);
        }
        Some(charts) => {
            annotations.insert(CHARTS_ANNOTATION.into(), charts.to_string());
        }
        None => {}
    }
}

/// `sync@<host>:<pid>.<nonce>`: names the machine and process in "locked by" messages.
fn cli_identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".into());
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() % 0x10000)
        .unwrap_or(0);
    format!("sync@{host}:{}.{nonce:04x}", std::process::id())
}
