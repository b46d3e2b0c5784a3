//! A generated platform-like repository: namespaces holding ConfigMaps, Secrets,
//! ServiceAccounts, Services and Deployments, one file per object. Shared by the benchmarks and
//! the fault tests (included with `#[path]`).

#![allow(dead_code, clippy::expect_used)]

use std::fmt::Write as _;
use std::path::Path;

/// The kinds, in the order objects are dealt out: object `i` of a namespace is `KINDS[i % 5]`.
pub const KINDS: [&str; 5] = [
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "Service",
    "Deployment",
];

/// Writes `per_namespace` objects into each of `namespaces` namespaces named `{prefix}-{n}`
/// (their Namespace objects in `00-namespace.yaml`, first in file order as kubectl applies them),
/// under `dir`. Returns the namespace names. `version` goes
/// into every ConfigMap and Secret, so a second call with another version changes those.
pub fn write(
    dir: &Path,
    prefix: &str,
    namespaces: usize,
    per_namespace: usize,
    version: &str,
) -> Vec<String> {
    (0..namespaces)
        .map(|n| {
            let ns = format!("{prefix}-{n:03}");
            let folder = dir.join(&ns);
            std::fs::create_dir_all(&folder).expect("create corpus folder");
            let namespace = format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n");
            std::fs::write(folder.join("00-namespace.yaml"), namespace).expect("write namespace");
            for i in 0..per_namespace {
                let (name, text) = object(&ns, i, version);
                std::fs::write(folder.join(format!("{name}.yaml")), text).expect("write object");
            }
            ns
        })
        .collect()
}

/// The file name (without extension) and manifest of object `i` of namespace `ns`.
pub fn object(ns: &str, i: usize, version: &str) -> (String, String) {
    let kind = KINDS[i % KINDS.len()];
    let name = format!("{}-{i:04}", kind.to_lowercase());
    let mut m = String::new();
    let _ = match kind {
        "ConfigMap" => write!(
            m,
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {ns}\ndata:\n  version: \"{version}\"\n  settings.yaml: |\n    replicas: 2\n    log_level: info\n"
        ),
        "Secret" => write!(
            m,
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {ns}\ntype: Opaque\nstringData:\n  password: \"not-a-real-password-{version}\"\n"
        ),
        "ServiceAccount" => write!(
            m,
            "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n  namespace: {ns}\n"
        ),
        "Service" => write!(
            m,
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  selector:\n    app: {name}\n  ports:\n  - port: 80\n    targetPort: 8080\n    protocol: TCP\n"
        ),
        _ => write!(
            m,
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n      - name: app\n        image: registry.example.com/app:1.0.0\n        resources:\n          requests: {{cpu: 10m, memory: 16Mi}}\n          limits: {{memory: 32Mi}}\n"
        ),
    };
    (name, m)
}
