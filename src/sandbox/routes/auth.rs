//! Agent auth (`/api/agent/...`, OAuth-shaped errors) and who-am-I / capabilities.
//!
//! Registration creates an unclaimed account with the pre-claim scopes and a claim token (24 h).
//! A claim attempt (30 min) gives the human a page with a 6-digit code; once they accept it, the
//! next token poll delivers — exactly once — a new token with the post-claim scopes, and every
//! pre-claim token stops working.

use serde_json::{Value, json};

use super::{ApiErr, Ctx, Handler, Reply, Req, Route, json_object};
use crate::sandbox::clock::{DAY, MINUTE, SECOND};
use crate::sandbox::store::Tx;
use crate::sandbox::{hash, preview, random_hex};

pub const GRANT_TYPE: &str = "urn:opentrain:agent-auth:grant-type:claim";

pub const PRE_CLAIM: &[&str] = &[
    "jobs:read",
    "jobs:write",
    "proposals:read",
    "messages:read",
    "payments:read",
    "team:read",
];
pub const POST_CLAIM_EXTRA: &[&str] = &["proposals:write", "messages:write", "team:write"];
/// Never granted by a claim on the real OpenTrain (a human mints a key with them in the app);
/// the sandbox's claim page offers to fold that step in.
pub const HUMAN_MINTED: &[&str] = &["payments:write", "webhooks:manage"];
pub const ALL_SCOPES: &[&str] = &crate::api::SCOPES;

/// The scopes a completed claim delivers: the documented post-claim set, plus what the human
/// chose to add on the claim page.
pub fn post_claim_scopes(extra: &[String]) -> Vec<String> {
    ALL_SCOPES
        .iter()
        .filter(|s| {
            PRE_CLAIM.contains(s) || POST_CLAIM_EXTRA.contains(s) || extra.iter().any(|e| e == *s)
        })
        .map(|s| s.to_string())
        .collect()
}

const CLAIM_WINDOW: i64 = DAY;
const ATTEMPT_LIFETIME: i64 = 30 * MINUTE;
const POLL_INTERVAL_SECS: i64 = 5;

pub const AGENT_ROUTES: &[Route] = &[
    Route::new("POST", "/api/agent/identity", Handler::Open(register)),
    Route::new(
        "POST",
        "/api/agent/identity/claim",
        Handler::Open(claim_start),
    ),
    Route::new("POST", "/api/agent/oauth/token", Handler::Open(token)),
    Route::new("POST", "/api/agent/oauth/revoke", Handler::Open(revoke)),
    Route::new("POST", "/api/agent/oauth/revoke", Handler::Open(revoke)),
];

pub const ROUTES: &[Route] = &[
    Route::new("GET", "/api/public/v1/auth/me", Handler::Authed(me)),
    Route::new(
        "GET",
        "/api/public/v1/job-drafts/capabilities",
        Handler::Authed(capabilities),
    ),
];

/// Creates a token for `account`; returns the secret (shown once) and the record.
pub fn mint(
    tx: &Tx,
    account: &str,
    name: &str,
    scopes: &[String],
    expires_at: Option<i64>,
    pre_claim: bool,
) -> rusqlite::Result<(String, Value)> {
    let id = tx.new_id("tok")?;
    let secret = format!("ot_pat_{}_{}", random_hex(4), random_hex(16));
    let record = json!({
        "id": id,
        "account": account,
        "name": name,
        "hash": hash(&secret),
        "preview": preview(&secret),
        "scopes": scopes,
        "status": "active",
        "preClaim": pre_claim,
        "createdAt": tx.now,
        "lastUsedAt": null,
        "expiresAt": expires_at,
        "revokedAt": null,
    });
    tx.put("tokens", &id, Some(account), None, &record)?;
    Ok((secret, record))
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn field<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

fn invalid(description: &str) -> ApiErr {
    ApiErr::oauth(400, "invalid_request", description)
}

fn register(tx: &mut Tx, base: &str, r: &Req) -> Reply {
    let body: &[u8] = &r.body;
    let b = json_object(body, true).map_err(|_| invalid("The body must be a JSON object."))?;
    if let Some(kind) = b.get("identity_type")
        && kind != "anonymous"
    {
        return Err(ApiErr::oauth(
            400,
            "unsupported_identity_type",
            "Only identity_type \"anonymous\" is supported.",
        ));
    }
    let text = |key: &str| -> Result<Option<String>, ApiErr> {
        match b.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.chars().count() <= 200 => {
                Ok(Some(s.trim().to_owned()).filter(|s| !s.is_empty()))
            }
            _ => Err(invalid(&format!(
                "{key} must be a string of at most 200 characters."
            ))),
        }
    };
    let agent_name = text("agent_name")?;
    let organization_name = text("organization_name")?;
    let account_id = tx.new_id("acct")?;
    let registration = tx.new_id("reg")?;
    let claim_token = format!("ot_clm_{}", random_hex(16));
    let account = json!({
        "id": account_id,
        "registrationId": registration,
        "agentName": agent_name,
        "organizationName": organization_name,
        "userId": tx.new_id("usr")?,
        "organizationId": tx.new_id("org")?,
        "claimed": false,
        "claimHash": hash(&claim_token),
        "claimExpiresAt": tx.now + CLAIM_WINDOW,
        "claimDelivered": false,
        "email": null,
        "firstName": null,
        "lastName": null,
        "createdAt": tx.now,
        "tick": 0,
        "availableCents": 0,
        "reservedCents": 0,
        "card": null,
        "publishes": [],
    });
    tx.put("accounts", &account_id, None, None, &account)?;
    let scopes: Vec<String> = PRE_CLAIM.iter().map(|s| s.to_string()).collect();
    let (access, _) = mint(tx, &account_id, "Agent registration", &scopes, None, true)?;
    Ok((
        200,
        json!({
            "identity_type": "anonymous",
            "registration_id": registration,
            "access_token": access,
            "token_type": "bearer",
            "scopes": scopes,
            "claim_token": claim_token,
            "claim_token_expires_at": crate::sandbox::clock::iso(tx.now + CLAIM_WINDOW),
            "claim_endpoint": format!("{base}/api/agent/identity/claim"),
            "token_endpoint": format!("{base}/api/agent/oauth/token"),
            "grant_type": GRANT_TYPE,
        }),
    ))
}

pub fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace)
        && email.len() <= 254
}

fn claim_start(tx: &mut Tx, base: &str, r: &Req) -> Reply {
    let body: &[u8] = &r.body;
    let b = json_object(body, false).map_err(|_| invalid("The body must be a JSON object."))?;
    let token = b
        .get("claim_token")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_owned();
    let email = b
        .get("email")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_owned();
    if token.is_empty() {
        return Err(invalid("claim_token is required."));
    }
    if !valid_email(&email) {
        return Err(invalid("email must be a valid email address."));
    }
    let mut account = tx
        .find("accounts", "claimHash", &hash(&token))?
        .ok_or_else(|| invalid("Unknown claim token."))?;
    if account["claimed"] == true {
        return Err(invalid("This agent account has already been claimed."));
    }
    if account["claimExpiresAt"].as_i64().unwrap_or(0) <= tx.now {
        return Err(invalid(
            "The claim window has closed; register a new agent account.",
        ));
    }
    let taken = tx.all("accounts")?.into_iter().any(|a| {
        a["claimed"] == true
            && a["email"]
                .as_str()
                .is_some_and(|e| e.eq_ignore_ascii_case(&email))
    });
    if taken {
        return Err(invalid(
            "email_already_registered: this email already has an OpenTrain account.",
        ));
    }
    let account_id = account["id"].as_str().unwrap_or_default().to_owned();
    for mut old in tx.list("claims", "account", &account_id)? {
        if old["status"] == "pending" {
            old["status"] = json!("superseded");
            tx.save("claims", old["id"].as_str().unwrap_or_default(), &old)?;
        }
    }
    let id = tx.new_id("cla")?;
    let cat = format!("ot_cat_{}", random_hex(16));
    let code = format!(
        "{:06}",
        u64::from_str_radix(&random_hex(4), 16).unwrap_or(0) % 1_000_000
    );
    tx.put(
        "claims",
        &id,
        Some(&account_id),
        None,
        &json!({
            "id": id, "account": account_id, "catHash": hash(&cat), "userCode": code,
            "email": email, "status": "pending", "createdAt": tx.now,
            "expiresAt": tx.now + ATTEMPT_LIFETIME,
        }),
    )?;
    account["pendingEmail"] = json!(email);
    tx.save("accounts", &account_id, &account)?;
    Ok((
        200,
        json!({
            "user_code": code,
            "verification_uri": format!("{base}/claim?token={cat}"),
            "expires_in": ATTEMPT_LIFETIME / 1000,
            "interval": POLL_INTERVAL_SECS,
            // Nothing is ever emailed from the sandbox: the agent shows the link itself.
            "email_sent": false,
        }),
    ))
}

fn token(tx: &mut Tx, _base: &str, r: &Req) -> Reply {
    let body: &[u8] = &r.body;
    let pairs = form(body);
    if field(&pairs, "grant_type") != Some(GRANT_TYPE) {
        return Err(ApiErr::oauth(
            400,
            "unsupported_grant_type",
            format!("grant_type must be {GRANT_TYPE}."),
        ));
    }
    let token = field(&pairs, "claim_token").ok_or_else(|| invalid("claim_token is required."))?;
    let mut account = tx
        .find("accounts", "claimHash", &hash(token))?
        .ok_or_else(|| ApiErr::oauth(400, "invalid_grant", "Unknown claim token."))?;
    let account_id = account["id"].as_str().unwrap_or_default().to_owned();
    if account["claimDelivered"] == true {
        return Err(ApiErr::oauth(
            400,
            "invalid_grant",
            "The claimed account's token was already delivered.",
        ));
    }
    if account["claimed"] == true {
        for mut old in tx.list("tokens", "account", &account_id)? {
            if old["preClaim"] == true && old["status"] == "active" {
                old["status"] = json!("revoked");
                old["revokedAt"] = json!(tx.now);
                tx.save("tokens", old["id"].as_str().unwrap_or_default(), &old)?;
            }
        }
        let scopes = post_claim_scopes(&super::strings(&account["grantedExtras"]));
        let (access, _) = mint(tx, &account_id, "Claimed agent token", &scopes, None, false)?;
        account["claimDelivered"] = json!(true);
        tx.save("accounts", &account_id, &account)?;
        return Ok((
            200,
            json!({"access_token": access, "token_type": "bearer", "scopes": scopes}),
        ));
    }
    if account["claimExpiresAt"].as_i64().unwrap_or(0) <= tx.now {
        return Err(ApiErr::oauth(
            400,
            "expired_token",
            "The claim window has closed; register a new agent account.",
        ));
    }
    let last = account["lastPollAt"].as_i64();
    account["lastPollAt"] = json!(tx.now);
    tx.save("accounts", &account_id, &account)?;
    if last.is_some_and(|l| tx.now - l < POLL_INTERVAL_SECS * SECOND) {
        return Err(ApiErr::oauth(
            400,
            "slow_down",
            format!("Poll at most every {POLL_INTERVAL_SECS} seconds."),
        ));
    }
    Err(ApiErr::oauth(
        400,
        "authorization_pending",
        "The human has not accepted the claim yet.",
    ))
}

fn revoke(tx: &mut Tx, _base: &str, r: &Req) -> Reply {
    let body: &[u8] = &r.body;
    let pairs = form(body);
    let token = field(&pairs, "token").ok_or_else(|| invalid("token is required."))?;
    if let Some(mut record) = tx.find("tokens", "hash", &hash(token))?
        && record["status"] == "active"
    {
        record["status"] = json!("revoked");
        record["revokedAt"] = json!(tx.now);
        tx.save("tokens", record["id"].as_str().unwrap_or_default(), &record)?;
    }
    Ok((200, json!({})))
}

fn me_body(tx: &Tx, ctx: &Ctx) -> Reply {
    let a = &ctx.account;
    let token = tx.get("tokens", &ctx.token_id)?.unwrap_or(Value::Null);
    let full = match (a["firstName"].as_str(), a["lastName"].as_str()) {
        (Some(f), Some(l)) => json!(format!("{f} {l}")),
        (Some(f), None) => json!(f),
        _ => Value::Null,
    };
    Ok((
        200,
        json!({
            "actor": {
                "userId": a["userId"],
                "email": a["email"],
                "firstName": a["firstName"],
                "lastName": a["lastName"],
                "fullName": full,
                "userType": "EMPLOYER",
            },
            "token": {
                "id": ctx.token_id,
                "label": token["name"],
                "scopes": ctx.scopes,
                "ownerOrganizationId": null,
            },
            "account": {
                "kind": "employer_organization",
                "organizationId": a["organizationId"],
                "ownerUserId": a["userId"],
                "memberRole": "OWNER",
                // Not in the documented example (which leaves open where it is shown).
                "claimed": ctx.claimed(),
            },
        }),
    ))
}

fn me(tx: &mut Tx, ctx: &Ctx, _r: &Req) -> Reply {
    me_body(tx, ctx)
}

/// Every key `PATCH /job-drafts/{jobId}` and `PATCH /jobs/{id}` accept.
pub const UPDATE_KEYS: &[&str] = &[
    "jobTitle",
    "jobDescription",
    "labelingOverview",
    "datasetDescription",
    "dataType",
    "subjectMatter",
    "dataVolume",
    "dataVolumeUnit",
    "labelingSoftware",
    "headcount",
    "experienceLevel",
    "paymentType",
    "pricePerHour",
    "pricePerLabel",
    "fixedPrice",
    "countries",
    "languages",
    "labelTypes",
    "aiInterviewRequirements",
    "budgetRange",
    "workloadDesc",
    "timeRequirement",
    "projectDuration",
    "freelancerType",
    "projectScope",
    "visibility",
];

pub const PAYMENT_TYPES: &[&str] = &["PAY_PER_LABEL", "PAY_PER_HOUR", "FIXED_PRICE"];
pub const EXPERIENCE_LEVELS: &[&str] = &[
    "EXPERT",
    "ENTRY_LEVEL",
    "INTERMEDIATE",
    "ANY_EXPERIENCE_LEVEL",
];
pub const VOLUME_UNITS: &[&str] = &[
    "HOURS_OF_RECORDING_AUDIO_VIDEO",
    "NUMBER_OF_FILES",
    "NUMBER_OF_WORDS",
    "UNKNOWN_NOT_SPECIFIED",
];

fn capabilities(_tx: &mut Tx, _ctx: &Ctx, _r: &Req) -> Reply {
    Ok((
        200,
        json!({
            "featureKey": "public_api_job_drafting",
            "namespace": "job-drafts",
            "rolloutMode": "ALL",
            "actorIsAdmin": false,
            "capabilities": {
                "draftImport": true, "draftCreate": true, "draftUpdate": true,
                "draftUrlRead": true, "publish": true, "hiring": true,
                "messagingWrites": true, "team": true, "paymentsWrite": true,
                "credits": true, "webhooks": true,
            },
            "draft": {
                "importFormats": ["text", "opentrain_canonical", "schema_org_job_posting", "indeed_xml", "hr_xml"],
                "updateKeys": UPDATE_KEYS,
                "enums": {
                    "paymentType": PAYMENT_TYPES,
                    "experienceLevel": EXPERIENCE_LEVELS,
                    "dataVolumeUnit": VOLUME_UNITS,
                },
            },
            "authBootstrap": "token",
            "enabled": true,
        }),
    ))
}
