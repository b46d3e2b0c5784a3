//! The fault tests' source: a generated corpus in a temporary folder, and what the cluster must
//! hold once a run converged on it.

use std::path::Path;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;

use crate::support::{self, driftless_as};

#[path = "../../benches/corpus.rs"]
mod generated;

/// A corpus of `namespaces` x `per` objects in a temporary folder.
pub struct Corpus {
    dir: tempfile::TempDir,
    prefix: String,
    namespaces: usize,
    per: usize,
}

impl Corpus {
    pub fn new(namespaces: usize, per: usize) -> Corpus {
        let corpus = Corpus {
            dir: tempfile::tempdir().unwrap(),
            prefix: support::unique("dl-fault"),
            namespaces,
            per,
        };
        corpus.write("v1");
        corpus
    }

    pub fn write(&self, version: &str) -> Vec<String> {
        generated::write(
            self.dir.path(),
            &self.prefix,
            self.namespaces,
            self.per,
            version,
        )
    }

    pub fn path(&self) -> String {
        self.dir.path().to_string_lossy().into_owned()
    }

    pub fn namespaces(&self) -> Vec<String> {
        (0..self.namespaces)
            .map(|n| format!("{}-{n:03}", self.prefix))
            .collect()
    }

    /// Removes `n` ConfigMaps from the source, namespace after namespace; returns them as
    /// `namespace/name`.
    pub fn drop_config_maps(&self, n: usize) -> Vec<String> {
        let mut dropped = Vec::new();
        for ns in self.namespaces() {
            for i in (0..self.per).step_by(generated::KINDS.len()) {
                let name = format!("configmap-{i:04}");
                let file = self.dir.path().join(&ns).join(format!("{name}.yaml"));
                if dropped.len() < n && std::fs::remove_file(file).is_ok() {
                    dropped.push(format!("{ns}/{name}"));
                }
            }
        }
        assert_eq!(dropped.len(), n, "the corpus holds {n} ConfigMaps to drop");
        dropped
    }

    pub fn objects(&self) -> usize {
        self.namespaces * (self.per + 1)
    }
}

/// The ConfigMaps of the corpus that the cluster holds, with their `version`.
pub async fn config_map_versions(kubeconfig: &Path, corpus: &Corpus) -> Vec<(String, String)> {
    let client = support::client_for(kubeconfig).await;
    let mut found = Vec::new();
    for ns in corpus.namespaces() {
        let list = Api::<ConfigMap>::namespaced(client.clone(), &ns)
            .list(&Default::default())
            .await
            .unwrap();
        for cm in list.items {
            let name = cm.metadata.name.clone().unwrap_or_default();
            if name.starts_with("configmap-") {
                let version = cm.data.unwrap_or_default().remove("version");
                found.push((format!("{ns}/{name}"), version.unwrap_or_default()));
            }
        }
    }
    found.sort();
    found
}

/// Converged: a sync changes nothing more, `diff --prune` is clean, and exactly the
/// ConfigMaps of the source are live, at `version`.
pub async fn assert_converged(kubeconfig: &Path, corpus: &Corpus, version: &str) {
    let src = corpus.path();
    let sync = driftless_as(kubeconfig, &["sync", "--source", &src, "--prune"], &[]);
    assert_eq!(sync.code, 0, "the next run converges");
    let diff = driftless_as(kubeconfig, &["diff", "--source", &src, "--prune"], &[]);
    assert_eq!(diff.code, 0, "and then nothing differs");
    let mut expected = Vec::new();
    for ns in corpus.namespaces() {
        for entry in std::fs::read_dir(corpus.dir.path().join(&ns)).unwrap() {
            let file = entry.unwrap().file_name().to_string_lossy().into_owned();
            if let Some(name) = file.strip_prefix("configmap-") {
                expected.push(format!("{ns}/configmap-{}", name.trim_end_matches(".yaml")));
            }
        }
    }
    expected.sort();
    let live = config_map_versions(kubeconfig, corpus).await;
    let names: Vec<&String> = live.iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        expected.iter().collect::<Vec<_>>(),
        "every ConfigMap of the source, no other"
    );
    assert!(live.iter().all(|(_, v)| v == version), "all at {version}");
}
