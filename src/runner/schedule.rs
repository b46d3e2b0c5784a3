//! When the next pass runs: every interval (with jitter, so replicas and sets spread out), and
//! after a failure sooner, then less and less often (exponential backoff, capped at 10 min).

use std::time::Duration;

use tokio::time::Instant;

/// The longest wait after failures.
pub const BACKOFF_CAP: Duration = Duration::from_secs(600);
/// The first wait after a failure (or the interval, when shorter).
pub const BACKOFF_BASE: Duration = Duration::from_secs(10);
/// How far a wait may stray from its nominal length, either way.
const JITTER: f64 = 0.1;

/// How a pass ended, as far as pacing is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paced {
    /// Ran (some namespaces may have failed: they are tried again next interval).
    Ran,
    /// The revision does not render: only a new commit helps, so the interval stands.
    Broken,
    /// The pass could not run (the source or the cluster failed): try again sooner, backing off.
    Failed,
}

#[derive(Debug, Clone)]
pub struct Schedule {
    interval: Duration,
    failures: u32,
    next: Instant,
    jitter: bool,
}

impl Schedule {
    /// Due at once; then every `interval`.
    pub fn new(interval: Duration) -> Schedule {
        Schedule {
            interval,
            failures: 0,
            next: Instant::now(),
            jitter: true,
        }
    }

    /// Exact waits (tests).
    pub fn without_jitter(mut self) -> Schedule {
        self.jitter = false;
        self
    }

    pub fn next(&self) -> Instant {
        self.next
    }

    /// Failures in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Sets the next pass after one that ended now.
    pub fn after(&mut self, paced: Paced) {
        let wait = match paced {
            Paced::Ran | Paced::Broken => {
                self.failures = 0;
                self.interval
            }
            Paced::Failed => {
                self.failures = self.failures.saturating_add(1);
                backoff(self.interval, self.failures)
            }
        };
        self.next = Instant::now() + self.spread(wait);
    }

    fn spread(&self, wait: Duration) -> Duration {
        if !self.jitter {
            return wait;
        }
        let factor = 1.0 + JITTER * (2.0 * fastrand::f64() - 1.0);
        wait.mul_f64(factor)
    }
}

/// The wait after `failures` failures in a row: 10 s (or the interval, when shorter), doubling,
/// at most [`BACKOFF_CAP`].
pub fn backoff(interval: Duration, failures: u32) -> Duration {
    let base = BACKOFF_BASE.min(interval);
    let doublings = failures.saturating_sub(1).min(16);
    base.saturating_mul(1 << doublings).min(BACKOFF_CAP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_to_the_cap_and_success_resets() {
        let minute = Duration::from_secs(60);
        let waits: Vec<u64> = (1..=9).map(|n| backoff(minute, n).as_secs()).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 600, 600, 600]);
        assert_eq!(backoff(Duration::from_secs(2), 1), Duration::from_secs(2));
        assert_eq!(backoff(minute, u32::MAX), BACKOFF_CAP);
    }

    #[tokio::test(start_paused = true)]
    async fn a_broken_revision_keeps_the_interval() {
        let mut s = Schedule::new(Duration::from_secs(60)).without_jitter();
        assert!(s.next() <= Instant::now(), "the first pass is due at once");
        s.after(Paced::Failed);
        s.after(Paced::Failed);
        assert_eq!(s.failures(), 2);
        assert_eq!(s.next() - Instant::now(), Duration::from_secs(20));
        s.after(Paced::Broken);
        assert_eq!(s.failures(), 0);
        assert_eq!(s.next() - Instant::now(), Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn jitter_stays_within_ten_percent() {
        let mut s = Schedule::new(Duration::from_secs(100));
        for _ in 0..200 {
            s.after(Paced::Ran);
            let wait = (s.next() - Instant::now()).as_secs_f64();
            assert!((90.0..=110.0).contains(&wait), "{wait}");
        }
    }
}
