//! Native SOPS decryption held to the real `sops` 3.11.0: files that `sops` encrypted for keys
//! that `age-keygen` made decrypt in driftless to exactly what `sops -d` prints, whatever the
//! options they were encrypted with; changed, truncated and foreign files are refused, naming
//! the line, with neither key nor plaintext in the error (`refusals`). No cluster.

mod cli;
mod cluster;
mod refusals;
mod tools;

use driftless::render::sops;
use serde_json::json;

use self::tools::Lab;

/// A Secret with every kind of value SOPS types: text, integer, float, boolean, empty, null, a
/// list, a block of lines, and comments (which SOPS encrypts too).
pub const SECRET: &str = "\
# the database credentials
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: app # where it runs
type: Opaque
stringData:
  password: hunter2
  port: 5432
  ratio: 1.5
  enabled: true
  empty: \"\"
  nothing: null
  hosts: [primary, 2, {zone: b}]
  note_unencrypted: visible
  script: |
    #!/bin/sh
    echo hi
";

#[test]
fn a_secret_with_string_data_decrypts_to_what_sops_prints() {
    let lab = Lab::new();
    let key = lab.keygen("key");
    let text = lab.encrypt("secret.yaml", SECRET, &[&key], &[]);
    assert_contains!(text, "type:comment", "sops encrypts comments");
    let plain = lab.decrypts_as_sops_does("secret.yaml", &key);
    assert_eq!(plain.documents[0]["stringData"]["password"], "hunter2");
    assert_eq!(plain.documents[0]["stringData"]["port"], 5432);
    assert_eq!(plain.documents[0]["stringData"]["enabled"], true);
    assert_eq!(
        plain.documents[0]["stringData"]["note_unencrypted"],
        "visible"
    );
    for value in [
        "hunter2", "5432", "1.5", "true", "primary", "2", "b", "Secret", "db",
    ] {
        assert_contains!(plain.secrets, value.to_string());
    }
    assert_not_contains!(plain.secrets, "visible".to_string(), "left in plaintext");
    assert_not_contains!(format!("{plain:?}"), "hunter2", "Debug shows counts only");
    let sealed = sops::sealed(&text, false).unwrap();
    assert_eq!(sealed.len(), 1);
    assert_contains!(sealed[0].mac, "ENC[AES256_GCM,");
    let paths = &sealed[0].encrypted;
    assert_contains!(
        paths,
        [
            "stringData.password".to_string(),
            "stringData.hosts[2].zone".to_string()
        ]
    );
    assert_not_contains!(
        paths,
        [
            "stringData.note_unencrypted".to_string(),
            "stringData.empty".to_string()
        ]
    );
}

#[test]
fn a_secret_with_base64_data_decrypts_to_what_sops_prints() {
    let lab = Lab::new();
    let key = lab.keygen("key");
    let plain = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: tls\ndata:\n  \
                 tls.crt: Y2VydA==\n  tls.key: a2V5\n";
    lab.encrypt("tls.yaml", plain, &[&key], &[]);
    let plain = lab.decrypts_as_sops_does("tls.yaml", &key);
    assert_eq!(plain.documents[0]["data"]["tls.key"], "a2V5");
}

#[test]
fn a_json_file_decrypts_to_what_sops_prints() {
    let lab = Lab::new();
    let key = lab.keygen("key");
    let plain = json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
        "stringData": {"password": "hunter2", "port": 5432, "ratio": 0.25, "on": false,
                       "list": ["a", {"b": null}], "empty": "", "big": 9007199254740993u64},
        "z_unencrypted": {"replicas": 3, "huge": 9007199254740993u64}
    });
    lab.encrypt("secret.json", &format!("{plain:#}"), &[&key], &[]);
    let decrypted = lab.decrypts_as_sops_does("secret.json", &key);
    assert_eq!(decrypted.documents[0]["stringData"]["port"], 5432);
    assert_eq!(decrypted.documents[0]["z_unencrypted"]["replicas"], 3);
}

#[test]
fn only_what_the_encrypted_regex_names_is_encrypted() {
    let lab = Lab::new();
    let key = lab.keygen("key");
    let args = ["--encrypted-regex", "^(data|stringData)$"];
    let text = lab.encrypt("secret.yaml", SECRET, &[&key], &args);
    assert_contains!(text, "name: db", "metadata stays in plaintext");
    let plain = lab.decrypts_as_sops_does("secret.yaml", &key);
    assert_not_contains!(plain.secrets, "db".to_string(), "never encrypted");
    assert_contains!(plain.secrets, "hunter2".to_string());
    let sealed = sops::sealed(&text, false).unwrap();
    assert!(
        sealed[0]
            .encrypted
            .iter()
            .all(|p| p.starts_with("stringData."))
    );
}

#[test]
fn a_mac_over_encrypted_values_only_ignores_changes_to_the_others() {
    let lab = Lab::new();
    let key = lab.keygen("key");
    let args = ["--encrypted-regex", "^stringData$", "--mac-only-encrypted"];
    let text = lab.encrypt("secret.yaml", SECRET, &[&key], &args);
    assert_contains!(text, "mac_only_encrypted: true");
    lab.decrypts_as_sops_does("secret.yaml", &key);
    // What the MAC does not cover may change, for sops as for driftless.
    lab.write("secret.yaml", &text.replace("name: db", "name: other"));
    let plain = lab.decrypts_as_sops_does("secret.yaml", &key);
    assert_eq!(plain.documents[0]["metadata"]["name"], "other");
}

#[test]
fn suffixes_choose_what_is_encrypted() {
    let lab = Lab::new();
    let key = lab.keygen("key");
    let plain = "name: app\npassword_secret: hunter2\nnested_secret:\n  inner: 1\nnote: plain\n";
    let text = lab.encrypt(
        "enc.yaml",
        plain,
        &[&key],
        &["--encrypted-suffix", "_secret"],
    );
    assert_contains!(text, "note: plain");
    let decrypted = lab.decrypts_as_sops_does("enc.yaml", &key);
    assert_eq!(decrypted.secrets, ["hunter2", "1"]);
    let plain = "name: app\npassword: hunter2\nnote_public: plain\n";
    let text = lab.encrypt(
        "unenc.yaml",
        plain,
        &[&key],
        &["--unencrypted-suffix", "_public"],
    );
    assert_contains!(text, "note_public: plain");
    lab.decrypts_as_sops_does("unenc.yaml", &key);
}

#[test]
fn each_recipient_decrypts_alone() {
    let lab = Lab::new();
    let (a, b, c) = (lab.keygen("a"), lab.keygen("b"), lab.keygen("c"));
    lab.encrypt("secret.yaml", SECRET, &[&a, &b, &c], &[]);
    for key in [&a, &b, &c] {
        lab.decrypts_as_sops_does("secret.yaml", key);
    }
}

#[test]
fn a_recipient_added_by_updatekeys_and_a_data_key_rotated_decrypt() {
    let lab = Lab::new();
    let (a, b) = (lab.keygen("a"), lab.keygen("b"));
    let before = lab.encrypt("secret.yaml", SECRET, &[&a], &[]);
    let rules = format!(
        "creation_rules:\n  - path_regex: .*\n    age: {},{}\n",
        a.recipient, b.recipient
    );
    lab.write(".sops.yaml", &rules);
    lab.sops(&["updatekeys", "--yes", "secret.yaml"], Some(&a));
    assert_contains!(lab.read("secret.yaml"), b.recipient.as_str());
    lab.decrypts_as_sops_does("secret.yaml", &b);
    lab.sops(&["rotate", "--in-place", "secret.yaml"], Some(&a));
    let rotated = lab.read("secret.yaml");
    assert_ne!(
        sops::sealed(&before, false).unwrap()[0].mac,
        sops::sealed(&rotated, false).unwrap()[0].mac,
        "a new data key seals a new MAC"
    );
    lab.decrypts_as_sops_does("secret.yaml", &a);
    lab.decrypts_as_sops_does("secret.yaml", &b);
}

#[test]
fn several_documents_decrypt_in_order_under_one_mac() {
    let lab = Lab::new();
    let key = lab.keygen("key");
    let plain = format!(
        "{SECRET}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  \
         level: debug\n---\nkind: Other\nitems: [1, 2]\n"
    );
    let text = lab.encrypt("all.yaml", &plain, &[&key], &[]);
    assert_eq!(
        text.matches("\nsops:\n").count(),
        3,
        "sops writes the block into each"
    );
    let decrypted = lab.decrypts_as_sops_does("all.yaml", &key);
    let kinds: Vec<&str> = decrypted
        .documents
        .iter()
        .filter_map(|d| d["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["Secret", "ConfigMap", "Other"]);
    let sealed = sops::sealed(&text, false).unwrap();
    assert_eq!(sealed.len(), 3);
    assert_eq!(
        sealed[1].encrypted,
        ["apiVersion", "kind", "metadata.name", "data.level"]
    );
    assert_eq!(sealed[0].mac, sealed[2].mac, "one MAC for the file");
}

/// Values of every YAML kind, as Go's YAML library reads them for SOPS: `yes` is text, `0644`
/// octal, `1_000` a thousand, a plain date a time (printed in RFC 3339), `<<` merges.
const KINDS: &str = "  yes_word: yes
  on_word: on
  octal: 0644
  octal12: 0o17
  hex: 0x1F
  under: 1_000
  plus: +5
  exp: 1e3
  dot: .5
  tilde: ~
  stamp: 2024-01-01T10:00:00.50+02:00
  date: 2024-01-01
  spaced: 2024-1-2 3:04:05
  quoted_date: \"2024-01-01\"
  tagged_date: !!str 2024-01-01
  float_whole: 2.0
  quoted: \"0644\"
  str_tag: !!str 123
  anchor: &a {x: 1}
  alias: *a
  merge:
    <<: *a
    y: 2
  folded: >
    folded
    text
";

#[test]
fn values_of_every_yaml_kind_decrypt_and_keep_the_mac_in_plaintext_too() {
    let lab = Lab::new();
    let key = lab.keygen("key");
    let plain = format!("plain:\n{KINDS}secret:\n{KINDS}");
    let text = lab.encrypt(
        "kinds.yaml",
        &plain,
        &[&key],
        &["--encrypted-regex", "^secret$"],
    );
    // sops prints the plaintext part again, as Go's YAML library writes what it read.
    assert_contains!(text, "    date: 2024-01-01T00:00:00Z\n");
    assert_contains!(text, "type:time]", "sops encrypts a plain date as a time");
    let decrypted = lab.decrypts_as_sops_does("kinds.yaml", &key);
    for section in ["plain", "secret"] {
        let doc = &decrypted.documents[0][section];
        assert_eq!(doc["date"], "2024-01-01T00:00:00Z", "{section}");
        assert_eq!(doc["quoted_date"], "2024-01-01", "{section}");
        assert_eq!(doc["yes_word"], "yes", "{section}");
    }
    // Written by hand where the MAC does not look (mac_only_encrypted): read as sops reads it.
    let args = ["--encrypted-regex", "^secret$", "--mac-only-encrypted"];
    let text = lab.encrypt("edited.yaml", &plain, &[&key], &args);
    let secret = text.find("\nsecret:\n").expect("the secret section") + 1;
    lab.write(
        "edited.yaml",
        &format!("plain:\n{KINDS}{}", &text[secret..]),
    );
    let decrypted = lab.decrypts_as_sops_does("edited.yaml", &key);
    assert_eq!(
        decrypted.documents[0]["plain"]["spaced"],
        "2024-01-02T03:04:05Z"
    );
    assert_eq!(decrypted.documents[0]["plain"]["tagged_date"], "2024-01-01");
}

#[test]
fn key_groups_share_the_data_key_and_any_two_of_three_open_it() {
    let lab = Lab::new();
    let (a, b, c) = (lab.keygen("a"), lab.keygen("b"), lab.keygen("c"));
    let rules = format!(
        "creation_rules:\n  - path_regex: .*\n    shamir_threshold: 2\n    key_groups:\n      \
         - age: [{}]\n      - age: [{}]\n      - age: [{}]\n",
        a.recipient, b.recipient, c.recipient
    );
    lab.write(".sops.yaml", &rules);
    lab.write("secret.yaml", SECRET);
    lab.sops(&["--encrypt", "--in-place", "secret.yaml"], None);
    let text = lab.read("secret.yaml");
    assert_contains!(text, "shamir_threshold: 2");
    for (name, pair) in [("ab", [&a, &b]), ("bc", [&b, &c]), ("ac", [&a, &c])] {
        let both = lab.key_file(name, &pair);
        lab.decrypts_as_sops_does("secret.yaml", &both);
    }
    let line = Some(tools::line_of(&text, "    shamir_threshold:"));
    let err = lab.refused(
        &text,
        false,
        Some(&a),
        (line, "open 1 of the 3 key groups"),
        &[&a.secret],
    );
    assert_contains!(err.reason, "2 are needed");
}
