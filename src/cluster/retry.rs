//! How every request goes out: bounded in time, retried only when the failure is transient,
//! throttled together when the server says 429, and not sent at all once the server is known
//! gone.
//!
//! - **Timeout**: each attempt is cut at the request timeout (`--request-timeout`).
//! - **Retries**: see [`ApiFailure::retry`]; 5xx and no answer back off (200 ms, 400 ms, 800 ms,
//!   with jitter) up to four attempts; a refused (429) request waits as the server asks, up to a
//!   time budget.
//! - **Throttling**: requests in flight are limited by windows that shrink on 429 and grow back
//!   slowly (see [`super::throttle`]).
//! - **Unreachable**: after [`UNREACHABLE_AFTER`] consecutive attempts without an answer (two
//!   if they timed out), the server is taken as gone: no further request is sent this pass; every later call fails at
//!   once, so a run ends in bounded time whatever work is left.

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::ApiFailure;
use super::failure::{CONNECTING, NoAnswer, Op, Retry, failure};
use super::throttle::Throttle;
use crate::halt::Halt;

const ATTEMPTS: u32 = 4;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// How long one request may keep being throttled (429) before it fails.
const THROTTLE_BUDGET: Duration = Duration::from_secs(120);
/// When the server names no wait.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// Consecutive attempts without an answer after which the server counts as unreachable.
pub const UNREACHABLE_AFTER: u32 = 6;
/// How much longer than the transport's own timeouts (connecting, reading) the whole attempt
/// may take: they fire first, and only they can tell a connection that never completed.
const TRANSPORT_FIRST: Duration = Duration::from_millis(250);
/// The longest a connection (TCP and TLS) may take, whatever the request timeout: a server that
/// does not complete one in this time is not answering.
pub const CONNECT_TIMEOUT_CAP: Duration = Duration::from_secs(10);

/// The request policy shared by every call of one cluster connection.
#[derive(Debug)]
pub struct Flow {
    /// The API server's URL, named in every failure without an answer.
    server: String,
    request_timeout: Duration,
    throttle: Throttle,
    /// Consecutive attempts without an answer; `u32::MAX` once the server is taken as gone.
    silent: AtomicU32,
    last_silence: Mutex<String>,
    /// Set once connected: a server lost before that is the connection's error, said once.
    connected: AtomicBool,
}

impl Flow {
    pub fn new(server: &str, request_timeout: Duration, max_in_flight: usize) -> Flow {
        Flow {
            server: server.trim_end_matches('/').to_string(),
            request_timeout,
            throttle: Throttle::new(max_in_flight),
            silent: AtomicU32::new(0),
            last_silence: Mutex::new(String::new()),
            connected: AtomicBool::new(false),
        }
    }

    /// The server answered discovery: from now on, losing it is logged (once) as it happens.
    pub fn connected(&self) {
        self.connected.store(true, Ordering::SeqCst);
    }

    pub fn server(&self) -> &str {
        &self.server
    }

    /// Forgets an earlier "unreachable" (a new pass of a long-running agent).
    pub fn reset(&self) {
        self.silent.store(0, Ordering::SeqCst);
    }

    /// Why the server counts as unreachable, if it does.
    pub fn unreachable(&self) -> Option<String> {
        (self.silent.load(Ordering::SeqCst) == u32::MAX).then(|| {
            let last = self
                .last_silence
                .lock()
                .map(|l| l.clone())
                .unwrap_or_default();
            format!("API server unreachable ({last})")
        })
    }

    /// Runs `call` under the policy above.
    pub async fn call<T, F, Fut>(&self, what: &str, op: Op, call: F) -> Result<T, ApiFailure>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ApiFailure>>,
    {
        self.call_until(what, op, None, call).await
    }

    /// As [`Flow::call`], but nothing is sent once `halt` fires: a write that waited for room in
    /// the window, or after a 429, is not sent after a halt (a lost Lease, a signal, the
    /// deadline) and fails as [`NoAnswer::Halted`].
    pub async fn call_until<T, F, Fut>(
        &self,
        what: &str,
        op: Op,
        halt: Option<&Halt>,
        mut call: F,
    ) -> Result<T, ApiFailure>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ApiFailure>>,
    {
        let first = Instant::now();
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            if let Some(f) = self.not_sent(halt) {
                return Err(f);
            }
            let window = self.throttle.window(op);
            let permit = window.acquire().await;
            // Again after the wait for room: the server may have been found gone meanwhile.
            if let Some(f) = self.not_sent(halt) {
                return Err(f);
            }
            let sent = Instant::now();
            let bound = self.request_timeout + TRANSPORT_FIRST;
            let result = match tokio::time::timeout(bound, call()).await {
                Ok(result) => result,
                Err(_) => Err(self.timed_out()),
            };
            drop(permit);
            tracing::trace!(%what, ms = sent.elapsed().as_millis() as u64, code = result.as_ref().err().map_or(200, |e| e.code), "request");
            let e = match result {
                Ok(value) => {
                    window.succeeded();
                    self.silent.store(0, Ordering::SeqCst);
                    return Ok(value);
                }
                Err(e) => self.explain(e, what),
            };
            self.observe(&e);
            match e.retry(op) {
                Retry::Throttled(after) if first.elapsed() < THROTTLE_BUDGET => {
                    let wait = after.unwrap_or(DEFAULT_RETRY_AFTER);
                    self.throttle.throttled(sent);
                    tracing::debug!(%what, wait_ms = wait.as_millis() as u64, limit = window.limit(), "throttled (429)");
                    // Not before the server said; jittered, so refused requests do not return
                    // together.
                    tokio::time::sleep(wait + jitter(wait) / 4).await;
                }
                Retry::Transient if attempt < ATTEMPTS && self.unreachable().is_none() => {
                    tracing::debug!(%what, attempt, error = %e, "transient API failure, retrying");
                    tokio::time::sleep(jitter(backoff)).await;
                    backoff *= 2;
                    attempt += 1;
                }
                _ => return Err(e),
            }
        }
    }

    /// Why a request is not sent at all: the server is known gone, or the pass halted.
    fn not_sent(&self, halt: Option<&Halt>) -> Option<ApiFailure> {
        let (why, no_answer) = match (self.unreachable(), halt.and_then(Halt::not_attempted)) {
            (Some(why), _) => (why, NoAnswer::Unreachable),
            (None, Some(why)) => (why, NoAnswer::Halted),
            (None, None) => return None,
        };
        let mut f = failure(why);
        f.no_answer = Some(no_answer);
        Some(f)
    }

    fn timed_out(&self) -> ApiFailure {
        let mut f = failure("no answer in time".into());
        f.no_answer = Some(NoAnswer::Timeout);
        f
    }

    /// A failure without an answer, with the server it came from and, for a timeout, what
    /// timed out and the flag that bounds it.
    fn explain(&self, mut e: ApiFailure, what: &str) -> ApiFailure {
        let (server, bound) = (&self.server, self.request_timeout);
        e.message = match e.no_answer {
            Some(NoAnswer::Timeout) if e.message == CONNECTING => format!(
                "{server} did not complete a connection (TCP and TLS handshake) within {} \
                 (--request-timeout, at most {})",
                seconds(bound.min(CONNECT_TIMEOUT_CAP)),
                seconds(CONNECT_TIMEOUT_CAP)
            ),
            Some(NoAnswer::Timeout) => format!(
                "{server} did not answer the {what} request within {} (--request-timeout)",
                seconds(bound)
            ),
            Some(NoAnswer::Transport) => format!("{server}: {}", e.message),
            _ => return e,
        };
        e
    }

    /// Counts attempts without an answer; any answer resets the count.
    fn observe(&self, e: &ApiFailure) {
        if e.no_answer.is_none() {
            self.silent.store(0, Ordering::SeqCst);
            return;
        }
        if let Ok(mut last) = self.last_silence.lock() {
            *last = e.message.clone();
        }
        // A timeout already waited the whole request timeout: two in a row are enough.
        let weight = match e.no_answer {
            Some(NoAnswer::Timeout) => UNREACHABLE_AFTER / 2,
            _ => 1,
        };
        let before = self
            .silent
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(match n {
                    u32::MAX => u32::MAX,
                    n if n + weight >= UNREACHABLE_AFTER => u32::MAX,
                    n => n + weight,
                })
            })
            .unwrap_or(u32::MAX);
        let first = before != u32::MAX && before + weight >= UNREACHABLE_AFTER;
        if first && self.connected.load(Ordering::SeqCst) {
            // The one line a dead server gets; every later failure is in the report.
            tracing::error!(error = %e, "API server unreachable: no further requests this run");
        }
    }
}

/// `2s`, `0.5s`.
fn seconds(d: Duration) -> String {
    format!("{}s", d.as_secs_f32())
}

/// ±25 %, so workers that failed together do not retry together.
fn jitter(d: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.subsec_nanos())
        .unwrap_or(0);
    let factor = 0.75 + f64::from(nanos % 1000) / 2000.0;
    d.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn answer(code: u16) -> ApiFailure {
        ApiFailure {
            code,
            ..failure("boom".into())
        }
    }

    fn silence() -> ApiFailure {
        ApiFailure {
            no_answer: Some(NoAnswer::Transport),
            ..failure("connection refused".into())
        }
    }

    fn flow() -> Flow {
        Flow::new("https://test:6443", Duration::from_secs(30), 8)
    }

    #[tokio::test(start_paused = true)]
    async fn retries_transient_failures_then_gives_up() {
        let (flow, calls) = (flow(), Cell::new(0));
        let result: Result<(), _> = flow
            .call("test", Op::Read, || {
                calls.set(calls.get() + 1);
                async { Err(answer(503)) }
            })
            .await;
        assert_eq!((result.unwrap_err().code, calls.get()), (503, ATTEMPTS));

        let calls = Cell::new(0);
        let result: Result<(), _> = flow
            .call("test", Op::Apply, || {
                calls.set(calls.get() + 1);
                async { Err(answer(422)) }
            })
            .await;
        assert_eq!(
            (result.unwrap_err().code, calls.get()),
            (422, 1),
            "not retried"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_server_is_given_up_on_and_no_more_requests_are_sent() {
        let (flow, calls) = (flow(), Cell::new(0));
        for _ in 0..3 {
            let _: Result<(), _> = flow
                .call("test", Op::Read, || {
                    calls.set(calls.get() + 1);
                    async { Err(silence()) }
                })
                .await;
        }
        assert_eq!(
            calls.get(),
            UNREACHABLE_AFTER,
            "stops counting attempts at the threshold"
        );
        let after = calls.get();
        let e = flow
            .call("test", Op::Read, || {
                calls.set(calls.get() + 1);
                async { Ok::<_, ApiFailure>(()) }
            })
            .await
            .unwrap_err();
        assert!(
            e.is_unreachable() && e.to_string().contains("connection refused"),
            "{e}"
        );
        assert_eq!(calls.get(), after, "nothing sent");
        flow.reset();
        assert!(
            flow.call("test", Op::Read, || async { Ok::<_, ApiFailure>(()) })
                .await
                .is_ok()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_without_an_answer_times_out() {
        let flow = Flow::new("https://test:6443", Duration::from_secs(2), 1);
        let started = Instant::now();
        let e = flow
            .call("test", Op::Guarded, || async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok::<(), ApiFailure>(())
            })
            .await
            .unwrap_err();
        assert_eq!(e.no_answer, Some(NoAnswer::Timeout));
        assert!(e.to_string().contains("--request-timeout"));
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "guarded: no retry"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn failures_without_an_answer_name_the_server_and_what_bounds_them() {
        let flow = Flow::new("https://test:6443/", Duration::from_secs(2), 1);
        let fail = |no_answer, message: &str| {
            let mut f = failure(message.into());
            f.no_answer = Some(no_answer);
            f
        };
        let flow = &flow;
        let said = |f: ApiFailure| async move {
            flow.reset();
            let e = flow
                .call("get", Op::Guarded, || async { Err::<(), _>(f.clone()) })
                .await
                .unwrap_err();
            e.to_string()
        };
        assert_eq!(
            said(fail(NoAnswer::Transport, "connection refused")).await,
            "https://test:6443: connection refused"
        );
        assert_eq!(
            said(fail(NoAnswer::Timeout, CONNECTING)).await,
            "https://test:6443 did not complete a connection (TCP and TLS handshake) within 2s \
             (--request-timeout, at most 10s)"
        );
        let e = flow
            .call("get", Op::Guarded, || async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok::<(), ApiFailure>(())
            })
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "https://test:6443 did not answer the get request within 2s (--request-timeout)"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_is_sent_after_a_halt_not_even_a_throttled_retry() {
        let (flow, calls, halt) = (flow(), Cell::new(0), Halt::new());
        let result = flow
            .call_until("test", Op::Apply, Some(&halt), || {
                calls.set(calls.get() + 1);
                // The server refuses the first attempt; the pass halts while it waits.
                halt.halt(crate::halt::HaltReason::Terminate);
                async {
                    let mut e = answer(429);
                    e.retry_after = Some(Duration::from_secs(1));
                    Err::<(), _>(e)
                }
            })
            .await;
        let e = result.unwrap_err();
        assert!(e.is_halted(), "{e}");
        assert!(e.to_string().contains("SIGTERM"), "{e}");
        assert_eq!(calls.get(), 1, "the retry was not sent");
        let halted = flow
            .call_until("test", Op::Apply, Some(&halt), || async {
                Ok::<_, ApiFailure>(())
            })
            .await;
        assert!(
            halted.is_err_and(|e| e.is_halted()),
            "a halted pass sends nothing"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn throttled_requests_wait_and_then_succeed() {
        let (flow, calls) = (flow(), Cell::new(0));
        let started = Instant::now();
        let result = flow
            .call("test", Op::Apply, || {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move {
                    if n < 10 {
                        let mut e = answer(429);
                        e.retry_after = Some(Duration::from_secs(1));
                        Err(e)
                    } else {
                        Ok(n)
                    }
                }
            })
            .await;
        assert_eq!(result.unwrap(), 10, "429s are not counted as attempts");
        assert!(started.elapsed() >= Duration::from_secs(9));
    }
}
