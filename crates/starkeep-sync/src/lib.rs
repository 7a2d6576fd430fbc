//! Account sync: mirroring TaurusDB accounts into a StarRocks instance.
//!
//! A reconcile reads both sides, computes the difference, and applies only that difference.
//! This crate holds the decision, as a pure function: [`plan`] takes the source's accounts, the
//! target's accounts, the names starkeep owns at the target and the target's databases, and
//! answers a [`Plan`]: what to create, re-password, re-grant or drop, what to skip and why, and
//! what clashes with an account starkeep did not make. Reading and writing the two servers, and
//! remembering ownership, belong to the engines and the store.

mod model;
mod plan;

pub use model::{MirrorAccount, NATIVE_PLUGIN};
pub use plan::{plan, plan_with, Action, Plan, SkipReason, TargetHashes};
