//! The `driftless` binary: parse flags, start logging, run, map the result to an exit code.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use driftless::cli::{Cli, Command, RenderArgs, RenderFormat};
use driftless::render;
use driftless::report::{self, Format, Mode, Report};
use driftless::runner::Runner;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.global.verbose);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return fail(&anyhow::Error::new(e).context("cannot start the async runtime")),
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => fail(&e),
    }
}

async fn run(cli: Cli) -> anyhow::Result<u8> {
    let args = match &cli.command {
        Command::Render(render_args) => return render_only(render_args).await,
        Command::Sync(sync) => &sync.run,
        Command::Diff(run) => run,
    };
    if args.inventory.namespaces_from_source {
        eprintln!(
            "note: --namespaces-from-source is deprecated and changes nothing: a sync touches only its own sync set's objects (--name)"
        );
    }
    let source = args.source.source().map_err(anyhow::Error::msg)?;
    let mut runner = Runner::new(
        source,
        args.source.options(),
        cli.sync_options(),
        cli.connect_options(),
    );
    let format = args.output;
    if args.watch {
        let interval = Duration::from_secs(args.interval.max(1));
        let mut pass = 0u64;
        runner
            .watch(interval, |result| {
                pass += 1;
                eprintln!("--- pass {pass} ---");
                match result {
                    Ok(report) => print_report(&report, format),
                    Err(e) => eprintln!("error: {e:#}"),
                }
            })
            .await?;
        return Ok(0);
    }
    let report = runner.run_once().await?;
    print_report(&report, format);
    Ok(u8::try_from(report.exit_code()).unwrap_or(2))
}

async fn render_only(args: &RenderArgs) -> anyhow::Result<u8> {
    let source = args.source.source().map_err(anyhow::Error::msg)?;
    let snapshot = source.load(&args.source.options()).await?;
    let rendered = render::render(&snapshot).map_err(|e| match &snapshot.revision {
        Some(rev) => anyhow::Error::new(e).context(format!(
            "revision {rev} of {} does not render",
            snapshot.origin
        )),
        None => e.into(),
    })?;
    match args.output {
        RenderFormat::Yaml => print!("{}", render::output::to_yaml_stream(&rendered)),
        RenderFormat::Json => print!("{}", render::output::to_json(&rendered)),
    }
    Ok(0)
}

fn print_report(report: &Report, format: Format) {
    match format {
        Format::Json => print!("{}", report::render_json(report)),
        Format::Markdown => print!("{}", report::render_markdown(report)),
        Format::Text if report.mode == Mode::Preview => {
            // stdout stays a pure patch, as with `kubectl diff`.
            print!("{}", report::render_diffs(report));
            eprint!("{}", report::render_summary(report));
        }
        Format::Text => print!("{}", report::render_summary(report)),
    }
}

fn fail(err: &anyhow::Error) -> ExitCode {
    eprintln!("error: {err:#}");
    ExitCode::from(2)
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "driftless=debug,info",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
