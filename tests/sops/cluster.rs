//! SOPS-encrypted Secrets synced to the real API server, by `sync`, `diff` and the agent: what
//! lands is the plaintext, a change shows only as masked, and at `-vv`, in every format, not
//! one decrypted byte (as written, base64 at each alignment, hex) reaches anything printed.

use base64::Engine as _;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::Api;

use super::tools::{AgeKey, Lab};
use crate::support::agent::AgentProcess;
use crate::support::{self, Run};

const CANARY: &str = "SopsLeak4Hq8Tz";
const CANARY_2: &str = "SopsLeak7Wd2Pn";
/// In a Secret's label: the server refuses it and quotes it back in its error.
const LABEL_CANARY: &str = "SopsLeak9Lb5Xc";
/// In a ConfigMap the set allows to be decrypted.
const CM_CANARY: &str = "SopsLeak3Cm6Vy";
const CM_CANARY_2: &str = "SopsLeak5Cm1Ku";

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// Every decrypted value in every form a text may hold it: as written, base64 at each of the
/// three alignments, and hex.
fn needles() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for canary in [CANARY, CANARY_2, LABEL_CANARY, CM_CANARY, CM_CANARY_2] {
        out.push((canary.to_string(), format!("{canary} itself")));
        for offset in 0..3 {
            let encoded = b64(&format!("{}{canary}", "x".repeat(offset)));
            let core = encoded[4..encoded.len() - 4].to_string();
            out.push((core, format!("{canary} in base64 at offset {offset}")));
        }
        let hex: String = canary.bytes().map(|b| format!("{b:02x}")).collect();
        out.push((hex, format!("{canary} in hex")));
    }
    out
}

fn assert_clean(everything: &str, key: &AgeKey) {
    assert_not_contains!(everything, key.secret.as_str(), "the age key");
    for (needle, what) in needles() {
        let hits = everything.matches(needle.as_str()).count();
        assert_eq!(hits, 0, "{what} appears {hits} times in driftless's output");
    }
}

/// The source: a Secret encrypted whole (its label too), one refused by the server for its
/// label, and a ConfigMap encrypted in `data`; all for `key`.
fn write_source(lab: &Lab, key: &AgeKey, ns: &str, bad: &str, canaries: (&str, &str)) {
    let (password, endpoint) = canaries;
    std::fs::create_dir_all(lab.path().join("src")).unwrap();
    lab.write(
        "src/ns.yaml",
        &format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {bad}\n"
        ),
    );
    let secret = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: {ns}\ntype: Opaque\nstringData:\n  password: {password}\ndata:\n  token: {}\n",
        b64(password)
    );
    lab.encrypt("src/db.yaml", &secret, &[key], &[]);
    let refused = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: refused\n  namespace: {bad}\n  labels:\n    bad: \"{LABEL_CANARY}!\"\nstringData:\n  password: {password}\n"
    );
    lab.encrypt("src/refused.yaml", &refused, &[key], &[]);
    let config_map = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: endpoints\n  namespace: {ns}\ndata:\n  endpoint: https://api.example.com/{endpoint}\n"
    );
    lab.encrypt(
        "src/endpoints.yaml",
        &config_map,
        &[key],
        &["--encrypted-regex", "^data$"],
    );
}

fn run(lab: &Lab, key: &AgeKey, command: &str, extra: &[&str]) -> Run {
    let (src, file) = (
        lab.path().join("src").to_string_lossy().into_owned(),
        key.file.to_string_lossy().into_owned(),
    );
    let mut args = vec![
        command,
        "--source",
        &src,
        "--sops-age-key-file",
        &file,
        "--sops-kinds",
        "ConfigMap",
        "-vv",
    ];
    args.extend_from_slice(extra);
    support::driftless(&args)
}

async fn secret_value(ns: &str, key: &str) -> Option<String> {
    let api = Api::<Secret>::namespaced(support::client().await, ns);
    let secret = api.get_opt("db").await.ok()??;
    let bytes = secret.data?.get(key)?.0.clone();
    String::from_utf8(bytes).ok()
}

#[tokio::test]
async fn decrypted_secrets_are_applied_and_no_decrypted_byte_reaches_any_output() {
    let lab = Lab::new();
    let key = lab.keygen("key");
    let (ns, bad) = (support::unique("dl-sops"), support::unique("dl-sops-bad"));
    write_source(&lab, &key, &ns, &bad, (CANARY, CM_CANARY));
    let mut outputs: Vec<Run> = Vec::new();
    let first = run(&lab, &key, "sync", &["-o", "json"]);
    assert_eq!(
        first.code, 2,
        "the refused Secret fails its namespace: {}",
        first.stderr
    );
    assert_contains!(first.stdout, "invalid value");
    outputs.push(first);
    assert_eq!(secret_value(&ns, "password").await.as_deref(), Some(CANARY));
    assert_eq!(secret_value(&ns, "token").await.as_deref(), Some(CANARY));
    let cms = Api::<ConfigMap>::namespaced(support::client().await, &ns);
    let cm = cms.get("endpoints").await.unwrap();
    assert_eq!(
        cm.metadata.annotations.unwrap_or_default()["driftless.dev/decrypted"],
        "true",
        "an allowed kind is marked decrypted, for every later reader"
    );

    // New values: every diff says that they changed, never what they were or are.
    write_source(&lab, &key, &ns, &bad, (CANARY_2, CM_CANARY_2));
    let mut files = String::new();
    for format in ["text", "json", "markdown", "sarif"] {
        let file = lab.path().join(format!("report.{format}"));
        let file = file.to_string_lossy();
        let changed = run(&lab, &key, "diff", &["-o", format, "--report-file", &file]);
        files.push_str(&std::fs::read_to_string(file.as_ref()).unwrap());
        assert_eq!(changed.code, 2, "{}", changed.stderr);
        if format == "text" {
            assert_contains!(
                changed.stdout,
                ["password: \"*** (before)\"", "password: \"*** (after)\""]
            );
            assert_contains!(
                changed.stdout,
                ["endpoint: \"*** (before)\"", "endpoint: \"*** (after)\""]
            );
        }
        outputs.push(changed);
    }
    outputs.push(run(&lab, &key, "sync", &[]));
    assert_eq!(
        secret_value(&ns, "password").await.as_deref(),
        Some(CANARY_2)
    );
    for format in ["yaml", "json"] {
        outputs.push(run(&lab, &key, "render", &["-o", format]));
    }
    let everything: String = outputs.iter().map(Run::all_output).collect::<String>() + &files;
    assert!(
        everything.len() > 50_000,
        "-vv says a lot: {}",
        everything.len()
    );
    assert_clean(&everything, &key);
    support::delete_namespaces(&[ns, bad]).await;
}

#[tokio::test]
async fn the_agent_decrypts_with_its_mounted_key_and_applies_a_changed_value() {
    let lab = Lab::new();
    let key = lab.keygen("key");
    let (ns, bad) = (
        support::unique("dl-sops-agent"),
        support::unique("dl-sops-agent-bad"),
    );
    write_source(&lab, &key, &ns, &bad, (CANARY, CM_CANARY));
    // Only the set's own Secret and ConfigMap: the refused one is for the CLI's test.
    std::fs::remove_file(lab.path().join("src/refused.yaml")).unwrap();
    let set = support::unique("agent-sops");
    let config = format!(
        "sets:\n  - name: {set}\n    source: {{directory: {}}}\n    interval: 1s\n    decryption:\n      provider: sops\n      ageKeyFile: {}\n      kinds: [ConfigMap]\n",
        lab.path().join("src").display(),
        key.file.display()
    );
    lab.write("agent.yaml", &config);
    let agent =
        AgentProcess::start_verbose(&lab.path().join("agent.yaml"), "agent-sops", lab.path());
    agent.wait_ready().await;
    let applied = support::eventually(|| async {
        secret_value(&ns, "password").await.as_deref() == Some(CANARY)
    });
    assert!(applied.await, "{}", agent.log());
    lab.sops(
        &[
            "set",
            "src/db.yaml",
            "[\"stringData\"][\"password\"]",
            &format!("\"{CANARY_2}\""),
        ],
        Some(&key),
    );
    let changed = support::eventually(|| async {
        secret_value(&ns, "password").await.as_deref() == Some(CANARY_2)
    });
    assert!(changed.await, "{}", agent.log());
    let everything = format!("{}{}", agent.log(), agent.body("/report"));
    assert_contains!(everything, "db");
    assert_clean(&everything, &key);
    support::delete_namespaces(&[ns, bad]).await;
}
