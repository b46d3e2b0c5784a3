//! The report as Markdown, for a pull-request comment: a summary table, then each namespace's
//! diffs in a collapsible block.

use std::fmt::Write as _;

use super::{Mode, Outcome, Report};
use crate::health::HealthState;
use crate::plan::namespace_label;

pub fn render_markdown(report: &Report) -> String {
    let mut out = String::new();
    let title = match (report.mode, report.failed(), report.changed()) {
        (_, true, _) => "driftless: errors",
        (Mode::Preview, false, true) => "driftless: changes to apply",
        (Mode::Preview, false, false) => "driftless: no changes",
        (Mode::Sync, false, _) => "driftless: synced",
    };
    let _ = writeln!(out, "### {title}\n");
    let _ = write!(out, "Sync set `{}`, source `{}`", report.set, report.source);
    if let Some(rev) = &report.revision {
        let _ = write!(out, " at `{rev}`");
    }
    out.push_str("\n\n| namespace | status |");
    for o in Outcome::ALL {
        let _ = write!(out, " {} |", o.label());
    }
    out.push_str("\n|---|---|");
    out.push_str(&"---:|".repeat(Outcome::ALL.len()));
    out.push('\n');
    for ns in &report.namespaces {
        let status = if ns.failed() { "❌ failed" } else { "✅ ok" };
        let _ = write!(out, "| `{}` | {status} |", namespace_label(&ns.namespace));
        for o in Outcome::ALL {
            let _ = write!(out, " {} |", ns.count(o));
        }
        out.push('\n');
    }
    if report.waited() {
        let states: Vec<String> = HealthState::ALL
            .iter()
            .map(|&s| format!("{} {}", report.count_health(s), s.label()))
            .collect();
        let _ = writeln!(out, "\nHealth after the sync: {}.", states.join(", "));
    }
    for ns in &report.namespaces {
        let problems: Vec<_> = ns
            .objects
            .iter()
            .filter(|o| o.outcome == Outcome::Failed || o.unhealthy())
            .collect();
        let diffs: Vec<_> = ns.objects.iter().filter(|o| !o.diff.is_empty()).collect();
        if problems.is_empty() && diffs.is_empty() && ns.errors.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "\n<details><summary><code>{}</code>: {} changed, {} failed</summary>\n",
            namespace_label(&ns.namespace),
            diffs.len(),
            problems.len()
        );
        for error in &ns.errors {
            let _ = writeln!(out, "- **error**: {}", error.replace('\n', " "));
        }
        for p in problems {
            let health = p.health.as_ref().filter(|_| p.outcome != Outcome::Failed);
            let msg = match health {
                Some(health) => health.to_string(),
                None => p.message.as_deref().unwrap_or("failed").to_string(),
            };
            let _ = writeln!(
                out,
                "- **{}** (`{}`): {}",
                p.id,
                p.source(),
                msg.replace('\n', " ")
            );
        }
        if !diffs.is_empty() {
            out.push_str("\n```diff\n");
            for d in diffs {
                // A fence inside the diff would end the block early.
                out.push_str(&d.diff.replace("```", "`\u{200b}``"));
            }
            out.push_str("```\n");
        }
        out.push_str("\n</details>\n");
    }
    out
}
