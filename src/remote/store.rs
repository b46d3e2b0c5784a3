//! The cache of what was fetched, on disk: archives by their digest (checked again when read,
//! so a damaged entry is fetched anew), and the last resolution of each chart reference (its
//! version and digests), which the offline preview and pinned versions use without a request.
//! A failure to write the cache only costs a download next time.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::client::sha256;

#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// What a reference resolved to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolved {
    pub version: String,
    /// The digest reports show: the archive's (https) or the manifest's (OCI).
    pub digest: String,
    /// The archive's digest, its key in the cache.
    pub blob: String,
}

impl Store {
    pub fn new(dir: PathBuf) -> Store {
        Store { dir }
    }

    fn blob_path(&self, digest: &str) -> Option<PathBuf> {
        let hex = digest.strip_prefix("sha256:")?;
        let valid = hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit());
        valid.then(|| self.dir.join("blobs").join("sha256").join(hex))
    }

    fn ref_path(&self, key: &[&str]) -> PathBuf {
        // NUL cannot stand in a URL, a chart name or a version: the parts stay apart.
        let digest = sha256(key.join("\0").as_bytes());
        let hex = digest.trim_start_matches("sha256:");
        self.dir.join("refs").join(format!("{}.json", &hex[..32]))
    }

    /// The archive with this digest, if cached and intact.
    pub fn blob(&self, digest: &str) -> Option<Vec<u8>> {
        let bytes = std::fs::read(self.blob_path(digest)?).ok()?;
        (sha256(&bytes) == digest).then_some(bytes)
    }

    pub fn put_blob(&self, digest: &str, bytes: &[u8]) {
        if let Some(path) = self.blob_path(digest) {
            write(&path, bytes);
        }
    }

    /// The last resolution of `key` (repository, chart, version as written).
    pub fn resolved(&self, key: &[&str]) -> Option<Resolved> {
        let text = std::fs::read(self.ref_path(key)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    pub fn put_resolved(&self, key: &[&str], resolved: &Resolved) {
        if let Ok(text) = serde_json::to_vec(resolved) {
            write(&self.ref_path(key), &text);
        }
    }
}

/// Writes whole or not at all (a rename), so a reader never sees half a file.
fn write(path: &Path, bytes: &[u8]) {
    let Some(dir) = path.parent() else { return };
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| tempfile::NamedTempFile::new_in(dir))
        .and_then(|mut file| {
            std::io::Write::write_all(&mut file, bytes)?;
            file.persist(path).map_err(|e| e.error)?;
            Ok(())
        });
    if let Err(e) = written {
        tracing::warn!(path = %path.display(), error = %e, "cannot write the remote cache");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_by_digest_and_a_damaged_one_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().to_path_buf());
        let digest = sha256(b"chart");
        assert_eq!(store.blob(&digest), None);
        store.put_blob(&digest, b"chart");
        assert_eq!(store.blob(&digest).as_deref(), Some(&b"chart"[..]));
        let path = store.blob_path(&digest).unwrap();
        std::fs::write(&path, b"tampered").unwrap();
        assert_eq!(store.blob(&digest), None);
        assert_eq!(store.blob_path("sha256:../../x"), None);
        let resolved = Resolved {
            version: "1.2.3".into(),
            digest: digest.clone(),
            blob: digest,
        };
        store.put_resolved(&["https://r", "web", "1.x"], &resolved);
        assert_eq!(store.resolved(&["https://r", "web", "1.x"]), Some(resolved));
        assert_eq!(store.resolved(&["https://r", "web", "2.x"]), None);
    }
}
