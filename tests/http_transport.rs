//! `opentrain-mcp --http`: the real binary serving Streamable HTTP on loopback, a wiremock API
//! behind it. Each caller's token, the checks in front of `/mcp`, health, metrics, and how it
//! stops.

mod common;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::remote::Instance as Remote;
use common::stdio::BIN;
use common::{PAT, PAT2, fixture};
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientServiceExt, ServiceExt};
use serde_json::{Value, json};
use tempfile::TempDir;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The binary's stderr and exit status when it refuses to start.
fn refused(args: &[&str], envs: &[(&str, &str)]) -> (Option<i32>, String) {
    let home = TempDir::new().unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// reqwest is built without a default TLS provider (the server installs ring too).
fn tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn http() -> reqwest::Client {
    tls();
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// One JSON-RPC request as a 2025-06-18 client sends it (no session: the server is stateless).
async fn rpc(
    url: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Value,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut req = http()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18")
        .body(body.to_string());
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let response = req.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

fn call_body(tool: &str, args: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
           "params": {"name": tool, "arguments": args}})
}

fn list_body() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
}

/// The `result` of a JSON-RPC answer.
fn result(body: &str) -> Value {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    v.get("result")
        .cloned()
        .unwrap_or_else(|| panic!("no result: {body}"))
}

fn tool_names(body: &str) -> BTreeSet<String> {
    result(body)["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

fn result_text(result: &Value) -> String {
    result["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

async fn api_with_me(delay: Duration) -> MockServer {
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/public/v1/auth/me"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fixture("auth_me"))
                .set_delay(delay),
        )
        .mount(&api)
        .await;
    api
}

async fn authorizations(api: &MockServer) -> Vec<Option<String>> {
    api.received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| {
            r.headers
                .get("authorization")
                .map(|v| v.to_str().unwrap().to_owned())
        })
        .collect()
}

/// Polls `/metrics` until `line` is in it.
async fn wait_for_metric(remote: &Remote, line: &str) {
    let start = Instant::now();
    loop {
        let text = http()
            .get(format!("{}/metrics", remote.base()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if text.lines().any(|l| l == line) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{line:?} never showed up:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_without_a_bearer_gets_401_and_the_metadata_names_opentrain() {
    let api = api_with_me(Duration::ZERO).await;
    let remote = Remote::start(
        &[],
        &[
            ("OPENTRAIN_API_BASE_URL", &api.uri()),
            // Never used over HTTP: the caller must bring a token.
            ("OPENTRAIN_PERSONAL_API_TOKEN", PAT),
        ],
    );
    let metadata_url = format!("{}/.well-known/oauth-protected-resource/mcp", remote.base());
    for auth in [
        None,
        Some("Basic dXNlcjpwYXNz"),
        Some("Bearer "),
        Some("Bearer"),
    ] {
        let mut req = http()
            .post(remote.url())
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(call_body("opentrain_auth_status", json!({})).to_string());
        if let Some(auth) = auth {
            req = req.header("authorization", auth);
        }
        let response = req.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 401, "{auth:?}");
        assert_eq!(
            response.headers()["www-authenticate"].to_str().unwrap(),
            format!("Bearer resource_metadata=\"{metadata_url}\"")
        );
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("Settings → API keys")
        );
    }
    assert!(
        authorizations(&api).await.is_empty(),
        "nothing reaches the API"
    );

    for url in [
        metadata_url.clone(),
        format!("{}/.well-known/oauth-protected-resource", remote.base()),
    ] {
        let response = http().get(&url).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let doc: Value = response.json_value().await;
        assert_eq!(doc["resource"], json!(remote.url()));
        assert_eq!(doc["authorization_servers"], json!([api.uri()]));
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
        let scopes: Vec<&str> = doc["scopes_supported"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        for scope in [
            "jobs:read",
            "proposals:write",
            "payments:write",
            "webhooks:manage",
        ] {
            assert!(scopes.contains(&scope), "{scope} in {scopes:?}");
        }
        assert_eq!(scopes.len(), 11);
    }

    // Behind a proxy: the URL clients use, with its path.
    let proxied = Remote::start(
        &["--public-url", "https://mcp.example.com/opentrain/"],
        &[("OPENTRAIN_API_BASE_URL", &api.uri())],
    );
    let response = http().post(proxied.url()).send().await.unwrap();
    assert_eq!(
        response.headers()["www-authenticate"].to_str().unwrap(),
        "Bearer resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/opentrain/mcp\""
    );
    let doc: Value = http()
        .get(format!(
            "{}/.well-known/oauth-protected-resource/opentrain/mcp",
            proxied.base()
        ))
        .send()
        .await
        .unwrap()
        .json_value()
        .await;
    assert_eq!(
        doc["resource"],
        json!("https://mcp.example.com/opentrain/mcp")
    );
}

/// `reqwest` is built without its `json` feature here.
trait JsonValue {
    async fn json_value(self) -> Value;
}

impl JsonValue for reqwest::Response {
    async fn json_value(self) -> Value {
        let text = self.text().await.unwrap();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_and_origin_are_refused_before_anything_else() {
    let api = api_with_me(Duration::ZERO).await;
    let remote = Remote::start(&[], &[("OPENTRAIN_API_BASE_URL", &api.uri())]);
    let call = call_body("opentrain_auth_status", json!({}));

    // DNS rebinding: a foreign Host, with or without a token, is 403 (not 401).
    for token in [None, Some(PAT)] {
        let (status, _, body) = rpc(
            &remote.url(),
            token,
            &[("host", "evil.example:8080")],
            call.clone(),
        )
        .await;
        assert_eq!(status, 403, "{body}");
    }
    // A browser page from elsewhere.
    let (status, _, _) = rpc(
        &remote.url(),
        Some(PAT),
        &[("origin", "https://evil.example")],
        call.clone(),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _, _) = rpc(
        &remote.url(),
        Some(PAT),
        &[("origin", "null")],
        call.clone(),
    )
    .await;
    assert_eq!(status, 403);
    assert!(authorizations(&api).await.is_empty());

    // Loopback names and origins are served; no CORS headers unless asked for.
    let (status, headers, body) = rpc(
        &remote.url(),
        Some(PAT),
        &[("host", "localhost"), ("origin", "http://localhost:5173")],
        call.clone(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(headers.get("access-control-allow-origin").is_none());
    assert_eq!(result(&body)["isError"], json!(false));

    // Health and metrics answer whatever the Host (probes use the pod's IP).
    let health = http()
        .get(format!("{}/healthz", remote.base()))
        .header("host", "10.1.2.3:8080")
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);

    // Other names and origins by flag; CORS only with --cors.
    let open = Remote::start(
        &[
            "--allowed-hosts",
            "mcp.example.com",
            "--allowed-origins",
            "https://app.example.com",
            "--cors",
        ],
        &[("OPENTRAIN_API_BASE_URL", &api.uri())],
    );
    let (status, headers, body) = rpc(
        &open.url(),
        Some(PAT),
        &[
            ("host", "mcp.example.com"),
            ("origin", "https://app.example.com"),
        ],
        call.clone(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        headers["access-control-allow-origin"].to_str().unwrap(),
        "https://app.example.com"
    );
    let (status, _, _) = rpc(
        &open.url(),
        Some(PAT),
        &[("host", "other.example.com")],
        call.clone(),
    )
    .await;
    assert_eq!(status, 403);
    let preflight = http()
        .request(reqwest::Method::OPTIONS, open.url())
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status().as_u16(), 204);
    let allowed = preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("authorization") && allowed.contains("x-opentrain-toolsets"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_oversized_bodies() {
    let api = api_with_me(Duration::ZERO).await;
    let remote = Remote::start(&[], &[("OPENTRAIN_API_BASE_URL", &api.uri())]);
    for (route, body) in [("/healthz", "ok\n"), ("/readyz", "ready\n")] {
        let response = http()
            .get(format!("{}{route}", remote.base()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{route}");
        assert_eq!(response.text().await.unwrap(), body);
    }
    let missing = http()
        .get(format!("{}/nope", remote.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);

    // A body over the limit is refused unread; arguments over 1 MiB are refused by the dispatch.
    let huge = "x".repeat(3 * 1024 * 1024);
    let (status, _, _) = rpc(
        &remote.url(),
        Some(PAT),
        &[],
        call_body("opentrain_list_jobs", json!({"cursor": huge})),
    )
    .await;
    assert_eq!(status, 413);
    let big = "x".repeat(1024 * 1024 + 10);
    let (status, _, body) = rpc(
        &remote.url(),
        Some(PAT),
        &[],
        call_body("opentrain_list_jobs", json!({"cursor": big})),
    )
    .await;
    assert_eq!(status, 200);
    let result = result(&body);
    assert_eq!(result["isError"], json!(true));
    assert!(result_text(&result).contains("KiB limit"), "{result}");
    assert!(authorizations(&api).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_accepting_and_lets_the_call_in_flight_finish() {
    let api = api_with_me(Duration::from_millis(1500)).await;
    let mut remote = Remote::start(&[], &[("OPENTRAIN_API_BASE_URL", &api.uri())]);
    let url = remote.url();
    let call = tokio::spawn(async move {
        rpc(
            &url,
            Some(PAT),
            &[],
            call_body("opentrain_auth_status", json!({})),
        )
        .await
    });
    wait_for_metric(&remote, "opentrain_mcp_tool_calls_in_flight 1").await;
    remote.sigterm();
    // New connections are refused at once.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let late = http().get(format!("{}/readyz", remote.base())).send().await;
    assert!(
        late.as_ref().is_err() || late.as_ref().unwrap().status().as_u16() == 503,
        "{late:?}"
    );
    // The call in flight gets its answer.
    let (status, _, body) = call.await.unwrap();
    assert_eq!(status, 200, "{body}");
    let result = result(&body);
    assert_eq!(result["isError"], json!(false), "{result}");
    let status = tokio::task::spawn_blocking(move || {
        let status = remote.wait(Duration::from_secs(10));
        (status, remote.stderr())
    })
    .await
    .unwrap();
    assert_eq!(status.0.code(), Some(0), "{}", status.1);
    assert!(status.1.contains("stopping"), "{}", status.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grace_period_bounds_the_wait_for_a_hung_call() {
    let api = api_with_me(Duration::from_secs(30)).await;
    let mut remote = Remote::start(
        &["--shutdown-grace", "1"],
        &[
            ("OPENTRAIN_API_BASE_URL", &api.uri()),
            ("OPENTRAIN_HTTP_TIMEOUT_SECS", "60"),
        ],
    );
    let url = remote.url();
    let _call = tokio::spawn(async move {
        let _ = http()
            .post(url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("authorization", format!("Bearer {PAT}"))
            .body(call_body("opentrain_auth_status", json!({})).to_string())
            .send()
            .await;
    });
    wait_for_metric(&remote, "opentrain_mcp_tool_calls_in_flight 1").await;
    let start = Instant::now();
    remote.sigterm();
    let (status, stderr) = tokio::task::spawn_blocking(move || {
        let status = remote.wait(Duration::from_secs(10));
        (status, remote.stderr())
    })
    .await
    .unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(stderr.contains("grace period is over"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_calls_by_tool_without_tokens_or_arguments() {
    let api = api_with_me(Duration::ZERO).await;
    Mock::given(method("GET"))
        .and(path("/api/public/v1/jobs/mine"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "Unauthorized", "code": "UNAUTHORIZED", "requestId": "req_1"})))
        .mount(&api)
        .await;
    let remote = Remote::start(&[], &[("OPENTRAIN_API_BASE_URL", &api.uri())]);
    let (status, _, _) = rpc(
        &remote.url(),
        Some(PAT),
        &[],
        call_body("opentrain_auth_status", json!({})),
    )
    .await;
    assert_eq!(status, 200);
    let (_, _, body) = rpc(
        &remote.url(),
        Some(PAT2),
        &[],
        call_body("opentrain_list_jobs", json!({"cursor": "SECRET-ARG-VALUE"})),
    )
    .await;
    assert_eq!(result(&body)["isError"], json!(true));
    let _ = rpc(
        &remote.url(),
        Some(PAT),
        &[],
        call_body("ot_pat_a_tool_name_that_is_a_token", json!({})),
    )
    .await;
    let _ = rpc(&remote.url(), None, &[], list_body()).await;

    let response = http()
        .get(format!("{}/metrics", remote.base()))
        .send()
        .await
        .unwrap();
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.unwrap();
    for line in [
        "opentrain_mcp_tool_calls_total{tool=\"opentrain_auth_status\",outcome=\"ok\"} 1",
        "opentrain_mcp_tool_calls_total{tool=\"opentrain_list_jobs\",outcome=\"error\"} 1",
        "opentrain_mcp_tool_call_duration_seconds_count{tool=\"opentrain_auth_status\"} 1",
        "opentrain_mcp_tool_call_duration_seconds_bucket{tool=\"opentrain_auth_status\",le=\"+Inf\"} 1",
        "opentrain_mcp_api_responses_total{status=\"200\"} 1",
        "opentrain_mcp_api_responses_total{status=\"401\"} 1",
        "opentrain_mcp_tool_calls_in_flight 0",
        "opentrain_mcp_http_requests_total{code=\"401\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
    }
    assert!(text.contains("tool=\"unknown\""), "{text}");
    for secret in ["ot_pat", "SECRET-ARG-VALUE", "S3cr3t", "Cl41m3d", "Bearer"] {
        assert!(!text.contains(secret), "{secret} in:\n{text}");
    }
    assert!(!remote.stderr().contains(PAT) && !remote.stderr().contains(PAT2));
}

/// The mock answers each token with its own account and echoes the token back, so a mix-up or
/// an unmasked echo would show.
async fn api_per_token() -> MockServer {
    let api = MockServer::start().await;
    for (token, name) in [(PAT, "Alice"), (PAT2, "Bob")] {
        let mut me = fixture("auth_me");
        me["actor"]["fullName"] = json!(name);
        me["echo"] = json!(format!("you sent Bearer {token}"));
        Mock::given(method("GET"))
            .and(path("/api/public/v1/auth/me"))
            .and(header("authorization", format!("Bearer {token}").as_str()))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(me)
                    .set_delay(Duration::from_millis(50)),
            )
            .mount(&api)
            .await;
    }
    api
}

fn client_for(url: &str, token: &str) -> StreamableHttpClientTransport<reqwest::Client> {
    tls();
    StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url.to_owned()).auth_header(token),
    )
}

fn rmcp_text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_each_use_only_their_own_token() {
    let api = api_per_token().await;
    let remote = Remote::start(
        &["--log-format", "json"],
        &[
            ("OPENTRAIN_API_BASE_URL", &api.uri()),
            ("RUST_LOG", "debug"),
        ],
    );
    // Alice's client uses the handshake of 2025-11-25; Bob's the 2026-07-28 discovery, with
    // every request self-contained. Neither depends on a session the server keeps.
    let alice = ().serve(client_for(&remote.url(), PAT)).await.unwrap();
    let bob = ()
        .serve_with_lifecycle(
            client_for(&remote.url(), PAT2),
            rmcp::ClientLifecycleMode::Discover {
                preferred_versions: vec![rmcp::model::ProtocolVersion::V_2026_07_28],
            },
        )
        .await
        .unwrap();
    let version = |c: &rmcp::service::RunningService<rmcp::RoleClient, ()>| {
        c.peer_info().map(|i| i.protocol_version.to_string())
    };
    assert_eq!(version(&alice).as_deref(), Some("2025-11-25"));
    assert_eq!(version(&bob).as_deref(), Some("2026-07-28"));
    let tools = alice.list_all_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "opentrain_auth_status"));

    let mut calls = Vec::new();
    for i in 0..24 {
        let (client, who) = if i % 2 == 0 {
            (alice.peer().clone(), "Alice")
        } else {
            (bob.peer().clone(), "Bob")
        };
        calls.push(tokio::spawn(async move {
            let result = client
                .call_tool(CallToolRequestParams::new("opentrain_auth_status"))
                .await
                .expect("an answer");
            (who, result)
        }));
    }
    for call in calls {
        let (who, result) = call.await.unwrap();
        let text = rmcp_text(&result);
        assert_eq!(result.is_error, Some(false), "{who}: {text}");
        let other = if who == "Alice" { "Bob" } else { "Alice" };
        assert!(text.contains(who) && !text.contains(other), "{who}: {text}");
        assert!(
            text.contains("Authorization header of this HTTP request"),
            "{text}"
        );
        let everything = format!("{text}{}", serde_json::to_string(&result).unwrap());
        assert!(
            !everything.contains(PAT) && !everything.contains(PAT2),
            "a token in the result: {everything}"
        );
        assert!(everything.contains("ot_pat_…"), "masked echo: {everything}");
    }
    let sent = authorizations(&api).await;
    assert_eq!(sent.len(), 24, "every call reached the API once");
    let alice_sent = sent
        .iter()
        .filter(|a| a.as_deref() == Some(&format!("Bearer {PAT}")))
        .count();
    let bob_sent = sent
        .iter()
        .filter(|a| a.as_deref() == Some(&format!("Bearer {PAT2}")))
        .count();
    assert_eq!((alice_sent, bob_sent), (12, 12), "{sent:?}");

    // The config resource shows the request's token only as a prefix.
    let config = bob
        .read_resource(rmcp::model::ReadResourceRequestParams::new(
            "opentrain://config",
        ))
        .await
        .unwrap();
    let config = serde_json::to_string(&config).unwrap();
    assert!(
        !config.contains(PAT2) && !config.contains("cli.json"),
        "{config}"
    );
    assert!(config.contains("Authorization header"), "{config}");

    alice.cancel().await.unwrap();
    bob.cancel().await.unwrap();
    // JSON logs: one object per line, a request id on the request's lines, never a token.
    let stderr = remote.stderr();
    assert!(!stderr.contains(PAT) && !stderr.contains(PAT2), "{stderr}");
    let mut with_id = 0;
    for line in stderr.lines() {
        if line.starts_with("opentrain-mcp: listening on ") {
            continue;
        }
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            v["level"].is_string() && v["timestamp"].is_string(),
            "{line}"
        );
        with_id += usize::from(v["request_id"].is_string());
    }
    assert!(with_id >= 24, "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn narrowing_headers_narrow_and_never_widen() {
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/public/v1/jobs/mine"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("jobs_mine")))
        .mount(&api)
        .await;
    let remote = Remote::start(
        &["--toolsets", "jobs,credits", "--read-only"],
        &[("OPENTRAIN_API_BASE_URL", &api.uri())],
    );
    let list = |headers: &'static [(&'static str, &'static str)]| {
        let url = remote.url();
        async move {
            let (status, _, body) = rpc(&url, Some(PAT), headers, list_body()).await;
            assert_eq!(status, 200, "{body}");
            tool_names(&body)
        }
    };
    let operator = list(&[]).await;
    assert!(operator.contains("opentrain_list_jobs") && operator.contains("opentrain_get_credits"));
    assert!(!operator.contains("opentrain_create_job_draft"));

    let jobs = list(&[("x-opentrain-toolsets", "jobs")]).await;
    assert!(jobs.is_subset(&operator));
    assert!(jobs.contains("opentrain_list_jobs") && !jobs.contains("opentrain_get_credits"));

    // Asking for more than the operator enabled gets nothing more.
    let wider = list(&[
        ("x-opentrain-toolsets", "proposals,jobs"),
        ("x-opentrain-tools", "create_job_draft,list_proposals"),
    ])
    .await;
    assert!(wider.is_subset(&operator), "{wider:?}");
    assert!(
        !wider.contains("opentrain_create_job_draft")
            && !wider.contains("opentrain_list_proposals")
    );

    let excluded = list(&[("x-opentrain-exclude-tools", "list_jobs")]).await;
    assert_eq!(excluded.len(), operator.len() - 1);

    let only = list(&[("x-opentrain-tools", "list_jobs")]).await;
    assert!(only.contains("opentrain_list_jobs") && !only.contains("opentrain_get_credits"));

    // A call to a tool the request's headers leave out is refused, nothing sent.
    let (_, _, body) = rpc(
        &remote.url(),
        Some(PAT),
        &[("x-opentrain-toolsets", "credits")],
        call_body("opentrain_list_jobs", json!({})),
    )
    .await;
    let refused = result(&body);
    assert_eq!(refused["isError"], json!(true));
    assert!(
        result_text(&refused).contains("not enabled for this request"),
        "{refused}"
    );
    assert!(authorizations(&api).await.is_empty());
    // The same call without narrowing goes through.
    let (_, _, body) = rpc(
        &remote.url(),
        Some(PAT),
        &[],
        call_body("opentrain_list_jobs", json!({})),
    )
    .await;
    assert_eq!(result(&body)["isError"], json!(false), "{body}");

    // A header naming what does not exist is a bad request.
    let (status, _, body) = rpc(
        &remote.url(),
        Some(PAT),
        &[("x-opentrain-toolsets", "nope")],
        list_body(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("unknown toolset"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_and_claim_are_not_served_over_http() {
    let api = MockServer::start().await;
    let remote = Remote::start(
        // Even named by the operator.
        &[
            "--tools",
            "register_agent,claim_account,claim_status,list_jobs",
        ],
        &[("OPENTRAIN_API_BASE_URL", &api.uri())],
    );
    let (_, _, body) = rpc(&remote.url(), Some(PAT), &[], list_body()).await;
    let names = tool_names(&body);
    assert!(names.contains("opentrain_list_jobs"), "{names:?}");
    for local in [
        "opentrain_register_agent",
        "opentrain_claim_account",
        "opentrain_claim_status",
    ] {
        assert!(!names.contains(local), "{local} listed");
        let (_, _, body) = rpc(&remote.url(), Some(PAT), &[], call_body(local, json!({}))).await;
        let refused = result(&body);
        assert_eq!(refused["isError"], json!(true));
        assert!(
            result_text(&refused).contains("not served over HTTP"),
            "{refused}"
        );
    }
    // And the instructions do not send an agent there.
    let (_, _, body) = rpc(
        &remote.url(),
        Some(PAT),
        &[],
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"}}}),
    )
    .await;
    let instructions = result(&body)["instructions"].as_str().unwrap().to_owned();
    assert!(
        !instructions.contains("register_agent") && instructions.contains("Settings → API keys"),
        "{instructions}"
    );
    assert!(api.received_requests().await.unwrap_or_default().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_own_token_is_used_only_in_single_tenant_mode() {
    let api = api_with_me(Duration::ZERO).await;
    // A credentials file and an env token: multi-tenant mode uses neither.
    let home = TempDir::new().unwrap();
    let dir = home.path().join(".config").join("opentrain");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("cli.json"),
        json!({"apiToken": PAT, "baseUrl": "https://elsewhere.example"}).to_string(),
    )
    .unwrap();
    let multi = Remote::start_in(
        home,
        &[],
        &[
            ("OPENTRAIN_API_BASE_URL", &api.uri()),
            ("OPENTRAIN_PERSONAL_API_TOKEN", PAT),
        ],
    );
    let call = call_body("opentrain_auth_status", json!({}));
    let (status, _, _) = rpc(&multi.url(), None, &[], call.clone()).await;
    assert_eq!(status, 401);
    let (status, _, body) = rpc(&multi.url(), Some(PAT2), &[], call.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(authorizations(&api).await, [Some(format!("Bearer {PAT2}"))]);
    drop(multi);

    // Single-tenant on loopback: no bearer needed, the server's env token is used.
    let api = api_with_me(Duration::ZERO).await;
    let single = Remote::start(
        &["--single-tenant"],
        &[
            ("OPENTRAIN_API_BASE_URL", &api.uri()),
            ("OPENTRAIN_PERSONAL_API_TOKEN", PAT),
        ],
    );
    let (status, _, body) = rpc(&single.url(), None, &[], call.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains(PAT));
    assert_eq!(authorizations(&api).await, [Some(format!("Bearer {PAT}"))]);
    drop(single);

    // Single-tenant on another interface needs a client secret…
    let (code, stderr) = refused(
        &["--http", "0.0.0.0:0", "--single-tenant"],
        &[("OPENTRAIN_PERSONAL_API_TOKEN", PAT)],
    );
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("loopback") && stderr.contains("OPENTRAIN_HTTP_CLIENT_SECRET"),
        "{stderr}"
    );
    assert!(!stderr.contains(PAT));

    // …which callers then send as their bearer; it never reaches the API.
    let api = api_with_me(Duration::ZERO).await;
    let secret = "a-long-client-secret-0123456789";
    let guarded = Remote::start(
        &["--single-tenant"],
        &[
            ("OPENTRAIN_API_BASE_URL", &api.uri()),
            ("OPENTRAIN_PERSONAL_API_TOKEN", PAT),
            ("OPENTRAIN_HTTP_CLIENT_SECRET", secret),
        ],
    );
    for wrong in [None, Some("not-the-secret-at-all-0000"), Some(PAT2)] {
        let (status, _, _) = rpc(&guarded.url(), wrong, &[], call.clone()).await;
        assert_eq!(status, 401, "{wrong:?}");
    }
    let (status, _, body) = rpc(&guarded.url(), Some(secret), &[], call.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(authorizations(&api).await, [Some(format!("Bearer {PAT}"))]);
    assert!(!guarded.stderr().contains(secret));

    // The secret alone, without --single-tenant, is a mistake.
    let (code, stderr) = refused(
        &["--http", "0"],
        &[("OPENTRAIN_HTTP_CLIENT_SECRET", secret)],
    );
    assert_eq!(code, Some(2));
    assert!(stderr.contains("only for --single-tenant"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_past_its_concurrency_cap_gets_429() {
    let api = api_per_token().await;
    Mock::given(method("GET"))
        .and(path("/api/public/v1/jobs/mine"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fixture("jobs_mine"))
                .set_delay(Duration::from_millis(1500)),
        )
        .mount(&api)
        .await;
    let remote = Remote::start(
        &["--max-concurrent-per-token", "2"],
        &[("OPENTRAIN_API_BASE_URL", &api.uri())],
    );
    let mut slow = Vec::new();
    for _ in 0..2 {
        let url = remote.url();
        slow.push(tokio::spawn(async move {
            rpc(
                &url,
                Some(PAT),
                &[],
                call_body("opentrain_list_jobs", json!({})),
            )
            .await
        }));
    }
    wait_for_metric(&remote, "opentrain_mcp_tool_calls_in_flight 2").await;
    let (status, headers, _) = rpc(
        &remote.url(),
        Some(PAT),
        &[],
        call_body("opentrain_auth_status", json!({})),
    )
    .await;
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"].to_str().unwrap(), "1");
    // Another token is not held back.
    let (status, _, body) = rpc(
        &remote.url(),
        Some(PAT2),
        &[],
        call_body("opentrain_auth_status", json!({})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    for call in slow {
        assert_eq!(call.await.unwrap().0, 200);
    }
    // The permits came back.
    let (status, _, _) = rpc(
        &remote.url(),
        Some(PAT),
        &[],
        call_body("opentrain_auth_status", json!({})),
    )
    .await;
    assert_eq!(status, 200);
}
