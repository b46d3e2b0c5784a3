//! Leases (`coordination.k8s.io/v1`): read, create and replace with the resourceVersion as a
//! precondition, so two writers can never both win. What a Lease means is decided above.

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, PostParams};

use super::retry::retrying;
use super::{ApiFailure, Cluster};

/// The Leases of one namespace. Owned and cheap to clone, for a background renewer.
#[derive(Clone)]
pub struct Leases {
    api: Api<Lease>,
    field_manager: String,
}

impl Cluster {
    pub fn leases(&self, namespace: &str) -> Leases {
        Leases {
            api: Api::namespaced(self.client.clone(), namespace),
            field_manager: self.field_manager.clone(),
        }
    }
}

impl Leases {
    pub async fn get(&self, name: &str) -> Result<Option<Lease>, ApiFailure> {
        retrying("get lease", || async { Ok(self.api.get_opt(name).await?) }).await
    }

    /// Creates the Lease; fails with 409 AlreadyExists when someone else created it first.
    /// Not retried: a lost answer must not turn into a second attempt that looks like a race.
    pub async fn create(&self, lease: &Lease) -> Result<Lease, ApiFailure> {
        Ok(self.api.create(&self.params(), lease).await?)
    }

    /// Replaces the Lease; `lease.metadata.resourceVersion` must still be current, or this
    /// fails with 409 Conflict.
    pub async fn replace(&self, lease: &Lease) -> Result<Lease, ApiFailure> {
        let name = lease.metadata.name.clone().unwrap_or_default();
        Ok(self.api.replace(&name, &self.params(), lease).await?)
    }

    fn params(&self) -> PostParams {
        PostParams {
            field_manager: Some(self.field_manager.clone()),
            ..PostParams::default()
        }
    }
}
