//! How an object lives across releases, from its annotations: whether a change the server
//! refuses as immutable replaces it (`driftless.dev/replace`), which wave it is applied in
//! (`driftless.dev/wave`, Argo CD's `argocd.argoproj.io/sync-wave`), and whether it is a hook
//! (Helm's `helm.sh/hook`, Argo CD's `argocd.argoproj.io/hook`). Pure: read once when a
//! manifest is rendered, so a bad value is an error at its file and line, before anything is
//! applied.

use serde_json::Value;

pub const REPLACE: &str = "driftless.dev/replace";
pub const WAVE: &str = "driftless.dev/wave";
pub const ARGO_WAVE: &str = "argocd.argoproj.io/sync-wave";
pub const HELM_HOOK: &str = "helm.sh/hook";
pub const HELM_HOOK_WEIGHT: &str = "helm.sh/hook-weight";
pub const HELM_DELETE_POLICY: &str = "helm.sh/hook-delete-policy";
pub const ARGO_HOOK: &str = "argocd.argoproj.io/hook";
pub const ARGO_DELETE_POLICY: &str = "argocd.argoproj.io/hook-delete-policy";
/// Text one of these annotations' keys starts with: a manifest without any has the default
/// lifecycle.
pub const KEYS: [&str; 4] = [REPLACE, WAVE, "argocd.argoproj.io/", "helm.sh/hook"];

/// What a change the server refuses as immutable does to the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Replace {
    /// The set's policy: Jobs, and the kinds it lists (`--replace-immutable`), are replaced.
    #[default]
    Policy,
    /// Replaced when the server refuses a change as immutable (a running Job is not killed).
    OnImmutable,
    /// Replaced, a running Job too.
    Force,
    /// Never replaced: the change fails, naming the fields.
    Never,
}

/// When a hook runs, relative to the rest of its namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Before the namespace's other objects (Helm `pre-install`/`pre-upgrade`, Argo `PreSync`).
    Pre,
    /// With them, at its wave (Argo `Sync`).
    Sync,
    /// After them, once they are healthy (Helm `post-install`/`post-upgrade`, Argo `PostSync`).
    Post,
    /// Only when the namespace failed (Argo `SyncFail`).
    Fail,
}

/// When a finished hook is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeletePolicy {
    /// Before it is created again (Helm's default, Argo's `BeforeHookCreation`).
    pub before_creation: bool,
    pub on_success: bool,
    pub on_failure: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hook {
    pub phase: Phase,
    /// Order within the phase (Helm's `hook-weight`; Argo orders hooks by their wave).
    pub weight: i64,
    pub delete: DeletePolicy,
}

/// An object's lifecycle, as its annotations say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lifecycle {
    pub replace: Replace,
    /// Within a namespace, lower waves are applied (and healthy) first.
    pub wave: i64,
    pub hook: Option<Hook>,
    /// A Helm `test` hook: never applied.
    pub test: bool,
}

impl Lifecycle {
    /// Reads `manifest`'s annotations; an error says which one is wrong and why.
    pub fn of(manifest: &Value) -> Result<Lifecycle, String> {
        let annotations = &manifest["metadata"]["annotations"];
        let text = |key: &str| annotations[key].as_str().map(str::trim);
        let replace = match text(REPLACE) {
            None => Replace::Policy,
            Some("on-immutable") => Replace::OnImmutable,
            Some("force") => Replace::Force,
            Some("never") => Replace::Never,
            Some(other) => {
                return Err(format!(
                    "{REPLACE}: {other:?} is not one of on-immutable, force, never"
                ));
            }
        };
        check_replaceable(manifest, replace)?;
        let wave = match (text(WAVE), text(ARGO_WAVE)) {
            (Some(w), _) => integer(WAVE, w)?,
            (None, Some(w)) => integer(ARGO_WAVE, w)?,
            (None, None) => 0,
        };
        let (hook, test) = hook(&text, wave)?;
        Ok(Lifecycle {
            replace,
            wave,
            hook,
            test,
        })
    }
}

/// A hook named by `generateName` gets a name of its own: the prefix and a hash of its manifest,
/// so each sync finds it again (server-side apply needs a name) and a new manifest is a new
/// hook. Anything else is left as it is (a `generateName` without a hook is refused later).
pub fn name_generated_hook(mut manifest: Value) -> Value {
    let meta = &manifest["metadata"];
    let Some(prefix) = meta["generateName"].as_str().filter(|p| !p.is_empty()) else {
        return manifest;
    };
    let annotations = &meta["annotations"];
    let hook = [HELM_HOOK, ARGO_HOOK]
        .iter()
        .any(|k| annotations[*k].is_string());
    if meta["name"].is_string() || !hook {
        return manifest;
    }
    let hash = super::short_hash(manifest.to_string().as_bytes());
    let name = format!("{prefix}{}", &hash[..5]);
    if let Some(meta) = manifest["metadata"].as_object_mut() {
        meta.remove("generateName");
        meta.insert("name".into(), Value::String(name));
    }
    manifest
}

/// Objects that cannot be recreated safely: a Namespace or a CRD (deleting one deletes what it
/// holds), a claim unless forced (deleting it deletes its volume).
fn check_replaceable(manifest: &Value, replace: Replace) -> Result<(), String> {
    if matches!(replace, Replace::Policy | Replace::Never) {
        return Ok(());
    }
    let (api, kind) = (
        manifest["apiVersion"].as_str().unwrap_or_default(),
        manifest["kind"].as_str().unwrap_or_default(),
    );
    match (api, kind) {
        ("v1", "Namespace") => Err(format!(
            "{REPLACE} on a Namespace: replacing it would delete everything in it"
        )),
        (api, "CustomResourceDefinition") if api.starts_with("apiextensions.k8s.io/") => Err(
            format!("{REPLACE} on a CRD: replacing it would delete all its custom resources"),
        ),
        ("v1", "PersistentVolumeClaim") if replace != Replace::Force => Err(format!(
            "{REPLACE}: on-immutable on a PersistentVolumeClaim: replacing it may delete its volume; say `force` if that is intended"
        )),
        _ => Ok(()),
    }
}

fn integer(key: &str, text: &str) -> Result<i64, String> {
    text.parse()
        .map_err(|_| format!("{key}: {text:?} is not an integer"))
}

/// The hook an object is, from Helm's or Argo CD's annotations (Helm's win when both are
/// there); and whether it is a Helm test.
fn hook<'a>(
    text: &impl Fn(&str) -> Option<&'a str>,
    wave: i64,
) -> Result<(Option<Hook>, bool), String> {
    if let Some(phases) = text(HELM_HOOK) {
        let mut phase = None;
        for p in phases.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let this = match p {
                "pre-install" | "pre-upgrade" => Phase::Pre,
                "post-install" | "post-upgrade" => Phase::Post,
                "test" | "test-success" => return Ok((None, true)),
                // Deletes and rollbacks are not what a sync does.
                "pre-delete" | "post-delete" | "pre-rollback" | "post-rollback" => continue,
                other => return Err(format!("{HELM_HOOK}: unknown hook {other:?}")),
            };
            phase = Some(phase.map_or(this, |p: Phase| p.min(this)));
        }
        let weight = match text(HELM_HOOK_WEIGHT) {
            Some(w) => integer(HELM_HOOK_WEIGHT, w)?,
            None => 0,
        };
        let delete = delete_policy(HELM_DELETE_POLICY, text(HELM_DELETE_POLICY), true)?;
        let hook = phase.map(|phase| Hook {
            phase,
            weight,
            delete,
        });
        return Ok((hook, false));
    }
    let Some(phases) = text(ARGO_HOOK) else {
        return Ok((None, false));
    };
    let mut phase = None;
    for p in phases.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let this = match p {
            "PreSync" => Phase::Pre,
            "Sync" => Phase::Sync,
            "PostSync" => Phase::Post,
            "SyncFail" => Phase::Fail,
            // Argo's `Skip` leaves the object out of the sync; `PostDelete` is for deletes.
            "Skip" | "PostDelete" => continue,
            other => return Err(format!("{ARGO_HOOK}: unknown hook {other:?}")),
        };
        phase = Some(phase.map_or(this, |p: Phase| p.min(this)));
    }
    let delete = delete_policy(ARGO_DELETE_POLICY, text(ARGO_DELETE_POLICY), false)?;
    let hook = phase.map(|phase| Hook {
        phase,
        weight: wave,
        delete,
    });
    Ok((hook, false))
}

/// Helm's default is `before-hook-creation`; Argo CD's, without a policy, is to keep the hook
/// (but a named hook is replaced when it runs again, which is the same).
fn delete_policy(key: &str, text: Option<&str>, helm: bool) -> Result<DeletePolicy, String> {
    let Some(text) = text else {
        return Ok(DeletePolicy {
            before_creation: true,
            ..DeletePolicy::default()
        });
    };
    let mut policy = DeletePolicy::default();
    for p in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match (p, helm) {
            ("before-hook-creation", true) | ("BeforeHookCreation", false) => {
                policy.before_creation = true
            }
            ("hook-succeeded", true) | ("HookSucceeded", false) => policy.on_success = true,
            ("hook-failed", true) | ("HookFailed", false) => policy.on_failure = true,
            (other, _) => return Err(format!("{key}: unknown policy {other:?}")),
        }
    }
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn with(kind: &str, annotations: Value) -> Value {
        json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": "x", "annotations": annotations}})
    }

    #[test]
    fn plain_objects_have_the_default_lifecycle() {
        assert_eq!(
            Lifecycle::of(&with("ConfigMap", json!({}))),
            Ok(Lifecycle::default())
        );
    }

    #[test]
    fn replace_waves_and_their_bad_values() {
        let l = Lifecycle::of(&with(
            "Service",
            json!({REPLACE: "on-immutable", WAVE: "-2"}),
        ))
        .unwrap();
        assert_eq!((l.replace, l.wave), (Replace::OnImmutable, -2));
        let argo = Lifecycle::of(&with("Service", json!({ARGO_WAVE: "5"}))).unwrap();
        assert_eq!(argo.wave, 5);
        for (kind, annotations, error) in [
            ("Service", json!({REPLACE: "always"}), "is not one of"),
            ("Namespace", json!({REPLACE: "force"}), "on a Namespace"),
            (
                "PersistentVolumeClaim",
                json!({REPLACE: "on-immutable"}),
                "say `force`",
            ),
            (
                "Service",
                json!({WAVE: "first"}),
                "\"first\" is not an integer",
            ),
            (
                "Job",
                json!({ARGO_HOOK: "BeforeSync"}),
                "unknown hook \"BeforeSync\"",
            ),
            (
                "Job",
                json!({HELM_HOOK: "pre-upgrade", HELM_DELETE_POLICY: "never"}),
                "unknown policy",
            ),
        ] {
            let err = Lifecycle::of(&with(kind, annotations.clone())).unwrap_err();
            assert!(err.contains(error), "{annotations}: {err}");
        }
        let forced = with("PersistentVolumeClaim", json!({REPLACE: "force"}));
        assert_eq!(Lifecycle::of(&forced).unwrap().replace, Replace::Force);
    }

    #[test]
    fn a_generated_name_is_accepted_for_hooks_only() {
        let hook = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"generateName": "migrate-", "annotations": {ARGO_HOOK: "PreSync"}}});
        let named = name_generated_hook(hook.clone());
        let name = named["metadata"]["name"].as_str().unwrap();
        assert!(
            name.starts_with("migrate-") && name.len() == "migrate-".len() + 5,
            "{name}"
        );
        assert!(named["metadata"].get("generateName").is_none());
        assert_eq!(
            name_generated_hook(hook)["metadata"]["name"],
            name,
            "the same each time"
        );
        let plain =
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"generateName": "x-"}});
        assert_eq!(
            name_generated_hook(plain.clone()),
            plain,
            "refused later, with why"
        );
    }

    #[test]
    fn helm_and_argo_hooks() {
        let helm = Lifecycle::of(&with(
            "Job",
            json!({HELM_HOOK: "pre-install,pre-upgrade", HELM_HOOK_WEIGHT: "-5", HELM_DELETE_POLICY: "hook-succeeded"}),
        ))
        .unwrap()
        .hook
        .unwrap();
        assert_eq!((helm.phase, helm.weight), (Phase::Pre, -5));
        assert!(helm.delete.on_success && !helm.delete.before_creation);
        let default = Lifecycle::of(&with("Job", json!({HELM_HOOK: "post-upgrade"})))
            .unwrap()
            .hook
            .unwrap();
        assert_eq!(default.phase, Phase::Post);
        assert!(default.delete.before_creation, "Helm's default policy");
        let test = Lifecycle::of(&with("Pod", json!({HELM_HOOK: "test"}))).unwrap();
        assert!(test.test && test.hook.is_none());
        let argo = Lifecycle::of(&with(
            "Job",
            json!({ARGO_HOOK: "PostSync", ARGO_WAVE: "3", ARGO_DELETE_POLICY: "HookSucceeded,BeforeHookCreation"}),
        ))
        .unwrap()
        .hook
        .unwrap();
        assert_eq!((argo.phase, argo.weight), (Phase::Post, 3));
        assert!(argo.delete.on_success && argo.delete.before_creation);
    }
}
