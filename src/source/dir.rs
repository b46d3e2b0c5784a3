//! A directory of manifests, read recursively.

use std::fs;
use std::path::{Path, PathBuf};

use super::{MANIFEST_EXTENSIONS, Snapshot, SourceFile};
use crate::error::{Error, Result};

/// Reads every `*.yaml`, `*.yml` and `*.json` file under `root`, recursively, sorted by path.
/// Hidden files and directories (`.git`, `.github`, ...) are skipped; so are symlinked
/// directories, which could loop or leave the tree.
pub fn read_dir(root: &Path) -> Result<Snapshot> {
    let meta = fs::metadata(root).map_err(|e| source_err(root, format!("cannot read: {e}")))?;
    let mut files = Vec::new();
    if meta.is_file() {
        let content = read_text(root)?;
        let name = root.file_name().map(PathBuf::from).unwrap_or_default();
        files.push(SourceFile {
            path: name,
            content,
        });
    } else {
        walk(root, Path::new(""), &mut files)?;
        files.sort_by(|a, b| a.path.cmp(&b.path));
    }
    Ok(Snapshot {
        origin: root.display().to_string(),
        revision: None,
        files,
    })
}

fn walk(root: &Path, rel: &Path, out: &mut Vec<SourceFile>) -> Result<()> {
    let dir = root.join(rel);
    let entries = fs::read_dir(&dir).map_err(|e| source_err(&dir, format!("cannot list: {e}")))?;
    for entry in entries {
        let entry = entry.map_err(|e| source_err(&dir, format!("cannot list: {e}")))?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let rel_path = rel.join(&name);
        let file_type = entry
            .file_type()
            .map_err(|e| source_err(&entry.path(), format!("cannot stat: {e}")))?;
        if file_type.is_dir() {
            walk(root, &rel_path, out)?;
        } else if is_manifest(&rel_path) && (file_type.is_file() || points_to_file(&entry.path())) {
            let content = read_text(&entry.path())?;
            out.push(SourceFile {
                path: rel_path,
                content,
            });
        }
    }
    Ok(())
}

fn points_to_file(path: &Path) -> bool {
    fs::metadata(path).map(|m| m.is_file()).unwrap_or(false)
}

fn is_manifest(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| MANIFEST_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

fn read_text(path: &Path) -> Result<String> {
    let bytes = fs::read(path).map_err(|e| source_err(path, format!("cannot read: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        source_err(
            path,
            format!("not valid UTF-8 (byte {})", e.utf8_error().valid_up_to()),
        )
    })
}

fn source_err(path: &Path, reason: String) -> Error {
    Error::Source {
        path: path.to_path_buf(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, body: &str) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, body).unwrap();
    }

    #[test]
    fn reads_manifests_recursively_in_sorted_order() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "b/z.yaml", "z");
        write(tmp.path(), "a.yml", "a");
        write(tmp.path(), "b/c/d.json", "d");
        write(tmp.path(), "README.md", "not a manifest");
        write(tmp.path(), ".github/workflow.yaml", "hidden");
        let snap = read_dir(tmp.path()).unwrap();
        let paths: Vec<_> = snap
            .files
            .iter()
            .map(|f| f.path.to_string_lossy().into_owned())
            .collect();
        assert_eq!(paths, ["a.yml", "b/c/d.json", "b/z.yaml"]);
        assert_eq!(snap.files[0].content, "a");
    }

    #[test]
    fn a_single_file_is_a_source() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "one.yaml", "x: 1");
        let snap = read_dir(&tmp.path().join("one.yaml")).unwrap();
        assert_eq!(snap.files.len(), 1);
        assert_eq!(snap.files[0].path, PathBuf::from("one.yaml"));
    }

    #[test]
    fn missing_directory_and_bad_utf8_are_named() {
        let err = read_dir(Path::new("/nonexistent/driftless"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/driftless"), "{err}");
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("bad.yaml"), [b'a', 0xff, 0xfe]).unwrap();
        let err = read_dir(tmp.path()).unwrap_err().to_string();
        assert!(err.contains("bad.yaml") && err.contains("UTF-8"), "{err}");
    }
}
