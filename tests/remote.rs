//! Charts from Helm repositories and OCI registries, chart dependencies, and OCI artifacts as a
//! source, against the real servers of `support::charts` (docker-registry with TLS and auth,
//! nginx serving `helm repo index` output) and, where objects are applied, the real API server.

mod artifacts;
mod charts;
mod dependencies;
mod polling;
mod preview;

use std::path::{Path, PathBuf};

use crate::support::charts::servers;

/// What a run needs to reach the servers: their CA, credentials in files, and a cache of its
/// own (so no test sees another's).
pub struct Access {
    pub dir: tempfile::TempDir,
}

impl Access {
    pub fn new() -> Access {
        let dir = tempfile::tempdir().unwrap();
        let s = servers();
        // A docker config.json for the registry, as `docker login` writes it.
        let auth = base64_encode(&format!("{}:{}", s.registry_user(), s.registry_password()));
        let config = format!(
            r#"{{"auths": {{"{}": {{"auth": "{auth}"}}}}}}"#,
            s.registry()
        );
        std::fs::write(dir.path().join("config.json"), config).unwrap();
        // The private repository's credentials, as mounted Secrets hold them.
        let private = dir.path().join("private");
        std::fs::create_dir_all(&private).unwrap();
        std::fs::write(private.join("username"), format!("{}\n", s.repo_user())).unwrap();
        std::fs::copy(s.repo_password_file(), private.join("password")).unwrap();
        let bearer = dir.path().join("bearer");
        std::fs::create_dir_all(&bearer).unwrap();
        std::fs::copy(s.repo_token_file(), bearer.join("token")).unwrap();
        Access { dir }
    }

    pub fn cache(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    pub fn registry_config(&self) -> PathBuf {
        self.dir.path().join("config.json")
    }

    /// The flags for the servers' hosts: CA, registry config, the private repository's files,
    /// the cache.
    pub fn args(&self) -> Vec<String> {
        self.args_with_config(&self.registry_config())
    }

    /// [`Self::args`] with another registry config.
    pub fn args_with_config(&self, config: &Path) -> Vec<String> {
        let s = servers();
        let https_host = host_of(s.repo_url());
        vec![
            "--remote-ca-file".into(),
            s.ca().display().to_string(),
            "--registry-config".into(),
            config.display().to_string(),
            "--cache-dir".into(),
            self.cache().display().to_string(),
            "--allow-host".into(),
            format!("{https_host},{}", s.registry()),
        ]
    }

    /// [`Self::args`] with the files for the private (basic auth) repository.
    pub fn args_private(&self) -> Vec<String> {
        self.args_with_auth("private")
    }

    /// [`Self::args`] with the token for the bearer repository.
    pub fn args_bearer(&self) -> Vec<String> {
        self.args_with_auth("bearer")
    }

    /// [`Self::args`] with `--remote-auth` naming the files in `dir/files`.
    fn args_with_auth(&self, files: &str) -> Vec<String> {
        let mut args = self.args();
        let host = host_of(servers().repo_url());
        args.push("--remote-auth".into());
        args.push(format!("{host}={}", self.dir.path().join(files).display()));
        args
    }
}

/// `127.0.0.1:PORT` of `https://127.0.0.1:PORT/...`.
pub fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap().to_string()
}

pub fn base64_encode(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// `args` as `&str`s, for `support::driftless`.
pub fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// A source folder holding `files` (path, content).
pub fn source(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_all(dir.path(), files);
    dir
}

pub fn write_all(dir: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
}

/// A ConfigMap named NAME in NAMESPACE holding `value`.
pub fn configmap(namespace: &str, name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {namespace}\ndata:\n  value: {value}\n"
    )
}
