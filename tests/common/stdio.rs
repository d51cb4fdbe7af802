//! The real binary as an MCP client runs it: stdin/stdout pipes, a private HOME, stderr captured.
//! Every stdout line must be JSON-RPC; `recv` fails the test on anything else.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_opentrain-mcp");

pub struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
    home: TempDir,
}

impl Proc {
    /// The binary with a fresh, empty HOME and only `PATH` plus `envs` in its environment.
    pub fn spawn(envs: &[(&str, &str)]) -> Proc {
        Proc::spawn_in(TempDir::new().unwrap(), envs)
    }

    /// The binary with these command-line arguments, a fresh HOME and `PATH` plus `envs`.
    pub fn spawn_args(args: &[&str], envs: &[(&str, &str)]) -> Proc {
        Proc::spawn_with(TempDir::new().unwrap(), args, envs)
    }

    /// The binary with `home` as HOME (so a test can prepare `.config/opentrain/cli.json`).
    pub fn spawn_in(home: TempDir, envs: &[(&str, &str)]) -> Proc {
        Proc::spawn_with(home, &[], envs)
    }

    fn spawn_with(home: TempDir, args: &[&str], envs: &[(&str, &str)]) -> Proc {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env_clear()
            .env("HOME", home.path())
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("binary starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr_pipe = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr_pipe.read_to_string(&mut s);
            s
        });
        Proc {
            stdin: child.stdin.take(),
            child,
            lines,
            stderr: Some(stderr),
            home,
        }
    }

    /// The process id (the binary names its temp files after it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// `$HOME/.config/opentrain/cli.json`, where the binary keeps its credentials.
    pub fn config_path(&self) -> PathBuf {
        self.home()
            .join(".config")
            .join("opentrain")
            .join("cli.json")
    }

    pub fn send_raw(&mut self, line: &str) {
        self.send_bytes(line.as_bytes());
        self.send_bytes(b"\n");
    }

    /// Writes bytes as they are (no newline added).
    pub fn send_bytes(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    pub fn send(&mut self, message: Value) {
        self.send_raw(&message.to_string());
    }

    /// `tools/call` with the given id.
    pub fn call(&mut self, id: u64, tool: &str, arguments: Value) {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": tool, "arguments": arguments}}));
    }

    /// The next stdout line, which must be JSON-RPC.
    pub fn recv(&self) -> Value {
        self.recv_within(Duration::from_secs(10))
            .expect("an answer on stdout")
    }

    /// The next stdout line if one comes within `wait`; it must be JSON-RPC.
    pub fn recv_within(&self, wait: Duration) -> Option<Value> {
        let line = self.lines.recv_timeout(wait).ok()?;
        let value: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            panic!(
                "stdout carried a non-JSON line {:?}: {e}",
                line.chars().take(200).collect::<String>()
            )
        });
        assert_eq!(value["jsonrpc"], "2.0", "{line}");
        Some(value)
    }

    /// Messages up to and including the answer with `id` (which is returned last).
    pub fn recv_until(&self, id: u64) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            let msg = self.recv();
            let done = msg["id"] == id;
            seen.push(msg);
            if done {
                return seen;
            }
        }
    }

    pub fn initialize(&mut self) -> Value {
        self.send(
            json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "e2e", "version": "1"}}}),
        );
        let init = self.recv();
        self.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        init
    }

    pub fn close_stdin(&mut self) {
        self.stdin.take();
    }

    /// Waits for the exit; kills the process and fails if it takes longer than `within`.
    pub fn wait(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the process did not exit within {within:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Everything still unread on stdout once the process has exited; each line must be
    /// JSON-RPC.
    pub fn rest_of_stdout(&self) -> Vec<Value> {
        let mut rest = Vec::new();
        while let Some(msg) = self.recv_within(Duration::from_millis(200)) {
            rest.push(msg);
        }
        rest
    }

    /// All of stderr (the process must have exited).
    pub fn stderr(mut self) -> String {
        let handle = self.stderr.take().expect("stderr read once");
        handle.join().unwrap()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // A failing test must not leave the server running.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
