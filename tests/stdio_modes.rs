//! The binary speaks MCP over whatever its stdin and stdout are: pipes (most clients), sockets
//! (Node's child processes get socket pairs), one socket for both, a regular file, /dev/null.
#![cfg(unix)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_opentrain-mcp");

const SESSION: &str = concat!(
    r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
    "\n",
    r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    "\n",
    r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
    "\n",
);

fn command(home: &tempfile::TempDir) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("HOME", home.path())
        .env("OPENTRAIN_PERSONAL_API_TOKEN", "ot_pat_test000000000000")
        .stderr(Stdio::null());
    cmd
}

/// The ids of the first two answers (initialize and ping).
fn two_answers(reader: impl std::io::Read) -> Vec<serde_json::Value> {
    BufReader::new(reader)
        .lines()
        .take(2)
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(&line.unwrap()).unwrap()["id"].clone()
        })
        .collect()
}

fn exits(child: &mut Child) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    false
}

#[test]
fn socket_pairs_for_stdin_and_stdout() {
    let home = tempfile::TempDir::new().unwrap();
    let (mut input, child_in) = UnixStream::pair().unwrap();
    let (output, child_out) = UnixStream::pair().unwrap();
    let mut child = command(&home)
        .stdin(Stdio::from(std::os::fd::OwnedFd::from(child_in)))
        .stdout(Stdio::from(std::os::fd::OwnedFd::from(child_out)))
        .spawn()
        .unwrap();
    input.write_all(SESSION.as_bytes()).unwrap();
    assert_eq!(two_answers(&output), [0, 1]);
    drop(input);
    assert!(exits(&mut child), "the server exits when stdin closes");
}

#[test]
fn one_socket_for_both() {
    let home = tempfile::TempDir::new().unwrap();
    let (mut ours, theirs) = UnixStream::pair().unwrap();
    let mut child = command(&home)
        .stdin(Stdio::from(std::os::fd::OwnedFd::from(
            theirs.try_clone().unwrap(),
        )))
        .stdout(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
        .spawn()
        .unwrap();
    ours.write_all(SESSION.as_bytes()).unwrap();
    assert_eq!(two_answers(&ours), [0, 1]);
    ours.shutdown(std::net::Shutdown::Write).unwrap();
    assert!(exits(&mut child), "the server exits when its input ends");
}

#[test]
fn a_regular_file_as_stdin() {
    let home = tempfile::TempDir::new().unwrap();
    let path = home.path().join("session.jsonl");
    std::fs::write(&path, SESSION).unwrap();
    let output = command(&home)
        .stdin(std::fs::File::open(&path).unwrap())
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(two_answers(&output.stdout[..]), [0, 1]);
}

#[test]
fn dev_null_as_stdin_is_a_clean_end() {
    let home = tempfile::TempDir::new().unwrap();
    let output = command(&home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(output.stdout.is_empty());
}
