//! Filling an embedded instance with many accounts fast: written through the store crate in
//! one transaction (the way an embedded instance is provisioned), not through 100,000 API
//! calls, because seeding is not what is measured.
//!
//! The instance is a normal embedded instance of the server's project: built-in `root` plus
//! generated accounts with the same kinds of values an API create stores.

use starkeep_domain::{DatabaseSelection, Ddl, Dml, NativePasswordHash, Privileges, ProjectId};
use starkeep_engine::{EmbeddedSettings, EngineKind};
use starkeep_store::{NewInstance, NewStoredAccount, Store};

/// The password of every generated account (hashing is not what is measured).
pub const PASSWORD: &str = "Bench_pw_123";

/// The databases a seeded instance has.
pub const SEEDED_DATABASES: [&str; 3] = ["default", "information_schema", "sales"];

/// The name of generated account number `i`: `bench_` and 6 digits, so names sort by number.
pub fn account_name(i: usize) -> String {
    format!("bench_{i:06}")
}

/// Adds an embedded instance `name` to `project` holding `accounts` accounts in all: `root`
/// and `accounts - 1` generated ones. Answers the new instance's id.
pub async fn embedded_instance(
    store: &Store,
    project: &ProjectId,
    name: &str,
    accounts: usize,
) -> anyhow::Result<String> {
    anyhow::ensure!(accounts >= 1, "an embedded instance always has root");
    let databases: Vec<String> = SEEDED_DATABASES.map(String::from).to_vec();
    let sales = DatabaseSelection::parse(&["sales"])?;
    let root = NewStoredAccount {
        name: "root".to_owned(),
        password_hash: NativePasswordHash::of("bench root, never used")
            .as_str()
            .to_owned(),
        privileges: Privileges::default(),
        databases: DatabaseSelection::All,
        system: true,
    };
    let hash = NativePasswordHash::of(PASSWORD).as_str().to_owned();
    let mut rows = Vec::with_capacity(accounts);
    rows.push(root);
    rows.extend((1..accounts).map(|i| NewStoredAccount {
        name: account_name(i),
        password_hash: hash.clone(),
        privileges: Privileges {
            dml: if i % 2 == 0 {
                Dml::ReadOnly
            } else {
                Dml::ReadWrite
            },
            ddl: Ddl::DEFAULT,
        },
        databases: sales.clone(),
        system: false,
    }));
    let new = NewInstance {
        project_id: project.clone(),
        name: name.to_owned(),
        engine: EngineKind::Embedded.as_str().to_owned(),
        settings: serde_json::to_value(EmbeddedSettings { databases })?,
    };
    let record = store.create_instance(&new, &rows).await?;
    Ok(record.id.as_str().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_are_valid_and_sort_by_number() {
        for i in [1, 9, 10, 99_999] {
            starkeep_domain::AccountName::parse(&account_name(i)).unwrap();
        }
        assert!(account_name(9) < account_name(10));
        assert!(account_name(99_998) < account_name(99_999));
    }
}
