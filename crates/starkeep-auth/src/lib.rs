//! Who is calling, and may they: starkeep's identities.
//!
//! - [`token`]: signed, expiring bearer tokens that name a project, a user and a role; verifying
//!   one needs only the signing key, never the store.
//! - [`password`]: argon2 hashes of IAM user passwords.
//! - [`Role`]: what a user may do in a project.
//! - [`iam`]: logging in with a user name and password, and issuing tokens.
//! - [`access_key`]: access key pairs (AK/SK) of IAM users, their secret keys sealed at rest.
//! - [`sdk_signature`]: checking requests signed with an access key (`SDK-HMAC-SHA256`).
//! - [`secretbox`]: AES-GCM encryption at rest for secrets starkeep must read back.
//! - [`keyfile`]: secret keys kept in files of the data dir, made on first use.
//! - [`throttle`]: slowing down callers that keep failing to authenticate (HTTP and MySQL).
//!
//! HTTP concerns (headers, status codes) live in `starkeep-api`.

pub mod access_key;
pub mod iam;
pub mod keyfile;
pub mod password;
mod role;
pub mod sdk_signature;
pub mod secretbox;
pub mod throttle;
pub mod token;

pub use access_key::{AccessKeyError, AccessKeys, KeyHolder, NewKeyPair};
pub use iam::{Iam, LoginError, ProjectScope};
pub use role::Role;
pub use secretbox::SecretBox;
pub use token::{TokenClaims, TokenError, TokenSigner};
