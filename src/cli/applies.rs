//! Flags that do not apply to what a run does. Given on the command line, such a flag is an
//! error naming it and why (it would be silently ignored: `--path` on a directory read files
//! outside it). From the environment it is ambient configuration (`DRIFTLESS_*` exported once
//! for every command) and is ignored.

use std::collections::BTreeSet;
use std::ffi::OsString;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};

use super::{Cli, Command, RunArgs};
use crate::report::Format;
use crate::source::git::{GitUrl, Transport};

/// Why the command line was refused.
#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    /// clap's own (usage, `--help`, `--version`): clap prints it and picks the exit code.
    #[error(transparent)]
    Clap(#[from] clap::Error),
    /// A flag given that does not apply to this run.
    #[error("{0}")]
    NotApplicable(String),
}

impl Cli {
    /// Parses `args` (the program name first) and refuses flags that do not apply.
    pub fn parse_checked_from<I, T>(args: I) -> Result<Cli, ArgsError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let matches = Cli::command().try_get_matches_from(args)?;
        let mut cli = Cli::from_arg_matches(&matches)?;
        let given = matches
            .subcommand()
            .map(|(_, sub)| on_command_line(sub))
            .unwrap_or_default();
        cli.check(&given)?;
        Ok(cli)
    }

    /// Refuses the flags of `given` (the ids given on the command line) that do not apply, and
    /// drops a base from the environment where it does not apply.
    fn check(&mut self, given: &BTreeSet<String>) -> Result<(), ArgsError> {
        self.drop_base_that_does_not_apply(given)?;
        let mode = Mode::of(self);
        for (flags, why) in RULES {
            for flag in flags.iter().filter(|f| given.contains(**f)) {
                if let Some(why) = why(&mode) {
                    let flag = format!("--{}", flag.replace('_', "-"));
                    return Err(ArgsError::NotApplicable(format!("{flag} {why}")));
                }
            }
        }
        Ok(())
    }

    /// `--base`/`--base-source` turn a run into an offline preview: on a sync that writes or
    /// with `--watch` they are refused, or (from the environment) dropped.
    fn drop_base_that_does_not_apply(&mut self, given: &BTreeSet<String>) -> Result<(), ArgsError> {
        let (run, writes) = match &mut self.command {
            Command::Sync(sync) => (&mut sync.run, !sync.dry_run),
            Command::Diff(run) => (run, false),
            _ => return Ok(()),
        };
        let why = match (writes, run.watch) {
            (true, _) => "previews offline: use it with diff (or sync --dry-run)",
            (false, true) => "does not combine with --watch",
            (false, false) => return Ok(()),
        };
        for flag in ["base", "base_source"] {
            if given.contains(flag) {
                let flag = flag.replace('_', "-");
                return Err(ArgsError::NotApplicable(format!("--{flag} {why}")));
            }
        }
        run.base.base = None;
        run.base.base_source = None;
        Ok(())
    }
}

/// The ids of the arguments given on the command line (not from the environment or defaults).
fn on_command_line(matches: &ArgMatches) -> BTreeSet<String> {
    matches
        .ids()
        .map(|id| id.as_str())
        .filter(|id| matches.value_source(id) == Some(ValueSource::CommandLine))
        .map(str::to_string)
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmd {
    Render,
    Lint,
    Diff,
    Sync,
    Agent,
    /// status, reconcile, suspend, resume, tree, events.
    Steer,
}

/// A source as given: its spec, and its Git transport (`None`: a directory or an artifact).
#[derive(Debug, Clone, Copy)]
struct Src<'a> {
    spec: &'a str,
    git: Option<Transport>,
    /// An OCI artifact (`oci://`).
    oci: bool,
}

impl Src<'_> {
    fn new(spec: &str) -> Src<'_> {
        Src {
            spec,
            git: GitUrl::parse(spec).map(|u| u.transport()),
            oci: spec.starts_with("oci://"),
        }
    }

    fn what(&self) -> String {
        let kind = match self.git {
            None if self.oci => "an OCI artifact",
            None => "a directory",
            Some(Transport::Https | Transport::Http) => "Git over https",
            Some(Transport::Ssh) => "Git over ssh",
            Some(Transport::Local) => "a local Git repository",
            Some(Transport::Git) => "Git over git://",
        };
        format!("{} is {kind}", self.spec)
    }
}

/// What a run does, as far as which flags apply.
#[derive(Debug)]
struct Mode<'a> {
    cmd: Cmd,
    /// A sync that writes (not `--dry-run`).
    writes: bool,
    /// `--base`/`--base-source`: no cluster at all.
    offline: bool,
    watch: bool,
    wait: bool,
    prune: bool,
    format: Option<Format>,
    /// The source, then the base's when it is another.
    sources: Vec<Src<'a>>,
}

impl Mode<'_> {
    fn of(cli: &Cli) -> Mode<'_> {
        let (cmd, run, writes, wait) = match &cli.command {
            Command::Render(_) => (Cmd::Render, None, false, false),
            Command::Lint(_) => (Cmd::Lint, None, false, false),
            Command::Agent(_) => (Cmd::Agent, None, false, false),
            Command::Diff(run) => (Cmd::Diff, Some(run), false, false),
            Command::Sync(s) => (Cmd::Sync, Some(&s.run), !s.dry_run, s.wait),
            _ => (Cmd::Steer, None, false, false),
        };
        let (source, base, format) = match &cli.command {
            Command::Render(r) => (Some(&r.source), None, None),
            Command::Lint(l) => (Some(&l.source), Some(&l.base), Some(l.output)),
            Command::Agent(_) => (None, None, None),
            Command::Diff(run) | Command::Sync(super::SyncArgs { run, .. }) => {
                (Some(&run.source), Some(&run.base), Some(run.output))
            }
            _ => (None, None, None),
        };
        let mut sources: Vec<Src> = source.map(|s| Src::new(&s.source)).into_iter().collect();
        if let Some(spec) = base.and_then(|b| b.base_source.as_deref()) {
            sources.push(Src::new(spec));
        }
        Mode {
            cmd,
            writes,
            offline: base.is_some_and(|b| b.is_set()),
            watch: run.is_some_and(|r: &RunArgs| r.watch),
            wait,
            prune: run.is_some_and(|r| r.inventory.prune),
            format,
            sources,
        }
    }

    fn cluster(&self) -> bool {
        matches!(self.cmd, Cmd::Diff | Cmd::Sync | Cmd::Agent | Cmd::Steer) && !self.offline
    }

    /// Whether a `sync`/`diff` talks to the cluster; why not, if it does not.
    fn live(&self) -> Option<String> {
        match self.cmd {
            Cmd::Diff | Cmd::Sync if self.offline => Some(OFFLINE.into()),
            _ => None,
        }
    }

    /// Why a Git flag does not apply: no source is Git over one of `transports`.
    fn git_over(&self, transports: &[Transport], applies_to: &str) -> Option<String> {
        let head = self.sources.first()?;
        let fits = |s: &Src| s.git.is_some_and(|t| transports.contains(&t));
        match self.sources.iter().any(fits) {
            true => None,
            false => Some(format!("applies to {applies_to}, and {}", head.what())),
        }
    }
}

const OFFLINE: &str = "does not apply: an offline preview (--base, --base-source) uses no cluster";
const RENDER_NAMESPACE: &str = "does not apply: render prints objects as their source has them";
const AGENT_NAMESPACE: &str = "does not apply to the agent: list a set's namespaces under \
     `namespaces:` in its config file";
const STEER_NAMESPACE: &str = "does not apply: sync sets live in --inventory-namespace";
const GIT: &[Transport] = &[
    Transport::Https,
    Transport::Http,
    Transport::Ssh,
    Transport::Local,
    Transport::Git,
];

/// Why a flag does not apply to this run (`None`: it does).
type Why = fn(&Mode) -> Option<String>;

/// Each flag (by clap id) and the test it must pass when given on the command line.
const RULES: &[(&[&str], Why)] = &[
    (
        &["kubeconfig", "context", "field_manager", "request_timeout"],
        |m| match m.cmd {
            _ if m.cluster() => None,
            Cmd::Render => Some("does not apply: render uses no cluster".into()),
            Cmd::Lint => Some("does not apply: lint uses no cluster".into()),
            _ => Some(OFFLINE.into()),
        },
    ),
    (&["namespace"], |m| match m.cmd {
        Cmd::Render => Some(RENDER_NAMESPACE.into()),
        Cmd::Agent => Some(AGENT_NAMESPACE.into()),
        Cmd::Steer => Some(STEER_NAMESPACE.into()),
        _ => None,
    }),
    (&["revision"], |m| {
        let head = m.sources.first()?;
        match head.git {
            Some(_) => None,
            None if head.oci => Some(format!(
                "applies to Git sources, and {}: name its tag or digest in --source \
                 (oci://HOST/REPOSITORY:TAG or @sha256:...)",
                head.what()
            )),
            None if m.offline => Some(format!(
                "applies to a Git source, and {}: the base's revision is --base",
                head.what()
            )),
            None => Some(format!(
                "applies to Git sources, and {}: it is read as it is on disk",
                head.what()
            )),
        }
    }),
    (&["path"], |m| {
        if m.sources.first().is_some_and(|s| s.oci) {
            return None;
        }
        let why = m.git_over(GIT, "Git sources and OCI artifacts")?;
        match m.sources.first().is_some_and(|s| s.git.is_none()) {
            true => Some(format!("{why}; for a directory pass --source DIR/SUB")),
            false => Some(why),
        }
    }),
    (&["oci_layer_media_type"], |m| {
        let head = m.sources.first()?;
        (!m.sources.iter().any(|s| s.oci))
            .then(|| format!("applies to OCI artifacts, and {}", head.what()))
    }),
    (&["git_username"], |m| {
        m.git_over(
            &[Transport::Https, Transport::Http, Transport::Ssh],
            "Git over https or ssh",
        )
    }),
    (&["git_token_file"], |m| {
        m.git_over(&[Transport::Https, Transport::Http], "Git over https")
    }),
    (
        &[
            "git_ssh_key_file",
            "git_ssh_passphrase_file",
            "git_known_hosts_file",
            "git_insecure_skip_host_key_check",
        ],
        |m| m.git_over(&[Transport::Ssh], "Git over ssh"),
    ),
    (&["interval"], |m| match m.cmd {
        Cmd::Agent => None,
        _ if !m.watch => Some("applies with --watch".into()),
        _ if m.sources.first().is_some_and(|s| s.git.is_none() && !s.oci) => Some(
            "paces --watch's polls of a Git source or an OCI artifact; a directory is watched for \
             changes"
                .into(),
        ),
        _ => None,
    }),
    (&["wait"], |m| {
        (!m.writes).then(|| "waits after a sync that writes; --dry-run writes nothing".into())
    }),
    (&["wait_timeout"], |m| {
        (!(m.wait && m.writes)).then(|| "applies with --wait".into())
    }),
    // Offline, a preview shows what a prune would delete whatever --prune says.
    (
        &[
            "concurrency",
            "force_conflicts",
            "verify",
            "timeout",
            "adopt",
            "replace_immutable",
            "take_over_set",
            "takeover_managers",
            "inventory_namespace",
            "prune",
        ],
        |m| m.live(),
    ),
    (&["lock_timeout", "crd_timeout"], |m| {
        m.live().or_else(|| {
            (!m.writes).then(|| "applies to a sync that writes; a preview writes nothing".into())
        })
    }),
    (&["max_prune", "allow_empty"], |m| {
        m.live()
            .or_else(|| (!m.prune).then(|| "applies with --prune".into()))
    }),
    (&["prune_propagation"], |m| {
        m.live()
            .or_else(|| (!m.prune).then(|| "applies with --prune".into()))
            .or_else(|| {
                (!m.writes)
                    .then(|| "applies to a sync that deletes; a preview deletes nothing".into())
            })
    }),
    (&["prune_namespaces", "prune_crds"], |m| {
        (!m.offline && !m.prune).then(|| "applies with --prune".into())
    }),
    (&["max_comment_size", "report_url"], |m| {
        (m.format != Some(Format::Markdown)).then(|| "applies to -o markdown".into())
    }),
];

#[cfg(test)]
mod tests;
