//! Pending payments: funding invoices waiting for the human's confirmation.

use serde_json::{Value, json};

use super::{Ctx, Handler, Reply, Req, Route, usd};
use crate::sandbox::store::Tx;

pub const ROUTES: &[Route] = &[Route::new(
    "GET",
    "/api/public/v1/payments/pending",
    Handler::Authed(pending),
)];

fn pending(tx: &mut Tx, ctx: &Ctx, _r: &Req) -> Reply {
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
}
