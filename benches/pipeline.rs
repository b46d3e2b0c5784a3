//! The pure pipeline on a large generated repository: read, render, resolve, classify.
//! `cargo bench --bench pipeline` prints time per stage and per object; no cluster involved.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Instant;

use driftless::plan::{Context, DryRun, Observation, classify, no_foreign_owner};
use driftless::render::{self, KindInfo, KindLookup};
use driftless::source::{self, SourceOptions};

const NAMESPACES: usize = 50;
const PER_NAMESPACE: usize = 40;

struct Builtins;

impl KindLookup for Builtins {
    fn lookup(&self, group: &str, version: &str, kind: &str) -> Option<KindInfo> {
        let (plural, namespaced) = match kind {
            "Namespace" => ("namespaces", false),
            "ConfigMap" => ("configmaps", true),
            "Deployment" => ("deployments", true),
            _ => return None,
        };
        Some(KindInfo {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: plural.into(),
            namespaced,
            served: true,
        })
    }
}

fn generate(root: &std::path::Path) -> usize {
    let mut objects = 0;
    for n in 0..NAMESPACES {
        let ns = format!("team-{n}");
        let dir = root.join(&ns);
        std::fs::create_dir_all(&dir).unwrap();
        let mut text = format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n");
        objects += 1;
        for i in 0..PER_NAMESPACE {
            text.push_str(&format!(
                "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\n  namespace: {ns}\n  labels: {{app: app-{i}}}\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {{app: app-{i}}}\n  template:\n    metadata:\n      labels: {{app: app-{i}}}\n    spec:\n      containers:\n      - name: app\n        image: registry.example.com/app:1.{i}.0\n        resources:\n          requests: {{cpu: 100m, memory: 128Mi}}\n          limits: {{cpu: 500m, memory: 256Mi}}\n"
            ));
            objects += 1;
        }
        std::fs::write(dir.join("all.yaml"), text).unwrap();
    }
    objects
}

fn main() {
    // Test runners list every target's tests with `--list`: a benchmark has none.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let objects = generate(tmp.path());
    let root = PathBuf::from(tmp.path());
    let options = SourceOptions::default();

    let t = Instant::now();
    let snapshot = source::read_dir(&root, &options).unwrap();
    let read = t.elapsed();
    let t = Instant::now();
    let rendered = render::render(&snapshot, &render::Decryption::default()).unwrap();
    let parse = t.elapsed();
    let t = Instant::now();
    let desired = render::resolve(rendered.manifests.clone(), &Builtins, None).unwrap();
    let resolve = t.elapsed();
    let ctx = Context {
        field_manager: "driftless",
        revision: Some("bench"),
        adopt: true,
        takeover_managers: &[],
        foreign_owner: &no_foreign_owner,
        replace_kinds: &[],
    };
    let t = Instant::now();
    let mut changed = 0;
    for object in desired.objects {
        let mut live = object.manifest.value();
        live["spec"]["replicas"] = serde_json::json!(3);
        let merged = object.manifest.value();
        let plan = classify(
            object,
            Observation {
                live: Some(live),
                dry_run: DryRun::Merged(merged),
            },
            ctx,
        );
        changed += usize::from(!plan.diff.is_empty());
    }
    let plan = t.elapsed();
    let per = |d: std::time::Duration| d.as_secs_f64() * 1e6 / objects as f64;
    println!("pipeline bench: {objects} objects ({changed} with a diff)");
    for (stage, d) in [
        ("read", read),
        ("render", parse),
        ("resolve", resolve),
        ("classify+diff", plan),
    ] {
        println!(
            "  {stage:<14} {:>9.1} ms  {:>7.1} µs/object",
            d.as_secs_f64() * 1e3,
            per(d)
        );
    }
}
