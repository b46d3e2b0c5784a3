//! Where manifests come from. A source yields a [`Snapshot`]: the manifest files of one revision,
//! read into memory in a stable order, so everything after this stage is independent of I/O.

mod dir;

pub use dir::read_dir;

use std::path::PathBuf;

/// One manifest file, with its path relative to the source root (used in every error message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub path: PathBuf,
    pub content: String,
}

/// The manifest files of one revision of a source, sorted by path.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Human-readable name of the source (a directory, later a Git URL without credentials).
    pub origin: String,
    /// The exact revision the files came from, when the source has one (a Git commit).
    pub revision: Option<String>,
    pub files: Vec<SourceFile>,
}

/// File extensions that hold manifests.
pub const MANIFEST_EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];
