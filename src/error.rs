//! One error type for the library, with a variant per stage of the flow.

use std::path::PathBuf;

/// Errors that stop a whole run. Per-object failures (a 422, a conflict) are not errors of the
/// run: they are recorded in the [`crate::report::Report`] and fail only their namespace.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("source {path}: {reason}")]
    Source { path: PathBuf, reason: String },

    #[error(transparent)]
    Render(#[from] crate::render::RenderError),

    #[error("cannot connect to the cluster: {0}")]
    Connect(String),

    #[error("API discovery failed: {0}")]
    Discovery(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A short, stable label for metrics and logs.
    pub fn stage(&self) -> &'static str {
        match self {
            Error::Source { .. } => "source",
            Error::Render(_) => "render",
            Error::Connect(_) => "connect",
            Error::Discovery(_) => "discovery",
        }
    }
}
