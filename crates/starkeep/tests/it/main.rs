//! The `starkeep` binary's integration tests, one binary: each module runs the real binary
//! (`starkeep serve` and the CLI) as a process, over loopback, with [`common`]'s helpers; those
//! that need a MariaDB of their own start one with the test kit.
//!
//! - [`binary`]: first start, serving, the CLI, the audit trail and the access log;
//! - [`connections`]: connection limits and slow clients;
//! - [`crash`]: a killed process and its store;
//! - [`faults`]: a MariaDB killed while accounts are made;
//! - [`iam`]: IAM users and access keys through the CLI;
//! - [`metrics`]: `/metrics` after traffic;
//! - [`mysql_instance`]: a MySQL-wire instance added and served;
//! - [`replicas`]: several processes on one store;
//! - [`sdk`]: the cloud's SDK against the binary;
//! - [`secrets`]: keys and sealed secrets at rest;
//! - [`sync_serve`]: account sync run by the server;
//! - [`sync_source`]: the sync source set through the CLI.
//!
//! The short soak is a binary of its own (`tests/soak.rs`), so that it never shares the machine
//! with these.

mod common;

mod binary;
mod connections;
mod crash;
mod faults;
mod iam;
mod metrics;
mod mysql_instance;
mod replicas;
mod sdk;
mod secrets;
mod sync_serve;
mod sync_source;
