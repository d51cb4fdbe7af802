//! Credits: balance, ledger, and top-ups a human pays on the local checkout page.

use serde_json::{Value, json};

use super::{ApiErr, Ctx, Handler, Reply, Req, Route, json_object, page};
use crate::sandbox::clock::{self, DAY};
use crate::sandbox::store::Tx;

pub const ROUTES: &[Route] = &[
    Route::new("GET", "/api/public/v1/credits", Handler::Authed(balance)),
    Route::new(
        "GET",
        "/api/public/v1/credits/ledger",
        Handler::Authed(ledger),
    ),
    Route::new(
        "POST",
        "/api/public/v1/credits/top-ups",
        Handler::Authed(create_top_up),
    ),
    Route::new(
        "GET",
        "/api/public/v1/credits/top-ups/{top_up_id}",
        Handler::Authed(get_top_up),
    ),
];

pub fn entry_shape(e: &Value) -> Value {
    json!({
        "id": e["id"], "type": e["type"], "amountCents": e["amountCents"],
        "createdAt": super::iso(&e["createdAt"]), "holdEntryId": e["holdEntryId"],
        "jobofferId": e["jobofferId"], "contractId": e["contractId"],
        "milestoneId": e["milestoneId"], "topUpId": e["topUpId"], "note": e["note"],
    })
}

pub fn top_up_shape(t: &Value) -> Value {
    json!({
        "id": t["id"], "status": t["status"], "amountCents": t["amountCents"],
        "createdAt": super::iso(&t["createdAt"]), "completedAt": super::iso(&t["completedAt"]),
        "expiresAt": super::iso(&t["expiresAt"]),
    })
}

pub fn checkout_url(base: &str, id: &str) -> String {
    format!("{base}/checkout/{id}")
}

/// A PENDING top-up past its 24 hours is EXPIRED.
pub fn expire_top_ups(tx: &Tx, account_id: &str) -> rusqlite::Result<()> {
    for mut t in tx.list("top_ups", "account", account_id)? {
        if t["status"] == "PENDING" && t["expiresAt"].as_i64().is_some_and(|e| e <= tx.now) {
            t["status"] = json!("EXPIRED");
            tx.save("top_ups", t["id"].as_str().unwrap_or_default(), &t)?;
        }
    }
    Ok(())
}

/// The human pays (`pay`) or cancels a top-up on the checkout page.
pub fn finish_top_up(tx: &Tx, id: &str, pay: bool) -> Result<(), String> {
    let db = |e: rusqlite::Error| e.to_string();
    let mut t = tx
        .get("top_ups", id)
        .map_err(db)?
        .ok_or("No such top-up.")?;
    let account_id = t["account"].as_str().unwrap_or_default().to_owned();
    expire_top_ups(tx, &account_id).map_err(db)?;
    t = tx
        .get("top_ups", id)
        .map_err(db)?
        .ok_or("No such top-up.")?;
    if t["status"] != "PENDING" {
        return Err(format!(
            "This top-up is {}; the agent can create a new one.",
            t["status"].as_str().unwrap_or("closed")
        ));
    }
    if pay {
        t["status"] = json!("COMPLETED");
        t["completedAt"] = json!(tx.now);
        super::contracts::top_up_entry(tx, &account_id, id, t["amountCents"].as_i64().unwrap_or(0))
            .map_err(db)?;
    } else {
        t["status"] = json!("CANCELED");
    }
    tx.save("top_ups", id, &t).map_err(db)
}

fn balance(tx: &mut Tx, ctx: &Ctx, _r: &Req) -> Reply {
    ctx.need(&["payments:read"])?;
    let account = tx.get("accounts", &ctx.account_id)?.unwrap_or(Value::Null);
    let recent: Vec<Value> = tx
        .list("ledger", "account", &ctx.account_id)?
        .iter()
        .take(10)
        .map(entry_shape)
        .collect();
    Ok((
        200,
        json!({"credits": {
            "availableCents": account["availableCents"].as_i64().unwrap_or(0),
            "reservedCents": account["reservedCents"].as_i64().unwrap_or(0),
            "currency": "usd",
            "recentEntries": recent,
        }}),
    ))
}

fn ledger(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let q = &r.query;
    ctx.need(&["payments:read"])?;
    let limit = q.limit(50, 100)?;
    let all = tx.list("ledger", "account", &ctx.account_id)?;
    let (shown, next) = page(all, q.get("cursor"), limit, |e| {
        e["id"].as_str().unwrap_or_default().to_owned()
    })?;
    Ok((
        200,
        json!({"entries": shown.iter().map(entry_shape).collect::<Vec<_>>(), "nextCursor": next}),
    ))
}

fn create_top_up(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let body: &[u8] = &r.body;
    ctx.need_claimed("buy credits")?;
    ctx.need(&["payments:write"])?;
    let b = json_object(body, false)?;
    let amount = b
        .get("amountUsd")
        .or_else(|| b.get("amount"))
        .and_then(Value::as_f64)
        .filter(|a| (10.0..=10_000.0).contains(a))
        .ok_or_else(|| {
            ApiErr::bad(
                "amountUsd",
                "amountUsd must be a number from 10 to 10,000 (USD).",
            )
        })?;
    let id = tx.new_id("tup")?;
    let t = json!({
        "id": id, "account": ctx.account_id, "status": "PENDING",
        "amountCents": super::cents(amount), "createdAt": tx.now, "completedAt": null,
        "expiresAt": tx.now + DAY,
    });
    tx.put("top_ups", &id, Some(&ctx.account_id), None, &t)?;
    Ok((
        201,
        json!({
            "topUpId": id,
            "checkoutUrl": checkout_url(&ctx.base, &id),
            "expiresAt": clock::iso(tx.now + DAY),
            "topUp": top_up_shape(&t),
            "message": "Top-up created. Show checkoutUrl to your human so they can complete the payment; then poll the top-up until it is COMPLETED.",
        }),
    ))
}

fn get_top_up(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let id = r.param().to_owned();
    ctx.need(&["payments:read"])?;
    let t = tx
        .get("top_ups", &id)?
        .filter(|t| t["account"] == ctx.account_id.as_str())
        .ok_or_else(|| {
            ApiErr::new(404, "No such top-up.")
                .detail("resource", "credit-top-ups")
                .detail("topUpId", id.as_str())
        })?;
    Ok((200, json!({"topUp": top_up_shape(&t)})))
}
