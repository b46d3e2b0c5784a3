use super::*;
use crate::source::Source;

fn parse(args: &[&str]) -> Cli {
    Cli::try_parse_from(args).unwrap()
}

#[test]
fn diff_is_sync_dry_run() {
    let diff = parse(&["driftless", "diff", "--source", "d"]);
    let sync = parse(&["driftless", "sync", "--dry-run", "--source", "d", "-n", "x"]);
    assert!(diff.sync_options().dry_run && sync.sync_options().dry_run);
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
        Cli::try_parse_from(["driftless", "sync", "--source", "d", "--wait", "--dry-run"]).is_err()
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
