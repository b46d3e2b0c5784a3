//! Which source a sync set belongs to. Pure: a set's parents record its source's identity; a
//! sync from another source is refused before it writes or prunes anything, since its prune
//! would delete the first source's objects. Moving a set on purpose (`--take-over-set`) is
//! recorded on its parents.

use super::SetName;
use super::parent::Provenance;
use crate::source::SourceId;

/// What a sync claims: the source it writes the set from, and whether it may take the set from
/// another source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claim {
    /// `None`: record nothing and check nothing (planning outside a runner: tests, tools).
    pub source: Option<SourceId>,
    pub take_over: bool,
    /// How the caller names its settings in messages.
    pub knobs: Knobs,
}

/// Settings are flags for the CLI and keys of the config file for the agent: every refusal
/// names the one the user can change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Knobs {
    #[default]
    Flags,
    ConfigFile,
}

/// A setting a refusal may point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Knob {
    Name,
    TakeOverSet,
    MaxPrune,
    AllowEmpty,
}

impl Knobs {
    pub fn name(self, knob: Knob) -> &'static str {
        match (self, knob) {
            (Knobs::Flags, Knob::Name) => "--name",
            (Knobs::Flags, Knob::TakeOverSet) => "--take-over-set",
            (Knobs::Flags, Knob::MaxPrune) => "--max-prune",
            (Knobs::Flags, Knob::AllowEmpty) => "--allow-empty",
            (Knobs::ConfigFile, Knob::Name) => "sets[].name",
            (Knobs::ConfigFile, Knob::TakeOverSet) => "takeOverSet: true",
            (Knobs::ConfigFile, Knob::MaxPrune) => "prune.maxPrune",
            (Knobs::ConfigFile, Knob::AllowEmpty) => "prune.allowEmpty",
        }
    }
}

/// A parent of the set that records another source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Foreign {
    /// `Secret ns/name`.
    pub parent: String,
    pub source: String,
}

/// What the set's parents will record after this sync, given what they record now (`found`:
/// each parent's provenance). Parents that record no source (written before sources were) are
/// claimed silently. Refuses, naming the recorded source, when another source holds the set and
/// the claim does not take it over.
pub fn settle(
    set: &SetName,
    claim: &Claim,
    found: &[(String, Provenance)],
) -> Result<Provenance, String> {
    let Some(ours) = &claim.source else {
        // Nothing to claim: keep what is recorded.
        return Ok(found
            .iter()
            .map(|(_, p)| p.clone())
            .find(|p| p.source.is_some())
            .unwrap_or_default());
    };
    let foreign: Vec<Foreign> = found
        .iter()
        .filter_map(|(parent, p)| {
            let source = p.source.as_ref().filter(|s| *s != ours.as_str())?;
            Some(Foreign {
                parent: parent.clone(),
                source: source.clone(),
            })
        })
        .collect();
    let taken_over_from = match foreign.first() {
        None => found.iter().find_map(|(_, p)| p.taken_over_from.clone()),
        Some(_) if claim.take_over => {
            let from = foreign.first().map(|f| f.source.clone());
            tracing::info!(set = %set, from = ?from, to = %ours, "taking the sync set over from another source");
            from
        }
        Some(first) => return Err(refusal(set, ours, first, foreign.len(), claim.knobs)),
    };
    Ok(Provenance {
        source: Some(ours.to_string()),
        taken_over_from,
    })
}

fn refusal(set: &SetName, ours: &SourceId, first: &Foreign, count: usize, knobs: Knobs) -> String {
    let more = match count {
        1 => String::new(),
        n => format!(" and {} more", n - 1),
    };
    format!(
        "sync set \"{set}\" belongs to source {} (recorded on {}{more}), not to {ours}: nothing applied or pruned, as its prune would delete that source's objects. Give this source a set of its own ({}), or move the set to it on purpose ({}; what {ours} does not hold is then pruned by the set's prune)",
        first.source,
        first.parent,
        knobs.name(Knob::Name),
        knobs.name(Knob::TakeOverSet),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(source: &str, take_over: bool) -> Claim {
        Claim {
            source: Some(SourceId::recorded(source)),
            take_over,
            knobs: Knobs::Flags,
        }
    }

    fn recorded(source: Option<&str>, from: Option<&str>) -> Provenance {
        Provenance {
            source: source.map(str::to_string),
            taken_over_from: from.map(str::to_string),
        }
    }

    #[test]
    fn a_set_belongs_to_one_source() {
        let set: SetName = "shared".parse().unwrap();
        let found = vec![
            (
                "Secret ux/driftless-shared".to_string(),
                recorded(Some("team-b"), None),
            ),
            (
                "Secret ux2/driftless-shared".to_string(),
                recorded(None, None),
            ),
        ];
        let err = settle(&set, &claim("team-a", false), &found).unwrap_err();
        for part in [
            "belongs to source team-b",
            "Secret ux/driftless-shared",
            "not to team-a",
            "--name",
            "--take-over-set",
        ] {
            assert!(err.contains(part), "{part}: {err}");
        }
        let agent = Claim {
            knobs: Knobs::ConfigFile,
            ..claim("team-a", false)
        };
        let err = settle(&set, &agent, &found).unwrap_err();
        assert!(
            err.contains("takeOverSet: true") && !err.contains("--"),
            "{err}"
        );

        let moved = settle(&set, &claim("team-a", true), &found).unwrap();
        assert_eq!(moved, recorded(Some("team-a"), Some("team-b")));
    }

    #[test]
    fn unrecorded_parents_are_claimed_and_a_takeover_is_remembered() {
        let set: SetName = "default".parse().unwrap();
        let old = vec![(
            "Secret a/driftless-default".to_string(),
            recorded(None, None),
        )];
        assert_eq!(
            settle(&set, &claim("repo", false), &old).unwrap(),
            recorded(Some("repo"), None)
        );
        let after = vec![(
            "Secret a/driftless-default".to_string(),
            recorded(Some("repo"), Some("old-repo")),
        )];
        assert_eq!(
            settle(&set, &claim("repo", false), &after).unwrap(),
            recorded(Some("repo"), Some("old-repo")),
            "the record of a takeover stays"
        );
        let unclaimed = Claim::default();
        assert_eq!(settle(&set, &unclaimed, &after).unwrap(), after[0].1);
    }
}
