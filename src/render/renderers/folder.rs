//! One folder rendered: the renderer found, its command line, the cache key of all it reads, a
//! private copy of those files to run it in, and its output read back as manifests.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::cache::Key;
use super::tools::{self, Tool};
use super::{Job, RenderOptions, exec, folder_dir, folder_origin, helm, issue};
use serde_json::Value;

use crate::render::decrypt::Decryptor;
use crate::render::{Manifest, RenderIssue, yaml};
use crate::source::{FolderKind, TreeFile};

/// Renders one folder, from the cache when nothing it reads changed. `fetched`: the charts
/// fetched for it, with their places in the copy.
pub(super) async fn render_folder(
    job: &Job<'_>,
    options: &RenderOptions,
    fetched: &[(PathBuf, Vec<u8>)],
    decryptor: &mut Decryptor<'_>,
) -> Result<Arc<Vec<Manifest>>, RenderIssue> {
    let folder = job.folder;
    let fail = |reason: String| issue(folder, job.secrets.scrub(&reason));
    let work = Workspace::new().map_err(fail)?;
    let renderer = Renderer::find(folder.kind, options, &work.home)
        .await
        .map_err(fail)?;
    let args = renderer.args(job);
    let key = renderer.cache_key(job, &args, fetched);
    let cache = &options.cache;
    if !job.remote
        && let Some(hit) = cache.get(&folder.path, &key)
    {
        tracing::debug!(folder = %folder.path.display(), "render cached: inputs unchanged");
        return Ok(hit);
    }
    // An encrypted values file stays out of the copy: helm reads it, decrypted, on stdin.
    let skip = job.stdin.as_ref().map(|s| s.path.as_path());
    work.copy(&job.inputs, skip).map_err(fail)?;
    work.write(fetched).map_err(fail)?;
    let name = renderer.name(folder.kind);
    let stdin = job.stdin.as_ref().map(|s| s.text.clone());
    let output = work
        .run(&renderer.tool, args, stdin, options, &folder.path)
        .await
        .map_err(|said| fail(format!("{name} failed: {said}")))?;
    let text = String::from_utf8(output)
        .map_err(|_| fail(format!("{name} printed text that is not UTF-8")))?;
    let manifests = Arc::new(manifests(job, &text, name, decryptor)?);
    // Nothing decrypted is kept, not even in memory: the next render decrypts again, with the
    // keys as they are then.
    let decrypted = job.stdin.is_some() || manifests.iter().any(|m| m.sops.is_some());
    if !job.remote && !decrypted {
        cache.put(&folder.path, key, manifests.clone());
    }
    Ok(manifests)
}

/// The programs a folder renders with.
struct Renderer {
    tool: Tool,
    /// The helm a kustomization calls for its `helmCharts`, when it may.
    helm: Option<Tool>,
}

impl Renderer {
    async fn find(
        kind: FolderKind,
        options: &RenderOptions,
        home: &Path,
    ) -> Result<Renderer, String> {
        let cache = &options.cache;
        let tool = match kind {
            FolderKind::Kustomize => tools::kustomize(&options.tools, cache, home).await,
            FolderKind::Helm => tools::helm(&options.tools, cache, home).await,
        }?;
        let helm = match (kind, options.kustomize_enable_helm) {
            (FolderKind::Kustomize, true) => Some(tools::helm(&options.tools, cache, home).await?),
            _ => None,
        };
        Ok(Renderer { tool, helm })
    }

    /// How messages name the run.
    fn name(&self, kind: FolderKind) -> &'static str {
        match kind {
            FolderKind::Kustomize if self.tool.kubectl => "kubectl kustomize",
            FolderKind::Kustomize => "kustomize build",
            FolderKind::Helm => "helm template",
        }
    }

    /// `helm template` with the release's settings, or `kustomize build` held to the folder's
    /// root (calling helm when it may).
    fn args(&self, job: &Job<'_>) -> Vec<OsString> {
        let dir = folder_dir(job.folder);
        if let Some(settings) = &job.helm {
            let stdin = job.stdin.as_ref().map(|s| s.name.as_str());
            let chart = job.chart_dir.as_deref().unwrap_or(&dir);
            return settings.args(chart, &dir, "release", stdin);
        }
        let mut args: Vec<OsString> = match self.tool.kubectl {
            true => vec!["kustomize".into()],
            false => vec!["build".into()],
        };
        args.extend([
            dir.into_os_string(),
            "--load-restrictor".into(),
            "LoadRestrictionsRootOnly".into(),
        ]);
        if let Some(helm) = &self.helm {
            args.extend([
                "--enable-helm".into(),
                "--helm-command".into(),
                helm.path.clone().into_os_string(),
            ]);
        }
        args
    }

    /// What the output depends on: the renderers, their arguments and every file read.
    fn cache_key(
        &self,
        job: &Job<'_>,
        args: &[OsString],
        fetched: &[(PathBuf, Vec<u8>)],
    ) -> [u8; 32] {
        let mut key = Key::default();
        key.part("driftless render 1")
            .part(&self.tool.identity)
            .part(&self.tool.version);
        self.helm.iter().for_each(|h| {
            key.part(&h.identity);
        });
        args.iter().for_each(|a| {
            key.part(a.as_encoded_bytes());
        });
        for file in &job.inputs {
            key.part(file.path.as_os_str().as_encoded_bytes())
                .part(&file.bytes);
        }
        for (path, bytes) in fetched {
            key.part(path.as_os_str().as_encoded_bytes()).part(bytes);
        }
        key.finish()
    }
}

/// A private folder to render in, removed when dropped: `src`, a copy of what the folder
/// reads, and `home`, the renderer's HOME (with its tmp).
struct Workspace {
    dir: tempfile::TempDir,
    src: PathBuf,
    home: PathBuf,
}

impl Workspace {
    fn new() -> Result<Workspace, String> {
        let dir = tempfile::Builder::new()
            .prefix("driftless-render-")
            .tempdir()
            .map_err(|e| format!("cannot make a folder to render in: {e}"))?;
        let (src, home) = (dir.path().join("src"), dir.path().join("home"));
        for dir in [&src, &home, &home.join("tmp")] {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot make {dir:?}: {e}"))?;
        }
        Ok(Workspace { dir, src, home })
    }

    fn copy(&self, inputs: &[&TreeFile], skip: Option<&Path>) -> Result<(), String> {
        let files = inputs.iter().filter(|f| Some(f.path.as_path()) != skip);
        self.put(files.map(|f| (f.path.as_path(), f.bytes.as_slice())))
    }

    /// Fetched charts, at their places in the copy.
    fn write(&self, files: &[(PathBuf, Vec<u8>)]) -> Result<(), String> {
        self.put(files.iter().map(|(p, b)| (p.as_path(), b.as_slice())))
    }

    fn put<'f>(&self, files: impl Iterator<Item = (&'f Path, &'f [u8])>) -> Result<(), String> {
        for (relative, bytes) in files {
            let path = self.src.join(relative);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| format!("cannot copy: {e}"))?;
            }
            std::fs::write(&path, bytes).map_err(|e| format!("cannot copy: {e}"))?;
        }
        Ok(())
    }

    /// Runs the renderer in the copy; its output, or what it said when it failed.
    async fn run(
        &self,
        tool: &Tool,
        args: Vec<OsString>,
        stdin: Option<Vec<u8>>,
        options: &RenderOptions,
        folder: &Path,
    ) -> Result<Vec<u8>, String> {
        let started = Instant::now();
        tracing::debug!(folder = %folder.display(), renderer = %tool.version, "renderer started");
        let run = exec::Run {
            program: &tool.path,
            args,
            cwd: &self.src,
            home: &self.home,
            network: options.allow_remote_bases,
            timeout: options.timeout,
            max_output: options.max_output,
            stdin,
        };
        let output = exec::run(run).await.map_err(|e| {
            // Paths as the source has them, not as the private copy does.
            let said = e
                .to_string()
                .replace(&format!("{}/", self.src.display()), "");
            said.replace(&self.dir.path().display().to_string(), "<render>")
        })?;
        tracing::debug!(folder = %folder.display(), ms = started.elapsed().as_millis() as u64, "rendered");
        Ok(output)
    }
}

/// The renderer's output as manifests, each naming the folder (and, for a chart, its template).
/// A document that is a SOPS file (an encrypted Secret a kustomization lists) is decrypted.
fn manifests(
    job: &Job<'_>,
    text: &str,
    name: &str,
    decryptor: &mut Decryptor<'_>,
) -> Result<Vec<Manifest>, RenderIssue> {
    let folder = job.folder;
    let docs = yaml::parse_file(text, false).map_err(|e| {
        let reason = format!(
            "{name} printed invalid YAML (line {} of its output): {}",
            e.line, e.reason
        );
        issue(folder, job.secrets.scrub(&reason))
    })?;
    let templates = helm::Templates::new(text);
    let (mut out, mut issues) = (Vec::new(), Vec::new());
    for doc in docs {
        let template = job.helm.as_ref().and_then(|_| templates.at(doc.line));
        let origin = folder_origin(folder, template);
        let (value, sops) = match doc.value.get("sops").is_some() {
            true => match decryptor.open_output(doc.value, &job.inputs) {
                Ok((value, sops)) => (value, Some(sops)),
                Err(reason) => {
                    issues.push(RenderIssue {
                        origin,
                        object: None,
                        reason,
                    });
                    continue;
                }
            },
            false => (doc.value, None),
        };
        let start = out.len();
        crate::render::expand(
            with_release_namespace(job, value),
            origin.clone(),
            &mut out,
            &mut issues,
        );
        let Some(sops) = sops else { continue };
        for m in out.drain(start..).collect::<Vec<_>>() {
            let object = m.describe();
            match decryptor.admit(m, &sops) {
                Ok(m) => out.push(m),
                Err(reason) => issues.push(RenderIssue {
                    origin: origin.clone(),
                    object: Some(object),
                    reason,
                }),
            }
        }
    }
    match issues.into_iter().next() {
        None => Ok(out),
        Some(mut first) => {
            first.reason = job.secrets.scrub(&first.reason);
            Err(first)
        }
    }
}

/// As helm install would: the release namespace for objects that name none (dropped again
/// from cluster-scoped ones when resolved).
fn with_release_namespace(job: &Job<'_>, mut value: Value) -> Value {
    let is_list = value.get("kind").and_then(|k| k.as_str()) == Some("List");
    if let Some(ns) = job.helm.as_ref().and_then(|h| h.namespace.as_ref())
        && !is_list
        && let Some(meta) = value.get_mut("metadata").and_then(|m| m.as_object_mut())
        && meta.get("namespace").is_none_or(|n| n.is_null())
    {
        meta.insert("namespace".into(), ns.clone().into());
    }
    value
}
