//! Where the cluster is and who we are to it: the kubeconfig (or the pod's service account),
//! and the client built from it. A credential file may be broken; its error then names the
//! file, the line and the column, never what it holds: the parsers' own texts quote content
//! (a YAML snippet, a PEM line, an exec plugin's output), so none is passed on unread.

use std::path::{Path, PathBuf};

use kube::client::{AuthError, RustlsTlsError};
use kube::config::{InClusterError, KubeConfigOptions, Kubeconfig, KubeconfigError, LoadDataError};
use kube::{Client, Config};

use super::ConnectOptions;
use crate::error::{Error, Result};

/// Where a pod's service account credentials are mounted.
const SERVICE_ACCOUNT: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The config, and where it came from (`kubeconfig <path>`), for the errors of [`client`].
pub(super) async fn load(options: &ConnectOptions) -> Result<(Config, String)> {
    let kube_opts = KubeConfigOptions {
        context: options.context.clone(),
        ..Default::default()
    };
    let in_cluster = std::env::var_os("KUBERNETES_SERVICE_HOST").is_some();
    let (kubeconfig, source) = match &options.kubeconfig {
        Some(path) => (read(path)?, format!("kubeconfig {}", path.display())),
        // In a pod, the pod's own service account, as every in-cluster agent does.
        None if in_cluster && options.context.is_none() => {
            return Ok((incluster()?, "in-cluster config".into()));
        }
        None => read_default()?,
    };
    let config = Config::from_custom_kubeconfig(kubeconfig, &kube_opts)
        .await
        .map_err(|e| connect(format!("{source}: {}", kubeconfig_error(&e))))?;
    Ok((config, source))
}

/// A client for `config`; building one loads the client certificate and runs an exec plugin.
pub(super) fn client(config: Config, source: &str) -> Result<Client> {
    use secrecy::ExposeSecret as _;
    // The client would panic on it, and no error could say why.
    if let Some(token) = &config.auth_info.token
        && http::HeaderValue::from_str(&format!("Bearer {}", token.expose_secret())).is_err()
    {
        return Err(connect(format!("{source}: {INVALID_TOKEN}")));
    }
    super::transport::build(config).map_err(|e| connect(format!("{source}: {}", client_error(&e))))
}

const INVALID_TOKEN: &str =
    "the token is not a valid HTTP header value (a line break or a control character in it?)";

fn connect(reason: String) -> Error {
    Error::Connect(reason)
}

fn read(path: &Path) -> Result<Kubeconfig> {
    Kubeconfig::read_from(path).map_err(|e| {
        let reason = match &e {
            KubeconfigError::Parse(parse) => {
                let text = std::fs::read_to_string(path).unwrap_or_default();
                yaml_reason(parse, &text)
            }
            KubeconfigError::ReadConfig(io, _) => format!("cannot be read: {io}"),
            other => kubeconfig_error(other),
        };
        connect(format!("kubeconfig {}: {reason}", path.display()))
    })
}

/// `$KUBECONFIG` (files merged, the first to set a value wins), else `~/.kube/config`.
fn read_default() -> Result<(Kubeconfig, String)> {
    let paths: Vec<PathBuf> = match std::env::var_os("KUBECONFIG") {
        Some(list) => std::env::split_paths(&list)
            .filter(|p| !p.as_os_str().is_empty())
            .collect(),
        None => Vec::new(),
    };
    let paths = match paths.is_empty() {
        false => paths,
        true => match std::env::var_os("HOME") {
            Some(home) => vec![PathBuf::from(home).join(".kube/config")],
            None => Vec::new(),
        },
    };
    let found: Vec<&PathBuf> = paths.iter().filter(|p| p.exists()).collect();
    if found.is_empty() {
        let tried: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(connect(format!(
            "no kubeconfig found ({}): pass --kubeconfig, or set KUBECONFIG",
            match tried.is_empty() {
                true => "no KUBECONFIG, no HOME".to_string(),
                false => format!("{} does not exist", tried.join(", ")),
            }
        )));
    }
    let mut merged = Kubeconfig::default();
    for path in &found {
        merged = merged
            .merge(read(path)?)
            .map_err(|e| connect(format!("kubeconfig {}: {}", path.display(), e)))?;
    }
    let names: Vec<String> = found.iter().map(|p| p.display().to_string()).collect();
    Ok((merged, format!("kubeconfig {}", names.join(", "))))
}

fn incluster() -> Result<Config> {
    Config::incluster().map_err(|e| {
        let reason = match &e {
            InClusterError::ReadDefaultNamespace(io) => {
                format!("cannot read {SERVICE_ACCOUNT}/namespace: {io}")
            }
            InClusterError::ReadCertificateBundle(io) => {
                format!("cannot read {SERVICE_ACCOUNT}/ca.crt: {io}")
            }
            InClusterError::ParseCertificates(_) => {
                format!("{SERVICE_ACCOUNT}/ca.crt is not a PEM certificate bundle")
            }
            // Environment variables and URLs: nothing secret in them.
            other => other.to_string(),
        };
        connect(format!("in-cluster config: {reason}"))
    })
}

/// A kubeconfig that parsed but cannot be used, in words that quote none of its values.
fn kubeconfig_error(e: &KubeconfigError) -> String {
    use KubeconfigError as K;
    match e {
        K::Parse(parse) => yaml_reason(parse, ""),
        K::ReadConfig(io, path) => format!("cannot read {}: {io}", path.display()),
        K::FindPath => "no kubeconfig found: pass --kubeconfig, or set KUBECONFIG".into(),
        K::ParseClusterUrl(_) => "the cluster's server is not a valid URL".into(),
        K::ParseProxyUrl(_) => "the cluster's proxy-url is not a valid URL".into(),
        K::LoadCertificateAuthority(d) => load_data("certificate-authority", d),
        K::LoadClientCertificate(d) => load_data("client-certificate", d),
        K::LoadClientKey(d) => load_data("client-key", d),
        K::ParseCertificates(_) => "the certificate authority is not a PEM certificate".into(),
        // Names of contexts and clusters, fixed texts: nothing read from a credential.
        K::CurrentContextNotSet
        | K::KindMismatch
        | K::ApiVersionMismatch
        | K::LoadContext(_)
        | K::LoadClusterOfContext(_)
        | K::MissingClusterUrl => e.to_string(),
    }
}

/// `client-key-data` (inline) or the file `client-key` names.
fn load_data(field: &str, e: &LoadDataError) -> String {
    match e {
        LoadDataError::DecodeBase64(_) => format!("{field}-data is not valid base64"),
        LoadDataError::ReadFile(io, path) => {
            format!("cannot read {field} {}: {io}", path.display())
        }
        LoadDataError::NoBase64DataOrFile => format!("neither {field} nor {field}-data is set"),
    }
}

/// Building a client: the kubeconfig's credentials loaded and checked.
fn client_error(e: &kube::Error) -> String {
    match e {
        kube::Error::InferKubeconfig(k) => kubeconfig_error(k),
        kube::Error::RustlsTls(tls) => tls_error(tls),
        kube::Error::Auth(auth) => auth_error(auth),
        // Header values and URLs the kubeconfig set: their texts quote none of them.
        kube::Error::HttpError(_) => {
            "a header the kubeconfig sets (impersonation) is not a valid HTTP header".into()
        }
        _ => "cannot build a client from the kubeconfig".into(),
    }
}

pub(super) fn tls_error(e: &RustlsTlsError) -> String {
    match e {
        RustlsTlsError::InvalidIdentityPem(_) => {
            "the client certificate and key (client-certificate, client-key) are not valid PEM"
                .into()
        }
        RustlsTlsError::InvalidPrivateKey(_) => "the client key is not a valid private key".into(),
        RustlsTlsError::AddRootCertificate(_) => {
            "the certificate authority holds a certificate that cannot be used".into()
        }
        // Fixed texts, or the server's name.
        other => other.to_string(),
    }
}

/// The kubeconfig's user credentials, failing at connect or at a request: an exec plugin's
/// output (a token) and a parser's text are never quoted.
pub(super) fn auth_error(e: &AuthError) -> String {
    match e {
        // Its command line, arguments included, may hold a secret too.
        AuthError::AuthExecRun { out, .. } => format!(
            "the kubeconfig's exec plugin failed ({}); its output is not shown: it may hold credentials",
            out.status
        ),
        AuthError::AuthExecParse(parse) => format!(
            "the kubeconfig's exec plugin printed no valid ExecCredential ({})",
            yaml_reason(parse, "")
        ),
        AuthError::AuthExec(_) => "the kubeconfig's auth provider failed".into(),
        AuthError::InvalidBasicAuth(_) => {
            "the kubeconfig's username or password is not a valid HTTP header value".into()
        }
        AuthError::InvalidBearerToken(_) => INVALID_TOKEN.into(),
        AuthError::ParseTokenKey(_) => "the auth provider's token-key is not valid".into(),
        AuthError::MalformedTokenExpirationDate(_) => {
            "the exec plugin's expirationTimestamp is not a valid time".into()
        }
        // Paths, exit statuses and fixed texts.
        other => other.to_string(),
    }
}

/// Where a YAML text is broken, and the parser's reason when it quotes nothing of the text.
pub(crate) fn yaml_reason(e: &serde_saphyr::Error, text: &str) -> String {
    use serde_saphyr::Error as E;
    let at = match e.location() {
        Some(l) if l.line() > 0 => format!("line {} column {}", l.line(), l.column()),
        _ => "unknown position".into(),
    };
    let reason = match e {
        E::AliasError { error, .. } | E::WithSnippet { error, .. } => {
            return yaml_reason(error, text);
        }
        E::SerdeInvalidType { expected, .. } => Some(format!("wrong type, expected {expected}")),
        E::SerdeInvalidValue { expected, .. } => {
            Some(format!("invalid value, expected {expected}"))
        }
        E::SerdeMissingField { field, .. } => Some(format!("missing field {field}")),
        E::SerdeUnknownField { .. } => Some("unknown field".into()),
        E::DuplicateMappingKey { .. } => Some("duplicate key".into()),
        E::Eof { .. } => Some("unexpected end of the file".into()),
        E::Unexpected { expected, .. } => Some(format!("expected {expected}")),
        E::Message { msg, .. } | E::ExternalMessage { msg, .. } => Some(msg.clone()),
        _ => None,
    };
    match reason.filter(|r| quotes_nothing(r, text)) {
        Some(reason) => format!("invalid YAML at {at}: {reason}"),
        None => format!("invalid YAML at {at}"),
    }
}

/// Whether a parser's text holds no quotation and no word of a value in `text` (what follows
/// a key or a list dash, where credentials are).
fn quotes_nothing(reason: &str, text: &str) -> bool {
    if reason.contains(['"', '\'', '`']) {
        return false;
    }
    let value_words = text
        .lines()
        .map(|line| line.trim().trim_start_matches("- "))
        .map(|line| line.split_once(':').map_or(line, |(_, value)| value))
        .flat_map(|value| value.split(|c: char| c.is_whitespace() || ":,{}[]".contains(c)))
        .filter(|word| word.len() >= 4);
    value_words.into_iter().all(|word| !reason.contains(word))
}

#[cfg(test)]
mod tests;
