//! Stopping a run part-way, cleanly: once halted (a signal, the run's deadline), a run starts no
//! new request that writes or plans, lets the ones in flight finish (each bounded by the request
//! timeout), and reports what it did and did not do.

use std::sync::{Arc, OnceLock};

use tokio_util::sync::CancellationToken;

/// Why a run stopped starting work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HaltReason {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM.
    Terminate,
    /// The run's `--timeout` passed.
    Deadline,
    /// The agent lost the sync set's Lease: another replica may be writing now.
    LeaseLost,
    /// `--watch`'s stdout was closed (`| head` read what it wanted): no one reads the next pass.
    OutputClosed,
}

impl HaltReason {
    /// What is said of the work a halt left undone: `not attempted: <this>`.
    pub fn describe(self) -> &'static str {
        match self {
            HaltReason::Interrupt => "interrupted (SIGINT)",
            HaltReason::Terminate => "interrupted (SIGTERM)",
            HaltReason::Deadline => "the run's deadline (--timeout) passed",
            HaltReason::LeaseLost => "this replica lost the sync set's Lease",
            HaltReason::OutputClosed => "the output was closed",
        }
    }

    /// The shell's convention for a process ended by a signal (128 + its number).
    pub fn exit_code(self) -> Option<u8> {
        match self {
            HaltReason::Interrupt => Some(130),
            HaltReason::Terminate => Some(143),
            HaltReason::Deadline | HaltReason::LeaseLost | HaltReason::OutputClosed => None,
        }
    }
}

/// Shared by everything one run (or one agent) starts; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Halt {
    token: CancellationToken,
    reason: Arc<OnceLock<HaltReason>>,
    /// The halt this one was made from: it halts this one too, with its reason.
    parent: Option<Arc<OnceLock<HaltReason>>>,
}

impl Halt {
    pub fn new() -> Halt {
        Halt::default()
    }

    /// Stops the run; the first reason given is the one reported.
    pub fn halt(&self, reason: HaltReason) {
        let _ = self.reason.set(reason);
        self.token.cancel();
    }

    /// A halt for one pass of a longer run: it fires when this one does, and can also fire on
    /// its own (the pass's deadline) without stopping the longer run.
    pub fn child(&self) -> Halt {
        Halt {
            token: self.token.child_token(),
            reason: Arc::new(OnceLock::new()),
            parent: Some(self.reason.clone()),
        }
    }

    /// Why the run was halted, if it was.
    pub fn reason(&self) -> Option<HaltReason> {
        if !self.token.is_cancelled() {
            return None;
        }
        let parent = self.parent.as_ref().and_then(|p| p.get().copied());
        parent.or_else(|| self.reason.get().copied())
    }

    pub fn is_halted(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Resolves once the run is halted.
    pub async fn halted(&self) {
        self.token.cancelled().await
    }

    /// A halt that also fires at `deadline` (as `HaltReason::Deadline`).
    pub fn with_deadline(&self, after: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let halt = self.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep(after) => halt.halt(HaltReason::Deadline),
                _ = halt.halted() => {}
            }
        })
    }

    /// `not attempted: <reason>`, for work a halt left undone.
    pub fn not_attempted(&self) -> Option<String> {
        self.reason()
            .map(|r| format!("not attempted: {}", r.describe()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_first_reason_wins_and_deadlines_fire() {
        let halt = Halt::new();
        assert!(!halt.is_halted() && halt.not_attempted().is_none());
        let timer = halt.with_deadline(std::time::Duration::from_secs(5));
        tokio::time::sleep(std::time::Duration::from_secs(6)).await;
        let _ = timer.await;
        assert_eq!(halt.reason(), Some(HaltReason::Deadline));
        halt.halt(HaltReason::Interrupt);
        assert_eq!(halt.reason(), Some(HaltReason::Deadline));
        assert_eq!(
            halt.not_attempted().as_deref(),
            Some("not attempted: the run's deadline (--timeout) passed")
        );
        assert_eq!(HaltReason::Terminate.exit_code(), Some(143));
    }

    #[tokio::test]
    async fn a_pass_stops_with_its_run_but_not_the_other_way_round() {
        let run = Halt::new();
        let pass = run.child();
        pass.halt(HaltReason::Deadline);
        assert!(pass.is_halted() && !run.is_halted());
        let next = run.child();
        run.halt(HaltReason::Terminate);
        assert_eq!(next.reason(), Some(HaltReason::Terminate));
    }
}
