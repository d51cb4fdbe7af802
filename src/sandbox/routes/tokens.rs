//! Token management: list, mint (HTTP only — no tool wraps it), revoke by id.

use serde_json::{Value, json};

use super::auth::{ALL_SCOPES, mint};
use super::{ApiErr, Ctx, Handler, Reply, Req, Route, json_object};
use crate::sandbox::clock;
use crate::sandbox::store::Tx;

const MAX_ACTIVE: usize = 25;

pub const ROUTES: &[Route] = &[
    Route::new("GET", "/api/public/v1/tokens", Handler::Authed(list)),
    Route::new("POST", "/api/public/v1/tokens", Handler::Authed(create)),
    Route::new(
        "DELETE",
        "/api/public/v1/tokens/{token_id}",
        Handler::Authed(revoke),
    ),
];

pub fn shape(t: &Value, now: i64) -> Value {
    let expired = t["expiresAt"].as_i64().is_some_and(|e| e <= now);
    let status = if t["status"] == "active" && expired {
        json!("expired")
    } else {
        t["status"].clone()
    };
    json!({
        "id": t["id"], "name": t["name"], "preview": t["preview"], "scopes": t["scopes"],
        "status": status, "organizationId": null, "createdAt": super::iso(&t["createdAt"]),
        "lastUsedAt": super::iso(&t["lastUsedAt"]), "expiresAt": super::iso(&t["expiresAt"]),
        "revokedAt": super::iso(&t["revokedAt"]),
    })
}

fn list(tx: &mut Tx, ctx: &Ctx, _r: &Req) -> Reply {
    let tokens: Vec<Value> = tx
        .list("tokens", "account", &ctx.account_id)?
        .iter()
        .map(|t| shape(t, tx.now))
        .collect();
    Ok((200, json!({"tokens": tokens})))
}

fn create(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let body: &[u8] = &r.body;
    let b = json_object(body, true)?;
    let name = match b.get("name") {
        None | Some(Value::Null) => "API token".to_owned(),
        Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= 120 => {
            s.trim().to_owned()
        }
        _ => return Err(ApiErr::bad("name", "name must be 1 to 120 characters.")),
    };
    let scopes = match b.get("scopes") {
        None | Some(Value::Null) => ctx.scopes.clone(),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
            super::strings(&Value::Array(items.clone()))
        }
        _ => {
            return Err(ApiErr::bad(
                "scopes",
                "scopes must be an array of scope strings.",
            ));
        }
    };
    let unknown: Vec<&String> = scopes
        .iter()
        .filter(|s| !ALL_SCOPES.contains(&s.as_str()))
        .collect();
    if !unknown.is_empty() {
        return Err(ApiErr::new(400, "Unknown scopes.")
            .detail("unknownScopes", json!(unknown))
            .detail("supportedScopes", ALL_SCOPES));
    }
    let beyond: Vec<&String> = scopes.iter().filter(|s| !ctx.has(s)).collect();
    if !beyond.is_empty() {
        return Err(ApiErr::new(
            403,
            "A new token cannot have scopes the calling token lacks.",
        )
        .detail("requiredScopes", json!(beyond))
        .detail("grantedScopes", ctx.scopes.clone()));
    }
    let expires = match b.get("expiresAt") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_str()
                .and_then(clock::parse)
                .filter(|t| *t > tx.now)
                .ok_or_else(|| {
                    ApiErr::bad(
                        "expiresAt",
                        "expiresAt must be an ISO 8601 time in the future.",
                    )
                })?,
        ),
    };
    let active = tx
        .list("tokens", "account", &ctx.account_id)?
        .iter()
        .filter(|t| t["status"] == "active")
        .count();
    if active >= MAX_ACTIVE {
        return Err(ApiErr::conflict(
            "token_limit_reached",
            "An account can hold at most 25 active tokens.",
        )
        .detail("limit", MAX_ACTIVE));
    }
    let (secret, record) = mint(tx, &ctx.account_id, &name, &scopes, expires, false)?;
    Ok((
        201,
        json!({"token": secret, "tokenType": "bearer", "metadata": shape(&record, tx.now)}),
    ))
}

fn revoke(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let id = r.param().to_owned();
    let mut t = tx
        .get("tokens", &id)?
        .filter(|t| t["account"] == ctx.account_id.as_str())
        .ok_or_else(|| ApiErr::new(404, "No such token.").detail("tokenId", id.as_str()))?;
    if t["status"] == "active" {
        t["status"] = json!("revoked");
        t["revokedAt"] = json!(tx.now);
        tx.save("tokens", &id, &t)?;
    }
    Ok((200, json!({"token": shape(&t, tx.now)})))
}
