//! Multi-document YAML (and JSON) into JSON values, keeping the line each document starts on.
//!
//! Documents are split on `---` separator lines the way kubectl's YAML reader splits them, so a
//! file means the same thing to driftless as to `kubectl apply -f`. Each document is parsed with
//! serde-saphyr under a budget (depth, alias replay, node count), so hostile input fails fast.

use serde_json::Value;

/// One parsed, non-empty document.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// 1-based line of the document's first line in its file.
    pub line: usize,
    pub value: Value,
}

/// A parse failure at a line of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub reason: String,
}

/// Parses a `.json` file (one value) or a YAML file (any number of documents).
pub fn parse_file(content: &str, is_json: bool) -> Result<Vec<Document>, ParseError> {
    if is_json {
        return serde_json::from_str::<Value>(content)
            .map(|value| vec![Document { line: 1, value }])
            .map_err(|e| ParseError {
                line: e.line().clamp(1, last_line(1, content)),
                reason: strip_position(&e.to_string()),
            });
    }
    let mut docs = Vec::new();
    for (line, text) in split_documents(content) {
        let parsed: Vec<Value> = serde_saphyr::from_multiple_with_options(text, options())
            .map_err(|e| {
                let at = e.location().map(|l| l.line() as usize).unwrap_or(1).max(1);
                ParseError {
                    // Some errors are found only at the end of the stream, past the last line.
                    line: (line + at - 1).min(last_line(line, text)),
                    reason: describe(&e),
                }
            })?;
        docs.extend(
            parsed
                .into_iter()
                .filter(|v| !v.is_null())
                .map(|value| Document { line, value }),
        );
    }
    Ok(docs)
}

/// The last line of `text`, which starts on line `first`.
fn last_line(first: usize, text: &str) -> usize {
    first + text.lines().count().max(1) - 1
}

/// Splits on lines that are `---`, optionally followed by whitespace or a comment.
/// Returns each chunk with the 1-based line it starts on.
fn split_documents(content: &str) -> Vec<(usize, &str)> {
    let mut chunks = Vec::new();
    let (mut start_byte, mut start_line, mut offset) = (0, 1, 0);
    for (idx, line) in content.split_inclusive('\n').enumerate() {
        if is_separator(line) {
            chunks.push((start_line, &content[start_byte..offset]));
            start_byte = offset + line.len();
            start_line = idx + 2;
        }
        offset += line.len();
    }
    chunks.push((start_line, &content[start_byte..]));
    chunks
}

fn is_separator(line: &str) -> bool {
    match line.strip_prefix("---") {
        Some(rest) => {
            let rest = rest.trim();
            rest.is_empty() || rest.starts_with('#')
        }
        None => false,
    }
}

/// Alias replay allowed in one document (billion-laughs protection).
const MAX_REPLAYED_EVENTS: usize = 200_000;

fn budget() -> serde_saphyr::Budget {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = 100;
    budget.max_nodes = 1_000_000;
    budget.max_aliases = 10_000;
    budget
}

pub(super) fn options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget());
    options.alias_limits.max_total_replayed_events = MAX_REPLAYED_EVENTS;
    // `defaultMode: 0644` means octal to kubectl (YAML 1.1); keep that meaning.
    options.legacy_octal_numbers = true;
    // Never echo source text back: the document may be a Secret.
    options.with_snippet = false;
    options.crop_radius = 0;
    options
}

/// The parser's reason in the user's terms. The parser's own texts for some errors name its
/// options or Rust types (`set DuplicateKeyPolicy in Options`, `use Option<String>`), which a
/// manifest author can do nothing with; those are rewritten here. Plain YAML syntax errors
/// (`mapping values are not allowed in this context`) pass through as they are.
pub(super) fn describe(err: &serde_saphyr::Error) -> String {
    use serde_saphyr::Error as E;
    let text = match err {
        E::AliasError { error, .. } | E::WithSnippet { error, .. } => return describe(error),
        E::DuplicateMappingKey { key: Some(key), .. } => {
            format!(
                "duplicate key {}: a key may appear only once in a mapping",
                quoted(key)
            )
        }
        E::DuplicateMappingKey { key: None, .. } => {
            "duplicate key: a key may appear only once in a mapping".into()
        }
        // The only strings a JSON value asks for are mapping keys.
        E::NullIntoString { .. } => {
            "a key is null (`~`, `null` or empty): keys must be strings (quote `\"null\"` if meant)"
                .into()
        }
        E::Unexpected { expected, .. } if expected.contains("string") => {
            "a key must be a string, not a list or a mapping".into()
        }
        E::NonFiniteFloat { .. } => {
            "`.nan`, `.inf` and numbers beyond a float's range (like 1e999) \
            cannot be sent to Kubernetes: quote the value to make it a string"
                .into()
        }
        E::InvalidScalar { ty, .. } => {
            let (tag, what) = if ty.contains("float") {
                ("!!float", "number")
            } else if ty.contains("bool") {
                ("!!bool", "boolean")
            } else {
                ("!!int", "integer")
            };
            format!("a value tagged `{tag}` is not a valid {what}")
        }
        E::InvalidBinaryBase64 { .. } => "a `!!binary` value is not valid base64".into(),
        E::BinaryNotUtf8 { .. } => "a `!!binary` value must decode to UTF-8 text here; \
            put binary Secret values under `data:` as base64, without the tag"
            .into(),
        E::UnsupportedTag { tag, .. } => format!("tag {} is not supported", quoted(tag)),
        E::UnknownAnchor { .. } => {
            "an alias (`*name`) refers to no anchor (`&name`) defined before it in the document"
                .into()
        }
        E::MergeValueNotMapOrSeqOfMaps { .. } => {
            "a merge key (`<<`) must be followed by a mapping or a list of mappings".into()
        }
        E::Budget { breach, .. } => over_budget(breach),
        E::AliasReplayLimitExceeded { .. }
        | E::AliasExpansionLimitExceeded { .. }
        | E::AliasReplayStackDepthExceeded { .. }
        | E::AliasReplayCounterOverflow { .. } => format!(
            "aliases (`*name`) expand to too much: driftless replays at most \
             {MAX_REPLAYED_EVENTS} values per document"
        ),
        _ => strip_position(&err.to_string()),
    };
    if LIBRARY_WORDS.iter().any(|w| text.contains(w)) {
        // A parser text we have not rewritten that speaks of its API, not of YAML.
        return "not a Kubernetes manifest: values must be strings, numbers, booleans, \
            null, lists or mappings with string keys"
            .into();
    }
    text
}

/// Words of the parser's API (options, Rust types) that mean nothing to a manifest author.
const LIBRARY_WORDS: [&str; 6] = [
    "Options",
    "Option<",
    "deserialize",
    "policy",
    "Policy",
    "budget",
];

/// Which of driftless's parse limits a document broke, and what the limit is.
fn over_budget(breach: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach as B;
    let limits = budget();
    let (what, limit) = match breach {
        B::Depth { .. } => ("levels of nesting", limits.max_depth),
        B::Nodes { .. } => ("values in one document", limits.max_nodes),
        B::Events { .. } => ("YAML events in one document", limits.max_events),
        B::Aliases { .. } => ("aliases (`*name`) in one document", limits.max_aliases),
        B::Anchors { .. } => ("anchors (`&name`) in one document", limits.max_anchors),
        B::Documents { .. } => ("documents in one file", limits.max_documents),
        B::MergeKeys { .. } => ("merge keys (`<<`) in one document", limits.max_merge_keys),
        B::ScalarBytes { .. } => (
            "bytes of text in one document",
            limits.max_total_scalar_bytes,
        ),
        B::AliasAnchorRatio { .. } => {
            return format!(
                "far more aliases (`*name`) than anchors (`&name`): driftless allows at most \
                 {} aliases per anchor",
                limits.alias_anchor_ratio_multiplier
            );
        }
        B::SequenceUnbalanced => return "a list or mapping ends that never started".into(),
        _ => return "too large or too complex to read safely".into(),
    };
    format!("too many {what}: driftless reads at most {limit}")
}

/// A key or tag for a message, cut short: it is source text, and names, not values, belong here.
pub(super) fn quoted(text: &str) -> String {
    const MAX: usize = 60;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("`{}...`", &text[..cut]),
        None => format!("`{text}`"),
    }
}

fn strip_position(msg: &str) -> String {
    let msg = msg.lines().next().unwrap_or(msg);
    let cut = [" at line ", " at position "]
        .iter()
        .filter_map(|p| msg.find(p))
        .min();
    match cut {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn multiple_documents_keep_their_start_lines() {
        let yaml = "a: 1\n---\n# comment only\n---\n\n---  # next\nb: 2\n...\n";
        let docs = parse_file(yaml, false).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(
            docs[0],
            Document {
                line: 1,
                value: json!({"a": 1})
            }
        );
        assert_eq!(
            docs[1],
            Document {
                line: 7,
                value: json!({"b": 2})
            }
        );
    }

    #[test]
    fn leading_separator_and_empty_documents_are_skipped() {
        let docs = parse_file("---\nx: z\n---\n---\n", false).unwrap();
        assert_eq!(
            docs,
            vec![Document {
                line: 2,
                value: json!({"x": "z"})
            }]
        );
        assert!(parse_file("", false).unwrap().is_empty());
        assert!(parse_file("# nothing\n", false).unwrap().is_empty());
    }

    #[test]
    fn separator_needs_to_stand_alone() {
        let docs = parse_file("a: |\n  ---x\n  text\n", false).unwrap();
        assert_eq!(docs[0].value, json!({"a": "---x\ntext\n"}));
    }

    #[test]
    fn syntax_error_reports_line_in_file() {
        let yaml = "a: 1\n---\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n";
        let err = parse_file(yaml, false).unwrap_err();
        assert!(err.line >= 5, "line {} for {:?}", err.line, err.reason);
        assert!(!err.reason.is_empty());
    }

    #[test]
    fn octal_modes_mean_what_kubectl_means() {
        let docs = parse_file("defaultMode: 0644\n", false).unwrap();
        assert_eq!(docs[0].value, json!({"defaultMode": 420}));
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        let err = parse_file("a: 1\na: 2\n", false).unwrap_err();
        assert_eq!(err.line, 2, "{err:?}");
    }

    #[test]
    fn alias_bombs_fail_fast() {
        let mut yaml = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = i - 1;
            yaml.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let err = parse_file(&yaml, false).unwrap_err();
        assert!(!err.reason.is_empty());
    }

    #[test]
    fn json_files_parse_with_line_numbers() {
        assert_eq!(
            parse_file("{\"a\": [1]}", true).unwrap()[0].value,
            json!({"a": [1]})
        );
        let err = parse_file("{\n\"a\": ,\n}", true).unwrap_err();
        assert_eq!(err.line, 2);
    }

    #[test]
    fn errors_do_not_echo_source_text() {
        let err = parse_file("data:\n  password: \"hunter2-secret\n", false).unwrap_err();
        assert!(!err.reason.contains("hunter2"), "{}", err.reason);
    }

    #[test]
    fn parser_api_words_never_reach_the_user() {
        let err = serde_saphyr::Error::Message {
            msg: "cannot deserialize a map; set MapPolicy in Options".into(),
            location: serde_saphyr::Location::UNKNOWN,
        };
        assert_eq!(
            describe(&err),
            "not a Kubernetes manifest: values must be strings, numbers, booleans, null, lists \
             or mappings with string keys"
        );
    }
}
