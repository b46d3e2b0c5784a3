//! Files into a typed, ordered desired set.
//!
//! [`render`] turns a [`Snapshot`] into [`Manifest`]s: every document parsed, `kind: List`
//! expanded, and the fields every object needs checked, each with the file and line it came from.
//! [`fn@resolve`] then gives each manifest its API resource and namespace using API discovery (or a
//! CRD in the same set), producing the [`DesiredSet`] the planner works on. Both are pure.

mod body;
mod decrypt;
mod key;
mod kinds;
pub mod lifecycle;
mod object;
pub mod renderers;
mod resolve;
pub mod sops;
pub mod yaml;

pub use body::{Body, short_hash};
pub use decrypt::{DECRYPTED, Decryption, Sops};
pub use key::Key;
pub use kinds::{OfflineKinds, builtin_namespaced};
pub use object::{ObjectId, Origin, RenderedBy, split_api_version};
pub use resolve::{
    DesiredObject, DesiredSet, KindInfo, KindLookup, crd_kinds, refresh_kinds, resolve,
};

use std::fmt;
use std::path::PathBuf;

use serde_json::Value;

use crate::source::{Snapshot, SourceFile};

pub use crate::redact::MASK;

/// One object from the source, checked for apiVersion, kind and metadata.name. Kept compact
/// (see [`Body`]), with the fields that name it at hand.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub body: Body,
    pub origin: Origin,
    api_version: String,
    kind: String,
    name: String,
    /// `metadata.namespace` as written (maybe empty).
    namespace: Option<String>,
    /// Read from a SOPS file: decrypted, or sealed (no key).
    pub sops: Option<Sops>,
}

impl Manifest {
    pub fn new(object: &Value, origin: Origin) -> Manifest {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let meta = &object["metadata"];
        Manifest {
            body: Body::new(object),
            origin,
            api_version: text(&object["apiVersion"]),
            kind: text(&object["kind"]),
            name: text(&meta["name"]),
            namespace: meta["namespace"].as_str().map(str::to_string),
            sops: None,
        }
    }

    /// The object as a tree (parsed again from its compact form).
    pub fn value(&self) -> Value {
        self.body.value()
    }

    pub fn api_version(&self) -> &str {
        &self.api_version
    }
    pub fn kind(&self) -> &str {
        &self.kind
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref().filter(|s| !s.is_empty())
    }
    /// `Kind name` for messages before the object is fully resolved.
    pub fn describe(&self) -> String {
        let name = match self.name() {
            "" => "<no name>",
            name => name,
        };
        let name = match self.namespace() {
            Some(ns) => format!("{ns}/{name}"),
            None => name.to_string(),
        };
        // A missing apiVersion or kind leaves no gap: the message says it is missing.
        [self.api_version(), self.kind(), &name]
            .into_iter()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// One problem found while rendering, at a file and line (or in a rendered folder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderIssue {
    pub origin: Origin,
    /// The object concerned, when the document got far enough to name one.
    pub object: Option<String>,
    pub reason: String,
}

impl fmt::Display for RenderIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.origin)?;
        if let Some(obj) = &self.object {
            write!(f, "{obj}: ")?;
        }
        f.write_str(&self.reason)
    }
}

/// Every problem found in a revision; a revision with any is never applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RenderError {
    pub issues: Vec<RenderIssue>,
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.issues.len();
        write!(
            f,
            "{n} problem{} in the manifests:",
            if n == 1 { "" } else { "s" }
        )?;
        for issue in &self.issues {
            write!(f, "\n  {issue}")?;
        }
        Ok(())
    }
}

/// A rendered revision: its manifests, and where they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub origin: String,
    pub revision: Option<String>,
    pub manifests: Vec<Manifest>,
    /// Charts fetched from repositories, as resolved: what makes a re-render reproducible.
    pub charts: Vec<ResolvedChart>,
    /// A preview only: chart folders left out, as what they need could not be fetched.
    pub unavailable: Vec<Unavailable>,
}

/// A folder a preview could not render for want of the network.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Unavailable {
    pub folder: PathBuf,
    pub reason: String,
}

/// A chart (or a chart's dependency) fetched from a repository for this revision.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ResolvedChart {
    /// The chart folder of the source that named it.
    pub folder: PathBuf,
    pub chart: String,
    pub repo: String,
    /// The version a range resolved to.
    pub version: String,
    /// The repository's digest of it (the index's, or the OCI manifest's).
    pub digest: String,
    /// A dependency of the folder's chart, not the folder's chart itself.
    pub dependency: bool,
}

impl std::fmt::Display for ResolvedChart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let role = match self.dependency {
            true => "dependency",
            false => "chart",
        };
        write!(
            f,
            "{role} {} {} ({}) from {} for {}",
            self.chart,
            self.version,
            self.digest,
            self.repo,
            self.folder.display()
        )
    }
}

impl Rendered {
    /// The snapshot's manifests, or every problem found: a revision renders whole or not at all.
    pub(crate) fn of(
        snapshot: &Snapshot,
        manifests: Vec<Manifest>,
        issues: Vec<RenderIssue>,
    ) -> Result<Rendered, RenderError> {
        if !issues.is_empty() {
            return Err(RenderError { issues });
        }
        Ok(Rendered {
            origin: snapshot.origin.clone(),
            revision: snapshot.revision.clone(),
            manifests,
            charts: Vec::new(),
            unavailable: Vec::new(),
        })
    }
}

/// Parses and checks every file of the snapshot, opening SOPS files as `decryption` says.
/// Collects all problems rather than the first.
pub fn render(snapshot: &Snapshot, decryption: &Decryption) -> Result<Rendered, RenderError> {
    let mut decryptor = decrypt::Decryptor::new(decryption);
    let rendered = render_files(snapshot, &mut decryptor);
    decryptor.finish(snapshot);
    rendered
}

/// [`render`], with the render's decryptor. Files are parsed a few at once; SOPS files are
/// opened afterwards, in order (the decryptor reads keys once and keeps what it revealed).
pub(in crate::render) fn render_files(
    snapshot: &Snapshot,
    decryptor: &mut decrypt::Decryptor<'_>,
) -> Result<Rendered, RenderError> {
    let mut manifests = Vec::new();
    let mut issues = Vec::new();
    for (file, read) in snapshot.files.iter().zip(read_all(&snapshot.files)) {
        match read {
            Read::Plain(found, problems) => {
                manifests.extend(found);
                issues.extend(problems);
            }
            Read::Sealed(docs) => open(file, docs, decryptor, &mut manifests, &mut issues),
        }
    }
    Rendered::of(snapshot, manifests, issues)
}

/// One file, parsed and checked; or its documents, still to decrypt.
enum Read {
    Plain(Vec<Manifest>, Vec<RenderIssue>),
    Sealed(Vec<yaml::Document>),
}

/// Below this many files, one thread parses them all.
const PARALLEL_FROM: usize = 64;
const MAX_THREADS: usize = 4;

/// Every file read, in order, by up to [`MAX_THREADS`] threads: parsing is most of a render's
/// CPU, and the API server is not busy yet while the CLI renders.
fn read_all(files: &[SourceFile]) -> Vec<Read> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_THREADS);
    if threads < 2 || files.len() < PARALLEL_FROM {
        return files.iter().map(read_file).collect();
    }
    let size = files.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .chunks(size)
            .map(|chunk| scope.spawn(move || chunk.iter().map(read_file).collect::<Vec<_>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| {
                w.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// A `.json` file is parsed as JSON (with its own error messages).
fn is_json(file: &SourceFile) -> bool {
    file.path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

fn read_file(file: &SourceFile) -> Read {
    let is_json = is_json(file);
    let format = if is_json { "JSON" } else { "YAML" };
    let (mut manifests, mut issues) = (Vec::new(), Vec::new());
    match yaml::parse_file(&file.content, is_json) {
        Err(e) => issues.push(RenderIssue {
            origin: Origin::file(&file.path, e.line),
            object: None,
            reason: format!("invalid {format}: {}", e.reason),
        }),
        Ok(docs) if sops::is_encrypted(&file.content, is_json) => return Read::Sealed(docs),
        Ok(docs) => {
            for doc in docs {
                let origin = Origin::file(&file.path, doc.line);
                expand(doc.value, origin, &mut manifests, &mut issues);
            }
        }
    }
    Read::Plain(manifests, issues)
}

/// A SOPS file's documents, decrypted and admitted.
fn open(
    file: &SourceFile,
    docs: Vec<yaml::Document>,
    decryptor: &mut decrypt::Decryptor<'_>,
    manifests: &mut Vec<Manifest>,
    issues: &mut Vec<RenderIssue>,
) {
    match decryptor.open(&file.content, is_json(file)) {
        None => {
            for doc in docs {
                let origin = Origin::file(&file.path, doc.line);
                expand(doc.value, origin, manifests, issues);
            }
        }
        Some(Err(e)) => issues.push(RenderIssue {
            origin: Origin::file(&file.path, e.line.unwrap_or(1)),
            object: None,
            reason: format!("cannot decrypt (SOPS): {}", e.reason),
        }),
        Some(Ok(opened)) => {
            // The documents' lines, from the file as written.
            let lines: Vec<usize> = docs.iter().map(|d| d.line).collect();
            for (i, doc) in opened.into_iter().enumerate() {
                let line = lines.get(i).or(lines.last()).copied().unwrap_or(1);
                let origin = Origin::file(&file.path, line);
                let start = manifests.len();
                expand(doc.value, origin.clone(), manifests, issues);
                for m in manifests.drain(start..).collect::<Vec<_>>() {
                    let object = m.describe();
                    match decryptor.admit(m, &doc.sops) {
                        Ok(m) => manifests.push(m),
                        Err(reason) => issues.push(RenderIssue {
                            origin: origin.clone(),
                            object: Some(object),
                            reason,
                        }),
                    }
                }
            }
        }
    }
}

/// Checks one document, expanding `kind: List` into its items.
pub(crate) fn expand(
    value: Value,
    origin: Origin,
    out: &mut Vec<Manifest>,
    issues: &mut Vec<RenderIssue>,
) {
    let issue = |object: Option<String>, reason: String| RenderIssue {
        origin: origin.clone(),
        object,
        reason,
    };
    if !value.is_object() {
        issues.push(issue(
            None,
            "a document must be a mapping (a Kubernetes object)".into(),
        ));
        return;
    }
    if value["kind"] == "List" && value["apiVersion"] == "v1" {
        match value.get("items") {
            Some(Value::Array(items)) => {
                for item in items {
                    expand(item.clone(), origin.clone(), out, issues);
                }
            }
            Some(Value::Null) | None => {}
            Some(_) => issues.push(issue(None, "`items` of a List must be a sequence".into())),
        }
        return;
    }
    let value = lifecycle::name_generated_hook(value);
    let manifest = Manifest::new(&value, origin.clone());
    let required = Required::check(&value);
    let ns = &value["metadata"]["namespace"];
    if !required.problems.is_empty() {
        issues.push(issue(
            Some(manifest.describe()).filter(|_| required.failed < 3),
            required.problems.join("; "),
        ));
    } else if !(ns.is_null() || ns.is_string()) {
        issues.push(issue(
            Some(manifest.describe()),
            "metadata.namespace must be a string".into(),
        ));
    } else if let Err(why) = lifecycle::Lifecycle::of(&value) {
        issues.push(issue(Some(manifest.describe()), why));
    } else {
        out.push(manifest);
    }
}

/// What is wrong with the fields every object needs: apiVersion, kind and metadata.name.
struct Required {
    problems: Vec<String>,
    /// How many of the three are missing or not strings (all three: the object has no name
    /// worth giving).
    failed: usize,
}

impl Required {
    fn check(value: &Value) -> Required {
        let meta = &value["metadata"];
        let (mut missing, mut not_strings) = (Vec::new(), Vec::new());
        for (field, value) in [
            ("apiVersion", &value["apiVersion"]),
            ("kind", &value["kind"]),
            ("metadata.name", &meta["name"]),
        ] {
            match value {
                Value::String(s) if !s.is_empty() => {}
                Value::Null | Value::String(_) => missing.push(field),
                _ => not_strings.push(field),
            }
        }
        let failed = missing.len() + not_strings.len();
        let generate_name = meta["generateName"].as_str().filter(|s| !s.is_empty());
        // kubectl refuses this too ("cannot use generate name with apply"): apply finds the
        // object by its name on every run, and a server-made name differs each time.
        let generated = match generate_name {
            Some(prefix) if missing.contains(&"metadata.name") => {
                missing.retain(|f| *f != "metadata.name");
                Some(format!(
                    "metadata.name is required: apply cannot use metadata.generateName ({}), as \
                     each sync must find the same object by its name (kubectl apply refuses it too)",
                    yaml::quoted(prefix)
                ))
            }
            _ => None,
        };
        let mut problems = Vec::new();
        if !missing.is_empty() {
            problems.push(format!("missing or empty {}", missing.join(", ")));
        }
        if !not_strings.is_empty() {
            problems.push(format!("{} must be a string", not_strings.join(", ")));
        }
        problems.extend(generated);
        Required { problems, failed }
    }
}

#[cfg(test)]
mod tests;
