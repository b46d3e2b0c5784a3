use super::*;
use crate::lint::FailOn;
use crate::lint::Severity;
use crate::report::DEFAULT_COMMENT_SIZE;
use crate::source::Source;

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
