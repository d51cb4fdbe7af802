//! What an install route adds to the server an MCP client starts (issue 13):
//! `cargo bench --bench install_routes` (see BENCHMARKS.md, "Install routes").
//!
//! The npm packages are built from the release binary with `scripts/package-npm.sh` and installed
//! twice into empty prefixes with no registry reachable: once as npm installs them by default
//! (the postinstall step puts the native binary in place of the launcher) and once with
//! `--ignore-scripts` (the JS launcher stays). Then, for each way a client can start the server:
//!
//! 1. cold start: spawn → `initialize` → `notifications/initialized` → `tools/list` answered,
//!    `COLD_RUNS` runs after one uncounted warm-up: median and min;
//! 2. memory: in a session that has answered `tools/list`, every process of the tree the client
//!    started (the command and its descendants), each one's peak resident memory (VmHWM), and
//!    their sum.
//!
//! Linux only (it reads /proc). `OPENTRAIN_MCP_BIN=/path` measures that binary instead of building
//! `target/release/opentrain-mcp`. Without node/npm the npm routes are skipped with a note.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::release_binary;

mod support;

const COLD_RUNS: usize = 10;
const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
const TOOLS_LIST: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;

struct Route {
    name: String,
    program: PathBuf,
    args: Vec<String>,
    cwd: Option<PathBuf>,
}

fn main() {
    if !cfg!(target_os = "linux") {
        eprintln!("SKIP: the install-routes bench reads /proc and runs on Linux only");
        return;
    }
    let bin = release_binary();
    let scratch = tempfile::TempDir::new().expect("a scratch directory");
    let mut routes = vec![Route {
        name: "the binary itself (release archive, install.sh, cargo install, MCP Bundle)".into(),
        program: bin.clone(),
        args: vec![],
        cwd: None,
    }];
    match npm_prefixes(&bin, scratch.path()) {
        Ok((native, launcher)) => {
            routes.push(Route {
                name: "npm-installed command (npm i -g; postinstall put the binary in place)"
                    .into(),
                program: native.join("node_modules/.bin/opentrain-mcp"),
                args: vec![],
                cwd: None,
            });
            routes.push(Route {
                name: format!(
                    "npm-installed command, install scripts off (JS launcher on Node {})",
                    node_version()
                ),
                program: launcher.join("node_modules/.bin/opentrain-mcp"),
                args: vec![],
                cwd: None,
            });
            routes.push(Route {
                name: "npx opentrain-mcp (package already in place, no registry round trip)".into(),
                program: "npx".into(),
                args: vec!["--no-install".into(), "opentrain-mcp".into()],
                cwd: Some(native),
            });
        }
        Err(why) => eprintln!("SKIP: the npm routes: {why}"),
    }

    let home = scratch.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    println!(
        "install routes: cold start to tools/list ({COLD_RUNS} runs) and peak memory of every process the client starts"
    );
    println!("binary: {}", bin.display());
    println!(
        "load average: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    println!();
    println!("| route | cold start, median / min | processes (peak RSS each) | peak RSS, sum |");
    println!("|---|---|---|---|");
    for route in &routes {
        let cold = cold_start(route, &home, scratch.path());
        let (processes, total_kb) = memory(route, &home, scratch.path());
        println!(
            "| {} | {} / {} | {} | {:.1} MiB |",
            route.name,
            ms(cold.0),
            ms(cold.1),
            processes,
            total_kb as f64 / 1024.0
        );
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn node_version() -> String {
    Command::new("node")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// npm with no registry reachable and a private cache and config.
fn npm(scratch: &Path, program: &str) -> Command {
    let mut cmd = Command::new(program);
    cmd.env("npm_config_registry", "http://127.0.0.1:9/")
        .env("npm_config_cache", scratch.join("npm-cache"))
        .env("npm_config_userconfig", scratch.join("npmrc"))
        .env("npm_config_offline", "true")
        .env("npm_config_audit", "false")
        .env("npm_config_fund", "false")
        .env("npm_config_update_notifier", "false");
    cmd
}

/// Builds the npm tarballs from `bin` and installs them into two prefixes: with install scripts
/// (native binary in place) and without (JS launcher).
fn npm_prefixes(bin: &Path, scratch: &Path) -> Result<(PathBuf, PathBuf), String> {
    let platform = match std::env::consts::ARCH {
        "x86_64" => "linux-x64",
        "aarch64" => "linux-arm64",
        other => return Err(format!("no npm package for linux on {other}")),
    };
    let found = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !found("node") || !found("npm") {
        return Err("node or npm is not installed".into());
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let packages = scratch.join("packages");
    let status = npm(scratch, "sh")
        .arg(root.join("scripts/package-npm.sh"))
        .arg(bin)
        .arg(&packages)
        .arg(platform)
        .stdout(Stdio::null())
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err("scripts/package-npm.sh failed".into());
    }
    let version = env!("CARGO_PKG_VERSION");
    let tarballs = [
        packages.join(format!("opentrain-mcp-{version}.tgz")),
        packages.join(format!("opentrain-mcp-{platform}-{version}.tgz")),
    ];
    let mut prefixes = Vec::new();
    for (dir, extra) in [("native", None), ("launcher", Some("--ignore-scripts"))] {
        let prefix = scratch.join(dir);
        std::fs::create_dir_all(&prefix).map_err(|e| e.to_string())?;
        let mut install = npm(scratch, "npm");
        install
            .args(["install", "--no-package-lock", "--prefix"])
            .arg(&prefix)
            .args(extra)
            .args(&tarballs)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if !install.status().map_err(|e| e.to_string())?.success() {
            return Err(format!("npm install into {} failed", prefix.display()));
        }
        prefixes.push(prefix);
    }
    let launcher = prefixes.pop().expect("two prefixes");
    let native = prefixes.pop().expect("two prefixes");
    Ok((native, launcher))
}

struct Session {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Session {
    fn start(route: &Route, home: &Path, scratch: &Path) -> Session {
        let mut cmd = npm(scratch, route.program.to_str().expect("UTF-8 path"));
        cmd.args(&route.args)
            .env("HOME", home)
            .env(
                "OPENTRAIN_PERSONAL_API_TOKEN",
                "ot_pat_bench0000000000000000000000",
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(dir) = &route.cwd {
            cmd.current_dir(dir);
        }
        let mut child = cmd.spawn().expect("the route starts");
        Session {
            stdin: child.stdin.take().expect("stdin"),
            stdout: BufReader::new(child.stdout.take().expect("stdout")),
            child,
        }
    }

    fn send(&mut self, line: &str) {
        self.stdin.write_all(line.as_bytes()).expect("write");
        self.stdin.write_all(b"\n").expect("write");
        self.stdin.flush().expect("flush");
    }

    fn read_line(&mut self) -> String {
        let mut line = String::new();
        let n = self.stdout.read_line(&mut line).expect("read");
        assert!(n > 0, "the server closed stdout");
        line
    }

    /// initialize → initialized → tools/list answered.
    fn handshake(&mut self) {
        self.send(INITIALIZE);
        let init = self.read_line();
        assert!(init.contains("\"serverInfo\""), "{init}");
        self.send(INITIALIZED);
        self.send(TOOLS_LIST);
        let list = self.read_line();
        let tools = serde_json::from_str::<Value>(&list).expect("JSON")["result"]["tools"]
            .as_array()
            .map_or(0, Vec::len);
        assert_eq!(tools, 41, "tools/list: {list}");
    }

    /// Closes stdin (the server, and npm after it, exit on end of input), then reaps.
    fn finish(self) {
        let Session {
            mut child, stdin, ..
        } = self;
        drop(stdin);
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn cold_start(route: &Route, home: &Path, scratch: &Path) -> (Duration, Duration) {
    let mut runs: Vec<Duration> = (0..=COLD_RUNS)
        .map(|_| {
            let started = Instant::now();
            let mut session = Session::start(route, home, scratch);
            session.handshake();
            let elapsed = started.elapsed();
            session.finish();
            elapsed
        })
        .skip(1)
        .collect();
    runs.sort_unstable();
    (runs[runs.len() / 2], runs[0])
}

/// The process tree under `pid`, depth first, the root first.
fn tree(pid: u32) -> Vec<u32> {
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        let parent = all[i];
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{parent}/task")) {
            for task in tasks.filter_map(Result::ok) {
                let children =
                    std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
                all.extend(
                    children
                        .split_whitespace()
                        .filter_map(|c| c.parse::<u32>().ok()),
                );
            }
        }
        i += 1;
    }
    all
}

fn status_field(pid: u32, field: &str) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .map(|v| v.trim().to_owned())
}

/// In a session that has answered tools/list: each process of the tree with its peak RSS.
fn memory(route: &Route, home: &Path, scratch: &Path) -> (String, u64) {
    let mut session = Session::start(route, home, scratch);
    session.handshake();
    // Let a launcher's parent settle (npm's own work after spawning is done by now).
    std::thread::sleep(Duration::from_millis(300));
    let mut total = 0;
    let mut parts = Vec::new();
    for pid in tree(session.child.id()) {
        let name = status_field(pid, "Name:").unwrap_or_else(|| "?".into());
        let kb: u64 = status_field(pid, "VmHWM:")
            .and_then(|v| v.trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0);
        total += kb;
        parts.push(format!("{name} {:.1} MiB", kb as f64 / 1024.0));
    }
    session.finish();
    (parts.join(" + "), total)
}
