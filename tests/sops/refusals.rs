//! What driftless refuses to decrypt, each from a file the real `sops` wrote and then changed
//! by hand: the error names the line where there is one, and never holds the secret key or a
//! plaintext value. `sops -d` refuses the changed files too, so no refusal is driftless's alone.

use driftless::render::sops::{self, Keys};

use super::SECRET;
use super::tools::{AgeKey, Lab, line_of};

/// The plaintext values of [`SECRET`] an error must never show.
const PLAINTEXT: [&str; 4] = ["hunter2", "5432", "primary", "echo hi"];

fn forbidden(key: &AgeKey) -> Vec<&str> {
    let mut all = PLAINTEXT.to_vec();
    all.push(&key.secret);
    // The secret key without its prefix, in case an error cut it.
    all.push(&key.secret["AGE-SECRET-KEY-1".len()..]);
    all
}

/// The encrypted value of `key:` in `text`, and its line.
fn encrypted_value<'a>(text: &'a str, key: &str) -> (&'a str, usize) {
    let line = line_of(text, &format!(" {key}: ENC["));
    let value = text.lines().nth(line - 1).and_then(|l| l.split_once(": "));
    (value.expect("an encrypted value").1, line)
}

/// Replaces the base64 data of `value` with other data of the same length.
fn flipped(value: &str) -> String {
    let start = value.find("data:").expect("data") + "data:".len();
    let mut out = value.to_string();
    let first = &value[start..start + 1];
    let other = if first == "A" { "B" } else { "A" };
    out.replace_range(start..start + 1, other);
    out
}

#[test]
fn a_changed_value_is_refused_at_its_line() {
    let lab = Lab::new();
    let key = lab.keygen("key");
    let text = lab.encrypt("secret.yaml", SECRET, &[&key], &[]);
    let (value, line) = encrypted_value(&text, "password");
    let changed = text.replace(value, &flipped(value));
    let err = lab.refused(
        &changed,
        false,
        Some(&key),
        (Some(line), "`stringData.password` does not decrypt"),
        &forbidden(&key),
    );
    assert_contains!(err.reason, "changed");
    // Moved to another key: sealed with its path, it does not open there either.
    let (port, _) = encrypted_value(&text, "port");
    let moved = text.replace(port, value);
    let line = line_of(&moved, " port: ENC[");
    lab.refused(
        &moved,
        false,
        Some(&key),
        (Some(line), "`stringData.port` does not decrypt"),
        &forbidden(&key),
    );
}

#[test]
fn a_changed_mac_or_plaintext_value_is_refused_at_the_mac() {
    let lab = Lab::new();
    let key = lab.keygen("key");
    let text = lab.encrypt("secret.yaml", SECRET, &[&key], &[]);
    let (mac, line) = encrypted_value(&text, "mac");
    let changed = text.replace(mac, &flipped(mac));
    lab.refused(
        &changed,
        false,
        Some(&key),
        (Some(line), "the file's MAC does not decrypt"),
        &forbidden(&key),
    );
    // A value left in plaintext is covered by the MAC all the same.
    let changed = text.replace("note_unencrypted: visible", "note_unencrypted: edited");
    lab.refused(
        &changed,
        false,
        Some(&key),
        (Some(line), "the MAC does not match"),
        &forbidden(&key),
    );
    let changed = text.replace(&format!("mac: {mac}"), "mac: \"\"");
    lab.refused(
        &changed,
        false,
        Some(&key),
        (Some(line), "the file's MAC is not an encrypted value"),
        &forbidden(&key),
    );
}

#[test]
fn a_truncated_or_foreign_value_is_refused_at_its_line() {
    let lab = Lab::new();
    let key = lab.keygen("key");
    let text = lab.encrypt(
        "secret.json",
        r#"{"a": {"password": "hunter2"}, "b": 5432}"#,
        &[&key],
        &[],
    );
    let value = text
        .split("\"password\": \"")
        .nth(1)
        .and_then(|r| r.split('"').next());
    let value = value.expect("the encrypted password");
    let line = line_of(&text, "\"password\"");
    let cut = text.replace(value, &value[..value.len() / 2]);
    lab.refused(
        &cut,
        true,
        Some(&key),
        (Some(line), "`a.password` is a truncated ENC[...] value"),
        &forbidden(&key),
    );
    let foreign = text.replace(value, &value.replace("AES256_GCM", "AES128_CBC"));
    lab.refused(
        &foreign,
        true,
        Some(&key),
        (
            Some(line),
            "`a.password` has an unknown cipher `AES128_CBC`",
        ),
        &forbidden(&key),
    );
    let plaintext = text.replace(value, "hunter2");
    let err = lab.refused(
        &plaintext,
        true,
        Some(&key),
        (Some(line), "is in plaintext"),
        &forbidden(&key),
    );
    assert_contains!(err.reason, "`a.password`");
}

#[test]
fn a_key_that_is_not_a_recipient_is_refused_naming_the_recipients() {
    let lab = Lab::new();
    let (owner, stranger) = (lab.keygen("owner"), lab.keygen("stranger"));
    let text = lab.encrypt("secret.yaml", SECRET, &[&owner], &[]);
    let block = Some(line_of(&text, "    age:"));
    let mut secrets = forbidden(&stranger);
    secrets.push(&owner.secret);
    let err = lab.refused(
        &text,
        false,
        Some(&stranger),
        (block, "none of the given age keys"),
        &secrets,
    );
    assert_contains!(
        err.reason,
        [owner.recipient.as_str(), stranger.recipient.as_str()]
    );
    let none = lab.refused(&text, false, None, (block, "no age key given"), &secrets);
    assert_contains!(none.reason, owner.recipient.as_str());
}

#[test]
fn a_stanza_relabelled_for_another_key_is_refused_at_its_line() {
    let lab = Lab::new();
    let (owner, other) = (lab.keygen("owner"), lab.keygen("other"));
    let text = lab.encrypt("secret.yaml", SECRET, &[&owner], &[]);
    // The stanza says it is for `other`, whose key does not open what was sealed for `owner`.
    let forged = text.replace(&owner.recipient, &other.recipient);
    let line = Some(line_of(&forged, "- recipient:"));
    let mut secrets = forbidden(&other);
    secrets.push(&owner.secret);
    let err = lab.refused(
        &forged,
        false,
        Some(&other),
        (line, "does not open with its age key"),
        &secrets,
    );
    assert_contains!(err.reason, other.recipient.as_str());
}

#[test]
fn a_file_for_kms_only_is_refused_naming_its_key_types() {
    let lab = Lab::new();
    let key = lab.keygen("key");
    let text = lab.encrypt("secret.yaml", SECRET, &[&key], &[]);
    // The age entry replaced by hand with KMS entries, as a file made for AWS and GCP looks.
    let start = text.find("    age:\n").expect("the age entry");
    let end = text.find("    lastmodified:").expect("lastmodified");
    let kms = "    kms:\n        - arn: arn:aws:kms:eu-west-1:111122223333:key/x\n          \
               created_at: \"2026-01-01T00:00:00Z\"\n          enc: AQICAHg=\n          \
               aws_profile: \"\"\n    gcp_kms:\n        - resource_id: projects/p/keys/k\n          \
               created_at: \"2026-01-01T00:00:00Z\"\n          enc: CiQA\n";
    let kms_only = format!("{}{kms}{}", &text[..start], &text[end..]);
    let line = Some(line_of(&kms_only, "    kms:"));
    lab.refused(
        &kms_only,
        false,
        Some(&key),
        (
            line,
            "encrypted for kms, gcp_kms only: driftless reads age keys",
        ),
        &forbidden(&key),
    );
}

#[test]
fn a_sops_block_in_a_file_that_is_not_valid_yaml_is_refused_at_the_fault() {
    let lab = Lab::new();
    let key = lab.keygen("key");
    let text = lab.encrypt("secret.yaml", SECRET, &[&key], &[]);
    let broken = text.replacen("stringData:\n", "stringData: [unclosed\n", 1);
    assert!(sops::is_encrypted(&broken, false));
    let line = line_of(&broken, "[unclosed");
    let err = sops::decrypt(&broken, false, &key.keys()).unwrap_err();
    assert_contains!(err.reason, "not valid YAML");
    let at = err.line.expect("a line");
    assert!(
        (line..line + 3).contains(&at),
        "line {at}, the fault is at {line}: {err}"
    );
}

#[test]
fn a_bad_line_in_a_key_file_is_named_without_the_key() {
    let lab = Lab::new();
    let key = lab.keygen("key");
    let text = std::fs::read_to_string(&key.file).unwrap();
    let line = line_of(&text, "AGE-SECRET-KEY-");
    // A character lost when the key was pasted: its checksum fails.
    let damaged = text.replace(&key.secret, &key.secret[..key.secret.len() - 1]);
    std::fs::write(&key.file, damaged).unwrap();
    let err = Keys::read(std::slice::from_ref(&key.file)).unwrap_err();
    assert_eq!(err.line, Some(line), "{err}");
    assert_contains!(
        err.reason,
        [
            key.file.display().to_string(),
            "malformed age secret key".to_string()
        ]
    );
    assert_not_contains!(format!("{err} {err:?}"), &key.secret[20..40]);
}
