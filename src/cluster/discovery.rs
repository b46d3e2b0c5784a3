//! The discovery cache: which kinds the server serves, and how.
//!
//! Discovery tolerates groups that fail (an aggregated API whose backend is down, a CRD deleted
//! between listing and reading its group), as kubectl does: their kinds are unknown, with the
//! reason kept for the error message, and everything else works.

use std::collections::HashMap;

use futures::{StreamExt, stream};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{APIGroupList, APIResourceList, APIVersions};
use kube::Client;
use kube::client::APIGroupDiscoveryList;
use kube::core::discovery::v2::ACCEPT_AGGREGATED_DISCOVERY_V2;

use super::failure::{NoAnswer, failure};
use super::{ApiFailure, Flow, Op};
use crate::error::{Error, Result};
use crate::render::{KindInfo, KindLookup};

/// Kinds the server serves, keyed by (group, version, kind). Built once per connection and
/// refreshed when this sync establishes new CRDs.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    kinds: HashMap<(String, String, String), KindInfo>,
    /// Kinds that can be listed (most can; reviews and bindings cannot).
    listable: std::collections::HashSet<(String, String, String)>,
    /// Group versions whose discovery failed, with the reason.
    unavailable: Vec<(String, String)>,
}

impl Catalog {
    /// Runs discovery: `/api` and `/apis` at once, asking for aggregated discovery (Kubernetes
    /// 1.26+: the two answers hold every kind) and taking the classic documents a server without
    /// it sends instead (1.20), whose group versions are then read one by one. Every request
    /// follows `flow` (timeouts, retries, throttling) like any other.
    pub async fn discover(client: &Client, flow: &Flow) -> Result<Catalog> {
        let (core, groups) =
            match futures::join!(root(client, flow, "/api"), root(client, flow, "/apis")) {
                (Ok(core), Ok(groups)) => (core, groups),
                (core, groups) => {
                    // Both fail alike when the server does: the failure that says why is reported,
                    // not the "unreachable" the other then met.
                    let failures = [("GET /api", core.err()), ("GET /apis", groups.err())];
                    let (request, e) = failures
                        .into_iter()
                        .filter_map(|(request, e)| Some((request, e?)))
                        .min_by_key(|(_, e)| e.no_answer == Some(NoAnswer::Unreachable))
                        .ok_or_else(|| Error::Discovery("discovery failed".into()))?;
                    return Err(fatal(flow, request, e));
                }
            };
        let mut catalog = Catalog::default();
        let mut versions = Vec::new();
        for root in [core, groups] {
            match root {
                Root::Aggregated(list) => catalog.insert_aggregated(list),
                Root::Core(core) => versions.extend(core.versions),
                Root::Groups(groups) => versions.extend(
                    groups
                        .groups
                        .into_iter()
                        .flat_map(|g| g.versions.into_iter().map(|v| v.group_version)),
                ),
            }
        }
        catalog.read_versions(client, flow, versions).await;
        Ok(catalog)
    }

    /// Each group version's kinds, from its own document (classic discovery), all at once as
    /// kubectl reads them. One that fails leaves its kinds unknown, with the reason.
    async fn read_versions(&mut self, client: &Client, flow: &Flow, versions: Vec<String>) {
        let lists: Vec<(String, Result<APIResourceList, ApiFailure>)> = stream::iter(versions)
            .map(|gv| async move {
                let list = flow
                    .call("discovery", Op::Read, || async {
                        Ok(if gv.contains('/') {
                            client.list_api_group_resources(&gv).await?
                        } else {
                            client.list_core_api_resources(&gv).await?
                        })
                    })
                    .await;
                (gv, list)
            })
            .buffer_unordered(CLASSIC_CONCURRENCY)
            .collect()
            .await;
        for (gv, list) in lists {
            match list {
                Ok(list) => self.insert_list(&gv, list),
                Err(e) => {
                    let reason = e.to_string();
                    tracing::warn!(group_version = %gv, %reason, "discovery failed for this group; its kinds are unknown");
                    self.unavailable.push((gv, reason));
                }
            }
        }
    }

    /// An aggregated document's kinds, every version of every group.
    fn insert_aggregated(&mut self, list: APIGroupDiscoveryList) {
        for group in list.items {
            let name = group.metadata.and_then(|m| m.name).unwrap_or_default();
            for version in group.versions {
                let v = version.version.unwrap_or_default();
                for r in version.resources {
                    let listable = r.verbs.iter().any(|verb| verb == "list");
                    let info = KindInfo {
                        group: name.clone(),
                        version: v.clone(),
                        kind: r.response_kind.and_then(|k| k.kind).unwrap_or_default(),
                        plural: r.resource.unwrap_or_default(),
                        namespaced: r.scope.as_deref() == Some("Namespaced"),
                        served: true,
                    };
                    self.insert(info, listable);
                }
            }
        }
    }

    fn insert_list(&mut self, group_version: &str, list: APIResourceList) {
        let (group, version) = group_version.split_once('/').unwrap_or(("", group_version));
        for r in list.resources {
            // Subresources (`deployments/scale`) are not kinds one applies.
            if r.name.contains('/') {
                continue;
            }
            let listable = r.verbs.iter().any(|v| v == "list");
            let info = KindInfo {
                group: r.group.unwrap_or_else(|| group.to_string()),
                version: r.version.unwrap_or_else(|| version.to_string()),
                kind: r.kind,
                plural: r.name,
                namespaced: r.namespaced,
                served: true,
            };
            self.insert(info, listable);
        }
    }

    fn insert(&mut self, info: KindInfo, listable: bool) {
        let key = (info.group.clone(), info.version.clone(), info.kind.clone());
        if listable {
            self.listable.insert(key.clone());
        }
        self.kinds.insert(key, info);
    }

    /// Every namespaced kind that can be listed, one version each: what a namespace can hold.
    pub fn namespaced_listable(&self) -> Vec<KindInfo> {
        let mut kinds: Vec<&KindInfo> = self
            .kinds
            .iter()
            .filter(|(key, info)| info.namespaced && self.listable.contains(*key))
            .map(|(_, info)| info)
            .collect();
        kinds.sort_by(|a, b| (&a.group, &a.kind, &a.version).cmp(&(&b.group, &b.kind, &b.version)));
        kinds.dedup_by(|a, b| a.group == b.group && a.kind == b.kind);
        kinds.into_iter().cloned().collect()
    }

    /// Any served version of a group and kind (for listing inventory members).
    pub fn lookup_group_kind(&self, group: &str, kind: &str) -> Option<KindInfo> {
        let mut found: Vec<&KindInfo> = self
            .kinds
            .values()
            .filter(|k| k.group == group && k.kind == kind)
            .collect();
        // Deterministic: the same version every time.
        found.sort_by(|a, b| a.version.cmp(&b.version));
        found.first().map(|k| (*k).clone())
    }

    /// Why the kinds of a group version are unknown, when its discovery failed.
    pub fn unavailable_reason(&self, group: &str, version: &str) -> Option<&str> {
        let gv = if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        };
        self.unavailable
            .iter()
            .find(|(g, _)| *g == gv)
            .map(|(_, reason)| reason.as_str())
    }

    /// Why some version of a group is unknown, when its discovery failed: its kinds may exist
    /// without being listable.
    pub fn unavailable_reason_for_group(&self, group: &str) -> Option<&str> {
        self.unavailable
            .iter()
            .find(|(gv, _)| match gv.rsplit_once('/') {
                Some((g, _)) => g == group,
                None => group.is_empty(),
            })
            .map(|(_, reason)| reason.as_str())
    }

    pub fn len(&self) -> usize {
        self.kinds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }
}

/// Group versions read at once in classic discovery: a 1.20 server has about 40, all read in
/// one round (as Go's discovery client does). Over HTTP/2 they share one connection.
const CLASSIC_CONCURRENCY: usize = super::throttle::READS_AT_LEAST;

/// What `/api` or `/apis` answered.
enum Root {
    Aggregated(APIGroupDiscoveryList),
    Core(APIVersions),
    Groups(APIGroupList),
}

/// Reads `/api` or `/apis`, aggregated if the server has it.
async fn root(client: &Client, flow: &Flow, path: &'static str) -> Result<Root, ApiFailure> {
    let text = flow
        .call("discovery", Op::Read, || async {
            let request = http::Request::get(path)
                .header(http::header::ACCEPT, ACCEPT_AGGREGATED_DISCOVERY_V2)
                .body(Vec::new())
                .map_err(|e| failure(e.to_string()))?;
            Ok(client.request_text(request).await?)
        })
        .await?;
    #[derive(serde::Deserialize)]
    struct Kind {
        #[serde(default)]
        kind: String,
    }
    let unreadable = |e: serde_json::Error| failure(format!("unreadable answer: {e}"));
    let kind: Kind = serde_json::from_str(&text).map_err(unreadable)?;
    match (kind.kind.as_str(), path) {
        ("APIGroupDiscoveryList", _) => serde_json::from_str(&text).map(Root::Aggregated),
        ("APIVersions", "/api") => serde_json::from_str(&text).map(Root::Core),
        ("APIGroupList", "/apis") => serde_json::from_str(&text).map(Root::Groups),
        _ => return Err(failure(format!("an answer of kind {:?}", kind.kind))),
    }
    .map_err(unreadable)
}

/// Discovery's failure as the run's error: a server that does not answer, or does not answer as
/// Kubernetes does (a web server's 404 page), cannot be connected to; any other answer (a 403)
/// is a failed discovery.
fn fatal(flow: &Flow, request: &str, e: ApiFailure) -> Error {
    if e.no_answer.is_some() {
        // Names the server already, and what timed out.
        return Error::Connect(e.message);
    }
    let not_a_status = e.reason == NOT_A_STATUS || e.code == 0;
    if e.code != 404 && !not_a_status {
        return Error::Discovery(e.to_string());
    }
    let status = http::StatusCode::from_u16(e.code).ok();
    let answered = match status.and_then(|s| s.canonical_reason()) {
        Some(reason) => format!("{} {reason}", e.code),
        None => "with something that is not Kubernetes discovery".into(),
    };
    Error::Connect(format!(
        "{} does not look like a Kubernetes API server ({request} answered {answered})",
        flow.server()
    ))
}

/// kube's reason for an error answer whose body is not a Kubernetes `Status`.
const NOT_A_STATUS: &str = "Failed to parse error data";

impl KindLookup for Catalog {
    fn lookup(&self, group: &str, version: &str, kind: &str) -> Option<KindInfo> {
        self.kinds
            .get(&(group.to_string(), version.to_string(), kind.to_string()))
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResource;

    fn resource(name: &str, kind: &str, namespaced: bool) -> APIResource {
        APIResource {
            name: name.into(),
            kind: kind.into(),
            namespaced,
            verbs: vec!["get".into(), "list".into()],
            ..Default::default()
        }
    }

    #[test]
    fn lists_become_kinds_without_subresources() {
        let mut catalog = Catalog::default();
        let list = APIResourceList {
            group_version: "apps/v1".into(),
            resources: vec![
                resource("deployments", "Deployment", true),
                resource("deployments/scale", "Scale", true),
            ],
        };
        catalog.insert_list("apps/v1", list);
        catalog.insert_list(
            "v1",
            APIResourceList {
                group_version: "v1".into(),
                resources: vec![resource("namespaces", "Namespace", false)],
            },
        );
        assert_eq!(catalog.len(), 2);
        let d = catalog.lookup("apps", "v1", "Deployment").unwrap();
        assert_eq!((d.plural.as_str(), d.namespaced), ("deployments", true));
        assert!(!catalog.lookup("", "v1", "Namespace").unwrap().namespaced);
        assert!(catalog.lookup("apps", "v1", "Scale").is_none());
        catalog.insert_list(
            "authorization.k8s.io/v1",
            APIResourceList {
                group_version: "authorization.k8s.io/v1".into(),
                resources: vec![APIResource {
                    verbs: vec!["create".into()],
                    ..resource(
                        "localsubjectaccessreviews",
                        "LocalSubjectAccessReview",
                        true,
                    )
                }],
            },
        );
        let listable: Vec<String> = catalog
            .namespaced_listable()
            .into_iter()
            .map(|k| k.kind)
            .collect();
        assert_eq!(listable, ["Deployment"], "namespaced, and listable");
    }

    #[test]
    fn failed_groups_keep_their_reason() {
        let catalog = Catalog {
            unavailable: vec![(
                "metrics.k8s.io/v1beta1".into(),
                "service unavailable (503)".into(),
            )],
            ..Default::default()
        };
        assert_eq!(
            catalog.unavailable_reason("metrics.k8s.io", "v1beta1"),
            Some("service unavailable (503)")
        );
        assert_eq!(catalog.unavailable_reason("apps", "v1"), None);
    }

    /// Aggregated discovery (`apidiscovery.k8s.io/v2`, as a 1.30 server sends it): every
    /// version's kinds with their scope, subresources left out, the core group unnamed.
    #[test]
    fn aggregated_documents_become_kinds() {
        let core = r#"{"kind":"APIGroupDiscoveryList","apiVersion":"apidiscovery.k8s.io/v2",
          "metadata":{},"items":[{"metadata":{"creationTimestamp":null},"versions":[{
            "version":"v1","freshness":"Current","resources":[
              {"resource":"configmaps","responseKind":{"group":"","version":"","kind":"ConfigMap"},
               "scope":"Namespaced","singularResource":"configmap","shortNames":["cm"],
               "verbs":["create","delete","get","list","patch","update","watch"]},
              {"resource":"bindings","responseKind":{"group":"","version":"","kind":"Binding"},
               "scope":"Namespaced","singularResource":"binding","verbs":["create"]},
              {"resource":"namespaces","responseKind":{"group":"","version":"","kind":"Namespace"},
               "scope":"Cluster","singularResource":"namespace","verbs":["get","list"],
               "subresources":[{"subresource":"status","responseKind":{"group":"","version":"",
               "kind":"Namespace"},"verbs":["get","patch"]}]}]}]}]}"#;
        let groups = r#"{"kind":"APIGroupDiscoveryList","apiVersion":"apidiscovery.k8s.io/v2",
          "metadata":{},"items":[{"metadata":{"name":"apps","creationTimestamp":null},"versions":[
            {"version":"v1","freshness":"Current","resources":[
              {"resource":"deployments","responseKind":{"group":"apps","version":"v1","kind":"Deployment"},
               "scope":"Namespaced","singularResource":"deployment","verbs":["get","list","patch"],
               "subresources":[{"subresource":"scale","responseKind":{"group":"autoscaling",
               "version":"v1","kind":"Scale"},"verbs":["get","patch","update"]}]}]}]}]}"#;
        let mut catalog = Catalog::default();
        for text in [core, groups] {
            catalog.insert_aggregated(serde_json::from_str(text).unwrap());
        }
        assert_eq!(catalog.len(), 4);
        let cm = catalog.lookup("", "v1", "ConfigMap").unwrap();
        assert_eq!((cm.plural.as_str(), cm.namespaced), ("configmaps", true));
        assert!(!catalog.lookup("", "v1", "Namespace").unwrap().namespaced);
        let d = catalog.lookup("apps", "v1", "Deployment").unwrap();
        assert_eq!((d.plural.as_str(), d.namespaced), ("deployments", true));
        assert!(catalog.lookup("autoscaling", "v1", "Scale").is_none());
        let listable: Vec<String> = catalog
            .namespaced_listable()
            .into_iter()
            .map(|k| k.kind)
            .collect();
        assert_eq!(
            listable,
            ["ConfigMap", "Deployment"],
            "Binding cannot be listed"
        );
    }
}
