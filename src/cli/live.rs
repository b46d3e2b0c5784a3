//! `sync` and `diff` against the cluster, as far as the command line goes: the set they run,
//! and what they print of each pass. The binary drives the runner between the two.

use super::print::{interrupted_line, print_report};
use super::{Cli, CommandError, RunArgs, output};
use crate::halt::{Halt, HaltReason};
use crate::lint::{FailOn, LintSettings};
use crate::report::Report;
use crate::settings::SetSettings;

/// The sync set the run syncs or previews, and how it lints.
pub fn run_settings(
    cli: &Cli,
    args: &RunArgs,
) -> Result<(SetSettings, LintSettings), CommandError> {
    if args.inventory.namespaces_from_source {
        crate::talk!(
            "note: --namespaces-from-source is deprecated and changes nothing: a sync touches only its own sync set's objects (--name)"
        );
    }
    let settings = cli.set_settings().map_err(CommandError::Args)?;
    let lint = args.report.lint_settings(
        &args.source,
        FailOn::Never,
        cli.global.namespace.first().cloned(),
    );
    Ok((settings, lint))
}

/// The end of a single pass: its report printed, and the exit code. A run that a signal
/// stopped exits with the signal's code, its partial report printed and summed up.
pub fn finish_once(
    result: crate::Result<Report>,
    halt: &Halt,
    args: &RunArgs,
) -> Result<u8, CommandError> {
    let signal = halt.reason().and_then(HaltReason::exit_code);
    let report = match (result, signal) {
        (Ok(report), _) => report,
        (Err(e), Some(code)) => {
            crate::talk!("error: {e:#}");
            return Ok(code);
        }
        (Err(e), None) => return Err(e.into()),
    };
    print_report(&report, args.output, &args.report)?;
    if let Some(code) = signal {
        crate::talk!("{}", interrupted_line(&report));
        return Ok(code);
    }
    Ok(u8::try_from(report.exit_code()).unwrap_or(2))
}

/// What `--watch` prints of each pass: a numbered header, then its report or its error.
pub struct PassLog<'a> {
    args: &'a RunArgs,
    passes: u64,
}

impl<'a> PassLog<'a> {
    pub fn new(args: &'a RunArgs) -> PassLog<'a> {
        PassLog { args, passes: 0 }
    }

    /// Prints a pass's report. Nobody reads the next pass once stdout is closed: `halt` stops
    /// the watch between passes, as a signal does.
    pub fn report(&mut self, report: &Report, halt: &Halt) {
        self.header();
        if let Err(e) = print_report(report, self.args.output, &self.args.report) {
            crate::talk!("error: {e:#}");
        }
        if output::closed() {
            halt.halt(HaltReason::OutputClosed);
        }
    }

    pub fn failed(&mut self, error: &crate::Error) {
        self.header();
        crate::talk!("error: {error:#}");
    }

    fn header(&mut self) {
        self.passes += 1;
        crate::talk!("--- pass {} ---", self.passes);
    }
}
