//! The HTTP mode beside stdio, in one run (issue 14): `cargo bench --bench http`.
//!
//! Both servers are the shipped artifact (`target/release/opentrain-mcp`, or `OPENTRAIN_MCP_BIN`)
//! calling `opentrain_get_credits` against the same minimal keep-alive API stub. For each mode:
//!
//! - 1 client: `SEQUENTIAL` calls one after another;
//! - 64 clients: `LOADED` calls with 64 in flight at all times. Over stdio that is one client
//!   connection with 64 requests outstanding (a stdio server serves one client; the pipe is
//!   shared); over HTTP it is 64 keep-alive connections, each a different caller with its own
//!   token (as 64 users behind one deployment are, and as the per-token cap expects);
//!
//! Both servers run at once and their rounds alternate (stdio, then HTTP, five times per load), so
//! the machine's other load falls on both alike; the CPU ratio is the median of the rounds' own
//! ratios. It reports the server's CPU time per call (the scheduler's own accounting of every thread,
//! `/proc/<pid>/task/*/schedstat`), client-side p50/p99 latency, calls per second, and the
//! server's peak resident memory (VmHWM). The HTTP client is a raw HTTP/1.1 writer/reader, so
//! what it costs is small next to the server on a machine with few cores.
//!
//! Target: HTTP CPU per call within 2× of stdio's, at both loads.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{canned_body, content_length, find, release_binary, start_stub};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod support;

const TOKEN: &str = "ot_pat_bench0000000000000000000000";
const WARM_UP: usize = 300;
const SEQUENTIAL: usize = 2_000;
const LOADED: usize = 6_000;
const CLIENTS: usize = 64;
const ROUNDS: usize = 5;

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

fn call_message(id: u64) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"opentrain_get_credits","arguments":{{}}}}}}"#
    )
}

fn is_success(answer: &[u8]) -> bool {
    let text = String::from_utf8_lossy(answer);
    text.contains("\"result\"") && text.contains("\"isError\":false")
}

/// What one mode at one load measured.
struct Run {
    cpu_per_call: Duration,
    p50: Duration,
    p99: Duration,
    calls_per_s: f64,
}

fn main() {
    let bin = release_binary();
    let home = tempfile::TempDir::new().expect("a temporary HOME");
    let stub = start_stub(canned_body());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("the client runtime");

    // Both servers run side by side, and their rounds alternate (stdio, HTTP, stdio, …), so a
    // change in the machine's other load falls on both rather than on one mode's whole phase.
    let mut stdio = Stdio1::spawn(&bin, home.path(), stub);
    let mut http = Http::spawn(&bin, home.path(), stub);
    for _ in 0..WARM_UP {
        stdio.call_sequential();
    }
    runtime.block_on(http.warm_up());
    let mut one = (Vec::new(), Vec::new());
    let mut many = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        one.0.push(stdio.run_sequential(SEQUENTIAL));
        one.1.push(runtime.block_on(http.run(1, SEQUENTIAL)));
    }
    for _ in 0..ROUNDS {
        many.0.push(stdio.run_loaded(LOADED));
        many.1.push(runtime.block_on(http.run(CLIENTS, LOADED)));
    }
    let ratios = |pair: &(Vec<Run>, Vec<Run>)| {
        let mut r: Vec<f64> = pair
            .0
            .iter()
            .zip(&pair.1)
            .map(|(s, h)| h.cpu_per_call.as_secs_f64() / s.cpu_per_call.as_secs_f64())
            .collect();
        r.sort_by(f64::total_cmp);
        r
    };
    let (one_ratios, many_ratios) = (ratios(&one), ratios(&many));
    if std::env::var_os("BENCH_VERBOSE").is_some() {
        eprintln!(
            "CPU ratios per round, 1 client: {one_ratios:.2?}; 64 clients: {many_ratios:.2?}"
        );
    }
    let stdio_hwm = peak_rss_kb(server_pid(&stdio.child));
    let http_hwm = peak_rss_kb(server_pid(&http.child));
    let http_idle_kb = http.idle_rss_kb;
    stdio.finish();
    http.finish();
    let (stdio_one, http_one) = (median_run(one.0), median_run(one.1));
    let (stdio_many, http_many) = (median_run(many.0), median_run(many.1));

    print_table(
        &bin,
        &[
            (
                "1 client",
                &stdio_one,
                &http_one,
                one_ratios[one_ratios.len() / 2],
            ),
            (
                "64 clients",
                &stdio_many,
                &http_many,
                many_ratios[many_ratios.len() / 2],
            ),
        ],
        stdio_hwm,
        http_hwm,
        http_idle_kb,
    );
}

/// The median round by calls per second (other work on a small machine moves single runs).
/// The CPU ratio is the median of the rounds' own ratios (each stdio round is paired with the
/// HTTP round right after it).
fn median_run(mut runs: Vec<Run>) -> Run {
    runs.sort_by(|a, b| a.calls_per_s.total_cmp(&b.calls_per_s));
    runs.swap_remove(runs.len() / 2)
}

// ---------------------------------------------------------------------------------------------
// The binary under test

/// The server's command; under `OPENTRAIN_BENCH_WRAPPER` (e.g. `perf record -g -o FILE`) for a
/// profile, as in benches/bench.rs.
fn command(bin: &Path, home: &Path, stub: SocketAddr) -> Command {
    let wrapper = std::env::var("OPENTRAIN_BENCH_WRAPPER").unwrap_or_default();
    let mut words = wrapper.split_whitespace();
    let mut cmd = match words.next() {
        Some(program) => {
            let mut cmd = Command::new(program);
            cmd.args(words).arg(bin);
            cmd
        }
        None => Command::new(bin),
    };
    cmd.env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("OPENTRAIN_API_BASE_URL", format!("http://{stub}"));
    // The servers' log filter, to see what logging costs (default: each mode's own).
    if let Some(filter) = std::env::var_os("OPENTRAIN_BENCH_RUST_LOG") {
        cmd.env("RUST_LOG", filter);
    }
    cmd
}

/// The server's process id: the child, or under a wrapper the wrapper's only child.
fn server_pid(child: &Child) -> u32 {
    let pid = child.id();
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .ok()
        .and_then(
            |list| match list.split_whitespace().collect::<Vec<_>>()[..] {
                [only] => only.parse().ok(),
                _ => None,
            },
        )
        .unwrap_or(pid)
}

/// CPU time a process has used so far, all its threads.
fn cpu_time(pid: u32) -> Duration {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Duration::ZERO;
    };
    let ns: u64 = tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(ns)
}

fn status_kb(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn peak_rss_kb(pid: u32) -> u64 {
    status_kb(pid, "VmHWM:")
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

// ---------------------------------------------------------------------------------------------
// stdio

struct Stdio1 {
    child: Child,
    stdin: std::io::BufWriter<std::process::ChildStdin>,
    stdout: BufReader<std::process::ChildStdout>,
    line: String,
    id: u64,
}

impl Stdio1 {
    fn spawn(bin: &Path, home: &Path, stub: SocketAddr) -> Stdio1 {
        let mut child = command(bin, home, stub)
            .env("OPENTRAIN_PERSONAL_API_TOKEN", TOKEN)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the stdio server starts");
        let mut server = Stdio1 {
            stdin: std::io::BufWriter::new(child.stdin.take().expect("stdin")),
            stdout: BufReader::with_capacity(256 * 1024, child.stdout.take().expect("stdout")),
            child,
            line: String::new(),
            id: 10,
        };
        server.send(INITIALIZE);
        server.flush();
        assert!(server.read().contains("serverInfo"));
        server.send(INITIALIZED);
        server
    }

    fn send(&mut self, message: &str) {
        self.stdin.write_all(message.as_bytes()).expect("write");
        self.stdin.write_all(b"\n").expect("write");
    }

    fn flush(&mut self) {
        self.stdin.flush().expect("flush");
    }

    fn read(&mut self) -> &str {
        self.line.clear();
        let n = self.stdout.read_line(&mut self.line).expect("read");
        assert!(n > 0, "the server closed stdout");
        &self.line
    }

    fn next_call(&mut self) -> u64 {
        self.id += 1;
        let id = self.id;
        self.send(&call_message(id));
        id
    }

    fn call_sequential(&mut self) {
        self.next_call();
        self.flush();
        let line = self.read();
        assert!(is_success(line.as_bytes()), "call failed: {line}");
    }

    fn run_sequential(&mut self, calls: usize) -> Run {
        let pid = server_pid(&self.child);
        let mut latencies = Vec::with_capacity(calls);
        let cpu = cpu_time(pid);
        let started = Instant::now();
        for _ in 0..calls {
            let t = Instant::now();
            self.call_sequential();
            latencies.push(t.elapsed());
        }
        finish_run(latencies, started.elapsed(), cpu_time(pid) - cpu, calls)
    }

    /// `CLIENTS` requests outstanding on the one connection until `calls` are answered.
    fn run_loaded(&mut self, calls: usize) -> Run {
        let pid = server_pid(&self.child);
        let mut sent_at = std::collections::HashMap::with_capacity(CLIENTS * 2);
        let mut latencies = Vec::with_capacity(calls);
        let cpu = cpu_time(pid);
        let started = Instant::now();
        let mut sent = 0;
        for _ in 0..CLIENTS {
            let id = self.next_call();
            sent_at.insert(id, Instant::now());
            sent += 1;
        }
        self.flush();
        while latencies.len() < calls {
            if self.stdout.buffer().is_empty() {
                self.flush();
            }
            let line = self.read().to_owned();
            assert!(is_success(line.as_bytes()), "call failed: {line}");
            let id = serde_json::from_str::<Value>(&line).expect("JSON")["id"]
                .as_u64()
                .expect("an id");
            if let Some(at) = sent_at.remove(&id) {
                latencies.push(at.elapsed());
            }
            if sent < calls {
                let id = self.next_call();
                sent_at.insert(id, Instant::now());
                sent += 1;
            }
        }
        finish_run(latencies, started.elapsed(), cpu_time(pid) - cpu, calls)
    }

    fn finish(mut self) {
        drop(self.stdin);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn finish_run(mut latencies: Vec<Duration>, wall: Duration, cpu: Duration, calls: usize) -> Run {
    latencies.sort_unstable();
    Run {
        cpu_per_call: cpu / calls as u32,
        p50: percentile(&latencies, 50),
        p99: percentile(&latencies, 99),
        calls_per_s: calls as f64 / wall.as_secs_f64(),
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP

struct Http {
    child: Child,
    addr: SocketAddr,
    idle_rss_kb: u64,
}

impl Http {
    fn spawn(bin: &Path, home: &Path, stub: SocketAddr) -> Http {
        let mut child = command(bin, home, stub)
            .args(["--http", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the HTTP server starts");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut line = String::new();
        let addr = loop {
            line.clear();
            assert!(
                stderr.read_line(&mut line).expect("stderr") > 0,
                "the HTTP server ended before listening"
            );
            if let Some(url) = line
                .trim()
                .strip_prefix("opentrain-mcp: listening on http://")
            {
                break url
                    .trim_end_matches("/mcp")
                    .parse()
                    .expect("a socket address");
            }
        };
        // Keep draining stderr so the server never blocks on it.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = stderr.read_to_end(&mut sink);
        });
        std::thread::sleep(Duration::from_millis(100));
        let idle_rss_kb = status_kb(server_pid(&child), "VmRSS:");
        Http {
            child,
            addr,
            idle_rss_kb,
        }
    }

    async fn warm_up(&mut self) {
        let mut conn = Conn::open(self.addr, 0).await;
        for i in 0..WARM_UP {
            conn.call(i as u64).await;
        }
    }

    /// `clients` connections, each its own caller, calling one after another until `calls`
    /// are answered in all.
    async fn run(&mut self, clients: usize, calls: usize) -> Run {
        let pid = server_pid(&self.child);
        let mut conns = Vec::with_capacity(clients);
        for i in 0..clients {
            conns.push(Conn::open(self.addr, i).await);
        }
        let per_client = calls / clients;
        let cpu = cpu_time(pid);
        let started = Instant::now();
        let local = tokio::task::LocalSet::new();
        let latencies: Vec<Duration> = local
            .run_until(async move {
                let tasks: Vec<_> = conns
                    .into_iter()
                    .map(|mut conn| {
                        tokio::task::spawn_local(async move {
                            let mut latencies = Vec::with_capacity(per_client);
                            for i in 0..per_client {
                                let t = Instant::now();
                                conn.call(i as u64).await;
                                latencies.push(t.elapsed());
                            }
                            latencies
                        })
                    })
                    .collect();
                let mut all = Vec::with_capacity(calls);
                for t in tasks {
                    all.extend(t.await.expect("a client task"));
                }
                all
            })
            .await;
        let wall = started.elapsed();
        let total = per_client * clients;
        finish_run(latencies, wall, cpu_time(pid) - cpu, total)
    }

    fn finish(mut self) {
        // SIGTERM, so a wrapping profiler can write its data.
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(server_pid(&self.child) as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One keep-alive HTTP/1.1 connection of one caller.
struct Conn {
    stream: tokio::net::TcpStream,
    head: String,
    buf: Vec<u8>,
}

impl Conn {
    async fn open(addr: SocketAddr, caller: usize) -> Conn {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .expect("connect to the HTTP server");
        stream.set_nodelay(true).expect("nodelay");
        // Every caller its own token (the stub accepts any).
        let head = format!(
            "POST /mcp HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
             accept: application/json, text/event-stream\r\nmcp-protocol-version: 2025-06-18\r\n\
             authorization: Bearer {TOKEN}{caller:04}\r\n"
        );
        Conn {
            stream,
            head,
            buf: Vec::with_capacity(16 * 1024),
        }
    }

    async fn call(&mut self, id: u64) {
        let body = call_message(id);
        let request = format!("{}content-length: {}\r\n\r\n{body}", self.head, body.len());
        self.stream
            .write_all(request.as_bytes())
            .await
            .expect("write");
        self.buf.clear();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let n = self.stream.read(&mut chunk).await.expect("read");
            assert!(n > 0, "the server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let total = end + 4 + content_length(&self.buf[..end]);
                if self.buf.len() >= total {
                    assert!(
                        self.buf.starts_with(b"HTTP/1.1 200"),
                        "{}",
                        String::from_utf8_lossy(&self.buf)
                    );
                    assert!(
                        is_success(&self.buf[end + 4..total]),
                        "call failed: {}",
                        String::from_utf8_lossy(&self.buf)
                    );
                    return;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The API stub (as in benches/bench.rs)

// ---------------------------------------------------------------------------------------------
// The table

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn print_table(
    bin: &Path,
    loads: &[(&str, &Run, &Run, f64)],
    stdio_hwm: u64,
    http_hwm: u64,
    http_idle_kb: u64,
) {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!("opentrain-mcp HTTP vs stdio: {}", bin.display());
    println!(
        "machine: {cores} cores; {SEQUENTIAL} sequential calls, {LOADED} with {CLIENTS} in \
         flight; median of {ROUNDS} alternating rounds"
    );
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        let fields: Vec<&str> = load.split_whitespace().take(3).collect();
        println!("load average (1, 5, 15 min): {}", fields.join(" "));
    }
    println!();
    println!("| load | metric | stdio | HTTP | HTTP / stdio | target |");
    println!("|---|---|---:|---:|---:|---|");
    let mut met = true;
    for (name, stdio, http, ratio) in loads {
        let ratio = *ratio;
        met &= ratio <= 2.0;
        println!(
            "| {name} | server CPU per call | {} | {} | {ratio:.2}× | ≤ 2× ({}) |",
            us(stdio.cpu_per_call),
            us(http.cpu_per_call),
            if ratio <= 2.0 { "met" } else { "NOT met" }
        );
        println!(
            "| {name} | latency p50 / p99 | {} / {} | {} / {} | {:.2}× | — |",
            us(stdio.p50),
            us(stdio.p99),
            us(http.p50),
            us(http.p99),
            http.p50.as_secs_f64() / stdio.p50.as_secs_f64()
        );
        println!(
            "| {name} | calls per second | {:.0} | {:.0} | {:.2}× | — |",
            stdio.calls_per_s,
            http.calls_per_s,
            http.calls_per_s / stdio.calls_per_s
        );
    }
    println!(
        "| all | peak resident memory (VmHWM) | {:.1} MiB | {:.1} MiB (idle {:.1} MiB) | {:.2}× | — |",
        stdio_hwm as f64 / 1024.0,
        http_hwm as f64 / 1024.0,
        http_idle_kb as f64 / 1024.0,
        http_hwm as f64 / stdio_hwm.max(1) as f64
    );
    println!();
    println!(
        "CPU per call within 2× of stdio: {}",
        if met { "yes" } else { "NO" }
    );
}
