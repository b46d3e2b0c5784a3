//! The lint findings as SARIF 2.1.0, for code scanning (GitHub's upload-sarif, GitLab's SAST
//! reports). Every check is a rule; every finding a result located at its object's file and
//! line; suppressed findings carry their reason as an in-source suppression.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Report;
use crate::lint::{Check, Finding};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

pub fn render_sarif(report: &Report) -> String {
    let (findings, root) = match &report.lint {
        Some(lint) => (lint.findings.as_slice(), lint.root.as_str()),
        None => (&[][..], ""),
    };
    let results: Vec<Value> = findings
        .iter()
        .filter(|f| f.change != Some(crate::lint::Change::Fixed))
        .map(|f| result(f, root))
        .collect();
    let mut run = json!({
        "tool": {"driver": {
            "name": "driftless",
            "version": env!("CARGO_PKG_VERSION"),
            "rules": Check::ALL.iter().map(|c| rule(*c)).collect::<Vec<_>>(),
        }},
        "columnKind": "unicodeCodePoints",
        "results": results,
    });
    // The source as driftless names it (not always a URI, so not versionControlProvenance).
    run["properties"] =
        json!({"source": report.source, "revision": report.revision, "base": report.base});
    let doc = json!({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]});
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

fn rule(check: Check) -> Value {
    let severity = check.default_severity();
    json!({
        "id": check.id(),
        "name": check.id(),
        "shortDescription": {"text": check.summary()},
        "fullDescription": {"text": format!("{} Fix: {}.", check.summary(), check.fix())},
        "help": {
            "text": format!("Fix: {}. Suppress on one object with the annotation driftless.dev/lint-ignore: \"{}: <reason>\".", check.fix(), check.id()),
        },
        "defaultConfiguration": {"level": severity.sarif_level()},
        "properties": {
            "tags": ["security", "kubernetes"],
            "security-severity": severity.score(),
        },
    })
}

fn result(f: &Finding, root: &str) -> Value {
    let uri = match root.trim_matches('/') {
        "" => f.origin.file.display().to_string(),
        root => format!("{root}/{}", f.origin.file.display()),
    };
    let fingerprint = Sha256::digest(format!("{:?}", f.key()).as_bytes());
    let fingerprint: String = fingerprint
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut result = json!({
        "ruleId": f.check.id(),
        "ruleIndex": Check::ALL.iter().position(|c| *c == f.check).unwrap_or(0),
        "level": f.severity.sarif_level(),
        "message": {"text": format!("{} {}: {}: {}. Fix: {}.", f.object, f.path, f.severity, f.message, f.fix())},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": uri},
                "region": {"startLine": f.origin.line.max(1)},
            },
            "logicalLocations": [{"fullyQualifiedName": f.object.to_string(), "kind": "resource"}],
        }],
        "partialFingerprints": {"driftlessFinding/v1": fingerprint},
        "properties": {
            "severity": f.severity.label(),
            "security-severity": f.severity.score(),
            "path": f.path,
        },
    });
    if let Some(change) = f.change {
        result["properties"]["change"] = json!(change.label());
        if change == crate::lint::Change::Added {
            result["baselineState"] = json!("new");
        }
    }
    if let Some(reason) = &f.suppressed {
        result["suppressions"] = json!([{"kind": "inSource", "justification": reason}]);
    }
    result
}
