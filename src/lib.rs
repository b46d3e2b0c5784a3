//! driftless: a declarative GitOps sync agent for Kubernetes.
//!
//! The crate is laid out the way the data flows:
//!
//! ```text
//!   source ──> render ──────────> plan ─────────────> apply ──> report
//!   files      typed, ordered     desired vs live      SSA       per namespace:
//!   (dir)      desired set        via SSA dry-run,     writes    created, configured,
//!              (file:line)        per namespace                  unchanged, failed
//! ```
//!
//! [`cluster`] is the only module that talks to the API server; [`sync`] strings the stages
//! together for the CLI (and later the daemon), which stay thin layers over this library.

pub mod apply;
pub mod cli;
pub mod cluster;
pub mod error;
pub mod plan;
pub mod render;
pub mod report;
pub mod runner;
pub mod source;
pub mod sync;

pub use error::{Error, Result};
