//! Webhook subscriptions (at most 10 per account). Deliveries: see `sandbox::events`.

use serde_json::{Value, json};

use super::{ApiErr, Ctx, Handler, Reply, Req, Route, json_object};
use crate::sandbox::events::{self, TYPES};
use crate::sandbox::random_hex;
use crate::sandbox::store::Tx;

const MAX_WEBHOOKS: usize = 10;

pub const ROUTES: &[Route] = &[
    Route::new("GET", "/api/public/v1/webhooks", Handler::Authed(list)),
    Route::new("POST", "/api/public/v1/webhooks", Handler::Authed(create)),
    Route::new(
        "GET",
        "/api/public/v1/webhooks/{webhook_id}",
        Handler::Authed(get_one),
    ),
    Route::new(
        "DELETE",
        "/api/public/v1/webhooks/{webhook_id}",
        Handler::Authed(delete),
    ),
];

pub fn shape(h: &Value) -> Value {
    json!({
        "id": h["id"], "url": h["url"], "eventTypes": h["eventTypes"], "status": h["status"],
        "createdAt": super::iso(&h["createdAt"]), "disabledAt": h["disabledAt"],
        "disabledReason": h["disabledReason"],
    })
}

fn check_url(raw: &str) -> Result<String, ApiErr> {
    let bad = |m: &str| ApiErr::bad("url", m.to_owned());
    if raw.len() > 2048 {
        return Err(bad("url must be at most 2048 characters."));
    }
    let url = url::Url::parse(raw.trim()).map_err(|_| bad("url must be an absolute URL."))?;
    let local = events::loopback_target(url.as_str()).is_some();
    match url.scheme() {
        "https" => {}
        "http" if local => {}
        _ => return Err(bad("url must use https (plain http only for localhost).")),
    }
    Ok(raw.trim().to_owned())
}

fn own(tx: &Tx, ctx: &Ctx, id: &str) -> Result<Value, ApiErr> {
    tx.get("webhooks", id)?
        .filter(|h| h["account"] == ctx.account_id.as_str())
        .ok_or_else(|| ApiErr::not_found("webhooks", "webhookId", id))
}

fn create(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let body: &[u8] = &r.body;
    ctx.need(&["webhooks:manage"])?;
    let b = json_object(body, false)?;
    let url = check_url(b.get("url").and_then(Value::as_str).unwrap_or(""))?;
    let mut types: Vec<String> = Vec::new();
    for t in super::strings(b.get("eventTypes").unwrap_or(&Value::Null)) {
        if !TYPES.iter().any(|(k, _)| *k == t) {
            return Err(
                ApiErr::bad("eventTypes", format!("Unknown event type {t:?}.")).detail(
                    "supportedEventTypes",
                    TYPES.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
                ),
            );
        }
        if !types.contains(&t) {
            types.push(t);
        }
    }
    if types.is_empty() {
        return Err(ApiErr::bad(
            "eventTypes",
            "eventTypes must list at least one event type.",
        ));
    }
    let missing: Vec<&str> = types
        .iter()
        .filter_map(|t| events::scope_of(t))
        .filter(|s| !ctx.has(s))
        .collect();
    if !missing.is_empty() {
        return Err(ApiErr::new(
            403,
            "This token cannot read some of the requested event types.",
        )
        .detail("requiredScopes", missing)
        .detail("grantedScopes", ctx.scopes.clone()));
    }
    if tx.list("webhooks", "account", &ctx.account_id)?.len() >= MAX_WEBHOOKS {
        return Err(ApiErr::conflict(
            "webhook_limit_reached",
            "An account can hold at most 10 webhook subscriptions.",
        )
        .detail("limit", MAX_WEBHOOKS));
    }
    let id = tx.new_id("whk")?;
    let secret = format!("whsec_{}", random_hex(24));
    let hook = json!({
        "id": id, "account": ctx.account_id, "url": url, "eventTypes": types,
        "status": "ACTIVE", "createdAt": tx.now, "disabledAt": null, "disabledReason": null,
        "secret": secret, "consecutiveFailures": 0,
    });
    tx.put("webhooks", &id, Some(&ctx.account_id), None, &hook)?;
    Ok((
        201,
        json!({
            "webhook": shape(&hook),
            "secret": secret,
            "message": "Store the secret now — it is only returned once. Use it to verify the X-OpenTrain-Signature header on deliveries.",
        }),
    ))
}

fn list(tx: &mut Tx, ctx: &Ctx, _r: &Req) -> Reply {
    ctx.need(&["webhooks:manage"])?;
    let hooks: Vec<Value> = tx
        .list("webhooks", "account", &ctx.account_id)?
        .iter()
        .map(shape)
        .collect();
    Ok((200, json!({"webhooks": hooks})))
}

fn get_one(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let id = r.param().to_owned();
    ctx.need(&["webhooks:manage"])?;
    Ok((200, json!({"webhook": shape(&own(tx, ctx, &id)?)})))
}

fn delete(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let id = r.param().to_owned();
    ctx.need(&["webhooks:manage"])?;
    let hook = own(tx, ctx, &id)?;
    tx.delete("webhooks", &id)?;
    for d in tx.list("deliveries", "parent", &id)? {
        tx.delete("deliveries", d["id"].as_str().unwrap_or_default())?;
    }
    Ok((200, json!({"webhook": shape(&hook), "deleted": true})))
}
