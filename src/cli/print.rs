//! How a report reaches its reader: stdout in the chosen format (a Markdown comment within its
//! budget), the whole of it in `--report-file`, and the line an interrupted run ends with.

use super::CommandError;
use super::ReportArgs;
use super::output;
use crate::report::{self, Format, MarkdownOptions, Mode, Outcome, Report};

/// Prints the report in `format` (Markdown within its budget) and, with --report-file, writes
/// the whole of it there.
pub fn print_report(
    report: &Report,
    format: Format,
    args: &ReportArgs,
) -> Result<(), CommandError> {
    match format {
        Format::Markdown => output::print(&report::render_markdown_with(
            report,
            &args.markdown_options(),
        ))?,
        Format::Text if report.mode == Mode::Preview => {
            // stdout stays a pure patch, as with `kubectl diff`.
            output::print(&report::render_diffs(report))?;
            output::talk(&report::render_summary(report));
        }
        other => output::print(&whole(report, other))?,
    }
    if let Some(path) = &args.report_file {
        let text = whole(report, format);
        std::fs::write(path, crate::redact::scrub(&text).as_bytes()).map_err(|reason| {
            CommandError::ReportFile {
                path: path.clone(),
                reason,
            }
        })?;
    }
    Ok(())
}

/// The whole report in `format`, never shortened.
fn whole(report: &Report, format: Format) -> String {
    match format {
        Format::Json => report::render_json(report),
        Format::Sarif => report::render_sarif(report),
        Format::Markdown => report::render_markdown_with(report, &MarkdownOptions::unlimited()),
        Format::Text if report.mode == Mode::Preview => {
            report::render_diffs(report) + &report::render_summary(report)
        }
        Format::Text => report::render_summary(report),
    }
}

/// `interrupted: 12 applied, 3 pruned, 40 not attempted`.
pub fn interrupted_line(report: &Report) -> String {
    let applied = report.count(Outcome::Created) + report.count(Outcome::Configured);
    format!(
        "interrupted: {applied} applied, {} pruned, {} not attempted",
        report.count(Outcome::Pruned),
        report.count(Outcome::NotAttempted)
    )
}
