//! Arbitrary bytes as the JSON body of each account change, read exactly as the handlers read
//! them: `parse_json` into the wire body, then into domain types (`AccountName`,
//! `AccountPassword`, `Privileges`, `DatabaseSelection`). Nothing may panic, every refusal must
//! render in both languages, and whatever is accepted must pass its own validator again.

#![no_main]

use libfuzzer_sys::fuzz_target;
use starkeep_api::accounts::create::CreateAccountBody;
use starkeep_api::accounts::update_password::{credentials, UpdatePasswordBody};
use starkeep_api::accounts::update_permission::UpdatePermissionBody;
use starkeep_api::error::ApiError;
use starkeep_api::extract::parse_json;
use starkeep_domain::{AccountName, AccountPassword, DatabaseSelection, Language};
use starkeep_engine::{NewAccount, PrivilegeChange};

fn refused(e: ApiError) {
    assert!(e.code.status().is_client_error(), "{e:?}");
    assert!(!e.message(Language::EnUs).is_empty());
    assert!(!e.message(Language::ZhCn).is_empty());
}

fn name_holds(name: &AccountName) {
    assert_eq!(AccountName::parse(name.as_str()).as_ref(), Ok(name));
}

fn databases_hold(databases: &DatabaseSelection) {
    let wire = databases.to_wire();
    assert!(!wire.is_empty());
    assert_eq!(DatabaseSelection::parse(&wire).as_ref(), Ok(databases));
}

fuzz_target!(|body: &[u8]| {
    match parse_json::<CreateAccountBody>(body).and_then(|b| Ok(NewAccount::try_from(b)?)) {
        Ok(account) => {
            name_holds(&account.name);
            assert!(AccountPassword::parse(account.password.expose(), &account.name).is_ok());
            databases_hold(&account.databases);
            assert!(account.privileges.dml.wire() <= 3 && account.privileges.ddl.wire() <= 1);
        }
        Err(e) => refused(e),
    }
    match parse_json::<UpdatePermissionBody>(body).and_then(|b| Ok(PrivilegeChange::try_from(b)?)) {
        Ok(change) => {
            name_holds(&change.name);
            if let Some(d) = &change.databases {
                databases_hold(d);
            }
        }
        Err(e) => refused(e),
    }
    match parse_json::<UpdatePasswordBody>(body).and_then(|b| Ok(credentials(b)?)) {
        Ok((name, password)) => {
            name_holds(&name);
            assert!(AccountPassword::parse(password.expose(), &name).is_ok());
            assert_ne!(password.expose(), name.as_str());
        }
        Err(e) => refused(e),
    }
});
