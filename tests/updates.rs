//! opentrain_poll_updates: the exact request, and a summary that lists each event with the tool to
//! read it and always gives the cursor for the next poll.

mod common;

use common::*;
use serde_json::json;
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn poll_updates_sends_cursor_and_limit_and_relays_the_next_cursor() {
    check_cases(vec![
        Case {
            tool: "opentrain_poll_updates",
            args: json!({}),
            sent: Sent {
                method: "GET",
                path: "/api/public/v1/updates",
                query: None,
                bearer: Some(PAT),
                body: SentBody::None,
            },
            status: 200,
            reply: fixture("updates_poll"),
            summary: &[
                "2 events (oldest first;",
                "- #1042 proposal.received: proposalId <PROPOSAL_ID>, jobId <JOB_ID> → \
                 opentrain_get_proposal",
                "- #1043 approval.confirmed: approvalId <APPROVAL_ID>, status confirmed → \
                 opentrain_get_approval",
                "hasMore: false — caught up. Next time, poll with cursor \"1043\"",
            ],
        },
        Case {
            tool: "opentrain_poll_updates",
            args: json!({"limit": 200, "cursor": "1041"}),
            sent: Sent {
                method: "GET",
                path: "/api/public/v1/updates",
                query: Some("cursor=1041&limit=200"),
                bearer: Some(PAT),
                body: SentBody::None,
            },
            status: 200,
            reply: {
                let mut more = fixture("updates_poll");
                more["hasMore"] = json!(true);
                more
            },
            summary: &[
                "2 events",
                "hasMore: true — more events are waiting: poll again now with cursor \"1043\".",
            ],
        },
        Case {
            tool: "opentrain_poll_updates",
            args: json!({"cursor": "1043", "limit": 1}),
            sent: Sent {
                method: "GET",
                path: "/api/public/v1/updates",
                query: Some("cursor=1043&limit=1"),
                bearer: Some(PAT),
                body: SentBody::None,
            },
            status: 200,
            reply: json!({"events": [], "nextCursor": "1043", "hasMore": false}),
            summary: &["No new events.", "poll with cursor \"1043\""],
        },
    ])
    .await;
}

#[tokio::test]
async fn every_event_type_names_its_read_tool() {
    let events = json!([
        {"id": "1", "type": "proposal.status_changed", "data": {"proposalId": "p1", "status": "HIRED"}},
        {"id": "2", "type": "message.received", "data": {"conversationId": "c1", "messageId": "m1"}},
        {"id": "3", "type": "contract.created", "data": {"contractId": "k1", "jobId": "j1", "proposalId": "p1"}},
        {"id": "4", "type": "milestone.status_changed", "data": {"milestoneId": "m2", "contractId": "k1", "status": "ACTIVE_FUNDED"}},
        {"id": "5", "type": "payment.pending", "data": {"invoiceId": "i1", "milestoneId": "m2", "contractId": "k1"}},
        {"id": "6", "type": "contract.budget_state_changed", "data": {"contractId": "k1", "previousState": "OK", "state": "LOW"}},
    ]);
    let h = Harness::new().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"events": events, "nextCursor": "6", "hasMore": false})),
        )
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_poll_updates", json!({})).await;
    let t = text(&r);
    for line in [
        "- #1 proposal.status_changed: proposalId p1, status HIRED → opentrain_get_proposal",
        "- #2 message.received: conversationId c1, messageId m1 → opentrain_read_messages",
        "- #3 contract.created: contractId k1, jobId j1, proposalId p1 → opentrain_get_contract",
        "- #4 milestone.status_changed: milestoneId m2, contractId k1, status ACTIVE_FUNDED → opentrain_get_contract",
        "- #5 payment.pending: invoiceId i1, milestoneId m2, contractId k1 → opentrain_list_pending_payments",
        "- #6 contract.budget_state_changed: contractId k1, previousState OK, state LOW → opentrain_get_contract",
    ] {
        assert!(t.contains(line), "lacks {line:?}:\n{t}");
    }
}

#[tokio::test]
async fn a_full_page_is_capped_in_the_summary() {
    let events: Vec<_> = (1..=200)
        .map(|i| json!({"id": i.to_string(), "type": "message.received", "data": {"conversationId": "c", "messageId": format!("m{i}")}}))
        .collect();
    let h = Harness::new().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"events": events, "nextCursor": "200", "hasMore": true})),
        )
        .mount(&h.api)
        .await;
    let r = h
        .call("opentrain_poll_updates", json!({"limit": 200}))
        .await;
    let t = text(&r);
    assert!(t.starts_with("200 events"), "{t}");
    assert_eq!(
        t.lines().filter(|l| l.starts_with("- #")).count(),
        20,
        "{t}"
    );
    assert!(t.contains("… and 180 more"), "{t}");
    assert!(t.contains("poll again now with cursor \"200\""), "{t}");
    assert!(t.len() < 3000, "summary too long: {} bytes", t.len());
}

#[tokio::test]
async fn poll_updates_arguments_are_checked_before_sending() {
    check_refused(vec![
        Refused {
            tool: "opentrain_poll_updates",
            args: json!({"limit": 0}),
            says: "limit: must be a whole number from 1 to 200 (got 0)",
        },
        Refused {
            tool: "opentrain_poll_updates",
            args: json!({"limit": 201}),
            says: "limit: must be a whole number from 1 to 200 (got 201)",
        },
    ])
    .await;

    // Arguments the tool does not take are ignored, named and never sent (clients add
    // their own, e.g. Gemini CLI's wait_for_previous).
    check_ignored(vec![Ignored {
        tool: "opentrain_poll_updates",
        args: json!({"since": "1043"}),
        key: "since",
    }])
    .await;
}

#[tokio::test]
async fn a_token_without_read_scopes_is_told_which_it_needs() {
    let h = Harness::new().await;
    let error = json!({
        "error": "Insufficient scope.",
        "code": "FORBIDDEN",
        "requestId": "req_2",
        "details": {"requiredScopes": ["proposals:read", "messages:read", "payments:read"], "grantedScopes": ["jobs:read"]}
    });
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(403).set_body_json(error.clone()))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_poll_updates", json!({})).await;
    assert!(is_error(&r));
    assert!(
        text(&r).contains("lacks the scope(s) proposals:read, messages:read, payments:read"),
        "{}",
        text(&r)
    );
    assert_eq!(structured(&r), &json!({"status": 403, "error": error}));
}
