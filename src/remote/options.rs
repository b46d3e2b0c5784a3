//! What a set allows to be fetched and with which credentials: the hosts it names, a docker
//! `config.json`, per-host username/password or token files, extra CA files, the deadline and
//! the size cap. Credentials are read at every pass (a rotated Secret needs no restart) and
//! registered with [`crate::redact`], so no output ever shows them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::docker_config::{Credential, DockerConfig};
use super::{RemoteError, Result};

/// Credentials for one host, from files (a mounted `kubernetes.io/basic-auth` Secret holds
/// `username` and `password`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostAuth {
    /// `host` or `host:port`.
    pub host: String,
    pub username_file: Option<PathBuf>,
    pub password_file: Option<PathBuf>,
    /// A bearer token.
    pub token_file: Option<PathBuf>,
}

impl HostAuth {
    /// `HOST=DIR`: DIR holds `username` and `password`, or `token` (a mounted Secret).
    pub fn from_dir(spec: &str) -> std::result::Result<HostAuth, String> {
        let (host, dir) = spec
            .split_once('=')
            .ok_or_else(|| format!("{spec:?}: expected HOST=DIR"))?;
        let dir = Path::new(dir);
        let file = |name: &str| Some(dir.join(name)).filter(|p| p.exists());
        let auth = HostAuth {
            host: host.to_string(),
            username_file: file("username"),
            password_file: file("password"),
            token_file: file("token"),
        };
        match (&auth.password_file, &auth.token_file) {
            (None, None) => Err(format!(
                "{}: holds neither `password` nor `token`",
                dir.display()
            )),
            _ => Ok(auth),
        }
    }
}

/// How remote charts and OCI artifacts are fetched.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// Hosts (`host` or `host:port`) charts and artifacts may come from. A chart whose
    /// repository is elsewhere is refused before any request.
    pub hosts: Vec<String>,
    /// A docker `config.json` (`docker login`, `helm registry login`).
    pub registry_config: Option<PathBuf>,
    /// The registry config was asked for (a flag), so a missing file is an error.
    pub registry_config_required: bool,
    pub auth: Vec<HostAuth>,
    /// PEM files of CAs to trust besides the system's.
    pub ca_files: Vec<PathBuf>,
    /// Each request's deadline, and the whole download's.
    pub timeout: Duration,
    /// Most bytes one download (an index, a chart, a layer) may have.
    pub max_bytes: u64,
    /// Where fetched archives are kept, by digest.
    pub cache_dir: PathBuf,
    /// Use the cache only: what is not there "needs network".
    pub offline: bool,
    /// A preview: any resolution cached is used as it is (no request), and a chart that
    /// cannot be fetched is left out of the comparison rather than failing it.
    pub preview: bool,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        RemoteOptions {
            hosts: Vec::new(),
            registry_config: None,
            registry_config_required: false,
            auth: Vec::new(),
            ca_files: Vec::new(),
            timeout: Duration::from_secs(120),
            max_bytes: 128 << 20,
            cache_dir: default_cache_dir(),
            offline: false,
            preview: false,
        }
    }
}

/// `~/.cache/driftless/remote`, beside the Git cache.
pub fn default_cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("driftless")
        .join("remote")
}

/// `~/.docker/config.json`, as docker, helm and flux read it.
pub fn default_registry_config() -> Option<PathBuf> {
    std::env::var_os("DOCKER_CONFIG")
        .map(|d| PathBuf::from(d).join("config.json"))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker/config.json")))
}

/// `host` or `host:port` of a URL or `oci://` reference, lower-cased.
pub fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host = rest.split(['/', '?', '#']).next()?;
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

impl RemoteOptions {
    /// Refuses a host the set does not name.
    pub fn allow(&self, host: &str) -> Result<()> {
        let bare = |h: &str| h.split(':').next().unwrap_or(h).to_string();
        let allowed = self.hosts.iter().any(|h| {
            let h = h.to_ascii_lowercase();
            h == host || (!h.contains(':') && h == bare(host))
        });
        match allowed {
            true => Ok(()),
            false => Err(RemoteError::new(format!(
                "host {host} is not allowed for this set: name it with --allow-host {host} \
                 (agent: remote.hosts)"
            ))),
        }
    }

    /// The credential for `host`, from its own files first, then the registry config.
    pub fn credential(&self, host: &str) -> Result<Option<Credential>> {
        if let Some(auth) = self.auth.iter().find(|a| a.host.eq_ignore_ascii_case(host)) {
            return read_files(auth).map(Some);
        }
        let Some(path) = &self.registry_config else {
            return Ok(None);
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound && !self.registry_config_required =>
            {
                return Ok(None);
            }
            Err(e) => {
                return Err(RemoteError::new(format!(
                    "registry config {}: cannot read: {}",
                    path.display(),
                    e.kind()
                )));
            }
        };
        let config = DockerConfig::parse(&text).map_err(|reason| {
            RemoteError::new(format!("registry config {}: {reason}", path.display()))
        })?;
        let found = config.for_host(host);
        if found.is_none()
            && let Some(helper) = config.helper_for(host)
        {
            return Err(RemoteError::new(format!(
                "registry config {} names the credential helper docker-credential-{helper} for \
                 {host}, which driftless does not run: put the credentials in the file, or give \
                 username and password files",
                path.display()
            )));
        }
        found.iter().for_each(register);
        Ok(found)
    }

    /// The extra CAs, as PEM.
    pub fn ca_pems(&self) -> Result<Vec<Vec<u8>>> {
        self.ca_files
            .iter()
            .map(|path| {
                std::fs::read(path).map_err(|e| {
                    RemoteError::new(format!(
                        "CA file {}: cannot read: {}",
                        path.display(),
                        e.kind()
                    ))
                })
            })
            .collect()
    }
}

fn read_files(auth: &HostAuth) -> Result<Credential> {
    let read = |path: &Path| -> Result<String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            RemoteError::new(format!(
                "credentials for {}: {}: cannot read: {}",
                auth.host,
                path.display(),
                e.kind()
            ))
        })?;
        Ok(text.trim_end_matches(['\r', '\n']).to_string())
    };
    let credential = match (&auth.token_file, &auth.password_file) {
        (Some(token), _) => Credential::Bearer(SecretString::from(read(token)?)),
        (None, Some(password)) => Credential::Basic {
            username: match &auth.username_file {
                Some(file) => read(file)?,
                None => String::new(),
            },
            password: SecretString::from(read(password)?),
        },
        (None, None) => {
            return Err(RemoteError::new(format!(
                "credentials for {}: neither a password nor a token file",
                auth.host
            )));
        }
    };
    register(&credential);
    Ok(credential)
}

/// Keeps a credential out of every output, as written and as a basic-auth header holds it.
fn register(credential: &Credential) {
    use base64::Engine as _;
    match credential {
        Credential::Basic { username, password } => {
            let pair = format!("{username}:{}", password.expose_secret());
            let header = base64::engine::general_purpose::STANDARD.encode(pair);
            crate::redact::register([password.expose_secret(), header.as_str()]);
        }
        Credential::Bearer(token) => crate::redact::register([token.expose_secret()]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_named_with_or_without_a_port() {
        let options = RemoteOptions {
            hosts: vec!["charts.example.com".into(), "127.0.0.1:5000".into()],
            ..RemoteOptions::default()
        };
        assert!(options.allow("charts.example.com").is_ok());
        assert!(options.allow("charts.example.com:8443").is_ok());
        assert!(options.allow("127.0.0.1:5000").is_ok());
        let err = options.allow("127.0.0.1:5001").unwrap_err().to_string();
        assert!(err.contains("--allow-host 127.0.0.1:5001"), "{err}");
        assert!(options.allow("evil.example.com").is_err());
        assert_eq!(
            host_of("oci://Reg.example.com:5000/charts/x:1").as_deref(),
            Some("reg.example.com:5000")
        );
        assert_eq!(
            host_of("https://u:p@h.example.com/charts").as_deref(),
            Some("h.example.com")
        );
    }

    #[test]
    fn credentials_come_from_files_and_never_show() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("username"), "bot\n").unwrap();
        std::fs::write(dir.path().join("password"), "hunter2-files\n").unwrap();
        let auth = HostAuth::from_dir(&format!("h.example.com={}", dir.path().display())).unwrap();
        let options = RemoteOptions {
            auth: vec![auth],
            ..RemoteOptions::default()
        };
        match options.credential("h.example.com").unwrap() {
            Some(Credential::Basic { username, password }) => {
                assert_eq!(username, "bot");
                assert_eq!(password.expose_secret(), "hunter2-files");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(crate::redact::scrub("said hunter2-files"), "said ***");
        let empty = tempfile::tempdir().unwrap();
        let err = HostAuth::from_dir(&format!("h={}", empty.path().display())).unwrap_err();
        assert!(err.contains("neither"), "{err}");
    }

    #[test]
    fn a_missing_default_registry_config_is_no_credential() {
        let options = RemoteOptions {
            registry_config: Some("/nonexistent/config.json".into()),
            ..RemoteOptions::default()
        };
        assert!(options.credential("h").unwrap().is_none());
        let required = RemoteOptions {
            registry_config_required: true,
            ..options
        };
        assert!(required.credential("h").is_err());
    }
}
