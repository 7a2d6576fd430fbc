//! Running the real `starkeep` binary from tests: a served instance with its output, the CLI,
//! and curl (plain or signed with an access key). A MariaDB server of a test's own is the test
//! kit's (`starkeep_testkit::mariadb`).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_starkeep");

/// Whose turn it is at the shared MariaDB (127.0.0.1:3306). A sync whose source is the shared
/// server mirrors every account there, so a test that makes accounts there, or mirrors all of
/// it, would see another's accounts in its runs; all the tests of this binary that do either take
/// this turn, one at a time.
static SHARED_SERVER: Mutex<()> = Mutex::new(());

pub fn shared_server_turn() -> MutexGuard<'static, ()> {
    SHARED_SERVER.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running `starkeep serve`, its stdout so far, and its stderr lines as they come.
pub struct Served {
    pub child: Child,
    pub addr: String,
    pub stdout: String,
    logs: mpsc::Receiver<String>,
    seen_logs: Vec<String>,
}

impl Served {
    pub fn start(data_dir: &Path, envs: &[(&str, &str)], extra: &[&str]) -> Served {
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env_remove("STARKEEP_ADMIN_PASSWORD")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("starkeep starts");
        let (tx, logs) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let (otx, orx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = otx.send(line);
            }
        });
        let mut served = Served {
            child,
            addr: String::new(),
            stdout: String::new(),
            logs,
            seen_logs: Vec::new(),
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while served.addr.is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "no listening line: {:?}",
                served.seen_logs
            );
            if let Ok(line) = served.logs.recv_timeout(Duration::from_millis(100)) {
                if line.contains("starkeep listening") {
                    served.addr = listening_addr(&line);
                }
                served.seen_logs.push(line);
            }
        }
        // The welcome text is printed before the listening line.
        std::thread::sleep(Duration::from_millis(100));
        while let Ok(line) = orx.try_recv() {
            served.stdout.push_str(&line);
            served.stdout.push('\n');
        }
        served
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every log line so far.
    pub fn logs(&mut self) -> &[String] {
        std::thread::sleep(Duration::from_millis(200));
        while let Ok(line) = self.logs.try_recv() {
            self.seen_logs.push(line);
        }
        &self.seen_logs
    }

    pub fn terminate(&mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("starkeep did not stop on SIGTERM");
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn listening_addr(line: &str) -> String {
    if let Ok(v) = serde_json::from_str::<Value>(line) {
        return v["addr"].as_str().unwrap().to_owned();
    }
    let start = line.find("addr=").expect("addr field") + 5;
    line[start..].split_whitespace().next().unwrap().to_owned()
}

pub fn cli(
    data_dir: &Path,
    args: &[&str],
    envs: &[(&str, &str)],
    stdin: Option<&str>,
) -> (bool, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    {
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

pub fn curl(args: &[&str]) -> (u16, Value) {
    let out = Command::new("curl")
        .args(["-s", "-o", "-", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl is installed");
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (
        code.parse().unwrap(),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

/// curl arguments for a signed request (`-X`, each header, the body).
pub fn signed_curl(method: &str, url: &str, body: &str, ak: &str, sk: &str) -> (u16, Value) {
    let mut args: Vec<String> = vec!["-X".into(), method.into()];
    for h in starkeep_testkit::sdk::signed_headers(method, url, body, ak, sk) {
        args.push("-H".into());
        args.push(h);
    }
    if !body.is_empty() {
        args.push("--data-binary".into());
        args.push(body.into());
    }
    args.push(url.into());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    curl(&refs)
}

/// The token the first start prints (`export STARKEEP_TOKEN='…'`).
pub fn welcome_token(welcome: &str) -> String {
    welcome
        .lines()
        .find_map(|l| l.trim().strip_prefix("export STARKEEP_TOKEN='"))
        .map(|t| t.trim_end_matches('\'').to_owned())
        .expect("a token in the welcome text")
}

/// The first start's welcome text: (token, project id, instance id).
pub fn welcome_facts(stdout: &str) -> (String, String, String) {
    let token = welcome_token(stdout);
    let project = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("project   default"))
        .map(|rest| rest.trim().to_owned())
        .expect("the project id in the welcome text");
    let instance = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("instance  demo"))
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .expect("the instance id in the welcome text");
    (token, project, instance)
}

/// A Python virtualenv named `name` under the target dir with the pinned `requirements`
/// installed (the SDK test's, the proxy test's pymysql), made again only when the pins change.
/// `STARKEEP_TEST_PYTHON` names the interpreter that makes it (default `python3`).
pub fn python_venv(requirements: &Path, name: &str) -> std::path::PathBuf {
    let pins = std::fs::read_to_string(requirements).expect("the pinned requirements");
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let python = venv.join("bin/python");
    let stamp = venv.join("starkeep-requirements.txt");
    if python.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(pins.as_str()) {
        return python;
    }
    let _ = std::fs::remove_dir_all(&venv);
    let base = std::env::var("STARKEEP_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let made = Command::new(&base)
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .unwrap_or_else(|e| panic!("{base} makes the virtualenv {name}: {e}"));
    assert!(made.success(), "{base} -m venv failed");
    let out = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(requirements)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pip install of {} failed: {}",
        requirements.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&stamp, pins).unwrap();
    python
}

/// Waits (readiness, not timing) until `check` holds.
pub fn eventually(what: &str, check: impl Fn() -> bool) {
    for _ in 0..300 {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("never happened: {what}");
}

/// Sets up the project `project`, a `mysql` instance on the MariaDB at 127.0.0.1:`target_port`
/// (its admin `admin`, the password in the variable `admin_pw.0`) with 127.0.0.1:3306 as its
/// TaurusDB source, and an IAM user's token; answers (instance id, project id, token).
pub fn provision_synced_instance(
    d: &Path,
    project: &str,
    target_port: u16,
    admin: &str,
    admin_pw: (&str, &str),
) -> (String, String, String) {
    const EMPTY: (&str, &str) = ("STARKEEP_TEST_EMPTY_PASSWORD", "");
    let envs = [
        admin_pw,
        EMPTY,
        ("STARKEEP_TEST_IAM_PW", "Iam-admin-Passw0rd"),
    ];
    assert!(cli(d, &["project", "create", project], &[], None).0);
    let (ok, id, err) = cli(
        d,
        &[
            "instance",
            "add",
            "--project",
            project,
            "--engine",
            "mysql",
            "--dsn",
            &format!("mysql://{admin}@127.0.0.1:{target_port}"),
            "--password-env",
            admin_pw.0,
            "--taurus-dsn",
            "mysql://root@127.0.0.1:3306",
            "--taurus-password-env",
            EMPTY.0,
        ],
        &envs,
        None,
    );
    assert!(ok, "{err}");
    let (ok, _, err) = cli(
        d,
        &[
            "iam",
            "user",
            "create",
            "--project",
            project,
            "--name",
            "ops",
            "--password-env",
            "STARKEEP_TEST_IAM_PW",
        ],
        &envs,
        None,
    );
    assert!(ok, "{err}");
    let (ok, token, err) = cli(
        d,
        &["token", "issue", "--project", project, "--user", "ops"],
        &[],
        None,
    );
    assert!(ok, "{err}");
    let (_, out, _) = cli(d, &["project", "list", "--json"], &[], None);
    let projects: Value = serde_json::from_str(&out).unwrap();
    let project_id = projects
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == project)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (id.trim().to_owned(), project_id, token.trim().to_owned())
}

/// Turns account sync on or off through the API (`startSyncTaurusAccount`,
/// `stopSyncTaurusAccount`); answers the status and body.
pub fn sync_switch(
    served: &Served,
    project_id: &str,
    id: &str,
    token: &str,
    action: &str,
) -> (u16, Value) {
    curl(&[
        "-X",
        "POST",
        "-H",
        &format!("X-Auth-Token: {token}"),
        "-d",
        &format!(r#"{{"action": "{action}"}}"#),
        &format!(
            "{}/v3/{project_id}/instances/{id}/starrocks/users/sync",
            served.base()
        ),
    ])
}
