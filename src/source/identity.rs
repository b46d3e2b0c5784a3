//! A source's identity: which repository and folder a sync set's objects come from, written the
//! same however the source is reached. A set records it on its inventories, so a second source
//! under the same set name is refused before it can prune the first one's objects.
//!
//! `https://github.com/acme/platform.git`, `git@github.com:acme/platform` and a checkout of it
//! are one repository: `github.com/acme/platform`. A folder inside it follows after `//` (as
//! kustomize and Terraform write a repository's subfolder): `github.com/acme/platform//clusters/prod`.
//! A directory that is no checkout with an `origin` remote is its absolute path.

use std::fmt;
use std::path::Path;

use super::Source;
use super::git::{GitUrl, Transport};

/// Where a source's manifests come from, independent of transport, credentials and checkout.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId(String);

impl SourceId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An identity as a set's records hold it.
    pub fn recorded(text: &str) -> SourceId {
        SourceId(text.to_string())
    }

    /// A repository and a folder in it.
    fn repository(url: &GitUrl, path: &str) -> SourceId {
        let repo = canonical_url(url);
        match path.trim_matches('/') {
            "" => SourceId(repo),
            path => SourceId(format!("{repo}//{path}")),
        }
    }

    /// An OCI artifact's repository (`oci://host/repository`, without tag or digest: a new tag
    /// is a new revision of the same source), and a folder in it.
    fn artifact(repository: &str, path: &str) -> SourceId {
        match path {
            "" => SourceId(format!("oci://{repository}")),
            path => SourceId(format!("oci://{repository}//{path}")),
        }
    }

    /// A local directory: the repository it is checked out from (its `origin`), else its path.
    fn directory(dir: &Path) -> SourceId {
        let absolute = dir
            .canonicalize()
            .or_else(|_| std::path::absolute(dir))
            .unwrap_or_else(|_| dir.to_path_buf());
        if let Some(id) = checkout_of(&absolute) {
            return id;
        }
        SourceId(absolute.display().to_string())
    }
}

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Source {
    /// This source's identity (see the module docs). Reads a directory's Git metadata, if any.
    pub fn identity(&self) -> SourceId {
        match self {
            Source::Dir(dir) => SourceId::directory(dir),
            Source::Git(git) => SourceId::repository(git.url(), git.path()),
            Source::Oci(oci) => SourceId::artifact(&oci.repository(), oci.path()),
        }
    }
}

/// `host[:port]/path` without scheme, user, `.git` or trailing slashes; a local repository
/// keeps its `file://` path.
fn canonical_url(url: &GitUrl) -> String {
    let raw = url.redacted();
    if url.transport() == Transport::Local {
        let path = raw.strip_prefix("file://").unwrap_or(&raw);
        return format!("file://{}", trim_repo(path));
    }
    let (host, path) = match raw.split_once("://") {
        Some((_, rest)) => rest.split_once('/').unwrap_or((rest, "")),
        // scp-like `host:path` (the user is already gone).
        None => raw.split_once(':').unwrap_or((raw.as_str(), "")),
    };
    let host = host.rsplit('@').next().unwrap_or(host).to_ascii_lowercase();
    // Default ports name the same server as none.
    let host = ["443", "80", "22"]
        .iter()
        .find_map(|p| host.strip_suffix(&format!(":{p}")))
        .unwrap_or(&host);
    format!("{host}/{}", trim_repo(path.trim_start_matches('/')))
}

fn trim_repo(path: &str) -> &str {
    let path = path.trim_end_matches('/');
    path.strip_suffix(".git").unwrap_or(path)
}

/// The identity of `dir` as a folder of a Git checkout whose `origin` is a remote URL.
fn checkout_of(dir: &Path) -> Option<SourceId> {
    // Opening libgit2 starts OpenSSL (~2.5 MiB resident): not for a directory no checkout holds.
    if !dir.ancestors().any(|d| d.join(".git").exists()) {
        return None;
    }
    let repo = git2::Repository::discover(dir).ok()?;
    let workdir = repo.workdir()?.canonicalize().ok()?;
    let remote = repo.find_remote("origin").ok()?;
    let url = GitUrl::parse(remote.url().ok()?)?;
    let inside = dir.strip_prefix(&workdir).ok()?;
    let inside: Vec<String> = inside
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(SourceId::repository(&url, &inside.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(url: &str, path: &str) -> String {
        SourceId::repository(&GitUrl::parse(url).unwrap(), path).to_string()
    }

    #[test]
    fn one_repository_however_it_is_reached() {
        let want = "github.com/acme/platform//clusters/prod";
        for url in [
            "https://github.com/acme/platform.git",
            "https://bot:token@GitHub.com/acme/platform/",
            "git@github.com:acme/platform.git",
            "ssh://git@github.com:22/acme/platform",
            "http://github.com:80/acme/platform.git",
        ] {
            assert_eq!(git(url, "/clusters/prod/"), want, "{url}");
        }
        assert_eq!(
            git("https://git.example.com:8443/p.git", ""),
            "git.example.com:8443/p"
        );
        assert_eq!(
            git("file:///srv/repos/p.git", "a"),
            "file:///srv/repos/p//a"
        );
        assert_ne!(
            git("https://github.com/acme/platform", "a"),
            git("https://github.com/acme/platform", "b")
        );
    }

    #[test]
    fn a_directory_is_its_checkout_or_its_path() {
        let tmp = tempfile::tempdir().unwrap();
        let plain = tmp.path().join("plain");
        std::fs::create_dir_all(&plain).unwrap();
        let id = Source::Dir(plain.clone()).identity();
        assert_eq!(id.as_str(), plain.canonicalize().unwrap().to_str().unwrap());

        let checkout = tmp.path().join("checkout");
        let repo = git2::Repository::init(&checkout).unwrap();
        repo.remote("origin", "git@github.com:acme/platform.git")
            .unwrap();
        let prod = checkout.join("clusters/prod");
        std::fs::create_dir_all(&prod).unwrap();
        assert_eq!(
            Source::Dir(prod).identity().as_str(),
            "github.com/acme/platform//clusters/prod"
        );
        assert_eq!(
            Source::Dir(checkout.clone()).identity().as_str(),
            "github.com/acme/platform"
        );

        // A linked worktree: its `.git` is a file naming the repository's.
        let sig = git2::Signature::now("t", "t@example.com").unwrap();
        let tree = repo
            .find_tree(repo.index().unwrap().write_tree().unwrap())
            .unwrap();
        repo.commit(Some("HEAD"), &sig, &sig, "init", &tree, &[])
            .unwrap();
        let linked = tmp.path().join("linked");
        repo.worktree("linked", &linked, None).unwrap();
        assert!(linked.join(".git").is_file());
        std::fs::create_dir_all(linked.join("clusters")).unwrap();
        assert_eq!(
            Source::Dir(linked.join("clusters")).identity().as_str(),
            "github.com/acme/platform//clusters"
        );
    }
}
