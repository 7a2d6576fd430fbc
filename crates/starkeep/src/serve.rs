//! `starkeep serve`: bootstrap an empty store, then serve the API until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use rand::distributions::{Alphanumeric, DistString};
use starkeep_api::external_iam::ExternalIam;
use starkeep_api::throttle::FailureLimit;
use starkeep_api::{router, AppState, AuthOptions, Limits};
use starkeep_auth::{password, AccessKeys, Iam, Role};
use starkeep_engine::EmbeddedEngine;
use starkeep_engine::Instances;
use starkeep_store::{Store, StoreError};
use starkeep_sync::{Reconciler, SyncSchedule};
use tokio::net::TcpListener;
use zeroize::Zeroizing;

use crate::cli::ServeArgs;
use crate::context::{Context, StoreConfig};
use crate::server::{self, ConnectionLimits};

/// The names the first start creates.
const DEFAULT_PROJECT: &str = "default";
const ADMIN_USER: &str = "admin";
const DEMO_INSTANCE: &str = "demo";
const DEMO_DATABASES: [&str; 3] = ["default", "information_schema", "sales"];

pub async fn run(config: &StoreConfig, args: ServeArgs) -> anyhow::Result<()> {
    let ctx = Context::open(config).await?;
    let iam = ctx.iam(Duration::from_secs(args.token_ttl_secs)).await?;
    let first_start = bootstrap(&ctx.store, &iam).await?;

    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(server::tls_acceptor(cert, key)?),
        (None, None) => None,
        _ => anyhow::bail!("--tls-cert and --tls-key go together"),
    };
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    if let Some(first) = first_start {
        print_welcome(scheme, addr, &first);
    }
    tracing::info!(%addr, scheme, store = ?ctx.store.backend(), "starkeep listening");

    let limits = Limits {
        body_bytes: args.body_limit,
        request_timeout: Duration::from_secs(args.request_timeout_secs.max(1)),
    };
    let auth = AuthOptions {
        access_keys: Some(AccessKeys::new(ctx.store.clone(), ctx.secret_box().await?)),
        external_iam: match &args.iam_url {
            Some(url) => {
                tracing::info!(iam = %url, "tokens starkeep did not issue are validated by an external IAM");
                Some(ExternalIam::new(url).map_err(|e| anyhow::anyhow!(e))?)
            }
            None => None,
        },
        failure_limit: FailureLimit {
            burst: args.auth_failure_burst,
            interval: Duration::from_secs(args.auth_failure_interval_secs.max(1)),
        },
    };
    let instances = Instances::with_secrets(ctx.store.clone(), ctx.secret_box().await?);
    tokio::spawn(repair_loop(
        instances.clone(),
        Duration::from_secs(args.repair_interval_secs.max(1)),
        // No request lives longer than its time limit (it is dropped then), so a create
        // still pending after twice that is unfinished for good.
        limits.request_timeout * 2,
    ));
    let reconciler = Reconciler::new(
        instances.clone(),
        format!(
            "starkeep-{}-{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ),
        SyncSchedule {
            interval: Duration::from_secs(args.sync_interval_secs.max(1)),
        },
    );
    tracing::info!(
        holder = reconciler.holder(),
        "account sync reconciler started"
    );
    tokio::spawn(reconciler.clone().run());
    let app = router(
        AppState::new(ctx.store.clone(), iam, instances, auth),
        limits,
    );
    let connections = ConnectionLimits {
        max_connections: args.max_connections,
        header_read_timeout: Duration::from_secs(args.header_read_timeout_secs.max(1)),
        ..ConnectionLimits::default()
    };
    server::serve(listener, app, tls, connections, shutdown_signal())
        .await
        .context("serving")?;
    match reconciler.step_down().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(leases = n, "handed the account sync leases over"),
        Err(e) => tracing::warn!(error = %e, "could not hand the account sync leases over"),
    }
    ctx.store.close().await;
    tracing::info!("starkeep stopped");
    Ok(())
}

/// What the first start made, for the welcome text.
struct FirstStart {
    project_id: String,
    instance_id: String,
    /// The generated admin password, if none was given in `STARKEEP_ADMIN_PASSWORD`.
    generated_password: Option<Zeroizing<String>>,
    token: String,
}

/// On a store with no IAM user yet: creates the project `default` (if missing), the user
/// `admin` with the admin role in it, and an embedded demo instance (if the project has none).
/// Each step checks before it acts, so a start that died half-way is completed by the next; when
/// replicas start together on one empty store, the one that creates `admin` does the rest.
async fn bootstrap(store: &Store, iam: &Iam) -> anyhow::Result<Option<FirstStart>> {
    if store.has_users().await? {
        return Ok(None);
    }
    let project = match store.create_project(DEFAULT_PROJECT).await {
        Ok(p) => p,
        Err(StoreError::Conflict) => store
            .project_by_name(DEFAULT_PROJECT)
            .await?
            .context("the default project vanished during bootstrap")?,
        Err(e) => return Err(e.into()),
    };
    let (secret, generated) = match std::env::var("STARKEEP_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => (Zeroizing::new(p), false),
        _ => (
            Zeroizing::new(Alphanumeric.sample_string(&mut rand::thread_rng(), 20)),
            true,
        ),
    };
    let to_hash = secret.clone();
    let phc = tokio::task::spawn_blocking(move || password::hash(&to_hash)).await?;
    let user = match store
        .create_user(ADMIN_USER, &phc, &project.id, Role::Admin.as_str())
        .await
    {
        Ok(user) => user,
        // Another replica is bootstrapping the same store.
        Err(StoreError::Conflict) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let existing = store.list_instances(Some(&project.id)).await?;
    let instance = match existing.into_iter().next() {
        Some(i) => i,
        None => {
            let dbs: Vec<String> = DEMO_DATABASES.map(String::from).to_vec();
            EmbeddedEngine::provision(store, &project.id, DEMO_INSTANCE, &dbs).await?
        }
    };
    let (token, _) = iam.issue(&project, &user.id, &user.name).await?;
    tracing::info!(project = %project.id, instance = %instance.id, "bootstrapped an empty store");
    Ok(Some(FirstStart {
        project_id: project.id.to_string(),
        instance_id: instance.id.to_string(),
        generated_password: generated.then_some(secret),
        token,
    }))
}

fn print_welcome(scheme: &str, addr: SocketAddr, first: &FirstStart) {
    let host = if addr.ip().is_unspecified() {
        format!("127.0.0.1:{}", addr.port())
    } else {
        addr.to_string()
    };
    let base = format!(
        "{scheme}://{host}/v3/{}/instances/{}/starrocks",
        first.project_id, first.instance_id
    );
    let password_line = match &first.generated_password {
        Some(p) => format!(
            "password {} (printed once; set STARKEEP_ADMIN_PASSWORD to choose it)",
            p.as_str()
        ),
        None => "password from STARKEEP_ADMIN_PASSWORD".to_owned(),
    };
    println!(
        "starkeep: first start, made what a first run needs:
  project   {DEFAULT_PROJECT:<8} {pid}
  user      {ADMIN_USER:<8} {password_line}
  instance  {DEMO_INSTANCE:<8} {iid}  engine: embedded (accounts live in starkeep's own store; no database server)

Try it (the token below is valid for 24 hours; get another with `starkeep token issue --project {DEFAULT_PROJECT} --user {ADMIN_USER}`):

  export STARKEEP_TOKEN='{token}'
  curl -s -X POST -H \"X-Auth-Token: $STARKEEP_TOKEN\" -H 'Content-Type: application/json' \\
       -d '{{\"user_name\": \"user_test\", \"password\": \"Rds_1234\", \"databases\": [\"sales\"]}}' \\
       '{base}/users'
  curl -s -H \"X-Auth-Token: $STARKEEP_TOKEN\" '{base}/users?limit=10&offset=0'
",
        pid = first.project_id,
        iid = first.instance_id,
        token = first.token,
    );
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// Drops what unfinished account creates left behind, now and every `interval`. A create counts
/// as unfinished once it is older than `grace`, longer than any request may take.
async fn repair_loop(instances: Instances, interval: Duration, grace: Duration) {
    let mut ticker = tokio::time::interval(interval);
    loop {
        ticker.tick().await;
        match instances.repair_pending(grace).await {
            Ok(report) if report.dropped + report.cleared + report.left > 0 => {
                tracing::info!(
                    dropped = report.dropped,
                    cleared = report.cleared,
                    left = report.left,
                    "repaired unfinished account creates"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "repair pass failed"),
        }
    }
}
