//! SOPS's walk over a document: every scalar that is not null, in file order, with the path
//! of mapping keys that leads to it (list items add nothing: SOPS seals `list: [a, b]` both
//! with `list:`). The rule says which are encrypted; those are opened in place, and every value
//! the MAC covers is hashed on the way.

use super::SopsError;
use super::mac::Mac;
use super::metadata::Metadata;
use super::rules::Rule;
use super::tree::{Node, Tree, float_json};
use super::value::{DataKey, Enc, looks_encrypted};

/// Where a value is: mapping keys and list indexes from the document's root.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Path {
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

impl Path {
    /// The mapping keys, which SOPS's rules look at.
    fn keys(&self) -> impl Iterator<Item = &str> {
        self.steps.iter().filter_map(|s| match s {
            Step::Key(k) => Some(k.as_str()),
            Step::Index(_) => None,
        })
    }

    /// The additional data SOPS seals the value with: `stringData:password:`.
    pub fn additional_data(&self) -> String {
        self.keys().map(|k| format!("{k}:")).collect()
    }

    /// The path as people read it: `stringData.password`, `spec.items[0].name`.
    pub fn shown(&self) -> String {
        let mut out = String::new();
        for step in &self.steps {
            match step {
                Step::Key(k) if out.is_empty() => out.push_str(k),
                Step::Key(k) => {
                    out.push('.');
                    out.push_str(k);
                }
                Step::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }
}

type Leaf<'a> = dyn FnMut(&mut Node, &Path) -> Result<(), SopsError> + 'a;

/// Calls `leaf` on every scalar below `node` but nulls (SOPS skips them), in file order.
fn each_leaf(node: &mut Node, path: &mut Path, leaf: &mut Leaf) -> Result<(), SopsError> {
    match &mut node.tree {
        Tree::Null => Ok(()),
        Tree::Map(entries) => {
            for (key, value) in entries {
                path.steps.push(Step::Key(key.clone()));
                each_leaf(value, path, leaf)?;
                path.steps.pop();
            }
            Ok(())
        }
        Tree::Seq(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                path.steps.push(Step::Index(index));
                each_leaf(item, path, leaf)?;
                path.steps.pop();
            }
            Ok(())
        }
        _ => leaf(node, path),
    }
}

/// The ciphertext of a value the rule says is encrypted: None for an empty string (SOPS leaves
/// those as they are), an error for anything but a well-formed `ENC[...]`.
fn sealed_value(node: &Node, path: &Path) -> Result<Option<Enc>, SopsError> {
    let at = |why: String| SopsError::at(node.line, format!("`{}` {why}", path.shown()));
    match &node.tree {
        Tree::Str(text) if text.is_empty() => Ok(None),
        Tree::Str(text) if looks_encrypted(text) => Enc::parse(text).map(Some).map_err(&at),
        // Never echo it: a plaintext value here may be a secret someone forgot to encrypt.
        _ => Err(at(
            "is in plaintext, where the file's rule says encrypted".into()
        )),
    }
}

/// Decrypts every document in place; returns the MAC of the plaintext and the decrypted values
/// as written in the plaintext.
pub(super) fn decrypt(
    docs: &mut [Node],
    meta: &Metadata,
    key: &DataKey,
    is_json: bool,
) -> Result<(Mac, Vec<String>), SopsError> {
    let mut mac = Mac::new(is_json, meta.mac_only_encrypted);
    let mut secrets = Vec::new();
    let mut leaf = |node: &mut Node, path: &Path| {
        if !meta.rule.encrypts(path.keys()) {
            if !meta.mac_only_encrypted {
                mac.plain(&node.tree);
            }
            return Ok(());
        }
        let Some(enc) = sealed_value(node, path)? else {
            return Ok(());
        };
        let aad = path.additional_data();
        let tree = enc
            .open(key, aad.as_bytes())
            .map_err(|why| SopsError::at(node.line, format!("`{}` {why}", path.shown())))?;
        mac.decrypted(&tree);
        secrets.extend(as_written(&tree));
        node.tree = tree;
        Ok(())
    };
    for doc in docs {
        each_leaf(doc, &mut Path::default(), &mut leaf)?;
    }
    Ok((mac, secrets))
}

/// The paths of a document's encrypted values, each checked to be a well-formed `ENC[...]`.
pub(super) fn encrypted_paths(doc: &mut Node, rule: &Rule) -> Result<Vec<String>, SopsError> {
    let mut paths = Vec::new();
    each_leaf(doc, &mut Path::default(), &mut |node, path| {
        if rule.encrypts(path.keys()) && sealed_value(node, path)?.is_some() {
            paths.push(path.shown());
        }
        Ok(())
    })?;
    Ok(paths)
}

/// A decrypted value as the plaintext file shows it (`hunter2`, `42`, `true`).
fn as_written(tree: &Tree) -> Option<String> {
    match tree {
        Tree::Str(s) if s.is_empty() => None,
        Tree::Str(s) => Some(s.clone()),
        Tree::Int(i) => Some(i.to_string()),
        Tree::UInt(u) => Some(u.to_string()),
        Tree::Float(f) => float_json(*f).map(|v| v.to_string()),
        Tree::Bool(b) => Some(b.to_string()),
        Tree::Null | Tree::Seq(_) | Tree::Map(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(steps: &[&str]) -> Path {
        Path {
            steps: steps
                .iter()
                .map(|s| match s.parse() {
                    Ok(i) => Step::Index(i),
                    Err(_) => Step::Key(s.to_string()),
                })
                .collect(),
        }
    }

    #[test]
    fn additional_data_is_the_keys_each_followed_by_a_colon() {
        assert_eq!(
            path(&["stringData", "password"]).additional_data(),
            "stringData:password:"
        );
        // List indexes are not part of it: every item of a list shares its path.
        assert_eq!(path(&["list", "0", "x"]).additional_data(), "list:x:");
        assert_eq!(path(&["list", "3"]).additional_data(), "list:");
    }

    #[test]
    fn paths_show_keys_and_indexes() {
        assert_eq!(
            path(&["stringData", "password"]).shown(),
            "stringData.password"
        );
        assert_eq!(
            path(&["spec", "items", "0", "name"]).shown(),
            "spec.items[0].name"
        );
    }

    #[test]
    fn plaintext_where_encryption_is_due_is_refused_without_echo() {
        let node = Node::new(Tree::Str("hunter2".into()), Some(4));
        let err = sealed_value(&node, &path(&["password"])).unwrap_err();
        assert_eq!(err.line, Some(4));
        assert!(err.reason.contains("`password` is in plaintext"), "{err}");
        assert!(!err.to_string().contains("hunter2"));
        let empty = Node::new(Tree::Str(String::new()), Some(4));
        assert!(
            sealed_value(&empty, &path(&["password"]))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn decrypted_values_are_listed_as_written() {
        assert_eq!(as_written(&Tree::Int(42)).as_deref(), Some("42"));
        assert_eq!(as_written(&Tree::Float(1.5)).as_deref(), Some("1.5"));
        assert_eq!(as_written(&Tree::Float(3.0)).as_deref(), Some("3"));
        assert_eq!(as_written(&Tree::Bool(true)).as_deref(), Some("true"));
        assert_eq!(as_written(&Tree::Str(String::new())), None);
    }
}
