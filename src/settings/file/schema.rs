//! The config file as written: what serde reads (strictly: unknown keys are errors), with the
//! line of each value that a later check may need to name.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::settings::HookProvider;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct FileConfig {
    pub(super) api_version: Option<Spanned<String>>,
    pub(super) kind: Option<Spanned<String>>,
    pub(super) listen: Option<Spanned<String>>,
    pub(super) hook_listen: Option<Spanned<String>>,
    pub(super) inventory_namespace: Option<String>,
    pub(super) field_manager: Option<String>,
    pub(super) cache_dir: Option<PathBuf>,
    pub(super) request_timeout: Option<Spanned<String>>,
    /// Serve the read-only dashboard at `/` on `listen`.
    #[serde(default)]
    pub(super) dashboard: bool,
    #[serde(default)]
    pub(super) sets: Vec<Spanned<SetConfig>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct SetConfig {
    pub(super) name: Spanned<String>,
    pub(super) source: Spanned<SourceConfig>,
    pub(super) interval: Option<Spanned<String>>,
    pub(super) timeout: Option<Spanned<String>>,
    /// The namespaces the set manages; none: every namespace its source names.
    #[serde(default)]
    pub(super) namespaces: Vec<String>,
    pub(super) default_namespace: Option<String>,
    #[serde(default)]
    pub(super) prune: PruneConfig,
    #[serde(default)]
    pub(super) adopt: bool,
    /// Move the set to this source although its records name another one.
    #[serde(default)]
    pub(super) take_over_set: bool,
    #[serde(default)]
    pub(super) force_conflicts: bool,
    pub(super) concurrency: Option<Spanned<u16>>,
    pub(super) takeover_managers: Option<Vec<String>>,
    /// Sets this one waits for: it syncs once each has synced everything.
    pub(super) depends_on: Option<Spanned<Vec<String>>>,
    /// Kinds replaced when the server refuses a change as immutable, besides Jobs.
    #[serde(default)]
    pub(super) replace_immutable: Vec<String>,
    #[serde(default)]
    pub(super) namespace_overrides: BTreeMap<String, Spanned<NamespaceOverride>>,
    pub(super) webhook: Option<Spanned<WebhookConfig>>,
    /// Put drifted objects back at once (else at the next pass).
    #[serde(default)]
    pub(super) self_heal: bool,
    pub(super) resync_interval: Option<Spanned<String>>,
    /// How the set's SOPS-encrypted files are opened.
    pub(super) decryption: Option<Spanned<DecryptionConfig>>,
    /// Where the dashboard links a revision: a URL with `{revision}`.
    pub(super) commit_url: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct DecryptionConfig {
    pub(super) provider: Spanned<String>,
    pub(super) age_key_file: Spanned<PathBuf>,
    /// Kinds besides Secret a decrypted document may be.
    #[serde(default)]
    pub(super) kinds: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct WebhookConfig {
    pub(super) provider: HookProvider,
    pub(super) secret_file: Spanned<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct SourceConfig {
    pub(super) git: Option<GitConfig>,
    pub(super) directory: Option<PathBuf>,
    pub(super) oci: Option<OciConfig>,
    /// Charts from repositories, chart dependencies, the OCI artifact: hosts and credentials.
    #[serde(default)]
    pub(super) remote: RemoteConfig,
    #[serde(default)]
    pub(super) include: Vec<String>,
    #[serde(default)]
    pub(super) exclude: Vec<String>,
    pub(super) fetch_timeout: Option<Spanned<String>>,
    /// How kustomizations and charts in the source are rendered.
    #[serde(default)]
    pub(super) render: RenderConfig,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RenderConfig {
    pub(super) helm_binary: Option<PathBuf>,
    pub(super) kustomize_binary: Option<PathBuf>,
    #[serde(default)]
    pub(super) allow_remote_bases: bool,
    #[serde(default)]
    pub(super) kustomize_enable_helm: bool,
    pub(super) timeout: Option<Spanned<String>>,
    /// Settings for every chart of the set, over each chart's own driftless-helm.yaml.
    #[serde(default)]
    pub(super) helm: crate::render::renderers::HelmSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct GitConfig {
    pub(super) url: Spanned<String>,
    pub(super) revision: Option<String>,
    #[serde(default)]
    pub(super) path: String,
    pub(super) username: Option<String>,
    // Spanned: a file missing at start is a warning naming its line.
    pub(super) token_file: Option<Spanned<PathBuf>>,
    pub(super) ssh_key_file: Option<Spanned<PathBuf>>,
    pub(super) ssh_passphrase_file: Option<Spanned<PathBuf>>,
    pub(super) known_hosts_file: Option<Spanned<PathBuf>>,
    #[serde(default)]
    pub(super) insecure_skip_host_key_check: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct OciConfig {
    pub(super) url: Spanned<String>,
    #[serde(default)]
    pub(super) path: String,
    pub(super) layer_media_type: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RemoteConfig {
    #[serde(default)]
    pub(super) hosts: Vec<String>,
    pub(super) registry_config: Option<Spanned<PathBuf>>,
    #[serde(default)]
    pub(super) ca_files: Vec<Spanned<PathBuf>>,
    #[serde(default)]
    pub(super) auth: Vec<RemoteAuthConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RemoteAuthConfig {
    pub(super) host: String,
    pub(super) username_file: Option<Spanned<PathBuf>>,
    pub(super) password_file: Option<Spanned<PathBuf>>,
    pub(super) token_file: Option<Spanned<PathBuf>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct PruneConfig {
    #[serde(default)]
    pub(super) enabled: bool,
    pub(super) max_prune: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) namespaces: bool,
    #[serde(default)]
    pub(super) crds: bool,
    pub(super) propagation: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) allow_empty: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct NamespaceOverride {
    /// `false`: nothing in this namespace is pruned.
    pub(super) prune: Option<bool>,
    /// `true`: the namespace is left alone (neither applied nor pruned).
    #[serde(default)]
    pub(super) suspend: bool,
    /// Self-heal here, whatever the set says.
    pub(super) self_heal: Option<bool>,
}
