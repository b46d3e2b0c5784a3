//! SOPS files (render::sops): whatever the bytes, as YAML and as JSON, the cheap check, the
//! keyless read and decryption with a fixed key answer without panicking; a refusal names a
//! line of the file (when it names one) and never holds the key. The seed corpus
//! (fuzz/corpus/sops) was encrypted by the real `sops` 3.11.0 for this key.
#![no_main]

use std::sync::OnceLock;

use driftless::render::sops::{self, Keys};
use libfuzzer_sys::fuzz_target;

/// A throwaway key made by `age-keygen` for this target and its seeds: it guards nothing.
const KEY: &str = "AGE-SECRET-KEY-1NQR69YERSXZS7W6CKSM6ZWXG6E59JDS5HN24YSPLA672C6TM2W4QNAW299";

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("driftless-fuzz-sops-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch folder");
        let file = dir.join("key.txt");
        std::fs::write(&file, format!("# fuzz\n{KEY}\n")).expect("write the key file");
        let keys = Keys::read(&[file]).expect("the fixed key reads");
        let _ = std::fs::remove_dir_all(&dir);
        keys
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let last_line = text.lines().count().max(1);
    let check = |e: &sops::SopsError| {
        assert!(!e.reason.is_empty());
        if let Some(line) = e.line {
            assert!((1..=last_line).contains(&line), "line {line} of {last_line}: {e}");
        }
        assert!(!e.to_string().contains(&KEY[16..]), "an error holds the key");
    };
    for json in [false, true] {
        let _ = sops::is_encrypted(text, json);
        if let Err(e) = sops::sealed(text, json) {
            check(&e);
        }
        match sops::decrypt(text, json, keys()) {
            Ok(plain) => assert!(plain.secrets.iter().all(|s| !s.is_empty())),
            Err(e) => check(&e),
        }
    }
});
