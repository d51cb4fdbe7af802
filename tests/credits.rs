//! The 4 credits tools: exactly what each sends, and what its summary tells the agent.

mod common;

use common::*;
use serde_json::json;
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn credits_tools_send_exactly_the_documented_requests() {
    check_cases(vec![
        Case {
            tool: "opentrain_get_credits",
            args: json!({}),
            sent: Sent {
                method: "GET",
                path: "/api/public/v1/credits",
                query: None,
                bearer: Some(PAT),
                body: SentBody::None,
            },
            status: 200,
            reply: fixture("credits_balance"),
            summary: &[
                "Credits: $50.00 available, $25.00 reserved in escrow (USD).",
                "Latest 1 ledger entry:",
                "- HOLD -$25.00 on 2026-06-12T10:00:00.000Z (proposal <PROPOSAL_ID>, contract \
                 <CONTRACT_ID>, milestone <MILESTONE_ID>)",
            ],
        },
        Case {
            tool: "opentrain_list_credit_ledger",
            args: json!({}),
            sent: Sent {
                method: "GET",
                path: "/api/public/v1/credits/ledger",
                query: None,
                bearer: Some(PAT),
                body: SentBody::None,
            },
            status: 200,
            reply: fixture("credits_ledger"),
            summary: &[
                "2 ledger entries:",
                "- TOP_UP +$100.00 on 2026-06-12T10:00:00.000Z (top-up <TOP_UP_ID>)",
                "- HOLD -$25.00 on 2026-06-11T15:30:00.000Z (proposal <PROPOSAL_ID>, contract \
                 <CONTRACT_ID>, milestone <MILESTONE_ID>)",
                "call again with cursor \"<CURSOR>\"",
            ],
        },
        Case {
            tool: "opentrain_list_credit_ledger",
            args: json!({"limit": 25, "cursor": "c1"}),
            sent: Sent {
                method: "GET",
                path: "/api/public/v1/credits/ledger",
                query: Some("cursor=c1&limit=25"),
                bearer: Some(PAT),
                body: SentBody::None,
            },
            status: 200,
            reply: json!({"entries": [], "nextCursor": null}),
            summary: &["No ledger entries.", "This is the last page."],
        },
        Case {
            tool: "opentrain_create_credit_top_up",
            args: json!({"amountUsd": 100}),
            sent: Sent {
                method: "POST",
                path: "/api/public/v1/credits/top-ups",
                query: None,
                bearer: Some(PAT),
                body: SentBody::Json(json!({"amountUsd": 100})),
            },
            status: 201,
            reply: fixture("credits_top_up_created"),
            summary: &[
                "Top-up <TOP_UP_ID> of $100.00 created (PENDING). No money has moved yet",
                "open https://checkout.stripe.com/c/pay/cs_live_... and pay before \
                 2026-06-13T10:00:00.000Z",
                "opentrain_get_credit_top_up with topUpId \"<TOP_UP_ID>\" until it reports \
                 COMPLETED",
            ],
        },
        Case {
            tool: "opentrain_create_credit_top_up",
            args: json!({"amountUsd": 25.5}),
            sent: Sent {
                method: "POST",
                path: "/api/public/v1/credits/top-ups",
                query: None,
                bearer: Some(PAT),
                body: SentBody::Json(json!({"amountUsd": 25.5})),
            },
            status: 201,
            reply: fixture("credits_top_up_created"),
            summary: &["https://checkout.stripe.com/c/pay/cs_live_..."],
        },
        Case {
            tool: "opentrain_get_credit_top_up",
            args: json!({"topUpId": "tu/1 x"}),
            sent: Sent {
                method: "GET",
                path: "/api/public/v1/credits/top-ups/tu%2F1%20x",
                query: None,
                bearer: Some(PAT),
                body: SentBody::None,
            },
            status: 200,
            reply: fixture("credits_top_up"),
            summary: &[
                "Top-up <TOP_UP_ID> of $100.00 is COMPLETED: paid at 2026-06-12T10:12:00.000Z; \
                 the credits were added to the balance",
            ],
        },
    ])
    .await;
}

#[tokio::test]
async fn top_up_status_says_what_to_do_next() {
    for (status, says) in [
        ("PENDING", "awaiting your human's payment"),
        (
            "EXPIRED",
            "Create a new top-up with opentrain_create_credit_top_up",
        ),
        ("CANCELED", "nothing was charged. Create a new top-up"),
    ] {
        let mut reply = fixture("credits_top_up");
        reply["topUp"]["status"] = json!(status);
        reply["topUp"]["completedAt"] = json!(null);
        let h = Harness::new().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(ResponseTemplate::new(200).set_body_json(reply.clone()))
            .mount(&h.api)
            .await;
        let r = h
            .call("opentrain_get_credit_top_up", json!({"topUpId": "t1"}))
            .await;
        assert!(!is_error(&r), "{}", text(&r));
        let t = text(&r);
        assert!(
            t.contains(&format!("of $100.00 is {status}: ")) && t.contains(says),
            "{t}"
        );
        if status == "PENDING" {
            assert!(t.contains("2026-06-13T10:00:00.000Z"), "{t}");
        }
        assert_eq!(structured(&r), &reply);
    }
}

/// The documented status answer carries no checkout link: a PENDING top-up created in this
/// session gets its link repeated from the create answer.
#[tokio::test]
async fn a_pending_top_up_repeats_its_checkout_link() {
    use wiremock::matchers::method;
    let h = Harness::new().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(fixture("credits_top_up_created")))
        .mount(&h.api)
        .await;
    let mut pending = fixture("credits_top_up");
    pending["topUp"]["status"] = json!("PENDING");
    pending["topUp"]["completedAt"] = json!(null);
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(pending))
        .mount(&h.api)
        .await;
    let link = "https://checkout.stripe.com/c/pay/cs_live_...";
    // Before the create, nothing to repeat, and nothing made up.
    let r = h
        .call(
            "opentrain_get_credit_top_up",
            json!({"topUpId": "<TOP_UP_ID>"}),
        )
        .await;
    let t = text(&r);
    assert!(
        !t.contains(link) && t.contains("does not repeat the link"),
        "{t}"
    );
    let r = h
        .call("opentrain_create_credit_top_up", json!({"amountUsd": 100}))
        .await;
    assert!(text(&r).contains(link), "{}", text(&r));
    let r = h
        .call(
            "opentrain_get_credit_top_up",
            json!({"topUpId": "<TOP_UP_ID>"}),
        )
        .await;
    let t = text(&r);
    assert!(
        t.contains(&format!("PENDING: awaiting your human's payment at {link}")),
        "{t}"
    );
    // Another top-up's status does not borrow it.
    let r = h
        .call(
            "opentrain_get_credit_top_up",
            json!({"topUpId": "tu_other"}),
        )
        .await;
    assert!(!text(&r).contains(link), "{}", text(&r));
}

#[tokio::test]
async fn get_credits_with_no_history() {
    let h = Harness::new().await;
    let reply = json!({"credits": {"availableCents": 0, "reservedCents": 0, "currency": "usd", "recentEntries": []}});
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(reply))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_get_credits", json!({})).await;
    assert_eq!(
        text(&r),
        "Credits: $0.00 available, $0.00 reserved in escrow (USD).\nNo ledger entries yet."
    );
}

#[tokio::test]
async fn credits_arguments_are_checked_before_sending() {
    check_refused(vec![
        Refused {
            tool: "opentrain_create_credit_top_up",
            args: json!({"amountUsd": 9.99}),
            says: "amountUsd: must be from 10 to 10000 USD (got 9.99)",
        },
        Refused {
            tool: "opentrain_create_credit_top_up",
            args: json!({"amountUsd": 10001}),
            says: "amountUsd: must be from 10 to 10000 USD (got 10001)",
        },
        Refused {
            tool: "opentrain_create_credit_top_up",
            args: json!({"amountUsd": "100"}),
            says: "amountUsd: invalid type: string \"100\", expected a number",
        },
        Refused {
            tool: "opentrain_create_credit_top_up",
            args: json!({}),
            says: "missing field `amountUsd`",
        },
        Refused {
            tool: "opentrain_list_credit_ledger",
            args: json!({"limit": 0}),
            says: "limit: must be a whole number from 1 to 100 (got 0)",
        },
        Refused {
            tool: "opentrain_list_credit_ledger",
            args: json!({"limit": 101}),
            says: "limit: must be a whole number from 1 to 100 (got 101)",
        },
        Refused {
            tool: "opentrain_get_credit_top_up",
            args: json!({"topUpId": ".."}),
            says: "topUpId: \"..\" is not an id",
        },
        Refused {
            tool: "opentrain_get_credit_top_up",
            args: json!({"topUpId": " "}),
            says: "topUpId: must not be empty",
        },
    ])
    .await;

    // Arguments the tool does not take are ignored, named and never sent (clients add
    // their own, e.g. Gemini CLI's wait_for_previous).
    check_ignored(vec![Ignored {
        tool: "opentrain_create_credit_top_up",
        args: json!({"amountUsd": 100, "currency": "usd"}),
        key: "currency",
    }])
    .await;
}

#[tokio::test]
async fn a_disabled_credits_feature_is_named() {
    let h = Harness::new().await;
    let error = json!({
        "error": "Credits are not enabled for this account.",
        "code": "FORBIDDEN",
        "requestId": "req_1",
        "details": {"featureKey": "public_api_credits"}
    });
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(403).set_body_json(error.clone()))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_get_credits", json!({})).await;
    assert!(is_error(&r));
    let t = text(&r);
    assert!(
        t.starts_with("OpenTrain API error: HTTP 403 FORBIDDEN"),
        "{t}"
    );
    assert!(
        t.contains("The public_api_credits feature is not enabled for this account"),
        "{t}"
    );
    assert_eq!(structured(&r), &json!({"status": 403, "error": error}));
}

#[tokio::test]
async fn an_unclaimed_account_is_told_to_claim_before_topping_up() {
    let h = Harness::new().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(403).set_body_json(fixture("error_claim_required")))
        .mount(&h.api)
        .await;
    let r = h
        .call("opentrain_create_credit_top_up", json!({"amountUsd": 50}))
        .await;
    assert!(is_error(&r));
    let t = text(&r);
    assert!(t.contains("Reason: account_claim_required."), "{t}");
    assert!(t.contains("opentrain_claim_account"), "{t}");
}
