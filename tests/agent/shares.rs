//! Sets shared across replicas: three agents with six sets lead two each; when one dies, the
//! other two lead its sets within 15 s; and no set ever has two writers at once (each agent's
//! log says when it led a set and when its passes ran: the intervals never overlap).

use std::time::{Duration, Instant};

use crate::support::agent::{AgentProcess, parse_openmetrics, sample};
use crate::support::gitops::{app_yaml, value_of};
use crate::support::{self, Workspace};

/// Who holds each set's Lease now.
async fn holders(sets: &[String]) -> Vec<Option<String>> {
    use k8s_openapi::api::coordination::v1::Lease;
    let api =
        kube::Api::<Lease>::namespaced(support::client().await, support::inventory_namespace());
    let mut out = Vec::new();
    for set in sets {
        let lease = api
            .get_opt(&format!("driftless-{set}"))
            .await
            .ok()
            .flatten();
        out.push(
            lease
                .and_then(|l| l.spec?.holder_identity)
                .filter(|h| !h.is_empty()),
        );
    }
    out
}

fn count(holders: &[Option<String>], who: &str) -> usize {
    holders.iter().filter(|h| h.as_deref() == Some(who)).count()
}

/// What an agent's log says about `set`: (time, what) for `lead`, `gave` and `pass`.
fn story(log: &str, set: &str) -> Vec<(String, &'static str)> {
    let named = |line: &str| {
        line.contains(&format!("set={set} ")) || line.contains(&format!("set=\"{set}\""))
    };
    log.lines()
        .filter(|l| named(l))
        .filter_map(|l| {
            let what = if l.contains("leading the sync set") {
                "lead"
            } else if l.contains("gave the sync set to another replica") {
                "gave"
            } else if l.contains(" INFO synced ") {
                "pass"
            } else {
                return None;
            };
            Some((l.split_whitespace().next()?.to_string(), what))
        })
        .collect()
}

/// Checks that `set` never had two leaders: merged over every agent's log (a killed agent
/// ends at `killed`), each `lead` starts after the last leader gave the set up or died, and
/// each pass runs while its agent leads.
fn one_writer_at_a_time(logs: &[(String, String)], set: &str, killed: (&str, &str)) {
    let mut events: Vec<(String, String, &str)> = Vec::new();
    for (agent, log) in logs {
        for (at, what) in story(log, set) {
            events.push((at, agent.clone(), what));
        }
        if agent == killed.0 {
            events.push((killed.1.to_string(), agent.clone(), "died"));
        }
    }
    events.sort();
    assert!(
        events.iter().any(|(_, _, what)| *what == "lead")
            && events.iter().any(|(_, _, what)| *what == "pass"),
        "{set}: the logs say nothing of it: {events:#?}"
    );
    let mut leader: Option<String> = None;
    for (at, agent, what) in &events {
        match *what {
            "lead" => {
                assert!(
                    leader.is_none(),
                    "{set}: {agent} led at {at} while {leader:?} did: {events:#?}"
                );
                leader = Some(agent.clone());
            }
            "gave" | "died" if leader.as_deref() == Some(agent) => leader = None,
            "pass" => assert_eq!(
                leader.as_deref(),
                Some(agent.as_str()),
                "{set}: a pass of {agent} at {at} while {leader:?} led: {events:#?}"
            ),
            _ => {}
        }
    }
}

#[tokio::test]
async fn three_replicas_share_six_sets_and_take_over_a_dead_ones_within_15_s() {
    let mut ws = Workspace::new();
    let mut config = "apiVersion: driftless.dev/v1alpha1\nkind: AgentConfig\nsets:\n".to_string();
    let mut sets = Vec::new();
    for i in 0..6 {
        let (set, ns) = (
            support::unique(&format!("share{i}")),
            support::unique("dl-share"),
        );
        ws.namespaces.push(ns.clone());
        ws.write(&format!("{set}/app.yaml"), &app_yaml(&ns, "v1"));
        config.push_str(&format!(
            "  - name: {set}\n    source: {{directory: '{}'}}\n    interval: 1s\n",
            ws.file(&set).display()
        ));
        sets.push((set, ns));
    }
    ws.write("agent.yaml", &config);
    let names: Vec<String> = sets.iter().map(|(s, _)| s.clone()).collect();
    let mut agents: Vec<AgentProcess> = ["share-a", "share-b", "share-c"]
        .iter()
        .map(|id| AgentProcess::start(&ws.file("agent.yaml"), id, ws.path()))
        .collect();
    for agent in &agents {
        agent.wait_ready().await;
    }
    let balanced = support::poll_until(Duration::from_secs(60), || async {
        let now = holders(&names).await;
        ["share-a", "share-b", "share-c"]
            .iter()
            .all(|id| count(&now, id) == 2)
            .then_some(now)
    })
    .await;
    let logs = |agents: &[AgentProcess]| {
        agents
            .iter()
            .map(|a| a.log())
            .collect::<Vec<_>>()
            .join("\n----\n")
    };
    assert!(
        balanced.is_some(),
        "never two sets each: {:?}\n{}",
        holders(&names).await,
        logs(&agents)
    );
    for agent in &agents {
        let samples = parse_openmetrics(&agent.body("/metrics"));
        let replica = format!("replica=\"{}\"", agent.identity);
        assert_eq!(
            sample(&samples, "driftless_led_sets", &[&replica]),
            Some(2.0),
            "{}",
            agent.identity
        );
    }
    for (_, ns) in &sets {
        assert!(
            support::eventually(|| async { value_of(ns, "app").await.as_deref() == Some("v1") })
                .await,
            "{}",
            logs(&agents)
        );
    }

    // One dies: its two sets are led by the other two within 15 s, three each.
    let victim = agents.remove(0);
    let mut victim = victim;
    let died_at = k8s_openapi::jiff::Timestamp::now().to_string();
    victim.kill();
    let killed = Instant::now();
    let moved = support::poll_until(Duration::from_secs(30), || async {
        let now = holders(&names).await;
        (count(&now, "share-b") == 3 && count(&now, "share-c") == 3).then_some(killed.elapsed())
    })
    .await;
    assert!(
        moved.is_some(),
        "not taken over: {:?}\n{}",
        holders(&names).await,
        logs(&agents)
    );
    let took = moved.unwrap_or_default();
    eprintln!("the dead replica's sets were led again {took:?} after it died");
    assert!(took <= Duration::from_secs(15), "took {took:?}");
    // And they sync: a change in each set lands.
    for (set, ns) in &sets {
        ws.write(&format!("{set}/app.yaml"), &app_yaml(ns, "v2"));
    }
    for (_, ns) in &sets {
        assert!(
            support::eventually(|| async { value_of(ns, "app").await.as_deref() == Some("v2") })
                .await,
            "{}",
            logs(&agents)
        );
    }

    let mut all = vec![(victim.identity.clone(), victim.log())];
    all.extend(agents.iter().map(|a| (a.identity.clone(), a.log())));
    for set in &names {
        one_writer_at_a_time(&all, set, (&victim.identity, &died_at));
    }
    for agent in &mut agents {
        agent.terminate(Duration::from_secs(15));
    }
}
