//! A directory of manifests, read recursively and safely: nothing outside the root is read.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::filter::{Budget, Filter, IGNORE_FILE};
use super::folders::{RenderFolder, TreeFile, folder_kind};
use super::{Snapshot, SourceFile, SourceOptions};
use crate::error::{Error, Result};

/// Reads every manifest under `root` (or `root` itself when it is a file), sorted by path.
/// Symlinks are followed only when they stay inside the root; absolute symlinks and symlinks
/// that leave the root are errors.
pub fn read_dir(root: &Path, options: &SourceOptions) -> Result<Snapshot> {
    let meta = fs::metadata(root).map_err(|e| source_err(root, format!("cannot read: {e}")))?;
    let (mut files, mut folders, mut tree) = (Vec::new(), Vec::new(), Vec::new());
    let mut budget = Budget::new(options.limits);
    if meta.is_file() {
        let name = root.file_name().map(PathBuf::from).unwrap_or_default();
        budget.admit(meta.len()).map_err(|r| source_err(root, r))?;
        files.push(SourceFile {
            path: name,
            content: read_text(root)?,
        });
    } else {
        let canonical = root
            .canonicalize()
            .map_err(|e| source_err(root, format!("cannot resolve: {e}")))?;
        let ignore = fs::read_to_string(root.join(IGNORE_FILE)).ok();
        let filter =
            Filter::new(&options.filter, ignore.as_deref()).map_err(|r| source_err(root, r))?;
        let mut walk = Walk {
            root,
            canonical: &canonical,
            filter: &filter,
            budget: &mut budget,
            seen: HashSet::new(),
            out: &mut files,
            folders: &mut folders,
            tree: &mut tree,
            in_folder: false,
        };
        walk.dir(Path::new(""))?;
        files.sort_by(|a, b| a.path.cmp(&b.path));
        folders.sort_by(|a, b| a.path.cmp(&b.path));
        tree.sort_by(|a, b| a.path.cmp(&b.path));
    }
    Ok(Snapshot {
        origin: root.display().to_string(),
        revision: None,
        files,
        folders,
        tree,
    })
}

struct Walk<'a> {
    root: &'a Path,
    canonical: &'a Path,
    filter: &'a Filter,
    budget: &'a mut Budget,
    /// Canonical directories already walked: a symlink loop ends here.
    seen: HashSet<PathBuf>,
    out: &'a mut Vec<SourceFile>,
    folders: &'a mut Vec<RenderFolder>,
    tree: &'a mut Vec<TreeFile>,
    /// Inside a render folder: every file is read, as bytes, into `tree`.
    in_folder: bool,
}

impl Walk<'_> {
    fn dir(&mut self, rel: &Path) -> Result<()> {
        let dir = self.root.join(rel);
        let canonical = dir
            .canonicalize()
            .map_err(|e| source_err(&dir, format!("cannot resolve: {e}")))?;
        if !self.seen.insert(canonical) {
            return Ok(());
        }
        let mut entries = fs::read_dir(&dir)
            .and_then(|it| it.collect::<std::io::Result<Vec<_>>>())
            .map_err(|e| source_err(&dir, format!("cannot list: {e}")))?;
        // Sorted, so which path a symlinked directory is read under never depends on the OS.
        entries.sort_by_key(|e| e.file_name());
        if !self.in_folder {
            let names: Vec<String> = entries
                .iter()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            let kind = folder_kind(&names).map_err(|r| source_err(rel, r))?;
            if let Some((kind, marker)) = kind
                && self.filter.wants_folder(&rel.join(&marker))
            {
                self.folders.push(RenderFolder {
                    path: rel.to_path_buf(),
                    kind,
                    marker,
                });
                // A folder of its own: what it links to is read for it even if read before.
                let outer = std::mem::take(&mut self.seen);
                self.in_folder = true;
                let read = self.dir(rel);
                (self.in_folder, self.seen) = (false, outer);
                return read;
            }
        }
        for entry in entries {
            let rel_path = rel.join(entry.file_name());
            let path = entry.path();
            let file_type = entry
                .file_type()
                .map_err(|e| source_err(&path, format!("cannot stat: {e}")))?;
            let is_dir = if file_type.is_symlink() {
                self.check_symlink(&path, &rel_path)?
            } else {
                file_type.is_dir()
            };
            if self.in_folder {
                // Hidden files count (`.helmignore`); hidden folders (`.git`) do not.
                if !is_dir {
                    self.tree_file(&path, rel_path)?;
                } else if !entry.file_name().to_string_lossy().starts_with('.') {
                    self.dir(&rel_path)?;
                }
            } else if is_dir {
                if self.filter.enter_dir(&rel_path) {
                    self.dir(&rel_path)?;
                }
            } else if self.filter.wants_file(&rel_path) {
                let size = fs::metadata(&path)
                    .map_err(|e| source_err(&path, format!("cannot stat: {e}")))?
                    .len();
                self.budget
                    .admit(size)
                    .map_err(|r| source_err(&rel_path, r))?;
                self.out.push(SourceFile {
                    path: rel_path,
                    content: read_text(&path)?,
                });
            }
        }
        Ok(())
    }

    fn tree_file(&mut self, path: &Path, rel: PathBuf) -> Result<()> {
        let bytes = fs::read(path).map_err(|e| source_err(&rel, format!("cannot read: {e}")))?;
        self.budget
            .admit(bytes.len() as u64)
            .map_err(|r| source_err(&rel, r))?;
        self.tree.push(TreeFile { path: rel, bytes });
        Ok(())
    }

    /// Refuses symlinks that are absolute or resolve outside the root; returns whether the
    /// target is a directory.
    fn check_symlink(&self, path: &Path, rel: &Path) -> Result<bool> {
        let target = fs::read_link(path)
            .map_err(|e| source_err(rel, format!("cannot read symlink: {e}")))?;
        if target.is_absolute() {
            return Err(source_err(
                rel,
                format!("absolute symlink to {} is not allowed", target.display()),
            ));
        }
        let resolved = path
            .canonicalize()
            .map_err(|e| source_err(rel, format!("broken symlink: {e}")))?;
        if !resolved.starts_with(self.canonical) {
            return Err(source_err(
                rel,
                format!("symlink to {} leaves the source root", target.display()),
            ));
        }
        Ok(resolved.is_dir())
    }
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
    use crate::source::filter::{FilterSpec, Limits};
    use std::os::unix::fs::symlink;

    fn write(root: &Path, rel: &str, body: &str) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, body).unwrap();
    }

    fn read(root: &Path) -> Result<Snapshot> {
        read_dir(root, &SourceOptions::default())
    }

    fn paths(snap: &Snapshot) -> Vec<String> {
        snap.files
            .iter()
            .map(|f| f.path.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn reads_manifests_recursively_in_sorted_order() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "b/z.yaml", "z");
        write(tmp.path(), "a.yml", "a");
        write(tmp.path(), "b/c/d.json", "d");
        write(tmp.path(), "README.md", "not a manifest");
        write(tmp.path(), ".github/workflow.yaml", "hidden");
        let snap = read(tmp.path()).unwrap();
        assert_eq!(paths(&snap), ["a.yml", "b/c/d.json", "b/z.yaml"]);
        assert_eq!(snap.files[0].content, "a");
    }

    #[test]
    fn a_single_file_is_a_source() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "one.yaml", "x: 1");
        let snap = read(&tmp.path().join("one.yaml")).unwrap();
        assert_eq!(paths(&snap), ["one.yaml"]);
    }

    #[test]
    fn missing_directory_and_bad_utf8_are_named() {
        let err = read(Path::new("/nonexistent/driftless"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/driftless"), "{err}");
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("bad.yaml"), [b'a', 0xff, 0xfe]).unwrap();
        let err = read(tmp.path()).unwrap_err().to_string();
        assert!(err.contains("bad.yaml") && err.contains("UTF-8"), "{err}");
    }

    #[test]
    fn symlinks_inside_the_root_are_followed() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "base/cm.yaml", "x");
        symlink("base", tmp.path().join("linked")).unwrap();
        symlink("base/cm.yaml", tmp.path().join("alias.yaml")).unwrap();
        symlink(".", tmp.path().join("base/loop")).unwrap();
        let snap = read(tmp.path()).unwrap();
        assert_eq!(paths(&snap), ["alias.yaml", "base/cm.yaml"]);
    }

    #[test]
    fn symlinks_leaving_the_root_are_refused() {
        let outside = tempfile::tempdir().unwrap();
        write(outside.path(), "secret.yaml", "stolen");
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "ok.yaml", "x");
        let rel = Path::new("..")
            .join(outside.path().file_name().unwrap())
            .join("secret.yaml");
        symlink(&rel, tmp.path().join("escape.yaml")).unwrap();
        let err = read(tmp.path()).unwrap_err().to_string();
        assert!(
            err.contains("escape.yaml") && err.contains("leaves the source root"),
            "{err}"
        );

        let tmp = tempfile::tempdir().unwrap();
        symlink(
            outside.path().join("secret.yaml"),
            tmp.path().join("abs.yaml"),
        )
        .unwrap();
        let err = read(tmp.path()).unwrap_err().to_string();
        assert!(
            err.contains("abs.yaml") && err.contains("absolute symlink"),
            "{err}"
        );
    }

    #[test]
    fn ignore_file_globs_and_limits_apply() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), ".driftlessignore", "drafts/\n");
        write(tmp.path(), "drafts/x.yaml", "x");
        write(tmp.path(), "prod/a.yaml", "a");
        write(tmp.path(), "prod/b.yaml", "bbbbbbbbbbbb");
        let options = SourceOptions {
            filter: FilterSpec {
                include: vec![],
                exclude: vec!["**/b.yaml".into()],
            },
            ..Default::default()
        };
        assert_eq!(
            paths(&read_dir(tmp.path(), &options).unwrap()),
            ["prod/a.yaml"]
        );
        let small = SourceOptions {
            limits: Limits {
                max_file_bytes: 4,
                ..Limits::default()
            },
            ..Default::default()
        };
        let err = read_dir(tmp.path(), &small).unwrap_err().to_string();
        assert!(
            err.contains("prod/b.yaml") && err.contains("over the limit"),
            "{err}"
        );
    }
}
