//! Broken credentials, each holding a canary: every error names the file (and the line), and
//! none quotes what the file holds.

use super::*;

const CANARY: &str = "dlCanaryKc4Qz";

fn kubeconfig(user: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: 'https://127.0.0.1:1'}}\n\
         users:\n- name: u\n  user:\n{user}\ncontexts:\n- name: x\n  context: {{cluster: c, user: u}}\n\
         current-context: x\n"
    )
}

/// Connects with a kubeconfig file holding `text` (and `extra` files beside it); the error.
async fn connect_error(text: &str, extra: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in extra {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    let path = dir.path().join("broken.kubeconfig");
    let text = text.replace("{dir}", &dir.path().to_string_lossy());
    std::fs::write(&path, text).unwrap();
    let options = ConnectOptions {
        kubeconfig: Some(path.clone()),
        ..Default::default()
    };
    let result = match load(&options).await {
        Ok((config, source)) => client(config, &source).map(|_| ()),
        Err(e) => Err(e),
    };
    let message = result.expect_err("a broken credential fails").to_string();
    assert!(!message.contains(CANARY), "quoted: {message}");
    assert!(!message.contains('\n'), "one line: {message}");
    assert!(
        message.contains("kubeconfig /"),
        "names the file: {message}"
    );
    message
}

#[tokio::test]
async fn a_yaml_error_names_the_file_line_and_column_and_quotes_nothing() {
    let text = kubeconfig(&format!("    token: {CANARY}: oops"));
    let message = connect_error(&text, &[]).await;
    assert!(
        message.contains("broken.kubeconfig: invalid YAML at line 9 column"),
        "{message}"
    );
    assert!(
        message.contains("mapping values are not allowed"),
        "{message}"
    );
}

#[tokio::test]
async fn a_value_of_the_wrong_type_is_not_quoted() {
    let message = connect_error(&kubeconfig(&format!("    {CANARY}")), &[]).await;
    assert!(message.contains("invalid YAML at line"), "{message}");
    let message = connect_error(&kubeconfig(&format!("    token: {{{CANARY}: [1]}}")), &[]).await;
    assert!(
        message.contains("line 9 column 12: expected string"),
        "{message}"
    );
}

#[tokio::test]
async fn inline_key_data_that_is_not_base64_is_not_quoted() {
    let user = format!("    client-certificate-data: {CANARY}!!\n    client-key-data: {CANARY}!!");
    let message = connect_error(&kubeconfig(&user), &[]).await;
    assert!(message.contains("is not valid base64"), "{message}");
}

#[tokio::test]
async fn a_key_file_with_a_broken_pem_line_is_named_not_quoted() {
    let pem = format!("-----BEGIN PRIVATE KEY {CANARY}\n{CANARY}\n-----END PRIVATE KEY-----\n");
    let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    let user = "    client-certificate: cert.pem\n    client-key: key.pem";
    let message = connect_error(&kubeconfig(user), &[("key.pem", &pem), ("cert.pem", cert)]).await;
    assert!(message.contains("not valid PEM"), "{message}");
}

#[tokio::test]
async fn an_exec_plugin_that_fails_or_prints_no_credential_is_not_quoted() {
    for script in [
        format!("echo token: {CANARY}; echo {CANARY} >&2; exit 1"),
        format!("echo '{{\"kind\": {CANARY}'"),
        format!("echo {CANARY}"),
    ] {
        let user = "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      \
             command: sh\n      args: ['{dir}/plugin.sh', '--token', 'x']";
        let message = connect_error(&kubeconfig(user), &[("plugin.sh", &script)]).await;
        assert!(message.contains("exec plugin"), "{message}");
    }
}

#[tokio::test]
async fn a_token_with_a_line_break_fails_cleanly() {
    let user = format!("    token: \"{CANARY}\\n{CANARY}\"");
    let message = connect_error(&kubeconfig(&user), &[]).await;
    assert!(
        message.contains("not a valid HTTP header value"),
        "{message}"
    );
}

#[test]
fn reasons_that_quote_a_value_are_dropped() {
    let text = "user:\n  token: s3cr3t-value\n";
    assert!(quotes_nothing(
        "mapping values are not allowed in this context",
        text
    ));
    assert!(!quotes_nothing("found s3cr3t-value here", text));
    assert!(!quotes_nothing("invalid type: string \"x\"", ""));
}
