//! The soak (issue 9): a client that stops reading stdout, again and again, against answers of
//! every size. `cargo bench --bench soak` (see BENCHMARKS.md).
//!
//! For each scenario one release server runs several rounds. In a round a writer thread pipelines
//! every call at once while the client reads nothing for a few seconds (the server must stop
//! reading and running, and hold no more than its bounds), then the client reads every answer.
//! The server's resident memory is sampled all along (`VmRSS`, and `VmHWM` at the end): it must
//! stay flat from round to round and under the target.
//!
//! Scenarios: small answers (a 4 KB credits answer, 20,000 calls a round), large answers (a
//! 1 MiB page, 400 calls a round), hostile answers (8 MiB of tiny values, refused unparsed,
//! 200 calls a round).

use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::release_binary;

mod support;

const TOKEN: &str = "ot_pat_soak00000000000000000000000";
/// Rounds per scenario (`SOAK_ROUNDS` overrides).
const ROUNDS: usize = 4;
const STALL: Duration = Duration::from_secs(3);
/// Peak resident memory the server may reach in any scenario.
const TARGET_MIB: f64 = 64.0;

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"soak","version":"1"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

struct Scenario {
    name: &'static str,
    body: Vec<u8>,
    calls: usize,
    /// Whether each answer is a success (else the hostile body's refusal).
    success: bool,
}

fn scenarios() -> Vec<Scenario> {
    let mut small = serde_json::from_slice::<Value>(
        &std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/credits_balance.json"))
            .expect("fixture"),
    )
    .expect("fixture is JSON");
    small["credits"]["note"] = json!("x".repeat(4000));
    // A page of 2,000 jobs with a description each: about 1 MiB and 20,000 values.
    let jobs: Vec<Value> = (0..2000)
        .map(|i| {
            json!({"id": format!("job_{i}"), "title": format!("Label audio batch {i}"),
                   "status": "PUBLISHED", "budgetUsd": 300 + i,
                   "description": "Transcribe and tag short clips. ".repeat(14)})
        })
        .collect();
    let large = json!({"credits": {"availableCents": 1, "reservedCents": 0, "currency": "usd",
                       "recentEntries": [], "jobs": jobs}});
    let mut hostile = b"{\"credits\":[".to_vec();
    while hostile.len() < 8 * 1024 * 1024 - 16 {
        hostile.extend_from_slice(b"0,");
    }
    hostile.extend_from_slice(b"0]}");
    vec![
        Scenario {
            name: "small answers (4 KB)",
            body: serde_json::to_vec(&small).expect("serializes"),
            calls: 20_000,
            success: true,
        },
        Scenario {
            name: "large answers (1 MiB)",
            body: serde_json::to_vec(&large).expect("serializes"),
            calls: 400,
            success: true,
        },
        Scenario {
            name: "hostile answers (8 MiB of tiny values)",
            body: hostile,
            calls: 200,
            success: false,
        },
    ]
}

fn main() {
    let bin = release_binary();
    println!();
    println!("opentrain-mcp soak: {}", bin.display());
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        let fields: Vec<&str> = load.split_whitespace().take(3).collect();
        println!("load average (1, 5, 15 min): {}", fields.join(" "));
    }
    println!(
        "{} rounds per scenario; in each, every call is pipelined and nothing is read for \
         {} s, then every answer is read",
        std::env::var("SOAK_ROUNDS").unwrap_or_else(|_| ROUNDS.to_string()),
        STALL.as_secs()
    );
    // `SOAK_SCENARIOS=small,large` runs only those (e.g. against an older binary, whose hostile
    // scenario would take gigabytes).
    let only = std::env::var("SOAK_SCENARIOS").ok();
    let rounds = std::env::var("SOAK_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(ROUNDS);
    let mut all_ok = true;
    for scenario in scenarios() {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|w| scenario.name.starts_with(w.trim())))
        {
            continue;
        }
        all_ok &= run(&bin, &scenario, rounds);
    }
    println!();
    println!(
        "{}",
        if all_ok {
            "flat: every scenario stayed under its first round's peak (+10%) and the target"
        } else {
            "NOT FLAT: see the rows marked NO"
        }
    );
}

/// Runs one scenario; true when memory stayed flat and under the target.
fn run(bin: &Path, scenario: &Scenario, rounds: usize) -> bool {
    let served = Arc::new(AtomicUsize::new(0));
    let stub = start_stub(&scenario.body, served.clone());
    let home = tempfile::TempDir::new().expect("a temporary HOME");
    let mut child = Command::new(bin)
        .env_clear()
        .env("HOME", home.path())
        .env("OPENTRAIN_PERSONAL_API_TOKEN", TOKEN)
        .env("OPENTRAIN_API_BASE_URL", format!("http://{stub}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server starts");
    let pid = child.id();
    let stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::with_capacity(1 << 20, child.stdout.take().expect("stdout"));
    let (tx, rx) = std::sync::mpsc::channel::<Vec<String>>();
    // The writer: sends what it is given, blocking whenever the server stops reading.
    let writer = std::thread::spawn(move || {
        let mut stdin = BufWriter::with_capacity(64 * 1024, stdin);
        for batch in rx {
            for line in batch {
                if stdin.write_all(line.as_bytes()).is_err() || stdin.write_all(b"\n").is_err() {
                    return;
                }
            }
            if stdin.flush().is_err() {
                return;
            }
        }
    });
    tx.send(vec![INITIALIZE.to_owned()]).expect("writer");
    let mut line = String::new();
    stdout.read_line(&mut line).expect("initialize answer");
    tx.send(vec![INITIALIZED.to_owned()]).expect("writer");

    println!();
    println!("{} ({} calls a round)", scenario.name, scenario.calls);
    println!(
        "| round | calls run while stalled | RSS while stalled | RSS while draining | drain time | flat |"
    );
    println!("|---|---|---|---|---|---|");
    let mut id = 0u64;
    let mut first_peak = 0u64;
    let mut unexpected = 0usize;
    let mut flat = true;
    for round in 1..=rounds {
        let before = served.load(Ordering::SeqCst);
        let batch: Vec<String> = (0..scenario.calls)
            .map(|_| {
                id += 1;
                format!(
                    r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"opentrain_get_credits","arguments":{{}}}}}}"#
                )
            })
            .collect();
        tx.send(batch).expect("writer");
        // Stalled: read nothing, watch memory.
        let stall_started = Instant::now();
        let mut stalled_peak = 0;
        while stall_started.elapsed() < STALL {
            stalled_peak = stalled_peak.max(rss_kib(pid));
            std::thread::sleep(Duration::from_millis(20));
        }
        let ran = served.load(Ordering::SeqCst) - before;
        // Draining: read every answer.
        let drain_started = Instant::now();
        let mut drain_peak = 0;
        for n in 0..scenario.calls {
            line.clear();
            let read = stdout.read_line(&mut line).expect("read");
            assert!(read > 0, "the server closed stdout");
            let ok = line.contains("\"isError\":false");
            if ok != scenario.success {
                unexpected += 1;
            }
            if n % 50 == 0 {
                drain_peak = drain_peak.max(rss_kib(pid));
            }
        }
        let drain = drain_started.elapsed();
        let peak = stalled_peak.max(drain_peak);
        if round == 1 {
            first_peak = peak;
        }
        let round_flat =
            peak as f64 <= first_peak as f64 * 1.1 + 1024.0 && peak as f64 / 1024.0 <= TARGET_MIB;
        flat &= round_flat;
        println!(
            "| {round} | {ran} of {} | {} | {} | {:.2} s | {} |",
            scenario.calls,
            mib(stalled_peak),
            mib(drain_peak),
            drain.as_secs_f64(),
            if round_flat { "yes" } else { "NO" }
        );
    }
    if unexpected > 0 {
        println!(
            "{unexpected} answers were {} (expected {})",
            if scenario.success {
                "errors"
            } else {
                "successes"
            },
            if scenario.success {
                "successes"
            } else {
                "errors"
            }
        );
    }
    let hwm = hwm_kib(pid);
    println!(
        "peak resident memory (VmHWM) {} (target ≤ {TARGET_MIB:.0} MiB): {}",
        mib(hwm),
        if hwm as f64 / 1024.0 <= TARGET_MIB {
            "met"
        } else {
            "NOT MET"
        }
    );
    drop(tx);
    let _ = child.kill();
    let _ = child.wait();
    let _ = writer.join();
    flat && unexpected == 0 && hwm as f64 / 1024.0 <= TARGET_MIB
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn status_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS:")
}

fn hwm_kib(pid: u32) -> u64 {
    status_kib(pid, "VmHWM:")
}

/// A keep-alive HTTP/1.1 stub: every request is answered 200 with `body`; counts requests.
fn start_stub(body: &[u8], served: Arc<AtomicUsize>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(body);
    let response: Arc<Vec<u8>> = Arc::new(response);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let response = response.clone();
            let served = served.clone();
            std::thread::spawn(move || {
                let _ = stream.set_nodelay(true);
                let mut buf = Vec::with_capacity(8192);
                let mut chunk = [0u8; 8192];
                loop {
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.drain(..end + 4);
                        served.fetch_add(1, Ordering::SeqCst);
                        if stream.write_all(&response).is_err() {
                            return;
                        }
                    }
                    match stream.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    addr
}
