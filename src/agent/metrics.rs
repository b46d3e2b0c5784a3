//! The agent's Prometheus metrics (OpenMetrics text at `/metrics`). Every name starts with
//! `driftless_`; labels are bounded (set, namespace, kind, outcome, result), never an object's
//! name.

use std::sync::atomic::AtomicU64;

use k8s_openapi::jiff::Timestamp;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::plan::namespace_label;
use crate::report::{Outcome, Report};
use crate::runner::{Pass, PassOutcome, PassResult};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SetLabels {
    set: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    set: String,
    /// `synced`, `degraded`, `unchanged`, `failed`.
    result: String,
    /// The stage a failed run stopped at (`render`, `fetch`, ...); empty otherwise.
    stage: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ObjectLabels {
    set: String,
    namespace: String,
    kind: String,
    outcome: String,
    /// The typed reason of a skipped, failed, held or not attempted object; empty otherwise.
    reason: String,
}

/// Distinct field managers the drift metrics name before the rest are `other`.
const MAX_MANAGERS: usize = 50;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    set: String,
    namespace: String,
    kind: String,
}

/// A field manager's name: bounded by the writers of a cluster, never an object's name.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ManagerLabels {
    set: String,
    manager: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FetchLabels {
    set: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TakeoverLabels {
    set: String,
    /// `none`, `released`, `expired`, `self`.
    previous: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RevisionLabels {
    set: String,
    revision: String,
}

pub struct Metrics {
    /// Every family below; [`Metrics::new`] fills it field by field, so it is built last.
    registry: Registry,
    runs: Family<RunLabels, Counter>,
    duration: Family<SetLabels, Histogram>,
    objects: Family<ObjectLabels, Counter>,
    prunes: Family<ObjectLabels, Counter>,
    fetches: Family<FetchLabels, Counter>,
    last_success: Family<SetLabels, Gauge<f64, AtomicU64>>,
    revision: Family<RevisionLabels, Gauge>,
    /// Each set's revision in `revision`, to drop the series when it changes.
    revisions: std::sync::Mutex<std::collections::HashMap<String, String>>,
    /// Field managers named in drift labels so far: past [`MAX_MANAGERS`], `other`.
    managers: std::sync::Mutex<std::collections::HashSet<String>>,
    leader: Family<SetLabels, Gauge>,
    ready: Family<SetLabels, Gauge>,
    takeovers: Family<TakeoverLabels, Counter>,
    webhooks: Family<FetchLabels, Counter>,
    drifted: Family<KindLabels, Gauge>,
    drift_events: Family<ManagerLabels, Counter>,
    corrections: Family<FetchLabels, Counter>,
    suspended: Family<SetLabels, Gauge>,
    reconciles: Family<SetLabels, Counter>,
    led: Family<ReplicaLabels, Gauge>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReplicaLabels {
    replica: String,
}

/// A registry being filled: each metric is created, registered and kept in one call.
struct Registering(Registry);

impl Registering {
    fn add<M: prometheus_client::registry::Metric + Clone>(
        &mut self,
        name: &str,
        help: &str,
        metric: M,
    ) -> M {
        self.0.register(name, help, metric.clone());
        metric
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut r = Registering(Registry::with_prefix("driftless"));
        Metrics {
            runs: r.add(
                "sync_runs",
                "Sync passes, by result",
                Family::default(),
            ),
            duration: r.add(
                "sync_duration_seconds",
                "How long a sync pass took (fetch, render, plan, apply, prune)",
                Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.05, 2.0, 14))
            }),
            ),
            objects: r.add(
                "objects",
                "Objects handled by sync passes, by outcome",
                Family::default(),
            ),
            prunes: r.add(
                "prunes",
                "Objects deleted because Git no longer holds them",
                Family::default(),
            ),
            fetches: r.add(
                "git_fetches",
                "Reads of a Git source: fetched (the ref moved), up_to_date, failed",
                Family::default(),
            ),
            last_success: r.add(
                "last_success_timestamp_seconds",
                "When a pass last synced the set with no failure (Unix time)",
                Family::default(),
            ),
            revision: r.add(
                "revision_info",
                "The revision the set last synced with no failure (value 1)",
                Family::default(),
            ),
            ready: r.add(
                "set_ready",
                "1 when the set's last pass synced everything; 0 when it failed or was refused",
                Family::default(),
            ),
            leader: r.add(
                "is_leader",
                "1 when this replica holds the set's Lease and writes",
                Family::default(),
            ),
            takeovers: r.add(
                "leader_takeovers",
                "Times this replica took the set's Lease, by how the previous holder left it",
                Family::default(),
            ),
            webhooks: r.add(
                "webhook_calls",
                "Webhook calls: accepted, forwarded (to the leader), ping, unauthorized, limited, unavailable",
                Family::default(),
            ),
            drifted: r.add(
                "drifted_objects",
                "Objects that differ from Git now, as the watches see them",
                Family::default(),
            ),
            drift_events: r.add(
                "drift_events",
                "Drift seen, by the field manager that made it (deleted: the object was deleted)",
                Family::default(),
            ),
            corrections: r.add(
                "drift_corrections",
                "Self-heal: corrected, or fight (corrected too often; left alone)",
                Family::default(),
            ),
            suspended: r.add(
                "suspended",
                "1 when the set is suspended (driftless suspend): no pass, no self-heal",
                Family::default(),
            ),
            reconciles: r.add(
                "reconcile_requests",
                "Passes asked for with driftless reconcile, as the set's leader saw them",
                Family::default(),
            ),
            led: r.add(
                "led_sets",
                "Sync sets this replica leads (about the sets divided by the live replicas)",
                Family::default(),
            ),
            revisions: Default::default(),
            managers: Default::default(),
            registry: r.0,
        }
    }

    pub fn set_leader(&self, set: &str, leading: bool) {
        let labels = SetLabels { set: set.into() };
        self.leader.get_or_create(&labels).set(i64::from(leading));
    }

    pub fn set_suspended(&self, set: &str, suspended: bool) {
        let labels = SetLabels { set: set.into() };
        self.suspended
            .get_or_create(&labels)
            .set(i64::from(suspended));
    }

    pub fn set_led_sets(&self, replica: &str, held: usize) {
        let labels = ReplicaLabels {
            replica: replica.into(),
        };
        self.led.get_or_create(&labels).set(held as i64);
    }

    pub fn reconcile_requested(&self, set: &str) {
        self.reconciles
            .get_or_create(&SetLabels { set: set.into() })
            .inc();
    }

    pub fn took_over(&self, set: &str, from: crate::cluster::TookFrom) {
        let labels = TakeoverLabels {
            set: set.into(),
            previous: from.label().into(),
        };
        self.takeovers.get_or_create(&labels).inc();
    }

    /// The revision the set runs (one series per set: the previous one is dropped).
    pub fn set_revision(&self, set: &str, revision: Option<&str>) {
        let Some(revision) = revision else { return };
        let labels = RevisionLabels {
            set: set.into(),
            revision: revision.into(),
        };
        let mut current = self.revisions.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = current.insert(set.to_string(), revision.to_string())
            && old != revision
        {
            self.revision.remove(&RevisionLabels {
                set: set.into(),
                revision: old,
            });
        }
        self.revision.get_or_create(&labels).set(1);
    }

    /// Counts a drift finding.
    pub fn drift(&self, set: &str, finding: &crate::drift::Finding) {
        use crate::drift::Finding;
        let kind_labels = |id: &crate::render::ObjectId| KindLabels {
            set: set.into(),
            namespace: namespace_label(&id.namespace).into(),
            kind: id.kind.clone(),
        };
        let count = |result: &str| {
            let labels = FetchLabels {
                set: set.into(),
                result: result.into(),
            };
            self.corrections.get_or_create(&labels).inc();
        };
        match finding {
            Finding::Detected {
                id,
                managers,
                deleted,
                new,
                ..
            } => {
                if *new {
                    self.drifted.get_or_create(&kind_labels(id)).inc();
                }
                let by: Vec<&str> = match (deleted, managers.is_empty()) {
                    (true, _) => vec!["deleted"],
                    (false, true) => vec!["unknown"],
                    (false, false) => managers.iter().map(String::as_str).collect(),
                };
                for manager in by {
                    let labels = ManagerLabels {
                        set: set.into(),
                        manager: self.manager_label(manager),
                    };
                    self.drift_events.get_or_create(&labels).inc();
                }
            }
            Finding::Corrected { id, .. } => {
                self.drifted.get_or_create(&kind_labels(id)).dec();
                count("corrected");
            }
            Finding::Cleared { id } => {
                self.drifted.get_or_create(&kind_labels(id)).dec();
            }
            Finding::Fight { .. } => count("fight"),
            Finding::Synced | Finding::WatchFailed { .. } => {}
        }
    }

    /// A manager's name as a label; anyone can name a field manager, so past
    /// [`MAX_MANAGERS`] names the rest are counted as `other`.
    fn manager_label(&self, manager: &str) -> String {
        let mut seen = self.managers.lock().unwrap_or_else(|p| p.into_inner());
        if seen.contains(manager) || seen.len() < MAX_MANAGERS {
            seen.insert(manager.to_string());
            manager.to_string()
        } else {
            "other".to_string()
        }
    }

    /// Counts one webhook call by what became of it.
    pub fn webhook_call(&self, set: &str, result: &str) {
        let labels = FetchLabels {
            set: set.into(),
            result: result.into(),
        };
        self.webhooks.get_or_create(&labels).inc();
    }

    /// Counts one pass.
    pub fn record(&self, set: &str, pass: &Pass) {
        let labels = SetLabels { set: set.into() };
        if let Some(fetch) = pass.fetch {
            let fetch = FetchLabels {
                set: set.into(),
                result: fetch.label().into(),
            };
            self.fetches.get_or_create(&fetch).inc();
        }
        let outcome = pass.result.outcome();
        let stage = match &pass.result {
            PassResult::Failed(e) => e.stage().label(),
            _ => "",
        };
        let run = RunLabels {
            set: set.into(),
            result: outcome.label().into(),
            stage: stage.into(),
        };
        self.runs.get_or_create(&run).inc();
        // Ready: the last pass that ran synced everything; a set a guard keeps refusing is not.
        if outcome != PassOutcome::Unchanged {
            let ready = i64::from(outcome == PassOutcome::Synced);
            self.ready.get_or_create(&labels).set(ready);
        }
        if !matches!(pass.result, PassResult::Unchanged(_)) {
            self.duration
                .get_or_create(&labels)
                .observe(pass.elapsed.as_secs_f64());
        }
        if let PassResult::Report(report) = &pass.result {
            self.count_objects(set, report);
            if !report.failed() {
                let now = Timestamp::now().as_millisecond() as f64 / 1000.0;
                self.last_success.get_or_create(&labels).set(now);
                self.set_revision(set, report.revision.as_deref());
            }
        }
    }

    fn count_objects(&self, set: &str, report: &Report) {
        for ns in &report.namespaces {
            let namespace = namespace_label(&ns.namespace);
            for o in &ns.objects {
                let labels = ObjectLabels {
                    set: set.into(),
                    namespace: namespace.into(),
                    kind: o.id.kind.clone(),
                    outcome: o.outcome.key().into(),
                    reason: o.reason.map_or("", |r| r.label()).into(),
                };
                self.objects.get_or_create(&labels).inc();
                if o.outcome == Outcome::Pruned {
                    self.prunes.get_or_create(&labels).inc();
                }
            }
        }
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::Finding;
    use crate::render::ObjectId;

    fn detected(manager: &str, name: &str) -> Finding {
        Finding::Detected {
            id: ObjectId::for_test("v1", "ConfigMap", "team", name),
            by: format!("changed by {manager}"),
            managers: vec![manager.into()],
            deleted: false,
            new: true,
        }
    }

    #[test]
    fn drift_metrics_count_objects_and_bound_manager_labels() {
        let metrics = Metrics::new();
        for i in 0..MAX_MANAGERS + 10 {
            metrics.drift("s", &detected(&format!("writer-{i}"), &format!("cm-{i}")));
        }
        let text = metrics.encode();
        let managers: std::collections::BTreeSet<&str> = text
            .lines()
            .filter(|l| l.starts_with("driftless_drift_events_total{"))
            .filter_map(|l| l.split("manager=\"").nth(1)?.split('"').next())
            .collect();
        assert_eq!(managers.len(), MAX_MANAGERS + 1, "{managers:?}");
        assert!(managers.contains("other"));
        assert!(
            text.contains(&format!(
                "driftless_drifted_objects{{set=\"s\",namespace=\"team\",kind=\"ConfigMap\"}} {}",
                MAX_MANAGERS + 10
            )),
            "{text}"
        );
        metrics.drift(
            "s",
            &Finding::Cleared {
                id: match detected("x", "cm-0") {
                    Finding::Detected { id, .. } => id,
                    _ => unreachable!(),
                },
            },
        );
        assert!(metrics.encode().contains(&format!(
            "driftless_drifted_objects{{set=\"s\",namespace=\"team\",kind=\"ConfigMap\"}} {}",
            MAX_MANAGERS + 9
        )));
    }
}
