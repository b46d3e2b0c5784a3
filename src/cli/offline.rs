//! The commands that need no cluster: `render`, `lint`, and the offline `diff --base`.

use super::print::print_report;
use super::{
    Cli, CommandError, LintArgs, RenderArgs, RenderFormat, RunArgs, output, render_output,
};
use crate::lint::{FailOn, Severity};
use crate::preview::{self, CompareOptions, Revisions};
use crate::render::renderers::render_snapshot;

/// `driftless render`: the desired set on stdout.
pub async fn render_only(args: &RenderArgs) -> Result<u8, CommandError> {
    let source = args.source.source().map_err(CommandError::Args)?;
    let snapshot = source.load(&args.source.options()).await?;
    let options = args.source.render_options().map_err(CommandError::Args)?;
    let rendered = render_snapshot(&snapshot, &options).await;
    let rendered = rendered.map_err(|e| match &snapshot.revision {
        Some(rev) => CommandError::NotRendered {
            revision: rev.clone(),
            origin: snapshot.origin.clone(),
            source: e,
        },
        None => crate::Error::from(e).into(),
    })?;
    let show = args.show_secrets;
    let text = match args.output {
        RenderFormat::Yaml => render_output::to_yaml_stream(&rendered, show),
        RenderFormat::Json => render_output::to_json(&rendered, show),
    };
    match show {
        true => output::print_secrets(&text)?,
        false => output::print(&text)?,
    }
    Ok(0)
}

/// `diff --base` / `--base-source`: both revisions rendered and compared, no cluster at all.
pub async fn offline_diff(cli: &Cli, args: &RunArgs) -> Result<u8, CommandError> {
    let head = args.source.source().map_err(CommandError::Args)?;
    let base = args.base.source(&args.source).map_err(CommandError::Args)?;
    let Some(base) = base else {
        return Err(CommandError::Args(
            "--base or --base-source is required for an offline preview".into(),
        ));
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
        &sealed_render_options(&args.source)?,
        &options,
        &lint,
    )
    .await?;
    print_report(&report, args.output, &args.report)?;
    Ok(u8::try_from(report.exit_code()).unwrap_or(2))
}

/// `driftless lint`: no cluster; with a base, which findings the change adds or fixes.
pub async fn lint_only(cli: &Cli, args: &LintArgs) -> Result<u8, CommandError> {
    let head = args.source.source().map_err(CommandError::Args)?;
    let base = args.base.source(&args.source).map_err(CommandError::Args)?;
    let namespace = cli.global.namespace.first().cloned();
    let settings = args
        .report
        .lint_settings(&args.source, FailOn::At(Severity::Low), namespace);
    let report = preview::lint_only(
        &head,
        base.as_ref(),
        &args.source.options(),
        &sealed_render_options(&args.source)?,
        &settings,
    )
    .await?;
    print_report(&report, args.output, &args.report)?;
    Ok(u8::try_from(report.exit_code()).unwrap_or(2))
}

/// Without a cluster, SOPS files need no key: with none, they are compared (and linted)
/// sealed; and a chart that cannot be fetched is left out of the comparison (from the cache
/// when it is there), not fatal.
fn sealed_render_options(
    source: &super::SourceArgs,
) -> Result<crate::render::renderers::RenderOptions, CommandError> {
    let mut options = source.render_options().map_err(CommandError::Args)?;
    options.decryption.sealed_without_key = true;
    options.remote.preview = true;
    Ok(options)
}
