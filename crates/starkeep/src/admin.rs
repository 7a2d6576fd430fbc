//! The operator's commands: projects, IAM users, access keys, tokens and instances, straight on
//! the data dir's store (they work while `serve` runs: the store is shared safely).

use std::io::BufRead;
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use serde_json::json;
use starkeep_auth::{password, AccessKeyError, AccessKeys, Role};
use starkeep_domain::ProjectId;
use starkeep_engine::mysql_wire::{connect_source, set_source, AddSqlInstance};
use starkeep_engine::{EmbeddedEngine, EngineConfig, EngineKind};
use starkeep_store::{AuditFilter, Project, Store, StoreError};
use starkeep_sync::{RunReport, SyncStatus};
use zeroize::Zeroizing;

use crate::context::{Context, StoreConfig};

/// The shortest IAM user password accepted.
const MIN_IAM_PASSWORD: usize = 8;

pub async fn project_create(
    config: &StoreConfig,
    name: &str,
    id: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let ctx = Context::open(config).await?;
    if name.trim().is_empty() || name.len() > 64 {
        bail!("a project name must be 1 to 64 characters");
    }
    let created = match id {
        Some(id) => {
            let id = ProjectId::parse(id)
                .map_err(|_| anyhow!("a project id is 32 letters or digits, not {id:?}"))?;
            ctx.store.create_project_with_id(name, id).await
        }
        None => ctx.store.create_project(name).await,
    };
    let project = match created {
        Err(StoreError::Conflict) => {
            bail!("a project with that name or id already exists (see `starkeep project list`)")
        }
        other => other?,
    };
    print_id(
        json,
        project.id.as_str(),
        json!({"id": project.id.as_str(), "name": project.name}),
    );
    Ok(())
}

pub async fn project_list(config: &StoreConfig, json: bool) -> anyhow::Result<()> {
    let ctx = Context::open(config).await?;
    let projects = ctx.store.list_projects().await?;
    if json {
        let rows: Vec<_> = projects
            .iter()
            .map(|p| json!({"id": p.id.as_str(), "name": p.name}))
            .collect();
        println!("{}", serde_json::Value::Array(rows));
    } else {
        println!("{:<34} NAME", "ID");
        for p in projects {
            println!("{:<34} {}", p.id, p.name);
        }
    }
    Ok(())
}

pub async fn user_create(
    config: &StoreConfig,
    project: &str,
    name: &str,
    role: Role,
    password_env: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let ctx = Context::open(config).await?;
    let project = find_project(&ctx.store, project).await?;
    if name.trim().is_empty() || name.len() > 64 {
        bail!("a user name must be 1 to 64 characters");
    }
    let secret = read_password(password_env)?;
    let phc = tokio::task::spawn_blocking(move || password::hash(&secret)).await?;
    let user = match ctx
        .store
        .create_user(name, &phc, &project.id, role.as_str())
        .await
    {
        Err(StoreError::Conflict) => bail!(
            "a user named {name:?} already exists; give it a role with `starkeep iam user grant`"
        ),
        other => other?,
    };
    print_id(
        json,
        &user.id,
        json!({"id": user.id, "name": user.name, "project": project.name, "role": role.as_str()}),
    );
    Ok(())
}

pub async fn user_grant(
    config: &StoreConfig,
    project: &str,
    name: &str,
    role: Role,
) -> anyhow::Result<()> {
    let ctx = Context::open(config).await?;
    let project = find_project(&ctx.store, project).await?;
    let user = ctx
        .store
        .user_by_name(name)
        .await?
        .ok_or_else(|| anyhow!("no user named {name:?}"))?;
    ctx.store
        .bind_role(&project.id, &user.id, role.as_str())
        .await?;
    eprintln!("{name} is now {role} in project {}", project.name);
    Ok(())
}

pub async fn credential_create(
    config: &StoreConfig,
    project: &str,
    user: &str,
    json: bool,
) -> anyhow::Result<()> {
    let ctx = Context::open(config).await?;
    let project = find_project(&ctx.store, project).await?;
    let found = ctx
        .store
        .user_by_name(user)
        .await?
        .ok_or_else(|| anyhow!("no user named {user:?}"))?;
    let keys = AccessKeys::new(ctx.store.clone(), ctx.secret_box().await?);
    let pair = match keys.create(&project.id, &found.id).await {
        Err(AccessKeyError::NoRoleInProject) => bail!(
            "{user:?} has no role in project {:?}; give it one with `starkeep iam user grant`",
            project.name
        ),
        other => other?,
    };
    if json {
        println!(
            "{}",
            json!({"ak": pair.access_key, "sk": pair.secret_key.as_str(), "project_id": project.id.as_str()})
        );
    } else {
        println!("AK {}", pair.access_key);
        println!("SK {}", pair.secret_key.as_str());
    }
    eprintln!(
        "The SK is shown only now; keep it safe. The key acts as {user} ({}) in project {} ({}).",
        ctx.store
            .role_of(&project.id, &found.id)
            .await?
            .unwrap_or_default(),
        project.name,
        project.id
    );
    Ok(())
}

pub async fn credential_list(
    config: &StoreConfig,
    project: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let ctx = Context::open(config).await?;
    let project = match project {
        Some(p) => Some(find_project(&ctx.store, p).await?),
        None => None,
    };
    let keys = ctx
        .store
        .list_access_keys(project.as_ref().map(|p| &p.id))
        .await?;
    if json {
        let rows: Vec<_> = keys
            .iter()
            .map(|k| {
                json!({
                    "ak": k.access_key, "project_id": k.project_id.as_str(),
                    "project": k.project_name, "user": k.user_name, "created_at": k.created_at,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
    } else {
        println!("{:<22} {:<16} {:<16} CREATED", "AK", "PROJECT", "USER");
        for k in keys {
            println!(
                "{:<22} {:<16} {:<16} {}",
                k.access_key,
                k.project_name,
                k.user_name,
                rfc3339(k.created_at * 1000)
            );
        }
    }
    Ok(())
}

pub async fn credential_delete(config: &StoreConfig, access_key: &str) -> anyhow::Result<()> {
    let ctx = Context::open(config).await?;
    if !ctx.store.delete_access_key(access_key).await? {
        bail!("no access key {access_key:?} (see `starkeep iam credential list`)");
    }
    eprintln!("deleted access key {access_key}");
    Ok(())
}

pub async fn token_issue(
    config: &StoreConfig,
    project: &str,
    user: &str,
    ttl: Duration,
    json: bool,
) -> anyhow::Result<()> {
    let ctx = Context::open(config).await?;
    let project = find_project(&ctx.store, project).await?;
    let found = ctx
        .store
        .user_by_name(user)
        .await?
        .ok_or_else(|| anyhow!("no user named {user:?}"))?;
    let (token, claims) = ctx
        .iam(ttl)
        .await?
        .issue(&project, &found.id, &found.name)
        .await
        .map_err(|e| anyhow!("{e} (user {user:?}, project {:?})", project.name))?;
    print_id(
        json,
        &token,
        json!({"token": token, "project_id": claims.project_id, "expires_at": claims.expires_at}),
    );
    Ok(())
}

/// What `instance add` was given.
pub struct InstanceSpec<'a> {
    pub project: &'a str,
    pub engine: &'a str,
    pub name: &'a str,
    pub databases: &'a [String],
    pub dsn: Option<&'a str>,
    pub password_env: Option<&'a str>,
    pub privilege_map: Option<&'a Path>,
    pub timeout: Duration,
    pub taurus_dsn: Option<&'a str>,
    pub taurus_password_env: Option<&'a str>,
}

pub async fn instance_add(
    config: &StoreConfig,
    spec: InstanceSpec<'_>,
    json: bool,
) -> anyhow::Result<()> {
    let ctx = Context::open(config).await?;
    let project = find_project(&ctx.store, spec.project).await?;
    let kind: EngineKind = spec.engine.parse().map_err(|e: String| anyhow!(e))?;
    let record = match kind {
        EngineKind::Embedded => {
            if spec.dsn.is_some() || spec.taurus_dsn.is_some() {
                bail!("--dsn and --taurus-dsn are for the mysql and starrocks engines; embedded has no server");
            }
            if spec.databases.iter().all(|d| d.trim().is_empty()) {
                bail!("an embedded instance needs at least one database (--databases a,b,c)");
            }
            EmbeddedEngine::provision(&ctx.store, &project.id, spec.name, spec.databases).await?
        }
        EngineKind::Mysql | EngineKind::StarRocks => {
            let dsn = spec.dsn.ok_or_else(|| {
                anyhow!("the {kind} engine needs --dsn mysql://ADMIN@HOST:PORT (the admin password on stdin or with --password-env VAR)")
            })?;
            let privilege_map = match spec.privilege_map {
                Some(path) => Some(
                    std::fs::read_to_string(path)
                        .with_context(|| format!("reading the privilege map {}", path.display()))?,
                ),
                None => None,
            };
            let password = read_secret(spec.password_env)?;
            let secrets = ctx.secret_box().await?;
            // The source is checked first, so a bad one adds nothing.
            let source = match spec.taurus_dsn {
                Some(taurus_dsn) => {
                    let source_password = read_secret(spec.taurus_password_env)?;
                    Some(
                        connect_source(taurus_dsn, &source_password, spec.timeout, &secrets)
                            .await
                            .map_err(|e| anyhow!("instance not added: TaurusDB source: {e}"))?,
                    )
                }
                None => None,
            };
            let record = AddSqlInstance {
                project_id: project.id.clone(),
                name: spec.name.to_owned(),
                kind,
                dsn: dsn.to_owned(),
                password,
                privilege_map,
                timeout: spec.timeout,
            }
            .run(&ctx.store, &secrets)
            .await
            .map_err(|e| anyhow!("instance not added: {e}"))?;
            match source {
                Some(source) => set_source(&ctx.store, &record, source).await?,
                None => record,
            }
        }
    };
    let settings = EngineConfig::of(&record)?.redacted();
    print_id(
        json,
        record.id.as_str(),
        json!({
            "id": record.id.as_str(), "project_id": record.project_id.as_str(),
            "name": record.name, "engine": record.engine, "settings": settings,
        }),
    );
    Ok(())
}

pub async fn instance_set_source(
    config: &StoreConfig,
    instance: &str,
    taurus_dsn: &str,
    password_env: Option<&str>,
    timeout: Duration,
) -> anyhow::Result<()> {
    let ctx = Context::open(config).await?;
    let record = ctx
        .store
        .list_instances(None)
        .await?
        .into_iter()
        .find(|r| r.id.as_str() == instance)
        .ok_or_else(|| anyhow!("no instance {instance:?} (see `starkeep instance list`)"))?;
    if !matches!(
        EngineConfig::of(&record),
        Ok(EngineConfig::MysqlWire { .. })
    ) {
        bail!("only mysql and starrocks instances can sync accounts from a TaurusDB source");
    }
    let password = read_secret(password_env)?;
    let secrets = ctx.secret_box().await?;
    let source = connect_source(taurus_dsn, &password, timeout, &secrets)
        .await
        .map_err(|e| anyhow!("source not set: {e}"))?;
    set_source(&ctx.store, &record, source).await?;
    println!("{}", record.id);
    Ok(())
}

pub async fn sync_status(
    config: &StoreConfig,
    instance: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let ctx = Context::open(config).await?;
    let records: Vec<_> = ctx
        .store
        .list_instances(None)
        .await?
        .into_iter()
        .filter(|r| instance.is_none_or(|id| r.id.as_str() == id))
        .filter(|r| {
            instance.is_some() || !matches!(EngineConfig::of(r), Ok(EngineConfig::Embedded(_)))
        })
        .collect();
    if let (Some(id), true) = (instance, records.is_empty()) {
        bail!("no instance {id:?} (see `starkeep instance list`)");
    }
    let mut statuses = Vec::new();
    for record in &records {
        statuses.push((record, SyncStatus::of(&ctx.store, record).await?));
    }
    if json {
        let rows: Vec<_> = statuses
            .iter()
            .map(|(record, status)| {
                json!({
                    "instance_id": record.id.as_str(), "sync_enabled": status.sync_enabled,
                    "has_source": status.has_source, "last_run": status.last_run,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
        return Ok(());
    }
    for (record, status) in statuses {
        println!(
            "{}  sync {}  source {}",
            record.id.as_str(),
            if status.sync_enabled { "on" } else { "off" },
            if status.has_source { "set" } else { "none" },
        );
        let Some(run) = status.last_run else {
            println!("  no run yet");
            continue;
        };
        println!(
            "  last run at {} ({} ms): {}",
            time::OffsetDateTime::from_unix_timestamp(run.started_at)
                .map(|t| t.to_string())
                .unwrap_or_default(),
            run.duration_ms,
            run.outcome
        );
        let report = match run.report {
            Some(RunReport::Failed { error }) => {
                println!("  error: {error}");
                continue;
            }
            Some(RunReport::Finished(report)) => report,
            None => {
                // A report that does not read: its counts are unknown.
                println!("  created null updated null dropped null unchanged null writes null");
                continue;
            }
        };
        println!(
            "  created {} updated {} dropped {} unchanged {} writes {}",
            report.created, report.updated, report.dropped, report.unchanged, report.writes
        );
        for (what, entries) in [
            ("skipped", &report.skipped),
            ("conflict", &report.conflicts),
            ("failed", &report.failed),
        ] {
            for entry in entries {
                println!("  {what} {}: {}", entry.name, entry.reason);
            }
        }
    }
    Ok(())
}

pub async fn instance_list(
    config: &StoreConfig,
    project: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let ctx = Context::open(config).await?;
    let project = match project {
        Some(p) => Some(find_project(&ctx.store, p).await?),
        None => None,
    };
    let instances = ctx
        .store
        .list_instances(project.as_ref().map(|p| &p.id))
        .await?;
    if json {
        let rows: Vec<_> = instances
            .iter()
            .map(|i| {
                json!({
                    "id": i.id.as_str(), "project_id": i.project_id.as_str(), "name": i.name,
                    "engine": i.engine, "sync_enabled": i.sync_enabled, "settings": i.settings,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
    } else {
        println!(
            "{:<38} {:<34} {:<10} {:<5} NAME",
            "ID", "PROJECT", "ENGINE", "SYNC"
        );
        for i in instances {
            let sync = if i.sync_enabled { "on" } else { "off" };
            println!(
                "{:<38} {:<34} {:<10} {:<5} {}",
                i.id, i.project_id, i.engine, sync, i.name
            );
        }
    }
    Ok(())
}

pub async fn audit(
    config: &StoreConfig,
    project: Option<&str>,
    instance: Option<String>,
    limit: u32,
    json: bool,
) -> anyhow::Result<()> {
    let ctx = Context::open(config).await?;
    let project_id = match project {
        Some(p) => Some(find_project(&ctx.store, p).await?.id.to_string()),
        None => None,
    };
    let filter = AuditFilter {
        project_id,
        instance_id: instance,
        limit: limit.clamp(1, 10_000),
    };
    let events = ctx.store.list_audit(&filter).await?;
    let when = rfc3339;
    if json {
        let rows: Vec<_> = events
            .iter()
            .map(|e| {
                json!({
                    "at": when(e.at_ms), "request_id": e.request_id, "actor": e.actor,
                    "project_id": e.project_id, "instance_id": e.instance_id, "action": e.action,
                    "account": e.account, "status": e.status, "error_code": e.error_code,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
    } else {
        println!(
            "{:<30} {:<12} {:<18} {:<24} {:<6} {:<11} {:<36} REQUEST",
            "AT", "ACTOR", "ACTION", "ACCOUNT", "STATUS", "CODE", "INSTANCE"
        );
        for e in events {
            println!(
                "{:<30} {:<12} {:<18} {:<24} {:<6} {:<11} {:<36} {}",
                when(e.at_ms),
                e.actor,
                e.action,
                e.account.as_deref().unwrap_or("-"),
                e.status,
                e.error_code.as_deref().unwrap_or("-"),
                e.instance_id,
                e.request_id
            );
        }
    }
    Ok(())
}

/// Unix milliseconds as RFC 3339.
fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

async fn find_project(store: &Store, name: &str) -> anyhow::Result<Project> {
    store
        .project_by_name(name)
        .await?
        .ok_or_else(|| anyhow!("no project named {name:?} (see `starkeep project list`)"))
}

/// The password from `$VAR`, or from the first line of stdin.
fn read_password(env: Option<&str>) -> anyhow::Result<Zeroizing<String>> {
    let secret = read_secret(env)?;
    if secret.chars().count() < MIN_IAM_PASSWORD {
        bail!("the password must be at least {MIN_IAM_PASSWORD} characters (give it on stdin or with --password-env VAR)");
    }
    Ok(secret)
}

/// A secret from `$VAR`, or from the first line of stdin (may be empty).
fn read_secret(env: Option<&str>) -> anyhow::Result<Zeroizing<String>> {
    Ok(match env {
        Some(var) => Zeroizing::new(
            std::env::var(var).with_context(|| format!("environment variable {var} is not set"))?,
        ),
        None => {
            let mut line = Zeroizing::new(String::new());
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading the password from stdin")?;
            Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned())
        }
    })
}

/// Prints the new thing's id alone, or the JSON object with --json.
fn print_id(json: bool, id: &str, object: serde_json::Value) {
    if json {
        println!("{object}");
    } else {
        println!("{id}");
    }
}
