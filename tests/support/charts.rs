//! Real chart and artifact servers started once per test process by `scripts/chart-testenv`: two
//! OCI registries (basic auth, anonymous), Helm repositories over https (public, basic auth,
//! bearer token) and a port that never answers; all https with a throwaway CA. Charts are made,
//! packaged, indexed and pushed with the pinned helm; artifacts are pushed with oci-client in the
//! format `flux push artifact` writes.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use oci_client::client::{Certificate, CertificateEncoding, ClientConfig};
use oci_client::manifest::{OciDescriptor, OciImageManifest};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use sha2::{Digest, Sha256};

use super::Run;

/// The media types of what `flux push artifact` writes (fluxcd/pkg `oci`: `CanonicalConfigMediaType`,
/// `CanonicalContentMediaType`).
pub const FLUX_CONFIG: &str = "application/vnd.cncf.flux.config.v1+json";
pub const FLUX_CONTENT: &str = "application/vnd.cncf.flux.content.v1.tar+gzip";
/// A plain OCI image layer and manifest.
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// The annotations Flux sets on the manifest (`org.opencontainers.image.*`).
pub const CREATED: &str = "org.opencontainers.image.created";
pub const SOURCE: &str = "org.opencontainers.image.source";
pub const REVISION: &str = "org.opencontainers.image.revision";

pub struct ChartServers {
    env: HashMap<String, String>,
}

static SERVERS: OnceLock<ChartServers> = OnceLock::new();

/// The shared servers, started on first use and stopped when this process exits.
pub fn servers() -> &'static ChartServers {
    SERVERS.get_or_init(|| ChartServers {
        env: super::start_testenv(
            "chart-testenv",
            "; run `scripts/chart-testenv install` first",
        ),
    })
}

fn read_secret(path: &str) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    text.trim().to_string()
}

impl ChartServers {
    pub fn get(&self, key: &str) -> &str {
        self.env
            .get(key)
            .unwrap_or_else(|| panic!("chart-testenv env has no {key}"))
    }
    /// `127.0.0.1:PORT` of the registry with basic auth (user [`Self::registry_user`]).
    pub fn registry(&self) -> &str {
        self.get("CHART_TESTENV_REGISTRY")
    }
    /// `127.0.0.1:PORT` of the registry anyone may pull from and push to.
    pub fn registry_anon(&self) -> &str {
        self.get("CHART_TESTENV_REGISTRY_ANON")
    }
    pub fn registry_user(&self) -> &str {
        self.get("CHART_TESTENV_REGISTRY_USER")
    }
    pub fn registry_password_file(&self) -> PathBuf {
        PathBuf::from(self.get("CHART_TESTENV_REGISTRY_PASSWORD_FILE"))
    }
    pub fn registry_password(&self) -> String {
        read_secret(self.get("CHART_TESTENV_REGISTRY_PASSWORD_FILE"))
    }
    /// `https://127.0.0.1:PORT/charts`: a Helm repository anyone may read.
    pub fn repo_url(&self) -> &str {
        self.get("CHART_TESTENV_REPO")
    }
    /// `https://127.0.0.1:PORT/private`: basic auth, user [`Self::repo_user`].
    pub fn repo_private_url(&self) -> &str {
        self.get("CHART_TESTENV_REPO_PRIVATE")
    }
    /// `https://127.0.0.1:PORT/bearer`: only with `Authorization: Bearer <repo_token>`.
    pub fn repo_bearer_url(&self) -> &str {
        self.get("CHART_TESTENV_REPO_BEARER")
    }
    /// The URL that serves `repo_dir()/sub` (`"charts"`, `"private"` or `"bearer"`).
    pub fn repo_url_of(&self, sub: &str) -> &str {
        match sub {
            "charts" => self.repo_url(),
            "private" => self.repo_private_url(),
            "bearer" => self.repo_bearer_url(),
            _ => panic!("no Helm repository {sub:?}: charts, private or bearer"),
        }
    }
    pub fn repo_user(&self) -> &str {
        self.get("CHART_TESTENV_REPO_USER")
    }
    pub fn repo_password_file(&self) -> PathBuf {
        PathBuf::from(self.get("CHART_TESTENV_REPO_PASSWORD_FILE"))
    }
    pub fn repo_password(&self) -> String {
        read_secret(self.get("CHART_TESTENV_REPO_PASSWORD_FILE"))
    }
    pub fn repo_token_file(&self) -> PathBuf {
        PathBuf::from(self.get("CHART_TESTENV_REPO_TOKEN_FILE"))
    }
    pub fn repo_token(&self) -> String {
        read_secret(self.get("CHART_TESTENV_REPO_TOKEN_FILE"))
    }
    /// What nginx serves: `charts/`, `private/` and `bearer/` below it, subfolders included.
    pub fn repo_dir(&self) -> PathBuf {
        PathBuf::from(self.get("CHART_TESTENV_REPO_DIR"))
    }
    /// `127.0.0.1:PORT` that accepts connections and never answers.
    pub fn hang(&self) -> &str {
        self.get("CHART_TESTENV_HANG")
    }
    /// The CA (PEM) every server's certificate chains to.
    pub fn ca(&self) -> PathBuf {
        PathBuf::from(self.get("CHART_TESTENV_CA"))
    }
    /// The access log of the registry with auth ([`Self::registry`]): one line per request.
    pub fn registry_log(&self) -> String {
        std::fs::read_to_string(self.dir().join("logs/registry.log")).unwrap_or_default()
    }
    /// nginx's access log (the Helm repositories): one line per request.
    pub fn nginx_log(&self) -> String {
        std::fs::read_to_string(self.dir().join("logs/nginx-access.log")).unwrap_or_default()
    }
    /// The folder of the whole environment (removed when this process exits).
    fn dir(&self) -> PathBuf {
        self.repo_dir()
            .parent()
            .expect("REPO_DIR has a parent")
            .to_path_buf()
    }
}

/// The pinned helm the tests run (`renderers::helm`).
pub fn helm() -> PathBuf {
    super::renderers::helm()
}

/// A home of helm's own for this process (config, caches, registry logins), never the user's.
pub fn helm_home() -> &'static Path {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    HOME.get_or_init(|| {
        let home = servers().dir().join("helm-home");
        std::fs::create_dir_all(&home).expect("mkdir helm home");
        home
    })
}

/// The pinned helm with `home` as its home and nothing of the user's.
pub fn helm_command_in(home: &Path) -> Command {
    let mut command = Command::new(helm());
    command
        .env("HOME", home)
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_DATA_HOME", home.join("data"))
        .env("HELM_REGISTRY_CONFIG", home.join("registry.json"))
        .env_remove("HELM_REPOSITORY_CONFIG")
        .env_remove("HELM_REPOSITORY_CACHE")
        .env_remove("KUBECONFIG");
    command
}

/// The pinned helm in this process's [`helm_home`] (logged in to the registry once pushed to).
pub fn helm_command() -> Command {
    helm_command_in(helm_home())
}

/// Runs helm with `args`; its stdout, or the test fails with its stderr.
fn run_helm(mut command: Command, args: &[&str]) -> String {
    let out = command.args(args).output().expect("run helm");
    Run::from_output(out).succeeded(format_args!("helm {}", args.join(" ")))
}

/// Writes `dir/name/`: a Chart.yaml (apiVersion v2), an empty values.yaml and `templates`
/// (file names relative to `templates/`, contents). Returns the chart's folder.
pub fn new_chart(dir: &Path, name: &str, version: &str, templates: &[(&str, &str)]) -> PathBuf {
    let chart = dir.join(name);
    std::fs::create_dir_all(chart.join("templates")).expect("mkdir chart");
    let meta = format!("apiVersion: v2\nname: {name}\nversion: {version}\ntype: application\n");
    std::fs::write(chart.join("Chart.yaml"), meta).expect("write Chart.yaml");
    std::fs::write(chart.join("values.yaml"), "{}\n").expect("write values.yaml");
    for (file, content) in templates {
        let path = chart.join("templates").join(file);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, content).expect("write template");
    }
    chart
}

/// `helm package CHART_DIR -d OUT_DIR`; the .tgz it wrote.
pub fn package(chart_dir: &Path, out_dir: &Path) -> PathBuf {
    let chart = chart_dir.to_string_lossy();
    let out = out_dir.to_string_lossy();
    let stdout = run_helm(helm_command(), &["package", &chart, "-d", &out]);
    let saved = stdout
        .lines()
        .find_map(|l| l.split_once("saved it to: ").map(|(_, path)| path.trim()))
        .unwrap_or_else(|| panic!("helm package said where it saved nothing: {stdout}"));
    PathBuf::from(saved)
}

/// Copies `tgz` into `repo_dir()/sub` and indexes that folder with `helm repo index --url`;
/// returns the repository's URL. `sub`: `"charts"`, `"private"` or `"bearer"`.
pub fn publish_https(sub: &str, tgz: &Path) -> String {
    publish_https_in(sub, "", tgz)
}

/// [`publish_https`] into a repository of the test's own: `repo_dir()/sub/folder`, served at
/// `<repo_url_of(sub)>/folder`, so no other test's charts (or index) are seen.
pub fn publish_https_in(sub: &str, folder: &str, tgz: &Path) -> String {
    // `helm repo index` rewrites the whole index: one at a time in this process.
    static INDEX: Mutex<()> = Mutex::new(());
    let base = servers().repo_url_of(sub);
    let (dir, url) = if folder.is_empty() {
        (servers().repo_dir().join(sub), base.to_string())
    } else {
        let dir = servers().repo_dir().join(sub).join(folder);
        (dir, format!("{base}/{folder}"))
    };
    let _guard = INDEX.lock().unwrap_or_else(|e| e.into_inner());
    std::fs::create_dir_all(&dir).expect("mkdir repository");
    let name = tgz.file_name().expect("a .tgz file");
    std::fs::copy(tgz, dir.join(name)).expect("copy the chart");
    let dir_arg = dir.to_string_lossy();
    run_helm(helm_command(), &["repo", "index", &dir_arg, "--url", &url]);
    url
}

/// `helm push TGZ oci://REGISTRY/REPO_PATH` to the registry with auth (logged in once per
/// process); returns that `oci://` base (the chart is `<base>/<chart name>`).
pub fn push_oci(tgz: &Path, repo_path: &str) -> String {
    push_oci_to(servers().registry(), tgz, repo_path)
}

/// [`push_oci`] to `registry` (`servers().registry()` or `servers().registry_anon()`).
pub fn push_oci_to(registry: &str, tgz: &Path, repo_path: &str) -> String {
    if registry == servers().registry() {
        helm_login();
    }
    let base = format!("oci://{registry}/{repo_path}");
    let ca = servers().ca();
    let (tgz, ca) = (tgz.to_string_lossy(), ca.to_string_lossy());
    run_helm(helm_command(), &["push", &tgz, &base, "--ca-file", &ca]);
    base
}

/// `helm registry login` to the registry with auth, once per process, into [`helm_home`].
pub fn helm_login() {
    static LOGIN: OnceLock<()> = OnceLock::new();
    LOGIN.get_or_init(|| {
        let s = servers();
        let password = std::fs::File::open(s.registry_password_file()).expect("password file");
        let out = helm_command()
            .args(["registry", "login", s.registry(), "--ca-file"])
            .arg(s.ca())
            .args(["-u", s.registry_user(), "--password-stdin"])
            .stdin(password)
            .output()
            .expect("run helm registry login");
        Run::from_output(out).succeeded("helm registry login");
    });
}

/// One layer of an artifact: its media type and bytes, as given.
pub struct Layer {
    pub media_type: String,
    pub data: Vec<u8>,
    pub annotations: BTreeMap<String, String>,
}

impl Layer {
    pub fn new(media_type: &str, data: Vec<u8>) -> Layer {
        Layer {
            media_type: media_type.to_string(),
            data,
            annotations: BTreeMap::new(),
        }
    }
}

/// An OCI artifact to push: a config blob, layers in order, manifest annotations.
pub struct Artifact {
    pub config_media_type: String,
    pub config: Vec<u8>,
    /// The manifest's `artifactType` (OCI 1.1); Flux sets none.
    pub artifact_type: Option<String>,
    pub layers: Vec<Layer>,
    pub annotations: BTreeMap<String, String>,
}

impl Artifact {
    /// What `flux push artifact --path DIR --source S --revision R` makes of a folder holding
    /// `files` (paths, contents): one layer, `tgz(files)`, of [`FLUX_CONTENT`]; a config of
    /// [`FLUX_CONFIG`]; the created, source and revision annotations on the manifest.
    pub fn flux(files: &[(&str, &str)]) -> Artifact {
        Artifact::flux_tgz(tgz(files))
    }

    /// [`Artifact::flux`] whose one layer is `layer`, as given: a hostile archive, or no
    /// archive at all.
    pub fn flux_tgz(layer: Vec<u8>) -> Artifact {
        let annotations = BTreeMap::from([
            (CREATED.to_string(), rfc3339_now()),
            (
                SOURCE.to_string(),
                "https://git.example.invalid/driftless-test.git".to_string(),
            ),
            (
                REVISION.to_string(),
                "main@sha1:3f786850e387550fdab836ed7e6dc881de23001b".to_string(),
            ),
        ]);
        Artifact {
            config_media_type: FLUX_CONFIG.to_string(),
            config: flux_config(&layer),
            artifact_type: None,
            layers: vec![Layer::new(FLUX_CONTENT, layer)],
            annotations,
        }
    }

    /// The same with one more layer after the others.
    pub fn with_layer(mut self, media_type: &str, data: Vec<u8>) -> Artifact {
        self.layers.push(Layer::new(media_type, data));
        self
    }
}

/// The config go-containerregistry writes for Flux's artifact (an empty image plus one layer):
/// its content varies with Flux's version, and nothing reads it.
fn flux_config(layer_tgz: &[u8]) -> Vec<u8> {
    // The diff ID is the digest of the uncompressed tar (of the bytes, when they are no gzip).
    let mut tar = Vec::new();
    let gunzipped =
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(layer_tgz), &mut tar);
    let tar = if gunzipped.is_ok() {
        &tar[..]
    } else {
        layer_tgz
    };
    // Go's field order; the times are zero, as before Flux set `created` there too.
    let (zero, diff_id) = ("0001-01-01T00:00:00Z", sha256_digest(tar));
    format!(
        r#"{{"architecture":"","created":"{zero}","history":[{{"created":"{zero}"}}],"os":"","rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}},"config":{{}}}}"#
    )
    .into_bytes()
}

/// An entry of a tar archive made by [`raw_tgz`]: names and link targets are written as given,
/// `../` and absolute ones included.
pub enum Entry<'a> {
    File(&'a str, &'a [u8]),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
}

/// A gzip tar of `entries`, in order, with the headers Flux writes (uid, gid, names and times
/// zeroed). Nothing is checked: for archives that must be refused.
pub fn raw_tgz(entries: &[Entry]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut builder = tar::Builder::new(gz);
    for entry in entries {
        let mut header = tar::Header::new_ustar();
        let (name, data, kind, mode): (&str, &[u8], _, _) = match entry {
            Entry::File(name, data) => (*name, *data, tar::EntryType::Regular, 0o644),
            Entry::Dir(name) => (*name, &[], tar::EntryType::Directory, 0o755),
            Entry::Symlink(name, target) | Entry::Hardlink(name, target) => {
                header
                    .set_link_name_literal(target)
                    .expect("link target fits");
                let kind = match entry {
                    Entry::Symlink(..) => tar::EntryType::Symlink,
                    _ => tar::EntryType::Link,
                };
                (*name, &[], kind, 0o777)
            }
        };
        // Written by hand: `set_path` refuses `..`, which is what some tests need.
        let field = &mut header.as_old_mut().name;
        assert!(name.len() <= field.len(), "tar name too long: {name}");
        field[..name.len()].copy_from_slice(name.as_bytes());
        header.set_entry_type(kind);
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_cksum();
        builder.append(&header, data).expect("tar entry");
    }
    let gz = builder.into_inner().expect("finish tar");
    gz.finish().expect("finish gzip")
}

/// A gzip tar of `files` (paths, contents) as Flux builds one from a folder holding them: a
/// walk in lexical order from `.`, folders as entries of their own.
pub fn tgz(files: &[(&str, &str)]) -> Vec<u8> {
    // Folder name -> children, as a walk sees them.
    #[derive(Default)]
    struct Node<'a> {
        dirs: BTreeMap<&'a str, Node<'a>>,
        files: BTreeMap<&'a str, &'a str>,
    }
    let mut root = Node::default();
    for (path, content) in files {
        let mut node = &mut root;
        let mut parts: Vec<&str> = path.split('/').collect();
        let file = parts.pop().expect("a file name");
        for part in parts {
            node = node.dirs.entry(part).or_default();
        }
        node.files.insert(file, content);
    }
    fn walk<'a>(node: &'a Node<'a>, prefix: &str, out: &mut Vec<(String, Option<&'a str>)>) {
        // Lexical order mixes files and folders, as Go's WalkDir does.
        let mut names: Vec<&str> = node.dirs.keys().chain(node.files.keys()).copied().collect();
        names.sort_unstable();
        for name in names {
            let path = format!("{prefix}{name}");
            if let Some(dir) = node.dirs.get(name) {
                out.push((path.clone(), None));
                walk(dir, &format!("{path}/"), out);
            } else {
                out.push((path, Some(node.files[name])));
            }
        }
    }
    let mut list = vec![(".".to_string(), None)];
    walk(&root, "", &mut list);
    let entries: Vec<Entry> = list
        .iter()
        .map(|(path, content)| match content {
            Some(content) => Entry::File(path, content.as_bytes()),
            None => Entry::Dir(path),
        })
        .collect();
    raw_tgz(&entries)
}

/// `sha256:<hex>` of `data`, as OCI names blobs.
pub fn sha256_digest(data: &[u8]) -> String {
    let hash = Sha256::digest(data);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Now as RFC 3339 in UTC to the second, as Flux writes `created`.
fn rfc3339_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (proleptic Gregorian), by 400-year eras.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// An oci-client that trusts the test CA (and installs ring as rustls's provider first).
pub fn oci_client() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = std::fs::read(servers().ca()).expect("read the test CA");
    Client::new(ClientConfig {
        extra_root_certificates: vec![Certificate {
            encoding: CertificateEncoding::Pem,
            data: ca,
        }],
        ..ClientConfig::default()
    })
}

/// Basic auth for the registry with auth, anonymous for any other.
pub fn registry_auth(registry: &str) -> RegistryAuth {
    let s = servers();
    if registry == s.registry() {
        RegistryAuth::Basic(s.registry_user().to_string(), s.registry_password())
    } else {
        RegistryAuth::Anonymous
    }
}

fn reference(registry: &str, repository: &str, tag_or_digest: &str) -> Reference {
    let sep = if tag_or_digest.contains(':') {
        '@'
    } else {
        ':'
    };
    format!("{registry}/{repository}{sep}{tag_or_digest}")
        .parse()
        .unwrap_or_else(|e| panic!("reference {registry}/{repository}: {e}"))
}

/// Pushes `artifact` as `registry/repository:tag`; returns the manifest's digest
/// (`sha256:...`).
pub async fn push(registry: &str, repository: &str, tag: &str, artifact: &Artifact) -> String {
    let image = reference(registry, repository, tag);
    let client = oci_client();
    client
        .auth(&image, &registry_auth(registry), RegistryOperation::Push)
        .await
        .expect("authenticate to push");
    let descriptor =
        |media_type: &str, data: &[u8], annotations: &BTreeMap<String, String>| OciDescriptor {
            media_type: media_type.to_string(),
            digest: sha256_digest(data),
            size: data.len() as i64,
            annotations: (!annotations.is_empty()).then(|| annotations.clone()),
            ..OciDescriptor::default()
        };
    let config = descriptor(
        &artifact.config_media_type,
        &artifact.config,
        &BTreeMap::new(),
    );
    client
        .push_blob(&image, artifact.config.clone(), &config.digest)
        .await
        .expect("push the config");
    let mut layers = Vec::new();
    for layer in &artifact.layers {
        let descriptor = descriptor(&layer.media_type, &layer.data, &layer.annotations);
        client
            .push_blob(&image, layer.data.clone(), &descriptor.digest)
            .await
            .expect("push a layer");
        layers.push(descriptor);
    }
    let manifest = OciImageManifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST.to_string()),
        config,
        layers,
        subject: None,
        artifact_type: artifact.artifact_type.clone(),
        annotations: (!artifact.annotations.is_empty()).then(|| artifact.annotations.clone()),
    };
    let body = serde_json::to_vec(&manifest).expect("manifest JSON");
    let digest = sha256_digest(&body);
    client
        .push_manifest_raw(&image, body, http::HeaderValue::from_static(OCI_MANIFEST))
        .await
        .expect("push the manifest");
    digest
}

/// Pushes `files` as one tar+gzip layer of `layer_media_type` with a config of
/// `config_media_type` and Flux's annotations: [`Artifact::flux`] when given [`FLUX_CONTENT`]
/// and [`FLUX_CONFIG`]. Returns the manifest's digest.
pub async fn push_artifact(
    registry: &str,
    repository: &str,
    tag: &str,
    files: &[(&str, &str)],
    layer_media_type: &str,
    config_media_type: &str,
) -> String {
    let mut artifact = Artifact::flux(files);
    artifact.config_media_type = config_media_type.to_string();
    artifact.layers[0].media_type = layer_media_type.to_string();
    push(registry, repository, tag, &artifact).await
}

/// The image manifest at `registry/repository:tag` (or `@sha256:...`) and its digest.
pub async fn pull_manifest(
    registry: &str,
    repository: &str,
    tag_or_digest: &str,
) -> (OciImageManifest, String) {
    let image = reference(registry, repository, tag_or_digest);
    oci_client()
        .pull_image_manifest(&image, &registry_auth(registry))
        .await
        .expect("pull the manifest")
}

/// The blob `descriptor` names, from `registry/repository`.
pub async fn pull_blob(registry: &str, repository: &str, descriptor: &OciDescriptor) -> Vec<u8> {
    let image = reference(registry, repository, &descriptor.digest);
    let client = oci_client();
    client
        .auth(&image, &registry_auth(registry), RegistryOperation::Pull)
        .await
        .expect("authenticate to pull");
    let mut data = Vec::new();
    client
        .pull_blob(&image, descriptor, &mut data)
        .await
        .expect("pull the blob");
    data
}

/// The regular files of a gzip tar (path, content), in archive order.
pub fn untgz(data: &[u8]) -> Vec<(String, String)> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(data));
    let mut files = Vec::new();
    for entry in archive.entries().expect("tar entries") {
        let mut entry = entry.expect("tar entry");
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let path = entry.path().expect("path").to_string_lossy().into_owned();
        let mut content = String::new();
        std::io::Read::read_to_string(&mut entry, &mut content).expect("read entry");
        files.push((path, content));
    }
    files
}
