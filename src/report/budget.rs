//! Fitting a report into a comment: what each object can show (its diff, its changed fields,
//! its name), in what order of importance, and the choice of what fits.

use std::collections::HashMap;

use super::{ObjectReport, Outcome, Report};
use crate::plan::NamespaceKey;

/// How much of an entry a comment shows. Ordered from nothing to everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Omitted,
    Name,
    Fields,
    Full,
}

/// The comment's sections, most important first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Section {
    Failures,
    Pruned,
    SecretsAndRbac,
    Changed,
    Created,
}

impl Section {
    pub const ALL: [Section; 5] = [
        Section::Failures,
        Section::Pruned,
        Section::SecretsAndRbac,
        Section::Changed,
        Section::Created,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Section::Failures => "Failures",
            Section::Pruned => "Deleted (what `sync --prune` removes)",
            Section::SecretsAndRbac => "Changed Secrets and RBAC",
            Section::Changed => "Changed",
            Section::Created => "Created",
        }
    }
}

/// Kinds whose changes come before other changes: who may do what, and credentials.
const SENSITIVE_KINDS: [(&str, &str); 5] = [
    ("", "Secret"),
    ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "RoleBinding"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
];

/// One thing the comment may show: an object, a namespace's error, or one change repeated on
/// several objects (shown once, with their names).
pub struct Entry<'a> {
    pub section: Section,
    /// The block it is shown in: a namespace, or `None` for a repeated change.
    pub block: Option<NamespaceKey>,
    pub objects: Vec<&'a ObjectReport>,
    /// Rendered at each level: name, fields, full.
    pub text: [String; 3],
    pub level: Level,
}

impl Entry<'_> {
    pub fn size(&self, level: Level) -> usize {
        match level {
            Level::Omitted => 0,
            Level::Name => self.text[0].len(),
            Level::Fields => self.text[1].len(),
            Level::Full => self.text[2].len(),
        }
    }

    pub fn shown(&self) -> &str {
        match self.level {
            Level::Omitted => "",
            Level::Name => &self.text[0],
            Level::Fields => &self.text[1],
            Level::Full => &self.text[2],
        }
    }
}

fn section_of(o: &ObjectReport) -> Option<Section> {
    match o.outcome {
        Outcome::Pruned | Outcome::Orphaned => Some(Section::Pruned),
        Outcome::Created => Some(Section::Created),
        _ if o.diff.is_empty() => None,
        _ if SENSITIVE_KINDS.contains(&(o.id.group.as_str(), o.id.kind.as_str())) => {
            Some(Section::SecretsAndRbac)
        }
        _ => Some(Section::Changed),
    }
}

/// The +/- lines of a diff: two objects with the same ones got the same change.
fn signature(diff: &str) -> String {
    diff.lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const MAX_NAMES: usize = 20;
const MAX_FIELDS: usize = 12;

/// `a`, `b` and 3 more.
fn list(items: &[String], max: usize) -> String {
    let mut shown: Vec<String> = items.iter().take(max).map(|i| format!("`{i}`")).collect();
    if items.len() > max {
        shown.push(format!("and {} more", items.len() - max));
    }
    shown.join(", ")
}

/// A diff in a fenced block; a fence inside it would end the block early.
pub fn fenced(diff: &str) -> String {
    let mut out = String::from("```diff\n");
    out.push_str(&diff.replace("```", "`\u{200b}``"));
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str("```\n");
    out
}

/// Every entry of the report, most important first.
pub fn entries(report: &Report) -> Vec<Entry<'_>> {
    let mut out = Vec::new();
    for ns in &report.namespaces {
        for error in &ns.errors {
            let line = format!(
                "- **error**: {} (namespace `{}`)\n",
                error.replace('\n', " "),
                crate::plan::namespace_label(&ns.namespace)
            );
            out.push(failure(Vec::new(), line.clone(), line));
        }
        for o in ns
            .objects
            .iter()
            .filter(|o| o.outcome == Outcome::Failed || o.unhealthy())
        {
            let health = o.health.as_ref().filter(|_| o.outcome != Outcome::Failed);
            let message = match health {
                Some(health) => health.to_string(),
                None => o.message.as_deref().unwrap_or("failed").to_string(),
            };
            let name = format!("- **{}** (`{}`)\n", o.id, o.source());
            let full = format!(
                "- **{}** (`{}`): {}\n",
                o.id,
                o.source(),
                message.replace('\n', " ")
            );
            out.push(failure(vec![o], name, full));
        }
    }
    for section in &Section::ALL[1..] {
        let mut repeated: HashMap<String, usize> = HashMap::new();
        let members: Vec<&ObjectReport> = report
            .objects()
            .filter(|o| section_of(o) == Some(*section))
            .collect();
        if matches!(section, Section::SecretsAndRbac | Section::Changed) {
            for o in &members {
                *repeated.entry(signature(&o.diff)).or_default() += 1;
            }
        }
        let mut groups: HashMap<String, usize> = HashMap::new();
        for o in members {
            let sig = signature(&o.diff);
            if repeated.get(&sig).copied().unwrap_or(0) > 1 && !sig.is_empty() {
                match groups.get(&sig) {
                    Some(&i) => {
                        let entry: &mut Entry = &mut out[i];
                        entry.objects.push(o);
                    }
                    None => {
                        groups.insert(sig, out.len());
                        out.push(single(*section, None, o));
                    }
                }
            } else {
                out.push(single(*section, Some(o.id.namespace.clone()), o));
            }
        }
        for &i in groups.values() {
            let entry = &mut out[i];
            entry.text = group_text(&entry.objects);
        }
    }
    out
}

fn failure(objects: Vec<&ObjectReport>, name: String, full: String) -> Entry<'_> {
    Entry {
        section: Section::Failures,
        block: None,
        objects,
        text: [name, full.clone(), full],
        level: Level::Full,
    }
}

fn fields_of(o: &ObjectReport) -> Vec<String> {
    if o.fields.is_empty() {
        diff_fields(&o.diff)
    } else {
        o.fields.clone()
    }
}

fn single(section: Section, block: Option<NamespaceKey>, o: &ObjectReport) -> Entry<'_> {
    let name = format!("- `{}`\n", o.id);
    let fields = fields_of(o);
    let fields = if fields.is_empty() || section == Section::Created || section == Section::Pruned {
        name.clone()
    } else {
        format!("- `{}`: {}\n", o.id, list(&fields, MAX_FIELDS))
    };
    let full = if o.diff.is_empty() {
        fields.clone()
    } else {
        fenced(&o.diff)
    };
    Entry {
        section,
        block,
        objects: vec![o],
        text: [name, fields, full],
        level: Level::Full,
    }
}

fn group_text(objects: &[&ObjectReport]) -> [String; 3] {
    let names: Vec<String> = objects.iter().map(|o| o.id.to_string()).collect();
    let head = format!(
        "the same change on {} objects: {}",
        names.len(),
        list(&names, MAX_NAMES)
    );
    let first = objects[0];
    let fields = fields_of(first);
    let name = format!("- {head}\n");
    let with_fields = if fields.is_empty() {
        name.clone()
    } else {
        format!("- {head}; fields {}\n", list(&fields, MAX_FIELDS))
    };
    let full = format!("{}{}", name, fenced(&first.diff));
    [name, with_fields, full]
}

/// Chooses each entry's level so that all of them take at most `budget` bytes. Passes over
/// the entries, most important first in each, grow them a level at a time within a growing
/// share of the budget: names in half of it (so what matters most keeps room for its diff),
/// changed fields in three quarters, diffs in all; then the names of what is still left out,
/// and fields where room remains. The most important end up with their diffs, the next with
/// their fields, the rest with their names; what never fits is left out.
pub fn fit(entries: &mut [Entry<'_>], budget: usize) {
    let passes = [
        (Level::Omitted, Level::Name, budget / 2),
        (Level::Name, Level::Fields, budget / 4 * 3),
        (Level::Fields, Level::Full, budget),
        (Level::Omitted, Level::Name, budget),
        (Level::Name, Level::Fields, budget),
    ];
    entries.iter_mut().for_each(|e| e.level = Level::Omitted);
    let mut used = 0;
    for (from, to, cap) in passes {
        for e in entries.iter_mut().filter(|e| e.level == from) {
            let grown = used - e.size(from) + e.size(to);
            if grown <= cap {
                used = grown;
                e.level = to;
            }
        }
    }
}

/// Best-effort field paths of a YAML diff's changed lines, from the context the hunks carry
/// (`…` where a hunk does not reach the top of the object).
pub fn diff_fields(diff: &str) -> Vec<String> {
    let mut fields: Vec<String> = Vec::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    for line in diff.lines() {
        if line.starts_with("@@") || line.starts_with("---") || line.starts_with("+++") {
            stack.clear();
            continue;
        }
        let mut chars = line.chars();
        let marker = chars.next();
        let text = chars.as_str();
        let mut indent = text.len() - text.trim_start().len();
        let mut rest = text.trim_start();
        while let Some(item) = rest.strip_prefix("- ") {
            indent += 2;
            rest = item;
        }
        let Some((key, value)) = rest
            .split_once(':')
            .filter(|(k, _)| !k.contains(' ') || k.starts_with('"'))
        else {
            continue;
        };
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        if matches!(marker, Some('+' | '-')) {
            let top = stack.first().map_or(indent, |(i, _)| *i);
            let mut path: Vec<&str> = stack.iter().map(|(_, k)| k.as_str()).collect();
            path.push(key);
            let path = format!("{}{}", if top > 0 { "…" } else { "" }, path.join("."));
            if !fields.contains(&path) {
                fields.push(path);
            }
        }
        if value.trim().is_empty() {
            stack.push((indent, key.to_string()));
        }
    }
    fields
}
