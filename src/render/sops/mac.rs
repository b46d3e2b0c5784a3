//! The MAC SOPS keeps of a file: SHA-512 over the plaintext of every value (or, with
//! `mac_only_encrypted`, of the encrypted ones after a fixed prefix), in file order, across all
//! documents, as upper-case hex; stored encrypted with the data key and `lastmodified` as
//! additional data.
//!
//! Each value is hashed as Go prints it: integers in decimal, floats shortest without exponent,
//! booleans `True`/`False`, null not at all. JSON numbers have two readings, as SOPS changed
//! how it reads them (before 3.12 all were floats, so `2^53 + 1` lost its last digit): a JSON
//! file passes when either reading matches.

use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

use super::tree::Tree;

/// The running hashes: one per reading of the numbers.
pub(super) struct Mac {
    /// Integers as integers (YAML, and JSON since SOPS 3.12).
    exact: Sha512,
    /// JSON integers as floats (JSON before SOPS 3.12); None for YAML.
    floats: Option<Sha512>,
}

impl Mac {
    pub fn new(is_json: bool, mac_only_encrypted: bool) -> Mac {
        let mut exact = Sha512::new();
        if mac_only_encrypted {
            // SOPS's fixed prefix (SHA-256 of `sops`), so the two kinds of MAC never agree.
            exact.update(Sha256::digest(b"sops"));
        }
        let floats = is_json.then(|| exact.clone());
        Mac { exact, floats }
    }

    /// Adds a plaintext value the file holds unencrypted.
    pub fn plain(&mut self, value: &Tree) {
        if let Some(bytes) = go_bytes(value) {
            self.exact.update(&bytes);
        }
        if let Some(floats) = &mut self.floats {
            let as_float = match value {
                Tree::Int(i) => Some(go_float(*i as f64).into_bytes()),
                Tree::UInt(u) => Some(go_float(*u as f64).into_bytes()),
                _ => go_bytes(value),
            };
            if let Some(bytes) = as_float {
                floats.update(&bytes);
            }
        }
    }

    /// Adds a value that was encrypted, as typed by its `type:` (read the same either way).
    pub fn decrypted(&mut self, value: &Tree) {
        let bytes = go_bytes(value).unwrap_or_default();
        self.exact.update(&bytes);
        if let Some(floats) = &mut self.floats {
            floats.update(&bytes);
        }
    }

    /// Whether `stored` (the decrypted `mac` of the file) is this MAC.
    pub fn matches(self, stored: &[u8]) -> bool {
        let exact = hex(self.exact);
        let floats = self.floats.map(hex);
        let same = |mac: &str| bool::from(mac.as_bytes().ct_eq(stored));
        same(&exact) || floats.as_deref().is_some_and(same)
    }
}

fn hex(hash: Sha512) -> String {
    hash.finalize().iter().map(|b| format!("{b:02X}")).collect()
}

/// A scalar as Go's `sops.ToBytes` prints it; None for null and collections.
fn go_bytes(value: &Tree) -> Option<Vec<u8>> {
    Some(match value {
        Tree::Str(s) => s.as_bytes().to_vec(),
        Tree::Int(i) => i.to_string().into_bytes(),
        Tree::UInt(u) => u.to_string().into_bytes(),
        Tree::Float(f) => go_float(*f).into_bytes(),
        Tree::Bool(true) => b"True".to_vec(),
        Tree::Bool(false) => b"False".to_vec(),
        Tree::Null | Tree::Seq(_) | Tree::Map(_) => return None,
    })
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`: the shortest digits that read back the same,
/// never an exponent; Rust's `Display` agrees but for the infinities.
pub(super) fn go_float(f: f64) -> String {
    if f == f64::INFINITY {
        "+Inf".into()
    } else if f == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        f.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_go_prints_them() {
        let cases = [
            (1.5, "1.5"),
            (42.0, "42"),
            (1e21, "1000000000000000000000"),
            (1e-7, "0.0000001"),
            (0.1, "0.1"),
            (-0.0, "-0"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
        ];
        for (f, go) in cases {
            assert_eq!(go_float(f), go, "{f}");
        }
    }

    #[test]
    fn the_mac_only_encrypted_prefix_is_sha256_of_sops() {
        // The bytes SOPS writes out in sops.go (MACOnlyEncryptedInitialization).
        let prefix = Sha256::digest(b"sops");
        assert_eq!(&prefix[..4], &[0x8a, 0x3f, 0xd2, 0xad]);
        assert_eq!(&prefix[28..], &[0x76, 0xf2, 0x7d, 0x69]);
    }

    #[test]
    fn values_hash_in_order_as_go_prints_them() {
        let mut mac = Mac::new(false, false);
        mac.plain(&Tree::Str("a".into()));
        mac.plain(&Tree::Null);
        mac.plain(&Tree::Int(5));
        mac.decrypted(&Tree::Bool(true));
        mac.plain(&Tree::Float(1.5));
        let expected = hex(Sha512::new().chain_update(b"a5True1.5"));
        assert!(mac.matches(expected.as_bytes()));
        assert_eq!(expected.len(), 128);
    }

    #[test]
    fn json_integers_also_read_as_floats() {
        let big = (1u64 << 53) + 1;
        let mut mac = Mac::new(true, false);
        mac.plain(&Tree::Int(big as i64));
        let as_float = hex(Sha512::new().chain_update(b"9007199254740992"));
        let exact = hex(Sha512::new().chain_update(big.to_string()));
        let mut other = Mac::new(true, false);
        other.plain(&Tree::Int(big as i64));
        assert!(mac.matches(as_float.as_bytes()));
        assert!(other.matches(exact.as_bytes()));
        let mut yaml = Mac::new(false, false);
        yaml.plain(&Tree::Int(big as i64));
        assert!(!yaml.matches(as_float.as_bytes()));
    }
}
