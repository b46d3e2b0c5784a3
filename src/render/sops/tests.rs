//! Unit tests of the parts that need no real SOPS file: the `sops` block, key files, the
//! cheap check, the ordered parse. Whole files, made by the real `sops`, are tested in
//! `tests/sops.rs`.

use std::io::Write;

use super::rules::Rule;
use super::tree::{self, Tree};
use super::*;

/// A `sops` block with the given extra lines, as a YAML file's text.
fn file_with(extra: &str) -> String {
    format!(
        "a: 1\nsops:\n    mac: ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\n    \
         lastmodified: \"2026-01-01T00:00:00Z\"\n{extra}    version: 3.11.0\n"
    )
}

fn meta_of(text: &str) -> Result<Metadata, SopsError> {
    read(text, false).map(|(_, meta)| meta)
}

#[test]
fn the_block_names_its_rule_and_recipients() {
    let meta = meta_of(&file_with(
        "    age:\n        - recipient: age1abc\n          enc: stanza\n    encrypted_regex: ^data$\n",
    ))
    .unwrap();
    assert!(matches!(meta.rule, Rule::EncryptedRegex(_)));
    assert_eq!(meta.groups[0].age.len(), 1);
    assert_eq!(meta.groups[0].age[0].recipient, "age1abc");
    assert_eq!(meta.groups[0].age[0].line, Some(6));
    assert!(!meta.mac_only_encrypted);
    assert_eq!(meta.groups.len(), 1);
    let groups = "    key_groups:\n        - age: []\n        - kms: [{arn: x, enc: y}]\n          \
                  age: [{recipient: age1abc, enc: stanza}]\n    shamir_threshold: 2\n";
    let meta = meta_of(&file_with(groups)).unwrap();
    assert_eq!((meta.groups.len(), meta.threshold), (2, 2));
    assert_eq!(meta.groups[1].others, ["kms"]);
    assert_eq!(meta.groups[1].age[0].recipient, "age1abc");
    let meta = meta_of(&file_with("    mac_only_encrypted: true\n")).unwrap();
    assert!(meta.mac_only_encrypted);
    assert!(matches!(meta.rule, Rule::UnencryptedSuffix(ref s) if s == "_unencrypted"));
}

#[test]
fn the_block_is_refused_when_sops_would_refuse_it_or_driftless_cannot_follow() {
    let cases = [
        (
            "    encrypted_regex: ^a$\n    unencrypted_suffix: _x\n",
            Some(6),
            "more than one of",
        ),
        (
            "    encrypted_regex: '(['\n",
            Some(5),
            "not a valid regular expression",
        ),
        (
            "    encrypted_comment_regex: sops\n",
            Some(5),
            "does not read comments",
        ),
        ("    key_groups: 3\n", Some(5), "not a list"),
        (
            "    age:\n        - recipient: age1abc\n",
            Some(6),
            "an age entry without `enc`",
        ),
        ("    mac_only_encrypted: 3\n", Some(5), "not a boolean"),
    ];
    for (extra, line, why) in cases {
        let err = meta_of(&file_with(extra)).unwrap_err();
        assert!(err.reason.contains(why), "{extra}: {err}");
        assert_eq!(err.line, line, "{extra}: {err}");
    }
    let err = meta_of("a: 1\n").unwrap_err();
    assert!(err.reason.contains("no `sops` metadata"), "{err}");
    let err = meta_of("sops:\n    version: 3.11.0\n").unwrap_err();
    assert!(err.reason.contains("no `mac`"), "{err}");
    let err = meta_of("- a\n- b\n").unwrap_err();
    assert!(err.reason.contains("not a mapping"), "{err}");
}

#[test]
fn files_for_other_key_types_name_them() {
    let text = file_with(
        "    kms:\n        - arn: arn:aws:kms:x\n          enc: x\n    pgp:\n        - fp: ABC\n          enc: x\n",
    );
    let keys = Keys::read(&[]).unwrap();
    let err = decrypt(&text, false, &keys).unwrap_err();
    assert_eq!(
        err.reason,
        "encrypted for kms, pgp only: driftless reads age keys"
    );
    assert!(err.line.is_some());
}

#[test]
fn every_document_loses_its_block_and_the_first_one_counts() {
    let text = format!("{}---\nb: 2\nsops:\n    mac: other\n", file_with(""));
    let (docs, meta) = read(&text, false).unwrap();
    assert_eq!(docs.len(), 2);
    assert!(docs.iter().all(|d| d.get("sops").is_none()));
    assert!(meta.mac.starts_with("ENC["));
}

#[test]
fn the_cheap_check_wants_a_top_level_block_with_mac_and_version() {
    assert!(is_encrypted(&file_with(""), false));
    assert!(!is_encrypted("a: 1\n", false));
    assert!(!is_encrypted(
        "spec:\n  sops:\n    mac: x\n    version: 1\n",
        false
    ));
    assert!(!is_encrypted("sops:\n    mac: x\n", false));
    // Not otherwise valid YAML: still a SOPS file, for decrypt to say what is wrong.
    let broken = format!("a: [unclosed\n{}", &file_with("")[5..]);
    assert!(is_encrypted(&broken, false));
    let err = decrypt(&broken, false, &Keys::read(&[]).unwrap()).unwrap_err();
    assert!(err.reason.starts_with("not valid YAML"), "{err}");
    assert!(err.line.is_some(), "{err}");
    assert!(is_encrypted(
        r#"{"a": 1, "sops": {"mac": "x", "version": "3"}}"#,
        true
    ));
    assert!(!is_encrypted(
        r#"{"a": {"sops": {"mac": "x", "version": "3"}}}"#,
        true
    ));
    assert!(!is_encrypted(r#"{"sops": {"mac": "x"}}"#, true));
}

#[test]
fn the_tree_keeps_key_order_and_reads_yaml_as_sops_does() {
    let docs = tree::parse("z: 1\na: yes\nm: 0644\n<<: {k: v}\n", false).unwrap();
    let Tree::Map(entries) = &docs[0].tree else {
        panic!("not a map")
    };
    let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["z", "a", "m", "<<"]);
    assert_eq!(entries[1].1.tree, Tree::Str("yes".into()));
    assert_eq!(entries[2].1.tree, Tree::Int(420));
    assert_eq!(entries[2].1.line, Some(3));
    let json = tree::to_json(&docs[0]).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"z": 1, "a": "yes", "m": 420, "k": "v"})
    );
    // SOPS refuses duplicate keys too (its YAML reader checks them first).
    let err = tree::parse("a: 1\na: 2\n", false).unwrap_err();
    assert_eq!(err.line, Some(2), "{err}");
    let err = tree::parse("{\n\"a\": 1\n", true).unwrap_err();
    assert_eq!(
        err.line,
        Some(2),
        "the end of the text is its last line: {err}"
    );
}

#[test]
fn plain_dates_are_times_and_tagged_or_quoted_ones_text() {
    let text = "a: 2024-01-01\nb: \"2024-01-01\"\nc: !!str 2024-01-01\nd: &x 2024-1-2\n\
                e: [!!str 2024-01-01, 2024-01-01]\nf: !!str\n  2024-01-01\n---\ng: 2024-01-01\n";
    let docs = tree::parse(text, false).unwrap();
    let json = tree::to_json(&docs[0]).unwrap();
    let time = "2024-01-01T00:00:00Z";
    let expected = serde_json::json!({
        "a": time, "b": "2024-01-01", "c": "2024-01-01", "d": "2024-01-02T00:00:00Z",
        "e": ["2024-01-01", time], "f": "2024-01-01"
    });
    assert_eq!(json, expected);
    assert_eq!(
        tree::to_json(&docs[1]).unwrap(),
        serde_json::json!({"g": time})
    );
}

#[test]
fn json_strings_get_their_lines_from_the_text() {
    let text = "{\n  \"b\": \"x\",\n  \"a\": [\n    \"x\",\n    2\n  ]\n}\n";
    let docs = tree::parse(text, true).unwrap();
    let Tree::Map(entries) = &docs[0].tree else {
        panic!("not a map")
    };
    assert_eq!(entries[0].0, "b");
    assert_eq!(entries[0].1.line, Some(2));
    assert_eq!(entries[1].1.line, Some(4));
    let err = tree::parse("{\n\"a\": ,\n}", true).unwrap_err();
    assert_eq!(err.line, Some(2));
}

#[test]
fn whole_floats_become_integers_and_non_finite_ones_are_refused() {
    assert_eq!(tree::float_json(3.0), Some(serde_json::json!(3)));
    assert_eq!(tree::float_json(1.5), Some(serde_json::json!(1.5)));
    assert_eq!(tree::float_json(f64::NAN), None);
}

fn key_file(lines: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(lines.as_bytes()).unwrap();
    file
}

fn secret_of(identity: &age::x25519::Identity) -> String {
    use secrecy::ExposeSecret;
    identity.to_string().expose_secret().to_string()
}

#[test]
fn key_files_take_keys_comments_and_blank_lines() {
    let (one, two) = (
        age::x25519::Identity::generate(),
        age::x25519::Identity::generate(),
    );
    let a = key_file(&format!(
        "# created: now\n# public key: {}\n{}\n",
        one.to_public(),
        secret_of(&one)
    ));
    let b = key_file(&format!("\n  {}  \n\n", secret_of(&two)));
    let keys = Keys::read(&[a.path().into(), b.path().into()]).unwrap();
    assert!(!keys.is_empty());
    let shown = format!("{keys:?}");
    assert!(shown.contains(&one.to_public().to_string()), "{shown}");
    assert!(!shown.contains("AGE-SECRET-KEY"), "{shown}");
    assert!(Keys::read(&[]).unwrap().is_empty());
}

#[test]
fn a_bad_key_file_line_is_named_without_the_key() {
    let identity = age::x25519::Identity::generate();
    let secret = secret_of(&identity);
    let mut broken = secret.clone();
    broken.truncate(secret.len() - 3);
    let cases = [
        (
            format!("# ok\n{secret}\n{broken}\n"),
            3,
            "malformed age secret key",
        ),
        (format!("password={secret}\n"), 1, "not an age secret key"),
        ("AGE-PLUGIN-YUBIKEY-1ABC\n".to_string(), 1, "plugin"),
    ];
    for (text, line, why) in cases {
        let file = key_file(&text);
        let err = Keys::read(&[file.path().into()]).unwrap_err();
        assert_eq!(err.line, Some(line), "{err}");
        assert!(err.reason.contains(why), "{err}");
        assert!(
            err.reason.contains(&file.path().display().to_string()),
            "{err}"
        );
        assert!(!err.to_string().contains(&broken[20..]), "{err}");
    }
    let missing = Keys::read(&["/nonexistent/keys.txt".into()]).unwrap_err();
    assert!(
        missing.reason.contains("/nonexistent/keys.txt"),
        "{missing}"
    );
}

#[test]
fn keys_and_plaintext_can_be_shared_between_threads() {
    fn shared<T: Send + Sync + Clone>() {}
    shared::<Keys>();
    shared::<Plain>();
    shared::<SopsError>();
}

#[test]
fn errors_show_their_line_first() {
    assert_eq!(SopsError::at(Some(3), "why").to_string(), "line 3: why");
    assert_eq!(SopsError::at(None, "why").to_string(), "why");
}
