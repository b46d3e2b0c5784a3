//! Step 4 when objects have hooks or waves: each namespace's objects in stages (pre-sync hooks
//! by weight, the waves, post-sync hooks by weight; see [`Stage`]), each stage applied and
//! healthy before the next. A stage that fails (its apply, or its health: a migration Job that
//! failed) holds its namespace's later stages, with why, and runs its sync-fail hooks; other
//! namespaces go on. A hook that ended is deleted when its policy says so.

use std::collections::BTreeMap;

use crate::apply::{self, Applied, ApplyOptions};
use crate::cluster::{Cluster, Propagation, Writer};
use crate::halt::Halt;
use crate::health::{Health, WaitOptions};
use crate::plan::order::Stage;
use crate::plan::{NamespaceKey, NamespacePlan, ObjectPlan, Reason};
use crate::render::lifecycle::Hook;
use crate::render::{KindInfo, ObjectId};
use crate::report::{ObjectReport, Outcome};

/// Whether any object is in a stage of its own (a hook, a wave other than 0).
pub(super) fn needed(plans: &[NamespacePlan]) -> bool {
    plans
        .iter()
        .flat_map(|p| &p.objects)
        .any(|o| !Stage::of(&o.object.lifecycle()).is_plain())
}

/// What staging needs at hand.
pub(super) struct Staging<'a> {
    pub cluster: &'a Cluster,
    pub writer: Option<&'a Writer<'a>>,
    pub options: ApplyOptions,
    pub wait: WaitOptions,
    pub halt: &'a Halt,
}

impl Staging<'_> {
    /// Applies `plans` stage by stage. Namespaces in `held` (their inventory could not be
    /// recorded), or whose plan already failed, are applied (not) as without stages.
    pub async fn apply(
        &self,
        plans: Vec<NamespacePlan>,
        held: &BTreeMap<NamespaceKey, String>,
    ) -> Applied {
        let force = self.options.force_conflicts;
        let (whole, staged): (Vec<_>, Vec<_>) = plans
            .into_iter()
            .partition(|p| p.blocked(force) || held.contains_key(&p.namespace));
        let mut out = self.execute(whole, held).await;
        let mut stages: BTreeMap<Stage, Vec<NamespacePlan>> = BTreeMap::new();
        for ns in staged {
            for plan in ns.objects {
                let stage = Stage::of(&plan.object.lifecycle());
                let group = stages.entry(stage).or_default();
                match group.iter_mut().find(|g| g.namespace == ns.namespace) {
                    Some(g) => g.objects.push(plan),
                    None => group.push(NamespacePlan {
                        namespace: ns.namespace.clone(),
                        objects: vec![plan],
                    }),
                }
            }
        }
        let mut failed: BTreeMap<NamespaceKey, String> = BTreeMap::new();
        let last = stages.keys().next_back().copied();
        for (stage, plans) in stages {
            // Sync-fail hooks run only where the namespace failed; the rest only where not.
            let (run, skip): (Vec<_>, Vec<_>) = plans.into_iter().partition(|p| {
                matches!(stage, Stage::Fail(_)) == failed.contains_key(&p.namespace)
            });
            out.lines
                .extend(skip.into_iter().map(|p| not_run(p, stage, &failed)));
            let hooks = hooks_of(&run);
            let mut applied = self.execute(run, &BTreeMap::new()).await;
            note_failures(&applied, stage, &mut failed);
            if self.writer.is_some() && (!hooks.is_empty() || Some(stage) != last) {
                self.settle(&mut applied, stage, &mut failed).await;
                self.delete_ended_hooks(&applied, &hooks).await;
            }
            out.lines.extend(applied.lines);
            out.records.extend(applied.records);
        }
        out
    }

    async fn execute(
        &self,
        plans: Vec<NamespacePlan>,
        held: &BTreeMap<NamespaceKey, String>,
    ) -> Applied {
        if plans.is_empty() {
            return Applied::default();
        }
        apply::execute(
            self.cluster,
            self.writer,
            plans,
            self.options,
            held,
            self.halt,
        )
        .await
    }

    /// Waits until the stage's objects are healthy (or failed, or the wait is over), records
    /// it on their lines, fails the namespaces where one is not, and deletes the hooks their
    /// policy says to.
    async fn settle(
        &self,
        applied: &mut Applied,
        stage: Stage,
        failed: &mut BTreeMap<NamespaceKey, String>,
    ) {
        let waited: Vec<ObjectId> = applied
            .lines
            .iter()
            .flat_map(|(_, lines)| lines)
            .filter(|l| waits(l))
            .map(|l| l.id.clone())
            .collect();
        let concurrency = self.options.concurrency;
        let health = crate::health::wait(self.cluster, waited, &self.wait, concurrency, self.halt);
        let health: BTreeMap<ObjectId, Health> = health.await.into_iter().collect();
        for (key, lines) in &mut applied.lines {
            for line in lines.iter_mut() {
                let Some(h) = health.get(&line.id) else {
                    continue;
                };
                if *h != Health::Healthy {
                    let why = format!("{} {}: {h}", stage.label(), line.id);
                    failed.entry(key.clone()).or_insert(why);
                }
                line.health = Some(h.clone());
            }
        }
    }

    /// Hooks whose delete policy says so, once they ended: on success, on failure.
    async fn delete_ended_hooks(&self, applied: &Applied, hooks: &Hooks) {
        let Some(writer) = self.writer else {
            return;
        };
        for line in applied.lines.iter().flat_map(|(_, l)| l) {
            let (Some((hook, kind)), Some(h)) = (hooks.get(&line.id), &line.health) else {
                continue;
            };
            let delete = match h {
                Health::Healthy => hook.delete.on_success,
                Health::Failed(_) => hook.delete.on_failure,
                Health::InProgress(_) => false,
            };
            if !delete {
                continue;
            }
            let (ns, name) = (line.id.namespace.as_deref(), &line.id.name);
            match writer
                .delete(kind, ns, name, Propagation::Background, None)
                .await
            {
                Ok(()) => tracing::info!(object = %line.id, "hook deleted, as its policy says"),
                Err(e) => tracing::warn!(object = %line.id, error = %e, "cannot delete the hook"),
            }
        }
    }
}

/// The hooks among a stage's objects: their policies, and how to reach them.
type Hooks = BTreeMap<ObjectId, (Hook, KindInfo)>;

fn hooks_of(plans: &[NamespacePlan]) -> Hooks {
    plans
        .iter()
        .flat_map(|p| &p.objects)
        .filter_map(|o| {
            let hook = o.object.lifecycle().hook?;
            Some((o.id().clone(), (hook, o.object.kind.as_deref()?.clone())))
        })
        .collect()
}

/// What a stage waits on: what it applied or found in place (not what failed or ran before).
fn waits(line: &ObjectReport) -> bool {
    matches!(
        line.outcome,
        Outcome::Created | Outcome::Configured | Outcome::Replaced | Outcome::Unchanged
    ) && line.reason != Some(Reason::Completed)
}

/// A namespace failed in this stage where one of its objects failed or was not attempted.
fn note_failures(applied: &Applied, stage: Stage, failed: &mut BTreeMap<NamespaceKey, String>) {
    for (key, lines) in &applied.lines {
        let first = lines
            .iter()
            .find(|l| matches!(l.outcome, Outcome::Failed | Outcome::NotAttempted));
        if let Some(line) = first {
            let why = format!(
                "{} {} failed: {}",
                stage.label(),
                line.id,
                line.message.as_deref().unwrap_or("failed")
            );
            failed.entry(key.clone()).or_insert(why);
        }
    }
}

/// The lines of a stage not run in a namespace: held after a failure, or (a sync-fail hook
/// where nothing failed) skipped.
fn not_run(
    ns: NamespacePlan,
    stage: Stage,
    failed: &BTreeMap<NamespaceKey, String>,
) -> (NamespaceKey, Vec<ObjectReport>) {
    let why = failed.get(&ns.namespace);
    let lines = ns
        .objects
        .into_iter()
        .map(|plan: ObjectPlan| {
            let mut line = ObjectReport::planned(plan);
            line.diff.clear();
            match (why, stage) {
                (_, Stage::Fail(_)) => {
                    line.outcome = Outcome::Skipped;
                    line.reason = None;
                    line.message = Some("sync-fail hook: nothing failed".into());
                }
                (Some(why), _) => {
                    line.outcome = Outcome::Held;
                    line.reason = Some(Reason::NamespaceFailed);
                    line.message = Some(format!("not applied: an earlier stage failed ({why})"));
                }
                (None, _) => {}
            }
            line
        })
        .collect();
    (ns.namespace, lines)
}
