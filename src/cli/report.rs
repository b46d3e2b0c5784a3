//! Flags for what a run prints: `render` and `lint` output, and report formats.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::lint::{FailOn, LintSettings};
use crate::report::{DEFAULT_COMMENT_SIZE, Format, MarkdownOptions};

use super::source::{BaseArgs, SourceArgs};

#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// yaml (documents with `# Source:` comments) or json.
    #[arg(short, long, value_enum, default_value_t = RenderFormat::Yaml)]
    pub output: RenderFormat,
    /// Print Secret values (decrypted ones included) instead of `***`. For a terminal, never a
    /// log.
    #[arg(long)]
    pub show_secrets: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RenderFormat {
    Yaml,
    Json,
}

/// `driftless lint`: the source, an optional base, and the report.
#[derive(Debug, Args)]
pub struct LintArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub base: BaseArgs,
    #[command(flatten)]
    pub report: ReportArgs,
    /// Output format: text, markdown (a PR comment), json or sarif (code scanning).
    #[arg(short, long, env = "DRIFTLESS_OUTPUT", value_enum, default_value_t = Format::Text)]
    pub output: Format,
}

/// Lint findings in reports, and the report's size and copy.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// Fail on lint findings at or above this severity (never, low, medium, high, critical):
    /// `diff` exits 2, `sync` applies nothing, `lint` exits 1. Default: the repository's
    /// failOn, else never (`lint`: low).
    #[arg(long, env = "DRIFTLESS_FAIL_ON", value_parser = clap::value_parser!(FailOn))]
    pub fail_on: Option<FailOn>,
    /// Most characters a Markdown report takes: what does not fit shrinks from diffs to changed
    /// fields to names, and the comment says what it left out.
    #[arg(long, env = "DRIFTLESS_MAX_COMMENT_SIZE", default_value_t = DEFAULT_COMMENT_SIZE)]
    pub max_comment_size: usize,
    /// Also write the whole report, in the --output format and never shortened, to this file
    /// (for a CI artifact).
    #[arg(long, env = "DRIFTLESS_REPORT_FILE")]
    pub report_file: Option<PathBuf>,
    /// Where readers find the whole report (a CI artifact's URL): a shortened comment names it.
    #[arg(long, env = "DRIFTLESS_REPORT_URL")]
    pub report_url: Option<String>,
}

impl ReportArgs {
    /// How a run lints: `default_fail_on` unless the flag or the repository says otherwise.
    pub fn lint_settings(
        &self,
        source: &SourceArgs,
        default_fail_on: FailOn,
        default_namespace: Option<String>,
    ) -> LintSettings {
        LintSettings {
            fail_on: self.fail_on,
            default_fail_on,
            default_namespace,
            root: source.lint_root(),
        }
    }

    /// The comment's budget, and where the whole report is.
    pub fn markdown_options(&self) -> MarkdownOptions {
        let file = self
            .report_file
            .as_ref()
            .map(|f| format!("`{}`", f.display()));
        MarkdownOptions {
            max_size: self.max_comment_size,
            full_report: self.report_url.clone().or(file),
        }
    }
}
