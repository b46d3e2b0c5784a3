//! SOPS files of a revision, opened in memory with the set's age keys (see [`super::sops`]):
//! each decrypted value is registered with [`crate::redact`] before anything can print it, and
//! a decrypted document must be a Secret unless the set allows its kind. Without a key, the
//! offline preview reads them sealed: what changed is told from their MACs, never their values.

use std::path::PathBuf;

use serde_json::Value;

mod moved;

use aho_corasick::AhoCorasick;

use super::Manifest;
use super::sops::{self, Keys, Sealed, SopsError};
use crate::source::Snapshot;

/// On a decrypted object of a kind other than Secret: every reader hides its values, as a
/// Secret's (see `plan::mask::decrypted`).
pub const DECRYPTED: &str = "driftless.dev/decrypted";

/// Said when a SOPS file meets no key: where one is given.
const NO_KEY: &str = "no age key given (--sops-age-key-file or SOPS_AGE_KEY_FILE; in the agent, \
                      the set's decryption.ageKeyFile)";

/// How a source's SOPS files are read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decryption {
    /// age identity files (`AGE-SECRET-KEY-1...` lines), read again at every render, so a
    /// rotated key is picked up without a restart.
    pub age_key_files: Vec<PathBuf>,
    /// Kinds besides Secret a decrypted document may be (`ConfigMap`).
    pub kinds: Vec<String>,
    /// With no key at all, read encrypted documents sealed (the offline preview) rather than
    /// refuse them.
    pub sealed_without_key: bool,
}

/// What a manifest from a SOPS file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sops {
    /// Decrypted with the set's key: its values are secrets, wherever they show.
    Decrypted,
    /// Read without a key: its values are still encrypted; two revisions compare by MAC.
    Sealed(Sealed),
}

/// One document of an opened SOPS file.
pub(super) struct Opened {
    pub value: Value,
    pub sops: Sops,
}

/// Opens the SOPS files of one render; the keys are read once per render, at the first file
/// that needs them. What it decrypted is registered with [`crate::redact`] by [`Self::finish`].
pub(super) struct Decryptor<'a> {
    decryption: &'a Decryption,
    keys: Option<Result<Keys, SopsError>>,
    /// Every value decrypted, for [`Self::finish`].
    revealed: Vec<String>,
}

impl<'a> Decryptor<'a> {
    pub(super) fn new(decryption: &'a Decryption) -> Decryptor<'a> {
        Decryptor {
            decryption,
            keys: None,
            revealed: Vec::new(),
        }
    }

    /// Registers as secrets the values decrypted that the revision does not also hold in
    /// clear text: `mlflow`, a user name written in a Deployment too, is no secret to anyone
    /// who reads the repository, and hiding it everywhere would hide the Deployment's name.
    /// The plan still masks every value of a Secret by its shape.
    pub(super) fn finish(self, snapshot: &Snapshot) {
        let mut values = self.revealed;
        values.retain(|v| v.trim().len() >= crate::redact::MIN_LEN);
        values.sort();
        values.dedup();
        if values.is_empty() {
            return;
        }
        let Ok(matcher) = AhoCorasick::new(&values) else {
            return crate::redact::register(&values);
        };
        let mut clear = vec![false; values.len()];
        let texts = snapshot
            .files
            .iter()
            .map(|f| f.content.as_bytes())
            .chain(snapshot.tree.iter().map(|f| f.bytes.as_slice()));
        for text in texts {
            for found in matcher.find_overlapping_iter(text) {
                clear[found.pattern().as_usize()] = true;
            }
        }
        let secret = values.iter().zip(clear).filter(|(_, c)| !c).map(|(v, _)| v);
        crate::redact::register(secret);
    }

    /// The documents of `text` when it is a SOPS file, in order; `None` when it is not one.
    pub(super) fn open(
        &mut self,
        text: &str,
        is_json: bool,
    ) -> Option<Result<Vec<Opened>, SopsError>> {
        if !sops::is_encrypted(text, is_json) {
            return None;
        }
        if self.decryption.age_key_files.is_empty() && self.decryption.sealed_without_key {
            return Some(sealed(text, is_json));
        }
        let keys = self
            .keys
            .get_or_insert_with(|| Keys::read(&self.decryption.age_key_files));
        let keys = match keys {
            Ok(keys) => keys,
            Err(e) => return Some(Err(key_error(e))),
        };
        let no_key = keys.is_empty();
        let decrypted = sops::decrypt(text, is_json, keys).map_err(|mut e| {
            if no_key && e.reason.starts_with("no age key given") {
                e.reason = e.reason.replacen("no age key given", NO_KEY, 1);
            }
            e
        });
        Some(decrypted.map(|plain| {
            self.reveal(&plain);
            plain
                .documents
                .into_iter()
                .map(|value| Opened {
                    value,
                    sops: Sops::Decrypted,
                })
                .collect()
        }))
    }

    /// A manifest read from a SOPS file: marked so, and annotated [`DECRYPTED`] when it was
    /// decrypted into a kind other than Secret; or why it may not be one.
    pub(super) fn admit(&self, m: Manifest, sops: &Sops) -> Result<Manifest, String> {
        let is_secret = m.api_version() == "v1" && m.kind() == "Secret";
        if matches!(sops, Sops::Sealed(_)) || is_secret {
            return Ok(Manifest {
                sops: Some(sops.clone()),
                ..m
            });
        }
        if let Some(why) = self.refuse_kind(m.api_version(), m.kind()) {
            return Err(why);
        }
        let mut value = m.value();
        if let Some(meta) = value["metadata"].as_object_mut() {
            let annotations = meta
                .entry("annotations")
                .or_insert_with(|| Value::Object(Default::default()));
            if let Some(map) = annotations.as_object_mut() {
                map.insert(DECRYPTED.into(), "true".into());
            }
        }
        Ok(Manifest {
            sops: Some(sops.clone()),
            ..Manifest::new(&value, m.origin)
        })
    }

    /// Why a decrypted document of `kind` may not be one: only Secrets, and the kinds the set
    /// allows, carry decrypted values.
    fn refuse_kind(&self, api_version: &str, kind: &str) -> Option<String> {
        let allowed = (api_version == "v1" && kind == "Secret")
            || self.decryption.kinds.iter().any(|k| k == kind);
        (!allowed).then(|| {
            format!(
                "decrypted from SOPS, but a {kind} is not a Secret: decrypted values go into \
                 Secrets only, unless the set allows the kind (--sops-kinds {kind}, or \
                 decryption.kinds)"
            )
        })
    }

    /// Keeps the file's decrypted values, but for what names its objects: a file encrypted
    /// whole (no `encrypted_regex`) has its kinds and names encrypted too, and those show in
    /// every report.
    fn reveal(&mut self, plain: &sops::Plain) {
        let mut names: Vec<&str> = Vec::new();
        for doc in &plain.documents {
            let meta = &doc["metadata"];
            for v in [
                &doc["apiVersion"],
                &doc["kind"],
                &doc["type"],
                &meta["name"],
                &meta["namespace"],
            ] {
                names.extend(v.as_str());
            }
        }
        let values = plain
            .secrets
            .iter()
            .filter(|s| !names.contains(&s.as_str()));
        self.revealed.extend(values.cloned());
    }
}

fn sealed(text: &str, is_json: bool) -> Result<Vec<Opened>, SopsError> {
    let seals = sops::sealed(text, is_json)?;
    let docs = super::yaml::parse_file(text, is_json).map_err(|e| SopsError {
        line: Some(e.line),
        reason: e.reason,
    })?;
    Ok(docs
        .into_iter()
        .zip(seals)
        .map(|(doc, seal)| {
            let mut value = doc.value;
            if let Some(map) = value.as_object_mut() {
                map.remove("sops");
            }
            Opened {
                value,
                sops: Sops::Sealed(seal),
            }
        })
        .collect())
}

/// A key file's problem is the render's, not one file's: said with the key file's line.
fn key_error(e: &SopsError) -> SopsError {
    SopsError {
        line: None,
        reason: match e.line {
            Some(line) => format!("{} (line {line})", e.reason),
            None => e.reason.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_secrets_and_allowed_kinds_carry_decrypted_values() {
        let d = Decryption {
            kinds: vec!["ConfigMap".into()],
            ..Decryption::default()
        };
        let decryptor = Decryptor::new(&d);
        assert_eq!(decryptor.refuse_kind("v1", "Secret"), None);
        assert_eq!(decryptor.refuse_kind("v1", "ConfigMap"), None);
        let why = decryptor.refuse_kind("apps/v1", "Deployment").unwrap();
        assert!(why.contains("--sops-kinds Deployment"), "{why}");
    }

    #[test]
    fn values_the_repository_holds_in_clear_are_not_hidden_everywhere() {
        let d = Decryption::default();
        let mut decryptor = Decryptor::new(&d);
        decryptor.revealed = vec!["mlflow-user".into(), "only-encrypted-7Qz".into()];
        let snapshot = Snapshot {
            files: vec![crate::source::SourceFile {
                path: "app.yaml".into(),
                content: "metadata:\n  name: mlflow-user\n".into(),
            }],
            ..Snapshot::default()
        };
        decryptor.finish(&snapshot);
        assert_eq!(
            crate::redact::scrub("mlflow-user only-encrypted-7Qz"),
            "mlflow-user ***"
        );
    }

    #[test]
    fn plain_files_are_not_opened() {
        let d = Decryption::default();
        let mut decryptor = Decryptor::new(&d);
        assert!(decryptor.open("kind: Secret\n", false).is_none());
    }
}
