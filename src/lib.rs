//! driftless: a declarative GitOps sync agent for Kubernetes.
//!
//! The crate is laid out the way the data flows:
//!
//! ```text
//!   source ──> render ──────────> plan ─────────────> apply/prune ──> report
//!   dir or     typed, ordered     desired vs live      SSA, then        per namespace:
//!   Git        desired set        via SSA dry-run,     ApplySet-        created, configured,
//!   commit     (file:line)        per namespace        tracked prune    pruned, skipped, failed
//! ```
//!
//! [`inventory`] is what a sync set owns (its ApplySets, its prune rules, its Lease); [`cluster`]
//! is the only module that talks to the API server; [`sync`] strings the stages together for
//! one revision ([`health`] then waits, with `--wait`, until what it applied runs), and
//! [`runner`] runs passes over a source (once, or on every change) for the CLI
//! and the daemon, which stay thin layers over this library. [`status`] is what a set's passes
//! and drift came to, as the agent serves it and the cluster stores it.

pub mod agent;
pub mod apply;
pub mod cli;
pub mod cluster;
pub mod drift;
pub mod error;
pub mod halt;
pub mod health;
pub mod inventory;
pub mod lint;
pub mod memory;
pub mod plan;
pub mod preview;
pub mod redact;
pub mod remote;
pub mod render;
pub mod report;
pub mod runner;
pub mod settings;
pub mod source;
pub mod status;
pub mod sync;

pub use error::{Error, Result};
