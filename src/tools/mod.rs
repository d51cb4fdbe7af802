//! The tool registry and everything the 41 tools share: the toolsets, argument parsing, the
//! input-schema policy, and the result format.
//!
//! Results, as every tool builds them: success is a short text summary plus the API's JSON body,
//! unchanged, as `structuredContent` (no `outputSchema`). An API failure is `isError: true`, a
//! text naming the status, code, message, reason, URLs, request id and what to do next, and
//! `structuredContent` `{"status": <http status>, "error": <the body as received>, "whatToDo"}`.
//! A failure before any request (bad arguments, no token, unreadable config, network) is
//! `isError: true` with text only. The server's dispatch then applies the result format
//! ([`result::format`]) to every result in one place.

pub mod auth;
pub mod contracts;
pub mod credits;
pub mod jobs;
pub mod messages;
pub mod payments;
pub mod proposals;
pub mod result;
pub mod summary;
pub mod team;
pub mod tokens;
pub mod unknown;
pub mod updates;
pub mod webhooks;

use std::sync::Arc;

use rmcp::handler::server::common::FromContextPart;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{CallToolResult, ContentBlock, JsonObject};
use rmcp::schemars::JsonSchema;
use rmcp::schemars::generate::SchemaSettings;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::api::{ApiError, ErrorBody};
use crate::config::{self, Config};
use crate::secret::{self, Secret};
use crate::server::OpenTrain;

/// The groups of tools, as the vendor's documentation groups them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Toolset {
    Auth,
    Jobs,
    Proposals,
    Messages,
    Contracts,
    Credits,
    Updates,
    Webhooks,
    Tokens,
    Team,
    Payments,
}

impl Toolset {
    pub const ALL: [Toolset; 11] = [
        Toolset::Auth,
        Toolset::Jobs,
        Toolset::Proposals,
        Toolset::Messages,
        Toolset::Contracts,
        Toolset::Credits,
        Toolset::Updates,
        Toolset::Webhooks,
        Toolset::Tokens,
        Toolset::Team,
        Toolset::Payments,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Toolset::Auth => "auth",
            Toolset::Jobs => "jobs",
            Toolset::Proposals => "proposals",
            Toolset::Messages => "messages",
            Toolset::Contracts => "contracts",
            Toolset::Credits => "credits",
            Toolset::Updates => "updates",
            Toolset::Webhooks => "webhooks",
            Toolset::Tokens => "tokens",
            Toolset::Team => "team",
            Toolset::Payments => "payments",
        }
    }

    /// The tools of this set.
    pub fn router(self) -> ToolRouter<OpenTrain> {
        match self {
            Toolset::Auth => OpenTrain::auth_router(),
            Toolset::Jobs => OpenTrain::jobs_router(),
            Toolset::Proposals => OpenTrain::proposals_router(),
            Toolset::Messages => OpenTrain::messages_router(),
            Toolset::Contracts => OpenTrain::contracts_router(),
            Toolset::Credits => OpenTrain::credits_router(),
            Toolset::Updates => OpenTrain::updates_router(),
            Toolset::Webhooks => OpenTrain::webhooks_router(),
            Toolset::Tokens => OpenTrain::tokens_router(),
            Toolset::Team => OpenTrain::team_router(),
            Toolset::Payments => OpenTrain::payments_router(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Arguments

/// Arguments of a tool call, deserialized with the path of the offending field in any error
/// (`milestone.amount: must be an amount in USD greater than 0 (got -5)`).
pub struct Args<T>(pub T);

/// The prefix rmcp recognises to turn an extraction error into an `isError` tool result.
const RMCP_ARGUMENT_ERROR: &str = "failed to deserialize parameters:";

impl<S, T: DeserializeOwned> FromContextPart<ToolCallContext<'_, S>> for Args<T> {
    fn from_context_part(context: &mut ToolCallContext<S>) -> Result<Self, rmcp::ErrorData> {
        let arguments = Value::Object(context.arguments.take().unwrap_or_default());
        serde_path_to_error::deserialize(&arguments)
            .map(Args)
            .map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner().to_string();
                let message = if path == "." {
                    inner
                } else {
                    format!("{path}: {inner}")
                };
                rmcp::ErrorData::invalid_params(format!("{RMCP_ARGUMENT_ERROR} {message}"), None)
            })
    }
}

/// A refusal of bad arguments, before anything is sent. The argument parser's own errors and a
/// tool's checks across several arguments read the same.
pub fn invalid(tool: &str, detail: &str) -> CallToolResult {
    refuse(format!(
        "Invalid arguments for {tool}: {detail}. Nothing was sent; fix the arguments (see the \
         tool's input schema) and call it again."
    ))
}

/// Rewrites rmcp's argument-error text into one an agent can act on.
pub fn rewrite_argument_error(tool: &str, result: &mut CallToolResult) {
    if result.is_error != Some(true) {
        return;
    }
    let detail = result.content.iter().find_map(|block| {
        block
            .as_text()
            .and_then(|t| t.text.strip_prefix(RMCP_ARGUMENT_ERROR))
            .map(|d| d.trim().to_owned())
    });
    if let Some(detail) = detail {
        *result = invalid(tool, &detail);
    }
}

// ---------------------------------------------------------------------------------------------
// Input schemas

/// The input schema of `T`, inlined and tidied for portability: no `$ref`/`$defs`, no
/// `$schema`/`title`, no non-standard numeric `format`s, and `Option<T>` shown as `T` (optional
/// by not being required) rather than `T | null`.
pub fn schema<T: JsonSchema>() -> Arc<JsonObject> {
    let mut settings = SchemaSettings::draft2020_12();
    settings.inline_subschemas = true;
    settings.meta_schema = None;
    let schema = settings.into_generator().into_root_schema_for::<T>();
    let mut value = schema.to_value();
    tidy(&mut value);
    if let Value::Object(map) = &mut value {
        map.remove("title");
        map.remove("description");
        map.remove("$defs");
    }
    match value {
        Value::Object(map) => Arc::new(map),
        _ => Arc::new(JsonObject::new()),
    }
}

fn tidy(value: &mut Value) {
    let Value::Object(map) = value else {
        if let Value::Array(items) = value {
            items.iter_mut().for_each(tidy);
        }
        return;
    };
    if let Some(Value::Array(types)) = map.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            map.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(values)) = map.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    let numeric_format = map.get("format").and_then(Value::as_str).is_some_and(|f| {
        matches!(
            f,
            "uint"
                | "uint8"
                | "uint16"
                | "uint32"
                | "uint64"
                | "int"
                | "int8"
                | "int16"
                | "int32"
                | "int64"
                | "float"
                | "double"
        )
    });
    if numeric_format {
        map.remove("format");
    }
    // Serialization-only markers (a `skip_serializing` field) mean nothing for an input.
    map.remove("writeOnly");
    map.remove("readOnly");
    if map.get("additionalProperties") == Some(&Value::Bool(true)) {
        map.remove("additionalProperties");
    }
    // An optional argument left out is simply not sent; `"default": null` only confuses.
    if map.get("default") == Some(&Value::Null) {
        map.remove("default");
    }
    map.values_mut().for_each(tidy);
}

// ---------------------------------------------------------------------------------------------
// Results

/// Success: the summary, and the API's body as `structuredContent`.
pub fn ok(text: impl Into<String>, body: Value) -> CallToolResult {
    let mut result = CallToolResult::success(vec![ContentBlock::text(text.into())]);
    result.structured_content = Some(body);
    result
}

/// A failure before any request was sent: text only.
pub fn refuse(text: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(text.into())])
}

/// The result for any failure.
pub fn failure(error: &ApiError, config: &Config) -> CallToolResult {
    failure_with(error, config, None)
}

/// The result for any failure, with a tool's own advice for an HTTP error in place of the
/// generic "What to do" line.
pub fn failure_with(error: &ApiError, config: &Config, hint: Option<String>) -> CallToolResult {
    match error {
        ApiError::Http {
            status,
            body,
            retry_after,
        } => {
            let what_to_do = hint.or_else(|| next_step(*status, body, *retry_after, config));
            let text = http_failure_text(*status, body, *retry_after, config, what_to_do.clone());
            let mut structured = json!({"status": status, "error": body.as_json()});
            // The text's "What to do", for clients that show the model only `structuredContent`
            // (structured mode).
            if let Some(what) = what_to_do {
                structured["whatToDo"] = json!(what);
            }
            if *status == 429
                && let Some(secs) = retry_after
            {
                structured["retry_after_seconds"] = json!(secs);
            }
            let mut result = CallToolResult::error(vec![ContentBlock::text(text)]);
            result.structured_content = Some(structured);
            result
        }
        ApiError::NoToken => refuse(no_token_text()),
        ApiError::Timeout(after) => refuse(format!(
            "Timed out: the OpenTrain API did not answer within {} s, so the call was \
             abandoned. It may be slow or unreachable; try again later. For a write, check \
             whether it took effect before repeating it. (Raise the limit with {}.)",
            after.as_secs(),
            crate::ENV_TIMEOUT
        )),
        ApiError::Connect { message, .. } if message.contains("certificate") => refuse(format!(
            "{error}. Nothing was sent. The server's TLS certificate is not trusted: if a \
             corporate proxy or CA intercepts HTTPS, install its CA certificate in the operating \
             system's trust store (or point SSL_CERT_FILE at it); otherwise check the base URL."
        )),
        ApiError::Connect { .. } => refuse(format!(
            "{error}. Nothing was sent. Check the network, proxy settings (HTTPS_PROXY/NO_PROXY) \
             and the base URL, then try again."
        )),
        ApiError::Transport(_) => refuse(format!(
            "{error}. For a write, check whether it took effect before repeating it."
        )),
        ApiError::Config(e) => refuse(format!("{e}. Nothing was sent.")),
        ApiError::InvalidArgument(message) => refuse(format!("{message} Nothing was sent.")),
        _ => refuse(format!("{error}.")),
    }
}

/// Arguments that carry a credential (a claim token): it belongs to that one call, so it is
/// masked in that call's result like the configuration's own credentials.
const SECRET_ARGUMENTS: [&str; 1] = ["claimToken"];

/// The credentials a call's arguments carry.
pub fn argument_secrets(arguments: Option<&JsonObject>) -> Vec<Secret> {
    let Some(arguments) = arguments else {
        return Vec::new();
    };
    SECRET_ARGUMENTS
        .iter()
        .filter_map(|key| arguments.get(*key)?.as_str())
        .filter_map(Secret::new)
        .collect()
}

/// Masks every given credential wherever it occurs in a result: each text block, any other
/// block, and `structuredContent`. The one place results are masked: the dispatch calls it on
/// every tool result, whatever tool or path produced it, with the credentials the configuration
/// knows and those of the call itself (passed in, never stored).
pub fn mask_result(result: &mut CallToolResult, secrets: &[&Secret]) {
    if secrets.is_empty() {
        return;
    }
    for block in &mut result.content {
        match block {
            ContentBlock::Text(content) => {
                if let Some(clean) = secret::scrub_text(&content.text, secrets) {
                    content.text = clean;
                }
            }
            other => {
                if let Ok(mut value) = serde_json::to_value(&*other) {
                    secret::scrub_json(&mut value, secrets);
                    if let Ok(clean) = serde_json::from_value(value) {
                        *other = clean;
                    }
                }
            }
        }
    }
    if let Some(structured) = &mut result.structured_content {
        secret::scrub_json(structured, secrets);
    }
}

/// A failure in one line (status, code, message, reason), for a note inside another result.
pub fn error_line(error: &ApiError) -> String {
    match error {
        ApiError::Http { status, body, .. } => {
            let mut line = format!("HTTP {status}");
            if let Some(code) = body.code().or(body.oauth_error()) {
                line.push(' ');
                line.push_str(code);
            }
            if let Some(message) = body.message() {
                line.push_str(" — ");
                line.push_str(&crate::text::truncate_chars(message, 200));
            }
            if let Some(reason) = body.reason() {
                line.push_str(&format!("; reason {reason}"));
            }
            line
        }
        other => other.to_string(),
    }
}

/// What an agent without credentials should do.
pub fn no_token_text() -> String {
    format!(
        "No OpenTrain token is configured, so nothing was sent. Either call \
         opentrain_register_agent to create an agent account (no credentials needed), or have \
         your human set {}=ot_pat_… in this MCP server's env (a token from the OpenTrain app, \
         Settings → API keys).",
        config::ENV_TOKEN
    )
}

fn http_failure_text(
    status: u16,
    body: &ErrorBody,
    retry_after: Option<u64>,
    config: &Config,
    hint: Option<String>,
) -> String {
    let mut head = format!("OpenTrain API error: HTTP {status}");
    if let Some(code) = body.code().or(body.oauth_error()) {
        head.push(' ');
        head.push_str(code);
    }
    if let Some(message) = body.message() {
        head.push_str(" — ");
        head.push_str(&crate::text::truncate_chars(message, 500));
    }
    let mut lines = vec![head];

    // Every link in the error (claimUrl, billingUrl, …), wherever the body puts it: a human may
    // have to open it, so it comes right after the headline.
    let links = body
        .json()
        .map(|v| result::links::all_links(v, 6))
        .unwrap_or_default();
    let mut detail_line = Vec::new();
    if let Some(reason) = body.reason() {
        detail_line.push(format!("Reason: {reason}."));
    }
    for (key, url) in &links {
        detail_line.push(format!("{key}: {url}"));
    }
    if !detail_line.is_empty() {
        lines.push(detail_line.join(" "));
    }
    // The rest of `details` (or, without a `details` object, the body's other keys).
    let skip = |key: &str, value: &Value| {
        key == "reason" || value.as_str().is_some_and(result::links::is_link)
    };
    let mut others = serde_json::Map::new();
    match (body.details().and_then(Value::as_object), body.json()) {
        (Some(details), _) => {
            for (key, value) in details {
                if !skip(key, value) {
                    others.insert(key.clone(), value.clone());
                }
            }
        }
        (None, Some(Value::Object(top))) => {
            const SHOWN: [&str; 7] = [
                "error",
                "code",
                "message",
                "error_description",
                "requestId",
                "request_id",
                "detail",
            ];
            for (key, value) in top {
                if !SHOWN.contains(&key.as_str()) && !skip(key, value) {
                    others.insert(key.clone(), value.clone());
                }
            }
        }
        _ => {}
    }
    if !others.is_empty() {
        let compact = Value::Object(others).to_string();
        lines.push(format!(
            "Details: {}",
            crate::text::truncate_chars(&compact, 600)
        ));
    }
    if let Some(id) = body.request_id() {
        lines.push(format!(
            "Request id: {id} (quote it when contacting OpenTrain support)."
        ));
    }
    if let Some(hint) = hint.or_else(|| next_step(status, body, retry_after, config)) {
        lines.push(format!("What to do: {hint}"));
    }
    lines.join("\n")
}

/// A number the error gives about a limit (`limit`, `windowHours`, `retryAfter`…), in its
/// `details` or anywhere else in the body.
pub fn error_number(body: &ErrorBody, keys: &[&str]) -> Option<f64> {
    let v = body.json()?;
    let places: Vec<String> = keys
        .iter()
        .flat_map(|k| [format!("/details/{k}"), format!("/error/details/{k}")])
        .collect();
    let places: Vec<&str> = places.iter().map(String::as_str).collect();
    result::links::find(v, &places, keys, |n| {
        n.as_f64().is_some_and(|n| n.is_finite() && n >= 0.0)
    })
    .and_then(Value::as_f64)
}

/// A number as the docs write it: `24`, `1.5`.
fn num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// The limit and window a 429 states, e.g. ` (limit 3 per 24 h)`.
pub fn rate_limit_terms(body: &ErrorBody) -> String {
    let limit = error_number(body, &["limit"]);
    let window = error_number(body, &["windowHours"]);
    match (limit, window) {
        (Some(l), Some(w)) => format!(" (limit {} per {} h)", num(l), num(w)),
        (None, Some(w)) => format!(" (counted over {} h)", num(w)),
        (Some(l), None) => format!(" (limit {})", num(l)),
        (None, None) => String::new(),
    }
}

/// When to retry after a 429: what `Retry-After` says, else what the answer says (a number of
/// seconds, or the window the limit is counted over), else a plain back-off.
pub fn rate_limit_wait(body: &ErrorBody, retry_after: Option<u64>) -> String {
    if let Some(secs) = retry_after {
        return format!("wait {secs} s (Retry-After; retry_after_seconds) before retrying");
    }
    if let Some(secs) = error_number(
        body,
        &["retryAfterSeconds", "retryAfter", "retry_after_seconds"],
    ) {
        return format!("wait {} s (as the answer says) before retrying", num(secs));
    }
    if let Some(hours) = error_number(body, &["windowHours"]) {
        return format!(
            "the limit is counted over a {} h window, so an immediate retry fails again: \
             retry later, once the window has moved past earlier calls (up to {} h)",
            num(hours),
            num(hours)
        );
    }
    "the answer gave no Retry-After and no window: back off (a minute, then longer) before \
     retrying"
        .to_owned()
}

fn detail_str<'a>(body: &'a ErrorBody, key: &str) -> Option<&'a str> {
    body.details()?.get(key)?.as_str()
}

fn detail_list(body: &ErrorBody, key: &str) -> Option<String> {
    let items = body.details()?.get(key)?.as_array()?;
    Some(
        items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
    )
}

/// The documented way out of a failure, keyed by `details.reason`, the OAuth `error`, then the
/// status.
fn next_step(
    status: u16,
    body: &ErrorBody,
    retry_after: Option<u64>,
    config: &Config,
) -> Option<String> {
    let claim = "This agent account has not been claimed by a human yet. Ask your human for \
                 their email address, call opentrain_claim_account with it, relay the link and \
                 code it returns, then poll opentrain_claim_status until it reports the account \
                 claimed, and retry.";
    if status == 429 {
        return Some(format!(
            "Rate limited{}: {}.",
            rate_limit_terms(body),
            rate_limit_wait(body, retry_after)
        ));
    }
    if let Some(reason) = body.reason() {
        let hint = match reason {
            "account_claim_required" => claim.to_owned(),
            "payment_method_required" => match body
                .json()
                .and_then(|v| result::links::url(v, &["/details/billingUrl"], &["billingUrl"]))
            {
                Some(url) => format!(
                    "No payment method or credit balance covers this. Give your human {url} to \
                     add a card or top up credits (or use opentrain_create_credit_top_up), then \
                     retry."
                ),
                None => "No payment method or credit balance covers this, and the answer gave \
                         no billing link: your human adds a card or tops up credits in the \
                         OpenTrain app (or use opentrain_create_credit_top_up), then retry."
                    .to_owned(),
            },
            "not_fit_confirmation_required" => "This proposal is marked \"Not a fit\". Retry with \
                 confirmNotFitOverride: true only if your human really intends to hire this \
                 candidate."
                .to_owned(),
            "already_accepted" => "The proposal was already hired; find its contract with \
                 opentrain_list_contracts."
                .to_owned(),
            "moderation_blocked" if detail_str(body, "status") == Some("DRAFT") => {
                "The edit was saved, but moderation rejected it and the job was unpublished back \
                 to DRAFT (see the reasons above). Fix those fields with \
                 opentrain_update_job_draft_fields, then opentrain_publish_job again."
                    .to_owned()
            }
            "moderation_blocked" => "Moderation blocked the listing (see the reasons above). Edit \
                 the offending fields with opentrain_update_job_draft_fields, then publish again."
                .to_owned(),
            "teams_not_enabled" => "Employer teams are not enabled for this account.".to_owned(),
            "invite_email_send_failed" => {
                "The invitation email could not be sent; retry later.".to_owned()
            }
            "employer_first_message_required" => "Only the employer can open a proposal \
                 thread; this token acts as the candidate."
                .to_owned(),
            "proposal_not_ready_for_messaging" => "This proposal cannot be messaged yet (it \
                 lacks an invited user or a linked job)."
                .to_owned(),
            "job_not_published" => "Publish the job first with opentrain_publish_job.".to_owned(),
            "not_a_freelancer" => "That user is not an AI trainer; check the id.".to_owned(),
            "freelancer_unavailable" => "That AI trainer cannot be invited right now.".to_owned(),
            "contract_ended" => "The contract has already ended.".to_owned(),
            "milestone_not_funded" => "The milestone is not funded yet: request funding with \
                 opentrain_request_milestone_funding first."
                .to_owned(),
            "milestone_not_fundable" => "This milestone cannot be funded in its current state \
                 (already funded, paid or cancelled); check it with opentrain_get_contract."
                .to_owned(),
            _ => String::new(),
        };
        if !hint.is_empty() {
            return Some(hint);
        }
    }
    if let Some(error) = body.oauth_error() {
        let hint = match error {
            "expired_token" => {
                "The ~24 h claim window has closed; this account can no longer \
                 be claimed. Register a new account with opentrain_register_agent (force: true) \
                 and start the claim again."
            }
            "invalid_grant" => {
                "The claim token is unknown, or the claimed account's token was \
                 already delivered (it is delivered only once). If this server received it, \
                 opentrain_auth_status shows the claimed account; otherwise a human must mint a \
                 token in the OpenTrain app (Settings → API keys)."
            }
            "unsupported_grant_type" => {
                "The token endpoint rejected the grant type; this is a \
                 bug in opentrain-mcp, please report it."
            }
            "invalid_request" => {
                "The request was missing or had an invalid claim token or email \
                 (see the description above); an email that already has an OpenTrain account \
                 cannot claim an agent account."
            }
            "anonymous_not_enabled" => {
                "Anonymous agent registration is disabled on this \
                 OpenTrain environment; a human must create a token in the app instead."
            }
            "rate_limit_exceeded" => "Too many attempts; wait a few minutes before trying again.",
            "unsupported_identity_type" => "Only anonymous registration is supported.",
            _ => "",
        };
        if !hint.is_empty() {
            return Some(hint.to_owned());
        }
    }
    match status {
        401 => Some(format!(
            "The token was rejected (missing, invalid, expired or revoked). It comes from {} \
             when set, else from the credentials file{}. A human can mint a new one in the \
             OpenTrain app (Settings → API keys); an agent without one can call \
             opentrain_register_agent.",
            config::ENV_TOKEN,
            config
                .path()
                .map(|p| format!(" {}", p.display()))
                .unwrap_or_default()
        )),
        403 => {
            if let Some(feature) = detail_str(body, "featureKey") {
                Some(format!(
                    "The {feature} feature is not enabled for this account; \
                     opentrain_capabilities shows which features are."
                ))
            } else if let Some(scopes) = detail_list(body, "requiredScopes") {
                Some(format!(
                    "The token lacks the scope(s) {scopes}. Agent-registered tokens never carry \
                     payments:write or webhooks:manage; a human can mint a token with them in \
                     the OpenTrain app (Settings → API keys)."
                ))
            } else {
                Some(
                    "The token is not allowed to do this (scope, feature flag or ownership); \
                     opentrain_auth_status shows its scopes."
                        .to_owned(),
                )
            }
        }
        404 => Some(
            "Not found, or it belongs to another account. Check the id (the list tools show \
             valid ones)."
                .to_owned(),
        ),
        409 => Some("The resource is not in a state that allows this (see above).".to_owned()),
        500..=599 => Some(
            "OpenTrain had a server error; try again shortly. For a write, check whether it \
             took effect before repeating it."
                .to_owned(),
        ),
        _ => None,
    }
}
