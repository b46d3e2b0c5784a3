use super::*;
use serde_json::json;

// Charts and the locks helm v4.2.3 wrote for them (`helm dependency update parent`, with
// `file://` dependencies on sibling charts `child` 1.4.2 and `other` 0.3.0-beta.1, and a
// `charts/local` 2.0.0). `⇥` stands for a tab, which the chart had.
const PLAIN_CHART: &str = r#"apiVersion: v2
name: parent
version: 0.1.0
dependencies:
  - name: child
    version: "~1.4"
    repository: file://../child
"#;

const PLAIN_LOCK: &str = r#"dependencies:
- name: child
  repository: file://../child
  version: 1.4.2
digest: sha256:8f21a1434e61e3aa314a9be34796a0a538e44d73215ee262c7e4b3281c6d9b53
generated: "2026-12-04T20:22:27.198161884Z"
"#;

const FULL_CHART: &str = r#"apiVersion: v2
name: parent
version: 0.1.0
dependencies:
  - name: child
    version: ">=1.0.0 <2.0.0"
    repository: "file://../child"
    condition: child.enabled,global.child&more
    tags:
      - front⇥end
      - backend
    alias: first-child
    import-values:
      - data
      - child: default.data
        parent: "imported<here>"
      - {parent: p, child: c, weight: 1.0, n: 3, big: 1e21, small: 0.0000001, u: "é\u2028", t: true, z: null}
  - name: child
    alias: second_child
    version: 1.4.2
    repository: file://../child
    enabled: true
    tags: []
    import-values: []
  - name: other
    version: ^0.3.0-0
    repository: file://../other
    condition: other.enabled
    enabled: false
  - name: local
    version: "2.0.0"
    repository: ""
"#;

const FULL_LOCK: &str = r#"dependencies:
- name: child
  repository: file://../child
  version: 1.4.2
- name: child
  repository: file://../child
  version: 1.4.2
- name: other
  repository: file://../other
  version: 0.3.0-beta.1
- name: local
  repository: ""
  version: 2.0.0
digest: sha256:21357f04358ff5634e7bd7d7bc3e05c75de71874a3b1a045b8eafa4699aa3f40
generated: "2026-12-04T20:22:42.864080227Z"
"#;

const CONVERTED_CHART: &str = r#"apiVersion: v2
name: parent
version: 0.1.0
dependencies:
  - Name: child
    VERSION: 1.4
    repository: file://../child
    condition: "a\tb\u200bc,d.enabled"
    tags: [2.0, 1e6, 1234567.0, 0.00001, 0.0001, yes, 010, 0x1F, 1.10, 16777217.0, -0.5, null, ~]
    enabled: yes
    import-values:
      - "\b\f\u0001\u007f<>&\u2028\u2029\"\\/é😀"
      - {z: 1.0, a: 3, m: 1e21, e: 1e-7, o: 123456789012, p: 0.1, q: -0, r: [1, "x", {w: 2}], "B": null}
      - 12345678901234567890
      - 1.5e300
      - 0.000001
      - true
      - [0o17, 0b101, 1_000, +12, .5, -.5e2, 2001-12-14, "1:20"]
    alias: the_child
"#;

const CONVERTED_LOCK: &str = r#"dependencies:
- name: child
  repository: file://../child
  version: 1.4.2
digest: sha256:1c6775bfc8e615b8922fff4bc11d3e2c303e96bf4b2e0c9173dbc893d87941f8
generated: "2026-12-04T20:31:21.444414866Z"
"#;

fn chart(text: &str) -> String {
    text.replace('⇥', "\t")
}

fn helm_digest(chart_yaml: &str, chart_lock: &str) -> (String, String) {
    let requested = dependencies(&chart(chart_yaml)).unwrap();
    let lock = lock(chart_lock).unwrap();
    (lock_digest(&requested, &lock.dependencies), lock.digest)
}

#[test]
fn digest_is_helms_for_a_plain_dependency() {
    let (ours, helms) = helm_digest(PLAIN_CHART, PLAIN_LOCK);
    assert_eq!(ours, helms);
    assert_eq!(
        ours,
        "sha256:8f21a1434e61e3aa314a9be34796a0a538e44d73215ee262c7e4b3281c6d9b53"
    );
}

#[test]
fn digest_is_helms_with_every_field() {
    let (ours, helms) = helm_digest(FULL_CHART, FULL_LOCK);
    assert_eq!(ours, helms);
    assert_eq!(
        ours,
        "sha256:21357f04358ff5634e7bd7d7bc3e05c75de71874a3b1a045b8eafa4699aa3f40"
    );
}

#[test]
fn digest_is_helms_after_gos_conversions() {
    let (ours, helms) = helm_digest(CONVERTED_CHART, CONVERTED_LOCK);
    assert_eq!(ours, helms);
    assert_eq!(
        ours,
        "sha256:1c6775bfc8e615b8922fff4bc11d3e2c303e96bf4b2e0c9173dbc893d87941f8"
    );
}

#[test]
fn digest_of_no_dependencies_is_helms() {
    // helm's lock for `dependencies: []`.
    assert_eq!(
        lock_digest(&[], &[]),
        "sha256:643d5437104296e21d906ecb15b2c96ad278f20cfc4af53b12bb6069bd853726"
    );
}

#[test]
fn reads_every_field() {
    let found = dependencies(&chart(FULL_CHART)).unwrap();
    assert_eq!(found.len(), 4);
    assert_eq!(
        found[0],
        Dependency {
            name: "child".to_string(),
            version: Some(">=1.0.0 <2.0.0".to_string()),
            repository: "file://../child".to_string(),
            condition: Some("child.enabled,global.child&more".to_string()),
            // The tab became a space, as helm cleans it.
            tags: vec!["front end".to_string(), "backend".to_string()],
            enabled: None,
            import_values: vec![
                json!("data"),
                json!({"child": "default.data", "parent": "imported<here>"}),
                // A plain `n` is YAML 1.1's false, and Go's key for it "false".
                json!({"parent": "p", "child": "c", "weight": 1.0, "false": 3, "big": 1e21,
                           "small": 1e-7, "u": "é\u{2028}", "t": true, "z": null}),
            ],
            alias: Some("first-child".to_string()),
        }
    );
    assert_eq!(found[1].enabled, Some(true));
    assert_eq!(found[1].alias.as_deref(), Some("second_child"));
    assert_eq!(found[2].enabled, Some(false));
    assert_eq!(found[2].version.as_deref(), Some("^0.3.0-0"));
    assert_eq!(found[3].repository, "");
    assert_eq!(found[3].version.as_deref(), Some("2.0.0"));
}

#[test]
fn reads_text_fields_as_go_does() {
    let found = dependencies(&chart(CONVERTED_CHART)).unwrap();
    let dependency = &found[0];
    // Field names match whatever their case.
    assert_eq!(dependency.name, "child");
    // A plain number is float32 text: 1.4, and 1.10 is 1.1.
    assert_eq!(dependency.version.as_deref(), Some("1.4"));
    // Tab to space, zero-width space dropped.
    assert_eq!(dependency.condition.as_deref(), Some("a bc,d.enabled"));
    let tags: Vec<&str> = dependency.tags.iter().map(String::as_str).collect();
    assert_eq!(
        tags,
        [
            "2",
            "1e+06",
            "1.234567e+06",
            "1e-05",
            "0.0001",
            "true",
            "8",
            "31",
            "1.1",
            "1.6777216e+07",
            "-0.5",
            "",
            ""
        ]
    );
    assert_eq!(dependency.enabled, Some(true));
    assert_eq!(dependency.alias.as_deref(), Some("the_child"));
}

#[test]
fn keys_are_the_text_go_makes_of_them() {
    // Quoted keys stay; plain ones are typed first. helm v4.2.3 locked this chart with the
    // digest below.
    let chart_yaml = "dependencies:\n  - name: child\n    version: 1.4.2\n    repository: \
                          file://../child\n    import-values: [{y: 1, \"n\": 2, 1.10: 3, 010: 4, \
                          \"off\": [off, \"on\"]}]\n";
    let requested = dependencies(chart_yaml).unwrap();
    assert_eq!(
        requested[0].import_values,
        [json!({"true": 1, "n": 2, "1.1": 3, "8": 4, "off": [false, "on"]})]
    );
    let locked = [Dependency {
        name: "child".to_string(),
        version: Some("1.4.2".to_string()),
        repository: "file://../child".to_string(),
        ..Dependency::default()
    }];
    assert_eq!(
        lock_digest(&requested, &locked),
        "sha256:0121069c83d937be562f575481988e978b7473b6827e838546a9a63de3c87a77"
    );
    // Go's JSON holds no infinity, so helm cannot load one.
    let infinite = "dependencies:\n  - name: a\n    import-values: [.inf]\n";
    assert!(dependencies(infinite).is_err());
}

#[test]
fn reads_a_lock() {
    let lock = lock(FULL_LOCK).unwrap();
    assert_eq!(
        lock.digest,
        "sha256:21357f04358ff5634e7bd7d7bc3e05c75de71874a3b1a045b8eafa4699aa3f40"
    );
    let versions: Vec<_> = lock
        .dependencies
        .iter()
        .map(|d| d.version.as_deref())
        .collect();
    assert_eq!(
        versions,
        [
            Some("1.4.2"),
            Some("1.4.2"),
            Some("0.3.0-beta.1"),
            Some("2.0.0")
        ]
    );
    assert_eq!(lock.dependencies[3].name, "local");
    assert_eq!(lock.dependencies[3].repository, "");
}

#[test]
fn no_dependencies_is_an_empty_list() {
    for text in [
        "",
        "apiVersion: v2\nname: app\nversion: 1.0.0\n",
        "dependencies:\n",
        "dependencies: []",
    ] {
        assert_eq!(dependencies(text).unwrap(), Vec::new(), "{text:?}");
    }
}

#[test]
fn refuses_what_helm_cannot_load() {
    let cases = [
        (
            "dependencies:\n  - version: 1.0.0\n    repository: https://x\n",
            "dependency 1 has no name",
        ),
        ("dependencies:\n  - name: a\n  -\n", "dependency 2: empty"),
        (
            "dependencies:\n  - name: a\n  - just-a-name\n",
            "dependency 2: not a mapping",
        ),
        ("dependencies: {name: a}\n", "dependencies is not a list"),
        (
            "dependencies:\n  - name: a\n    tags: a\n",
            "tags is not a list",
        ),
        (
            "dependencies:\n  - name: a\n    tags: [[a]]\n",
            "tags: not a single value",
        ),
        (
            "dependencies:\n  - name: a\n    enabled: \"true\"\n",
            "enabled is not true or false",
        ),
        (
            "dependencies:\n  - name: a\n    import-values: a\n",
            "import-values is not a list",
        ),
        ("dependencies:\n  - name: [a]\n", "name: not a single value"),
        (
            "dependencies:\n  - name: a\n    alias: a.b\n",
            "alias, \"a.b\", with characters",
        ),
        (
            "dependencies:\n  - name: a\n  - name: a\n",
            "more than one dependency is named or aliased \"a\"",
        ),
        (
            "dependencies:\n  - name: a\n  - name: b\n    alias: a\n",
            "aliased \"a\"",
        ),
        ("- a\n", "not a mapping"),
        ("dependencies: [\n", "line"),
    ];
    for (text, why) in cases {
        let error = dependencies(text).expect_err(text);
        assert!(error.starts_with("Chart.yaml: "), "{error}");
        assert!(error.contains(why), "{text:?}: {error}");
    }
    // One name twice is fine under different aliases.
    let twice = "dependencies:\n  - name: a\n    alias: one\n  - name: a\n    alias: two\n";
    assert_eq!(dependencies(twice).unwrap().len(), 2);
}

#[test]
fn refuses_a_lock_that_is_not_one() {
    for (text, why) in [
        ("", "Chart.lock: empty"),
        ("- a", "Chart.lock: not a mapping"),
        ("dependencies: a\ndigest: x\n", "dependencies is not a list"),
        ("dependencies:\n  - ~\n", "dependency 1: empty"),
        ("digest: [a]\n", "digest: not a single value"),
    ] {
        let error = lock(text).expect_err(text);
        assert!(error.contains(why), "{text:?}: {error}");
    }
    // helm writes no digest for nothing; an absent one is empty.
    assert_eq!(lock("dependencies: []\n").unwrap(), Lock::default());
}

#[test]
fn a_lock_in_sync_passes() {
    for (chart_yaml, chart_lock) in [
        (PLAIN_CHART, PLAIN_LOCK),
        (FULL_CHART, FULL_LOCK),
        (CONVERTED_CHART, CONVERTED_LOCK),
    ] {
        let requested = dependencies(&chart(chart_yaml)).unwrap();
        check_lock(&requested, &lock(chart_lock).unwrap()).unwrap();
    }
}

#[test]
fn a_lock_out_of_sync_is_refused() {
    let lock = lock(FULL_LOCK).unwrap();
    let mut requested = dependencies(&chart(FULL_CHART)).unwrap();
    requested[2].version = Some("^0.4.0".to_string());
    let error = check_lock(&requested, &lock).unwrap_err();
    let expected = lock_digest(&requested, &lock.dependencies);
    assert_eq!(
        error,
        format!(
            "Chart.lock is out of sync with Chart.yaml (its digest is \
                 sha256:21357f04358ff5634e7bd7d7bc3e05c75de71874a3b1a045b8eafa4699aa3f40, \
                 Chart.yaml's dependencies give {expected}): run `helm dependency update` and \
                 commit Chart.lock"
        )
    );
    // A changed lock is as stale as a changed Chart.yaml.
    let requested = dependencies(&chart(FULL_CHART)).unwrap();
    let mut edited = lock.clone();
    edited.dependencies[0].version = Some("1.4.3".to_string());
    assert!(
        check_lock(&requested, &edited)
            .unwrap_err()
            .contains("out of sync")
    );
}

#[test]
fn a_dependency_missing_from_the_lock_is_named() {
    let lock = lock(PLAIN_LOCK).unwrap();
    let mut requested = dependencies(PLAIN_CHART).unwrap();
    requested.push(Dependency {
        name: "redis".to_string(),
        version: Some("^18".to_string()),
        repository: "https://charts.example.com".to_string(),
        ..Dependency::default()
    });
    assert_eq!(
        check_lock(&requested, &lock).unwrap_err(),
        "Chart.lock has no entry for the dependency \"redis\" of Chart.yaml: run `helm \
             dependency update` and commit Chart.lock"
    );
}

#[test]
fn repository_names_are_hashed_as_the_lock_resolved_them() {
    // helm hashes `@stable` as the URL its repository list maps it to, and locks that URL.
    let url = "https://charts.example.com/stable";
    let requested = vec![Dependency {
        name: "db".to_string(),
        version: Some("~1.2".to_string()),
        repository: "@stable".to_string(),
        ..Dependency::default()
    }];
    let locked = vec![Dependency {
        name: "db".to_string(),
        version: Some("1.2.7".to_string()),
        repository: url.to_string(),
        ..Dependency::default()
    }];
    let mut resolved = requested.clone();
    resolved[0].repository = url.to_string();
    let lock = Lock {
        digest: lock_digest(&resolved, &locked),
        dependencies: locked,
    };
    check_lock(&requested, &lock).unwrap();
    let mut aliased = requested.clone();
    aliased[0].repository = "alias:stable".to_string();
    check_lock(&aliased, &lock).unwrap();
    // Spelled as the URL itself it hashes the same.
    check_lock(&resolved, &lock).unwrap();
}

#[test]
fn writes_json_as_go_does() {
    let dependency = Dependency {
        name: "a<b>&c".to_string(),
        version: Some(String::new()),
        repository: String::new(),
        condition: None,
        tags: vec!["\"q\"\\\n\r\t\u{8}\u{c}\u{1}\u{7f}\u{2028}\u{2029}é".to_string()],
        enabled: Some(false),
        import_values: vec![json!({"b": [1, 2.5, 1e21, 1e-7, null], "a": {"d": 1, "c": 0}})],
        alias: Some(String::new()),
    };
    let mut out = String::new();
    write_dependency(&mut out, &dependency);
    assert_eq!(
        out,
        "{\"name\":\"a\\u003cb\\u003e\\u0026c\",\"repository\":\"\",\
             \"tags\":[\"\\\"q\\\"\\\\\\n\\r\\t\\b\\f\\u0001\u{7f}\\u2028\\u2029é\"],\
             \"import-values\":[{\"a\":{\"c\":0,\"d\":1},\"b\":[1,2.5,1e+21,1e-7,null]}]}"
    );
    let enabled = Dependency {
        enabled: Some(true),
        ..Dependency::default()
    };
    let mut out = String::new();
    write_dependency(&mut out, &enabled);
    assert_eq!(out, "{\"name\":\"\",\"repository\":\"\",\"enabled\":true}");
}

#[test]
fn floats_print_as_go_prints_them() {
    let float32 = [
        (1.1, "1.1"),
        (1.10, "1.1"),
        (2.0, "2"),
        (1e6, "1e+06"),
        (999_999.0, "999999"),
        (1_234_567.0, "1.234567e+06"),
        (0.00001, "1e-05"),
        (0.0001, "0.0001"),
        (0.000_123_4, "0.0001234"),
        (16_777_217.0, "1.6777216e+07"),
        (-0.5, "-0.5"),
        (0.1, "0.1"),
        (3.402_823_5e38, "3.4028235e+38"),
        (1e-45, "1e-45"),
        (1e-50, "0"),
        (0.0, "0"),
        (-0.0, "-0"),
        (1e39, "+Inf"),
    ];
    for (value, expected) in float32 {
        assert_eq!(go_float32_g(value), expected, "{value}");
    }
    let float64 = [
        (json!(1e21), "1e+21"),
        (json!(1e-7), "1e-7"),
        (json!(1.5e-10), "1.5e-10"),
        (json!(1.5e300), "1.5e+300"),
        (json!(0.000001), "0.000001"),
        (json!(1e20), "100000000000000000000"),
        (
            json!(12_345_678_901_234_567_890_u64),
            "12345678901234567000",
        ),
        (json!(3), "3"),
        (json!(-3), "-3"),
        (json!(1.0), "1"),
        (json!(-0.5), "-0.5"),
        (json!(0.1), "0.1"),
    ];
    for (value, expected) in float64 {
        let Value::Number(number) = &value else {
            panic!("{value}")
        };
        assert_eq!(go_float64_json(number), expected, "{value}");
    }
}

#[test]
fn serializes_with_helms_field_names() {
    let dependency = Dependency {
        name: "db".to_string(),
        repository: "https://x".to_string(),
        import_values: vec![json!("data")],
        ..Dependency::default()
    };
    let value = serde_json::to_value(&dependency).unwrap();
    assert_eq!(
        value,
        json!({"name": "db", "repository": "https://x", "import-values": ["data"]})
    );
    assert_eq!(
        serde_json::from_value::<Dependency>(value).unwrap(),
        dependency
    );
}
