//! A temporary manifest directory for one test.

use std::fs;
use std::path::{Path, PathBuf};

use super::{repo_root, unique};

pub struct Workspace {
    dir: tempfile::TempDir,
    /// Namespaces this workspace's manifests use, for cleanup.
    pub namespaces: Vec<String>,
}

const EXAMPLE_NAMESPACES: [&str; 3] = ["mlops-platform", "mlops-training", "mlops-monitoring"];

impl Workspace {
    pub fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().expect("tempdir"),
            namespaces: Vec::new(),
        }
    }

    /// A copy of `examples/platform-repo` whose three namespaces carry a unique suffix, so tests
    /// can sync the example side by side. Returns the workspace; `namespaces[0]` is the
    /// platform namespace, then training, then monitoring. Its SOPS files are decrypted,
    /// renamed and encrypted again by the real `sops` (for the demo key: give driftless
    /// [`super::DEMO_AGE_KEY`]), as a namespace is covered by their MAC.
    pub fn example() -> Workspace {
        let mut ws = Workspace::new();
        let suffix = unique("t");
        ws.namespaces = EXAMPLE_NAMESPACES
            .iter()
            .map(|ns| format!("{ns}-{suffix}"))
            .collect();
        let src = repo_root().join("examples/platform-repo");
        let rename = |text: &str| {
            let mut text = text.to_string();
            for (old, new) in EXAMPLE_NAMESPACES.iter().zip(&ws.namespaces) {
                text = text.replace(old, new);
            }
            text
        };
        let mut encrypted = Vec::new();
        copy_tree(&src, ws.path(), &rename, &mut encrypted);
        for rel in encrypted {
            let plain = super::demo_sops(&src, &["decrypt", &rel]);
            fs::write(ws.path().join(&rel), rename(&plain)).expect("write");
            super::demo_sops(ws.path(), &["encrypt", "--in-place", &rel]);
        }
        ws
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(&self, rel: &str) -> PathBuf {
        self.path().join(rel)
    }

    pub fn write(&self, rel: &str, content: &str) {
        let path = self.file(rel);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, content).expect("write manifest");
    }

    /// Replaces `from` (which must occur) with `to` in one file.
    pub fn edit(&self, rel: &str, from: &str, to: &str) {
        let path = self.file(rel);
        let text = fs::read_to_string(&path).expect("read manifest");
        assert_contains!(text, from, "{rel}");
        fs::write(path, text.replacen(from, to, 1)).expect("write manifest");
    }

    pub async fn cleanup(&self) {
        super::delete_namespaces(&self.namespaces).await;
    }
}

/// Copies `src` to `dst`, rewriting each file; SOPS files are copied as they are, and their
/// paths (relative to the top) added to `encrypted`.
fn copy_tree(
    src: &Path,
    dst: &Path,
    rewrite: &dyn Fn(&str) -> String,
    encrypted: &mut Vec<String>,
) {
    copy_under(src, Path::new(""), dst, rewrite, encrypted);
}

fn copy_under(
    top: &Path,
    rel: &Path,
    dst: &Path,
    rewrite: &dyn Fn(&str) -> String,
    encrypted: &mut Vec<String>,
) {
    for entry in fs::read_dir(top.join(rel)).expect("read example") {
        let entry = entry.expect("entry");
        let (rel, target) = (rel.join(entry.file_name()), dst.join(entry.file_name()));
        if entry.file_type().expect("type").is_dir() {
            fs::create_dir_all(&target).expect("mkdir");
            copy_under(top, &rel, &target, rewrite, encrypted);
            continue;
        }
        let text = fs::read_to_string(entry.path()).expect("read");
        if text.contains("\nsops:\n") && text.contains("ENC[AES256_GCM") {
            encrypted.push(rel.to_string_lossy().into_owned());
            fs::write(target, text).expect("write");
        } else {
            fs::write(target, rewrite(&text)).expect("write");
        }
    }
}
