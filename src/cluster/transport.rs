//! The HTTP stack under the client: kube's own layers (base URL, credentials, headers, TLS),
//! over sockets with `TCP_NODELAY`.
//!
//! kube's `Client::try_from(Config)` leaves Nagle's algorithm on. A request written right after
//! the TLS handshake's last flight (or a body after its headers) then waits for the server's
//! delayed ACK: about 40 ms on each new connection, a third of a 1,000-object diff on loopback.
//! Go's client (kubectl's) sets `TCP_NODELAY` on every connection, as this does.
//! kube-rs/kube#2056 asks for the same upstream; until then the stack is built here.

use hyper_timeout::TimeoutConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kube::client::{Body, ClientBuilder, ConfigExt as _, RustlsTlsError};
use kube::{Client, Config};
use tower::{BoxError, ServiceBuilder};

/// A client for `config`, as kube builds one (no retry layer: the request policy retries),
/// with `TCP_NODELAY` set. A proxy is kube's to handle: its connectors are not public.
pub(super) fn build(config: Config) -> Result<Client, kube::Error> {
    if config.proxy_url.is_some() {
        return Client::try_from(config);
    }
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    let https = https(&config, http)?;
    let mut connector = TimeoutConnector::new(https);
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    connector.set_reset_reader_on_write(config.reset_reader_on_write);
    let http_client: hyper_util::client::legacy::Client<_, Body> =
        hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(connector);
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .map_err(BoxError::from)
        .service(http_client);
    Ok(ClientBuilder::new(service, config.default_namespace).build())
}

/// TLS as kube sets it up (CA, client certificate or the exec plugin's, `tls-server-name`),
/// offering HTTP/2 as well: one connection carries every request at once, as Go's client does,
/// instead of one TLS handshake per request in flight.
fn https(
    config: &Config,
    http: HttpConnector,
) -> Result<hyper_rustls::HttpsConnector<HttpConnector>, kube::Error> {
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config.rustls_client_config()?)
        .https_or_http();
    let builder = match &config.tls_server_name {
        Some(name) => {
            let name = rustls::pki_types::ServerName::try_from(name.clone())
                .map_err(|e| kube::Error::RustlsTls(RustlsTlsError::InvalidServerName(e)))?;
            builder.with_server_name_resolver(hyper_rustls::FixedServerNameResolver::new(name))
        }
        None => builder,
    };
    Ok(builder.enable_http1().enable_http2().wrap_connector(http))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// The stack keeps what kube's adds: the server's base URL, the credentials, impersonation
    /// and the extra headers (the user agent).
    #[tokio::test]
    async fn requests_carry_the_credentials_and_headers_kube_would_send() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = socket.read(&mut buf).await.unwrap();
                assert!(n > 0, "the request ended early");
                head.extend_from_slice(&buf[..n]);
            }
            let body = r#"{"kind":"APIVersions","versions":["v1"]}"#;
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(reply.as_bytes()).await.unwrap();
            String::from_utf8(head).unwrap().to_lowercase()
        });
        let mut config = Config::new(format!("http://127.0.0.1:{port}/base").parse().unwrap());
        config.auth_info.token = Some("t0ken".to_string().into());
        config.auth_info.impersonate = Some("alice".into());
        config
            .headers
            .push((http::header::USER_AGENT, "driftless/test".parse().unwrap()));
        let client = build(config).unwrap();
        let request = http::Request::get("/api").body(Vec::new()).unwrap();
        let text = client.request_text(request).await.unwrap();
        assert!(text.contains("APIVersions"), "{text}");
        let head = server.await.unwrap();
        assert!(head.starts_with("get /base/api http/1.1\r\n"), "{head}");
        for line in [
            "authorization: bearer t0ken",
            "impersonate-user: alice",
            "user-agent: driftless/test",
        ] {
            assert!(head.contains(line), "{line} in {head}");
        }
    }
}
