//! Real Git servers (nginx + git http-backend over http/https, OpenSSH's sshd) started once per
//! test process by `scripts/git-testenv`, and throwaway repositories to commit to.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::{Run, unique};

pub struct GitServers {
    env: HashMap<String, String>,
}

static SERVERS: OnceLock<GitServers> = OnceLock::new();

/// The shared servers, started on first use and stopped when this process exits.
pub fn servers() -> &'static GitServers {
    SERVERS.get_or_init(|| GitServers {
        env: super::start_testenv("git-testenv", "; run `scripts/git-testenv install` first"),
    })
}

impl GitServers {
    pub fn get(&self, key: &str) -> &str {
        self.env
            .get(key)
            .unwrap_or_else(|| panic!("git-testenv env has no {key}"))
    }
    pub fn repos(&self) -> PathBuf {
        PathBuf::from(self.get("GIT_TESTENV_REPOS"))
    }
    pub fn url(&self, scheme_key: &str, repo: &TestRepo) -> String {
        format!("{}/{}", self.get(scheme_key), repo.name)
    }
}

/// A bare repository (the "remote") and a working clone to commit from.
pub struct TestRepo {
    pub name: String,
    pub bare: PathBuf,
    work: tempfile::TempDir,
    _holder: Option<tempfile::TempDir>,
}

/// A global git config that trusts every repository's owner.
fn trusting_config() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let path =
            std::env::temp_dir().join(format!("driftless-test-gitconfig-{}", std::process::id()));
        std::fs::write(&path, "[safe]\n\tdirectory = *\n").expect("write git config");
        path
    })
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=driftless-test",
            "-c",
            "user.email=test@driftless.invalid",
            "-c",
            "init.defaultBranch=main",
        ])
        // Some repositories are handed to another user (a pod's) after they are made. Only a
        // global config trusts them: git drops `-c` options when it runs a local push.
        .env("GIT_CONFIG_GLOBAL", trusting_config())
        .args(args)
        .output()
        .expect("run git");
    Run::from_output(out)
        .succeeded(format_args!("git {args:?}"))
        .trim()
        .to_string()
}

impl TestRepo {
    /// A repository in a temporary folder, for `file://` tests.
    pub fn local() -> TestRepo {
        let holder = tempfile::tempdir().expect("tempdir");
        let mut repo = TestRepo::create(holder.path());
        repo._holder = Some(holder);
        repo
    }

    /// A repository served by the test Git servers.
    pub fn served() -> TestRepo {
        TestRepo::create(&servers().repos())
    }

    fn create(parent: &Path) -> TestRepo {
        let name = format!("{}.git", unique("repo"));
        let bare = parent.join(&name);
        std::fs::create_dir_all(&bare).expect("mkdir");
        git(&bare, &["init", "-q", "--bare"]);
        git(&bare, &["symbolic-ref", "HEAD", "refs/heads/main"]);
        let work = tempfile::tempdir().expect("tempdir");
        git(work.path(), &["init", "-q"]);
        git(work.path(), &["checkout", "-q", "-b", "main"]);
        git(
            work.path(),
            &["remote", "add", "origin", &bare.to_string_lossy()],
        );
        TestRepo {
            name,
            bare,
            work,
            _holder: None,
        }
    }

    pub fn file_url(&self) -> String {
        format!("file://{}", self.bare.display())
    }

    pub fn write(&self, rel: &str, content: &str) {
        let path = self.work.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
    }

    pub fn remove(&self, rel: &str) {
        std::fs::remove_file(self.work.path().join(rel)).expect("remove");
    }

    pub fn symlink(&self, rel: &str, target: &str) {
        std::os::unix::fs::symlink(target, self.work.path().join(rel)).expect("symlink");
    }

    /// Commits everything and pushes `main`; returns the new commit's SHA.
    pub fn commit(&self, message: &str) -> String {
        git(self.work.path(), &["add", "-A"]);
        git(
            self.work.path(),
            &["commit", "-q", "--allow-empty", "-m", message],
        );
        git(
            self.work.path(),
            &["push", "-q", "--force", "origin", "main"],
        );
        git(self.work.path(), &["rev-parse", "HEAD"])
    }

    pub fn tag(&self, name: &str) {
        git(self.work.path(), &["tag", "-a", name, "-m", name]);
        git(self.work.path(), &["push", "-q", "origin", name]);
    }

    /// Rewrites history: the branch goes back to `sha` (a later commit then force-pushes).
    pub fn reset_hard(&self, sha: &str) {
        git(self.work.path(), &["reset", "-q", "--hard", sha]);
    }
}
