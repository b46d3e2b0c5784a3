//! Values that may reach a Secret, kept out of a renderer's error text: a failed render prints
//! no value of the chart's values files, of `--set`, or of a kustomize secret generator.

use serde_json::Value;

use crate::render::MASK;

/// Keys whose values are secret whatever their length.
const SECRET_KEYS: [&str; 7] = [
    "password",
    "passwd",
    "secret",
    "token",
    "key",
    "credential",
    "auth",
];
/// Shorter values are left: they are everywhere in messages (`true`, `80`, `app`).
const MIN_LEN: usize = 4;
/// Under a secret-like key, shorter ones too, down to this.
const MIN_SECRET_LEN: usize = 3;

/// What to hide from error text.
#[derive(Debug, Default)]
pub(super) struct Secrets(Vec<String>);

impl Secrets {
    /// Every string of a values tree, and every value under a secret-like key.
    pub(super) fn values(&mut self, tree: &Value) {
        self.walk(tree, false);
    }

    /// One `key=value` (`--set`, a generator literal).
    pub(super) fn pair(&mut self, key: &str, value: &str) {
        self.add(value, secret_key(key));
    }

    fn walk(&mut self, value: &Value, secret: bool) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    self.walk(v, secret || secret_key(k));
                }
            }
            Value::Array(items) => items.iter().for_each(|v| self.walk(v, secret)),
            Value::String(s) => self.add(s, secret),
            Value::Number(n) if secret => self.add(&n.to_string(), true),
            _ => {}
        }
    }

    fn add(&mut self, value: &str, secret: bool) {
        let value = value.trim();
        if value.len() >= MIN_LEN || (secret && value.len() >= MIN_SECRET_LEN) {
            self.0.push(value.to_string());
            // Multi-line values (keys, certificates) show up line by line in messages.
            self.0.extend(
                value
                    .lines()
                    .map(str::trim)
                    .filter(|l| l.len() >= MIN_LEN)
                    .map(str::to_string),
            );
        }
    }

    /// `text` with every value hidden, longest first so a value holding another goes whole.
    pub(super) fn scrub(&self, text: &str) -> String {
        let mut values: Vec<&String> = self.0.iter().collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values.dedup();
        let mut out = text.to_string();
        for v in values {
            out = out.replace(v.as_str(), MASK);
        }
        out
    }
}

fn secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_KEYS.iter().any(|s| key.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_and_secret_keys_are_hidden() {
        let mut secrets = Secrets::default();
        secrets.values(
            &json!({"db": {"password": "pw1", "host": "postgres", "port": 5432},
                               "replicas": 2, "cert": "-----BEGIN-----\nMIIBabc\n-----END-----"}),
        );
        secrets.pair("auth.token", "t0k");
        let text = "error: pw1 at postgres:5432 (2 replicas), MIIBabc, t0k";
        assert_eq!(
            secrets.scrub(text),
            "error: *** at ***:5432 (2 replicas), ***, ***"
        );
    }
}
