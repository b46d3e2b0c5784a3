//! What happened (or would happen), per namespace: one [`Report`] type, rendered as text here
//! and by every other output.

mod budget;
mod findings;
mod json;
mod markdown;
mod sarif;
mod text;

#[cfg(test)]
pub use json::render_json;
pub use json::write_json;
pub use markdown::{DEFAULT_COMMENT_SIZE, MarkdownOptions, render_markdown, render_markdown_with};
pub use sarif::render_sarif;
#[cfg(test)]
pub use text::render_summary;
pub use text::{render_diffs, write_summary};

/// The output formats every report can be rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Unified diffs on stdout (previews) and a per-namespace summary.
    #[default]
    Text,
    /// A pull-request comment: summary table and collapsible diffs.
    Markdown,
    /// One JSON document with every object, its outcome and its diff.
    Json,
    /// SARIF 2.1.0: the lint findings, for code scanning.
    Sarif,
}

use crate::health::{Health, HealthState};
use crate::lint::LintReport;
pub use crate::plan::Reason;
use crate::plan::prune::Hold;
use crate::plan::{Action, NamespaceKey, ObjectPlan, PruneDecision, PrunePlan};
use crate::render::{ObjectId, Origin, ResolvedChart, Unavailable};

/// Whether the report is of a sync that wrote, of a preview (`diff`, `sync --dry-run`), or of
/// `driftless lint` alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Sync,
    Preview,
    Lint,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Created,
    Configured,
    Unchanged,
    /// Deleted and created again: the server refuses the change as immutable.
    Replaced,
    /// Deleted (or, in a preview, to be deleted): Git no longer holds it.
    Pruned,
    /// Git no longer holds it and pruning is off: it stays, and differs from Git.
    Orphaned,
    /// Git defines it and it differs live, but it was left alone (not adopted).
    NotInSync,
    /// Left alone: outside the namespaces in scope, or protected from pruning.
    Skipped,
    Failed,
    /// Valid, but not applied because another object in its namespace failed.
    Held,
    /// Never tried: the run was halted (a signal, its deadline) or the API server was gone.
    NotAttempted,
}

impl Outcome {
    pub const ALL: [Outcome; 11] = [
        Outcome::Created,
        Outcome::Configured,
        Outcome::Replaced,
        Outcome::Unchanged,
        Outcome::Pruned,
        Outcome::Orphaned,
        Outcome::NotInSync,
        Outcome::Skipped,
        Outcome::Failed,
        Outcome::Held,
        Outcome::NotAttempted,
    ];

    /// The key in JSON reports (`notAttempted`).
    pub fn key(self) -> &'static str {
        match self {
            Outcome::NotAttempted => "notAttempted",
            Outcome::NotInSync => "notInSync",
            other => other.label(),
        }
    }

    /// Whether the cluster differs from Git for this object (a preview then exits 1).
    pub fn differs(self) -> bool {
        matches!(
            self,
            Outcome::Created
                | Outcome::Configured
                | Outcome::Replaced
                | Outcome::Pruned
                | Outcome::Orphaned
                | Outcome::NotInSync
        )
    }

    /// Outcomes a summary table shows only when something has them.
    pub fn is_rare(self) -> bool {
        matches!(
            self,
            Outcome::Replaced | Outcome::Orphaned | Outcome::NotInSync
        )
    }

    pub fn label(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Configured => "configured",
            Outcome::Replaced => "replaced",
            Outcome::Unchanged => "unchanged",
            Outcome::Pruned => "pruned",
            Outcome::Orphaned => "orphaned",
            Outcome::NotInSync => "not in sync",
            Outcome::Skipped => "skipped",
            Outcome::Failed => "failed",
            Outcome::Held => "held",
            Outcome::NotAttempted => "not attempted",
        }
    }
}

/// One object's line in the report.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectReport {
    pub id: ObjectId,
    /// The manifest's file and line (none for pruned objects: Git no longer has them).
    pub origin: Option<Origin>,
    pub outcome: Outcome,
    /// Why it was skipped, failed, held or not attempted (none for the other outcomes).
    pub reason: Option<Reason>,
    /// The masked diff of the change (empty when unchanged or failed).
    pub diff: String,
    /// Why it failed or was held, or a note on how it was planned.
    pub message: Option<String>,
    /// Another field manager owns fields we set.
    pub conflict: Option<String>,
    /// Fields changed out of band by kubectl (or another takeover manager), taken back.
    pub drift: Option<String>,
    /// How it runs after the sync (`sync --wait`); `None` when not waited on.
    pub health: Option<Health>,
    /// Its stage in the namespace when it has one of its own (`wave 2`, `pre-sync hook,
    /// weight -5`); `None` for most objects (wave 0, no hook).
    pub stage: Option<String>,
    /// The changed fields (`spec.replicas`), when the planner knows them (an offline preview):
    /// what a comment that cannot fit the diff shows instead.
    pub fields: Vec<String>,
}

impl ObjectReport {
    /// A line with nothing to say but its outcome: the base of every other constructor.
    pub fn new(id: ObjectId, origin: Option<Origin>, outcome: Outcome) -> ObjectReport {
        ObjectReport {
            id,
            origin,
            outcome,
            reason: None,
            diff: String::new(),
            message: None,
            conflict: None,
            drift: None,
            health: None,
            stage: None,
            fields: Vec::new(),
        }
    }

    /// The report line of a planned object, before (or instead of) applying it.
    pub fn planned(plan: ObjectPlan) -> ObjectReport {
        let outcome = match plan.action {
            Action::Create => Outcome::Created,
            Action::Update => Outcome::Configured,
            Action::Replace => Outcome::Replaced,
            Action::Unchanged => Outcome::Unchanged,
            Action::Fail => Outcome::Failed,
            // Left alone, and different from Git: not in sync, whatever a sync did.
            Action::Skip if !plan.diff.is_empty() => Outcome::NotInSync,
            Action::Skip => Outcome::Skipped,
            Action::NotAttempted => Outcome::NotAttempted,
        };
        let object = &plan.object;
        let stage = crate::plan::order::Stage::of(&object.lifecycle());
        ObjectReport {
            stage: (!stage.is_plain()).then(|| stage.label()),
            reason: plan.reason,
            diff: plan.diff,
            message: plan.message,
            conflict: plan.conflict,
            drift: plan.drift,
            ..ObjectReport::new(object.id.clone(), Some(object.origin.clone()), outcome)
        }
    }

    /// Where the object is defined: `file:line`, or `inventory` for one Git no longer holds.
    pub fn source(&self) -> String {
        self.origin
            .as_ref()
            .map_or_else(|| "inventory".to_string(), ToString::to_string)
    }

    /// Waited on, and not healthy at the end of the wait (failed, or still in progress).
    pub fn unhealthy(&self) -> bool {
        self.health.as_ref().is_some_and(|h| *h != Health::Healthy)
    }

    /// The report line of an inventory member that Git no longer holds, before pruning.
    pub fn prune(plan: PrunePlan) -> ObjectReport {
        let (outcome, reason, message, diff) = match plan.decision {
            PruneDecision::Prune => (Outcome::Pruned, None, None, plan.diff),
            PruneDecision::Keep(reason, why) => {
                (Outcome::Skipped, Some(reason), Some(why), String::new())
            }
        };
        ObjectReport {
            reason,
            diff,
            message,
            ..ObjectReport::new(plan.id, None, outcome)
        }
    }

    /// A member Git dropped that stays with every other one of its namespace (`hold`): a
    /// failure when what decides its prune could not be read, else skipped.
    pub fn prune_held(plan: PrunePlan, hold: &Hold) -> ObjectReport {
        let outcome = match hold {
            Hold::Unlisted(_) => Outcome::Failed,
            Hold::NamespaceFailed => Outcome::Skipped,
        };
        ObjectReport {
            reason: Some(Reason::NamespaceFailed),
            message: Some(hold.message()),
            ..ObjectReport::new(plan.id, None, outcome)
        }
    }

    /// The report line of a member Git no longer holds, while pruning is off: what a prune
    /// would do with it, without doing it.
    pub fn orphan(plan: PrunePlan) -> ObjectReport {
        let mut line = ObjectReport::prune(plan);
        if line.outcome == Outcome::Pruned {
            line.outcome = Outcome::Orphaned;
            line.message = Some("prune is off (--prune deletes it)".into());
        }
        line
    }

    /// An object this run did not get to, and why (`not attempted: interrupted (SIGINT)`).
    pub fn not_attempted(mut self, reason: Reason, why: String) -> ObjectReport {
        self.outcome = Outcome::NotAttempted;
        self.reason = Some(reason);
        self.diff.clear();
        self.message = Some(why);
        self
    }

    /// A desired object not applied because its namespace cannot be synced (`why`).
    pub fn blocked(object: &crate::render::DesiredObject, why: &str) -> ObjectReport {
        ObjectReport {
            reason: Some(Reason::InventoryFailed),
            message: Some(why.to_string()),
            ..ObjectReport::new(
                object.id.clone(),
                Some(object.origin.clone()),
                Outcome::Failed,
            )
        }
    }

    /// The line of an object an offline preview compared (see [`crate::preview`]).
    pub fn previewed(
        object: &crate::render::DesiredObject,
        outcome: Outcome,
        diff: String,
    ) -> ObjectReport {
        ObjectReport {
            diff,
            ..ObjectReport::new(object.id.clone(), Some(object.origin.clone()), outcome)
        }
    }

    /// A desired object left alone because its namespace is outside this sync's scope.
    pub fn out_of_scope(object: crate::render::DesiredObject) -> ObjectReport {
        ObjectReport {
            reason: Some(Reason::OutOfScope),
            message: Some("outside the namespaces this sync manages".into()),
            ..ObjectReport::new(object.id, Some(object.origin), Outcome::Skipped)
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NamespaceReport {
    pub namespace: NamespaceKey,
    pub objects: Vec<ObjectReport>,
    /// Failures of the namespace itself, not of one object (its inventory could not be written).
    pub errors: Vec<String>,
}

impl NamespaceReport {
    pub fn count(&self, outcome: Outcome) -> usize {
        self.objects.iter().filter(|o| o.outcome == outcome).count()
    }
    pub fn failed(&self) -> bool {
        !self.errors.is_empty()
            || self.objects.iter().any(|o| {
                matches!(o.outcome, Outcome::Failed | Outcome::NotAttempted) || o.unhealthy()
            })
    }

    /// How many objects waited on ended in `state`.
    pub fn count_health(&self, state: HealthState) -> usize {
        let states = self.objects.iter().filter_map(|o| o.health.as_ref());
        states.filter(|h| h.state() == state).count()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub mode: Mode,
    /// The sync set the report is of.
    pub set: String,
    /// The source, without credentials.
    pub source: String,
    /// The revision the desired state came from, when the source has one.
    pub revision: Option<String>,
    pub namespaces: Vec<NamespaceReport>,
    /// What an offline preview compared with (`revision 4f2a9c1...`, a directory); `None` for a
    /// preview against the cluster.
    pub base: Option<String>,
    /// The lint findings of the revision (and, against a base, how the change moves them).
    pub lint: Option<LintReport>,
    /// Charts fetched from repositories for the revision, as resolved.
    pub charts: Vec<ResolvedChart>,
    /// A preview only: chart folders not compared, as what they need could not be fetched.
    pub unavailable: Vec<Unavailable>,
}

impl Report {
    pub fn new(mode: Mode, set: String, source: String, revision: Option<String>) -> Report {
        Report {
            mode,
            set,
            source,
            revision,
            namespaces: Vec::new(),
            base: None,
            lint: None,
            charts: Vec::new(),
            unavailable: Vec::new(),
        }
    }

    /// Adds object reports, merging into existing namespaces; keeps namespaces sorted.
    pub fn extend(&mut self, namespace: NamespaceKey, objects: Vec<ObjectReport>) {
        let lines = &mut self.namespace(namespace).objects;
        // The first lines of a namespace are taken as they are, not copied.
        if lines.is_empty() {
            *lines = objects;
        } else {
            lines.extend(objects);
        }
    }

    /// Adds the lines of several namespaces.
    pub fn extend_all(&mut self, lines: Vec<(NamespaceKey, Vec<ObjectReport>)>) {
        for (namespace, objects) in lines {
            self.extend(namespace, objects);
        }
    }

    /// Fails a namespace for a reason that is no single object's.
    pub fn fail_namespace(&mut self, namespace: NamespaceKey, why: String) {
        self.namespace(namespace).errors.push(why);
    }

    fn namespace(&mut self, namespace: NamespaceKey) -> &mut NamespaceReport {
        let idx = match self
            .namespaces
            .binary_search_by(|n| n.namespace.cmp(&namespace))
        {
            Ok(idx) => idx,
            Err(idx) => {
                let report = NamespaceReport {
                    namespace,
                    objects: Vec::new(),
                    errors: Vec::new(),
                };
                self.namespaces.insert(idx, report);
                idx
            }
        };
        &mut self.namespaces[idx]
    }

    pub fn objects(&self) -> impl Iterator<Item = &ObjectReport> {
        self.namespaces.iter().flat_map(|n| n.objects.iter())
    }

    pub fn failed(&self) -> bool {
        self.namespaces.iter().any(NamespaceReport::failed)
    }

    /// True when anything was (or would be) created, changed or deleted, or differs from Git
    /// and was left so (orphaned, not adopted).
    pub fn changed(&self) -> bool {
        self.objects().any(|o| o.outcome.differs())
    }

    /// How many objects waited on ended in `state`.
    pub fn count_health(&self, state: HealthState) -> usize {
        self.namespaces.iter().map(|n| n.count_health(state)).sum()
    }

    /// Whether anything was waited on (`sync --wait`).
    pub fn waited(&self) -> bool {
        self.objects().any(|o| o.health.is_some())
    }

    /// What `--wait` waits on: what the sync manages and exists after it (created, configured
    /// and unchanged alike).
    pub fn to_wait_on(&self) -> Vec<ObjectId> {
        self.objects()
            .filter(|o| {
                // A run-once object that ran and is gone has nothing left to wait for.
                matches!(
                    o.outcome,
                    Outcome::Created | Outcome::Configured | Outcome::Replaced | Outcome::Unchanged
                ) && o.reason != Some(Reason::Completed)
                    // Waited on already: a stage (a hook, a wave) before the next.
                    && o.health.is_none()
            })
            .map(|o| o.id.clone())
            .collect()
    }

    /// Puts each object's health (from `--wait`) on its line.
    pub fn record_health(&mut self, health: Vec<(ObjectId, Health)>) {
        let mut health: std::collections::HashMap<ObjectId, Health> = health.into_iter().collect();
        for line in self
            .namespaces
            .iter_mut()
            .flat_map(|n| n.objects.iter_mut())
        {
            if let Some(h) = health.remove(&line.id) {
                line.health = Some(h);
            }
        }
    }

    /// How many objects ended with `outcome`.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.objects().filter(|o| o.outcome == outcome).count()
    }

    /// Whether lint findings at or above `--fail-on` fail the run.
    pub fn lint_fails(&self) -> bool {
        self.lint.as_ref().is_some_and(LintReport::fails)
    }

    /// `kubectl diff` convention for previews (0 in sync, 1 differences, 2 error); a sync exits
    /// 0 when everything applied and 2 on any failure. Findings at or above `--fail-on` are a
    /// failure (2); `lint` alone exits 1 for them, as a preview does for changes.
    pub fn exit_code(&self) -> i32 {
        match (self.mode, self.failed(), self.changed(), self.lint_fails()) {
            (Mode::Lint, _, _, fails) => i32::from(fails),
            (_, true, _, _) | (_, _, _, true) => 2,
            (Mode::Preview, false, true, _) => 1,
            // What was not compared may differ: never "in sync" over it.
            (Mode::Preview, false, false, _) if !self.unavailable.is_empty() => 1,
            _ => 0,
        }
    }
}

#[cfg(test)]
mod comment_tests;
#[cfg(test)]
mod tests;
