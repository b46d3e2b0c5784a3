//! `POST /hook/<set>`: a signed call fetches the set now. The replica leading the set triggers
//! a pass; a standby (a Service picks either) passes a verified call on to the leader at the
//! endpoint its Lease records, signed with the set's secret, never with the caller's headers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::hook::{Call, Provider, RateLimit, verify};
use super::metrics::Metrics;
use crate::cluster::{SetLock, locked};
use crate::runner::{Requester, Trigger};
use crate::settings::WebhookSettings;

/// The header of a call a standby passes on: `sha256=<HMAC of the body with the set's secret>`.
const FORWARDED: &str = "x-driftless-forwarded";
/// Verified calls a set takes at once, then one per [`REFILL`].
const BURST: u32 = 5;
const REFILL: Duration = Duration::from_secs(2);
/// How long passing a call on to the leader may take.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(5);

/// One set's webhook: its secret, its rate limit, and how to reach the set's pass loop.
pub struct HookSlot {
    settings: WebhookSettings,
    limit: Mutex<RateLimit>,
    /// Set while this replica leads the set.
    requester: Mutex<Option<Requester>>,
    /// The set's Lease, once connected: where the leader takes calls.
    lock: Mutex<Option<Arc<SetLock>>>,
}

impl HookSlot {
    pub fn new(settings: WebhookSettings) -> HookSlot {
        HookSlot {
            settings,
            limit: Mutex::new(RateLimit::new(BURST, REFILL, Instant::now())),
            requester: Mutex::new(None),
            lock: Mutex::new(None),
        }
    }

    /// This replica leads the set (`Some`) or stands by (`None`).
    pub fn leading(&self, requester: Option<Requester>) {
        *locked(&self.requester) = requester;
    }

    pub fn attach(&self, set_lock: Arc<SetLock>) {
        *locked(&self.lock) = Some(set_lock);
    }
}

/// Every set's webhook, by set name.
pub type Hooks = Arc<HashMap<String, Arc<HookSlot>>>;

#[derive(Clone)]
pub struct HookState {
    pub hooks: Hooks,
    pub metrics: Arc<Metrics>,
}

pub async fn hook(
    State(s): State<HookState>,
    Path(set): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(slot) = s.hooks.get(&set) else {
        return (StatusCode::NOT_FOUND, "no webhook for this sync set\n").into_response();
    };
    let (result, response) = receive(slot, &set, &headers, &body).await;
    s.metrics.webhook_call(&set, result);
    response
}

async fn receive(
    slot: &HookSlot,
    set: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> (&'static str, Response) {
    let secret = match read_secret(&slot.settings.secret_file) {
        Ok(secret) => secret,
        Err(e) => {
            tracing::error!(set, error = %e, "webhook secret unreadable");
            let why = "webhook secret unavailable\n";
            return (
                "unavailable",
                (StatusCode::SERVICE_UNAVAILABLE, why).into_response(),
            );
        }
    };
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let forwarded = headers.contains_key(FORWARDED);
    let verified = match forwarded {
        true => verify(Provider::Generic, &secret, |n| get(remap(n)), body),
        false => verify(slot.settings.provider, &secret, get, body),
    };
    let call = match verified {
        Ok(call) => call,
        Err(refusal) => {
            tracing::warn!(set, provider = slot.settings.provider.label(), %refusal, "webhook call refused");
            return (
                "unauthorized",
                (StatusCode::UNAUTHORIZED, format!("{refusal}\n")).into_response(),
            );
        }
    };
    if call == Call::Ping {
        return ("ping", (StatusCode::OK, "pong\n").into_response());
    }
    if let Err(wait) = locked(&slot.limit).take(Instant::now()) {
        let retry = wait.as_secs().max(1).to_string();
        let response = (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, retry)],
            "too many webhook calls for this sync set\n",
        );
        return ("limited", response.into_response());
    }
    if let Some(requester) = locked(&slot.requester).as_ref() {
        requester.request(Trigger::Requested);
        tracing::info!(set, forwarded, "webhook: fetching now");
        return (
            "accepted",
            (StatusCode::ACCEPTED, "fetching\n").into_response(),
        );
    }
    if forwarded {
        let why = "this replica does not lead the sync set\n";
        return (
            "unavailable",
            (StatusCode::SERVICE_UNAVAILABLE, why).into_response(),
        );
    }
    match forward(slot, set, &secret, body).await {
        Ok(status) => (
            "forwarded",
            (status, "passed on to the leader\n").into_response(),
        ),
        Err(e) => {
            tracing::warn!(set, error = %e, "webhook: cannot pass the call on to the leader");
            let why = format!("the sync set's leader cannot be reached: {e}\n");
            (
                "unavailable",
                (StatusCode::SERVICE_UNAVAILABLE, why).into_response(),
            )
        }
    }
}

/// A forwarded call is checked as a generic HMAC whose header is [`FORWARDED`].
fn remap(name: &str) -> &str {
    match name {
        "x-signature" => FORWARDED,
        other => other,
    }
}

fn read_secret(path: &std::path::Path) -> Result<Vec<u8>, String> {
    let mut secret = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    while secret.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        secret.pop();
    }
    match secret.is_empty() {
        true => Err(format!("{}: empty", path.display())),
        false => Ok(secret),
    }
}

/// Passes a verified call on to the leader the Lease names; returns the leader's status.
async fn forward(
    slot: &HookSlot,
    set: &str,
    secret: &[u8],
    body: &[u8],
) -> Result<StatusCode, String> {
    let set_lock = locked(&slot.lock)
        .clone()
        .ok_or("not connected to the cluster yet")?;
    let (holder, endpoint) = set_lock
        .holder_endpoint()
        .await
        .map_err(|e| e.to_string())?;
    let endpoint = endpoint.ok_or_else(|| match holder {
        Some(h) => format!("its holder {h} records no endpoint"),
        None => "nobody holds the sync set's Lease".into(),
    })?;
    let signature = super::hook::sign(secret, body);
    let call = async {
        let mut stream = tokio::net::TcpStream::connect(&endpoint).await?;
        let head = format!(
            "POST /hook/{set} HTTP/1.1\r\nHost: {endpoint}\r\nContent-Length: {}\r\n\
             Content-Type: application/octet-stream\r\n{FORWARDED}: {signature}\r\n\
             Connection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body).await?;
        let mut answer = Vec::new();
        stream.take(64 * 1024).read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = tokio::time::timeout(FORWARD_TIMEOUT, call)
        .await
        .map_err(|_| format!("{endpoint}: no answer in {}s", FORWARD_TIMEOUT.as_secs()))?
        .map_err(|e| format!("{endpoint}: {e}"))?;
    let status = String::from_utf8_lossy(&answer)
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .and_then(|code| StatusCode::from_u16(code).ok())
        .ok_or_else(|| format!("{endpoint}: not an HTTP answer"))?;
    Ok(status)
}
