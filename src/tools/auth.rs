//! Auth and identity: self-registration, the claim ceremony, who-am-I and capabilities.
//!
//! | tool | request |
//! |---|---|
//! | `opentrain_register_agent` | `POST /api/agent/identity` `{"identity_type":"anonymous","agent_name"?,"organization_name"?}` |
//! | `opentrain_claim_account` | `POST /api/agent/identity/claim` `{"claim_token","email"}` |
//! | `opentrain_claim_status` | `POST /api/agent/oauth/token` form `grant_type=urn:…:claim&claim_token=…` |
//! | `opentrain_auth_status` | `GET /api/public/v1/auth/me` |
//! | `opentrain_capabilities` | `GET /api/public/v1/job-drafts/capabilities` |
//!
//! Registration and a completed claim write the shared credentials file; their results show
//! tokens only masked (`ot_pat_…9f2c`).

use std::sync::atomic::Ordering;

use rmcp::model::CallToolResult;
use rmcp::schemars::{self, JsonSchema};
use rmcp::{tool, tool_router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::result::links;
use super::summary::{self, joined, text, text_or};
use super::{Args, failure, ok, refuse, schema};
use crate::api::{ApiError, Request};
use crate::config::{
    ConfigError, KEY_API_TOKEN, KEY_BASE_URL, KEY_CLAIM_TOKEN, OnCorrupt, TokenSource,
};
use crate::secret::Secret;
use crate::server::OpenTrain;
use crate::validate::{Email, OptionalText};

/// The grant type of the claim exchange.
pub const CLAIM_GRANT_TYPE: &str = "urn:opentrain:agent-auth:grant-type:claim";

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterAgentArgs {
    /// Name shown to the human on the claim page, e.g. "Claude Code".
    #[serde(default)]
    agent_name: OptionalText,
    /// Name of the employer organization to create, e.g. "Acme Research".
    #[serde(default)]
    organization_name: OptionalText,
    /// Abandon the saved credentials and register a new account.
    force: Option<bool>,
}

#[derive(Serialize)]
struct IdentityBody<'a> {
    identity_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    organization_name: Option<&'a str>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClaimAccountArgs {
    /// The human owner's email, e.g. "owner@example.com"; it must not have an OpenTrain account yet.
    email: Email,
    /// Claim token (ot_clm_…); defaults to the saved one.
    #[serde(default)]
    claim_token: OptionalText,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClaimStatusArgs {
    /// Claim token (ot_clm_…) to check; defaults to the saved one.
    #[serde(default)]
    claim_token: OptionalText,
}

/// The scopes an answer lists (`scopes`, wherever it is), comma-separated, or `none listed`.
fn scopes_of(body: &Value) -> String {
    links::find(body, &["/scopes"], &["scopes"], Value::is_array)
        .map(|v| joined(v, ""))
        .unwrap_or_else(|| "none listed".to_owned())
}

/// A token an answer delivers (`access_token`, `claim_token`): at the top level as documented,
/// else under the same key (or its camelCase form) wherever the answer puts it.
fn delivered(body: &Value, key: &str) -> Option<Secret> {
    links::text(body, &[&format!("/{key}")], &[key])
        .as_deref()
        .and_then(Secret::new)
}

/// The answer as a result may show it: the raw tokens it delivers masked (`access_token`,
/// `claim_token`, and wherever else the answer repeats them), and a note of where they were
/// saved.
fn mask_tokens(body: &Value, received: &[&Secret], saved_to: &str) -> Value {
    let mut shown = body.clone();
    if let Some(map) = shown.as_object_mut() {
        for key in ["access_token", "claim_token"] {
            if let Some(raw) = map.get(key).and_then(Value::as_str) {
                let masked = crate::secret::mask(raw);
                map.insert(key.to_owned(), Value::String(masked));
            }
        }
        map.insert(
            "credentialsSavedTo".to_owned(),
            Value::String(saved_to.to_owned()),
        );
    }
    crate::secret::scrub_json(&mut shown, received);
    shown
}

fn env_token_note(server: &OpenTrain) -> String {
    if server.config().env_token().is_some() {
        format!(
            "\nNote: {} is set, so API calls keep using that token, not this one; unset it to \
             act as this account.",
            crate::config::ENV_TOKEN
        )
    } else {
        String::new()
    }
}

#[tool_router(router = auth_router, vis = "pub(crate)")]
impl OpenTrain {
    /// Create a new, unclaimed agent account; no credentials needed. Its token and claim token are saved to the shared credentials file, so other tools work at once. Refuses if some are saved, unless force. Next: ask your human for an email, call opentrain_claim_account. Requires nothing. Wraps POST /api/agent/identity.
    #[tool(
        name = "opentrain_register_agent",
        title = "Register an agent account",
        input_schema = schema::<RegisterAgentArgs>(),
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = true)
    )]
    async fn register_agent(&self, Args(a): Args<RegisterAgentArgs>) -> CallToolResult {
        let config = self.config();
        let force = a.force.unwrap_or(false);
        let path = config
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "the credentials file".to_owned());
        match config.read() {
            Err(e) if !force => {
                return refuse(format!(
                    "{e}. Registration refused so that file is not replaced. Pass force: true \
                     to move it aside and register a new account."
                ));
            }
            Ok(file) if !force => {
                if let Some(token) = &file.api_token {
                    return refuse(format!(
                        "Credentials are already saved in {path} (token {}). Check them with \
                         opentrain_auth_status. Pass force: true only to abandon that account \
                         and register a brand-new one.",
                        token.masked()
                    ));
                }
            }
            _ => {}
        }
        let base = match config.settings() {
            Ok(settings) => settings.base_url,
            Err(ConfigError::Corrupt { .. } | ConfigError::Io { .. }) if force => {
                match config.base_url_without_file() {
                    Ok((url, _)) => url,
                    Err(e) => return failure(&e.into(), config),
                }
            }
            Err(e) => return failure(&e.into(), config),
        };
        let on_corrupt = if force {
            OnCorrupt::MoveAside
        } else {
            OnCorrupt::Refuse
        };
        // The account exists once the API answers, and its token is delivered only then: make
        // sure it can be saved first, so no account is orphaned.
        if let Err(e) = self.check_saving(on_corrupt).await {
            return refuse(format!(
                "{e}. Registration refused before anything was sent: the new account's token                  could not be saved. Fix that first."
            ));
        }
        let req = Request::agent_post("/identity")
            .delivering_credentials()
            .json(&IdentityBody {
                identity_type: "anonymous",
                agent_name: a.agent_name.get().map(str::trim),
                organization_name: a.organization_name.get().map(str::trim),
            });
        let known = config.known().snapshot();
        let body = match self.client().send(&base, &req, None, &known).await {
            Ok(response) => response.body,
            Err(e) => return failure(&e, config),
        };
        let Some(access) = delivered(&body, "access_token") else {
            return refuse(
                "The registration answer carried no access_token, so nothing was saved. Try \
                 again later.",
            );
        };
        let claim = delivered(&body, "claim_token");
        // Masked everywhere from now on, whether or not they can be saved.
        config.remember(&access);
        if let Some(claim) = &claim {
            config.remember(claim);
        }
        let received: Vec<&Secret> = std::iter::once(&access).chain(claim.as_ref()).collect();
        let mut fields = serde_json::Map::new();
        fields.insert(KEY_API_TOKEN.into(), access.expose().into());
        if let Some(c) = &claim {
            fields.insert(KEY_CLAIM_TOKEN.into(), c.expose().into());
        }
        fields.insert(
            KEY_BASE_URL.into(),
            base.as_str().trim_end_matches('/').into(),
        );
        let new_fields = fields.clone();
        let saved = self
            .save(on_corrupt, move |map| {
                map.remove(KEY_CLAIM_TOKEN);
                map.extend(new_fields);
            })
            .await;
        let saved_to = match saved {
            Ok(p) => p.display().to_string(),
            Err(e) => {
                let id = text_or(&body, "/registration_id", "(no id)");
                let id = crate::secret::scrub_text(&id, &received).unwrap_or(id);
                return refuse(match self.recover(fields).await {
                    Ok(kept) => format!(
                        "The account {id} was registered, but its credentials could not be saved \
                         to {path}: {e}. They were kept in {} (mode 0600, the same format): fix \
                         the problem, then move that file to {path}, before the claim deadline \
                         (about 24 h). The token is not shown here.",
                        kept.display()
                    ),
                    Err(kept) => format!(
                        "The account {id} was registered, but its credentials could not be saved: \
                         {e}, nor kept in a recovery file ({kept}). The token cannot be shown \
                         here; fix the problem and register again (the unsaved account expires \
                         unclaimed)."
                    ),
                });
            }
        };
        let body = mask_tokens(&body, &received, &saved_to);
        let summary = format!(
            "Registered a new, unclaimed OpenTrain agent account{}.\n\
             Token {} and claim token {} saved to {saved_to}.\n\
             Scopes: {}.\n\
             It can draft and publish jobs and read proposals now. Hiring, inviting, messaging \
             and spending unlock only after a human claims it, before {} (about 24 h).\n\
             Next: ask your human for their email address and call opentrain_claim_account with it.{}",
            links::text(&body, &["/registration_id"], &["registration_id"])
                .map(|id| format!(" (registration {id})"))
                .unwrap_or_default(),
            access.masked(),
            claim
                .as_ref()
                .map(Secret::masked)
                .unwrap_or_else(|| "(none)".into()),
            scopes_of(&body),
            links::text(
                &body,
                &["/claim_token_expires_at"],
                &["claim_token_expires_at"]
            )
            .unwrap_or_else(|| "the claim deadline".to_owned()),
            env_token_note(self),
        );
        ok(summary, body)
    }

    /// Start the claim: OpenTrain emails the human owner and returns a link and 6-digit code to show them. Once they confirm, they own the account and hiring, messaging and billing unlock; poll opentrain_claim_status meanwhile. Requires the claim token from registration (~24 h). Wraps POST /api/agent/identity/claim.
    #[tool(
        name = "opentrain_claim_account",
        title = "Claim the account (email the human)",
        input_schema = schema::<ClaimAccountArgs>(),
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = true)
    )]
    async fn claim_account(&self, Args(a): Args<ClaimAccountArgs>) -> CallToolResult {
        let token = match self.claim_token(a.claim_token.get()) {
            Ok(t) => t,
            Err(message) => return refuse(message),
        };
        let req = Request::agent_post("/identity/claim")
            .json(&json!({"claim_token": token.expose(), "email": a.email.as_str()}))
            .secret(&token);
        let body = match self.call(&req).await {
            Ok(response) => response.body,
            Err(e) => return failure(&e, self.config()),
        };
        let number = |key: &str| {
            links::find(&body, &[&format!("/{key}")], &[key], Value::is_u64).and_then(Value::as_u64)
        };
        let interval = number("interval").filter(|n| *n > 0).unwrap_or(5);
        self.0.claim_interval.store(interval, Ordering::Relaxed);
        let expires = number("expires_in")
            .map(|s| format!("in {} minutes", s.div_ceil(60)))
            .unwrap_or_else(|| "in about 30 minutes".into());
        let sent = if body["email_sent"].as_bool() == Some(false) {
            format!(
                "The email to {} could NOT be sent, so give your human the link directly.",
                a.email
            )
        } else {
            format!("A verification email was sent to {}.", a.email)
        };
        // The link the human opens: the documented `verification_uri`, or its `_complete` form
        // (the code filled in), wherever the answer puts them.
        let link = links::url(
            &body,
            &["/verification_uri_complete", "/verification_uri"],
            &[
                "verification_uri_complete",
                "verification_uri",
                "verification_url",
                "claimUrl",
            ],
        );
        let code = links::text(&body, &["/user_code"], &["user_code"]);
        let tell = match (&link, &code) {
            (Some(link), Some(code)) => format!(
                "Tell your human: open {link} and enter the code {code} (signing in or up with \
                 {}). The code expires {expires}.",
                a.email
            ),
            (Some(link), None) => format!(
                "Tell your human: open {link} (signing in or up with {}); the answer gives no \
                 code, so it is in the email if one is needed. It expires {expires}.",
                a.email
            ),
            (None, code) => format!(
                "The answer carries no link for your human{}. {} Ask your human to follow the \
                 email sent to {} (signing in or up with that address).",
                code.as_ref()
                    .map(|c| format!(" (the code is {c})"))
                    .unwrap_or_default(),
                links::what_it_says(&body),
                a.email
            ),
        };
        let summary = format!(
            "Claim started. {sent}\n{tell}\n\
             Then call opentrain_claim_status every {interval} seconds until it reports the account claimed."
        );
        ok(summary, body)
    }

    /// Check whether the human finished the claim. When they have, the claimed account's token is saved to the credentials file (the old one stops working) and its scopes are reported; until then: pending. slow_down means wait retryAfterSeconds. Requires a claim token. Wraps POST /api/agent/oauth/token.
    #[tool(
        name = "opentrain_claim_status",
        title = "Check the claim",
        input_schema = schema::<ClaimStatusArgs>(),
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = true)
    )]
    async fn claim_status(&self, Args(a): Args<ClaimStatusArgs>) -> CallToolResult {
        let config = self.config();
        // The claimed account's token is delivered exactly once: make sure it can be saved before
        // asking for it.
        if let Err(e) = config.read() {
            return refuse(format!(
                "{e}. The claim was not checked: a completed claim delivers the new token only \
                 once, and it could not be saved. Fix the file first."
            ));
        }
        if let Err(e) = self.check_saving(OnCorrupt::Refuse).await {
            return refuse(format!(
                "{e}. The claim was not checked: a completed claim delivers the new token only \
                 once, and it could not be saved. Fix that first."
            ));
        }
        let token = match self.claim_token(a.claim_token.get()) {
            Ok(t) => t,
            Err(message) => return refuse(message),
        };
        let req = Request::agent_post("/oauth/token")
            .delivering_credentials()
            .form(&[
                ("grant_type", CLAIM_GRANT_TYPE),
                ("claim_token", token.expose()),
            ])
            .secret(&token);
        let body = match self.call(&req).await {
            Ok(response) => response.body,
            // The OAuth `error` as documented, or the same code as `code`/`error.code`.
            Err(ApiError::Http {
                status: 400, body, ..
            }) if matches!(
                body.oauth_error().or(body.code()),
                Some("authorization_pending" | "slow_down")
            ) =>
            {
                let interval = &self.0.claim_interval;
                if body.oauth_error().or(body.code()) == Some("slow_down") {
                    let slower = interval.load(Ordering::Relaxed) + 5;
                    interval.store(slower, Ordering::Relaxed);
                    return ok(
                        format!(
                            "Polling too fast (slow_down): the claim is still pending. Wait \
                             {slower} seconds between checks from now on."
                        ),
                        json!({"status": "slow_down", "retryAfterSeconds": slower}),
                    );
                }
                let wait = interval.load(Ordering::Relaxed);
                return ok(
                    format!(
                        "Pending: your human has not completed the claim yet. Check again in \
                         {wait} seconds (remind them of the link and code if needed)."
                    ),
                    json!({"status": "pending", "retryAfterSeconds": wait}),
                );
            }
            Err(e) => return failure(&e, config),
        };
        let Some(access) = delivered(&body, "access_token") else {
            return refuse("The claim answer carried no access_token, so nothing was saved.");
        };
        config.remember(&access);
        let token = access.clone();
        let saved = self
            .save(OnCorrupt::Refuse, move |map| {
                map.insert(KEY_API_TOKEN.into(), token.expose().into());
                map.remove(KEY_CLAIM_TOKEN);
            })
            .await;
        let saved_to = match saved {
            Ok(p) => p.display().to_string(),
            Err(e) => {
                let mut fields = serde_json::Map::new();
                fields.insert(KEY_API_TOKEN.into(), access.expose().into());
                return refuse(match self.recover(fields).await {
                    Ok(kept) => format!(
                        "The account is claimed, but its new token could not be saved: {e}. It \
                         was kept in {} (mode 0600): fix the problem, then copy its apiToken \
                         into the credentials file. The token is not shown here.",
                        kept.display()
                    ),
                    Err(kept) => format!(
                        "The account is claimed, but its new token could not be saved: {e}, nor \
                         kept in a recovery file ({kept}). It is delivered only once, so a \
                         human must mint a token in the OpenTrain app (Settings → API keys)."
                    ),
                });
            }
        };
        let body = mask_tokens(&body, &[&access], &saved_to);
        let summary = format!(
            "Claimed: a human now owns this account. The new token {} was saved to {saved_to} \
             (the pre-claim token no longer works).\n\
             Scopes: {}.\n\
             Hiring, inviting trainers, messaging and team invites are unlocked. payments:write \
             and webhooks:manage are never granted this way: for milestones, top-ups or webhooks \
             a human mints a token with them in the OpenTrain app (Settings → API keys).{}",
            access.masked(),
            scopes_of(&body),
            env_token_note(self),
        );
        ok(summary, body)
    }

    /// Check that the token works and see who it acts for: user, account and organization, the token's label and scopes, where the token came from (env var or credentials file) and the base URL. Call it first. Requires any valid token. Wraps GET /auth/me.
    #[tool(
        name = "opentrain_auth_status",
        title = "Who am I",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn auth_status(&self) -> CallToolResult {
        let settings = match self.settings() {
            Ok(s) => s,
            Err(e) => return self.failure(&e.into()),
        };
        let claim_pending = matches!(settings.token_source, TokenSource::File(_))
            && self.config().read().is_ok_and(|f| f.claim_token.is_some());
        self.run(Request::get("/auth/me"), move |b| {
            // Documented: {actor, token, account}; a flat answer or a `user` object is read too.
            let actor = links::object(b, &["/actor"], &["actor", "user"]).unwrap_or(b);
            let token = links::object(b, &["/token"], &["token"]).unwrap_or(b);
            let account = links::object(b, &["/account"], &["account"]).unwrap_or(b);
            let who = text(actor, "/fullName")
                .or_else(|| text(actor, "/email"))
                .or_else(|| text(actor, "/userId"))
                .unwrap_or_else(|| "an unnamed user".into());
            let user_id = text(actor, "/userId")
                .or_else(|| links::text(b, &[], &["userId"]))
                .map(|id| format!(", user {id}"))
                .unwrap_or_default();
            let mut account_line = "Account:".to_owned();
            for part in [
                text(account, "/kind"),
                text(account, "/organizationId"),
                text(account, "/memberRole").map(|r| format!("(role {r})")),
            ]
            .into_iter()
            .flatten()
            {
                account_line.push(' ');
                account_line.push_str(&part);
            }
            if account_line == "Account:" {
                account_line.push_str(" not described in the answer");
            }
            let scopes = if summary::strings(token, "/scopes").is_empty() {
                links::find(b, &[], &["scopes"], Value::is_array)
                    .map(|v| joined(v, ""))
                    .unwrap_or_else(|| "none listed".to_owned())
            } else {
                joined(token, "/scopes")
            };
            let mut token_line = format!(
                "Token {}",
                text(token, "/label")
                    .map(|l| format!("\"{l}\""))
                    .unwrap_or_else(|| "(unlabelled)".into()),
            );
            if let Some(id) = text(token, "/id").or_else(|| links::text(b, &[], &["tokenId"])) {
                token_line.push_str(&format!(" ({id})"));
            }
            let mut out = format!(
                "Authenticated as {who} ({}){user_id}.\n\
                 {account_line}.\n\
                 {token_line} with scopes: {scopes}.\n\
                 Token from {}; base URL {} (from {}).",
                text_or(actor, "/userType", "unknown type"),
                settings.token_source,
                settings.base_url.as_str().trim_end_matches('/'),
                settings.base_url_origin,
            );
            if claim_pending {
                out.push_str(
                    "\nA claim token is still saved, so this agent account is probably not \
                     claimed yet: see opentrain_claim_account.",
                );
            }
            out
        })
        .await
    }

    /// List the API features enabled for this account (drafting, publishing, hiring, messaging, team, payments, credits, webhooks) and the job-draft catalog: import formats, patchable fields, enum values. Requires any token + feature public_api_job_drafting. Wraps GET /job-drafts/capabilities.
    #[tool(
        name = "opentrain_capabilities",
        title = "Feature capabilities",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn capabilities(&self) -> CallToolResult {
        self.run(Request::get("/job-drafts/capabilities"), |b| {
            let mut on = Vec::new();
            let mut off = Vec::new();
            if let Some(caps) =
                links::object(b, &["/capabilities"], &["capabilities"]).and_then(Value::as_object)
            {
                for (name, enabled) in caps {
                    if enabled.as_bool() == Some(true) {
                        on.push(name.as_str());
                    } else {
                        off.push(name.as_str());
                    }
                }
            }
            let list = |v: &[&str]| {
                if v.is_empty() {
                    "none".to_owned()
                } else {
                    v.join(", ")
                }
            };
            let draft = links::object(b, &["/draft"], &["draft"]).unwrap_or(b);
            let mut out = format!(
                "Job drafting is enabled{}.\nEnabled: {}.\nDisabled: {}.\n\
                 Draft import formats: {}.\nPatchable draft fields: {}.",
                links::text(b, &["/rolloutMode"], &["rolloutMode"])
                    .map(|m| format!(" (rollout {m})"))
                    .unwrap_or_default(),
                list(&on),
                list(&off),
                joined(draft, "/importFormats"),
                joined(draft, "/updateKeys"),
            );
            if let Some(enums) = draft.pointer("/enums").and_then(Value::as_object) {
                for (field, values) in enums {
                    let values: Vec<&str> = values
                        .as_array()
                        .map(|a| a.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    out.push_str(&format!("\n{field}: {}.", values.join(", ")));
                }
            }
            out
        })
        .await
    }
}

impl OpenTrain {
    /// Writes the credentials file off the async runtime: the write may wait for the file lock
    /// (another process writing), and this server's one runtime thread must keep serving.
    async fn save(
        &self,
        on_corrupt: OnCorrupt,
        edit: impl FnOnce(&mut serde_json::Map<String, Value>) + Send + 'static,
    ) -> Result<std::path::PathBuf, ConfigError> {
        self.off_runtime(move |config| config.update(on_corrupt, edit))
            .await
    }

    /// [`crate::config::Config::check_saving`], off the async runtime too.
    async fn check_saving(&self, on_corrupt: OnCorrupt) -> Result<std::path::PathBuf, ConfigError> {
        self.off_runtime(move |config| config.check_saving(on_corrupt))
            .await
    }

    /// Runs a credentials-file operation on a blocking thread.
    async fn off_runtime<T: Send + 'static>(
        &self,
        op: impl FnOnce(&crate::config::Config) -> Result<T, ConfigError> + Send + 'static,
    ) -> Result<T, ConfigError> {
        let server = self.clone();
        tokio::task::spawn_blocking(move || op(server.config()))
            .await
            .unwrap_or_else(|e| {
                Err(ConfigError::Io {
                    path: self
                        .config()
                        .path()
                        .unwrap_or(std::path::Path::new("cli.json"))
                        .to_path_buf(),
                    action: "write",
                    message: e.to_string(),
                })
            })
    }

    /// Keeps credentials that could not be saved in a 0600 recovery file, off the async runtime.
    /// `Err` says why even that failed.
    async fn recover(
        &self,
        fields: serde_json::Map<String, Value>,
    ) -> Result<std::path::PathBuf, String> {
        let server = self.clone();
        tokio::task::spawn_blocking(move || server.config().save_recovery(&fields))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()))
    }

    /// The claim token from the argument, else from the credentials file.
    /// `Err` is the text to refuse with.
    fn claim_token(&self, arg: Option<&str>) -> Result<Secret, String> {
        if let Some(token) = arg.and_then(|t| Secret::new(t.trim())) {
            return Ok(token);
        }
        match self.config().read() {
            Ok(file) => file.claim_token.clone().ok_or_else(|| {
                format!(
                    "No claim token is saved{}. Register first with opentrain_register_agent, or \
                     pass claimToken. (An account whose claim completed no longer needs one: \
                     check opentrain_auth_status.)",
                    self.config()
                        .path()
                        .map(|p| format!(" in {}", p.display()))
                        .unwrap_or_default()
                )
            }),
            Err(e) => Err(format!("{e}. Pass claimToken explicitly, or fix the file.")),
        }
    }
}
