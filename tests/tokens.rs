//! The 2 token tools: exact requests, masked previews passed through, and the warning when the
//! server revokes its own token.

mod common;

use common::*;
use serde_json::{Value, json};
use wiremock::{Mock, ResponseTemplate};

/// The preview the API would show for `common::PAT`: prefix, first 4, mask, last 4.
const OUR_PREVIEW: &str = "ot_pat_a1b2********9f2c";

const OWN_TOKEN_WARNING: &str = "WARNING: this was the token this MCP server uses";

#[tokio::test]
async fn token_tools_send_exactly_the_documented_requests() {
    check_cases(vec![
        Case {
            tool: "opentrain_list_tokens",
            args: json!({}),
            sent: Sent {
                method: "GET",
                path: "/api/public/v1/tokens",
                query: None,
                bearer: Some(PAT),
                body: SentBody::None,
            },
            status: 200,
            reply: fixture("tokens_list"),
            summary: &[
                "2 tokens:",
                "- \"Hiring agent\" <TOKEN_ID> ot_pat_c3f9********bd21 active; scopes jobs:read, \
                 jobs:write, proposals:read; last used 2026-06-12T11:30:00.000Z\n",
                "- \"Old CI token\" <TOKEN_ID_2> ot_pat_91ab********77e2 revoked; scopes \
                 jobs:read; last used never",
            ],
        },
        Case {
            tool: "opentrain_revoke_token",
            args: json!({"tokenId": "tok 1/2"}),
            sent: Sent {
                method: "DELETE",
                path: "/api/public/v1/tokens/tok%201%2F2",
                query: None,
                bearer: Some(PAT),
                body: SentBody::None,
            },
            status: 200,
            reply: fixture("tokens_revoked"),
            summary: &[
                "Revoked token \"Old CI token\" (<TOKEN_ID>, ot_pat_91ab********77e2; scopes \
                 jobs:read): status revoked since 2026-06-12T10:00:00.000Z.",
                "cannot be undone",
            ],
        },
    ])
    .await;
}

fn all_output(r: &rmcp::model::CallToolResult) -> String {
    format!(
        "{} {}",
        text(r),
        r.structured_content.clone().unwrap_or_default()
    )
}

async fn revoke_with_preview(preview: &str) -> (rmcp::model::CallToolResult, Value) {
    let mut reply = fixture("tokens_revoked");
    reply["token"]["preview"] = json!(preview);
    let h = Harness::new().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(reply.clone()))
        .mount(&h.api)
        .await;
    let r = h
        .call("opentrain_revoke_token", json!({"tokenId": "tok_1"}))
        .await;
    assert!(!is_error(&r), "{}", text(&r));
    (r, reply)
}

#[tokio::test]
async fn revoking_the_servers_own_token_warns_that_calls_will_fail() {
    let (r, reply) = revoke_with_preview(OUR_PREVIEW).await;
    let t = text(&r);
    assert!(t.contains(OWN_TOKEN_WARNING), "{t}");
    assert!(
        t.contains("from the OPENTRAIN_PERSONAL_API_TOKEN environment variable"),
        "{t}"
    );
    assert!(
        t.contains(
            "Every further OpenTrain call will fail with 401 until a new token is configured"
        ),
        "{t}"
    );
    assert!(t.contains(OUR_PREVIEW), "the API's preview is shown: {t}");
    assert_eq!(structured(&r), &reply);
    assert!(!all_output(&r).contains(PAT), "raw token leaked");
}

#[tokio::test]
async fn revoking_another_token_does_not_warn() {
    // Same first four characters as ours, different last four; and the reverse.
    for preview in [
        "ot_pat_91ab********77e2",
        "ot_pat_a1b2********77e2",
        "ot_pat_91ab********9f2c",
    ] {
        let (r, _) = revoke_with_preview(preview).await;
        let t = text(&r);
        assert!(!t.contains(OWN_TOKEN_WARNING), "{preview}: {t}");
        assert!(!all_output(&r).contains(PAT), "raw token leaked");
    }
}

#[tokio::test]
async fn the_list_marks_the_servers_own_token() {
    let mut reply = fixture("tokens_list");
    reply["tokens"][0]["preview"] = json!(OUR_PREVIEW);
    let h = Harness::new().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(reply.clone()))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_list_tokens", json!({})).await;
    let t = text(&r);
    let marked: Vec<&str> = t
        .lines()
        .filter(|l| l.contains("← the token this server uses"))
        .collect();
    assert_eq!(marked.len(), 1, "{t}");
    assert!(marked[0].contains("\"Hiring agent\""), "{t}");
    assert_eq!(structured(&r), &reply);
    assert!(!all_output(&r).contains(PAT), "raw token leaked");
}

#[tokio::test]
async fn token_arguments_are_checked_before_sending() {
    check_refused(vec![
        Refused {
            tool: "opentrain_revoke_token",
            args: json!({"tokenId": ".."}),
            says: "tokenId: \"..\" is not an id",
        },
        Refused {
            tool: "opentrain_revoke_token",
            args: json!({"tokenId": ""}),
            says: "tokenId: must not be empty",
        },
        Refused {
            tool: "opentrain_revoke_token",
            args: json!({}),
            says: "missing field `tokenId`",
        },
    ])
    .await;

    // Arguments the tool does not take are ignored, named and never sent (clients add
    // their own, e.g. Gemini CLI's wait_for_previous).
    check_ignored(vec![Ignored {
        tool: "opentrain_revoke_token",
        args: json!({"tokenId": "tok_1", "token": PAT}),
        key: "token",
    }])
    .await;
}

#[tokio::test]
async fn an_unknown_token_is_a_404() {
    let h = Harness::new().await;
    let error = json!({"error": "Token not found.", "code": "NOT_FOUND", "requestId": "req_4", "details": {"tokenId": "tok_x"}});
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(404).set_body_json(error.clone()))
        .mount(&h.api)
        .await;
    let r = h
        .call("opentrain_revoke_token", json!({"tokenId": "tok_x"}))
        .await;
    assert!(is_error(&r));
    let t = text(&r);
    assert!(t.contains("HTTP 404 NOT_FOUND — Token not found."), "{t}");
    assert!(!t.contains(OWN_TOKEN_WARNING), "{t}");
    assert_eq!(structured(&r), &json!({"status": 404, "error": error}));
}
