//! What the steering verbs print: plain text tables, as `kubectl get` and `flux get` do, so
//! `| grep` and `| head` work. Pure functions of what was read.

use std::fmt::Write as _;

use k8s_openapi::api::events::v1::Event;
use k8s_openapi::jiff::Timestamp;

use super::tree::{Member, TreeNamespace};
use crate::status::{SetStatus, SetView, age, short_revision};

/// Most characters of a message in a table row.
const MESSAGE: usize = 80;

/// `driftless status`: one row per set.
pub fn table(views: &[SetView], now: Timestamp) -> String {
    if views.is_empty() {
        return "No sync sets found.\n".into();
    }
    let rows: Vec<[String; 7]> = views
        .iter()
        .map(|v| {
            let status = v.status.as_ref();
            [
                v.name.clone(),
                ready(v).into(),
                yes_no(v.suspended()).into(),
                status
                    .and_then(|s| s.last_attempted_revision.as_deref())
                    .map_or("-", short_revision)
                    .into(),
                status
                    .and_then(|s| s.last_attempt_time.as_deref())
                    .map_or("-".into(), |t| age(t, now)),
                status
                    .map_or(0, |s| s.drift.drifted.len() + s.drift.more)
                    .to_string(),
                cut(&message(v), MESSAGE),
            ]
        })
        .collect();
    let header = [
        "NAME",
        "READY",
        "SUSPENDED",
        "REVISION",
        "LAST SYNC",
        "DRIFTED",
        "MESSAGE",
    ];
    columns(&header, &rows)
}

/// `True`, `False`, or `Unknown` (no status yet), as `flux get` says it.
fn ready(view: &SetView) -> &'static str {
    match &view.status {
        None => "Unknown",
        Some(s) if s.result.is_none() => "Unknown",
        Some(s) if s.ready => "True",
        Some(_) => "False",
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// What a row says: the leader's absence first, then the status's message, else its result.
fn message(view: &SetView) -> String {
    let leader = view.lease.as_ref();
    if view.status.is_none() {
        return "no status recorded yet".into();
    }
    let status = view.status.as_ref();
    let said = status.and_then(SetStatus::message);
    let result = status.and_then(|s| s.result.clone());
    let base = said.or(result).unwrap_or_default();
    match leader {
        Some(l) if !l.alive && status.is_some_and(|s| s.role != crate::status::Role::Cli) => {
            format!("no live leader; last: {base}")
        }
        _ => base,
    }
}

/// `driftless status SET`: the set in detail.
pub fn detail(view: &SetView, events: &[Event], now: Timestamp) -> String {
    let mut out = String::new();
    let line = |out: &mut String, key: &str, value: &str| {
        let _ = writeln!(out, "{:<12}{value}", format!("{key}:"));
    };
    line(&mut out, "Set", &view.name);
    let by_cli = view
        .status
        .as_ref()
        .is_some_and(|s| s.role == crate::status::Role::Cli);
    let leader = match &view.lease {
        Some(l) if l.alive => l.holder.clone().unwrap_or_default(),
        _ if by_cli => "none: synced by `driftless sync`".into(),
        Some(l) => format!("none live (last: {})", l.holder.as_deref().unwrap_or("-")),
        None => "none (no Lease)".into(),
    };
    line(&mut out, "Leader", &leader);
    line(&mut out, "Suspended", yes_no(view.suspended()));
    let Some(s) = &view.status else {
        line(&mut out, "Status", "none recorded yet");
        return out;
    };
    line(&mut out, "Source", &s.source);
    line(
        &mut out,
        "Ready",
        &format!("{} ({})", ready(view), s.result.as_deref().unwrap_or("-")),
    );
    let revision = |r: &Option<String>| r.as_deref().unwrap_or("-").to_string();
    line(&mut out, "Applied", &revision(&s.last_applied_revision));
    line(&mut out, "Attempted", &revision(&s.last_attempted_revision));
    let when = |t: &Option<String>| {
        t.as_deref()
            .map_or("-".into(), |t| format!("{} ago ({t})", age(t, now)))
    };
    line(&mut out, "Last sync", &when(&s.last_attempt_time));
    line(&mut out, "Last good", &when(&s.last_success_time));
    if let Some(error) = &s.error {
        line(&mut out, "Error", error);
    }
    namespaces(&mut out, s);
    failures(&mut out, s);
    drift(&mut out, s, now);
    let _ = writeln!(out, "\nEvents:");
    match events.len() {
        0 => out.push_str("  none\n"),
        n => out.push_str(&indent(&self::events(&events[n.saturating_sub(10)..], now))),
    }
    out
}

fn namespaces(out: &mut String, s: &SetStatus) {
    let _ = writeln!(out, "\nNamespaces:");
    if s.namespaces.is_empty() {
        out.push_str("  none yet\n");
        return;
    }
    let rows: Vec<[String; 3]> = s
        .namespaces
        .iter()
        .map(|(name, ns)| {
            let objects: Vec<String> = ns.objects.iter().map(|(k, n)| format!("{n} {k}")).collect();
            let applied = ns
                .last_applied_revision
                .as_deref()
                .map_or("-", short_revision);
            [name.clone(), applied.into(), objects.join(", ")]
        })
        .collect();
    out.push_str(&indent(&columns(
        &["NAMESPACE", "APPLIED", "OBJECTS"],
        &rows,
    )));
}

fn failures(out: &mut String, s: &SetStatus) {
    let failures: Vec<String> = s
        .namespaces
        .iter()
        .flat_map(|(name, ns)| {
            let more = (ns.more_failures > 0)
                .then(|| format!("{name}: ... and {} more", ns.more_failures));
            ns.failures
                .iter()
                .map(move |f| format!("{}  {}  {}: {}", f.source, f.object, f.reason, f.message))
                .chain(more)
        })
        .collect();
    if failures.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nFailures:");
    for f in failures {
        let _ = writeln!(out, "  {f}");
    }
}

fn drift(out: &mut String, s: &SetStatus, now: Timestamp) {
    let _ = writeln!(out, "\nDrift:");
    if s.drift.drifted.is_empty() {
        out.push_str("  none\n");
        return;
    }
    let rows: Vec<[String; 4]> = s
        .drift
        .drifted
        .iter()
        .map(|(object, d)| {
            let fight = if d.fight { " (fight: left alone)" } else { "" };
            [
                object.clone(),
                d.managers.join(","),
                format!("{}{fight}", d.by),
                age(&d.since, now),
            ]
        })
        .collect();
    out.push_str(&indent(&columns(
        &["OBJECT", "MANAGER", "CHANGE", "SINCE"],
        &rows,
    )));
    if s.drift.more > 0 {
        let _ = writeln!(out, "  ... and {} more", s.drift.more);
    }
}

/// A reconcile's answer, one line.
pub fn pass_line(s: &SetStatus) -> String {
    let revision = s
        .last_attempted_revision
        .as_deref()
        .map_or("-", short_revision);
    let result = s.result.as_deref().unwrap_or("-");
    match s.message() {
        Some(message) if result != "synced" => {
            format!("{}: {result} at revision {revision}: {message}\n", s.name)
        }
        _ => format!("{}: {result} at revision {revision}\n", s.name),
    }
}

/// `driftless tree SET`.
pub fn tree(view: &SetView, tree: &[TreeNamespace]) -> String {
    let mut out = format!("syncset/{}\n", view.name);
    if tree.is_empty() {
        out.push_str("  (nothing recorded yet)\n");
    }
    for (i, ns) in tree.iter().enumerate() {
        let last_ns = i + 1 == tree.len();
        let (branch, pipe) = if last_ns {
            ("└── ", "    ")
        } else {
            ("├── ", "│   ")
        };
        let _ = writeln!(out, "{branch}{}", ns.name);
        let mut lines: Vec<String> = ns.errors.iter().map(|e| format!("! {e}")).collect();
        let members: Vec<(String, &Member)> = ns
            .kinds
            .iter()
            .flat_map(|(kind, members)| {
                members
                    .iter()
                    .map(move |m| (format!("{kind}/{}", m.name), m))
            })
            .collect();
        // Health lines up within a namespace, as a table would.
        let width = members
            .iter()
            .map(|(id, _)| id.chars().count())
            .max()
            .unwrap_or(0);
        for (id, m) in members {
            let drift = m
                .drift
                .as_deref()
                .map_or(String::new(), |d| format!("  drifted: {d}"));
            lines.push(format!("{id:<width$}  {}{drift}", m.health));
        }
        for (j, l) in lines.iter().enumerate() {
            let twig = if j + 1 == lines.len() {
                "└── "
            } else {
                "├── "
            };
            let _ = writeln!(out, "{pipe}{twig}{l}");
        }
    }
    out
}

/// `driftless events`: oldest first, as `kubectl events`.
pub fn events(events: &[Event], now: Timestamp) -> String {
    if events.is_empty() {
        return "No Events found.\n".into();
    }
    let rows: Vec<[String; 5]> = events
        .iter()
        .map(|e| {
            let when = event_time(e).map_or("-".into(), |t| age(&t.to_string(), now));
            let r = e.regarding.as_ref();
            let object = r.map_or("-".into(), |r| {
                format!(
                    "{}/{}",
                    r.kind.as_deref().unwrap_or("?"),
                    r.name.as_deref().unwrap_or("?")
                )
            });
            [
                when,
                e.type_.clone().unwrap_or_default(),
                e.reason.clone().unwrap_or_default(),
                object,
                cut(e.note.as_deref().unwrap_or_default(), 120),
            ]
        })
        .collect();
    columns(&["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], &rows)
}

/// When an Event last happened.
pub fn event_time(e: &Event) -> Option<Timestamp> {
    e.series
        .as_ref()
        .map(|s| s.last_observed_time.0)
        .or(e.event_time.as_ref().map(|t| t.0))
        .or(e.deprecated_last_timestamp.as_ref().map(|t| t.0))
        .or(e.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

/// Left-aligned columns, two spaces apart; the last column is not padded.
fn columns<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            match i + 1 == N {
                true => text.push_str(cell),
                false => {
                    let _ = write!(text, "{cell:<width$}  ", width = widths[i]);
                }
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

/// One line of at most `limit` characters.
fn cut(text: &str, limit: usize) -> String {
    let line = text.lines().next().unwrap_or_default();
    match line.char_indices().nth(limit) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None if line.len() < text.trim_end().len() => format!("{line}…"),
        None => line.to_string(),
    }
}
