//! A sync set's name: what owns a set of objects, like Flux's Kustomization name or Argo CD's
//! Application.

use std::fmt;
use std::str::FromStr;

/// A validated sync set name: a DNS label (RFC 1123), so it fits in Secret, Lease and label
/// values. Names like `driftless-<set>` and `driftless-<set>.cluster` never collide because a set
/// name holds no dot.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SetName(String);

/// The set a sync belongs to when none is named.
pub const DEFAULT_SET: &str = "default";

impl SetName {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The set that inventories written before sync sets existed belong to.
    pub fn is_default(&self) -> bool {
        self.0 == DEFAULT_SET
    }
}

impl Default for SetName {
    fn default() -> Self {
        SetName(DEFAULT_SET.to_string())
    }
}

impl FromStr for SetName {
    type Err = String;

    fn from_str(s: &str) -> Result<SetName, String> {
        let bad = |why: &str| format!("invalid sync set name {s:?}: {why}");
        // 63 minus the longest prefix we add ("driftless-"), so derived names stay labels too.
        if s.is_empty() || s.len() > 53 {
            return Err(bad("it must be 1 to 53 characters long"));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(bad(
                "use lowercase letters, digits and '-' only (a DNS label)",
            ));
        }
        if s.starts_with('-') || s.ends_with('-') {
            return Err(bad("it must start and end with a letter or digit"));
        }
        Ok(SetName(s.to_string()))
    }
}

impl fmt::Display for SetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_dns_labels() {
        assert_eq!("platform".parse::<SetName>().unwrap().as_str(), "platform");
        assert!("team-a1".parse::<SetName>().is_ok());
        for bad in ["", "Team", "a.b", "-a", "a-", "a_b", &"x".repeat(54)] {
            let err = bad.parse::<SetName>().unwrap_err();
            assert!(err.contains("invalid sync set name"), "{bad}: {err}");
        }
        assert!(SetName::default().is_default());
    }
}
