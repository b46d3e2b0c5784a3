//! Reads of objects of any kind by name or label: list (paged, or metadata only), get (writes
//! are in `write.rs`). The stages above decide what to read; nothing here knows about inventories.

use std::collections::BTreeSet;

use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;

use super::failure::Op;
use super::page::{ItemKind, read_page};
use super::{ApiFailure, Cluster, api_resource, failure, locked, to_value};
use crate::render::KindInfo;

/// Items per page of a LIST: big enough for few round trips (a kind of 1,000 objects in 10
/// namespaces is one page), small enough to bound memory (a page of Deployments is ~1 MiB of
/// JSON, and a pass reads a page of each kind at once).
const PAGE_SIZE: u32 = 250;

/// How deletions propagate to dependants (`--prune-propagation`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Propagation {
    #[default]
    Background,
    Foreground,
    Orphan,
}

impl KindInfo {
    /// A built-in kind of the core group, for the objects driftless itself reads and writes.
    pub fn core(kind: &str, plural: &str, namespaced: bool) -> KindInfo {
        KindInfo {
            group: String::new(),
            version: "v1".into(),
            kind: kind.into(),
            plural: plural.into(),
            namespaced,
            served: true,
        }
    }

    pub fn secret() -> KindInfo {
        KindInfo::core("Secret", "secrets", true)
    }
}

impl Cluster {
    pub(super) fn dynamic(&self, kind: &KindInfo, namespace: Option<&str>) -> Api<DynamicObject> {
        let ar = api_resource(kind);
        match namespace {
            Some(ns) if kind.namespaced => Api::namespaced_with(self.client.clone(), ns, &ar),
            _ => Api::all_with(self.client.clone(), &ar),
        }
    }

    /// Objects of one kind carrying `selector`, in a namespace (all namespaces with `None`, or
    /// cluster-wide for cluster-scoped kinds), page by page.
    pub async fn list(
        &self,
        kind: &KindInfo,
        namespace: Option<&str>,
        selector: &str,
    ) -> Result<Vec<Value>, ApiFailure> {
        let mut out = Vec::new();
        self.list_each(kind, namespace, selector, |item| out.push(item))
            .await?;
        Ok(out)
    }

    /// The same, handing each object to `each` as it is parsed: memory stays one page's text.
    pub async fn list_each(
        &self,
        kind: &KindInfo,
        namespace: Option<&str>,
        selector: &str,
        each: impl FnMut(Value),
    ) -> Result<(), ApiFailure> {
        self.list_each_from(kind, namespace, selector, None, each)
            .await
    }

    /// [`Cluster::list_each`], starting from a first page already read ([`Cluster::first_page`]).
    pub async fn list_each_from(
        &self,
        kind: &KindInfo,
        namespace: Option<&str>,
        selector: &str,
        mut first: Option<String>,
        mut each: impl FnMut(Value),
    ) -> Result<(), ApiFailure> {
        let ar = api_resource(kind);
        let types = ItemKind {
            api_version: &ar.api_version,
            kind: &ar.kind,
        };
        let mut token = None;
        loop {
            let text = match first.take() {
                Some(text) => text,
                None => self.page(kind, namespace, selector, token).await?,
            };
            token = read_page(&text, &types, &mut each)
                .map_err(|e| failure(format!("unreadable list from the server: {e}")))?;
            if token.is_none() {
                return Ok(());
            }
        }
    }

    /// The text of the first page of a LIST (see [`Cluster::list_each_from`]).
    pub async fn first_page(
        &self,
        kind: &KindInfo,
        namespace: Option<&str>,
        selector: &str,
    ) -> Result<String, ApiFailure> {
        self.page(kind, namespace, selector, None).await
    }

    /// One page of a LIST, as text: the request `Api::list` would send (see `page.rs`).
    async fn page(
        &self,
        kind: &KindInfo,
        namespace: Option<&str>,
        selector: &str,
        token: Option<String>,
    ) -> Result<String, ApiFailure> {
        let request = kube::core::Request::new(self.dynamic(kind, namespace).resource_url());
        let mut params = ListParams::default().labels(selector).limit(PAGE_SIZE);
        if let Some(token) = token {
            params = params.continue_token(&token);
        }
        self.flow
            .call("list", Op::Read, || async {
                let req = request.list(&params).map_err(kube::Error::BuildRequest)?;
                Ok(self.client.request_text(req).await?)
            })
            .await
    }

    /// Every object of one kind in `namespace`, metadata only (no spec, no data: Secrets stay
    /// unread), page by page. `each` returns false to stop early.
    pub async fn list_metadata_each(
        &self,
        kind: &KindInfo,
        namespace: &str,
        mut each: impl FnMut(Value) -> bool,
    ) -> Result<(), ApiFailure> {
        let api = self.dynamic(kind, Some(namespace));
        let mut params = ListParams::default().limit(PAGE_SIZE);
        loop {
            let page = self
                .flow
                .call("list", Op::Read, || async {
                    Ok(api.list_metadata(&params).await?)
                })
                .await?;
            for item in page.items {
                let meta = serde_json::to_value(&item.metadata).unwrap_or_default();
                if !each(serde_json::json!({ "metadata": meta })) {
                    return Ok(());
                }
            }
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(token) => params = params.continue_token(&token),
                None => return Ok(()),
            }
        }
    }

    /// Whether this process has seen each of `names` exist.
    pub fn has_seen_namespaces(&self, names: &[&str]) -> bool {
        let seen = locked(&self.seen_namespaces);
        names.iter().all(|n| seen.contains(*n))
    }

    /// The names of every namespace that exists now, from one metadata-only LIST.
    pub async fn read_namespaces(&self) -> Result<BTreeSet<String>, ApiFailure> {
        let kind = KindInfo::core("Namespace", "namespaces", false);
        let api = self.dynamic(&kind, None);
        let params = ListParams::default();
        let list = self
            .flow
            .call("list namespaces", Op::Read, || async {
                Ok(api.list_metadata(&params).await?)
            })
            .await?;
        let existing: BTreeSet<String> = list
            .items
            .into_iter()
            .filter_map(|n| n.metadata.name)
            .collect();
        locked(&self.seen_namespaces).extend(existing.iter().cloned());
        Ok(existing)
    }

    /// Which of `names` do not exist (one metadata LIST of Namespaces, skipped when this process
    /// has seen every one of them exist).
    pub async fn absent_namespaces(&self, names: &[&str]) -> Result<BTreeSet<String>, ApiFailure> {
        if self.has_seen_namespaces(names) {
            return Ok(BTreeSet::new());
        }
        let existing = self.read_namespaces().await?;
        Ok(names
            .iter()
            .filter(|n| !existing.contains(**n))
            .map(|n| n.to_string())
            .collect())
    }

    /// Whether listing `kind` across namespaces was refused (403) before.
    pub fn refused_across(&self, kind: &KindInfo) -> bool {
        locked(&self.refused_across).contains(&across_key(kind))
    }

    /// Remembers that listing `kind` across namespaces was refused.
    pub fn refuse_across(&self, kind: &KindInfo) {
        locked(&self.refused_across).insert(across_key(kind));
    }

    /// One object by name, or `None` when it does not exist.
    pub async fn get_named(
        &self,
        kind: &KindInfo,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, ApiFailure> {
        let api = self.dynamic(kind, namespace);
        let live = self
            .flow
            .call("get", Op::Read, || async { Ok(api.get_opt(name).await?) })
            .await?;
        live.map(to_value).transpose()
    }
}

/// What [`Cluster::refuse_across`] remembers of a kind.
fn across_key(kind: &KindInfo) -> String {
    format!("{}/{}", kind.group, kind.plural)
}
