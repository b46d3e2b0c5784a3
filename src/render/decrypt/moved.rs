//! SOPS objects a renderer printed: a kustomization that lists an encrypted Secret passes it
//! through, maybe namespaced, labelled or with its keys reordered, so its MAC no longer matches
//! what is printed. The file as committed is found in the folder by its MAC, decrypted there
//! (MAC checked), and each value of the printed object is replaced by the plaintext of its
//! ciphertext: a value is never taken from anywhere but its own authenticated place.

use std::collections::HashMap;

use serde_json::Value;

use super::{Decryptor, Sops};
use crate::render::yaml;
use crate::source::TreeFile;

/// A SOPS value as written: `ENC[AES256_GCM,data:...,iv:...,tag:...,type:...]`.
const ENC: &str = "ENC[";

impl Decryptor<'_> {
    /// The printed object `doc` (with its `sops` block), opened from its file among `inputs`.
    pub(in crate::render) fn open_output(
        &mut self,
        mut doc: Value,
        inputs: &[&TreeFile],
    ) -> Result<(Value, Sops), String> {
        let mac = doc["sops"]["mac"]
            .as_str()
            .ok_or("an object with a `sops` block that holds no MAC: not a SOPS file")?
            .to_string();
        let file = inputs
            .iter()
            .find(|f| contains(&f.bytes, mac.as_bytes()))
            .ok_or(
                "an object with a `sops` block whose file is not in the folder (a remote base?): \
                 its MAC cannot be checked",
            )?;
        let shown = file.path.display().to_string();
        let text = std::str::from_utf8(&file.bytes).map_err(|_| format!("{shown}: not UTF-8"))?;
        let is_json = shown.to_ascii_lowercase().ends_with(".json");
        let opened = match self.open(text, is_json) {
            Some(Ok(opened)) => opened,
            Some(Err(e)) => {
                let at = e.line.map_or(String::new(), |l| format!(":{l}"));
                return Err(format!("{shown}{at}: cannot decrypt (SOPS): {}", e.reason));
            }
            None => return Err(format!("{shown}: a `sops` block that is not a SOPS file")),
        };
        let written = yaml::parse_file(text, is_json)
            .map_err(|e| format!("{shown}:{}: {}", e.line, e.reason))?;
        if let Some(map) = doc.as_object_mut() {
            map.remove("sops");
        }
        let mut ciphers = Vec::new();
        collect(&doc, &mut ciphers);
        // The document of the file the printed object came from: the one holding its values.
        let index = written
            .iter()
            .position(|w| ciphers.first().is_none_or(|c| holds(&w.value, c)))
            .unwrap_or(0);
        let Some(source) = opened.get(index) else {
            return Err(format!(
                "{shown}: the object is not among the file's documents"
            ));
        };
        if let Sops::Sealed(_) = source.sops {
            return Ok((doc, source.sops.clone()));
        }
        let mut plain = HashMap::new();
        pair(&written[index].value, &source.value, &mut plain);
        replace(&mut doc, &plain).map_err(|path| {
            format!("{shown}: the printed object's {path} is not a value of the file as committed")
        })?;
        Ok((doc, Sops::Decrypted))
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every SOPS ciphertext in `value`.
fn collect(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if s.starts_with(ENC) => out.push(s.clone()),
        Value::Object(map) => map.values().for_each(|v| collect(v, out)),
        Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
        _ => {}
    }
}

fn holds(value: &Value, cipher: &str) -> bool {
    let mut found = Vec::new();
    collect(value, &mut found);
    found.iter().any(|c| c == cipher)
}

/// Each ciphertext of the file as written, with the plaintext at the same place.
fn pair(written: &Value, plain: &Value, out: &mut HashMap<String, Value>) {
    match (written, plain) {
        (Value::String(c), plain) if c.starts_with(ENC) => {
            out.insert(c.clone(), plain.clone());
        }
        (Value::Object(w), Value::Object(p)) => {
            for (key, w) in w {
                if let Some(p) = p.get(key) {
                    pair(w, p, out);
                }
            }
        }
        (Value::Array(w), Value::Array(p)) => {
            w.iter().zip(p).for_each(|(w, p)| pair(w, p, out));
        }
        _ => {}
    }
}

/// Replaces each ciphertext of `value` with its plaintext; the path of one that has none.
fn replace(value: &mut Value, plain: &HashMap<String, Value>) -> Result<(), String> {
    fn walk(value: &mut Value, plain: &HashMap<String, Value>, path: &str) -> Result<(), String> {
        match value {
            Value::String(s) if s.starts_with(ENC) => match plain.get(s.as_str()) {
                Some(p) => *value = p.clone(),
                None => return Err(path.trim_start_matches('.').to_string()),
            },
            Value::Object(map) => {
                for (key, v) in map.iter_mut() {
                    walk(v, plain, &format!("{path}.{key}"))?;
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter_mut().enumerate() {
                    walk(v, plain, &format!("{path}[{i}]"))?;
                }
            }
            _ => {}
        }
        Ok(())
    }
    walk(value, plain, "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_found_by_their_ciphertext_wherever_they_moved() {
        let written = json!({"stringData": {"b": "ENC[b]", "a": "ENC[a]"}, "n": [1, "ENC[n]"]});
        let plain = json!({"stringData": {"b": "bee", "a": 42}, "n": [1, "en"]});
        let mut map = HashMap::new();
        pair(&written, &plain, &mut map);
        let mut printed = json!({"metadata": {"namespace": "added"}, "stringData": {"a": "ENC[a]", "b": "ENC[b]"}, "x": "ENC[n]"});
        replace(&mut printed, &map).unwrap();
        assert_eq!(printed["stringData"], json!({"a": 42, "b": "bee"}));
        assert_eq!(printed["x"], "en");
        let mut foreign = json!({"data": {"k": "ENC[elsewhere]"}});
        assert_eq!(replace(&mut foreign, &map).unwrap_err(), "data.k");
        assert!(holds(&written, "ENC[n]"));
        assert!(contains(b"mac: ENC[m]", b"ENC[m]"));
    }
}
