//! How a pass and a drift finding change a set's status.

use std::collections::BTreeMap;

use k8s_openapi::jiff::Timestamp;

use super::{Drifted, NamespaceStatus, ObjectFailure, SetStatus, TimelineEntry};
use crate::drift::Finding;
use crate::plan::namespace_label;
use crate::report::{Outcome, Report};
use crate::runner::{Pass, PassOutcome, PassResult};

impl SetStatus {
    /// Records a pass: revisions, result, per-namespace counts and failures, the timeline.
    pub fn record_pass(&mut self, pass: &Pass) {
        let now = Timestamp::now().to_string();
        self.loaded = true;
        self.last_attempt_time = Some(now.clone());
        let outcome = pass.result.outcome();
        if outcome != PassOutcome::Unchanged {
            self.ready = outcome == PassOutcome::Synced;
        }
        if let Some(request) = &pass.reconciled {
            self.last_handled_reconcile = Some(request.clone());
        }
        match &pass.result {
            PassResult::Report(report) => {
                self.result = Some(outcome.label().into());
                self.error = None;
                self.consecutive_failures = 0;
                self.last_attempted_revision = report.revision.clone();
                self.charts = report.charts.clone();
                if !report.failed() {
                    self.last_applied_revision = report.revision.clone();
                    self.last_success_time = Some(now.clone());
                }
                record_namespaces(&mut self.namespaces, report);
            }
            // Nothing ran: the last pass's result still describes the set.
            PassResult::Unchanged(_) => {
                self.result.get_or_insert_with(|| outcome.label().into());
            }
            PassResult::Waiting(why) => {
                self.result = Some(outcome.label().into());
                self.error = Some(why.clone());
            }
            PassResult::Failed(e) => {
                self.result = Some(outcome.label().into());
                self.error = Some(format!("{e:#}"));
                self.consecutive_failures += 1;
                if let crate::Error::NotApplied { revision, .. } = e
                    && revision.is_some()
                {
                    self.last_attempted_revision = revision.clone();
                }
            }
        }
        // An unchanged revision is not news; a reconcile asked for is.
        if outcome != PassOutcome::Unchanged || pass.reconciled.is_some() {
            self.remember(TimelineEntry {
                at: now,
                what: outcome.label().into(),
                revision: self.last_attempted_revision.clone(),
                object: None,
                detail: Some(pass.trigger.label().into()),
            });
        }
    }

    /// Records what a set's watches found.
    pub fn record_finding(&mut self, finding: &Finding) {
        let now = Timestamp::now().to_string();
        let drift = &mut self.drift;
        let (what, id, detail) = match finding {
            Finding::Detected {
                id,
                by,
                managers,
                new,
                ..
            } => {
                let entry = drift.drifted.entry(id.to_string()).or_insert(Drifted {
                    by: by.clone(),
                    managers: managers.clone(),
                    since: now.clone(),
                    fight: false,
                });
                entry.by = by.clone();
                entry.managers = managers.clone();
                if !new {
                    return;
                }
                ("drifted", id, Some(by.clone()))
            }
            Finding::Fight { id, with } => {
                if let Some(d) = drift.drifted.get_mut(&id.to_string()) {
                    d.fight = true;
                }
                ("fight", id, Some(format!("with {with}")))
            }
            Finding::Corrected { id, .. } => {
                drift.drifted.remove(&id.to_string());
                ("corrected", id, None)
            }
            Finding::Cleared { id } => {
                drift.drifted.remove(&id.to_string());
                return;
            }
            Finding::Synced => {
                drift.watching = true;
                return;
            }
            Finding::WatchFailed { .. } => return,
        };
        self.remember(TimelineEntry {
            at: now,
            what: what.into(),
            revision: None,
            object: Some(id.to_string()),
            detail,
        });
    }

    /// Records a suspend or resume as the set's leader saw it.
    pub fn record_suspended(&mut self, suspended: bool) {
        if self.suspended == suspended {
            return;
        }
        self.suspended = suspended;
        self.remember(TimelineEntry {
            at: Timestamp::now().to_string(),
            what: if suspended { "suspended" } else { "resumed" }.into(),
            ..TimelineEntry::default()
        });
    }
}

/// Updates each namespace of the report; a namespace that failed keeps its last applied
/// revision.
fn record_namespaces(namespaces: &mut BTreeMap<String, NamespaceStatus>, report: &Report) {
    let mut before = std::mem::take(namespaces);
    for ns in &report.namespaces {
        let label = namespace_label(&ns.namespace).to_string();
        let mut status = before.remove(&label).unwrap_or_default();
        status.last_attempted_revision = report.revision.clone();
        if !ns.failed() {
            status.last_applied_revision = report.revision.clone();
        }
        status.objects = Outcome::ALL
            .iter()
            .map(|o| (o.key().to_string(), ns.count(*o)))
            .filter(|(_, n)| *n > 0)
            .collect();
        status.more_failures = 0;
        status.failures = ns
            .errors
            .iter()
            .map(|e| ObjectFailure {
                object: format!("namespace {}", namespace_label(&ns.namespace)),
                outcome: Outcome::Failed.key().into(),
                reason: crate::report::Reason::InventoryFailed.label().into(),
                source: "inventory".into(),
                message: e.clone(),
            })
            .chain(
                ns.objects
                    .iter()
                    .filter(|o| matches!(o.outcome, Outcome::Failed | Outcome::NotAttempted))
                    .map(|o| ObjectFailure {
                        object: o.id.to_string(),
                        outcome: o.outcome.key().into(),
                        reason: o.reason.map_or("", |r| r.label()).into(),
                        source: o.source(),
                        message: o.message.clone().unwrap_or_default(),
                    }),
            )
            .collect();
        namespaces.insert(label, status);
    }
}
