//! The crates' layering, as ARCHITECTURE.md draws it, checked against `cargo metadata`: a crate
//! may depend (normally, or to build) only on the workspace crates its row lists, so no arrow
//! runs from a lower layer back up. A workspace crate missing from the table fails the test too:
//! a new crate gets its row (and its place in ARCHITECTURE.md) when it is added.
//!
//! Dev-dependencies are not checked: a crate's tests may use the test kit and whatever it pulls
//! in. The test kit itself is never a normal dependency of a shipped crate.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Each workspace crate and the crates right below it, lowest layer first: a crate may depend on
/// those and on whatever they may depend on (ARCHITECTURE.md draws the same).
const LAYERS: &[(&str, &[&str])] = &[
    ("starkeep-domain", &[]),
    ("starkeep-routing", &[]),
    ("starkeep-store", &["starkeep-domain"]),
    ("starkeep-auth", &["starkeep-store"]),
    ("starkeep-engine", &["starkeep-auth"]),
    ("starkeep-sync", &["starkeep-engine"]),
    ("starkeep-api", &["starkeep-sync"]),
    // The second front door: not the engines, not sync.
    ("starkeep-proxy", &["starkeep-auth", "starkeep-routing"]),
    ("starkeep", &["starkeep-api", "starkeep-proxy"]),
    // Dev-only: what tests and the bench share, above what it serves but beside the binary.
    ("starkeep-testkit", &["starkeep-api"]),
    // A tool beside the binary.
    ("starkeep-bench", &["starkeep-testkit", "starkeep-proxy"]),
];

/// What each crate may depend on: the transitive closure of [`LAYERS`].
fn allowed() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    let mut allowed: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (name, below) in LAYERS {
        let mut may = BTreeSet::new();
        for dep in *below {
            let of_dep = allowed
                .get(dep)
                .unwrap_or_else(|| panic!("{name} sits on {dep}, which is not below it"));
            may.insert(*dep);
            may.extend(of_dep.iter().copied());
        }
        allowed.insert(name, may);
    }
    allowed
}

/// Arrows the layering does not allow that exist while a move is under way, each with the move
/// that ends it. The test fails when one is no longer there, so the allowance goes with the arrow.
const MOVING: &[(&str, &str, &str)] = &[];

/// Each workspace crate and its normal and build dependencies on other workspace crates.
fn workspace_dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = metadata["packages"].as_array().unwrap();
    let names: BTreeSet<String> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    packages
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].as_str() != Some("dev"))
                .map(|d| d["name"].as_str().unwrap().to_owned())
                .filter(|d| names.contains(d))
                .collect();
            (p["name"].as_str().unwrap().to_owned(), deps)
        })
        .collect()
}

#[test]
fn no_crate_depends_on_one_above_it() {
    let actual = workspace_dependencies();
    assert!(
        actual.contains_key("starkeep-api") && actual.contains_key("starkeep-domain"),
        "the workspace was not read: {actual:?}"
    );
    let allowed = allowed();
    let mut wrong = Vec::new();
    let mut moved = Vec::new();
    for (from, to, why) in MOVING {
        if !actual.get(*from).is_some_and(|deps| deps.contains(*to)) {
            moved.push(format!("{from} -> {to} ({why})"));
        }
    }
    for (name, deps) in &actual {
        let Some(may) = allowed.get(name.as_str()) else {
            wrong.push(format!("{name} has no row in the layering table"));
            continue;
        };
        for dep in deps {
            let moving = MOVING.iter().any(|(f, t, _)| f == name && t == dep);
            if !may.contains(dep.as_str()) && !moving {
                wrong.push(format!("{name} -> {dep}"));
            }
        }
    }
    assert!(wrong.is_empty(), "arrows against the layering: {wrong:?}");
    assert!(
        moved.is_empty(),
        "these moves are done; delete their allowance from MOVING: {moved:?}"
    );
}

#[test]
fn the_layers_read_as_drawn() {
    let allowed = allowed();
    // An arrow back up is impossible by construction (a row names only rows above it in the
    // list); these pin the parts of the drawing that matter most.
    assert!(allowed["starkeep-api"].contains("starkeep-domain"));
    assert!(!allowed["starkeep-engine"].contains("starkeep-sync"));
    assert!(!allowed["starkeep-proxy"].contains("starkeep-engine"));
    assert!(allowed["starkeep-routing"].is_empty());
    for (name, may) in &allowed {
        if *name != "starkeep-bench" {
            assert!(
                !may.contains("starkeep-testkit"),
                "{name} may not depend on the test kit"
            );
        }
    }
}
