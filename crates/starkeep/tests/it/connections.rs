//! Connection handling of the real binary: HTTPS with a given certificate, and bounds that keep
//! slow, idle or too many clients from holding the server.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common;
use crate::common::{curl, Served};

/// Reads until the peer closes (or `limit` passes); answers how long that took and what came.
fn wait_for_close(stream: &mut TcpStream, limit: Duration) -> (Duration, String) {
    let start = Instant::now();
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    (start.elapsed(), String::from_utf8_lossy(&got).into_owned())
}

#[test]
fn slow_and_idle_clients_are_cut_off_while_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path(), &[], &["--header-read-timeout-secs", "1"]);

    // A client that sends half a request head and stops.
    let mut slow = TcpStream::connect(&served.addr).unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .unwrap();
    // Meanwhile another client is served at once.
    let (code, body) = curl(&[&format!("{}/health", served.base())]);
    assert_eq!((code, body["status"].as_str()), (200, Some("ok")));
    let (took, _) = wait_for_close(&mut slow, Duration::from_secs(10));
    assert!(
        took < Duration::from_secs(5),
        "slow client held on for {took:?}"
    );

    // A kept-alive connection that goes idle after one request is closed too.
    let mut idle = TcpStream::connect(&served.addr).unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (took, answer) = wait_for_close(&mut idle, Duration::from_secs(10));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        took < Duration::from_secs(5),
        "idle connection held for {took:?}"
    );
}

#[test]
fn connections_past_the_limit_are_closed_on_arrival() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(
        dir.path(),
        &[],
        &["--max-connections", "2", "--header-read-timeout-secs", "3"],
    );
    let _a = TcpStream::connect(&served.addr).unwrap();
    let _b = TcpStream::connect(&served.addr).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let mut c = TcpStream::connect(&served.addr).unwrap();
    let _ = c.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    let (took, answer) = wait_for_close(&mut c, Duration::from_secs(10));
    assert!(
        answer.is_empty(),
        "the third connection was served: {answer}"
    );
    assert!(took < Duration::from_secs(2));
    // Once the first two are cut off, the server takes connections again.
    std::thread::sleep(Duration::from_secs(4));
    let (code, _) = curl(&[&format!("{}/health", served.base())]);
    assert_eq!(code, 200);
}

#[test]
fn serves_https_with_the_given_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();

    let data = dir.path().join("data");
    let served = Served::start(
        &data,
        &[],
        &[
            "--tls-cert",
            cert_path.to_str().unwrap(),
            "--tls-key",
            key_path.to_str().unwrap(),
        ],
    );
    assert!(served.stdout.contains("https://"), "{}", served.stdout);
    let port = served.addr.rsplit(':').next().unwrap();
    let (code, body) = curl(&[
        "--cacert",
        cert_path.to_str().unwrap(),
        "--resolve",
        &format!("localhost:{port}:127.0.0.1"),
        &format!("https://localhost:{port}/health"),
    ]);
    assert_eq!((code, body["status"].as_str()), (200, Some("ok")));
    // Plain HTTP on the TLS port gets no answer.
    let (code, _) = curl(&["-m", "3", &format!("http://{}/health", served.addr)]);
    assert_eq!(code, 0);

    // A key without its certificate is refused before anything starts.
    let out = Command::new(common::BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-key"])
        .arg(&key_path)
        .arg("--data-dir")
        .arg(dir.path().join("other"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tls-cert"));
}
