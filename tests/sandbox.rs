//! The sandbox's documented rules, over HTTP against a fresh world: claim gating and the token
//! upgrade, draft validation, the publish limit, the payment-method 409, fees and escrow in the
//! ledger, approval expiry, /updates, webhook signatures, determinism and concurrent writers.

#[path = "common/sandbox.rs"]
mod sb;

use sb::{JsonBody, Sb, json_of};
use serde_json::{Value, json};

const PRE_CLAIM: [&str; 6] = [
    "jobs:read",
    "jobs:write",
    "proposals:read",
    "messages:read",
    "payments:read",
    "team:read",
];
const POST_CLAIM: [&str; 9] = [
    "jobs:read",
    "jobs:write",
    "proposals:read",
    "proposals:write",
    "messages:read",
    "messages:write",
    "payments:read",
    "team:read",
    "team:write",
];

fn assert_claim_required(got: &sb::Got, base: &str) {
    assert_eq!(got.status, 403, "{}", got.body);
    assert_eq!(got.body["code"], "FORBIDDEN");
    assert_eq!(got.body["details"]["reason"], "account_claim_required");
    assert_eq!(got.body["details"]["claimUrl"], format!("{base}/claim"));
    assert!(got.body["details"]["action"].is_string());
    assert!(got.body["requestId"].is_string());
}

#[tokio::test]
async fn an_unclaimed_account_is_refused_identity_and_money_actions_until_claimed() {
    let s = Sb::new().await;
    let reg = s
        .agent_json("/identity", json!({"agent_name": "Claude Code"}))
        .await;
    assert_eq!(reg.body["scopes"], json!(PRE_CLAIM));
    assert_eq!(reg.body["token_type"], "bearer");
    assert!(
        reg.body["access_token"]
            .as_str()
            .unwrap()
            .starts_with("ot_pat_")
    );
    assert!(
        reg.body["claim_token"]
            .as_str()
            .unwrap()
            .starts_with("ot_clm_")
    );
    assert_eq!(
        reg.body["claim_endpoint"],
        format!("{}/api/agent/identity/claim", s.base())
    );
    let token = reg.body["access_token"].as_str().unwrap().to_owned();
    let claim = reg.body["claim_token"].as_str().unwrap().to_owned();

    // Pre-claim work is allowed: draft and publish.
    let job = s.published_job(&token).await;
    let proposal = s.proposals(&token, &job, 1).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let me = s.get(&token, "/auth/me").await;
    assert_eq!(me.body["account"]["claimed"], false);

    // Identity-bearing actions and money tools are refused, with the claim page.
    let base = s.base().to_owned();
    for got in [
        s.post(
            &token,
            &format!("/proposals/{proposal}/hire"),
            json!({"milestone": {"name": "x", "amount": 10}}),
        )
        .await,
        s.post_empty(&token, &format!("/proposals/{proposal}/conversation"))
            .await,
        s.post(
            &token,
            "/messages",
            json!({"conversationId": "cnv_x", "content": "hi"}),
        )
        .await,
        s.post(
            &token,
            &format!("/jobs/{job}/invites"),
            json!({"freelancerId": "usr_x"}),
        )
        .await,
        s.post(&token, "/team/invites", json!({"email": "a@example.com"}))
            .await,
        s.post(&token, "/credits/top-ups", json!({"amountUsd": 50}))
            .await,
        s.post(
            &token,
            "/contracts/ctr_x/milestones",
            json!({"description": "d", "amountUsd": 5}),
        )
        .await,
        s.post_empty(&token, "/contracts/ctr_x/end").await,
        s.post_empty(&token, "/milestones/mst_x/fund").await,
        s.post_empty(&token, "/milestones/mst_x/approve").await,
    ] {
        assert_claim_required(&got, &base);
    }

    // The claim: pending until the human accepts on the page, then a new token once.
    let start = s
        .agent_json(
            "/identity/claim",
            json!({"claim_token": claim, "email": "owner@example.com"}),
        )
        .await;
    assert_eq!(start.status, 200);
    assert_eq!(start.body["expires_in"], 1800);
    assert_eq!(start.body["interval"], 5);
    let link = start.body["verification_uri"].as_str().unwrap().to_owned();
    assert!(
        link.starts_with(&format!("{}/claim?token=ot_cat_", s.base())),
        "{link}"
    );
    let code = start.body["user_code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 6);
    let poll = |claim: String| {
        let s = &s;
        async move {
            s.agent_form(
                "/oauth/token",
                &[
                    ("grant_type", "urn:opentrain:agent-auth:grant-type:claim"),
                    ("claim_token", &claim),
                ],
            )
            .await
        }
    };
    let pending = poll(claim.clone()).await;
    assert_eq!(
        (pending.status, pending.body["error"].as_str()),
        (400, Some("authorization_pending"))
    );
    let fast = poll(claim.clone()).await;
    assert_eq!(fast.body["error"], "slow_down");
    let page = s.page(&link).await;
    assert!(page.body["html"].as_str().unwrap().contains(&code));
    let wrong = s
        .submit(&link, &[("action", "accept"), ("user_code", "000000x")])
        .await;
    assert_eq!(wrong.status, 200);
    assert!(
        wrong.body["html"]
            .as_str()
            .unwrap()
            .contains("does not match")
    );
    // The human leaves the sandbox's extra scopes unchecked: exactly the documented set.
    let accepted = s
        .submit(
            &link,
            &[
                ("action", "accept"),
                ("user_code", &code),
                ("extras_shown", "1"),
            ],
        )
        .await;
    assert_eq!(accepted.status, 303);
    let done = poll(claim.clone()).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["scopes"], json!(POST_CLAIM));
    let claimed = done.body["access_token"].as_str().unwrap().to_owned();
    assert_ne!(claimed, token);
    assert_eq!(poll(claim.clone()).await.body["error"], "invalid_grant");

    // The pre-claim token stopped working; the new one is claimed.
    let old = s.get(&token, "/auth/me").await;
    assert_eq!(
        (old.status, old.body["code"].as_str()),
        (401, Some("UNAUTHORIZED"))
    );
    let me = s.get(&claimed, "/auth/me").await;
    assert_eq!(me.body["account"]["claimed"], true);
    assert_eq!(me.body["actor"]["email"], "owner@example.com");
    assert_eq!(me.body["token"]["scopes"], json!(POST_CLAIM));
    // Hiring is now a scope question no more: it goes on to the payment check.
    let hire = s
        .post(
            &claimed,
            &format!("/proposals/{proposal}/hire"),
            json!({"milestone": {"name": "x", "amount": 10}}),
        )
        .await;
    assert_eq!(hire.body["details"]["reason"], "payment_method_required");
    // Without payments:write (never granted by a documented claim) money tools name the scope.
    let top_up = s
        .post(&claimed, "/credits/top-ups", json!({"amountUsd": 50}))
        .await;
    assert_eq!(top_up.status, 403);
    assert_eq!(
        top_up.body["details"]["requiredScopes"],
        json!(["payments:write"])
    );
    // The email is now taken.
    let (_, other) = s.register().await;
    let taken = s
        .agent_json(
            "/identity/claim",
            json!({"claim_token": other, "email": "OWNER@example.com"}),
        )
        .await;
    assert_eq!(taken.body["error"], "invalid_request");
    assert!(
        taken.body["error_description"]
            .as_str()
            .unwrap()
            .contains("email_already_registered")
    );
}

#[tokio::test]
async fn agent_auth_errors_are_oauth_shaped() {
    let s = Sb::new().await;
    let bad = s
        .agent_json("/identity", json!({"identity_type": "human"}))
        .await;
    assert_eq!(
        (bad.status, bad.body["error"].as_str()),
        (400, Some("unsupported_identity_type"))
    );
    let grant = s
        .agent_form(
            "/oauth/token",
            &[("grant_type", "password"), ("claim_token", "x")],
        )
        .await;
    assert_eq!(grant.body["error"], "unsupported_grant_type");
    let missing = s
        .agent_form(
            "/oauth/token",
            &[("grant_type", "urn:opentrain:agent-auth:grant-type:claim")],
        )
        .await;
    assert_eq!(missing.body["error"], "invalid_request");
    let unknown = s
        .agent_form(
            "/oauth/token",
            &[
                ("grant_type", "urn:opentrain:agent-auth:grant-type:claim"),
                ("claim_token", "ot_clm_nope"),
            ],
        )
        .await;
    assert_eq!(unknown.body["error"], "invalid_grant");
    // The claim window: 24 h.
    let (token, claim) = s.register().await;
    s.advance_hours(25).await;
    let late = s
        .agent_form(
            "/oauth/token",
            &[
                ("grant_type", "urn:opentrain:agent-auth:grant-type:claim"),
                ("claim_token", &claim),
            ],
        )
        .await;
    assert_eq!(late.body["error"], "expired_token");
    // RFC 7009 revocation: always 200 {}, and the token stops working.
    let revoked = s.agent_form("/oauth/revoke", &[("token", &token)]).await;
    assert_eq!((revoked.status, revoked.body.clone()), (200, json!({})));
    assert_eq!(
        s.agent_form("/oauth/revoke", &[("token", "ot_pat_unknown")])
            .await
            .status,
        200
    );
    assert_eq!(s.get(&token, "/auth/me").await.status, 401);
}

#[tokio::test]
async fn drafts_ask_for_what_is_missing_until_publish_ready() {
    let s = Sb::new().await;
    let (token, _) = s.register().await;
    let got = s
        .post(
            &token,
            "/job-drafts",
            json!({"rawJobDescription": "We need 5 fluent Spanish speakers to label sentiment in ~20,000 social media posts. Pay per label. Annotators should have prior text-classification experience.", "idempotencyKey": "k1"}),
        )
        .await;
    assert_eq!(got.status, 201);
    let b = &got.body;
    assert_eq!(b["status"], "DRAFT");
    assert_eq!(b["validation"]["publishReady"], false);
    assert_eq!(b["validation"]["missingFieldCount"], 2);
    assert_eq!(
        b["validation"]["missingFields"],
        json!(["experienceLevel", "pricePerLabel"])
    );
    for field in b["missingFields"].as_array().unwrap() {
        assert!(
            field["prompt"].as_str().unwrap().starts_with("ask: "),
            "{field}"
        );
        assert!(field["updateKeys"].is_array());
    }
    assert_eq!(
        b["missingFields"][0]["enumValues"],
        json!([
            "EXPERT",
            "ENTRY_LEVEL",
            "INTERMEDIATE",
            "ANY_EXPERIENCE_LEVEL"
        ])
    );
    assert_eq!(
        b["normalizedFields"]["jobTitle"],
        "Spanish Sentiment Labeling — Social Media Posts"
    );
    assert!(b["draftUrl"].as_str().unwrap().starts_with(s.base()));
    let id = b["jobId"].as_str().unwrap().to_owned();

    // The same idempotency key gives the same draft.
    let again = s
        .post(
            &token,
            "/job-drafts",
            json!({"rawJobDescription": "other", "idempotencyKey": "k1"}),
        )
        .await;
    assert_eq!(again.body["jobId"], id.as_str());

    // Not ready: publish is refused with the same validation.
    let early = s.post_empty(&token, &format!("/jobs/{id}/publish")).await;
    assert_eq!(early.status, 400);
    assert_eq!(early.body["details"]["validation"]["publishReady"], false);

    // Unknown keys and bad enum values are refused with zod-style issues.
    let unknown = s
        .patch(
            &token,
            &format!("/job-drafts/{id}"),
            json!({"colour": "red"}),
        )
        .await;
    assert_eq!(unknown.status, 400);
    assert_eq!(
        unknown.body["details"]["issues"][0]["code"],
        "unrecognized_keys"
    );
    let bad = s
        .patch(
            &token,
            &format!("/job-drafts/{id}"),
            json!({"experienceLevel": "GURU"}),
        )
        .await;
    assert_eq!(bad.status, 400);

    let half = s
        .patch(
            &token,
            &format!("/job-drafts/{id}"),
            json!({"experienceLevel": "INTERMEDIATE"}),
        )
        .await;
    assert_eq!(
        half.body["validation"]["missingFields"],
        json!(["pricePerLabel"])
    );
    let ready = s
        .patch(
            &token,
            &format!("/job-drafts/{id}"),
            json!({"pricePerLabel": 0.06}),
        )
        .await;
    assert_eq!(ready.body["validation"]["publishReady"], true);
    assert_eq!(ready.body["validation"]["missingFieldCount"], 0);
    let published = s.post_empty(&token, &format!("/jobs/{id}/publish")).await;
    assert_eq!(published.body["status"], "OPEN");
    assert_eq!(published.body["alreadyPublished"], false);
    assert_eq!(published.body["jobUrl"], format!("{}/jobs/{id}", s.base()));
    let again = s.post_empty(&token, &format!("/jobs/{id}/publish")).await;
    assert_eq!(again.body["alreadyPublished"], true);
    // Drafts are edited through /job-drafts only; live jobs through /jobs.
    let live = s
        .patch(
            &token,
            &format!("/job-drafts/{id}"),
            json!({"headcount": 3}),
        )
        .await;
    assert_eq!(live.status, 409);
    let edit = s
        .patch(&token, &format!("/jobs/{id}"), json!({"headcount": 8}))
        .await;
    assert_eq!(edit.body["moderation"]["decision"], "ALLOW");
    // The public marketplace shows it; closing removes it.
    let public = s.get("", &format!("/jobs/{id}")).await;
    assert_eq!(public.body["status"], "OPEN");
    let closed = s.post_empty(&token, &format!("/jobs/{id}/close")).await;
    assert_eq!(closed.body["status"], "ARCHIVED");
    let gone = s.get("", &format!("/jobs/{id}")).await;
    assert_eq!(
        (gone.status, gone.body.clone()),
        (404, json!({"id": id, "status": "closed"}))
    );
}

#[tokio::test]
async fn publishing_is_limited_per_day_3_unclaimed_20_claimed() {
    let s = Sb::new().await;
    let (token, _) = s.register().await;
    for _ in 0..3 {
        s.published_job(&token).await;
    }
    let id = s.ready_draft(&token).await;
    let limited = s.post_empty(&token, &format!("/jobs/{id}/publish")).await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert_eq!(limited.body["code"], "RATE_LIMITED");
    assert_eq!(
        limited.body["details"],
        json!({"limit": 3, "windowHours": 24})
    );
    // A day later the window has moved on.
    s.advance_hours(24).await;
    assert_eq!(
        s.post_empty(&token, &format!("/jobs/{id}/publish"))
            .await
            .status,
        200
    );

    // Claimed: 20 a day.
    let token = s.claimed("limit@example.com").await;
    for _ in 0..20 {
        s.published_job(&token).await;
    }
    let id = s.ready_draft(&token).await;
    let limited = s.post_empty(&token, &format!("/jobs/{id}/publish")).await;
    assert_eq!(limited.status, 429);
    assert_eq!(
        limited.body["details"],
        json!({"limit": 20, "windowHours": 24})
    );
}

async fn hired(s: &Sb, token: &str, amount: u32, source: &str) -> (String, String, Value) {
    let job = s.published_job(token).await;
    let proposal = s.proposals(token, &job, 1).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let hire = s
        .post(
            token,
            &format!("/proposals/{proposal}/hire"),
            json!({"milestone": {"name": "Batch 1", "amount": amount}}),
        )
        .await;
    assert_eq!(hire.status, 202, "{}", hire.body);
    s.confirm(
        hire.body["approval"]["approvalUrl"].as_str().unwrap(),
        Some(source),
    )
    .await;
    let approval = s
        .get(
            token,
            &format!(
                "/approvals/{}",
                hire.body["approval"]["id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(approval.body["approval"]["status"], "confirmed");
    let contract = approval.body["approval"]["result"]["contractId"]
        .as_str()
        .unwrap()
        .to_owned();
    (proposal, contract, approval.body)
}

#[tokio::test]
async fn a_hire_without_card_or_enough_credits_is_409_payment_method_required() {
    let s = Sb::new().await;
    let token = s.claimed("pay@example.com").await;
    let job = s.published_job(&token).await;
    let proposal = s.proposals(&token, &job, 1).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let hire = |amount: u32| {
        let (s, token, proposal) = (&s, token.clone(), proposal.clone());
        async move {
            s.post(
                &token,
                &format!("/proposals/{proposal}/hire"),
                json!({"milestone": {"name": "Batch", "amount": amount}}),
            )
            .await
        }
    };
    let refused = hire(300).await;
    assert_eq!(refused.status, 409);
    assert_eq!(refused.body["code"], "CONFLICT");
    assert_eq!(refused.body["details"]["reason"], "payment_method_required");
    let billing = refused.body["details"]["billingUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        billing.starts_with(&format!("{}/billing?account=", s.base())),
        "{billing}"
    );
    // $100 of credits do not cover $300 + 10% + $9.95 …
    s.top_up(&token, 100).await;
    assert_eq!(hire(300).await.status, 409);
    // … but do cover $80 + $8 + $9.95 = $97.95.
    assert_eq!(hire(80).await.status, 202);
    // A card on file covers anything.
    let added = s
        .submit(
            &billing,
            &[
                ("action", "add_card"),
                ("card_number", "4242 4242 4242 4242"),
            ],
        )
        .await;
    assert_eq!(added.status, 303);
    let approved = hire(300).await;
    assert_eq!(approved.status, 202, "{}", approved.body);
    assert_eq!(approved.body["approval"]["type"], "proposal_hire");
    assert_eq!(approved.body["approval"]["contractId"], Value::Null);
    // The same terms give the same approval; different terms supersede it.
    assert_eq!(
        hire(300).await.body["approval"]["id"],
        approved.body["approval"]["id"]
    );
}

#[tokio::test]
async fn fees_and_escrow_show_in_the_credit_ledger() {
    let s = Sb::new().await;
    let token = s.claimed("ledger@example.com").await;
    s.top_up(&token, 500).await;
    let credits = s.get(&token, "/credits").await;
    assert_eq!(credits.body["credits"]["availableCents"], 50000);
    assert_eq!(
        credits.body["credits"]["recentEntries"][0]["type"],
        "TOP_UP"
    );

    // Hire for $100 paid from credits: $100 + $10 + $9.95 = $119.95 held in escrow.
    let (proposal, contract, _) = hired(&s, &token, 100, "credits").await;
    let credits = s.get(&token, "/credits").await;
    assert_eq!(credits.body["credits"]["availableCents"], 50000 - 11995);
    assert_eq!(credits.body["credits"]["reservedCents"], 11995);
    let ledger = s.get(&token, "/credits/ledger").await;
    let hold = &ledger.body["entries"][0];
    assert_eq!(hold["type"], "HOLD");
    assert_eq!(hold["amountCents"], -11995);
    assert_eq!(hold["jobofferId"], proposal.as_str());
    assert_eq!(hold["contractId"], contract.as_str());
    let hold_id = hold["id"].as_str().unwrap().to_owned();
    let first =
        s.get(&token, &format!("/contracts/{contract}")).await.body["contract"]["milestones"][0]
            .clone();
    assert_eq!(first["status"], "ACTIVE_FUNDED");
    assert_eq!(hold["milestoneId"], first["id"]);

    // Releasing it (the human confirms) captures the hold: paid out.
    let m1 = first["id"].as_str().unwrap();
    let release = s
        .post_empty(&token, &format!("/milestones/{m1}/approve"))
        .await;
    assert_eq!(release.status, 202);
    s.confirm(
        release.body["approval"]["approvalUrl"].as_str().unwrap(),
        None,
    )
    .await;
    let ledger = s.get(&token, "/credits/ledger?limit=1").await;
    let capture = &ledger.body["entries"][0];
    assert_eq!(capture["type"], "CAPTURE");
    assert_eq!(capture["amountCents"], -11995);
    assert_eq!(capture["holdEntryId"], hold_id.as_str());
    assert!(ledger.body["nextCursor"].is_string());
    let credits = s.get(&token, "/credits").await;
    assert_eq!(credits.body["credits"]["reservedCents"], 0);

    // A second milestone of $50: funding holds $55 (no contract fee), ending returns it.
    let m2 = s
        .post(
            &token,
            &format!("/contracts/{contract}/milestones"),
            json!({"description": "Batch 2", "amountUsd": 50}),
        )
        .await;
    assert_eq!(m2.status, 201);
    assert_eq!(m2.body["milestone"]["status"], "NOT_FUNDED");
    assert_eq!(m2.body["milestone"]["milestoneNumber"], 2);
    let m2 = m2.body["milestone"]["id"].as_str().unwrap().to_owned();
    let early = s
        .post_empty(&token, &format!("/milestones/{m2}/approve"))
        .await;
    assert_eq!(early.body["details"]["reason"], "milestone_not_funded");
    let fund = s
        .post_empty(&token, &format!("/milestones/{m2}/fund"))
        .await;
    assert_eq!(fund.status, 202);
    let pending = s.get(&token, "/payments/pending").await;
    assert_eq!(pending.body["payments"][0]["status"], "PENDING_FUNDING");
    assert_eq!(pending.body["payments"][0]["amountUsd"], 50);
    s.confirm(
        fund.body["approval"]["approvalUrl"].as_str().unwrap(),
        Some("credits"),
    )
    .await;
    assert_eq!(
        s.get(&token, "/payments/pending").await.body["payments"],
        json!([])
    );
    let again = s
        .post_empty(&token, &format!("/milestones/{m2}/fund"))
        .await;
    assert_eq!(again.body["details"]["reason"], "milestone_not_fundable");
    let ledger = s.get(&token, "/credits/ledger").await;
    assert_eq!(ledger.body["entries"][0]["type"], "HOLD");
    assert_eq!(ledger.body["entries"][0]["amountCents"], -5500);
    assert_eq!(
        s.get(&token, "/credits").await.body["credits"]["reservedCents"],
        5500
    );

    let end = s
        .post_empty(&token, &format!("/contracts/{contract}/end"))
        .await;
    assert_eq!(end.status, 202, "{}", end.body);
    assert_eq!(end.body["approval"]["type"], "contract_end");
    s.confirm(end.body["approval"]["approvalUrl"].as_str().unwrap(), None)
        .await;
    let ledger = s.get(&token, "/credits/ledger").await;
    let release = &ledger.body["entries"][0];
    assert_eq!(release["type"], "HOLD_RELEASE");
    assert_eq!(release["amountCents"], 5500);
    let credits = s.get(&token, "/credits").await;
    assert_eq!(credits.body["credits"]["availableCents"], 50000 - 11995);
    assert_eq!(credits.body["credits"]["reservedCents"], 0);
    let c = s.get(&token, &format!("/contracts/{contract}")).await;
    assert_eq!(c.body["contract"]["status"], "ended");
    // The refunded milestone leaves the timeline.
    assert_eq!(
        c.body["contract"]["milestones"].as_array().unwrap().len(),
        1
    );
    assert_eq!(
        s.post_empty(&token, &format!("/contracts/{contract}/end"))
            .await
            .body["details"]["reason"],
        "contract_ended"
    );
}

#[tokio::test]
async fn approvals_expire_after_72_hours_of_sandbox_time() {
    let s = Sb::new().await;
    let token = s.claimed("expiry@example.com").await;
    s.top_up(&token, 500).await;
    let job = s.published_job(&token).await;
    let proposal = s.proposals(&token, &job, 1).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let hire = s
        .post(
            &token,
            &format!("/proposals/{proposal}/hire"),
            json!({"milestone": {"name": "B", "amount": 100}}),
        )
        .await;
    let approval = hire.body["approval"].clone();
    let id = approval["id"].as_str().unwrap();
    let created =
        opentrain_mcp::sandbox::clock::parse(approval["createdAt"].as_str().unwrap()).unwrap();
    let expires =
        opentrain_mcp::sandbox::clock::parse(approval["expiresAt"].as_str().unwrap()).unwrap();
    assert_eq!(expires - created, 72 * 3600 * 1000);

    s.advance_hours(71).await;
    assert_eq!(
        s.get(&token, &format!("/approvals/{id}")).await.body["approval"]["status"],
        "pending"
    );
    s.advance_hours(2).await;
    let read = s.get(&token, &format!("/approvals/{id}")).await;
    assert_eq!(read.body["approval"]["status"], "expired");
    assert_eq!(read.body["approval"]["resolvedAt"], approval["expiresAt"]);
    assert_eq!(read.body["approval"]["result"], Value::Null);
    // Too late for the human, and nothing moved.
    let late = s
        .submit(
            approval["approvalUrl"].as_str().unwrap(),
            &[("action", "confirm"), ("source", "credits")],
        )
        .await;
    assert_eq!(late.status, 409);
    assert_eq!(
        s.get(&token, "/credits").await.body["credits"]["reservedCents"],
        0
    );
    // The feed says so, as approval.confirmed with status expired.
    let updates = s.get(&token, "/updates").await;
    let event = updates.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "approval.confirmed")
        .unwrap()
        .clone();
    assert_eq!(
        event["data"],
        json!({"approvalId": id, "status": "expired"})
    );
    // A top-up lapses after 24 hours, read lazily.
    let top_up = s
        .post(&token, "/credits/top-ups", json!({"amountUsd": 20}))
        .await;
    s.advance_hours(25).await;
    let t = s
        .get(
            &token,
            &format!(
                "/credits/top-ups/{}",
                top_up.body["topUpId"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(t.body["topUp"]["status"], "EXPIRED");
}

#[tokio::test]
async fn updates_carry_the_documented_events_with_a_cursor() {
    let s = Sb::new().await;
    let token = s.claimed("feed@example.com").await;
    s.top_up(&token, 500).await;
    let (_, contract, _) = hired(&s, &token, 100, "credits").await;
    let conversation = s.get(&token, &format!("/contracts/{contract}")).await.body["contract"]["jobDmConversationId"]
        .as_str()
        .unwrap()
        .to_owned();
    s.post(
        &token,
        "/messages",
        json!({"conversationId": conversation, "content": "Welcome aboard"}),
    )
    .await;
    s.get(&token, &format!("/messages?conversationId={conversation}"))
        .await;
    let m = s
        .post(
            &token,
            &format!("/contracts/{contract}/milestones"),
            json!({"description": "B2", "amountUsd": 10}),
        )
        .await;
    s.post_empty(
        &token,
        &format!(
            "/milestones/{}/fund",
            m.body["milestone"]["id"].as_str().unwrap()
        ),
    )
    .await;

    let first = s.get(&token, "/updates?limit=3").await;
    assert_eq!(first.body["events"].as_array().unwrap().len(), 3);
    assert_eq!(first.body["hasMore"], true);
    let cursor = first.body["nextCursor"].as_str().unwrap().to_owned();
    assert_eq!(first.body["events"][2]["id"], cursor.as_str());
    let rest = s
        .get(&token, &format!("/updates?cursor={cursor}&limit=200"))
        .await;
    assert_eq!(rest.body["hasMore"], false);
    let mut types: Vec<String> = first.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest.body["events"].as_array().unwrap())
        .map(|e| {
            assert_eq!(e["apiVersion"], "v1");
            assert!(e["id"].is_string() && e["resourceId"].is_string() && e["data"].is_object());
            e["type"].as_str().unwrap().to_owned()
        })
        .collect();
    types.sort();
    types.dedup();
    for t in [
        "proposal.received",
        "proposal.status_changed",
        "message.received",
        "contract.created",
        "milestone.status_changed",
        "payment.pending",
        "approval.confirmed",
    ] {
        assert!(types.iter().any(|x| x == t), "{t} missing from {types:?}");
    }
    let end = rest.body["nextCursor"].as_str().unwrap().to_owned();
    let empty = s.get(&token, &format!("/updates?cursor={end}")).await;
    assert_eq!(empty.body["events"], json!([]));
    assert_eq!(empty.body["nextCursor"], end.as_str());
    assert_eq!(s.get(&token, "/updates?cursor=abc").await.status, 400);
    assert_eq!(s.get(&token, "/updates?limit=201").await.status, 400);
}

/// A loopback receiver that records every request: (headers lower-cased, body).
async fn receiver() -> (
    String,
    tokio::sync::mpsc::UnboundedReceiver<(Vec<(String, String)>, Vec<u8>)>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://127.0.0.1:{}/hooks/opentrain",
        listener.local_addr().unwrap().port()
    );
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut data = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    data.extend_from_slice(&buf[..n]);
                    let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&data[..end]).to_string();
                    let headers: Vec<(String, String)> = head
                        .lines()
                        .skip(1)
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_owned()))
                        .collect();
                    let len: usize = headers
                        .iter()
                        .find(|(k, _)| k == "content-length")
                        .map(|(_, v)| v.parse().unwrap())
                        .unwrap_or(0);
                    if data.len() < end + 4 + len {
                        continue;
                    }
                    let body = data[end + 4..end + 4 + len].to_vec();
                    let _ = socket
                        .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                        .await;
                    let _ = tx.send((headers, body));
                    return;
                }
            });
        }
    });
    (url, rx)
}

/// The documented check, written independently of the sandbox's signer.
fn verify(secret: &str, header: &str, body: &[u8]) -> bool {
    let parts: std::collections::HashMap<&str, &str> = header
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .collect();
    let t: i64 = parts["t"].parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    if (now - t).abs() > 300 {
        return false;
    }
    let mut message = format!("{t}.").into_bytes();
    message.extend_from_slice(body);
    let expected = parts["v1"];
    let bytes: Vec<u8> = (0..expected.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&expected[i..i + 2], 16).unwrap())
        .collect();
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    ring::hmac::verify(&key, &message, &bytes).is_ok()
}

#[tokio::test]
async fn webhooks_receive_the_same_events_signed_as_documented_on_loopback_only() {
    let s = Sb::new().await;
    let token = s.claimed("hooks@example.com").await;
    let (url, mut deliveries) = receiver().await;
    // Off-machine URLs are accepted as the docs allow, never sent to; plain http only locally.
    let plain = s
        .post(
            &token,
            "/webhooks",
            json!({"url": "http://example.com/hook", "eventTypes": ["proposal.received"]}),
        )
        .await;
    assert_eq!(
        (plain.status, plain.body["details"]["field"].as_str()),
        (400, Some("url"))
    );
    let remote = s
        .post(
            &token,
            "/webhooks",
            json!({"url": "https://example.com/hook", "eventTypes": ["proposal.received"]}),
        )
        .await;
    assert_eq!(remote.status, 201);
    let bad_type = s
        .post(
            &token,
            "/webhooks",
            json!({"url": url, "eventTypes": ["job.exploded"]}),
        )
        .await;
    assert_eq!(bad_type.status, 400);
    let created = s
        .post(&token, "/webhooks", json!({"url": url, "eventTypes": ["proposal.received", "proposal.received", "message.received"]}))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let secret = created.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(
        created.body["webhook"]["eventTypes"],
        json!(["proposal.received", "message.received"])
    );
    assert!(created.body["webhook"].get("secret").is_none());
    let listed = s.get(&token, "/webhooks").await;
    assert!(!listed.body.to_string().contains(&secret));

    let job = s.published_job(&token).await;
    s.proposals(&token, &job, 2).await;
    let (headers, body) =
        tokio::time::timeout(std::time::Duration::from_secs(10), deliveries.recv())
            .await
            .expect("a delivery within 10 s")
            .unwrap();
    let header = |k: &str| {
        headers
            .iter()
            .find(|(h, _)| h == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(header("content-type"), "application/json");
    assert_eq!(header("user-agent"), "OpenTrain-Webhooks/1.0");
    assert_eq!(header("x-opentrain-event"), "proposal.received");
    assert!(header("x-opentrain-delivery").starts_with("dlv_"));
    let signature = header("x-opentrain-signature");
    assert!(
        signature.starts_with("t=") && signature.contains(",v1="),
        "{signature}"
    );
    assert!(
        verify(&secret, &signature, &body),
        "the signature does not verify"
    );
    assert!(!verify("whsec_wrong", &signature, &body));
    let mut tampered = body.clone();
    tampered.push(b' ');
    assert!(!verify(&secret, &signature, &tampered));
    // The delivery is exactly the event /updates shows.
    let event: Value = serde_json::from_slice(&body).unwrap();
    let feed = s.get(&token, "/updates").await;
    assert!(
        feed.body["events"].as_array().unwrap().contains(&event),
        "{event}"
    );
    // Nothing went to example.com: the remote subscription stayed healthy and unsent.
    let remote_id = remote.body["webhook"]["id"].as_str().unwrap();
    assert_eq!(
        s.get(&token, &format!("/webhooks/{remote_id}")).await.body["webhook"]["status"],
        "ACTIVE"
    );
    let deleted = s.delete(&token, &format!("/webhooks/{remote_id}")).await;
    assert_eq!(deleted.body["deleted"], true);
    assert_eq!(
        s.get(&token, &format!("/webhooks/{remote_id}"))
            .await
            .status,
        404
    );
    // Without webhooks:manage (a documented claim): 403 naming the scope.
    let (_, claim) = s.register().await;
    let plain = s.claim(&claim, "plain@example.com", Some(&[])).await;
    let refused = s
        .get(plain["access_token"].as_str().unwrap(), "/webhooks")
        .await;
    assert_eq!(
        refused.body["details"]["requiredScopes"],
        json!(["webhooks:manage"])
    );
}

/// The world's trainers, proposals and their numbers, as a comparable value.
async fn world_of(seed: Option<u64>) -> Value {
    let s = Sb::with_seed(seed).await;
    let (token, _) = s.register().await;
    let job = s.published_job(&token).await;
    let proposals = s.proposals(&token, &job, 4).await;
    let first = proposals.last().unwrap()["id"].as_str().unwrap().to_owned();
    let detail = s.get(&token, &format!("/proposals/{first}")).await.body;
    let interview = s
        .get(&token, &format!("/proposals/{first}/interview"))
        .await
        .body;
    let mut strip =
        json!({"job": job, "proposals": proposals, "detail": detail, "interview": interview});
    // Timestamps follow the wall clock, and URLs the port; everything else is the world.
    fn clean(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if k.ends_with("At") || k == "checkedAt" {
                        *x = Value::Null;
                    } else {
                        clean(x);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(clean),
            Value::String(s) if s.starts_with("http://127.0.0.1:") => {
                *s = s
                    .split_once('/')
                    .map(|(_, r)| r.splitn(3, '/').nth(2).unwrap_or("").to_owned())
                    .unwrap_or_default();
            }
            _ => {}
        }
    }
    clean(&mut strip);
    strip
}

#[tokio::test]
async fn the_same_seed_gives_the_same_world() {
    let a = world_of(Some(7)).await;
    let b = world_of(Some(7)).await;
    assert_eq!(a, b);
    let c = world_of(Some(8)).await;
    assert_ne!(a["proposals"], c["proposals"]);
    // A few seeded public jobs exist from the start.
    let s = Sb::new().await;
    let search = s.get("", "/jobs?q=annotation").await;
    assert!(!search.body["jobs"].as_array().unwrap().is_empty());
    let facets = s.get("", "/jobs/facets").await;
    assert!(facets.body["totalJobs"].as_u64().unwrap() >= 6);
    let bad = s.get("", "/jobs?payType=PER_YEAR").await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn trainers_reply_to_messages_and_proposals_arrive_after_publishing() {
    let s = Sb::new().await;
    let token = s.claimed("chat@example.com").await;
    let job = s.published_job(&token).await;
    let first = s.get(&token, &format!("/jobs/{job}/proposals")).await;
    assert!(first.body["proposals"].as_array().unwrap().len() <= 1);
    let all = s.proposals(&token, &job, 3).await;
    for p in &all {
        assert!(p["coverLetter"].as_str().unwrap().len() > 40);
        assert!(p["bid"]["amountUsd"].as_f64().unwrap() > 0.0);
        assert!(
            p["candidate"]["profilePhotoUrl"]
                .as_str()
                .unwrap()
                .starts_with(s.base())
        );
    }
    let pid = all[0]["id"].as_str().unwrap();
    let start = s
        .post_empty(&token, &format!("/proposals/{pid}/conversation"))
        .await;
    assert_eq!(start.body["created"], true);
    let again = s
        .post_empty(&token, &format!("/proposals/{pid}/conversation"))
        .await;
    assert_eq!(
        (
            again.body["created"].clone(),
            again.body["conversationId"].clone()
        ),
        (json!(false), start.body["conversationId"].clone())
    );
    let cid = start.body["conversationId"].as_str().unwrap();
    let sent = s
        .post(
            &token,
            "/messages",
            json!({"conversationId": cid, "content": "Can you start Monday?"}),
        )
        .await;
    assert_eq!(sent.status, 201);
    assert_eq!(sent.body["message"]["isFromViewer"], true);
    let read = s
        .get(&token, &format!("/messages?conversationId={cid}"))
        .await;
    let messages = read.body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{}", read.body);
    assert_eq!(messages[1]["isFromViewer"], false);
    assert_eq!(messages[1]["senderUserId"], all[0]["candidate"]["id"]);
    let list = s.get(&token, "/messages?filter=proposal").await;
    assert_eq!(list.body["conversations"][0]["bucket"], "proposal");
    let empty = s
        .post(
            &token,
            "/messages",
            json!({"conversationId": cid, "content": ""}),
        )
        .await;
    assert_eq!(empty.status, 400);
    assert!(empty.body["details"]["issues"].is_array());
    // Inviting a seeded trainer creates (or finds) their proposal.
    let profile = s.get(&token, "/freelancers/priya-s-").await;
    assert_eq!(profile.status, 404);
    let trainer = all[0]["candidate"]["profileSlug"].as_str().unwrap();
    let profile = s.get(&token, &format!("/freelancers/{trainer}")).await;
    assert_eq!(profile.body["freelancer"]["profileSlug"], trainer);
    let invite = s
        .post(
            &token,
            &format!("/jobs/{job}/invites"),
            json!({"freelancerId": profile.body["freelancer"]["id"]}),
        )
        .await;
    assert_eq!(
        (invite.status, invite.body["alreadyInvited"].clone()),
        (200, json!(true))
    );
}

#[tokio::test]
async fn two_servers_on_one_directory_share_the_world_without_corrupting_it() {
    let a = Sb::new().await;
    let dir = a.dir.path().to_path_buf();
    let b = opentrain_mcp::sandbox::Sandbox::start(&dir, 0, None)
        .await
        .unwrap();
    let b_base = b.base_url.clone();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let base = if i % 2 == 0 {
            a.base().to_owned()
        } else {
            b_base.clone()
        };
        let http = a.http.clone();
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(format!("{base}/api/agent/identity"))
                .json_body(&json!({}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let body: Value = json_of(r).await;
            let token = body["access_token"].as_str().unwrap().to_owned();
            let d = http
                .post(format!("{base}/api/public/v1/job-drafts"))
                .bearer_auth(&token)
                .json_body(&json!({"rawJobDescription": "Label 100 images with bounding boxes."}))
                .send()
                .await
                .unwrap();
            assert_eq!(d.status(), 201);
            token
        }));
    }
    let mut tokens = Vec::new();
    for t in tasks {
        tokens.push(t.await.unwrap());
    }
    // Every account, made through either server, works through the other.
    for (i, token) in tokens.iter().enumerate() {
        let base = if i % 2 == 0 {
            b_base.clone()
        } else {
            a.base().to_owned()
        };
        let r = a
            .http
            .get(format!("{base}/api/public/v1/jobs/mine"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let body: Value = json_of(r).await;
        assert_eq!(body["jobs"].as_array().unwrap().len(), 1);
    }
    drop(b);
    let conn = rusqlite::Connection::open(dir.join("sandbox.db")).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let accounts: i64 = conn
        .query_row("SELECT COUNT(*) FROM accounts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(accounts, 41); // 40 agents and the marketplace
}

#[tokio::test]
async fn the_world_survives_a_restart_and_reset_starts_over() {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().to_path_buf();
    let token = {
        let s = Sb::in_dir(dir, None).await;
        let (token, _) = s.register().await;
        s.published_job(&token).await;
        std::mem::forget(s.dir); // keep the directory for the second server
        token
    };
    let s = Sb::in_dir(tempfile::TempDir::new().unwrap(), None).await;
    drop(s);
    let again = opentrain_mcp::sandbox::Sandbox::start(&path, 0, None)
        .await
        .unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let mine: Value = json_of(
        http.get(format!("{}/api/public/v1/jobs/mine", again.base_url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(mine["jobs"].as_array().unwrap().len(), 1);
    std::fs::write(path.join("cli.json"), "{}").unwrap();
    opentrain_mcp::sandbox::reset(&path, Some(3)).unwrap();
    assert!(!path.join("cli.json").exists());
    let gone = http
        .get(format!("{}/api/public/v1/jobs/mine", again.base_url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 401);
    drop(again);
    let _ = std::fs::remove_dir_all(&path);
}
