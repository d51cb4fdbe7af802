//! The 7 contracts & milestones tools: exactly what each sends, what it tells the agent, and how
//! the co-sign (202) and the documented 409/403 refusals come back.

mod common;

use common::*;
use serde_json::{Value, json};
use wiremock::{Mock, ResponseTemplate, matchers::any};

fn get(path: &'static str, query: Option<&'static str>) -> Sent<'static> {
    Sent {
        method: "GET",
        path,
        query,
        bearer: Some(PAT),
        body: SentBody::None,
    }
}

fn post(path: &'static str, body: SentBody<'static>) -> Sent<'static> {
    Sent {
        method: "POST",
        path,
        query: None,
        bearer: Some(PAT),
        body,
    }
}

/// What every co-signed (202) summary must say.
const COSIGN: [&str; 4] = [
    "a signed-in human must confirm this at https://app.opentrain.ai/approvals/<APPROVAL_ID> before 2026-06-15T10:00:00.000Z",
    "no money has moved",
    "opentrain_get_approval with approvalId \"<APPROVAL_ID>\"",
    "opentrain_poll_updates",
];

#[tokio::test]
async fn reads_send_exactly_the_documented_requests() {
    check_cases(vec![
        Case {
            tool: "opentrain_list_contracts",
            args: json!({}),
            sent: get("/api/public/v1/contracts", None),
            status: 200,
            reply: fixture("contracts_list"),
            summary: &[
                "1 contract:",
                "<CONTRACT_ID> — active, Maria G. — \"Spanish Sentiment Labeling Contract\" (job <JOB_ID>) — 1 milestone: 1 ACTIVE_FUNDED",
                "conversationId from opentrain_get_contract",
            ],
        },
        Case {
            tool: "opentrain_list_contracts",
            args: json!({"status": "active", "jobId": "j1"}),
            sent: get("/api/public/v1/contracts", Some("jobId=j1&status=active")),
            status: 200,
            reply: fixture("contracts_list"),
            summary: &["1 contract:"],
        },
        Case {
            tool: "opentrain_list_contracts",
            args: json!({"status": "ended"}),
            sent: get("/api/public/v1/contracts", Some("status=ended")),
            status: 200,
            reply: json!({"contracts": []}),
            summary: &["No contracts."],
        },
        Case {
            tool: "opentrain_list_contracts",
            args: json!({"jobId": "job 1&status=ended"}),
            sent: get(
                "/api/public/v1/contracts",
                Some("jobId=job%201%26status%3Dended"),
            ),
            status: 200,
            reply: json!({"contracts": []}),
            summary: &["No contracts."],
        },
        Case {
            tool: "opentrain_get_contract",
            args: json!({"contractId": "c1"}),
            sent: get("/api/public/v1/contracts/c1", None),
            status: 200,
            reply: fixture("contracts_get"),
            summary: &[
                "Contract <CONTRACT_ID> \"Spanish Sentiment Labeling Contract\": active, FIXED_PRICE at $300, with Maria G. (Spain, user <FREELANCER_ID>) on job <JOB_ID>.",
                "conversationId <CONVERSATION_ID>",
                "Budget: OK — funded $300, 0% consumed.",
                "1 milestone:\n- #1 <MILESTONE_ID> \"First labeling batch\": ACTIVE_FUNDED, $300, due 2026-07-01T00:00:00.000Z",
                "opentrain_request_milestone_approval",
            ],
        },
        Case {
            tool: "opentrain_get_approval",
            args: json!({"approvalId": "a1"}),
            sent: get("/api/public/v1/approvals/a1", None),
            status: 200,
            reply: fixture("approvals_get"),
            summary: &[
                "Approval <APPROVAL_ID> (milestone_fund, milestone <MILESTONE_ID>, contract <CONTRACT_ID>) was confirmed at 2026-06-12T14:30:00.000Z and has executed.",
                "Result: invoiceId <INVOICE_ID>.",
                "The milestone is funded",
            ],
        },
    ])
    .await;
}

#[tokio::test]
async fn writes_send_exactly_the_documented_requests() {
    check_cases(vec![
        Case {
            tool: "opentrain_create_milestone",
            args: json!({
                "contractId": "c1",
                "name": "Second labeling batch",
                "description": "Label the next 5,000 posts per the updated guidelines",
                "amountUsd": 300,
                "dueDate": "2026-07-15"
            }),
            sent: post(
                "/api/public/v1/contracts/c1/milestones",
                SentBody::Json(json!({
                    "name": "Second labeling batch",
                    "description": "Label the next 5,000 posts per the updated guidelines",
                    "amountUsd": 300,
                    "dueDate": "2026-07-15"
                })),
            ),
            status: 201,
            reply: fixture("contracts_create_milestone_201"),
            summary: &[
                "Created milestone <MILESTONE_ID> (#2, \"Second labeling batch\", $300, due 2026-07-15T00:00:00.000Z) on contract c1. It is NOT_FUNDED: no money has moved.",
                "opentrain_request_milestone_funding with milestoneId \"<MILESTONE_ID>\"",
            ],
        },
        Case {
            tool: "opentrain_create_milestone",
            args: json!({"contractId": "c1", "description": "Hourly block", "volume": 40, "amountUsd": 12.5}),
            sent: post(
                "/api/public/v1/contracts/c1/milestones",
                SentBody::Json(
                    json!({"description": "Hourly block", "volume": 40, "amountUsd": 12.5}),
                ),
            ),
            status: 201,
            reply: fixture("contracts_create_milestone_201"),
            summary: &["Created milestone <MILESTONE_ID>"],
        },
        // Hours can be fractional: the docs type volume as a positive number.
        Case {
            tool: "opentrain_create_milestone",
            args: json!({"contractId": "c1", "description": "Hours", "volume": 7.5, "name": "", "dueDate": " "}),
            sent: post(
                "/api/public/v1/contracts/c1/milestones",
                SentBody::Json(json!({"description": "Hours", "volume": 7.5})),
            ),
            status: 201,
            reply: fixture("contracts_create_milestone_201"),
            summary: &["Created milestone <MILESTONE_ID>"],
        },
        Case {
            tool: "opentrain_create_milestone",
            args: json!({"contractId": "c1", "description": "Whole", "volume": 5000.0}),
            sent: post(
                "/api/public/v1/contracts/c1/milestones",
                SentBody::Json(json!({"description": "Whole", "volume": 5000})),
            ),
            status: 201,
            reply: fixture("contracts_create_milestone_201"),
            summary: &["Created milestone <MILESTONE_ID>"],
        },
        Case {
            tool: "opentrain_create_milestone",
            args: json!({"contractId": "c1", "description": "Only the work"}),
            sent: post(
                "/api/public/v1/contracts/c1/milestones",
                SentBody::Json(json!({"description": "Only the work"})),
            ),
            status: 201,
            reply: fixture("contracts_create_milestone_201"),
            summary: &["NOT_FUNDED"],
        },
        Case {
            tool: "opentrain_request_milestone_funding",
            args: json!({"milestoneId": "m1"}),
            sent: post("/api/public/v1/milestones/m1/fund", SentBody::None),
            status: 202,
            reply: fixture("milestones_fund_202"),
            summary: &[
                "Funding requested for milestone m1.",
                COSIGN[0],
                COSIGN[1],
                COSIGN[2],
                COSIGN[3],
                "(milestone_fund, pending)",
            ],
        },
        Case {
            tool: "opentrain_request_milestone_approval",
            args: json!({"milestoneId": "m1"}),
            sent: post("/api/public/v1/milestones/m1/approve", SentBody::None),
            status: 202,
            reply: fixture("milestones_approve_202"),
            summary: &[
                "Release of milestone m1 to the AI trainer requested",
                COSIGN[0],
                COSIGN[1],
                COSIGN[2],
                COSIGN[3],
                "(milestone_approve, pending)",
            ],
        },
        Case {
            tool: "opentrain_end_contract",
            args: json!({"contractId": "c1"}),
            sent: post("/api/public/v1/contracts/c1/end", SentBody::None),
            status: 200,
            reply: fixture("contracts_end_200"),
            summary: &["Contract <CONTRACT_ID> is now ended; this cannot be undone."],
        },
        Case {
            tool: "opentrain_end_contract",
            args: json!({"contractId": "c1"}),
            sent: post("/api/public/v1/contracts/c1/end", SentBody::None),
            status: 202,
            reply: fixture("contracts_end_202"),
            summary: &[
                "Contract <CONTRACT_ID> has funded escrow, so ending it needs a human: it is still active.",
                COSIGN[0],
                COSIGN[1],
                COSIGN[2],
                COSIGN[3],
                "(contract_end, pending)",
            ],
        },
    ])
    .await;
}

#[tokio::test]
async fn hostile_ids_go_out_as_one_encoded_segment() {
    check_cases(vec![
        Case {
            tool: "opentrain_get_contract",
            args: json!({"contractId": "../tokens"}),
            sent: get("/api/public/v1/contracts/..%2Ftokens", None),
            status: 200,
            reply: fixture("contracts_get"),
            summary: &["Contract <CONTRACT_ID>"],
        },
        Case {
            tool: "opentrain_end_contract",
            args: json!({"contractId": "../tokens"}),
            sent: post("/api/public/v1/contracts/..%2Ftokens/end", SentBody::None),
            status: 200,
            reply: fixture("contracts_end_200"),
            summary: &["ended"],
        },
        Case {
            tool: "opentrain_create_milestone",
            args: json!({"contractId": "../tokens", "description": "x"}),
            sent: post(
                "/api/public/v1/contracts/..%2Ftokens/milestones",
                SentBody::Json(json!({"description": "x"})),
            ),
            status: 201,
            reply: fixture("contracts_create_milestone_201"),
            summary: &["Created milestone"],
        },
        Case {
            tool: "opentrain_request_milestone_funding",
            args: json!({"milestoneId": "a/../../b?x=1#y"}),
            sent: post(
                "/api/public/v1/milestones/a%2F..%2F..%2Fb%3Fx%3D1%23y/fund",
                SentBody::None,
            ),
            status: 202,
            reply: fixture("milestones_fund_202"),
            summary: &[COSIGN[0]],
        },
        Case {
            tool: "opentrain_request_milestone_approval",
            args: json!({"milestoneId": "../tokens"}),
            sent: post(
                "/api/public/v1/milestones/..%2Ftokens/approve",
                SentBody::None,
            ),
            status: 202,
            reply: fixture("milestones_approve_202"),
            summary: &[COSIGN[0]],
        },
        Case {
            tool: "opentrain_get_approval",
            args: json!({"approvalId": "../tokens"}),
            sent: get("/api/public/v1/approvals/..%2Ftokens", None),
            status: 200,
            reply: fixture("approvals_get"),
            summary: &["confirmed"],
        },
    ])
    .await;
}

#[tokio::test]
async fn bad_arguments_are_refused_locally() {
    check_refused(vec![
        Refused {
            tool: "opentrain_create_milestone",
            args: json!({"contractId": "c1", "description": "x", "amountUsd": 0}),
            says: "amountUsd: must be an amount in USD greater than 0 (got 0)",
        },
        Refused {
            tool: "opentrain_create_milestone",
            args: json!({"contractId": "c1", "description": "x", "amountUsd": -5}),
            says: "amountUsd: must be an amount in USD greater than 0 (got -5)",
        },
        Refused {
            tool: "opentrain_create_milestone",
            args: json!({"contractId": "c1", "description": "x", "amountUsd": "300"}),
            says: "amountUsd:",
        },
        // contracts.md: "`volume` | number | … | unit volume (label count or hours), must be
        // positive".
        Refused {
            tool: "opentrain_create_milestone",
            args: json!({"contractId": "c1", "description": "x", "volume": 0}),
            says: "volume: must be a number greater than 0 (got 0)",
        },
        Refused {
            tool: "opentrain_create_milestone",
            args: json!({"contractId": "c1", "description": "x", "volume": -2.5}),
            says: "volume: must be a number greater than 0 (got -2.5)",
        },
        Refused {
            tool: "opentrain_create_milestone",
            args: json!({"contractId": "c1", "description": ""}),
            says: "description: must not be empty",
        },
        Refused {
            tool: "opentrain_create_milestone",
            args: json!({"contractId": "c1", "description": "   "}),
            says: "description: must not be empty",
        },
        Refused {
            tool: "opentrain_create_milestone",
            args: json!({"contractId": "c1"}),
            says: "missing field `description`",
        },
        Refused {
            tool: "opentrain_create_milestone",
            args: json!({"description": "x"}),
            says: "missing field `contractId`",
        },
        Refused {
            tool: "opentrain_list_contracts",
            args: json!({"status": "open"}),
            says: "status: unknown variant `open`, expected `active` or `ended`",
        },
        Refused {
            tool: "opentrain_list_contracts",
            args: json!({"status": "ACTIVE"}),
            says: "status: unknown variant `ACTIVE`",
        },
        Refused {
            tool: "opentrain_list_contracts",
            args: json!({"jobId": ""}),
            says: "jobId: must not be empty",
        },
        Refused {
            tool: "opentrain_get_contract",
            args: json!({"contractId": ".."}),
            says: "contractId: \"..\" is not an id",
        },
        Refused {
            tool: "opentrain_get_contract",
            args: json!({"contractId": ""}),
            says: "contractId: must not be empty",
        },
        Refused {
            tool: "opentrain_create_milestone",
            args: json!({"contractId": ".", "description": "x"}),
            says: "contractId: \".\" is not an id",
        },
        Refused {
            tool: "opentrain_request_milestone_funding",
            args: json!({"milestoneId": ".."}),
            says: "milestoneId: \"..\" is not an id",
        },
        Refused {
            tool: "opentrain_request_milestone_funding",
            args: json!({"milestoneId": " "}),
            says: "milestoneId: must not be empty",
        },
        Refused {
            tool: "opentrain_request_milestone_approval",
            args: json!({"milestoneId": ""}),
            says: "milestoneId: must not be empty",
        },
        Refused {
            tool: "opentrain_request_milestone_approval",
            args: json!({}),
            says: "missing field `milestoneId`",
        },
        Refused {
            tool: "opentrain_get_approval",
            args: json!({"approvalId": ".."}),
            says: "approvalId: \"..\" is not an id",
        },
        Refused {
            tool: "opentrain_get_approval",
            args: json!({"approvalId": 42}),
            says: "approvalId:",
        },
        Refused {
            tool: "opentrain_end_contract",
            args: json!({"contractId": ""}),
            says: "contractId: must not be empty",
        },
    ])
    .await;

    // Arguments the tool does not take are ignored, named and never sent (clients add
    // their own, e.g. Gemini CLI's wait_for_previous).
    check_ignored(vec![
        Ignored {
            tool: "opentrain_create_milestone",
            args: json!({"contractId": "c1", "description": "x", "amount": 300}),
            key: "amount",
        },
        Ignored {
            tool: "opentrain_list_contracts",
            args: json!({"cursor": "x"}),
            key: "cursor",
        },
        Ignored {
            tool: "opentrain_get_contract",
            args: json!({"contractId": "c1", "verbose": true}),
            key: "verbose",
        },
        Ignored {
            tool: "opentrain_request_milestone_funding",
            args: json!({"milestoneId": "m1", "amountUsd": 5}),
            key: "amountUsd",
        },
        Ignored {
            tool: "opentrain_end_contract",
            args: json!({"contractId": "c1", "force": true}),
            key: "force",
        },
    ])
    .await;
}

#[tokio::test]
async fn refusals_name_the_rule_and_promise_nothing_was_sent() {
    let h = Harness::new().await;
    let r = h
        .call(
            "opentrain_create_milestone",
            json!({"contractId": "c1", "description": "x", "amountUsd": 0}),
        )
        .await;
    assert!(is_error(&r));
    assert_eq!(
        text(&r),
        "Invalid arguments for opentrain_create_milestone: amountUsd: must be an amount in USD \
         greater than 0 (got 0). Nothing was sent; fix the arguments (see the tool's input \
         schema) and call it again."
    );
    assert!(r.structured_content.is_none());
    assert!(h.requests().await.is_empty());
}

/// An API refusal: `isError`, the shared failure text, and `{"status", "error"}` as received.
async fn refused_by_api(tool: &str, args: Value, status: u16, envelope: Value) -> String {
    let (text, requests) = check_failure(tool, args, status, &envelope).await;
    assert_eq!(requests, 1, "{tool}: a write is never retried");
    text
}

/// The documented envelope (`proposals.md` §0) with the documented reason; the docs show no full
/// example for these 409s, so the message and request id are made up.
fn conflict(message: &str, details: Value) -> Value {
    json!({
        "error": message,
        "code": "CONFLICT",
        "requestId": "9d1f3a8e-0000-4000-8000-000000000409",
        "details": details
    })
}

#[tokio::test]
async fn funding_without_a_payment_method_points_at_the_billing_page() {
    let envelope = conflict(
        "A payment method is required to fund this milestone.",
        json!({"reason": "payment_method_required", "billingUrl": "https://app.opentrain.ai/settings/billing"}),
    );
    let t = refused_by_api(
        "opentrain_request_milestone_funding",
        json!({"milestoneId": "m1"}),
        409,
        envelope,
    )
    .await;
    assert!(
        t.starts_with(
            "OpenTrain API error: HTTP 409 CONFLICT — A payment method is required to fund this milestone."
        ),
        "{t}"
    );
    assert!(t.contains("Reason: payment_method_required."), "{t}");
    assert!(
        t.contains("Give your human https://app.opentrain.ai/settings/billing to add a card"),
        "{t}"
    );
    assert!(t.contains("9d1f3a8e-0000-4000-8000-000000000409"), "{t}");
}

#[tokio::test]
async fn funding_a_funded_milestone_says_why() {
    let t = refused_by_api(
        "opentrain_request_milestone_funding",
        json!({"milestoneId": "m1"}),
        409,
        conflict(
            "Milestone is not fundable.",
            json!({"reason": "milestone_not_fundable"}),
        ),
    )
    .await;
    assert!(t.contains("Reason: milestone_not_fundable."), "{t}");
    assert!(t.contains("opentrain_get_contract"), "{t}");
}

#[tokio::test]
async fn releasing_an_unfunded_milestone_says_fund_it_first() {
    let t = refused_by_api(
        "opentrain_request_milestone_approval",
        json!({"milestoneId": "m1"}),
        409,
        conflict(
            "Milestone is NOT_FUNDED.",
            json!({"reason": "milestone_not_funded"}),
        ),
    )
    .await;
    assert!(
        t.contains("HTTP 409 CONFLICT — Milestone is NOT_FUNDED."),
        "{t}"
    );
    assert!(t.contains("Reason: milestone_not_funded."), "{t}");
    assert!(
        t.contains("opentrain_request_milestone_funding first"),
        "{t}"
    );
}

#[tokio::test]
async fn ending_an_ended_contract_says_so() {
    for (tool, args) in [
        ("opentrain_end_contract", json!({"contractId": "c1"})),
        (
            "opentrain_create_milestone",
            json!({"contractId": "c1", "description": "x"}),
        ),
    ] {
        let t = refused_by_api(
            tool,
            args,
            409,
            conflict(
                "Contract has already ended.",
                json!({"reason": "contract_ended"}),
            ),
        )
        .await;
        assert!(t.contains("Reason: contract_ended."), "{tool}: {t}");
        assert!(t.contains("The contract has already ended."), "{tool}: {t}");
    }
}

#[tokio::test]
async fn an_unclaimed_account_is_told_to_run_the_claim() {
    for (tool, args) in [
        (
            "opentrain_create_milestone",
            json!({"contractId": "c1", "description": "x", "amountUsd": 300}),
        ),
        (
            "opentrain_request_milestone_funding",
            json!({"milestoneId": "m1"}),
        ),
        (
            "opentrain_request_milestone_approval",
            json!({"milestoneId": "m1"}),
        ),
        ("opentrain_end_contract", json!({"contractId": "c1"})),
    ] {
        let t = refused_by_api(tool, args, 403, fixture("error_claim_required")).await;
        assert!(t.contains("HTTP 403 FORBIDDEN"), "{tool}: {t}");
        assert!(t.contains("Reason: account_claim_required."), "{tool}: {t}");
        assert!(
            t.contains("claimUrl: https://app.opentrain.ai/claim"),
            "{tool}: {t}"
        );
        assert!(t.contains("opentrain_claim_account"), "{tool}: {t}");
    }
}

#[tokio::test]
async fn an_unknown_approval_is_a_plain_404() {
    let envelope = json!({
        "error": "Approval not found.",
        "code": "NOT_FOUND",
        "requestId": "9d1f3a8e-0000-4000-8000-000000000404",
        "details": {"resource": "approvals", "approvalId": "a1"}
    });
    let t = refused_by_api(
        "opentrain_get_approval",
        json!({"approvalId": "a1"}),
        404,
        envelope,
    )
    .await;
    assert!(
        t.contains("HTTP 404 NOT_FOUND — Approval not found."),
        "{t}"
    );
}

/// The documented approval, in another state.
fn approval_in(status: &str, kind: &str, result: Value, resolved: Value) -> Value {
    let mut body = fixture("approvals_get");
    body["approval"]["status"] = json!(status);
    body["approval"]["type"] = json!(kind);
    body["approval"]["result"] = result;
    body["approval"]["resolvedAt"] = resolved;
    body
}

#[tokio::test]
async fn approval_states_say_what_to_do_next() {
    let a = json!({"approvalId": "a1"});
    check_cases(vec![
        Case {
            tool: "opentrain_get_approval",
            args: a.clone(),
            sent: get("/api/public/v1/approvals/a1", None),
            status: 200,
            reply: approval_in("pending", "milestone_approve", Value::Null, Value::Null),
            summary: &[
                "Approval <APPROVAL_ID> (milestone_approve, milestone <MILESTONE_ID>, contract <CONTRACT_ID>) is still pending",
                "They must confirm at https://app.opentrain.ai/approvals/<APPROVAL_ID> before 2026-06-15T10:00:00.000Z",
                "opentrain_poll_updates",
            ],
        },
        Case {
            tool: "opentrain_get_approval",
            args: a.clone(),
            sent: get("/api/public/v1/approvals/a1", None),
            status: 200,
            reply: approval_in(
                "declined",
                "contract_end",
                Value::Null,
                json!("2026-06-13T08:00:00.000Z"),
            ),
            summary: &[
                "was declined by your human at 2026-06-13T08:00:00.000Z: nothing was executed and no money moved",
                "opentrain_end_contract creates a new approval",
            ],
        },
        Case {
            tool: "opentrain_get_approval",
            args: a.clone(),
            sent: get("/api/public/v1/approvals/a1", None),
            status: 200,
            reply: approval_in(
                "expired",
                "milestone_fund",
                Value::Null,
                json!("2026-06-15T10:00:01.000Z"),
            ),
            summary: &[
                "expired without a decision (deadline 2026-06-15T10:00:00.000Z)",
                "call opentrain_request_milestone_funding again and share the new approvalUrl",
            ],
        },
        Case {
            tool: "opentrain_get_approval",
            args: a.clone(),
            sent: get("/api/public/v1/approvals/a1", None),
            status: 200,
            reply: approval_in(
                "confirmed",
                "milestone_approve",
                json!({"invoiceId": "inv_1", "payoutTransactionId": "po_1"}),
                json!("2026-06-12T14:30:00.000Z"),
            ),
            summary: &[
                "Result: invoiceId inv_1, payoutTransactionId po_1.",
                "released to the trainer",
            ],
        },
        Case {
            tool: "opentrain_get_approval",
            args: a,
            sent: get("/api/public/v1/approvals/a1", None),
            status: 200,
            reply: approval_in(
                "confirmed",
                "contract_end",
                json!({"contractEnded": true}),
                json!("2026-06-12T14:30:00.000Z"),
            ),
            summary: &["Result: contractEnded true.", "The contract has ended."],
        },
    ])
    .await;
}

#[tokio::test]
async fn contract_summaries_flag_unfunded_milestones_and_low_budgets() {
    let mut body = fixture("contracts_get");
    let mut second = body["contract"]["milestones"][0].clone();
    second["id"] = json!("ms_2");
    second["name"] = json!("Second labeling batch");
    second["status"] = json!("NOT_FUNDED");
    second["milestoneNumber"] = json!(2);
    second["invoiceId"] = Value::Null;
    second["pendingApproval"] = json!(true);
    second["dueDate"] = Value::Null;
    body["contract"]["milestones"]
        .as_array_mut()
        .unwrap()
        .push(second);
    body["contract"]["paymentType"] = json!("PAY_PER_LABEL");
    body["contract"]["budget"]["paymentType"] = json!("PAY_PER_LABEL");
    body["contract"]["budget"]["state"] = json!("LOW");
    body["contract"]["budget"]["consumedFraction"] = json!(0.8234);
    body["contract"]["budget"]["remainingVolume"] = json!(880);
    body["contract"]["jobDmConversationId"] = Value::Null;

    let mut list = fixture("contracts_list");
    list["contracts"][0]["milestones"] = body["contract"]["milestones"].clone();

    check_cases(vec![
        Case {
            tool: "opentrain_get_contract",
            args: json!({"contractId": "c1"}),
            sent: get("/api/public/v1/contracts/c1", None),
            status: 200,
            reply: body,
            summary: &[
                "Budget: LOW — funded $300, 82% consumed, 880 units remaining. Funds are running low",
                "- #2 ms_2 \"Second labeling batch\": NOT_FUNDED, $300, approval pending\n",
                "Fund a NOT_FUNDED milestone with opentrain_request_milestone_funding.",
                "No job conversation exists yet.",
            ],
        },
        Case {
            tool: "opentrain_list_contracts",
            args: json!({}),
            sent: get("/api/public/v1/contracts", None),
            status: 200,
            reply: list,
            summary: &["2 milestones: 1 ACTIVE_FUNDED, 1 NOT_FUNDED (1 approval pending)"],
        },
    ])
    .await;
}

#[tokio::test]
async fn the_contract_summary_is_short_for_long_timelines() {
    let mut body = fixture("contracts_get");
    let one = body["contract"]["milestones"][0].clone();
    body["contract"]["milestones"] = Value::Array(vec![one; 60]);
    let h = Harness::new().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(body.clone()))
        .mount(&h.api)
        .await;
    let r = h
        .call("opentrain_get_contract", json!({"contractId": "c1"}))
        .await;
    let t = text(&r);
    assert!(t.contains("60 milestones:"), "{t}");
    assert!(t.contains("… and 40 more"), "{t}");
    assert!(t.len() < 3000, "{} bytes:\n{t}", t.len());
    assert_eq!(structured(&r), &body);
}
