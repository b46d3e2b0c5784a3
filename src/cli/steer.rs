//! The verbs that see and steer sync sets on the cluster, with the kubeconfig's identity and no
//! port-forward: `status`, `reconcile`, `suspend`, `resume`, `tree` and `events`. Each reads
//! what the set's writer stored (its status ConfigMap) and its Lease; the steering verbs write
//! one annotation on the Lease, which its leader watches.

use std::time::Duration;

use clap::{Args, ValueEnum};
use futures::StreamExt as _;
use k8s_openapi::jiff::Timestamp;

use super::{Cli, CommandError, output, parse_duration};
use crate::cluster::{Cluster, RECONCILE_ANNOTATION, SUSPENDED_ANNOTATION};
use crate::status::{self, SetStatus, SetView};

mod print;
#[cfg(test)]
mod tests;
mod tree;

/// Where the sets' Leases and statuses live.
#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// The namespace holding the sync sets' Leases and statuses (the agent's).
    #[arg(
        long,
        env = "DRIFTLESS_INVENTORY_NAMESPACE",
        default_value = "driftless-system"
    )]
    pub inventory_namespace: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ViewFormat {
    Table,
    Json,
    Yaml,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// One sync set, in detail (default: a table of every set).
    pub set: Option<String>,
    #[arg(short, long, value_enum, default_value_t = ViewFormat::Table)]
    pub output: ViewFormat,
    /// Print again at each change, until interrupted.
    #[arg(short, long)]
    pub watch: bool,
    #[command(flatten)]
    pub inventory: InventoryArgs,
}

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    pub set: String,
    /// Wait for the pass and print its result (exit 0 synced, 2 otherwise).
    #[arg(long = "wait", id = "reconcile_wait")]
    pub wait: bool,
    /// How long --wait waits (`30s`, `5m`).
    #[arg(long, value_parser = parse_duration, default_value = "5m")]
    pub timeout: Duration,
    #[command(flatten)]
    pub inventory: InventoryArgs,
}

#[derive(Debug, Args)]
pub struct SetArgs {
    pub set: String,
    #[command(flatten)]
    pub inventory: InventoryArgs,
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// One sync set's Events (default: every set's).
    pub set: Option<String>,
    #[command(flatten)]
    pub inventory: InventoryArgs,
}

async fn connect(cli: &Cli) -> Result<Cluster, CommandError> {
    Ok(Cluster::connect(&cli.connect_options()).await?)
}

/// `driftless status [SET]`.
pub async fn status(cli: &Cli, args: &StatusArgs) -> Result<u8, CommandError> {
    let cluster = connect(cli).await?;
    let ns = &args.inventory.inventory_namespace;
    show_status(&cluster, ns, args).await?;
    if !args.watch {
        return Ok(0);
    }
    let records = cluster.records(ns);
    let mut changes = match &args.set {
        Some(set) => records.changes(set).map(|_| ()).boxed(),
        None => records.all_changes().map(|_| ()).boxed(),
    };
    // The first change is the watch's initial listing: already shown.
    let _ = changes.next().await;
    while changes.next().await.is_some() && !output::closed() {
        if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            output::print("\x1b[H\x1b[2J")?;
        } else {
            output::print("\n")?;
        }
        show_status(&cluster, ns, args).await?;
    }
    Ok(0)
}

async fn show_status(cluster: &Cluster, ns: &str, args: &StatusArgs) -> Result<(), CommandError> {
    let now = Timestamp::now();
    let text = match &args.set {
        Some(set) => {
            let view = status::get(cluster, ns, set).await?;
            match args.output {
                ViewFormat::Table => {
                    let events = set_events(cluster, ns, Some(&view)).await;
                    print::detail(&view, &events, now)
                }
                format => serialized(&view, format)?,
            }
        }
        None => {
            let views = status::list(cluster, ns).await?;
            match args.output {
                ViewFormat::Table => print::table(&views, now),
                format => serialized(&views, format)?,
            }
        }
    };
    output::print(&text)?;
    Ok(())
}

fn serialized(value: &impl serde::Serialize, format: ViewFormat) -> Result<String, CommandError> {
    let text = match format {
        ViewFormat::Json => serde_json::to_string_pretty(value)
            .map(|t| t + "\n")
            .map_err(|e| e.to_string()),
        _ => serde_saphyr::to_string(value).map_err(|e| e.to_string()),
    };
    text.map_err(|e| CommandError::Args(format!("cannot print the status: {e}")))
}

/// `driftless reconcile SET [--wait]`.
pub async fn reconcile(cli: &Cli, args: &ReconcileArgs) -> Result<u8, CommandError> {
    let cluster = connect(cli).await?;
    let ns = &args.inventory.inventory_namespace;
    let view = status::get(&cluster, ns, &args.set).await?;
    let lease = view.lease.as_ref();
    if view.suspended() {
        return Err(refused(
            &args.set,
            "is suspended: `driftless resume` it first",
        ));
    }
    if !lease.is_some_and(|l| l.alive) {
        return Err(refused(
            &args.set,
            "has no live leader (no agent holds its Lease): nothing would answer",
        ));
    }
    let asked = Timestamp::now().to_string();
    // The watch starts before asking, so an answer cannot come unseen.
    let mut answers = cluster.records(ns).changes(&args.set).boxed();
    annotate(&cluster, ns, &args.set, RECONCILE_ANNOTATION, Some(&asked)).await?;
    let holder = lease.and_then(|l| l.holder.as_deref()).unwrap_or("-");
    crate::talk!("asked {holder} to reconcile sync set {:?}", args.set);
    if !args.wait {
        return Ok(0);
    }
    let answered = tokio::time::timeout(args.timeout, async {
        while let Some(change) = answers.next().await {
            let status: Option<SetStatus> = change.and_then(|j| serde_json::from_str(&j).ok());
            if let Some(status) =
                status.filter(|s| s.last_handled_reconcile.as_deref() == Some(&asked))
            {
                return Some(status);
            }
        }
        None
    })
    .await;
    let Ok(Some(status)) = answered else {
        return Err(refused(
            &args.set,
            &format!(
                "did not answer the reconcile within {:?} (--timeout)",
                args.timeout
            ),
        ));
    };
    output::print(&print::pass_line(&status))?;
    Ok(match status.result.as_deref() {
        Some("synced") => 0,
        _ => 2,
    })
}

/// `driftless suspend SET` and `driftless resume SET`.
pub async fn suspend(cli: &Cli, args: &SetArgs, suspend: bool) -> Result<u8, CommandError> {
    let cluster = connect(cli).await?;
    let ns = &args.inventory.inventory_namespace;
    let value = suspend.then_some("true");
    annotate(&cluster, ns, &args.set, SUSPENDED_ANNOTATION, value).await?;
    let verb = if suspend { "suspended" } else { "resumed" };
    output::print(&format!("syncset/{} {verb}\n", args.set))?;
    Ok(0)
}

/// `driftless tree SET`.
pub async fn tree(cli: &Cli, args: &SetArgs) -> Result<u8, CommandError> {
    let cluster = connect(cli).await?;
    let ns = &args.inventory.inventory_namespace;
    let view = status::get(&cluster, ns, &args.set).await?;
    let tree = tree::read(&cluster, ns, &view).await?;
    output::print(&print::tree(&view, &tree))?;
    Ok(0)
}

/// `driftless events [SET]`.
pub async fn events(cli: &Cli, args: &EventsArgs) -> Result<u8, CommandError> {
    let cluster = connect(cli).await?;
    let ns = &args.inventory.inventory_namespace;
    let view = match &args.set {
        Some(set) => Some(status::get(&cluster, ns, set).await?),
        None => None,
    };
    let events = set_events(&cluster, ns, view.as_ref()).await;
    output::print(&print::events(&events, Timestamp::now()))?;
    Ok(0)
}

/// A set's Events (every set's with `None`): one LIST across namespaces, else (a tenant) one
/// per namespace the set's status names, and the inventory namespace.
async fn set_events(
    cluster: &Cluster,
    ns: &str,
    view: Option<&SetView>,
) -> Vec<k8s_openapi::api::events::v1::Event> {
    let selector = match view {
        Some(v) => format!("{}={}", crate::cluster::SET_LABEL, v.name),
        None => crate::cluster::SET_LABEL.to_string(),
    };
    let mut events = match cluster.list_events(None, &selector).await {
        Ok(events) => events,
        Err(_) => {
            let mut namespaces = vec![ns.to_string()];
            if let Some(status) = view.and_then(|v| v.status.as_ref()) {
                namespaces.extend(
                    status
                        .namespaces
                        .keys()
                        .filter(|n| !n.starts_with('('))
                        .cloned(),
                );
            }
            let mut all = Vec::new();
            for namespace in namespaces {
                match cluster.list_events(Some(&namespace), &selector).await {
                    Ok(events) => all.extend(events),
                    Err(e) => crate::talk!("warning: cannot list Events in {namespace}: {e}"),
                }
            }
            all
        }
    };
    events.sort_by_key(print::event_time);
    events
}

async fn annotate(
    cluster: &Cluster,
    ns: &str,
    set: &str,
    key: &str,
    value: Option<&str>,
) -> Result<(), CommandError> {
    let lease = status::lease_name(set);
    match cluster.leases(ns).annotate(&lease, key, value).await {
        Ok(_) => Ok(()),
        Err(e) if e.code == 404 => Err(refused(
            set,
            &format!(
                "has no Lease {ns}/{lease}: no agent or sync has run it (see --inventory-namespace)"
            ),
        )),
        Err(e) => Err(refused(
            set,
            &format!("cannot be steered: Lease {ns}/{lease}: {e}"),
        )),
    }
}

fn refused(set: &str, why: &str) -> CommandError {
    CommandError::Run(crate::Error::Lock(format!("sync set {set:?} {why}")))
}
