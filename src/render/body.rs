//! A desired object's manifest, kept as compact JSON text: a fifth of what the parsed tree
//! takes, sent to the server as it is, parsed only where an object's content is looked into (a
//! diff, an error to scrub).

use serde::{Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone)]
pub struct Body(Box<RawValue>);

impl Body {
    pub fn new(value: &Value) -> Body {
        // Serializing a Value cannot fail (its keys are strings).
        Body(serde_json::value::to_raw_value(value).unwrap_or_else(|_| RawValue::NULL.to_owned()))
    }

    /// The manifest as a tree.
    pub fn value(&self) -> Value {
        serde_json::from_str(self.0.get()).unwrap_or(Value::Null)
    }

    /// Changes the manifest.
    pub fn edit(&mut self, change: impl FnOnce(&mut Value)) {
        let mut value = self.value();
        change(&mut value);
        *self = Body::new(&value);
    }

    /// The hash the ledger keeps of what was applied (the same as hashing [`Body::value`]).
    pub fn hash(&self) -> String {
        short_hash(self.0.get().as_bytes())
    }

    pub fn as_str(&self) -> &str {
        self.0.get()
    }
}

/// 64 bits of SHA-256, as hex: enough to tell versions of one object apart (the ledger's
/// hashes too).
pub fn short_hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

impl From<Value> for Body {
    fn from(value: Value) -> Body {
        Body::new(&value)
    }
}

impl PartialEq for Body {
    fn eq(&self, other: &Body) -> bool {
        self.0.get() == other.0.get()
    }
}

impl Serialize for Body {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_body_is_its_value_as_compact_json() {
        let value = json!({"kind": "ConfigMap", "data": {"b": "2", "a": "1"}});
        let mut body = Body::new(&value);
        assert_eq!(body.value(), value);
        assert_eq!(
            body.as_str(),
            r#"{"data":{"a":"1","b":"2"},"kind":"ConfigMap"}"#
        );
        assert_eq!(body.hash(), crate::plan::ledger::desired_hash(&value));
        assert_eq!(serde_json::to_string(&body).unwrap(), body.as_str());
        body.edit(|v| v["data"]["c"] = json!("3"));
        assert_eq!(body.value()["data"]["c"], "3");
    }
}
