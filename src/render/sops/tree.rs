//! The file as SOPS sees it: every document a tree whose mappings keep their keys in source
//! order (the MAC covers the order), each node with its line when the format gives one.
//!
//! YAML goes through serde-saphyr with driftless's own limits, read the way SOPS's YAML library
//! reads it: YAML 1.2 booleans only (`yes` stays text), legacy octal (`0644`), `<<` an ordinary
//! key. JSON goes through serde_json. Only [`to_json`] turns a tree into the sorted
//! `serde_json::Value` the rest of driftless works on.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::Spanned;

use super::SopsError;
use super::timestamp::go_timestamp;

/// A value and the 1-based line it is on (JSON: strings only).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Node {
    pub line: Option<usize>,
    pub tree: Tree,
    /// Where the value starts in the text (YAML only).
    offset: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tree {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer above `i64::MAX`.
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

impl Node {
    pub fn new(tree: Tree, line: Option<usize>) -> Node {
        Node {
            line,
            tree,
            offset: None,
        }
    }

    fn at(tree: Tree, location: &serde_saphyr::Location) -> Node {
        Node {
            line: Some(location.line() as usize).filter(|l| *l > 0),
            tree,
            offset: location.span().byte_offset().map(|o| o as usize),
        }
    }

    /// The value of `key` in a mapping (its first occurrence).
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.tree {
            Tree::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Parses every document of `text`, empty ones left out, each with the line it starts on.
pub(super) fn parse(text: &str, is_json: bool) -> Result<Vec<Node>, SopsError> {
    if is_json {
        let parsed: Parsed<false> = serde_json::from_str(text).map_err(|e| {
            // At the end of the text serde_json counts a line past the last one.
            let line = e.line().clamp(1, text.lines().count().max(1));
            SopsError::at(Some(line), format!("not valid JSON: {}", json_reason(&e)))
        })?;
        let mut root = Node::new(parsed.0, Some(1));
        locate(&mut root, text, &mut Cursor::default());
        return Ok(vec![root]);
    }
    let docs: Vec<Spanned<Parsed<true>>> =
        serde_saphyr::from_multiple_with_options(text, options()).map_err(|e| {
            let line = e.location().map(|l| l.line() as usize).filter(|l| *l > 0);
            let line = line.map(|l| l.min(text.lines().count().max(1)));
            SopsError::at(
                line,
                format!("not valid YAML: {}", super::super::yaml::describe(&e)),
            )
        })?;
    let mut docs: Vec<Node> = docs
        .into_iter()
        .map(|d| Node::at(d.value.0, &d.referenced))
        .filter(|n| n.tree != Tree::Null)
        .collect();
    for doc in &mut docs {
        timestamps(doc, text);
    }
    Ok(docs)
}

pub(super) fn options() -> serde_saphyr::Options {
    let mut options = super::super::yaml::options();
    // As SOPS's YAML library reads an untyped value: `yes`/`on` are text, `<<` is a key.
    options.strict_booleans = true;
    options.merge_keys = serde_saphyr::MergeKeyPolicy::AsOrdinary;
    options
}

/// Plain scalars that Go's YAML reader takes for times become the RFC 3339 text SOPS hashes
/// and prints.
fn timestamps(node: &mut Node, text: &str) {
    match &mut node.tree {
        Tree::Str(s) => {
            if node.offset.is_some_and(|o| untagged_plain(text, o))
                && let Some(time) = go_timestamp(s)
            {
                *s = time;
            }
        }
        Tree::Seq(items) => items.iter_mut().for_each(|n| timestamps(n, text)),
        Tree::Map(entries) => entries.iter_mut().for_each(|(_, n)| timestamps(n, text)),
        _ => {}
    }
}

/// Whether the scalar at `offset` is plain and untagged: it starts with a digit (no quote or
/// block marker), and no `!tag` stands before it (an `&anchor` may).
fn untagged_plain(text: &str, offset: usize) -> bool {
    if !text.as_bytes().get(offset).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    let before = text.get(..offset).unwrap_or_default();
    let mut tokens = before.split_whitespace().rev();
    let mut token = tokens.next();
    if token.is_some_and(|t| t.starts_with('&')) {
        token = tokens.next();
    }
    !token.is_some_and(|t| t.trim_start_matches(['[', '{', ',']).starts_with('!'))
}

/// How far [`locate`] has read: a byte offset and its line.
#[derive(Default)]
struct Cursor {
    at: usize,
    line: usize,
}

/// JSON has no spans: each string is found in the text, in file order, for its line (which a
/// collection takes from its first string). Strings JSON escapes differently keep none.
fn locate(node: &mut Node, text: &str, cursor: &mut Cursor) {
    match &mut node.tree {
        Tree::Str(s) => {
            let Ok(quoted) = serde_json::to_string(s) else {
                return;
            };
            let Some(found) = text.get(cursor.at..).and_then(|rest| rest.find(&quoted)) else {
                return;
            };
            let found = cursor.at + found;
            cursor.line += text[cursor.at..found].matches('\n').count();
            cursor.at = found + quoted.len();
            node.line = Some(cursor.line + 1);
        }
        Tree::Seq(items) => {
            for item in items.iter_mut() {
                locate(item, text, cursor);
            }
            node.line = node.line.or(items.iter().find_map(|n| n.line));
        }
        Tree::Map(entries) => {
            for (_, value) in entries.iter_mut() {
                locate(value, text, cursor);
            }
            node.line = node.line.or(entries.iter().find_map(|(_, n)| n.line));
        }
        _ => {}
    }
}

/// serde_json's reason without its ` at line N column M` tail (the line is said apart).
fn json_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.find(" at line ") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

/// A tree read by serde; `SPANS` asks serde-saphyr for each child's line.
struct Parsed<const SPANS: bool>(Tree);

impl<'de, const SPANS: bool> Deserialize<'de> for Parsed<SPANS> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(TreeVisitor::<SPANS>)
            .map(Parsed)
    }
}

struct TreeVisitor<const SPANS: bool>;

impl<'de, const SPANS: bool> Visitor<'de> for TreeVisitor<SPANS> {
    type Value = Tree;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string, number, boolean, null, list or mapping")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Tree, E> {
        Ok(Tree::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Tree, E> {
        Ok(Tree::Int(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Tree, E> {
        Ok(i64::try_from(v).map_or(Tree::UInt(v), Tree::Int))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Tree, E> {
        match (i64::try_from(v), u64::try_from(v)) {
            (Ok(i), _) => Ok(Tree::Int(i)),
            (_, Ok(u)) => Ok(Tree::UInt(u)),
            _ => Err(E::custom("an integer beyond 64 bits")),
        }
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Tree, E> {
        self.visit_i128(i128::try_from(v).map_err(|_| E::custom("an integer beyond 64 bits"))?)
    }

    fn visit_f64<E>(self, v: f64) -> Result<Tree, E> {
        Ok(Tree::Float(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Tree, E> {
        Ok(Tree::Str(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Tree, E> {
        Ok(Tree::Str(v))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Tree, E> {
        String::from_utf8(v.to_vec())
            .map(Tree::Str)
            .map_err(|_| E::custom("a binary value that is not UTF-8 text"))
    }

    fn visit_unit<E>(self) -> Result<Tree, E> {
        Ok(Tree::Null)
    }

    fn visit_none<E>(self) -> Result<Tree, E> {
        Ok(Tree::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Tree, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree, A::Error> {
        let mut items = Vec::new();
        while let Some(node) = next_element(&mut seq, SPANS)? {
            items.push(node);
        }
        Ok(Tree::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            entries.push((key, next_value(&mut map, SPANS)?));
        }
        Ok(Tree::Map(entries))
    }
}

/// The next item of a list, with its line when `spans`.
fn next_element<'de, A: SeqAccess<'de>>(
    seq: &mut A,
    spans: bool,
) -> Result<Option<Node>, A::Error> {
    if spans {
        let item = seq.next_element::<Spanned<Parsed<true>>>()?;
        Ok(item.map(|s| Node::at(s.value.0, &s.referenced)))
    } else {
        Ok(seq
            .next_element::<Parsed<false>>()?
            .map(|p| Node::new(p.0, None)))
    }
}

/// The value of the current mapping key, with its line when `spans`.
fn next_value<'de, A: MapAccess<'de>>(map: &mut A, spans: bool) -> Result<Node, A::Error> {
    if spans {
        let value = map.next_value::<Spanned<Parsed<true>>>()?;
        Ok(Node::at(value.value.0, &value.referenced))
    } else {
        Ok(Node::new(map.next_value::<Parsed<false>>()?.0, None))
    }
}

/// The plaintext tree as JSON: a float that is a whole number becomes an integer (as SOPS
/// prints it), and `<<` merges as a YAML reader merges the text `sops -d` prints.
pub(super) fn to_json(node: &Node) -> Result<Value, SopsError> {
    Ok(match &node.tree {
        Tree::Null => Value::Null,
        Tree::Bool(b) => Value::Bool(*b),
        Tree::Int(i) => Value::from(*i),
        Tree::UInt(u) => Value::from(*u),
        Tree::Float(f) => float_json(*f).ok_or_else(|| {
            SopsError::at(node.line, "`.nan` and `.inf` cannot be sent to Kubernetes")
        })?,
        Tree::Str(s) => Value::String(s.clone()),
        Tree::Seq(items) => Value::Array(items.iter().map(to_json).collect::<Result<_, _>>()?),
        Tree::Map(entries) => {
            let mut object = serde_json::Map::new();
            let mut merged = Vec::new();
            for (key, value) in entries {
                if key == "<<" {
                    merged.push(to_json(value)?);
                } else {
                    object.insert(key.clone(), to_json(value)?);
                }
            }
            for source in merged.iter().flat_map(merge_sources) {
                for (key, value) in source {
                    object.entry(key.clone()).or_insert_with(|| value.clone());
                }
            }
            Value::Object(object)
        }
    })
}

/// The mappings a `<<` value merges, first wins (a list of mappings, or one mapping).
fn merge_sources(value: &Value) -> Vec<&serde_json::Map<String, Value>> {
    match value {
        Value::Object(map) => vec![map],
        Value::Array(items) => items.iter().filter_map(Value::as_object).collect(),
        _ => Vec::new(),
    }
}

/// Whole floats within the range a double holds exactly become integers; non-finite ones none.
pub(super) fn float_json(f: f64) -> Option<Value> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if f.is_finite() && f.fract() == 0.0 && f.abs() <= EXACT {
        // Exact: a whole number within 2^53.
        return Some(Value::from(f as i64));
    }
    serde_json::Number::from_f64(f).map(Value::Number)
}
