//! `dependsOn` between sets: every name a set waits for is a set of the file, and no set waits
//! for itself, however far round (a cycle would wait forever). Pure; errors name the line.

use std::collections::BTreeMap;

/// One set's dependencies as written: its name, the sets it names, and the line of its
/// `dependsOn`.
pub(super) struct Wants {
    pub name: String,
    pub depends_on: Vec<String>,
    pub line: u64,
}

/// Checks every set's `dependsOn`; an error is (line, reason).
pub(super) fn check(sets: &[Wants]) -> Result<(), (u64, String)> {
    let graph: BTreeMap<&str, &Wants> = sets.iter().map(|w| (w.name.as_str(), w)).collect();
    for wants in sets {
        for dep in &wants.depends_on {
            if !graph.contains_key(dep.as_str()) {
                let known: Vec<&str> = graph.keys().copied().collect();
                return Err((
                    wants.line,
                    format!(
                        "dependsOn names {dep:?}, which is no set of this file ({})",
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    for wants in sets {
        if let Some(cycle) = cycle_from(&graph, wants) {
            return Err((
                wants.line,
                format!("dependsOn makes a cycle: {}", cycle.join(" -> ")),
            ));
        }
    }
    Ok(())
}

/// The first cycle through `start`, as names from it back to it.
fn cycle_from(graph: &BTreeMap<&str, &Wants>, start: &Wants) -> Option<Vec<String>> {
    let mut path = vec![start.name.clone()];
    walk(graph, start, &start.name, &mut path)
}

fn walk(
    graph: &BTreeMap<&str, &Wants>,
    at: &Wants,
    start: &str,
    path: &mut Vec<String>,
) -> Option<Vec<String>> {
    for dep in &at.depends_on {
        if dep == start {
            let mut cycle = path.clone();
            cycle.push(dep.clone());
            return Some(cycle);
        }
        if path.contains(dep) {
            continue;
        }
        let next = graph.get(dep.as_str())?;
        path.push(dep.clone());
        if let Some(cycle) = walk(graph, next, start, path) {
            return Some(cycle);
        }
        path.pop();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wants(name: &str, deps: &[&str], line: u64) -> Wants {
        Wants {
            name: name.into(),
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            line,
        }
    }

    #[test]
    fn dependencies_name_sets_and_never_come_round() {
        let ok = [
            wants("crds", &[], 1),
            wants("apps", &["crds"], 5),
            wants("ingress", &["apps", "crds"], 9),
        ];
        assert_eq!(check(&ok), Ok(()));
        let unknown = [wants("apps", &["crd"], 5)];
        let (line, why) = check(&unknown).unwrap_err();
        assert_eq!(line, 5);
        assert!(why.contains("\"crd\", which is no set"), "{why}");
        let cycle = [
            wants("a", &["b"], 2),
            wants("b", &["c"], 6),
            wants("c", &["a"], 10),
        ];
        let (line, why) = check(&cycle).unwrap_err();
        assert_eq!(
            (line, why.as_str()),
            (2, "dependsOn makes a cycle: a -> b -> c -> a")
        );
        let (_, itself) = check(&[wants("a", &["a"], 3)]).unwrap_err();
        assert_eq!(itself, "dependsOn makes a cycle: a -> a");
    }
}
