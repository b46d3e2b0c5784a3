use std::collections::BTreeMap;

use super::*;
use crate::status::{Drifted, NamespaceStatus, TimelineEntry};

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

fn now() -> Timestamp {
    "2024-06-01T12:00:00Z".parse().unwrap()
}

fn leader(name: &str) -> SetStatus {
    SetStatus {
        role: Role::Leader,
        leader: Some("agent-0".into()),
        loaded: true,
        ready: true,
        result: Some("synced".into()),
        last_applied_revision: Some(SHA.into()),
        last_attempted_revision: Some(SHA.into()),
        last_attempt_time: Some("2024-06-01T11:57:00Z".into()),
        ..SetStatus::new(name, "git https://git.example.com/platform.git main")
    }
}

fn failing(name: &str, message: &str) -> SetStatus {
    let failure = ObjectFailure {
        object: "apps/v1 Deployment team/web".into(),
        outcome: "failed".into(),
        reason: "Invalid".into(),
        source: "apps/web.yaml:12".into(),
        message: message.into(),
    };
    let ns = NamespaceStatus {
        last_applied_revision: Some(SHA.into()),
        objects: BTreeMap::from([("configured".into(), 3), ("failed".into(), 1)]),
        failures: vec![failure],
        ..NamespaceStatus::default()
    };
    SetStatus {
        ready: false,
        result: Some("degraded".into()),
        namespaces: BTreeMap::from([("team".into(), ns)]),
        ..leader(name)
    }
}

fn entry(at: &str, what: &str) -> TimelineEntry {
    TimelineEntry {
        at: at.into(),
        what: what.into(),
        ..TimelineEntry::default()
    }
}

/// The `<section>` of a set, so assertions do not match the summary row.
fn section_of<'p>(page: &'p str, set: &str) -> &'p str {
    let start = page.find(&format!("<section id=\"set-{set}\"")).unwrap();
    let end = start + page[start..].find("</section>").unwrap();
    &page[start..end]
}

#[test]
fn a_failing_namespace_shows_where_and_why() {
    let page = page(
        "agent-0",
        &[failing("platform", "spec.replicas: must be >= 0")],
        now(),
    );
    let section = section_of(&page, "platform");
    assert!(section.contains("data-set=\"platform\""), "{section}");
    assert!(section.contains("<li class=\"failure\""), "{section}");
    assert!(
        section.contains("<code>apps/web.yaml:12</code>"),
        "{section}"
    );
    assert!(
        section.contains("spec.replicas: must be &gt;= 0"),
        "{section}"
    );
    assert!(section.contains("Invalid"), "{section}");
    assert!(section.contains("configured 3"), "{section}");
    assert!(page.contains("<tr data-set=\"platform\">"), "{page}");
    assert!(page.contains("degraded"), "{page}");
    assert!(!section.contains("No failures."), "{section}");
}

#[test]
fn empty_parts_say_so() {
    let page = page("agent-0", &[leader("platform")], now());
    for empty in [
        "No failures.",
        "No drift.",
        "No events yet.",
        "No namespaces yet.",
    ] {
        assert!(page.contains(empty), "{empty}: {page}");
    }
    assert!(!page.contains("class=\"failure\""), "{page}");
    assert!(!page.contains("class=\"drift\""), "{page}");
}

#[test]
fn a_drifted_object_shows_its_managers_and_a_fight() {
    let mut set = leader("platform");
    set.drift.watching = true;
    set.drift.drifted.insert(
        "apps/v1 Deployment team/web".into(),
        Drifted {
            by: "changed by kubectl-edit (.spec.replicas)".into(),
            managers: vec!["kubectl-edit".into(), "helm".into()],
            since: "2024-06-01T10:00:00Z".into(),
            fight: true,
        },
    );
    let page = page("agent-0", &[set], now());
    let section = section_of(&page, "platform");
    assert!(section.contains("<li class=\"drift\""), "{section}");
    assert!(section.contains(">kubectl-edit</code>"), "{section}");
    assert!(section.contains(">helm</code>"), "{section}");
    assert!(
        section.contains("changed by kubectl-edit (.spec.replicas)"),
        "{section}"
    );
    assert!(section.contains(">fight</span>"), "{section}");
    assert!(section.contains(">2h ago</time>"), "{section}");
    assert!(!section.contains("No drift."), "{section}");
}

#[test]
fn html_in_the_data_comes_out_escaped() {
    let evil = "<script>alert(1)</script>";
    let mut set = failing(evil, evil);
    set.error = Some(format!("\"quoted\" & 'single' {evil}"));
    set.source = evil.into();
    set.leader = Some(evil.into());
    set.timeline.push_back(TimelineEntry {
        object: Some(evil.into()),
        detail: Some(evil.into()),
        ..entry("2024-06-01T11:00:00Z", evil)
    });
    let page = page(evil, &[set], now());
    // The page's own script is the one `<script>` there is.
    assert_eq!(page.matches("<script>").count(), 1, "{page}");
    assert!(!page.contains("alert(1)</script>"), "{page}");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    assert!(
        page.contains("&quot;quoted&quot; &amp; &#39;single&#39;"),
        "{page}"
    );
    assert!(page.contains("data-set=\"&lt;script&gt;"), "{page}");
}

#[test]
fn revisions_link_to_their_commit_by_the_template() {
    let mut set = leader("platform");
    set.commit_url = Some("https://git.example.com/platform/commit/{revision}?a=1&b=2".into());
    set.timeline.push_back(TimelineEntry {
        revision: Some("v1.2 /#x".into()),
        ..entry("2024-06-01T11:00:00Z", "synced")
    });
    let page = page("agent-0", &[set], now());
    let link = format!(
        "<a class=\"revision\" href=\"https://git.example.com/platform/commit/{SHA}?a=1&amp;b=2\" \
         title=\"{SHA}\" data-revision=\"{SHA}\">0123456789ab</a>"
    );
    assert!(page.contains(&link), "{page}");
    // A revision that is not a SHA shows whole, and is encoded in the link.
    assert!(
        page.contains("/commit/v1.2%20%2F%23x?a=1&amp;b=2\" title=\"v1.2 /#x\">v1.2 /#x</a>"),
        "{page}"
    );
}

#[test]
fn with_no_template_no_link_and_no_url_at_all() {
    let set = failing("platform", "boom");
    let page = page("agent-0", &[set], now());
    assert!(
        page.contains(&format!(
            "<code class=\"revision\" title=\"{SHA}\" data-revision=\"{SHA}\">0123456789ab</code>"
        )),
        "{page}"
    );
    // The set's source names a URL: it is data, so leave it out of this check.
    let page = page.replace("git https://git.example.com/platform.git main", "");
    assert!(!page.contains("http://"), "{page}");
    assert!(!page.contains("https://"), "{page}");
    assert!(!page.contains("<a class=\"revision\""), "{page}");
}

#[test]
fn the_timeline_lists_newest_first() {
    let mut set = leader("platform");
    set.timeline
        .push_back(entry("2024-06-01T10:00:00Z", "failed"));
    set.timeline
        .push_back(entry("2024-06-01T11:00:00Z", "degraded"));
    set.timeline
        .push_back(entry("2024-06-01T11:59:00Z", "synced"));
    let page = page("agent-0", &[set], now());
    let section = section_of(&page, "platform");
    let at = |what: &str| section.find(&format!(">{what}</span>")).unwrap();
    assert!(at("synced") < at("degraded"), "{section}");
    assert!(at("degraded") < at("failed"), "{section}");
    assert!(section.contains("Timeline (3)"), "{section}");
}

#[test]
fn a_suspended_set_says_suspended() {
    let set = SetStatus {
        suspended: true,
        ..leader("platform")
    };
    let page = page("agent-0", &[set], now());
    assert!(page.contains(">Suspended</span>"), "{page}");
    assert!(!page.contains(">Ready</span>"), "{page}");
}

#[test]
fn the_status_follows_role_and_readiness() {
    let cases = [
        (leader("a"), "Ready"),
        (failing("a", "x"), "Not ready"),
        (SetStatus::new("a", "dir"), "Starting"),
        (
            SetStatus {
                role: Role::Standby,
                ..SetStatus::new("a", "dir")
            },
            "Standby",
        ),
        (
            SetStatus {
                role: Role::Stopped,
                ..leader("a")
            },
            "Stopped",
        ),
    ];
    for (set, want) in cases {
        assert_eq!(status(&set).0, want, "{set:?}");
    }
}

#[test]
fn ages_count_in_their_largest_unit() {
    let cases = [
        ("2024-06-01T11:59:48Z", "12s ago"),
        ("2024-06-01T11:57:00Z", "3m ago"),
        ("2024-06-01T09:30:00Z", "2h ago"),
        ("2024-05-28T11:00:00Z", "4d ago"),
        ("2024-06-01T12:00:05Z", "0s ago"),
    ];
    for (at, want) in cases {
        let html = time(at, now());
        assert_eq!(
            html,
            format!("<time datetime=\"{at}\" title=\"{at}\">{want}</time>")
        );
    }
    assert_eq!(time("yesterday <b>", now()), "yesterday &lt;b&gt;");
}

#[test]
fn the_summary_cuts_a_long_message() {
    let long = "é".repeat(500);
    let page = page("agent-0", &[failing("platform", &long)], now());
    let row_start = page.find("<tr data-set=\"platform\">").unwrap();
    let row = &page[row_start..row_start + page[row_start..].find("</tr>").unwrap()];
    // The one-line message: where, then the message, cut at 200 characters in all.
    let prefix = "apps/web.yaml:12: apps/v1 Deployment team/web: ";
    let shown = format!("{prefix}{}…", "é".repeat(200 - prefix.len()));
    assert!(row.contains(&format!(">{shown}</span>")), "{row}");
}

#[test]
fn the_page_is_whole_and_allows_only_its_own_style_and_script() {
    let page = page("agent-0", &[leader("platform")], now());
    assert!(
        page.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
    );
    assert!(page.contains(&format!("v{}", env!("CARGO_PKG_VERSION"))));
    assert!(page.contains("datetime=\"2024-06-01T12:00:00Z\""), "{page}");
    assert!(
        page.contains("<a href=\"#set-platform\">platform</a>"),
        "{page}"
    );
    assert_eq!(page.matches("<style>").count(), 1);
    let script = &page[page.find("<script>").unwrap() + 8..page.find("</script>").unwrap()];
    assert_eq!(script, SCRIPT);
    assert!(page.contains(&sha256(SCRIPT)) && page.contains(&sha256(STYLE)));
    assert!(!format!("{STYLE}{SCRIPT}").contains("http"));
}
