//! How many requests are in flight, when the server says 429.
//!
//! Two windows, as the API server has two limits: reads (GET, LIST) and mutations (applies,
//! dry-runs included, deletes). Each is additive-increase, multiplicative-decrease, as TCP's
//! congestion window, shared by every worker: every 429 halves both, and the refused request
//! itself waits the server's `Retry-After` before it is sent again, while the others go on at the
//! smaller window. (A second-long stall of every worker per 429 would leave most of the server's
//! capacity unused: its slots free up in milliseconds.) Each refusal halves, not each round of
//! them: fourteen of forty discovery reads refused by a server of one slot say it takes far fewer
//! than twenty, and every request refused again is a second more for its phase. The window grows
//! back by one per window of successes, but only after a hold: the hold doubles each time a
//! probe past the server's capacity fails (up to 30 s) and halves back once the window holds.

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::failure::Op;

/// Reads in flight at most, whatever the write concurrency: an API server serves 400 reads at once
/// by default (`--max-requests-inflight`), and Go's clients put no bound on them (discovery
/// reads every group version at once). A 429 still halves the window.
pub(super) const READS_AT_LEAST: usize = 48;

/// Writes a caller keeps started per request the window lets through. A request the server
/// refused (429) waits its `Retry-After` (a second) outside the window; with only `concurrency`
/// started, a throttled server's free slot sat idle while every one of them waited (a wave of
/// 200 Services took 12 s for 200 answers in 3 ms each). The window still bounds what is in
/// flight.
const STARTED_PER_SLOT: usize = 8;

/// How many writes to start at once for `concurrency` in flight.
pub fn fan_out(concurrency: usize) -> usize {
    concurrency.max(1) * STARTED_PER_SLOT
}

const MIN_HOLD: Duration = Duration::from_secs(2);
const MAX_HOLD: Duration = Duration::from_secs(30);

/// The windows of one connection.
#[derive(Debug)]
pub(super) struct Throttle {
    reads: Window,
    writes: Window,
}

impl Throttle {
    pub fn new(max_in_flight: usize) -> Throttle {
        Throttle {
            reads: Window::new(max_in_flight.max(READS_AT_LEAST)),
            writes: Window::new(max_in_flight),
        }
    }

    pub fn window(&self, op: Op) -> &Window {
        match op {
            Op::Read => &self.reads,
            Op::Apply | Op::Delete | Op::Guarded => &self.writes,
        }
    }

    /// A request sent at `sent` was refused (429): both windows shrink. Under priority and
    /// fairness (every server since 1.20 by default) a client's reads and writes share the seats
    /// of one priority level; and a server without it that refuses one kind is as short of room
    /// for the other (the namespaces' dry-runs, sent all at once after a discovery refused, were
    /// refused nine times in ten).
    pub fn throttled(&self, sent: Instant) {
        self.reads.throttled(sent);
        self.writes.throttled(sent);
    }
}

#[derive(Debug)]
pub(super) struct Window {
    max: f64,
    state: Mutex<State>,
    changed: Notify,
}

#[derive(Debug)]
struct State {
    limit: f64,
    in_flight: usize,
    /// The last round of 429s began: refusals of requests sent before it are the same round
    /// (they lengthen the hold once).
    decreased_at: Option<Instant>,
    /// No growth before this.
    hold_until: Option<Instant>,
    hold: Duration,
}

pub(super) struct Permit<'a>(&'a Window);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if let Ok(mut s) = self.0.state.lock() {
            s.in_flight = s.in_flight.saturating_sub(1);
        }
        // One slot freed: one waiter (the fan-out keeps many waiting).
        self.0.changed.notify_one();
    }
}

impl Window {
    fn new(max: usize) -> Window {
        let max = max.max(1) as f64;
        Window {
            max,
            state: Mutex::new(State {
                limit: max,
                in_flight: 0,
                decreased_at: None,
                hold_until: None,
                hold: MIN_HOLD,
            }),
            changed: Notify::new(),
        }
    }

    pub fn limit(&self) -> f64 {
        self.state.lock().map(|s| s.limit).unwrap_or(1.0)
    }

    /// Waits for room in the window (bounded: every request in flight ends within the request
    /// timeout).
    pub async fn acquire(&self) -> Permit<'_> {
        loop {
            let notified = self.changed.notified();
            {
                let Ok(mut s) = self.state.lock() else {
                    return Permit(self);
                };
                if (s.in_flight as f64) < s.limit.floor().max(1.0) {
                    s.in_flight += 1;
                    return Permit(self);
                }
            }
            notified.await;
        }
    }

    pub fn succeeded(&self) {
        let mut grew = false;
        if let Ok(mut s) = self.state.lock() {
            let now = Instant::now();
            if s.hold_until.is_none_or(|h| now >= h) && s.limit < self.max {
                let before = s.limit.floor();
                s.limit = (s.limit + 1.0 / s.limit).min(self.max);
                grew = s.limit.floor() > before;
                // A whole hold without a 429 since growing: the server has room again.
                if s.decreased_at.is_some_and(|d| now >= d + s.hold * 2) {
                    s.hold = (s.hold / 2).max(MIN_HOLD);
                }
            }
        }
        if grew {
            self.changed.notify_waiters();
        }
    }

    /// A request sent at `sent` was refused with 429.
    fn throttled(&self, sent: Instant) {
        if let Ok(mut s) = self.state.lock() {
            let now = Instant::now();
            if s.decreased_at.is_none_or(|at| sent >= at) {
                let probing = s.hold_until.is_some_and(|h| now >= h);
                if probing {
                    s.hold = (s.hold * 2).min(MAX_HOLD);
                }
                s.decreased_at = Some(now);
                s.hold_until = Some(now + s.hold);
            }
            s.limit = (s.limit / 2.0).max(1.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn every_429_halves_the_window_down_to_one() {
        let w = Window::new(64);
        let sent = Instant::now();
        tokio::time::advance(Duration::from_millis(1)).await;
        w.throttled(sent);
        w.throttled(sent);
        assert_eq!(w.limit(), 16.0, "two refused: a quarter");
        w.throttled(Instant::now());
        w.throttled(Instant::now());
        assert_eq!(w.limit(), 4.0, "every refusal counts");
        let permits: Vec<_> = futures::future::join_all((0..4).map(|_| w.acquire())).await;
        let fifth = tokio::time::timeout(Duration::from_secs(1), w.acquire()).await;
        assert!(fifth.is_err(), "four in flight at most");
        drop(permits);
        for _ in 0..10 {
            w.throttled(sent);
        }
        assert_eq!(w.limit(), 1.0, "never below one");
        assert!(
            tokio::time::timeout(Duration::from_secs(1), w.acquire())
                .await
                .is_ok()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_window_grows_back_only_after_a_hold_that_doubles_when_probes_fail() {
        let w = Window::new(4);
        w.throttled(Instant::now());
        assert_eq!(w.limit(), 2.0);
        w.succeeded();
        assert_eq!(w.limit(), 2.0, "held");
        tokio::time::advance(MIN_HOLD).await;
        w.succeeded();
        w.succeeded();
        let grown = w.limit();
        assert!((2.8..3.0).contains(&grown), "about one per window: {grown}");
        // The probe fails: the hold doubles.
        tokio::time::advance(Duration::from_millis(1)).await;
        w.throttled(Instant::now());
        assert_eq!(w.limit(), grown / 2.0);
        tokio::time::advance(MIN_HOLD).await;
        w.succeeded();
        assert_eq!(
            w.limit(),
            grown / 2.0,
            "still held: the hold is now twice as long"
        );
        tokio::time::advance(MIN_HOLD).await;
        w.succeeded();
        assert!(w.limit() > grown / 2.0);
    }

    #[tokio::test(start_paused = true)]
    async fn many_waiting_writers_all_get_through_a_small_window() {
        let w = Window::new(2);
        let most = std::sync::atomic::AtomicUsize::new(0);
        let started = fan_out(2);
        assert!(started > 2, "more started than in flight");
        let done = futures::future::join_all((0..started).map(|_| async {
            let _permit = w.acquire().await;
            let now = w.state.lock().map(|s| s.in_flight).unwrap_or(0);
            most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(3)).await;
        }));
        let all = tokio::time::timeout(Duration::from_secs(1), done).await;
        assert!(all.is_ok(), "a freed slot woke no waiter");
        assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn a_429_shrinks_both_windows_each_from_its_own_size() {
        let t = Throttle::new(8);
        t.throttled(Instant::now());
        assert_eq!(t.window(Op::Delete).limit(), 4.0);
        assert_eq!(t.window(Op::Read).limit(), READS_AT_LEAST as f64 / 2.0);
        assert_eq!(Throttle::new(100).window(Op::Read).limit(), 100.0);
    }
}
