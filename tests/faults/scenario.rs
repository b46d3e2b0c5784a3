//! A fault scenario: a corpus synced step after step, each step a sync that meets one fault, and
//! what must hold after each (the four checks of every case).

use std::fmt;
use std::time::Duration;

use super::corpus::{Corpus, assert_converged, config_map_versions};
use super::harness::{Faulted, Interrupted, error_lines, interrupted_line, run_with_fault, signal};
use crate::support::private::PrivateCluster;
use crate::support::{self, driftless_as};

/// What gets a signal, and which one.
#[derive(Clone, Copy)]
pub enum Fault {
    /// A component of the private control plane (`etcd`, `kube-apiserver`). Once the run ended
    /// it is restarted (after `KILL`) or continued (after `STOP`).
    ControlPlane(&'static str, &'static str),
    /// The driftless run itself.
    Driftless(&'static str),
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::ControlPlane(component, sig) => write!(f, "SIG{sig} to {component}"),
            Fault::Driftless(sig) => write!(f, "SIG{sig} to driftless"),
        }
    }
}

/// Log lines a fault lands at.
pub const APPLIED: &str = ": applied ";
pub const PRUNING: &str = ": pruning ";
pub const PRUNED: &str = ": pruned ";

/// One `sync --source DIR --prune FLAGS` that meets a fault, and what must hold after it.
#[derive(Clone, Copy)]
pub struct Step {
    /// Before the run, Git moves every object to this version...
    pub version: Option<&'static str>,
    /// ... then drops this many ConfigMaps.
    pub drop: usize,
    pub flags: &'static [&'static str],
    pub fault: Fault,
    /// The log line the fault lands at.
    pub at: &'static str,
    pub code: i32,
    /// The run ends within this many seconds of the fault.
    pub within: Option<u64>,
    /// What the report (stdout) says.
    pub says: Option<&'static str>,
    /// The one error line of the log, for one cause.
    pub error: Option<&'static str>,
    /// Checks the `interrupted: A applied, P pruned, N not attempted` line, given how many
    /// ConfigMaps were dropped.
    pub interrupted: Option<fn(Interrupted, usize)>,
    /// The next run converges before the next step (the last step always converges).
    pub converge: bool,
}

/// A step with nothing but its fault to set: `Step { fault, ..STEP }`.
pub const STEP: Step = Step {
    version: None,
    drop: 0,
    flags: &[],
    fault: Fault::Driftless("KILL"),
    at: APPLIED,
    code: 2,
    within: None,
    says: None,
    error: None,
    interrupted: None,
    converge: true,
};

/// Runs `steps` on `corpus`, in `cluster` (whose components a step may fault) or else in the
/// shared cluster (only driftless itself faulted, the corpus's namespaces deleted at the end).
/// `synced`: a plain sync succeeds first.
pub async fn run(cluster: Option<&PrivateCluster>, corpus: &Corpus, synced: bool, steps: &[Step]) {
    let kc = cluster.map_or_else(
        || support::cluster().kubeconfig.clone(),
        |c| c.kubeconfig().to_path_buf(),
    );
    let src = corpus.path();
    if synced {
        let sync = driftless_as(&kc, &["sync", "--source", &src, "--prune"], &[]);
        assert_eq!(sync.code, 0, "{}", sync.stderr);
    }
    let mut version = "v1";
    for (i, step) in steps.iter().enumerate() {
        if let Some(next) = step.version {
            corpus.write(next);
            version = next;
        }
        let dropped = corpus.drop_config_maps(step.drop);
        let mut args = vec!["sync", "--source", &src, "--prune"];
        args.extend_from_slice(step.flags);
        let faulted = run_with_fault(&kc, &args, step.at, |pid| match step.fault {
            Fault::ControlPlane(component, sig) => private(cluster).signal(component, sig),
            Fault::Driftless(sig) => signal(pid, sig),
        });
        step.check(&faulted, dropped.len());
        if let Fault::ControlPlane(component, sig) = step.fault {
            let cluster = private(cluster);
            match sig {
                "STOP" => cluster.signal(component, "CONT"),
                _ => cluster.restart(component),
            }
            cluster.wait_ready().await;
        }
        if step.converge || i + 1 == steps.len() {
            assert_converged(&kc, corpus, version).await;
            let live = config_map_versions(&kc, corpus).await;
            for name in dropped {
                assert!(!live.iter().any(|(n, _)| *n == name), "{name} is gone");
            }
        }
    }
    if cluster.is_none() {
        support::delete_namespaces(&corpus.namespaces()).await;
    }
}

fn private(cluster: Option<&PrivateCluster>) -> &PrivateCluster {
    cluster.expect("a control-plane fault needs a private control plane")
}

impl Step {
    /// The run ended as it must: its exit code, in time, its report and log.
    fn check(&self, faulted: &Faulted, dropped: usize) {
        let run = &faulted.run;
        let fault = self.fault;
        assert_eq!(run.code, self.code, "exit code after {fault}");
        if let Some(within) = self.within {
            assert!(
                faulted.after_fault < Duration::from_secs(within),
                "ended {:?} after {fault}",
                faulted.after_fault
            );
        }
        if let Some(says) = self.says {
            assert_contains!(run.stdout, says);
        }
        if let Some(cause) = self.error {
            let errors = error_lines(run);
            assert_eq!(errors.len(), 1, "one line for the cause: {errors:#?}");
            assert_contains!(errors[0], cause);
        }
        if let Some(check) = self.interrupted {
            check(interrupted_line(run), dropped);
        }
    }
}
