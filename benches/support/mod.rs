//! What the bench binaries share: the binary under test.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// `OPENTRAIN_MCP_BIN`, or `target/release/opentrain-mcp` after `cargo build --release`.
pub fn release_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("OPENTRAIN_MCP_BIN") {
        return PathBuf::from(bin);
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("bench: cargo build --release (the binary under test)");
    let mut build = Command::new(cargo);
    build
        .args(["build", "--release", "--bin", "opentrain-mcp"])
        .current_dir(manifest);
    // Cargo gives the bench process the variables of a crate being run (CARGO_PKG_NAME, ...).
    // Build scripts watch some of them, so passing them on would rebuild dependencies and
    // produce a binary that differs from a plain `cargo build --release`.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_MANIFEST_")
            || key.starts_with("CARGO_BIN_")
            || [
                "CARGO_CRATE_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_RUSTC_CURRENT_DIR",
                "OUT_DIR",
            ]
            .contains(&key.as_ref())
        {
            build.env_remove(key.as_ref());
        }
    }
    build.arg("--message-format=json").stderr(Stdio::inherit());
    let output = build.output().expect("cargo runs");
    assert!(output.status.success(), "cargo build --release failed");
    // The path cargo reports, wherever the target directory is configured to be.
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo names the built executable")
}
