//! The YAML (and JSON) loader: any bytes either parse into documents or fail with a reason in
//! driftless's words at a line of the file; and what driftless prints as YAML reads back as the
//! same value.
#![no_main]

use driftless::plan::diff::to_yaml;
use driftless::render::yaml::parse_file;
use libfuzzer_sys::fuzz_target;

/// The parser's API vocabulary, which must never reach a user (see render::yaml::describe).
const LIBRARY_WORDS: [&str; 5] = ["Options", "Option<", "deserialize", "policy", "budget"];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let last_line = text.lines().count().max(1);
    for is_json in [false, true] {
        match parse_file(&text, is_json) {
            Ok(docs) => {
                for doc in &docs {
                    assert!(
                        (1..=last_line).contains(&doc.line),
                        "doc at line {}",
                        doc.line
                    );
                    // YAML skips empty documents; a JSON file is one value, whatever it is.
                    assert!(is_json || !doc.value.is_null());
                    round_trip(&doc.value);
                }
            }
            Err(e) => {
                assert!(
                    (1..=last_line).contains(&e.line),
                    "error at line {}",
                    e.line
                );
                assert!(!e.reason.is_empty());
                if !is_json {
                    for word in LIBRARY_WORDS {
                        assert!(!e.reason.contains(word), "library wording: {}", e.reason);
                    }
                }
            }
        }
    }
});

/// `driftless render` prints objects with `to_yaml`; reading that back must give the same object.
fn round_trip(value: &serde_json::Value) {
    let printed = to_yaml(value);
    // A top-level string or key starting with `---#` prints at the start of a line, where the
    // loader (as kubectl's reader) splits documents. No Kubernetes object has such a key.
    if printed.lines().any(|l| l.starts_with("---")) {
        return;
    }
    let docs = parse_file(&printed, false)
        .unwrap_or_else(|e| panic!("printed YAML does not parse: {e:?}\n{printed}"));
    let back = docs.into_iter().next().map(|d| d.value);
    // Only a null prints as an empty document; the loader skips those.
    if !value.is_null() {
        assert_eq!(back.as_ref(), Some(value), "printed as:\n{printed}");
    }
}
