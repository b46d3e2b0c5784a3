//! An OCI artifact of manifests as a source (`oci://registry/repository:tag` or
//! `@sha256:...`): `flux push artifact`'s format or any tar+gzip layer. The manifest digest is
//! the revision. A poll asks for the digest alone (one HEAD request) and downloads nothing
//! while it has not moved; the layer is unpacked under the archive rules, then read with the
//! same filters as a directory.

use std::path::{Component, Path, PathBuf};

use super::{Read, Snapshot, SourceOptions, read_dir};
use crate::error::{Error, Result};
use crate::remote::{Reference, Remote, RemoteOptions, archive, reference, sha256};

/// A configured artifact source.
#[derive(Debug, Clone)]
pub struct OciSource {
    /// As given: `oci://host/repository:tag`.
    spec: String,
    reference: Reference,
    /// The folder inside the artifact that holds the manifests.
    path: String,
    /// The layer's media type, when the artifact has several.
    layer: Option<String>,
    /// How to reach the registry; its host is allowed by naming it.
    remote: RemoteOptions,
}

impl OciSource {
    pub fn new(
        spec: &str,
        path: &str,
        layer: Option<String>,
        mut remote: RemoteOptions,
    ) -> std::result::Result<OciSource, String> {
        let reference = reference(spec).map_err(|e| e.to_string())?;
        let host = reference.registry().to_ascii_lowercase();
        if !remote.hosts.contains(&host) {
            remote.hosts.push(host);
        }
        let path = path.trim_matches('/').to_string();
        if !Path::new(&path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
        {
            return Err(format!("--path {path}: a folder inside the artifact"));
        }
        Ok(OciSource {
            spec: spec.to_string(),
            reference,
            path,
            layer,
            remote,
        })
    }

    pub fn describe(&self) -> String {
        match self.path.is_empty() {
            true => self.spec.clone(),
            false => format!("{}//{}", self.spec, self.path),
        }
    }

    /// The repository without tag or digest (`host/repository`), and the folder.
    pub fn repository(&self) -> String {
        format!(
            "{}/{}",
            self.reference.registry(),
            self.reference.repository()
        )
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    fn fail(&self, reason: String) -> Error {
        Error::Fetch {
            origin: self.describe(),
            reason,
        }
    }

    /// A fetch error, said once of this source (the client's own text names the reference too).
    fn fail_remote(&self, e: crate::remote::RemoteError) -> Error {
        let text = e.to_string();
        let named = format!("{}: ", self.reference.whole());
        self.fail(text.strip_prefix(&named).unwrap_or(&text).to_string())
    }

    /// Reads the artifact unless its digest is `last`.
    pub async fn read(&self, options: &SourceOptions, last: Option<&str>) -> Result<Read> {
        let mut remote = self.remote.clone();
        remote.timeout = options.fetch_timeout;
        remote.max_bytes = options.limits.max_total_bytes;
        let client = Remote::new(remote).map_err(|e| self.fail(e.to_string()))?;
        if let Some(last) = last {
            let now = client
                .oci_digest(&self.reference)
                .await
                .map_err(|e| self.fail_remote(e))?;
            if now == last {
                return Ok(Read {
                    snapshot: None,
                    downloaded: false,
                });
            }
        }
        let limits = archive::Limits {
            max_files: options.limits.max_files,
            max_file_bytes: options.limits.max_file_bytes,
            max_total_bytes: options.limits.max_total_bytes,
        };
        let artifact = client
            .artifact(&self.reference, self.layer.as_deref(), &limits)
            .await
            .map_err(|e| self.fail_remote(e))?;
        let snapshot = self.snapshot(&artifact.files, &artifact.digest, options)?;
        Ok(Read {
            snapshot: Some(snapshot),
            downloaded: true,
        })
    }

    /// The artifact's files read as a directory is: the same filters, folders and limits.
    fn snapshot(
        &self,
        files: &[archive::Entry],
        digest: &str,
        options: &SourceOptions,
    ) -> Result<Snapshot> {
        let dir = tempfile::Builder::new()
            .prefix("driftless-oci-")
            .tempdir()
            .map_err(|e| self.fail(format!("cannot make a folder to unpack in: {e}")))?;
        for file in files {
            let path = dir.path().join(&file.path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| self.fail(format!("cannot unpack: {e}")))?;
            }
            std::fs::write(&path, &file.bytes)
                .map_err(|e| self.fail(format!("cannot unpack: {e}")))?;
        }
        let root = dir.path().join(&self.path);
        if !root.is_dir() {
            return Err(self.fail(format!("the artifact has no folder {}", self.path)));
        }
        let mut snapshot = read_dir(&root, options).map_err(|e| self.unpacked(e, &root))?;
        snapshot.origin = self.describe();
        snapshot.revision = Some(digest.to_string());
        Ok(snapshot)
    }

    /// An error of the unpacked copy, said of the artifact.
    fn unpacked(&self, error: Error, root: &Path) -> Error {
        let text = error
            .to_string()
            .replace(&format!("{}/", root.display()), "");
        self.fail(text.replace(&root.display().to_string(), "."))
    }

    /// The state file remembering the digest the cluster runs.
    fn state_file(&self) -> PathBuf {
        let key = sha256(self.describe().as_bytes());
        let short = key.trim_start_matches("sha256:");
        self.remote
            .cache_dir
            .join("synced")
            .join(&short[..short.len().min(24)])
    }

    pub fn last_synced(&self) -> Option<String> {
        std::fs::read_to_string(self.state_file())
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }

    pub fn record_synced(&self, revision: &str) -> Result<()> {
        let path = self.state_file();
        let fail = |e: std::io::Error| Error::Source {
            path: path.clone(),
            reason: format!("cannot record the synced revision: {e}"),
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        std::fs::write(&path, format!("{revision}\n")).map_err(fail)
    }
}
