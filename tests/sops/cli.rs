//! SOPS files in a source, through the commands and with no cluster: `render` decrypts with the
//! key and masks (`--show-secrets` shows), only Secrets carry decrypted values unless a kind is
//! allowed, charts take encrypted values, the offline preview compares without the key, and bad
//! input names the file and line without a key or a value.

use super::tools::{AgeKey, Lab};
use crate::support::{self, Run};

const CANARY: &str = "Sops-Canary-81xQ";
const CANARY_2: &str = "Sops-Canary-93zR";
/// What Flux's guide encrypts: only the values, so names and kinds stay readable in Git.
const ONLY_VALUES: [&str; 2] = ["--encrypted-regex", "^(data|stringData)$"];

fn secret(password: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: shop\ntype: Opaque\nstringData:\n  password: {password}\n  user: mlflow\n"
    )
}

/// A lab with a key and a source folder `src`: a Namespace and the encrypted Secret.
fn source() -> (Lab, AgeKey) {
    let lab = Lab::new();
    let key = lab.keygen("key");
    std::fs::create_dir_all(lab.path().join("src")).unwrap();
    lab.write(
        "src/ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n",
    );
    lab.encrypt("src/db.yaml", &secret(CANARY), &[&key], &ONLY_VALUES);
    (lab, key)
}

fn path(lab: &Lab, name: &str) -> String {
    lab.path().join(name).to_string_lossy().into_owned()
}

fn render(lab: &Lab, extra: &[&str]) -> Run {
    let src = path(lab, "src");
    let mut args = vec!["render", "--source", &src];
    args.extend_from_slice(extra);
    support::offline(&args)
}

/// Neither the key nor (unless shown on purpose) the value, in any form, in anything printed.
fn clean(run: &Run, key: &AgeKey) {
    let all = run.all_output();
    assert_not_contains!(all, key.secret.as_str(), "the key never shows");
    let b64 = |s: &str| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, s);
    for canary in [CANARY, CANARY_2] {
        assert_not_contains!(all, canary);
        assert_not_contains!(all, b64(canary).trim_end_matches('='));
    }
}

#[test]
fn render_decrypts_with_the_key_and_shows_values_only_when_asked() {
    let (lab, key) = source();
    let no_key = render(&lab, &[]);
    assert_eq!(no_key.code, 2);
    assert_eq!(
        no_key.stderr.trim(),
        format!(
            "error: 1 problem in the manifests:\n  db.yaml:11: cannot decrypt (SOPS): no age key \
             given (--sops-age-key-file or SOPS_AGE_KEY_FILE; in the agent, the set's \
             decryption.ageKeyFile): the file is encrypted for {}",
            key.recipient
        )
    );
    assert_eq!(
        no_key.stdout, "",
        "a revision that does not render prints nothing"
    );
    let file = key.file.to_string_lossy().into_owned();
    for format in ["yaml", "json"] {
        let masked = render(&lab, &["--sops-age-key-file", &file, "-o", format]);
        assert_eq!(masked.code, 0, "{}", masked.stderr);
        assert_contains!(masked.stdout, ["db.yaml:1", "\"***\""]);
        clean(&masked, &key);
    }
    let shown = render(&lab, &["--sops-age-key-file", &file, "--show-secrets"]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert_contains!(shown.stdout, format!("password: {CANARY}"));
    assert_not_contains!(shown.stdout, "ENC[", "decrypted, not passed through");
    assert_not_contains!(
        shown.stdout,
        "sops:",
        "the sops block is not an object field"
    );
}

#[test]
fn only_secrets_carry_decrypted_values_unless_the_kind_is_allowed() {
    let (lab, key) = source();
    let config_map = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: endpoints\n  namespace: shop\ndata:\n  url: https://api.example.com/{CANARY_2}\n"
    );
    lab.encrypt(
        "src/endpoints.yaml",
        &config_map,
        &[&key],
        &["--encrypted-regex", "^data$"],
    );
    let file = key.file.to_string_lossy().into_owned();
    let refused = render(&lab, &["--sops-age-key-file", &file]);
    assert_eq!(refused.code, 2);
    assert_contains!(
        refused.stderr,
        "endpoints.yaml:1: v1 ConfigMap shop/endpoints: decrypted from SOPS, but a ConfigMap is \
         not a Secret: decrypted values go into Secrets only, unless the set allows the kind \
         (--sops-kinds ConfigMap, or decryption.kinds)"
    );
    clean(&refused, &key);
    let allowed = render(
        &lab,
        &["--sops-age-key-file", &file, "--sops-kinds", "ConfigMap"],
    );
    assert_eq!(allowed.code, 0, "{}", allowed.stderr);
    assert_contains!(
        allowed.stdout,
        ["driftless.dev/decrypted: \"true\"", "url: \"***\""]
    );
    clean(&allowed, &key);
}

#[test]
fn bad_input_names_the_file_and_line_and_never_a_key() {
    let (lab, key) = source();
    let stranger = lab.keygen("stranger");
    let stranger_file = stranger.file.to_string_lossy().into_owned();
    let wrong = render(&lab, &["--sops-age-key-file", &stranger_file]);
    assert_eq!(wrong.code, 2);
    assert_contains!(
        wrong.stderr,
        format!(
            "db.yaml:11: cannot decrypt (SOPS): none of the given age keys ({}) is a recipient: \
             the file is encrypted for {}",
            stranger.recipient, key.recipient
        )
    );
    assert_not_contains!(wrong.all_output(), stranger.secret.as_str());
    // One character of the password's ciphertext changed.
    let text = lab.read("src/db.yaml");
    let at = text.find("password: ENC[AES256_GCM,data:").unwrap() + 30;
    let flipped = if &text[at..=at] == "A" { "B" } else { "A" };
    lab.write(
        "src/db.yaml",
        &format!("{}{flipped}{}", &text[..at], &text[at + 1..]),
    );
    let file = key.file.to_string_lossy().into_owned();
    let tampered = render(&lab, &["--sops-age-key-file", &file]);
    assert_eq!(tampered.code, 2);
    assert_contains!(
        tampered.stderr,
        "db.yaml:8: cannot decrypt (SOPS): `stringData.password` does not decrypt with the file's data key"
    );
    clean(&tampered, &key);
    lab.write("src/db.yaml", &text);
    // A key file with a line that is not a key: its line, never its content.
    lab.write(
        "broken-keys.txt",
        &format!(
            "# created by hand\n{}\nAGE-SECRET-KEY-1NOTAKEY\n",
            key.secret
        ),
    );
    let broken = render(
        &lab,
        &["--sops-age-key-file", &path(&lab, "broken-keys.txt")],
    );
    assert_eq!(broken.code, 2);
    assert_contains!(broken.stderr, "broken-keys.txt");
    assert_contains!(broken.stderr, "(line 3)");
    clean(&broken, &key);
    assert_not_contains!(broken.stderr, "NOTAKEY");
}

#[test]
fn a_chart_reads_its_encrypted_values_on_stdin_and_never_from_disk() {
    let lab = Lab::new();
    let key = lab.keygen("key");
    std::fs::create_dir_all(lab.path().join("src/templates")).unwrap();
    lab.write(
        "src/Chart.yaml",
        "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
    );
    lab.write(
        "src/driftless-helm.yaml",
        "releaseName: shop\nnamespace: shop\n",
    );
    lab.write(
        "src/values.yaml",
        "db:\n  user: mlflow\n  password: changeme\n",
    );
    lab.write(
        "src/templates/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  user: {{ .Values.db.user }}\n  password: {{ .Values.db.password }}\n",
    );
    // A chart that copies a value where no mask by shape reaches: an annotation.
    lab.write(
        "src/templates/config.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  annotations:\n    checksum: {{ .Values.db.password }}\ndata:\n  user: {{ .Values.db.user }}\n",
    );
    lab.encrypt(
        "src/values.sops.yaml",
        &format!("db:\n  password: {CANARY}\n"),
        &[&key],
        &[],
    );
    let no_key = render(&lab, &[]);
    assert_eq!(no_key.code, 2);
    assert_contains!(
        no_key.stderr,
        "values file values.sops.yaml, line 4: cannot decrypt (SOPS): no age key given"
    );
    let file = key.file.to_string_lossy().into_owned();
    let masked = render(&lab, &["--sops-age-key-file", &file]);
    assert_eq!(masked.code, 0, "{}", masked.stderr);
    assert_contains!(masked.stdout, ["user: mlflow", "checksum: ***"]);
    clean(&masked, &key);
    let shown = render(&lab, &["--sops-age-key-file", &file, "--show-secrets"]);
    assert_contains!(
        shown.stdout,
        [format!("password: {CANARY}"), format!("checksum: {CANARY}")]
    );
    // The chart's own values.yaml encrypted: given first, over nothing.
    std::fs::remove_file(lab.path().join("src/values.sops.yaml")).unwrap();
    lab.encrypt(
        "src/values.yaml",
        &format!("db:\n  user: mlflow\n  password: {CANARY_2}\n"),
        &[&key],
        &[],
    );
    let own = render(&lab, &["--sops-age-key-file", &file, "--show-secrets"]);
    assert_eq!(own.code, 0, "{}", own.stderr);
    assert_contains!(own.stdout, format!("password: {CANARY_2}"));
    assert_not_contains!(own.stdout, "ENC[");
}

#[test]
fn the_offline_preview_compares_encrypted_secrets_without_the_key() {
    let (lab, key) = source();
    std::fs::create_dir_all(lab.path().join("head")).unwrap();
    for name in ["ns.yaml", "db.yaml"] {
        lab.write(&format!("head/{name}"), &lab.read(&format!("src/{name}")));
    }
    let (base, head) = (path(&lab, "src"), path(&lab, "head"));
    let preview = |extra: &[&str]| {
        let mut args = vec!["diff", "--base-source", &base, "--source", &head];
        args.extend_from_slice(extra);
        support::offline(&args)
    };
    let same = preview(&[]);
    assert_eq!(same.code, 0, "{}{}", same.stdout, same.stderr);
    lab.sops(
        &[
            "set",
            "head/db.yaml",
            "[\"stringData\"][\"password\"]",
            &format!("\"{CANARY_2}\""),
        ],
        Some(&key),
    );
    let changed = preview(&[]);
    assert_eq!(changed.code, 1, "{}", changed.stderr);
    assert_contains!(
        changed.stderr,
        "would configure  v1 Secret shop/db: changed (encrypted): stringData.password; compared \
         by ciphertext, without the key"
    );
    assert_contains!(
        changed.stdout,
        ["password: \"*** (after)\"", "user: \"***\""]
    );
    clean(&changed, &key);
    let file = key.file.to_string_lossy().into_owned();
    let with_key = preview(&["--sops-age-key-file", &file, "-o", "json"]);
    assert_eq!(with_key.code, 1, "{}", with_key.stderr);
    assert_not_contains!(with_key.stdout, "compared by ciphertext");
    clean(&with_key, &key);
    // Lint reads them sealed too: an encrypted Secret is not a plaintext one.
    let lint = support::offline(&["lint", "--source", &head]);
    assert_eq!(lint.code, 0, "{}", lint.stdout);
    assert_not_contains!(lint.stdout, "plaintext-secret");
}

#[test]
fn a_kustomization_may_namespace_label_and_reorder_an_encrypted_secret() {
    let lab = Lab::new();
    let key = lab.keygen("key");
    std::fs::create_dir_all(lab.path().join("src/app")).unwrap();
    let secret = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\nstringData:\n  zeta: {CANARY}\n  alpha: {CANARY_2}\n"
    );
    lab.encrypt("src/app/secret.yaml", &secret, &[&key], &ONLY_VALUES);
    lab.write(
        "src/app/kustomization.yaml",
        "namespace: shop\ncommonLabels: {team: data}\nresources: [secret.yaml]\n",
    );
    let file = key.file.to_string_lossy().into_owned();
    // kustomize sorts the keys and adds a namespace and a label: what the MAC covered moved.
    let shown = render(&lab, &["--sops-age-key-file", &file, "--show-secrets"]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert_contains!(
        shown.stdout,
        [
            "# Source: app (kustomization)",
            "team: data",
            "namespace: shop",
            &format!("alpha: {CANARY_2}\n  zeta: {CANARY}"),
        ]
    );
    let masked = render(&lab, &["--sops-age-key-file", &file]);
    assert_eq!(masked.code, 0, "{}", masked.stderr);
    clean(&masked, &key);
    let no_key = render(&lab, &[]);
    assert_eq!(no_key.code, 2);
    assert_contains!(
        no_key.stderr,
        "app (kustomization): app/secret.yaml:10: cannot decrypt (SOPS): no age key given"
    );
    // Changed after sops wrote it: refused at the value's line, in the file as committed.
    let text = lab.read("src/app/secret.yaml");
    let at = text.find("zeta: ENC[AES256_GCM,data:").unwrap() + 26;
    let flipped = if &text[at..=at] == "A" { "B" } else { "A" };
    lab.write(
        "src/app/secret.yaml",
        &format!("{}{flipped}{}", &text[..at], &text[at + 1..]),
    );
    let tampered = render(&lab, &["--sops-age-key-file", &file]);
    assert_eq!(tampered.code, 2);
    assert_contains!(
        tampered.stderr,
        "app/secret.yaml:7: cannot decrypt (SOPS): `stringData.zeta` does not decrypt"
    );
    clean(&tampered, &key);
}
