//! The agent's dashboard: one read-only HTML page, rendered here on the server, with what
//! `/report` holds (per set its revisions, namespaces, failures, drift and timeline) for a person
//! with a browser or a phone. It is off unless the agent's config says `dashboard: true`.
//!
//! The page is whole without JavaScript; a small inline script only refreshes `<main>` every
//! 5 s. Everything is inline (no CDN, no font, no image): the only links out are a set's commit
//! links. Every string from the data is escaped, and a Content-Security-Policy allows only the
//! page's own style and script, so a string that got through would still not run.

use std::sync::LazyLock;

use base64::Engine as _;
use k8s_openapi::jiff::Timestamp;
use sha2::{Digest as _, Sha256};

use crate::status::{Drifted, ObjectFailure, Role, SetStatus, TimelineEntry};

const STYLE: &str = include_str!("dashboard/style.css");
const SCRIPT: &str = include_str!("dashboard/refresh.js");
/// The summary cuts a message here; the set's section shows it whole.
const MESSAGE_CHARS: usize = 200;

/// The inline style and script by hash: nothing else may run or style the page.
static CSP: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; style-src '{}'; script-src '{}'; connect-src 'self'; \
         base-uri 'none'; form-action 'none'",
        sha256(STYLE),
        sha256(SCRIPT)
    )
});

/// The whole page (HTML, CSS and script inline): the sets, per set its namespaces, failures,
/// drift and timeline. `now` is for ages ("3m ago").
pub fn page(identity: &str, sets: &[SetStatus], now: Timestamp) -> String {
    let sections: String = sets.iter().map(|s| section(s, now)).collect();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n\
         <title>driftless · {id}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{header}\n\
         <main>\n{summary}{sections}</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n",
        csp = esc(&CSP),
        id = esc(identity),
        header = header(identity, now),
        summary = summary(sets, now),
    )
}

fn sha256(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

fn header(identity: &str, now: Timestamp) -> String {
    // Whole seconds: the fraction is noise to a reader.
    let at = Timestamp::from_second(now.as_second()).unwrap_or(now);
    format!(
        "<header><h1>driftless</h1><span class=\"identity\">{}</span>\
         <span class=\"version\">v{}</span>\
         <span>updated <time id=\"updated\" datetime=\"{at}\">{at}</time></span>\
         <span id=\"offline\" class=\"badge bad\" hidden>offline</span></header>",
        esc(identity),
        esc(env!("CARGO_PKG_VERSION")),
    )
}

// The summary: one row per set.

fn summary(sets: &[SetStatus], now: Timestamp) -> String {
    if sets.is_empty() {
        return "<p class=\"empty\">No sets.</p>\n".into();
    }
    let rows: String = sets.iter().map(|s| summary_row(s, now)).collect();
    format!(
        "<h2>Sets</h2>\n<div class=\"scroll\"><table class=\"stack sets\">\n<thead><tr>\
         <th>Set</th><th>Status</th><th>Revision</th><th>Result</th><th>Last attempt</th>\
         <th>Drift</th><th>Message</th></tr></thead>\n<tbody>\n{rows}</tbody></table></div>\n"
    )
}

fn summary_row(s: &SetStatus, now: Timestamp) -> String {
    let name = esc(&s.name);
    // The revision the last pass tried, as `driftless status` shows it: a degraded set's too
    // (its result says how it went).
    let tried = s
        .last_attempted_revision
        .as_ref()
        .or(s.last_applied_revision.as_ref());
    let revision = tried.map(String::as_str).map_or_else(none, |r| {
        revision_element(
            r,
            s.commit_url.as_deref(),
            &format!(" data-revision=\"{}\"", esc(r)),
        )
    });
    let message = s.message().map_or_else(String::new, |m| {
        format!("<span title=\"{}\">{}</span>", esc(&m), esc(&cut(&m)))
    });
    let drifted = s.drift.drifted.len() + s.drift.more;
    let cells = [
        cell("Set", &format!("<a href=\"#set-{name}\">{name}</a>")),
        cell("Status", &status_badge(s)),
        cell("Revision", &revision),
        cell("Result", &result_badge(s.result.as_deref())),
        cell(
            "Last attempt",
            &time_or_none(s.last_attempt_time.as_deref(), now),
        ),
        cell("Drift", &drift_count(drifted)),
        cell("Message", &message),
    ];
    format!("<tr data-set=\"{name}\">{}</tr>\n", cells.concat())
}

fn drift_count(n: usize) -> String {
    match n {
        0 => "0".into(),
        n => format!("<span class=\"badge warn\">{n}</span>"),
    }
}

/// [`MESSAGE_CHARS`] characters and an ellipsis: a message can be a whole log.
fn cut(text: &str) -> String {
    match text.char_indices().nth(MESSAGE_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// What the set is, in one word: the role first, then whether its last pass synced.
fn status(s: &SetStatus) -> (&'static str, &'static str) {
    if s.role == Role::Stopped {
        return ("Stopped", "bad");
    }
    if s.suspended {
        return ("Suspended", "off");
    }
    match s.role {
        Role::Starting => ("Starting", "info"),
        Role::Standby => ("Standby", "info"),
        Role::Leader if !s.loaded => ("Starting", "info"),
        _ if s.ready => ("Ready", "ok"),
        _ => ("Not ready", "bad"),
    }
}

fn status_badge(s: &SetStatus) -> String {
    let (label, class) = status(s);
    format!("<span class=\"badge {class}\">{label}</span>")
}

/// A pass's result or a timeline event, colored by how good it is.
fn result_badge(what: Option<&str>) -> String {
    let Some(what) = what else {
        return none();
    };
    let class = match what {
        "synced" | "unchanged" | "corrected" | "resumed" => "ok",
        "degraded" | "drifted" => "warn",
        "failed" | "fight" => "bad",
        "waiting" => "info",
        _ => "off",
    };
    format!("<span class=\"badge {class}\">{}</span>", esc(what))
}

// A set's section: facts, then namespaces, drift and timeline.

fn section(s: &SetStatus, now: Timestamp) -> String {
    let name = esc(&s.name);
    let error = s.error.as_deref().map_or_else(String::new, |e| {
        format!("<pre class=\"message error\">{}</pre>\n", esc(e))
    });
    format!(
        "<section id=\"set-{name}\" data-set=\"{name}\" class=\"set\">\n\
         <h2>{name} {badge}</h2>\n{facts}{error}{namespaces}{drift}{timeline}</section>\n",
        badge = status_badge(s),
        facts = facts(s, now),
        namespaces = namespaces(s),
        drift = drift(s, now),
        timeline = timeline(s, now),
    )
}

fn facts(s: &SetStatus, now: Timestamp) -> String {
    let url = s.commit_url.as_deref();
    let revision = |r: Option<&str>| r.map_or_else(none, |r| revision_element(r, url, ""));
    let at = |t: Option<&str>| t.map_or_else(String::new, |t| format!(" · {}", time(t, now)));
    let mut rows = vec![
        fact("Leader", &s.leader.as_deref().map_or_else(none, esc)),
        fact("Source", &format!("<code>{}</code>", esc(&s.source))),
        fact(
            "Applied",
            &(revision(s.last_applied_revision.as_deref()) + &at(s.last_success_time.as_deref())),
        ),
        fact(
            "Attempted",
            &(revision(s.last_attempted_revision.as_deref()) + &at(s.last_attempt_time.as_deref())),
        ),
        fact("Result", &result(s)),
    ];
    if let Some(request) = &s.last_handled_reconcile {
        rows.push(fact("Reconcile", &format!("handled {}", esc(request))));
    }
    if !s.charts.is_empty() {
        let charts: Vec<String> = s.charts.iter().map(|c| esc(&c.to_string())).collect();
        rows.push(fact("Charts", &charts.join("<br>")));
    }
    if s.omitted > 0 {
        let left_out = format!("{} left out to keep the status small", s.omitted);
        rows.push(fact("Omitted", &left_out));
    }
    format!("<dl class=\"facts\">{}</dl>\n", rows.concat())
}

fn result(s: &SetStatus) -> String {
    let badge = result_badge(s.result.as_deref());
    match s.consecutive_failures {
        0 => badge,
        1 => format!("{badge} · failed once"),
        n => format!("{badge} · failed {n} times in a row"),
    }
}

fn fact(term: &str, html: &str) -> String {
    format!("<dt>{term}</dt><dd>{html}</dd>")
}

/// A part of a set's section that opens and closes; its id keeps it so across refreshes.
fn part(id: &str, s: &SetStatus, title: &str, open: bool, body: &str) -> String {
    let open = if open { " open" } else { "" };
    format!(
        "<details id=\"{id}-{}\"{open}><summary>{title}</summary>\n{body}</details>\n",
        esc(&s.name)
    )
}

// Namespaces and their failures.

fn namespaces(s: &SetStatus) -> String {
    let failures: usize = s
        .namespaces
        .values()
        .map(|n| n.failures.len() + n.more_failures)
        .sum();
    let title = format!(
        "Namespaces ({}) · {}",
        s.namespaces.len(),
        plural(failures, "failure")
    );
    let body = namespace_table(s) + &failure_list(s);
    part("ns", s, &title, true, &body)
}

fn namespace_table(s: &SetStatus) -> String {
    if s.namespaces.is_empty() {
        return "<p class=\"empty\">No namespaces yet.</p>\n".into();
    }
    let url = s.commit_url.as_deref();
    let revision = |r: Option<&str>| r.map_or_else(none, |r| revision_element(r, url, ""));
    let rows: String = s
        .namespaces
        .iter()
        .map(|(ns, n)| {
            let objects: Vec<String> = n
                .objects
                .iter()
                .map(|(outcome, count)| format!("{} {count}", esc(outcome)))
                .collect();
            let cells = [
                cell("Namespace", &esc(ns)),
                cell("Applied", &revision(n.last_applied_revision.as_deref())),
                cell("Attempted", &revision(n.last_attempted_revision.as_deref())),
                cell("Objects", &objects.join(" · ")),
            ];
            format!(
                "<tr data-namespace=\"{}\">{}</tr>\n",
                esc(ns),
                cells.concat()
            )
        })
        .collect();
    format!(
        "<div class=\"scroll\"><table class=\"stack\">\n<thead><tr><th>Namespace</th>\
         <th>Applied</th><th>Attempted</th><th>Objects</th></tr></thead>\n\
         <tbody>\n{rows}</tbody></table></div>\n"
    )
}

fn failure_list(s: &SetStatus) -> String {
    let items: String = s
        .namespaces
        .iter()
        .flat_map(|(ns, n)| n.failures.iter().map(move |f| failure(ns, f)))
        .collect();
    let more: usize = s.namespaces.values().map(|n| n.more_failures).sum();
    let more = match more {
        0 => String::new(),
        n => format!(
            "<li class=\"note\">and {} more</li>\n",
            plural(n, "failure")
        ),
    };
    if items.is_empty() && more.is_empty() {
        return "<p class=\"empty\">No failures.</p>\n".into();
    }
    format!("<ul class=\"entries\">\n{items}{more}</ul>\n")
}

fn failure(ns: &str, f: &ObjectFailure) -> String {
    let (label, class) = match (f.reason.as_str(), f.outcome.as_str()) {
        ("", "notAttempted") => ("not attempted", "warn"),
        ("", _) => ("failed", "bad"),
        (reason, "notAttempted") => (reason, "warn"),
        (reason, _) => (reason, "bad"),
    };
    format!(
        "<li class=\"failure\" data-namespace=\"{ns}\"><div><strong>{object}</strong> \
         <span class=\"badge {class}\">{label}</span> <span class=\"muted\">{ns}</span></div>\
         <code>{source}</code><pre class=\"message\">{message}</pre></li>\n",
        ns = esc(ns),
        object = esc(&f.object),
        label = esc(label),
        source = esc(&f.source),
        message = esc(&f.message),
    )
}

// Drift.

fn drift(s: &SetStatus, now: Timestamp) -> String {
    let d = &s.drift;
    let items: String = d.drifted.iter().map(|(o, x)| drifted(o, x, now)).collect();
    let more = match d.more {
        0 => String::new(),
        n => format!("<li class=\"note\">and {n} more</li>\n"),
    };
    let body = match items.is_empty() && more.is_empty() {
        true => "<p class=\"empty\">No drift.</p>\n".to_string(),
        false => format!("<ul class=\"entries\">\n{items}{more}</ul>\n"),
    };
    let title = format!("Drift ({})", d.drifted.len() + d.more);
    part("drift", s, &title, true, &(watch_note(s) + &body))
}

fn drifted(object: &str, d: &Drifted, now: Timestamp) -> String {
    let fight = match d.fight {
        true => {
            " <span class=\"badge bad\" title=\"corrected too often: left alone until its \
                 source changes\">fight</span>"
        }
        false => "",
    };
    let managers: Vec<String> = d
        .managers
        .iter()
        .map(|m| format!("<code class=\"manager\">{}</code> · ", esc(m)))
        .collect();
    format!(
        "<li class=\"drift\" data-object=\"{o}\"><div><strong>{o}</strong>{fight}</div>\
         <div>{by}</div><div class=\"muted\">{managers}since {since}</div></li>\n",
        o = esc(object),
        by = esc(&d.by),
        managers = managers.concat(),
        since = time(&d.since, now),
    )
}

/// Why "No drift." may not mean much yet.
fn watch_note(s: &SetStatus) -> String {
    if s.drift.watching {
        return String::new();
    }
    let note = match s.role {
        Role::Leader => "The watches have not listed every object yet: drift may go unseen.",
        _ => "Only the replica that leads the set watches it for drift.",
    };
    format!("<p class=\"note\">{note}</p>\n")
}

// Timeline.

fn timeline(s: &SetStatus, now: Timestamp) -> String {
    if s.timeline.is_empty() {
        return part(
            "timeline",
            s,
            "Timeline",
            false,
            "<p class=\"empty\">No events yet.</p>\n",
        );
    }
    let url = s.commit_url.as_deref();
    // Kept oldest first; the newest is what a reader looks for.
    let rows: String = s
        .timeline
        .iter()
        .rev()
        .map(|e| event(e, url, now))
        .collect();
    let body = format!(
        "<div class=\"scroll\"><table class=\"stack timeline\">\n<thead><tr><th>Time</th>\
         <th>What</th><th>Revision</th><th>Object</th><th>Detail</th></tr></thead>\n\
         <tbody>\n{rows}</tbody></table></div>\n"
    );
    let title = format!("Timeline ({})", s.timeline.len());
    part("timeline", s, &title, true, &body)
}

fn event(e: &TimelineEntry, url: Option<&str>, now: Timestamp) -> String {
    let cells = [
        cell("Time", &time(&e.at, now)),
        cell("What", &result_badge(Some(&e.what))),
        cell(
            "Revision",
            &e.revision
                .as_deref()
                .map_or_else(String::new, |r| revision_element(r, url, "")),
        ),
        cell("Object", &e.object.as_deref().map_or_else(String::new, esc)),
        cell("Detail", &e.detail.as_deref().map_or_else(String::new, esc)),
    ];
    format!("<tr class=\"event\">{}</tr>\n", cells.concat())
}

// Helpers: escaping, cells, times, revisions.

/// Escapes text for HTML, in elements and in quoted attributes alike.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A table cell; `label` heads it when a narrow screen stacks the row.
fn cell(label: &str, html: &str) -> String {
    format!("<td data-label=\"{label}\">{html}</td>")
}

fn none() -> String {
    "<span class=\"muted\">–</span>".into()
}

fn plural(n: usize, what: &str) -> String {
    match n {
        1 => format!("1 {what}"),
        n => format!("{n} {what}s"),
    }
}

fn time_or_none(at: Option<&str>, now: Timestamp) -> String {
    at.map_or_else(none, |at| time(at, now))
}

/// `3m ago`, with the full time on hover; a time that does not parse is shown as it is.
fn time(at: &str, now: Timestamp) -> String {
    match at.parse::<Timestamp>() {
        Ok(t) => format!(
            "<time datetime=\"{at}\" title=\"{at}\">{} ago</time>",
            crate::status::span(now.as_second() - t.as_second()),
            at = esc(at),
        ),
        Err(_) => esc(at),
    }
}

/// The short revision, linked to its commit when the set has a `commit_url` template.
fn revision_element(revision: &str, template: Option<&str>, attrs: &str) -> String {
    let shown = esc(crate::status::short_revision(revision));
    let title = esc(revision);
    match template {
        Some(t) => format!(
            "<a class=\"revision\" href=\"{}\" title=\"{title}\"{attrs}>{shown}</a>",
            esc(&commit_url(t, revision))
        ),
        None => format!("<code class=\"revision\" title=\"{title}\"{attrs}>{shown}</code>"),
    }
}

fn commit_url(template: &str, revision: &str) -> String {
    template.replace("{revision}", &percent_encode(revision))
}

/// Keeps the unreserved characters of RFC 3986; a revision could hold `/`, `?` or `#`.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'~' | b'-' => {
                out.push(char::from(b))
            }
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests;
