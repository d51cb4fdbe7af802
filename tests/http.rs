//! The shared HTTP client as an agent sees it through a tool: retry policy, rate limits, the
//! three error shapes, odd bodies, time budget and redirects.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ME: &str = "/api/public/v1/auth/me";

/// Answers the listed statuses in order, then the fixture with 200.
async fn mount_sequence(h: &Harness, route: &str, statuses: &[u16]) {
    for status in statuses {
        Mock::given(path(route.to_owned()))
            .respond_with(ResponseTemplate::new(*status).set_body_string("unavailable"))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&h.api)
            .await;
    }
    Mock::given(path(route.to_owned()))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("auth_me")))
        .with_priority(2)
        .mount(&h.api)
        .await;
}

#[tokio::test]
async fn get_is_retried_on_503_503_then_succeeds_after_three_requests() {
    let h = Harness::new().await;
    mount_sequence(&h, ME, &[503, 503]).await;
    let started = Instant::now();
    let r = h.call("opentrain_auth_status", json!({})).await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(h.requests().await.len(), 3);
    // 500 ms then 1 s between attempts.
    assert!(started.elapsed() >= Duration::from_millis(1500));
}

#[tokio::test]
async fn get_gives_up_after_three_gateway_errors() {
    let h = Harness::new().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(502).set_body_string(
            "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>",
        ))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_auth_status", json!({})).await;
    assert!(is_error(&r));
    assert_eq!(h.requests().await.len(), 3);
    let t = text(&r);
    assert!(
        t.contains("HTTP 502") && t.contains("502 Bad Gateway 502 Bad Gateway nginx"),
        "{t}"
    );
    assert!(!t.contains('<'), "no raw HTML: {t}");
    assert_eq!(
        structured(&r),
        &json!({"status": 502, "error": "502 Bad Gateway 502 Bad Gateway nginx"})
    );
}

#[tokio::test]
async fn get_is_not_retried_on_other_errors() {
    for status in [400, 401, 403, 404, 409, 500] {
        let h = Harness::new().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(status).set_body_json(json!({
                "error": "nope", "code": "X", "requestId": "r"
            })))
            .mount(&h.api)
            .await;
        let r = h.call("opentrain_auth_status", json!({})).await;
        assert!(is_error(&r));
        assert_eq!(h.requests().await.len(), 1, "status {status}");
    }
}

#[tokio::test]
async fn post_is_not_retried_on_503() {
    let h = Harness::with(Setup {
        env_token: None,
        file: Some(json!({"claimToken": CLM}).to_string()),
        ..Setup::default()
    })
    .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(503).set_body_string("busy"))
        .mount(&h.api)
        .await;
    let r = h
        .call(
            "opentrain_claim_account",
            json!({"email": "owner@example.com"}),
        )
        .await;
    assert!(is_error(&r));
    assert_eq!(
        h.requests().await.len(),
        1,
        "a write must never be repeated"
    );
    assert!(text(&r).contains("HTTP 503"), "{}", text(&r));
}

#[tokio::test]
async fn a_short_429_on_get_is_waited_out_once() {
    let h = Harness::new().await;
    Mock::given(path(ME))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_json(json!({"error": "Too many requests", "code": "RATE_LIMITED", "requestId": "r1"})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&h.api)
        .await;
    Mock::given(path(ME))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("auth_me")))
        .with_priority(2)
        .mount(&h.api)
        .await;
    let started = Instant::now();
    let r = h.call("opentrain_auth_status", json!({})).await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(h.requests().await.len(), 2);
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn a_second_429_is_returned_not_waited_again() {
    let h = Harness::new().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1").set_body_json(
            json!({"error": "Too many requests", "code": "RATE_LIMITED", "requestId": "r1"}),
        ))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_auth_status", json!({})).await;
    assert!(is_error(&r));
    assert_eq!(h.requests().await.len(), 2);
    assert_eq!(structured(&r)["retry_after_seconds"], 1);
}

#[tokio::test]
async fn a_long_429_returns_at_once_with_retry_after_seconds() {
    let h = Harness::new().await;
    let envelope = json!({"error": "Too many requests", "code": "RATE_LIMITED", "requestId": "r2"});
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "30")
                .set_body_json(envelope.clone()),
        )
        .mount(&h.api)
        .await;
    let started = Instant::now();
    let r = h.call("opentrain_auth_status", json!({})).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(is_error(&r));
    assert_eq!(h.requests().await.len(), 1);
    assert_eq!(
        structured(&r),
        &json!({"status": 429, "error": envelope, "retry_after_seconds": 30})
    );
    let t = text(&r);
    assert!(
        t.contains("RATE_LIMITED") && t.contains("30 s") && t.contains("retry_after_seconds"),
        "{t}"
    );
}

#[tokio::test]
async fn the_v1_envelope_becomes_an_actionable_error() {
    let h = Harness::new().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(403).set_body_json(fixture("error_claim_required")))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_auth_status", json!({})).await;
    assert!(is_error(&r));
    let t = text(&r);
    for needle in [
        "HTTP 403 FORBIDDEN",
        "A human must claim this agent account before it can hire AI trainers.",
        "Reason: account_claim_required.",
        "claimUrl: https://app.opentrain.ai/claim",
        "Request id: 9d1f3a8e-0000-4000-8000-000000000001",
        "opentrain_claim_account",
        "opentrain_claim_status",
    ] {
        assert!(t.contains(needle), "missing {needle:?} in:\n{t}");
    }
    assert_eq!(
        structured(&r),
        &json!({"status": 403, "error": fixture("error_claim_required")})
    );
}

#[tokio::test]
async fn payment_method_required_points_the_human_at_the_billing_url() {
    let h = Harness::new().await;
    let envelope = json!({
        "error": "Add a payment method", "code": "CONFLICT", "requestId": "r3",
        "details": {"reason": "payment_method_required", "billingUrl": "https://app.opentrain.ai/settings/billing"}
    });
    Mock::given(any())
        .respond_with(ResponseTemplate::new(409).set_body_json(envelope.clone()))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_auth_status", json!({})).await;
    let t = text(&r);
    assert!(
        t.contains("billingUrl: https://app.opentrain.ai/settings/billing"),
        "{t}"
    );
    assert!(
        t.contains("Give your human https://app.opentrain.ai/settings/billing"),
        "{t}"
    );
    assert_eq!(structured(&r), &json!({"status": 409, "error": envelope}));
}

#[tokio::test]
async fn scope_and_feature_failures_say_what_is_missing() {
    let h = Harness::new().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "error": "Missing scope", "code": "FORBIDDEN", "requestId": "r4",
            "details": {"requiredScopes": ["payments:write"], "grantedScopes": ["jobs:read"]}
        })))
        .up_to_n_times(1)
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_auth_status", json!({})).await;
    let t = text(&r);
    assert!(t.contains("lacks the scope(s) payments:write"), "{t}");
    assert!(
        t.contains("\"grantedScopes\":[\"jobs:read\"]"),
        "other details shown: {t}"
    );

    Mock::given(any())
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "error": "Feature disabled", "code": "FORBIDDEN", "requestId": "r5",
            "details": {"featureKey": "public_api_credits"}
        })))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_auth_status", json!({})).await;
    assert!(
        text(&r).contains("public_api_credits feature is not enabled"),
        "{}",
        text(&r)
    );
}

#[tokio::test]
async fn the_oauth_shape_becomes_an_actionable_error() {
    let h = Harness::with(Setup {
        env_token: None,
        ..Setup::default()
    })
    .await;
    Mock::given(method("POST"))
        .and(path("/api/agent/identity"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(json!({"error": "anonymous_not_enabled"})),
        )
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_register_agent", json!({})).await;
    assert!(is_error(&r));
    let t = text(&r);
    assert!(t.contains("HTTP 403 anonymous_not_enabled"), "{t}");
    assert!(t.contains("registration is disabled"), "{t}");
    assert_eq!(
        structured(&r),
        &json!({"status": 403, "error": {"error": "anonymous_not_enabled"}})
    );
    assert!(!h.config_path().exists(), "nothing saved on failure");
}

#[tokio::test]
async fn a_401_says_where_the_token_came_from() {
    let h = Harness::new().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "Invalid token", "code": "UNAUTHORIZED", "requestId": "r6"
        })))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_auth_status", json!({})).await;
    let t = text(&r);
    assert!(t.contains("HTTP 401 UNAUTHORIZED — Invalid token"), "{t}");
    assert!(t.contains("OPENTRAIN_PERSONAL_API_TOKEN"), "{t}");
    assert!(!t.contains(PAT));
}

#[tokio::test]
async fn an_empty_2xx_is_an_empty_object() {
    let h = Harness::new().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(204))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_auth_status", json!({})).await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(structured(&r), &json!({}));
}

#[tokio::test]
async fn a_2xx_that_is_not_json_is_an_error() {
    let h = Harness::new().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string("<html><body>Welcome to the portal</body></html>"),
        )
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_auth_status", json!({})).await;
    assert!(is_error(&r));
    let t = text(&r);
    assert!(
        t.contains("not JSON") && t.contains("Welcome to the portal") && !t.contains("<html>"),
        "{t}"
    );
}

#[tokio::test]
async fn a_hung_api_ends_at_the_time_budget() {
    let h = Harness::with(Setup {
        timeout: Duration::from_secs(1),
        ..Setup::default()
    })
    .await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fixture("auth_me"))
                .set_delay(Duration::from_secs(10)),
        )
        .mount(&h.api)
        .await;
    let started = Instant::now();
    let r = h.call("opentrain_auth_status", json!({})).await;
    let took = started.elapsed();
    assert!(is_error(&r));
    assert!(
        text(&r).contains("did not answer within 1 s"),
        "{}",
        text(&r)
    );
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

#[tokio::test]
async fn a_cross_host_redirect_is_not_followed() {
    let h = Harness::new().await;
    let other = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("auth_me")))
        .mount(&other)
        .await;
    // 127.0.0.1 and localhost are different hosts to the client.
    let elsewhere = other.uri().replace("127.0.0.1", "localhost");
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(302).insert_header("Location", format!("{elsewhere}{ME}")),
        )
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_auth_status", json!({})).await;
    assert!(is_error(&r));
    assert!(text(&r).contains("redirect"), "{}", text(&r));
    assert!(
        other
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty(),
        "the token went elsewhere"
    );
}

#[tokio::test]
async fn a_same_origin_redirect_is_followed_with_the_token() {
    let h = Harness::new().await;
    Mock::given(path("/api/public/v1/auth/me"))
        .respond_with(
            ResponseTemplate::new(307).insert_header("Location", "/api/public/v1/auth/me2"),
        )
        .mount(&h.api)
        .await;
    Mock::given(path("/api/public/v1/auth/me2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("auth_me")))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_auth_status", json!({})).await;
    assert!(!is_error(&r), "{}", text(&r));
    let reqs = h.requests().await;
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        reqs[1].headers.get("authorization").unwrap(),
        &format!("Bearer {PAT}")
    );
}

#[tokio::test]
async fn an_unreachable_api_is_reported_as_a_connection_failure() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::TempDir::new().unwrap();
    let config = opentrain_mcp::config::Config::new(
        Some(dir.path().join("cli.json")),
        Some(PAT),
        Some(&format!("http://127.0.0.1:{port}")),
    );
    let server = opentrain_mcp::OpenTrain::new(config, opentrain_mcp::Options::default());
    let req = opentrain_mcp::api::Request::get("/auth/me");
    let started = Instant::now();
    let err = server.call(&req).await.unwrap_err();
    assert!(
        matches!(err, opentrain_mcp::api::ApiError::Connect { .. }),
        "{err:?}"
    );
    // Connection failures are retried (500 ms + 1 s) even for GET.
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
}
