//! Scenario 7, the proxy: point selects by primary key at concurrency 1 and 32, in one run,
//! through `starkeep proxy`, straight to the same MariaDB, and through the floor, a relay in a
//! process of its own that only copies bytes ([`crate::relay`]); and the proxy's resident memory
//! with 256 idle clients logged in.
//!
//! The setup is the one the proxy is for. The row store is the MariaDB on 127.0.0.1:3306 (the
//! TaurusDB source); the column store is a MariaDB of the bench's own with the same table and
//! rows; a mysql instance of the running `starkeep serve` has them as its server and its source,
//! and sync is switched on through the API, so the bench's account is mirrored. Every point
//! select then takes the proxy's whole routing path: the account is mirrored, the table is in
//! the column store, cost decides (`EXPLAIN` once per statement shape, then the decision cache)
//! and sends it to the row store. A warm-up before each measured window fills that cache, so
//! the figures are those of cached routes. All three sides run the same text-protocol
//! statements, as the same account, over TCP, with the same client ([`point_load`]).

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use hyper::{Method, StatusCode};
use mysql_async::prelude::Queryable as _;
use mysql_async::{Conn, OptsBuilder};
use rand::Rng as _;

use super::Settings;
use crate::http::{self, Call};
use crate::load::{self, LoadResult};
use crate::mariadb::{self, OwnMariaDb};
use crate::proc;
use crate::progress;
use crate::relay;
use crate::report::{thousands, Bound, Ratio, Scenario, Table, TargetCheck};
use crate::server::Starkeep;

/// Rows in the table the point selects read.
const ROWS: u32 = 10_000;
/// Concurrencies measured.
const CONCURRENCIES: [usize; 2] = [1, 32];
/// Idle client connections at which the proxy's memory is read.
const IDLE_CLIENTS: usize = 256;
const RELAY_TARGET: f64 = 0.9;
const MEMORY_BUDGET_MIB: f64 = 64.0;
/// The bench account's password (a throwaway account, dropped at the end).
const PASSWORD: &str = "Skb_proxy_pw_7";

/// The three ways to the same MariaDB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Direct,
    Relay,
    Proxy,
}

impl Side {
    fn as_str(self) -> &'static str {
        match self {
            Side::Direct => "direct",
            Side::Relay => "relay",
            Side::Proxy => "proxy",
        }
    }
}

fn targets() -> Vec<String> {
    let mut t: Vec<String> = CONCURRENCIES
        .iter()
        .map(|c| {
            format!("proxy ≥ {RELAY_TARGET}× the relay's point selects/s at c={c}, routes cached")
        })
        .collect();
    t.push(format!(
        "proxy resident memory under {MEMORY_BUDGET_MIB} MiB at {IDLE_CLIENTS} idle client connections"
    ));
    t
}

fn ratio_slots() -> Vec<(String, Option<Bound>)> {
    let mut slots = Vec::new();
    for c in CONCURRENCIES {
        slots.push((
            format!("proxy/relay point selects/s, c={c}"),
            Some(Bound::AtLeast(RELAY_TARGET)),
        ));
        slots.push((format!("proxy/direct point selects/s, c={c}"), None));
    }
    slots.push((
        format!("proxy RSS at {IDLE_CLIENTS} idle clients ÷ {MEMORY_BUDGET_MIB} MiB"),
        Some(Bound::AtMost(1.0)),
    ));
    slots
}

pub async fn run(settings: &Settings, server: &Starkeep) -> Scenario {
    let mut s = Scenario::new(
        7,
        "Proxy",
        &format!(
            "point selects by primary key (text protocol, {} rows) through `starkeep proxy` at \
             concurrency 1 and 32, its routes cached; the proxy's resident memory with \
             {IDLE_CLIENTS} idle clients logged in",
            thousands(ROWS as f64)
        ),
        "the same selects, as the same account, straight to the same MariaDB and through a \
         byte-copying relay in a process of its own (the floor), in the same run",
    );
    let source = match source_conn(&settings.mysql_url).await {
        Ok(conn) => conn,
        Err(e) => return not_run(s, &mariadb::unreachable(&settings.mysql_url, &e)),
    };
    let names = Names::new();
    let outcome = measure(settings, server, source, &names, &mut s).await;
    if let Err(e) = cleanup(&settings.mysql_url, &names).await {
        s.notes.push(format!(
            "Dropping the bench's database and account from 3306 failed: {e}"
        ));
    }
    match outcome {
        Ok(()) => s,
        Err(e) => {
            progress::line(format!("scenario 7 did not complete: {e:#}"));
            not_run(s, &format!("failed: {e:#}"))
        }
    }
}

/// The scenario with every target not run for `reason`, keeping what it measured so far.
fn not_run(s: Scenario, reason: &str) -> Scenario {
    let targets = targets();
    let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
    let slots = ratio_slots();
    let slots: Vec<(&str, Option<Bound>)> = slots.iter().map(|(l, b)| (l.as_str(), *b)).collect();
    let mut failed = s.clone().not_run(reason, &targets, &slots);
    failed.figures = s.figures;
    failed.notes = s.notes;
    failed.table = s.table;
    failed
}

/// A connection to the shared MariaDB, over TCP as the URL says.
async fn source_conn(mysql_url: &str) -> anyhow::Result<Conn> {
    let opts = OptsBuilder::from_opts(mysql_async::Opts::from_url(mysql_url)?).prefer_socket(false);
    Ok(Conn::new(opts).await?)
}

/// The bench's database and account, unique to this process.
struct Names {
    database: String,
    user: String,
}

impl Names {
    fn new() -> Names {
        let tag = format!("skbproxy_{}", std::process::id());
        Names {
            database: tag.clone(),
            user: tag,
        }
    }
}

/// Where a side's clients connect, and as whom.
#[derive(Clone)]
struct Target {
    addr: SocketAddr,
    user: String,
    database: String,
}

impl Target {
    /// The client's options. The server settings mysql_async would otherwise ask for after
    /// logging in are given, so a connection that logs in and waits sends no statement (and
    /// the proxy opens no backend connection for it).
    fn opts(&self) -> OptsBuilder {
        OptsBuilder::default()
            .max_allowed_packet(Some(16 * 1024 * 1024))
            .wait_timeout(Some(28_800))
            .ip_or_hostname(self.addr.ip().to_string())
            .tcp_port(self.addr.port())
            .user(Some(self.user.clone()))
            .pass(Some(PASSWORD))
            .db_name(Some(self.database.clone()))
            .prefer_socket(false)
    }
}

async fn measure(
    settings: &Settings,
    server: &Starkeep,
    mut source: Conn,
    names: &Names,
    s: &mut Scenario,
) -> anyhow::Result<()> {
    let source_opts = mysql_async::Opts::from_url(&settings.mysql_url)?;
    let source_addr: SocketAddr = format!(
        "{}:{}",
        source_opts.ip_or_hostname(),
        source_opts.tcp_port()
    )
    .parse()
    .context("the MariaDB URL must name an IP address for the relay")?;
    progress::line(format!(
        "scenario 7: a table of {} rows and an account at 127.0.0.1:3306",
        thousands(ROWS as f64)
    ));
    load_table(&mut source, &names.database).await?;
    source
        .query_drop(format!("DROP USER IF EXISTS '{}'@'%'", names.user))
        .await?;
    source
        .query_drop(format!(
            "CREATE USER '{}'@'%' IDENTIFIED BY '{PASSWORD}'",
            names.user
        ))
        .await?;
    source
        .query_drop(format!(
            "GRANT SELECT ON `{}`.* TO '{}'@'%'",
            names.database, names.user
        ))
        .await?;
    drop(source);

    progress::line("scenario 7: the column store, a MariaDB of the bench's own");
    let column = mariadb::start_own().await?;
    load_table(&mut column.root_conn().await?, &names.database).await?;

    progress::line("scenario 7: a mysql instance with 3306 as its TaurusDB source, sync on");
    let instance = add_instance(server, &column, &settings.mysql_url)?;
    switch_sync(server, &instance, true).await?;
    let mirrored = wait_mirrored(server, &instance, &names.user).await;
    let proxied = async {
        mirrored?;
        let proxy = ProxyProcess::start(server, &instance)?;
        let direct = Target {
            addr: source_addr,
            user: names.user.clone(),
            database: names.database.clone(),
        };
        let proxy_target = Target {
            addr: proxy.addr,
            ..direct.clone()
        };
        proxy.wait_ready(&proxy_target).await?;
        let relay = relay::start(source_addr)?;
        let relay_target = Target {
            addr: relay.addr,
            ..direct.clone()
        };
        progress::line(format!(
            "scenario 7: proxy on {} (pid {}), relay on {} (pid {})",
            proxy.addr,
            proxy.pid(),
            relay.addr,
            relay.pid()
        ));
        explain_note(server, &instance, &names.database, s);
        throughput(settings, [&direct, &relay_target, &proxy_target], s).await?;
        idle_memory(&proxy, &proxy_target, s).await
    }
    .await;
    if let Err(e) = switch_sync(server, &instance, false).await {
        s.notes
            .push(format!("Switching sync off again failed: {e:#}"));
    }
    proxied
}

/// `points` in `database`, made afresh with [`ROWS`] rows (the same on every server).
async fn load_table(conn: &mut Conn, database: &str) -> anyhow::Result<()> {
    conn.query_drop(format!("DROP DATABASE IF EXISTS `{database}`"))
        .await?;
    conn.query_drop(format!("CREATE DATABASE `{database}`"))
        .await?;
    conn.query_drop(format!(
        "CREATE TABLE `{database}`.points (id INT PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, \
         pad CHAR(60) NOT NULL)"
    ))
    .await?;
    let ids: Vec<u32> = (1..=ROWS).collect();
    for chunk in ids.chunks(1000) {
        let values = chunk
            .iter()
            .map(|i| format!("({i}, {}, 'c-{i:0>110}', 'pad-{i:0>50}')", i % 1000))
            .collect::<Vec<_>>()
            .join(", ");
        conn.query_drop(format!("INSERT INTO `{database}`.points VALUES {values}"))
            .await?;
    }
    Ok(())
}

/// Drops the bench's account and database from the shared MariaDB.
async fn cleanup(mysql_url: &str, names: &Names) -> anyhow::Result<()> {
    let mut conn = source_conn(mysql_url).await?;
    conn.query_drop(format!("DROP USER IF EXISTS '{}'@'%'", names.user))
        .await?;
    conn.query_drop(format!("DROP DATABASE IF EXISTS `{}`", names.database))
        .await?;
    Ok(())
}

/// Runs the server's CLI on its data dir; answers stdout.
fn cli(server: &Starkeep, args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<String> {
    let mut cmd = Command::new(server.binary());
    cmd.arg("--data-dir")
        .arg(server.data_path())
        .args(args)
        .env_remove("STARKEEP_DATABASE_URL")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .with_context(|| format!("running starkeep {}", args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "starkeep {} failed: {}",
            args.first().copied().unwrap_or(""),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Adds the mysql instance (column store: `column`; TaurusDB source: the shared MariaDB) to the
/// server's own project; answers its id. Passwords go through the environment.
fn add_instance(server: &Starkeep, column: &OwnMariaDb, mysql_url: &str) -> anyhow::Result<String> {
    let projects: serde_json::Value =
        serde_json::from_str(&cli(server, &["project", "list", "--json"], &[])?)?;
    let project = projects
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["id"] == server.project_id.as_str()))
        .and_then(|p| p["name"].as_str())
        .context("the server's project is not in its list")?
        .to_owned();
    let (source_dsn, source_password) = mariadb::split_password(mysql_url);
    let added = cli(
        server,
        &[
            "instance",
            "add",
            "--project",
            &project,
            "--engine",
            "mysql",
            "--name",
            "proxy-bench",
            "--dsn",
            &column.admin_dsn(),
            "--password-env",
            "SKB_COLUMN_PASSWORD",
            "--taurus-dsn",
            &source_dsn,
            "--taurus-password-env",
            "SKB_SOURCE_PASSWORD",
            "--json",
        ],
        &[
            ("SKB_COLUMN_PASSWORD", mariadb::ADMIN_PASSWORD),
            ("SKB_SOURCE_PASSWORD", &source_password),
        ],
    )?;
    let added: serde_json::Value = serde_json::from_str(&added)?;
    Ok(added["id"]
        .as_str()
        .context("instance add printed no id")?
        .to_owned())
}

/// Switches account sync of `instance` on or off through the API, as a client would.
async fn switch_sync(server: &Starkeep, instance: &str, on: bool) -> anyhow::Result<()> {
    let action = if on {
        "startSyncTaurusAccount"
    } else {
        "stopSyncTaurusAccount"
    };
    let call = Call::new(
        Method::POST,
        &format!(
            "/v3/{}/instances/{instance}/starrocks/users/sync",
            server.project_id
        ),
        Some(&server.token),
    )?
    .json(&serde_json::json!({ "action": action }));
    let mut conn = http::Conn::connect(server.addr).await?;
    let (status, body) = conn.send(&call).await?;
    if status != StatusCode::OK {
        bail!(
            "{action} answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    Ok(())
}

/// Waits (60 s at most) until sync has mirrored `user` into the column store.
async fn wait_mirrored(server: &Starkeep, instance: &str, user: &str) -> anyhow::Result<()> {
    let store = server.open_store().await?;
    let id = starkeep_domain::InstanceId::parse(instance).map_err(|e| anyhow::anyhow!("{e}"))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if store.owned_accounts(&id).await?.contains(user) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("sync did not mirror {user} into the column store within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A `starkeep proxy` process of this run.
struct ProxyProcess {
    child: Child,
    addr: SocketAddr,
    log_dir: tempfile::TempDir,
}

impl ProxyProcess {
    fn start(server: &Starkeep, instance: &str) -> anyhow::Result<ProxyProcess> {
        // A free port: the proxy is told where to listen.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let log_dir = tempfile::Builder::new()
            .prefix("starkeep-bench-proxy-")
            .tempdir()?;
        let child = Command::new(server.binary())
            .arg("--data-dir")
            .arg(server.data_path())
            .args([
                "proxy",
                "--instance",
                instance,
                "--listen",
                &addr.to_string(),
            ])
            .env_remove("RUST_LOG")
            .env_remove("STARKEEP_DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(log_dir.path().join("stdout.log"))?)
            .stderr(std::fs::File::create(log_dir.path().join("stderr.log"))?)
            .spawn()
            .with_context(|| format!("starting {} proxy", server.binary().display()))?;
        Ok(ProxyProcess {
            child,
            addr,
            log_dir,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stderr_tail(&self) -> String {
        let text =
            std::fs::read_to_string(self.log_dir.path().join("stderr.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(5)..].join(" / ")
    }

    /// Waits (30 s at most) until a client can log in through the proxy and read a row.
    async fn wait_ready(&self, target: &Target) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let attempt = async {
                let mut conn = Conn::new(target.opts()).await?;
                let row: Option<u32> = conn
                    .query_first("SELECT id FROM points WHERE id = 1")
                    .await?;
                conn.disconnect().await?;
                anyhow::ensure!(row == Some(1), "the proxy answered {row:?} for row 1");
                Ok::<_, anyhow::Error>(())
            };
            match attempt.await {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() > deadline => {
                    bail!(
                        "the proxy did not serve a client within 30 s: {e:#} (its log: {})",
                        self.stderr_tail()
                    )
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Records where the proxy sends the point select, as `starkeep proxy explain` tells it.
fn explain_note(server: &Starkeep, instance: &str, database: &str, s: &mut Scenario) {
    let sql = "SELECT id, k, c, pad FROM points WHERE id = 4711";
    match cli(
        server,
        &[
            "proxy",
            "explain",
            "--instance",
            instance,
            "--database",
            database,
            sql,
        ],
        &[],
    ) {
        Ok(out) => s.notes.push(format!(
            "`starkeep proxy explain` for the point select: {}",
            out.trim().replace('\n', "; ")
        )),
        Err(e) => s
            .notes
            .push(format!("`starkeep proxy explain` failed: {e:#}")),
    }
}

/// The three sides at each concurrency, in alternating order, two windows each, merged.
async fn throughput(
    settings: &Settings,
    sides: [&Target; 3],
    s: &mut Scenario,
) -> anyhow::Result<()> {
    let warmup = Duration::from_secs(1);
    let window = settings.pick(Duration::from_secs(3), Duration::from_secs(10));
    let order = [Side::Direct, Side::Relay, Side::Proxy];
    let mut table = Table::new(&["concurrency", "side", "selects/s", "p50", "p99", "errors"]);
    let mut ratios = Vec::new();
    for c in CONCURRENCIES {
        let mut results = [
            LoadResult::empty(),
            LoadResult::empty(),
            LoadResult::empty(),
        ];
        for round in 0..2 {
            for k in 0..3 {
                // Round 0 goes direct, relay, proxy; round 1 the other way round.
                let i = if round == 0 { k } else { 2 - k };
                progress::line(format!(
                    "scenario 7: {} at c={c}, window {}",
                    order[i].as_str(),
                    round + 1
                ));
                let r = point_load(sides[i], c, warmup, window).await?;
                results[i].merge(&r);
            }
        }
        for (i, side) in order.iter().enumerate() {
            let r = &results[i];
            table.row(vec![
                c.to_string(),
                side.as_str().to_owned(),
                thousands(r.req_per_s()),
                format!("{:.3} ms", r.latency_ms(0.5)),
                format!("{:.3} ms", r.latency_ms(0.99)),
                r.errors.to_string(),
            ]);
            s.figure(
                format!("c{c}.{}.selects_per_s", side.as_str()),
                r.req_per_s(),
                "1/s",
            );
            s.figure(
                format!("c{c}.{}.p99_ms", side.as_str()),
                r.latency_ms(0.99),
                "ms",
            );
            anyhow::ensure!(
                r.errors == 0,
                "{} errors through the {} at c={c}",
                r.errors,
                side.as_str()
            );
        }
        let [direct, relay, proxy] = &results;
        let to_relay = proxy.req_per_s() / relay.req_per_s();
        let to_direct = proxy.req_per_s() / direct.req_per_s();
        progress::line(format!(
            "scenario 7: c={c}: proxy {} /s, relay {} /s, direct {} /s: proxy/relay {to_relay:.2}, proxy/direct {to_direct:.2}",
            thousands(proxy.req_per_s()),
            thousands(relay.req_per_s()),
            thousands(direct.req_per_s())
        ));
        s.targets.push(TargetCheck::checked(
            &targets()[if c == 1 { 0 } else { 1 }],
            format!(
                "{to_relay:.2}× ({} vs {} selects/s; proxy/direct {to_direct:.2}×)",
                thousands(proxy.req_per_s()),
                thousands(relay.req_per_s())
            ),
            to_relay >= RELAY_TARGET,
        ));
        ratios.push(Ratio {
            label: format!("proxy/relay point selects/s, c={c}"),
            value: Some(to_relay),
            target: Some(Bound::AtLeast(RELAY_TARGET)),
        });
        ratios.push(Ratio {
            label: format!("proxy/direct point selects/s, c={c}"),
            value: Some(to_direct),
            target: None,
        });
        s.figure(format!("c{c}.proxy_over_relay"), to_relay, "x");
        s.figure(format!("c{c}.proxy_over_direct"), to_direct, "x");
    }
    s.table = table;
    s.ratios.extend(ratios);
    Ok(())
}

/// Point selects by primary key from `concurrency` clients of `target` for `window` after
/// `warmup`, closed-loop, each on its own connection (all logged in before the clock starts).
async fn point_load(
    target: &Target,
    concurrency: usize,
    warmup: Duration,
    window: Duration,
) -> anyhow::Result<LoadResult> {
    let mut conns = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        conns.push(Conn::new(target.opts()).await?);
    }
    let result = load::closed_loop(conns, warmup, window, |mut conn: Conn| async move {
        let id = rand::thread_rng().gen_range(1..=ROWS);
        let row: Option<(u32, u32, String, String)> = conn
            .query_first(format!("SELECT id, k, c, pad FROM points WHERE id = {id}"))
            .await?;
        let ok = matches!(row, Some((got, ..)) if got == id);
        Ok((conn, ok))
    })
    .await?;
    Ok(result)
}

/// The proxy's resident memory with [`IDLE_CLIENTS`] clients logged in and idle.
async fn idle_memory(
    proxy: &ProxyProcess,
    target: &Target,
    s: &mut Scenario,
) -> anyhow::Result<()> {
    progress::line(format!(
        "scenario 7: {IDLE_CLIENTS} idle clients on the proxy"
    ));
    let before = proc::memory(proxy.pid())?;
    let mut clients = Vec::with_capacity(IDLE_CLIENTS);
    for _ in 0..IDLE_CLIENTS {
        clients.push(Conn::new(target.opts()).await?);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = proc::memory(proxy.pid())?;
    for c in clients {
        let _ = c.disconnect().await;
    }
    let mib = idle.rss_mib();
    progress::line(format!(
        "scenario 7: proxy resident memory {mib:.1} MiB at {IDLE_CLIENTS} idle clients"
    ));
    s.figure("idle256.proxy_rss_mib", mib, "MiB");
    s.figure("idle256.proxy_hwm_mib", idle.hwm_mib(), "MiB");
    s.figure("after_load.proxy_rss_mib", before.rss_mib(), "MiB");
    s.table.row(vec![
        IDLE_CLIENTS.to_string(),
        "proxy, idle clients".into(),
        format!("RSS {mib:.1} MiB"),
        format!("peak {:.1} MiB", idle.hwm_mib()),
        format!("before {:.1} MiB", before.rss_mib()),
        String::new(),
    ]);
    s.targets.push(TargetCheck::checked(
        &targets()[2],
        format!(
            "{mib:.1} MiB (after the load, before the idle clients: {:.1} MiB)",
            before.rss_mib()
        ),
        mib < MEMORY_BUDGET_MIB,
    ));
    s.ratios.push(Ratio {
        label: format!("proxy RSS at {IDLE_CLIENTS} idle clients ÷ {MEMORY_BUDGET_MIB} MiB"),
        value: Some(mib / MEMORY_BUDGET_MIB),
        target: Some(Bound::AtMost(1.0)),
    });
    Ok(())
}
