//! The renderer on a whole snapshot: the fuzz input is split into files at `#file: PATH` lines
//! (text before the first one is `input.yaml`). Every problem names a file of the snapshot and a
//! line inside it; what renders resolves, orders, and prints with every Secret value masked.
#![no_main]

use std::path::PathBuf;

use driftless::plan::{mask::MASK, order};
use driftless::cli::render_output as output;
use driftless::render::{self, KindInfo, KindLookup};
use driftless::source::{Snapshot, SourceFile};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const MARKER: &str = "#file: ";

fn snapshot(text: &str) -> Snapshot {
    let mut files = vec![SourceFile {
        path: PathBuf::from("input.yaml"),
        content: String::new(),
    }];
    for line in text.split_inclusive('\n') {
        match line.strip_prefix(MARKER) {
            Some(path) => {
                // A source never has two files at one path.
                let mut path = PathBuf::from(path.trim());
                while files.iter().any(|f| f.path == path) {
                    path = PathBuf::from(format!("{}.{}", path.display(), files.len()));
                }
                files.push(SourceFile {
                    path,
                    content: String::new(),
                });
            }
            None => files
                .last_mut()
                .into_iter()
                .for_each(|f| f.content.push_str(line)),
        }
    }
    Snapshot {
        origin: "fuzz".into(),
        revision: Some("0123456789abcdef".into()),
        files,
        ..Snapshot::default()
    }
}

/// Every kind resolves: namespaced unless it is one of a few cluster-scoped ones.
struct AnyKind;

impl KindLookup for AnyKind {
    fn lookup(&self, group: &str, version: &str, kind: &str) -> Option<KindInfo> {
        let cluster = ["Namespace", "ClusterRole", "CustomResourceDefinition"].contains(&kind);
        Some(KindInfo {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: format!("{}s", kind.to_ascii_lowercase()),
            namespaced: !cluster,
            served: true,
        })
    }
}

fuzz_target!(|data: &[u8]| {
    let snapshot = snapshot(&String::from_utf8_lossy(data));
    let last_line = |path: &PathBuf| {
        let file = snapshot.files.iter().find(|f| &f.path == path);
        let file = file.unwrap_or_else(|| panic!("{} is not in the snapshot", path.display()));
        file.content.lines().count().max(1)
    };
    let rendered = match render::render(&snapshot, &render::Decryption::default()) {
        Ok(rendered) => rendered,
        Err(err) => {
            assert!(!err.issues.is_empty());
            for issue in &err.issues {
                let at = format!("{}:{}: ", issue.origin.file.display(), issue.origin.line);
                assert!(issue.to_string().starts_with(&at), "{issue}");
                assert!(
                    (1..=last_line(&issue.origin.file)).contains(&issue.origin.line),
                    "{issue}"
                );
                assert!(!issue.reason.is_empty());
            }
            return;
        }
    };
    for m in &rendered.manifests {
        assert!((1..=last_line(&m.origin.file)).contains(&m.origin.line));
        assert!(!m.api_version().is_empty() && !m.kind().is_empty() && !m.name().is_empty());
    }
    // The printed forms: every Secret value masked.
    let _ = output::to_yaml_stream(&rendered, false);
    let json: Value = serde_json::from_str(&output::to_json(&rendered, false)).expect("to_json is JSON");
    for item in json["objects"].as_array().into_iter().flatten() {
        let object = &item["object"];
        if object["kind"] == "Secret" && object["apiVersion"] == "v1" {
            assert_masked(object);
        }
    }
    if let Ok(set) = render::resolve(rendered.manifests.clone(), &AnyKind, Some("default")) {
        let mut ids: Vec<_> = set.objects.iter().map(|o| &o.id).collect();
        ids.sort_by(|a, b| order::apply_key(a).cmp(&order::apply_key(b)));
        for pair in ids.windows(2) {
            assert!(pair[0].key() != pair[1].key(), "{} twice", pair[0]);
        }
    }
});

fn assert_masked(secret: &Value) {
    for field in ["data", "stringData"] {
        match &secret[field] {
            Value::Null => {}
            Value::Object(map) => {
                for v in map.values() {
                    assert_eq!(v, MASK, "{field} shows a value: {secret}");
                }
            }
            other => assert_eq!(other, MASK, "{field} shows a value: {secret}"),
        }
    }
}
