//! The agent's config file (`driftless agent --config FILE`): one or more sync sets, each with a
//! source, an interval and a policy. Read strictly (unknown keys are errors, so a typo never
//! turns into a silent default), and every error names the file and line.
//!
//! ```yaml
//! apiVersion: driftless.dev/v1alpha1
//! kind: AgentConfig
//! sets:
//!   - name: platform
//!     source:
//!       git: {url: https://git.example.com/platform.git, revision: main, tokenFile: /etc/git/token}
//!     interval: 60s
//!     prune: {enabled: true, maxPrune: 25%}
//!     namespaceOverrides:
//!       mlops-training: {prune: false}
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_saphyr::Spanned;

use super::{
    AgentSettings, DEFAULT_HOOK_LISTEN, DEFAULT_INTERVAL, DEFAULT_LISTEN, SetSettings,
    WebhookSettings, parse_duration,
};
use crate::cluster::{ConnectOptions, Propagation};
use crate::error::{Error, Result};
use crate::inventory::{Budget, Claim, Knobs, PruneSettings, Scope, SetName, SetRef};
use crate::sync::SyncOptions;
use schema::{FileConfig, NamespaceOverride, PruneConfig, SetConfig, WebhookConfig};

pub const API_VERSION: &str = "driftless.dev/v1alpha1";
pub const KIND: &str = "AgentConfig";

/// What flags and the environment set; each wins over the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub hook_listen: Option<SocketAddr>,
    pub advertise: Option<String>,
    pub identity: Option<String>,
    pub inventory_namespace: Option<String>,
    pub field_manager: Option<String>,
    pub cache_dir: Option<PathBuf>,
    pub request_timeout: Option<Duration>,
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    /// Every set's interval.
    pub interval: Option<Duration>,
    /// Every set's renderer binaries (`DRIFTLESS_HELM_BINARY`, `DRIFTLESS_KUSTOMIZE_BINARY`).
    pub tools: crate::render::renderers::Tools,
    /// `--dashboard`: serve it whatever the file says.
    pub dashboard: bool,
}

/// Reads and validates the config file; flags and environment (`overrides`) win over it.
pub fn load(path: &Path, overrides: &Overrides) -> Result<AgentSettings> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
        path: path.to_path_buf(),
        line: None,
        reason: format!("cannot read: {e}"),
    })?;
    parse(path, &text, overrides)
}

/// Validates a config file's text (`path` is only named in errors).
pub fn parse(path: &Path, text: &str, overrides: &Overrides) -> Result<AgentSettings> {
    let at = |line: Option<u64>, reason: String| Error::Config {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let mut options = serde_saphyr::Options::default();
    // Never echo the file back: it may hold something secret by mistake.
    options.with_snippet = false;
    let config: FileConfig = serde_saphyr::from_str_with_options(text, options)
        .map_err(|e| at(e.location().map(|l| l.line()), plain(&e)))?;
    Builder { at: &at }.agent(config, overrides)
}

/// A parser error without its own position (the `Error::Config` carries it).
fn plain(e: &serde_saphyr::Error) -> String {
    let text = e.to_string();
    let text = match text.rsplit_once(" at line ") {
        Some((head, _)) => head.to_string(),
        None => text,
    };
    text.replace("unknown field", "unknown key")
}

struct Builder<'a> {
    at: &'a dyn Fn(Option<u64>, String) -> Error,
}

impl Builder<'_> {
    fn fail<T>(&self, line: u64, reason: impl Into<String>) -> Result<T> {
        Err((self.at)(Some(line), reason.into()))
    }

    fn agent(&self, config: FileConfig, overrides: &Overrides) -> Result<AgentSettings> {
        self.check_kind(&config)?;
        let listen = self.address(overrides.listen, &config.listen, "listen", DEFAULT_LISTEN)?;
        let hook_listen = self.address(
            overrides.hook_listen,
            &config.hook_listen,
            "hookListen",
            DEFAULT_HOOK_LISTEN,
        )?;
        let defaults = ConnectOptions::default();
        let request_timeout = match (&overrides.request_timeout, &config.request_timeout) {
            (Some(t), _) => *t,
            (None, Some(text)) => self.duration(text, "requestTimeout")?,
            (None, None) => defaults.request_timeout,
        };
        let agent = AgentLevel {
            inventory_namespace: overrides
                .inventory_namespace
                .clone()
                .or(config.inventory_namespace)
                .unwrap_or_else(|| SyncOptions::default().set.inventory_namespace),
            cache_dir: overrides
                .cache_dir
                .clone()
                .or(config.cache_dir)
                .unwrap_or_else(super::default_cache_dir),
            interval: overrides.interval,
            tools: overrides.tools.clone(),
        };
        let sets = self.sets(config.sets, &agent)?;
        let max_in_flight = sets.iter().map(|s| s.sync.concurrency).max().unwrap_or(8);
        Ok(AgentSettings {
            connect: ConnectOptions {
                kubeconfig: overrides.kubeconfig.clone(),
                context: overrides.context.clone(),
                field_manager: overrides
                    .field_manager
                    .clone()
                    .or(config.field_manager)
                    .unwrap_or(defaults.field_manager),
                request_timeout,
                max_in_flight,
            },
            sets,
            advertise: advertise(overrides.advertise.clone(), hook_listen),
            listen,
            hook_listen,
            identity: overrides
                .identity
                .clone()
                .unwrap_or_else(super::default_identity),
            dashboard: overrides.dashboard || config.dashboard,
        })
    }

    /// A link template: an http(s) URL with `{revision}` in it.
    fn commit_url(&self, url: &Spanned<String>) -> Result<String> {
        let text = url.value.trim();
        let web = text.starts_with("https://") || text.starts_with("http://");
        if !web || !text.contains("{revision}") {
            return self.fail(
                url.referenced.line(),
                format!("commitUrl {text:?} must be an http(s) URL with {{revision}} in it"),
            );
        }
        Ok(text.to_string())
    }

    /// `apiVersion` and `kind`, when given, are ours; and there is at least one set.
    fn check_kind(&self, config: &FileConfig) -> Result<()> {
        if let Some(v) = &config.api_version
            && v.value != API_VERSION
        {
            return self.fail(
                v.referenced.line(),
                format!("apiVersion {:?} is not {API_VERSION:?}", v.value),
            );
        }
        if let Some(k) = &config.kind
            && k.value != KIND
        {
            return self.fail(
                k.referenced.line(),
                format!("kind {:?} is not {KIND:?}", k.value),
            );
        }
        if config.sets.is_empty() {
            return Err((self.at)(
                None,
                "no sync sets: list at least one under `sets:`".into(),
            ));
        }
        Ok(())
    }

    /// Every set; a name given twice is an error at its second line.
    fn sets(
        &self,
        configs: Vec<Spanned<SetConfig>>,
        agent: &AgentLevel,
    ) -> Result<Vec<SetSettings>> {
        let mut names = BTreeMap::new();
        let mut sets = Vec::new();
        let mut wants = Vec::new();
        for set in configs {
            let line = set.referenced.line();
            let deps = set.value.depends_on.as_ref();
            wants.push(depends::Wants {
                name: set.value.name.value.clone(),
                depends_on: deps.map(|d| d.value.clone()).unwrap_or_default(),
                line: deps.map_or(line, |d| d.referenced.line()),
            });
            let settings = self.set(set.value, agent)?;
            let name = settings.sync.set.name.to_string();
            if let Some(first) = names.insert(name.clone(), line) {
                return self.fail(
                    line,
                    format!("sync set {name:?} is defined twice (first at line {first})"),
                );
            }
            sets.push(settings);
        }
        depends::check(&wants).or_else(|(line, why)| self.fail(line, why))?;
        Ok(sets)
    }

    /// An address from a flag, else the file (errors name its line), else `default`.
    fn address(
        &self,
        flag: Option<SocketAddr>,
        text: &Option<Spanned<String>>,
        key: &str,
        default: &str,
    ) -> Result<SocketAddr> {
        match (flag, text) {
            (Some(addr), _) => Ok(addr),
            (None, Some(text)) => text.value.parse().or_else(|_| {
                self.fail(
                    text.referenced.line(),
                    format!(
                        "{key} {:?} is not an address and port ({default})",
                        text.value
                    ),
                )
            }),
            (None, None) => default
                .parse()
                .map_err(|_| (self.at)(None, format!("bad default address {default}"))),
        }
    }

    fn set(&self, config: SetConfig, agent: &AgentLevel) -> Result<SetSettings> {
        let name_line = config.name.referenced.line();
        let name: SetName = config
            .name
            .value
            .parse()
            .or_else(|e: String| self.fail(name_line, e))?;
        let interval = match (&agent.interval, &config.interval) {
            (Some(i), _) => *i,
            (None, Some(text)) => self.duration(text, "interval")?,
            (None, None) => DEFAULT_INTERVAL,
        };
        if interval < Duration::from_secs(1) {
            let line = config
                .interval
                .as_ref()
                .map_or(name_line, |i| i.referenced.line());
            return self.fail(line, "interval must be at least 1s");
        }
        let timeout = config
            .timeout
            .as_ref()
            .map(|t| self.duration(t, "timeout"))
            .transpose()?;
        let resync_interval = match &config.resync_interval {
            Some(text) => self.duration(text, "resyncInterval")?,
            None => super::DEFAULT_RESYNC_INTERVAL,
        };
        let webhook = webhook(&name, config.webhook.clone());
        let (source, source_options, mut render) =
            self.source(config.source.clone(), &name, agent)?;
        render.decryption = self.decryption(config.decryption.clone(), &name)?;
        let sync = self.sync_options(&config, name, &source, agent)?;
        let depends_on = match &config.depends_on {
            Some(deps) => deps
                .value
                .iter()
                .map(|d| {
                    d.parse()
                        .or_else(|e: String| self.fail(deps.referenced.line(), e))
                })
                .collect::<Result<_>>()?,
            None => Vec::new(),
        };
        let commit_url = config
            .commit_url
            .as_ref()
            .map(|url| self.commit_url(url))
            .transpose()?;
        Ok(SetSettings {
            commit_url,
            depends_on,
            drift: drift(&config, &sync),
            source,
            source_options,
            render,
            sync,
            interval,
            timeout,
            webhook,
            resync_interval,
        })
    }

    /// How the set syncs: its name and claim, adoption, concurrency, pruning and scope.
    fn sync_options(
        &self,
        config: &SetConfig,
        name: SetName,
        source: &crate::source::Source,
        agent: &AgentLevel,
    ) -> Result<SyncOptions> {
        let mut sync = SyncOptions {
            adopt: config.adopt,
            force_conflicts: config.force_conflicts,
            default_namespace: config.default_namespace.clone(),
            set: SetRef {
                name,
                inventory_namespace: agent.inventory_namespace.clone(),
            },
            claim: Claim {
                source: Some(source.identity()),
                take_over: config.take_over_set,
                knobs: Knobs::ConfigFile,
            },
            ..SyncOptions::default()
        };
        if let Some(c) = &config.concurrency {
            if !(1..=256).contains(&c.value) {
                return self.fail(c.referenced.line(), "concurrency must be 1 to 256");
            }
            sync.concurrency = usize::from(c.value);
        }
        if let Some(managers) = &config.takeover_managers {
            sync.takeover_managers = managers.clone();
        }
        sync.replace_immutable = config.replace_immutable.clone();
        sync.prune = self.prune(&config.prune)?;
        let (suspended, unpruned) =
            self.overrides(&config.namespace_overrides, &config.namespaces)?;
        sync.scope = match config.namespaces.is_empty() {
            true if suspended.is_empty() => Scope::All,
            true => Scope::AllExcept(suspended),
            false => Scope::Namespaces(
                config
                    .namespaces
                    .iter()
                    .filter(|ns| !suspended.contains(*ns))
                    .cloned()
                    .collect(),
            ),
        };
        if let Some(prune) = sync.prune.as_mut() {
            prune.unpruned_namespaces = unpruned;
        }
        Ok(sync)
    }

    /// Namespaces left alone, and namespaces where nothing is pruned.
    fn overrides(
        &self,
        overrides: &BTreeMap<String, Spanned<NamespaceOverride>>,
        scope: &[String],
    ) -> Result<(BTreeSet<String>, BTreeSet<String>)> {
        let (mut suspended, mut unpruned) = (BTreeSet::new(), BTreeSet::new());
        for (namespace, o) in overrides {
            if !scope.is_empty() && !scope.contains(namespace) {
                return self.fail(
                    o.referenced.line(),
                    format!("namespaceOverrides names {namespace}, which is not in `namespaces:`"),
                );
            }
            if o.value.suspend {
                suspended.insert(namespace.clone());
            }
            if o.value.prune == Some(false) {
                unpruned.insert(namespace.clone());
            }
        }
        Ok((suspended, unpruned))
    }

    fn prune(&self, config: &PruneConfig) -> Result<Option<PruneSettings>> {
        if !config.enabled {
            return Ok(None);
        }
        let mut prune = PruneSettings {
            namespaces: config.namespaces,
            crds: config.crds,
            allow_empty: config.allow_empty,
            ..PruneSettings::default()
        };
        if let Some(text) = &config.max_prune {
            prune.budget = text
                .value
                .parse::<Budget>()
                .or_else(|e| self.fail(text.referenced.line(), e))?;
        }
        if let Some(text) = &config.propagation {
            prune.propagation = match text.value.to_ascii_lowercase().as_str() {
                "background" => Propagation::Background,
                "foreground" => Propagation::Foreground,
                "orphan" => Propagation::Orphan,
                other => {
                    return self.fail(
                        text.referenced.line(),
                        format!("propagation {other:?}: background, foreground or orphan"),
                    );
                }
            };
        }
        Ok(Some(prune))
    }

    fn duration(&self, text: &Spanned<String>, key: &str) -> Result<Duration> {
        parse_duration(&text.value)
            .or_else(|e| self.fail(text.referenced.line(), format!("{key}: {e}")))
    }
}

/// Self-heal and how drift is watched (a set limited to namespaces watches each of them).
fn drift(config: &SetConfig, sync: &SyncOptions) -> crate::drift::DriftSettings {
    crate::drift::DriftSettings {
        self_heal: config.self_heal,
        self_heal_overrides: config
            .namespace_overrides
            .iter()
            .filter_map(|(ns, o)| Some((ns.clone(), o.value.self_heal?)))
            .collect(),
        namespaces: match &sync.scope {
            Scope::Namespaces(list) => Some(list.iter().cloned().collect()),
            _ => None,
        },
        takeover_managers: sync.takeover_managers.clone(),
    }
}

/// The set's webhook; a secret file that cannot be read yet is a warning (calls get 503 until
/// it is readable: a mounted Secret may come later).
fn webhook(set: &SetName, config: Option<Spanned<WebhookConfig>>) -> Option<WebhookSettings> {
    config.map(|w| {
        let file = w.value.secret_file;
        if let Err(e) = std::fs::metadata(&file.value) {
            tracing::warn!(%set, "webhook secretFile {}: {e} (line {}); calls get 503 until it is readable", file.value.display(), file.referenced.line());
        }
        WebhookSettings {
            provider: w.value.provider,
            secret_file: file.value,
        }
    })
}

/// Agent-wide values each set inherits.
struct AgentLevel {
    inventory_namespace: String,
    cache_dir: PathBuf,
    interval: Option<Duration>,
    /// Renderer binaries from flags or the environment, over each set's.
    tools: crate::render::renderers::Tools,
}

/// Where other replicas reach this one's hook listener: as given, else `$POD_IP` with its port,
/// else its address when it names one host.
fn advertise(given: Option<String>, listen: SocketAddr) -> Option<String> {
    let pod_ip = std::env::var("POD_IP").ok().filter(|ip| !ip.is_empty());
    given
        .or_else(|| {
            pod_ip.map(|ip| match ip.contains(':') {
                true => format!("[{ip}]:{}", listen.port()),
                false => format!("{ip}:{}", listen.port()),
            })
        })
        .or_else(|| (!listen.ip().is_unspecified()).then(|| listen.to_string()))
}

mod depends;
mod schema;
mod source;

#[cfg(test)]
mod tests;
