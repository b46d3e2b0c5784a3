//! The `driftless` binary: parse flags, start logging, run, map the result to an exit code.

use std::process::ExitCode;

use driftless::cli::{
    AgentArgs, ArgsError, Cli, Command, LintArgs, LogFormat, RenderArgs, RenderFormat, ReportArgs,
    RunArgs, output, render_output,
};
use driftless::halt::{Halt, HaltReason};
use driftless::lint::{FailOn, Severity};
use driftless::preview::{self, CompareOptions, Revisions};
use driftless::render;
use driftless::report::{self, Format, MarkdownOptions, Mode, Outcome, Report};
use driftless::runner::{PassResult, Runner};
use driftless::talk;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = match Cli::parse_checked_from(std::env::args_os()) {
        Ok(cli) => cli,
        Err(ArgsError::Clap(e)) => e.exit(),
        Err(e) => return fail(&e.into()),
    };
    // The agent is a daemon: its passes are logged at info (one line each) from the start.
    let agent = matches!(cli.command, Command::Agent(_));
    init_tracing(cli.global.verbose, agent, cli.global.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return fail(&anyhow::Error::new(e).context("cannot start the async runtime")),
    };
    let result = runtime.block_on(run(cli));
    // A Git fetch that stopped answering may still hold a blocking thread: it is not waited on.
    runtime.shutdown_background();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => fail(&e),
    }
}

async fn run(cli: Cli) -> anyhow::Result<u8> {
    let args = match &cli.command {
        Command::Render(render_args) => return render_only(render_args).await,
        Command::Agent(agent) => return run_agent(&cli, agent).await,
        Command::Lint(lint_args) => return lint_only(&cli, lint_args).await,
        Command::Sync(sync) => &sync.run,
        Command::Diff(run) => run,
    };
    if args.base.is_set() {
        return offline_diff(&cli, args).await;
    }
    if args.inventory.namespaces_from_source {
        talk!(
            "note: --namespaces-from-source is deprecated and changes nothing: a sync touches only its own sync set's objects (--name)"
        );
    }
    let settings = cli.set_settings().map_err(anyhow::Error::msg)?;
    let halt = Halt::new();
    watch_signals(&halt, true)?;
    let mut runner = Runner::new(settings, cli.connect_options())
        .halted_by(halt.clone())
        .linted(args.report.lint_settings(
            &args.source,
            FailOn::Never,
            cli.global.namespace.first().cloned(),
        ));
    let format = args.output;
    if args.watch {
        let triggers = runner.watch_triggers()?;
        let watch_halt = halt.clone();
        let mut pass = 0u64;
        runner
            .run(triggers, |pass_done| match &pass_done.result {
                PassResult::Report(report) => {
                    pass += 1;
                    talk!("--- pass {pass} ---");
                    if let Err(e) = print_report(report, format, &args.report) {
                        talk!("error: {e:#}");
                    }
                    // Nobody reads the next pass: stop between passes, as for a signal.
                    if output::closed() {
                        watch_halt.halt(HaltReason::OutputClosed);
                    }
                }
                PassResult::Unchanged(revision) => {
                    tracing::debug!(?revision, "unchanged");
                }
                PassResult::Failed(e) => {
                    pass += 1;
                    talk!("--- pass {pass} ---");
                    talk!("error: {e:#}");
                }
            })
            .await;
        return Ok(halt.reason().and_then(HaltReason::exit_code).unwrap_or(0));
    }
    let result = runner.run_once().await;
    let signal = halt.reason().and_then(HaltReason::exit_code);
    let report = match (result, signal) {
        (Ok(report), _) => report,
        (Err(e), Some(code)) => {
            talk!("error: {e:#}");
            return Ok(code);
        }
        (Err(e), None) => return Err(e.into()),
    };
    print_report(&report, format, &args.report)?;
    if let Some(code) = signal {
        talk!("{}", interrupted_line(&report));
        return Ok(code);
    }
    Ok(u8::try_from(report.exit_code()).unwrap_or(2))
}

/// `interrupted: 12 applied, 3 pruned, 40 not attempted`.
fn interrupted_line(report: &Report) -> String {
    let applied = report.count(Outcome::Created) + report.count(Outcome::Configured);
    format!(
        "interrupted: {applied} applied, {} pruned, {} not attempted",
        report.count(Outcome::Pruned),
        report.count(Outcome::NotAttempted)
    )
}

/// The agent: validate its config, then run until SIGTERM (exit 0 once every Lease is given
/// back) or SIGINT.
async fn run_agent(cli: &Cli, args: &AgentArgs) -> anyhow::Result<u8> {
    let settings = driftless::settings::file::load(&args.config, &cli.agent_overrides(args))?;
    if args.check {
        talk!(
            "{}: valid ({} sync set{})",
            args.config.display(),
            settings.sets.len(),
            if settings.sets.len() == 1 { "" } else { "s" }
        );
        return Ok(0);
    }
    let halt = Halt::new();
    watch_signals(&halt, false)?;
    driftless::agent::run(settings, halt.clone()).await?;
    Ok(0)
}

/// SIGINT and SIGTERM halt the run: no new write starts, the writes in flight finish, and the
/// partial report is printed. A second signal exits at once. Installed even when the signal
/// was inherited as ignored (a background job of a non-interactive shell).
fn watch_signals(halt: &Halt, chatty: bool) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let halt = halt.clone();
    tokio::spawn(async move {
        loop {
            let reason = tokio::select! {
                _ = interrupt.recv() => HaltReason::Interrupt,
                _ = terminate.recv() => HaltReason::Terminate,
            };
            if halt.is_halted() {
                talk!("second signal: exiting now");
                std::process::exit(i32::from(reason.exit_code().unwrap_or(2)));
            }
            if chatty {
                talk!(
                    "{}: finishing the writes in flight, starting no new ones (signal again to exit at once)",
                    reason.describe()
                );
            } else {
                tracing::info!(
                    signal = reason.describe(),
                    "shutting down: finishing the writes in flight, giving back the Leases"
                );
            }
            halt.halt(reason);
        }
    });
    Ok(())
}

async fn render_only(args: &RenderArgs) -> anyhow::Result<u8> {
    let source = args.source.source().map_err(anyhow::Error::msg)?;
    let snapshot = source.load(&args.source.options()).await?;
    let rendered =
        render::renderers::render_snapshot(&snapshot, &args.source.render_options()).await;
    let rendered = rendered.map_err(|e| match &snapshot.revision {
        Some(rev) => anyhow::Error::new(e).context(format!(
            "revision {rev} of {} does not render",
            snapshot.origin
        )),
        None => e.into(),
    })?;
    match args.output {
        RenderFormat::Yaml => output::print(&render_output::to_yaml_stream(&rendered))?,
        RenderFormat::Json => output::print(&render_output::to_json(&rendered))?,
    }
    Ok(0)
}

/// `diff --base` / `--base-source`: both revisions rendered and compared, no cluster at all.
async fn offline_diff(cli: &Cli, args: &RunArgs) -> anyhow::Result<u8> {
    let head = args.source.source().map_err(anyhow::Error::msg)?;
    let base = args.base.source(&args.source).map_err(anyhow::Error::msg)?;
    let Some(base) = base else {
        anyhow::bail!("--base or --base-source is required for an offline preview");
    };
    let namespace = cli.global.namespace.first().cloned();
    let options = CompareOptions {
        set: args.inventory.name.to_string(),
        default_namespace: namespace.clone(),
        prune_namespaces: args.inventory.prune_namespaces,
        prune_crds: args.inventory.prune_crds,
    };
    let lint = args
        .report
        .lint_settings(&args.source, FailOn::Never, namespace);
    let revisions = Revisions {
        base: &base,
        head: &head,
    };
    let report = preview::preview(
        revisions,
        &args.source.options(),
        &args.source.render_options(),
        &options,
        &lint,
    )
    .await?;
    print_report(&report, args.output, &args.report)?;
    Ok(u8::try_from(report.exit_code()).unwrap_or(2))
}

/// `driftless lint`: no cluster; with a base, which findings the change adds or fixes.
async fn lint_only(cli: &Cli, args: &LintArgs) -> anyhow::Result<u8> {
    let head = args.source.source().map_err(anyhow::Error::msg)?;
    let base = args.base.source(&args.source).map_err(anyhow::Error::msg)?;
    let namespace = cli.global.namespace.first().cloned();
    let settings = args
        .report
        .lint_settings(&args.source, FailOn::At(Severity::Low), namespace);
    let report = preview::lint_only(
        &head,
        base.as_ref(),
        &args.source.options(),
        &args.source.render_options(),
        &settings,
    )
    .await?;
    print_report(&report, args.output, &args.report)?;
    Ok(u8::try_from(report.exit_code()).unwrap_or(2))
}

/// Prints the report in `format` (Markdown within its budget) and, with --report-file, writes
/// the whole of it there.
fn print_report(report: &Report, format: Format, args: &ReportArgs) -> anyhow::Result<()> {
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
        std::fs::write(path, whole(report, format))
            .map_err(|e| anyhow::anyhow!("cannot write --report-file {}: {e}", path.display()))?;
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

fn fail(err: &anyhow::Error) -> ExitCode {
    talk!("error: {err:#}");
    ExitCode::from(2)
}

fn init_tracing(verbose: u8, agent: bool, format: LogFormat) {
    // kube's client is never on: it logs every failed request at error level (one per object
    // and attempt when the server is gone), and at debug and trace the bodies the server sends
    // back, Secrets included. driftless reports failures itself, once per cause, masked.
    let default = match verbose {
        0 if agent => "info,kube_client=off",
        0 => "warn,kube_client=off",
        1 => "driftless=debug,info,kube_client=off",
        _ => "driftless=trace,debug,kube_client=off",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    match format {
        // One object per line, span fields (set, revision) included, for a log pipeline.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_span_list(false)
            .init(),
        // Colours only for a terminal: logs piped to a file or a CI log stay plain text.
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
}
