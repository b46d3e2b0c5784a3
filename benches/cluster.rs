//! What the benchmarks share: the repository, the machine, a cluster-admin ServiceAccount to
//! run a tool as, and request counts per identity from the API server's audit log.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Builds `target/release/driftless` and returns its path. The variables cargo sets for a
/// running bench (`CARGO_PKG_NAME`, `CARGO_MANIFEST_DIR`, `OUT_DIR`, ...) are removed first:
/// ring's build script reruns when they change, and with them every crate above it, so a build
/// from inside `cargo bench` would otherwise redo what one from a shell just did (minutes, with
/// the release profile's LTO).
pub fn build_driftless() -> PathBuf {
    let mut cargo = Command::new("cargo");
    cargo.args(["build", "--release", "--bin", "driftless"]);
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let set_for_bench = [
            "CARGO_PKG_",
            "CARGO_MANIFEST_",
            "CARGO_CRATE_",
            "CARGO_BIN_",
        ]
        .iter()
        .any(|p| name.starts_with(p))
            || ["OUT_DIR", "CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR"].contains(&&*name);
        if set_for_bench {
            cargo.env_remove(&*name);
        }
    }
    let built = cargo.current_dir(repo()).status().unwrap();
    assert!(built.success(), "build driftless --release");
    repo().join("target/release/driftless")
}

#[derive(Default, Clone)]
pub struct Requests {
    pub total: usize,
    pub dry_runs: usize,
    pub lists: usize,
    pub gets: usize,
    pub throttled: usize,
}

/// A cluster-admin ServiceAccount (never `system:masters`: the server throttles it like any
/// client) and a kubeconfig with its token.
pub fn identity(admin: &Path, dir: &Path, name: &str) -> (PathBuf, String) {
    let kubectl = |args: &[&str]| {
        let out = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(admin)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    kubectl(&["create", "namespace", name]);
    kubectl(&["-n", name, "create", "serviceaccount", name]);
    let subject = format!("{name}:{name}");
    kubectl(&[
        "create",
        "clusterrolebinding",
        name,
        "--clusterrole=cluster-admin",
        &format!("--serviceaccount={subject}"),
    ]);
    let token = kubectl(&["-n", name, "create", "token", name, "--duration=10h"]);
    let config = std::fs::read_to_string(admin).unwrap();
    let config: String = config
        .lines()
        .map(|l| match l.trim_start().starts_with("token:") {
            true => format!("    token: {token}"),
            false => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let path = dir.join(format!("{name}.kubeconfig"));
    std::fs::write(&path, config).unwrap();
    (path, format!("system:serviceaccount:{name}:{name}"))
}

/// One request the API server answered, from its audit log.
pub struct Entry {
    pub verb: String,
    pub uri: String,
    pub throttled: bool,
}

/// Where the audit log ends now: pass it to [`entries`] or [`count`] to see what comes after.
pub fn mark(log: &Path) -> u64 {
    std::fs::metadata(log).map(|m| m.len()).unwrap_or(0)
}

/// Every request `user` made after byte `from` of the audit log, as answered.
pub fn entries(log: &Path, from: u64, user: &str) -> Vec<Entry> {
    let bytes = std::fs::read(log).unwrap_or_default();
    String::from_utf8_lossy(&bytes[from as usize..])
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["stage"] == "ResponseComplete" && e["user"]["username"] == user)
        .map(|e| Entry {
            verb: e["verb"].as_str().unwrap_or_default().to_string(),
            uri: e["requestURI"].as_str().unwrap_or_default().to_string(),
            throttled: e["responseStatus"]["code"] == 429,
        })
        .collect()
}

pub fn count(log: &Path, from: u64, user: &str) -> Requests {
    let mut r = Requests::default();
    for e in entries(log, from, user) {
        if e.throttled {
            r.throttled += 1;
            continue;
        }
        r.total += 1;
        match e.verb.as_str() {
            "patch" if e.uri.contains("dryRun=All") => r.dry_runs += 1,
            "list" => r.lists += 1,
            "get" => r.gets += 1,
            _ => {}
        }
    }
    r
}

/// Waits, at most `most`, until the controller manager (kube-testenv runs it as `admin`) sends
/// fewer than five requests in two seconds. After a cold sync of 1,000 objects it writes for most
/// of a minute (ReplicaSets, Pods, Endpoints, tokens, Events), on the cores both tools share:
/// the next run would be measured against it. Returns how long it waited.
pub fn wait_quiet(log: &Path, most: std::time::Duration) -> std::time::Duration {
    let started = std::time::Instant::now();
    while started.elapsed() < most {
        let mark = mark(log);
        std::thread::sleep(std::time::Duration::from_secs(2));
        if entries(log, mark, "admin").len() < 5 {
            break;
        }
    }
    started.elapsed()
}

/// Requests counted by verb and the last segment of their path (`list configmaps`).
pub fn by_resource(entries: &[Entry]) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for e in entries {
        let path = e.uri.split('?').next().unwrap_or(&e.uri);
        let resource = path.rsplit('/').find(|s| !s.is_empty()).unwrap_or(path);
        *counts.entry(format!("{} {resource}", e.verb)).or_default() += 1;
    }
    counts
}

pub fn machine() -> String {
    let cpus = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_default();
    format!("{cpus} cores ({model}), API server v1.20.2 on the same machine")
}
