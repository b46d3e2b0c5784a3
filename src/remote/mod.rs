//! Fetching from outside the source: charts from Helm repositories and OCI registries, and OCI
//! artifacts of manifests. Only hosts the set names are asked, with the set's credentials
//! (never shown: see [`crate::redact`]), within the fetch deadline and the size cap; archives
//! are unpacked in memory under the same path rules as a source, verified by digest and cached
//! by it.

pub mod archive;
mod artifact;
mod chart;
mod client;
pub mod constraint;
pub mod docker_config;
pub mod index;
mod options;
mod store;

pub use artifact::{Artifact, FLUX_LAYER, OCI_LAYER, reference};
pub use chart::{Chart, ChartRef};
pub use client::{Remote, sha256};
pub use oci_client::Reference;
pub use options::{HostAuth, RemoteOptions, default_cache_dir, default_registry_config, host_of};

/// Why a fetch failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RemoteError {
    #[error("{0}")]
    Failed(String),
    /// The network could not be used: offline, no connection, no answer in time. A preview
    /// goes on without what it could not fetch.
    #[error("{0}")]
    Unreachable(String),
}

pub type Result<T> = std::result::Result<T, RemoteError>;

impl RemoteError {
    pub fn new(reason: impl Into<String>) -> RemoteError {
        RemoteError::Failed(reason.into())
    }

    /// The same error, said of `what` (a chart, an artifact).
    pub fn context(self, what: &str) -> RemoteError {
        match self {
            RemoteError::Failed(reason) => RemoteError::Failed(format!("{what}: {reason}")),
            RemoteError::Unreachable(reason) => {
                RemoteError::Unreachable(format!("{what}: {reason}"))
            }
        }
    }

    pub fn unreachable(&self) -> bool {
        matches!(self, RemoteError::Unreachable(_))
    }
}
