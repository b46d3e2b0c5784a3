//! OpenSSH `known_hosts` matching, for SSH host-key checking without an ssh binary.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// What a known_hosts file says about a host's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A line for this host has exactly this key.
    Known,
    /// Lines for this host exist, none with this key: possibly a man in the middle.
    Mismatch,
    /// No line for this host.
    Unknown,
    /// The key is marked `@revoked`.
    Revoked,
}

/// Checks `key` (the raw SSH public key blob the server presented) for `host` on `port`.
pub fn check(known_hosts: &str, host: &str, port: u16, key: &[u8]) -> Verdict {
    let name = if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    };
    let mut host_seen = false;
    for line in known_hosts.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split_whitespace();
        let mut first = fields.next().unwrap_or_default();
        let marker = if first.starts_with('@') {
            let m = first;
            first = fields.next().unwrap_or_default();
            Some(m)
        } else {
            None
        };
        if marker == Some("@cert-authority") || !hosts_match(first, &name) {
            continue;
        }
        let (_key_type, Some(b64)) = (fields.next(), fields.next()) else {
            continue;
        };
        let Ok(blob) = base64::engine::general_purpose::STANDARD.decode(b64) else {
            continue;
        };
        if blob == key {
            return if marker == Some("@revoked") {
                Verdict::Revoked
            } else {
                Verdict::Known
            };
        }
        host_seen |= marker.is_none();
    }
    if host_seen {
        Verdict::Mismatch
    } else {
        Verdict::Unknown
    }
}

/// A comma-separated pattern list (plain, hashed `|1|salt|hash`, wildcards, `!` negation).
fn hosts_match(patterns: &str, name: &str) -> bool {
    if let Some(hashed) = patterns.strip_prefix("|1|") {
        return hashed_match(hashed, name);
    }
    let mut matched = false;
    for pattern in patterns.split(',') {
        match pattern.strip_prefix('!') {
            Some(neg) if wildcard(neg, name) => return false,
            Some(_) => {}
            None => matched |= wildcard(pattern, name),
        }
    }
    matched
}

fn hashed_match(hashed: &str, name: &str) -> bool {
    let engine = base64::engine::general_purpose::STANDARD;
    let Some((salt, hash)) = hashed.split_once('|') else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (engine.decode(salt), engine.decode(hash)) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(&salt) else {
        return false;
    };
    mac.update(name.as_bytes());
    mac.verify_slice(&hash).is_ok()
}

/// `*` and `?` glob over the whole name, case-insensitively, as ssh does for host names.
fn wildcard(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (
        pattern.to_ascii_lowercase().chars().collect(),
        name.to_ascii_lowercase().chars().collect(),
    );
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &[u8] = b"key-a-blob";
    const KEY_B: &[u8] = b"key-b-blob";

    fn b64(k: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(k)
    }

    #[test]
    fn plain_hosts_with_ports() {
        let kh = format!(
            "github.com ssh-ed25519 {}\n[127.0.0.1]:2222 ssh-ed25519 {}\n",
            b64(KEY_A),
            b64(KEY_B)
        );
        assert_eq!(check(&kh, "github.com", 22, KEY_A), Verdict::Known);
        assert_eq!(check(&kh, "127.0.0.1", 2222, KEY_B), Verdict::Known);
        assert_eq!(check(&kh, "github.com", 22, KEY_B), Verdict::Mismatch);
        assert_eq!(check(&kh, "127.0.0.1", 22, KEY_B), Verdict::Unknown);
        assert_eq!(check(&kh, "gitlab.com", 22, KEY_A), Verdict::Unknown);
    }

    #[test]
    fn hashed_hosts() {
        // `ssh-keygen -H` form for "example.org" with a fixed salt.
        let salt = b"0123456789abcdefghij";
        let mut mac = Hmac::<Sha1>::new_from_slice(salt).unwrap();
        mac.update(b"example.org");
        let hash = mac.finalize().into_bytes();
        let kh = format!("|1|{}|{} ssh-rsa {}\n", b64(salt), b64(&hash), b64(KEY_A));
        assert_eq!(check(&kh, "example.org", 22, KEY_A), Verdict::Known);
        assert_eq!(check(&kh, "example.com", 22, KEY_A), Verdict::Unknown);
    }

    #[test]
    fn patterns_negation_markers_and_comments() {
        let kh = format!(
            "# comment\n*.corp.example,!evil.corp.example ssh-ed25519 {}\n@revoked old.example ssh-ed25519 {}\n@cert-authority * ssh-ed25519 {}\n",
            b64(KEY_A),
            b64(KEY_B),
            b64(KEY_B)
        );
        assert_eq!(check(&kh, "git.corp.example", 22, KEY_A), Verdict::Known);
        assert_eq!(check(&kh, "evil.corp.example", 22, KEY_A), Verdict::Unknown);
        assert_eq!(check(&kh, "old.example", 22, KEY_B), Verdict::Revoked);
        assert_eq!(
            check(&kh, "any.host", 22, KEY_B),
            Verdict::Unknown,
            "CA lines do not vouch for plain keys"
        );
    }
}
