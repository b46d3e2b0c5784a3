//! How a report reaches its reader: stdout in the chosen format (a Markdown comment within its
//! budget), the whole of it in `--report-file`, and the line an interrupted run ends with.

use std::io::{self, Write};

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
            output::talk_with(|err| report::write_summary(report, err));
        }
        other => output::print_with(|out| write_whole(report, other, out))?,
    }
    if let Some(path) = &args.report_file {
        write_file(path, report, format).map_err(|reason| CommandError::ReportFile {
            path: path.clone(),
            reason,
        })?;
    }
    Ok(())
}

/// The whole report in `format` into `path`, scrubbed.
fn write_file(path: &std::path::Path, report: &Report, format: Format) -> io::Result<()> {
    let mut out = crate::redact::ScrubbedStream::new(std::fs::File::create(path)?);
    write_whole(report, format, &mut out)?;
    out.flush()
}

/// The whole report in `format`, never shortened; JSON and text as they are made, the others
/// built first.
fn write_whole(report: &Report, format: Format, out: &mut dyn Write) -> io::Result<()> {
    let text = match format {
        Format::Json => return report::write_json(report, out),
        Format::Text => {
            if report.mode == Mode::Preview {
                out.write_all(report::render_diffs(report).as_bytes())?;
            }
            return report::write_summary(report, out);
        }
        Format::Sarif => report::render_sarif(report),
        Format::Markdown => report::render_markdown_with(report, &MarkdownOptions::unlimited()),
    };
    out.write_all(text.as_bytes())
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
