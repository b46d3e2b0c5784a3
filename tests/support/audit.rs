//! Requests counted by the API server itself: its audit log (metadata only), which names the
//! user of every request, so tests running side by side never count each other's.

use std::collections::BTreeMap;
use std::time::Duration;

/// The requests one identity made, by verb (`get`, `list`, `patch`, `create`, ...), and by
/// answer. Dry-run requests are counted apart as `dryrun-<verb>`: they write nothing. Requests
/// the server refused with 429 are counted only in `codes`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Requests {
    pub verbs: BTreeMap<String, usize>,
    pub codes: BTreeMap<u16, usize>,
    /// By resource (`leases`, `configmaps`, ...) and verb: `leases/update`.
    pub resources: BTreeMap<String, usize>,
}

impl Requests {
    /// Requests that wrote (or failed to): create, update, patch, delete.
    pub fn writes(&self) -> usize {
        ["create", "update", "patch", "delete", "deletecollection"]
            .iter()
            .filter_map(|v| self.verbs.get(*v))
            .sum()
    }

    /// Requests the server served (not throttled).
    pub fn total(&self) -> usize {
        self.verbs.values().sum()
    }

    /// Requests answered with anything but 429.
    pub fn answered(&self) -> usize {
        self.codes
            .iter()
            .filter(|(c, _)| **c != 429)
            .map(|(_, n)| n)
            .sum()
    }

    /// Requests other than Lease renewals and long-running watches: what an idle agent must
    /// not send.
    pub fn besides_leases_and_watches(&self) -> BTreeMap<String, usize> {
        self.resources
            .iter()
            .filter(|(key, _)| !key.starts_with("leases/") && !key.ends_with("/watch"))
            .map(|(k, n)| (k.clone(), *n))
            .collect()
    }

    pub fn throttled(&self) -> usize {
        self.codes.get(&429).copied().unwrap_or(0)
    }
}

/// The audit log of the test cluster, or `None` (loudly) when the cluster is a user's own.
pub fn log_path(test: &str) -> Option<std::path::PathBuf> {
    match std::env::var("DRIFTLESS_TEST_AUDIT_LOG") {
        Ok(path) => Some(path.into()),
        Err(_) => {
            eprintln!("SKIPPED {test}: this cluster has no audit log to count requests in");
            assert!(
                std::env::var("CI").is_err(),
                "{test} counts requests, and CI must run it"
            );
            None
        }
    }
}

/// A mark in the log: requests made after it are counted.
pub fn mark(log: &std::path::Path) -> u64 {
    std::fs::metadata(log).map(|m| m.len()).unwrap_or(0)
}

/// Counts `user`'s completed requests logged after `from`, once the log has settled (the
/// server writes an event just after answering).
pub async fn requests_since(log: &std::path::Path, from: u64, user: &str) -> Requests {
    let mut last = None;
    for _ in 0..25 {
        let now = count(log, from, user);
        if last.as_ref() == Some(&now) {
            return now;
        }
        last = Some(now);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    last.unwrap_or_default()
}

fn count(log: &std::path::Path, from: u64, user: &str) -> Requests {
    let bytes = std::fs::read(log).unwrap_or_default();
    let tail = bytes.get(from as usize..).unwrap_or_default();
    let mut requests = Requests::default();
    for line in String::from_utf8_lossy(tail).lines() {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        // An impersonated user's requests are logged under the impersonator, naming it apart.
        let by = |who: &str| event[who]["username"] == user;
        if event["stage"] != "ResponseComplete" || !(by("user") || by("impersonatedUser")) {
            continue;
        }
        let code = event["responseStatus"]["code"].as_u64().unwrap_or(0) as u16;
        *requests.codes.entry(code).or_insert(0) += 1;
        if code == 429 {
            continue;
        }
        let verb = event["verb"].as_str().unwrap_or("?");
        let uri = event["requestURI"].as_str().unwrap_or_default();
        let key = if uri.contains("dryRun=All") {
            format!("dryrun-{verb}")
        } else {
            verb.to_string()
        };
        let resource = event["objectRef"]["resource"].as_str().unwrap_or("-");
        *requests
            .resources
            .entry(format!("{resource}/{key}"))
            .or_insert(0) += 1;
        *requests.verbs.entry(key).or_insert(0) += 1;
    }
    requests
}
