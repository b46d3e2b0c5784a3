//! Drift in seconds: watches of a set's members (metadata only, by the set's part-of labels,
//! only the kinds it uses) tell who touched what; a touched object is planned again alone (a
//! dry-run), and a difference from Git is drift: reported at once, and with self-heal applied
//! back, unless it is in a fight with another writer.
//!
//! ```text
//!   desired (after each pass) ─> watches ─> Change ─> touched? ─> plan one ─> Finding
//!                                                                  └─> self-heal (fights)
//! ```

pub mod fight;
mod touch;
mod watch;

pub use fight::{Fights, Verdict};
pub use touch::{Seen, Touch, paths};
pub use watch::{Change, Spec};

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, watch as channel};
use tokio::task::JoinSet;

use crate::cluster::{Cluster, SetLock};
use crate::halt::Halt;
use crate::plan::live::LiveIndex;
use crate::plan::{Action, Context, Reads, no_foreign_owner, observe};
use crate::render::{DesiredObject, ObjectId};

pub use crate::render::Key;

/// What the set's runner tells the drift loop: the desired objects of the last pass, and
/// whether a pass is writing now (its own changes are not drift).
#[derive(Debug, Clone, Default)]
pub struct Desired {
    pub objects: Arc<Vec<Arc<DesiredObject>>>,
    pub passing: bool,
    /// `driftless suspend`: drift is still seen and reported, never corrected.
    pub suspended: bool,
}

/// What the drift loop found.
#[derive(Debug, Clone, PartialEq)]
pub enum Finding {
    /// An object differs from Git. `by` names who changed what; `new` is false when it was
    /// already drifted.
    Detected {
        id: ObjectId,
        by: String,
        managers: Vec<String>,
        deleted: bool,
        new: bool,
    },
    /// Put back (self-heal).
    Corrected {
        id: ObjectId,
        deleted: bool,
    },
    /// Corrected too often: left alone until its source changes.
    Fight {
        id: ObjectId,
        with: String,
    },
    /// Back in line with Git (a pass applied it, or the other writer undid its change).
    Cleared {
        id: ObjectId,
    },
    /// Every watch has listed its objects: drift is seen from now on.
    Synced,
    WatchFailed {
        error: String,
    },
}

#[derive(Debug, Clone, Default)]
pub struct DriftSettings {
    /// Put drifted objects back at once.
    pub self_heal: bool,
    /// Namespaces whose self-heal differs from the set's.
    pub self_heal_overrides: BTreeMap<String, bool>,
    /// The namespaces the set is limited to (a tenant): one watch per namespace and kind.
    pub namespaces: Option<BTreeSet<String>>,
    pub takeover_managers: Vec<String>,
}

impl DriftSettings {
    fn heals(&self, id: &ObjectId) -> bool {
        let namespace = id
            .namespace
            .as_deref()
            .or(id.is_namespace().then_some(id.name.as_str()));
        namespace
            .and_then(|ns| self.self_heal_overrides.get(ns).copied())
            .unwrap_or(self.self_heal)
    }
}

/// Watches the set's members until `halt`, telling `found` what it finds; corrects drift
/// (self-heal) only while `lock`, the set's Lease, is held.
pub async fn run(
    cluster: Cluster,
    lock: Arc<SetLock>,
    settings: DriftSettings,
    mut desired: channel::Receiver<Desired>,
    mut found: impl FnMut(Finding) + Send,
    halt: Halt,
) {
    let mut loop_state = Loop {
        cluster,
        lock,
        settings,
        desired: HashMap::new(),
        passing: false,
        suspended: false,
        during_pass: HashMap::new(),
        baseline: HashMap::new(),
        drifted: HashMap::new(),
        fights: Fights::default(),
    };
    let mut watches: Option<Watches> = None;
    let mut last_objects = desired.borrow().objects.clone();
    loop {
        tokio::select! {
            _ = halt.halted() => return,
            changed = desired.changed() => {
                if changed.is_err() {
                    return;
                }
                let next = desired.borrow_and_update().clone();
                let switched = std::mem::replace(&mut loop_state.suspended, next.suspended)
                    != next.suspended;
                let same = next.passing == loop_state.passing
                    && Arc::ptr_eq(&next.objects, &last_objects);
                if switched && same {
                    // Only the switch moved: nothing to look at again.
                    continue;
                }
                last_objects = next.objects.clone();
                loop_state.passing = next.passing;
                if next.passing {
                    continue;
                }
                loop_state.set_desired(&next.objects, &mut found);
                loop_state.after_pass(&mut found).await;
                let specs = loop_state.specs(&next.objects);
                if watches.as_ref().is_none_or(|w| w.specs != specs) {
                    // Nothing to watch (no members yet, or a first revision that failed):
                    // nothing can drift unseen.
                    if specs.is_empty() {
                        found(Finding::Synced);
                    }
                    watches = Some(Watches::start(&loop_state.cluster, specs));
                }
            }
            Some(change) = next_change(&mut watches) => {
                let settled = match change {
                    Change::Synced { watch } => Some(watch),
                    Change::Failed { watch, error } => {
                        found(Finding::WatchFailed { error });
                        // A watch that cannot start (a 403) retries, backing off; readiness
                        // does not wait for it.
                        Some(watch)
                    }
                    change => {
                        loop_state.handle(change, &mut found).await;
                        None
                    }
                };
                if let (Some(watch), Some(w)) = (settled, watches.as_mut())
                    && w.settle(watch)
                {
                    found(Finding::Synced);
                    // The watches' first LISTs are read and freed.
                    crate::memory::release();
                }
            }
        }
    }
}

struct Watches {
    specs: Vec<Spec>,
    synced: HashSet<usize>,
    rx: mpsc::Receiver<Change>,
    _tasks: JoinSet<()>,
}

impl Watches {
    fn start(cluster: &Cluster, specs: Vec<Spec>) -> Watches {
        let (tx, rx) = mpsc::channel(1024);
        let tasks = watch::start(cluster, &specs, tx);
        tracing::info!(watches = specs.len(), "watching the set's members");
        Watches {
            specs,
            synced: HashSet::new(),
            rx,
            _tasks: tasks,
        }
    }

    /// Marks one watch as listed (or failed); true when that makes every watch so.
    fn settle(&mut self, watch: usize) -> bool {
        self.synced.insert(watch) && self.synced.len() == self.specs.len()
    }
}

async fn next_change(watches: &mut Option<Watches>) -> Option<Change> {
    match watches {
        Some(w) => w.rx.recv().await,
        None => std::future::pending().await,
    }
}

struct Loop {
    cluster: Cluster,
    /// The set's Lease: only its holder writes.
    lock: Arc<SetLock>,
    settings: DriftSettings,
    desired: HashMap<Key, Arc<DesiredObject>>,
    passing: bool,
    /// `driftless suspend`: report drift, never correct it.
    suspended: bool,
    /// What others did while a pass wrote: looked at once it ends (`None`: deleted).
    during_pass: HashMap<Key, Option<Touch>>,
    /// Each member as last seen.
    baseline: HashMap<Key, Seen>,
    drifted: HashMap<Key, ObjectId>,
    fights: Fights<Key>,
}

impl Loop {
    /// A pass ran: what Git says now. Drift of an object Git no longer holds is over.
    fn set_desired(&mut self, objects: &[Arc<DesiredObject>], found: &mut impl FnMut(Finding)) {
        self.desired = objects
            .iter()
            .map(|o| (Key::of(&o.id), o.clone()))
            .collect();
        let desired = &self.desired;
        let (kept, gone): (HashMap<_, _>, HashMap<_, _>) = std::mem::take(&mut self.drifted)
            .into_iter()
            .partition(|(k, _)| desired.contains_key(k));
        self.drifted = kept;
        for (_, id) in gone {
            found(Finding::Cleared { id });
        }
        let desired = &self.desired;
        self.fights.retain(|k| desired.contains_key(k));
    }

    /// What others did while the pass wrote: an object the pass still wants and did not
    /// bring back is looked at now (a deletion the pass pruned is no drift: it is not wanted).
    /// Objects drifted before the pass are checked again: the pass took most drift back, but
    /// not in a namespace that failed.
    async fn after_pass(&mut self, found: &mut (impl FnMut(Finding) + Send)) {
        let during = std::mem::take(&mut self.during_pass);
        for (key, touch) in &during {
            let brought_back = touch.is_none() && self.baseline.contains_key(key);
            if self.desired.contains_key(key) && !brought_back {
                self.examine(key, touch.clone(), found).await;
            }
        }
        let drifted: Vec<Key> = self
            .drifted
            .keys()
            .filter(|k| !during.contains_key(*k))
            .copied()
            .collect();
        for key in drifted {
            let Some(object) = self.desired.get(&key).cloned() else {
                continue;
            };
            let in_line = self.replan(&object).await == Some(Action::Unchanged);
            if in_line && let Some(id) = self.drifted.remove(&key) {
                found(Finding::Cleared { id });
            }
        }
    }

    fn specs(&self, objects: &[Arc<DesiredObject>]) -> Vec<Spec> {
        let kinds: BTreeSet<_> = objects
            .iter()
            .filter_map(|o| o.kind.as_deref())
            .filter(|k| k.served)
            .cloned()
            .collect();
        let ids: BTreeSet<String> = objects
            .iter()
            .filter_map(|o| {
                let manifest = o.manifest.value();
                manifest["metadata"]["labels"][crate::inventory::PART_OF_LABEL]
                    .as_str()
                    .map(str::to_string)
            })
            .collect();
        watch::specs(&kinds, &ids, self.settings.namespaces.as_ref())
    }

    async fn handle(&mut self, change: Change, found: &mut (impl FnMut(Finding) + Send)) {
        match change {
            Change::Seen { key, metadata } => {
                let before = self.baseline.insert(key, Seen::of(&metadata));
                let Some(before) = before else {
                    return;
                };
                if !self.desired.contains_key(&key) && !self.passing {
                    return;
                }
                let touch = before.touched_by(&metadata, self.cluster.field_manager());
                if touch.is_empty() {
                    return;
                }
                match self.passing {
                    true => {
                        self.during_pass.insert(key, Some(touch));
                    }
                    false => self.examine(&key, Some(touch), found).await,
                }
            }
            Change::Gone { key } => {
                self.baseline.remove(&key);
                if self.passing {
                    self.during_pass.insert(key, None);
                } else if self.desired.contains_key(&key) {
                    self.examine(&key, None, found).await;
                }
            }
            Change::Synced { .. } | Change::Failed { .. } => {}
        }
    }

    /// Plans one touched (or, with `None`, deleted) object again; reports and heals drift.
    async fn examine(
        &mut self,
        key: &Key,
        touch: Option<Touch>,
        found: &mut (impl FnMut(Finding) + Send),
    ) {
        let Some(object) = self.desired.get(key).cloned() else {
            return;
        };
        let deleted = touch.is_none();
        // A Job ends, and a TTL or a cleanup deletes it; a hook is deleted as its policy says:
        // no drift. The next pass decides whether it runs again (only for a new manifest).
        if deleted && (object.runs_once() || object.lifecycle().hook.is_some()) {
            return;
        }
        // The fast path: an object in line at the last look whose fields driftless owns did not
        // change hands is still in line (a Secret's `data` may change under `stringData`).
        if let Some(t) = &touch
            && t.ours_unchanged
            && !t.generation_moved
            && !self.drifted.contains_key(key)
            && !object.id.is_secret()
        {
            return;
        }
        if !deleted {
            match self.replan(&object).await {
                Some(Action::Update | Action::Create) => {}
                Some(Action::Unchanged) => {
                    if let Some(id) = self.drifted.remove(key) {
                        found(Finding::Cleared { id });
                    }
                    return;
                }
                _ => return,
            }
        }
        let managers: Vec<String> = touch
            .as_ref()
            .map(|t| t.managers.iter().map(|(m, _)| m.clone()).collect())
            .unwrap_or_default();
        let by = match &touch {
            Some(t) => format!("changed by {}", t.describe()),
            None => "deleted outside Git".to_string(),
        };
        let new = self.drifted.insert(*key, object.id.clone()).is_none();
        found(Finding::Detected {
            id: object.id.clone(),
            by,
            managers: managers.clone(),
            deleted,
            new,
        });
        if !self.suspended && self.settings.heals(&object.id) {
            self.heal(key, &object, deleted, &managers, found).await;
        }
    }

    /// Applies the object back, forced (Git is the truth), under the set's Lease.
    async fn correct(&self, object: &DesiredObject) -> Result<(), String> {
        let writer = self
            .lock
            .writer(&self.cluster)
            .await
            .map_err(|e| e.to_string())?;
        writer
            .apply(object, true, None)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn heal(
        &mut self,
        key: &Key,
        object: &Arc<DesiredObject>,
        deleted: bool,
        managers: &[String],
        found: &mut (impl FnMut(Finding) + Send),
    ) {
        match self
            .fights
            .judge(key, &object.manifest.hash(), Instant::now())
        {
            Verdict::Correct => match self.correct(object).await {
                Ok(_) => {
                    self.drifted.remove(key);
                    found(Finding::Corrected {
                        id: object.id.clone(),
                        deleted,
                    });
                }
                Err(e) => {
                    tracing::warn!(object = %object.id, error = %e, "cannot put a drifted object back")
                }
            },
            Verdict::FightStarts => {
                let with = match managers.is_empty() {
                    true => "another writer".to_string(),
                    false => managers.join(", "),
                };
                found(Finding::Fight {
                    id: object.id.clone(),
                    with,
                });
            }
            Verdict::Fighting => {}
        }
    }

    /// What planning the object alone says now (a dry-run against its live state).
    async fn replan(&self, object: &Arc<DesiredObject>) -> Option<Action> {
        let index = LiveIndex::default();
        let none = BTreeSet::new();
        let reads = Reads {
            index: &index,
            new_namespaces: &none,
            preview: false,
            concurrency: 1,
        };
        let ctx = Context {
            field_manager: self.cluster.field_manager(),
            revision: None,
            adopt: false,
            takeover_managers: &self.settings.takeover_managers,
            foreign_owner: &no_foreign_owner,
            replace_kinds: &[],
        };
        let plans = observe(
            &self.cluster,
            vec![object.clone()],
            reads,
            ctx,
            &Halt::new(),
        )
        .await;
        plans.into_iter().next().map(|p| p.action)
    }
}
