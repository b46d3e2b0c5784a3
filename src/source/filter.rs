//! Which files of a source are manifests: hidden paths skipped, `.driftlessignore` (gitignore
//! syntax) honoured, `--include` / `--exclude` globs applied, and size limits enforced.

use std::path::Path;

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use ignore::gitignore::{Gitignore, GitignoreBuilder};

use super::MANIFEST_EXTENSIONS;

/// The ignore file read from a source's root.
pub const IGNORE_FILE: &str = ".driftlessignore";

/// Bounds on what one revision may hold, so a hostile or broken repository cannot exhaust memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_file_bytes: u64,
    pub max_total_bytes: u64,
    pub max_files: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // Large CRD bundles reach a few MiB per file; nothing legitimate comes near these. A
        // platform of 50,000 objects, one per file, fits; the bytes bound the memory.
        Limits {
            max_file_bytes: 8 << 20,
            max_total_bytes: 128 << 20,
            max_files: 100_000,
        }
    }
}

/// What the user asked to read: globs matched against paths relative to the source root.
#[derive(Debug, Clone, Default)]
pub struct FilterSpec {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

/// A compiled filter for one source root.
pub struct Filter {
    include: Option<GlobSet>,
    exclude: GlobSet,
    ignore: Gitignore,
}

impl Filter {
    /// Compiles the globs and the ignore file's content (if the source has one).
    pub fn new(spec: &FilterSpec, ignore_file: Option<&str>) -> Result<Filter, String> {
        let include = if spec.include.is_empty() {
            None
        } else {
            Some(glob_set(&spec.include)?)
        };
        let exclude = glob_set(&spec.exclude)?;
        let mut builder = GitignoreBuilder::new("");
        for (n, line) in ignore_file.unwrap_or_default().lines().enumerate() {
            builder
                .add_line(None, line)
                .map_err(|e| format!("{IGNORE_FILE}:{}: {e}", n + 1))?;
        }
        let ignore = builder.build().map_err(|e| format!("{IGNORE_FILE}: {e}"))?;
        Ok(Filter {
            include,
            exclude,
            ignore,
        })
    }

    /// Whether to descend into a directory (relative path).
    pub fn enter_dir(&self, rel: &Path) -> bool {
        !is_hidden(rel) && !self.ignore.matched(rel, true).is_ignore()
    }

    /// Whether a file (relative path) is a manifest to read.
    pub fn wants_file(&self, rel: &Path) -> bool {
        is_manifest(rel) && self.wants_folder(rel)
    }

    /// Whether the folder holding `marker` (its kustomization or Chart.yaml, a relative path) is
    /// to be rendered: the marker is matched as a manifest file would be.
    pub fn wants_folder(&self, marker: &Path) -> bool {
        if is_hidden(marker)
            || self
                .ignore
                .matched_path_or_any_parents(marker, false)
                .is_ignore()
        {
            return false;
        }
        if self
            .include
            .as_ref()
            .is_some_and(|inc| !inc.is_match(marker))
        {
            return false;
        }
        !self.exclude.is_match(marker)
    }
}

fn glob_set(globs: &[String]) -> Result<GlobSet, String> {
    let mut set = GlobSetBuilder::new();
    for g in globs {
        let glob: Glob = GlobBuilder::new(g)
            .literal_separator(true)
            .build()
            .map_err(|e| format!("invalid glob {g:?}: {e}"))?;
        set.add(glob);
    }
    set.build().map_err(|e| e.to_string())
}

fn is_hidden(rel: &Path) -> bool {
    rel.components()
        .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
}

fn is_manifest(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| MANIFEST_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Counts what a source has read and refuses what goes over the limits.
#[derive(Debug)]
pub struct Budget {
    limits: Limits,
    files: usize,
    bytes: u64,
}

impl Budget {
    pub fn new(limits: Limits) -> Budget {
        Budget {
            limits,
            files: 0,
            bytes: 0,
        }
    }

    /// Accounts for one file of `size` bytes, or says which limit it breaks.
    pub fn admit(&mut self, size: u64) -> Result<(), String> {
        let l = self.limits;
        if size > l.max_file_bytes {
            return Err(format!(
                "file is {size} bytes, over the limit of {} per file",
                l.max_file_bytes
            ));
        }
        if self.files + 1 > l.max_files {
            return Err(format!("more than {} manifest files", l.max_files));
        }
        if self.bytes + size > l.max_total_bytes {
            return Err(format!(
                "manifests exceed the limit of {} bytes in total",
                l.max_total_bytes
            ));
        }
        self.files += 1;
        self.bytes += size;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(include: &[&str], exclude: &[&str], ignore: &str) -> Filter {
        let spec = FilterSpec {
            include: include.iter().map(|s| s.to_string()).collect(),
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
        };
        Filter::new(&spec, Some(ignore)).unwrap()
    }

    #[test]
    fn hidden_and_non_manifests_are_skipped() {
        let f = filter(&[], &[], "");
        assert!(f.wants_file(Path::new("a/b.yaml")) && f.wants_file(Path::new("c.JSON")));
        assert!(!f.wants_file(Path::new(".github/workflows/ci.yaml")));
        assert!(!f.wants_file(Path::new("a/.hidden.yaml")));
        assert!(!f.wants_file(Path::new("README.md")));
        assert!(!f.enter_dir(Path::new(".git")));
    }

    #[test]
    fn ignore_file_uses_gitignore_syntax() {
        let f = filter(
            &[],
            &[],
            "# comment\nstaging/\n*.tmp.yaml\n!keep.tmp.yaml\n",
        );
        assert!(!f.enter_dir(Path::new("staging")));
        assert!(!f.wants_file(Path::new("staging/x.yaml")));
        assert!(!f.wants_file(Path::new("a/draft.tmp.yaml")));
        assert!(f.wants_file(Path::new("a/keep.tmp.yaml")));
        assert!(f.wants_file(Path::new("prod/x.yaml")));
    }

    #[test]
    fn include_and_exclude_globs() {
        let f = filter(&["mlops-*/**"], &["**/secrets.yaml"], "");
        assert!(f.wants_file(Path::new("mlops-platform/mlflow.yaml")));
        assert!(!f.wants_file(Path::new("mlops-platform/secrets.yaml")));
        assert!(!f.wants_file(Path::new("namespaces.yaml")));
        let spec = FilterSpec {
            include: vec!["[".into()],
            exclude: vec![],
        };
        assert!(
            Filter::new(&spec, None)
                .err()
                .unwrap()
                .contains("invalid glob")
        );
    }

    #[test]
    fn budget_enforces_each_limit() {
        let mut b = Budget::new(Limits {
            max_file_bytes: 10,
            max_total_bytes: 15,
            max_files: 2,
        });
        assert!(b.admit(11).unwrap_err().contains("per file"));
        b.admit(10).unwrap();
        assert!(b.admit(6).unwrap_err().contains("in total"));
        b.admit(5).unwrap();
        assert!(b.admit(0).unwrap_err().contains("more than 2"));
    }
}
