//! `/updates`: the account's events, oldest first, from a numeric cursor; each event type is
//! visible only with its read scope.

use serde_json::{Value, json};

use super::{ApiErr, Ctx, Handler, Reply, Req, Route};
use crate::sandbox::events;
use crate::sandbox::store::Tx;

pub const ROUTES: &[Route] = &[Route::new(
    "GET",
    "/api/public/v1/updates",
    Handler::Authed(poll),
)];

fn poll(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let q = &r.query;
    ctx.need(&["proposals:read", "messages:read", "payments:read"])?;
    let limit = q.limit(50, 200)?;
    let cursor =
        match q.get("cursor") {
            None => None,
            Some(c) => Some(c.parse::<i64>().map_err(|_| {
                ApiErr::bad("cursor", "cursor must be an event id from nextCursor.")
            })?),
        };
    let readable: Vec<(i64, Value)> = tx
        .events_after(&ctx.account_id, cursor.unwrap_or(0), 100_000)?
        .into_iter()
        .filter(|(_, e)| {
            e["type"]
                .as_str()
                .and_then(events::scope_of)
                .is_some_and(|s| ctx.has(s))
        })
        .collect();
    let has_more = readable.len() > limit;
    let shown: Vec<Value> = readable
        .iter()
        .take(limit)
        .map(|(id, e)| events::record(*id, e))
        .collect();
    let next = match shown.last() {
        Some(last) => last["id"].clone(),
        None => cursor.map(|c| json!(c.to_string())).unwrap_or(Value::Null),
    };
    Ok((
        200,
        json!({"events": shown, "nextCursor": next, "hasMore": has_more}),
    ))
}
