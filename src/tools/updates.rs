//! Updates: the account's delta feed.
//!
//! | tool | request |
//! |---|---|
//! | `opentrain_poll_updates` | `GET /updates?cursor&limit` |
//!
//! The feed never ends: every answer carries the `nextCursor` to pass next time, and `hasMore`
//! says whether to poll again right away. Events carry ids only, so each summary line names the
//! read tool that shows the details.

use rmcp::model::CallToolResult;
use rmcp::schemars::{self, JsonSchema};
use rmcp::{tool, tool_router};
use serde::Deserialize;
use serde_json::Value;

use super::result::links;
use super::summary::{LIST_LIMIT, count, text, text_or};
use super::{Args, schema};
use crate::api::Request;
use crate::server::OpenTrain;
use crate::validate::Limit;

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PollUpdatesArgs {
    /// nextCursor from the previous poll, e.g. "1043"; omit on the first poll (full backlog).
    cursor: Option<String>,
    /// Max events, 1–200 (default 50), e.g. 100.
    limit: Option<Limit<200>>,
}

/// The tool that reads what an event points at.
fn read_tool(event_type: &str) -> Option<&'static str> {
    Some(match event_type {
        "proposal.received" | "proposal.status_changed" => "opentrain_get_proposal",
        "message.received" => "opentrain_read_messages",
        "contract.created" | "milestone.status_changed" | "contract.budget_state_changed" => {
            "opentrain_get_contract"
        }
        "payment.pending" => "opentrain_list_pending_payments",
        "approval.confirmed" => "opentrain_get_approval",
        _ => return None,
    })
}

/// One event on one line: id, type, the ids (and states) in `data`, and the tool to read it with.
fn event_line(event: &Value) -> String {
    let kind = text_or(event, "/type", "event");
    let mut line = match super::summary::item_id(event, &["eventId"]) {
        Some(id) => format!("#{id} {kind}"),
        None => kind.clone(),
    };
    let fields: Vec<String> = event
        .get("data")
        .and_then(Value::as_object)
        .map(|data| {
            data.iter()
                .filter_map(|(key, value)| text(value, "").map(|v| format!("{key} {v}")))
                .collect()
        })
        .unwrap_or_default();
    if fields.is_empty() {
        if let Some(id) = text(event, "/resourceId") {
            line.push_str(&format!(": resource {id}"));
        }
    } else {
        line.push_str(&format!(": {}", fields.join(", ")));
    }
    if let Some(tool) = read_tool(&kind) {
        line.push_str(&format!(" → {tool}"));
    }
    line
}

fn poll_summary(body: &Value, sent_cursor: Option<&str>) -> String {
    let events = links::list(body, "/events", &["events"]).unwrap_or_default();
    let mut out = if events.is_empty() {
        "No new events.".to_owned()
    } else {
        format!(
            "{} (oldest first; ids only, read details with the tool named):",
            count(events.len(), "event", "events")
        )
    };
    for event in events.iter().take(LIST_LIMIT) {
        out.push_str("\n- ");
        out.push_str(&event_line(event));
    }
    if events.len() > LIST_LIMIT {
        out.push_str(&format!(
            "\n… and {} more (all are in the structured result).",
            events.len() - LIST_LIMIT
        ));
    }
    let next = match links::page(body) {
        links::Page::Next(cursor) => Some(cursor),
        // The feed never ends: without a new cursor, the one just sent still holds.
        links::Page::Last | links::Page::Unsaid => sent_cursor.map(str::to_owned),
    };
    let again = match &next {
        Some(cursor) => format!("with cursor \"{cursor}\""),
        None => "without a cursor".to_owned(),
    };
    let has_more = links::find(body, &["/hasMore"], &["hasMore"], Value::is_boolean)
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if has_more {
        out.push_str(&format!(
            "\nhasMore: true — more events are waiting: poll again now {again}."
        ));
    } else {
        out.push_str(&format!(
            "\nhasMore: false — caught up. Next time, poll {again} (keep this cursor; the feed \
             never ends)."
        ));
    }
    out
}

#[tool_router(router = updates_router, vis = "pub(crate)")]
impl OpenTrain {
    /// Fetch account events since the last poll, oldest first: proposals, messages, contracts, milestones, payments, approvals, budgets. Events carry ids only; each line names the tool to read it. Keep nextCursor for the next poll. Requires proposals:read, messages:read or payments:read. Wraps GET /updates.
    #[tool(
        name = "opentrain_poll_updates",
        title = "Poll account updates",
        input_schema = schema::<PollUpdatesArgs>(),
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn poll_updates(&self, Args(a): Args<PollUpdatesArgs>) -> CallToolResult {
        let cursor = a.cursor.filter(|c| !c.trim().is_empty());
        let req = Request::get("/updates")
            .query("cursor", cursor.as_deref())
            .query("limit", a.limit);
        self.run(req, move |b| poll_summary(b, cursor.as_deref()))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_name_their_ids_and_read_tool() {
        let event = json!({"id": "7", "type": "message.received", "resourceId": "c1",
            "data": {"conversationId": "c1", "messageId": "m1"}});
        assert_eq!(
            event_line(&event),
            "#7 message.received: conversationId c1, messageId m1 → opentrain_read_messages"
        );
        let odd = json!({"id": "8", "type": "future.event", "resourceId": "r1", "data": {}});
        assert_eq!(event_line(&odd), "#8 future.event: resource r1");
    }

    #[test]
    fn an_empty_page_keeps_the_cursor() {
        let out = poll_summary(
            &json!({"events": [], "nextCursor": null, "hasMore": false}),
            Some("99"),
        );
        assert_eq!(
            out,
            "No new events.\nhasMore: false — caught up. Next time, poll with cursor \"99\" \
             (keep this cursor; the feed never ends)."
        );
        let first = poll_summary(
            &json!({"events": [], "nextCursor": null, "hasMore": false}),
            None,
        );
        assert!(first.contains("poll without a cursor"), "{first}");
    }
}
