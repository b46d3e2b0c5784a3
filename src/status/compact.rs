//! A status small enough to store: under [`RECORD_LIMIT`] bytes of JSON whatever the set's
//! size. Lists are capped (the first failures of each namespace, the first drifted objects, the
//! namespaces that failed before the others), each cut is counted, and messages are cut; caps
//! tighten until the record fits.

use super::SetStatus;

/// Most bytes of a stored status (its JSON).
pub const RECORD_LIMIT: usize = 16 * 1024;

/// Most characters of a stored message.
const MESSAGE: usize = 300;

/// One level of caps; each next level is tighter.
struct Caps {
    namespaces: usize,
    failures: usize,
    drifted: usize,
    timeline: usize,
    message: usize,
}

const LEVELS: [Caps; 4] = [
    Caps {
        namespaces: 100,
        failures: 5,
        drifted: 20,
        timeline: 20,
        message: MESSAGE,
    },
    Caps {
        namespaces: 40,
        failures: 2,
        drifted: 10,
        timeline: 10,
        message: 160,
    },
    Caps {
        namespaces: 15,
        failures: 1,
        drifted: 5,
        timeline: 5,
        message: 100,
    },
    Caps {
        namespaces: 5,
        failures: 1,
        drifted: 2,
        timeline: 2,
        message: 60,
    },
];

/// `status` bounded for storage; `None` only if even the tightest caps do not fit (names
/// longer than the limit).
pub fn compact(status: &SetStatus) -> Option<(SetStatus, String)> {
    LEVELS.iter().find_map(|caps| {
        let small = capped(status, caps);
        let json = serde_json::to_string(&small).ok()?;
        (json.len() <= RECORD_LIMIT).then_some((small, json))
    })
}

fn capped(status: &SetStatus, caps: &Caps) -> SetStatus {
    let mut small = status.clone();
    let mut omitted = 0;
    // Namespaces that failed come first: they are what a reader looks for.
    let mut names: Vec<String> = small.namespaces.keys().cloned().collect();
    names.sort_by_key(|n| small.namespaces[n].failures.is_empty());
    for name in names.iter().skip(caps.namespaces) {
        small.namespaces.remove(name);
        omitted += 1;
    }
    for ns in small.namespaces.values_mut() {
        if ns.failures.len() > caps.failures {
            let cut = ns.failures.len() - caps.failures;
            ns.failures.truncate(caps.failures);
            ns.more_failures += cut;
            omitted += cut;
        }
        for failure in &mut ns.failures {
            cut(&mut failure.message, caps.message);
            cut(&mut failure.object, caps.message);
        }
    }
    let drifted = &mut small.drift.drifted;
    if drifted.len() > caps.drifted {
        let cut_keys: Vec<String> = drifted.keys().skip(caps.drifted).cloned().collect();
        for key in &cut_keys {
            drifted.remove(key);
        }
        small.drift.more += cut_keys.len();
        omitted += cut_keys.len();
    }
    for d in drifted.values_mut() {
        cut(&mut d.by, caps.message);
    }
    while small.timeline.len() > caps.timeline {
        small.timeline.pop_front();
    }
    for entry in &mut small.timeline {
        if let Some(detail) = entry.detail.as_mut() {
            cut(detail, caps.message);
        }
    }
    if let Some(error) = small.error.as_mut() {
        cut(error, caps.message * 3);
    }
    small.charts.truncate(caps.drifted);
    small.omitted += omitted;
    small
}

/// Cuts `text` to `limit` characters, marking the cut.
fn cut(text: &mut String, limit: usize) {
    if let Some((at, _)) = text.char_indices().nth(limit) {
        text.truncate(at);
        text.push('…');
    }
}
