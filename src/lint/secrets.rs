//! Secrets where they do not belong: `secret-in-env`, `secret-in-configmap`, and
//! `plaintext-secret`. What is a secret is [`crate::plan::mask`]'s call, the same one that keeps
//! these values out of every output; findings name keys and fields, never values.

use super::finding::{Check, Finding};
use super::workload::{Object, pod_spec};
use crate::plan::mask::{self, SecretKind, SecretLiteral};

/// Last words of a name that say it holds where a secret is, or about it, not the secret itself
/// (`PASSWORD_FILE`, `TOKEN_SECRET_NAME`, `AWS_ACCESS_KEY_ID`). Masking still hides them.
const REFERENCE_WORDS: [&str; 14] = [
    "FILE", "PATH", "DIR", "NAME", "REF", "ID", "USER", "USERNAME", "HOST", "PORT", "URL", "URI",
    "LENGTH", "TTL",
];

/// The secret literals worth a finding in `value`, stored under `name`.
fn findings_in(name: &str, value: &str) -> Vec<SecretLiteral> {
    let last_word = name
        .rsplit(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or_default();
    // `passwordFile` ends in File too.
    let camel_tail = last_word
        .char_indices()
        .rfind(|(_, c)| c.is_ascii_uppercase())
        .map_or(last_word, |(i, _)| &last_word[i..]);
    let refers = [last_word, camel_tail]
        .iter()
        .any(|w| REFERENCE_WORDS.contains(&w.to_ascii_uppercase().as_str()));
    // A reference-like name is still searched for URL passwords and keys.
    mask::secret_literals(if refers { "" } else { name }, value)
}

/// What a literal is, for a message: never its text.
fn describe(name: &str, literals: &[SecretLiteral]) -> String {
    let mut parts: Vec<String> = Vec::new();
    for l in literals {
        let part = match l.kind {
            SecretKind::Named => format!("{name} is named like a secret and holds a literal value"),
            SecretKind::UrlPassword => format!("{name} holds a URL with a password"),
            SecretKind::PrivateKey => format!("{name} holds a PEM private key"),
            SecretKind::NamedLine => format!(
                "{name} sets {} to a literal value",
                l.key.as_deref().unwrap_or("a secret-like key")
            ),
        };
        if !parts.contains(&part) {
            parts.push(part);
        }
    }
    parts.join("; ")
}

/// `secret-in-env`: env literals of every container (any workload or custom resource with a pod
/// template), and URL passwords or private keys in args and command.
pub fn check_env(object: &Object, out: &mut Vec<Finding>) {
    for (pointer, name, value) in mask::env_literals(&object.value) {
        let literals = findings_in(&name, &value);
        if !literals.is_empty() {
            out.push(Finding::new(
                Check::SecretInEnv,
                object,
                pointer_path(&pointer),
                format!("env {}", describe(&name, &literals)),
            ));
        }
    }
    let Some(pod) = pod_spec(object) else {
        return;
    };
    for container in pod.containers() {
        for list in ["command", "args"] {
            let items = container.value[list].as_array().into_iter().flatten();
            for (i, item) in items.enumerate() {
                let literals: Vec<SecretLiteral> =
                    findings_in("", item.as_str().unwrap_or_default());
                if !literals.is_empty() {
                    let field = format!("{list}[{i}]");
                    out.push(Finding::new(
                        Check::SecretInEnv,
                        object,
                        container.field(&field),
                        format!(
                            "container {}: {}",
                            container.name(),
                            describe(&field, &literals)
                        ),
                    ));
                }
            }
        }
    }
}

/// `secret-in-configmap`: one finding per key of `data` that holds a secret.
pub fn check_config_map(object: &Object, out: &mut Vec<Finding>) {
    if !object.is("", "ConfigMap") {
        return;
    }
    let data = object.value["data"].as_object().into_iter().flatten();
    for (key, value) in data {
        let Some(text) = value.as_str() else { continue };
        let literals = findings_in(key, text);
        if !literals.is_empty() {
            out.push(Finding::new(
                Check::SecretInConfigMap,
                object,
                format!("data.{key}"),
                format!("key {}", describe(key, &literals)),
            ));
        }
    }
}

/// `plaintext-secret`: a Secret whose `data` or `stringData` holds values. SOPS-encrypted
/// Secrets (decrypted at render, or read sealed) are encrypted in Git, so fine; so are
/// SealedSecrets and ExternalSecrets, which are other kinds.
pub fn check_plaintext(object: &Object, out: &mut Vec<Finding>) {
    if !object.is("", "Secret") || object.encrypted || !object.value["sops"].is_null() {
        return;
    }
    for field in ["stringData", "data"] {
        let keys: Vec<&str> = object.value[field]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, v)| {
                v.as_str()
                    .is_some_and(|s| !s.is_empty() && !s.starts_with("ENC["))
                    || v.is_number()
            })
            .map(|(k, _)| k.as_str())
            .collect();
        if keys.is_empty() {
            continue;
        }
        let encoding = if field == "data" {
            " (base64 is an encoding, not encryption)"
        } else {
            ""
        };
        out.push(Finding::new(
            Check::PlaintextSecret,
            object,
            field.to_string(),
            format!(
                "Secret committed with {} value{} in clear text in {field}{encoding}: {}",
                keys.len(),
                if keys.len() == 1 { "" } else { "s" },
                keys.join(", ")
            ),
        ));
    }
}

/// `/spec/template/spec/containers/0/env/1/value` as `spec.template.spec.containers[0].env[1].value`.
pub fn pointer_path(pointer: &str) -> String {
    let mut path = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if !segment.is_empty() && segment.chars().all(|c| c.is_ascii_digit()) {
            path.push_str(&format!("[{segment}]"));
        } else {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&segment);
        }
    }
    path
}
