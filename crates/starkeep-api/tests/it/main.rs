//! The API's integration tests, one binary: each module starts the real router on a loopback
//! socket (the test kit's test server) and checks one area from the client's side.
//!
//! - [`accounts`]: the account endpoints as the cloud API defines them;
//! - [`audit`]: the audit trail of changes;
//! - [`auth`]: tokens, roles and projects;
//! - [`concurrency`]: concurrent changes to one instance;
//! - [`http`]: the HTTP surface (errors, limits, the OpenAPI document against the router);
//! - [`kept_pages`]: list pages kept between requests;
//! - [`logs`]: the access line's operation, and the request id on what a request logs;
//! - [`signatures`]: requests signed with access keys;
//! - [`terraform`]: the cloud's Terraform provider, its start-up and StarRocks user resource
//!   replayed as its source builds and signs them.

mod accounts;
mod audit;
mod auth;
mod concurrency;
mod http;
mod kept_pages;
mod logs;
mod signatures;
mod terraform;
