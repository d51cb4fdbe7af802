//! Messages: conversations (pre-hire proposal threads and post-hire job DMs), reading and
//! sending. Trainers answer with short scripted replies on the account's next call.

use serde_json::{Value, json};

use super::proposals::own_proposal;
use super::{ApiErr, Ctx, Handler, Reply, Req, Route, json_object};
use crate::sandbox::clock;
use crate::sandbox::events;
use crate::sandbox::store::Tx;
use crate::sandbox::world;

pub const ROUTES: &[Route] = &[
    Route::new("GET", "/api/public/v1/messages", Handler::Authed(read)),
    Route::new("POST", "/api/public/v1/messages", Handler::Authed(send)),
    Route::new(
        "POST",
        "/api/public/v1/proposals/{proposal_id}/conversation",
        Handler::Authed(start),
    ),
];

/// Opens a conversation record.
#[allow(clippy::too_many_arguments)]
pub fn new_conversation(
    tx: &Tx,
    account_id: &str,
    bucket: &str,
    job_id: Option<&str>,
    proposal_id: Option<&str>,
    contract_id: Option<&str>,
    trainer: u64,
    context: &str,
) -> rusqlite::Result<String> {
    let id = tx.new_id("cnv")?;
    tx.put(
        "conversations",
        &id,
        Some(account_id),
        None,
        &json!({
            "id": id, "account": account_id, "type": "DIRECT_MESSAGE", "bucket": bucket,
            "jobId": job_id, "proposalId": proposal_id, "contractId": contract_id,
            "channelName": null, "trainer": trainer, "context": context, "replies": 0,
            "createdAt": tx.now, "updatedAt": tx.now, "readAt": 0,
        }),
    )?;
    Ok(id)
}

/// Adds a message; a trainer's message is a `message.received` event for the account.
pub fn add_message(
    tx: &Tx,
    account_id: &str,
    conversation_id: &str,
    sender: &str,
    content: &str,
    at: i64,
) -> rusqlite::Result<Value> {
    let Some(mut conversation) = tx.get("conversations", conversation_id)? else {
        return Ok(Value::Null);
    };
    let account = tx.get("accounts", account_id)?.unwrap_or(Value::Null);
    let from_viewer = account["userId"] == sender;
    let id = tx.new_id("msg")?;
    let message = json!({
        "id": id, "conversationId": conversation_id, "senderUserId": sender,
        "fromAccount": from_viewer, "content": content, "createdAt": at,
    });
    tx.put(
        "messages",
        &id,
        Some(account_id),
        Some(conversation_id),
        &message,
    )?;
    conversation["updatedAt"] = json!(at);
    if from_viewer {
        conversation["readAt"] = json!(at);
    }
    tx.save("conversations", conversation_id, &conversation)?;
    if !from_viewer {
        events::emit(
            tx,
            account_id,
            "message.received",
            &id,
            conversation["jobId"].as_str(),
            json!({"conversationId": conversation_id, "messageId": id}),
        )?;
    }
    Ok(message)
}

fn message_shape(m: &Value, conversation: &Value) -> Value {
    let at = clock::iso(m["createdAt"].as_i64().unwrap_or(0));
    let read_at = conversation["readAt"].as_i64().unwrap_or(0);
    json!({
        "id": m["id"],
        "createdAt": at,
        "updatedAt": at,
        "conversationId": m["conversationId"],
        "jobId": conversation["jobId"],
        "senderUserId": m["senderUserId"],
        "isFromViewer": m["fromAccount"],
        "content": m["content"],
        "messageType": null,
        "system": false,
        "hasUnreadFlag": m["fromAccount"] != true && m["createdAt"].as_i64().unwrap_or(0) > read_at,
        "attachmentCount": 0,
        "hasAudio": false,
        "editedAt": null,
        "reactionCount": 0,
    })
}

fn summary(tx: &Tx, c: &Value) -> rusqlite::Result<Value> {
    let id = c["id"].as_str().unwrap_or_default();
    let mut messages = tx.list("messages", "parent", id)?; // newest first
    let read_at = c["readAt"].as_i64().unwrap_or(0);
    let unread = messages
        .iter()
        .filter(|m| m["fromAccount"] != true && m["createdAt"].as_i64().unwrap_or(0) > read_at)
        .count();
    let needs_reply = messages
        .iter()
        .take_while(|m| m["fromAccount"] != true)
        .count();
    let last = messages.drain(..).next();
    Ok(json!({
        "id": id,
        "type": c["type"],
        "bucket": c["bucket"],
        "jobId": c["jobId"],
        "proposalId": c["proposalId"],
        "channelName": c["channelName"],
        "updatedAt": clock::iso(c["updatedAt"].as_i64().unwrap_or(0)),
        "lastMessage": last.map(|m| json!({
            "id": m["id"], "content": m["content"], "senderUserId": m["senderUserId"],
            "isFromViewer": m["fromAccount"], "createdAt": clock::iso(m["createdAt"].as_i64().unwrap_or(0)),
        })),
        "unreadCount": unread,
        "needsReplyCount": needs_reply,
    }))
}

fn own_conversation(tx: &Tx, ctx: &Ctx, id: &str) -> Result<Value, ApiErr> {
    tx.get("conversations", id)?
        .filter(|c| c["account"] == ctx.account_id.as_str())
        .ok_or_else(|| ApiErr::not_found("conversations", "conversationId", id))
}

fn read(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let q = &r.query;
    ctx.need(&["messages:read"])?;
    let limit = q.limit(20, 100)?;
    if let Some(id) = q.get("conversationId") {
        let mut conversation = own_conversation(tx, ctx, id)?;
        let direction = q.get("direction").unwrap_or("older");
        if !matches!(direction, "older" | "newer") {
            return Err(ApiErr::bad(
                "direction",
                "direction must be older or newer.",
            ));
        }
        let mut all = tx.list("messages", "parent", id)?;
        all.reverse(); // oldest first
        let position = |cursor: &str| all.iter().position(|m| m["id"] == cursor);
        let (shown, next): (Vec<Value>, Value) = match (direction, q.get("cursor")) {
            ("newer", cursor) => {
                let start = match cursor {
                    Some(c) => position(c)
                        .map(|i| i + 1)
                        .ok_or_else(|| ApiErr::bad("cursor", "Unknown cursor."))?,
                    None => 0,
                };
                let rest = &all[start.min(all.len())..];
                let shown: Vec<Value> = rest.iter().take(limit).cloned().collect();
                let next = if rest.len() > limit {
                    shown.last().map(|m| m["id"].clone()).unwrap_or(Value::Null)
                } else {
                    Value::Null
                };
                (shown, next)
            }
            (_, cursor) => {
                let end = match cursor {
                    Some(c) => {
                        position(c).ok_or_else(|| ApiErr::bad("cursor", "Unknown cursor."))?
                    }
                    None => all.len(),
                };
                let start = end.saturating_sub(limit);
                let shown: Vec<Value> = all[start..end].to_vec();
                let next = if start > 0 {
                    shown
                        .first()
                        .map(|m| m["id"].clone())
                        .unwrap_or(Value::Null)
                } else {
                    Value::Null
                };
                (shown, next)
            }
        };
        let items: Vec<Value> = shown
            .iter()
            .map(|m| message_shape(m, &conversation))
            .collect();
        conversation["readAt"] = json!(tx.now);
        tx.save("conversations", id, &conversation)?;
        return Ok((200, json!({"messages": items, "nextCursor": next})));
    }
    let filter = q.get("filter").unwrap_or("all");
    if !matches!(filter, "all" | "job" | "proposal") {
        return Err(ApiErr::bad(
            "filter",
            "filter must be all, job or proposal.",
        ));
    }
    let unread_only = matches!(q.get("unreadOnly"), Some("true" | "1"));
    let mut conversations = tx.list("conversations", "account", &ctx.account_id)?;
    conversations.sort_by_key(|c| std::cmp::Reverse(c["updatedAt"].as_i64().unwrap_or(0)));
    let mut items = Vec::new();
    for c in conversations {
        if filter != "all" && c["bucket"] != filter {
            continue;
        }
        let s = summary(tx, &c)?;
        if unread_only && s["unreadCount"] == 0 {
            continue;
        }
        items.push(s);
    }
    let (shown, next) = super::page(items, q.get("cursor"), limit, |c| {
        c["id"].as_str().unwrap_or_default().to_owned()
    })?;
    Ok((200, json!({"conversations": shown, "nextCursor": next})))
}

fn send(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let body: &[u8] = &r.body;
    ctx.need_claimed("message AI trainers")?;
    ctx.need(&["messages:write"])?;
    let b = json_object(body, false)?;
    let mut issues = Vec::new();
    let conversation_id = b
        .get("conversationId")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if conversation_id.is_empty() {
        issues.push(super::issue("conversationId", "invalid_type", "Required"));
    }
    let content = b
        .get("content")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let n = content.chars().count();
    if content.trim().is_empty() || n > 10_000 {
        issues.push(super::issue(
            "content",
            "too_small",
            "content must be 1 to 10,000 characters",
        ));
    }
    if !issues.is_empty() {
        return Err(ApiErr::new(400, "Invalid message.").detail("issues", issues));
    }
    let conversation = own_conversation(tx, ctx, &conversation_id)?;
    let message = add_message(
        tx,
        &ctx.account_id,
        &conversation_id,
        ctx.account["userId"].as_str().unwrap_or_default(),
        &content,
        tx.now,
    )?;
    world::schedule(
        tx,
        &ctx.account_id,
        1,
        "reply",
        json!({"conversationId": conversation_id}),
    )?;
    Ok((
        201,
        json!({"ok": true, "message": message_shape(&message, &conversation)}),
    ))
}

fn start(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let id = r.param().to_owned();
    ctx.need_claimed("message AI trainers")?;
    // The endpoint page says messages:write, the scopes page proposals:write: either will do.
    ctx.need(&["messages:write", "proposals:write"])?;
    let p = own_proposal(tx, ctx, &id)?;
    let existing = tx.find("conversations", "proposalId", &id)?;
    let (conversation_id, created) = match existing {
        Some(c) => (c["id"].as_str().unwrap_or_default().to_owned(), false),
        None => {
            let job = tx
                .get("jobs", p["jobId"].as_str().unwrap_or_default())?
                .unwrap_or(Value::Null);
            let title = job["fields"]["jobTitle"]
                .as_str()
                .unwrap_or("the job")
                .to_owned();
            let cid = new_conversation(
                tx,
                &ctx.account_id,
                "proposal",
                None,
                Some(&id),
                None,
                p["trainer"].as_u64().unwrap_or(0),
                &title,
            )?;
            (cid, true)
        }
    };
    Ok((
        200,
        json!({"ok": true, "conversationId": conversation_id, "proposalId": id, "jobId": p["jobId"], "created": created}),
    ))
}
