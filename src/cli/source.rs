//! Flags for where manifests come from: a directory, Git or an OCI artifact, charts from
//! repositories, the renderers, and an offline base.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::remote::{
    HostAuth, RemoteOptions, default_cache_dir as remote_cache_dir, default_registry_config,
};
use crate::render::Decryption;
use crate::render::renderers::{HelmSettings, RenderOptions, Tools};
use crate::settings::default_cache_dir;
pub use crate::settings::parse_duration;
use crate::settings::parse_size;
use crate::source::git::{GitAuth, GitSpec, SecretText};
use crate::source::oci::OciSource;
use crate::source::{FilterSpec, Limits, Source, SourceOptions};

/// Where the manifests come from, and how to read them.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// A directory (or file) of manifests, a Git URL (https://, http://, ssh://,
    /// git@host:org/repo.git, file://), or an OCI artifact (oci://HOST/REPOSITORY:TAG or
    /// @sha256:...).
    #[arg(long, env = "DRIFTLESS_SOURCE")]
    pub source: String,
    /// Git: branch, tag or commit SHA (default: the remote's default branch).
    #[arg(long, env = "DRIFTLESS_REVISION")]
    pub revision: Option<String>,
    /// Git, OCI: the directory inside the repository or artifact that holds the manifests.
    #[arg(long, env = "DRIFTLESS_PATH", default_value = "")]
    pub path: String,
    /// Where Git cache clones live, and (in its `remote` folder) fetched charts and artifacts
    /// (default: ~/.cache/driftless/git and ~/.cache/driftless/remote).
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
    /// Largest manifest file (bytes, or with a unit: 512KiB, 8MiB).
    #[arg(long, default_value = "8MiB", value_parser = parse_size)]
    pub max_file_size: u64,
    /// Most bytes in one revision, and in one fetched chart or artifact (bytes, or 128MiB).
    #[arg(long, default_value = "128MiB", value_parser = parse_size)]
    pub max_total_size: u64,
    #[command(flatten)]
    pub renderers: RendererArgs,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// Charts from repositories, chart dependencies and OCI artifacts: which hosts may be asked,
/// and with which credentials.
#[derive(Debug, Clone, Args)]
pub struct RemoteArgs {
    /// A host charts may be fetched from (`charts.example.com`, `registry.local:5000`;
    /// repeatable). An OCI source's own registry needs no naming.
    #[arg(
        long,
        env = "DRIFTLESS_ALLOW_HOSTS",
        value_delimiter = ',',
        value_name = "HOST"
    )]
    pub allow_host: Vec<String>,
    /// A docker config.json with registry and chart repository credentials, as `docker login`
    /// and `helm registry login` write it (default: ~/.docker/config.json).
    #[arg(long, env = "DRIFTLESS_REGISTRY_CONFIG", value_name = "FILE")]
    pub registry_config: Option<PathBuf>,
    /// Credentials for HOST from files in DIR: `username` and `password`, or `token` (a mounted
    /// basic-auth Secret; repeatable).
    #[arg(long, value_name = "HOST=DIR")]
    pub remote_auth: Vec<String>,
    /// A CA certificate (PEM) to trust for chart repositories and registries (repeatable).
    #[arg(long, value_name = "FILE")]
    pub remote_ca_file: Vec<PathBuf>,
    /// OCI source: the media type of the layer holding the manifests (default: Flux's, else
    /// the only tar+gzip layer).
    #[arg(long, value_name = "TYPE")]
    pub oci_layer_media_type: Option<String>,
}

impl RemoteArgs {
    /// The settings for fetching; credential files must be readable now.
    pub fn options(&self, cache_dir: Option<&PathBuf>) -> Result<RemoteOptions, String> {
        let auth = self
            .remote_auth
            .iter()
            .map(|spec| HostAuth::from_dir(spec).map_err(|e| format!("--remote-auth {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let required = self.registry_config.is_some();
        let registry_config = self
            .registry_config
            .clone()
            .or_else(default_registry_config);
        if required
            && let Some(path) = &registry_config
            && !path.is_file()
        {
            return Err(format!(
                "--registry-config {}: no such file",
                path.display()
            ));
        }
        for ca in &self.remote_ca_file {
            if !ca.is_file() {
                return Err(format!("--remote-ca-file {}: no such file", ca.display()));
            }
        }
        Ok(RemoteOptions {
            hosts: self
                .allow_host
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .collect(),
            registry_config,
            registry_config_required: required,
            auth,
            ca_files: self.remote_ca_file.clone(),
            cache_dir: cache_dir.map_or_else(remote_cache_dir, |d| d.join("remote")),
            ..RemoteOptions::default()
        })
    }
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
        if self.source.starts_with("oci://") {
            let remote = self.remote_options()?;
            let layer = self.remote.oci_layer_media_type.clone();
            let oci = OciSource::new(&self.source, &self.path, layer, remote)?;
            return Ok(Source::Oci(Box::new(oci)));
        }
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
    pub fn render_options(&self) -> Result<RenderOptions, String> {
        let mut options = self.renderers.options(self.max_total_size);
        options.remote = self.remote_options()?;
        Ok(options)
    }

    /// How charts and artifacts are fetched: the fetch deadline and size cap of the source.
    pub fn remote_options(&self) -> Result<RemoteOptions, String> {
        let mut options = self.remote.options(self.cache_dir.as_ref())?;
        options.timeout = self.fetch_timeout;
        options.max_bytes = self.max_total_size;
        Ok(options)
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
