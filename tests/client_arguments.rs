//! Arguments a client or a model adds that a tool does not take (Gemini CLI puts
//! `wait_for_previous` into every tool's schema, and its model fills it in): for every one of the
//! 41 tools they are ignored, named in the result, and never reach a request's path, query or
//! body; known arguments keep their validation.

mod common;

use common::*;
use rmcp::model::Tool;
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, ResponseTemplate};

const SENTINEL: &str = "zz_sentinel_value";

/// Valid arguments for each tool, using optional ones too, so that as much as possible is sent.
fn valid_args(tool: &str) -> Value {
    match tool {
        "opentrain_auth_status"
        | "opentrain_capabilities"
        | "opentrain_get_credits"
        | "opentrain_get_team"
        | "opentrain_list_pending_payments"
        | "opentrain_list_tokens"
        | "opentrain_list_webhooks" => json!({}),
        "opentrain_claim_account" => json!({"email": "human@example.com", "claimToken": CLM}),
        "opentrain_claim_status" => json!({"claimToken": CLM}),
        "opentrain_register_agent" => {
            json!({"agentName": "Bot", "organizationName": "Org", "force": true})
        }
        "opentrain_close_job" | "opentrain_publish_job" => json!({"jobId": "job_1"}),
        "opentrain_create_credit_top_up" => json!({"amountUsd": 50}),
        "opentrain_create_job_draft" => json!({
            "title": "Label posts", "jobDescription": "Label 5,000 posts.",
            "externalId": "ext-1", "idempotencyKey": "idem-1"
        }),
        "opentrain_create_milestone" => json!({
            "contractId": "ctr_1", "description": "Batch 2", "name": "Second",
            "amountUsd": 200, "dueDate": "2026-08-01"
        }),
        "opentrain_create_webhook" => json!({
            "url": "https://example.com/hooks", "eventTypes": ["payment.pending"]
        }),
        "opentrain_delete_webhook" | "opentrain_get_webhook" => json!({"webhookId": "wh_1"}),
        "opentrain_end_contract" | "opentrain_get_contract" => json!({"contractId": "ctr_1"}),
        "opentrain_get_approval" => json!({"approvalId": "apr_1"}),
        "opentrain_get_credit_top_up" => json!({"topUpId": "top_1"}),
        "opentrain_get_freelancer_profile" => json!({"idOrSlug": "maria-g"}),
        "opentrain_get_proposal" => json!({"proposalId": "prp_1", "includeInterview": true}),
        "opentrain_hire_proposal" => json!({
            "proposalId": "prp_1",
            "milestone": {"name": "First", "description": "Batch 1", "amount": 300,
                          "dueDate": "2026-07-01"},
            "confirmNotFitOverride": true
        }),
        "opentrain_invite_freelancer" => json!({"jobId": "job_1", "freelancerId": "usr_1"}),
        "opentrain_invite_team_member" => json!({"email": "new@example.com"}),
        "opentrain_list_contracts" => json!({"jobId": "job_1", "status": "active"}),
        "opentrain_list_credit_ledger" | "opentrain_poll_updates" => {
            json!({"cursor": "cur_1", "limit": 10})
        }
        "opentrain_list_jobs" => json!({"cursor": "cur_1", "limit": 10, "status": "OPEN"}),
        "opentrain_list_proposals" => json!({"jobId": "job_1", "cursor": "cur_1", "limit": 10}),
        "opentrain_read_messages" => json!({
            "conversationId": "cnv_1", "cursor": "cur_1", "direction": "older", "limit": 10
        }),
        "opentrain_request_milestone_approval" | "opentrain_request_milestone_funding" => {
            json!({"milestoneId": "mst_1"})
        }
        "opentrain_revoke_token" => json!({"tokenId": "tok_1"}),
        "opentrain_search_jobs" => json!({
            "q": "audio", "category": "audio", "country": "ES", "language": "es",
            "payType": "FIXED_PRICE", "cursor": "cur_1", "limit": 10
        }),
        "opentrain_send_message" => json!({"conversationId": "cnv_1", "content": "Hello"}),
        "opentrain_start_proposal_conversation" => json!({"proposalId": "prp_1"}),
        "opentrain_update_job_draft_fields" | "opentrain_update_published_job" => {
            json!({"jobId": "job_1", "patch": {"title": "New title"}})
        }
        other => panic!("no arguments for {other}: add a row for the new tool"),
    }
}

/// `args` with unknown keys added wherever the tool's schema lists its properties (the top
/// level, and nested objects such as `milestone`); returns their dotted names.
fn with_unknown_keys(tool: &Tool, args: &Value) -> (Value, Vec<String>) {
    let mut args = args.clone();
    let mut added = vec!["wait_for_previous".to_owned(), "zz_unknown".to_owned()];
    let map = args.as_object_mut().unwrap();
    map.insert("wait_for_previous".into(), json!(true));
    map.insert("zz_unknown".into(), json!(SENTINEL));
    let props = tool.input_schema["properties"].as_object().unwrap();
    for (key, schema) in props {
        if schema.get("properties").is_some()
            && let Some(Value::Object(inner)) = map.get_mut(key)
        {
            inner.insert("zz_nested".into(), json!(SENTINEL));
            added.push(format!("{key}.zz_nested"));
        }
    }
    (args, added)
}

async fn run(tool: &str, args: Value) -> (CallToolResult, Vec<(String, String, String)>) {
    let h = Harness::with(Setup {
        file: Some(json!({"apiToken": PAT, "claimToken": CLM}).to_string()),
        ..Setup::default()
    })
    .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&h.api)
        .await;
    let r = h.call(tool, args).await;
    let origin = h.api.uri();
    let sent = h
        .requests()
        .await
        .into_iter()
        .map(|q| {
            (
                q.method.to_string(),
                q.url.to_string().replacen(&origin, "", 1),
                String::from_utf8_lossy(&q.body).into_owned(),
            )
        })
        .collect();
    (r, sent)
}

use rmcp::model::CallToolResult;

#[tokio::test]
async fn no_unknown_key_reaches_a_request_for_any_of_the_41_tools() {
    let tools = Harness::new().await.tools().await;
    assert_eq!(tools.len(), 41);
    let mut nested = 0;
    for tool in &tools {
        let name = tool.name.as_ref();
        let args = valid_args(name);
        let (polluted, added) = with_unknown_keys(tool, &args);
        nested += added.len() - 2;

        let (r, sent) = run(name, polluted).await;
        let (clean_r, clean_sent) = run(name, args).await;
        assert!(
            !sent.is_empty(),
            "{name}: nothing was sent, so nothing was proven: {}",
            text(&r)
        );
        for (method, url, body) in &sent {
            for needle in [SENTINEL, "wait_for_previous", "zz_unknown", "zz_nested"] {
                assert!(
                    !url.contains(needle) && !body.contains(needle),
                    "{name}: {needle} reached {method} {url} {body}"
                );
            }
        }
        // Exactly what the call sends without them.
        assert_eq!(sent, clean_sent, "{name}");
        let t = text(&r);
        let quoted: Vec<String> = added.iter().map(|k| format!("\"{k}\"")).collect();
        assert!(
            t.contains(&format!("Ignored unknown arguments {}", quoted.join(", "))),
            "{name}: the text must name {added:?}:\n{t}"
        );
        assert_eq!(r.is_error, clean_r.is_error, "{name}");
    }
    // The nested case was exercised (hire_proposal's milestone).
    assert!(nested >= 1);
}

#[tokio::test]
async fn known_arguments_keep_their_validation_next_to_unknown_ones() {
    let h = Harness::new().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&h.api)
        .await;
    let r = h
        .call(
            "opentrain_get_contract",
            json!({"contractId": "..", "wait_for_previous": false}),
        )
        .await;
    assert!(is_error(&r));
    let t = text(&r);
    assert!(
        t.contains("contractId: \"..\" is not an id")
            && t.contains("Ignored unknown argument \"wait_for_previous\""),
        "{t}"
    );
    let r = h
        .call(
            "opentrain_hire_proposal",
            json!({"proposalId": "p", "milestone": {"name": "x", "amount": -5, "amout": 5}}),
        )
        .await;
    assert!(is_error(&r));
    let t = text(&r);
    assert!(
        t.contains("milestone.amount") && t.contains("\"milestone.amout\""),
        "{t}"
    );
    assert!(h.requests().await.is_empty(), "nothing was sent");
}

#[tokio::test]
async fn a_gemini_style_call_succeeds_in_text_mode_and_says_what_was_ignored() {
    let h = Harness::with(Setup {
        result_format: ResultFormat::Text,
        ..Setup::default()
    })
    .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("contracts_get")))
        .mount(&h.api)
        .await;
    let r = h
        .call(
            "opentrain_get_contract",
            json!({"contractId": "ctr_1", "wait_for_previous": true}),
        )
        .await;
    assert!(!is_error(&r), "{}", text(&r));
    let t = text(&r);
    assert!(
        t.ends_with(
            "\nIgnored unknown argument \"wait_for_previous\" (this tool does not take it; it \
             was not sent)."
        ),
        "{t}"
    );
    let sent = h.only_request().await;
    assert_eq!(sent.url.path(), "/api/public/v1/contracts/ctr_1");
    assert_eq!(sent.url.query(), None);
}
