//! Pending payments: funding invoices waiting for the human's confirmation.

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::{App, usd};

pub fn routes() -> Router<App> {
    Router::new().route("/payments/pending", get(pending))
}

async fn pending(State(app): State<App>, headers: HeaderMap) -> Response {
    app.authed(&headers, |tx, ctx| {
        ctx.need(&["payments:read"])?;
        let mut items = Vec::new();
        for i in tx.list("invoices", "account", &ctx.account_id)? {
            if i["status"] != "PENDING_FUNDING" {
                continue;
            }
            let job = tx
                .get("jobs", i["jobId"].as_str().unwrap_or_default())?
                .unwrap_or(Value::Null);
            let m = tx
                .get("milestones", i["milestoneId"].as_str().unwrap_or_default())?
                .unwrap_or(Value::Null);
            items.push(json!({
                "id": i["id"], "status": "PENDING_FUNDING", "invoiceKind": "FUNDING",
                "viewerRole": "EMPLOYER", "amountUsd": usd(i["amountCents"].as_i64().unwrap_or(0)),
                "createdAt": super::iso(&i["createdAt"]), "invoiceNumber": i["invoiceNumber"],
                "job": {"id": i["jobId"], "title": job["fields"]["jobTitle"]},
                "milestone": {"id": i["milestoneId"], "name": m["name"]},
            }));
        }
        Ok((200, json!({"payments": items})))
    })
    .await
}
