//! Registry credentials from a docker `config.json`, as `docker login`, `helm registry login`
//! and `flux` write it. Errors never quote the file: it holds passwords.

use std::collections::BTreeMap;

use base64::Engine as _;
use secrecy::SecretString;
use serde::Deserialize;

/// What to send to a registry or chart repository.
#[derive(Debug, Clone)]
pub enum Credential {
    Basic {
        username: String,
        password: SecretString,
    },
    Bearer(SecretString),
}

/// The credentials of a docker `config.json`, by host.
#[derive(Debug, Default, Deserialize)]
pub struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

#[derive(Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    registrytoken: Option<String>,
}

impl std::fmt::Debug for AuthEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthEntry(..)")
    }
}

impl DockerConfig {
    pub fn parse(text: &str) -> Result<DockerConfig, String> {
        // serde_json's message can quote the input near the error: give only where it is.
        serde_json::from_str(text).map_err(|e| {
            format!(
                "not a docker config.json: invalid JSON at line {} column {}",
                e.line(),
                e.column()
            )
        })
    }

    /// The credential stored for `host` (`name[:port]`), if any.
    pub fn for_host(&self, host: &str) -> Option<Credential> {
        let (_, entry) = self.auths.iter().find(|(key, _)| same_host(key, host))?;
        if let Some(token) = entry.registrytoken.as_deref().filter(|t| !t.is_empty()) {
            return Some(Credential::Bearer(SecretString::from(token.to_string())));
        }
        if let (Some(username), Some(password)) = (&entry.username, &entry.password) {
            return Some(Credential::Basic {
                username: username.clone(),
                password: SecretString::from(password.clone()),
            });
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(entry.auth.as_deref()?.trim())
            .ok()?;
        let pair = String::from_utf8(decoded).ok()?;
        let (username, password) = pair.split_once(':')?;
        Some(Credential::Basic {
            username: username.to_string(),
            password: SecretString::from(password.to_string()),
        })
    }

    /// The credential helper docker would run for `host`: one named for it, or the default store.
    pub fn helper_for(&self, host: &str) -> Option<String> {
        self.cred_helpers
            .iter()
            .find(|(key, _)| same_host(key, host))
            .map(|(_, helper)| helper.clone())
            .or_else(|| self.creds_store.clone())
            .filter(|helper| !helper.is_empty())
    }
}

/// Keys are written as `host`, `host:port` or a URL (`https://index.docker.io/v1/`).
fn same_host(key: &str, host: &str) -> bool {
    let key = key.split_once("://").map_or(key, |(_, rest)| rest);
    let key = key.split('/').next().unwrap_or(key);
    key.eq_ignore_ascii_case(host)
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn basic(credential: Option<Credential>) -> (String, String) {
        match credential {
            Some(Credential::Basic { username, password }) => {
                (username, password.expose_secret().to_string())
            }
            other => panic!("not basic: {other:?}"),
        }
    }

    #[test]
    fn reads_auth_fields_and_url_keys() {
        let auth = base64::engine::general_purpose::STANDARD.encode("robot:s3cr:et");
        let text = format!(
            r#"{{"auths": {{
                "registry.example.com:5000": {{"auth": "{auth}"}},
                "https://charts.example.com/v1/": {{"username": "u", "password": "p"}},
                "tokens.example.com": {{"registrytoken": "tok"}}
            }}}}"#
        );
        let config = DockerConfig::parse(&text).unwrap();
        assert_eq!(
            basic(config.for_host("registry.example.com:5000")),
            ("robot".into(), "s3cr:et".into())
        );
        assert_eq!(
            basic(config.for_host("charts.example.com")),
            ("u".into(), "p".into())
        );
        assert!(matches!(
            config.for_host("tokens.example.com"),
            Some(Credential::Bearer(t)) if t.expose_secret() == "tok"
        ));
        assert!(config.for_host("registry.example.com").is_none());
        assert!(config.helper_for("registry.example.com").is_none());
    }

    #[test]
    fn names_helpers() {
        let config = DockerConfig::parse(
            r#"{"credHelpers": {"ecr.example.com": "ecr-login"}, "credsStore": "desktop"}"#,
        )
        .unwrap();
        assert_eq!(
            config.helper_for("ecr.example.com").as_deref(),
            Some("ecr-login")
        );
        assert_eq!(
            config.helper_for("other.example.com").as_deref(),
            Some("desktop")
        );
    }

    #[test]
    fn errors_never_quote_the_file() {
        let err = DockerConfig::parse(r#"{"auths": {"h": {"auth": "hunter2" "#).unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(err.contains("line 1"), "{err}");
        let err = DockerConfig::parse(r#"{"auths": ["hunter2"]}"#).unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
    }
}
