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
                line: e.line(),
                reason: strip_position(&e.to_string()),
            });
    }
    let mut docs = Vec::new();
    for (line, text) in split_documents(content) {
        let parsed: Vec<Value> = serde_saphyr::from_multiple_with_options(text, options())
            .map_err(|e| {
                let at = e.location().map(|l| l.line() as usize).unwrap_or(1).max(1);
                ParseError {
                    line: line + at - 1,
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

fn options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = 100;
    budget.max_nodes = 1_000_000;
    budget.max_aliases = 10_000;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    // Billion-laughs: cap how much alias replay one document may cause.
    options.alias_limits.max_total_replayed_events = 200_000;
    // `defaultMode: 0644` means octal to kubectl (YAML 1.1); keep that meaning.
    options.legacy_octal_numbers = true;
    // Never echo source text back: the document may be a Secret.
    options.with_snippet = false;
    options.crop_radius = 0;
    options
}

/// The parser's reason, without its own position suffix (we report file:line ourselves).
fn describe(err: &serde_saphyr::Error) -> String {
    strip_position(&err.to_string())
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
}
