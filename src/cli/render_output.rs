//! `driftless render`: the desired set as YAML or JSON, in apply order, with each object's
//! source. Secret values are masked here as everywhere.

use serde_json::{Value, json};

use crate::plan::{diff::to_yaml, mask, order};
use crate::render::{Manifest, ObjectId, Rendered, split_api_version};

/// The manifests in apply order (Namespaces and CRDs first), each with its identity.
fn ordered(rendered: &Rendered) -> Vec<(ObjectId, &Manifest)> {
    let mut items: Vec<(ObjectId, &Manifest)> = rendered
        .manifests
        .iter()
        .map(|m| {
            let (group, version) = split_api_version(m.api_version());
            let id = ObjectId {
                group: group.into(),
                version: version.into(),
                kind: m.kind().into(),
                namespace: m.namespace().map(str::to_string),
                name: m.name().into(),
            };
            (id, m)
        })
        .collect();
    items.sort_by(|a, b| order::apply_key(&a.0).cmp(&order::apply_key(&b.0)));
    items
}

/// The object as printed: masked unless `show` (`--show-secrets`).
fn masked(id: &ObjectId, m: &Manifest, show: bool) -> Value {
    let mut object = m.value();
    if !show {
        mask::mask_object(id, &mut object);
    }
    object
}

/// YAML documents, each preceded by `# Source: file:line`.
pub fn to_yaml_stream(rendered: &Rendered, show: bool) -> String {
    let mut out = String::new();
    if let Some(rev) = &rendered.revision {
        out.push_str(&format!("# Revision: {rev}\n"));
    }
    // What a range resolved to: enough to render the same bytes again.
    for chart in &rendered.charts {
        out.push_str(&format!("# Chart: {chart}\n"));
    }
    for (id, m) in ordered(rendered) {
        out.push_str(&format!("---\n# Source: {}\n", m.origin));
        out.push_str(&to_yaml(&masked(&id, m, show)));
    }
    out
}

/// One JSON document: the revision and every object with its source.
pub fn to_json(rendered: &Rendered, show: bool) -> String {
    let objects: Vec<Value> = ordered(rendered)
        .into_iter()
        .map(|(id, m)| json!({"source": m.origin.to_string(), "object": masked(&id, m, show)}))
        .collect();
    let doc = json!({
        "source": rendered.origin,
        "revision": rendered.revision,
        "charts": rendered.charts,
        "objects": objects,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Origin;

    fn manifest(object: Value, line: usize) -> Manifest {
        Manifest::new(&object, Origin::file("a.yaml", line))
    }

    #[test]
    fn apply_order_sources_and_masked_secrets() {
        let rendered = Rendered {
            origin: "repo".into(),
            revision: Some("abc".into()),
            charts: Vec::new(),
            unavailable: Vec::new(),
            manifests: vec![
                manifest(
                    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "n"}}),
                    1,
                ),
                manifest(
                    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "n"}, "stringData": {"p": "hunter2"}}),
                    9,
                ),
                manifest(
                    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}),
                    20,
                ),
            ],
        };
        let yaml = to_yaml_stream(&rendered, false);
        assert!(
            yaml.starts_with("# Revision: abc\n---\n# Source: a.yaml:20\n"),
            "{yaml}"
        );
        let (ns, secret, deploy) = (
            yaml.find("kind: Namespace").unwrap(),
            yaml.find("kind: Secret").unwrap(),
            yaml.find("kind: Deployment").unwrap(),
        );
        assert!(ns < secret && secret < deploy, "{yaml}");
        assert!(!yaml.contains("hunter2"), "{yaml}");
        let json: Value = serde_json::from_str(&to_json(&rendered, false)).unwrap();
        assert_eq!(json["objects"][1]["source"], "a.yaml:9");
        assert_eq!(json["objects"][1]["object"]["stringData"]["p"], "***");
    }
}
