//! Where manifests come from. A source yields a [`Snapshot`]: the manifest files of one revision,
//! read into memory in a stable order, so everything after this stage is independent of I/O.
//!
//! Three kinds: a local directory ([`read_dir`]), a Git repository ([`git`]) and an OCI artifact
//! ([`oci`], unpacked and read as a directory). All apply the same
//! [`filter`]: hidden paths skipped, `.driftlessignore`, include/exclude globs, size limits, and
//! never a file outside the source. Folders that a renderer makes manifests from (a
//! kustomization, a Helm chart: see [`folders`]) are read whole, into [`Snapshot::tree`].

mod dir;
pub mod filter;
pub mod folders;
pub mod git;
mod identity;
pub mod oci;

pub use dir::read_dir;
pub use filter::{FilterSpec, Limits};
pub use folders::{FolderKind, RenderFolder, TreeFile};
pub use identity::SourceId;

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};

/// One manifest file, with its path relative to the source root (used in every error message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub path: PathBuf,
    pub content: String,
}

/// The manifest files of one revision of a source, sorted by path.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Human-readable name of the source (a directory, or a Git URL without credentials).
    pub origin: String,
    /// The exact revision the files came from, when the source has one (a Git commit).
    pub revision: Option<String>,
    /// Plain manifest files (none inside a render folder).
    pub files: Vec<SourceFile>,
    /// Kustomizations and charts, outermost only, sorted by path.
    pub folders: Vec<RenderFolder>,
    /// Every file inside those folders, sorted by path.
    pub tree: Vec<TreeFile>,
}

/// Largest settings file read at a source root (see [`Source::root_file`]).
pub const ROOT_FILE_LIMIT: u64 = 1 << 20;

/// File extensions that hold manifests.
pub const MANIFEST_EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];

/// How much a source may hold and which of its files count.
#[derive(Debug, Clone)]
pub struct SourceOptions {
    pub limits: Limits,
    pub filter: FilterSpec,
    /// How long reading one revision may take (a Git remote that stops answering).
    pub fetch_timeout: Duration,
}

impl Default for SourceOptions {
    fn default() -> Self {
        SourceOptions {
            limits: Limits::default(),
            filter: FilterSpec::default(),
            fetch_timeout: Duration::from_secs(120),
        }
    }
}

/// What one read of a source got.
#[derive(Debug)]
pub struct Read {
    /// `None`: the revision was the one given as already processed.
    pub snapshot: Option<Snapshot>,
    /// Git objects were downloaded (the remote ref moved); `false` for a directory.
    pub downloaded: bool,
}

/// A configured source.
#[derive(Debug, Clone)]
pub enum Source {
    Dir(PathBuf),
    Git(Box<git::GitSource>),
    Oci(Box<oci::OciSource>),
}

impl Source {
    /// `spec` is a Git URL (see [`git::GitUrl::parse`]) or a local path.
    pub fn new(spec: &str, git: impl FnOnce(git::GitUrl) -> git::GitSpec) -> Source {
        match git::GitUrl::parse(spec) {
            Some(url) => Source::Git(Box::new(git::GitSource::new(git(url)))),
            None => Source::Dir(PathBuf::from(spec)),
        }
    }

    /// The source as printed in reports and logs (never with credentials).
    pub fn describe(&self) -> String {
        match self {
            Source::Dir(p) => p.display().to_string(),
            Source::Git(g) => g.describe(),
            Source::Oci(o) => o.describe(),
        }
    }

    /// Reads the current revision. Git work runs on the blocking pool, off the async runtime.
    pub async fn load(&self, options: &SourceOptions) -> Result<Snapshot> {
        match self.load_if_changed(options, None).await? {
            Some(snapshot) => Ok(snapshot),
            None => Err(Error::Source {
                path: PathBuf::from(self.describe()),
                reason: "nothing read".into(),
            }),
        }
    }

    /// Reads the current revision unless it is `last` (Git sources; a directory has no revision
    /// and is always read).
    pub async fn load_if_changed(
        &self,
        options: &SourceOptions,
        last: Option<&str>,
    ) -> Result<Option<Snapshot>> {
        Ok(self.read(options, last).await?.snapshot)
    }

    /// Like [`Source::load_if_changed`], and says whether Git downloaded anything.
    pub async fn read(&self, options: &SourceOptions, last: Option<&str>) -> Result<Read> {
        if let Source::Oci(oci) = self {
            // Bounded by the fetch timeout request by request, and as a whole.
            return oci.read(options, last).await;
        }
        let (source, timeout) = (self.clone(), options.fetch_timeout);
        let (options, last) = (options.clone(), last.map(str::to_string));
        let read = tokio::task::spawn_blocking(move || match &source {
            Source::Dir(path) => Ok(Read {
                snapshot: Some(read_dir(path, &options)?),
                downloaded: false,
            }),
            Source::Git(git) => {
                git.read(&options, last.as_deref())
                    .map(|(snapshot, downloaded)| Read {
                        snapshot,
                        downloaded,
                    })
            }
            Source::Oci(_) => Ok(Read {
                snapshot: None,
                downloaded: false,
            }),
        });
        // libgit2 has no deadline of its own here: a remote that stops answering would hold
        // the run forever. The blocking read is left to end by itself.
        match tokio::time::timeout(timeout, read).await {
            Ok(read) => read.map_err(|e| Error::Source {
                path: PathBuf::from(self.describe()),
                reason: format!("reader failed: {e}"),
            })?,
            Err(_) => Err(Error::Fetch {
                origin: self.describe(),
                reason: format!("no answer within {}s (--fetch-timeout)", timeout.as_secs()),
            }),
        }
    }

    /// A file at the source root that is no manifest (the lint configuration), as of `revision`
    /// (a Git commit already fetched); `None` when there is none.
    pub fn root_file(&self, revision: Option<&str>, name: &str) -> Result<Option<String>> {
        match (self, revision) {
            (Source::Dir(root), _) => {
                let path = root.join(name);
                if !root.is_dir() || !path.is_file() {
                    return Ok(None);
                }
                let fail = |reason: String| Error::Source {
                    path: path.clone(),
                    reason,
                };
                // As for manifests: nothing outside the source is read, and nothing huge.
                let inside = match (path.canonicalize(), root.canonicalize()) {
                    (Ok(file), Ok(root)) => file.starts_with(root),
                    _ => false,
                };
                if !inside {
                    return Err(fail("a symlink that leaves the source".into()));
                }
                let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                if size > ROOT_FILE_LIMIT {
                    return Err(fail(format!("larger than {ROOT_FILE_LIMIT} bytes")));
                }
                std::fs::read_to_string(&path)
                    .map(Some)
                    .map_err(|e| fail(format!("cannot read: {e}")))
            }
            (Source::Git(git), Some(revision)) => git.root_file(revision, name),
            (Source::Git(_), None) => Ok(None),
            // An artifact holds manifests: its settings come from the set.
            (Source::Oci(_), _) => Ok(None),
        }
    }

    /// The revision the cluster last got from this source, when the source tracks one.
    pub fn last_synced(&self) -> Option<String> {
        match self {
            Source::Dir(_) => None,
            Source::Git(g) => g.last_synced(),
            Source::Oci(o) => o.last_synced(),
        }
    }

    /// Records `revision` as synced (Git sources only).
    pub fn record_synced(&self, revision: Option<&str>) -> Result<()> {
        match (self, revision) {
            (Source::Git(g), Some(rev)) => g.record_synced(rev),
            (Source::Oci(o), Some(rev)) => o.record_synced(rev),
            _ => Ok(()),
        }
    }
}
