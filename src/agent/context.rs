//! What every set worker of one agent shares, as kube-rs's controller-rs shares one `Context`
//! between its reconciles: the cluster, who this replica is, and where what it sees goes (the
//! state behind `/report`, the metrics, the Event publisher).

use std::sync::Arc;

use super::events::Publisher;
use super::metrics::Metrics;
use super::state::AgentState;
use crate::cluster::{Cluster, ConnectOptions};
use crate::halt::Halt;

pub struct AgentContext {
    pub cluster: Cluster,
    /// How the cluster was reached (each set's runner keeps it for its passes).
    pub connect: ConnectOptions,
    /// This replica's name, as Leases and Events show it.
    pub identity: String,
    pub state: Arc<AgentState>,
    pub metrics: Arc<Metrics>,
    pub events: Publisher,
    /// Stops the agent (a signal).
    pub halt: Halt,
    /// This replica's share of the sets.
    pub shares: std::sync::Arc<super::shares::Shares>,
}
