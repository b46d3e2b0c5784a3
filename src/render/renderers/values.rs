//! Chart values encrypted with SOPS: decrypted in memory and handed to helm on its stdin
//! (`--values -`), in the place the file has among the values files, so nothing decrypted is
//! ever written to disk (the private copy leaves the file out).

use std::path::PathBuf;

use super::scrub::Secrets;
use crate::render::decrypt::{Decryptor, Sops};
use crate::source::TreeFile;

/// A chart's encrypted values file by convention: used right after `values.yaml` when the
/// settings do not list it.
pub const SOPS_VALUES: &str = "values.sops.yaml";

/// A chart's encrypted values file, decrypted.
pub(super) struct StdinValues {
    /// As the chart folder names it (`values.yaml`, `values.sops.yaml`).
    pub name: String,
    /// Where it is in the source: left out of the private copy.
    pub path: PathBuf,
    /// Its values, as JSON (which helm reads as YAML).
    pub text: Vec<u8>,
}

impl std::fmt::Debug for StdinValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the values.
        f.debug_struct("StdinValues")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The chart's values files, `(name, file)` in helm's order: decrypts the one that is
/// encrypted (its values kept out of error text too). helm reads one stdin, so two encrypted
/// files are refused.
pub(super) fn decrypt_values(
    files: &[(&str, &TreeFile)],
    decryptor: &mut Decryptor<'_>,
    secrets: &mut Secrets,
) -> Result<Option<StdinValues>, String> {
    let mut found: Option<StdinValues> = None;
    for (name, file) in files {
        let text = String::from_utf8_lossy(&file.bytes);
        let is_json = name.to_ascii_lowercase().ends_with(".json");
        let Some(opened) = decryptor.open(&text, is_json) else {
            continue;
        };
        let mut docs = opened.map_err(|e| match e.line {
            Some(line) => format!(
                "values file {name}, line {line}: cannot decrypt (SOPS): {}",
                e.reason
            ),
            None => format!("values file {name}: cannot decrypt (SOPS): {}", e.reason),
        })?;
        if let Some(previous) = &found {
            return Err(format!(
                "values files {} and {name} are both SOPS-encrypted: helm reads one from stdin, so \
                 keep a chart's encrypted values in one file",
                previous.name
            ));
        }
        if docs.len() > 1 {
            return Err(format!(
                "values file {name}: {} YAML documents, where helm reads one",
                docs.len()
            ));
        }
        let (values, sealed) = match docs.pop() {
            Some(doc) => (doc.value, matches!(doc.sops, Sops::Sealed(_))),
            None => (serde_json::Value::Object(Default::default()), false),
        };
        if sealed {
            return Err(format!(
                "values file {name} is SOPS-encrypted: the chart renders only with the age key \
                 (--sops-age-key-file)"
            ));
        }
        secrets.values(&values);
        let text = serde_json::to_vec(&values).map_err(|e| format!("values file {name}: {e}"))?;
        found = Some(StdinValues {
            name: name.to_string(),
            path: file.path.clone(),
            text,
        });
    }
    Ok(found)
}
