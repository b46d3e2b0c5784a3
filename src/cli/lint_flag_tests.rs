use super::*;
use crate::lint::FailOn;
use crate::lint::Severity;
use crate::report::DEFAULT_COMMENT_SIZE;
use crate::source::Source;
use clap::{CommandFactory, ValueEnum};

#[test]
fn lint_and_offline_preview_flags() {
    let cli =
        Cli::try_parse_from(["driftless", "diff", "--source", "d", "--base-source", "e"]).unwrap();
    let Command::Diff(run) = &cli.command else {
        panic!("diff")
    };
    assert!(run.base.is_set());
    assert_eq!(run.report.max_comment_size, DEFAULT_COMMENT_SIZE);
    assert!(matches!(
        run.base.source(&run.source),
        Ok(Some(Source::Dir(_)))
    ));
    let cli =
        Cli::try_parse_from(["driftless", "diff", "--source", "d", "--base", "main"]).unwrap();
    let Command::Diff(run) = &cli.command else {
        panic!("diff")
    };
    let e = run.base.source(&run.source).unwrap_err();
    assert!(e.contains("--base names a Git revision"), "{e}");
    let cli = Cli::try_parse_from([
        "driftless",
        "lint",
        "--source",
        "https://h/r.git",
        "--path",
        "/env/prod/",
        "--base",
        "main",
        "--fail-on",
        "high",
        "-o",
        "sarif",
        "--max-comment-size",
        "1000",
    ])
    .unwrap();
    let Command::Lint(lint) = &cli.command else {
        panic!("lint")
    };
    assert_eq!(lint.report.fail_on, Some(FailOn::At(Severity::High)));
    assert_eq!(lint.output, Format::Sarif);
    assert_eq!(lint.source.lint_root(), "env/prod");
    assert!(matches!(
        lint.base.source(&lint.source),
        Ok(Some(Source::Git(_)))
    ));
    assert!(
        Cli::try_parse_from(["driftless", "lint", "--source", "d", "--fail-on", "urgent"]).is_err()
    );
    assert!(cli.run_args().is_none());
}

/// SARIF paths are from the repository root: the source's place in it prefixes each file.
#[test]
fn the_lint_root_is_where_the_source_sits_in_its_repository() {
    let root = |source: &str, extra: &[&str]| {
        let mut args = vec!["driftless", "lint", "--source", source];
        args.extend_from_slice(extra);
        let cli = Cli::try_parse_from(args).unwrap();
        let Command::Lint(lint) = &cli.command else {
            panic!("lint")
        };
        lint.source.lint_root()
    };
    assert_eq!(
        root("https://h/r.git", &["--path", "/env/prod/"]),
        "env/prod"
    );
    assert_eq!(root("https://h/r.git", &[]), "");
    assert_eq!(
        root("examples/platform-repo", &[]),
        "examples/platform-repo"
    );
    assert_eq!(
        root("./examples/./platform-repo/", &[]),
        "examples/platform-repo"
    );
    assert_eq!(root(".", &[]), "");
    // A file's findings are at its name: its directory is the prefix.
    assert_eq!(
        root("examples/platform-repo/mlops-platform/nginx.yaml", &[]),
        "examples/platform-repo/mlops-platform"
    );
    // Nowhere in the repository: paths relative to the source.
    assert_eq!(root("/srv/manifests", &[]), "");
    assert_eq!(root("../elsewhere/manifests", &[]), "");
}

#[test]
fn the_output_help_names_every_format() {
    let command = Cli::command();
    for name in ["diff", "sync", "lint"] {
        let sub = command.find_subcommand(name).unwrap();
        let output = sub
            .get_arguments()
            .find(|a| a.get_id() == "output")
            .unwrap();
        let help = output.get_help().unwrap().to_string();
        for format in Format::value_variants() {
            let value = format.to_possible_value().unwrap();
            assert!(help.contains(value.get_name()), "{name} -o: {help}");
        }
    }
}

#[test]
fn takeover_managers_are_comma_separated_or_repeated() {
    let cli = Cli::try_parse_from([
        "driftless",
        "sync",
        "--source",
        "d",
        "--takeover-managers",
        "kubectl,helm",
        "--takeover-managers",
        "k9s",
    ])
    .unwrap();
    assert_eq!(
        cli.sync_options().takeover_managers,
        ["kubectl", "helm", "k9s"]
    );
}
