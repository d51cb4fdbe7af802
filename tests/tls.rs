//! HTTPS for real: the client trusts a CA installed in the OS trust store (a corporate CA; here
//! through `SSL_CERT_FILE`, which the Linux store honours) and refuses an unknown one. Every other
//! test talks plain http to loopback, so this is the proof that TLS works at all.
#![cfg(target_os = "linux")]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::{PAT, fixture};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn tls_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join("tls")
}

/// An HTTPS server on localhost answering every request with the `auth_me` fixture; the request
/// heads it saw come back through the channel.
async fn https_server() -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let certs: Vec<CertificateDer> = CertificateDer::pem_file_iter(tls_dir().join("localhost.pem"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(tls_dir().join("localhost.key")).unwrap();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = tx.send(String::from_utf8_lossy(&head).into_owned());
                let body = fixture("auth_me").to_string();
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (port, rx)
}

/// Runs the binary for one `opentrain_auth_status` call and returns the tool result.
fn auth_status_through(port: u16, cert_file: Option<&PathBuf>) -> Value {
    let home = tempfile::TempDir::new().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_opentrain-mcp"));
    cmd.env_clear()
        .env("HOME", home.path())
        .env("OPENTRAIN_PERSONAL_API_TOKEN", PAT)
        .env(
            "OPENTRAIN_API_BASE_URL",
            format!("https://localhost:{port}"),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(file) = cert_file {
        cmd.env("SSL_CERT_FILE", file);
    }
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for message in [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "tls", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "opentrain_auth_status", "arguments": {}}}),
    ] {
        writeln!(stdin, "{message}").unwrap();
    }
    stdin.flush().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let v: Value = serde_json::from_str(&line).unwrap();
            if v["id"] == 2 {
                let _ = tx.send(v);
                return;
            }
        }
    });
    let answer = rx.recv_timeout(Duration::from_secs(20)).expect("an answer");
    drop(stdin);
    let _ = child.wait();
    answer["result"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_in_the_trust_store_is_trusted_and_the_token_travels_over_tls() {
    let (port, mut heads) = https_server().await;
    let ca = tls_dir().join("ca.pem");
    let result = tokio::task::spawn_blocking(move || auth_status_through(port, Some(&ca)))
        .await
        .unwrap();
    assert_eq!(result["isError"], false, "{result}");
    assert!(
        result["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Mira Chen")
    );
    let head = heads.recv().await.unwrap();
    assert!(
        head.starts_with("GET /api/public/v1/auth/me HTTP/1.1"),
        "{head}"
    );
    assert!(
        head.contains(&format!("authorization: Bearer {PAT}")),
        "{head}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_ca_is_refused_and_nothing_is_sent() {
    let (port, mut heads) = https_server().await;
    let result = tokio::task::spawn_blocking(move || auth_status_through(port, None))
        .await
        .unwrap();
    assert_eq!(result["isError"], true);
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("certificate") && text.contains("SSL_CERT_FILE"),
        "{text}"
    );
    assert!(
        heads.try_recv().is_err(),
        "no request may reach an untrusted server"
    );
}
