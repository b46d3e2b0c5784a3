//! Flags for where manifests come from: a directory or Git, the renderers, and an offline base.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::render::Decryption;
use crate::render::renderers::{HelmSettings, RenderOptions, Tools};
use crate::settings::default_cache_dir;
pub use crate::settings::parse_duration;
use crate::source::git::{GitAuth, GitSpec, SecretText};
use crate::source::{FilterSpec, Limits, Source, SourceOptions};

/// Where the manifests come from, and how to read them.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// A directory (or file) of manifests, or a Git URL: https://, http://, ssh://,
    /// git@host:org/repo.git, file://.
    #[arg(long, env = "DRIFTLESS_SOURCE")]
    pub source: String,
    /// Git: branch, tag or commit SHA (default: the remote's default branch).
    #[arg(long, env = "DRIFTLESS_REVISION")]
    pub revision: Option<String>,
    /// Git: the directory inside the repository that holds the manifests.
    #[arg(long, env = "DRIFTLESS_PATH", default_value = "")]
    pub path: String,
    /// Git: where cache clones live (default: ~/.cache/driftless/git).
    #[arg(long, env = "DRIFTLESS_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Git over https: user name for the token (default: git).
    #[arg(long, env = "DRIFTLESS_GIT_USERNAME")]
    pub git_username: Option<String>,
    /// Git over https: file holding the token or password (or set DRIFTLESS_GIT_TOKEN).
    #[arg(long, env = "DRIFTLESS_GIT_TOKEN_FILE")]
    pub git_token_file: Option<PathBuf>,
    /// Git over ssh: private key file.
    #[arg(long, env = "DRIFTLESS_GIT_SSH_KEY_FILE")]
    pub git_ssh_key_file: Option<PathBuf>,
    /// Git over ssh: file holding the private key's passphrase.
    #[arg(long, env = "DRIFTLESS_GIT_SSH_PASSPHRASE_FILE")]
    pub git_ssh_passphrase_file: Option<PathBuf>,
    /// Git over ssh: known_hosts file to check the server's host key against
    /// (default: ~/.ssh/known_hosts).
    #[arg(long, env = "DRIFTLESS_GIT_KNOWN_HOSTS_FILE")]
    pub git_known_hosts_file: Option<PathBuf>,
    /// Git over ssh: accept any host key. Unsafe: for throwaway test setups only.
    #[arg(long)]
    pub git_insecure_skip_host_key_check: bool,
    /// Only read files matching these globs (relative to the source root; repeatable).
    #[arg(long)]
    pub include: Vec<String>,
    /// Skip files matching these globs (repeatable).
    #[arg(long)]
    pub exclude: Vec<String>,
    /// How long reading one revision may take (a Git remote that stops answering).
    #[arg(long, env = "DRIFTLESS_FETCH_TIMEOUT", default_value = "2m", value_parser = parse_duration)]
    pub fetch_timeout: Duration,
    /// Largest manifest file, in bytes.
    #[arg(long, default_value_t = Limits::default().max_file_bytes)]
    pub max_file_size: u64,
    /// Most manifest bytes in one revision.
    #[arg(long, default_value_t = Limits::default().max_total_bytes)]
    pub max_total_size: u64,
    #[command(flatten)]
    pub renderers: RendererArgs,
}

/// Kustomizations and Helm charts in the source: which binaries render them, and how.
#[derive(Debug, Clone, Args)]
pub struct RendererArgs {
    /// helm binary for charts (default: helm on PATH).
    #[arg(long, env = "DRIFTLESS_HELM_BINARY")]
    pub helm_binary: Option<PathBuf>,
    /// kustomize binary, or a kubectl binary to run as `kubectl kustomize` (default: kustomize
    /// on PATH, else kubectl).
    #[arg(long, env = "DRIFTLESS_KUSTOMIZE_BINARY")]
    pub kustomize_binary: Option<PathBuf>,
    /// Let kustomize fetch remote bases and charts (it fetches arbitrary URLs).
    #[arg(long, env = "DRIFTLESS_ALLOW_REMOTE_BASES")]
    pub allow_remote_bases: bool,
    /// Let kustomize render the helmCharts of a kustomization (with --helm-binary's helm).
    #[arg(long)]
    pub kustomize_enable_helm: bool,
    /// How long one render may take (`60s`, `2m`).
    #[arg(long, env = "DRIFTLESS_RENDER_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub render_timeout: Duration,
    /// Charts: release name (default: the chart folder's name), over driftless-helm.yaml's.
    #[arg(long)]
    pub helm_release: Option<String>,
    /// Charts: release namespace, over driftless-helm.yaml's.
    #[arg(long)]
    pub helm_namespace: Option<String>,
    /// Charts: a values file of the chart folder, after driftless-helm.yaml's (repeatable).
    #[arg(long)]
    pub helm_values: Vec<String>,
    /// Charts: a value (key=value, as helm --set), after driftless-helm.yaml's (repeatable).
    #[arg(long)]
    pub helm_set: Vec<String>,
    /// SOPS: an age key file (`AGE-SECRET-KEY-1...` lines) that opens the source's encrypted
    /// files, read at every render (repeatable; default: ~/.config/sops/age/keys.txt, as sops).
    #[arg(long, env = "SOPS_AGE_KEY_FILE", value_name = "FILE")]
    pub sops_age_key_file: Vec<PathBuf>,
    /// SOPS: a kind besides Secret that a decrypted document may be (repeatable).
    #[arg(long, value_name = "KIND")]
    pub sops_kinds: Vec<String>,
}

impl RendererArgs {
    /// The render settings; `max_output`: the most one render may print.
    pub fn options(&self, max_output: u64) -> RenderOptions {
        RenderOptions {
            tools: Tools {
                helm: self.helm_binary.clone(),
                kustomize: self.kustomize_binary.clone(),
            },
            allow_remote_bases: self.allow_remote_bases,
            kustomize_enable_helm: self.kustomize_enable_helm,
            timeout: self.render_timeout,
            max_output,
            helm: HelmSettings {
                release_name: self.helm_release.clone(),
                namespace: self.helm_namespace.clone(),
                values_files: self.helm_values.clone(),
                set: self.helm_set.clone(),
                ..HelmSettings::default()
            },
            decryption: Decryption {
                age_key_files: self.age_key_files(),
                kinds: self.sops_kinds.clone(),
                sealed_without_key: false,
            },
            ..RenderOptions::default()
        }
    }

    /// The key files given, else sops's own default when it exists.
    fn age_key_files(&self) -> Vec<PathBuf> {
        if !self.sops_age_key_file.is_empty() {
            return self.sops_age_key_file.clone();
        }
        let config = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
        config
            .map(|c| c.join("sops/age/keys.txt"))
            .filter(|p| p.is_file())
            .into_iter()
            .collect()
    }
}

impl SourceArgs {
    /// The configured source. Credential files are read at every fetch (never printed); they
    /// must be readable now.
    pub fn source(&self) -> Result<Source, String> {
        let secret_file =
            |path: &Option<PathBuf>, what: &str| -> Result<Option<SecretText>, String> {
                let Some(path) = path else { return Ok(None) };
                let secret = SecretText::File(path.clone());
                secret.read().map_err(|e| format!("{what}: {e}"))?;
                Ok(Some(secret))
            };
        let auth = GitAuth {
            username: self.git_username.clone(),
            // A token file wins; else the DRIFTLESS_GIT_TOKEN environment variable (never a flag:
            // flags show in process listings).
            token: secret_file(&self.git_token_file, "--git-token-file")?.or_else(|| {
                std::env::var("DRIFTLESS_GIT_TOKEN")
                    .ok()
                    .filter(|t| !t.is_empty())
                    .map(SecretText::Value)
            }),
            ssh_key: self.git_ssh_key_file.clone(),
            ssh_passphrase: secret_file(
                &self.git_ssh_passphrase_file,
                "--git-ssh-passphrase-file",
            )?,
            known_hosts: self.git_known_hosts_file.clone(),
            insecure_skip_host_key_check: self.git_insecure_skip_host_key_check,
        };
        let cache_dir = self.cache_dir.clone().unwrap_or_else(default_cache_dir);
        Ok(Source::new(&self.source, |url| GitSpec {
            url,
            revision: self.revision.clone(),
            path: self.path.clone(),
            auth,
            cache_dir,
        }))
    }

    pub fn options(&self) -> SourceOptions {
        SourceOptions {
            limits: Limits {
                max_file_bytes: self.max_file_size,
                max_total_bytes: self.max_total_size,
                ..Limits::default()
            },
            filter: FilterSpec {
                include: self.include.clone(),
                exclude: self.exclude.clone(),
            },
            fetch_timeout: self.fetch_timeout,
        }
    }

    /// How kustomizations and charts render: one render prints at most what a revision holds.
    pub fn render_options(&self) -> RenderOptions {
        self.renderers.options(self.max_total_size)
    }
}

/// What an offline preview compares with. Either makes `diff` render both revisions and compare
/// them with no cluster at all.
#[derive(Debug, Clone, Args)]
pub struct BaseArgs {
    /// Preview offline: compare with this revision (a Git branch, tag or commit) of the source,
    /// or of --base-source.
    #[arg(long, env = "DRIFTLESS_BASE")]
    pub base: Option<String>,
    /// Preview offline: compare with this source (a directory, or a Git URL; with --base as its
    /// revision).
    #[arg(long, env = "DRIFTLESS_BASE_SOURCE")]
    pub base_source: Option<String>,
}

impl BaseArgs {
    pub fn is_set(&self) -> bool {
        self.base.is_some() || self.base_source.is_some()
    }

    /// The base source: --base-source, or the source itself, at --base. The Git flags of the
    /// source (credentials, --path, cache) apply to both.
    pub fn source(&self, head: &SourceArgs) -> Result<Option<Source>, String> {
        if !self.is_set() {
            return Ok(None);
        }
        let mut args = head.clone();
        if let Some(spec) = &self.base_source {
            args.source = spec.clone();
        }
        args.revision = self.base.clone();
        let source = args.source()?;
        if matches!(source, Source::Dir(_)) && self.base.is_some() {
            return Err(format!(
                "--base names a Git revision, and {} is a directory: compare two directories with --base-source DIR",
                source.describe()
            ));
        }
        Ok(Some(source))
    }
}

impl SourceArgs {
    /// Where the source root sits in its repository, for code scanning (SARIF paths are from
    /// the repository root): a Git source's --path; a relative directory as given, or a
    /// relative file's directory. An absolute path, or one with `..`, gives no prefix (run
    /// from the repository root with a relative --source).
    pub fn lint_root(&self) -> String {
        use std::path::{Component, Path};
        if crate::source::git::GitUrl::parse(&self.source).is_some() {
            return self.path.trim_matches('/').to_string();
        }
        let given = Path::new(&self.source);
        let dir = match given.is_file() {
            true => given.parent().unwrap_or(Path::new("")),
            false => given,
        };
        let mut parts = Vec::new();
        for part in dir.components() {
            match part {
                Component::Normal(name) => parts.push(name.to_string_lossy()),
                Component::CurDir => {}
                Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                    return String::new();
                }
            }
        }
        parts.join("/")
    }
}
