//! The order objects are applied in: what others depend on goes first.
//!
//! Namespaces and CRDs form their own first phase (their dependants cannot even be dry-run before
//! they exist); the rest follow in an order close to Helm's install order and kubectl's.

use crate::render::ObjectId;
use crate::render::lifecycle::{Lifecycle, Phase};

/// Where an object goes in its namespace, before its kind's order: pre-sync hooks (by weight),
/// then the waves (sync hooks at their wave), then post-sync hooks (by weight). Sync-fail hooks
/// come last, and only when the namespace failed. Each stage is applied and healthy before
/// the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    Pre(i64),
    Wave(i64),
    Post(i64),
    Fail(i64),
}

impl Stage {
    pub fn of(lifecycle: &Lifecycle) -> Stage {
        match lifecycle.hook {
            None => Stage::Wave(lifecycle.wave),
            Some(hook) => match hook.phase {
                Phase::Pre => Stage::Pre(hook.weight),
                Phase::Sync => Stage::Wave(hook.weight),
                Phase::Post => Stage::Post(hook.weight),
                Phase::Fail => Stage::Fail(hook.weight),
            },
        }
    }

    /// Where most objects are: wave 0, no hooks around.
    pub fn is_plain(self) -> bool {
        self == Stage::Wave(0)
    }

    /// `pre-sync hooks (weight -5)`, `wave 2`: for report lines.
    pub fn label(self) -> String {
        match self {
            Stage::Pre(w) => format!("pre-sync hook, weight {w}"),
            Stage::Wave(w) => format!("wave {w}"),
            Stage::Post(w) => format!("post-sync hook, weight {w}"),
            Stage::Fail(w) => format!("sync-fail hook, weight {w}"),
        }
    }
}

/// Kinds in apply order; unknown kinds (custom resources) go after all of these but before
/// webhooks, which could otherwise reject the very objects they depend on.
const ORDER: &[(&str, &str)] = &[
    ("", "Namespace"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("", "ResourceQuota"),
    ("", "LimitRange"),
    ("policy", "PodSecurityPolicy"),
    ("policy", "PodDisruptionBudget"),
    ("", "ServiceAccount"),
    ("", "Secret"),
    ("", "ConfigMap"),
    ("storage.k8s.io", "StorageClass"),
    ("", "PersistentVolume"),
    ("", "PersistentVolumeClaim"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "RoleBinding"),
    ("", "Service"),
    ("apps", "DaemonSet"),
    ("", "Pod"),
    ("", "ReplicationController"),
    ("apps", "ReplicaSet"),
    ("apps", "Deployment"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("apps", "StatefulSet"),
    ("batch", "Job"),
    ("batch", "CronJob"),
    ("networking.k8s.io", "IngressClass"),
    ("networking.k8s.io", "Ingress"),
    ("extensions", "Ingress"),
    ("apiregistration.k8s.io", "APIService"),
];
const LATE: &[(&str, &str)] = &[
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
];

/// The apply rank of a kind: lower goes first.
pub fn rank(group: &str, kind: &str) -> usize {
    let is = |&(g, k): &(&str, &str)| g == group && k == kind;
    if let Some(i) = ORDER.iter().position(is) {
        return i;
    }
    match LATE.iter().position(is) {
        Some(i) => ORDER.len() + 1 + i,
        None => ORDER.len(),
    }
}

/// True for the kinds of the first phase: Namespaces and CRDs.
pub fn is_foundation(id: &ObjectId) -> bool {
    rank(&id.group, &id.kind) < 2
}

/// Sort key for apply order: rank, then namespace, kind and name; group and version last, so
/// two different objects never tie (`a.example.com` and `b.example.com` Widgets of one name) and
/// the order never depends on the order the objects came in.
pub fn apply_key(id: &ObjectId) -> (usize, NameKey<'_>) {
    (rank(&id.group, &id.kind), name_key(id))
}

/// [`apply_key`] after the rank: namespace, kind, name, group, version.
pub type NameKey<'a> = (Option<&'a str>, &'a str, &'a str, &'a str, &'a str);

/// The part of [`apply_key`] after the rank, for a sort that has the ranks already.
pub fn name_key(id: &ObjectId) -> NameKey<'_> {
    (
        id.namespace.as_deref(),
        &id.kind,
        &id.name,
        &id.group,
        &id.version,
    )
}

/// Splits items (already sorted by rank) into waves of equal rank, in order: each wave may run
/// in parallel, and a wave starts only when the one before it is done.
pub fn waves<T>(items: Vec<T>, id: impl Fn(&T) -> &ObjectId) -> Vec<Vec<T>> {
    let mut waves: Vec<Vec<T>> = Vec::new();
    let mut current_rank = None;
    for item in items {
        let rank = rank(&id(&item).group, &id(&item).kind);
        match waves.last_mut() {
            Some(wave) if current_rank == Some(rank) => wave.push(item),
            _ => waves.push(vec![item]),
        }
        current_rank = Some(rank);
    }
    waves
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_and_crds_first_webhooks_last() {
        let mut ids = [
            (
                "admissionregistration.k8s.io/v1",
                "ValidatingWebhookConfiguration",
                "v",
            ),
            ("example.com/v1", "Widget", "w"),
            ("apps/v1", "Deployment", "d"),
            ("v1", "ConfigMap", "c"),
            ("apiextensions.k8s.io/v1", "CustomResourceDefinition", "crd"),
            ("v1", "Namespace", "ns"),
            ("v1", "Secret", "s"),
        ]
        .map(|(api_version, kind, name)| ObjectId::for_test(api_version, kind, None, name));
        ids.sort_by(|a, b| apply_key(a).cmp(&apply_key(b)));
        let kinds: Vec<_> = ids.iter().map(|i| i.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "Namespace",
                "CustomResourceDefinition",
                "Secret",
                "ConfigMap",
                "Deployment",
                "Widget",
                "ValidatingWebhookConfiguration"
            ]
        );
    }

    #[test]
    fn objects_differing_only_in_group_or_version_never_tie() {
        let a = ObjectId::for_test("a.example.com/v1", "Widget", None, "w");
        let b = ObjectId::for_test("b.example.com/v1", "Widget", None, "w");
        let v2 = ObjectId::for_test("a.example.com/v2", "Widget", None, "w");
        assert_ne!(apply_key(&a), apply_key(&b));
        assert_ne!(apply_key(&a), apply_key(&v2));
        let sorted = |mut ids: Vec<ObjectId>| {
            ids.sort_by(|x, y| apply_key(x).cmp(&apply_key(y)));
            ids
        };
        assert_eq!(
            sorted(vec![a.clone(), b.clone(), v2.clone()]),
            sorted(vec![v2, b, a])
        );
    }

    #[test]
    fn waves_group_equal_ranks_in_order() {
        let ids = [
            ObjectId::for_test("v1", "ConfigMap", None, "a"),
            ObjectId::for_test("v1", "ConfigMap", None, "b"),
            ObjectId::for_test("apps/v1", "Deployment", None, "d"),
            ObjectId::for_test("v1", "ConfigMap", None, "c"),
        ];
        let waves = waves(ids.iter().collect(), |i| i);
        let names: Vec<Vec<&str>> = waves
            .iter()
            .map(|w| w.iter().map(|i| i.name.as_str()).collect())
            .collect();
        assert_eq!(names, [vec!["a", "b"], vec!["d"], vec!["c"]]);
    }

    #[test]
    fn foundation_is_namespaces_and_crds_only() {
        for (api_version, kind, foundation) in [
            ("v1", "Namespace", true),
            ("apiextensions.k8s.io/v1", "CustomResourceDefinition", true),
            ("v1", "ConfigMap", false),
            ("example.com/v1", "Namespace", false),
        ] {
            let id = ObjectId::for_test(api_version, kind, None, "a");
            assert_eq!(is_foundation(&id), foundation, "{id}");
        }
    }
}
