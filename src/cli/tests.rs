use super::*;
use crate::source::Source;

fn parse(args: &[&str]) -> Cli {
    Cli::try_parse_from(args).unwrap()
}

#[test]
fn diff_is_sync_dry_run() {
    let diff = parse(&["driftless", "diff", "--source", "d"]);
    let sync = parse(&["driftless", "sync", "--dry-run", "--source", "d", "-n", "x"]);
    assert!(diff.sync_options().previews() && sync.sync_options().previews());
    assert_eq!(sync.sync_options().default_namespace.as_deref(), Some("x"));
    assert_eq!(diff.sync_options().concurrency, 8);
    assert_eq!(diff.connect_options().field_manager, "driftless");
}

#[test]
fn durations_read_as_kubectl_writes_them() {
    let cli = parse(&["driftless", "sync", "--source", "d", "--timeout", "10m"]);
    let Command::Sync(sync) = &cli.command else {
        panic!("sync")
    };
    assert_eq!(sync.run.timeout, Some(Duration::from_secs(600)));
    assert_eq!(
        cli.connect_options().request_timeout,
        Duration::from_secs(30)
    );
}

#[test]
fn wait_is_for_syncs_that_write() {
    let cli = parse(&["driftless", "sync", "--source", "d", "--wait"]);
    let wait = cli.sync_options().wait.unwrap();
    assert_eq!(wait.timeout, Duration::from_secs(300));
    let cli = parse(&[
        "driftless",
        "sync",
        "--source",
        "d",
        "--wait",
        "--wait-timeout",
        "30s",
    ]);
    assert_eq!(
        cli.sync_options().wait.unwrap().timeout,
        Duration::from_secs(30)
    );
    let cli = parse(&["driftless", "sync", "--source", "d"]);
    assert!(cli.sync_options().wait.is_none());
    assert!(
        Cli::parse_checked_from(["driftless", "sync", "--source", "d", "--wait", "--dry-run"])
            .is_err()
    );
    assert!(Cli::try_parse_from(["driftless", "diff", "--source", "d", "--wait"]).is_err());
}

#[test]
fn concurrency_must_be_positive() {
    assert!(
        Cli::try_parse_from(["driftless", "sync", "--source", "d", "--concurrency", "0"]).is_err()
    );
}

#[test]
fn git_urls_become_git_sources() {
    let cli = parse(&[
        "driftless",
        "diff",
        "--source",
        "https://u:t@host/org/repo.git",
        "--revision",
        "v1",
        "--path",
        "env/prod",
    ]);
    let Command::Diff(run) = &cli.command else {
        panic!("diff")
    };
    let source = run.source.source().unwrap();
    assert!(matches!(source, Source::Git(_)));
    assert_eq!(
        source.describe(),
        "https://host/org/repo.git (path env/prod)"
    );
    let cli = parse(&[
        "driftless",
        "render",
        "--source",
        "examples/platform-repo",
        "--exclude",
        "**/secrets.yaml",
    ]);
    let Command::Render(render) = &cli.command else {
        panic!("render")
    };
    assert!(matches!(render.source.source().unwrap(), Source::Dir(_)));
    assert_eq!(render.source.options().filter.exclude, ["**/secrets.yaml"]);
}

#[test]
fn every_duration_flag_takes_units_and_a_bare_number_is_seconds() {
    let cli = parse(&[
        "driftless",
        "sync",
        "--source",
        "d",
        "--lock-timeout",
        "2m",
        "--crd-timeout",
        "90s",
        "--watch",
        "--interval",
        "1m",
    ]);
    let options = cli.sync_options();
    assert_eq!(options.lock_timeout, Duration::from_secs(120));
    assert_eq!(options.crd_timeout, Duration::from_secs(90));
    assert_eq!(
        cli.set_settings().unwrap().interval,
        Duration::from_secs(60)
    );
    let bare = parse(&[
        "driftless",
        "sync",
        "--source",
        "d",
        "--lock-timeout",
        "5",
        "--crd-timeout",
        "7",
    ]);
    assert_eq!(bare.sync_options().lock_timeout, Duration::from_secs(5));
    assert_eq!(bare.sync_options().crd_timeout, Duration::from_secs(7));
    let defaults = parse(&["driftless", "diff", "--source", "d"]);
    assert_eq!(
        defaults.sync_options().lock_timeout,
        Duration::from_secs(60)
    );
    assert_eq!(defaults.sync_options().crd_timeout, Duration::from_secs(60));
    assert_eq!(
        defaults.set_settings().unwrap().interval,
        Duration::from_secs(60)
    );
    for bad in [
        ["--lock-timeout", "soon"],
        ["--crd-timeout", "2d"],
        ["--interval", "1 minute"],
    ] {
        let args = [
            "driftless",
            "sync",
            "--source",
            "d",
            "--watch",
            bad[0],
            bad[1],
        ];
        let e = Cli::try_parse_from(args).unwrap_err().to_string();
        assert!(e.contains("invalid duration"), "{bad:?}: {e}");
    }
}

#[test]
fn an_interval_is_at_least_a_second_for_watch_and_agent_alike() {
    assert_eq!(parse_interval("1m"), Ok(Duration::from_secs(60)));
    assert_eq!(parse_interval("45"), Ok(Duration::from_secs(45)));
    assert_eq!(parse_interval("1s"), Ok(Duration::from_secs(1)));
    assert!(parse_interval("500ms").unwrap_err().contains("under 1s"));
    assert!(parse_interval("0").is_err());
    let agent = parse(&["driftless", "agent", "--config", "c", "--interval", "2m"]);
    let Command::Agent(args) = &agent.command else {
        panic!("agent")
    };
    assert_eq!(
        agent.agent_overrides(args).interval,
        Some(Duration::from_secs(120))
    );
    for command in [
        &["driftless", "diff", "--source", "d", "--watch"][..],
        &["driftless", "agent", "--config", "c"][..],
    ] {
        let mut args = command.to_vec();
        args.extend(["--interval", "500ms"]);
        let e = Cli::try_parse_from(args).unwrap_err().to_string();
        assert!(e.contains("under 1s"), "{e}");
    }
}
