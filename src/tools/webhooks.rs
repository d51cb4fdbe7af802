//! Webhooks: push subscriptions for the account's events.
//!
//! | tool | request |
//! |---|---|
//! | `opentrain_create_webhook` | `POST /webhooks` `{"url","eventTypes"}` |
//! | `opentrain_list_webhooks` | `GET /webhooks` |
//! | `opentrain_get_webhook` | `GET /webhooks/{webhookId}` |
//! | `opentrain_delete_webhook` | `DELETE /webhooks/{webhookId}` |
//!
//! The `whsec_…` signing secret is OpenTrain's answer to the subscriber, not one of our
//! credentials: it appears once, in the create result, and the summary says to store it now.

use rmcp::model::CallToolResult;
use rmcp::schemars::{self, JsonSchema};
use rmcp::{tool, tool_router};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::summary::{self, joined, text, text_or};
use super::{Args, schema};
use crate::api::Request;
use crate::server::OpenTrain;
use crate::validate::{HttpsUrl, Id, NonEmptyList};

#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateWebhookArgs {
    /// Public https endpoint for signed POST deliveries, e.g. "https://example.com/hooks/opentrain".
    url: HttpsUrl,
    /// At least one of: proposal.received, proposal.status_changed, message.received, contract.created, milestone.status_changed, payment.pending, approval.confirmed, contract.budget_state_changed.
    event_types: NonEmptyList,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookIdArgs {
    /// Webhook subscription id, from opentrain_list_webhooks.
    webhook_id: Id,
}

/// The way back from a disabled subscription.
const REVIVE: &str = "A DISABLED webhook cannot be re-enabled: delete it with \
                      opentrain_delete_webhook, fix the endpoint, create a new one (new secret), \
                      then catch up on missed events with opentrain_poll_updates.";

fn is_disabled(webhook: &Value) -> bool {
    text(webhook, "/status").as_deref() == Some("DISABLED")
}

/// `ACTIVE`, or `DISABLED since <when> (<why>)`.
fn status(webhook: &Value) -> String {
    let status = text_or(webhook, "/status", "?");
    if !is_disabled(webhook) {
        return status;
    }
    format!(
        "{status} since {} ({})",
        text_or(webhook, "/disabledAt", "an unrecorded time"),
        text_or(webhook, "/disabledReason", "no reason given"),
    )
}

/// One subscription on one line: id, status, url, event types.
fn webhook_line(webhook: &Value) -> String {
    format!(
        "{} {} {} — {}",
        text_or(webhook, "/id", "?"),
        status(webhook),
        text_or(webhook, "/url", "(no url)"),
        joined(webhook, "/eventTypes"),
    )
}

/// One subscription in detail.
fn webhook_detail(webhook: &Value) -> String {
    let mut out = format!(
        "Webhook {}: {}\nURL: {}\nEvent types: {}\nCreated {}.",
        text_or(webhook, "/id", "?"),
        status(webhook),
        text_or(webhook, "/url", "(no url)"),
        joined(webhook, "/eventTypes"),
        text_or(webhook, "/createdAt", "at an unrecorded time"),
    );
    if is_disabled(webhook) {
        out.push('\n');
        out.push_str(REVIVE);
    }
    out
}

fn created_summary(body: &Value) -> String {
    let hook = body.get("webhook").unwrap_or(&Value::Null);
    let head = format!(
        "Webhook {} created ({}) for {} on: {}.",
        text_or(hook, "/id", "?"),
        text_or(hook, "/status", "?"),
        text_or(hook, "/url", "(no url)"),
        joined(hook, "/eventTypes"),
    );
    let secret = match text(body, "/secret") {
        Some(secret) => format!(
            "Signing secret: {secret}\n\
             Store this secret now (e.g. in the receiver's secret store): it is shown only this \
             once and is never returned again. It verifies the X-OpenTrain-Signature header \
             (t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\">). If it is lost, \
             delete this webhook and create a new one."
        ),
        None => "The answer carried no signing secret, and it is never returned later: delete \
                 this webhook and create a new one to get a secret."
            .to_owned(),
    };
    format!(
        "{head}\n{secret}\nOnly events from now on are delivered; opentrain_poll_updates has \
         earlier ones."
    )
}

#[tool_router(router = webhooks_router, vis = "pub(crate)")]
impl OpenTrain {
    /// Subscribe an https URL to account events, sent as signed POSTs (HMAC-SHA256). The signing secret is in this result only: store it now. Only later events are sent; max 10 per account. Requires webhooks:manage, feature public_api_webhooks, each event type's read scope. Wraps POST /webhooks.
    #[tool(
        name = "opentrain_create_webhook",
        title = "Create a webhook",
        input_schema = schema::<CreateWebhookArgs>(),
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn create_webhook(&self, Args(a): Args<CreateWebhookArgs>) -> CallToolResult {
        self.run(Request::post("/webhooks").json(&a), created_summary)
            .await
    }

    /// List the webhook subscriptions (at most 10): url, event types, status, and why one was disabled. Signing secrets are never shown. Requires webhooks:manage + feature public_api_webhooks. Wraps GET /webhooks.
    #[tool(
        name = "opentrain_list_webhooks",
        title = "List webhooks",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_webhooks(&self) -> CallToolResult {
        self.run(Request::get("/webhooks"), |b| {
            let mut out = summary::list(b, "/webhooks", ("webhook", "webhooks"), webhook_line);
            if summary::items(b, "/webhooks").iter().any(is_disabled) {
                out.push('\n');
                out.push_str(REVIVE);
            }
            out
        })
        .await
    }

    /// Read one webhook: url, event types, status (ACTIVE, or DISABLED with when and why; delete and re-create to revive). The secret is never returned. Requires webhooks:manage + feature public_api_webhooks. Wraps GET /webhooks/{webhookId}.
    #[tool(
        name = "opentrain_get_webhook",
        title = "Get a webhook",
        input_schema = schema::<WebhookIdArgs>(),
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn get_webhook(&self, Args(a): Args<WebhookIdArgs>) -> CallToolResult {
        let req = Request::get("/webhooks/{webhookId}").id("webhookId", &a.webhook_id);
        self.run(req, |b| {
            webhook_detail(b.get("webhook").unwrap_or(&Value::Null))
        })
        .await
    }

    /// Delete a webhook subscription for good; deliveries stop at once. It is also how to replace a lost secret or revive a DISABLED webhook: delete, then create anew. Requires webhooks:manage + feature public_api_webhooks. Wraps DELETE /webhooks/{webhookId}.
    #[tool(
        name = "opentrain_delete_webhook",
        title = "Delete a webhook",
        input_schema = schema::<WebhookIdArgs>(),
        annotations(
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn delete_webhook(&self, Args(a): Args<WebhookIdArgs>) -> CallToolResult {
        let req = Request::delete("/webhooks/{webhookId}").id("webhookId", &a.webhook_id);
        self.run(req, |b| {
            let hook = b.get("webhook").unwrap_or(&Value::Null);
            format!(
                "Deleted webhook {} ({}, was {}; events: {}). Deliveries have stopped and its \
                 delivery history is gone. To receive pushes again, create a new webhook with \
                 opentrain_create_webhook (it gets a new secret).",
                text_or(hook, "/id", "?"),
                text_or(hook, "/url", "no url"),
                text_or(hook, "/status", "?"),
                joined(hook, "/eventTypes"),
            )
        })
        .await
    }
}
