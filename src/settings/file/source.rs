//! A set's source from the config file: a directory, Git with credentials from files, or an OCI
//! artifact; how its kustomizations and charts render, and where remote charts may come from.

use super::schema::{DecryptionConfig, GitConfig, RemoteConfig, RenderConfig, SourceConfig};
use super::{AgentLevel, Builder};
use crate::error::Result;
use crate::inventory::SetName;
use crate::remote::{HostAuth, RemoteOptions};
use crate::render::Decryption;
use crate::render::renderers::{RenderOptions, Tools};
use crate::source::git::{GitAuth, GitSource, GitSpec, GitUrl, SecretText};
use crate::source::oci::OciSource;
use crate::source::{FilterSpec, Source, SourceOptions};

use std::path::PathBuf;

use serde_saphyr::Spanned;

impl Builder<'_> {
    pub(super) fn source(
        &self,
        config: Spanned<SourceConfig>,
        set: &SetName,
        agent: &AgentLevel,
    ) -> Result<(Source, SourceOptions, RenderOptions)> {
        let line = config.referenced.line();
        let config = config.value;
        let mut options = SourceOptions {
            filter: FilterSpec {
                include: config.include,
                exclude: config.exclude,
            },
            ..SourceOptions::default()
        };
        if let Some(t) = &config.fetch_timeout {
            options.fetch_timeout = self.duration(t, "fetchTimeout")?;
        }
        let mut render = self.render(config.render, agent, line)?;
        render.remote = self.remote(config.remote, set, agent)?;
        render.remote.timeout = options.fetch_timeout;
        let source = match (config.git, config.directory, config.oci) {
            (Some(git), None, None) => self.git(git, set, agent)?,
            (None, Some(dir), None) => Source::Dir(dir),
            (None, None, Some(oci)) => {
                let line = oci.url.referenced.line();
                let remote = render.remote.clone();
                match OciSource::new(&oci.url.value, &oci.path, oci.layer_media_type, remote) {
                    Ok(oci) => Source::Oci(Box::new(oci)),
                    Err(e) => return self.fail(line, e),
                }
            }
            _ => {
                return self.fail(
                    line,
                    "a source is one of `git:`, `directory:` or `oci:`, not several or none",
                );
            }
        };
        Ok((source, options, render))
    }

    /// `remote:`: the hosts charts and artifacts may come from, and credentials from files
    /// (mounted Secrets, read at every fetch: one missing now is a warning).
    fn remote(
        &self,
        config: RemoteConfig,
        set: &SetName,
        agent: &AgentLevel,
    ) -> Result<RemoteOptions> {
        let warn = |key: &str, file: &Spanned<PathBuf>| {
            if let Err(e) = std::fs::metadata(&file.value) {
                let line = file.referenced.line();
                tracing::warn!(set = %set, "{key} {}: {e} (line {line}); fetches that need it fail until it is readable", file.value.display());
            }
        };
        let mut auth = Vec::new();
        for entry in config.auth {
            let files = [
                ("usernameFile", &entry.username_file),
                ("passwordFile", &entry.password_file),
                ("tokenFile", &entry.token_file),
            ];
            files
                .iter()
                .filter_map(|(key, f)| f.as_ref().map(|f| (key, f)))
                .for_each(|(key, f)| warn(key, f));
            let value = |f: Option<Spanned<PathBuf>>| f.map(|f| f.value);
            auth.push(HostAuth {
                host: entry.host.to_ascii_lowercase(),
                username_file: value(entry.username_file),
                password_file: value(entry.password_file),
                token_file: value(entry.token_file),
            });
        }
        if let Some(file) = &config.registry_config {
            warn("registryConfig", file);
        }
        config.ca_files.iter().for_each(|f| warn("caFiles", f));
        Ok(RemoteOptions {
            hosts: config
                .hosts
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            registry_config_required: config.registry_config.is_some(),
            registry_config: config.registry_config.map(|f| f.value),
            auth,
            ca_files: config.ca_files.into_iter().map(|f| f.value).collect(),
            // One cache per set, as for Git.
            cache_dir: agent.cache_dir.join(set.to_string()).join("remote"),
            ..RemoteOptions::default()
        })
    }

    /// `render:`, with the agent's binaries over the set's.
    fn render(&self, config: RenderConfig, agent: &AgentLevel, line: u64) -> Result<RenderOptions> {
        if config.helm.repo.is_some()
            || config.helm.chart.is_some()
            || config.helm.version.is_some()
        {
            return self.fail(
                line,
                "render.helm: repo, chart and version name one chart: write them in its folder's \
                 driftless-helm.yaml, in the source",
            );
        }
        let mut render = RenderOptions {
            tools: Tools {
                helm: agent.tools.helm.clone().or(config.helm_binary),
                kustomize: agent.tools.kustomize.clone().or(config.kustomize_binary),
            },
            allow_remote_bases: config.allow_remote_bases,
            kustomize_enable_helm: config.kustomize_enable_helm,
            helm: config.helm,
            ..RenderOptions::default()
        };
        if let Some(t) = &config.timeout {
            render.timeout = self.duration(t, "render.timeout")?;
        }
        Ok(render)
    }

    /// `decryption:`: SOPS with an age key file, mounted from a Secret (read at every render,
    /// so one missing now is a warning, and renders that need it fail until it appears).
    pub(super) fn decryption(
        &self,
        config: Option<Spanned<DecryptionConfig>>,
        set: &SetName,
    ) -> Result<Decryption> {
        let Some(config) = config.map(|c| c.value) else {
            return Ok(Decryption::default());
        };
        if config.provider.value != "sops" {
            return self.fail(
                config.provider.referenced.line(),
                format!(
                    "decryption.provider {:?}: the one provider is sops",
                    config.provider.value
                ),
            );
        }
        let file = config.age_key_file;
        if let Err(e) = std::fs::metadata(&file.value) {
            let line = file.referenced.line();
            tracing::warn!(set = %set, "ageKeyFile {}: {e} (line {line}); renders of SOPS files fail until it is readable", file.value.display());
        }
        Ok(Decryption {
            age_key_files: vec![file.value],
            kinds: config.kinds,
            sealed_without_key: false,
        })
    }

    fn git(&self, config: GitConfig, set: &SetName, agent: &AgentLevel) -> Result<Source> {
        let line = config.url.referenced.line();
        let Some(url) = GitUrl::parse(&config.url.value) else {
            return self.fail(
                line,
                format!(
                    "{:?} is not a Git URL (https://, ssh://, git@host:path, file://)",
                    config.url.value
                ),
            );
        };
        if url.has_password() {
            return self.fail(line, "the URL holds a password: put it in a file mounted from a Secret, and name it in tokenFile");
        }
        // Credential files come from Secrets mounted later or rotated: one missing now is a
        // warning, and each fetch that needs it fails (reported) until it appears.
        for (key, file) in [
            ("tokenFile", &config.token_file),
            ("sshKeyFile", &config.ssh_key_file),
            ("sshPassphraseFile", &config.ssh_passphrase_file),
            ("knownHostsFile", &config.known_hosts_file),
        ] {
            if let Some(file) = file
                && let Err(e) = std::fs::metadata(&file.value)
            {
                let line = file.referenced.line();
                tracing::warn!(set = %set, "{key} {}: {e} (line {line}); fetches fail until it is readable", file.value.display());
            }
        }
        let value = |file: Option<Spanned<PathBuf>>| file.map(|f| f.value);
        let auth = GitAuth {
            username: config.username,
            token: value(config.token_file).map(SecretText::File),
            ssh_key: value(config.ssh_key_file),
            ssh_passphrase: value(config.ssh_passphrase_file).map(SecretText::File),
            known_hosts: value(config.known_hosts_file),
            insecure_skip_host_key_check: config.insecure_skip_host_key_check,
        };
        // One cache per set: two sets of one repository never share a working lock.
        let cache_dir = agent.cache_dir.join(set.to_string());
        Ok(Source::Git(Box::new(GitSource::new(GitSpec {
            url,
            revision: config.revision,
            path: config.path,
            auth,
            cache_dir,
        }))))
    }
}
