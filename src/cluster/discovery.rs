//! The discovery cache: which kinds the server serves, and how.

use std::collections::HashMap;

use kube::Client;
use kube::discovery::{Discovery, Scope};

use crate::error::{Error, Result};
use crate::render::{KindInfo, KindLookup};

/// Kinds the server serves, keyed by (group, version, kind). Built once per connection and
/// refreshed when this sync establishes new CRDs.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    kinds: HashMap<(String, String, String), KindInfo>,
}

impl Catalog {
    /// Runs discovery. Aggregated discovery (one request, 1.26+) first; servers without it
    /// answer with nothing (1.20 returns zero groups, not an error), so an empty or failed
    /// result falls back to the classic per-group endpoints.
    pub async fn discover(client: &Client) -> Result<Catalog> {
        let aggregated = Discovery::new(client.clone()).run_aggregated().await;
        let discovery = match aggregated {
            Ok(d) if d.groups().next().is_some() => d,
            Ok(_) | Err(_) => {
                tracing::debug!("aggregated discovery unavailable, using classic discovery");
                Discovery::new(client.clone())
                    .run()
                    .await
                    .map_err(|e| Error::Discovery(e.to_string()))?
            }
        };
        let mut kinds = HashMap::new();
        for group in discovery.groups() {
            for version in group.versions() {
                for (ar, caps) in group.versioned_resources(version) {
                    let info = KindInfo {
                        group: ar.group.clone(),
                        version: ar.version.clone(),
                        kind: ar.kind.clone(),
                        plural: ar.plural.clone(),
                        namespaced: matches!(caps.scope, Scope::Namespaced),
                        served: true,
                    };
                    kinds.insert((ar.group, ar.version, ar.kind), info);
                }
            }
        }
        tracing::debug!(kinds = kinds.len(), "discovery done");
        Ok(Catalog { kinds })
    }

    pub fn len(&self) -> usize {
        self.kinds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }
}

impl KindLookup for Catalog {
    fn lookup(&self, group: &str, version: &str, kind: &str) -> Option<KindInfo> {
        self.kinds
            .get(&(group.to_string(), version.to_string(), kind.to_string()))
            .cloned()
    }
}
