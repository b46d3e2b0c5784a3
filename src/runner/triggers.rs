//! What starts a pass: the schedule (intervals, backoff), file events of a watched directory,
//! and requests from outside (webhooks, drift, later). Triggers that arrive while a pass runs
//! are coalesced into one more pass: that pass reads the source as it is by then.

use std::path::Path;
use std::time::Duration;

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use super::schedule::{Paced, Schedule};
use crate::halt::Halt;

/// Why a pass runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The schedule: the first pass, an interval, or a retry after a failure.
    Schedule,
    /// Files of the watched directory changed.
    SourceChanged,
    /// Someone asked (a webhook, a drift event).
    Requested,
    /// `driftless reconcile`: a full pass now.
    Reconcile,
    /// `driftless resume`: a full pass now, to take back what changed while suspended.
    Resumed,
}

impl Trigger {
    pub fn label(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::SourceChanged => "source_changed",
            Trigger::Requested => "requested",
            Trigger::Reconcile => "reconcile",
            Trigger::Resumed => "resumed",
        }
    }
}

/// Asks for a pass from outside the loop; cheap to clone.
#[derive(Debug, Clone)]
pub struct Requester(mpsc::Sender<Trigger>);

impl Requester {
    /// Asks for a pass; a pass already asked for and not yet started covers this one too.
    pub fn request(&self, trigger: Trigger) {
        let _ = self.0.try_send(trigger);
    }
}

/// The feeders of one loop.
pub struct Triggers {
    schedule: Option<Schedule>,
    tx: mpsc::Sender<Trigger>,
    rx: mpsc::Receiver<Trigger>,
    _watcher: Option<RecommendedWatcher>,
}

/// File events closer together than this are one change (an editor's save, a `git checkout`).
const SETTLE: Duration = Duration::from_millis(300);

impl Triggers {
    /// `schedule`: passes at intervals (the first at once); `None`: only on events.
    pub fn new(schedule: Option<Schedule>) -> Triggers {
        // One slot: a pending pass absorbs every trigger that arrives before it starts.
        let (tx, rx) = mpsc::channel(1);
        Triggers {
            schedule,
            tx,
            rx,
            _watcher: None,
        }
    }

    pub fn requester(&self) -> Requester {
        Requester(self.tx.clone())
    }

    /// Adds changes of files under `path`. Only changes count: a pass reads every file, and
    /// reads must not trigger the next pass.
    pub fn watch_dir(&mut self, path: &Path) -> Result<(), String> {
        let requester = self.requester();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if let Ok(event) = event
                    && is_change(&event.kind)
                {
                    requester.request(Trigger::SourceChanged);
                }
            })
            .map_err(|e| e.to_string())?;
        watcher
            .watch(path, RecursiveMode::Recursive)
            .map_err(|e| e.to_string())?;
        self._watcher = Some(watcher);
        Ok(())
    }

    /// The next trigger; `None` once halted. A file change waits until changes settle.
    pub async fn next(&mut self, halt: &Halt) -> Option<Trigger> {
        let due = self.schedule.as_ref().map(Schedule::next);
        let trigger = tokio::select! {
            biased;
            _ = halt.halted() => None,
            t = self.rx.recv() => t,
            _ = sleep_until(due), if due.is_some() => Some(Trigger::Schedule),
        }?;
        if trigger == Trigger::SourceChanged {
            loop {
                tokio::select! {
                    _ = halt.halted() => return None,
                    more = tokio::time::timeout(SETTLE, self.rx.recv()) => {
                        if !matches!(more, Ok(Some(_))) { break; }
                    }
                }
            }
        }
        Some(trigger)
    }

    /// Paces the next scheduled pass after one that just ended.
    pub fn after(&mut self, paced: Paced) {
        if let Some(schedule) = self.schedule.as_mut() {
            schedule.after(paced);
        }
    }
}

/// Events that change what a pass would read (not opens and reads).
fn is_change(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) | EventKind::Any
    )
}

async fn sleep_until(due: Option<tokio::time::Instant>) {
    match due {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_coalesce_and_the_schedule_ticks() {
        let halt = Halt::new();
        let mut triggers = Triggers::new(Some(
            Schedule::new(Duration::from_secs(60)).without_jitter(),
        ));
        assert_eq!(triggers.next(&halt).await, Some(Trigger::Schedule));
        triggers.after(Paced::Ran);
        let requester = triggers.requester();
        for _ in 0..5 {
            requester.request(Trigger::Requested);
        }
        assert_eq!(triggers.next(&halt).await, Some(Trigger::Requested));
        let start = tokio::time::Instant::now();
        assert_eq!(
            triggers.next(&halt).await,
            Some(Trigger::Schedule),
            "five requests, one pass"
        );
        assert_eq!(start.elapsed(), Duration::from_secs(60));
        halt.halt(crate::halt::HaltReason::Terminate);
        assert_eq!(triggers.next(&halt).await, None);
    }

    #[test]
    fn reads_are_not_changes() {
        use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind};
        assert!(!is_change(&EventKind::Access(AccessKind::Open(
            AccessMode::Read
        ))));
        assert!(!is_change(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
        assert!(is_change(&EventKind::Modify(ModifyKind::Any)));
        assert!(is_change(&EventKind::Create(CreateKind::File)));
    }

    #[tokio::test]
    async fn file_changes_trigger_once_settled_and_reads_do_not() {
        let dir = std::env::temp_dir().join(format!("driftless-watch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.yaml"), "a: 1\n").unwrap();
        let halt = Halt::new();
        let mut triggers = Triggers::new(None);
        triggers.watch_dir(&dir).unwrap();
        for i in 0..5 {
            std::fs::write(dir.join("a.yaml"), format!("a: {i}\n")).unwrap();
        }
        let next = tokio::time::timeout(Duration::from_secs(5), triggers.next(&halt)).await;
        assert_eq!(next.unwrap(), Some(Trigger::SourceChanged));
        let _ = std::fs::read_to_string(dir.join("a.yaml")).unwrap();
        let quiet = tokio::time::timeout(Duration::from_millis(800), triggers.next(&halt)).await;
        assert!(quiet.is_err(), "a read triggered a pass: {quiet:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
