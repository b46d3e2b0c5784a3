//! Fight detection: an object corrected more than [`LIMIT`] times within [`WINDOW`] is in a
//! fight with another writer. Correcting it further only churns both; it is left alone until
//! its desired state changes (a new revision of it in Git).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

pub const LIMIT: usize = 5;
pub const WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct Fights<K> {
    objects: HashMap<K, Corrections>,
}

impl<K> Default for Fights<K> {
    fn default() -> Self {
        Fights {
            objects: HashMap::new(),
        }
    }
}

#[derive(Debug, Default)]
struct Corrections {
    /// The desired hash the corrections were of.
    desired: String,
    at: VecDeque<Instant>,
    fighting: bool,
}

/// What to do about a drifted object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Correct,
    /// This correction would be one too many: a fight starts now (report it once).
    FightStarts,
    /// Already in a fight: leave it alone.
    Fighting,
}

impl<K: std::hash::Hash + Eq + Clone> Fights<K> {
    /// Decides about one more correction of `key`, whose desired state hashes to `desired`.
    pub fn judge(&mut self, key: &K, desired: &str, now: Instant) -> Verdict {
        let entry = self.objects.entry(key.clone()).or_default();
        if entry.desired != desired {
            // A new desired state ends any fight: Git changed its mind.
            *entry = Corrections {
                desired: desired.to_string(),
                ..Corrections::default()
            };
        }
        if entry.fighting {
            return Verdict::Fighting;
        }
        while entry
            .at
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            entry.at.pop_front();
        }
        if entry.at.len() >= LIMIT {
            entry.fighting = true;
            return Verdict::FightStarts;
        }
        entry.at.push_back(now);
        Verdict::Correct
    }

    /// Whether `key` is in a fight now.
    pub fn is_fighting(&self, key: &K) -> bool {
        self.objects.get(key).is_some_and(|c| c.fighting)
    }

    /// Forgets objects no longer managed.
    pub fn retain(&mut self, keep: impl Fn(&K) -> bool) {
        self.objects.retain(|k, _| keep(k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sixth_correction_in_a_minute_is_a_fight_until_git_changes() {
        let mut fights = Fights::default();
        let start = Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        for i in 0..LIMIT as u64 {
            assert_eq!(fights.judge(&"web", "d1", at(i * 5)), Verdict::Correct);
        }
        assert_eq!(fights.judge(&"web", "d1", at(30)), Verdict::FightStarts);
        assert!(fights.is_fighting(&"web"));
        assert_eq!(fights.judge(&"web", "d1", at(600)), Verdict::Fighting);
        // Another object is not affected; a new desired state ends the fight.
        assert_eq!(fights.judge(&"db", "d1", at(31)), Verdict::Correct);
        assert_eq!(fights.judge(&"web", "d2", at(601)), Verdict::Correct);
        assert!(!fights.is_fighting(&"web"));
    }

    #[test]
    fn corrections_spread_over_more_than_a_minute_are_no_fight() {
        let mut fights = Fights::default();
        let start = Instant::now();
        for i in 0..30u64 {
            let now = start + Duration::from_secs(i * 15);
            assert_eq!(fights.judge(&"web", "d", now), Verdict::Correct, "at {i}");
        }
    }
}
