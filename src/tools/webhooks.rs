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

use super::result::links;
use super::summary::{self, joined, text, text_or};
use super::{Args, schema};
use crate::api::Request;
use crate::server::OpenTrain;
use crate::validate::{Id, NonEmptyList, WebhookUrl};

#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateWebhookArgs {
    /// https endpoint for signed POST deliveries, e.g. "https://example.com/hooks/opentrain" (http only to localhost, for development).
    url: WebhookUrl,
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
    let status = text_or(webhook, "/status", "status not stated");
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
        super::summary::item_id(webhook, &["webhookId"])
            .unwrap_or_else(|| "(no id in the answer)".to_owned()),
        status(webhook),
        text_or(webhook, "/url", "(url not in the answer)"),
        joined(webhook, "/eventTypes"),
    )
}

/// The subscription object of an answer: under `webhook` (documented), under another key, or
/// the answer itself when flat.
fn webhook_of(body: &Value) -> &Value {
    links::object(body, &["/webhook"], &["webhook", "subscription"]).unwrap_or(body)
}

/// One subscription in detail.
fn webhook_detail(webhook: &Value, asked: &Id) -> String {
    let mut out = format!(
        "Webhook {}: {}\nURL: {}\nEvent types: {}\nCreated {}.",
        text(webhook, "/id").unwrap_or_else(|| asked.to_string()),
        status(webhook),
        text_or(webhook, "/url", "not in the answer"),
        joined(webhook, "/eventTypes"),
        text_or(webhook, "/createdAt", "at an unrecorded time"),
    );
    if is_disabled(webhook) {
        out.push('\n');
        out.push_str(REVIVE);
    }
    out
}

fn created_summary(body: &Value, asked: &CreateWebhookArgs) -> String {
    let hook = webhook_of(body);
    let url = text(hook, "/url").unwrap_or_else(|| asked.url.to_string());
    let events = if summary::strings(hook, "/eventTypes").is_empty() {
        asked.event_types.as_slice().join(", ")
    } else {
        joined(hook, "/eventTypes")
    };
    let status = text(hook, "/status")
        .map(|s| format!(" ({s})"))
        .unwrap_or_default();
    let head = match links::text(hook, &["/id"], &["webhookId"]) {
        Some(id) => format!("Webhook {id} created{status} for {url} on: {events}."),
        None => format!(
            "Webhook created{status} for {url} on: {events}. The answer gives no webhook id \
             (opentrain_list_webhooks shows it). {}",
            links::what_it_says(body)
        ),
    };
    let secret = match links::text(body, &["/secret"], &["secret", "signingSecret"]) {
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
        self.run(Request::post("/webhooks").json(&a), |b| {
            created_summary(b, &a)
        })
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
            let all = links::list(b, "/webhooks", &["webhooks"]).unwrap_or_default();
            if all.iter().any(is_disabled) {
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
        self.run(req, |b| webhook_detail(webhook_of(b), &a.webhook_id))
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
            let hook = webhook_of(b);
            let mut about = Vec::new();
            if let Some(url) = text(hook, "/url") {
                about.push(url);
            }
            if let Some(status) = text(hook, "/status") {
                about.push(format!("was {status}"));
            }
            let events = summary::strings(hook, "/eventTypes");
            if !events.is_empty() {
                about.push(format!("events: {}", events.join(", ")));
            }
            format!(
                "Deleted webhook {}{}. Deliveries have stopped and its delivery history is gone. \
                 To receive pushes again, create a new webhook with opentrain_create_webhook (it \
                 gets a new secret).",
                text(hook, "/id").unwrap_or_else(|| a.webhook_id.to_string()),
                if about.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", about.join("; "))
                },
            )
        })
        .await
    }
}
