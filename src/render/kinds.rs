//! Which kinds are namespaced, without a cluster to ask: a built-in table of Kubernetes' own
//! kinds and of common add-ons' custom kinds, plus the CRDs of either revision. A
//! [`KindLookup`] like discovery, for the offline preview and lint.

use super::{KindInfo, KindLookup, Manifest, crd_kinds};

/// (API group, kind, namespaced). Matched on group and kind, whatever the version.
const BUILTIN: &[(&str, &str, bool)] = &[
    ("", "Binding", true),
    ("", "ConfigMap", true),
    ("", "Endpoints", true),
    ("", "Event", true),
    ("", "LimitRange", true),
    ("", "PersistentVolumeClaim", true),
    ("", "Pod", true),
    ("", "PodTemplate", true),
    ("", "ReplicationController", true),
    ("", "ResourceQuota", true),
    ("", "Secret", true),
    ("", "Service", true),
    ("", "ServiceAccount", true),
    ("", "ComponentStatus", false),
    ("", "Namespace", false),
    ("", "Node", false),
    ("", "PersistentVolume", false),
    ("apps", "ControllerRevision", true),
    ("apps", "DaemonSet", true),
    ("apps", "Deployment", true),
    ("apps", "ReplicaSet", true),
    ("apps", "StatefulSet", true),
    ("batch", "CronJob", true),
    ("batch", "Job", true),
    ("autoscaling", "HorizontalPodAutoscaler", true),
    ("policy", "PodDisruptionBudget", true),
    ("policy", "PodSecurityPolicy", false),
    ("networking.k8s.io", "Ingress", true),
    ("networking.k8s.io", "NetworkPolicy", true),
    ("networking.k8s.io", "IngressClass", false),
    ("discovery.k8s.io", "EndpointSlice", true),
    ("events.k8s.io", "Event", true),
    ("coordination.k8s.io", "Lease", true),
    ("rbac.authorization.k8s.io", "Role", true),
    ("rbac.authorization.k8s.io", "RoleBinding", true),
    ("rbac.authorization.k8s.io", "ClusterRole", false),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding", false),
    ("storage.k8s.io", "CSIStorageCapacity", true),
    ("storage.k8s.io", "CSIDriver", false),
    ("storage.k8s.io", "CSINode", false),
    ("storage.k8s.io", "StorageClass", false),
    ("storage.k8s.io", "VolumeAttachment", false),
    ("apiextensions.k8s.io", "CustomResourceDefinition", false),
    ("apiregistration.k8s.io", "APIService", false),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicy",
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
        false,
    ),
    ("certificates.k8s.io", "CertificateSigningRequest", false),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema", false),
    (
        "flowcontrol.apiserver.k8s.io",
        "PriorityLevelConfiguration",
        false,
    ),
    ("node.k8s.io", "RuntimeClass", false),
    ("scheduling.k8s.io", "PriorityClass", false),
    // Common add-ons, whose CRDs usually live in another repository.
    ("argoproj.io", "Application", true),
    ("argoproj.io", "Rollout", true),
    ("bitnami.com", "SealedSecret", true),
    ("cert-manager.io", "Certificate", true),
    ("cert-manager.io", "Issuer", true),
    ("cert-manager.io", "ClusterIssuer", false),
    ("cilium.io", "CiliumNetworkPolicy", true),
    ("cilium.io", "CiliumClusterwideNetworkPolicy", false),
    ("external-secrets.io", "ExternalSecret", true),
    ("external-secrets.io", "SecretStore", true),
    ("external-secrets.io", "ClusterSecretStore", false),
    ("gateway.networking.k8s.io", "HTTPRoute", true),
    ("gateway.networking.k8s.io", "Gateway", true),
    ("gateway.networking.k8s.io", "GatewayClass", false),
    ("k8up.io", "Schedule", true),
    ("monitoring.coreos.com", "PodMonitor", true),
    ("monitoring.coreos.com", "PrometheusRule", true),
    ("monitoring.coreos.com", "ServiceMonitor", true),
    ("velero.io", "Backup", true),
    ("velero.io", "Schedule", true),
];

/// Whether the built-in table knows `kind` of `group`, and if it is namespaced.
pub fn builtin_namespaced(group: &str, kind: &str) -> Option<bool> {
    BUILTIN
        .iter()
        .find(|(g, k, _)| *g == group && *k == kind)
        .map(|(_, _, namespaced)| *namespaced)
}

/// The built-in table and the CRDs of the revisions compared.
pub struct OfflineKinds {
    crds: Vec<KindInfo>,
}

impl OfflineKinds {
    pub fn new<'a>(revisions: impl IntoIterator<Item = &'a [Manifest]>) -> OfflineKinds {
        OfflineKinds {
            crds: revisions.into_iter().flat_map(crd_kinds).collect(),
        }
    }
}

impl KindLookup for OfflineKinds {
    fn lookup(&self, group: &str, version: &str, kind: &str) -> Option<KindInfo> {
        let info = |namespaced: bool| KindInfo {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
            plural: format!("{}s", kind.to_ascii_lowercase()),
            namespaced,
            served: false,
        };
        if let Some(namespaced) = builtin_namespaced(group, kind) {
            return Some(info(namespaced));
        }
        self.crds
            .iter()
            .find(|k| k.group == group && k.kind == kind)
            .map(|k| KindInfo {
                version: version.to_string(),
                ..k.clone()
            })
    }
}
