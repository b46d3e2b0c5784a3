//! Human-readable text: a per-namespace summary, and the diffs grouped per namespace.

use std::fmt::Write as _;
use std::io;

use super::{Mode, NamespaceReport, ObjectReport, Outcome, Report};
use crate::health::HealthState;
use crate::plan::namespace_label;

/// The per-namespace summary: counts, then each object that is not unchanged, by name; then
/// the lint findings. As one text for tests; the CLI streams [`write_summary`].
#[cfg(test)]
pub fn render_summary(report: &Report) -> String {
    let mut out = Vec::new();
    // Writing into memory cannot fail.
    let _ = write_summary(report, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The summary, written as it is made: the findings one by one (a large revision has thousands).
pub fn write_summary(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    let head = match report.mode {
        Mode::Preview | Mode::Sync => summary_head(report),
        Mode::Lint => lint_head(report),
    };
    out.write_all(head.as_bytes())?;
    match &report.lint {
        Some(lint) => super::findings::write_text(lint, out),
        None => Ok(()),
    }
}

fn summary_head(report: &Report) -> String {
    let verb = match report.mode {
        Mode::Sync => "sync",
        _ => "diff",
    };
    let mut out = format!(
        "driftless {verb} of sync set {} from {}",
        report.set, report.source
    );
    if let Some(rev) = &report.revision {
        let _ = write!(out, " at {rev}");
    }
    if let Some(base) = &report.base {
        let _ = write!(out, " against {base} (offline: no cluster)");
    }
    out.push('\n');
    for chart in &report.charts {
        let _ = writeln!(out, "  {chart}");
    }
    for gone in &report.unavailable {
        let _ = writeln!(
            out,
            "  not compared: {}: {} (its objects are left out)",
            gone.folder.display(),
            gone.reason
        );
    }
    for ns in &report.namespaces {
        namespace_summary(&mut out, ns, report.mode);
    }
    totals(&mut out, report);
    out
}

/// A namespace's counts and errors, then its objects worth a line.
fn namespace_summary(out: &mut String, ns: &NamespaceReport, mode: Mode) {
    let counts = nonzero(Outcome::ALL.iter().map(|&o| (ns.count(o), o.label())));
    let status = if ns.failed() { "FAILED" } else { "ok" };
    let _ = writeln!(
        out,
        "namespace {}: {status}: {}",
        namespace_label(&ns.namespace),
        counts
    );
    for error in &ns.errors {
        let _ = writeln!(out, "  error: {error}");
    }
    // Unchanged objects are counted, not listed (as `kubectl diff` says nothing of them),
    // unless there is more to say of them (health, a note).
    let told = |o: &&ObjectReport| {
        o.outcome != Outcome::Unchanged || o.message.is_some() || o.health.is_some()
    };
    for obj in ns.objects.iter().filter(told) {
        object_line(out, obj, mode);
    }
}

/// One object's line: what happens to it, its note, conflict, drift and health, and where it
/// came from when it failed.
fn object_line(out: &mut String, obj: &ObjectReport, mode: Mode) {
    let label = match (mode, obj.outcome) {
        (Mode::Preview, Outcome::Created) => "would create",
        (Mode::Preview, Outcome::Configured) => "would configure",
        (Mode::Preview, Outcome::Replaced) => "would replace",
        (Mode::Preview, Outcome::Pruned) => "would prune",
        (Mode::Preview, Outcome::Orphaned) => "orphaned",
        (_, o) => o.label(),
    };
    let _ = write!(out, "  {label:<16} {}", obj.id);
    if let Some(stage) = &obj.stage {
        let _ = write!(out, " [{stage}]");
    }
    if let Some(msg) = &obj.message {
        let _ = write!(out, ": {msg}");
    }
    if let Some(conflict) = &obj.conflict {
        let _ = write!(out, " [conflict: {conflict}]");
    }
    if let Some(drift) = &obj.drift {
        let _ = write!(out, " [drift: {drift}]");
    }
    if let Some(health) = &obj.health {
        let _ = write!(out, " [{health}]");
    }
    if matches!(obj.outcome, Outcome::Failed) || obj.unhealthy() {
        let _ = write!(out, " ({})", obj.source());
    }
    out.push('\n');
}

/// The last line: how many objects, failed, not attempted, not in sync, orphaned; and their
/// health after a wait.
fn totals(out: &mut String, report: &Report) {
    let total = report.objects().count();
    let failed = report.count(Outcome::Failed);
    let _ = write!(
        out,
        "{total} objects in {} namespaces, {failed} failed",
        report.namespaces.len()
    );
    if let n @ 1.. = report.count(Outcome::NotAttempted) {
        let _ = write!(out, ", {n} not attempted");
    }
    // What differs from Git and stays so: a sync that exits 0 still says it.
    if let n @ 1.. = report.count(Outcome::NotInSync) {
        let _ = write!(
            out,
            ", {n} not in sync (not adopted: --adopt takes them over)"
        );
    }
    if let n @ 1.. = report.count(Outcome::Orphaned) {
        let _ = write!(out, ", {n} orphaned (prune is off: --prune deletes them)");
    }
    if report.waited() {
        let states = HealthState::ALL
            .iter()
            .map(|&s| (report.count_health(s), s.label()));
        let _ = write!(out, "; health: {}", nonzero(states));
    }
    out.push('\n');
}

/// `3 created, 1 failed`: the counts that are not zero.
fn nonzero<'a>(counts: impl Iterator<Item = (usize, &'a str)>) -> String {
    counts
        .filter(|(n, _)| *n > 0)
        .map(|(n, label)| format!("{n} {label}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `driftless lint`: what was linted (the findings follow).
fn lint_head(report: &Report) -> String {
    let mut out = format!("driftless lint of {}", report.source);
    if let Some(rev) = &report.revision {
        let _ = write!(out, " at {rev}");
    }
    if let Some(base) = &report.base {
        let _ = write!(out, " against {base}");
    }
    out.push('\n');
    out
}

/// Every diff, grouped under a header per namespace. Empty when nothing differs.
pub fn render_diffs(report: &Report) -> String {
    let mut out = String::new();
    for ns in &report.namespaces {
        let diffs: Vec<&str> = ns
            .objects
            .iter()
            .map(|o| o.diff.as_str())
            .filter(|d| !d.is_empty())
            .collect();
        if diffs.is_empty() {
            continue;
        }
        let _ = writeln!(out, "# namespace {}", namespace_label(&ns.namespace));
        for diff in diffs {
            out.push_str(diff);
            if !diff.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    out
}
