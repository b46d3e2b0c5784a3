//! Status bodies captured from a real API server (1.20), and typed-patch messages it sent.

use super::*;

fn fixture(name: &str) -> Status {
    let text = match name {
        "job-template" => include_str!("fixtures/job-template.json"),
        "service-cluster-ip" => include_str!("fixtures/service-cluster-ip.json"),
        "deployment-selector" => include_str!("fixtures/deployment-selector.json"),
        "pod-update-forbidden" => include_str!("fixtures/pod-update-forbidden.json"),
        "invalid-name-and-labels" => include_str!("fixtures/invalid-name-and-labels.json"),
        "required-and-unsupported" => include_str!("fixtures/required-and-unsupported.json"),
        other => panic!("no fixture {other}"),
    };
    serde_json::from_str(text).unwrap()
}

/// The reworded message of a fixture, checked for what every one must hold.
fn reworded(name: &str) -> String {
    let status = fixture(name);
    let r = reword(&status).expect("reworded");
    assert_eq!((r.code, r.reason.as_str()), (422, "Invalid"));
    assert!(r.message.chars().count() <= MESSAGE_LIMIT, "{}", r.message);
    for dump in ["core.", "v1.", "map[string]", "[]string{", "(nil)", "0xc0"] {
        assert!(!r.message.contains(dump), "{dump} in {}", r.message);
    }
    r.message
}

#[test]
fn immutable_fields_are_named_with_one_hint_not_dumped() {
    assert!(fixture("job-template").message.len() > 2000);
    assert_eq!(
        reworded("job-template"),
        "immutable: spec.template (field is immutable); delete and recreate the object, or keep \
         the live value"
    );
    assert_eq!(
        reworded("deployment-selector"),
        "immutable: spec.selector (field is immutable); delete and recreate the object, or keep \
         the live value"
    );
    assert_eq!(
        reworded("service-cluster-ip"),
        "immutable: spec.clusterIPs[0] (may not change once set); delete and recreate the \
         object, or keep the live value"
    );
}

#[test]
fn a_forbidden_pod_update_keeps_its_reason_without_the_diff() {
    let message = reworded("pod-update-forbidden");
    assert!(
        message.starts_with("spec: forbidden: pod updates may not change fields other than"),
        "{message}"
    );
    assert!(!message.contains("Volumes"), "{message}");
}

#[test]
fn several_causes_are_listed_once_each_with_short_values_and_capped() {
    let message = reworded("required-and-unsupported");
    assert!(
        message.starts_with(
            "spec.template.metadata.labels: `selector` does not match template `labels`; \
             spec.template.spec.containers[0].image: required value; \
             spec.template.spec.restartPolicy: unsupported value \"Sometimes\": supported values"
        ),
        "{message}"
    );
    assert_eq!(message.matches("restartPolicy").count(), 1, "{message}");
    let message = reworded("invalid-name-and-labels");
    assert!(
        message.starts_with("metadata.name: invalid value \"Bad_Name\": a lowercase RFC 1123"),
        "{message}"
    );
    assert!(message.ends_with(" more"), "the rest is counted: {message}");
}

#[test]
fn a_422_without_causes_loses_its_dumps() {
    let mut status = fixture("job-template");
    status.details = None;
    let r = reword(&status).unwrap();
    assert_eq!(
        r.message,
        "Job.batch \"j1\" is invalid: spec.template: invalid value: field is immutable"
    );
}

#[test]
fn typed_patch_errors_are_invalid_manifests_naming_the_field() {
    let cases = [
        (
            ".data.n: expected string, got &value.valueUnstructured{Value:5}",
            "`.data.n` must be a string",
        ),
        (
            ".data: expected map, got &{[a]}",
            "`.data` must be a mapping",
        ),
        (
            ".spec.containers: expected list, got &{map[name:a]}",
            "`.spec.containers` must be a list",
        ),
        (
            ".spec.replicas: expected numeric (int or float), got *value.valueUnstructured",
            "`.spec.replicas` must be a number",
        ),
        (
            ".spec.hostNetwork: expected boolean, got &{yes}",
            "`.spec.hostNetwork` must be a boolean (true or false)",
        ),
        (
            ".spex: field not declared in schema",
            "`.spex` is not a field of this kind (not in its schema)",
        ),
        (
            ".spec.containers[name=\"a\"].env: duplicate entries for key [name=\"X\"]",
            "`.spec.containers[name=\"a\"].env` lists more than one entry with the key [name=\"X\"]",
        ),
        (
            ".spec.ports: element 0: associative list with keys has an element that omits key field \"protocol\" (and doesn't have default value)",
            "`.spec.ports[0]` must set `protocol`: it is the key of this list's entries",
        ),
        (
            ".spec.containers[name=\"a\"].ports[containerPort=\"80x\",protocol=\"TCP\"].containerPort: expected numeric (int or float), got *value.valueUnstructured",
            "`.spec.containers[name=\"a\"].ports[containerPort=\"80x\",protocol=\"TCP\"].containerPort` must be a number",
        ),
        (
            ".spec.x: some new complaint, got &{secret}",
            "`.spec.x`: some new complaint",
        ),
    ];
    for (server, ours) in cases {
        // 1.20 sends 500 with no reason; later servers name the object first, and a fix sends 400.
        for (code, message) in [
            (
                500,
                format!("failed to create typed patch object: {server}"),
            ),
            (
                400,
                format!(
                    "failed to create typed patch object (ns/x; /v1, Kind=ConfigMap): {server}"
                ),
            ),
        ] {
            let status = Status::failure(&message, "").with_code(code);
            let r = reword(&status).expect("a typed-patch error");
            assert_eq!(
                (r.code, r.reason.as_str(), r.message.as_str()),
                (422, "Invalid", ours)
            );
        }
    }
    let several = "failed to create typed patch object: errors:\n  .data.a: expected string, got &{1}\n  .data.b: expected string, got &{2}";
    let r = reword(&Status::failure(several, "").with_code(500)).unwrap();
    assert_eq!(
        r.message,
        "`.data.a` must be a string; `.data.b` must be a string"
    );
}

#[test]
fn a_cut_never_halves_a_quoted_value() {
    let long = format!(
        "{} \"s3cret-value\" and more",
        "x".repeat(MESSAGE_LIMIT - 10)
    );
    let cut = capped(&[long]);
    assert!(cut.ends_with("x ...") && !cut.contains("s3cr"), "{cut}");
}

#[test]
fn other_answers_keep_the_servers_words() {
    for code in [403, 404, 409, 500, 503] {
        assert_eq!(reword(&Status::failure("boom", "").with_code(code)), None);
    }
}

#[test]
fn tokens_end_at_the_first_colon_outside_quotes_and_brackets() {
    let text = "core.Spec{Name:\"a: b\", M:map[string]string{\"k\":\"v\"}}: field is immutable";
    assert_eq!(&text[token_end(text)..], ": field is immutable");
    assert_eq!(token_end("\"x\""), 3);
    assert_eq!(short("\"bad label\""), Some("\"bad label\""));
    assert_eq!(short("5"), Some("5"));
    assert_eq!(short("[]string{\"10.0.0.77\"}"), None);
}
