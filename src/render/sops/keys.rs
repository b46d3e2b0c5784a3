//! Age identities from key files (as `age-keygen` writes them), and the data key of a file
//! opened with them: each age stanza of the `sops` block is an armored age file holding the
//! 32-byte data key for one recipient (or, with several key groups, its group's part of it).
//!
//! Nothing here ever prints a secret key: errors name the file and line, `Debug` the public keys.

use std::fmt;
use std::io::Read;
use std::path::PathBuf;
use std::str::FromStr;

use age::x25519::Identity;

use super::SopsError;
use super::metadata::{AgeStanza, KeyGroup, Metadata};
use super::shamir;
use super::value::DataKey;

/// Key material in transit: wiped when dropped.
type Secret = secrecy::zeroize::Zeroizing<Vec<u8>>;

/// An armored stanza larger than this is not one SOPS wrote (its are under 1 KiB).
const MAX_STANZA_BYTES: usize = 64 * 1024;

/// Age identities to open SOPS files with.
#[derive(Clone)]
pub struct Keys {
    identities: Vec<Identity>,
    /// Each identity's public key (`age1...`), in the same order.
    recipients: Vec<String>,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Public keys only: the identities are secret.
        f.debug_struct("Keys")
            .field("recipients", &self.recipients)
            .finish_non_exhaustive()
    }
}

impl Keys {
    /// Reads age key files: lines `AGE-SECRET-KEY-1...`, `#` comments and blank lines allowed.
    /// An error names the file and line, never the key. Re-read at every render by callers.
    pub fn read(files: &[PathBuf]) -> Result<Keys, SopsError> {
        let mut keys = Keys {
            identities: Vec::new(),
            recipients: Vec::new(),
        };
        for file in files {
            let text = std::fs::read_to_string(file).map_err(|e| {
                SopsError::at(
                    None,
                    format!("cannot read age key file {}: {e}", file.display()),
                )
            })?;
            for (index, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let identity = parse_identity(line).map_err(|why| {
                    SopsError::at(
                        Some(index + 1),
                        format!("age key file {}: {why}", file.display()),
                    )
                })?;
                keys.recipients.push(identity.to_public().to_string());
                keys.identities.push(identity);
            }
        }
        Ok(keys)
    }

    pub fn is_empty(&self) -> bool {
        self.identities.is_empty()
    }

    /// Opens the file's data key: from its one key group, or from enough parts of its groups.
    pub(super) fn data_key(&self, meta: &Metadata) -> Result<DataKey, SopsError> {
        let secret = match meta.groups.as_slice() {
            [group] => self.group_secret(group, meta.line)?,
            groups => self.shamir(groups, meta)?,
        };
        let mut key = DataKey::new([0; 32]);
        if secret.len() != key.len() {
            return Err(SopsError::at(
                meta.line,
                "the age stanzas hold no 32-byte data key",
            ));
        }
        key.copy_from_slice(&secret);
        Ok(key)
    }

    /// What the first age stanza of a group that one of the identities opens holds.
    fn group_secret(&self, group: &KeyGroup, line: Option<usize>) -> Result<Secret, SopsError> {
        if group.age.is_empty() {
            let types = if group.others.is_empty() {
                "no key".to_string()
            } else {
                group.others.join(", ")
            };
            return Err(SopsError::at(
                line,
                format!("encrypted for {types} only: driftless reads age keys"),
            ));
        }
        let listed = || {
            let names: Vec<&str> = group.age.iter().map(|s| s.recipient.as_str()).collect();
            names.join(", ")
        };
        if self.is_empty() {
            return Err(SopsError::at(
                line,
                format!("no age key given: the file is encrypted for {}", listed()),
            ));
        }
        for stanza in &group.age {
            if let Some(secret) = self.open(stanza)? {
                return Ok(secret);
            }
        }
        // Nothing opened: either no identity is a recipient, or a stanza was changed.
        match group
            .age
            .iter()
            .find(|s| self.recipients.contains(&s.recipient))
        {
            Some(stanza) => Err(SopsError::at(
                stanza.line,
                format!(
                    "the data key for {} does not open with its age key: its `enc` was changed \
                     or written for another key",
                    stanza.recipient
                ),
            )),
            None => Err(SopsError::at(
                line,
                format!(
                    "none of the given age keys ({}) is a recipient: the file is encrypted for {}",
                    self.recipients.join(", "),
                    listed()
                ),
            )),
        }
    }

    /// The data key from the parts of the groups the identities open, if they are enough.
    fn shamir(&self, groups: &[KeyGroup], meta: &Metadata) -> Result<Secret, SopsError> {
        let mut parts = Vec::new();
        for group in groups {
            if let Ok(part) = self.group_secret(group, meta.line) {
                parts.push(part);
            }
        }
        if parts.len() < meta.threshold {
            return Err(SopsError::at(
                meta.line,
                format!(
                    "the age keys given open {} of the {} key groups, and {} are needed \
                     (Shamir's secret sharing)",
                    parts.len(),
                    groups.len(),
                    meta.threshold
                ),
            ));
        }
        let parts: Vec<&[u8]> = parts.iter().map(|p| p.as_slice()).collect();
        let secret = shamir::combine(&parts)
            .map_err(|why| SopsError::at(meta.line, format!("key groups with {why}")))?;
        Ok(Secret::new(secret))
    }

    /// What a stanza holds, if an identity opens it (at most 33 bytes: a key, or a part of
    /// one and its coordinate); an error if it is no age file.
    fn open(&self, stanza: &AgeStanza) -> Result<Option<Secret>, SopsError> {
        if stanza.enc.len() > MAX_STANZA_BYTES {
            return Err(SopsError::at(
                stanza.line,
                "an age stanza too large to be SOPS's",
            ));
        }
        let armored = age::armor::ArmoredReader::new(stanza.enc.as_bytes());
        let Ok(decryptor) = age::Decryptor::new(armored) else {
            return Err(SopsError::at(
                stanza.line,
                "an age stanza that is not an age file",
            ));
        };
        let identities = self.identities.iter().map(|i| i as &dyn age::Identity);
        let Ok(reader) = decryptor.decrypt(identities) else {
            return Ok(None);
        };
        let mut secret = Secret::new(Vec::with_capacity(34));
        if reader.take(34).read_to_end(&mut secret).is_err() || secret.len() > 33 {
            return Err(SopsError::at(
                stanza.line,
                "an age stanza that holds no data key",
            ));
        }
        Ok(Some(secret))
    }
}

/// One line of a key file as an age identity; the reason never holds the line.
fn parse_identity(line: &str) -> Result<Identity, &'static str> {
    if line.starts_with("AGE-PLUGIN-") {
        return Err("age plugin identities are not supported");
    }
    if !line.to_ascii_uppercase().starts_with("AGE-SECRET-KEY-1") {
        return Err("not an age secret key (AGE-SECRET-KEY-1...), a `#` comment or blank");
    }
    Identity::from_str(line).map_err(|_| "a malformed age secret key")
}
