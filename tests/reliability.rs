//! Issue 4: hostile input, faults and load never lose data or leak a token.
//!
//! The server sits between an LLM (which text in a job post or a message may steer) and an account
//! that can spend money, so every argument and every API answer is untrusted. Each section proves
//! one group of the issue's points, in-process against wiremock and through the real binary.
//! (The retry policy, 429s, the three error shapes, an empty 204, a plain cross-host redirect and
//! the basic time budget are in `http.rs`; base-URL parsing, precedence and two-writer
//! concurrency in `config.rs`; arbitrary input in `properties.rs`.)

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::stdio::Proc;
use common::*;
use opentrain_mcp::config::{Config, OnCorrupt};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{any, method, path, path_regex};
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

const V1: &str = "/api/public/v1";

/// Ids an agent might be steered into passing, and the one segment each must become.
const HOSTILE_IDS: [(&str, &str); 5] = [
    ("../tokens", "..%2Ftokens"),
    ("a/../../tokens", "a%2F..%2F..%2Ftokens"),
    ("x?y=1", "x%3Fy%3D1"),
    ("x#y", "x%23y"),
    ("%2e%2e", "%252e%252e"),
];

/// Answers every request with `200 {}`.
async fn answer_empty_object(api: &MockServer) {
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(api)
        .await;
}

fn method_and_path(req: &wiremock::Request) -> (String, String, Option<String>) {
    (
        req.method.to_string(),
        req.url.path().to_owned(),
        req.url.query().map(str::to_owned),
    )
}

// ---------------------------------------------------------------------------------------------
// Input from the agent

#[tokio::test]
async fn hostile_ids_stay_one_encoded_segment_on_the_intended_endpoint() {
    type Args = fn(&str) -> Value;
    /// Method and path template (`{}` for the encoded id) of each request a call makes.
    type Sends = &'static [(&'static str, &'static str)];
    // Tools with different path shapes: id last, id in the middle, DELETE, and two requests.
    let tools: [(&str, Args, Sends); 7] = [
        (
            "opentrain_publish_job",
            |id| json!({"jobId": id}),
            &[("POST", "/jobs/{}/publish")],
        ),
        (
            "opentrain_get_contract",
            |id| json!({"contractId": id}),
            &[("GET", "/contracts/{}")],
        ),
        (
            "opentrain_delete_webhook",
            |id| json!({"webhookId": id}),
            &[("DELETE", "/webhooks/{}")],
        ),
        (
            "opentrain_revoke_token",
            |id| json!({"tokenId": id}),
            &[("DELETE", "/tokens/{}")],
        ),
        (
            "opentrain_get_proposal",
            |id| json!({"proposalId": id, "includeInterview": true}),
            &[("GET", "/proposals/{}"), ("GET", "/proposals/{}/interview")],
        ),
        (
            "opentrain_request_milestone_funding",
            |id| json!({"milestoneId": id}),
            &[("POST", "/milestones/{}/fund")],
        ),
        (
            "opentrain_list_proposals",
            |id| json!({"jobId": id}),
            &[("GET", "/jobs/{}/proposals")],
        ),
    ];
    let h = Harness::new().await;
    for (tool, args, want) in tools {
        for (raw, encoded) in HOSTILE_IDS {
            h.api.reset().await;
            answer_empty_object(&h.api).await;
            let r = h.call(tool, args(raw)).await;
            assert!(!is_error(&r), "{tool} {raw:?}: {}", text(&r));
            let got: Vec<_> = h.requests().await.iter().map(method_and_path).collect();
            let want: Vec<_> = want
                .iter()
                .map(|(m, p)| {
                    (
                        m.to_string(),
                        format!("{V1}{}", p.replace("{}", encoded)),
                        None,
                    )
                })
                .collect();
            assert_eq!(got, want, "{tool} with id {raw:?}");
        }
    }
}

#[tokio::test]
async fn unusable_ids_are_refused_with_no_request() {
    let bad: [(&str, &'static str); 11] = [
        (".", "\".\" is not an id"),
        ("..", "\"..\" is not an id"),
        (" .. ", "\"..\" is not an id"),
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("\t\n", "must not be empty"),
        ("\u{0}", "control characters"),
        ("a\nb", "control characters"),
        ("x\u{7f}", "control characters"),
        ("\u{1b}[2Jjob", "control characters"),
        ("job\u{85}1", "control characters"),
    ];
    let fields = [
        ("opentrain_publish_job", "jobId"),
        ("opentrain_get_contract", "contractId"),
        ("opentrain_delete_webhook", "webhookId"),
        ("opentrain_revoke_token", "tokenId"),
        ("opentrain_get_proposal", "proposalId"),
        ("opentrain_get_freelancer_profile", "idOrSlug"),
    ];
    let mut cases = Vec::new();
    for (tool, field) in fields {
        for (id, says) in bad {
            cases.push(Refused {
                tool,
                args: json!({ field: id }),
                says,
            });
        }
        cases.push(Refused {
            tool,
            args: json!({ field: "x".repeat(257) }),
            says: "at most 256 characters",
        });
    }
    check_refused(cases).await;
}

#[tokio::test]
async fn a_query_value_with_delimiters_arrives_as_exactly_one_value() {
    let h = Harness::new().await;
    answer_empty_object(&h.api).await;
    let q = "a&limit=999 #x+y";
    for (tool, args, raw, pairs) in [
        (
            "opentrain_search_jobs",
            json!({"q": q}),
            "q=a%26limit%3D999%20%23x%2By",
            vec![("q", q)],
        ),
        (
            "opentrain_search_jobs",
            json!({"q": q, "limit": 5}),
            "q=a%26limit%3D999%20%23x%2By&limit=5",
            vec![("q", q), ("limit", "5")],
        ),
        (
            "opentrain_list_contracts",
            json!({"jobId": "j&status=ended#"}),
            "jobId=j%26status%3Dended%23",
            vec![("jobId", "j&status=ended#")],
        ),
    ] {
        h.api.reset().await;
        answer_empty_object(&h.api).await;
        let r = h.call(tool, args.clone()).await;
        assert!(!is_error(&r), "{}", text(&r));
        let req = h.only_request().await;
        assert_eq!(req.url.query(), Some(raw), "{tool} {args}");
        let got: Vec<(String, String)> = req
            .url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let want: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(got, want, "{tool} {args}");
    }
}

#[tokio::test]
async fn oversized_arguments_are_refused_unsent_and_the_server_keeps_serving() {
    let h = Harness::new().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("auth_me")))
        .mount(&h.api)
        .await;
    let ten_mb = "A".repeat(10 * 1024 * 1024);
    // Many fields that are each small but together too big are refused the same way.
    let wide: serde_json::Map<String, Value> = (0..2000)
        .map(|i| (format!("field{i}"), json!("z".repeat(600))))
        .collect();
    for (tool, args) in [
        ("opentrain_search_jobs", json!({"q": ten_mb})),
        ("opentrain_register_agent", json!({"agentName": ten_mb})),
        ("opentrain_publish_job", json!({"jobId": ten_mb})),
        ("opentrain_send_message", json!({"text": ten_mb})),
        (
            "opentrain_update_published_job",
            json!({"jobId": "j1", "patch": wide}),
        ),
    ] {
        let r = h.call(tool, args).await;
        assert!(is_error(&r), "{tool}");
        let t = text(&r);
        assert!(
            t.contains("over the 1024 KiB limit") && t.contains("nothing was sent"),
            "{tool}: {}",
            t.chars().take(300).collect::<String>()
        );
        assert!(t.len() < 500, "{tool}: the argument is not echoed back");
    }
    // Under the total limit, a field's own limit still refuses it locally.
    let r = h
        .call(
            "opentrain_get_contract",
            json!({"contractId": "c".repeat(900 * 1024)}),
        )
        .await;
    assert!(is_error(&r) && text(&r).contains("at most 256 characters"));
    assert!(h.requests().await.is_empty(), "nothing was sent");

    let r = h.call("opentrain_auth_status", json!({})).await;
    assert!(!is_error(&r), "still serving: {}", text(&r));
}

// ---------------------------------------------------------------------------------------------
// Answers from the API

/// Calls `opentrain_get_credits` against an API answering `reply`, and checks the server still
/// answers the next call.
async fn credits_with(h: &Harness, reply: ResponseTemplate) -> rmcp::model::CallToolResult {
    h.api.reset().await;
    Mock::given(path(format!("{V1}/credits")))
        .respond_with(reply)
        .mount(&h.api)
        .await;
    Mock::given(path(format!("{V1}/auth/me")))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("auth_me")))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_get_credits", json!({})).await;
    let next = h.call("opentrain_auth_status", json!({})).await;
    assert!(!is_error(&next), "the server keeps serving");
    r
}

#[tokio::test]
async fn odd_2xx_bodies_are_clear_errors_or_an_empty_object() {
    let h = Harness::new().await;
    for (reply, want) in [
        (
            ResponseTemplate::new(200).set_body_raw(b"{\"jobs\": [".to_vec(), "application/json"),
            Err("the API answered 200 with a body that is not JSON: {\"jobs\": [."),
        ),
        (
            ResponseTemplate::new(200).set_body_raw(b"\xff\xfe\x00garbage".to_vec(), "text/plain"),
            Err("the API answered 200 with a body that is not JSON: \u{fffd}\u{fffd} garbage."),
        ),
        (
            ResponseTemplate::new(200).set_body_raw(b"[1, 2]".to_vec(), "application/json"),
            Err("the API answered 200 with JSON that is not an object: [1, 2]."),
        ),
        (
            ResponseTemplate::new(200).set_body_raw(b"null".to_vec(), "application/json"),
            Err("the API answered 200 with JSON that is not an object: null."),
        ),
        (
            ResponseTemplate::new(200).set_body_raw(b"".to_vec(), "application/json"),
            Ok(json!({})),
        ),
        (
            ResponseTemplate::new(200).set_body_raw(b" \r\n\t ".to_vec(), "application/json"),
            Ok(json!({})),
        ),
        (ResponseTemplate::new(201), Ok(json!({}))),
    ] {
        let r = credits_with(&h, reply).await;
        match want {
            Ok(body) => {
                assert!(!is_error(&r), "{}", text(&r));
                assert_eq!(structured(&r), &body);
            }
            Err(says) => {
                assert!(is_error(&r));
                assert_eq!(text(&r), says);
                assert!(r.structured_content.is_none());
            }
        }
    }
}

#[tokio::test]
async fn error_pages_and_long_texts_reach_the_agent_trimmed_and_tag_free() {
    let h = Harness::new().await;
    let page = format!(
        "<!DOCTYPE html><html><head><title>500 Internal Server Error</title><script>var scriptVar = \
         1;</script><style>h1 {{ color: red }}</style></head><body><h1>Internal \
         Server Error</h1><p>{}</p></body></html>",
        "The server encountered an error. ".repeat(6000)
    );
    let long_envelope = json!({
        "error": format!("<div class=\"err\"><b>Bad</b> request</div>{}", "y".repeat(50_000)),
        "code": "VALIDATION_ERROR",
        "requestId": "r-long",
        "details": {"reason": "x".repeat(20_000), "fields": ["q"]}
    });
    for (reply, status) in [
        (
            ResponseTemplate::new(500).set_body_raw(page.clone(), "text/html"),
            500,
        ),
        (
            ResponseTemplate::new(200).set_body_raw(page.clone(), "text/html"),
            200,
        ),
        (
            ResponseTemplate::new(502).set_body_string("z".repeat(1024 * 1024)),
            502,
        ),
        (
            ResponseTemplate::new(400).set_body_json(long_envelope.clone()),
            400,
        ),
    ] {
        let r = credits_with(&h, reply).await;
        assert!(is_error(&r), "{status}");
        let t = text(&r);
        let shown = format!("{t} {}", r.structured_content.clone().unwrap_or_default());
        assert!(
            !shown.contains('<') && !shown.contains("color: red") && !shown.contains("scriptVar"),
            "{status}: markup or script reached the agent: {}",
            shown.chars().take(500).collect::<String>()
        );
        assert!(
            shown.len() < 6000,
            "{status}: {} bytes reached the agent",
            shown.len()
        );
        assert!(t.contains(&format!("{status}")), "{t}");
    }
    // What is left is the text, cut with a marker: the page's title and heading, the envelope's
    // code and request id.
    let r = credits_with(
        &h,
        ResponseTemplate::new(500).set_body_raw(page, "text/html"),
    )
    .await;
    let error = structured(&r)["error"].as_str().unwrap().to_owned();
    assert!(
        error.starts_with("500 Internal Server Error Internal Server Error The server"),
        "{error}"
    );
    assert_eq!(error.chars().count(), 301);
    assert!(error.ends_with('…'));
    let r = credits_with(&h, ResponseTemplate::new(400).set_body_json(long_envelope)).await;
    let t = text(&r);
    assert!(
        t.starts_with("OpenTrain API error: HTTP 400 VALIDATION_ERROR — Bad request yyy"),
        "{t}"
    );
    assert!(t.contains("Request id: r-long"), "{t}");
    assert_eq!(structured(&r)["error"]["code"], "VALIDATION_ERROR");
    assert_eq!(
        structured(&r)["error"]["details"]["reason"]
            .as_str()
            .unwrap()
            .chars()
            .count(),
        1001
    );
}

/// A one-connection-at-a-time HTTP/1.1 server on loopback for what wiremock cannot do: chunked
/// bodies without a length, bodies cut short, and headers followed by silence. Counts the
/// connections it accepted.
struct RawServer {
    uri: String,
    connections: Arc<AtomicUsize>,
}

#[derive(Clone, Copy)]
enum Raw {
    /// `200`, `Transfer-Encoding: chunked`, 64 KiB chunks until `total` bytes or the client
    /// hangs up.
    Chunked { total: usize },
    /// `200` with `Content-Length: 1000`, then these bytes, then the connection closes.
    CutShort(&'static [u8]),
    /// `200` headers announcing a body that never comes.
    SilentAfterHeaders,
}

impl RawServer {
    async fn start(behaviour: Raw) -> RawServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!("http://{}", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let count = connections.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    match behaviour {
                        Raw::Chunked { total } => {
                            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                                        Transfer-Encoding: chunked\r\n\r\n";
                            if socket.write_all(head.as_bytes()).await.is_err() {
                                return;
                            }
                            let chunk = vec![b' '; 64 * 1024];
                            let mut sent = 0;
                            while sent < total {
                                let frame = format!("{:x}\r\n", chunk.len());
                                if socket.write_all(frame.as_bytes()).await.is_err()
                                    || socket.write_all(&chunk).await.is_err()
                                    || socket.write_all(b"\r\n").await.is_err()
                                {
                                    return;
                                }
                                sent += chunk.len();
                            }
                            let _ = socket.write_all(b"0\r\n\r\n").await;
                        }
                        Raw::CutShort(bytes) => {
                            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                                        Content-Length: 1000\r\n\r\n";
                            let _ = socket.write_all(head.as_bytes()).await;
                            let _ = socket.write_all(bytes).await;
                            let _ = socket.shutdown().await;
                        }
                        Raw::SilentAfterHeaders => {
                            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                                        Content-Length: 100\r\n\r\n";
                            let _ = socket.write_all(head.as_bytes()).await;
                            tokio::time::sleep(Duration::from_secs(60)).await;
                        }
                    }
                });
            }
        });
        RawServer { uri, connections }
    }
}

/// A server whose API is `uri`, with the env token.
fn server_at(uri: &str, timeout: Duration) -> (opentrain_mcp::OpenTrain, TempDir) {
    let dir = TempDir::new().unwrap();
    let config = Config::new(Some(dir.path().join("cli.json")), Some(PAT), Some(uri));
    let server = opentrain_mcp::OpenTrain::new(
        config,
        opentrain_mcp::Options {
            timeout,
            result_format: opentrain_mcp::tools::result::format::ResultFormat::Structured,
            setup_error: None,
            ..Default::default()
        },
    );
    (server, dir)
}

/// The text of the result `tool` would give for this request.
async fn result_text(
    server: &opentrain_mcp::OpenTrain,
    req: opentrain_mcp::api::Request,
) -> String {
    server.run(req, |_| "ok".to_owned()).await.content[0]
        .as_text()
        .unwrap()
        .text
        .clone()
}

#[tokio::test]
async fn bodies_over_8_mib_are_discarded_with_or_without_a_length() {
    let nine_mib = vec![b' '; 9 * 1024 * 1024];
    let h = Harness::new().await;
    for status in [200, 500] {
        let r = credits_with(
            &h,
            ResponseTemplate::new(status).set_body_raw(nine_mib.clone(), "application/json"),
        )
        .await;
        assert!(is_error(&r));
        assert_eq!(
            text(&r),
            "the response was larger than 8 MiB and was discarded."
        );
    }

    // Chunked, so the size is known only while reading: the read stops past the limit.
    let raw = RawServer::start(Raw::Chunked {
        total: 64 * 1024 * 1024,
    })
    .await;
    let (server, _dir) = server_at(&raw.uri, Duration::from_secs(20));
    let t = result_text(&server, opentrain_mcp::api::Request::get("/credits")).await;
    assert_eq!(t, "the response was larger than 8 MiB and was discarded.");
    assert_eq!(raw.connections.load(Ordering::SeqCst), 1, "not retried");
}

#[tokio::test]
async fn a_body_cut_short_is_a_connection_failure_and_a_write_is_not_repeated() {
    let raw = RawServer::start(Raw::CutShort(b"{\"jobs\": [")).await;
    let (server, _dir) = server_at(&raw.uri, Duration::from_secs(20));
    let t = result_text(&server, opentrain_mcp::api::Request::get("/jobs/mine")).await;
    assert!(t.starts_with("the connection failed: "), "{t}");
    assert_eq!(
        raw.connections.load(Ordering::SeqCst),
        3,
        "a GET is retried"
    );

    let raw = RawServer::start(Raw::CutShort(b"{\"job\":")).await;
    let (server, _dir) = server_at(&raw.uri, Duration::from_secs(20));
    let t = result_text(&server, opentrain_mcp::api::Request::post("/jobs/j1/close")).await;
    assert!(
        t.starts_with("the connection failed: ")
            && t.contains("check whether it took effect before repeating it"),
        "{t}"
    );
    assert_eq!(
        raw.connections.load(Ordering::SeqCst),
        1,
        "a write is sent once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_api_times_out_while_other_calls_keep_working() {
    let h = Harness::with(Setup {
        timeout: Duration::from_secs(3),
        ..Setup::default()
    })
    .await;
    Mock::given(path(format!("{V1}/auth/me")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fixture("auth_me"))
                .set_delay(Duration::from_secs(60)),
        )
        .mount(&h.api)
        .await;
    Mock::given(path(format!("{V1}/credits")))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("credits_balance")))
        .mount(&h.api)
        .await;

    let started = Instant::now();
    let hung = async {
        let r = h.call("opentrain_auth_status", json!({})).await;
        (r, Instant::now())
    };
    let other = async {
        // Once the hung request is at the API, another call goes through.
        let deadline = Instant::now() + Duration::from_secs(5);
        while h.requests().await.is_empty() {
            assert!(
                Instant::now() < deadline,
                "the first call never reached the API"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let asked = Instant::now();
        let r = h.call("opentrain_get_credits", json!({})).await;
        (r, asked.elapsed(), Instant::now())
    };
    let ((hung, hung_done), (other, other_took, other_done)) = tokio::join!(hung, other);

    assert!(!is_error(&other), "{}", text(&other));
    assert!(text(&other).contains("$50.00"), "{}", text(&other));
    assert!(
        other_done < hung_done,
        "the second call waited for the hung one"
    );
    assert!(other_took < Duration::from_millis(1500), "{other_took:?}");

    assert!(is_error(&hung));
    let t = text(&hung);
    assert!(
        t.starts_with("Timed out: the OpenTrain API did not answer within 3 s"),
        "{t}"
    );
    let took = hung_done - started;
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(6),
        "{took:?}"
    );
}

#[tokio::test]
async fn a_body_that_never_comes_ends_at_the_time_budget() {
    let raw = RawServer::start(Raw::SilentAfterHeaders).await;
    let (server, _dir) = server_at(&raw.uri, Duration::from_secs(1));
    let started = Instant::now();
    let t = result_text(&server, opentrain_mcp::api::Request::get("/credits")).await;
    assert!(t.starts_with("Timed out: "), "{t}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn redirects_never_carry_the_token_to_another_origin() {
    let h = Harness::new().await;
    let other = MockServer::start().await;
    answer_empty_object(&other).await;
    let other_host = other.uri().replace("127.0.0.1", "localhost");
    // Same host name, another port: another origin too.
    let other_port = other.uri();
    // (Only reads follow any redirect at all; writes are in tests/hardening.rs.)
    for (status, target, tool) in [
        (301, other_port.clone(), "opentrain_get_credits"),
        (302, other_host.clone(), "opentrain_get_credits"),
        (303, other_port.clone(), "opentrain_get_credits"),
        (307, other_host.clone(), "opentrain_get_credits"),
        (308, other_port.clone(), "opentrain_get_credits"),
    ] {
        h.api.reset().await;
        // A same-origin hop inside the API's path first, then off to the other origin.
        Mock::given(path_regex("^/api/public/v1/credits$"))
            .respond_with(
                ResponseTemplate::new(307).insert_header("Location", "/api/public/v1/hop"),
            )
            .mount(&h.api)
            .await;
        Mock::given(path("/api/public/v1/hop"))
            .respond_with(
                ResponseTemplate::new(status)
                    .insert_header("Location", format!("{target}/steal?t={PAT}")),
            )
            .mount(&h.api)
            .await;
        let r = h.call(tool, json!({"jobId": "j1"})).await;
        assert!(is_error(&r), "{status} {target}");
        let t = text(&r);
        assert!(
            t.contains(&format!(
                "answered {status} with a redirect to {target}/steal?t=ot_pat_…9f2c"
            )),
            "{t}"
        );
        assert!(!t.contains(PAT), "{t}");
        let hops = h.requests().await;
        assert_eq!(hops.len(), 2, "{status}: the same-origin hop was followed");
        assert_eq!(
            hops[1].headers.get("authorization").unwrap(),
            &format!("Bearer {PAT}")
        );
    }
    assert!(
        other.received_requests().await.unwrap().is_empty(),
        "the other origin received a request"
    );
}

// ---------------------------------------------------------------------------------------------
// Configuration: the base URL

#[tokio::test]
async fn a_base_url_that_is_not_https_or_loopback_is_refused_at_the_call() {
    for (url, says) in [
        (
            "http://api.example.com",
            "plain http is allowed only for localhost, 127.0.0.1 and ::1",
        ),
        (
            "http://localhost.evil.example",
            "plain http is allowed only",
        ),
        ("http://127.0.0.1.nip.io:8080", "plain http is allowed only"),
        ("ftp://127.0.0.1/", "the scheme must be https, not ftp"),
        ("file:///etc/passwd", "it has no host"),
        ("javascript:alert(1)", "it has no host"),
        (
            "https://agent:hunter2@app.opentrain.ai",
            "it must not contain a user name or password",
        ),
        (
            "https://app.opentrain.ai/?x=1",
            "it must not contain a query or fragment",
        ),
    ] {
        // From the environment variable…
        let (server, _dir) = server_at(url, Duration::from_secs(5));
        let t = result_text(&server, opentrain_mcp::api::Request::get("/auth/me")).await;
        assert!(
            t.contains("OPENTRAIN_API_BASE_URL")
                && t.contains(says)
                && t.ends_with("Nothing was sent."),
            "{url}: {t}"
        );
        assert!(!t.contains("hunter2"), "{t}");
        // …and from the credentials file, through a tool call.
        let h = Harness::with(Setup {
            env_token: None,
            base_url_from_env: false,
            file: Some(json!({"apiToken": PAT2, "baseUrl": url}).to_string()),
            ..Setup::default()
        })
        .await;
        let r = h.call("opentrain_get_credits", json!({})).await;
        assert!(is_error(&r));
        let t = text(&r);
        let file = h.config_path().display().to_string();
        assert!(
            t.contains(&format!("from baseUrl in {file}")) && t.contains(says),
            "{url}: {t}"
        );
        assert!(!t.contains("hunter2"), "{t}");
    }
}

#[tokio::test]
async fn loopback_hosts_may_use_plain_http() {
    let api = MockServer::start().await;
    answer_empty_object(&api).await;
    let port = api.address().port();
    for url in [
        format!("http://localhost:{port}"),
        format!("HTTP://LOCALHOST:{port}/"),
        format!("http://127.0.0.1:{port}"),
    ] {
        let (server, _dir) = server_at(&url, Duration::from_secs(5));
        let t = result_text(&server, opentrain_mcp::api::Request::get("/credits")).await;
        assert_eq!(t, "ok", "{url}");
    }
    assert_eq!(api.received_requests().await.unwrap().len(), 3);
    // Nothing listens on ::1 here, so only the rule is checked.
    for url in ["http://[::1]:8080", "http://127.0.0.2:1"] {
        let config = Config::new(None, Some(PAT), Some(url));
        assert!(config.settings().is_ok(), "{url}");
    }
}

// ---------------------------------------------------------------------------------------------
// Load

/// The read tools used under load: tool, id argument, path prefix, fixture, and the key of the
/// fixture's object whose `id` the echo sets.
const READS: [(&str, &str, &str, &str, &str); 6] = [
    (
        "opentrain_get_contract",
        "contractId",
        "/contracts/",
        "contracts_get",
        "contract",
    ),
    (
        "opentrain_get_proposal",
        "proposalId",
        "/proposals/",
        "proposals_get",
        "proposal",
    ),
    (
        "opentrain_get_webhook",
        "webhookId",
        "/webhooks/",
        "webhooks_get",
        "webhook",
    ),
    (
        "opentrain_get_credit_top_up",
        "topUpId",
        "/credits/top-ups/",
        "credits_top_up",
        "topUp",
    ),
    (
        "opentrain_get_approval",
        "approvalId",
        "/approvals/",
        "approvals_get",
        "approval",
    ),
    (
        "opentrain_get_freelancer_profile",
        "idOrSlug",
        "/freelancers/",
        "freelancers_get",
        "freelancer",
    ),
];

/// Answers each read with its fixture, the object's `id` set to the id decoded from the path,
/// after 300–500 ms depending on the id, so answers come back out of order.
struct EchoById;

impl Respond for EchoById {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        let path = req.url.path();
        for (_, _, prefix, fixture_name, key) in READS {
            if let Some(raw) = path.strip_prefix(&format!("{V1}{prefix}")) {
                let id = percent_encoding::percent_decode_str(raw)
                    .decode_utf8()
                    .unwrap()
                    .into_owned();
                let mut body = fixture(fixture_name);
                body[key]["id"] = json!(id);
                let jitter = id.bytes().map(u64::from).sum::<u64>() % 200;
                return ResponseTemplate::new(200)
                    .set_body_json(body)
                    .set_delay(Duration::from_millis(300 + jitter));
            }
        }
        ResponseTemplate::new(404)
    }
}

/// Call `i` of a load test: its tool, arguments, the key of the answer and the id it must echo.
fn read_call(i: usize) -> (&'static str, Value, &'static str, String) {
    let (tool, arg, _, _, key) = READS[i % READS.len()];
    let id = format!("id-{i}/x y#{}", i * 7);
    (tool, json!({ arg: id }), key, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_concurrent_calls_each_get_their_own_answer() {
    let h = Arc::new(Harness::new().await);
    Mock::given(method("GET"))
        .respond_with(EchoById)
        .mount(&h.api)
        .await;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..60 {
        let h = h.clone();
        tasks.spawn(async move {
            let (tool, args, key, id) = read_call(i);
            let r = h.call(tool, args).await;
            (i, tool, key, id, r)
        });
    }
    let mut seen = HashSet::new();
    while let Some(done) = tasks.join_next().await {
        let (i, tool, key, id, r) = done.unwrap();
        assert!(!is_error(&r), "call {i} ({tool}): {}", text(&r));
        assert_eq!(
            structured(&r)[key]["id"],
            id,
            "call {i} ({tool}) got another answer"
        );
        seen.insert(i);
    }
    assert_eq!(seen.len(), 60);
    assert_eq!(h.requests().await.len(), 60);
    // One after the other they would take at least 60 × 300 ms.
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "calls were not concurrent: {:?}",
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------------------------
// The credentials file: one writer at a time, and a kill never leaves a mix

fn registration_token(n: usize) -> String {
    format!("ot_pat_{}{n:04}", "Reg".repeat(8))
}

fn registration_claim(n: usize) -> String {
    format!("ot_clm_{}{n:04}", "Clm".repeat(8))
}

/// `POST /api/agent/identity`: a new account per call, numbered.
struct Registrations(AtomicUsize);

impl Respond for Registrations {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        ResponseTemplate::new(201)
            .set_body_json(json!({
                "identity_type": "anonymous",
                "registration_id": format!("reg-{n}"),
                "access_token": registration_token(n),
                "token_type": "bearer",
                "scopes": ["jobs:read"],
                "claim_token": registration_claim(n),
                "claim_token_expires_at": "2026-06-13T09:00:00.000Z"
            }))
            .set_delay(Duration::from_millis((n as u64 * 13) % 40))
    }
}

/// `POST /api/agent/oauth/token`: claimed, with a token derived from the claim token sent.
struct Claims;

impl Respond for Claims {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        let claim = url::form_urlencoded::parse(&req.body)
            .find(|(k, _)| k == "claim_token")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let suffix = claim.trim_start_matches("ot_clm_");
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": format!("ot_pat_claimed{suffix}"),
            "token_type": "bearer",
            "scopes": ["jobs:read", "proposals:write"]
        }))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_credential_writes_never_tear_the_file_or_lose_keys() {
    let h = Arc::new(
        Harness::with(Setup {
            env_token: None,
            file: Some(json!({"keep": "me"}).to_string()),
            ..Setup::default()
        })
        .await,
    );
    Mock::given(path("/api/agent/identity"))
        .respond_with(Registrations(AtomicUsize::new(0)))
        .mount(&h.api)
        .await;
    Mock::given(path("/api/agent/oauth/token"))
        .respond_with(Claims)
        .mount(&h.api)
        .await;
    let file = h.config_path();

    // Another program (another Config, sharing nothing in memory) writes its own keys meanwhile…
    let stop = Arc::new(AtomicBool::new(false));
    let other = {
        let file = file.clone();
        std::thread::spawn(move || {
            let config = Config::new(Some(file), None, None);
            for i in 0..100 {
                config
                    .update(OnCorrupt::Refuse, |m| {
                        m.insert(format!("cli_{i}"), json!(i));
                    })
                    .unwrap();
            }
        })
    };
    // …and a reader checks that every version it sees is whole.
    let reader = {
        let (file, stop) = (file.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(Ordering::Relaxed) {
                let text = std::fs::read_to_string(&file).unwrap();
                let value: Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("a torn file: {e}: {text:?}"));
                assert_eq!(value["keep"], "me", "a key was lost: {text}");
                reads += 1;
            }
            reads
        })
    };

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..30 {
        let h = h.clone();
        tasks.spawn(async move {
            if i % 2 == 0 {
                h.call("opentrain_register_agent", json!({"force": true}))
                    .await
            } else {
                let claim = format!("ot_clm_arg{}{i:04}", "x".repeat(12));
                h.call("opentrain_claim_status", json!({"claimToken": claim}))
                    .await
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        let r = r.unwrap();
        assert!(!is_error(&r), "{}", text(&r));
        let t = text(&r);
        // Each registration reports its own account and token.
        if let Some(rest) = t.split("(registration reg-").nth(1) {
            let n: usize = rest.split(')').next().unwrap().parse().unwrap();
            assert!(t.contains(&format!("Token ot_pat_…{n:04}")), "{t}");
        }
    }
    other.join().unwrap();
    stop.store(true, Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);

    let value: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let map = value.as_object().unwrap();
    assert_eq!(map["keep"], "me");
    for i in 0..100 {
        assert_eq!(
            map[&format!("cli_{i}")],
            i,
            "the other program's key cli_{i}"
        );
    }
    assert_eq!(map["baseUrl"], h.api.uri());
    // The token and claim token were written together: both from one registration, or a claimed
    // token with no claim token left.
    let token = map["apiToken"].as_str().unwrap();
    match map.get("claimToken").and_then(Value::as_str) {
        Some(claim) => {
            let n: usize = token[token.len() - 4..].parse().unwrap();
            assert_eq!(
                (token, claim),
                (
                    registration_token(n).as_str(),
                    registration_claim(n).as_str()
                )
            );
        }
        None => assert!(token.starts_with("ot_pat_claimedarg"), "{token}"),
    }
    assert_eq!(
        map.len(),
        100 + 3 + usize::from(map.contains_key("claimToken"))
    );
    let leftovers: Vec<_> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[cfg(unix)]
#[test]
fn a_write_waits_while_another_program_holds_the_advisory_lock() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("opentrain").join("cli.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "{\"a\": 1}").unwrap();
    // What the official CLI does around its own write.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(file.with_file_name("cli.json.lock"))
        .unwrap();
    lock.lock().unwrap();

    let writer = {
        let file = file.clone();
        std::thread::spawn(move || {
            Config::new(Some(file), None, None)
                .update(OnCorrupt::Refuse, |m| {
                    m.insert("b".into(), json!(2));
                })
                .unwrap();
        })
    };
    std::thread::sleep(Duration::from_millis(400));
    assert!(!writer.is_finished(), "the write did not wait for the lock");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "{\"a\": 1}");

    lock.unlock().unwrap();
    writer.join().unwrap();
    let value: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(value, json!({"a": 1, "b": 2}));
}

#[tokio::test]
async fn a_registration_waiting_for_the_lock_does_not_stall_other_calls() {
    // The in-process server shares this test's single-threaded runtime, as the binary shares its
    // one runtime thread: a write blocking that thread would stall everything.
    let h = Harness::with(Setup {
        env_token: Some(PAT.to_owned()),
        ..Setup::default()
    })
    .await;
    Mock::given(method("POST"))
        .and(path("/api/agent/identity"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "access_token": PAT2, "claim_token": CLM, "scopes": ["jobs:read"]
        })))
        .mount(&h.api)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/public/v1/auth/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("auth_me")))
        .mount(&h.api)
        .await;
    let dir = h.config_path().parent().unwrap().to_path_buf();
    std::fs::create_dir_all(&dir).unwrap();
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("cli.json.lock"))
        .unwrap();
    lock.lock().unwrap();
    // Should the write block the runtime thread, nothing below could run until the lock is free:
    // this watchdog frees it so the test fails on its assertions instead of hanging.
    let lock = Arc::new(lock);
    let watchdog = {
        let lock = lock.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(3));
            let _ = lock.unlock();
        })
    };

    let register = h.call("opentrain_register_agent", json!({}));
    tokio::pin!(register);
    // The registration reaches the lock and waits there…
    let waited = tokio::time::timeout(Duration::from_millis(500), &mut register).await;
    assert!(waited.is_err(), "the write did not wait for the lock");
    // …while another call is served at once.
    let me = tokio::time::timeout(
        Duration::from_secs(5),
        h.call("opentrain_auth_status", json!({})),
    )
    .await
    .expect("a call completes while a write waits for the lock");
    assert!(!is_error(&me), "{}", text(&me));

    lock.unlock().unwrap();
    let registered = tokio::time::timeout(Duration::from_secs(5), register)
        .await
        .expect("the write completes once the lock is free");
    assert!(!is_error(&registered), "{}", text(&registered));
    assert_eq!(h.read_config()["apiToken"], PAT2);
    drop(watchdog); // detached: it only ever frees a lock that is already free
}

#[test]
fn temp_files_a_killed_writer_left_are_removed_by_the_next_write() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("opentrain").join("cli.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let stale = file.with_file_name(".cli.json.4242.7.tmp");
    std::fs::write(&stale, format!("{{\"apiToken\": \"{PAT}\"")).unwrap();
    let unrelated = file.with_file_name("notes.tmp");
    std::fs::write(&unrelated, "mine").unwrap();
    Config::new(Some(file.clone()), None, None)
        .update(OnCorrupt::Refuse, |m| {
            m.insert("a".into(), json!(1));
        })
        .unwrap();
    assert!(!stale.exists(), "a half-written token was left on disk");
    assert!(unrelated.exists(), "only our own temp files are removed");
}

/// Set in the child process of `a_kill_mid_write_leaves_the_old_or_the_new_file` to the file it
/// must keep rewriting.
const CRASH_CHILD_FILE: &str = "OPENTRAIN_TEST_CRASH_CHILD_FILE";

/// Generation `n` of the file: every key derived from `n`, the size varying with it.
fn generation(n: u64) -> Value {
    json!({
        "keep": "me",
        "generation": n,
        "apiToken": format!("ot_pat_gen{n:08}{}", "t".repeat(24)),
        "claimToken": format!("ot_clm_gen{n:08}{}", "c".repeat(24)),
        "pad": "p".repeat(((n * 7919) % 20_000) as usize),
    })
}

/// The generation a file holds, after checking that it is whole and consistent.
fn generation_of(text: &str) -> u64 {
    let value: Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("a torn file ({e}): {text:.200}"));
    let n = value["generation"].as_u64().unwrap_or(0);
    let want = if n == 0 {
        json!({"keep": "me"})
    } else {
        generation(n)
    };
    assert!(value == want, "a mix of versions: {text:.200}");
    n
}

/// Not a test on its own: when started by `a_kill_mid_write_leaves_the_old_or_the_new_file`, it
/// rewrites the file through `Config::update` until it is killed.
#[test]
fn crash_child_rewrites_the_file_until_killed() {
    let Ok(file) = std::env::var(CRASH_CHILD_FILE) else {
        return;
    };
    let config = Config::new(Some(file.clone().into()), None, None);
    let mut n = generation_of(&std::fs::read_to_string(&file).unwrap());
    loop {
        n += 1;
        config
            .update(OnCorrupt::Refuse, |m| {
                m.clear();
                if let Value::Object(next) = generation(n) {
                    m.extend(next);
                }
            })
            .unwrap();
    }
}

#[cfg(unix)]
#[test]
fn a_kill_mid_write_leaves_the_old_or_the_new_file() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("opentrain").join("cli.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, json!({"keep": "me"}).to_string()).unwrap();
    let exe = std::env::current_exe().unwrap();
    // A small xorshift, seeded from the clock, picks when to kill.
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
        | 1;
    let mut random = move |below: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % below
    };
    let mut last = 0;
    for round in 0..25 {
        let mut child = std::process::Command::new(&exe)
            .args([
                "crash_child_rewrites_the_file_until_killed",
                "--exact",
                "--test-threads=1",
            ])
            .env(CRASH_CHILD_FILE, &file)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Wait for it to be writing, then kill it at a random moment.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let n = generation_of(&std::fs::read_to_string(&file).unwrap());
            assert!(
                n >= last,
                "round {round}: the file went back from {last} to {n}"
            );
            if n > last {
                break;
            }
            assert!(
                child.try_wait().unwrap().is_none(),
                "round {round}: the writer died on its own"
            );
            assert!(
                Instant::now() < deadline,
                "round {round}: the writer never wrote"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_micros(random(20_000)));
        child.kill().unwrap();
        child.wait().unwrap();
        let n = generation_of(&std::fs::read_to_string(&file).unwrap());
        assert!(n > last, "round {round}: {n} after {last}");
        last = n;
    }
    // Whatever a kill left behind, a new writer carries on from the last whole version.
    let config = Config::new(Some(file.clone()), None, None);
    assert_eq!(
        config.read().unwrap().api_token.as_ref().unwrap().expose(),
        format!("ot_pat_gen{last:08}{}", "t".repeat(24))
    );
    config
        .update(OnCorrupt::Refuse, |m| {
            m.insert("after".into(), json!(true));
        })
        .unwrap();
    let mut value: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(
        value.as_object_mut().unwrap().remove("after"),
        Some(json!(true))
    );
    assert_eq!(value, generation(last));
}

// ---------------------------------------------------------------------------------------------
// Secrets in results and in Debug prints

/// Everything an agent sees of a result: its text and its structuredContent.
fn shown(r: &rmcp::model::CallToolResult) -> String {
    format!(
        "{}\n{}",
        text(r),
        r.structured_content.clone().unwrap_or_default()
    )
}

/// Asserts that none of `secrets`, nor their first 16 characters, is in `what`.
fn assert_hidden(what: &str, secrets: &[&str], label: &str) {
    for secret in secrets {
        assert!(
            !what.contains(secret),
            "{label}: {secret} shown in:\n{what}"
        );
        assert!(
            !what.contains(&secret[..16]),
            "{label}: the start of {secret} shown in:\n{what}"
        );
    }
}

#[tokio::test]
async fn answers_echoing_our_token_show_it_masked() {
    let h = Harness::new().await;
    let mut echo = fixture("credits_balance");
    echo["credits"]["debug"] = json!(format!("Authorization: Bearer {PAT}"));
    // The same token written with JSON escapes is still ours.
    let escaped = PAT.replace('_', "\\u005f");
    for (label, reply) in [
        ("2xx JSON", ResponseTemplate::new(200).set_body_json(echo)),
        (
            "2xx JSON with escapes",
            ResponseTemplate::new(200).set_body_raw(
                format!("{{\"credits\": {{\"note\": \"{escaped}\"}}}}"),
                "application/json",
            ),
        ),
        (
            "2xx not JSON",
            ResponseTemplate::new(200).set_body_string(format!("<p>token={PAT}</p>")),
        ),
        (
            "error text, the token at the cut",
            ResponseTemplate::new(500).set_body_string(format!("{} {PAT}", "x".repeat(290))),
        ),
        (
            "error envelope",
            ResponseTemplate::new(401).set_body_json(json!({
                "error": format!("Token {PAT} is revoked"), "code": "UNAUTHORIZED",
                "requestId": "r", "details": {format!("seen:{PAT}"): [PAT]}
            })),
        ),
    ] {
        let r = credits_with(&h, reply).await;
        let all = shown(&r);
        assert_hidden(&all, &[PAT], label);
        if label != "error text, the token at the cut" {
            assert!(all.contains("ot_pat_…9f2c"), "{label}: {all}");
        }
    }
}

#[tokio::test]
async fn tokens_from_the_file_and_received_ones_are_masked_in_every_result() {
    let h = Harness::with(Setup {
        env_token: None,
        file: Some(json!({"apiToken": PAT2, "claimToken": CLM}).to_string()),
        ..Setup::default()
    })
    .await;
    // The file's token, echoed.
    Mock::given(path(format!("{V1}/team")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"team": {"note": PAT2}})))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_get_team", json!({})).await;
    assert_hidden(&shown(&r), &[PAT2], "file token");
    assert!(shown(&r).contains("ot_pat_…7d1e"));

    // The claim token, echoed in an OAuth error.
    Mock::given(path("/api/agent/oauth/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant", "error_description": format!("unknown claim token {CLM}")
        })))
        .up_to_n_times(1)
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_claim_status", json!({})).await;
    assert!(is_error(&r));
    assert_hidden(&shown(&r), &[CLM], "claim token");
    assert!(shown(&r).contains("ot_clm_…4e21"));

    // Tokens the API delivers, repeated elsewhere in the answer.
    let new_pat = "ot_pat_n3wT0k3nn3wT0k3nn3wT0k3nABCD";
    let new_clm = "ot_clm_n3wCl41mn3wCl41mn3wCl41mEFGH";
    let claimed = "ot_pat_cl41m3dcl41m3dcl41m3dIJKL";
    Mock::given(path("/api/agent/identity"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "registration_id": new_pat,
            "access_token": new_pat,
            "claim_token": new_clm,
            "scopes": ["jobs:read"],
            "claim_token_expires_at": new_clm,
            "links": {"claim": format!("https://app.opentrain.ai/claim?c={new_clm}")}
        })))
        .mount(&h.api)
        .await;
    let r = h
        .call("opentrain_register_agent", json!({"force": true}))
        .await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_hidden(&shown(&r), &[new_pat, new_clm], "registration");
    assert_eq!(
        structured(&r)["links"]["claim"],
        "https://app.opentrain.ai/claim?c=ot_clm_…EFGH"
    );
    assert_eq!(h.read_config()["apiToken"], new_pat, "saved, unmasked");

    Mock::given(path("/api/agent/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": claimed, "token_type": "bearer", "scopes": ["jobs:read"],
            "note": format!("welcome, {claimed}")
        })))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_claim_status", json!({})).await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_hidden(&shown(&r), &[claimed, new_clm], "claim");
    assert_eq!(structured(&r)["note"], "welcome, ot_pat_…IJKL");
    assert_eq!(h.read_config()["apiToken"], claimed);
}

#[tokio::test]
async fn what_the_api_says_about_other_credentials_passes_through() {
    let h = Harness::with(Setup {
        env_token: None,
        file: Some(json!({"apiToken": PAT, "claimToken": CLM}).to_string()),
        ..Setup::default()
    })
    .await;
    let uri = "https://app.opentrain.ai/claim?token=ot_cat_Zq8Wn3Lx5Rt7Yp2Vb4Mk9";
    let mut claim = fixture("agent_identity_claim");
    claim["verification_uri"] = json!(uri);
    Mock::given(path("/api/agent/identity/claim"))
        .respond_with(ResponseTemplate::new(200).set_body_json(claim.clone()))
        .mount(&h.api)
        .await;
    let r = h
        .call(
            "opentrain_claim_account",
            json!({"email": "owner@example.com"}),
        )
        .await;
    assert_eq!(structured(&r), &claim, "unchanged");
    assert!(text(&r).contains(uri), "{}", text(&r));

    Mock::given(path(format!("{V1}/tokens")))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("tokens_list")))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_list_tokens", json!({})).await;
    assert_eq!(structured(&r), &fixture("tokens_list"));
    assert!(text(&r).contains("ot_pat_c3f9********bd21"), "{}", text(&r));

    Mock::given(path(format!("{V1}/webhooks")))
        .respond_with(ResponseTemplate::new(201).set_body_json(fixture("webhooks_created")))
        .mount(&h.api)
        .await;
    let r = h
        .call(
            "opentrain_create_webhook",
            json!({"url": "https://example.com/hooks", "eventTypes": ["proposal.received"]}),
        )
        .await;
    assert_eq!(structured(&r), &fixture("webhooks_created"));
    assert!(
        text(&r).contains("Signing secret: whsec_<SECRET>"),
        "{}",
        text(&r)
    );
}

#[test]
fn debug_prints_of_requests_settings_and_errors_never_show_a_credential() {
    use opentrain_mcp::api::{ApiError, Request};
    use opentrain_mcp::secret::Secret;

    let dir = TempDir::new().unwrap();
    let file = dir.path().join("cli.json");
    std::fs::write(
        &file,
        json!({"apiToken": PAT2, "claimToken": CLM}).to_string(),
    )
    .unwrap();
    let from_file = Config::new(Some(file.clone()), None, None);
    let from_env = Config::new(Some(file), Some(PAT), None);
    let claim = Secret::new(CLM).unwrap();
    // A credential of no known shape is masked where the request knows it is one (its body
    // alone can only mask what looks like an OpenTrain credential).
    let odd = Secret::new("plain-claim-secret-4711").unwrap();
    let form = Request::agent_post("/oauth/token")
        .form(&[("grant_type", "x"), ("claim_token", CLM)])
        .secret(&claim);
    let json_body = Request::agent_post("/identity/claim")
        .json(&json!({"claim_token": odd.expose(), "email": "a@b.co"}))
        .secret(&odd);
    let base_url_error = Config::new(None, Some(PAT), Some(&format!("https://u:{PAT2}@h")))
        .settings()
        .unwrap_err();
    let pasted_token = Config::new(None, Some(PAT), Some(PAT2))
        .settings()
        .unwrap_err();
    let prints = [
        format!("{from_file:?}"),
        format!("{:?}", from_file.settings().unwrap()),
        format!("{:?}", from_file.read().unwrap()),
        format!("{from_env:?}"),
        format!("{:?}", from_env.settings().unwrap()),
        format!("{claim:?}"),
        format!("{:?}", Secret::new(PAT)),
        format!("{form:?}"),
        format!("{:?}", form.body),
        format!("{json_body:?}"),
        format!("{base_url_error:?} {base_url_error}"),
        format!("{pasted_token:?} {pasted_token}"),
        format!("{:?}", ApiError::from(base_url_error.clone())),
    ];
    let all = prints.join("\n");
    for secret in [PAT, PAT2, CLM, "plain-claim-secret"] {
        assert!(!all.contains(secret), "{secret} in:\n{all}");
    }
    for masked in [
        "ot_pat_…9f2c",
        "ot_pat_…7d1e",
        "claim_token=ot_clm_…4e21\")",
        r#"\"claim_token\":\"…4711\""#,
        "https://***@h",
    ] {
        assert!(all.contains(masked), "{masked} missing in:\n{all}");
    }
}

// ---------------------------------------------------------------------------------------------
// Through the real binary

#[test]
fn malformed_json_rpc_is_ignored_or_answered_with_an_error_and_serving_goes_on() {
    let mut p = Proc::spawn(&[]);
    p.initialize();
    // Not JSON, cut short, or not UTF-8: ignored (answering unparsable input can start an error
    // storm with a peer that echoes it).
    for line in [
        "this is not json",
        "{\"jsonrpc\":\"2.0\",\"id\":9",
        "",
        "   ",
    ] {
        p.send_raw(line);
    }
    p.send_bytes(b"\xff\xfe\x00\n");
    // JSON, but not a valid message: an error reply without an id (there is none to use).
    let invalid = [
        "[]",
        "{}",
        "\"str\"",
        "123",
        "{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"tools/list\"}",
    ];
    for line in invalid {
        p.send_raw(line);
    }
    // Not a valid message, but with a readable id: an error under that id (issue 9).
    for line in [
        "{\"jsonrpc\":\"1.0\",\"id\":15,\"method\":\"tools/list\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/list\",\"params\":\"x\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":5}",
    ] {
        p.send_raw(line);
    }
    // Requests with an id, each answered under that id.
    p.send(json!({"jsonrpc": "2.0", "id": "w1", "method": "tools/call", "params": {"name": 5}}));
    p.send(json!({"jsonrpc": "2.0", "id": 11, "method": "tools/call",
        "params": {"name": "opentrain_get_contract", "arguments": {"contractId": 5}}}));
    p.send(json!({"jsonrpc": "2.0", "id": 12, "method": "tools/call",
        "params": {"name": "opentrain_nope", "arguments": {}}}));
    p.send(json!({"jsonrpc": "2.0", "id": 13, "method": "tools/call",
        "params": {"name": "opentrain_auth_status", "arguments": [1, 2]}}));
    p.send(json!({"jsonrpc": "2.0", "id": 14, "method": "no/such/method"}));
    p.send(json!({"jsonrpc": "2.0", "id": 16, "method": "tools/call"}));
    p.send(json!({"jsonrpc": "2.0", "method": "notifications/unknown"}));
    p.send(json!({"jsonrpc": "2.0", "id": 99, "method": "tools/list"}));

    let seen = p.recv_until(99);
    let (with_id, without_id): (Vec<&Value>, Vec<&Value>) =
        seen.iter().partition(|m| m.get("id").is_some());
    assert_eq!(without_id.len(), invalid.len(), "{without_id:?}");
    for m in &without_id {
        assert_eq!(m["error"]["code"], -32600, "{m}");
    }
    let by_id: BTreeMap<String, &Value> =
        with_id.iter().map(|m| (m["id"].to_string(), *m)).collect();
    assert_eq!(by_id.len(), with_id.len(), "one answer per id: {with_id:?}");
    let code = |id: &str| by_id[id]["error"]["code"].as_i64();
    // rmcp answers a malformed `tools/call` as an unknown method; either way, an error.
    assert_eq!(code("\"w1\""), Some(-32601));
    assert_eq!(code("13"), Some(-32601));
    assert_eq!(code("16"), Some(-32601));
    assert_eq!(code("14"), Some(-32601));
    assert_eq!(code("12"), Some(-32602));
    assert_eq!(by_id["11"]["result"]["isError"], true);
    assert!(
        by_id["11"]["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("contractId: invalid type: integer `5`, expected a string")
    );
    assert!(by_id["99"]["result"]["tools"].as_array().unwrap().len() > 40);
    for id in ["15", "7", "8"] {
        assert_eq!(code(id), Some(-32600), "{id}");
    }
    assert_eq!(by_id.len(), 10);

    p.close_stdin();
    assert!(p.wait(Duration::from_secs(2)).success());
    assert!(p.rest_of_stdout().is_empty());
}

#[test]
fn huge_lines_are_refused_or_dropped_and_the_process_keeps_serving() {
    let mut p = Proc::spawn(&[]);
    p.initialize();
    // 10 MB in one argument: read, refused by the server's own limit, answered.
    p.call(
        1,
        "opentrain_search_jobs",
        json!({"q": "A".repeat(10_000_000)}),
    );
    let r = p.recv();
    assert_eq!(r["id"], 1);
    assert_eq!(r["result"]["isError"], true);
    let t = r["result"]["content"][0]["text"].as_str().unwrap();
    assert!(
        t.contains("over the 1024 KiB limit; nothing was sent"),
        "{t}"
    );
    assert!(t.len() < 500);

    // Over rmcp's 16 MiB line limit: dropped unread (there is no id to answer), logged.
    let mut line = br#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"opentrain_search_jobs","arguments":{"q":""#.to_vec();
    line.extend(std::iter::repeat_n(b'B', 17 * 1024 * 1024));
    line.extend_from_slice(b"\"}}}\n");
    p.send_bytes(&line);
    p.send(json!({"jsonrpc": "2.0", "id": 3, "method": "ping"}));
    assert_eq!(p.recv(), json!({"jsonrpc": "2.0", "id": 3, "result": {}}));

    // A huge line that never ends: the process still exits cleanly when stdin closes.
    p.send_bytes(&vec![b'C'; 20 * 1024 * 1024]);
    p.close_stdin();
    assert!(p.wait(Duration::from_secs(3)).success());
    assert!(p.rest_of_stdout().is_empty(), "request 2 got no answer");
    let stderr = p.stderr();
    assert!(
        stderr.contains("exceeded the maximum line length"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_stdin_with_many_calls_in_flight_exits_zero_within_a_second() {
    let api = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({}))
                .set_delay(Duration::from_secs(30)),
        )
        .mount(&api)
        .await;
    let uri = api.uri();
    let home = TempDir::new().unwrap();
    let file = home.path().join(".config/opentrain/cli.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(
        &file,
        json!({"apiToken": PAT, "claimToken": CLM}).to_string(),
    )
    .unwrap();
    let mut p = Proc::spawn_in(home, &[("OPENTRAIN_API_BASE_URL", &uri)]);
    p.initialize();
    // Reads, a write, the claim exchange (which saves credentials when it succeeds) and a search.
    p.call(1, "opentrain_auth_status", json!({}));
    p.call(2, "opentrain_close_job", json!({"jobId": "j1"}));
    p.call(3, "opentrain_claim_status", json!({}));
    p.call(4, "opentrain_search_jobs", json!({"q": "audio"}));
    p.call(5, "opentrain_list_contracts", json!({}));
    let deadline = Instant::now() + Duration::from_secs(10);
    while api.received_requests().await.unwrap().len() < 5 {
        assert!(Instant::now() < deadline, "the calls never reached the API");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // And half a request.
    p.send_bytes(br#"{"jsonrpc":"2.0","id":6,"method":"tools/ca"#);
    let closed = Instant::now();
    p.close_stdin();
    let status = p.wait(Duration::from_secs(3));
    let took = closed.elapsed();
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(took < Duration::from_secs(1), "took {took:?}");
    // Whatever was written meanwhile is JSON-RPC; the file is as it was.
    p.rest_of_stdout();
    assert_eq!(
        serde_json::from_str::<Value>(&std::fs::read_to_string(&file).unwrap()).unwrap(),
        json!({"apiToken": PAT, "claimToken": CLM})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_concurrent_calls_through_the_binary_each_get_their_own_answer() {
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(EchoById)
        .mount(&api)
        .await;
    let uri = api.uri();
    let mut p = Proc::spawn(&[
        ("OPENTRAIN_PERSONAL_API_TOKEN", PAT),
        ("OPENTRAIN_API_BASE_URL", &uri),
        ("OPENTRAIN_RESULT_FORMAT", "structured"),
    ]);
    p.initialize();
    let started = Instant::now();
    for i in 0..60 {
        let (tool, args, _, _) = read_call(i);
        p.call(100 + i as u64, tool, args);
    }
    let mut answers = BTreeMap::new();
    while answers.len() < 60 {
        let msg = p.recv();
        let id = msg["id"].as_u64().expect("an answer to a call");
        assert!(answers.insert(id, msg).is_none(), "two answers to {id}");
    }
    for i in 0..60 {
        let (tool, _, key, id) = read_call(i);
        let msg = &answers[&(100 + i as u64)];
        assert_eq!(msg["result"]["isError"], false, "call {i} ({tool}): {msg}");
        assert_eq!(
            msg["result"]["structuredContent"][key]["id"], id,
            "call {i} ({tool}) got another answer"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "calls were not concurrent: {:?}",
        started.elapsed()
    );
    p.close_stdin();
    assert!(p.wait(Duration::from_secs(2)).success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_times_out_a_hung_call_at_its_budget_and_serves_others_meanwhile() {
    let api = MockServer::start().await;
    Mock::given(path(format!("{V1}/auth/me")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fixture("auth_me"))
                .set_delay(Duration::from_secs(60)),
        )
        .mount(&api)
        .await;
    Mock::given(path(format!("{V1}/credits")))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("credits_balance")))
        .mount(&api)
        .await;
    let uri = api.uri();
    let mut p = Proc::spawn(&[
        ("OPENTRAIN_PERSONAL_API_TOKEN", PAT),
        ("OPENTRAIN_API_BASE_URL", &uri),
        ("OPENTRAIN_HTTP_TIMEOUT_SECS", "2"),
    ]);
    p.initialize();
    let started = Instant::now();
    p.call(1, "opentrain_auth_status", json!({}));
    p.call(2, "opentrain_get_credits", json!({}));
    p.send(json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}));
    let first = p.recv();
    let second = p.recv();
    let mut ids = [first["id"].as_u64(), second["id"].as_u64()];
    ids.sort();
    assert_eq!(ids, [Some(2), Some(3)], "answered while call 1 hangs");
    assert!(started.elapsed() < Duration::from_millis(1900));
    let hung = p.recv();
    assert_eq!(hung["id"], 1);
    assert_eq!(hung["result"]["isError"], true);
    let t = hung["result"]["content"][0]["text"].as_str().unwrap();
    assert!(
        t.starts_with("Timed out: the OpenTrain API did not answer within 2 s"),
        "{t}"
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(5),
        "{took:?}"
    );
    p.close_stdin();
    assert!(p.wait(Duration::from_secs(2)).success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credential_reaches_stderr_or_stdout_at_trace_from_registration_to_calls() {
    const FILE_PAT: &str = PAT2;
    const FILE_CLM: &str = CLM;
    const REG_PAT: &str = "ot_pat_r3g1st3r3d_AgentAgentAgentAgent5a6b";
    const REG_CLM: &str = "ot_clm_r3g1st3r3d_ClaimClaimClaimClm7c8d";
    const CLAIMED_PAT: &str = "ot_pat_cl41m3d0_OwnerOwnerOwnerOwner1e2f";
    const ARG_CLM: &str = "ot_clm_4rgum3nt0_PassedPassedPassed3a4b";
    const CAT: &str = "ot_cat_Zq8Wn3Lx5Rt7Yp2Vb4Mk9Hj";
    let verification_uri = format!("https://app.opentrain.ai/claim?token={CAT}");

    let api = MockServer::start().await;
    let mut registration = fixture("agent_identity");
    registration["access_token"] = json!(REG_PAT);
    registration["claim_token"] = json!(REG_CLM);
    registration["note"] = json!(format!("keep {REG_PAT} safe"));
    Mock::given(method("POST"))
        .and(path("/api/agent/identity"))
        .respond_with(ResponseTemplate::new(201).set_body_json(registration))
        .mount(&api)
        .await;
    let mut claim = fixture("agent_identity_claim");
    claim["verification_uri"] = json!(verification_uri);
    Mock::given(method("POST"))
        .and(path("/api/agent/identity/claim"))
        .respond_with(ResponseTemplate::new(200).set_body_json(claim))
        .mount(&api)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/agent/oauth/token"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({"error": "authorization_pending"})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&api)
        .await;
    let mut claimed = fixture("agent_oauth_token");
    claimed["access_token"] = json!(CLAIMED_PAT);
    Mock::given(method("POST"))
        .and(path("/api/agent/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(claimed))
        .with_priority(2)
        .mount(&api)
        .await;
    Mock::given(path(format!("{V1}/auth/me")))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("auth_me")))
        .mount(&api)
        .await;
    Mock::given(path(format!("{V1}/tokens")))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("tokens_list")))
        .mount(&api)
        .await;
    let mut credits = fixture("credits_balance");
    credits["credits"]["debug"] = json!(format!("Authorization: Bearer {CLAIMED_PAT}"));
    Mock::given(path(format!("{V1}/credits")))
        .respond_with(ResponseTemplate::new(200).set_body_json(credits))
        .mount(&api)
        .await;
    Mock::given(path(format!("{V1}/payments/pending")))
        .respond_with(
            ResponseTemplate::new(502)
                .set_body_string(format!("<h1>Bad gateway</h1> upstream saw {CLAIMED_PAT}")),
        )
        .mount(&api)
        .await;

    let home = TempDir::new().unwrap();
    let file = home.path().join(".config/opentrain/cli.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(
        &file,
        json!({"apiToken": FILE_PAT, "claimToken": FILE_CLM, "keep": 1}).to_string(),
    )
    .unwrap();
    let uri = api.uri();
    let mut p = Proc::spawn_in(
        home,
        &[("OPENTRAIN_API_BASE_URL", &uri), ("RUST_LOG", "trace")],
    );
    p.initialize();
    let steps: Vec<(&str, Value)> = vec![
        ("opentrain_auth_status", json!({})),
        ("opentrain_register_agent", json!({})),
        (
            "opentrain_register_agent",
            json!({"force": true, "agentName": "Claude"}),
        ),
        (
            "opentrain_claim_account",
            json!({"email": "owner@example.com"}),
        ),
        ("opentrain_claim_status", json!({})),
        ("opentrain_claim_status", json!({})),
        ("opentrain_auth_status", json!({})),
        ("opentrain_list_tokens", json!({})),
        ("opentrain_get_credits", json!({})),
        ("opentrain_list_pending_payments", json!({})),
        ("opentrain_claim_status", json!({"claimToken": ARG_CLM})),
    ];
    let mut stdout = Vec::new();
    for (i, (tool, args)) in steps.into_iter().enumerate() {
        p.call(i as u64 + 1, tool, args);
        let answer = p.recv_until(i as u64 + 1);
        stdout.extend(answer);
    }
    p.close_stdin();
    assert!(p.wait(Duration::from_secs(2)).success());
    stdout.extend(p.rest_of_stdout());
    let stdout: Vec<String> = stdout.iter().map(Value::to_string).collect();
    let stdout = stdout.join("\n");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let stderr = p.stderr();

    // The flow really ran: each token was received, saved and used.
    let result = |n: usize| -> Value {
        let line = stdout
            .lines()
            .find(|l| l.contains(&format!("\"id\":{n},")))
            .unwrap();
        serde_json::from_str(line).unwrap()
    };
    assert!(
        result(2)["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("already saved")
    );
    assert_eq!(result(3)["result"]["isError"], false, "{}", result(3));
    assert_eq!(result(6)["result"]["isError"], false, "{}", result(6));
    assert_eq!(saved["apiToken"], CLAIMED_PAT);
    assert_eq!(saved["keep"], 1);
    let sent = api.received_requests().await.unwrap();
    let bearer = |p: &str| {
        sent.iter()
            .filter(|r| r.url.path() == p)
            .map(|r| {
                r.headers
                    .get("authorization")
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_owned()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        bearer(&format!("{V1}/auth/me")),
        [
            format!("Bearer {FILE_PAT}"),
            format!("Bearer {CLAIMED_PAT}")
        ]
    );
    let claims: Vec<String> = sent
        .iter()
        .filter(|r| r.url.path() == "/api/agent/identity/claim")
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert!(claims[0].contains(REG_CLM), "{claims:?}");

    for (name, stream) in [("stderr", &stderr), ("stdout", &stdout)] {
        for secret in [FILE_PAT, FILE_CLM, REG_PAT, REG_CLM, CLAIMED_PAT, ARG_CLM] {
            assert!(!stream.contains(secret), "{secret} on {name}");
            assert!(
                !stream.contains(&secret[..16]),
                "the start of {secret} on {name}"
            );
        }
    }
    // The masked forms are what is shown…
    for masked in [
        "ot_pat_…5a6b",
        "ot_clm_…7c8d",
        "ot_pat_…1e2f",
        "ot_pat_…7d1e",
    ] {
        assert!(stdout.contains(masked), "{masked} not on stdout");
    }
    assert!(
        stderr.contains("ot_clm_…3a4b"),
        "rmcp logged the argument, masked"
    );
    // …and what the API says about other things passes through to the agent (logs mask even the
    // claim-attempt token, which nothing needs in a log).
    assert!(stdout.contains(&verification_uri));
    assert!(stdout.contains("ot_pat_c3f9********bd21"));
    assert!(!stderr.contains(CAT));
    assert!(stderr.contains("TRACE"), "trace logging was on");
}
