//! One writer per sync set: a Lease (`coordination.k8s.io/v1`, `driftless-<set>` in the
//! inventory namespace) held for a sync's write phase. The daemon holds the same Lease.
//!
//! A sync plans without the Lease and takes it only when it has something to write, so a sync
//! that changes nothing writes nothing. It remembers the Lease's resourceVersion from before it
//! planned: if the Lease is still at that version when taken, no other writer of the set ran in
//! between and the plan stands; otherwise the sync plans again under the Lease. Expiry is judged
//! as client-go does, by how long this process has seen the same record, never by comparing
//! clocks across machines.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::SetName;
use crate::cluster::{ApiFailure, Cluster, Leases};
use crate::error::Error;
use crate::halt::Halt;

/// How the Lease is held.
#[derive(Debug, Clone)]
pub struct LockOptions {
    /// Who holds it, as others see it (`sync@host:pid.nonce`, or the agent's pod name).
    pub identity: String,
    /// How long a holder that stops renewing keeps the Lease.
    pub lease_duration: Duration,
    /// How long to wait for another holder before giving up.
    pub timeout: Duration,
}

impl LockOptions {
    /// A one-shot CLI run: unique per process, 15 s lease.
    pub fn for_cli(timeout: Duration) -> LockOptions {
        LockOptions {
            identity: cli_identity(),
            lease_duration: Duration::from_secs(15),
            timeout,
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

/// The set's Lease, as this run sees and holds it.
pub struct SetLock {
    leases: Leases,
    name: String,
    namespace: String,
    options: LockOptions,
    /// The Lease's resourceVersion when planning began (`None`: it did not exist).
    seen: Option<Option<String>>,
    held: Option<Held>,
}

struct Held {
    renewer: JoinHandle<()>,
    lost: Arc<AtomicBool>,
    lease: Arc<tokio::sync::Mutex<Lease>>,
}

impl SetLock {
    pub fn new(cluster: &Cluster, set: &SetName, namespace: &str, options: LockOptions) -> Self {
        SetLock {
            leases: cluster.leases(namespace),
            name: format!("driftless-{set}"),
            namespace: namespace.to_string(),
            options,
            seen: None,
            held: None,
        }
    }

    /// Notes the Lease's version before planning (one GET, no write).
    pub async fn observe(&mut self) -> Result<(), Error> {
        let lease = self.leases.get(&self.name).await.map_err(|e| self.err(e))?;
        self.seen = Some(lease.and_then(|l| l.metadata.resource_version));
        Ok(())
    }

    pub fn is_held(&self) -> bool {
        self.held.is_some()
    }

    /// Fails once the Lease was lost (renewals failed or someone took it): stop writing.
    pub fn check(&self) -> Result<(), Error> {
        match &self.held {
            Some(h) if h.lost.load(Ordering::SeqCst) => Err(Error::Lock(format!(
                "lost Lease {}/{} while writing; stopped (another writer may have taken over)",
                self.namespace, self.name
            ))),
            _ => Ok(()),
        }
    }

    /// Takes the Lease, waiting up to the timeout for another holder. Creates the inventory
    /// namespace if needed.
    pub async fn take(&mut self, cluster: &Cluster, halt: &Halt) -> Result<Taken, Error> {
        if self.held.is_some() {
            return Ok(Taken::Unchanged);
        }
        cluster
            .ensure_namespace(&self.namespace)
            .await
            .map_err(|e| self.err(e))?;
        let started = Instant::now();
        let deadline = started + self.options.timeout;
        // The record as first seen unchanged, and since when: a holder that stopped renewing.
        let mut watched: Option<(Option<String>, Instant)> = None;
        let mut last_holder = String::new();
        loop {
            let current = self.leases.get(&self.name).await.map_err(|e| self.err(e))?;
            let base = current
                .as_ref()
                .and_then(|l| l.metadata.resource_version.clone());
            let holder = current.as_ref().and_then(holder_of);
            let expired = match &watched {
                Some((rv, since)) if *rv == base => {
                    since.elapsed() >= lease_duration(current.as_ref(), &self.options)
                }
                _ => {
                    watched = Some((base.clone(), Instant::now()));
                    false
                }
            };
            if holder.is_none() || expired {
                let attempt = match &current {
                    None => self.leases.create(&self.new_lease(None)).await,
                    Some(lease) => self.leases.replace(&self.new_lease(Some(lease))).await,
                };
                match attempt {
                    Ok(lease) => {
                        if let Some(previous) = &holder {
                            tracing::warn!(lease = %self.name, %previous, "took over an expired Lease");
                        }
                        let taken = match &self.seen {
                            Some(seen) if *seen == base => Taken::Unchanged,
                            _ => Taken::AfterAnotherWriter,
                        };
                        self.start_renewing(lease);
                        tracing::debug!(lease = %self.name, waited_ms = started.elapsed().as_millis() as u64, ?taken, "Lease taken");
                        return Ok(taken);
                    }
                    // Someone else won the race: look again.
                    Err(e) if e.code == 409 => {}
                    Err(e) => return Err(self.err(e)),
                }
            } else if let Some(h) = holder {
                last_holder = h;
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::Lock(format!(
                    "sync set is locked by {last_holder} (Lease {}/{}); gave up after {}s (--lock-timeout)",
                    self.namespace,
                    self.name,
                    self.options.timeout.as_secs()
                )));
            }
            tokio::select! {
                _ = tokio::time::sleep((deadline - now).min(Duration::from_millis(500))) => {}
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

    /// Gives the Lease back (if held) so the next writer need not wait for it to expire.
    pub async fn release(mut self) {
        let Some(held) = self.held.take() else {
            return;
        };
        held.renewer.abort();
        let _ = held.renewer.await;
        if held.lost.load(Ordering::SeqCst) {
            return;
        }
        let mut lease = held.lease.lock().await.clone();
        if let Some(spec) = lease.spec.as_mut() {
            spec.holder_identity = None;
            spec.renew_time = Some(MicroTime(Timestamp::now()));
        }
        if let Err(e) = self.leases.replace(&lease).await {
            tracing::warn!(lease = %self.name, error = %e, "cannot release the Lease; it expires by itself");
        }
    }

    fn new_lease(&self, current: Option<&Lease>) -> Lease {
        let now = MicroTime(Timestamp::now());
        let transitions = current
            .and_then(|l| l.spec.as_ref())
            .and_then(|s| s.lease_transitions)
            .unwrap_or(0);
        let mut metadata = current
            .map(|l| l.metadata.clone())
            .unwrap_or_else(|| ObjectMeta {
                name: Some(self.name.clone()),
                namespace: Some(self.namespace.clone()),
                ..ObjectMeta::default()
            });
        metadata.managed_fields = None;
        Lease {
            metadata,
            spec: Some(LeaseSpec {
                holder_identity: Some(self.options.identity.clone()),
                lease_duration_seconds: Some(self.options.lease_duration.as_secs().max(1) as i32),
                acquire_time: Some(now.clone()),
                renew_time: Some(now),
                lease_transitions: Some(transitions + i32::from(current.is_some())),
                ..LeaseSpec::default()
            }),
        }
    }

    fn start_renewing(&mut self, lease: Lease) {
        let lost = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(tokio::sync::Mutex::new(lease));
        let (leases, period, duration) = (
            self.leases.clone(),
            self.options.lease_duration / 3,
            self.options.lease_duration,
        );
        let (task_lost, task_lease) = (lost.clone(), shared.clone());
        let renewer = tokio::spawn(async move {
            let mut renewed = Instant::now();
            loop {
                tokio::time::sleep(period).await;
                let mut lease = task_lease.lock().await;
                let mut next = lease.clone();
                if let Some(spec) = next.spec.as_mut() {
                    spec.renew_time = Some(MicroTime(Timestamp::now()));
                }
                match leases.replace(&next).await {
                    Ok(updated) => {
                        *lease = updated;
                        renewed = Instant::now();
                    }
                    Err(e) if e.code == 409 || renewed.elapsed() >= duration => {
                        // A server that is gone was reported once already.
                        if e.is_unreachable() {
                            tracing::debug!(error = %e, "lost the sync set's Lease");
                        } else {
                            tracing::error!(error = %e, "lost the sync set's Lease");
                        }
                        task_lost.store(true, Ordering::SeqCst);
                        return;
                    }
                    Err(e) => tracing::debug!(error = %e, "Lease renewal failed; retrying"),
                }
            }
        });
        self.held = Some(Held {
            renewer,
            lost,
            lease: shared,
        });
    }

    fn err(&self, e: ApiFailure) -> Error {
        Error::Lock(format!("Lease {}/{}: {e}", self.namespace, self.name))
    }
}

fn holder_of(lease: &Lease) -> Option<String> {
    lease
        .spec
        .as_ref()
        .and_then(|s| s.holder_identity.clone())
        .filter(|h| !h.is_empty())
}

fn lease_duration(lease: Option<&Lease>, options: &LockOptions) -> Duration {
    lease
        .and_then(|l| l.spec.as_ref())
        .and_then(|s| s.lease_duration_seconds)
        .and_then(|s| u64::try_from(s).ok())
        .map_or(options.lease_duration, Duration::from_secs)
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
