//! A directory's revision, for the agent: a directory has no commit, so it gets the hash of what
//! a render reads (every file's path and bytes, and the render settings). A poll first compares
//! a cheap stamp of the tree (each entry's path, size, modification time and inode, no file
//! read): an unchanged stamp is an unchanged directory, with no re-read at all. A changed stamp
//! (a save, a touch) reads the directory, and only a changed content hash is a new revision.

use std::path::Path;

use sha2::{Digest as _, Sha256};

use crate::render::renderers::RenderOptions;
use crate::source::Snapshot;

/// What a directory's revisions look like: `sha256:<64 hex>`.
pub const PREFIX: &str = "sha256:";

/// The stamp of every entry under `root`: what a change of any file changes, without reading
/// one. Entries the read would skip count too: a change there costs a read, never a miss.
pub fn stamp(root: &Path) -> String {
    let mut hash = Sha256::new();
    let walk = ignore::WalkBuilder::new(root)
        .standard_filters(false)
        .follow_links(true)
        .sort_by_file_path(|a, b| a.cmp(b))
        .build();
    for entry in walk {
        let line = match entry {
            Ok(entry) => match entry.metadata() {
                Ok(meta) => entry_line(entry.path(), &meta),
                Err(e) => format!("{}: {e}\n", entry.path().display()),
            },
            // A loop or an unreadable entry: the read reports it; the stamp just differs.
            Err(e) => format!("error: {e}\n"),
        };
        hash.update(line.as_bytes());
    }
    format!("{:x}", hash.finalize())
}

fn entry_line(path: &Path, meta: &std::fs::Metadata) -> String {
    use std::os::unix::fs::MetadataExt as _;
    format!(
        "{}\t{}\t{}\t{}.{}\t{}\t{}\n",
        path.display(),
        meta.len(),
        meta.mode(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ino(),
        meta.ctime()
    )
}

/// The revision of what `snapshot` holds, rendered with `render`.
pub fn revision(snapshot: &Snapshot, render: &RenderOptions) -> String {
    let mut hash = Sha256::new();
    let mut field = |bytes: &[u8]| {
        // Length-prefixed: no two inputs run together into the same bytes.
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    };
    field(env!("CARGO_PKG_VERSION").as_bytes());
    let settings = format!(
        "{:?}|{}|{}|{:?}|{:?}|{:?}",
        render.tools,
        render.allow_remote_bases,
        render.kustomize_enable_helm,
        render.helm,
        render.decryption,
        render.remote
    );
    field(settings.as_bytes());
    for file in &snapshot.files {
        field(file.path.to_string_lossy().as_bytes());
        field(file.content.as_bytes());
    }
    for folder in &snapshot.folders {
        field(folder.path.to_string_lossy().as_bytes());
        field(folder.marker.as_bytes());
    }
    for file in &snapshot.tree {
        field(file.path.to_string_lossy().as_bytes());
        field(&file.bytes);
    }
    format!("{PREFIX}{:x}", hash.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn snapshot(content: &str) -> Snapshot {
        Snapshot {
            files: vec![SourceFile {
                path: "a.yaml".into(),
                content: content.into(),
            }],
            ..Snapshot::default()
        }
    }

    #[test]
    fn the_revision_is_the_content_and_the_settings() {
        let render = RenderOptions::default();
        let a = revision(&snapshot("x: 1\n"), &render);
        assert!(a.starts_with(PREFIX) && a.len() == PREFIX.len() + 64, "{a}");
        assert_eq!(a, revision(&snapshot("x: 1\n"), &render));
        assert_ne!(a, revision(&snapshot("x: 2\n"), &render));
        let other = RenderOptions {
            kustomize_enable_helm: true,
            ..RenderOptions::default()
        };
        assert_ne!(a, revision(&snapshot("x: 1\n"), &other));
    }

    #[test]
    fn the_stamp_moves_with_a_write_and_not_with_a_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.yaml"), "x: 1\n").unwrap();
        let first = stamp(dir.path());
        let _ = std::fs::read_to_string(dir.path().join("a.yaml")).unwrap();
        assert_eq!(first, stamp(dir.path()), "a read moved the stamp");
        std::fs::write(dir.path().join("b.yaml"), "y: 1\n").unwrap();
        assert_ne!(first, stamp(dir.path()));
    }
}
