//! Two rendered revisions into a preview report: pure, so every case is a unit test.

use std::collections::HashMap;

use serde_json::Value;

use super::{PreviewError, describe_revision};
use crate::plan::prune::OPT_OUTS;
use crate::plan::{diff, mask, normalize::normalize, order};
use crate::render::{DesiredObject, DesiredSet, ObjectId, OfflineKinds, Rendered, Sops, resolve};
use crate::report::{Mode, ObjectReport, Outcome, Report};

/// What the comparison needs beyond the two revisions.
#[derive(Debug, Clone, Default)]
pub struct CompareOptions {
    /// The sync set the report is of.
    pub set: String,
    /// For namespaced objects that name none (`--namespace`).
    pub default_namespace: Option<String>,
    /// Whether a sync would prune Namespaces (`--prune-namespaces`) and CRDs (`--prune-crds`).
    pub prune_namespaces: bool,
    pub prune_crds: bool,
}

/// Most changed fields listed per object.
const MAX_FIELDS: usize = 40;

/// The head against the base: per namespace, what a sync of the head would create, change and
/// (with `--prune`) delete where the base is what runs.
pub fn compare(
    mut base: Rendered,
    mut head: Rendered,
    options: &CompareOptions,
) -> Result<Report, PreviewError> {
    // A chart folder one side could not fetch is left out of both: half a comparison of it
    // would show every object as created or deleted.
    let mut unavailable = std::mem::take(&mut head.unavailable);
    for gone in std::mem::take(&mut base.unavailable) {
        if !unavailable.iter().any(|u| u.folder == gone.folder) {
            unavailable.push(gone);
        }
    }
    for side in [&mut base, &mut head] {
        side.manifests.retain(|m| {
            !unavailable
                .iter()
                .any(|u| m.origin.file.starts_with(&u.folder))
        });
    }
    let charts = std::mem::take(&mut head.charts);
    let kinds = OfflineKinds::new([base.manifests.as_slice(), head.manifests.as_slice()]);
    let resolved = |side: &'static str, rendered: Rendered| {
        let revision = describe_revision(&rendered.origin, rendered.revision.as_deref());
        resolve(
            rendered.manifests,
            &kinds,
            options.default_namespace.as_deref(),
        )
        .map_err(|error| PreviewError::Render {
            side,
            revision,
            error,
        })
    };
    let (base_revision, head_revision) = (base.revision.clone(), head.revision.clone());
    let mut report = Report::new(
        Mode::Preview,
        options.set.clone(),
        head.origin.clone(),
        head_revision.clone(),
    );
    report.charts = charts;
    report.unavailable = unavailable;
    let base_set: DesiredSet = resolved("base", base)?;
    let head_set: DesiredSet = resolved("head", head)?;
    let mut before: HashMap<(String, String, Option<String>, String), DesiredObject> = base_set
        .objects
        .into_iter()
        .map(|o| (owned_key(&o.id), o))
        .collect();
    let revisions = (base_revision.as_deref(), head_revision.as_deref());
    let mut lines: Vec<ObjectReport> = Vec::new();
    for object in head_set.objects {
        let old = before.remove(&owned_key(&object.id));
        lines.push(changed(old.as_ref(), &object, revisions));
    }
    for (_, object) in before {
        lines.push(deleted(&object, revisions.0, options));
    }
    lines.sort_by(|a, b| order::apply_key(&a.id).cmp(&order::apply_key(&b.id)));
    for line in lines {
        report.extend(line.id.namespace.clone(), vec![line]);
    }
    Ok(report)
}

fn owned_key(id: &ObjectId) -> (String, String, Option<String>, String) {
    let (group, kind, namespace, name) = id.key();
    (
        group.into(),
        kind.into(),
        namespace.map(str::to_string),
        name.into(),
    )
}

fn line(object: &DesiredObject, outcome: Outcome, diff: String) -> ObjectReport {
    let mut line = ObjectReport::previewed(object, outcome, diff);
    line.message = object.kind.is_none().then(|| {
        let scope = if object.id.namespace.is_some() { "namespaced" } else { "cluster-scoped" };
        format!("kind not known offline (no built-in entry, no CRD in either revision): taken as {scope}, as its manifest says")
    });
    line
}

/// A head object: created, or configured or unchanged against its base version.
fn changed(
    old: Option<&DesiredObject>,
    new: &DesiredObject,
    revisions: (Option<&str>, Option<&str>),
) -> ObjectReport {
    let mut after = normalize(&new.manifest.value());
    let Some(old) = old else {
        mask::mask_object(&new.id, &mut after);
        let diff = diff::unified(&new.id, None, Some(&after), revisions.1);
        return line(new, Outcome::Created, diff);
    };
    let mut before = normalize(&old.manifest.value());
    mask::mask_pair(&new.id, Some(&mut before), Some(&mut after));
    let diff = base_header(
        diff::unified(&new.id, Some(&before), Some(&after), revisions.1),
        revisions.0,
    );
    let outcome = if diff.is_empty() {
        Outcome::Unchanged
    } else {
        Outcome::Configured
    };
    let mut report = line(new, outcome, diff);
    report.fields = changed_fields(&before, &after);
    if outcome == Outcome::Configured && sealed(new) {
        report.message = Some(format!(
            "changed (encrypted): {}; compared by ciphertext, without the key",
            report.fields.join(", ")
        ));
    }
    report
}

/// A SOPS object read without the key: its values are ciphertext. SOPS keeps a value's
/// ciphertext while the value is unchanged, so ciphertexts tell which keys changed.
fn sealed(object: &DesiredObject) -> bool {
    matches!(object.sops, Some(Sops::Sealed(_)))
}

/// A base object the head dropped: what a `sync --prune` deletes, unless it is kept.
fn deleted(
    object: &DesiredObject,
    base_revision: Option<&str>,
    options: &CompareOptions,
) -> ObjectReport {
    let mut before = normalize(&object.manifest.value());
    let annotations = &before["metadata"]["annotations"];
    let kept = OPT_OUTS
        .iter()
        .find(|(key, value)| annotations[*key] == *value)
        .map(|(key, value)| format!("not pruned: annotated {key}: {value}"))
        .or_else(|| {
            (object.id.is_namespace() && !options.prune_namespaces).then(|| {
                "not pruned: Namespaces are pruned only with --prune-namespaces".to_string()
            })
        })
        .or_else(|| {
            (object.id.is_crd() && !options.prune_crds)
                .then(|| "not pruned: CRDs are pruned only with --prune-crds".to_string())
        });
    mask::mask_object(&object.id, &mut before);
    let mut report = line(object, Outcome::Pruned, String::new());
    report.origin = None;
    match kept {
        Some(why) => {
            report.outcome = Outcome::Skipped;
            report.reason = Some(crate::report::Reason::PrunePolicy);
            report.message = Some(why);
        }
        None => {
            report.diff = base_header(
                diff::unified(&object.id, Some(&before), None, None),
                base_revision,
            )
        }
    }
    report
}

/// The "live" side of an offline diff is the base revision: its header says so.
fn base_header(diff: String, base_revision: Option<&str>) -> String {
    let Some(rest) = diff.strip_prefix("--- live/") else {
        return diff;
    };
    let (path, tail) = rest.split_once('\n').unwrap_or((rest, ""));
    match base_revision {
        Some(rev) => format!("--- base/{path}\trevision {rev}\n{tail}"),
        None => format!("--- base/{path}\n{tail}"),
    }
}

/// The paths where two (normalized, masked) objects differ: `spec.replicas`,
/// `spec.template.spec.containers[0].image`, `data.password`.
pub fn changed_fields(before: &Value, after: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(before, after, String::new(), &mut out);
    if out.len() > MAX_FIELDS {
        let more = out.len() - MAX_FIELDS;
        out.truncate(MAX_FIELDS);
        out.push(format!("…and {more} more"));
    }
    out
}

fn walk(before: &Value, after: &Value, path: String, out: &mut Vec<String>) {
    if before == after {
        return;
    }
    let child = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let (bv, av) = (
                    b.get(key).unwrap_or(&Value::Null),
                    a.get(key).unwrap_or(&Value::Null),
                );
                walk(bv, av, child(key), out);
            }
        }
        (Value::Array(b), Value::Array(a)) if b.len() == a.len() => {
            for (i, (bv, av)) in b.iter().zip(a).enumerate() {
                walk(bv, av, format!("{path}[{i}]"), out);
            }
        }
        _ => out.push(if path.is_empty() {
            "(the whole object)".into()
        } else {
            path
        }),
    }
}
