//! The discovery cache: which kinds the server serves, and how.
//!
//! Discovery tolerates groups that fail (an aggregated API whose backend is down, a CRD deleted
//! between listing and reading its group), as kubectl does: their kinds are unknown, with the
//! reason kept for the error message, and everything else works.

use std::collections::HashMap;

use futures::{StreamExt, stream};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList;
use kube::Client;
use kube::discovery::{Discovery, Scope};

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
    /// Runs discovery: aggregated (one request, Kubernetes 1.26+) first; servers without it
    /// answer with nothing (1.20 returns zero groups, not an error), so an empty or failed result
    /// falls back to the classic per-group endpoints.
    /// Every request follows `flow` (timeouts, retries, throttling) like any other; a server
    /// that does not answer at all is not asked again the classic way.
    pub async fn discover(client: &Client, flow: &Flow) -> Result<Catalog> {
        let aggregated = flow
            .call("discovery", Op::Read, || async {
                Ok(Discovery::new(client.clone()).run_aggregated().await?)
            })
            .await;
        match aggregated {
            Ok(d) if d.groups().next().is_some() => Ok(Catalog::from_discovery(&d)),
            Err(e) if e.no_answer.is_some() => Err(fatal(flow, "GET /api", e)),
            _ => Catalog::classic(client, flow).await,
        }
    }

    fn from_discovery(discovery: &Discovery) -> Catalog {
        let mut catalog = Catalog::default();
        for group in discovery.groups() {
            for version in group.versions() {
                for (ar, caps) in group.versioned_resources(version) {
                    let listable = caps.supports_operation("list");
                    let info = KindInfo {
                        group: ar.group,
                        version: ar.version,
                        kind: ar.kind,
                        plural: ar.plural,
                        namespaced: matches!(caps.scope, Scope::Namespaced),
                        served: true,
                    };
                    catalog.insert(info, listable);
                }
            }
        }
        catalog
    }

    async fn classic(client: &Client, flow: &Flow) -> Result<Catalog> {
        let core = flow
            .call("discovery (GET /api)", Op::Read, || async {
                Ok(client.list_core_api_versions().await?)
            })
            .await
            .map_err(|e| fatal(flow, "GET /api", e))?;
        let groups = flow
            .call("discovery (GET /apis)", Op::Read, || async {
                Ok(client.list_api_groups().await?)
            })
            .await
            .map_err(|e| fatal(flow, "GET /apis", e))?;
        let mut versions: Vec<String> = core.versions;
        for group in groups.groups {
            versions.extend(group.versions.into_iter().map(|v| v.group_version));
        }
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
            .buffer_unordered(8)
            .collect()
            .await;
        let mut catalog = Catalog::default();
        for (gv, list) in lists {
            match list {
                Ok(list) => catalog.insert_list(&gv, list),
                Err(e) => {
                    let reason = e.to_string();
                    tracing::warn!(group_version = %gv, %reason, "discovery failed for this group; its kinds are unknown");
                    catalog.unavailable.push((gv, reason));
                }
            }
        }
        Ok(catalog)
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
}
