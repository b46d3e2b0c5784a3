//! Webhook receiver logic: whether a `POST /hook/<set>` is signed by the set's secret (GitHub's
//! `X-Hub-Signature-256`, GitLab's `X-Gitlab-Token`, or a generic `X-Signature: sha256=<hex>`
//! HMAC), compared in constant time, and a per-set rate limit. Pure: the HTTP layer reads the
//! secret file and the clock.

use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub use crate::settings::HookProvider as Provider;

/// The largest body a hook accepts (GitHub caps its payloads at 25 MB; a push is far smaller).
pub const MAX_BODY: usize = 1024 * 1024;

/// What a verified call asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// Fetch now.
    Fetch,
    /// GitHub's `ping` when a hook is created: nothing to fetch.
    Ping,
}

/// Why a call was refused (each is a 401; none says which secret was expected).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("missing {0} header")]
    Unsigned(&'static str),
    #[error("bad signature")]
    BadSignature,
}

/// Checks a call's signature; `header` looks a header up by (case-insensitive) name.
pub fn verify<'a>(
    provider: Provider,
    secret: &[u8],
    header: impl Fn(&str) -> Option<&'a str>,
    body: &[u8],
) -> Result<Call, Refusal> {
    match provider {
        Provider::GitHub => {
            let signature =
                header("x-hub-signature-256").ok_or(Refusal::Unsigned("X-Hub-Signature-256"))?;
            hmac_sha256(secret, signature, body)?;
            match header("x-github-event") {
                Some("ping") => Ok(Call::Ping),
                _ => Ok(Call::Fetch),
            }
        }
        Provider::GitLab => {
            let token = header("x-gitlab-token").ok_or(Refusal::Unsigned("X-Gitlab-Token"))?;
            match bool::from(token.as_bytes().ct_eq(secret)) {
                true => Ok(Call::Fetch),
                false => Err(Refusal::BadSignature),
            }
        }
        Provider::Generic => {
            let signature = header("x-signature").ok_or(Refusal::Unsigned("X-Signature"))?;
            hmac_sha256(secret, signature, body)?;
            Ok(Call::Fetch)
        }
    }
}

/// `sha256=<hex HMAC-SHA256 of body>`, as a generic call is signed.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        // HMAC takes a key of any length: this cannot happen.
        Err(_) => return String::new(),
    };
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// `sha256=<hex>` against the body's HMAC, in constant time.
fn hmac_sha256(secret: &[u8], signature: &str, body: &[u8]) -> Result<(), Refusal> {
    let hex = signature
        .trim()
        .strip_prefix("sha256=")
        .ok_or(Refusal::BadSignature)?;
    let expected = decode_hex(hex).ok_or(Refusal::BadSignature)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| Refusal::BadSignature)?;
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| Refusal::BadSignature)
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A token bucket per set: `burst` calls at once, then one per `every`.
#[derive(Debug)]
pub struct RateLimit {
    tokens: f64,
    burst: f64,
    every: Duration,
    at: Instant,
}

impl RateLimit {
    pub fn new(burst: u32, every: Duration, now: Instant) -> RateLimit {
        RateLimit {
            tokens: f64::from(burst),
            burst: f64::from(burst),
            every,
            at: now,
        }
    }

    /// Takes a token, or says how long until one is free.
    pub fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let earned = now.duration_since(self.at).as_secs_f64() / self.every.as_secs_f64();
        self.tokens = (self.tokens + earned).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(self.every.mul_f64(1.0 - self.tokens))
        }
    }
}

#[cfg(test)]
mod tests;
