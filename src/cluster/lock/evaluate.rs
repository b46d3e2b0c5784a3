//! Pure: whether a writer takes a set's Lease now, or how long it waits. Expiry is judged as
//! client-go judges it, by how long this process has seen the same record (the same
//! resourceVersion), never by comparing clocks across machines.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use tokio::time::Instant;

use super::{LockOptions, holder_of};

/// A Lease record as this waiter first saw it unchanged, and when.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Observed {
    version: Option<String>,
    since: Instant,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Decision {
    /// Free, expired, or already ours: try to take it.
    Take,
    /// Another writer holds it; it expires in `until_expiry` unless renewed.
    Wait {
        holder: String,
        until_expiry: Duration,
    },
}

/// Looks at the Lease as it is now (`lease`), given what was observed of it before.
pub(super) fn evaluate(
    lease: Option<&Lease>,
    before: Option<&Observed>,
    now: Instant,
    options: &LockOptions,
) -> (Decision, Observed) {
    let version = lease.and_then(|l| l.metadata.resource_version.clone());
    let seen = match before {
        Some(b) if b.version == version => b.clone(),
        // A new record (a renewal, a new holder) restarts the clock.
        _ => Observed {
            version,
            since: now,
        },
    };
    let duration = lease_duration(lease, options);
    let age = now.saturating_duration_since(seen.since);
    let holder = lease.and_then(holder_of);
    let decision = match holder {
        None => Decision::Take,
        Some(h) if h == options.identity => Decision::Take,
        Some(_) if age >= duration => Decision::Take,
        Some(holder) => Decision::Wait {
            holder,
            until_expiry: duration - age + Duration::from_millis(100),
        },
    };
    (decision, seen)
}

/// How long the holder keeps the Lease without renewing it: as the Lease says, else ours.
fn lease_duration(lease: Option<&Lease>, options: &LockOptions) -> Duration {
    lease
        .and_then(|l| l.spec.as_ref())
        .and_then(|s| s.lease_duration_seconds)
        .and_then(|s| u64::try_from(s).ok())
        .map_or(options.lease_duration, Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::coordination::v1::LeaseSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;

    fn lease(holder: Option<&str>, version: &str, seconds: i32) -> Lease {
        Lease {
            metadata: ObjectMeta {
                resource_version: Some(version.into()),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: holder.map(str::to_string),
                lease_duration_seconds: Some(seconds),
                ..LeaseSpec::default()
            }),
        }
    }

    fn options() -> LockOptions {
        LockOptions {
            identity: "me".into(),
            ..LockOptions::for_cli(Duration::from_secs(60))
        }
    }

    #[test]
    fn a_free_or_own_lease_is_taken_at_once() {
        let now = Instant::now();
        for lease in [
            None,
            Some(lease(None, "1", 10)),
            Some(lease(Some("me"), "1", 10)),
        ] {
            let (decision, _) = evaluate(lease.as_ref(), None, now, &options());
            assert_eq!(decision, Decision::Take, "{lease:?}");
        }
    }

    #[test]
    fn a_held_lease_expires_only_when_its_record_stays_the_same_for_its_duration() {
        let t0 = Instant::now();
        let held = lease(Some("other"), "7", 10);
        let (decision, seen) = evaluate(Some(&held), None, t0, &options());
        let Decision::Wait {
            holder,
            until_expiry,
        } = decision
        else {
            panic!("a fresh record is waited on: {decision:?}");
        };
        assert_eq!(holder, "other");
        assert_eq!(until_expiry, Duration::from_millis(10_100));

        let t1 = t0 + Duration::from_secs(6);
        let (decision, seen) = evaluate(Some(&held), Some(&seen), t1, &options());
        assert!(
            matches!(decision, Decision::Wait { until_expiry, .. } if until_expiry == Duration::from_millis(4_100))
        );
        // A renewal (a new resourceVersion) restarts the clock.
        let renewed = lease(Some("other"), "8", 10);
        let t2 = t0 + Duration::from_secs(11);
        let (decision, seen) = evaluate(Some(&renewed), Some(&seen), t2, &options());
        assert!(matches!(decision, Decision::Wait { .. }), "{decision:?}");
        let t3 = t2 + Duration::from_secs(10);
        let (decision, _) = evaluate(Some(&renewed), Some(&seen), t3, &options());
        assert_eq!(
            decision,
            Decision::Take,
            "not renewed for its duration: expired"
        );
    }
}
