//! Prometheus metrics for `--http` (`GET /metrics`), written by hand in the text exposition
//! format: a handful of counters, one gauge and one histogram need no crate.
//!
//! Every label value comes from a fixed set: the tool names this server registers (any other
//! name a client sends is counted as `unknown`), HTTP status codes, and a few outcome words. No
//! token, header or argument can ever become a label. Recording is a few relaxed atomic
//! operations and costs nothing when the metrics were never switched on (stdio).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use crate::api::ApiError;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// HTTP statuses are counted by code (100..=599); anything else as `other`.
const STATUSES: usize = 600;

#[derive(Default)]
struct Histogram {
    /// Per bucket (not cumulative), plus one for +Inf.
    counts: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let i = BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BUCKETS.len());
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }
}

#[derive(Default)]
struct ToolStats {
    ok: AtomicU64,
    error: AtomicU64,
    latency: Histogram,
}

struct Metrics {
    /// By tool name; fixed at start.
    tools: BTreeMap<String, ToolStats>,
    unknown_tool: ToolStats,
    in_flight: AtomicI64,
    /// API answers by status code, per attempt (retries count).
    api_status: Box<[AtomicU64]>,
    api_timeout: AtomicU64,
    api_connect: AtomicU64,
    api_transport: AtomicU64,
    /// Requests to the HTTP server, by the status it answered.
    http_status: Box<[AtomicU64]>,
    http_other: AtomicU64,
    /// Requests refused by the per-token concurrency cap.
    throttled: AtomicU64,
}

static METRICS: OnceLock<Metrics> = OnceLock::new();

fn counters(n: usize) -> Box<[AtomicU64]> {
    (0..n).map(|_| AtomicU64::new(0)).collect()
}

/// Switches metrics on, with the tool names that may appear as labels. Later calls do nothing.
pub fn enable<'a>(tool_names: impl IntoIterator<Item = &'a str>) {
    let _ = METRICS.get_or_init(|| Metrics {
        tools: tool_names
            .into_iter()
            .map(|n| (n.to_owned(), ToolStats::default()))
            .collect(),
        unknown_tool: ToolStats::default(),
        in_flight: AtomicI64::new(0),
        api_status: counters(STATUSES),
        api_timeout: AtomicU64::new(0),
        api_connect: AtomicU64::new(0),
        api_transport: AtomicU64::new(0),
        http_status: counters(STATUSES),
        http_other: AtomicU64::new(0),
        throttled: AtomicU64::new(0),
    });
}

/// A tool call in flight until dropped.
pub struct InFlight(bool);

/// Counts a tool call as in flight until the returned guard is dropped.
pub fn call_started() -> InFlight {
    match METRICS.get() {
        Some(m) => {
            m.in_flight.fetch_add(1, Ordering::Relaxed);
            InFlight(true)
        }
        None => InFlight(false),
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0
            && let Some(m) = METRICS.get()
        {
            m.in_flight.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Tool calls in flight now (0 when metrics are off).
pub fn in_flight() -> i64 {
    METRICS
        .get()
        .map_or(0, |m| m.in_flight.load(Ordering::Relaxed))
}

/// A finished tool call: its name (counted as `unknown` unless registered), whether its result
/// was an error, and how long it took.
pub fn tool_call(name: &str, is_error: bool, elapsed: Duration) {
    let Some(m) = METRICS.get() else { return };
    let stats = m.tools.get(name).unwrap_or(&m.unknown_tool);
    if is_error {
        stats.error.fetch_add(1, Ordering::Relaxed);
    } else {
        stats.ok.fetch_add(1, Ordering::Relaxed);
    }
    stats.latency.observe(elapsed);
}

/// One attempt at an API request: its status, or how it failed. Failures that sent nothing
/// (no token, a bad configuration) are not counted.
pub fn api_attempt(result: Result<u16, &ApiError>) {
    let Some(m) = METRICS.get() else { return };
    let status = match result {
        Ok(status) => status,
        Err(
            ApiError::Http { status, .. }
            | ApiError::Redirect { status, .. }
            | ApiError::NotJson { status, .. }
            | ApiError::NotAnObject { status, .. },
        ) => *status,
        Err(ApiError::Timeout(_)) => {
            m.api_timeout.fetch_add(1, Ordering::Relaxed);
            return;
        }
        Err(ApiError::Connect { .. }) => {
            m.api_connect.fetch_add(1, Ordering::Relaxed);
            return;
        }
        Err(ApiError::Transport(_) | ApiError::TooLarge { .. }) => {
            m.api_transport.fetch_add(1, Ordering::Relaxed);
            return;
        }
        Err(_) => return,
    };
    if let Some(c) = m.api_status.get(status as usize) {
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// One answered HTTP request, by its status.
pub fn http_request(status: u16) {
    let Some(m) = METRICS.get() else { return };
    match m.http_status.get(status as usize) {
        Some(c) => c.fetch_add(1, Ordering::Relaxed),
        None => m.http_other.fetch_add(1, Ordering::Relaxed),
    };
}

/// One request refused by the per-token concurrency cap.
pub fn throttled() {
    if let Some(m) = METRICS.get() {
        m.throttled.fetch_add(1, Ordering::Relaxed);
    }
}

/// The resident memory of this process, in bytes (Linux; `None` elsewhere).
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Everything, in the Prometheus text format (version 0.0.4).
pub fn render() -> String {
    let mut out = String::with_capacity(16 * 1024);
    let _ = writeln!(
        out,
        "# HELP opentrain_mcp_build_info The running opentrain-mcp.\n\
         # TYPE opentrain_mcp_build_info gauge\n\
         opentrain_mcp_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(bytes) = resident_bytes() {
        let _ = writeln!(
            out,
            "# HELP process_resident_memory_bytes Resident memory size in bytes.\n\
             # TYPE process_resident_memory_bytes gauge\n\
             process_resident_memory_bytes {bytes}"
        );
    }
    let Some(m) = METRICS.get() else {
        return out;
    };
    let tools = || {
        m.tools
            .iter()
            .map(|(n, s)| (n.as_str(), s))
            .chain([("unknown", &m.unknown_tool)])
    };

    out.push_str(
        "# HELP opentrain_mcp_tool_calls_total Tool calls answered, by tool and outcome (error: \
         the result had isError).\n# TYPE opentrain_mcp_tool_calls_total counter\n",
    );
    for (name, s) in tools() {
        for (outcome, c) in [("ok", &s.ok), ("error", &s.error)] {
            let n = c.load(Ordering::Relaxed);
            if n > 0 {
                let _ = writeln!(
                    out,
                    "opentrain_mcp_tool_calls_total{{tool=\"{name}\",outcome=\"{outcome}\"}} {n}"
                );
            }
        }
    }

    out.push_str(
        "# HELP opentrain_mcp_tool_call_duration_seconds Time to answer a tool call, by tool.\n\
         # TYPE opentrain_mcp_tool_call_duration_seconds histogram\n",
    );
    for (name, s) in tools() {
        let counts: Vec<u64> = s
            .latency
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            continue;
        }
        let mut cumulative = 0;
        for (bound, count) in BUCKETS.iter().zip(&counts) {
            cumulative += count;
            let _ = writeln!(
                out,
                "opentrain_mcp_tool_call_duration_seconds_bucket{{tool=\"{name}\",le=\"{bound}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "opentrain_mcp_tool_call_duration_seconds_bucket{{tool=\"{name}\",le=\"+Inf\"}} {total}\n\
             opentrain_mcp_tool_call_duration_seconds_sum{{tool=\"{name}\"}} {}\n\
             opentrain_mcp_tool_call_duration_seconds_count{{tool=\"{name}\"}} {total}",
            s.latency.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
    }

    let _ = writeln!(
        out,
        "# HELP opentrain_mcp_tool_calls_in_flight Tool calls being answered now.\n\
         # TYPE opentrain_mcp_tool_calls_in_flight gauge\n\
         opentrain_mcp_tool_calls_in_flight {}",
        m.in_flight.load(Ordering::Relaxed)
    );

    out.push_str(
        "# HELP opentrain_mcp_api_responses_total OpenTrain API answers by HTTP status, or how \
         the attempt failed (every attempt, retries included).\n\
         # TYPE opentrain_mcp_api_responses_total counter\n",
    );
    for (code, c) in m.api_status.iter().enumerate() {
        let n = c.load(Ordering::Relaxed);
        if n > 0 {
            let _ = writeln!(
                out,
                "opentrain_mcp_api_responses_total{{status=\"{code}\"}} {n}"
            );
        }
    }
    for (what, c) in [
        ("timeout", &m.api_timeout),
        ("connect", &m.api_connect),
        ("transport", &m.api_transport),
    ] {
        let n = c.load(Ordering::Relaxed);
        if n > 0 {
            let _ = writeln!(
                out,
                "opentrain_mcp_api_responses_total{{status=\"{what}\"}} {n}"
            );
        }
    }

    out.push_str(
        "# HELP opentrain_mcp_http_requests_total Requests to this server, by the status it \
         answered.\n# TYPE opentrain_mcp_http_requests_total counter\n",
    );
    for (code, c) in m.http_status.iter().enumerate() {
        let n = c.load(Ordering::Relaxed);
        if n > 0 {
            let _ = writeln!(
                out,
                "opentrain_mcp_http_requests_total{{code=\"{code}\"}} {n}"
            );
        }
    }
    let other = m.http_other.load(Ordering::Relaxed);
    if other > 0 {
        let _ = writeln!(
            out,
            "opentrain_mcp_http_requests_total{{code=\"other\"}} {other}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP opentrain_mcp_throttled_requests_total Requests refused (429) because their \
         token already had the maximum number of requests in flight.\n\
         # TYPE opentrain_mcp_throttled_requests_total counter\n\
         opentrain_mcp_throttled_requests_total {}",
        m.throttled.load(Ordering::Relaxed)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_labels_fixed() {
        enable(["opentrain_list_jobs"]);
        tool_call("opentrain_list_jobs", false, Duration::from_millis(3));
        tool_call("opentrain_list_jobs", true, Duration::from_millis(300));
        tool_call("ot_pat_not_a_tool_name", false, Duration::from_millis(1));
        api_attempt(Ok(200));
        http_request(401);
        let text = render();
        assert!(text.contains(
            "opentrain_mcp_tool_calls_total{tool=\"opentrain_list_jobs\",outcome=\"ok\"} 1"
        ));
        assert!(text.contains(
            "opentrain_mcp_tool_call_duration_seconds_bucket{tool=\"opentrain_list_jobs\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "opentrain_mcp_tool_call_duration_seconds_bucket{tool=\"opentrain_list_jobs\",le=\"0.5\"} 2"
        ));
        assert!(text.contains("tool=\"unknown\""));
        assert!(!text.contains("ot_pat_"));
        assert!(text.contains("opentrain_mcp_api_responses_total{status=\"200\"}"));
        assert!(text.contains("opentrain_mcp_http_requests_total{code=\"401\"}"));
    }
}
