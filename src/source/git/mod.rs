//! A Git repository as a source: fetch exactly one revision into a local cache, read its tree.
//!
//! One bare cache repository per source URL; later runs fetch incrementally, only the wanted ref,
//! shallow where the transport allows it. A pinned commit that is already cached needs no
//! network at all.

mod auth;
pub mod known_hosts;
mod tree;
mod url;

pub use auth::{GitAuth, SecretText};
pub use url::{GitUrl, Transport, redact};

use std::path::{Path, PathBuf};

use git2::{AutotagOption, Direction, FetchOptions, Oid, Repository};
use sha2::{Digest, Sha256};

use super::{Snapshot, SourceOptions};
use crate::error::{Error, Result};

const TARGET_REF: &str = "refs/driftless/target";
const STATE_FILE: &str = "driftless-last-synced";

/// Where and what to fetch.
#[derive(Debug, Clone)]
pub struct GitSpec {
    pub url: GitUrl,
    /// Branch, tag, or full/short commit SHA; `None`: the remote's default branch.
    pub revision: Option<String>,
    /// Directory inside the repository holding the manifests.
    pub path: String,
    pub auth: GitAuth,
    pub cache_dir: PathBuf,
}

#[derive(Debug, Clone)]
pub struct GitSource {
    spec: GitSpec,
    repo_dir: PathBuf,
}

impl GitSource {
    pub fn new(spec: GitSpec) -> GitSource {
        let repo_dir = spec.cache_dir.join(cache_name(&spec.url));
        GitSource { spec, repo_dir }
    }

    pub fn url(&self) -> &GitUrl {
        &self.spec.url
    }

    /// The folder inside the repository that holds the manifests.
    pub fn path(&self) -> &str {
        &self.spec.path
    }

    /// The bare repository this source caches into.
    pub fn cache_dir(&self) -> &Path {
        &self.repo_dir
    }

    /// The source as printed everywhere: URL without credentials, and the path.
    pub fn describe(&self) -> String {
        match self.spec.path.trim_matches('/') {
            "" => self.spec.url.redacted(),
            path => format!("{} (path {path})", self.spec.url.redacted()),
        }
    }

    /// Fetches the revision and reads its manifests. Blocking: run it off the async runtime.
    pub fn fetch(&self, options: &SourceOptions) -> Result<Snapshot> {
        self.fetch_if_changed(options, None)?
            .ok_or_else(|| self.fail("nothing fetched"))
    }

    /// Like [`GitSource::fetch`], but returns `None` without reading the tree when the revision
    /// resolves to `last`: an unchanged commit needs no re-render.
    pub fn fetch_if_changed(
        &self,
        options: &SourceOptions,
        last: Option<&str>,
    ) -> Result<Option<Snapshot>> {
        self.read(options, last).map(|(snapshot, _)| snapshot)
    }

    /// The revision's manifests unless it is `last`, and whether objects were downloaded (a
    /// remote ref that did not move costs one ref listing, no fetch).
    pub fn read(
        &self,
        options: &SourceOptions,
        last: Option<&str>,
    ) -> Result<(Option<Snapshot>, bool)> {
        let subpath = tree::check_subpath(&self.spec.path).map_err(|e| self.fail(e.reason))?;
        // Two runs sharing a cache (two CI jobs) take turns: git's own ref locks fail at once.
        let turn = self.cache_turn(options.fetch_timeout)?;
        let repo = self.open_cache()?;
        let (oid, downloaded) = self.resolve(&repo)?;
        drop(turn);
        if last == Some(oid.to_string().as_str()) {
            return Ok((None, downloaded));
        }
        let commit = repo.find_commit(oid).map_err(|e| self.fail(e.message()))?;
        let tree = commit.tree().map_err(|e| self.fail(e.message()))?;
        let read =
            tree::read_commit(&repo, &tree, &subpath, options).map_err(|e| Error::Source {
                path: PathBuf::from(format!(
                    "{}@{}:{}",
                    self.spec.url.redacted(),
                    short(oid),
                    e.path.display()
                )),
                reason: e.reason,
            })?;
        tracing::debug!(source = %self.describe(), revision = %oid, files = read.files.len(), folders = read.folders.len(), downloaded, "read");
        let snapshot = Snapshot {
            origin: self.describe(),
            revision: Some(oid.to_string()),
            files: read.files,
            folders: read.folders,
            tree: read.tree,
        };
        Ok((Some(snapshot), downloaded))
    }

    /// A file at the source root (`--path`) of a fetched `revision`; `None` when it has none.
    pub fn root_file(&self, revision: &str, name: &str) -> Result<Option<String>> {
        let subpath = tree::check_subpath(&self.spec.path).map_err(|e| self.fail(e.reason))?;
        let repo = self.open_cache()?;
        let oid = Oid::from_str(revision).map_err(|e| self.fail(e.message()))?;
        let commit = repo.find_commit(oid).map_err(|e| self.fail(e.message()))?;
        let tree = commit.tree().map_err(|e| self.fail(e.message()))?;
        let Ok(entry) = tree.get_path(&subpath.join(name)) else {
            return Ok(None);
        };
        let Ok(blob) = repo.find_blob(entry.id()) else {
            return Ok(None);
        };
        if blob.size() as u64 > super::ROOT_FILE_LIMIT {
            return Err(self.fail(format!(
                "{name} is larger than {} bytes",
                super::ROOT_FILE_LIMIT
            )));
        }
        String::from_utf8(blob.content().to_vec())
            .map(Some)
            .map_err(|_| self.fail(format!("{name} is not valid UTF-8")))
    }

    /// The revision last synced from this source on this machine, if any.
    pub fn last_synced(&self) -> Option<String> {
        std::fs::read_to_string(self.repo_dir.join(STATE_FILE))
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }

    /// Remembers that `revision` is what the cluster now runs.
    pub fn record_synced(&self, revision: &str) -> Result<()> {
        std::fs::write(self.repo_dir.join(STATE_FILE), format!("{revision}\n")).map_err(|e| {
            Error::Source {
                path: self.repo_dir.clone(),
                reason: format!("cannot record the synced revision: {e}"),
            }
        })
    }

    /// Waits (up to `timeout`) until no other process fetches into this cache; the file lock is
    /// held until the returned file is dropped, and released by the OS if this process dies.
    fn cache_turn(&self, timeout: std::time::Duration) -> Result<std::fs::File> {
        let path = self.repo_dir.with_extension("lock");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| self.cache_err(&e.to_string()))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| self.cache_err(&e.to_string()))?;
        let started = std::time::Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(file),
                Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < timeout => {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(self.cache_err(&format!(
                        "another run kept the cache locked for {timeout:?} (--fetch-timeout)"
                    )));
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(self.cache_err(&e.to_string()));
                }
            }
        }
    }

    fn open_cache(&self) -> Result<Repository> {
        if self.repo_dir.join("HEAD").exists() {
            return Repository::open_bare(&self.repo_dir).map_err(|e| self.cache_err(e.message()));
        }
        std::fs::create_dir_all(&self.repo_dir).map_err(|e| self.cache_err(&e.to_string()))?;
        Repository::init_bare(&self.repo_dir).map_err(|e| self.cache_err(e.message()))
    }

    /// Finds the commit to sync, fetching what is missing; and whether anything was fetched.
    fn resolve(&self, repo: &Repository) -> Result<(Oid, bool)> {
        let wanted = self.spec.revision.as_deref();
        // A commit is immutable: once cached, no need to ask the remote.
        if let Some(rev) = wanted.filter(|r| looks_like_sha(r))
            && let Ok(commit) = repo.revparse_single(rev).and_then(|o| o.peel_to_commit())
        {
            return Ok((commit.id(), false));
        }
        let trouble = auth::AuthTrouble::default();
        let mut remote = repo
            .remote_anonymous(self.spec.url.as_str())
            .map_err(|e| self.fail(e.message()))?;
        let (heads, default_branch) = {
            let callbacks = auth::callbacks(&self.spec.auth, &self.spec.url, &trouble);
            let connection = remote
                .connect_auth(Direction::Fetch, Some(callbacks), None)
                .map_err(|e| self.git_err(&trouble, e))?;
            let list = connection.list().map_err(|e| self.git_err(&trouble, e))?;
            let heads: Vec<(String, Oid)> = list
                .iter()
                .map(|h| (h.name().to_string(), h.oid()))
                .collect();
            let default_branch = match wanted {
                Some(_) => None,
                None => {
                    let name = connection
                        .default_branch()
                        .map_err(|e| self.git_err(&trouble, e))?;
                    let name = name
                        .as_str()
                        .map_err(|_| self.fail("the remote's default branch is not UTF-8"))?;
                    Some(name.to_string())
                }
            };
            (heads, default_branch)
        };
        let reference = match wanted {
            None => default_branch,
            Some(rev) => [
                rev.to_string(),
                format!("refs/heads/{rev}"),
                format!("refs/tags/{rev}"),
            ]
            .into_iter()
            .find(|candidate| heads.iter().any(|(n, _)| n == candidate)),
        };
        let Some(reference) = reference else {
            let rev = wanted.unwrap_or("HEAD");
            if looks_like_sha(rev) {
                return Ok((self.fetch_all_for_sha(repo, &mut remote, rev)?, true));
            }
            return Err(self.fail(format!("revision {rev} not found: no such branch or tag")));
        };
        let remote_oid = heads.iter().find(|(n, _)| *n == reference).map(|(_, o)| *o);
        let have =
            remote_oid.is_some_and(|o| repo.find_commit(o).is_ok() || repo.find_tag(o).is_ok());
        if !have {
            let mut options = self.fetch_options(&trouble);
            if self.spec.url.transport() != Transport::Local {
                options.depth(1);
            }
            let refspec = format!("+{reference}:{TARGET_REF}");
            remote
                .fetch(&[refspec.as_str()], Some(&mut options), None)
                .map_err(|e| self.git_err(&trouble, e))?;
        } else if let Some(oid) = remote_oid {
            repo.reference(TARGET_REF, oid, true, "driftless: already cached")
                .map_err(|e| self.fail(e.message()))?;
        }
        let target = repo
            .revparse_single(TARGET_REF)
            .and_then(|o| o.peel_to_commit())
            .map_err(|e| self.fail(e.message()))?;
        Ok((target.id(), !have))
    }

    /// A SHA that is no branch or tag tip: fetch all branches and tags (servers refuse to send
    /// arbitrary commits by id), then look it up.
    fn fetch_all_for_sha(
        &self,
        repo: &Repository,
        remote: &mut git2::Remote<'_>,
        rev: &str,
    ) -> Result<Oid> {
        let trouble = auth::AuthTrouble::default();
        let mut options = self.fetch_options(&trouble);
        let refspecs = [
            "+refs/heads/*:refs/driftless/heads/*",
            "+refs/tags/*:refs/driftless/tags/*",
        ];
        remote
            .fetch(&refspecs, Some(&mut options), None)
            .map_err(|e| self.git_err(&trouble, e))?;
        repo.revparse_single(rev)
            .and_then(|o| o.peel_to_commit())
            .map(|c| c.id())
            .map_err(|_| {
                self.fail(format!(
                    "revision {rev} not found: no such commit on any branch or tag"
                ))
            })
    }

    fn fetch_options<'a>(&'a self, trouble: &'a auth::AuthTrouble) -> FetchOptions<'a> {
        let mut options = FetchOptions::new();
        options.remote_callbacks(auth::callbacks(&self.spec.auth, &self.spec.url, trouble));
        options.download_tags(AutotagOption::None);
        options
    }

    fn git_err(&self, trouble: &auth::AuthTrouble, e: git2::Error) -> Error {
        let reason = match trouble.message.borrow().clone() {
            Some(ours) => ours,
            None if let Some(key) = auth::key_trouble(&self.spec.auth, &e) => key,
            None if e.code() == git2::ErrorCode::Auth => {
                format!(
                    "authentication to {} failed: {}",
                    self.spec.url,
                    e.message()
                )
            }
            None => e.message().to_string(),
        };
        self.fail(reason)
    }

    fn fail(&self, reason: impl AsRef<str>) -> Error {
        Error::Fetch {
            origin: self.describe(),
            reason: redact(reason.as_ref()),
        }
    }

    fn cache_err(&self, reason: &str) -> Error {
        Error::Source {
            path: self.repo_dir.clone(),
            reason: format!("git cache: {reason}"),
        }
    }
}

fn looks_like_sha(rev: &str) -> bool {
    (4..=40).contains(&rev.len()) && rev.chars().all(|c| c.is_ascii_hexdigit())
}

fn short(oid: Oid) -> String {
    oid.to_string().chars().take(12).collect()
}

/// One cache directory per source: readable name plus a hash of the credential-free URL.
fn cache_name(url: &GitUrl) -> String {
    let redacted = url.redacted();
    let digest = Sha256::digest(redacted.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let stem = Path::new(redacted.trim_end_matches('/'))
        .file_name()
        .map(|n| n.to_string_lossy().trim_end_matches(".git").to_string())
        .unwrap_or_default();
    let stem: String = stem
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(40)
        .collect();
    format!("{stem}-{hex}")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn cache_names_ignore_credentials() {
        let a = GitUrl::parse("https://user:tok@host/org/platform.git").unwrap();
        let b = GitUrl::parse("https://host/org/platform.git").unwrap();
        assert_eq!(cache_name(&a), cache_name(&b));
        assert!(
            cache_name(&a).starts_with("platform-"),
            "{}",
            cache_name(&a)
        );
        assert_ne!(
            cache_name(&b),
            cache_name(&GitUrl::parse("https://host/other/platform.git").unwrap())
        );
    }

    #[test]
    fn runs_sharing_a_cache_take_turns_within_the_fetch_timeout() {
        let cache = tempfile::tempdir().unwrap();
        let source = GitSource::new(GitSpec {
            url: GitUrl::parse("https://host/org/platform.git").unwrap(),
            revision: None,
            path: String::new(),
            auth: GitAuth::default(),
            cache_dir: cache.path().to_path_buf(),
        });
        let first = source.cache_turn(Duration::from_secs(1)).unwrap();
        let waited = source.cache_turn(Duration::from_millis(200)).unwrap_err();
        assert!(
            waited.to_string().contains("kept the cache locked"),
            "{waited}"
        );
        let released = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            drop(first);
        });
        assert!(
            source.cache_turn(Duration::from_secs(5)).is_ok(),
            "its turn comes"
        );
        released.join().unwrap();
    }

    #[test]
    fn sha_shapes() {
        assert!(looks_like_sha("4f2a9c1") && looks_like_sha(&"a".repeat(40)));
        assert!(!looks_like_sha("main") && !looks_like_sha("v1.2.3") && !looks_like_sha("abc"));
    }
}
