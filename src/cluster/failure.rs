//! API failures as driftless reports them, and which of them are worth another try.

use std::time::Duration;

/// A failed API call, as the server (or the transport) reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    /// HTTP status; 0 when the request never got an answer.
    pub code: u16,
    pub reason: String,
    pub message: String,
    /// The kind of the object the failure is about (`namespaces` for a missing namespace).
    pub details_kind: String,
    /// Per-field causes: (message, field), e.g. (`conflict with "kubectl-edit" using apps/v1`,
    /// `.spec.replicas`) for a server-side apply conflict.
    pub causes: Vec<(String, String)>,
    /// How long the server asked us to wait (a 429's `Retry-After`).
    pub retry_after: Option<Duration>,
    /// Set when the request got no answer: why.
    pub no_answer: Option<NoAnswer>,
}

/// Why a request got no HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoAnswer {
    /// Refused, reset, or otherwise failed on the wire.
    Transport,
    /// No answer within the request timeout.
    Timeout,
    /// Not sent: the server was already known unreachable.
    Unreachable,
    /// Not sent: the pass halted while the request waited for its turn.
    Halted,
}

/// What a request does, as far as retrying it is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Read,
    /// A server-side apply (or its dry-run).
    Apply,
    Delete,
    /// A create or replace that must not be repeated blindly (a Lease).
    Guarded,
}

/// Whether, and how, a failed request is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// A real answer (a 403, a 422, a field-manager conflict, a 404): never retried.
    Never,
    /// 429: wait as long as the server says, and send fewer requests at once.
    Throttled(Option<Duration>),
    /// 5xx, no answer, or an apply answered `AlreadyExists` (a stale cache right after an etcd
    /// restart): back off and try again, a few times.
    Transient,
}

impl ApiFailure {
    pub fn is_conflict(&self) -> bool {
        self.code == 409 && self.reason == "Conflict"
    }
    pub fn is_missing_namespace(&self) -> bool {
        self.code == 404 && self.details_kind == "namespaces"
    }
    pub fn is_unreachable(&self) -> bool {
        self.no_answer == Some(NoAnswer::Unreachable)
    }

    /// Not sent because the pass halted (see [`super::Flow::call_until`]).
    pub fn is_halted(&self) -> bool {
        self.no_answer == Some(NoAnswer::Halted)
    }

    /// The fields a 422 says cannot change in place (`spec.template`), each once; empty for any
    /// other failure.
    pub fn immutable_fields(&self) -> Vec<String> {
        if self.code != 422 {
            return Vec::new();
        }
        let mut fields: Vec<String> = Vec::new();
        for (message, field) in &self.causes {
            let immutable = ["immutable", "may not change once set"]
                .iter()
                .any(|w| message.contains(w))
                || message.contains("updates to statefulset spec for fields other than");
            if immutable && !fields.contains(field) {
                fields.push(field.clone());
            }
        }
        fields
    }

    /// How a failure of `op` is retried. Every call driftless makes is idempotent except the
    /// guarded ones, which are never retried on no answer (a lost reply would look like a race).
    pub fn retry(&self, op: Op) -> Retry {
        match (self.code, op) {
            (429, _) => Retry::Throttled(self.retry_after),
            (500 | 502 | 503 | 504, _) => Retry::Transient,
            (409, Op::Apply) if self.reason == "AlreadyExists" => Retry::Transient,
            (0, Op::Guarded) => Retry::Never,
            (0, _)
                if matches!(
                    self.no_answer,
                    Some(NoAnswer::Transport | NoAnswer::Timeout)
                ) =>
            {
                Retry::Transient
            }
            _ => Retry::Never,
        }
    }
}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let reason = match self.reason.as_str() {
            "" => http::StatusCode::from_u16(self.code)
                .ok()
                .and_then(|c| c.canonical_reason())
                .unwrap_or(""),
            r => r,
        };
        match (self.code, reason) {
            (0, _) => f.write_str(&self.message),
            (code, "") => write!(f, "{} ({code})", self.message),
            (code, reason) => write!(f, "{} ({code} {reason})", self.message),
        }
    }
}

impl From<kube::Error> for ApiFailure {
    fn from(err: kube::Error) -> Self {
        match err {
            kube::Error::Api(status) => {
                let details = status.details.as_ref();
                let mut f = ApiFailure {
                    code: status.code,
                    reason: status.reason.clone(),
                    message: status.message.clone(),
                    details_kind: details.map(|d| d.kind.clone()).unwrap_or_default(),
                    causes: details
                        .map(|d| {
                            d.causes
                                .iter()
                                .map(|c| (c.message.clone(), c.field.clone()))
                                .collect()
                        })
                        .unwrap_or_default(),
                    retry_after: details
                        .map(|d| d.retry_after_seconds)
                        .filter(|s| *s > 0)
                        .map(|s| Duration::from_secs(u64::from(s))),
                    no_answer: None,
                };
                if let Some(r) = super::status::reword(&status) {
                    (f.code, f.reason, f.message) = (r.code, r.reason, r.message);
                }
                f
            }
            // An answer, but not one Kubernetes gives: not worth another try.
            kube::Error::SerdeError(e) => failure(format!("unreadable answer: {e}")),
            other => {
                let (no_answer, message) = describe_transport(&other);
                let mut f = failure(message);
                f.no_answer = Some(no_answer);
                f
            }
        }
    }
}

/// What a request without an answer met, in words that quote no credential (an exec plugin's
/// output, a PEM line), and whether it timed out. The innermost cause says what happened
/// ("Connection refused"), the outer one where ("client error (Connect)").
fn describe_transport(err: &kube::Error) -> (NoAnswer, String) {
    let mut chain: Vec<&(dyn std::error::Error + 'static)> = vec![err];
    while let Some(source) = chain.last().and_then(|e| e.source()) {
        chain.push(source);
    }
    for e in &chain {
        if let Some(auth) = e.downcast_ref::<kube::client::AuthError>() {
            return (NoAnswer::Transport, super::config::auth_error(auth));
        }
        if let Some(tls) = e.downcast_ref::<kube::client::RustlsTlsError>() {
            return (NoAnswer::Transport, super::config::tls_error(tls));
        }
    }
    let outer = err.to_string();
    let io_kind = chain
        .iter()
        .find_map(|e| e.downcast_ref::<std::io::Error>())
        .map(std::io::Error::kind);
    match io_kind {
        // The transport's own timeouts: connecting (TCP and TLS), or reading an answer.
        Some(std::io::ErrorKind::TimedOut) if outer.contains("(Connect)") => {
            return (NoAnswer::Timeout, CONNECTING.into());
        }
        Some(std::io::ErrorKind::TimedOut) => {
            return (
                NoAnswer::Timeout,
                "no answer in time (timed out reading)".into(),
            );
        }
        Some(std::io::ErrorKind::ConnectionRefused) => {
            return (NoAnswer::Transport, "connection refused".into());
        }
        _ => {}
    }
    // rustls appends a link to its manual; the message before it is what a user needs.
    let inner = chain.last().map(|e| e.to_string()).unwrap_or_default();
    let inner = inner.split(": https://").next().unwrap_or_default();
    let outer = outer.strip_prefix("ServiceError: ").unwrap_or(&outer);
    let message = match outer.contains(inner) {
        true => outer.to_string(),
        false => format!("{outer}: {inner}"),
    };
    (NoAnswer::Transport, message)
}

/// The message of a timeout met while connecting (TCP, then TLS), before any request was sent.
pub(super) const CONNECTING: &str = "no answer while connecting (TCP and TLS handshake)";

/// A watch's failure (kube's watcher retries on its own): what it was doing, and why.
pub(super) fn watch_failure(e: kube::runtime::watcher::Error) -> ApiFailure {
    use kube::runtime::watcher::Error as W;
    let (doing, mut f) = match e {
        W::InitialListFailed(e) => ("listing", ApiFailure::from(e)),
        W::WatchStartFailed(e) => ("starting the watch", ApiFailure::from(e)),
        W::WatchFailed(e) => ("watching", ApiFailure::from(e)),
        W::WatchError(status) => ("watching", ApiFailure::from(kube::Error::Api(status))),
        W::NoResourceVersion => {
            return failure("the list had no resourceVersion (is the kind watchable?)".into());
        }
    };
    f.message = format!("{doing}: {}", f.message);
    f
}

pub(super) fn failure(message: String) -> ApiFailure {
    ApiFailure {
        code: 0,
        reason: String::new(),
        message,
        details_kind: String::new(),
        causes: Vec::new(),
        retry_after: None,
        no_answer: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(code: u16, reason: &str) -> ApiFailure {
        ApiFailure {
            code,
            reason: reason.into(),
            ..failure("boom".into())
        }
    }

    #[test]
    fn what_is_retried_is_a_typed_decision() {
        assert_eq!(answer(503, "").retry(Op::Read), Retry::Transient);
        assert_eq!(answer(504, "").retry(Op::Apply), Retry::Transient);
        let mut throttled = answer(429, "TooManyRequests");
        throttled.retry_after = Some(Duration::from_secs(2));
        assert_eq!(
            throttled.retry(Op::Apply),
            Retry::Throttled(Some(Duration::from_secs(2)))
        );
        assert_eq!(
            answer(409, "AlreadyExists").retry(Op::Apply),
            Retry::Transient
        );
        assert_eq!(
            answer(409, "AlreadyExists").retry(Op::Guarded),
            Retry::Never
        );
        for never in [
            answer(409, "Conflict"),
            answer(422, "Invalid"),
            answer(403, "Forbidden"),
        ] {
            assert_eq!(never.retry(Op::Apply), Retry::Never, "{never}");
        }
        let mut dead = failure("connection refused".into());
        dead.no_answer = Some(NoAnswer::Transport);
        assert_eq!(dead.retry(Op::Read), Retry::Transient);
        assert_eq!(dead.retry(Op::Guarded), Retry::Never);
        dead.no_answer = Some(NoAnswer::Unreachable);
        assert_eq!(dead.retry(Op::Read), Retry::Never);
    }

    #[test]
    fn an_empty_reason_reads_as_the_status_line() {
        assert_eq!(
            answer(500, "").to_string(),
            "boom (500 Internal Server Error)"
        );
        assert_eq!(answer(422, "Invalid").to_string(), "boom (422 Invalid)");
        assert_eq!(answer(599, "").to_string(), "boom (599)");
        assert_eq!(failure("no route".into()).to_string(), "no route");
    }
}
