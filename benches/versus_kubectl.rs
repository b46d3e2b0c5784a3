//! driftless against kubectl on one API server, in one run: a generated corpus, then, alternating
//! the two tools, a cold sync into fresh namespaces, a no-change diff and a 5%-changed diff; each
//! side's time (median), requests (from the server's audit log, per identity) and peak RSS.
//!
//!   cargo bench --bench versus_kubectl                      # 1,000 objects in 10 namespaces
//!   DRIFTLESS_BENCH_SIZES=1000x10,4000x20 cargo bench --bench versus_kubectl
//!   DRIFTLESS_BENCH_THROTTLE=1 cargo bench --bench versus_kubectl   # a throttling API server
//!   DRIFTLESS_BENCH_RTT_MS=5 cargo bench --bench versus_kubectl     # through a 5 ms RTT proxy
//!
//! `DRIFTLESS_BENCH_RTT_MS` puts a user-space proxy (`latency.rs`) between both tools and the
//! server, delaying every chunk by half the RTT each way. `DRIFTLESS_BENCH_REPEATS=3` runs each
//! case that many times (default: 5, cold syncs 3); times are the median and the best. Each run
//! starts once the controller manager has settled from the one before.
//!
//! Needs `kubectl` on PATH (1.27+ for `diff --concurrency`) and GNU `time` (`/usr/bin/time`).
//! It starts a control plane of its own with `scripts/kube-testenv`; run nothing else meanwhile.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "cluster.rs"]
mod cluster;
#[path = "corpus.rs"]
mod corpus;
#[path = "latency.rs"]
mod latency;

use cluster::{Requests, count, identity, machine, repo};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Runs of each diff and of each cold sync: `DRIFTLESS_BENCH_REPEATS`, else 5 and 3.
fn repeats() -> (usize, usize) {
    match std::env::var("DRIFTLESS_BENCH_REPEATS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(n) => (n, n),
        None => (5, 3),
    }
}

/// One timed run of a command.
struct Sample {
    seconds: f64,
    peak_kib: u64,
    requests: Requests,
}

/// The control plane and the two identities.
struct Bench {
    dir: PathBuf,
    audit: PathBuf,
    driftless: (PathBuf, String),
    kubectl: (PathBuf, String),
}

impl Drop for Bench {
    fn drop(&mut self) {
        let _ = Command::new(repo().join("scripts/kube-testenv"))
            .args(["down", &self.dir.to_string_lossy()])
            .status();
    }
}

fn main() {
    let throttle = std::env::var("DRIFTLESS_BENCH_THROTTLE").is_ok();
    let sizes: Vec<(usize, usize)> = std::env::var("DRIFTLESS_BENCH_SIZES")
        .unwrap_or_else(|_| "1000x10".into())
        .split(',')
        .filter_map(|s| {
            let (n, ns) = s.split_once('x')?;
            Some((n.parse().ok()?, ns.parse().ok()?))
        })
        .collect();
    let bin = cluster::build_driftless();
    let bench = start(throttle);
    println!("machine: {}", machine());
    match std::env::var("DRIFTLESS_BENCH_RTT_MS")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
    {
        Some(rtt) => {
            through_proxy(&bench, Duration::from_secs_f64(rtt / 2000.0));
            println!("network: loopback through a proxy adding {rtt} ms RTT");
        }
        None => println!("network: loopback"),
    }
    println!("kubectl: {}", kubectl_version());
    for (objects, namespaces) in sizes {
        if throttle {
            throttled(&bench, &bin, objects, namespaces);
        } else {
            compare(&bench, &bin, objects, namespaces);
        }
    }
}

fn start(throttle: bool) -> Bench {
    let dir = std::env::temp_dir().join(format!("driftless-bench-{}", std::process::id()));
    let mut args = vec!["up".to_string(), dir.to_string_lossy().into_owned()];
    if throttle {
        args.push("--throttle".into());
    }
    let up = Command::new(repo().join("scripts/kube-testenv"))
        .args(&args)
        .status()
        .unwrap();
    assert!(up.success(), "start the control plane");
    let admin = dir.join("kubeconfig");
    let driftless = identity(&admin, &dir, "bench-driftless");
    let kubectl = identity(&admin, &dir, "bench-kubectl");
    Bench {
        audit: dir.join("logs/audit.log"),
        dir,
        driftless,
        kubectl,
    }
}

/// Points both tools' kubeconfigs at a proxy that delays each chunk by `one_way` each way.
fn through_proxy(bench: &Bench, one_way: Duration) {
    let admin = std::fs::read_to_string(bench.dir.join("kubeconfig")).unwrap();
    let server = admin
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .expect("a server in the kubeconfig")
        .trim()
        .to_string();
    let target: std::net::SocketAddr = server
        .trim_start_matches("https://")
        .parse()
        .expect("an ip:port server");
    let proxy = latency::start(target, one_way);
    for (path, _) in [&bench.driftless, &bench.kubectl] {
        let text = std::fs::read_to_string(path).unwrap();
        let text = text.replace(&server, &format!("https://{proxy}"));
        std::fs::write(path, text).unwrap();
    }
}

/// Runs `cmd` under GNU time; returns the sample and the exit code.
fn measure(bench: &Bench, user: &str, cmd: &mut Command) -> (Sample, i32) {
    let waited = cluster::wait_quiet(&bench.audit, Duration::from_secs(120));
    if waited > Duration::from_secs(3) {
        eprintln!(
            "waited {:.0} s for the controller manager to settle",
            waited.as_secs_f64()
        );
    }
    let mark = cluster::mark(&bench.audit);
    let rss = bench.dir.join("rss");
    let program = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
    let started = Instant::now();
    let out = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&rss)
        .arg(program)
        .args(args)
        .output()
        .expect("GNU time at /usr/bin/time");
    let seconds = started.elapsed().as_secs_f64();
    let _ = std::fs::write(bench.dir.join("stdout"), &out.stdout);
    let peak_kib = std::fs::read_to_string(&rss)
        .ok()
        .and_then(|s| s.lines().last()?.trim().parse().ok())
        .unwrap_or(0);
    // The server logs a request just after answering it: count once the log has settled.
    let mut requests = count(&bench.audit, mark, user);
    for _ in 0..25 {
        std::thread::sleep(Duration::from_millis(200));
        let again = count(&bench.audit, mark, user);
        if again.total + again.throttled == requests.total + requests.throttled {
            break;
        }
        requests = again;
    }
    (
        Sample {
            seconds,
            peak_kib,
            requests,
        },
        out.status.code().unwrap_or(-1),
    )
}

fn driftless(bench: &Bench, bin: &Path, cmd: &str, src: &Path, set: &str) -> Command {
    let mut c = Command::new(bin);
    c.args([cmd, "--source"])
        .arg(src)
        .args([
            "--name",
            set,
            "--inventory-namespace",
            "bench-driftless",
            "--kubeconfig",
        ])
        .arg(&bench.driftless.0)
        .args(["-o", "json"]);
    c
}

fn kubectl(bench: &Bench, args: &[&str], src: &Path) -> Command {
    let mut c = Command::new("kubectl");
    c.arg("--kubeconfig")
        .arg(&bench.kubectl.0)
        .args(args)
        .arg("-R")
        .arg("-f")
        .arg(src);
    c
}

fn compare(bench: &Bench, bin: &Path, objects: usize, namespaces: usize) {
    let per = objects / namespaces;
    println!("\n## {objects} objects in {namespaces} namespaces");
    let mut rows: BTreeMap<&str, (Vec<Sample>, Vec<Sample>)> = BTreeMap::new();
    // Cold syncs, each into fresh namespaces; the last pair's copies are kept for the diffs.
    let (mut d_src, mut k_src) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (runs, cold_runs) = repeats();
    for rep in 0..cold_runs {
        d_src = tempfile::tempdir().unwrap();
        k_src = tempfile::tempdir().unwrap();
        corpus::write(
            d_src.path(),
            &format!("bench-d{objects}-{rep}"),
            namespaces,
            per - 1,
            "v1",
        );
        corpus::write(
            k_src.path(),
            &format!("bench-k{objects}-{rep}"),
            namespaces,
            per - 1,
            "v1",
        );
        let (d, code) = measure(
            bench,
            &bench.driftless.1,
            &mut driftless(
                bench,
                bin,
                "sync",
                d_src.path(),
                &format!("bench-{objects}-{rep}"),
            ),
        );
        assert_eq!(code, 0, "driftless sync");
        let (k, code) = measure(
            bench,
            &bench.kubectl.1,
            &mut kubectl(
                bench,
                &["apply", "--server-side", "--field-manager=kubectl-bench"],
                k_src.path(),
            ),
        );
        assert_eq!(code, 0, "kubectl apply");
        let row = rows.entry("cold sync / apply --server-side").or_default();
        row.0.push(d);
        row.1.push(k);
    }
    let set = format!("bench-{objects}-{}", cold_runs - 1);
    for (label, version) in [("no-change diff", None), ("5% changed diff", Some("v2"))] {
        let mut changed_files = 0;
        if let Some(v) = version {
            changed_files = change_five_percent(d_src.path(), v);
            change_five_percent(k_src.path(), v);
        }
        for _ in 0..runs {
            let (d, code) = measure(
                bench,
                &bench.driftless.1,
                &mut driftless(bench, bin, "diff", d_src.path(), &set),
            );
            assert_eq!(
                code,
                i32::from(version.is_some()),
                "driftless diff exit code"
            );
            let out = std::fs::read_to_string(bench.dir.join("stdout")).unwrap_or_default();
            let report: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
            let changed = report["counts"]["configured"].as_u64().unwrap_or(0) as usize;
            assert_eq!(
                changed, changed_files,
                "driftless reports every changed object"
            );
            let (k, code) = measure(
                bench,
                &bench.kubectl.1,
                &mut kubectl(
                    bench,
                    &[
                        "diff",
                        "--server-side",
                        "--field-manager=kubectl-bench",
                        "--concurrency=8",
                    ],
                    k_src.path(),
                ),
            );
            assert_eq!(code, i32::from(version.is_some()), "kubectl diff exit code");
            let row = rows.entry(label).or_default();
            row.0.push(d);
            row.1.push(k);
        }
    }
    print_table(objects, &rows);
}

/// Changes every 20th object (5% of the corpus); returns how many.
fn change_five_percent(dir: &Path, version: &str) -> usize {
    let mut files: Vec<PathBuf> = walk(dir)
        .into_iter()
        .filter(|p| !p.to_string_lossy().ends_with("namespace.yaml"))
        .collect();
    files.sort();
    for file in files.iter().step_by(20) {
        let text = std::fs::read_to_string(file).unwrap();
        let changed = if text.contains("kind: ConfigMap") || text.contains("kind: Secret") {
            // The ConfigMap's `version: "v1"`, the Secret's `...-v1"`.
            text.replace("v1\"", &format!("{version}\""))
        } else {
            text.replace(
                "kind: ServiceAccount\nmetadata:\n",
                "kind: ServiceAccount\nmetadata:\n  labels:\n    changed: \"yes\"\n",
            )
            .replace("replicas: 1", "replicas: 2")
            .replace("port: 80\n", "port: 81\n")
        };
        std::fs::write(file, changed).unwrap();
    }
    files.len().div_ceil(20)
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    xs[xs.len() / 2]
}

fn print_table(objects: usize, rows: &BTreeMap<&str, (Vec<Sample>, Vec<Sample>)>) {
    println!(
        "| case | driftless | kubectl | ratio | best of each | driftless requests (dry-runs, LISTs, GETs) | kubectl requests | driftless peak RSS | kubectl peak RSS |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (label, (d, k)) in rows {
        let (dt, kt) = (
            median(d.iter().map(|s| s.seconds).collect()),
            median(k.iter().map(|s| s.seconds).collect()),
        );
        let best = |v: &[Sample]| v.iter().map(|s| s.seconds).fold(f64::INFINITY, f64::min);
        let (db, kb) = (best(d), best(k));
        let dr = &d[d.len() - 1].requests;
        let kr = &k[k.len() - 1].requests;
        let dm = d.iter().map(|s| s.peak_kib).max().unwrap_or(0);
        let km = k.iter().map(|s| s.peak_kib).max().unwrap_or(0);
        println!(
            "| {label} | {dt:.2} s | {kt:.2} s | {:.1}x | {db:.2} s / {kb:.2} s: {:.1}x | {} ({}, {}, {}; {:.2}/object) | {} | {:.1} MiB | {:.1} MiB |",
            kt / dt,
            kb / db,
            dr.total,
            dr.dry_runs,
            dr.lists,
            dr.gets,
            dr.total as f64 / objects as f64,
            kr.total,
            dm as f64 / 1024.0,
            km as f64 / 1024.0
        );
    }
}

/// The throttling server: a cold sync of `objects` at `--concurrency 16`, against kubectl.
fn throttled(bench: &Bench, bin: &Path, objects: usize, namespaces: usize) {
    let per = objects / namespaces;
    let (d_src, k_src) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    corpus::write(
        d_src.path(),
        &format!("thr-d{objects}"),
        namespaces,
        per - 1,
        "v1",
    );
    corpus::write(
        k_src.path(),
        &format!("thr-k{objects}"),
        namespaces,
        per - 1,
        "v1",
    );
    let mut sync = driftless(bench, bin, "sync", d_src.path(), "bench-throttled");
    sync.args(["--concurrency", "16"]);
    let (d, code) = measure(bench, &bench.driftless.1, &mut sync);
    let (k, kcode) = measure(
        bench,
        &bench.kubectl.1,
        &mut kubectl(
            bench,
            &["apply", "--server-side", "--field-manager=kubectl-bench"],
            k_src.path(),
        ),
    );
    println!(
        "\n## throttling API server (--max-requests-inflight=1 --max-mutating-requests-inflight=1, APF off), {objects} objects, ServiceAccount identities"
    );
    println!("| tool | exit | time | answered requests | 429s | peak RSS |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (tool, s, c) in [
        ("driftless sync --concurrency 16", &d, code),
        ("kubectl apply --server-side", &k, kcode),
    ] {
        println!(
            "| {tool} | {c} | {:.1} s | {} | {} | {:.1} MiB |",
            s.seconds,
            s.requests.total,
            s.requests.throttled,
            s.peak_kib as f64 / 1024.0
        );
    }
}

fn kubectl_version() -> String {
    Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .unwrap_or_default()
}
