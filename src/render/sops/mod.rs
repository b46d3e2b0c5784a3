//! SOPS-encrypted YAML and JSON files, decrypted natively (no `sops` binary): the data key
//! from an age stanza of the `sops` block, each `ENC[AES256_GCM,...]` value opened with it and
//! its path, and the file's MAC checked over the plaintext before anything is returned.
//!
//! Files are read with age keys, Shamir key groups too; a file only KMS, PGP, Vault or Azure
//! keys open is refused naming them. Errors ([`SopsError`]) name the line when known and never hold key
//! material, a decrypted value, or the MAC of the plaintext.

mod keys;
mod mac;
mod metadata;
mod rules;
mod shamir;
mod timestamp;
mod tree;
mod value;
mod walk;

#[cfg(test)]
mod tests;

use std::fmt;

use serde::Deserialize;
use serde::de::IgnoredAny;

pub use keys::Keys;
use metadata::Metadata;
use value::Enc;

/// A refusal: the 1-based line in the file when known, and why, in a few words. It never
/// contains key material or a decrypted value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SopsError {
    pub line: Option<usize>,
    pub reason: String,
}

impl fmt::Display for SopsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

impl SopsError {
    fn at(line: Option<usize>, reason: impl Into<String>) -> SopsError {
        SopsError {
            line,
            reason: reason.into(),
        }
    }
}

/// A decrypted file: each document without its `sops` block, in source order, and every
/// decrypted value as the plaintext writes it (`hunter2`, `42`), for callers to mask.
#[derive(Clone)]
pub struct Plain {
    pub documents: Vec<serde_json::Value>,
    pub secrets: Vec<String>,
}

impl fmt::Debug for Plain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Counts only: both fields hold plaintext secrets.
        f.debug_struct("Plain")
            .field("documents", &self.documents.len())
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

/// A document as far as it can be read without a key: its encrypted MAC (the file's) and the
/// paths of its encrypted values (`stringData.password`), to compare two revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub mac: String,
    pub encrypted: Vec<String>,
}

/// Whether a file's text is SOPS-encrypted (a top-level `sops` mapping with `mac` and a
/// version), cheaply (no decryption). `is_json` picks the format.
pub fn is_encrypted(text: &str, is_json: bool) -> bool {
    #[derive(Deserialize)]
    struct Probe {
        sops: Option<Block>,
    }
    #[derive(Deserialize)]
    struct Block {
        mac: Option<IgnoredAny>,
        version: Option<IgnoredAny>,
    }
    let marked = |p: Probe| {
        p.sops
            .is_some_and(|b| b.mac.is_some() && b.version.is_some())
    };
    if is_json {
        if !text.contains("\"sops\"") {
            return false;
        }
        return match serde_json::from_str::<Probe>(text) {
            Ok(probe) => marked(probe),
            Err(_) => text.contains("\"mac\"") && text.contains("\"version\""),
        };
    }
    let Some(block) = top_level_block(text) else {
        return false;
    };
    // The first document decides, as it holds the metadata SOPS reads.
    match serde_saphyr::from_multiple_with_options::<Option<Probe>>(text, tree::options()) {
        Ok(docs) => docs.into_iter().flatten().next().is_some_and(marked),
        // Not valid YAML, yet with a `sops` block: decrypt says what is wrong, and where.
        Err(_) => block.has("mac") && block.has("version"),
    }
}

/// The lines of a YAML file's top-level `sops:` block, found without parsing.
struct BlockLines<'a>(Vec<&'a str>);

impl BlockLines<'_> {
    fn has(&self, key: &str) -> bool {
        self.0.iter().any(|l| {
            l.trim_start()
                .strip_prefix(key)
                .is_some_and(|r| r.starts_with(':'))
        })
    }
}

fn top_level_block(text: &str) -> Option<BlockLines<'_>> {
    let mut lines = text.lines();
    lines.find(|l| l.trim_end() == "sops:" || l.starts_with("sops: {"))?;
    let body = lines.take_while(|l| l.is_empty() || l.starts_with([' ', '\t', '#']));
    Some(BlockLines(body.collect()))
}

/// Decrypts a SOPS file (YAML, possibly several documents; or JSON), verifying its MAC (one,
/// over all documents, as SOPS computes it): a changed value or MAC is refused. Returns each
/// document in plaintext, without its `sops` block, in source order, and every decrypted value.
pub fn decrypt(text: &str, is_json: bool, keys: &Keys) -> Result<Plain, SopsError> {
    let (mut docs, meta) = read(text, is_json)?;
    let key = keys.data_key(&meta)?;
    let (mac, mut secrets) = walk::decrypt(&mut docs, &meta, &key, is_json)?;
    let stored = Enc::parse(&meta.mac)
        .and_then(|enc| {
            enc.open_bytes(&key, meta.last_modified.as_bytes())
                .ok_or_else(|| "does not decrypt with the file's data key".to_string())
        })
        .map_err(|why| SopsError::at(meta.mac_line, format!("the file's MAC {why}")))?;
    if !mac.matches(&stored) {
        // The computed MAC is a hash of the plaintext: never shown.
        return Err(SopsError::at(
            meta.mac_line,
            "the MAC does not match the file's values: it was changed after SOPS wrote it",
        ));
    }
    let documents = docs.iter().map(tree::to_json).collect::<Result<_, _>>()?;
    let mut seen = std::collections::HashSet::new();
    secrets.retain(|s| seen.insert(s.clone()));
    Ok(Plain { documents, secrets })
}

/// Without a key (an offline preview): per document, its encrypted MAC and the paths of its
/// encrypted values (`stringData.password`), so two revisions can be compared.
pub fn sealed(text: &str, is_json: bool) -> Result<Vec<Sealed>, SopsError> {
    let (mut docs, meta) = read(text, is_json)?;
    docs.iter_mut()
        .map(|doc| {
            Ok(Sealed {
                mac: meta.mac.clone(),
                encrypted: walk::encrypted_paths(doc, &meta.rule)?,
            })
        })
        .collect()
}

/// The documents (without their `sops` entries) and the metadata.
fn read(text: &str, is_json: bool) -> Result<(Vec<tree::Node>, Metadata), SopsError> {
    let mut docs = tree::parse(text, is_json)?;
    let block = metadata::take(&mut docs)?;
    Ok((docs, Metadata::read(&block)?))
}
