//! The offline preview (`diff --base`): two revisions of a source rendered and compared with no
//! cluster at all. Objects the head adds are created, those it changes configured, those it
//! drops pruned (what `sync --prune` would delete), each diff normalized and masked exactly as
//! a diff against the cluster is. Which kinds are namespaced comes from
//! [`OfflineKinds`](crate::render::OfflineKinds).

mod compare;

pub use compare::{CompareOptions, changed_fields, compare};

use crate::lint::{LintReport, LintSettings, lint};
use crate::render::renderers::RenderOptions;
use crate::render::{self, RenderError, Rendered};
use crate::report::{Mode, Report};
use crate::source::{Snapshot, Source, SourceOptions};

/// Why a preview could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error(transparent)]
    Run(#[from] crate::Error),
    /// One of the revisions does not render or resolve (a namespaced object naming no
    /// namespace without `--namespace`, a duplicate, a YAML error).
    #[error("the {side} ({revision}) does not render: {error}")]
    Render {
        side: &'static str,
        revision: String,
        error: RenderError,
    },
}

/// The two sources compared: the base (what the branch had) and the head (the change).
pub struct Revisions<'a> {
    pub base: &'a Source,
    pub head: &'a Source,
}

/// A revision, read and rendered.
struct Side {
    rendered: Rendered,
    described: String,
}

/// How a revision is read and rendered.
#[derive(Clone, Copy)]
struct Reading<'a> {
    source: &'a SourceOptions,
    render: &'a RenderOptions,
}

async fn read(
    source: &Source,
    options: Reading<'_>,
    side: &'static str,
) -> Result<Side, PreviewError> {
    let snapshot: Snapshot = source.load(options.source).await?;
    let described = describe(&snapshot);
    // Kustomizations and charts render here too: a preview shows what a sync would apply.
    let rendered = render::renderers::render_snapshot(&snapshot, options.render)
        .await
        .map_err(|error| PreviewError::Render {
            side,
            revision: described.clone(),
            error,
        })?;
    Ok(Side {
        rendered,
        described,
    })
}

/// `revision 4f2a9c1...` for a Git commit, the directory otherwise.
fn describe(snapshot: &Snapshot) -> String {
    describe_revision(&snapshot.origin, snapshot.revision.as_deref())
}

fn describe_revision(origin: &str, revision: Option<&str>) -> String {
    match revision {
        Some(rev) => format!("revision {rev}"),
        None => origin.to_string(),
    }
}

/// Reads, renders and compares both revisions, and lints them (with the head's lint
/// configuration, so that only the manifests' change moves findings). The base is read first:
/// both may share one Git cache.
pub async fn preview(
    revisions: Revisions<'_>,
    source_options: &SourceOptions,
    render_options: &RenderOptions,
    options: &CompareOptions,
    lint_settings: &LintSettings,
) -> Result<Report, PreviewError> {
    let reading = Reading {
        source: source_options,
        render: render_options,
    };
    let base = read(revisions.base, reading, "base").await?;
    let head = read(revisions.head, reading, "head").await?;
    let lint = compared_lint(revisions, &base.rendered, &head.rendered, lint_settings)?;
    let mut report = compare(base.rendered, head.rendered, options)?;
    report.base = Some(base.described);
    report.lint = Some(lint);
    Ok(report)
}

/// `driftless lint`: the head's findings, and with a base, which the change adds or fixes.
pub async fn lint_only(
    head: &Source,
    base: Option<&Source>,
    source_options: &SourceOptions,
    render_options: &RenderOptions,
    lint_settings: &LintSettings,
) -> Result<Report, PreviewError> {
    let reading = Reading {
        source: source_options,
        render: render_options,
    };
    let head_side = read(head, reading, "head").await?;
    let (lint, base_described) = match base {
        Some(base_source) => {
            let base_side = read(base_source, reading, "base").await?;
            let revisions = Revisions {
                base: base_source,
                head,
            };
            let lint = compared_lint(
                revisions,
                &base_side.rendered,
                &head_side.rendered,
                lint_settings,
            )?;
            (lint, Some(base_side.described))
        }
        None => (lint_settings.run(head, &head_side.rendered)?, None),
    };
    let rendered = head_side.rendered;
    let mut report = Report::new(
        Mode::Lint,
        String::new(),
        rendered.origin,
        rendered.revision,
    );
    report.base = base_described;
    report.lint = Some(lint);
    Ok(report)
}

fn compared_lint(
    revisions: Revisions<'_>,
    base: &Rendered,
    head: &Rendered,
    settings: &LintSettings,
) -> Result<LintReport, PreviewError> {
    let config = settings.config(revisions.head, head.revision.as_deref())?;
    let namespace = settings.default_namespace.as_deref();
    let mut report = LintReport::compare(
        lint(&base.manifests, &config, namespace),
        lint(&head.manifests, &config, namespace),
        settings.threshold(&config),
    );
    report.root = settings.root.clone();
    Ok(report)
}

#[cfg(test)]
mod tests;
