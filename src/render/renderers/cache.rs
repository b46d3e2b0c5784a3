//! What was rendered, by a hash of everything the render read: a re-render of unchanged inputs
//! starts no process. In memory, for the passes of one process (`--watch`, the agent); not on
//! disk, where Secrets rendered from chart values would sit in clear.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use crate::render::Manifest;

/// Shared by clones: every pass of a runner uses the same one.
#[derive(Clone, Default)]
pub struct RenderCache(Arc<Mutex<Inner>>);

#[derive(Default)]
struct Inner {
    /// The last render of each folder: its key and its manifests.
    rendered: HashMap<PathBuf, ([u8; 32], Arc<Vec<Manifest>>)>,
    /// Renderer versions, by the binary's identity (path, size, modification time).
    versions: HashMap<String, String>,
}

impl std::fmt::Debug for RenderCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RenderCache")
    }
}

impl RenderCache {
    pub(super) fn get(&self, folder: &Path, key: &[u8; 32]) -> Option<Arc<Vec<Manifest>>> {
        let inner = self.0.lock().ok()?;
        match inner.rendered.get(folder) {
            Some((k, manifests)) if k == key => Some(manifests.clone()),
            _ => None,
        }
    }

    pub(super) fn put(&self, folder: &Path, key: [u8; 32], manifests: Arc<Vec<Manifest>>) {
        if let Ok(mut inner) = self.0.lock() {
            inner
                .rendered
                .insert(folder.to_path_buf(), (key, manifests));
        }
    }

    pub(super) fn version(&self, identity: &str) -> Option<String> {
        self.0.lock().ok()?.versions.get(identity).cloned()
    }

    pub(super) fn put_version(&self, identity: &str, version: &str) {
        if let Ok(mut inner) = self.0.lock() {
            inner.versions.insert(identity.into(), version.into());
        }
    }
}

/// A hash of named parts, each length-prefixed so no two lists of parts hash alike.
#[derive(Default)]
pub(super) struct Key(Sha256);

impl Key {
    pub(super) fn part(&mut self, bytes: impl AsRef<[u8]>) -> &mut Key {
        let bytes = bytes.as_ref();
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    pub(super) fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_delimited() {
        let key = |parts: &[&str]| {
            let mut k = Key::default();
            parts.iter().for_each(|p| {
                k.part(p);
            });
            k.finish()
        };
        assert_ne!(key(&["ab", "c"]), key(&["a", "bc"]));
        assert_eq!(key(&["a", "b"]), key(&["a", "b"]));
    }
}
