//! Why a command could not run (it exits 2). The binary shows each with its causes, as
//! `anyhow`'s `{:#}` does: the variants keep the chain the messages had.

use std::io;
use std::path::PathBuf;

use crate::preview::PreviewError;
use crate::render::RenderError;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The flags name something that cannot be used (a credential file that cannot be read,
    /// `--base` on a directory).
    #[error("{0}")]
    Args(String),

    #[error(transparent)]
    Run(#[from] crate::Error),

    #[error(transparent)]
    Preview(#[from] PreviewError),

    /// `driftless render` of a Git revision: which one does not render.
    #[error("revision {revision} of {origin} does not render")]
    NotRendered {
        revision: String,
        origin: String,
        #[source]
        source: RenderError,
    },

    /// stdout failed (other than a reader that left), or signals could not be watched.
    #[error(transparent)]
    Io(#[from] io::Error),

    /// The whole report could not be written where `--report-file` says. The cause is part of
    /// the message, not a source: it is said once.
    #[error("cannot write --report-file {}: {reason}", .path.display())]
    ReportFile { path: PathBuf, reason: io::Error },
}
