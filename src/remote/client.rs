//! The network side: https GETs (chart repositories) and the OCI distribution API
//! (registries), each under the set's host rules, its credentials, the deadline and the size
//! cap. Every byte fetched is counted as it arrives, so an oversized answer stops at the cap.

use std::time::Duration;

use futures::StreamExt;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig};
use oci_client::errors::OciDistributionError;
use oci_client::manifest::{OciDescriptor, OciImageManifest, OciManifest};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client as OciClient, Reference};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use super::docker_config::Credential;
use super::options::{RemoteOptions, host_of};
use super::store::Store;
use super::{RemoteError, Result};

/// A client for one pass: credentials and CAs as they are now.
pub struct Remote {
    pub(super) options: RemoteOptions,
    http: reqwest::Client,
    oci: OciClient,
    pub(super) store: Store,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("options", &self.options)
            .finish()
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

impl Remote {
    pub fn new(options: RemoteOptions) -> Result<Remote> {
        // reqwest is built without a crypto provider of its own: ring, as kube uses.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let pems = options.ca_pems()?;
        let mut http = reqwest::Client::builder()
            .connect_timeout(options.timeout)
            .read_timeout(options.timeout)
            .redirect(reqwest::redirect::Policy::limited(5))
            .user_agent(concat!("driftless/", env!("CARGO_PKG_VERSION")));
        for pem in &pems {
            let cert = reqwest::Certificate::from_pem(pem)
                .map_err(|e| RemoteError::new(format!("a CA file is not PEM: {e}")))?;
            http = http.add_root_certificate(cert);
        }
        let http = http
            .build()
            .map_err(|e| RemoteError::new(format!("cannot make an https client: {e}")))?;
        let oci = OciClient::new(ClientConfig {
            extra_root_certificates: pems
                .into_iter()
                .map(|data| Certificate {
                    encoding: CertificateEncoding::Pem,
                    data,
                })
                .collect(),
            read_timeout: Some(options.timeout),
            connect_timeout: Some(options.timeout),
            platform_resolver: None,
            ..ClientConfig::default()
        });
        let store = Store::new(options.cache_dir.clone());
        Ok(Remote {
            options,
            http,
            oci,
            store,
        })
    }

    pub fn offline(&self) -> bool {
        self.options.offline
    }

    /// Runs `work` within the fetch deadline.
    async fn bounded<T>(&self, work: impl Future<Output = Result<T>>) -> Result<T> {
        let limit = self.options.timeout;
        match tokio::time::timeout(limit, work).await {
            Ok(done) => done,
            Err(_) => Err(RemoteError::Unreachable(format!(
                "no answer within {} (--fetch-timeout)",
                show(limit)
            ))),
        }
    }

    fn check_online(&self, what: &str) -> Result<()> {
        match self.options.offline {
            true => Err(RemoteError::Unreachable(format!(
                "{what} is not in the cache (offline)"
            ))),
            false => Ok(()),
        }
    }

    /// GETs `url` (an allowed host), with the host's credential, at most the size cap.
    pub async fn get(&self, url: &str) -> Result<Vec<u8>> {
        self.check_online(url)?;
        let host = host_of(url).ok_or_else(|| RemoteError::new(format!("{url}: no host")))?;
        self.options.allow(&host)?;
        if !url.starts_with("https://") && !url.starts_with("http://") {
            return Err(RemoteError::new(format!(
                "{url}: only https:// and http:// are fetched"
            )));
        }
        let mut request = self.http.get(url);
        match self.options.credential(&host)? {
            Some(Credential::Basic { username, password }) => {
                request = request.basic_auth(username, Some(password.expose_secret()));
            }
            Some(Credential::Bearer(token)) => request = request.bearer_auth(token.expose_secret()),
            None => {}
        }
        self.bounded(async {
            let response = request.send().await.map_err(|e| http_error(url, &e))?;
            let status = response.status();
            if !status.is_success() {
                return Err(RemoteError::new(status_reason(url, status.as_u16(), &host)));
            }
            let cap = self.options.max_bytes;
            if response.content_length().is_some_and(|n| n > cap) {
                return Err(too_large(url, cap));
            }
            let mut body = Vec::new();
            let mut stream = response.bytes_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| http_error(url, &e))?;
                if body.len() as u64 + chunk.len() as u64 > cap {
                    return Err(too_large(url, cap));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(body)
        })
        .await
    }

    /// The registry credential for `reference`'s host (which must be allowed).
    fn oci_auth(&self, reference: &Reference) -> Result<RegistryAuth> {
        let host = reference.registry().to_ascii_lowercase();
        self.options.allow(&host)?;
        Ok(match self.options.credential(&host)? {
            Some(Credential::Basic { username, password }) => {
                RegistryAuth::Basic(username, password.expose_secret().to_string())
            }
            Some(Credential::Bearer(token)) => RegistryAuth::Bearer(token.expose_secret().into()),
            None => RegistryAuth::Anonymous,
        })
    }

    /// The digest `reference` points at now: one HEAD request, nothing downloaded.
    pub async fn oci_digest(&self, reference: &Reference) -> Result<String> {
        self.check_online(&reference.whole())?;
        let auth = self.oci_auth(reference)?;
        self.bounded(async {
            self.oci
                .fetch_manifest_digest(reference, &auth)
                .await
                .map_err(|e| oci_error(reference, e))
        })
        .await
    }

    /// The image manifest at `reference` and its digest (checked against a pinned digest).
    pub async fn oci_manifest(&self, reference: &Reference) -> Result<(OciImageManifest, String)> {
        self.check_online(&reference.whole())?;
        let auth = self.oci_auth(reference)?;
        let (manifest, digest) = self
            .bounded(async {
                self.oci
                    .pull_manifest(reference, &auth)
                    .await
                    .map_err(|e| oci_error(reference, e))
            })
            .await?;
        match manifest {
            OciManifest::Image(image) => Ok((image, digest)),
            OciManifest::ImageIndex(_) => Err(RemoteError::new(format!(
                "{}: an image index (several platforms), not an artifact or a chart",
                reference.whole()
            ))),
        }
    }

    /// The blob `layer` names, from the cache or the registry, its digest checked.
    pub async fn oci_blob(&self, reference: &Reference, layer: &OciDescriptor) -> Result<Vec<u8>> {
        if let Some(bytes) = self.store.blob(&layer.digest) {
            return Ok(bytes);
        }
        self.check_online(&reference.whole())?;
        let cap = self.options.max_bytes;
        if layer.size < 0 || layer.size as u64 > cap {
            return Err(too_large(
                &format!("{} layer {}", reference.whole(), layer.digest),
                cap,
            ));
        }
        let auth = self.oci_auth(reference)?;
        // The client authenticates on the manifest pull; a blob alone needs the same.
        let bytes = self
            .bounded(async {
                self.oci
                    .store_auth_if_needed(reference.resolve_registry(), &auth)
                    .await;
                let mut stream = self
                    .oci
                    .pull_blob_stream(reference, layer)
                    .await
                    .map_err(|e| oci_error(reference, e))?;
                if stream.content_length.is_some_and(|n| n > cap) {
                    return Err(too_large(&reference.whole(), cap));
                }
                let mut body = Vec::new();
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk.map_err(|e| {
                        RemoteError::Unreachable(format!(
                            "{}: the layer stopped coming: {}",
                            reference.whole(),
                            e.kind()
                        ))
                    })?;
                    if body.len() as u64 + chunk.len() as u64 > cap {
                        return Err(too_large(&reference.whole(), cap));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(body)
            })
            .await?;
        let got = sha256(&bytes);
        if got != layer.digest {
            return Err(RemoteError::new(format!(
                "{}: layer digest mismatch: the manifest says {}, the bytes are {got}",
                reference.whole(),
                layer.digest
            )));
        }
        self.store.put_blob(&got, &bytes);
        Ok(bytes)
    }

    /// Every tag of `reference`'s repository.
    pub async fn oci_tags(&self, reference: &Reference) -> Result<Vec<String>> {
        self.check_online(&reference.whole())?;
        let auth = self.oci_auth(reference)?;
        self.bounded(async {
            let (mut tags, mut last) = (Vec::new(), None::<String>);
            // Pages of 1000, as registries cap them; a bounded number of pages.
            for _ in 0..50 {
                let page = self
                    .oci
                    .list_tags(reference, &auth, Some(1000), last.as_deref())
                    .await
                    .map_err(|e| oci_error(reference, e))?;
                let full = page.tags.len() >= 1000;
                last = page.tags.last().cloned();
                tags.extend(page.tags);
                if !full {
                    break;
                }
            }
            Ok(tags)
        })
        .await
    }
}

fn show(limit: Duration) -> String {
    match limit.as_secs() {
        0 => format!("{}ms", limit.as_millis()),
        s => format!("{s}s"),
    }
}

fn too_large(what: &str, cap: u64) -> RemoteError {
    RemoteError::new(format!("{what}: larger than {cap} bytes (the size cap)"))
}

fn status_reason(url: &str, status: u16, host: &str) -> String {
    match status {
        401 | 403 => format!(
            "{url}: refused ({status}): check the credentials for {host} (--registry-config, \
             --remote-auth; agent: remote.auth)"
        ),
        404 => format!("{url}: not found (404)"),
        _ => format!("{url}: the server answered {status}"),
    }
}

fn http_error(url: &str, e: &reqwest::Error) -> RemoteError {
    // reqwest's own text names the URL; the cause chain says why (TLS, DNS, refused).
    let (mut reason, unreachable) = match (e.is_timeout(), e.is_connect()) {
        (true, _) => ("no answer in time (--fetch-timeout)".to_string(), true),
        (_, true) => ("cannot connect".to_string(), true),
        _ => ("request failed".to_string(), false),
    };
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        reason.push_str(&format!(": {c}"));
        cause = c.source();
    }
    match unreachable {
        true => RemoteError::Unreachable(format!("{url}: {reason}")),
        false => RemoteError::new(format!("{url}: {reason}")),
    }
}

fn oci_error(reference: &Reference, e: OciDistributionError) -> RemoteError {
    let what = reference.whole();
    let host = reference.registry();
    let reason = match e {
        OciDistributionError::UnauthorizedError { .. }
        | OciDistributionError::AuthenticationFailure(_) => {
            return RemoteError::new(status_reason(&what, 401, host));
        }
        OciDistributionError::ServerError { code, .. } => status_reason(&what, code, host),
        OciDistributionError::ImageManifestNotFoundError(_) => format!("{what}: not found"),
        OciDistributionError::RegistryError { envelope, .. } => {
            let said: Vec<String> = envelope
                .errors
                .iter()
                .map(|e| format!("{:?}: {}", e.code, e.message))
                .collect();
            if envelope
                .errors
                .iter()
                .any(|e| format!("{:?}", e.code).contains("Unauthorized"))
            {
                return RemoteError::new(status_reason(&what, 401, host));
            }
            format!("{what}: the registry said {}", said.join("; "))
        }
        OciDistributionError::RequestError(e) => return http_error(&what, &e),
        OciDistributionError::DigestError(e) => format!("{what}: digest mismatch: {e}"),
        other => format!("{what}: {other}"),
    };
    RemoteError::new(reason)
}
