//! What a check finds: the checks themselves (id, default severity, one-line fix), severities,
//! and one finding on one object.

use std::fmt;
use std::sync::Arc;

use crate::render::{ObjectId, Origin};

/// How bad a finding is. Ordered: `Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// SARIF's level for code scanning alerts.
    pub fn sarif_level(self) -> &'static str {
        match self {
            Severity::Low => "note",
            Severity::Medium => "warning",
            Severity::High | Severity::Critical => "error",
        }
    }

    /// GitHub code scanning's `security-severity` (CVSS-like: its bands are 0.1-3.9 low,
    /// 4-6.9 medium, 7-8.9 high, 9+ critical).
    pub fn score(self) -> &'static str {
        match self {
            Severity::Low => "3.0",
            Severity::Medium => "5.5",
            Severity::High => "8.0",
            Severity::Critical => "9.5",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Severity, String> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.label().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown severity {s:?}: low, medium, high or critical"))
    }
}

/// Every check, by its stable id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Check {
    LatestTag,
    RunAsRoot,
    MissingResources,
    SecretInConfigMap,
    SecretInEnv,
    NoNetworkPolicy,
    ExposedService,
    RbacOverbroad,
    PullPolicy,
    NoBackup,
    PlaintextSecret,
    /// A `driftless.dev/lint-ignore` entry that names no check or gives no reason.
    InvalidSuppression,
}

impl Check {
    pub const ALL: [Check; 12] = [
        Check::LatestTag,
        Check::RunAsRoot,
        Check::MissingResources,
        Check::SecretInConfigMap,
        Check::SecretInEnv,
        Check::NoNetworkPolicy,
        Check::ExposedService,
        Check::RbacOverbroad,
        Check::PullPolicy,
        Check::NoBackup,
        Check::PlaintextSecret,
        Check::InvalidSuppression,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Check::LatestTag => "latest-tag",
            Check::RunAsRoot => "run-as-root",
            Check::MissingResources => "missing-resources",
            Check::SecretInConfigMap => "secret-in-configmap",
            Check::SecretInEnv => "secret-in-env",
            Check::NoNetworkPolicy => "no-network-policy",
            Check::ExposedService => "exposed-service",
            Check::RbacOverbroad => "rbac-overbroad",
            Check::PullPolicy => "pull-policy",
            Check::NoBackup => "no-backup",
            Check::PlaintextSecret => "plaintext-secret",
            Check::InvalidSuppression => "invalid-suppression",
        }
    }

    pub fn from_id(id: &str) -> Option<Check> {
        Check::ALL.into_iter().find(|c| c.id() == id.trim())
    }

    /// The severity a finding gets unless the check says otherwise for it (a privileged
    /// container is critical) or the repository's configuration overrides it.
    pub fn default_severity(self) -> Severity {
        match self {
            Check::LatestTag
            | Check::RunAsRoot
            | Check::SecretInConfigMap
            | Check::SecretInEnv
            | Check::RbacOverbroad
            | Check::PlaintextSecret => Severity::High,
            Check::MissingResources
            | Check::NoNetworkPolicy
            | Check::ExposedService
            | Check::NoBackup
            | Check::InvalidSuppression => Severity::Medium,
            Check::PullPolicy => Severity::Low,
        }
    }

    /// What the check looks for, in one sentence.
    pub fn summary(self) -> &'static str {
        match self {
            Check::LatestTag => "An image has no tag, or the tag `latest`.",
            Check::RunAsRoot => {
                "A container may run as root or with privileges (runAsNonRoot, UID 0, privileged, privilege escalation, added capabilities, host namespaces)."
            }
            Check::MissingResources => {
                "A container has no memory limit, or no CPU or memory request."
            }
            Check::SecretInConfigMap => {
                "A ConfigMap holds a secret: a password- or token-like key with a value, a URL with a password, or a private key."
            }
            Check::SecretInEnv => {
                "A container's env (or args) holds a secret literal: a password- or token-like variable, a URL with a password, or a private key."
            }
            Check::NoNetworkPolicy => "No NetworkPolicy of the source selects a workload's pods.",
            Check::ExposedService => {
                "Something is reachable from outside the cluster: a LoadBalancer or NodePort Service, externalIPs, hostPort or hostNetwork."
            }
            Check::RbacOverbroad => {
                "RBAC grants too much: cluster-admin, wildcards, reading Secrets, exec into pods, escalate, bind or impersonate."
            }
            Check::PullPolicy => "A mutable image tag is pulled without `imagePullPolicy: Always`.",
            Check::NoBackup => {
                "Persistent storage (a PVC, a StatefulSet's volume claims) that no backup covers."
            }
            Check::PlaintextSecret => {
                "A Secret is committed with its values in clear text (base64 is no encryption)."
            }
            Check::InvalidSuppression => {
                "A driftless.dev/lint-ignore entry names no known check or gives no reason."
            }
        }
    }

    /// The one-line fix.
    pub fn fix(self) -> &'static str {
        match self {
            Check::LatestTag => {
                "pin a version tag or a digest (image: repo:1.2.3 or repo@sha256:...)"
            }
            Check::RunAsRoot => {
                "set securityContext runAsNonRoot: true with a non-zero runAsUser, allowPrivilegeEscalation: false, capabilities drop [ALL], no privileged"
            }
            Check::MissingResources => {
                "set resources.requests.cpu, resources.requests.memory and resources.limits.memory (or a LimitRange default)"
            }
            Check::SecretInConfigMap => {
                "move the value into a Secret (from a secret manager) and reference it"
            }
            Check::SecretInEnv => {
                "use env valueFrom.secretKeyRef (or envFrom secretRef) instead of a literal"
            }
            Check::NoNetworkPolicy => {
                "add a NetworkPolicy selecting these pods (a default-deny with podSelector: {} covers the namespace)"
            }
            Check::ExposedService => {
                "use a ClusterIP Service behind an Ingress or gateway; drop hostPort/hostNetwork/externalIPs"
            }
            Check::RbacOverbroad => {
                "grant named verbs on named resources; bind narrower roles than cluster-admin"
            }
            Check::PullPolicy => "set imagePullPolicy: Always, or pin the image by digest",
            Check::NoBackup => {
                "annotate the StatefulSet or PVC driftless.dev/backup: <how it is backed up>, or add a Velero Schedule covering it"
            }
            Check::PlaintextSecret => {
                "commit a SealedSecret or an ExternalSecret (or SOPS-encrypted data) instead"
            }
            Check::InvalidSuppression => {
                "write one `<check-id>: <reason>` per line in driftless.dev/lint-ignore"
            }
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// How a preview's change moves a finding (`diff --base`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Present after the change, not before.
    Added,
    /// Present before the change, gone after it.
    Fixed,
}

impl Change {
    pub fn label(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Fixed => "fixed",
        }
    }
}

/// One finding on one object. The message names keys and fields, never a value that could be
/// secret.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub check: Check,
    pub severity: Severity,
    /// Shared by the object's findings (a large revision has thousands).
    pub object: Arc<ObjectId>,
    pub origin: Arc<Origin>,
    /// The field concerned: `spec.template.spec.containers[0].image`.
    pub path: String,
    pub message: String,
    /// The reason given in the object's `driftless.dev/lint-ignore`, when it suppresses this.
    pub suppressed: Option<String>,
    /// Set in a preview against a base revision.
    pub change: Option<Change>,
}

impl Finding {
    pub(crate) fn new(
        check: Check,
        object: &super::Object,
        path: String,
        message: String,
    ) -> Finding {
        Finding {
            check,
            severity: check.default_severity(),
            object: object.id.clone(),
            origin: object.origin.clone(),
            path,
            message,
            suppressed: None,
            change: None,
        }
    }

    pub fn with_severity(mut self, severity: Severity) -> Finding {
        self.severity = severity;
        self
    }

    /// Counts towards `--fail-on`: not suppressed, and not one the change fixed.
    pub fn active(&self) -> bool {
        self.suppressed.is_none() && self.change != Some(Change::Fixed)
    }

    /// What makes two revisions' findings the same one: the check, the object, the field.
    pub fn key(&self) -> (Check, (&str, &str, Option<&str>, &str), &str) {
        (self.check, self.object.key(), &self.path)
    }

    pub fn fix(&self) -> &'static str {
        self.check.fix()
    }
}
