//! starkeep's domain types.
//!
//! Everything a request carries is turned into one of these types before any engine sees it:
//! [`AccountName`], [`AccountPassword`], [`Privileges`], [`DatabaseSelection`], [`ProjectId`],
//! [`InstanceId`] and [`PageRequest`]. Each constructor enforces the contract's rules and answers
//! an [`InvalidInput`] that can explain itself in English and Chinese ([`Language`]).
//!
//! This crate knows nothing about HTTP, SQL or storage; it is pure validation and value types.

mod account;
mod error;
mod ids;
mod language;
mod paging;
mod privileges;

pub use account::{AccountName, AccountPassword, NativePasswordHash, PASSWORD_SPECIALS};
pub use error::InvalidInput;
pub use ids::{InstanceId, ProjectId};
pub use language::Language;
pub use paging::{PageRequest, MAX_LIMIT};
pub use privileges::{DatabaseName, DatabaseSelection, Ddl, Dml, Privileges};
