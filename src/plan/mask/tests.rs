//! Masking: Secrets, env literals, ConfigMap literals, scrubbing messages.

use super::*;
use serde_json::json;

fn with_env(env: Value) -> Value {
    json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "env": env}]}}}})
}

#[test]
fn secret_env_literals_and_url_passwords_are_masked_in_any_workload() {
    let mut live = with_env(json!([
        {"name": "DB_PASSWORD", "value": "hunter2"},
        {"name": "api-token", "value": "same-token"},
        {"name": "DATABASE_URL", "value": "postgresql+psycopg://mlflow:s3cr3t@db:5432/mlflow"},
        {"name": "LOG_LEVEL", "value": "info"},
    ]));
    let mut desired = with_env(json!([
        {"name": "DB_PASSWORD", "value": "hunter3"},
        {"name": "api-token", "value": "same-token"},
        {"name": "DATABASE_URL", "value": "postgresql+psycopg://mlflow:s3cr3t@db:5432/mlflow"},
        {"name": "LOG_LEVEL", "value": "debug"},
    ]));
    let id = ObjectId::for_test("apps/v1", "Deployment", "ns", "web");
    mask_pair(&id, Some(&mut live), Some(&mut desired));
    let env = |v: &Value| v["spec"]["template"]["spec"]["containers"][0]["env"].clone();
    assert_eq!(env(&live)[0]["value"], "*** (before)");
    assert_eq!(env(&desired)[0]["value"], "*** (after)");
    assert_eq!(env(&live)[1]["value"], "***");
    assert_eq!(
        env(&desired)[2]["value"],
        "postgresql+psycopg://mlflow:***@db:5432/mlflow"
    );
    assert_eq!(env(&desired)[3]["value"], "debug", "not secret-like: shown");
    let text = format!("{live}{desired}");
    assert!(!text.contains("hunter") && !text.contains("s3cr3t") && !text.contains("same-token"));
}

#[test]
fn secret_literals_in_a_config_map_are_masked_as_in_env() {
    let id = ObjectId::for_test("v1", "ConfigMap", "ns", "web");
    let mut before = json!({"data": {"DB_PASSWORD": "hunter2", "url": "redis://:pw-old@r:6379",
        "app.properties": "db.password=prop-secret\nlevel=info", "key.pem": "-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY-----\n"}});
    let mut after = before.clone();
    after["data"]["url"] = json!("redis://:pw-new@r:6379");
    mask_pair(&id, Some(&mut before), Some(&mut after));
    assert_eq!(after["data"]["DB_PASSWORD"], "***");
    assert_eq!(before["data"]["url"], "redis://:*** (before)@r:6379");
    assert_eq!(after["data"]["url"], "redis://:*** (after)@r:6379");
    assert_eq!(
        after["data"]["app.properties"],
        "db.password=***\nlevel=info"
    );
    assert_eq!(after["data"]["key.pem"], "***\n");
    let text = format!("{before}{after}");
    assert!(!text.contains("hunter2") && !text.contains("pw-") && !text.contains("MIIEv"));
    assert!(!text.contains("prop-secret"), "{text}");
}

#[test]
fn a_secret_value_is_hidden_wherever_it_appears_in_its_secret() {
    let id = ObjectId::for_test("v1", "Secret", "ns", "s");
    let mut secret = json!({"metadata": {"labels": {"copy": "hunter2!"}, "annotations": {"hunter2": "x"}},
                            "data": {"p": "aHVudGVyMg=="}});
    mask_object(&id, &mut secret);
    assert_eq!(secret["metadata"]["labels"]["copy"], "***!");
    assert!(!secret.to_string().contains("hunter2"), "{secret}");
}

#[test]
fn messages_about_a_workload_lose_its_secret_literals() {
    let object = with_env(json!([{"name": "TOKEN", "value": "tok-abcdef"}]));
    let msg = "spec.template.spec.containers[0].env[0].value: Invalid value: \"tok-abcdef\"";
    let id = ObjectId::for_test("apps/v1", "Deployment", "ns", "web");
    let out = scrub_object(msg, &id, &object);
    assert_eq!(
        out,
        "spec.template.spec.containers[0].env[0].value: Invalid value: \"***\""
    );
    assert_eq!(url_password("https://host/x"), None);
    assert_eq!(url_password("redis://:pw@cache:6379"), Some("pw"));
}

#[test]
fn pair_marks_changed_values_before_and_after() {
    let mut live =
        json!({"kind": "Secret", "data": {"same": "YQ==", "changed": "Yg==", "gone": "Yw=="}});
    let mut desired =
        json!({"kind": "Secret", "data": {"same": "YQ==", "changed": "ZA==", "new": "ZQ=="}});
    mask_secret_pair(Some(&mut live), Some(&mut desired));
    assert_eq!(
        live["data"],
        json!({"same": "***", "changed": "*** (before)", "gone": "***"})
    );
    assert_eq!(
        desired["data"],
        json!({"same": "***", "changed": "*** (after)", "new": "***"})
    );
}

#[test]
fn one_sided_and_string_data_are_masked() {
    let mut created = json!({"stringData": {"password": "hunter2"}, "data": {"k": "dg=="}});
    mask_secret_pair(None, Some(&mut created));
    assert_eq!(
        created,
        json!({"stringData": {"password": "***"}, "data": {"k": "***"}})
    );
    let mut odd = json!({"data": "not-a-map"});
    mask_secret(&mut odd);
    assert_eq!(odd["data"], "***");
}

#[test]
fn scrub_hides_raw_and_decoded_values() {
    let secret =
        json!({"data": {"p": "aHVudGVyMi1wYXNzd29yZA=="}, "stringData": {"t": "tok-123456"}});
    let msg = "bad value \"hunter2-password\" and aHVudGVyMi1wYXNzd29yZA== and tok-123456";
    let out = scrub(msg, &secret);
    assert!(
        !out.contains("hunter2") && !out.contains("aHVudGVy") && !out.contains("tok-1"),
        "{out}"
    );
    assert_eq!(out, "bad value \"***\" and *** and ***");
}

#[test]
fn scrub_hides_string_data_as_the_server_stores_it() {
    // The server moves stringData into data, base64-encoded; its messages may quote that.
    let secret = json!({"stringData": {"t": "tok-123456"}});
    let msg = "data[t]: Invalid value: \"dG9rLTEyMzQ1Ng==\"";
    assert_eq!(scrub(msg, &secret), "data[t]: Invalid value: \"***\"");
}
