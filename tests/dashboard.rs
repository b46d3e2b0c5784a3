//! The agent's dashboard (`dashboard: true`) in a real headless Chromium, against a running
//! agent and the test cluster: the page shows a set, its failures with `file:line` and its drift
//! by manager, keeps Secret values and outside URLs off the page, and its own script refreshes it
//! to a new revision and new drift. Off unless asked for; commit links when a set has
//! `commitUrl`.

use std::time::{Duration, Instant};

use base64::Engine as _;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

use crate::support::agent::AgentProcess;
use crate::support::browser::Browser;
use crate::support::git::TestRepo;
use crate::support::gitops::{app_yaml, edit_value, namespace};
use crate::support::{self, Workspace};

/// An agent config with one set reading `url` every second, not healing drift; `top` is added
/// at the top (`dashboard: true`) and `in_set` to the set (`commitUrl: ...`).
fn config(set: &str, url: &str, top: &str, in_set: &str) -> String {
    format!(
        "apiVersion: driftless.dev/v1alpha1\nkind: AgentConfig\n{top}sets:\n  - name: {set}\n    \
         source:\n      git: {{url: '{url}', revision: main}}\n    interval: 1s\n    \
         selfHeal: false\n{in_set}"
    )
}

/// A Secret `creds` in `ns` with `password` in `stringData`.
fn secret_yaml(ns: &str, password: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: {ns}\n\
         stringData:\n  password: \"{password}\"\n"
    )
}

/// The namespace `ns` and a ConfigMap `broken` in it whose `data.n` is `n`: a bare number is
/// refused by the API server.
fn broken_yaml(ns: &str, n: &str) -> String {
    format!(
        "{}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\n  namespace: {ns}\n\
         data:\n  n: {n}\n",
        namespace(ns)
    )
}

/// The agent's one set in `/report`.
fn the_set(agent: &AgentProcess) -> Value {
    agent.report()["sets"][0].clone()
}

/// Every failure of the set, over its namespaces.
fn failures(set: &Value) -> Vec<Value> {
    let namespaces = set["namespaces"].as_object().cloned().unwrap_or_default();
    namespaces
        .values()
        .flat_map(|n| n["failures"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// Sets `data.password` of the Secret `creds` as `manager` would.
async fn edit_password(ns: &str, manager: &str, password: &str) {
    let api = Api::<Secret>::namespaced(support::client().await, ns);
    let params = PatchParams {
        field_manager: Some(manager.into()),
        ..Default::default()
    };
    let patch = json!({"data": {"password": base64(password)}});
    api.patch("creds", &params, &Patch::Merge(&patch))
        .await
        .expect("edit the Secret");
}

fn base64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// The values of every `name="..."` attribute in `html`.
fn attribute_values(html: &str, name: &str) -> Vec<String> {
    let opening = format!(" {name}=\"");
    html.match_indices(&opening)
        .map(|(at, _)| {
            let value = &html[at + opening.len()..];
            value[..value.find('"').unwrap_or(value.len())].to_string()
        })
        .collect()
}

/// The full revision the summary row of `set` shows, if any.
fn row_revision(browser: &Browser, set: &str) -> Option<String> {
    let script = "const e = document.querySelector(`tr[data-set=\"${arguments[0]}\"] \
                  [data-revision]`); return e ? e.dataset.revision : null";
    browser
        .execute(script, &[json!(set)])
        .as_str()
        .map(str::to_string)
}

#[tokio::test]
async fn the_dashboard_shows_sets_failures_and_drift_and_refreshes_to_a_new_revision() {
    let (set, ns) = (support::unique("dash"), support::unique("dl-dash"));
    // A namespace of its own for the refused object: a failure holds its whole namespace back.
    let broken_ns = format!("{ns}-broken");
    let (password, edited_password) = (support::unique("canary-pw"), support::unique("canary-ed"));
    let mut ws = Workspace::new();
    ws.namespaces.extend([ns.clone(), broken_ns.clone()]);
    let repo = TestRepo::local();
    repo.write("app.yaml", &app_yaml(&ns, "v1"));
    repo.write("secret.yaml", &secret_yaml(&ns, &password));
    let broken = broken_yaml(&broken_ns, "5");
    repo.write("broken.yaml", &broken);
    let first = repo.commit("v1, with a ConfigMap the API server refuses");
    ws.write(
        "agent.yaml",
        &config(&set, &repo.file_url(), "dashboard: true\n", ""),
    );
    let mut agent = AgentProcess::start(&ws.file("agent.yaml"), "dash-a", ws.path());
    agent.wait_ready().await;

    // The first pass: `app` and `creds` applied, `broken` refused with its file:line.
    let pass = support::poll_until(Duration::from_secs(30), || async {
        let status = the_set(&agent);
        let seen = status["lastAttemptedRevision"] == first.as_str()
            && status["drift"]["watching"] == true
            && !failures(&status).is_empty();
        seen.then_some(status)
    })
    .await;
    let status = pass.unwrap_or_else(|| {
        panic!(
            "no pass of {first} with a failure in 30 s:\n{}\n{}",
            agent.body("/report"),
            agent.log()
        )
    });
    let failure = failures(&status)
        .into_iter()
        .find(|f| f["object"] == format!("v1 ConfigMap {broken_ns}/broken").as_str())
        .unwrap_or_else(|| panic!("no failure for `broken`: {status:#}"));
    // The line where the ConfigMap's document starts (the one above `kind:`, counted from 1).
    let kind = broken.lines().position(|l| l == "kind: ConfigMap");
    let line = kind.expect("the ConfigMap's kind");
    let source = format!("broken.yaml:{line}");
    assert_eq!(failure["source"], source.as_str(), "{failure:#}");
    assert_eq!(failure["reason"], "Invalid", "{failure:#}");

    let url = format!("http://127.0.0.1:{}/", agent.port);
    let browser = Browser::start();
    browser.goto(&url);
    let row = format!("tr[data-set=\"{set}\"]");
    assert_eq!(browser.texts(&row).len(), 1, "{}", browser.text());
    let section = format!("section#set-{set}[data-set=\"{set}\"]");
    assert_eq!(browser.texts(&section).len(), 1, "{}", browser.text());
    let failure_texts = browser.texts(".failure");
    assert!(
        failure_texts
            .iter()
            .any(|t| t.contains(&source) && t.contains(&format!("{broken_ns}/broken"))),
        "no failure naming {source}: {failure_texts:?}"
    );
    assert_contains!(browser.texts(".failure code"), source.as_str());
    // The row shows the revision tried (its result says how it went).
    assert_eq!(
        row_revision(&browser, &set).as_deref(),
        Some(first.as_str()),
        "{}",
        browser.text()
    );
    assert_contains!(browser.texts(&section)[0], &first[..12]);

    // A new commit that mends `broken`: the page's own script brings it, with no navigation
    // (a marker set on this document survives).
    browser.execute("window.dashboardMarker = 42", &[]);
    repo.write("app.yaml", &app_yaml(&ns, "v2"));
    repo.write("broken.yaml", &broken_yaml(&broken_ns, "\"5\""));
    let second = repo.commit("v2");
    let committed = Instant::now();
    browser.wait_for(
        &format!("the row's data-revision to become {second}"),
        Duration::from_secs(20),
        |b| row_revision(b, &set).as_deref() == Some(second.as_str()),
    );
    eprintln!(
        "the page showed {second} {:?} after the commit",
        committed.elapsed()
    );
    let marker = || browser.execute("return window.dashboardMarker", &[]);
    assert_eq!(marker(), json!(42), "the page was reloaded, not refreshed");
    assert_eq!(
        browser.texts(".failure"),
        Vec::<String>::new(),
        "a failure left after the fix"
    );

    // `kubectl edit`s of `app` and of the Secret: drift, which the next refresh shows. (While a
    // set has a failure, every interval is a full pass that applies Git again, so drift is put
    // back within a second even without selfHeal: it can only be seen on a set that synced.)
    edit_value(&ns, "app", "kubectl-edit", "by hand").await;
    edit_password(&ns, "kubectl-edit", &edited_password).await;
    let key = format!("v1 ConfigMap {ns}/app");
    let drifted = support::poll_until(Duration::from_secs(10), || async {
        let by = the_set(&agent)["drift"]["drifted"][&key]["by"].clone();
        by.as_str()
            .is_some_and(|b| b.contains("kubectl-edit"))
            .then_some(())
    });
    assert!(
        drifted.await.is_some(),
        "no drift by kubectl-edit reported in 10 s:\n{}\n{}",
        agent.body("/report"),
        agent.log()
    );
    let drifted_by_hand = |b: &Browser, object: &str| {
        b.texts(".drift")
            .iter()
            .any(|t| t.contains(object) && t.contains("kubectl-edit"))
    };
    let (app, creds) = (format!("{ns}/app"), format!("{ns}/creds"));
    browser.wait_for(
        "drift of app and creds by kubectl-edit",
        Duration::from_secs(20),
        |b| drifted_by_hand(b, &app) && drifted_by_hand(b, &creds),
    );
    assert_contains!(browser.texts(".drift code.manager"), "kubectl-edit");
    assert_eq!(marker(), json!(42), "the page was reloaded, not refreshed");

    // No Secret value anywhere: in the DOM, its text, the page as served.
    let html = match agent.get("/") {
        Some((200, html)) => html,
        other => panic!("GET /: {other:?}\n{}", agent.log()),
    };
    for (what, page) in [
        ("the DOM", browser.source()),
        ("the page's text", browser.text()),
        ("the served HTML", html.clone()),
    ] {
        assert_not_contains!(
            page,
            [
                password,
                base64(&password),
                edited_password,
                base64(&edited_password)
            ],
            "a Secret value in {what}"
        );
    }

    // Nothing from elsewhere, and no link out: no commitUrl was set.
    assert_not_contains!(html, ["http://", "https://"], "an outside URL in the page");
    let sources = attribute_values(&html, "src");
    assert!(sources.is_empty(), "src= in the page: {sources:?}");
    let hrefs = attribute_values(&html, "href");
    assert!(!hrefs.is_empty(), "no links at all:\n{html}");
    assert!(
        hrefs.iter().all(|h| h.starts_with('#')),
        "a link off the page: {hrefs:?}"
    );

    // The README's pictures: `DRIFTLESS_SCREENSHOT=docs/dashboard.png`, and `-phone.png`.
    if let Some(path) = std::env::var_os("DRIFTLESS_SCREENSHOT") {
        let path = std::path::PathBuf::from(path);
        browser.screenshot(&path);
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        let phone_path = path.with_file_name(format!("{stem}-phone.png"));
        let phone = Browser::start_mobile();
        phone.goto(&url);
        assert_eq!(phone.texts(&row).len(), 1, "{}", phone.text());
        phone.screenshot(&phone_path);
        eprintln!("screenshots: {} {}", path.display(), phone_path.display());
    }

    let exit = agent.terminate(Duration::from_secs(10));
    assert!(
        exit.is_some_and(|s| s.success()),
        "exit {exit:?}:\n{}",
        agent.log()
    );
    ws.cleanup().await;
}

#[tokio::test]
async fn the_dashboard_is_off_unless_asked_and_links_revisions_when_configured() {
    let (set, ns) = (support::unique("dash"), support::unique("dl-dash-link"));
    let mut ws = Workspace::new();
    ws.namespaces.push(ns.clone());
    let repo = TestRepo::local();
    repo.write("app.yaml", &app_yaml(&ns, "v1"));
    let sha = repo.commit("v1");

    // No `dashboard:`: `/` is not served, `/report` is.
    ws.write("plain.yaml", &config(&set, &repo.file_url(), "", ""));
    let mut plain = AgentProcess::start(&ws.file("plain.yaml"), "dash-plain", ws.path());
    plain.wait_ready().await;
    assert_eq!(
        plain.get("/").map(|(status, _)| status),
        Some(404),
        "{}",
        plain.log()
    );
    assert_eq!(plain.get("/report").map(|(status, _)| status), Some(200));
    let exit = plain.terminate(Duration::from_secs(10));
    assert!(
        exit.is_some_and(|s| s.success()),
        "exit {exit:?}:\n{}",
        plain.log()
    );

    // With it and a commitUrl: the revision links to its commit.
    let template = "https://git.example.com/p/commit/{revision}";
    ws.write(
        "linked.yaml",
        &config(
            &set,
            &repo.file_url(),
            "dashboard: true\n",
            &format!("    commitUrl: {template}\n"),
        ),
    );
    let mut agent = AgentProcess::start(&ws.file("linked.yaml"), "dash-linked", ws.path());
    agent.wait_ready().await;
    let applied = support::poll_until(Duration::from_secs(30), || async {
        (the_set(&agent)["lastAppliedRevision"] == sha.as_str()).then_some(())
    });
    assert!(
        applied.await.is_some(),
        "{sha} not applied in 30 s:\n{}\n{}",
        agent.body("/report"),
        agent.log()
    );
    let expected = format!("https://git.example.com/p/commit/{sha}");
    let html = agent.body("/");
    assert_contains!(
        html,
        format!("<a class=\"revision\" href=\"{expected}\""),
        "the served HTML links the revision"
    );
    let hrefs = attribute_values(&html, "href");
    assert!(
        hrefs.iter().all(|h| h.starts_with('#') || *h == expected),
        "a link elsewhere: {hrefs:?}"
    );

    let url = format!("http://127.0.0.1:{}/", agent.port);
    let phone = Browser::start_mobile();
    phone.goto(&url);
    let row = format!("tr[data-set=\"{set}\"]");
    phone.wait_for("the set's row", Duration::from_secs(10), |b| {
        b.texts(&row).len() == 1
    });
    let script = "return Array.from(document.querySelectorAll(arguments[0]), \
                  a => [a.getAttribute('href'), a.dataset.revision || null])";
    let links = phone.execute(script, &[json!(format!("{row} a.revision"))]);
    assert_eq!(links, json!([[expected, sha]]), "the row's revision link");
    let all = phone.execute(
        "return Array.from(document.querySelectorAll('a.revision'), a => a.href)",
        &[],
    );
    let all: Vec<String> = serde_json::from_value(all).expect("hrefs");
    assert!(
        !all.is_empty() && all.iter().all(|h| *h == expected),
        "{all:?}"
    );
    // A phone: no sideways scroll of the whole page, the tables stacked.
    let widths = phone.execute(
        "return [document.documentElement.scrollWidth, window.innerWidth]",
        &[],
    );
    let (scroll, inner) = (widths[0].as_i64(), widths[1].as_i64());
    assert!(
        matches!((scroll, inner), (Some(s), Some(i)) if i < 500 && s <= i + 1),
        "the page scrolls sideways on a phone: scrollWidth {scroll:?}, innerWidth {inner:?}"
    );
    let head = phone.execute(
        "return getComputedStyle(document.querySelector('table.sets thead')).display",
        &[],
    );
    assert_eq!(head, json!("none"), "the summary is not stacked on a phone");

    let exit = agent.terminate(Duration::from_secs(10));
    assert!(
        exit.is_some_and(|s| s.success()),
        "exit {exit:?}:\n{}",
        agent.log()
    );
    ws.cleanup().await;
}
