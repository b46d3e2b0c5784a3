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
    /// platform namespace, then training, then monitoring.
    pub fn example() -> Workspace {
        let mut ws = Workspace::new();
        let suffix = unique("t");
        ws.namespaces = EXAMPLE_NAMESPACES
            .iter()
            .map(|ns| format!("{ns}-{suffix}"))
            .collect();
        let src = repo_root().join("examples/platform-repo");
        copy_tree(&src, ws.path(), &|text| {
            let mut text = text.to_string();
            for (old, new) in EXAMPLE_NAMESPACES.iter().zip(&ws.namespaces) {
                text = text.replace(old, new);
            }
            text
        });
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

fn copy_tree(src: &Path, dst: &Path, rewrite: &dyn Fn(&str) -> String) {
    for entry in fs::read_dir(src).expect("read example") {
        let entry = entry.expect("entry");
        let target = dst.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            fs::create_dir_all(&target).expect("mkdir");
            copy_tree(&entry.path(), &target, rewrite);
        } else {
            let text = fs::read_to_string(entry.path()).expect("read");
            fs::write(target, rewrite(&text)).expect("write");
        }
    }
}
