//! `secret-in-env`, `secret-in-configmap` and `plaintext-secret`: found, and never printed.

use super::*;

const CANARY: &str = "s3cr3t-canary-value";

fn with_env(env: &str) -> String {
    deployment(GOOD_POD, &format!("{GOOD_CONTAINER}\n  env:\n{env}"))
}

fn assert_no_value(findings: &[Finding]) {
    for f in findings {
        let text = format!("{} {} {}", f.message, f.path, f.object);
        assert!(
            !text.contains(CANARY) && !text.contains("hunter2"),
            "{text}"
        );
    }
}

#[test]
fn secret_like_env_literals_and_url_passwords() {
    let yaml = with_env(&format!(
        "  - {{name: DB_PASSWORD, value: {CANARY}}}\n  - {{name: DATABASE_URL, value: 'postgresql+psycopg://mlflow:{CANARY}@db:5432/mlflow'}}\n  - {{name: apiToken, value: {CANARY}}}\n  - {{name: LOG_LEVEL, value: info}}"
    ));
    let all = findings(&yaml);
    let env: Vec<&Finding> = all
        .iter()
        .filter(|f| f.check == Check::SecretInEnv)
        .collect();
    let paths: Vec<&str> = env.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "spec.template.spec.containers[0].env[0].value",
            "spec.template.spec.containers[0].env[1].value",
            "spec.template.spec.containers[0].env[2].value",
        ]
    );
    assert!(
        env[1]
            .message
            .contains("DATABASE_URL holds a URL with a password"),
        "{}",
        env[1].message
    );
    assert_no_value(&all);
}

#[test]
fn references_secret_refs_and_reference_names_are_fine() {
    let yaml = with_env(
        "  - {name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}\n  - {name: PASSWORD_FILE, value: /run/secrets/pg}\n  - {name: TOKEN_SECRET_NAME, value: api-token}\n  - {name: URL, value: 'postgresql://$(USER):$(PASSWORD)@db/x'}\n  - {name: DB_PASSWORD_2, value: '$(DB_PASSWORD)'}",
    );
    assert!(of(Check::SecretInEnv, &yaml).is_empty());
}

#[test]
fn url_passwords_in_args_are_found() {
    let container = format!("{GOOD_CONTAINER}\n  args: [serve, '--db=mysql://root:{CANARY}@db/x']");
    let all = findings(&deployment(GOOD_POD, &container));
    let found: Vec<&Finding> = all
        .iter()
        .filter(|f| f.check == Check::SecretInEnv)
        .collect();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].path, "spec.template.spec.containers[0].args[1]");
    assert_no_value(&all);
}

#[test]
fn config_maps_with_secrets() {
    let yaml = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c, namespace: ns}}\ndata:\n  POSTGRES_PASSWORD: {CANARY}\n  url: 'https://u:{CANARY}@h/x'\n  tls.key: |\n    -----BEGIN EC PRIVATE KEY-----\n    MHcCAQEE\n    -----END EC PRIVATE KEY-----\n  app.properties: |\n    db.host=pg\n    db.password=hunter2\n  POSTGRES_HOST: pg\n  ca.crt: |\n    -----BEGIN CERTIFICATE-----\n    MIIB\n    -----END CERTIFICATE-----\n"
    );
    let all = findings(&yaml);
    let found: Vec<(&str, &str)> = all
        .iter()
        .filter(|f| f.check == Check::SecretInConfigMap)
        .map(|f| (f.path.as_str(), f.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (
                "data.POSTGRES_PASSWORD",
                "key POSTGRES_PASSWORD is named like a secret and holds a literal value"
            ),
            (
                "data.app.properties",
                "key app.properties sets db.password to a literal value"
            ),
            ("data.tls.key", "key tls.key holds a PEM private key"),
            ("data.url", "key url holds a URL with a password"),
        ]
    );
    assert_no_value(&all);
}

#[test]
fn a_config_map_without_secrets_is_clean() {
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: ns}\ndata:\n  MLFLOW_S3_ENDPOINT_URL: http://minio:9000\n  PASSWORD_MIN_LENGTH: '12'\n  password_file: /etc/pw\n";
    assert!(of(Check::SecretInConfigMap, yaml).is_empty());
}

#[test]
fn plaintext_secrets_but_not_sealed_external_or_sops() {
    let secret = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: s, namespace: ns}}\nstringData:\n  password: {CANARY}\ndata:\n  token: aHVudGVyMg==\n"
    );
    let all = findings(&secret);
    let found: Vec<(String, Severity)> = of(Check::PlaintextSecret, &secret);
    assert_eq!(
        found,
        [
            ("data".to_string(), Severity::High),
            ("stringData".to_string(), Severity::High)
        ]
    );
    assert_no_value(&all);
    assert!(
        all.iter()
            .any(|f| f.message.contains("base64 is an encoding"))
    );
    let empty = "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: ns}\ntype: kubernetes.io/service-account-token\n";
    assert!(of(Check::PlaintextSecret, empty).is_empty());
    let sops = format!("{secret}sops:\n  version: 3.8.1\n");
    assert!(of(Check::PlaintextSecret, &sops).is_empty());
    for kind in [
        "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: s, namespace: ns}\nspec:\n  encryptedData: {password: AgB}\n",
        "apiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\nmetadata: {name: s, namespace: ns}\nspec:\n  data: [{secretKey: password}]\n",
    ] {
        assert!(findings(kind).is_empty(), "{kind}");
    }
}
