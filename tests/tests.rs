//! Integration tests: the `driftless` binary against a real Kubernetes API server.
//! One test binary (fast to link); see `support` for where the cluster comes from.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod support;

mod agent;
mod browser;
mod chart_servers;
mod cli;
mod dashboard;
mod fast_path;
mod faults;
mod git_source;
mod honesty;
mod leaks;
mod lifecycle;
mod lint_gate;
mod listing;
mod messages;
mod node;
mod ownership;
mod preview;
mod prune;
mod readme;
mod remote;
mod renderers;
mod sops;
mod steer;
mod sync_diff;
mod sync_sets;
mod validation;
mod watch_render;
