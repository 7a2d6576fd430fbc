//! Running the real `starkeep` binary from tests: a served instance with its output, the CLI,
//! and curl (plain or signed with an access key). A MariaDB server of a test's own is the test
//! kit's (`starkeep_testkit::mariadb`).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_starkeep");

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
