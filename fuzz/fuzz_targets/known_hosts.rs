//! known_hosts matching: any file text, asked about the hosts and keys its own lines name; and
//! a line added for a host decides that host's verdict the way OpenSSH would.
#![no_main]

use base64::Engine as _;
use driftless::source::git::known_hosts::{Verdict, check};
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use sha1::Sha1;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `[host]:port` (or `host`) into a host and port, as the patterns of a line name them.
fn host_port(pattern: &str) -> (String, u16) {
    let pattern = pattern.trim_start_matches('!');
    if let Some(rest) = pattern.strip_prefix('[')
        && let Some((host, port)) = rest.split_once("]:")
        && let Ok(port) = port.parse()
    {
        return (host.to_string(), port);
    }
    (pattern.to_string(), 22)
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Whatever the file says about the hosts and keys it names itself: no panic.
    for line in text.lines().take(16) {
        let mut fields = line.split_whitespace().skip_while(|f| f.starts_with('@'));
        let (Some(hosts), _, key) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        let key = key
            .and_then(|k| base64::engine::general_purpose::STANDARD.decode(k).ok())
            .unwrap_or_default();
        for pattern in hosts.split(',').take(4) {
            let (host, port) = host_port(pattern);
            check(&text, &host, port, &key);
        }
    }

    // A host made of the input's letters, and a key from its bytes.
    let host: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
        .take(40)
        .collect::<String>()
        .to_ascii_lowercase();
    let host = if host.is_empty() {
        "example.org".to_string()
    } else {
        host
    };
    let port = match data.first() {
        Some(b) if b % 2 == 1 => 2222,
        _ => 22,
    };
    let name = if port == 22 {
        host.clone()
    } else {
        format!("[{host}]:{port}")
    };
    let key: Vec<u8> = data.iter().take(32).copied().chain([1]).collect();
    let other: Vec<u8> = key.iter().map(|b| b ^ 0x5a).collect();
    let line = |marker: &str, hosts: &str, key: &[u8]| {
        format!("{marker}{hosts} ssh-ed25519 {}\n", b64(key))
    };

    // The first line that names the host with this key decides.
    let first = format!("{}{text}", line("", &name, &key));
    assert_eq!(check(&first, &host, port, &key), Verdict::Known);
    let revoked = format!("{}{text}", line("@revoked ", &name, &key));
    assert_eq!(check(&revoked, &host, port, &key), Verdict::Revoked);
    // `ssh-keygen -H` form.
    let salt: Vec<u8> = data.iter().rev().take(20).copied().collect();
    let mut mac = Hmac::<Sha1>::new_from_slice(&salt).expect("HMAC takes any key length");
    mac.update(name.as_bytes());
    let hashed = format!("|1|{}|{}", b64(&salt), b64(&mac.finalize().into_bytes()));
    let first_hashed = format!("{}{text}", line("", &hashed, &key));
    assert_eq!(check(&first_hashed, &host, port, &key), Verdict::Known);
    // A line added at the end: known (or revoked earlier) with this key; with another key, any
    // host the file did not know is now a mismatch.
    let last = format!("{text}\n{}", line("", &name, &key));
    assert!(matches!(
        check(&last, &host, port, &key),
        Verdict::Known | Verdict::Revoked
    ));
    if check(&text, &host, port, &key) == Verdict::Unknown {
        let changed = format!("{text}\n{}", line("", &name, &other));
        assert_eq!(check(&changed, &host, port, &key), Verdict::Mismatch);
    }
    // A CA line never vouches for a plain key.
    let ca = line("@cert-authority ", &name, &key);
    assert_eq!(check(&ca, &host, port, &key), Verdict::Unknown);
});
