//! Reads the manifests of one commit straight from the object database: no working tree, so no
//! file outside the repository can ever be read. Symlinks are resolved inside the tree only.

use std::path::{Component, Path, PathBuf};

use git2::{ObjectType, Oid, Repository, Tree};

use crate::source::filter::{Budget, Filter, IGNORE_FILE};
use crate::source::folders::{RenderFolder, TreeFile, folder_kind};
use crate::source::{SourceFile, SourceOptions};

const SYMLINK_MODE: i32 = 0o120000;
const MAX_LINK_HOPS: usize = 8;

/// A problem reading the tree, naming the repository path.
#[derive(Debug)]
pub struct TreeError {
    pub path: PathBuf,
    pub reason: String,
}

fn err(path: &Path, reason: impl Into<String>) -> TreeError {
    TreeError {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Checks `--path`: relative, and never `..`.
pub fn check_subpath(subpath: &str) -> Result<PathBuf, TreeError> {
    let path = PathBuf::from(subpath.trim_matches('/'));
    for c in path.components() {
        match c {
            Component::Normal(_) | Component::CurDir => {}
            _ => {
                return Err(err(
                    &path,
                    "--path must be a relative path inside the repository, without `..`",
                ));
            }
        }
    }
    Ok(path
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect())
}

/// What one commit holds under `subpath`, paths relative to it, each list sorted.
#[derive(Debug, Default)]
pub struct CommitFiles {
    pub files: Vec<SourceFile>,
    pub folders: Vec<RenderFolder>,
    pub tree: Vec<TreeFile>,
}

/// Every manifest under `subpath` of the commit's tree, and every file of its render folders.
pub fn read_commit(
    repo: &Repository,
    tree: &Tree<'_>,
    subpath: &Path,
    options: &SourceOptions,
) -> Result<CommitFiles, TreeError> {
    let base = if subpath.as_os_str().is_empty() {
        tree.clone()
    } else {
        let entry = tree
            .get_path(subpath)
            .map_err(|_| err(subpath, "no such directory in this revision"))?;
        let object = entry
            .to_object(repo)
            .map_err(|e| err(subpath, e.message()))?;
        object
            .into_tree()
            .map_err(|_| err(subpath, "--path must name a directory"))?
    };
    let ignore = match base.get_name(IGNORE_FILE) {
        Some(entry) => Some(blob_text(repo, entry.id(), Path::new(IGNORE_FILE))?),
        None => None,
    };
    let filter = Filter::new(&options.filter, ignore.as_deref()).map_err(|r| err(subpath, r))?;
    let mut walk = Walk {
        repo,
        root: tree,
        filter: &filter,
        budget: Budget::new(options.limits),
        stack: Vec::new(),
        out: CommitFiles::default(),
        in_folder: false,
    };
    walk.tree(&base, subpath, Path::new(""))?;
    let mut out = walk.out;
    out.files.sort_by(|a, b| a.path.cmp(&b.path));
    out.folders.sort_by(|a, b| a.path.cmp(&b.path));
    out.tree.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

struct Walk<'r, 't> {
    repo: &'r Repository,
    root: &'t Tree<'r>,
    filter: &'t Filter,
    budget: Budget,
    /// Trees on the current path: a symlink back into one of them is a loop.
    stack: Vec<Oid>,
    out: CommitFiles,
    /// Inside a render folder: every file is read, as bytes, into `out.tree`.
    in_folder: bool,
}

impl<'r> Walk<'r, '_> {
    /// `repo_path`: where the tree sits in the repository; `rel`: its path in the source.
    fn tree(&mut self, tree: &Tree<'r>, repo_path: &Path, rel: &Path) -> Result<(), TreeError> {
        if self.stack.contains(&tree.id()) {
            return Ok(());
        }
        if !self.in_folder {
            let kind = folder_kind(tree.iter().filter_map(|e| e.name().ok().map(str::to_owned)))
                .map_err(|r| err(repo_path, r))?;
            if let Some((kind, marker)) = kind
                && self.filter.wants_folder(&rel.join(&marker))
            {
                self.out.folders.push(RenderFolder {
                    path: rel.to_path_buf(),
                    kind,
                    marker,
                });
                self.in_folder = true;
                let read = self.entries(tree, repo_path, rel);
                self.in_folder = false;
                return read;
            }
        }
        self.entries(tree, repo_path, rel)
    }

    fn entries(&mut self, tree: &Tree<'r>, repo_path: &Path, rel: &Path) -> Result<(), TreeError> {
        self.stack.push(tree.id());
        for entry in tree.iter() {
            let Ok(name) = entry.name() else { continue };
            let (entry_repo_path, entry_rel) = (repo_path.join(name), rel.join(name));
            // Inside a render folder, hidden folders (`.git`) are skipped, hidden files are not.
            let enter = match self.in_folder {
                true => !name.starts_with('.'),
                false => self.filter.enter_dir(&entry_rel),
            };
            match entry.kind() {
                Some(ObjectType::Tree) if enter => {
                    let sub = self
                        .repo
                        .find_tree(entry.id())
                        .map_err(|e| err(&entry_repo_path, e.message()))?;
                    self.tree(&sub, &entry_repo_path, &entry_rel)?;
                }
                Some(ObjectType::Blob) if entry.filemode() == SYMLINK_MODE => {
                    self.symlink(entry.id(), &entry_repo_path, &entry_rel)?;
                }
                Some(ObjectType::Blob) => self.file(entry.id(), &entry_repo_path, &entry_rel)?,
                // Submodules (commits) and anything else: not part of this repository's content.
                _ => {}
            }
        }
        self.stack.pop();
        Ok(())
    }

    fn file(&mut self, id: Oid, repo_path: &Path, rel: &Path) -> Result<(), TreeError> {
        if !self.in_folder && !self.filter.wants_file(rel) {
            return Ok(());
        }
        let blob = self
            .repo
            .find_blob(id)
            .map_err(|e| err(repo_path, e.message()))?;
        self.budget
            .admit(blob.size() as u64)
            .map_err(|r| err(repo_path, r))?;
        if self.in_folder {
            self.out.tree.push(TreeFile {
                path: rel.to_path_buf(),
                bytes: blob.content().to_vec(),
            });
            return Ok(());
        }
        let content = String::from_utf8(blob.content().to_vec())
            .map_err(|_| err(repo_path, "not valid UTF-8"))?;
        self.out.files.push(SourceFile {
            path: rel.to_path_buf(),
            content,
        });
        Ok(())
    }

    fn symlink(&mut self, id: Oid, repo_path: &Path, rel: &Path) -> Result<(), TreeError> {
        let mut link_path = repo_path.to_path_buf();
        let mut target_id = id;
        for _ in 0..MAX_LINK_HOPS {
            let target = blob_text(self.repo, target_id, &link_path)?;
            let resolved = resolve_link(&link_path, &target)?;
            let entry = self
                .root
                .get_path(&resolved)
                .map_err(|_| err(&link_path, format!("broken symlink to {target}")))?;
            match entry.kind() {
                Some(ObjectType::Tree) => {
                    if !self.in_folder && !self.filter.enter_dir(rel) {
                        return Ok(());
                    }
                    let sub = self
                        .repo
                        .find_tree(entry.id())
                        .map_err(|e| err(&resolved, e.message()))?;
                    return self.tree(&sub, &resolved, rel);
                }
                Some(ObjectType::Blob) if entry.filemode() == SYMLINK_MODE => {
                    link_path = resolved;
                    target_id = entry.id();
                }
                Some(ObjectType::Blob) => return self.file(entry.id(), &resolved, rel),
                _ => return Ok(()),
            }
        }
        Err(err(repo_path, "too many levels of symlinks"))
    }
}

/// Where a symlink at `link` pointing to `target` leads, inside the repository.
fn resolve_link(link: &Path, target: &str) -> Result<PathBuf, TreeError> {
    let target_path = Path::new(target);
    if target_path.is_absolute() {
        return Err(err(
            link,
            format!("absolute symlink to {target} is not allowed"),
        ));
    }
    let mut parts: Vec<&std::ffi::OsStr> = link
        .parent()
        .map(|p| p.iter().collect())
        .unwrap_or_default();
    for c in target_path.components() {
        match c {
            Component::Normal(n) => parts.push(n),
            Component::CurDir => {}
            Component::ParentDir => {
                if parts.pop().is_none() {
                    return Err(err(
                        link,
                        format!("symlink to {target} leaves the repository"),
                    ));
                }
            }
            _ => return Err(err(link, format!("symlink to {target} is not allowed"))),
        }
    }
    Ok(parts.iter().collect())
}

fn blob_text(repo: &Repository, id: Oid, path: &Path) -> Result<String, TreeError> {
    let blob = repo.find_blob(id).map_err(|e| err(path, e.message()))?;
    String::from_utf8(blob.content().to_vec()).map_err(|_| err(path, "not valid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subpaths_must_stay_inside() {
        assert_eq!(
            check_subpath("clusters/prod/").unwrap(),
            PathBuf::from("clusters/prod")
        );
        assert_eq!(check_subpath("./a").unwrap(), PathBuf::from("a"));
        assert_eq!(check_subpath("").unwrap(), PathBuf::new());
        assert!(check_subpath("../other").is_err());
        assert!(check_subpath("a/../../b").is_err());
    }

    #[test]
    fn links_resolve_inside_the_repository_only() {
        assert_eq!(
            resolve_link(Path::new("a/b/link"), "../c/x.yaml").unwrap(),
            PathBuf::from("a/c/x.yaml")
        );
        assert_eq!(
            resolve_link(Path::new("link"), "./base").unwrap(),
            PathBuf::from("base")
        );
        assert!(
            resolve_link(Path::new("a/link"), "../../etc/passwd")
                .unwrap_err()
                .reason
                .contains("leaves the repository")
        );
        assert!(
            resolve_link(Path::new("link"), "/etc/passwd")
                .unwrap_err()
                .reason
                .contains("absolute")
        );
    }
}
