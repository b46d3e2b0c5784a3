//! The `driftless` binary: parse flags, start logging, run, map the result to an exit code.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use driftless::cli::Cli;
use driftless::report::{self, Format, Mode};
use driftless::{cluster::Cluster, render, source, sync};
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
    let (args, _) = cli.run_args();
    let snapshot = source::read_dir(&args.source)?;
    // Render before connecting: a broken revision is reported even with no cluster at hand.
    let rendered = render::render(&snapshot)?;
    let mut cluster = Cluster::connect(&cli.connect_options())
        .await
        .context("connecting")?;
    let report = sync::run(&mut cluster, &rendered, &cli.sync_options()).await?;
    match args.output {
        Format::Json => print!("{}", report::render_json(&report)),
        Format::Markdown => print!("{}", report::render_markdown(&report)),
        Format::Text if report.mode == Mode::Preview => {
            // stdout stays a pure patch, as with `kubectl diff`.
            print!("{}", report::render_diffs(&report));
            eprint!("{}", report::render_summary(&report));
        }
        Format::Text => print!("{}", report::render_summary(&report)),
    }
    Ok(u8::try_from(report.exit_code()).unwrap_or(2))
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
