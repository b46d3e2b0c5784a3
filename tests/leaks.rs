//! The leak canary: a secret value put everywhere a careless repository puts one, then every
//! command at `-vv` in every output format, and not one byte of it in anything driftless prints.

use base64::Engine as _;

use crate::support::{self, Workspace, diff, driftless, sync};

mod credentials;

const CANARY: &str = "dlCanary7Zq9Xw";
const CANARY_2: &str = "dlCanary2Pm4Vb";

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// The source, holding `canary` in a Secret's data and stringData, in a last-applied annotation,
/// in a Secret the server refuses with an error that quotes it, and in env literals.
fn write_source(ws: &Workspace, ok: &str, refused: &str, canary: &str, with_secret: bool) {
    let last_applied = format!(
        "{{\\\"apiVersion\\\":\\\"v1\\\",\\\"kind\\\":\\\"Secret\\\",\\\"stringData\\\":{{\\\"token\\\":\\\"{canary}\\\"}}}}"
    );
    let secret = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: {ok}\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: \"{last_applied}\"\ntype: Opaque\ndata:\n  password: {}\nstringData:\n  token: {canary}\n",
        b64(canary)
    );
    let deployment = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n  namespace: {ok}\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: app}}\n  template:\n    metadata:\n      labels: {{app: app}}\n    spec:\n      containers:\n      - name: app\n        image: registry.example.com/app:1.0.0\n        env:\n        - name: DB_PASSWORD\n          value: {canary}\n        - name: DATABASE_URL\n          value: postgresql+psycopg://mlflow:{canary}@postgres:5432/mlflow\n"
    );
    // The server refuses the label and quotes it back: the error is about this Secret.
    let refused_secret = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: refused\n  namespace: {refused}\n  labels:\n    bad: \"{canary}!\"\ntype: Opaque\ndata:\n  password: {}\n",
        b64(canary)
    );
    let namespaces = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ok}\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {refused}\n"
    );
    ws.write("namespaces.yaml", &namespaces);
    ws.write("app.yaml", &deployment);
    ws.write("refused.yaml", &refused_secret);
    ws.write(
        "secret.yaml",
        if with_secret { &secret } else { "# removed\n" },
    );
}

/// Everything that must never appear: the values, their base64 at each of the three
/// alignments (as a substring of a longer encoded value), and the cluster's bearer token.
fn forbidden() -> Vec<(String, String)> {
    let mut needles = canaries();
    needles.extend(bearer_token());
    needles
}

/// The canary values and their base64 forms.
fn canaries() -> Vec<(String, String)> {
    let mut needles = Vec::new();
    for canary in [CANARY, CANARY_2] {
        needles.push((canary.to_string(), format!("{canary} itself")));
        for offset in 0..3 {
            let encoded = b64(&format!("{}{canary}", "x".repeat(offset)));
            let core = encoded[4..encoded.len() - 4].to_string();
            needles.push((core, format!("{canary} in base64 at offset {offset}")));
        }
    }
    needles
}

/// The test cluster's bearer token.
fn bearer_token() -> Vec<(String, String)> {
    let mut needles = Vec::new();
    let kubeconfig = std::fs::read_to_string(&support::cluster().kubeconfig).unwrap();
    if let Some(token) = kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix("token: "))
    {
        needles.push((token.trim().to_string(), "the bearer token".into()));
    }
    needles
}

#[tokio::test]
async fn no_secret_value_reaches_any_output_in_any_format() {
    let ws = Workspace::new();
    let (ok, refused) = (support::unique("dl-leak"), support::unique("dl-leak-bad"));
    write_source(&ws, &ok, &refused, CANARY, true);
    let src = ws.path().to_string_lossy().into_owned();
    let mut outputs = Vec::new();
    let formats = [
        &["-o", "text"][..],
        &["-o", "json"][..],
        &["-o", "markdown"][..],
    ];
    for format in formats {
        let mut args = vec!["-vv"];
        args.extend_from_slice(format);
        outputs.push(diff(ws.path(), &args));
    }
    let mut args = vec!["-vv", "--prune"];
    args.extend_from_slice(formats[1]);
    let first = sync(ws.path(), &args);
    assert_eq!(first.code, 2, "the refused Secret fails its namespace");
    assert_contains!(
        first.stdout,
        "invalid value",
        "the server's error is reported"
    );
    outputs.push(first);

    // Changed values: diffs must say that they changed, never what they hold.
    write_source(&ws, &ok, &refused, CANARY_2, true);
    for format in formats {
        let mut args = vec!["-vv"];
        args.extend_from_slice(format);
        let changed = diff(ws.path(), &args);
        assert_eq!(changed.code, 2);
        outputs.push(changed);
    }
    let text = &outputs[outputs.len() - 3];
    assert_contains!(text.stdout, ["*** (before)", "*** (after)"]);
    outputs.push(sync(ws.path(), &["-vv"]));
    for format in ["yaml", "json"] {
        outputs.push(driftless(&[
            "render", "--source", &src, "-o", format, "-vv",
        ]));
    }
    // Pruned: the deletion diff of a Secret.
    write_source(&ws, &ok, &refused, CANARY_2, false);
    for format in formats {
        let mut args = vec!["-vv", "--prune"];
        args.extend_from_slice(format);
        outputs.push(diff(ws.path(), &args));
    }
    let pruned = sync(ws.path(), &["-vv", "--prune", "--max-prune", "100%"]);
    assert_contains!(pruned.stdout, format!("v1 Secret {ok}/creds"));
    outputs.push(pruned);

    let everything: String = outputs.iter().map(|r| r.all_output()).collect();
    assert!(
        everything.len() > 100_000,
        "-vv says a lot: {}",
        everything.len()
    );
    for (needle, what) in forbidden() {
        let hits = everything.matches(needle.as_str()).count();
        assert_eq!(hits, 0, "{what} appears {hits} times in driftless's output");
    }
    support::delete_namespaces(&[ok, refused]).await;
}

/// The same canary, also in a ConfigMap (a password-like key, a URL, a private key) and in env
/// literals, through `lint` and the offline `diff --base-source` in every format at `-vv`, with
/// no cluster: not one byte of it in anything printed or in the report files.
#[test]
fn no_secret_value_reaches_lint_or_the_offline_preview() {
    let config_map = |canary: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: shop\ndata:\n  DB_PASSWORD: {canary}\n  url: redis://:{canary}@cache:6379/0\n  app.properties: |\n    db.host=pg\n    db.password={canary}\n  key.pem: |\n    -----BEGIN PRIVATE KEY-----\n    {canary}\n    -----END PRIVATE KEY-----\n"
        )
    };
    let (base, head) = (Workspace::new(), Workspace::new());
    for (ws, canary) in [(&base, CANARY), (&head, CANARY_2)] {
        write_source(ws, "shop", "shop-refused", canary, true);
        ws.write("settings.yaml", &config_map(canary));
    }
    let (b, h) = (base.path().to_string_lossy(), head.path().to_string_lossy());
    let files = tempfile::tempdir().unwrap();
    let mut everything = String::new();
    for format in ["text", "json", "markdown", "sarif"] {
        let file = files.path().join(format!("report.{format}"));
        let file = file.to_string_lossy();
        let preview = support::offline(&[
            "diff",
            "-vv",
            "--base-source",
            &b,
            "--source",
            &h,
            "-o",
            format,
            "--report-file",
            &file,
        ]);
        assert_eq!(preview.code, 1, "{format}: {}", preview.stderr);
        let lint = support::offline(&[
            "lint",
            "-vv",
            "--source",
            &h,
            "--base-source",
            &b,
            "-o",
            format,
            "--report-file",
            &file,
        ]);
        assert_eq!(lint.code, 1, "{format}: findings: {}", lint.stdout);
        for run in [&preview, &lint] {
            everything.push_str(&run.all_output());
        }
        everything.push_str(
            &std::fs::read_to_string(files.path().join(format!("report.{format}"))).unwrap(),
        );
        if format == "text" {
            assert_contains!(preview.stdout, "*** (before)");
            assert_contains!(lint.stdout, ["secret-in-env", "secret-in-configmap"]);
        }
    }
    assert!(everything.len() > 20_000, "{}", everything.len());
    for (needle, what) in canaries() {
        let hits = everything.matches(needle.as_str()).count();
        assert_eq!(hits, 0, "{what} appears {hits} times in driftless's output");
    }
}
