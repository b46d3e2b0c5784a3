//! The real control plane for integration tests, and helpers to drive the `driftless` binary.
//!
//! The cluster, in order of preference:
//! 1. `DRIFTLESS_TEST_KUBECONFIG`: a cluster already running (kind, k3d, or the one
//!    `scripts/test` starts once for the whole run). Tests create only uniquely named
//!    namespaces there.
//! 2. Otherwise this process starts one with `scripts/kube-testenv up`, shared by every test in
//!    the process and torn down when the process exits. As root it gets a node (`--node`) that
//!    runs pods from images imported into it, the driftless binary under test among them.

// First: the modules below use its macros.
#[macro_use]
pub mod asserts;

pub mod agent;
pub mod audit;
pub mod browser;
pub mod charts;
pub mod endpoint;
pub mod git;
pub mod gitops;
pub mod identity;
pub mod private;
pub mod proxy;
pub mod renderers;
pub mod workspace;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

pub use workspace::Workspace;

pub struct TestCluster {
    pub kubeconfig: PathBuf,
    pub controller_manager: bool,
    /// The node that runs pods, if there is one.
    pub node: Option<NodeImages>,
}

/// The images a test node holds. Nothing can be pulled: pods use `imagePullPolicy: Never`.
pub struct NodeImages {
    /// busybox: `httpd -f -p 8080 -h /www` as uid 65534, `/www/ready` for readiness probes.
    pub workload: String,
    /// The driftless binary under test (uid 65532); None if it was not built before the cluster.
    pub driftless: Option<String>,
}

impl NodeImages {
    /// What `kube-testenv up --node` wrote to its env file (`DRIFTLESS_TEST_NODE=1`, ...).
    fn from_env(var: impl Fn(&str) -> Option<String>) -> Option<NodeImages> {
        if var("DRIFTLESS_TEST_NODE").as_deref() != Some("1") {
            return None;
        }
        Some(NodeImages {
            workload: var("DRIFTLESS_TEST_WORKLOAD_IMAGE")?,
            driftless: var("DRIFTLESS_TEST_DRIFTLESS_IMAGE").filter(|image| !image.is_empty()),
        })
    }
}

static CLUSTER: OnceLock<TestCluster> = OnceLock::new();

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The folder a pinned-tools script (`scripts/renderers`, `scripts/sops-tools`) installs into,
/// as it prints it; installs on first call.
pub fn tools_dir(script: &str) -> PathBuf {
    let out = Command::new(repo_root().join(script))
        .output()
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    PathBuf::from(Run::from_output(out).succeeded(script).trim())
}

/// The shared test cluster, started on first use.
pub fn cluster() -> &'static TestCluster {
    CLUSTER.get_or_init(|| {
        if let Ok(path) = std::env::var("DRIFTLESS_TEST_KUBECONFIG") {
            let cm = std::env::var("DRIFTLESS_TEST_CONTROLLER_MANAGER").map_or(true, |v| v != "0");
            return TestCluster {
                kubeconfig: PathBuf::from(path),
                controller_manager: cm,
                node: NodeImages::from_env(|name| std::env::var(name).ok()),
            };
        }
        start_own_cluster()
    })
}

fn start_own_cluster() -> TestCluster {
    // A node needs root (network namespaces, cgroups, mounts); it adds about 5 s to the start.
    let node: &[&str] = if running_as_root() { &["--node"] } else { &[] };
    let binary = ("DRIFTLESS_IMAGE_BINARY", env!("CARGO_BIN_EXE_driftless"));
    let env = start_testenv_with("kube-testenv", node, &[binary], "");
    TestCluster {
        kubeconfig: PathBuf::from(&env["DRIFTLESS_TEST_KUBECONFIG"]),
        controller_manager: env["DRIFTLESS_TEST_CONTROLLER_MANAGER"] == "1",
        node: NodeImages::from_env(|name| env.get(name).cloned()),
    }
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Runs `scripts/SCRIPT up target/SCRIPT-PID --watch-pid PID` (torn down when this process
/// exits) and returns the variables it wrote to its env file.
pub fn start_testenv(script: &str, hint: &str) -> HashMap<String, String> {
    start_testenv_with(script, &[], &[], hint)
}

/// `start_testenv` with more flags for `up` and variables for the script.
pub fn start_testenv_with(
    script: &str,
    args: &[&str],
    env: &[(&str, &str)],
    hint: &str,
) -> HashMap<String, String> {
    let dir = repo_root()
        .join("target")
        .join(format!("{script}-{}", std::process::id()));
    let status = Command::new(repo_root().join("scripts").join(script))
        .arg("up")
        .arg(&dir)
        .args(args)
        .arg("--watch-pid")
        .arg(std::process::id().to_string())
        .envs(env.iter().copied())
        .status()
        .unwrap_or_else(|e| panic!("run scripts/{script}: {e}"));
    assert!(
        status.success(),
        "scripts/{script} up failed (logs in {}){hint}",
        dir.display()
    );
    let text = std::fs::read_to_string(dir.join("env"))
        .unwrap_or_else(|e| panic!("{script} wrote no env file: {e}"));
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// For tests that need garbage collection or namespace termination: loud when skipped.
pub fn require_controller_manager(test: &str) -> bool {
    if !cluster().controller_manager {
        eprintln!("SKIPPED {test}: this cluster runs no kube-controller-manager");
        if std::env::var("CI").is_ok() {
            panic!("{test} needs kube-controller-manager, and CI must run it");
        }
    }
    cluster().controller_manager
}

/// For tests that run pods: loud when skipped, and never skipped in CI.
pub fn require_node(test: &str) -> bool {
    let found = cluster().node.is_some();
    if !found {
        skip_loudly(test, "this cluster has no node holding the test images");
    }
    found
}

/// For tests that run driftless in a pod (`require_node` first).
pub fn require_driftless_image(test: &str) -> bool {
    let found = cluster()
        .node
        .as_ref()
        .is_some_and(|n| n.driftless.is_some());
    if !found {
        skip_loudly(
            test,
            "the node has no driftless image (build driftless first)",
        );
    }
    found
}

fn skip_loudly(test: &str, why: &str) {
    eprintln!("SKIPPED {test}: {why}");
    if std::env::var("CI").is_ok() {
        panic!("{test} was skipped in CI: {why}");
    }
}

/// A client for assertions, for the calling test's runtime.
pub async fn client() -> Client {
    client_for(&cluster().kubeconfig).await
}

/// A client for the cluster of `kubeconfig` (a private control plane).
pub async fn client_for(kubeconfig: &Path) -> Client {
    let kubeconfig = Kubeconfig::read_from(kubeconfig).expect("read test kubeconfig");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("test kubeconfig");
    Client::try_from(config).expect("client")
}

/// A name no other test (or earlier run) uses: `{prefix}-{pid}-{n}`.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{:x}{:x}{n}",
        std::process::id() % 4096,
        nanos % 4096
    )
}

/// What a run of the binary (or of another command) produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// A finished command's exit code (-1 if a signal ended it) and output, as text.
    pub fn from_output(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs `command` (`driftless ARGS`) to its end, echoing it, its exit code and its output
    /// to the test's log.
    fn driftless(mut command: Command, args: &[&str]) -> Run {
        let run = Run::from_output(command.output().expect("run driftless"));
        eprintln!(
            "$ driftless {}\n-> exit {}\n{}{}",
            args.join(" "),
            run.code,
            run.stdout,
            run.stderr
        );
        run
    }

    /// The stdout of a run that must succeed; a failed one fails the test with its stderr.
    pub fn succeeded(self, what: impl std::fmt::Display) -> String {
        assert_eq!(self.code, 0, "{what} failed: {}", self.stderr);
        self.stdout
    }

    /// Everything the run printed, for "never printed" assertions.
    pub fn all_output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// The typed reason a JSON report (`--output json`) gives for the object `kind ns/name`.
    pub fn reason_of(&self, kind: &str, namespace: &str, name: &str) -> Option<String> {
        let report: serde_json::Value = serde_json::from_str(&self.stdout).ok()?;
        report["namespaces"]
            .as_array()?
            .iter()
            .flat_map(|ns| ns["objects"].as_array().into_iter().flatten())
            .find(|o| o["kind"] == kind && o["namespace"] == namespace && o["name"] == name)?
            ["reason"]
            .as_str()
            .map(str::to_string)
    }
}

/// Runs `driftless ARGS` on the test cluster.
pub fn driftless(args: &[&str]) -> Run {
    driftless_with_env(args, &[])
}

/// Runs `driftless ARGS` on the test cluster with extra environment variables.
pub fn driftless_with_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    driftless_as(&cluster().kubeconfig, args, env)
}

/// The namespace this test process keeps cluster-scoped inventories in: uniquely named, like
/// every namespace the tests create (a user's own cluster gets no `driftless-system`).
pub fn inventory_namespace() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| unique("dl-inventory"))
}

/// The sync set of runs that name none: one per test process (nextest runs each test in its
/// own), so tests never share a set by accident.
pub fn set_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| unique("set"))
}

/// `driftless ARGS` on the cluster of KUBECONFIG, with this process's set and inventory
/// namespace, ready to run or spawn. The kubeconfig comes from the environment, as a user's
/// would: a flag would be refused where no cluster is used (`render`, `lint`).
pub fn command(kubeconfig: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_driftless"));
    command
        .args(args)
        .env("DRIFTLESS_KUBECONFIG", kubeconfig)
        .env_remove("RUST_LOG")
        // The example's Secrets open with its demo key; never with the user's own keys
        // (~/.config/sops/age/keys.txt). A test's own key, given as a flag, wins.
        .env("SOPS_AGE_KEY_FILE", repo_root().join(DEMO_AGE_KEY))
        .env("XDG_CONFIG_HOME", "/nonexistent/driftless-test-config")
        .env("DRIFTLESS_INVENTORY_NAMESPACE", inventory_namespace())
        .env("DRIFTLESS_NAME", set_name())
        // The pinned renderers, for sources with kustomizations and charts (the example's).
        .env("DRIFTLESS_HELM_BINARY", renderers::helm())
        .env("DRIFTLESS_KUSTOMIZE_BINARY", renderers::kubectl())
        .envs(env.iter().copied());
    command
}

/// Runs `driftless ARGS` on the cluster of KUBECONFIG (another identity, for instance).
pub fn driftless_as(kubeconfig: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    Run::driftless(command(kubeconfig, args, env), args)
}

/// The example's age key (public, for the demo), relative to the repository root.
pub const DEMO_AGE_KEY: &str = "examples/demo-age-key.txt";

/// Runs the pinned `sops` in `dir` with the demo key (and no config of the user's); its stdout.
pub fn demo_sops(dir: &Path, args: &[&str]) -> String {
    static TOOLS: OnceLock<PathBuf> = OnceLock::new();
    let tools = TOOLS.get_or_init(|| tools_dir("scripts/sops-tools"));
    let out = Command::new(tools.join("sops"))
        .args(args)
        .current_dir(dir)
        .env("SOPS_AGE_KEY_FILE", repo_root().join(DEMO_AGE_KEY))
        .env("XDG_CONFIG_HOME", dir)
        .output()
        .expect("run sops");
    Run::from_output(out).succeeded(format!("sops {}", args.join(" ")))
}

/// The demo key's recipient (`age1...`), as its file says.
pub fn demo_recipient() -> String {
    let text = std::fs::read_to_string(repo_root().join(DEMO_AGE_KEY)).expect("the demo key");
    let line = text.lines().find_map(|l| l.strip_prefix("# public key: "));
    line.expect("the demo key's public key").trim().to_string()
}

/// Runs `driftless ARGS` from the repository root with no cluster at all: a kubeconfig that
/// does not exist, no `KUBECONFIG`, no home. Anything that tried to connect would fail.
pub fn offline(args: &[&str]) -> Run {
    offline_with_env(args, &[])
}

/// [`offline`], with extra environment variables.
pub fn offline_with_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let home = tempfile::tempdir().expect("tempdir");
    let mut command = Command::new(env!("CARGO_BIN_EXE_driftless"));
    command
        .current_dir(repo_root())
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("KUBECONFIG")
        .env_remove("SOPS_AGE_KEY_FILE")
        .env_remove("XDG_CONFIG_HOME")
        .env("HOME", home.path())
        // The pinned renderers: the example's chart and overlays render offline too.
        .env("DRIFTLESS_HELM_BINARY", renderers::helm())
        .env("DRIFTLESS_KUSTOMIZE_BINARY", renderers::kubectl())
        .env(
            "DRIFTLESS_KUBECONFIG",
            home.path().join("no-such-kubeconfig"),
        )
        .envs(env.iter().copied());
    Run::driftless(command, args)
}

/// Runs `driftless sync --source DIR EXTRA...`.
pub fn sync(source: &Path, extra: &[&str]) -> Run {
    let source = source.to_string_lossy();
    let mut args = vec!["sync", "--source", &source];
    args.extend_from_slice(extra);
    driftless(&args)
}

/// Runs `driftless diff --source DIR EXTRA...`.
pub fn diff(source: &Path, extra: &[&str]) -> Run {
    let source = source.to_string_lossy();
    let mut args = vec!["diff", "--source", &source];
    args.extend_from_slice(extra);
    driftless(&args)
}

/// Polls `check` every 200 ms for up to 30 s; true as soon as it holds. For what controllers do
/// asynchronously (garbage collection, namespace termination), never for our own speed.
pub async fn eventually<F, Fut>(mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let check = || {
        let fut = check();
        async move { fut.await.then_some(()) }
    };
    poll_until(std::time::Duration::from_secs(30), check)
        .await
        .is_some()
}

/// Polls `check` every 200 ms for up to `timeout`; what it found as soon as it finds something.
pub async fn poll_until<T, F, Fut>(timeout: std::time::Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = std::time::Instant::now();
    loop {
        if let Some(found) = check().await {
            return Some(found);
        }
        if started.elapsed() >= timeout {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Deletes the namespaces a test made; best effort (the test cluster is thrown away anyway,
/// but a user's own cluster is not).
pub async fn delete_namespaces(names: &[String]) {
    let api: Api<Namespace> = Api::all(client().await);
    for name in names {
        let _ = api.delete(name, &DeleteParams::background()).await;
    }
}
