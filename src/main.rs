//! The `driftless` binary: parse flags, start logging, dispatch, map the result to an exit code.
//! The commands are [`driftless::cli`]'s; only what drives the runner and the agent (the layers
//! above the CLI's) is wired here.

use std::process::ExitCode;

use driftless::cli::live::{self, PassLog};
use driftless::cli::offline::{lint_only, offline_diff, render_only};
use driftless::cli::steer;
use driftless::cli::watch_signals;
use driftless::cli::{AgentArgs, ArgsError, Cli, Command, LogFormat, RunArgs, SyncArgs};
use driftless::halt::{Halt, HaltReason};
use driftless::runner::{PassResult, Runner};
use driftless::talk;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    driftless::memory::keep_large_blocks_apart();
    driftless::memory::share_arenas();
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
    let code = match &cli.command {
        Command::Render(args) => render_only(args).await?,
        Command::Lint(args) => lint_only(&cli, args).await?,
        Command::Agent(args) => run_agent(&cli, args).await?,
        Command::Status(args) => steer::status(&cli, args).await?,
        Command::Reconcile(args) => steer::reconcile(&cli, args).await?,
        Command::Suspend(args) => steer::suspend(&cli, args, true).await?,
        Command::Resume(args) => steer::suspend(&cli, args, false).await?,
        Command::Tree(args) => steer::tree(&cli, args).await?,
        Command::Events(args) => steer::events(&cli, args).await?,
        Command::Sync(SyncArgs { run, .. }) | Command::Diff(run) if run.base.is_set() => {
            offline_diff(&cli, run).await?
        }
        Command::Sync(SyncArgs { run, .. }) | Command::Diff(run) => run_live(&cli, run).await?,
    };
    Ok(code)
}

/// `sync` and `diff` against the cluster: one pass, or with --watch one per change until a
/// signal (or a closed stdout) stops it.
async fn run_live(cli: &Cli, args: &RunArgs) -> anyhow::Result<u8> {
    let (settings, lint) = live::run_settings(cli, args)?;
    let halt = Halt::new();
    watch_signals(&halt, true)?;
    let mut runner = Runner::new(settings, cli.connect_options())
        .halted_by(halt.clone())
        .linted(lint);
    if !args.watch {
        let result = runner.run_once().await;
        return Ok(live::finish_once(result, &halt, args)?);
    }
    let triggers = runner.watch_triggers()?;
    let mut log = PassLog::new(args);
    runner
        .run(triggers, |pass| match &pass.result {
            PassResult::Report(report) => log.report(report, &halt),
            PassResult::Unchanged(revision) => tracing::debug!(?revision, "unchanged"),
            // The CLI has no dependsOn: a set it runs never waits.
            PassResult::Waiting(why) => tracing::info!("{why}"),
            PassResult::Failed(e) => log.failed(e),
        })
        .await;
    Ok(halt.reason().and_then(HaltReason::exit_code).unwrap_or(0))
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
        // Decrypted values never reach a log line, at any level.
        .with_writer(|| driftless::redact::Scrubbed(std::io::stderr()))
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
