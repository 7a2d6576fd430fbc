//! `starkeep proxy` and `starkeep proxy explain`: from the command line and the instance's
//! record to a running `starkeep-proxy` (its backends, admin connections, TLS, metrics
//! endpoint). The proxy itself lives in `starkeep-proxy`.
//!
//! Backends come from the instance: the row primary is its TaurusDB source, the column store is
//! the instance's own server, and `instance node` adds row replicas and column nodes with
//! weights (a running proxy reads them again with its other refreshes). The admin passwords in
//! the record open with the store's secret key; they only read account hashes (source) and the
//! table list (column store).

use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use starkeep_api::throttle::FailureLimit;
use starkeep_auth::SecretBox;
use starkeep_engine::{EngineConfig, MysqlWireSettings};
use starkeep_proxy::{AdminTarget, BackendTls, ProxyConfig, Shared};

use crate::admin::find_instance;
use crate::cli::ProxyArgs;
use crate::context::{Context, StoreConfig};
use crate::serve::shutdown_signal;
use crate::server;

/// The parts of a proxy's configuration that do not come from the instance.
struct Tuning {
    threshold_rows: f64,
    decision_ttl: Duration,
    decision_capacity: usize,
    refresh: Duration,
    connect_timeout: Duration,
    retry_down_after: Duration,
    failure_limit: FailureLimit,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

fn admin_target(settings: &MysqlWireSettings, secrets: &SecretBox) -> anyhow::Result<AdminTarget> {
    let password = secrets
        .open_string(&settings.password)
        .map_err(|_| anyhow!("an admin password does not open with this store's secret key"))?;
    Ok(AdminTarget {
        host: settings.host.clone(),
        port: settings.port,
        user: settings.user.clone(),
        password,
    })
}

/// TLS toward a server, when its DSN asked for it (`require_ssl=true`, `ssl_ca`, `verify_ca`).
fn backend_tls(settings: &MysqlWireSettings) -> anyhow::Result<Option<BackendTls>> {
    let Some(tls) = &settings.tls else {
        return Ok(None);
    };
    let ca = tls.ca.as_deref().map(std::path::Path::new);
    BackendTls::new(ca, tls.verify)
        .map(Some)
        .map_err(|e| anyhow!("TLS toward {}: {e}", addr(settings)))
}

fn addr(settings: &MysqlWireSettings) -> String {
    if settings.host.contains(':') {
        format!("[{}]:{}", settings.host, settings.port)
    } else {
        format!("{}:{}", settings.host, settings.port)
    }
}

async fn shared(
    config: &StoreConfig,
    instance_id: &str,
    tuning: Tuning,
) -> anyhow::Result<std::sync::Arc<Shared>> {
    let ctx = Context::open(config).await?;
    let record = find_instance(&ctx.store, instance_id).await?;
    let settings = match EngineConfig::of(&record)
        .with_context(|| format!("reading the settings of instance {}", record.id))?
    {
        EngineConfig::MysqlWire { settings, .. } => settings,
        EngineConfig::Embedded(_) => bail!(
            "instance {} is embedded: it has no database server to send statements to",
            record.id
        ),
    };
    let Some(source) = settings.source.as_deref() else {
        bail!(
            "instance {} has no TaurusDB source (the row store); name one with \
             `starkeep instance set-source`",
            record.id
        );
    };
    let secrets = ctx.secret_box().await?;
    let proxy = ProxyConfig {
        instance: record.id.clone(),
        row_primary: addr(source),
        own_column: addr(&settings),
        source_admin: admin_target(source, &secrets)?,
        column_admin: admin_target(&settings, &secrets)?,
        threshold_rows: tuning.threshold_rows,
        decision_ttl: tuning.decision_ttl,
        decision_capacity: tuning.decision_capacity,
        refresh: tuning.refresh,
        connect_timeout: tuning.connect_timeout,
        retry_down_after: tuning.retry_down_after,
        failure_limit: tuning.failure_limit,
        tls: tuning.tls,
        row_tls: backend_tls(source)?,
        column_tls: backend_tls(&settings)?,
    };
    Ok(Shared::start(proxy, ctx.store.clone()).await?)
}

pub async fn run(config: &StoreConfig, args: ProxyArgs) -> anyhow::Result<()> {
    let instance_id = args.instance.as_deref().expect("clap requires --instance");
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(server::tls_acceptor(cert, key)?),
        (None, None) => None,
        _ => bail!("--tls-cert and --tls-key go together"),
    };
    let tuning = Tuning {
        threshold_rows: args.column_threshold,
        decision_ttl: Duration::from_secs(args.decision_ttl_secs),
        decision_capacity: args.decision_cache_capacity,
        refresh: Duration::from_secs(args.refresh_secs.max(1)),
        connect_timeout: Duration::from_secs(args.connect_timeout_secs.max(1)),
        retry_down_after: Duration::from_secs(args.retry_down_secs.max(1)),
        failure_limit: FailureLimit {
            burst: args.auth_failure_burst,
            interval: Duration::from_secs(args.auth_failure_interval_secs.max(1)),
        },
        tls,
    };
    if let Some(metrics_addr) = args.metrics_listen {
        starkeep_api::metrics::install();
        starkeep_proxy::metrics::describe();
        let listener = tokio::net::TcpListener::bind(metrics_addr)
            .await
            .with_context(|| format!("listening on {metrics_addr} for metrics"))?;
        let bound = listener.local_addr()?;
        let app = axum::Router::new().route(
            "/metrics",
            axum::routing::get(starkeep_api::metrics::metrics),
        );
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "the metrics endpoint stopped");
            }
        });
        tracing::info!(addr = %bound, "starkeep proxy metrics at /metrics");
    }
    let shared = shared(config, instance_id, tuning).await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let bound = listener.local_addr()?;
    tracing::info!(
        addr = %bound,
        instance = %instance_id,
        row_primary = %shared.config.row_primary,
        tls = shared.config.tls.is_some(),
        "starkeep proxy listening"
    );
    starkeep_proxy::serve(shared, listener, args.max_connections, shutdown_signal()).await;
    Ok(())
}

pub async fn explain(
    config: &StoreConfig,
    instance_id: &str,
    database: Option<&str>,
    threshold_rows: f64,
    sql: &str,
    json: bool,
) -> anyhow::Result<()> {
    let tuning = Tuning {
        threshold_rows,
        decision_ttl: Duration::from_secs(1),
        decision_capacity: 16,
        refresh: Duration::from_secs(60),
        connect_timeout: Duration::from_secs(5),
        retry_down_after: Duration::from_secs(10),
        failure_limit: FailureLimit::default(),
        tls: None,
    };
    let shared = shared(config, instance_id, tuning).await?;
    let decision = starkeep_proxy::explain(&shared, sql, database)
        .await
        .context("running EXPLAIN at the TaurusDB source")?;
    if json {
        let out = serde_json::json!({
            "route": decision.route.as_str(),
            "rule": decision.rule.as_str(),
            "detail": decision.rule.to_string(),
            "estimated_rows": decision.estimate,
            "threshold_rows": threshold_rows,
        });
        println!("{out}");
    } else {
        println!("route: {}", decision.route.as_str());
        println!("rule: {}", decision.rule);
        match decision.estimate {
            Some(rows) => {
                println!("estimate: {rows} rows read (threshold {threshold_rows})")
            }
            None => println!("estimate: none (cost did not decide)"),
        }
    }
    Ok(())
}
