//! The agent's HTTP endpoints: `/metrics` (OpenMetrics), `/healthz` (the process works),
//! `/readyz` (every set has loaded), `/report` (JSON: per set and namespace, the revisions
//! applied and attempted, and the failures), and with `dashboard: true` the same as a page at
//! `/`. Read-only; nothing here writes to the cluster.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;

use super::hook::MAX_BODY;
use super::metrics::Metrics;
use super::receiver::{self, HookState, Hooks};
use super::state::{AgentState, SetStatus};
use crate::halt::Halt;

#[derive(Clone)]
struct Shared {
    state: Arc<AgentState>,
    metrics: Arc<Metrics>,
    identity: Arc<str>,
}

/// `POST /hook/<set>`, on a listener of its own.
pub fn hook_router(hooks: Hooks, metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/hook/{set}", post(receiver::hook))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(bounded))
        .with_state(HookState { hooks, metrics })
}

/// How long one webhook call may take, its body included: a caller that sends slowly (the
/// port faces the Internet) is cut off rather than holding a connection.
const HOOK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

async fn bounded(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    match tokio::time::timeout(HOOK_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => (StatusCode::REQUEST_TIMEOUT, "request took too long\n").into_response(),
    }
}

/// The endpoints; the dashboard at `/` only when asked for (a metrics port is often scraped,
/// and so reachable, cluster-wide).
pub fn router(
    state: Arc<AgentState>,
    metrics: Arc<Metrics>,
    identity: &str,
    dashboard: bool,
) -> Router {
    let router = match dashboard {
        true => Router::new().route("/", get(dashboard_page)),
        false => Router::new(),
    };
    router
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/report", get(report))
        .layer(axum::middleware::from_fn(scrubbed))
        .with_state(Shared {
            state,
            metrics,
            identity: identity.into(),
        })
}

/// Most bytes of a page scrubbed of decrypted values; the pages are far smaller.
const MAX_PAGE: usize = 64 << 20;

/// Every page passes [`crate::redact::scrub`]: a decrypted value quoted in a failure (a server
/// error, a hook's message) never leaves the process.
async fn scrubbed(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let response = next.run(request).await;
    if !crate::redact::active() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    match axum::body::to_bytes(body, MAX_PAGE).await {
        Ok(bytes) => {
            let clean = crate::redact::scrub_bytes(&bytes).into_owned();
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, axum::body::Body::from(clean))
        }
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "page too large\n").into_response(),
    }
}

/// Binds `listen` and serves until `halt` fires.
pub async fn serve(
    listen: SocketAddr,
    router: Router,
    halt: Halt,
    what: &'static str,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    tracing::info!(%listen, "serving {what}");
    Ok(tokio::spawn(async move {
        let shutdown = async move { halt.halted().await };
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "HTTP server stopped");
        }
    }))
}

async fn metrics_text(State(s): State<Shared>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.encode(),
    )
        .into_response()
}

async fn healthz(State(s): State<Shared>) -> Response {
    match s.state.stopped_sets() {
        stopped if stopped.is_empty() => (StatusCode::OK, "ok\n").into_response(),
        stopped => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("set workers stopped: {}\n", stopped.join(", ")),
        )
            .into_response(),
    }
}

async fn readyz(State(s): State<Shared>) -> Response {
    match s.state.ready() {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(waiting) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not loaded yet: {}\n", waiting.join(", ")),
        )
            .into_response(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportBody {
    identity: String,
    version: &'static str,
    sets: Vec<SetStatus>,
}

async fn dashboard_page(State(s): State<Shared>) -> Response {
    let now = k8s_openapi::jiff::Timestamp::now();
    let page = super::dashboard::page(&s.identity, &s.state.snapshot(), now);
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            // Everything is inline: nothing may load from elsewhere, and no one may frame it.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        page,
    )
        .into_response()
}

async fn report(State(s): State<Shared>) -> Response {
    axum::Json(ReportBody {
        identity: s.identity.to_string(),
        version: env!("CARGO_PKG_VERSION"),
        sets: s.state.snapshot(),
    })
    .into_response()
}
