//! The payments tool: exactly what it sends and what it tells the agent.

mod common;

use common::*;
use serde_json::{Value, json};
use wiremock::{Mock, ResponseTemplate, matchers::any};

fn pending() -> Sent<'static> {
    Sent {
        method: "GET",
        path: "/api/public/v1/payments/pending",
        query: None,
        bearer: Some(PAT),
        body: SentBody::None,
    }
}

#[tokio::test]
async fn pending_payments_are_listed_in_dollars() {
    let mut two = fixture("payments_pending");
    let mut payout = two["payments"][0].clone();
    payout["id"] = json!("inv_2");
    payout["status"] = json!("PENDING_PAYOUT");
    payout["invoiceKind"] = json!("PAYOUT");
    payout["amountUsd"] = json!(12.5);
    payout["invoiceNumber"] = json!(1043);
    payout["milestone"] = Value::Null;
    two["payments"].as_array_mut().unwrap().push(payout);

    check_cases(vec![
        Case {
            tool: "opentrain_list_pending_payments",
            args: json!({}),
            sent: pending(),
            status: 200,
            reply: fixture("payments_pending"),
            summary: &[
                "1 pending payment:\n- Invoice #1042 (<INVOICE_ID>): PENDING_FUNDING, FUNDING, $300 — job \"Spanish tweet sentiment labeling\", milestone \"First labeling batch\"",
                "PENDING_FUNDING: a funding invoice waits on your side",
                "opentrain_get_approval",
            ],
        },
        Case {
            tool: "opentrain_list_pending_payments",
            args: json!({}),
            sent: pending(),
            status: 200,
            reply: two,
            summary: &[
                "2 pending payments:",
                "- Invoice #1043 (inv_2): PENDING_PAYOUT, PAYOUT, $12.50 — job \"Spanish tweet sentiment labeling\"\n",
            ],
        },
        Case {
            tool: "opentrain_list_pending_payments",
            args: json!({}),
            sent: pending(),
            status: 200,
            reply: json!({"payments": []}),
            summary: &["No pending payments."],
        },
    ])
    .await;
}

#[tokio::test]
async fn no_funding_note_without_funding_items() {
    let h = Harness::new().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"payments": []})))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_list_pending_payments", json!({})).await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(text(&r), "No pending payments.");
}

#[tokio::test]
async fn a_missing_scope_comes_back_as_the_api_said() {
    let h = Harness::new().await;
    let envelope = json!({
        "error": "Missing required scope.",
        "code": "FORBIDDEN",
        "requestId": "9d1f3a8e-0000-4000-8000-000000000403",
        "details": {"requiredScopes": ["payments:read"], "grantedScopes": ["jobs:read"]}
    });
    Mock::given(any())
        .respond_with(ResponseTemplate::new(403).set_body_json(envelope.clone()))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_list_pending_payments", json!({})).await;
    assert!(is_error(&r));
    assert_eq!(structured(&r), &json!({"status": 403, "error": envelope}));
    let t = text(&r);
    assert!(
        t.starts_with("OpenTrain API error: HTTP 403 FORBIDDEN — Missing required scope."),
        "{t}"
    );
    assert!(t.contains("payments:read"), "{t}");
}

#[tokio::test]
async fn the_tool_takes_no_parameters_and_only_reads() {
    let h = Harness::new().await;
    let tools = h.tools().await;
    let tool = tools
        .iter()
        .find(|t| t.name == "opentrain_list_pending_payments")
        .expect("listed");
    let a = tool.annotations.as_ref().expect("annotations");
    assert_eq!(a.read_only_hint, Some(true));
    assert_eq!(a.destructive_hint, Some(false));
    assert_eq!(a.idempotent_hint, Some(true));
    assert_eq!(a.open_world_hint, Some(true));
    let schema = Value::Object((*tool.input_schema).clone());
    assert_eq!(schema["type"], "object");
    assert!(
        schema
            .get("properties")
            .and_then(Value::as_object)
            .is_none_or(|p| p.is_empty()),
        "{schema}"
    );
    let d = tool.description.as_deref().unwrap_or_default();
    assert!((200..=380).contains(&d.chars().count()), "{d}");
    assert!(
        d.contains("payments:read") && d.contains("Wraps GET /payments/pending"),
        "{d}"
    );
    let size = serde_json::to_string(tool).unwrap().len();
    assert!(size <= 700, "{size} bytes in tools/list");
}

#[tokio::test]
async fn without_a_token_nothing_is_sent() {
    let h = Harness::with(Setup {
        env_token: None,
        ..Setup::default()
    })
    .await;
    let r = h.call("opentrain_list_pending_payments", json!({})).await;
    assert!(is_error(&r));
    assert!(
        text(&r).contains("opentrain_register_agent"),
        "{}",
        text(&r)
    );
    assert!(h.requests().await.is_empty());
}
