//! Sets shared across replicas: each replica leads about M/N of the M sets. Every replica
//! holds a membership Lease of its own (`driftless-replica-<identity>`, renewed as a set's
//! is); the live ones are counted from one LIST of Leases every few seconds. A replica takes a
//! free set only while it leads fewer than its fair share, `ceil(M / N)`, and one that leads
//! more gives the extra sets back between passes (the last by name first), so sets move when a
//! replica joins without two writers at once; when one dies its Leases expire and the others,
//! now with a larger share, take them.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::cluster::{Cluster, LockOptions, SetLock};
use crate::halt::Halt;

/// How often the live replicas are counted.
const COUNT_EVERY: Duration = Duration::from_secs(2);
/// A membership Lease renewed this long ago still counts: its duration (renewals come every
/// 3.3 s), so a dead replica stops counting as its set Leases expire.
const ALIVE_FOR: i64 = 10;
/// The prefix of membership Leases.
pub const MEMBER_PREFIX: &str = "driftless-replica-";

/// This replica's share of the sets, as its workers consult it.
pub struct Shares {
    sets: usize,
    /// Live replicas, this one included (at least 1).
    replicas: watch::Sender<usize>,
    /// The sets this replica leads now.
    held: Mutex<BTreeSet<String>>,
}

impl Shares {
    pub fn new(sets: usize) -> Shares {
        Shares {
            sets,
            replicas: watch::channel(1).0,
            held: Mutex::new(BTreeSet::new()),
        }
    }

    /// `ceil(M / N)`.
    pub fn share(&self) -> usize {
        let replicas = (*self.replicas.borrow()).max(1);
        self.sets.div_ceil(replicas).max(1)
    }

    fn held(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether this replica may take another set now.
    pub fn may_take(&self) -> bool {
        self.held().len() < self.share()
    }

    pub fn leading(&self, set: &str, leads: bool) -> usize {
        let mut held = self.held();
        match leads {
            true => held.insert(set.to_string()),
            false => held.remove(set),
        };
        held.len()
    }

    /// Whether `set` is one this replica should give back: it leads more than its share, and
    /// `set` is past the share in name order.
    pub fn should_yield(&self, set: &str) -> bool {
        let share = self.share();
        let held = self.held();
        held.len() > share && held.iter().skip(share).any(|s| s == set)
    }
}

/// Who this replica is among those that run the same sets: the sets' names, hashed, then its
/// identity. Agents of other configs in the same namespace are not counted as replicas (they
/// could not lead these sets).
pub fn member_identity(identity: &str, sets: &[crate::settings::SetSettings]) -> String {
    use sha2::{Digest as _, Sha256};
    let mut names: Vec<String> = sets.iter().map(|s| s.sync.set.name.to_string()).collect();
    names.sort();
    let digest = Sha256::digest(names.join("\n").as_bytes());
    let short: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("{short}.{identity}")
}

/// A Lease name for `identity`: lower case letters, digits, `-` and `.` only.
pub fn member_name(identity: &str) -> String {
    let clean: String = identity
        .to_ascii_lowercase()
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '-' | '.' => c,
            _ => '-',
        })
        .collect();
    let clean = clean.trim_matches(|c| c == '-' || c == '.');
    format!("{MEMBER_PREFIX}{}", &clean[..clean.len().min(200)])
}

/// Holds this replica's membership Lease and counts the live ones until `halt`; gives the
/// Lease back at the end.
pub fn start(
    cluster: Cluster,
    namespace: String,
    identity: String,
    shares: Arc<Shares>,
    halt: Halt,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let options = LockOptions::for_agent(identity.clone(), None);
        let lock = SetLock::new(&cluster, &member_name(&identity), &namespace, options);
        if let Err(e) = lock.take(&cluster, &halt).await {
            tracing::warn!(error = %e, "cannot hold this replica's membership Lease: leading every set it can");
        }
        let leases = cluster.leases(&namespace);
        let retake = std::time::Duration::from_secs(5);
        let group = format!(
            "{}.",
            member_name(identity.split('.').next().unwrap_or_default())
        );
        loop {
            // Lost (the server was gone for longer than the Lease): hold it again.
            if lock.check().is_err() {
                lock.release().await;
                let _ = tokio::time::timeout(retake, lock.take(&cluster, &halt)).await;
            }
            if let Ok(all) = leases.list().await {
                let now = Timestamp::now().as_second();
                let live = all.iter().filter(|l| alive(l, &group, now)).count().max(1);
                shares
                    .replicas
                    .send_if_modified(|n| std::mem::replace(n, live) != live);
            }
            tokio::select! {
                _ = tokio::time::sleep(COUNT_EVERY) => {}
                _ = halt.halted() => break,
            }
        }
        lock.release().await;
    })
}

/// A membership Lease of `group` (`driftless-replica-<hash>`) held and renewed lately.
fn alive(lease: &k8s_openapi::api::coordination::v1::Lease, group: &str, now: i64) -> bool {
    let named = lease
        .metadata
        .name
        .as_deref()
        .is_some_and(|n| n.starts_with(group));
    let spec = lease.spec.as_ref();
    let held = spec
        .and_then(|s| s.holder_identity.as_deref())
        .is_some_and(|h| !h.is_empty());
    let renewed = spec
        .and_then(|s| s.renew_time.as_ref())
        .map(|t| t.0.as_second());
    named && held && renewed.is_some_and(|r| now - r <= ALIVE_FOR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_replica_leads_its_share_and_yields_the_rest_by_name() {
        let shares = Shares::new(6);
        shares.replicas.send_replace(3);
        assert_eq!(shares.share(), 2);
        for set in ["a", "b", "c"] {
            shares.leading(set, true);
        }
        assert!(!shares.may_take());
        assert!(shares.should_yield("c") && !shares.should_yield("a") && !shares.should_yield("b"));
        shares.leading("c", false);
        assert!(!shares.may_take() && !shares.should_yield("b"));
        // A replica died: the share grows, and it may take one more.
        shares.replicas.send_replace(2);
        assert_eq!(shares.share(), 3);
        assert!(shares.may_take());
        // Alone, it leads everything.
        shares.replicas.send_replace(1);
        assert_eq!(shares.share(), 6);
    }

    #[test]
    fn a_membership_lease_is_named_from_the_identity() {
        assert_eq!(
            member_name("driftless-7c9f-x2"),
            "driftless-replica-driftless-7c9f-x2"
        );
        assert_eq!(
            member_name("agent@Host:42"),
            "driftless-replica-agent-host-42"
        );
    }
}
