//! Payments: pending payments.
//!
//! | tool | request |
//! |---|---|
//! | `opentrain_list_pending_payments` | `GET /payments/pending` |
//!
//! Amounts here are dollars (`amountUsd`), unlike the credits endpoints, which count cents.

use rmcp::model::CallToolResult;
use rmcp::{tool, tool_router};
use serde_json::Value;

use super::summary::{self, text, usd};
use crate::api::Request;
use crate::server::OpenTrain;

#[tool_router(router = payments_router, vis = "pub(crate)")]
impl OpenTrain {
    /// List incomplete invoices, newest first: funding awaiting payment and payouts in flight, with amount, job and milestone. Read-only: never pays, releases or refunds. Requires payments:read. Wraps GET /payments/pending.
    #[tool(
        name = "opentrain_list_pending_payments",
        title = "List pending payments",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_pending_payments(&self) -> CallToolResult {
        self.run(Request::get("/payments/pending"), pending_summary)
            .await
    }
}

fn pending_summary(b: &Value) -> String {
    let mut out = summary::list(
        b,
        "/payments",
        ("pending payment", "pending payments"),
        |p| {
            let mut line = match text(p, "/invoiceNumber") {
                Some(n) => format!("Invoice #{n}"),
                None => "Invoice".to_owned(),
            };
            if let Some(id) = super::summary::item_id(p, &["invoiceId"]) {
                line.push_str(&format!(" ({id})"));
            }
            let facts: Vec<String> = [text(p, "/status"), text(p, "/invoiceKind")]
                .into_iter()
                .flatten()
                .chain([usd(p, "/amountUsd")])
                .collect();
            line.push_str(&format!(": {}", facts.join(", ")));
            if let Some(title) = text(p, "/job/title") {
                line.push_str(&format!(" — job \"{title}\""));
            }
            if let Some(name) = text(p, "/milestone/name") {
                line.push_str(&format!(", milestone \"{name}\""));
            }
            line
        },
    );
    let all = super::result::links::list(b, "/payments", &["payments"]).unwrap_or_default();
    if all.iter().any(|p| p["status"] == "PENDING_FUNDING") {
        out.push_str(
            "\nPENDING_FUNDING: a funding invoice waits on your side; it settles through your \
             human's co-sign approval (track it with opentrain_get_approval or \
             opentrain_poll_updates).",
        );
    }
    out
}
