//! The 4 webhook tools: exact requests, the one-time signing secret, disabled subscriptions.

mod common;

use common::*;
use serde_json::json;
use wiremock::{Mock, ResponseTemplate};

const EVENTS: [&str; 3] = [
    "proposal.received",
    "message.received",
    "approval.confirmed",
];

#[tokio::test]
async fn webhook_tools_send_exactly_the_documented_requests() {
    check_cases(vec![
        Case {
            tool: "opentrain_create_webhook",
            args: json!({"url": "https://example.com/hooks/opentrain", "eventTypes": EVENTS}),
            sent: Sent {
                method: "POST",
                path: "/api/public/v1/webhooks",
                query: None,
                bearer: Some(PAT),
                body: SentBody::Json(
                    json!({"url": "https://example.com/hooks/opentrain", "eventTypes": EVENTS}),
                ),
            },
            status: 201,
            reply: fixture("webhooks_created"),
            summary: &[
                "Webhook <WEBHOOK_ID> created (ACTIVE) for https://example.com/hooks/opentrain \
                 on: proposal.received, message.received, approval.confirmed.",
                "Signing secret: whsec_<SECRET>\n",
                "Store this secret now",
                "shown only this once and is never returned again",
                "X-OpenTrain-Signature",
            ],
        },
        Case {
            tool: "opentrain_list_webhooks",
            args: json!({}),
            sent: Sent {
                method: "GET",
                path: "/api/public/v1/webhooks",
                query: None,
                bearer: Some(PAT),
                body: SentBody::None,
            },
            status: 200,
            reply: fixture("webhooks_list"),
            summary: &[
                "2 webhooks:",
                "- <WEBHOOK_ID> ACTIVE https://example.com/hooks/opentrain — proposal.received, \
                 message.received, approval.confirmed",
                "- <WEBHOOK_ID_2> DISABLED since 2026-06-10T14:20:00.000Z (Disabled after \
                 repeated delivery failures) https://example.com/hooks/old-endpoint — \
                 payment.pending",
                "A DISABLED webhook cannot be re-enabled: delete it with opentrain_delete_webhook",
                "create a new one",
            ],
        },
        Case {
            tool: "opentrain_get_webhook",
            args: json!({"webhookId": "wh_1"}),
            sent: Sent {
                method: "GET",
                path: "/api/public/v1/webhooks/wh_1",
                query: None,
                bearer: Some(PAT),
                body: SentBody::None,
            },
            status: 200,
            reply: fixture("webhooks_get"),
            summary: &[
                "Webhook <WEBHOOK_ID>: ACTIVE\nURL: https://example.com/hooks/opentrain\n\
                 Event types: proposal.received, message.received, approval.confirmed",
            ],
        },
        Case {
            tool: "opentrain_delete_webhook",
            args: json!({"webhookId": "../tokens"}),
            sent: Sent {
                method: "DELETE",
                path: "/api/public/v1/webhooks/..%2Ftokens",
                query: None,
                bearer: Some(PAT),
                body: SentBody::None,
            },
            status: 200,
            reply: fixture("webhooks_deleted"),
            summary: &[
                "Deleted webhook <WEBHOOK_ID> (https://example.com/hooks/opentrain",
                "Deliveries have stopped",
                "opentrain_create_webhook",
            ],
        },
    ])
    .await;
}

#[tokio::test]
async fn an_active_webhook_has_no_revival_advice_and_a_disabled_one_has() {
    let h = Harness::new().await;
    let mut disabled = fixture("webhooks_get");
    disabled["webhook"]["status"] = json!("DISABLED");
    disabled["webhook"]["disabledAt"] = json!("2026-06-10T14:20:00.000Z");
    disabled["webhook"]["disabledReason"] = json!("Disabled after repeated delivery failures");
    Mock::given(wiremock::matchers::path("/api/public/v1/webhooks/active"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("webhooks_get")))
        .mount(&h.api)
        .await;
    Mock::given(wiremock::matchers::path("/api/public/v1/webhooks/off"))
        .respond_with(ResponseTemplate::new(200).set_body_json(disabled))
        .mount(&h.api)
        .await;
    let t = text(
        &h.call("opentrain_get_webhook", json!({"webhookId": "active"}))
            .await,
    );
    assert!(!t.contains("DISABLED"), "{t}");
    let t = text(
        &h.call("opentrain_get_webhook", json!({"webhookId": "off"}))
            .await,
    );
    assert!(
        t.contains(
            "DISABLED since 2026-06-10T14:20:00.000Z (Disabled after repeated delivery failures)"
        ),
        "{t}"
    );
    assert!(t.contains("delete it with opentrain_delete_webhook"), "{t}");
}

/// The docs allow plain http to localhost for development: such a URL reaches the API as given.
#[tokio::test]
async fn a_localhost_http_webhook_is_sent_as_given() {
    let mut cases = Vec::new();
    for url in [
        "http://localhost:3000/hooks/opentrain",
        "http://127.0.0.1:8080/hooks",
        "http://[::1]:9000/hooks",
    ] {
        cases.push(Case {
            tool: "opentrain_create_webhook",
            args: json!({"url": url, "eventTypes": ["payment.pending"]}),
            sent: Sent {
                method: "POST",
                path: "/api/public/v1/webhooks",
                query: None,
                bearer: Some(PAT),
                body: SentBody::Json(json!({"url": url, "eventTypes": ["payment.pending"]})),
            },
            status: 201,
            reply: fixture("webhooks_created"),
            summary: &[
                "Webhook <WEBHOOK_ID> created",
                "Signing secret: whsec_<SECRET>",
            ],
        });
    }
    check_cases(cases).await;
}

#[tokio::test]
async fn webhook_arguments_are_checked_before_sending() {
    check_refused(vec![
        // updates-webhooks.md: "absolute `https` URL, max 2048 chars; plain `http` allowed only
        // for `localhost` (development)".
        Refused {
            tool: "opentrain_create_webhook",
            args: json!({"url": "http://example.com/hooks", "eventTypes": ["payment.pending"]}),
            says: "url: must be an https:// URL (plain http:// only to localhost, for development)",
        },
        Refused {
            tool: "opentrain_create_webhook",
            args: json!({"url": format!("https://example.com/{}", "x".repeat(2048)), "eventTypes": ["payment.pending"]}),
            says: "url: must be at most 2048 characters",
        },
        Refused {
            tool: "opentrain_create_webhook",
            args: json!({"url": "example.com/hooks", "eventTypes": ["payment.pending"]}),
            says: "url: \"example.com/hooks\" is not a URL",
        },
        Refused {
            tool: "opentrain_create_webhook",
            args: json!({"url": "https://example.com/hooks", "eventTypes": []}),
            says: "eventTypes: must list at least one item",
        },
        Refused {
            tool: "opentrain_create_webhook",
            args: json!({"url": "https://example.com/hooks", "eventTypes": [""]}),
            says: "eventTypes: must not contain empty strings",
        },
        Refused {
            tool: "opentrain_create_webhook",
            args: json!({"url": "https://example.com/hooks"}),
            says: "missing field `eventTypes`",
        },
        Refused {
            tool: "opentrain_get_webhook",
            args: json!({"webhookId": ""}),
            says: "webhookId: must not be empty",
        },
        Refused {
            tool: "opentrain_delete_webhook",
            args: json!({"webhookId": ".."}),
            says: "webhookId: \"..\" is not an id",
        },
    ])
    .await;

    // Arguments the tool does not take are ignored, named and never sent (clients add
    // their own, e.g. Gemini CLI's wait_for_previous).
    check_ignored(vec![
        Ignored {
            tool: "opentrain_create_webhook",
            args: json!({"url": "https://example.com/hooks", "eventTypes": ["payment.pending"], "secret": "x"}),
            key: "secret",
        },
    ])
    .await;
}

#[tokio::test]
async fn an_unknown_webhook_is_a_404_with_next_steps() {
    let h = Harness::new().await;
    let error = json!({
        "error": "Webhook not found.",
        "code": "NOT_FOUND",
        "requestId": "req_3",
        "details": {"resource": "webhooks", "webhookId": "wh_missing"}
    });
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(404).set_body_json(error.clone()))
        .mount(&h.api)
        .await;
    let r = h
        .call("opentrain_get_webhook", json!({"webhookId": "wh_missing"}))
        .await;
    assert!(is_error(&r));
    let t = text(&r);
    assert!(
        t.starts_with("OpenTrain API error: HTTP 404 NOT_FOUND — Webhook not found."),
        "{t}"
    );
    assert!(
        t.contains("Not found, or it belongs to another account"),
        "{t}"
    );
    assert!(t.contains("Request id: req_3"), "{t}");
    assert_eq!(structured(&r), &json!({"status": 404, "error": error}));
}
