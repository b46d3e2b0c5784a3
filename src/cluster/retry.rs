//! Retries for transient API failures. Every call driftless makes is idempotent (GET, LIST,
//! server-side apply, DELETE of a named object), so a dropped connection, a 429 or a 5xx from an
//! API server restarting behind a load balancer is retried a few times before it counts.

use std::future::Future;
use std::time::Duration;

use super::ApiFailure;

const ATTEMPTS: u32 = 4;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

/// Whether a failure is worth another try: no answer at all, throttling, or a server error.
pub fn is_transient(failure: &ApiFailure) -> bool {
    matches!(failure.code, 0 | 429 | 500 | 502 | 503 | 504)
}

/// Runs `call` until it succeeds, fails for good, or has failed `ATTEMPTS` times; backs off
/// 200 ms, 400 ms, 800 ms in between.
pub async fn retrying<T, F, Fut>(what: &str, mut call: F) -> Result<T, ApiFailure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ApiFailure>>,
{
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        match call().await {
            Err(e) if attempt < ATTEMPTS && is_transient(&e) => {
                tracing::debug!(%what, attempt, error = %e, "transient API failure, retrying");
                tokio::time::sleep(backoff).await;
                backoff *= 2;
                attempt += 1;
            }
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn failure(code: u16) -> ApiFailure {
        ApiFailure {
            code,
            reason: String::new(),
            message: "boom".into(),
            details_kind: String::new(),
            causes: Vec::new(),
        }
    }

    #[test]
    fn transient_means_no_answer_throttling_or_server_errors() {
        assert!(
            is_transient(&failure(0)) && is_transient(&failure(429)) && is_transient(&failure(503))
        );
        assert!(
            !is_transient(&failure(404))
                && !is_transient(&failure(409))
                && !is_transient(&failure(422))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retries_transient_failures_then_gives_up() {
        let calls = Cell::new(0);
        let result: Result<(), _> = retrying("test", || {
            calls.set(calls.get() + 1);
            async { Err(failure(503)) }
        })
        .await;
        assert_eq!((result.unwrap_err().code, calls.get()), (503, ATTEMPTS));

        let calls = Cell::new(0);
        let result = retrying("test", || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move { if n < 3 { Err(failure(0)) } else { Ok(n) } }
        })
        .await;
        assert_eq!(result.unwrap(), 3);

        let calls = Cell::new(0);
        let result: Result<(), _> = retrying("test", || {
            calls.set(calls.get() + 1);
            async { Err(failure(422)) }
        })
        .await;
        assert_eq!(
            (result.unwrap_err().code, calls.get()),
            (422, 1),
            "a real refusal is not retried"
        );
    }
}
