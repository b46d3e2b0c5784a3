//! The `sops` block: taken out of every document (SOPS writes it into each, and reads the first
//! one's), and read into what decryption needs: the encrypted MAC and its `lastmodified`, the
//! rule for which values are encrypted, and the data key's age stanzas, by key group (one, or
//! several sharing the key by Shamir's scheme); other key types are only named.

use regex::Regex;

use super::SopsError;
use super::rules::Rule;
use super::tree::{Node, Tree};

/// The top-level key SOPS keeps its metadata under.
pub(super) const KEY: &str = "sops";

/// Key types SOPS writes besides age, as named in the metadata.
const OTHER_KEY_TYPES: [&str; 6] = ["kms", "gcp_kms", "hckms", "azure_kv", "hc_vault", "pgp"];

const RULE_KEYS: [&str; 4] = [
    "unencrypted_suffix",
    "encrypted_suffix",
    "unencrypted_regex",
    "encrypted_regex",
];
const COMMENT_RULE_KEYS: [&str; 2] = ["unencrypted_comment_regex", "encrypted_comment_regex"];

#[derive(Debug)]
pub(super) struct Metadata {
    /// The line of the `sops` block.
    pub line: Option<usize>,
    /// The MAC as stored (`ENC[...]`), and its line.
    pub mac: String,
    pub mac_line: Option<usize>,
    /// The additional data the MAC was sealed with.
    pub last_modified: String,
    pub rule: Rule,
    pub mac_only_encrypted: bool,
    /// One group holds the data key; several each hold a part of it.
    pub groups: Vec<KeyGroup>,
    /// How many parts give the key back (several groups only).
    pub threshold: usize,
}

/// The keys that hold the data key (or one part of it).
#[derive(Debug)]
pub(super) struct KeyGroup {
    pub age: Vec<AgeStanza>,
    /// The other key types it is encrypted for (`kms`, `pgp`, ...).
    pub others: Vec<&'static str>,
}

/// The data key, encrypted for one age recipient (an armored age file).
#[derive(Debug)]
pub(super) struct AgeStanza {
    pub recipient: String,
    pub enc: String,
    pub line: Option<usize>,
}

/// Removes the `sops` entry from every document; returns the first document's.
pub(super) fn take(docs: &mut [Node]) -> Result<Node, SopsError> {
    let mut found = None;
    for (index, doc) in docs.iter_mut().enumerate() {
        let line = doc.line;
        let Tree::Map(entries) = &mut doc.tree else {
            return Err(SopsError::at(line, "a document that is not a mapping"));
        };
        let (sops, rest): (Vec<_>, Vec<_>) = std::mem::take(entries)
            .into_iter()
            .partition(|(k, _)| k == KEY);
        *entries = rest;
        if index == 0 {
            if sops.len() > 1 {
                return Err(SopsError::at(line, "more than one `sops` entry"));
            }
            found = sops.into_iter().next().map(|(_, value)| value);
        }
    }
    found.ok_or_else(|| SopsError::at(None, "no `sops` metadata in the first document"))
}

impl Metadata {
    pub fn read(sops: &Node) -> Result<Metadata, SopsError> {
        if !matches!(sops.tree, Tree::Map(_)) {
            return Err(SopsError::at(
                sops.line,
                "the `sops` entry is not a mapping",
            ));
        }
        let (mac, mac_line) = required(sops, "mac")?;
        let (last_modified, _) = required(sops, "lastmodified")?;
        let groups = groups(sops)?;
        let threshold = match sops.get("shamir_threshold").map(|n| &n.tree) {
            Some(Tree::Int(n)) if *n > 0 => usize::try_from(*n).unwrap_or(usize::MAX),
            _ => groups.len(),
        };
        Ok(Metadata {
            line: sops.line,
            mac,
            mac_line,
            last_modified,
            rule: rule(sops)?,
            mac_only_encrypted: flag(sops, "mac_only_encrypted")?,
            groups,
            threshold,
        })
    }
}

/// A string field of the block.
fn text<'a>(block: &'a Node, key: &str) -> Result<Option<&'a str>, SopsError> {
    match block.get(key) {
        None => Ok(None),
        Some(Node {
            tree: Tree::Str(s), ..
        }) => Ok(Some(s)),
        Some(Node {
            tree: Tree::Null, ..
        }) => Ok(None),
        Some(other) => Err(SopsError::at(
            other.line.or(block.line),
            format!("`sops.{key}` is not a string"),
        )),
    }
}

fn required(block: &Node, key: &str) -> Result<(String, Option<usize>), SopsError> {
    match text(block, key)? {
        Some(s) => Ok((s.to_string(), block.get(key).and_then(|n| n.line))),
        None => Err(SopsError::at(
            block.line,
            format!("no `{key}` in the `sops` metadata"),
        )),
    }
}

/// A boolean field; SOPS also takes `"true"` as written by hand.
fn flag(block: &Node, key: &str) -> Result<bool, SopsError> {
    match block.get(key).map(|n| (&n.tree, n.line)) {
        None | Some((Tree::Null, _)) => Ok(false),
        Some((Tree::Bool(b), _)) => Ok(*b),
        Some((Tree::Str(s), _)) if s == "true" || s == "false" => Ok(s == "true"),
        Some((_, line)) => Err(SopsError::at(
            line,
            format!("`sops.{key}` is not a boolean"),
        )),
    }
}

/// The one rule the block names (SOPS refuses files naming more than one).
fn rule(block: &Node) -> Result<Rule, SopsError> {
    for key in COMMENT_RULE_KEYS {
        if text(block, key)?.is_some_and(|s| !s.is_empty()) {
            let line = block.get(key).and_then(|n| n.line);
            return Err(SopsError::at(
                line,
                format!("`{key}` is not supported: driftless does not read comments"),
            ));
        }
    }
    let mut named = Vec::new();
    for key in RULE_KEYS {
        if let Some(value) = text(block, key)?.filter(|s| !s.is_empty()) {
            named.push((key, value, block.get(key).and_then(|n| n.line)));
        }
    }
    let Some(&(key, value, line)) = named.first() else {
        return Ok(Rule::default());
    };
    if named.len() > 1 {
        return Err(SopsError::at(
            line,
            "more than one of unencrypted_suffix, encrypted_suffix, unencrypted_regex and \
             encrypted_regex",
        ));
    }
    let regex = || {
        Regex::new(value).map_err(|_| {
            let shown = super::super::yaml::quoted(value);
            SopsError::at(
                line,
                format!("`{key}` {shown} is not a valid regular expression"),
            )
        })
    };
    Ok(match key {
        "unencrypted_suffix" => Rule::UnencryptedSuffix(value.to_string()),
        "encrypted_suffix" => Rule::EncryptedSuffix(value.to_string()),
        "unencrypted_regex" => Rule::UnencryptedRegex(regex()?),
        _ => Rule::EncryptedRegex(regex()?),
    })
}

/// The key groups: the block itself when it names none (or one), else each of `key_groups`.
fn groups(block: &Node) -> Result<Vec<KeyGroup>, SopsError> {
    match block.get("key_groups").map(|n| (&n.tree, n.line)) {
        None | Some((Tree::Null, _)) => Ok(vec![group(block, block.line)?]),
        Some((Tree::Seq(groups), _)) if groups.is_empty() => Ok(vec![group(block, block.line)?]),
        Some((Tree::Seq(groups), _)) => groups.iter().map(|g| group(g, g.line)).collect(),
        Some((_, line)) => Err(SopsError::at(line, "`sops.key_groups` is not a list")),
    }
}

/// One group's age stanzas, and which other key types it names.
fn group(group: &Node, line: Option<usize>) -> Result<KeyGroup, SopsError> {
    let others = OTHER_KEY_TYPES
        .into_iter()
        .filter(|t| entries(group, t).is_some_and(|e| !e.is_empty()))
        .collect();
    let mut age = Vec::new();
    for entry in entries(group, "age").unwrap_or_default() {
        let line = entry.line.or(line);
        let field = |key| {
            text(entry, key)?
                .map(str::to_string)
                .ok_or_else(|| SopsError::at(line, format!("an age entry without `{key}`")))
        };
        age.push(AgeStanza {
            recipient: field("recipient")?,
            enc: field("enc")?,
            line,
        });
    }
    Ok(KeyGroup { age, others })
}

/// The entries of a key type's list, if the block has one.
fn entries<'a>(block: &'a Node, key: &str) -> Option<&'a [Node]> {
    match &block.get(key)?.tree {
        Tree::Seq(items) => Some(items),
        _ => None,
    }
}
