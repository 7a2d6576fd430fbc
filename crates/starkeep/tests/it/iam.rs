//! Identities through the real binary: access keys made, listed, used and deleted with the CLI
//! (the SK shown once, never in a log or in plain text in the data dir), and one starkeep acting
//! as the IAM of another through `--iam-url`.

use std::path::Path;

use crate::common::{cli, curl, signed_curl, welcome_facts, Served};
use serde_json::Value;

fn json_of(out: &str) -> Value {
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// Every byte of every file under `dir`.
fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(all_bytes(&path));
        } else {
            out.extend(std::fs::read(&path).unwrap());
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn access_keys_are_made_listed_used_and_deleted_with_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut served = Served::start(d, &[], &[]);
    let (token, project, instance) = welcome_facts(&served.stdout);
    let users = format!(
        "{}/v3/{project}/instances/{instance}/starrocks/users",
        served.base()
    );

    let (ok, out, err) = cli(
        d,
        &[
            "iam",
            "credential",
            "create",
            "--project",
            "default",
            "--user",
            "admin",
            "--json",
        ],
        &[],
        None,
    );
    assert!(ok, "{err}");
    let pair = json_of(&out);
    let ak = pair["ak"].as_str().unwrap().to_owned();
    let sk = pair["sk"].as_str().unwrap().to_owned();
    assert_eq!(pair["project_id"], project.as_str());
    assert_eq!((ak.len(), sk.len()), (20, 40));
    assert!(err.contains("shown only now"), "{err}");

    // Without --json: the AK and SK on two lines.
    let (ok, out, _) = cli(
        d,
        &[
            "iam",
            "credential",
            "create",
            "--project",
            "default",
            "--user",
            "admin",
        ],
        &[],
        None,
    );
    assert!(ok);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("AK ") && lines[1].starts_with("SK "),
        "{out}"
    );
    let second_ak = lines[0][3..].to_owned();

    // Listed without their secrets.
    let (ok, out, _) = cli(d, &["iam", "credential", "list", "--json"], &[], None);
    assert!(ok);
    let listed = json_of(&out);
    let aks: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["ak"].as_str().unwrap())
        .collect();
    assert!(aks.contains(&ak.as_str()) && aks.contains(&second_ak.as_str()));
    assert_eq!(listed[0]["user"], "admin");
    assert_eq!(listed[0]["project"], "default");
    assert!(!out.contains(&sk));
    let (ok, table, _) = cli(
        d,
        &["iam", "credential", "list", "--project", "default"],
        &[],
        None,
    );
    assert!(ok && table.contains(&ak) && !table.contains(&sk), "{table}");

    // Used: a signed create and list, as the key's user.
    let body = r#"{"user_name": "keyed_user", "password": "Rds_1234", "databases": ["sales"]}"#;
    let (code, answer) = signed_curl("POST", &users, body, &ak, &sk);
    assert_eq!(code, 200, "{answer}");
    let (code, answer) = signed_curl(
        "GET",
        &format!("{users}?limit=10&user_name=keyed_user"),
        "",
        &ak,
        &sk,
    );
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["total_count"], 1);
    let (code, answer) = signed_curl("GET", &format!("{users}?limit=1"), "", &ak, "wrong");
    assert_eq!(
        (code, answer["error_code"].as_str()),
        (401, Some("APIGW.0301"))
    );

    // Refused for a user with no role in the project, or an unknown project.
    let (ok, _, _) = cli(d, &["project", "create", "elsewhere"], &[], None);
    assert!(ok);
    for (project, words) in [("elsewhere", "has no role"), ("nowhere", "no project")] {
        let (ok, _, err) = cli(
            d,
            &[
                "iam",
                "credential",
                "create",
                "--project",
                project,
                "--user",
                "admin",
            ],
            &[],
            None,
        );
        assert!(!ok);
        assert!(err.contains(words), "{err}");
    }

    // Deleted: refused from the next request on.
    let (ok, _, err) = cli(d, &["iam", "credential", "delete", &ak], &[], None);
    assert!(ok, "{err}");
    let (code, answer) = signed_curl("GET", &format!("{users}?limit=1"), "", &ak, &sk);
    assert_eq!(code, 401);
    assert!(
        answer["error_msg"]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{answer}"
    );
    let (ok, _, err) = cli(d, &["iam", "credential", "delete", &ak], &[], None);
    assert!(!ok && err.contains("no access key"), "{err}");

    // The SK is in no log line and nowhere in plain text in the data dir.
    let logs = served.logs().join("\n");
    assert!(logs.contains("status=401"), "{logs}");
    assert!(!logs.contains(&sk));
    assert!(!logs.contains(&token));
    assert!(served.terminate().success());
    assert!(!contains(&all_bytes(d), &sk), "the SK is stored sealed");
}

#[test]
fn one_starkeep_is_the_iam_of_another() {
    let iam_dir = tempfile::tempdir().unwrap();
    let mut iam = Served::start(iam_dir.path(), &[], &[]);
    let (iam_token, iam_project, _) = welcome_facts(&iam.stdout);

    // The service knows the IAM's project by its id, and has an instance in it.
    let svc_dir = tempfile::tempdir().unwrap();
    let s = svc_dir.path();
    let service = Served::start(s, &[], &["--iam-url", &iam.base()]);
    let (own_token, own_project, own_instance) = welcome_facts(&service.stdout);
    let (ok, _, err) = cli(
        s,
        &["project", "create", "tenant", "--id", &iam_project],
        &[],
        None,
    );
    assert!(ok, "{err}");
    let (ok, instance, err) = cli(
        s,
        &[
            "instance",
            "add",
            "--project",
            "tenant",
            "--databases",
            "sales",
        ],
        &[],
        None,
    );
    assert!(ok, "{err}");
    let users = format!(
        "{}/v3/{iam_project}/instances/{}/starrocks/users",
        service.base(),
        instance.trim()
    );
    let with = |token: &str| format!("X-Auth-Token: {token}");

    // A token from the IAM is accepted, for reads and (admin role) writes.
    let (code, body) = curl(&["-H", &with(&iam_token), &format!("{users}?limit=10")]);
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["user_details"][0]["user_name"], "root");
    let create = r#"{"user_name": "from_iam", "password": "Rds_1234", "databases": ["sales"]}"#;
    let (code, body) = curl(&["-X", "POST", "-H", &with(&iam_token), "-d", create, &users]);
    assert_eq!(code, 200, "{body}");

    // A forged one is refused.
    let forged = format!("{}A", &iam_token[..iam_token.len() - 1]);
    let forged = if forged == iam_token {
        format!("{}B", &iam_token[..iam_token.len() - 1])
    } else {
        forged
    };
    let (code, body) = curl(&["-H", &with(&forged), &format!("{users}?limit=10")]);
    assert_eq!(
        (code, body["error_code"].as_str()),
        (401, Some("APIGW.0301"))
    );

    // A token the IAM issued for another project is refused with 403.
    let id = iam_dir.path();
    assert!(cli(id, &["project", "create", "other"], &[], None).0);
    let (ok, _, err) = cli(
        id,
        &[
            "iam",
            "user",
            "create",
            "--project",
            "other",
            "--name",
            "bob",
            "--password-env",
            "BOB_PW",
        ],
        &[("BOB_PW", "Bob-Passw0rd")],
        None,
    );
    assert!(ok, "{err}");
    let (ok, other_token, _) = cli(
        id,
        &["token", "issue", "--project", "other", "--user", "bob"],
        &[],
        None,
    );
    assert!(ok);
    let other_token = other_token.trim().to_owned();
    let (code, body) = curl(&["-H", &with(&other_token), &format!("{users}?limit=10")]);
    assert_eq!(
        (code, body["error_code"].as_str()),
        (403, Some("DBS.200044")),
        "{body}"
    );

    // The service's own tokens still work on its own projects.
    let own_users = format!(
        "{}/v3/{own_project}/instances/{own_instance}/starrocks/users?limit=1",
        service.base()
    );
    let (code, _) = curl(&["-H", &with(&own_token), &own_users]);
    assert_eq!(code, 200);

    // With the IAM gone, a token validated before is still served from the cache (up to its
    // expiry or five minutes); one never seen answers that the IAM is unavailable.
    // Tokens carry their issue time in seconds: one issued in the same second as `iam_token`
    // would be the very same string, already cached.
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    let (ok, unseen, _) = cli(
        id,
        &["token", "issue", "--project", "default", "--user", "admin"],
        &[],
        None,
    );
    assert!(ok);
    assert_ne!(
        unseen.trim(),
        iam_token.as_str(),
        "a token the second starkeep never saw"
    );
    assert!(iam.terminate().success());
    let (code, _) = curl(&["-H", &with(&iam_token), &format!("{users}?limit=10")]);
    assert_eq!(code, 200, "cached");
    let (code, body) = curl(&["-H", &with(unseen.trim()), &format!("{users}?limit=10")]);
    assert_eq!(
        (code, body["error_code"].as_str()),
        (502, Some("DBS.200502")),
        "{body}"
    );
}
