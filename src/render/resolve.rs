//! Manifests plus API discovery into the desired set: each object gets its resource, its scope and
//! its namespace.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::object::split_api_version;
use super::{Manifest, ObjectId, Origin, RenderError, RenderIssue};

/// What the API server (or a CRD in the same set) says about a kind.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KindInfo {
    pub group: String,
    pub version: String,
    pub kind: String,
    /// The resource name in URLs (`deployments`).
    pub plural: String,
    pub namespaced: bool,
    /// False when the kind is only known from a CRD in the desired set that the server does not
    /// serve yet: such objects can be neither dry-run nor applied before the CRD is Established.
    pub served: bool,
}

/// Answers "which resource is this kind?". Implemented by the discovery cache; tests use maps.
pub trait KindLookup {
    fn lookup(&self, group: &str, version: &str, kind: &str) -> Option<KindInfo>;
}

/// One object to be made true on the cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredObject {
    pub id: ObjectId,
    /// `None` when neither the server nor a CRD in the set knows the kind: the object fails
    /// (in its namespace only) when planned.
    pub kind: Option<Arc<KindInfo>>,
    /// The manifest as written, with `metadata.namespace` set for namespaced kinds.
    pub manifest: super::Body,
    pub origin: Origin,
    /// Read from a SOPS file: decrypted, or sealed (no key).
    pub sops: Option<super::Sops>,
}

impl DesiredObject {
    /// How it lives across releases (annotations checked when it was rendered).
    pub fn lifecycle(&self) -> super::lifecycle::Lifecycle {
        // Most objects say nothing of it: no need to parse them.
        let raw = self.manifest.as_str();
        if !super::lifecycle::KEYS.iter().any(|k| raw.contains(k)) {
            return super::lifecycle::Lifecycle::default();
        }
        super::lifecycle::Lifecycle::of(&self.manifest.value()).unwrap_or_default()
    }

    /// An object that runs to an end and is not restarted: a Job, or a bare Pod that does not
    /// restart always. Once it ran for its manifest, its deletion (a TTL, a cleanup) is no
    /// drift, and it is not run again until its manifest changes.
    pub fn runs_once(&self) -> bool {
        let id = &self.id;
        match (id.group.as_str(), id.kind.as_str()) {
            ("batch", "Job") => true,
            ("", "Pod") => {
                let policy = self.manifest.value()["spec"]["restartPolicy"].clone();
                matches!(policy.as_str(), Some("Never" | "OnFailure"))
            }
            _ => false,
        }
    }
}

/// The resolved desired state of one revision, in source order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DesiredSet {
    pub objects: Vec<DesiredObject>,
}

/// Resolves every manifest (taking them: the desired set is the one copy kept). `default_namespace`
/// is used for namespaced kinds that name none.
pub fn resolve(
    manifests: Vec<Manifest>,
    lookup: &dyn KindLookup,
    default_namespace: Option<&str>,
) -> Result<DesiredSet, RenderError> {
    let crds = CrdKinds::from_manifests(&manifests);
    let mut issues = Vec::new();
    let mut seen = Seen::default();
    let mut objects = Vec::with_capacity(manifests.len());
    // One KindInfo per kind, shared by its objects (thousands of one kind are common).
    let mut kinds: HashMap<(String, String, String), Option<Arc<KindInfo>>> = HashMap::new();
    for m in manifests {
        let (group, version) = split_api_version(m.api_version());
        let kind = kinds
            .entry((group.to_string(), version.to_string(), m.kind().to_string()))
            .or_insert_with(|| {
                lookup
                    .lookup(group, version, m.kind())
                    .or_else(|| crds.lookup(group, version, m.kind()))
                    .map(Arc::new)
            })
            .clone();
        let namespace = match namespace_of(&m, kind.as_deref(), default_namespace) {
            Ok(namespace) => namespace,
            Err(issue) => {
                issues.push(issue);
                continue;
            }
        };
        let id = ObjectId {
            group: group.to_string(),
            version: version.to_string(),
            kind: m.kind().to_string(),
            namespace,
            name: m.name().to_string(),
        };
        if let Some(issue) = seen.again(&id, &m.origin) {
            issues.push(issue);
            continue;
        }
        let manifest = with_namespace(m.body, m.namespace.as_deref(), id.namespace.as_deref());
        objects.push(DesiredObject {
            id,
            kind,
            manifest,
            origin: m.origin,
            sops: m.sops,
        });
    }
    if issues.is_empty() {
        Ok(DesiredSet { objects })
    } else {
        Err(RenderError { issues })
    }
}

/// The object's namespace: none for a cluster-scoped kind; its own, else the default, for a
/// namespaced one (which must have one) or a kind nobody knows.
fn namespace_of(
    m: &Manifest,
    kind: Option<&KindInfo>,
    default_namespace: Option<&str>,
) -> Result<Option<String>, RenderIssue> {
    match kind {
        Some(k) if !k.namespaced => Ok(None),
        Some(_) => match m.namespace().or(default_namespace) {
            Some(ns) => Ok(Some(ns.to_string())),
            None => Err(RenderIssue {
                origin: m.origin.clone(),
                object: Some(m.describe()),
                reason: format!(
                    "{} is namespaced but names no namespace: set metadata.namespace or pass --namespace",
                    m.kind()
                ),
            }),
        },
        None => Ok(m.namespace().or(default_namespace).map(str::to_string)),
    }
}

/// Where each object (by group, kind, namespace and name: not version) was first defined.
#[derive(Default)]
struct Seen(HashMap<(String, String, Option<String>, String), Origin>);

impl Seen {
    /// The issue of an object defined a second time; the first time, records where.
    fn again(&mut self, id: &ObjectId, origin: &Origin) -> Option<RenderIssue> {
        let key = (
            id.group.clone(),
            id.kind.clone(),
            id.namespace.clone(),
            id.name.clone(),
        );
        if let Some(first) = self.0.get(&key) {
            return Some(RenderIssue {
                origin: origin.clone(),
                object: Some(id.to_string()),
                reason: format!("defined twice: first at {first}"),
            });
        }
        self.0.insert(key, origin.clone());
        None
    }
}

/// The manifest with the namespace as resolved: defaulted, or dropped from a cluster-scoped
/// object. `written`: what its metadata.namespace said.
fn with_namespace(
    mut manifest: super::Body,
    written: Option<&str>,
    resolved: Option<&str>,
) -> super::Body {
    if written == resolved {
        return manifest;
    }
    manifest.edit(|v| {
        if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            match resolved {
                Some(ns) => {
                    meta.insert("namespace".into(), Value::String(ns.to_string()));
                }
                None => {
                    meta.remove("namespace");
                }
            }
        }
    });
    manifest
}

/// Looks up again the kinds a CRD of the set itself defined, once discovery serves them (after
/// the sync established the CRDs).
pub fn refresh_kinds(objects: &mut [std::sync::Arc<DesiredObject>], lookup: &dyn KindLookup) {
    for o in objects.iter_mut() {
        if o.kind.as_ref().is_some_and(|k| k.served) {
            continue;
        }
        let id = &o.id;
        if let Some(kind) = lookup.lookup(&id.group, &id.version, &id.kind) {
            std::sync::Arc::make_mut(o).kind = Some(Arc::new(kind));
        }
    }
}

/// The kinds the CustomResourceDefinitions among `manifests` define (`served: false`): what
/// an offline preview knows of custom kinds.
pub fn crd_kinds(manifests: &[Manifest]) -> Vec<KindInfo> {
    CrdKinds::from_manifests(manifests).0
}

/// Kinds defined by CustomResourceDefinitions in the desired set itself.
struct CrdKinds(Vec<KindInfo>);

impl CrdKinds {
    fn from_manifests(manifests: &[Manifest]) -> Self {
        let mut kinds = Vec::new();
        for m in manifests {
            let (group, _) = split_api_version(m.api_version());
            if group != "apiextensions.k8s.io" || m.kind() != "CustomResourceDefinition" {
                continue;
            }
            let object = m.value();
            let spec = &object["spec"];
            let (Some(g), Some(kind), Some(plural)) = (
                spec["group"].as_str(),
                spec["names"]["kind"].as_str(),
                spec["names"]["plural"].as_str(),
            ) else {
                continue;
            };
            let namespaced = spec["scope"].as_str() != Some("Cluster");
            let mut versions: Vec<&str> = spec["versions"]
                .as_array()
                .map(|vs| vs.iter().filter_map(|v| v["name"].as_str()).collect())
                .unwrap_or_default();
            versions.extend(spec["version"].as_str());
            for version in versions {
                kinds.push(KindInfo {
                    group: g.to_string(),
                    version: version.to_string(),
                    kind: kind.to_string(),
                    plural: plural.to_string(),
                    namespaced,
                    served: false,
                });
            }
        }
        CrdKinds(kinds)
    }
}

impl KindLookup for CrdKinds {
    fn lookup(&self, group: &str, version: &str, kind: &str) -> Option<KindInfo> {
        self.0
            .iter()
            .find(|k| k.group == group && k.version == version && k.kind == kind)
            .cloned()
    }
}
