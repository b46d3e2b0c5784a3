//! Which values of a file SOPS encrypted: the one rule its metadata names (`unencrypted_suffix`,
//! `encrypted_suffix`, `unencrypted_regex`, `encrypted_regex`), tested on every key of a value's
//! path as SOPS tests it; `_unencrypted` suffix when the file names none.

use regex::Regex;

/// The suffix SOPS applies when a file names no rule.
pub(super) const DEFAULT_UNENCRYPTED_SUFFIX: &str = "_unencrypted";

#[derive(Debug, Clone)]
pub(super) enum Rule {
    /// A key of the path ends with it: left in plaintext.
    UnencryptedSuffix(String),
    /// Only values with a key of the path ending with it are encrypted.
    EncryptedSuffix(String),
    /// A key of the path matches it: left in plaintext.
    UnencryptedRegex(Regex),
    /// Only values with a key of the path matching it are encrypted.
    EncryptedRegex(Regex),
}

impl Rule {
    /// Whether the value at `keys` (the mapping keys leading to it) is encrypted. Go's
    /// `regexp.Match` looks for a match anywhere in the key, as `is_match` does.
    pub fn encrypts<'a>(&self, mut keys: impl Iterator<Item = &'a str>) -> bool {
        match self {
            Rule::UnencryptedSuffix(s) => !keys.any(|k| k.ends_with(s.as_str())),
            Rule::EncryptedSuffix(s) => keys.any(|k| k.ends_with(s.as_str())),
            Rule::UnencryptedRegex(re) => !keys.any(|k| re.is_match(k)),
            Rule::EncryptedRegex(re) => keys.any(|k| re.is_match(k)),
        }
    }
}

impl Default for Rule {
    fn default() -> Rule {
        Rule::UnencryptedSuffix(DEFAULT_UNENCRYPTED_SUFFIX.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encrypts(rule: &Rule, path: &[&str]) -> bool {
        rule.encrypts(path.iter().copied())
    }

    #[test]
    fn the_default_leaves_unencrypted_suffixed_keys_alone() {
        let rule = Rule::default();
        assert!(encrypts(&rule, &["stringData", "password"]));
        assert!(!encrypts(&rule, &["note_unencrypted"]));
        // A suffixed key anywhere on the path: everything below it too.
        assert!(!encrypts(&rule, &["public_unencrypted", "nested", "value"]));
    }

    #[test]
    fn an_encrypted_suffix_encrypts_only_what_carries_it() {
        let rule = Rule::EncryptedSuffix("_secret".into());
        assert!(encrypts(&rule, &["db_secret"]));
        assert!(encrypts(&rule, &["db_secret", "inner"]));
        assert!(!encrypts(&rule, &["db"]));
    }

    #[test]
    fn regexes_match_anywhere_in_any_key() {
        let rule = Rule::EncryptedRegex(Regex::new("^(data|stringData)$").unwrap());
        assert!(encrypts(&rule, &["stringData", "password"]));
        assert!(!encrypts(&rule, &["metadata", "name"]));
        assert!(!encrypts(&rule, &["metadata", "labels", "data-x"]));
        let rule = Rule::UnencryptedRegex(Regex::new("name").unwrap());
        assert!(!encrypts(&rule, &["metadata", "namespace"]));
        assert!(encrypts(&rule, &["spec", "replicas"]));
    }
}
