//! The agent at rest, under drift and under failover, on the generated 1,000-object corpus: its
//! resident memory once synced with its watches open, the API requests it makes per idle
//! interval (from the server's audit log, by its identity, Lease traffic apart), how long a
//! `kubectl edit` takes to become a `DriftDetected` Event, and how long a standby takes to lead
//! after the leader is killed with SIGKILL.
//!
//!   cargo bench --bench agent                              # 1,000 objects in 10 namespaces
//!   DRIFTLESS_BENCH_INTERVAL=30 DRIFTLESS_BENCH_FAILOVERS=5 cargo bench --bench agent
//!   DRIFTLESS_BENCH_CORPUS=10000x10 DRIFTLESS_BENCH_SOURCE=dir cargo bench --bench agent
//!
//! `DRIFTLESS_BENCH_CORPUS` is objects x namespaces; `DRIFTLESS_BENCH_SOURCE=dir` reads the
//! corpus as a directory instead of a Git repository.
//!
//! It starts a control plane of its own with `scripts/kube-testenv` (no node: the agent runs as a
//! process here); run nothing else meanwhile.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "cluster.rs"]
mod cluster;
#[path = "corpus.rs"]
mod corpus;

use cluster::{by_resource, entries, identity, machine, mark, repo};

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SET: &str = "bench";

/// (objects, namespaces) of the corpus: `DRIFTLESS_BENCH_CORPUS`, 1000x10 by default.
fn corpus_size() -> (usize, usize) {
    std::env::var("DRIFTLESS_BENCH_CORPUS")
        .ok()
        .and_then(|v| {
            let (n, ns) = v.split_once('x')?;
            Some((n.parse().ok()?, ns.parse().ok()?))
        })
        .unwrap_or((1000, 10))
}

struct ControlPlane {
    dir: PathBuf,
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        let _ = Command::new(repo().join("scripts/kube-testenv"))
            .args(["down", &self.dir.to_string_lossy()])
            .status();
    }
}

struct Agent {
    child: Child,
    port: u16,
    name: String,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let interval = env_number("DRIFTLESS_BENCH_INTERVAL", 30);
    let failovers = env_number("DRIFTLESS_BENCH_FAILOVERS", 5) as usize;
    let bin = cluster::build_driftless();

    let dir = std::env::temp_dir().join(format!("driftless-bench-agent-{}", std::process::id()));
    let up = Command::new(repo().join("scripts/kube-testenv"))
        .args(["up", &dir.to_string_lossy()])
        .status()
        .unwrap();
    assert!(up.success(), "start the control plane");
    let plane = ControlPlane { dir: dir.clone() };
    let audit = dir.join("logs/audit.log");
    let (kubeconfig, user) = identity(&dir.join("kubeconfig"), &dir, "bench-agent");
    let directory = std::env::var("DRIFTLESS_BENCH_SOURCE").is_ok_and(|s| s == "dir");
    let config = source(&dir, interval, directory);
    let (objects, namespaces) = corpus_size();
    println!("machine: {}", machine());
    println!(
        "corpus: {objects} objects in {namespaces} namespaces, {} kinds, from a {}; interval {interval}s",
        corpus::KINDS.len(),
        if directory {
            "directory"
        } else {
            "Git repository"
        }
    );

    let mut leader = Agent::start(&bin, &kubeconfig, &config, &dir, "agent-a");
    let synced = Instant::now();
    wait_for(Duration::from_secs(300), || applied(&leader));
    println!(
        "first sync: {:.1}s from start",
        synced.elapsed().as_secs_f64()
    );

    idle(&leader, &audit, &user, interval);
    drift(&dir.join("kubeconfig"), &leader);
    // The standbys run as an identity of their own, so their requests can be told apart.
    let (standby_kubeconfig, standby_user) =
        identity(&dir.join("kubeconfig"), &dir, "bench-standby");
    standing_by(
        &bin,
        &standby_kubeconfig,
        &config,
        &dir,
        &audit,
        &standby_user,
        interval,
    );
    failover(&bin, &kubeconfig, &config, &dir, &mut leader, failovers);
    drop(leader);
    drop(plane);
}

/// The corpus as a Git repository (or a directory), and an agent config with one pruning set
/// reading it.
fn source(dir: &Path, interval: u64, directory: bool) -> PathBuf {
    let tree = dir.join("repo");
    let (objects, namespaces) = corpus_size();
    corpus::write(&tree, "bench", namespaces, objects / namespaces, "v1");
    let source = if directory {
        format!("directory: '{}'", tree.display())
    } else {
        git_repository(&tree);
        format!("git: {{url: 'file://{}', revision: main}}", tree.display())
    };
    let config = dir.join("agent.yaml");
    let text = format!(
        "apiVersion: driftless.dev/v1alpha1\nkind: AgentConfig\nsets:\n  - name: {SET}\n    \
         source:\n      {source}\n    interval: {interval}s\n    prune: {{enabled: true}}\n"
    );
    std::fs::write(&config, text).unwrap();
    config
}

/// Makes `tree` a Git repository of one commit on `main`.
fn git_repository(tree: &Path) {
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .arg("-C")
            .arg(tree)
            .args(["-c", "user.name=bench", "-c", "user.email=bench@localhost"])
            .args(args)
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "."]);
    git(&["commit", "-qm", "corpus"]);
}

impl Agent {
    fn start(bin: &Path, kubeconfig: &Path, config: &Path, dir: &Path, name: &str) -> Agent {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
        let child = Command::new(bin)
            .env("KUBECONFIG", kubeconfig)
            // As deploy/ runs it.
            .env("MALLOC_ARENA_MAX", "2")
            .env_remove("RUST_LOG")
            .args(["--log-format", "json", "agent", "--config"])
            .arg(config)
            .args(["--listen", &format!("127.0.0.1:{port}"), "--identity", name])
            .arg("--cache-dir")
            .arg(dir.join(format!("{name}-cache")))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        Agent {
            child,
            port,
            name: name.into(),
        }
    }

    fn get(&self, path: &str) -> Option<String> {
        use std::io::{Read, Write};
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
        let mut raw = String::new();
        stream.read_to_string(&mut raw).ok()?;
        let (head, body) = raw.split_once("\r\n\r\n")?;
        head.contains(" 200 ").then(|| body.to_string())
    }

    /// `driftless_is_leader{set}` from `/metrics`.
    fn leading(&self) -> bool {
        self.get("/metrics").is_some_and(|m| {
            m.lines()
                .any(|l| l.starts_with("driftless_is_leader{") && l.ends_with(" 1"))
        })
    }

    /// (VmRSS, VmHWM) in KiB.
    fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// CPU time used so far (user + system), from /proc/PID/stat.
    fn cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        // Fields after the command name (which may hold spaces) start at ") ".
        let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = [11, 12]
            .iter()
            .filter_map(|i| fields.get(*i)?.parse::<u64>().ok())
            .sum();
        // USER_HZ is 100 on Linux.
        Duration::from_millis(ticks * 10)
    }
}

/// The set's last pass succeeded on the repository's head.
fn applied(agent: &Agent) -> bool {
    let Some(report) = agent.get("/report") else {
        return false;
    };
    let report: serde_json::Value = serde_json::from_str(&report).unwrap_or_default();
    let set = &report["sets"][0];
    (set["result"] == "synced" || set["result"] == "unchanged")
        && set["lastAppliedRevision"].is_string()
}

fn wait_for(within: Duration, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(started.elapsed() < within, "not reached within {within:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Memory and requests while nothing changes, over a few intervals.
fn idle(agent: &Agent, audit: &Path, user: &str, interval: u64) {
    const INTERVALS: u64 = 4;
    // The first passes learn which namespaces exist (the first ran before they did): the
    // window opens after two intervals.
    std::thread::sleep(Duration::from_secs(interval * 2));
    let mark = mark(audit);
    let window = Duration::from_secs(interval * INTERVALS);
    let cpu_before = agent.cpu();
    std::thread::sleep(window);
    let cpu = agent.cpu().saturating_sub(cpu_before);
    let (rss, peak) = agent.memory();
    println!(
        "idle CPU: {} ms over {}s ({:.2}% of one core)",
        cpu.as_millis(),
        window.as_secs(),
        cpu.as_secs_f64() * 100.0 / window.as_secs_f64()
    );
    let (throttled, lines): (Vec<_>, Vec<_>) = entries(audit, mark, user)
        .into_iter()
        .partition(|e| e.throttled);
    let leases = lines.iter().filter(|e| e.uri.contains("/leases")).count();
    let other = lines.len() - leases;
    let lists = lines.iter().filter(|e| e.verb == "list").count();
    let writes = lines
        .iter()
        .filter(|e| {
            !e.uri.contains("/leases") && !["get", "list", "watch"].contains(&e.verb.as_str())
        })
        .count();
    let pairs = corpus_size().1 * corpus::KINDS.len() + 1;
    println!(
        "idle over {INTERVALS} intervals of {interval}s: RSS {:.1} MiB (peak {:.1} MiB since start)",
        rss as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    println!(
        "  per interval: {:.1} requests besides the Lease ({:.1} LIST, {:.1} writes; the set has \
         {pairs} (namespace, kind) pairs and the cluster's Namespaces), {:.1} Lease requests; \
         {} throttled in all",
        other as f64 / INTERVALS as f64,
        lists as f64 / INTERVALS as f64,
        writes as f64 / INTERVALS as f64,
        leases as f64 / INTERVALS as f64,
        throttled.len()
    );
    println!(
        "  by verb and last path segment over the window: {:?}",
        by_resource(&lines)
    );
}

/// A standby beside the leader; then, `times` times, SIGKILL the leader and time until the
/// standby leads (its `driftless_is_leader` is 1) and until its first pass as leader is done.
fn failover(
    bin: &Path,
    kubeconfig: &Path,
    config: &Path,
    dir: &Path,
    leader: &mut Agent,
    times: usize,
) {
    if times == 0 {
        return;
    }
    let names = ["agent-a", "agent-b"];
    let mut standby = Agent::start(bin, kubeconfig, config, dir, names[1]);
    let mut leads = Vec::new();
    let mut passes = Vec::new();
    for round in 0..times {
        wait_for(Duration::from_secs(60), || {
            standby.get("/healthz").is_some()
        });
        // A standby that has polled the Lease at least once.
        std::thread::sleep(Duration::from_secs(5));
        assert!(
            leader.leading(),
            "{} leads before round {round}",
            leader.name
        );
        let _ = leader.child.kill();
        let _ = leader.child.wait();
        let killed = Instant::now();
        wait_for(Duration::from_secs(120), || standby.leading());
        leads.push(killed.elapsed().as_secs_f64());
        wait_for(Duration::from_secs(300), || applied(&standby));
        passes.push(killed.elapsed().as_secs_f64());
        let next = if standby.name == names[0] {
            names[1]
        } else {
            names[0]
        };
        let fresh = Agent::start(bin, kubeconfig, config, dir, next);
        *leader = std::mem::replace(&mut standby, fresh);
    }
    let summary = |v: &[f64]| {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        format!(
            "median {:.1}s, max {:.1}s, all {:?}",
            s[s.len() / 2],
            s[s.len() - 1],
            v.iter().map(|x| format!("{x:.1}")).collect::<Vec<_>>()
        )
    };
    println!("failover after SIGKILL of the leader, {times} times:");
    println!("  standby leads: {}", summary(&leads));
    println!("  its first pass done: {}", summary(&passes));
    drop(standby);
}

/// `kubectl edit`s of ConfigMaps, one at a time: how long each takes to show as a
/// `DriftDetected` Event (polled every 20 ms, so each figure is up to 20 ms late).
fn drift(admin: &Path, agent: &Agent) {
    const EDITS: usize = 40;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let latencies = runtime.block_on(async {
        use k8s_openapi::api::core::v1::ConfigMap;
        use k8s_openapi::api::events::v1::Event;
        use kube::api::{Api, ListParams, Patch, PatchParams};
        let config = kube::Config::from_custom_kubeconfig(
            kube::config::Kubeconfig::read_from(admin).unwrap(),
            &Default::default(),
        )
        .await
        .unwrap();
        let client = kube::Client::try_from(config).unwrap();
        let mut latencies = Vec::new();
        let namespaces = corpus_size().1;
        for i in 0..EDITS {
            let ns = format!("bench-{:03}", i % namespaces);
            let name = format!("configmap-{:04}", (i / namespaces) * corpus::KINDS.len());
            let cms = Api::<ConfigMap>::namespaced(client.clone(), &ns);
            let events = Api::<Event>::namespaced(client.clone(), &ns);
            let params = PatchParams {
                field_manager: Some("kubectl-edit".into()),
                ..Default::default()
            };
            let patch = serde_json::json!({"data": {"version": format!("by hand {i}")}});
            let edited = Instant::now();
            cms.patch(&name, &params, &Patch::Merge(&patch))
                .await
                .unwrap_or_else(|e| panic!("edit {ns}/{name}: {e}"));
            loop {
                let list = events.list(&ListParams::default()).await.unwrap();
                let seen = list.items.iter().any(|e| {
                    e.reason.as_deref() == Some("DriftDetected")
                        && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(&name)
                });
                if seen {
                    latencies.push(edited.elapsed().as_secs_f64());
                    break;
                }
                assert!(
                    edited.elapsed() < Duration::from_secs(60),
                    "no DriftDetected for {ns}/{name}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        latencies
    });
    let mut sorted = latencies.clone();
    sorted.sort_by(f64::total_cmp);
    let at =
        |q: f64| sorted[((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1];
    let (rss, _) = agent.memory();
    println!(
        "drift, {EDITS} kubectl edits one at a time: edit to DriftDetected Event p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; RSS after {:.1} MiB",
        at(0.5) * 1000.0,
        at(0.99) * 1000.0,
        sorted[sorted.len() - 1] * 1000.0,
        rss as f64 / 1024.0
    );
}

/// What a standby asks of the API server while the leader is alive, over two intervals.
fn standing_by(
    bin: &Path,
    kubeconfig: &Path,
    config: &Path,
    dir: &Path,
    audit: &Path,
    user: &str,
    interval: u64,
) {
    let standby = Agent::start(bin, kubeconfig, config, dir, "agent-standby");
    wait_for(Duration::from_secs(60), || standby.get("/readyz").is_some());
    std::thread::sleep(Duration::from_secs(2));
    let mark = mark(audit);
    std::thread::sleep(Duration::from_secs(interval * 2));
    let lines = entries(audit, mark, user);
    println!(
        "standby, over 2 intervals of {interval}s: {} requests {:?}",
        lines.len(),
        by_resource(&lines)
    );
    drop(standby);
}
