use super::*;
use crate::settings::HookProvider;
use crate::source::Source;

fn parse_text(text: &str) -> Result<AgentSettings> {
    parse(Path::new("agent.yaml"), text, &Overrides::default())
}

fn error_of(text: &str) -> String {
    match parse_text(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

const FULL: &str = "\
apiVersion: driftless.dev/v1alpha1
kind: AgentConfig
listen: 127.0.0.1:9090
inventoryNamespace: platform-system
sets:
  - name: platform
    source:
      git:
        url: https://git.example.com/platform.git
        revision: main
        path: clusters/prod
      exclude: ['**/secrets.yaml']
    interval: 30s
    timeout: 5m
    prune:
      enabled: true
      maxPrune: 10
    namespaceOverrides:
      mlops-training:
        prune: false
      scratch:
        suspend: true
  - name: monitoring
    source:
      directory: /manifests/monitoring
    namespaces: [mlops-monitoring]
";

#[test]
fn a_full_config_becomes_settings() {
    let agent = parse_text(FULL).unwrap();
    assert_eq!(agent.listen.to_string(), "127.0.0.1:9090");
    assert_eq!(agent.sets.len(), 2);
    let platform = &agent.sets[0];
    assert_eq!(platform.sync.set.name.to_string(), "platform");
    assert_eq!(platform.sync.set.inventory_namespace, "platform-system");
    assert_eq!(platform.interval, Duration::from_secs(30));
    assert_eq!(platform.timeout, Some(Duration::from_secs(300)));
    assert_eq!(
        platform.source.describe(),
        "https://git.example.com/platform.git (path clusters/prod)"
    );
    assert_eq!(platform.source_options.filter.exclude, ["**/secrets.yaml"]);
    let prune = platform.sync.prune.as_ref().unwrap();
    assert_eq!(prune.budget, Budget::Count(10));
    assert!(prune.unpruned_namespaces.contains("mlops-training"));
    assert_eq!(
        platform.sync.scope,
        Scope::AllExcept(["scratch".to_string()].into())
    );
    let monitoring = &agent.sets[1];
    assert_eq!(monitoring.interval, DEFAULT_INTERVAL);
    assert!(monitoring.sync.prune.is_none(), "pruning is opt-in");
    assert_eq!(
        monitoring.sync.scope,
        Scope::Namespaces(["mlops-monitoring".to_string()].into())
    );
    assert!(matches!(monitoring.source, Source::Dir(_)));
}

#[test]
fn flags_win_over_the_file() {
    let overrides = Overrides {
        listen: Some("0.0.0.0:1234".parse().unwrap()),
        interval: Some(Duration::from_secs(5)),
        inventory_namespace: Some("elsewhere".into()),
        identity: Some("pod-a".into()),
        ..Overrides::default()
    };
    let agent = parse(Path::new("agent.yaml"), FULL, &overrides).unwrap();
    assert_eq!(agent.listen.port(), 1234);
    assert_eq!(agent.identity, "pod-a");
    assert!(
        agent
            .sets
            .iter()
            .all(|s| s.interval == Duration::from_secs(5))
    );
    assert!(
        agent
            .sets
            .iter()
            .all(|s| s.sync.set.inventory_namespace == "elsewhere")
    );
}

#[test]
fn errors_name_the_file_and_line() {
    let typo = "sets:\n  - name: a\n    source:\n      directory: /m\n    intervall: 30s\n";
    let e = error_of(typo);
    assert!(e.starts_with("config agent.yaml:5:"), "{e}");
    assert!(e.contains("intervall"), "{e}");

    let bad = "sets:\n  - name: a\n    source:\n      directory: /m\n    interval: soon\n";
    let e = error_of(bad);
    assert!(
        e.starts_with("config agent.yaml:5: interval: invalid duration"),
        "{e}"
    );

    let twice = "sets:\n  - name: a\n    source: {directory: /m}\n  - name: a\n    source: {directory: /n}\n";
    let e = error_of(twice);
    assert!(
        e.starts_with("config agent.yaml:4:") && e.contains("defined twice (first at line 2)"),
        "{e}"
    );

    let both =
        "sets:\n  - name: a\n    source:\n      directory: /m\n      git: {url: https://h/r.git}\n";
    let e = error_of(both);
    assert!(
        e.contains("agent.yaml:4") && e.contains("one of `git:`, `directory:` or `oci:`"),
        "{e}"
    );

    let budget = "sets:\n  - name: a\n    source: {directory: /m}\n    prune:\n      enabled: true\n      maxPrune: lots\n";
    let e = error_of(budget);
    assert!(
        e.starts_with("config agent.yaml:6:") && e.contains("prune budget"),
        "{e}"
    );

    let name = "sets:\n  - name: Not_Valid\n    source: {directory: /m}\n";
    assert!(error_of(name).starts_with("config agent.yaml:2:"));

    assert!(error_of("sets: []\n").contains("no sync sets"));
    assert!(error_of("kind: Deployment\nsets: []\n").contains("kind \"Deployment\""));
}

#[test]
fn credentials_stay_out_of_the_file() {
    let inline =
        "sets:\n  - name: a\n    source:\n      git: {url: 'https://bot:ghp_secret@h/r.git'}\n";
    let e = error_of(inline);
    assert!(
        e.contains("holds a password") && !e.contains("ghp_secret"),
        "{e}"
    );

    // A Secret mounted later: the config stands, the fetch fails until the file appears.
    let missing = "sets:\n  - name: a\n    source:\n      git: {url: https://h/r.git, tokenFile: /nonexistent/token}\n";
    assert!(parse_text(missing).is_ok());
}

#[test]
fn the_shipped_configs_are_valid() {
    for (path, text) in [
        (
            "deploy/base/config.yaml",
            include_str!("../../../deploy/base/config.yaml"),
        ),
        (
            "examples/platform-repo/.driftless/agent.yaml",
            include_str!("../../../examples/platform-repo/.driftless/agent.yaml"),
        ),
    ] {
        let agent = parse(Path::new(path), text, &Overrides::default());
        assert!(agent.is_ok(), "{path}: {:?}", agent.err());
    }
}

#[test]
fn overrides_must_name_managed_namespaces() {
    let text = "sets:\n  - name: a\n    source: {directory: /m}\n    namespaces: [x]\n    namespaceOverrides:\n      y: {prune: false}\n";
    let e = error_of(text);
    assert!(
        e.starts_with("config agent.yaml:6:") && e.contains("not in `namespaces:`"),
        "{e}"
    );
}

#[test]
fn git_caches_are_per_set() {
    let text = "cacheDir: /cache\nsets:\n  - name: a\n    source: {git: {url: https://h/r.git}}\n  - name: b\n    source: {git: {url: https://h/r.git}}\n";
    let agent = parse_text(text).unwrap();
    let dirs: Vec<String> = agent
        .sets
        .iter()
        .map(|s| match &s.source {
            Source::Git(g) => g.cache_dir().display().to_string(),
            _ => unreachable!(),
        })
        .collect();
    assert!(
        dirs[0].starts_with("/cache/a/") && dirs[1].starts_with("/cache/b/"),
        "{dirs:?}"
    );
}

#[test]
fn a_webhook_names_its_provider_and_secret_file_and_listens_apart() {
    let text = "\
sets:
  - name: platform
    source: {directory: /m}
    webhook: {provider: gitlab, secretFile: /etc/hook/secret}
  - name: plain
    source: {directory: /n}
";
    let agent = parse_text(text).unwrap();
    assert_eq!(
        agent.sets[0].webhook,
        Some(WebhookSettings {
            provider: HookProvider::GitLab,
            secret_file: "/etc/hook/secret".into(),
        })
    );
    assert_eq!(agent.sets[1].webhook, None);
    assert_eq!(agent.hook_listen.to_string(), DEFAULT_HOOK_LISTEN);
    let wrong = text.replace("gitlab", "bitbucket");
    let error = error_of(&wrong);
    assert!(
        error.contains("agent.yaml:4") && error.contains("bitbucket"),
        "{error}"
    );
    let error = error_of(&text.replace("secretFile", "secret"));
    assert!(error.contains("agent.yaml:4"), "{error}");
}

#[test]
fn the_hook_endpoint_others_reach_is_the_hook_address_unless_given() {
    let listen: SocketAddr = "127.0.0.1:9292".parse().unwrap();
    assert_eq!(advertise(None, listen).as_deref(), Some("127.0.0.1:9292"));
    assert_eq!(
        advertise(Some("10.1.2.3:9292".into()), listen).as_deref(),
        Some("10.1.2.3:9292")
    );
}

#[test]
fn renderers_come_from_the_set_and_flags_win() {
    let text = "\
sets:
  - name: platform
    source:
      directory: /m
      render:
        helmBinary: /opt/helm
        kustomizeBinary: /opt/kubectl
        timeout: 2m
        helm: {releaseName: platform, set: [image.tag=2]}
";
    let agent = parse_text(text).unwrap();
    let render = &agent.sets[0].render;
    assert_eq!(render.tools.helm.as_deref(), Some(Path::new("/opt/helm")));
    assert_eq!(render.timeout, Duration::from_secs(120));
    assert_eq!(render.helm.release_name.as_deref(), Some("platform"));
    assert_eq!(render.helm.set, ["image.tag=2"]);
    let overrides = Overrides {
        tools: crate::render::renderers::Tools {
            helm: Some("/usr/local/bin/helm".into()),
            kustomize: None,
        },
        ..Overrides::default()
    };
    let agent = parse(Path::new("agent.yaml"), text, &overrides).unwrap();
    let tools = &agent.sets[0].render.tools;
    assert_eq!(
        tools.helm.as_deref(),
        Some(Path::new("/usr/local/bin/helm"))
    );
    assert_eq!(tools.kustomize.as_deref(), Some(Path::new("/opt/kubectl")));
    let error = error_of(&text.replace("releaseName", "release"));
    assert!(error.contains("agent.yaml:9"), "{error}");
}

/// Each error names the line of the key that is wrong, however deep or flowed it is.
#[test]
fn errors_name_the_line_of_the_wrong_key() {
    let set = "sets:\n  - name: a\n";
    // A set whose source is flowed on one line (line 3), or a block (lines 3-4).
    let flowed = format!("{set}    source: {{directory: /m}}\n");
    let block = format!("{set}    source:\n      directory: /m\n");
    let cases = [
        // Unknown keys, at every level.
        ("bogus: 1\nsets: []\n".to_string(), 1, "unknown key `bogus`"),
        (format!("{flowed}    bogus: 1\n"), 4, "unknown key `bogus`"),
        (format!("{block}      bogus: 1\n"), 5, "unknown key `bogus`"),
        (
            format!(
                "{set}    source:\n      git:\n        url: https://h/r.git\n        tokenfile: /t\n"
            ),
            6,
            "unknown key `tokenfile`",
        ),
        (
            format!("{flowed}    prune: {{enabled: true,\n      maxprune: 3}}\n"),
            5,
            "unknown key `maxprune`",
        ),
        (
            format!("{flowed}    namespaceOverrides:\n      x:\n        bogus: true\n"),
            6,
            "unknown key `bogus`",
        ),
        (
            format!("{block}      render:\n        helm:\n          release: x\n"),
            7,
            "unknown key `release`",
        ),
        // Bad durations, under every key that takes one.
        (
            format!("requestTimeout: soon\n{flowed}"),
            1,
            "requestTimeout: invalid duration",
        ),
        (
            format!("{block}      fetchTimeout: 2d\n"),
            5,
            "fetchTimeout: invalid duration",
        ),
        (
            format!("{block}      render:\n        timeout: soon\n"),
            6,
            "render.timeout: invalid duration",
        ),
        (
            format!("{flowed}    interval: 1 minute\n"),
            4,
            "interval: invalid duration",
        ),
        (format!("{flowed}    interval: 100ms\n"), 4, "at least 1s"),
        (
            format!("{flowed}    timeout: 5x\n"),
            4,
            "timeout: invalid duration",
        ),
        (
            format!("{flowed}    resyncInterval: soon\n"),
            4,
            "resyncInterval: invalid duration",
        ),
        // A bad set name, wherever the key is in its item.
        (
            "sets:\n  - source: {directory: /m}\n    interval: 30s\n    name: Bad_Name\n"
                .to_string(),
            4,
            "invalid sync set name",
        ),
        (
            format!("{flowed}  - source: {{directory: /n}}\n    name: -b\n"),
            5,
            "invalid sync set name",
        ),
    ];
    for (text, line, what) in cases {
        let e = error_of(&text);
        let at = format!("config agent.yaml:{line}: ");
        assert!(
            e.starts_with(&at) && e.contains(what),
            "{text}\n-> {e}\n   wanted {at}...{what}"
        );
    }
}

#[test]
fn decryption_is_sops_with_an_age_key_file() {
    let text = "sets:\n  - name: a\n    source: {directory: /m}\n    decryption:\n      provider: sops\n      ageKeyFile: /etc/driftless-sops/keys.txt\n      kinds: [ConfigMap]\n";
    let agent = parse_text(text).unwrap();
    let decryption = &agent.sets[0].render.decryption;
    assert_eq!(
        decryption.age_key_files,
        [PathBuf::from("/etc/driftless-sops/keys.txt")]
    );
    assert_eq!(decryption.kinds, ["ConfigMap"]);
    assert!(
        !decryption.sealed_without_key,
        "an agent never applies sealed values"
    );
    let e = error_of(&text.replace("provider: sops", "provider: vault"));
    assert!(
        e.starts_with("config agent.yaml:5:") && e.contains("the one provider is sops"),
        "{e}"
    );
    let e = error_of(&text.replace("      ageKeyFile: /etc/driftless-sops/keys.txt\n", ""));
    assert!(e.contains("ageKeyFile"), "{e}");
}
