//! The official Huawei Cloud Python SDK (`huaweicloudsdkgaussdb` + `huaweicloudsdkcore`, the
//! versions pinned in `tools/sdk-vectors/requirements.txt`) against the real binary: starkeep is
//! started, an access key is made with the CLI, the README's SDK snippet runs as written, and
//! `tools/sdk-tests/test_sdk.py` runs the six operations, the error cases and the tampering cases
//! through `GaussDBClient`.
//!
//! The virtualenv is made here, under cargo's target dir, from the pinned requirements (PyPI),
//! and reused while the requirements file is unchanged; nothing installed by hand is used.
//! `STARKEEP_TEST_PYTHON` names the Python to make it with (default `python3`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{cli, welcome_facts, Served};
use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A virtualenv with the pinned SDK, made once per requirements file.
fn sdk_venv() -> PathBuf {
    let requirements = repo_root().join("tools/sdk-vectors/requirements.txt");
    let pins = std::fs::read_to_string(&requirements).expect("the pinned requirements");
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sdk-venv");
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
        .unwrap_or_else(|e| panic!("{base} makes the SDK's virtualenv: {e}"));
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
        .arg(&requirements)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pip install of the pinned SDK failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&stamp, pins).unwrap();
    python
}

#[test]
fn the_official_python_sdk_works_against_starkeep() {
    let python = sdk_venv();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut served = Served::start(d, &[], &[]);
    let (_, project, instance) = welcome_facts(&served.stdout);
    let (ok, other, err) = cli(d, &["project", "create", "other"], &[], None);
    assert!(ok, "{err}");
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
    let pair: Value = serde_json::from_str(out.trim()).unwrap();
    let sk = pair["sk"].as_str().unwrap();

    // The SDK writes $HOME/.huaweicloud/application_id on import: give it a home of its own.
    let home = tempfile::tempdir().unwrap();

    // The README's snippet, as written, with its placeholders filled in.
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let snippet = readme
        .split("<!-- sdk-snippet:start -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- sdk-snippet:end -->").next())
        .expect("README has the SDK snippet")
        .trim()
        .trim_start_matches("```python")
        .trim_end_matches("```")
        .replace("YOUR_AK", pair["ak"].as_str().unwrap())
        .replace("YOUR_SK", sk)
        .replace("YOUR_PROJECT_ID", &project)
        .replace("YOUR_INSTANCE_ID", &instance)
        .replace("http://127.0.0.1:8800", &served.base());
    let out = Command::new(&python)
        .args(["-c", &snippet])
        .env("HOME", home.path())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "1 ['root']",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(&python)
        .arg(repo_root().join("tools/sdk-tests/test_sdk.py"))
        .env("HOME", home.path())
        .env("STARKEEP_ENDPOINT", served.base())
        .env("STARKEEP_AK", pair["ak"].as_str().unwrap())
        .env("STARKEEP_SK", sk)
        .env("STARKEEP_PROJECT_ID", &project)
        .env("STARKEEP_INSTANCE_ID", &instance)
        .env("STARKEEP_OTHER_PROJECT_ID", other.trim())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stderr);
    println!("{report}");
    assert!(out.status.success(), "the SDK tests failed:\n{report}");
    assert!(report.contains("Ran 10 tests"), "{report}");

    // What the SDK did is in the log, signed by the key, and the SK is not.
    let logs = served.logs().join("\n");
    assert!(logs.contains("status=401"), "{logs}");
    assert!(!logs.contains(sk));
}
