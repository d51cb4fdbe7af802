//! Issue 9, point 5: the memory one answer can take, and all answers together, whatever the API
//! sends. Every allocation of this test binary is counted (a global allocator), so the figures
//! are exact, not timed: the peak of bytes allocated while the server fetches an answer, builds
//! its result and serializes it the way the transport writes it.
//!
//! The API is a raw loopback stub serving one pre-built body, so the stub allocates nothing that
//! is counted against the server.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use opentrain_mcp::api::Request;
use opentrain_mcp::api::budget::{self, AnswerHolds};
use opentrain_mcp::config::Config;
use opentrain_mcp::{OpenTrain, Options};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
            PEAK.fetch_max(now, Ordering::SeqCst);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
    }
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, layout, new_size) };
        if !q.is_null() {
            if new_size >= layout.size() {
                let now = CURRENT.fetch_add(new_size - layout.size(), Ordering::SeqCst)
                    + (new_size - layout.size());
                PEAK.fetch_max(now, Ordering::SeqCst);
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::SeqCst);
            }
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const MIB: usize = 1024 * 1024;

/// The counters are global: the tests of this file run one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A keep-alive HTTP/1.1 stub answering every request with `status` and `body`, from threads
/// that allocate only a small read buffer per connection.
fn stub(status: u16, body: Arc<Vec<u8>>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let body = body.clone();
            let head = head.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                let mut seen = Vec::with_capacity(8192);
                loop {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                    while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        seen.drain(..end + 4);
                        if stream.write_all(head.as_bytes()).is_err()
                            || stream.write_all(&body).is_err()
                        {
                            return;
                        }
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

fn server(uri: &str) -> (OpenTrain, tempfile::TempDir) {
    let dir = tempfile::TempDir::new().unwrap();
    let config = Config::new(
        Some(dir.path().join("cli.json")),
        Some("ot_pat_memory0000000000000000000000"),
        Some(uri),
    );
    let server = OpenTrain::new(
        config,
        Options {
            // Worst-case answers wait for each other's budget; a debug build parses slowly.
            timeout: Duration::from_secs(300),
            ..Options::default()
        },
    );
    (server, dir)
}

/// One call as the server runs it: fetch, shape the result, serialize it as the transport
/// writes it, then let the answer's budget go.
async fn one_call(server: &OpenTrain) -> (bool, usize) {
    let holds = AnswerHolds::default();
    let result = budget::collecting(
        holds.clone(),
        server.run(Request::get("/credits"), |b| {
            format!("{} keys", b.as_object().map_or(0, |o| o.len()))
        }),
    )
    .await;
    let bytes = serde_json::to_vec(&result).unwrap();
    let is_error = result.is_error == Some(true);
    drop(result);
    holds.release();
    (is_error, bytes.len())
}

/// Bodies an API could send: each 8 MiB or just under, made to cost as much memory as possible
/// once parsed.
fn hostile_bodies() -> Vec<(&'static str, u16, Vec<u8>)> {
    let fill = |unit: &str, open: &str, close: &str| {
        let mut body = open.as_bytes().to_vec();
        while body.len() + unit.len() + close.len() < 8 * MIB - 16 {
            body.extend_from_slice(unit.as_bytes());
        }
        body.pop();
        body.extend_from_slice(close.as_bytes());
        body
    };
    // Just under the value limit, every value as large as the body allows.
    let string_len = 8 * MIB / budget::MAX_ANSWER_VALUES - 8;
    let long = format!("\"{}\",", "y".repeat(string_len));
    let mut under_limit = b"{\"a\":[".to_vec();
    for _ in 0..budget::MAX_ANSWER_VALUES - 10 {
        under_limit.extend_from_slice(long.as_bytes());
    }
    under_limit.pop();
    under_limit.extend_from_slice(b"]}");
    vec![
        ("zeros", 200, fill("0,", "{\"a\":[", "]}")),
        ("empty objects", 200, fill("{},", "{\"a\":[", "]}")),
        ("small keys", 200, fill("\"k\":1,", "{\"a\":{", "}}")),
        ("nested arrays", 200, fill("[[]],", "{\"a\":[", "]}")),
        ("just under the value limit", 200, under_limit),
        ("an error of zeros", 500, fill("0,", "{\"error\":[", "]}")),
    ]
}

#[test]
fn one_answer_takes_well_under_64_mib_whatever_the_api_sends() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for (label, status, body) in hostile_bodies() {
        let size = body.len();
        let uri = stub(status, Arc::new(body));
        let (server, _dir) = server(&uri);
        // A first call builds the HTTP client and its connection pool.
        runtime.block_on(one_call(&server));
        let before = CURRENT.load(Ordering::SeqCst);
        PEAK.store(before, Ordering::SeqCst);
        let (is_error, written) = runtime.block_on(one_call(&server));
        let peak = PEAK.load(Ordering::SeqCst) - before;
        eprintln!(
            "{label}: body {:.1} MiB, error {is_error}, result {written} B, peak {:.1} MiB",
            size as f64 / MIB as f64,
            peak as f64 / MIB as f64
        );
        assert!(
            peak < 40 * MIB,
            "{label}: one answer took {:.1} MiB",
            peak as f64 / MIB as f64
        );
    }
}

#[test]
fn many_answers_at_once_stay_within_the_shared_budget() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // The costliest body that is still accepted, sent to 8 calls at once.
    let (_, _, body) = hostile_bodies()
        .into_iter()
        .find(|(label, ..)| *label == "just under the value limit")
        .unwrap();
    let uri = stub(200, Arc::new(body));
    let (server, _dir) = server(&uri);
    runtime.block_on(one_call(&server));
    let before = CURRENT.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let results = runtime.block_on(async {
        let calls: Vec<_> = (0..8).map(|_| one_call(&server)).collect();
        futures_join_all(calls).await
    });
    let peak = PEAK.load(Ordering::SeqCst) - before;
    eprintln!("8 at once: peak {:.1} MiB", peak as f64 / MIB as f64);
    assert!(results.iter().all(|(is_error, _)| !is_error));
    assert!(
        peak < 48 * MIB,
        "8 answers took {:.1} MiB",
        peak as f64 / MIB as f64
    );
}

/// Runs the futures concurrently on the current task (no extra dependency).
async fn futures_join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut out: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(|v| v.unwrap()).collect()
}
