//! What the bench binaries share: the binary under test, and the keep-alive stub API they
//! measure it against. Not every bench uses every piece.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The one endpoint the stub answers.
pub const CREDITS_PATH: &str = "/api/public/v1/credits";

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

/// The fixture, compact, as an API sends it.
pub fn canned_body() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/credits_balance.json");
    let text = std::fs::read(path).expect("fixtures/credits_balance.json");
    let value: Value = serde_json::from_slice(&text).expect("fixture is JSON");
    serde_json::to_vec(&value).expect("serializes")
}

/// A keep-alive HTTP/1.1 server on one thread: `GET /api/public/v1/credits` answers 200 with
/// `body`, anything else 404. No logging, no allocation per request beyond the read buffer.
pub fn start_stub(body: Vec<u8>) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .expect("stub runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr"))
                .expect("send addr");
            let mut ok = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len()
            )
            .into_bytes();
            ok.extend_from_slice(&body);
            let ok: &'static [u8] = Box::leak(ok.into_boxed_slice());
            let local = tokio::task::LocalSet::new();
            local
                .run_until(async move {
                    loop {
                        let Ok((socket, _)) = listener.accept().await else {
                            continue;
                        };
                        let _ = socket.set_nodelay(true);
                        tokio::task::spawn_local(serve_connection(socket, ok));
                    }
                })
                .await;
        });
    });
    rx.recv().expect("the stub starts")
}

async fn serve_connection(mut socket: tokio::net::TcpStream, ok: &'static [u8]) {
    const NOT_FOUND: &[u8] = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n";
    let mut buf = Vec::with_capacity(4096);
    let mut out = Vec::with_capacity(4096);
    loop {
        // Answer every complete request in the buffer (pipelining included), then write once.
        while let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = &buf[..end];
            let body_len = content_length(head);
            if buf.len() < end + 4 + body_len {
                break;
            }
            let found = head.starts_with(format!("GET {CREDITS_PATH} ").as_bytes());
            out.extend_from_slice(if found { ok } else { NOT_FOUND });
            buf.drain(..end + 4 + body_len);
        }
        if !out.is_empty() {
            if socket.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
        let mut chunk = [0u8; 4096];
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

pub fn content_length(head: &[u8]) -> usize {
    let head = String::from_utf8_lossy(head);
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0)
}
