//! Every tool, fed its documented answer and plausible variants of it (issue 10): the link at
//! another depth, a flat object instead of a nested one, a list under another key, a cursor under
//! another key, an error without `code`. The docs show most answers once, as an example; the live
//! API may differ in exactly these ways. For every answer the text must keep every id, link and
//! cursor the agent needs next, and never print a placeholder (`?`, "the approval page in the
//! OpenTrain app", …) where one of them should be.

mod common;

use common::*;
use serde_json::{Map, Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, ResponseTemplate};

/// One answer to feed a tool, and what its text must contain.
struct Answer {
    label: &'static str,
    status: u16,
    body: Value,
    /// Ids, links and cursors (and key phrases) the text must contain.
    needs: Vec<&'static str>,
    /// Phrases the text must not contain (a wrong conclusion).
    never: Vec<&'static str>,
    /// Whether the result is an error (by default: whether the status is not 2xx).
    error: bool,
}

fn answer(label: &'static str, status: u16, body: Value, needs: &[&'static str]) -> Answer {
    Answer {
        label,
        status,
        body,
        needs: needs.to_vec(),
        never: Vec::new(),
        error: !(200..300).contains(&status),
    }
}

struct Row {
    tool: &'static str,
    args: Value,
    answers: Vec<Answer>,
}

/// The object under `key`, with the rest of the answer's top-level keys: a nested answer made
/// flat.
fn lift(body: &Value, key: &str) -> Value {
    let mut out: Map<String, Value> = body
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != key)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (k, v) in body[key].as_object().unwrap() {
        out.insert(k.clone(), v.clone());
    }
    Value::Object(out)
}

/// `{key: body}`: an answer one level deeper.
fn wrap(key: &str, body: Value) -> Value {
    json!({ key: body })
}

/// The answer with a top-level key renamed.
fn rename(body: &Value, from: &str, to: &str) -> Value {
    let mut map = body.as_object().unwrap().clone();
    let value = map.remove(from).unwrap();
    map.insert(to.to_owned(), value);
    Value::Object(map)
}

/// The answer without some top-level keys.
fn without(body: &Value, keys: &[&str]) -> Value {
    let mut map = body.as_object().unwrap().clone();
    for k in keys {
        map.remove(*k);
    }
    Value::Object(map)
}

/// Phrases that stand in for a missing id or link: what a summary must never print.
const PLACEHOLDERS: [&str; 12] = [
    "the approval page in the OpenTrain app",
    "the checkout link (missing",
    "the link in the email",
    "(see the email)",
    "(no URL returned)",
    "(no url)",
    "(no URL)",
    "status ?",
    "Approval ?",
    "job ?",
    "proposal: ?",
    "undefined",
];

/// The placeholders in a text: a `?` standing alone (not ending a question or inside a URL), or
/// one of [`PLACEHOLDERS`].
fn placeholders(text: &str) -> Vec<String> {
    let mut found: Vec<String> = PLACEHOLDERS
        .iter()
        .filter(|p| text.contains(*p))
        .map(|p| p.to_string())
        .collect();
    let chars: Vec<char> = text.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if *c != '?' {
            continue;
        }
        let before = i.checked_sub(1).map(|j| chars[j]);
        let after = chars.get(i + 1).copied();
        let alone_before = before.is_none_or(|b| b.is_whitespace() || "(\"'[{:".contains(b));
        let alone_after = after.is_none_or(|a| a.is_whitespace() || ")\"',.;]}".contains(a));
        if alone_before && alone_after {
            let start = i.saturating_sub(30);
            let end = (i + 30).min(chars.len());
            found.push(chars[start..end].iter().collect());
        }
    }
    found
}

#[test]
fn the_placeholder_check_can_fail() {
    assert!(!placeholders("Approval ? (pending)").is_empty());
    assert!(!placeholders("New proposal: ?.").is_empty());
    assert!(!placeholders("at (?)").is_empty());
    assert!(placeholders("ask: What level? Then https://x/y?a=1 and \"why?\"").is_empty());
}

async fn check(rows: Vec<Row>) {
    let mut checked = 0;
    for row in rows {
        assert!(
            row.answers.len() >= 3,
            "{}: the documented answer and at least two variants",
            row.tool
        );
        for a in row.answers {
            let label = format!("{} [{}]", row.tool, a.label);
            let h = Harness::new().await;
            Mock::given(any())
                .respond_with(ResponseTemplate::new(a.status).set_body_json(a.body.clone()))
                .mount(&h.api)
                .await;
            let r = h.call(row.tool, row.args.clone()).await;
            let t = text(&r);
            if std::env::var_os("SHOW_SUMMARIES").is_some() {
                eprintln!("=== {label}\n{t}\n");
            }
            assert_eq!(is_error(&r), a.error, "{label}: isError:\n{t}");
            assert!(!h.requests().await.is_empty(), "{label}: nothing was sent");
            for need in &a.needs {
                assert!(t.contains(need), "{label}: lacks {need:?}:\n{t}");
            }
            for wrong in &a.never {
                assert!(!t.contains(wrong), "{label}: says {wrong:?}:\n{t}");
            }
            let found = placeholders(&t);
            assert!(found.is_empty(), "{label}: placeholders {found:?}:\n{t}");
            checked += 1;
        }
    }
    assert!(checked > 0);
}

const APPROVAL_URL: &str = "https://app.opentrain.ai/approvals/<APPROVAL_ID>";
/// The co-sign link where it belongs: first, as what the human must open.
const CONFIRM_AT: &str =
    "a signed-in human must confirm this at https://app.opentrain.ai/approvals/<APPROVAL_ID>";
const HOW_TO_FOLLOW: &str = "opentrain_get_approval with approvalId \"<APPROVAL_ID>\"";

/// An error body without `code`, its link at the top level.
fn claim_error_without_code() -> Value {
    json!({"error": "A human must claim this agent account first.",
           "reason": "account_claim_required",
           "claimUrl": "https://app.opentrain.ai/claim"})
}

#[tokio::test]
async fn auth_tools_keep_what_the_agent_needs() {
    let identity = fixture("agent_identity");
    let claim = fixture("agent_identity_claim");
    let token = fixture("agent_oauth_token");
    let me = fixture("auth_me");
    let caps = fixture("job_drafts_capabilities");
    check(vec![
        Row {
            tool: "opentrain_register_agent",
            args: json!({"agentName": "Claude Code"}),
            answers: vec![
                answer("documented", 200, identity.clone(), &["Registered a new, unclaimed", "registration <REGISTRATION_ID>", "opentrain_claim_account", "2026-06-13T09:00:00.000Z"]),
                answer("nested under data", 200, wrap("data", identity.clone()), &["Registered a new, unclaimed", "registration <REGISTRATION_ID>", "opentrain_claim_account"]),
                answer("camelCase keys", 200, json!({"accessToken": "ot_pat_camel_0000000000001", "claimToken": "ot_clm_camel_0000000000001", "registrationId": "r9", "scopes": ["jobs:read"]}), &["Registered a new, unclaimed", "opentrain_claim_account", "jobs:read"]),
                answer("OAuth error", 429, json!({"error": "rate_limit_exceeded"}), &["HTTP 429 rate_limit_exceeded", "back off"]),
            ],
        },
        Row {
            tool: "opentrain_claim_account",
            args: json!({"email": "owner@example.com", "claimToken": CLM}),
            answers: vec![
                answer("documented", 200, claim.clone(), &["open https://app.opentrain.ai/claim?token=ot_cat_... and enter the code 439218", "every 5 seconds"]),
                answer("nested, camelCase", 200, json!({"claim": {"verificationUri": "https://app.opentrain.ai/claim?token=ot_cat_2", "userCode": "551234", "interval": 7}}), &["open https://app.opentrain.ai/claim?token=ot_cat_2 and enter the code 551234", "every 7 seconds"]),
                answer("complete link only", 200, json!({"verification_uri_complete": "https://app.opentrain.ai/claim?token=ot_cat_3&code=1", "user_code": "1"}), &["https://app.opentrain.ai/claim?token=ot_cat_3&code=1"]),
                answer("no link at all", 200, json!({"ok": true, "message": "Check your inbox."}), &["no link for your human", "Check your inbox.", "owner@example.com"]),
            ],
        },
        Row {
            tool: "opentrain_claim_status",
            args: json!({"claimToken": CLM}),
            answers: vec![
                answer("documented", 200, token.clone(), &["Claimed: a human now owns this account", "proposals:write"]),
                answer("nested token", 200, wrap("token", token.clone()), &["Claimed: a human now owns this account", "proposals:write"]),
                Answer {
                    error: false,
                    ..answer("pending, bare OAuth", 400, json!({"error": "authorization_pending"}), &["Pending: your human has not completed the claim yet"])
                },
                Answer {
                    error: false,
                    ..answer("slow_down as an error object", 400, json!({"error": {"code": "slow_down", "message": "Too fast"}}), &["Polling too fast (slow_down)", "Wait 10 seconds"])
                },
                answer("expired", 400, json!({"error": "expired_token", "error_description": "Claim window closed"}), &["expired_token", "Claim window closed", "opentrain_register_agent"]),
            ],
        },
        Row {
            tool: "opentrain_auth_status",
            args: json!({}),
            answers: vec![
                answer("documented", 200, me.clone(), &["Mira Chen", "user <USER_ID>", "Token \"ci-runner\" (<TOKEN_ID>)", "jobs:write"]),
                answer("flat", 200, json!({"userId": "u9", "email": "a@b.co", "scopes": ["jobs:read"], "tokenId": "t9"}), &["a@b.co", "user u9", "(t9)", "jobs:read"]),
                answer("user key", 200, rename(&me, "actor", "user"), &["Mira Chen", "user <USER_ID>"]),
                answer("401 without code", 401, json!({"error": "Token revoked"}), &["HTTP 401", "Token revoked", "Settings → API keys"]),
            ],
        },
        Row {
            tool: "opentrain_capabilities",
            args: json!({}),
            answers: vec![
                answer("documented", 200, caps.clone(), &["rollout ALL", "hiring", "schema_org_job_posting", "experienceLevel"]),
                answer("nested under data", 200, wrap("data", caps.clone()), &["rollout ALL", "hiring", "schema_org_job_posting"]),
                answer("403 without code", 403, json!({"error": "Drafting is off", "details": {"featureKey": "public_api_job_drafting", "mode": "ALLOWLIST"}}), &["Drafting is off", "\"mode\":\"ALLOWLIST\"", "The public_api_job_drafting feature is not enabled"]),
            ],
        },
    ])
    .await;
}

#[tokio::test]
async fn jobs_tools_keep_what_the_agent_needs() {
    let draft = fixture("job_drafts_create");
    let updated = fixture("job_drafts_update");
    let published = fixture("jobs_publish");
    let live = fixture("jobs_update");
    let closed = fixture("jobs_close");
    let mine = fixture("jobs_mine");
    let search = fixture("jobs_search");
    let draft_url = "https://app.opentrain.ai/job-post?jobId=<JOB_ID>";
    let job_url = "https://app.opentrain.ai/jobs/<JOB_ID>";
    check(vec![
        Row {
            tool: "opentrain_create_job_draft",
            args: json!({"jobDescription": "Label 5k posts."}),
            answers: vec![
                answer("documented", 201, draft.clone(), &["Draft job <JOB_ID> created", draft_url, "jobId \"<JOB_ID>\""]),
                answer("nested under draft", 201, wrap("draft", draft.clone()), &["Draft job <JOB_ID> created", draft_url, "jobId \"<JOB_ID>\"", "pricePerLabel"]),
                answer("links one level down, id as job.id", 201, json!({"job": {"id": "j7", "status": "DRAFT"}, "links": {"draftUrl": "https://app.opentrain.ai/job-post?jobId=j7"}}), &["Draft job j7 created", "https://app.opentrain.ai/job-post?jobId=j7", "jobId \"j7\""]),
                answer("no id at all", 201, json!({"ok": true, "editUrl": "https://app.opentrain.ai/job-post?x=1"}), &["carries no job id", "https://app.opentrain.ai/job-post?x=1", "opentrain_list_jobs"]),
            ],
        },
        Row {
            tool: "opentrain_update_job_draft_fields",
            args: json!({"jobId": "job_123", "patch": {"headcount": 5}}),
            answers: vec![
                answer("documented", 200, updated.clone(), &["Draft job <JOB_ID> updated", draft_url, "opentrain_publish_job with jobId \"<JOB_ID>\""]),
                answer("nested under job", 200, wrap("job", updated.clone()), &["Draft job <JOB_ID> updated", draft_url, "opentrain_publish_job with jobId \"<JOB_ID>\""]),
                answer("no id: the argument", 200, without(&updated, &["jobId"]), &["Draft job job_123 updated", draft_url, "jobId \"job_123\""]),
            ],
        },
        Row {
            tool: "opentrain_publish_job",
            args: json!({"jobId": "job_123"}),
            answers: vec![
                answer("documented", 200, published.clone(), &["Published: job <JOB_ID> is live (status OPEN) at https://app.opentrain.ai/jobs/<JOB_ID>", "jobId \"<JOB_ID>\""]),
                answer("job object with url", 200, json!({"ok": true, "job": {"id": "<JOB_ID>", "status": "OPEN", "url": job_url}}), &["job <JOB_ID> is live (status OPEN) at https://app.opentrain.ai/jobs/<JOB_ID> — share"]),
                answer("publicUrl, no id", 200, json!({"ok": true, "publicUrl": job_url}), &["job job_123 is live at https://app.opentrain.ai/jobs/<JOB_ID> — share"]),
                answer("no link", 200, json!({"ok": true, "jobId": "<JOB_ID>"}), &["job <JOB_ID> is live", "no link to the listing", "opentrain_list_jobs"]),
                answer("429 without code", 429, json!({"error": "Daily publish limit reached", "details": {"limit": 3, "windowHours": 24}}), &["limit 3 per 24 h", "20 once a human claims it", "opentrain_claim_account", "24 h window"]),
            ],
        },
        Row {
            tool: "opentrain_update_published_job",
            args: json!({"jobId": "job_123", "patch": {"headcount": 8}}),
            answers: vec![
                answer("documented", 200, live.clone(), &["Job <JOB_ID> updated (status OPEN)", "ALLOW"]),
                answer("nested under job", 200, json!({"job": {"id": "<JOB_ID>", "status": "DRAFT"}}), &["Job <JOB_ID> updated (status DRAFT)", "opentrain_update_job_draft_fields (jobId \"<JOB_ID>\")"]),
                answer("bare ok", 200, json!({"ok": true}), &["Job job_123 updated"]),
            ],
        },
        Row {
            tool: "opentrain_close_job",
            args: json!({"jobId": "job_123"}),
            answers: vec![
                answer("documented", 200, closed.clone(), &["Closed job <JOB_ID> (status ARCHIVED)"]),
                answer("nested", 200, wrap("job", json!({"id": "<JOB_ID>", "status": "ARCHIVED", "alreadyClosed": true})), &["Job <JOB_ID> was already closed"]),
                answer("bare ok", 200, json!({"ok": true}), &["Closed job job_123"]),
            ],
        },
        Row {
            tool: "opentrain_list_jobs",
            args: json!({}),
            answers: vec![
                answer("documented", 200, mine.clone(), &["(id <JOB_ID>)", job_url, "This is the last page."]),
                answer("items + pagination", 200, json!({"items": mine["jobs"], "pagination": {"nextCursor": "c2"}}), &["(id <JOB_ID>)", job_url, "cursor \"c2\""]),
                answer("data.jobs, jobId, url, next_cursor", 200, json!({"data": {"jobs": [{"jobId": "j8", "title": "T", "url": "https://app.opentrain.ai/jobs/j8"}]}, "next_cursor": "c3"}), &["(id j8)", "https://app.opentrain.ai/jobs/j8", "cursor \"c3\""]),
            ],
        },
        Row {
            tool: "opentrain_search_jobs",
            args: json!({"q": "audio"}),
            answers: vec![
                answer("documented", 200, search.clone(), &["https://app.opentrain.ai/jobs/spanish-audio-annotation-<JOB_ID>", "This is the last page."]),
                answer("results + meta cursor", 200, json!({"results": search["jobs"], "meta": {"cursor": "p2"}}), &["https://app.opentrain.ai/jobs/spanish-audio-annotation-<JOB_ID>", "cursor \"p2\""]),
                answer("jobUrl instead of url, next link", 200, json!({"jobs": [{"title": "T", "jobUrl": "https://app.opentrain.ai/jobs/t-1"}], "links": {"next": "https://app.opentrain.ai/api/public/v1/jobs?cursor=p3"}}), &["https://app.opentrain.ai/jobs/t-1", "cursor \"p3\""]),
                answer("429", 429, json!({"error": "Too many requests", "code": "RATE_LIMITED"}), &["HTTP 429 RATE_LIMITED", "no Retry-After"]),
            ],
        },
    ])
    .await;
}

#[tokio::test]
async fn proposals_tools_keep_what_the_agent_needs() {
    let list = fixture("proposals_list");
    let one = fixture("proposals_get");
    let profile = fixture("freelancers_get");
    let invited = fixture("proposals_invite");
    let hire = fixture("proposals_hire");
    let approval_flat = lift(&hire, "approval");
    check(vec![
        Row {
            tool: "opentrain_list_proposals",
            args: json!({"jobId": "job_123"}),
            answers: vec![
                answer("documented", 200, list.clone(), &["<PROPOSAL_ID> — Maria G.", "This is the last page."]),
                answer("data + cursor", 200, json!({"data": list["proposals"], "cursor": "prop_9"}), &["<PROPOSAL_ID> — Maria G.", "cursor \"prop_9\""]),
                answer("proposalId per item", 200, json!({"proposals": [{"proposalId": "p5", "candidate": {"displayName": "Ana R."}}], "nextCursor": "p5"}), &["p5 — Ana R.", "cursor \"p5\""]),
            ],
        },
        Row {
            tool: "opentrain_get_proposal",
            args: json!({"proposalId": "prop_1"}),
            answers: vec![
                answer("documented", 200, one.clone(), &["Proposal <PROPOSAL_ID> on job", "(<JOB_ID>)", "user id <FREELANCER_ID>"]),
                answer("flat", 200, one["proposal"].clone(), &["Proposal <PROPOSAL_ID> on job", "(<JOB_ID>)", "user id <FREELANCER_ID>"]),
                answer("nested under data, hired", 200, wrap("data", json!({"proposal": {"id": "p2", "jobId": "j2", "candidate": {"id": "f2"}, "contractId": "c2"}})), &["Proposal p2 on job j2", "user id f2", "contract c2"]),
                answer("403 without code", 403, json!({"error": "Not your job"}), &["HTTP 403", "Not your job"]),
            ],
        },
        Row {
            tool: "opentrain_get_freelancer_profile",
            args: json!({"idOrSlug": "maria-g"}),
            answers: vec![
                answer("documented", 200, profile.clone(), &["user id <FREELANCER_ID>", "slug maria-g"]),
                answer("flat", 200, profile["freelancer"].clone(), &["user id <FREELANCER_ID>", "slug maria-g"]),
                answer("profile key, userId", 200, json!({"profile": {"userId": "f3", "displayName": "Li W."}}), &["Li W. (user id f3)"]),
            ],
        },
        Row {
            tool: "opentrain_invite_freelancer",
            args: json!({"jobId": "job_123", "freelancerId": "f1"}),
            answers: vec![
                answer("documented", 201, invited.clone(), &["New proposal: <PROPOSAL_ID>", "proposalId \"<PROPOSAL_ID>\""]),
                answer("proposal object", 201, json!({"ok": true, "proposal": {"id": "p6"}}), &["New proposal: p6", "proposalId \"p6\""]),
                answer("deeper", 201, json!({"ok": true, "invite": {"proposalId": "p7", "alreadyInvited": true}}), &["Already invited", "Existing proposal: p7", "proposalId \"p7\""]),
                answer("no proposal id", 201, json!({"ok": true}), &["carries no proposal id", "opentrain_list_proposals (jobId \"job_123\")"]),
                answer("claim error without code", 403, claim_error_without_code(), &["A human must claim this agent account first.", "claimUrl: https://app.opentrain.ai/claim", "opentrain_claim_account"]),
            ],
        },
        Row {
            tool: "opentrain_hire_proposal",
            args: json!({"proposalId": "prop_1", "milestone": {"name": "Batch 1", "amount": 300}}),
            answers: vec![
                answer("documented", 202, hire.clone(), &[CONFIRM_AT, HOW_TO_FOLLOW, "NOT hired yet", "$339.95"]),
                answer("flat approval", 202, approval_flat.clone(), &[CONFIRM_AT, HOW_TO_FOLLOW, "NOT hired yet"]),
                answer("link at the top, approval without it", 202, json!({"approvalUrl": APPROVAL_URL, "approval": {"id": "<APPROVAL_ID>", "type": "proposal_hire", "status": "pending"}}), &[CONFIRM_AT, HOW_TO_FOLLOW]),
                answer("only an id", 202, json!({"approvalId": "<APPROVAL_ID>", "message": "Recorded."}), &["carries no approvalUrl", HOW_TO_FOLLOW, "(its answer carries the approvalUrl)", "Recorded."]),
                answer("billing error without code", 409, json!({"error": "Add a payment method", "details": {"reason": "payment_method_required"}, "billingUrl": "https://app.opentrain.ai/settings/billing"}), &["Give your human https://app.opentrain.ai/settings/billing", "billingUrl: https://app.opentrain.ai/settings/billing"]),
            ],
        },
    ])
    .await;
}

#[tokio::test]
async fn messages_tools_keep_what_the_agent_needs() {
    let list = fixture("messages_list");
    let thread = fixture("messages_conversation_inferred");
    let sent = fixture("messages_send");
    let opened = fixture("proposals_conversation");
    check(vec![
        Row {
            tool: "opentrain_read_messages",
            args: json!({}),
            answers: vec![
                answer("documented", 200, list.clone(), &["<CONVERSATION_ID> (proposal", "This is the last page."]),
                answer("data + cursor", 200, json!({"data": list["conversations"], "cursor": "cv2"}), &["<CONVERSATION_ID> (proposal", "cursor \"cv2\""]),
                answer("conversationId per item", 200, json!({"conversations": [{"conversationId": "cv3", "unreadCount": 2}], "pagination": {"next": "cv4"}}), &["cv3: 2 unread", "cursor \"cv4\""]),
            ],
        },
        Row {
            tool: "opentrain_read_messages",
            args: json!({"conversationId": "conv_1"}),
            answers: vec![
                answer("inferred shape", 200, thread.clone(), &["Conversation conv_1.", "1 message:", "This is the last page."]),
                answer("items + next_cursor", 200, json!({"items": thread["messages"], "next_cursor": "m0"}), &["1 message:", "cursor \"m0\""]),
                answer("under conversation", 200, json!({"conversation": {"id": "conv_1", "messages": thread["messages"]}, "nextCursor": "m1"}), &["1 message:", "cursor \"m1\""]),
            ],
        },
        Row {
            tool: "opentrain_send_message",
            args: json!({"conversationId": "conv_1", "content": "hi"}),
            answers: vec![
                answer("documented", 201, sent.clone(), &["message <MESSAGE_ID> in conversation <CONVERSATION_ID>"]),
                answer("flat", 201, sent["message"].clone(), &["message <MESSAGE_ID> in conversation <CONVERSATION_ID>"]),
                answer("messageId only", 201, json!({"ok": true, "messageId": "m9"}), &["message m9 in conversation conv_1"]),
                answer("claim error without code", 403, claim_error_without_code(), &["claimUrl: https://app.opentrain.ai/claim"]),
            ],
        },
        Row {
            tool: "opentrain_start_proposal_conversation",
            args: json!({"proposalId": "prop_1"}),
            answers: vec![
                answer("documented", 200, opened.clone(), &["conversationId \"<CONVERSATION_ID>\"", "opentrain_send_message with conversationId \"<CONVERSATION_ID>\""]),
                answer("conversation object", 200, json!({"ok": true, "conversation": {"id": "cv5"}, "created": true}), &["conversationId \"cv5\""]),
                answer("deeper", 200, wrap("data", opened.clone()), &["Opened a new pre-hire thread", "conversationId \"<CONVERSATION_ID>\""]),
                answer("no id", 200, json!({"ok": true}), &["carries no conversationId", "opentrain_read_messages"]),
            ],
        },
    ])
    .await;
}

#[tokio::test]
async fn contracts_tools_keep_what_the_agent_needs() {
    let list = fixture("contracts_list");
    let one = fixture("contracts_get");
    let milestone = fixture("contracts_create_milestone_201");
    let fund = fixture("milestones_fund_202");
    let approve = fixture("milestones_approve_202");
    let approval = fixture("approvals_get");
    let ended = fixture("contracts_end_200");
    let end_202 = fixture("contracts_end_202");
    let cosign = |needs: &[&'static str]| {
        let mut all = vec![CONFIRM_AT, HOW_TO_FOLLOW, "no money has moved"];
        all.extend_from_slice(needs);
        all
    };
    check(vec![
        Row {
            tool: "opentrain_list_contracts",
            args: json!({}),
            answers: vec![
                answer("documented", 200, list.clone(), &["<CONTRACT_ID> — active", "(job <JOB_ID>)"]),
                answer("items", 200, json!({"items": list["contracts"]}), &["<CONTRACT_ID> — active", "(job <JOB_ID>)"]),
                answer("contractId + conversation", 200, json!({"data": [{"contractId": "c4", "jobDmConversationId": "cv4"}]}), &["c4", "conversationId cv4"]),
            ],
        },
        Row {
            tool: "opentrain_get_contract",
            args: json!({"contractId": "c1"}),
            answers: vec![
                answer("documented", 200, one.clone(), &["Contract <CONTRACT_ID>", "conversationId <CONVERSATION_ID>", "<MILESTONE_ID>"]),
                answer("flat", 200, one["contract"].clone(), &["Contract <CONTRACT_ID>", "conversationId <CONVERSATION_ID>", "<MILESTONE_ID>"]),
                answer("nested under data, sparse", 200, wrap("data", json!({"contract": {"conversationId": "cv6", "milestones": [{"milestoneId": "m6"}]}})), &["Contract c1", "conversationId cv6", "m6"]),
            ],
        },
        Row {
            tool: "opentrain_create_milestone",
            args: json!({"contractId": "c1", "description": "Batch 2", "amountUsd": 300}),
            answers: vec![
                answer("documented", 201, milestone.clone(), &["Created milestone <MILESTONE_ID>", "milestoneId \"<MILESTONE_ID>\""]),
                answer("flat", 201, milestone["milestone"].clone(), &["Created milestone <MILESTONE_ID>", "milestoneId \"<MILESTONE_ID>\""]),
                answer("milestoneId only", 201, json!({"ok": true, "data": {"milestoneId": "m7"}}), &["Created milestone m7", "milestoneId \"m7\""]),
                answer("no id", 201, json!({"ok": true}), &["carries no milestone id", "opentrain_get_contract (contractId \"c1\")"]),
            ],
        },
        Row {
            tool: "opentrain_request_milestone_funding",
            args: json!({"milestoneId": "m1"}),
            answers: vec![
                answer("documented", 202, fund.clone(), &cosign(&["(milestone_fund, pending)"])),
                answer("flat approval", 202, lift(&fund, "approval"), &cosign(&["(milestone_fund, pending)"])),
                answer("link deeper", 202, json!({"approval": {"id": "<APPROVAL_ID>", "status": "pending"}, "links": {"approvalUrl": APPROVAL_URL}}), &cosign(&[])),
                answer("billing error without code", 409, json!({"error": "No payment method", "details": {"reason": "payment_method_required", "billingUrl": "https://app.opentrain.ai/billing"}}), &["Give your human https://app.opentrain.ai/billing"]),
            ],
        },
        Row {
            tool: "opentrain_request_milestone_approval",
            args: json!({"milestoneId": "m1"}),
            answers: vec![
                answer("documented", 202, approve.clone(), &cosign(&["(milestone_approve, pending)"])),
                answer("flat approval", 202, lift(&approve, "approval"), &cosign(&["(milestone_approve, pending)"])),
                answer("under data", 202, wrap("data", approve.clone()), &cosign(&[])),
            ],
        },
        Row {
            tool: "opentrain_get_approval",
            args: json!({"approvalId": "a1"}),
            answers: vec![
                answer("documented", 200, approval.clone(), &["Approval <APPROVAL_ID> (milestone_fund", "was confirmed", "invoiceId <INVOICE_ID>"]),
                answer("flat, pending", 200, json!({"id": "<APPROVAL_ID>", "type": "milestone_fund", "status": "pending", "approvalUrl": APPROVAL_URL, "expiresAt": "2026-06-15T10:00:00.000Z"}), &["is still pending", "They must confirm at https://app.opentrain.ai/approvals/<APPROVAL_ID> before"]),
                answer("pending, link elsewhere", 200, json!({"approval": {"status": "pending", "type": "contract_end"}, "links": {"approvalUrl": APPROVAL_URL}}), &["Approval a1", "is still pending", "They must confirm at https://app.opentrain.ai/approvals/<APPROVAL_ID>"]),
            ],
        },
        Row {
            tool: "opentrain_end_contract",
            args: json!({"contractId": "c1"}),
            answers: vec![
                answer("documented 200", 200, ended.clone(), &["Contract <CONTRACT_ID> is now ended"]),
                answer("documented 202", 202, end_202.clone(), &cosign(&["needs a human: it is still active"])),
                Answer {
                    never: vec!["cannot be undone", "is now pending"],
                    ..answer("flat 202", 202, lift(&end_202, "approval"), &cosign(&["needs a human: it is still active"]))
                },
                Answer {
                    never: vec!["cannot be undone"],
                    ..answer("202 without an approval", 202, json!({"message": "A human must confirm."}), &["needs a human", "carries no approvalUrl", "A human must confirm."])
                },
            ],
        },
    ])
    .await;
}

#[tokio::test]
async fn credits_and_payments_tools_keep_what_the_agent_needs() {
    let balance = fixture("credits_balance");
    let ledger = fixture("credits_ledger");
    let created = fixture("credits_top_up_created");
    let top_up = fixture("credits_top_up");
    let pending = fixture("payments_pending");
    let checkout = "https://checkout.stripe.com/c/pay/cs_live_...";
    let pay_at = "your human must open https://checkout.stripe.com/c/pay/cs_live_... and pay";
    let mut pending_top_up = top_up.clone();
    pending_top_up["topUp"]["status"] = json!("PENDING");
    pending_top_up["checkoutUrl"] = json!(checkout);
    check(vec![
        Row {
            tool: "opentrain_get_credits",
            args: json!({}),
            answers: vec![
                answer("documented", 200, balance.clone(), &["$50.00 available", "$25.00 reserved", "contract <CONTRACT_ID>"]),
                answer("flat", 200, balance["credits"].clone(), &["$50.00 available", "contract <CONTRACT_ID>"]),
                answer("entries under another key", 200, json!({"balance": {"availableCents": 100, "reservedCents": 0, "entries": balance["credits"]["recentEntries"]}}), &["$1.00 available", "contract <CONTRACT_ID>"]),
            ],
        },
        Row {
            tool: "opentrain_list_credit_ledger",
            args: json!({}),
            answers: vec![
                answer("documented", 200, ledger.clone(), &["top-up <TOP_UP_ID>", "cursor \"<CURSOR>\""]),
                answer("items + meta", 200, json!({"items": ledger["entries"], "meta": {"nextCursor": "l2"}}), &["top-up <TOP_UP_ID>", "cursor \"l2\""]),
                answer("data + next", 200, json!({"data": ledger["entries"], "next": null}), &["top-up <TOP_UP_ID>", "This is the last page."]),
            ],
        },
        Row {
            tool: "opentrain_create_credit_top_up",
            args: json!({"amountUsd": 100}),
            answers: vec![
                answer("documented", 201, created.clone(), &[pay_at, "topUpId \"<TOP_UP_ID>\""]),
                answer("link under topUp", 201, json!({"topUp": {"id": "<TOP_UP_ID>", "status": "PENDING", "amountCents": 10000, "checkoutUrl": checkout}}), &[pay_at, "topUpId \"<TOP_UP_ID>\""]),
                answer("flat", 201, json!({"id": "tu2", "checkout_url": checkout, "status": "PENDING"}), &[pay_at, "topUpId \"tu2\""]),
                answer("no link", 201, json!({"topUpId": "tu3", "message": "Created."}), &["carries no checkout link", "topUpId \"tu3\"", "Created."]),
                answer("claim error without code", 403, claim_error_without_code(), &["claimUrl: https://app.opentrain.ai/claim"]),
            ],
        },
        Row {
            tool: "opentrain_get_credit_top_up",
            args: json!({"topUpId": "tu1"}),
            answers: vec![
                answer("documented", 200, top_up.clone(), &["Top-up <TOP_UP_ID> of $100.00 is COMPLETED"]),
                answer("pending with its link", 200, pending_top_up.clone(), &["PENDING: awaiting your human's payment at https://checkout.stripe.com/c/pay/cs_live_..."]),
                answer("flat, pending, link inside", 200, json!({"id": "tu1", "status": "PENDING", "checkoutUrl": checkout}), &["Top-up tu1", "payment at https://checkout.stripe.com/c/pay/cs_live_..."]),
            ],
        },
        Row {
            tool: "opentrain_list_pending_payments",
            args: json!({}),
            answers: vec![
                answer("documented", 200, pending.clone(), &["Invoice #1042 (<INVOICE_ID>)", "PENDING_FUNDING"]),
                answer("items", 200, rename(&pending, "payments", "items"), &["Invoice #1042 (<INVOICE_ID>)"]),
                answer("invoiceId per item", 200, json!({"data": [{"invoiceId": "inv9", "amountUsd": 5}]}), &["Invoice (inv9)", "$5"]),
            ],
        },
    ])
    .await;
}

#[tokio::test]
async fn updates_webhooks_tokens_team_keep_what_the_agent_needs() {
    let events = fixture("updates_poll");
    let created = fixture("webhooks_created");
    let hooks = fixture("webhooks_list");
    let hook = fixture("webhooks_get");
    let deleted = fixture("webhooks_deleted");
    let tokens = fixture("tokens_list");
    let revoked = fixture("tokens_revoked");
    let team = fixture("team_get");
    let invited = fixture("team_invite");
    check(vec![
        Row {
            tool: "opentrain_poll_updates",
            args: json!({"cursor": "1041"}),
            answers: vec![
                answer("documented", 200, events.clone(), &["#1042 proposal.received", "approvalId <APPROVAL_ID>", "cursor \"1043\""]),
                answer("items + cursor key", 200, json!({"items": events["events"], "cursor": "1043", "hasMore": true}), &["#1042 proposal.received", "poll again now with cursor \"1043\""]),
                answer("data, no cursor: keep the sent one", 200, json!({"data": events["events"]}), &["#1043 approval.confirmed", "cursor \"1041\""]),
            ],
        },
        Row {
            tool: "opentrain_create_webhook",
            args: json!({"url": "https://example.com/hooks/opentrain", "eventTypes": ["payment.pending"]}),
            answers: vec![
                answer("documented", 201, created.clone(), &["Webhook <WEBHOOK_ID> created", "whsec_<SECRET>"]),
                answer("flat", 201, lift(&created, "webhook"), &["Webhook <WEBHOOK_ID> created", "whsec_<SECRET>"]),
                answer("nested, signingSecret", 201, json!({"data": {"subscription": {"id": "wh3"}, "signingSecret": "whsec_3"}}), &["Webhook wh3 created", "whsec_3", "https://example.com/hooks/opentrain"]),
            ],
        },
        Row {
            tool: "opentrain_list_webhooks",
            args: json!({}),
            answers: vec![
                answer("documented", 200, hooks.clone(), &["<WEBHOOK_ID> ACTIVE", "<WEBHOOK_ID_2> DISABLED"]),
                answer("items", 200, rename(&hooks, "webhooks", "items"), &["<WEBHOOK_ID> ACTIVE", "<WEBHOOK_ID_2> DISABLED", "cannot be re-enabled"]),
                answer("subscriptions, webhookId", 200, json!({"subscriptions": [{"webhookId": "wh4", "status": "ACTIVE", "url": "https://x.example/h"}]}), &["wh4 ACTIVE https://x.example/h"]),
            ],
        },
        Row {
            tool: "opentrain_get_webhook",
            args: json!({"webhookId": "wh1"}),
            answers: vec![
                answer("documented", 200, hook.clone(), &["Webhook <WEBHOOK_ID>: ACTIVE"]),
                answer("flat", 200, hook["webhook"].clone(), &["Webhook <WEBHOOK_ID>: ACTIVE"]),
                answer("no id", 200, json!({"subscription": {"status": "DISABLED", "disabledReason": "Failures"}}), &["Webhook wh1: DISABLED", "Failures"]),
                answer("404 without code", 404, json!({"error": "No such webhook", "details": {"resource": "webhooks", "webhookId": "wh1"}}), &["No such webhook", "\"webhookId\":\"wh1\""]),
            ],
        },
        Row {
            tool: "opentrain_delete_webhook",
            args: json!({"webhookId": "wh1"}),
            answers: vec![
                answer("documented", 200, deleted.clone(), &["Deleted webhook <WEBHOOK_ID>"]),
                answer("flat", 200, lift(&deleted, "webhook"), &["Deleted webhook <WEBHOOK_ID>"]),
                answer("bare", 200, json!({"deleted": true}), &["Deleted webhook wh1"]),
            ],
        },
        Row {
            tool: "opentrain_list_tokens",
            args: json!({}),
            answers: vec![
                answer("documented", 200, tokens.clone(), &["<TOKEN_ID>", "<TOKEN_ID_2>"]),
                answer("data", 200, rename(&tokens, "tokens", "data"), &["<TOKEN_ID>", "<TOKEN_ID_2>"]),
                answer("tokenId per item", 200, json!({"tokens": [{"tokenId": "t7", "name": "CI"}]}), &["\"CI\" t7"]),
            ],
        },
        Row {
            tool: "opentrain_revoke_token",
            args: json!({"tokenId": "t1"}),
            answers: vec![
                answer("documented", 200, revoked.clone(), &["Revoked token \"Old CI token\" (<TOKEN_ID>"]),
                answer("flat", 200, revoked["token"].clone(), &["(<TOKEN_ID>"]),
                answer("bare", 200, json!({"ok": true}), &["(t1,"]),
            ],
        },
        Row {
            tool: "opentrain_get_team",
            args: json!({}),
            answers: vec![
                answer("documented", 200, team.clone(), &["(<ORGANIZATION_ID>)", "(invite <INVITE_ID>)"]),
                answer("flat", 200, team["team"].clone(), &["(<ORGANIZATION_ID>)", "(invite <INVITE_ID>)"]),
                answer("under data, inviteId", 200, json!({"data": {"team": {"organizationId": "o2", "members": [], "invites": [{"inviteId": "i2", "email": "x@y.co"}]}}}), &["(o2)", "(invite i2)"]),
            ],
        },
        Row {
            tool: "opentrain_invite_team_member",
            args: json!({"email": "newhire@example.com"}),
            answers: vec![
                answer("documented", 200, invited.clone(), &["invite_created", "newhire@example.com"]),
                answer("team flat", 200, lift(&invited, "team"), &["invite_created", "newhire@example.com"]),
                answer("409 without code", 409, json!({"error": "Email failed", "details": {"reason": "invite_email_send_failed"}}), &["Email failed", "Reason: invite_email_send_failed.", "retry later"]),
            ],
        },
    ])
    .await;
}

/// Every one of the 41 tools is in a table above, with at least three answers.
#[test]
fn every_tool_is_covered() {
    let source = include_str!("variants.rs");
    for (_, tools) in opentrain_mcp::OpenTrain::toolsets() {
        for tool in tools {
            let needle = format!("tool: \"{}\"", tool.name);
            assert!(source.contains(&needle), "{} has no row", tool.name);
        }
    }
}

/// An empty (or blank) cursor means "no cursor" for every list tool alike: nothing is refused,
/// and no empty `cursor=` reaches the API (issue 10, section 2).
#[tokio::test]
async fn an_empty_cursor_is_no_cursor_for_every_list_tool() {
    // (tool, arguments besides the cursor, path, query, bearer)
    type ListCase = (
        &'static str,
        Value,
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
    );
    let cases: [ListCase; 6] = [
        (
            "opentrain_list_jobs",
            json!({"limit": 5}),
            "/api/public/v1/jobs/mine",
            Some("limit=5"),
            Some(PAT),
        ),
        (
            "opentrain_search_jobs",
            json!({"q": "audio"}),
            "/api/public/v1/jobs",
            Some("q=audio"),
            None,
        ),
        (
            "opentrain_list_proposals",
            json!({"jobId": "j1"}),
            "/api/public/v1/jobs/j1/proposals",
            None,
            Some(PAT),
        ),
        (
            "opentrain_read_messages",
            json!({}),
            "/api/public/v1/messages",
            None,
            Some(PAT),
        ),
        (
            "opentrain_list_credit_ledger",
            json!({}),
            "/api/public/v1/credits/ledger",
            None,
            Some(PAT),
        ),
        (
            "opentrain_poll_updates",
            json!({}),
            "/api/public/v1/updates",
            None,
            Some(PAT),
        ),
    ];
    for (tool, args, path, query, bearer) in cases {
        for cursor in ["", "   "] {
            let mut args = args.clone();
            args["cursor"] = json!(cursor);
            let h = Harness::new().await;
            Mock::given(any())
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({"nextCursor": null})))
                .mount(&h.api)
                .await;
            let r = h.call(tool, args.clone()).await;
            assert!(!is_error(&r), "{tool} {args}: {}", text(&r));
            assert_sent(
                &h.only_request().await,
                &Sent {
                    method: "GET",
                    path,
                    query,
                    bearer,
                    body: SentBody::None,
                },
            );
        }
    }
}
