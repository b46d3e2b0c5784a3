//! Kustomizations and Helm charts of a source, rendered by `kustomize build` (or `kubectl
//! kustomize`) and `helm template`: offline, from a private copy of exactly the files a folder
//! uses, in a scrubbed environment, with a deadline and an output cap; and cached by a hash of
//! those files, the renderer and its options, so unchanged inputs start no process.
//!
//! The surface is small: [`RenderOptions`] (with [`Tools`] and [`HelmSettings`]) and
//! [`render_snapshot`], which renders a whole [`Snapshot`]: its plain files and its folders.

mod cache;
mod dependencies;
mod exec;
mod fetch;
mod folder;
mod helm;
mod kustomize;
mod scrub;
mod tools;
mod values;

pub use cache::RenderCache;
pub use helm::{HELM_SETTINGS_FILE, HelmSettings};
pub use tools::Tools;
pub use values::SOPS_VALUES;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::decrypt::Decryptor;
use super::{
    Decryption, Origin, RenderError, RenderIssue, Rendered, RenderedBy, Unavailable, yaml,
};
use crate::remote::{Remote, RemoteOptions};
use crate::source::{FolderKind, RenderFolder, Snapshot, TreeFile};
use folder::render_folder;
use kustomize::{Allow, Reach, Tree};
use scrub::Secrets;

/// How folders are rendered. Cloning shares the cache.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    pub tools: Tools,
    /// Let kustomize fetch remote bases and charts (arbitrary URLs). Such folders are never
    /// cached: what they fetch may change.
    pub allow_remote_bases: bool,
    /// Let kustomize render `helmCharts` (with the same helm).
    pub kustomize_enable_helm: bool,
    /// Each render's deadline.
    pub timeout: Duration,
    /// Most bytes one render may print.
    pub max_output: u64,
    /// Settings for every chart, on top of its own file (flags).
    pub helm: HelmSettings,
    /// How SOPS files (plain, chart values, kustomize output) are opened.
    pub decryption: Decryption,
    /// Where charts from repositories (and chart dependencies) may come from, and how.
    pub remote: RemoteOptions,
    pub cache: RenderCache,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            tools: Tools::default(),
            allow_remote_bases: false,
            kustomize_enable_helm: false,
            timeout: Duration::from_secs(60),
            max_output: 128 << 20,
            helm: HelmSettings::default(),
            decryption: Decryption::default(),
            remote: RemoteOptions::default(),
            cache: RenderCache::default(),
        }
    }
}

/// Renders the snapshot: plain files as [`super::render`] does, and each kustomization and
/// chart with its renderer. Every problem is collected; any problem fails the whole revision.
pub async fn render_snapshot(
    snapshot: &Snapshot,
    options: &RenderOptions,
) -> Result<Rendered, RenderError> {
    let mut decryptor = Decryptor::new(&options.decryption);
    let rendered = render_all(snapshot, options, &mut decryptor).await;
    decryptor.finish(snapshot);
    rendered
}

async fn render_all(
    snapshot: &Snapshot,
    options: &RenderOptions,
    decryptor: &mut Decryptor<'_>,
) -> Result<Rendered, RenderError> {
    let (mut manifests, mut issues) = match super::render_files(snapshot, decryptor) {
        Ok(rendered) => (rendered.manifests, Vec::new()),
        Err(e) => (Vec::new(), e.issues),
    };
    let (mut charts, mut unavailable) = (Vec::new(), Vec::new());
    if !snapshot.folders.is_empty() {
        let (jobs, refused) = plan(snapshot, options, decryptor);
        issues.extend(refused);
        // One client for the pass, made only when a chart needs one: credentials as they are now.
        let remote = match jobs.iter().any(|j| j.needs_remote()) {
            true => Some(Remote::new(options.remote.clone())),
            false => None,
        };
        for job in jobs {
            let remote = match (&remote, job.needs_remote()) {
                (Some(Err(e)), true) => {
                    issues.push(issue(job.folder, e.to_string()));
                    continue;
                }
                (Some(Ok(remote)), true) => Some(remote),
                _ => None,
            };
            let fetched = fetch::fetch(&job, remote, &options.remote).await;
            let fetched = match fetched {
                Ok(fetched) => fetched,
                Err(e) if options.remote.preview && e.unreachable() => {
                    let folder = job.folder.path.clone();
                    let reason = format!("needs network: {}", job.secrets.scrub(&e.to_string()));
                    unavailable.push(Unavailable { folder, reason });
                    continue;
                }
                Err(e) => {
                    issues.push(issue(job.folder, job.secrets.scrub(&e.to_string())));
                    continue;
                }
            };
            charts.extend(fetched.charts.iter().cloned());
            match render_folder(&job, options, &fetched.files, decryptor).await {
                Ok(rendered) => manifests.extend(rendered.iter().cloned()),
                Err(issue) => issues.push(issue),
            }
        }
        // Plain files and folders in path order, each in its own order.
        manifests.sort_by(|a, b| a.origin.file.cmp(&b.origin.file));
    }
    let mut rendered = Rendered::of(snapshot, manifests, issues)?;
    rendered.charts = charts;
    rendered.unavailable = unavailable;
    Ok(rendered)
}

/// One folder to render, with every file it reads.
struct Job<'a> {
    folder: &'a RenderFolder,
    inputs: Vec<&'a TreeFile>,
    /// Charts: the release's settings.
    helm: Option<HelmSettings>,
    /// Values to keep out of error text.
    secrets: Secrets,
    /// Fetches something remote: never served from the cache.
    remote: bool,
    /// Charts: the values file read from stdin, decrypted.
    stdin: Option<values::StdinValues>,
    /// Charts: what is fetched into the copy first (the chart itself, dependencies).
    fetches: Vec<fetch::Fetch>,
    /// Charts: the chart's folder in the copy, when it is not the folder itself (fetched).
    chart_dir: Option<PathBuf>,
}

impl Job<'_> {
    fn needs_remote(&self) -> bool {
        self.fetches
            .iter()
            .any(|f| matches!(f.from, fetch::From::Remote(_)))
    }
}

/// The folders to render and what each reads; what is refused before any renderer runs.
fn plan<'a>(
    snapshot: &'a Snapshot,
    options: &RenderOptions,
    decryptor: &mut Decryptor<'_>,
) -> (Vec<Job<'a>>, Vec<RenderIssue>) {
    let tree = Tree::new(&snapshot.tree);
    let allow = Allow {
        remote: options.allow_remote_bases,
        helm: options.kustomize_enable_helm,
    };
    let mut issues = Vec::new();
    let mut reaches: HashMap<&Path, Reach> = HashMap::new();
    for folder in snapshot
        .folders
        .iter()
        .filter(|f| f.kind == FolderKind::Kustomize)
    {
        match kustomize::reach(&tree, &folder.path, allow) {
            Ok(reach) => {
                reaches.insert(&folder.path, reach);
            }
            Err(reason) => issues.push(issue(folder, reason)),
        }
    }
    let (roots, orphans) = kustomize::roots(&snapshot.folders, &reaches);
    issues.extend(orphans.into_iter().map(|(f, reason)| issue(f, reason)));
    let mut jobs = Vec::new();
    for folder in roots {
        let Some(reach) = reaches.remove(folder.path.as_path()) else {
            continue;
        };
        let inputs = snapshot
            .tree
            .iter()
            .filter(|f| reach.dirs.iter().any(|d| f.path.starts_with(d)))
            .collect();
        jobs.push(Job {
            folder,
            inputs,
            helm: None,
            secrets: reach.secrets,
            remote: reach.remote,
            stdin: None,
            fetches: Vec::new(),
            chart_dir: None,
        });
    }
    let mut charts = Vec::new();
    for folder in snapshot
        .folders
        .iter()
        .filter(|f| f.kind == FolderKind::Helm)
    {
        match chart_job(folder, &tree, snapshot, options, decryptor) {
            Ok(job) => charts.push(job),
            Err(reason) => issues.push(issue(folder, reason)),
        }
    }
    // A chart another chart takes as a `file://` dependency is rendered as part of it, not
    // as a release of its own (as a kustomization another one includes).
    let taken: Vec<PathBuf> = charts
        .iter()
        .flat_map(|j| j.fetches.iter())
        .filter_map(|f| match &f.from {
            fetch::From::Local(path) => Some(path.clone()),
            fetch::From::Remote(_) => None,
        })
        .collect();
    jobs.extend(
        charts
            .into_iter()
            .filter(|j| !taken.contains(&j.folder.path)),
    );
    jobs.sort_by(|a, b| a.folder.path.cmp(&b.folder.path));
    (jobs, issues)
}

fn chart_job<'a>(
    folder: &'a RenderFolder,
    tree: &Tree<'_>,
    snapshot: &'a Snapshot,
    options: &RenderOptions,
    decryptor: &mut Decryptor<'_>,
) -> Result<Job<'a>, String> {
    let own = match tree.file(&folder.path.join(HELM_SETTINGS_FILE)) {
        Some(file) => {
            let text = std::str::from_utf8(&file.bytes)
                .map_err(|_| format!("{HELM_SETTINGS_FILE}: not valid UTF-8"))?;
            HelmSettings::from_yaml(text).map_err(|e| format!("{HELM_SETTINGS_FILE}: {e}"))?
        }
        None => HelmSettings::default(),
    };
    let mut settings = own.with(&options.helm);
    if settings.release_name.is_none() {
        // The chart folder's name; for a directory source that is one chart, the directory's.
        let named = match folder.path.file_name() {
            Some(name) => Some(name.to_os_string()),
            None if snapshot.revision.is_none() => Path::new(&snapshot.origin)
                .canonicalize()
                .ok()
                .and_then(|p| p.file_name().map(Into::into)),
            None => None,
        };
        let name = named.map_or("release".into(), |n| n.to_string_lossy().into_owned());
        settings.release_name = Some(name);
    }
    let exists = |p: &Path| tree.file(&folder.path.join(p)).is_some();
    if exists(Path::new(SOPS_VALUES)) && !settings.values_files.iter().any(|f| f == SOPS_VALUES) {
        settings.values_files.insert(0, SOPS_VALUES.to_string());
    }
    let remote = settings
        .remote_chart()
        .map_err(|e| format!("{HELM_SETTINGS_FILE}: {e}"))?;
    let local = match (&remote, folder.marker == HELM_SETTINGS_FILE) {
        (None, true) => {
            return Err(format!(
                "{HELM_SETTINGS_FILE} without a Chart.yaml: name a chart from a repository \
                 (repo: and chart:), or add the chart's files"
            ));
        }
        (Some(_), false) => {
            return Err(format!(
                "{HELM_SETTINGS_FILE} names a chart from a repository (repo:), but the folder \
                 holds a chart of its own (Chart.yaml): keep one"
            ));
        }
        (remote, _) => remote.is_none(),
    };
    // A remote chart's defaults are in its archive; the folder's values.yaml goes over them.
    if !local
        && exists(Path::new("values.yaml"))
        && !settings.values_files.iter().any(|f| f == "values.yaml")
    {
        settings.values_files.insert(0, "values.yaml".to_string());
    }
    settings.check(exists)?;
    let mut secrets = Secrets::default();
    let values: Vec<(&str, &TreeFile)> = local
        .then_some("values.yaml")
        .into_iter()
        .chain(settings.values_files.iter().map(String::as_str))
        .filter_map(|name| Some((name, tree.file(&folder.path.join(name))?)))
        .collect();
    let stdin = values::decrypt_values(&values, decryptor, &mut secrets)?;
    for (name, file) in &values {
        if stdin.as_ref().is_some_and(|s| s.name == *name) {
            continue;
        }
        let text = String::from_utf8_lossy(&file.bytes);
        // A values file that does not parse is helm's to report (its words, scrubbed of what
        // did parse).
        if let Ok(docs) = yaml::parse_file(&text, false) {
            docs.iter().for_each(|d| secrets.values(&d.value));
        }
    }
    settings.set_values().for_each(|(k, v)| secrets.pair(k, v));
    let mut inputs: Vec<&TreeFile> = snapshot
        .tree
        .iter()
        .filter(|f| f.path.starts_with(&folder.path))
        .collect();
    let (fetches, chart_dir) = match remote {
        Some(chart) => {
            let dir = folder.path.join(fetch::REMOTE_CHART_DIR);
            let fetch = fetch::Fetch {
                dest: dir.clone(),
                from: fetch::From::Remote(chart),
                dependency: None,
            };
            (vec![fetch], Some(dir))
        }
        None => (
            fetch::dependencies_of(&folder.path, |p| tree.file(p), &inputs)?,
            None,
        ),
    };
    // A `file://` dependency's files are inputs too: a change there renders anew.
    for fetch in &fetches {
        if let fetch::From::Local(from) = &fetch.from {
            if !snapshot.folders.iter().any(|f| &f.path == from) {
                return Err(format!(
                    "dependency {}: no chart at {} in the source",
                    fetch.dependency.as_deref().unwrap_or("?"),
                    from.display()
                ));
            }
            inputs.extend(snapshot.tree.iter().filter(|f| f.path.starts_with(from)));
        }
    }
    Ok(Job {
        folder,
        inputs,
        helm: Some(settings),
        secrets,
        remote: false,
        stdin,
        fetches,
        chart_dir,
    })
}

fn issue(folder: &RenderFolder, reason: String) -> RenderIssue {
    RenderIssue {
        origin: folder_origin(folder, None),
        object: None,
        reason,
    }
}

/// The folder's path, `.` for the source root.
fn folder_dir(folder: &RenderFolder) -> PathBuf {
    match folder.path.as_os_str().is_empty() {
        true => PathBuf::from("."),
        false => folder.path.clone(),
    }
}

fn folder_origin(folder: &RenderFolder, template: Option<String>) -> Origin {
    let path = folder_dir(folder);
    let by = match folder.kind {
        FolderKind::Kustomize => RenderedBy::Kustomize,
        FolderKind::Helm => RenderedBy::Helm { template },
    };
    Origin::rendered(path, by)
}
