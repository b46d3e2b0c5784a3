//! Image references (`registry:5000/team/app:1.2@sha256:...`), and the checks on them:
//! `latest-tag` and `pull-policy`.

use super::finding::{Check, Finding};
use super::workload::{Object, pod_spec};

/// An image reference, split the way container runtimes split it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef<'a> {
    /// `registry:5000` when the first path component names a host.
    pub registry: Option<&'a str>,
    pub repository: &'a str,
    pub tag: Option<&'a str>,
    /// `sha256:...`.
    pub digest: Option<&'a str>,
}

/// How firmly a reference names one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pin {
    /// By digest: immutable.
    Digest,
    /// A release tag by convention (a full `1.2.3` version, a date, a commit hash).
    Release,
    /// A tag that moves (`1.27`, `16-alpine`, `stable`, `main`).
    Floating,
    /// No tag, or `latest`.
    Latest,
}

impl<'a> ImageRef<'a> {
    /// `None` for an empty string; anything else parses (the runtime decides what exists).
    pub fn parse(image: &'a str) -> Option<ImageRef<'a>> {
        let image = image.trim();
        if image.is_empty() {
            return None;
        }
        let (name, digest) = match image.split_once('@') {
            Some((name, digest)) => (name, Some(digest)),
            None => (image, None),
        };
        // A colon is a tag only after the last slash: `registry:5000/app` has no tag.
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name[last_slash..].rfind(':') {
            Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
            None => (name, None),
        };
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (Some(first), rest)
            }
            _ => (None, name),
        };
        Some(ImageRef {
            registry,
            repository,
            tag: tag.filter(|t| !t.is_empty()),
            digest: digest.filter(|d| !d.is_empty()),
        })
    }

    pub fn pin(&self) -> Pin {
        if self.digest.is_some() {
            return Pin::Digest;
        }
        match self.tag {
            None => Pin::Latest,
            Some(t) if t.eq_ignore_ascii_case("latest") => Pin::Latest,
            Some(t) if is_release(t) => Pin::Release,
            Some(_) => Pin::Floating,
        }
    }

    /// The pull policy Kubernetes applies when none is set.
    pub fn default_pull_policy(&self) -> &'static str {
        if self.pin() == Pin::Latest {
            "Always"
        } else {
            "IfNotPresent"
        }
    }
}

/// `1.2.3` (any prefix or suffix), a date (`20240613`, `2024-06-13`) or a commit hash.
fn is_release(tag: &str) -> bool {
    let digits_runs: Vec<&str> = tag
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .collect();
    let version = tag.trim_start_matches(['v', 'V']);
    let dotted: Vec<&str> = version
        .split(['-', '+', '_'])
        .next()
        .unwrap_or_default()
        .split('.')
        .collect();
    let full_version = dotted.len() >= 3
        && dotted
            .iter()
            .take(3)
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    let date = digits_runs.iter().any(|run| run.len() >= 8)
        || tag.as_bytes().windows(10).any(|w| {
            w[4] == b'-'
                && w[7] == b'-'
                && w.iter()
                    .enumerate()
                    .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        });
    let hash = tag.rsplit(['-', '_', '.']).next().is_some_and(|h| {
        (7..=40).contains(&h.len())
            && h.chars().all(|c| c.is_ascii_hexdigit())
            && h.chars().any(|c| c.is_ascii_alphabetic())
    });
    full_version || date || hash
}

/// `latest-tag` and `pull-policy`, per container.
pub fn check(object: &Object, out: &mut Vec<Finding>) {
    let Some(pod) = pod_spec(object) else {
        return;
    };
    for container in pod.containers() {
        let Some(image_text) = container.value["image"].as_str() else {
            continue;
        };
        let Some(image) = ImageRef::parse(image_text) else {
            continue;
        };
        let name = container.name();
        let pin = image.pin();
        if pin == Pin::Latest {
            let what = if image.tag.is_some() {
                "uses the tag `latest`"
            } else {
                "has no tag (so `latest`)"
            };
            out.push(Finding::new(
                Check::LatestTag,
                object,
                container.field("image"),
                format!("container {name}: image {image_text} {what}"),
            ));
        }
        let policy = container.value["imagePullPolicy"]
            .as_str()
            .unwrap_or(image.default_pull_policy());
        if matches!(pin, Pin::Floating | Pin::Latest) && policy != "Always" {
            out.push(Finding::new(
                Check::PullPolicy,
                object,
                container.field("imagePullPolicy"),
                format!(
                    "container {name}: image {image_text} has a tag that moves, pulled {policy}: nodes may run different images"
                ),
            ));
        }
    }
}
