//! The 5 auth & identity tools: exactly what each sends, what it saves, and what it returns.

mod common;

use common::*;
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, ResponseTemplate};

/// The registration answer from the docs, with realistic token values.
fn registration() -> Value {
    let mut body = fixture("agent_identity");
    body["access_token"] = json!(PAT);
    body["claim_token"] = json!(CLM);
    body
}

fn claimed() -> Value {
    let mut body = fixture("agent_oauth_token");
    body["access_token"] = json!(PAT2);
    body
}

fn no_credentials() -> Setup {
    Setup {
        env_token: None,
        ..Setup::default()
    }
}

fn assert_no_secret(result: &rmcp::model::CallToolResult) {
    let all = format!(
        "{} {}",
        text(result),
        result.structured_content.clone().unwrap_or_default()
    );
    for secret in [PAT, PAT2, CLM] {
        assert!(
            !all.contains(secret),
            "a raw credential leaked into a result: {all}"
        );
    }
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn register_agent_sends_names_and_saves_credentials() {
    let h = Harness::with(no_credentials()).await;
    Mock::given(method("POST"))
        .and(path("/api/agent/identity"))
        .respond_with(ResponseTemplate::new(201).set_body_json(registration()))
        .mount(&h.api)
        .await;

    let r = h
        .call(
            "opentrain_register_agent",
            json!({"agentName": "Claude Code", "organizationName": "Acme Research"}),
        )
        .await;

    assert!(!is_error(&r), "{}", text(&r));
    assert_sent(
        &h.only_request().await,
        &Sent {
            method: "POST",
            path: "/api/agent/identity",
            query: None,
            bearer: None,
            body: SentBody::Json(json!({
                "identity_type": "anonymous",
                "agent_name": "Claude Code",
                "organization_name": "Acme Research"
            })),
        },
    );
    let file = h.read_config();
    assert_eq!(file["apiToken"], PAT);
    assert_eq!(file["claimToken"], CLM);
    assert_eq!(file["baseUrl"], h.api.uri());
    #[cfg(unix)]
    {
        assert_eq!(mode(&h.config_path()), 0o600);
        assert_eq!(mode(h.config_path().parent().unwrap()), 0o700);
    }

    let t = text(&r);
    assert!(t.contains("unclaimed"), "{t}");
    assert!(
        t.contains(
            "jobs:read, jobs:write, proposals:read, messages:read, payments:read, team:read"
        ),
        "{t}"
    );
    assert!(
        t.contains("2026-06-13T09:00:00.000Z"),
        "claim deadline: {t}"
    );
    assert!(t.contains("opentrain_claim_account"), "{t}");
    assert!(t.contains("email"), "{t}");
    assert!(t.contains("ot_pat_…9f2c"), "masked token: {t}");
    let s = structured(&r);
    assert_eq!(s["access_token"], "ot_pat_…9f2c");
    assert_eq!(s["claim_token"], "ot_clm_…4e21");
    assert_eq!(s["registration_id"], "<REGISTRATION_ID>");
    assert_eq!(
        s["credentialsSavedTo"],
        h.config_path().display().to_string()
    );
    assert_no_secret(&r);
}

#[tokio::test]
async fn register_agent_omits_absent_names() {
    let h = Harness::with(no_credentials()).await;
    Mock::given(method("POST"))
        .and(path("/api/agent/identity"))
        .respond_with(ResponseTemplate::new(200).set_body_json(registration()))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_register_agent", json!({})).await;
    assert!(!is_error(&r), "{}", text(&r));
    let req = h.only_request().await;
    assert_eq!(
        serde_json::from_slice::<Value>(&req.body).unwrap(),
        json!({"identity_type": "anonymous"})
    );
}

#[tokio::test]
async fn register_agent_refuses_to_replace_saved_credentials() {
    let h = Harness::with(Setup {
        env_token: None,
        file: Some(json!({"apiToken": PAT, "other": 1}).to_string()),
        ..Setup::default()
    })
    .await;
    let r = h.call("opentrain_register_agent", json!({})).await;
    assert!(is_error(&r));
    let t = text(&r);
    assert!(t.contains("already saved") && t.contains("force"), "{t}");
    assert!(t.contains("ot_pat_…9f2c"), "{t}");
    assert_no_secret(&r);
    assert!(h.requests().await.is_empty(), "nothing may be sent");
    assert_eq!(h.read_config(), json!({"apiToken": PAT, "other": 1}));
}

#[tokio::test]
async fn register_agent_refuses_an_unreadable_file_without_force() {
    let h = Harness::with(Setup {
        env_token: None,
        file: Some("{ not json".into()),
        ..Setup::default()
    })
    .await;
    let r = h.call("opentrain_register_agent", json!({})).await;
    assert!(is_error(&r));
    let t = text(&r);
    assert!(
        t.contains(&h.config_path().display().to_string()),
        "names the file: {t}"
    );
    assert!(t.contains("not valid"), "{t}");
    assert!(h.requests().await.is_empty());
    assert_eq!(
        std::fs::read_to_string(h.config_path()).unwrap(),
        "{ not json"
    );
}

#[tokio::test]
async fn register_agent_with_force_replaces_the_token_and_keeps_other_keys() {
    let h = Harness::with(Setup {
        env_token: None,
        file: Some(
            json!({"apiToken": "ot_pat_old_old_old_old_old1", "telemetry": false}).to_string(),
        ),
        ..Setup::default()
    })
    .await;
    Mock::given(method("POST"))
        .and(path("/api/agent/identity"))
        .respond_with(ResponseTemplate::new(201).set_body_json(registration()))
        .mount(&h.api)
        .await;
    let r = h
        .call("opentrain_register_agent", json!({"force": true}))
        .await;
    assert!(!is_error(&r), "{}", text(&r));
    let file = h.read_config();
    assert_eq!(file["apiToken"], PAT);
    assert_eq!(file["claimToken"], CLM);
    assert_eq!(file["telemetry"], false);
}

#[tokio::test]
async fn register_agent_with_force_moves_a_corrupt_file_aside() {
    let h = Harness::with(Setup {
        env_token: None,
        file: Some("{ not json".into()),
        ..Setup::default()
    })
    .await;
    Mock::given(method("POST"))
        .and(path("/api/agent/identity"))
        .respond_with(ResponseTemplate::new(201).set_body_json(registration()))
        .mount(&h.api)
        .await;
    let r = h
        .call("opentrain_register_agent", json!({"force": true}))
        .await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(h.read_config()["apiToken"], PAT);
    let dir = h.config_path().parent().unwrap().to_path_buf();
    let aside: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("cli.json.corrupt-")
        })
        .collect();
    assert_eq!(aside.len(), 1);
    assert_eq!(
        std::fs::read_to_string(aside[0].path()).unwrap(),
        "{ not json"
    );
}

#[tokio::test]
async fn register_agent_with_env_token_still_writes_the_file() {
    let h = Harness::new().await; // env token set
    Mock::given(method("POST"))
        .and(path("/api/agent/identity"))
        .respond_with(ResponseTemplate::new(201).set_body_json(registration()))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_register_agent", json!({})).await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(h.read_config()["apiToken"], PAT);
    let t = text(&r);
    assert!(t.contains("OPENTRAIN_PERSONAL_API_TOKEN is set"), "{t}");
    assert_eq!(h.only_request().await.headers.get("authorization"), None);
}

#[tokio::test]
async fn claim_account_sends_the_saved_claim_token_and_relays_link_and_code() {
    let h = Harness::with(Setup {
        env_token: None,
        file: Some(json!({"apiToken": PAT, "claimToken": CLM}).to_string()),
        ..Setup::default()
    })
    .await;
    Mock::given(method("POST"))
        .and(path("/api/agent/identity/claim"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("agent_identity_claim")))
        .mount(&h.api)
        .await;
    let r = h
        .call(
            "opentrain_claim_account",
            json!({"email": "owner@example.com"}),
        )
        .await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_sent(
        &h.only_request().await,
        &Sent {
            method: "POST",
            path: "/api/agent/identity/claim",
            query: None,
            bearer: None,
            body: SentBody::Json(json!({"claim_token": CLM, "email": "owner@example.com"})),
        },
    );
    let t = text(&r);
    assert!(
        t.contains("https://app.opentrain.ai/claim?token=ot_cat_..."),
        "{t}"
    );
    assert!(t.contains("439218"), "{t}");
    assert!(t.contains("30 minutes"), "{t}");
    assert!(t.contains("opentrain_claim_status every 5 seconds"), "{t}");
    assert_eq!(structured(&r), &fixture("agent_identity_claim"));
    assert_no_secret(&r);
}

#[tokio::test]
async fn claim_account_prefers_an_explicit_claim_token() {
    let h = Harness::with(Setup {
        env_token: None,
        file: Some(json!({"claimToken": "ot_clm_saved_saved_saved_saved"}).to_string()),
        ..Setup::default()
    })
    .await;
    Mock::given(method("POST"))
        .and(path("/api/agent/identity/claim"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("agent_identity_claim")))
        .mount(&h.api)
        .await;
    let r = h
        .call(
            "opentrain_claim_account",
            json!({"email": "owner@example.com", "claimToken": CLM}),
        )
        .await;
    assert!(!is_error(&r), "{}", text(&r));
    let body: Value = serde_json::from_slice(&h.only_request().await.body).unwrap();
    assert_eq!(body["claim_token"], CLM);
}

#[tokio::test]
async fn claim_account_without_a_claim_token_sends_nothing() {
    let h = Harness::with(no_credentials()).await;
    let r = h
        .call(
            "opentrain_claim_account",
            json!({"email": "owner@example.com"}),
        )
        .await;
    assert!(is_error(&r));
    assert!(
        text(&r).contains("opentrain_register_agent"),
        "{}",
        text(&r)
    );
    assert!(h.requests().await.is_empty());
}

#[tokio::test]
async fn claim_account_rejects_a_bad_email_locally() {
    let h = Harness::with(Setup {
        env_token: None,
        file: Some(json!({"claimToken": CLM}).to_string()),
        ..Setup::default()
    })
    .await;
    let r = h
        .call("opentrain_claim_account", json!({"email": "not-an-email"}))
        .await;
    assert!(is_error(&r));
    assert!(
        text(&r).contains("email: \"not-an-email\" is not an email address"),
        "{}",
        text(&r)
    );
    let r = h.call("opentrain_claim_account", json!({})).await;
    assert!(is_error(&r));
    assert!(text(&r).contains("missing field `email`"), "{}", text(&r));
    assert!(h.requests().await.is_empty());
}

fn oauth_error(code: &str) -> ResponseTemplate {
    ResponseTemplate::new(400)
        .set_body_json(json!({"error": code, "error_description": format!("{code} description")}))
}

const TOKEN_FORM: &str = "grant_type=urn%3Aopentrain%3Aagent-auth%3Agrant-type%3Aclaim&claim_token=ot_clm_Q9w8E7r6T5y4U3i2O1p0aSdF4e21";

#[tokio::test]
async fn claim_status_pending_and_slow_down_are_not_errors() {
    let h = Harness::with(Setup {
        env_token: None,
        file: Some(json!({"apiToken": PAT, "claimToken": CLM}).to_string()),
        ..Setup::default()
    })
    .await;
    Mock::given(method("POST"))
        .and(path("/api/agent/oauth/token"))
        .respond_with(oauth_error("authorization_pending"))
        .up_to_n_times(1)
        .mount(&h.api)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/agent/oauth/token"))
        .respond_with(oauth_error("slow_down"))
        .mount(&h.api)
        .await;

    let r = h.call("opentrain_claim_status", json!({})).await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(
        structured(&r),
        &json!({"status": "pending", "retryAfterSeconds": 5})
    );
    assert!(text(&r).contains("5 seconds"), "{}", text(&r));
    assert_sent(
        &h.only_request().await,
        &Sent {
            method: "POST",
            path: "/api/agent/oauth/token",
            query: None,
            bearer: None,
            body: SentBody::Form(TOKEN_FORM),
        },
    );

    let r = h.call("opentrain_claim_status", json!({})).await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(
        structured(&r),
        &json!({"status": "slow_down", "retryAfterSeconds": 10})
    );
    assert!(text(&r).to_lowercase().contains("too fast"), "{}", text(&r));
    // Nothing changed on disk.
    assert_eq!(h.read_config(), json!({"apiToken": PAT, "claimToken": CLM}));
}

#[tokio::test]
async fn claim_status_terminal_errors_say_what_to_do() {
    for (code, hint) in [
        ("expired_token", "opentrain_register_agent"),
        ("invalid_grant", "delivered only once"),
        ("invalid_request", "claim token"),
        ("unsupported_grant_type", "report"),
    ] {
        let h = Harness::with(Setup {
            env_token: None,
            file: Some(json!({"apiToken": PAT, "claimToken": CLM}).to_string()),
            ..Setup::default()
        })
        .await;
        Mock::given(method("POST"))
            .and(path("/api/agent/oauth/token"))
            .respond_with(oauth_error(code))
            .mount(&h.api)
            .await;
        let r = h.call("opentrain_claim_status", json!({})).await;
        assert!(is_error(&r), "{code}");
        let t = text(&r);
        assert!(t.contains(code) && t.contains(hint), "{code}: {t}");
        assert_eq!(
            structured(&r),
            &json!({"status": 400, "error": {"error": code, "error_description": format!("{code} description")}})
        );
        assert_no_secret(&r);
    }
}

#[tokio::test]
async fn claim_status_refuses_when_the_file_cannot_be_saved_to() {
    let h = Harness::with(Setup {
        env_token: None,
        file: Some("[broken".into()),
        ..Setup::default()
    })
    .await;
    let r = h
        .call("opentrain_claim_status", json!({"claimToken": CLM}))
        .await;
    assert!(is_error(&r));
    assert!(text(&r).contains("only once"), "{}", text(&r));
    assert!(h.requests().await.is_empty());
}

#[tokio::test]
async fn register_claim_and_upgrade_across_the_file() {
    let h = Harness::with(no_credentials()).await;
    Mock::given(method("POST"))
        .and(path("/api/agent/identity"))
        .respond_with(ResponseTemplate::new(201).set_body_json(registration()))
        .mount(&h.api)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/agent/identity/claim"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("agent_identity_claim")))
        .mount(&h.api)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/agent/oauth/token"))
        .respond_with(oauth_error("authorization_pending"))
        .up_to_n_times(1)
        .mount(&h.api)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/agent/oauth/token"))
        .and(body_string_contains(
            "claim_token=ot_clm_Q9w8E7r6T5y4U3i2O1p0aSdF4e21",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(claimed()))
        .mount(&h.api)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/public/v1/auth/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("auth_me")))
        .mount(&h.api)
        .await;

    // A key the CLI (or a human) put there, which must survive every write.
    let r = h
        .call(
            "opentrain_register_agent",
            json!({"agentName": "Claude Code"}),
        )
        .await;
    assert!(!is_error(&r), "{}", text(&r));
    let mut file = h.read_config();
    file["cliSetting"] = json!("keep me");
    h.write_config(&file);

    // The registered (pre-claim) token is what calls use now.
    let r = h.call("opentrain_auth_status", json!({})).await;
    assert!(!is_error(&r), "{}", text(&r));
    let me = h.requests().await.pop().unwrap();
    assert_eq!(
        me.headers.get("authorization").unwrap(),
        &format!("Bearer {PAT}")
    );

    let r = h
        .call(
            "opentrain_claim_account",
            json!({"email": "owner@example.com"}),
        )
        .await;
    assert!(!is_error(&r), "{}", text(&r));
    let r = h.call("opentrain_claim_status", json!({})).await;
    assert_eq!(structured(&r)["status"], "pending");

    let r = h.call("opentrain_claim_status", json!({})).await;
    assert!(!is_error(&r), "{}", text(&r));
    let t = text(&r);
    assert!(
        t.contains("proposals:write") && t.contains("messages:write") && t.contains("team:write"),
        "{t}"
    );
    assert!(t.contains("ot_pat_…7d1e"), "{t}");
    assert_eq!(structured(&r)["access_token"], "ot_pat_…7d1e");
    assert_no_secret(&r);

    let file = h.read_config();
    assert_eq!(file["apiToken"], PAT2);
    assert!(
        file.get("claimToken").is_none(),
        "claimToken removed: {file}"
    );
    assert_eq!(file["baseUrl"], h.api.uri());
    assert_eq!(file["cliSetting"], "keep me");

    // And the next call authenticates with the claimed account's token.
    let r = h.call("opentrain_auth_status", json!({})).await;
    assert!(!is_error(&r), "{}", text(&r));
    let me = h.requests().await.pop().unwrap();
    assert_eq!(
        me.headers.get("authorization").unwrap(),
        &format!("Bearer {PAT2}")
    );
}

#[tokio::test]
async fn auth_status_reports_identity_source_and_base_url_never_the_token() {
    let h = Harness::new().await;
    Mock::given(method("GET"))
        .and(path("/api/public/v1/auth/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("auth_me")))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_auth_status", json!({})).await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_sent(
        &h.only_request().await,
        &Sent {
            method: "GET",
            path: "/api/public/v1/auth/me",
            query: None,
            bearer: Some(PAT),
            body: SentBody::None,
        },
    );
    let t = text(&r);
    assert!(t.contains("Mira Chen") && t.contains("EMPLOYER"), "{t}");
    assert!(
        t.contains("jobs:read, jobs:write, proposals:read, payments:read"),
        "{t}"
    );
    assert!(
        t.contains("OPENTRAIN_PERSONAL_API_TOKEN environment variable"),
        "{t}"
    );
    assert!(t.contains(&h.api.uri()), "{t}");
    assert_eq!(structured(&r), &fixture("auth_me"));
    assert_no_secret(&r);
}

#[tokio::test]
async fn auth_status_names_the_file_when_the_token_comes_from_it() {
    let h = Harness::with(Setup {
        env_token: None,
        file: Some(json!({"apiToken": PAT, "claimToken": CLM}).to_string()),
        ..Setup::default()
    })
    .await;
    Mock::given(method("GET"))
        .and(path("/api/public/v1/auth/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("auth_me")))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_auth_status", json!({})).await;
    let t = text(&r);
    assert!(t.contains(&h.config_path().display().to_string()), "{t}");
    assert!(t.contains("not claimed yet"), "{t}");
}

#[tokio::test]
async fn capabilities_lists_features_and_the_draft_catalog() {
    let h = Harness::new().await;
    let mut caps = fixture("job_drafts_capabilities");
    caps["capabilities"]["credits"] = json!(false);
    Mock::given(method("GET"))
        .and(path("/api/public/v1/job-drafts/capabilities"))
        .respond_with(ResponseTemplate::new(200).set_body_json(caps.clone()))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_capabilities", json!({})).await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_sent(
        &h.only_request().await,
        &Sent {
            method: "GET",
            path: "/api/public/v1/job-drafts/capabilities",
            query: None,
            bearer: Some(PAT),
            body: SentBody::None,
        },
    );
    let t = text(&r);
    assert!(t.contains("Disabled: credits."), "{t}");
    assert!(t.contains("publish") && t.contains("hiring"), "{t}");
    assert!(
        t.contains("experienceLevel: EXPERT, ENTRY_LEVEL, INTERMEDIATE, ANY_EXPERIENCE_LEVEL"),
        "{t}"
    );
    assert_eq!(structured(&r), &caps);
}

#[tokio::test]
async fn tools_without_a_token_send_nothing_and_say_how_to_get_one() {
    let h = Harness::with(no_credentials()).await;
    for tool in ["opentrain_auth_status", "opentrain_capabilities"] {
        let r = h.call(tool, json!({})).await;
        assert!(is_error(&r));
        let t = text(&r);
        assert!(
            t.contains("opentrain_register_agent") && t.contains("OPENTRAIN_PERSONAL_API_TOKEN"),
            "{t}"
        );
        assert!(r.structured_content.is_none());
    }
    assert!(h.requests().await.is_empty());
}
