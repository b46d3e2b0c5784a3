use super::*;
use clap::Parser;

/// The error for `driftless ARGS`, if any; panics on a clap (usage) error.
fn refusal(args: &str) -> Option<String> {
    let argv = std::iter::once("driftless").chain(args.split_whitespace());
    match Cli::parse_checked_from(argv) {
        Ok(_) => None,
        Err(ArgsError::NotApplicable(why)) => Some(why),
        Err(ArgsError::Clap(e)) => panic!("{args}: clap refused it: {e}"),
    }
}

#[test]
fn flags_that_do_not_apply_are_refused_naming_the_flag_and_why() {
    let cases = [
        // Git-only flags on a directory.
        (
            "render --source dir --path env/prod",
            "--path applies to Git sources and OCI artifacts, and dir is a directory; for a directory pass --source DIR/SUB",
        ),
        (
            "diff --source dir --revision main",
            "--revision applies to Git sources, and dir is a directory",
        ),
        (
            "diff --source oci://r.example.com/app:v1 --revision main",
            "--revision applies to Git sources, and oci://r.example.com/app:v1 is an OCI artifact: name its tag",
        ),
        (
            "diff --source dir --oci-layer-media-type application/x",
            "--oci-layer-media-type applies to OCI artifacts, and dir is a directory",
        ),
        (
            "sync --source dir --watch --interval 1m",
            "--interval paces --watch's polls of a Git source or an OCI artifact",
        ),
        (
            "sync --source dir --git-token-file t",
            "--git-token-file applies to Git over https, and dir is a directory",
        ),
        (
            "sync --source dir --git-username bot",
            "--git-username applies to Git over https or ssh",
        ),
        // Credentials of another transport.
        (
            "diff --source https://h/r.git --git-ssh-key-file k",
            "--git-ssh-key-file applies to Git over ssh, and https://h/r.git is Git over https",
        ),
        (
            "diff --source https://h/r.git --git-known-hosts-file k",
            "--git-known-hosts-file applies to Git over ssh",
        ),
        (
            "diff --source https://h/r.git --git-insecure-skip-host-key-check",
            "--git-insecure-skip-host-key-check applies to Git over ssh",
        ),
        (
            "diff --source git@h:r.git --git-token-file t",
            "--git-token-file applies to Git over https, and git@h:r.git is Git over ssh",
        ),
        (
            "diff --source file:///r --git-username bot",
            "--git-username applies to Git over https or ssh, and file:///r is a local Git repository",
        ),
        // Modes.
        (
            "diff --source d --interval 1m",
            "--interval applies with --watch",
        ),
        (
            "diff --source d --watch --interval 1m",
            "--interval paces --watch's polls of a Git source",
        ),
        (
            "sync --source d --wait-timeout 1m",
            "--wait-timeout applies with --wait",
        ),
        (
            "sync --source d --dry-run --wait",
            "--wait waits after a sync that writes",
        ),
        (
            "diff --source d --lock-timeout 2m",
            "--lock-timeout applies to a sync that writes",
        ),
        (
            "sync --dry-run --source d --crd-timeout 2m",
            "--crd-timeout applies to a sync that writes",
        ),
        // Prune tuning without --prune.
        (
            "sync --source d --prune-propagation orphan",
            "--prune-propagation applies with --prune",
        ),
        (
            "sync --source d --prune-namespaces",
            "--prune-namespaces applies with --prune",
        ),
        (
            "sync --source d --prune-crds",
            "--prune-crds applies with --prune",
        ),
        (
            "sync --source d --max-prune 10",
            "--max-prune applies with --prune",
        ),
        (
            "sync --source d --allow-empty",
            "--allow-empty applies with --prune",
        ),
        (
            "diff --source d --prune --prune-propagation orphan",
            "--prune-propagation applies to a sync that deletes",
        ),
        // Markdown-only flags with another -o.
        (
            "diff --source d --max-comment-size 100",
            "--max-comment-size applies to -o markdown",
        ),
        (
            "lint --source d -o json --report-url https://ci/1",
            "--report-url applies to -o markdown",
        ),
        // Cluster flags where no cluster is used.
        (
            "render --source d --kubeconfig k",
            "--kubeconfig does not apply: render uses no cluster",
        ),
        (
            "--context c lint --source d",
            "--context does not apply: lint uses no cluster",
        ),
        (
            "diff --source d --base-source e --request-timeout 5s",
            "--request-timeout does not apply: an offline preview",
        ),
        (
            "diff --source d --base-source e --field-manager m",
            "--field-manager does not apply: an offline preview",
        ),
        (
            "sync --dry-run --source d --base-source e --verify",
            "--verify does not apply: an offline preview",
        ),
        (
            "diff --source d --base-source e --concurrency 4",
            "--concurrency does not apply: an offline preview",
        ),
        (
            "diff --source d --base-source e --prune",
            "--prune does not apply: an offline preview",
        ),
        (
            "render --source d -n team",
            "--namespace does not apply: render",
        ),
        (
            "agent --config c -n team",
            "--namespace does not apply to the agent",
        ),
        // An offline base where no preview runs.
        (
            "sync --source d --base-source e",
            "--base-source previews offline: use it with diff (or sync --dry-run)",
        ),
        (
            "diff --watch --source d --base-source e",
            "--base-source does not combine with --watch",
        ),
        (
            "sync --dry-run --watch --source https://h/r.git --base main",
            "--base does not combine with --watch",
        ),
    ];
    for (args, expected) in cases {
        let why = refusal(args).unwrap_or_else(|| panic!("accepted: {args}"));
        assert!(
            why.starts_with(expected),
            "{args}:\n  {why}\n  wanted {expected}"
        );
    }
}

#[test]
fn flags_that_apply_are_accepted() {
    for args in [
        "render --source https://h/r.git --revision v1 --path env/prod --cache-dir /c --git-token-file /t --git-username bot",
        "diff --source git@h:org/r.git --git-ssh-key-file k --git-ssh-passphrase-file p --git-known-hosts-file kh --git-username git",
        "diff --source ssh://h/r.git --git-insecure-skip-host-key-check",
        "diff --source file:///srv/r.git --revision main --path env --cache-dir /c",
        // A directory against a Git base: --path and the cache are the base's.
        "diff --source dir --base-source https://h/r.git --base main --path env --cache-dir /c",
        "diff --source https://h/r.git --watch --interval 1m --timeout 5m",
        "sync --source d --wait --wait-timeout 1m --lock-timeout 2m --crd-timeout 90s",
        "sync --source d --prune --prune-propagation orphan --prune-namespaces --prune-crds --max-prune 10 --allow-empty",
        "diff --source d --prune --max-prune 10 --allow-empty --prune-namespaces",
        "diff --source d --base-source e --prune-namespaces --prune-crds -n team --name shop",
        "diff --source d -o markdown --max-comment-size 100 --report-url https://ci/1 --report-file r.md",
        "lint --source d -n team -o sarif --fail-on high --report-file r.sarif",
        "sync --dry-run --source d --base-source e",
        "--kubeconfig k --context c --request-timeout 10s --field-manager m diff --source d --verify --adopt",
        "agent --config c --kubeconfig k --cache-dir /c --interval 1m --inventory-namespace x",
        "render --source d -v --log-format json",
        // Remote charts may be in any source; their cache is --cache-dir's.
        "lint --source dir --cache-dir /c --allow-host charts.example.com --registry-config c.json",
        "diff --source oci://r.example.com/app:v1 --path env --oci-layer-media-type application/x --watch --interval 1m",
        "sync --source d --remote-auth h=/s --remote-ca-file ca.pem",
    ] {
        assert_eq!(refusal(args), None, "{args}");
    }
}

/// What the environment sets is ambient: a setting that does not apply is ignored, and a base
/// where no preview runs is dropped (the sync runs against the cluster).
#[test]
fn the_same_settings_from_the_environment_are_ignored() {
    for args in [
        "render --source d --path p --revision r --kubeconfig k -n x",
        "diff --source d --interval 1m --lock-timeout 1m --max-comment-size 5",
        "sync --source d --wait-timeout 1m --max-prune 3 --git-token-file t",
        "sync --dry-run --source d --wait",
        "agent --config c -n team",
    ] {
        let argv = std::iter::once("driftless").chain(args.split_whitespace());
        let mut cli = Cli::try_parse_from(argv).unwrap();
        assert!(cli.check(&BTreeSet::new()).is_ok(), "{args}");
    }
    for args in [
        "sync --source d --base-source e --base main",
        "diff --watch --source d --base-source e",
    ] {
        let argv = std::iter::once("driftless").chain(args.split_whitespace());
        let mut cli = Cli::try_parse_from(argv).unwrap();
        cli.check(&BTreeSet::new()).unwrap();
        let (run, _) = cli.run_args().unwrap();
        assert!(!run.base.is_set(), "{args}: the base is dropped");
    }
    let mut cli =
        Cli::try_parse_from(["driftless", "diff", "--source", "d", "--base-source", "e"]).unwrap();
    cli.check(&BTreeSet::new()).unwrap();
    assert!(
        cli.run_args().unwrap().0.base.is_set(),
        "a diff keeps its base"
    );
}

#[test]
fn every_flag_a_rule_names_is_a_flag() {
    let ids: BTreeSet<String> = std::iter::once(Cli::command())
        .chain(Cli::command().get_subcommands().cloned())
        .flat_map(|c| {
            c.get_arguments()
                .map(|a| a.get_id().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    for (flags, _) in RULES {
        for flag in *flags {
            assert!(ids.contains(*flag), "{flag} is no argument id");
        }
    }
}
