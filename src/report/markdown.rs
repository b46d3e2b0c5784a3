//! The report as Markdown, for a pull-request comment that fits its budget: the summary table
//! and the lint findings first, then failures, deletions, changes to Secrets and RBAC, other
//! changes and creations. What does not fit shrinks from full diffs to changed fields to names,
//! a change repeated on many objects is shown once, and the comment says what it left out and
//! where the whole report is.

use std::fmt::Write as _;

use super::budget::{self, Entry, Level, Section};
use super::{Mode, Outcome, Report, findings};
use crate::health::HealthState;
use crate::plan::namespace_label;

/// GitHub refuses comments over 65,536 characters; this leaves room for a header.
pub const DEFAULT_COMMENT_SIZE: usize = 60_000;

/// How big the comment may be, and where the whole report is.
#[derive(Debug, Clone)]
pub struct MarkdownOptions {
    /// Most bytes the comment may take (a character is at least one byte).
    pub max_size: usize,
    /// Where the whole report is (a CI artifact's URL, a `--report-file`), named when something
    /// was left out.
    pub full_report: Option<String>,
}

impl Default for MarkdownOptions {
    fn default() -> Self {
        MarkdownOptions {
            max_size: DEFAULT_COMMENT_SIZE,
            full_report: None,
        }
    }
}

impl MarkdownOptions {
    /// Everything, whatever its size (a report file).
    pub fn unlimited() -> MarkdownOptions {
        MarkdownOptions {
            max_size: usize::MAX,
            full_report: None,
        }
    }
}

pub fn render_markdown(report: &Report) -> String {
    render_markdown_with(report, &MarkdownOptions::default())
}

pub fn render_markdown_with(report: &Report, options: &MarkdownOptions) -> String {
    let max = options.max_size;
    let mut out = header(report, max / 4);
    let mut lint_left_out = 0;
    if let Some(lint) = &report.lint {
        let room = (max / 2).saturating_sub(out.len());
        let (section, left_out) = findings::markdown(lint, room);
        out.push_str(&section);
        lint_left_out = left_out;
    }
    let mut entries = budget::entries(report);
    let overhead = wrappers(&entries).len();
    // The note on what was left out: its words, its numbers, where the whole report is.
    let reserve = 360 + options.full_report.as_ref().map_or(0, String::len);
    let room = max.saturating_sub(out.len() + overhead + reserve);
    budget::fit(&mut entries, room);
    out.push_str(&body(&entries));
    out.push_str(&left_out_note(&entries, lint_left_out, options));
    if out.len() > max {
        // The estimate above is an upper bound, so this is a last resort, never the rule.
        let mut cut = max.saturating_sub(40);
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str("\n\n_(cut to fit the comment)_\n");
    }
    out
}

fn title(report: &Report) -> String {
    if report.mode == Mode::Lint {
        let n = report.lint.as_ref().map_or(0, |l| l.active().count());
        return match n {
            0 => "driftless lint: clean".to_string(),
            n => format!(
                "driftless lint: {n} finding{}",
                if n == 1 { "" } else { "s" }
            ),
        };
    }
    let title = match (
        report.mode,
        report.failed(),
        report.lint_fails(),
        report.changed(),
    ) {
        (_, true, _, _) => "driftless: errors",
        (_, _, true, _) => "driftless: lint findings at or above --fail-on",
        (Mode::Preview, _, _, true) => "driftless: changes to apply",
        (Mode::Preview, _, _, false) => "driftless: no changes",
        _ => "driftless: synced",
    };
    title.to_string()
}

/// Title, what was compared, the summary table (rows up to `table_room` bytes) and health.
fn header(report: &Report, table_room: usize) -> String {
    let mut out = format!("### {}\n\n", title(report));
    if report.mode == Mode::Lint {
        let _ = write!(out, "Source `{}`", report.source);
    } else {
        let _ = write!(out, "Sync set `{}`, source `{}`", report.set, report.source);
    }
    if let Some(rev) = &report.revision {
        let _ = write!(out, " at `{rev}`");
    }
    if let Some(base) = &report.base {
        let _ = write!(out, ", compared with {base} (offline: no cluster)");
    }
    out.push('\n');
    for chart in &report.charts {
        let _ = write!(
            out,
            "\n- {} `{}` {} (`{}`) from {}",
            chart_role(chart),
            chart.chart,
            chart.version,
            chart.digest,
            chart.repo
        );
    }
    for gone in &report.unavailable {
        let _ = write!(
            out,
            "\n- :warning: not compared: `{}`: {}",
            gone.folder.display(),
            gone.reason
        );
    }
    if !report.charts.is_empty() || !report.unavailable.is_empty() {
        out.push('\n');
    }
    if report.mode == Mode::Lint {
        return out;
    }
    let columns: Vec<Outcome> = Outcome::ALL
        .into_iter()
        .filter(|&o| !o.is_rare() || report.count(o) > 0)
        .collect();
    let mut table = String::from("\n| namespace | status |");
    for o in &columns {
        let _ = write!(table, " {} |", o.label());
    }
    table.push_str("\n|---|---|");
    table.push_str(&"---:|".repeat(columns.len()));
    table.push('\n');
    let mut hidden = 0;
    for ns in &report.namespaces {
        let status = if ns.failed() { "❌ failed" } else { "✅ ok" };
        let mut row = format!("| `{}` | {status} |", namespace_label(&ns.namespace));
        for &o in &columns {
            let _ = write!(row, " {} |", ns.count(o));
        }
        row.push('\n');
        if table.len() + row.len() > table_room {
            hidden += 1;
        } else {
            table.push_str(&row);
        }
    }
    out.push_str(&table);
    if hidden > 0 {
        let _ = writeln!(
            out,
            "\n…and {hidden} more namespaces (see the whole report)."
        );
    }
    if report.waited() {
        let states: Vec<String> = HealthState::ALL
            .iter()
            .map(|&s| format!("{} {}", report.count_health(s), s.label()))
            .collect();
        let _ = writeln!(out, "\nHealth after the sync: {}.", states.join(", "));
    }
    out
}

/// The sections, with each entry at its level; blocks whose entries were all left out go too.
fn body(entries: &[Entry<'_>]) -> String {
    let shown: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.level != Level::Omitted)
        .collect();
    let mut out = String::new();
    for section in Section::ALL {
        let all: Vec<&Entry> = entries.iter().filter(|e| e.section == section).collect();
        let mut here: Vec<&&Entry> = shown.iter().filter(|e| e.section == section).collect();
        // Each namespace's entries together, then the repeated changes.
        here.sort_by_key(|e| e.block.is_none());
        if here.is_empty() {
            continue;
        }
        out.push_str(&heading(section, &all));
        if section == Section::Failures {
            out.push('\n');
            here.iter().for_each(|e| out.push_str(e.shown()));
            continue;
        }
        let mut i = 0;
        while i < here.len() {
            let block = &here[i].block;
            let mut j = i + 1;
            while block.is_some() && j < here.len() && here[j].block == *block {
                j += 1;
            }
            let total = all
                .iter()
                .filter(|e| e.block == *block && block.is_some())
                .count();
            out.push_str(&open_block(here[i], total));
            here[i..j].iter().for_each(|e| out.push_str(e.shown()));
            out.push_str(CLOSE);
            i = j;
        }
    }
    out
}

const CLOSE: &str = "\n</details>\n";

fn heading(section: Section, all: &[&Entry<'_>]) -> String {
    let objects: usize = all.iter().map(|e| e.objects.len().max(1)).sum();
    let noun = match (section, objects) {
        (Section::Failures, _) => "",
        (_, 1) => " object",
        _ => " objects",
    };
    format!("\n#### {}: {objects}{noun}\n", section.title())
}

/// A namespace's block (`total` of its entries in the section), or a repeated change's.
fn open_block(entry: &Entry<'_>, total: usize) -> String {
    match &entry.block {
        Some(ns) => format!(
            "\n<details><summary><code>{}</code>: {total} object{}</summary>\n\n",
            namespace_label(ns),
            if total == 1 { "" } else { "s" }
        ),
        None => format!(
            "\n<details><summary>The same change on {} objects</summary>\n\n",
            entry.objects.len()
        ),
    }
}

/// Every heading and block wrapper the body could need: an upper bound of what it adds to
/// the entries themselves.
fn wrappers(entries: &[Entry<'_>]) -> String {
    let mut out = String::new();
    for section in Section::ALL {
        let all: Vec<&Entry> = entries.iter().filter(|e| e.section == section).collect();
        if all.is_empty() {
            continue;
        }
        out.push_str(&heading(section, &all));
        out.push('\n');
        let mut seen = Vec::new();
        for e in all.iter().filter(|_| section != Section::Failures) {
            if e.block.is_none() || !seen.contains(&&e.block) {
                seen.push(&e.block);
                let total = all.iter().filter(|x| x.block == e.block).count();
                out.push_str(&open_block(e, total));
                out.push_str(CLOSE);
            }
        }
    }
    out
}

/// What the comment left out, and where the whole report is; empty when nothing was.
fn left_out_note(entries: &[Entry<'_>], lint_left_out: usize, options: &MarkdownOptions) -> String {
    // What each entry shows, told apart by text: a creation's fields are its name.
    let count = |shows: &dyn Fn(&Entry) -> bool| -> usize {
        entries
            .iter()
            .filter(|e| shows(e))
            .map(|e| e.objects.len().max(1))
            .sum()
    };
    let cut = |e: &Entry| e.text[2] != e.shown();
    let fields = count(&|e| cut(e) && e.level == Level::Fields && e.text[1] != e.text[0]);
    let names = count(&|e| cut(e) && e.level != Level::Omitted && e.shown() == e.text[0]);
    let omitted = count(&|e| e.level == Level::Omitted);
    let objects = |n: usize| format!("{n} object{}", if n == 1 { "" } else { "s" });
    let mut parts = Vec::new();
    if fields > 0 {
        let n = objects(fields);
        parts.push(format!("the diffs of {n} (their changed fields are shown)"));
    }
    if names > 0 {
        let n = objects(names);
        parts.push(format!("the diffs of {n} (their names are shown)"));
    }
    if omitted > 0 {
        parts.push(format!("{} entirely", objects(omitted)));
    }
    if lint_left_out > 0 {
        let s = if lint_left_out == 1 { "" } else { "s" };
        parts.push(format!("{lint_left_out} lint finding{s}"));
    }
    if parts.is_empty() {
        return String::new();
    }
    let place = match &options.full_report {
        Some(place) => format!("The whole report: {place}."),
        None => "Run driftless with `--report-file PATH` to keep the whole report.".to_string(),
    };
    format!(
        "\n---\n**Left out to fit {} characters**: {}. {place}\n",
        options.max_size,
        parts.join("; ")
    )
}

fn chart_role(chart: &crate::render::ResolvedChart) -> &'static str {
    match chart.dependency {
        true => "dependency",
        false => "chart",
    }
}
