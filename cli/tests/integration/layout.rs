//! The workspace's layout rules (docs/architecture.md), read from `cargo metadata`: roles
//! depend on parts, never on each other, and only the crates that embed an EVM compile
//! revm.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// Each workspace package's normal (non-dev, non-build) dependencies, transitively, by
/// package name.
fn normal_closures() -> BTreeMap<String, BTreeSet<String>> {
    // The host's dependency graph only: other platforms' crates need not be downloaded.
    let rustc = std::process::Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc -vV runs");
    let host = String::from_utf8_lossy(&rustc.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .expect("rustc -vV names the host");
    let output = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--filter-platform",
        ])
        .arg(&host)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let name_of: BTreeMap<&str, &str> = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().expect("id"),
                p["name"].as_str().expect("name"),
            )
        })
        .collect();
    let mut direct: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for node in metadata["resolve"]["nodes"].as_array().expect("resolve") {
        let id = node["id"].as_str().expect("id");
        let deps = node["deps"]
            .as_array()
            .expect("deps")
            .iter()
            .filter(|d| {
                d["dep_kinds"]
                    .as_array()
                    .expect("dep_kinds")
                    .iter()
                    .any(|k| k["kind"].is_null())
            })
            .map(|d| d["pkg"].as_str().expect("pkg"))
            .collect();
        direct.insert(id, deps);
    }
    let members: Vec<&str> = metadata["workspace_members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| m.as_str().expect("member id"))
        .collect();
    members
        .iter()
        .map(|member| {
            let mut seen = BTreeSet::new();
            let mut stack = vec![*member];
            while let Some(id) = stack.pop() {
                for dep in direct.get(id).into_iter().flatten() {
                    if seen.insert(*dep) {
                        stack.push(dep);
                    }
                }
            }
            (
                name_of[member].to_string(),
                seen.iter().map(|id| name_of[id].to_string()).collect(),
            )
        })
        .collect()
}

#[test]
fn roles_depend_on_parts_and_only_evm_embedders_compile_revm() {
    let closures = normal_closures();
    for crate_name in [
        "verdict-full-node",
        "verdict-chain",
        "verdict-devnet",
        "verdict-models",
    ] {
        assert!(
            closures.contains_key(crate_name),
            "{crate_name} is a member"
        );
    }
    for (member, deps) in &closures {
        let wiring = matches!(member.as_str(), "verdict-cli" | "verdict-bench");
        for role in ["verdict-sequencer", "verdict-challenger"] {
            assert!(
                wiring || !deps.contains(role),
                "{member} depends on the role {role}: roles are built from node/* parts only"
            );
        }
        let embeds_evm = matches!(
            member.as_str(),
            "verdict-devchain" | "verdict-cli" | "verdict-bench"
        );
        assert_eq!(
            deps.contains("revm"),
            embeds_evm,
            "{member}: revm is compiled only by the crates that embed an EVM"
        );
    }
}
