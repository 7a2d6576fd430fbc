//! [`plan`]: what a reconcile must do, decided from what both sides hold.
//!
//! The rules:
//! - A source account is mirrored only if it is not a system account, holds no administrative
//!   privilege server-wide, its plugin is [`NATIVE_PLUGIN`] with a well-formed hash (the only
//!   form both sides take, so the password travels as its hash and its text is never needed),
//!   its databases all exist at the target, and it has a `'%'` row (the one mirrored; rows of
//!   other hosts are not). Otherwise it is skipped, with the reason. Data privileges held server-wide arrive
//!   as [`DatabaseSelection::All`] and are mirrored onto all of the target's databases.
//! - An account whose only rows are host-restricted (`'app'@'10.%'`) is skipped: mirrored as
//!   `'%'` it would log in from anywhere, and with its host it would mean nothing at the target,
//!   where the clients' connections come through the proxy.
//! - An account at the target that starkeep does not own is never changed or dropped: a source
//!   account of the same name is a conflict.
//! - An owned account is brought to the source's hash and privileges; only what differs is
//!   written. An owned account whose source account is gone is dropped.
//! - The hash an owned account has now is read from the target where the target shows stored
//!   hashes (MySQL family); where it does not (StarRocks), it is the hash sync last applied,
//!   kept by the caller ([`TargetHashes::LastApplied`]). An account with no hash recorded is given
//!   the source's hash once more: one write, never a wrong password left in place.
//! - A second plan over an unchanged source has no actions at all.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use starkeep_domain::{DatabaseSelection, NativePasswordHash, Privileges};

use starkeep_engine::{MirrorAccount, NATIVE_PLUGIN};

/// One write at the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Create the account with the source's hash and privileges.
    Create {
        name: String,
        host: String,
        auth_string: String,
        privileges: Privileges,
        databases: DatabaseSelection,
    },
    /// Replace the password hash.
    SetPassword {
        name: String,
        host: String,
        auth_string: String,
    },
    /// Converge the privileges.
    SetPrivileges {
        name: String,
        host: String,
        privileges: Privileges,
        databases: DatabaseSelection,
    },
    /// Drop an owned account whose source account is gone.
    Drop { name: String, host: String },
}

impl Action {
    /// The account the action is about.
    pub fn name(&self) -> &str {
        match self {
            Action::Create { name, .. }
            | Action::SetPassword { name, .. }
            | Action::SetPrivileges { name, .. }
            | Action::Drop { name, .. } => name,
        }
    }
}

/// Why a source account is not mirrored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// A built-in or reserved account.
    System,
    /// An authentication plugin whose hash the target cannot take.
    Plugin(String),
    /// The native plugin, but no well-formed hash.
    Hash,
    /// Grants on databases the target lacks.
    MissingDatabases(Vec<String>),
    /// Host-restricted rows only, no `'%'` row.
    Hosts(Vec<String>),
    /// Administrative privileges held server-wide.
    Administrative(Vec<String>),
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::System => f.write_str("a system or reserved account"),
            SkipReason::Plugin(p) => write!(
                f,
                "authentication plugin {p} has a hash the target cannot take (only {NATIVE_PLUGIN})"
            ),
            SkipReason::Hash => f.write_str("no well-formed mysql_native_password hash"),
            SkipReason::MissingDatabases(dbs) => {
                write!(
                    f,
                    "grants on databases the target lacks: {}",
                    dbs.join(", ")
                )
            }
            SkipReason::Hosts(hosts) => write!(
                f,
                "host-restricted (host {}) and no '%' row: only '%' accounts are mirrored \
                 (as '%' it would log in from anywhere)",
                hosts.join(", ")
            ),
            SkipReason::Administrative(privileges) => write!(
                f,
                "administrative privileges held server-wide ({}); such accounts are not mirrored",
                privileges.join(", ")
            ),
        }
    }
}

/// Where the plan learns which password hash an owned target account has now.
#[derive(Debug, Clone, Copy)]
pub enum TargetHashes<'a> {
    /// The target shows stored hashes: the target accounts' `auth_string`.
    Shown,
    /// The target does not show them (StarRocks): the hash sync last applied to each owned
    /// account, by name; the target accounts' `auth_string` is not looked at.
    LastApplied(&'a BTreeMap<String, String>),
}

impl TargetHashes<'_> {
    /// The hash `existing` has now, as far as sync can know.
    fn current(&self, existing: &MirrorAccount) -> Option<NativePasswordHash> {
        match self {
            TargetHashes::Shown => NativePasswordHash::parse(&existing.auth_string),
            TargetHashes::LastApplied(applied) => applied
                .get(&existing.name)
                .and_then(|h| NativePasswordHash::parse(h)),
        }
    }
}

/// What a reconcile must do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The writes, in a safe order: drops, then creates, then changes.
    pub actions: Vec<Action>,
    /// Source accounts not mirrored, by name.
    pub skipped: Vec<(String, SkipReason)>,
    /// Source accounts whose name is taken at the target by an account starkeep did not make.
    pub conflicts: Vec<String>,
    /// Owned accounts already as the source has them.
    pub unchanged: usize,
    /// Owned names with no account on either side any more: ownership to forget (no write).
    pub forget: Vec<String>,
}

/// Decides what to do, for a target that shows stored hashes. `owned` are the target names
/// starkeep created by sync (including ones whose creation may have been cut short);
/// `target_databases` are the target's databases.
pub fn plan(
    source: &[MirrorAccount],
    target: &[MirrorAccount],
    owned: &BTreeSet<String>,
    target_databases: &[String],
) -> Plan {
    plan_with(source, target, owned, target_databases, TargetHashes::Shown)
}

/// [`plan`], with the target's current hashes learnt from `hashes`.
pub fn plan_with(
    source: &[MirrorAccount],
    target: &[MirrorAccount],
    owned: &BTreeSet<String>,
    target_databases: &[String],
    hashes: TargetHashes<'_>,
) -> Plan {
    let mut out = Plan::default();
    let target_by_name: BTreeMap<&str, &MirrorAccount> =
        target.iter().map(|a| (a.name.as_str(), a)).collect();
    let mut by_name: BTreeMap<&str, Vec<&MirrorAccount>> = BTreeMap::new();
    for a in source {
        by_name.entry(a.name.as_str()).or_default().push(a);
    }

    let (mut creates, mut changes) = (Vec::new(), Vec::new());
    for (name, rows) in &by_name {
        let account = match mirrorable(rows, target_databases) {
            Ok(a) => a,
            Err(reason) => {
                out.skipped.push((name.to_string(), reason));
                continue;
            }
        };
        let hash =
            NativePasswordHash::parse(&account.auth_string).expect("mirrorable checked the hash");
        match target_by_name.get(name) {
            None => creates.push(Action::Create {
                name: name.to_string(),
                host: account.host.clone(),
                auth_string: hash.as_str().to_owned(),
                privileges: account.privileges,
                databases: account.databases.clone(),
            }),
            Some(_) if !owned.contains(*name) => out.conflicts.push(name.to_string()),
            Some(existing) => {
                let mut same = true;
                let same_hash = hashes.current(existing).is_some_and(|h| h == hash);
                if !same_hash {
                    same = false;
                    changes.push(Action::SetPassword {
                        name: name.to_string(),
                        host: existing.host.clone(),
                        auth_string: hash.as_str().to_owned(),
                    });
                }
                if existing.privileges != account.privileges
                    || existing.databases != account.databases
                {
                    same = false;
                    changes.push(Action::SetPrivileges {
                        name: name.to_string(),
                        host: existing.host.clone(),
                        privileges: account.privileges,
                        databases: account.databases.clone(),
                    });
                }
                if same {
                    out.unchanged += 1;
                }
            }
        }
    }

    for name in owned {
        if by_name.contains_key(name.as_str()) {
            continue;
        }
        match target_by_name.get(name.as_str()) {
            Some(existing) => out.actions.push(Action::Drop {
                name: name.clone(),
                host: existing.host.clone(),
            }),
            None => out.forget.push(name.clone()),
        }
    }
    out.actions.extend(creates);
    out.actions.extend(changes);
    out
}

/// The row to mirror for one name, or why there is none.
fn mirrorable<'a>(
    rows: &[&'a MirrorAccount],
    target_databases: &[String],
) -> Result<&'a MirrorAccount, SkipReason> {
    if rows.iter().any(|a| a.system) {
        return Err(SkipReason::System);
    }
    let Some(account) = rows.iter().find(|a| a.host == "%").copied() else {
        let mut hosts: Vec<String> = rows.iter().map(|a| a.host.clone()).collect();
        hosts.sort();
        return Err(SkipReason::Hosts(hosts));
    };
    if !account.admin_privileges.is_empty() {
        let mut held = account.admin_privileges.clone();
        held.sort();
        return Err(SkipReason::Administrative(held));
    }
    if account.plugin != NATIVE_PLUGIN {
        return Err(SkipReason::Plugin(account.plugin.clone()));
    }
    if NativePasswordHash::parse(&account.auth_string).is_none() {
        return Err(SkipReason::Hash);
    }
    if let DatabaseSelection::Named(names) = &account.databases {
        let missing: Vec<String> = names
            .iter()
            .filter(|n| !target_databases.iter().any(|t| t == n.as_str()))
            .map(|n| n.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(SkipReason::MissingDatabases(missing));
        }
    }
    Ok(account)
}

#[cfg(test)]
mod tests {
    use starkeep_domain::{Ddl, Dml};

    use super::*;

    const DBS: [&str; 2] = ["orders", "web"];

    fn acct(name: &str, pw: &str, dml: Dml, dbs: &[&str]) -> MirrorAccount {
        MirrorAccount {
            name: name.into(),
            host: "%".into(),
            plugin: NATIVE_PLUGIN.into(),
            auth_string: NativePasswordHash::of(pw).as_str().into(),
            privileges: Privileges {
                dml,
                ddl: Ddl::None,
            },
            databases: DatabaseSelection::parse(dbs).unwrap(),
            system: false,
            admin_privileges: Vec::new(),
        }
    }

    fn owned(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    fn target_dbs() -> Vec<String> {
        DBS.map(String::from).to_vec()
    }

    #[test]
    fn first_run_creates_and_second_run_writes_nothing() {
        let source = vec![
            acct("app", "Pw_app_1", Dml::ReadWrite, &["orders"]),
            acct("bi", "Pw_bi_22", Dml::ReadOnly, &["*"]),
        ];
        let first = plan(&source, &[], &owned(&[]), &target_dbs());
        assert_eq!(first.actions.len(), 2);
        assert!(
            matches!(&first.actions[0], Action::Create { name, auth_string, .. }
            if name == "app" && auth_string == NativePasswordHash::of("Pw_app_1").as_str())
        );

        // The target now holds what was created, and starkeep owns it.
        let second = plan(&source, &source, &owned(&["app", "bi"]), &target_dbs());
        assert!(second.actions.is_empty(), "{second:?}");
        assert_eq!(second.unchanged, 2);
    }

    #[test]
    fn changes_at_the_source_converge_only_what_differs() {
        let target = vec![acct("app", "Pw_app_1", Dml::ReadWrite, &["orders"])];
        let new_password = vec![acct("app", "Pw_app_2", Dml::ReadWrite, &["orders"])];
        let p = plan(&new_password, &target, &owned(&["app"]), &target_dbs());
        assert_eq!(
            p.actions,
            vec![Action::SetPassword {
                name: "app".into(),
                host: "%".into(),
                auth_string: NativePasswordHash::of("Pw_app_2").as_str().into(),
            }]
        );
        let new_grants = vec![acct("app", "Pw_app_1", Dml::ReadOnly, &["orders", "web"])];
        let p = plan(&new_grants, &target, &owned(&["app"]), &target_dbs());
        assert_eq!(p.actions.len(), 1);
        assert!(
            matches!(&p.actions[0], Action::SetPrivileges { privileges, databases, .. }
            if privileges.dml == Dml::ReadOnly && databases.to_wire() == ["orders", "web"])
        );
    }

    #[test]
    fn dropped_at_the_source_is_dropped_if_owned() {
        let target = vec![
            acct("gone", "Pw_gone_1", Dml::ReadWrite, &["orders"]),
            acct("theirs", "Pw_their1", Dml::ReadWrite, &["orders"]),
        ];
        let p = plan(&[], &target, &owned(&["gone", "vanished"]), &target_dbs());
        assert_eq!(
            p.actions,
            vec![Action::Drop {
                name: "gone".into(),
                host: "%".into()
            }]
        );
        assert_eq!(p.forget, vec!["vanished".to_string()]);
    }

    #[test]
    fn accounts_it_did_not_make_are_conflicts_and_left_alone() {
        let source = vec![acct("clash", "Pw_clash1", Dml::ReadWrite, &["orders"])];
        let target = vec![acct("clash", "Other_pw1", Dml::ReadOnly, &["web"])];
        let p = plan(&source, &target, &owned(&[]), &target_dbs());
        assert!(p.actions.is_empty());
        assert_eq!(p.conflicts, vec!["clash".to_string()]);
    }

    #[test]
    fn unmirrorable_accounts_are_skipped_with_their_reason() {
        let mut sha2 = acct("sha2_user", "Pw_sha2_1", Dml::ReadWrite, &["orders"]);
        sha2.plugin = "caching_sha2_password".into();
        sha2.auth_string = "$A$005$opaque".into();
        // A system account with several host rows is skipped as a system account.
        let mut sys = acct("root", "Pw_root_1", Dml::ReadWrite, &["*"]);
        sys.system = true;
        sys.host = "localhost".into();
        let mut sys_loopback = sys.clone();
        sys_loopback.host = "127.0.0.1".into();
        let mut no_hash = acct("no_hash", "Pw_nohash", Dml::ReadWrite, &["orders"]);
        no_hash.auth_string = String::new();
        let lacking = acct(
            "lacking",
            "Pw_lack_1",
            Dml::ReadWrite,
            &["orders", "archive"],
        );
        let mut h1 = acct("hosts", "Pw_hosts1", Dml::ReadWrite, &["orders"]);
        h1.host = "10.0.0.1".into();
        let mut h2 = h1.clone();
        h2.host = "10.0.0.2".into();
        let mut subnet = acct("subnet", "Pw_subnet1", Dml::ReadWrite, &["orders"]);
        subnet.host = "10.%".into();
        let fine = acct("fine", "Pw_fine_1", Dml::ReadWrite, &["orders"]);
        let source = vec![
            sha2,
            sys,
            sys_loopback,
            no_hash,
            lacking,
            h1,
            h2,
            subnet,
            fine,
        ];
        let p = plan(&source, &[], &owned(&[]), &target_dbs());
        assert_eq!(p.actions.len(), 1, "one bad account never stops the others");
        assert_eq!(p.actions[0].name(), "fine");
        let reasons: BTreeMap<_, _> = p.skipped.iter().cloned().collect();
        assert_eq!(
            reasons["sha2_user"],
            SkipReason::Plugin("caching_sha2_password".into())
        );
        assert_eq!(reasons["root"], SkipReason::System);
        assert_eq!(reasons["no_hash"], SkipReason::Hash);
        assert_eq!(
            reasons["lacking"],
            SkipReason::MissingDatabases(vec!["archive".into()])
        );
        assert_eq!(
            reasons["hosts"],
            SkipReason::Hosts(vec!["10.0.0.1".into(), "10.0.0.2".into()])
        );
        assert_eq!(reasons["subnet"], SkipReason::Hosts(vec!["10.%".into()]));
        assert!(reasons["subnet"].to_string().contains("host 10.%"));
        assert!(reasons["sha2_user"]
            .to_string()
            .contains("caching_sha2_password"));
    }

    #[test]
    fn server_wide_data_privileges_go_to_all_databases_and_admin_ones_are_skipped() {
        // Server-wide SELECT reaches the plan as read-only on all databases: created so, with
        // no database of the target needed.
        let reader = acct("reader", "Pw_reader1", Dml::ReadOnly, &["*"]);
        let mut admin = acct("admin", "Pw_admin_1", Dml::ReadOnly, &["*"]);
        admin.admin_privileges = vec!["PROCESS".into(), "GRANT OPTION".into()];
        let p = plan(&[reader.clone(), admin], &[], &owned(&[]), &[]);
        assert!(
            matches!(&p.actions[..], [Action::Create { name, databases, privileges, .. }]
            if name == "reader" && *databases == DatabaseSelection::All
                && privileges.dml == Dml::ReadOnly),
            "{p:?}"
        );
        assert_eq!(
            p.skipped,
            vec![(
                "admin".to_string(),
                SkipReason::Administrative(vec!["GRANT OPTION".into(), "PROCESS".into()])
            )]
        );
        assert!(p.skipped[0].1.to_string().contains("GRANT OPTION, PROCESS"));

        // Mirrored onto all databases, it is unchanged on the next run; narrowed at the source
        // to one database, the target follows.
        let again = plan(
            std::slice::from_ref(&reader),
            std::slice::from_ref(&reader),
            &owned(&["reader"]),
            &target_dbs(),
        );
        assert!(again.actions.is_empty() && again.unchanged == 1);
        let narrowed = acct("reader", "Pw_reader1", Dml::ReadOnly, &["orders"]);
        let p = plan(&[narrowed], &[reader], &owned(&["reader"]), &target_dbs());
        assert!(
            matches!(&p.actions[..], [Action::SetPrivileges { databases, .. }]
            if databases.to_wire() == ["orders"])
        );

        // An owned account that gains an administrative privilege at the source is no longer
        // mirrored: left as it was, reported, never dropped.
        let mut promoted = acct("app", "Pw_app_1", Dml::ReadWrite, &["orders"]);
        promoted.admin_privileges = vec!["SUPER".into()];
        let target = vec![acct("app", "Pw_app_1", Dml::ReadWrite, &["orders"])];
        let p = plan(&[promoted], &target, &owned(&["app"]), &target_dbs());
        assert!(p.actions.is_empty(), "{p:?}");
        assert_eq!(
            p.skipped,
            vec![(
                "app".to_string(),
                SkipReason::Administrative(vec!["SUPER".into()])
            )]
        );
    }

    /// A target that does not show hashes (StarRocks): the source's hash is compared with the
    /// one sync last applied.
    #[test]
    fn without_target_hashes_the_last_applied_hash_decides() {
        let source = vec![acct("app", "Pw_app_1", Dml::ReadWrite, &["orders"])];
        // What StarRocks shows: the account and its grants, no hash.
        let mut shown = source[0].clone();
        shown.auth_string = String::new();
        shown.plugin = String::new();
        let target = vec![shown];
        let applied = |pw: &str| {
            BTreeMap::from([(
                "app".to_string(),
                NativePasswordHash::of(pw).as_str().to_owned(),
            )])
        };

        // Applied hash equals the source's: nothing to write.
        let same = applied("Pw_app_1");
        let p = plan_with(
            &source,
            &target,
            &owned(&["app"]),
            &target_dbs(),
            TargetHashes::LastApplied(&same),
        );
        assert!(p.actions.is_empty(), "{p:?}");
        assert_eq!(p.unchanged, 1);

        // The source's password changed since: the new hash is applied.
        let older = applied("Pw_app_0");
        let p = plan_with(
            &source,
            &target,
            &owned(&["app"]),
            &target_dbs(),
            TargetHashes::LastApplied(&older),
        );
        assert_eq!(
            p.actions,
            vec![Action::SetPassword {
                name: "app".into(),
                host: "%".into(),
                auth_string: NativePasswordHash::of("Pw_app_1").as_str().into(),
            }]
        );

        // Nothing recorded (a run cut short after its write): applied again, once.
        let none = BTreeMap::new();
        let p = plan_with(
            &source,
            &target,
            &owned(&["app"]),
            &target_dbs(),
            TargetHashes::LastApplied(&none),
        );
        assert!(matches!(&p.actions[..], [Action::SetPassword { name, .. }] if name == "app"));

        // The same target read as if it showed hashes would see none and rewrite every run:
        // the reason the last applied hash is kept.
        let p = plan(&source, &target, &owned(&["app"]), &target_dbs());
        assert_eq!(p.actions.len(), 1);
    }

    #[test]
    fn a_percent_host_row_is_the_one_mirrored() {
        let mut local = acct("multi", "Pw_local_1", Dml::ReadOnly, &["web"]);
        local.host = "localhost".into();
        let any = acct("multi", "Pw_any_12", Dml::ReadWrite, &["orders"]);
        let p = plan(&[local, any], &[], &owned(&[]), &target_dbs());
        assert!(
            matches!(&p.actions[..], [Action::Create { host, privileges, .. }]
            if host == "%" && privileges.dml == Dml::ReadWrite)
        );
    }

    #[test]
    fn an_owned_account_missing_at_the_target_is_made_again() {
        // A create that was cut short (owned, but never made), or dropped by hand.
        let source = vec![acct("again", "Pw_again1", Dml::ReadWrite, &["orders"])];
        let p = plan(&source, &[], &owned(&["again"]), &target_dbs());
        assert!(matches!(&p.actions[..], [Action::Create { name, .. }] if name == "again"));
    }
}
