//! A control plane of a test's own, for fault tests that kill, freeze and restart etcd and the
//! API server (never the shared one). Torn down when dropped, or when the test process exits.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{client_for, repo_root, unique};

pub struct PrivateCluster {
    pub dir: PathBuf,
    pub kubeconfig: PathBuf,
    pub audit_log: PathBuf,
}

fn testenv(args: &[&str]) -> bool {
    Command::new(repo_root().join("scripts/kube-testenv"))
        .args(args)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

impl PrivateCluster {
    /// `flags`: extra `kube-testenv up` flags (`--throttle`).
    pub fn start(flags: &[&str]) -> PrivateCluster {
        let dir = repo_root().join("target").join(unique("private-cluster"));
        let dir_arg = dir.to_string_lossy().into_owned();
        let pid = std::process::id().to_string();
        let mut args = vec!["up", &dir_arg, "--watch-pid", &pid];
        args.extend_from_slice(flags);
        assert!(
            testenv(&args),
            "a private control plane starts (logs in {dir_arg})"
        );
        PrivateCluster {
            kubeconfig: dir.join("kubeconfig"),
            audit_log: dir.join("logs/audit.log"),
            dir,
        }
    }

    fn dir_arg(&self) -> String {
        self.dir.to_string_lossy().into_owned()
    }

    /// Sends `signal` (`KILL`, `STOP`, `CONT`) to `component` (`etcd`, `kube-apiserver`), at
    /// once: a fault must land while the run is at the step it was meant for.
    pub fn signal(&self, component: &str, signal: &str) {
        let pids = std::fs::read_to_string(self.dir.join("pids")).unwrap_or_default();
        let pid = pids
            .lines()
            .rev()
            .filter_map(|l| l.split_once(' '))
            .find(|(_, name)| *name == component)
            .map(|(pid, _)| pid.to_string())
            .unwrap_or_else(|| panic!("no {component} in {}", self.dir.display()));
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .is_ok_and(|s| s.success());
        assert!(sent, "kill -{signal} {component} ({pid})");
    }

    /// Starts `component` again with its flags, ports and data.
    pub fn restart(&self, component: &str) {
        assert!(testenv(&["restart", &self.dir_arg(), component]));
    }

    /// Waits (up to 90 s) until the API server answers again.
    pub async fn wait_ready(&self) {
        for _ in 0..450 {
            let client = client_for(&self.kubeconfig).await;
            if client.apiserver_version().await.is_ok() {
                let api = kube::Api::<k8s_openapi::api::core::v1::Namespace>::all(client);
                if api.get_opt("default").await.is_ok() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!(
            "the private API server did not come back (logs in {})",
            self.dir.display()
        );
    }

    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        // Frozen processes first get going again, so they can be stopped.
        for component in ["etcd", "kube-apiserver"] {
            let _ = testenv(&["signal", &self.dir_arg(), component, "CONT"]);
        }
        let _ = testenv(&["down", &self.dir_arg()]);
    }
}
