//! Tokens: the account's API tokens, listed and revoked.
//!
//! | tool | request |
//! |---|---|
//! | `opentrain_list_tokens` | `GET /tokens` |
//! | `opentrain_revoke_token` | `DELETE /tokens/{tokenId}` |
//!
//! The API only ever shows a token as its `preview` (`ot_pat_c3f9********bd21`: the first four
//! characters after the prefix and the last four). Comparing those eight characters with the token
//! this server sends tells whether a listed or revoked token is our own, without ever printing it.

use rmcp::model::CallToolResult;
use rmcp::schemars::{self, JsonSchema};
use rmcp::{tool, tool_router};
use serde::Deserialize;
use serde_json::Value;

use super::result::links;
use super::summary::{self, joined, text, text_or};
use super::{Args, schema};
use crate::api::Request;
use crate::config::{ENV_TOKEN, TokenSource};
use crate::secret::Secret;
use crate::server::OpenTrain;
use crate::validate::Id;

const PAT_PREFIX: &str = "ot_pat_";

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RevokeTokenArgs {
    /// Token record id from opentrain_list_tokens (not the ot_pat_ secret).
    token_id: Id,
}

/// The first and last four characters after `ot_pat_`.
fn ends(rest: &str) -> Option<(String, String)> {
    let chars: Vec<char> = rest.chars().collect();
    if chars.len() < 8 {
        return None;
    }
    Some((
        chars[..4].iter().collect(),
        chars[chars.len() - 4..].iter().collect(),
    ))
}

/// Whether a masked `preview` (`ot_pat_c3f9********bd21`) shows the given token.
fn preview_matches(preview: &str, token: &Secret) -> bool {
    let (Some(shown), Some(raw)) = (
        preview.strip_prefix(PAT_PREFIX),
        token.expose().strip_prefix(PAT_PREFIX),
    ) else {
        return false;
    };
    // The token must be long enough for the preview to hide something of it.
    if raw.chars().count() < 12 || !shown.contains('*') {
        return false;
    }
    matches!((ends(shown), ends(raw)), (Some(a), Some(b)) if a == b)
}

fn is_ours(record: &Value, ours: Option<&Secret>) -> bool {
    match (text(record, "/preview"), ours) {
        (Some(preview), Some(token)) => preview_matches(&preview, token),
        _ => false,
    }
}

/// One token on one line: name, id, preview, status, scopes, last use.
fn token_line(record: &Value, ours: Option<&Secret>) -> String {
    let mut line = format!(
        "\"{}\" {} {} {}; scopes {}; last used {}",
        text_or(record, "/name", "(unnamed)"),
        super::summary::item_id(record, &["tokenId"])
            .unwrap_or_else(|| "(no id in the answer)".to_owned()),
        text_or(record, "/preview", "(no preview)"),
        text_or(record, "/status", "status not stated"),
        joined(record, "/scopes"),
        text_or(record, "/lastUsedAt", "never"),
    );
    if let Some(expires) = text(record, "/expiresAt") {
        line.push_str(&format!("; expires {expires}"));
    }
    if is_ours(record, ours) {
        line.push_str(" ← the token this server uses (revoking it breaks every later call)");
    }
    line
}

fn revoked_summary(
    body: &Value,
    asked: &Id,
    ours: Option<&Secret>,
    source: &TokenSource,
) -> String {
    let record = links::object(body, &["/token"], &["token"]).unwrap_or(body);
    let mut out = format!(
        "Revoked token \"{}\" ({}, {}; scopes {}): status {} since {}. It stopped working \
         immediately; this cannot be undone.",
        text_or(record, "/name", "(unnamed)"),
        text(record, "/id").unwrap_or_else(|| asked.to_string()),
        text_or(record, "/preview", "no preview"),
        joined(record, "/scopes"),
        text_or(record, "/status", "revoked"),
        text_or(record, "/revokedAt", "now"),
    );
    if is_ours(record, ours) && *source == TokenSource::Request {
        out.push_str(
            "\nWARNING: this was the token this request carried (its Authorization header). \
             Every further OpenTrain call with it will fail with 401: your human must mint a new \
             one in the OpenTrain app (Settings → API keys) and put it in the MCP client's \
             configuration for this server.",
        );
    } else if is_ours(record, ours) {
        out.push_str(&format!(
            "\nWARNING: this was the token this MCP server uses (from {source}). Every further \
             OpenTrain call will fail with 401 until a new token is configured: your human must \
             mint one in the OpenTrain app (Settings → API keys) and set it in {ENV_TOKEN} or \
             the credentials file."
        ));
    }
    out
}

#[tool_router(router = tokens_router, vis = "pub(crate)")]
impl OpenTrain {
    /// List the account's API tokens (active, expired, revoked) with masked previews, scopes, status and last use; the one this server uses is marked. Find a tokenId here before revoking. Requires any valid token. Wraps GET /tokens.
    #[tool(
        name = "opentrain_list_tokens",
        title = "List API tokens",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_tokens(&self) -> CallToolResult {
        let ours = self.settings().ok().and_then(|s| s.token);
        self.run(Request::get("/tokens"), move |b| {
            summary::list(b, "/tokens", ("token", "tokens"), |t| {
                token_line(t, ours.as_ref())
            })
        })
        .await
    }

    /// Revoke an API token by id, at once and for good. Revoking the token this server uses makes every later call fail until a new one is configured: check opentrain_list_tokens first. Requires any valid token. Wraps DELETE /tokens/{tokenId}.
    #[tool(
        name = "opentrain_revoke_token",
        title = "Revoke an API token",
        input_schema = schema::<RevokeTokenArgs>(),
        annotations(
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn revoke_token(&self, Args(a): Args<RevokeTokenArgs>) -> CallToolResult {
        let (ours, source) = match self.settings() {
            Ok(s) => (s.token, s.token_source),
            Err(_) => (None, TokenSource::None),
        };
        let req = Request::delete("/tokens/{tokenId}").id("tokenId", &a.token_id);
        self.run(req, move |b| {
            revoked_summary(b, &a.token_id, ours.as_ref(), &source)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> Secret {
        Secret::new(s).unwrap()
    }

    #[test]
    fn previews_match_on_first_and_last_four() {
        let ours = secret("ot_pat_a1b2c3d4_S3cr3tS3cr3tS3cr3tS3cr3t9f2c");
        assert!(preview_matches("ot_pat_a1b2********9f2c", &ours));
        assert!(!preview_matches("ot_pat_a1b2********9f2d", &ours));
        assert!(!preview_matches("ot_pat_a1b3********9f2c", &ours));
        assert!(!preview_matches("ot_pat_91ab********77e2", &ours));
        assert!(!preview_matches("a1b2********9f2c", &ours));
        assert!(!preview_matches("ot_pat_a1b2", &ours));
        // A token too short to be hidden by a preview never matches.
        assert!(!preview_matches(
            "ot_pat_abcd****wxyz",
            &secret("ot_pat_abcdwxyz")
        ));
        // Nor does a "preview" that is the whole token.
        assert!(!preview_matches(ours.expose(), &ours));
    }
}
