//! Messages: read conversations, send messages, open pre-hire threads.
//!
//! | tool | request |
//! |---|---|
//! | `opentrain_read_messages` | `GET /messages?conversationId&cursor&limit&direction&filter&unreadOnly` |
//! | `opentrain_send_message` | `POST /messages` `{"conversationId","content"}` |
//! | `opentrain_start_proposal_conversation` | `POST /proposals/{proposalId}/conversation` (no body) |
//!
//! `read_messages` has two modes: without `conversationId` it lists conversation summaries
//! (`filter`, `unreadOnly` apply), with it it reads one conversation's messages (`direction`
//! applies). The docs say only which mode each parameter applies to, so a parameter of the other
//! mode is not sent, and the result names it (messages.md: "`direction` … message mode only",
//! "`filter` … list mode only", "`unreadOnly` … list mode only"). Message text is written by
//! other people: summaries show it only as quoted, one-line excerpts, followed by [`FROM_OTHERS`].

use rmcp::model::CallToolResult;
use rmcp::schemars::{self, JsonSchema};
use rmcp::{tool, tool_router};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::result::{links, note_ignored};
use super::summary::{FROM_OTHERS, excerpt, flag, list, text, text_or};
use super::{Args, schema};
use crate::api::Request;
use crate::server::OpenTrain;
use crate::validate::{Id, Limit, MessageText};

/// Paging direction inside one conversation.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Older,
    Newer,
}

/// Which conversation summaries to list.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Filter {
    All,
    Job,
    Proposal,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReadMessagesArgs {
    /// Conversation to read; omit to list your conversations instead.
    conversation_id: Option<Id>,
    /// The nextCursor of a previous page.
    cursor: Option<String>,
    /// Page size, 1–100 (API default 20).
    limit: Option<Limit<100>>,
    /// With conversationId only: older (default) or newer messages.
    direction: Option<Direction>,
    /// Without conversationId only: job (post-hire threads, channels) or proposal (pre-hire).
    filter: Option<Filter>,
    /// Without conversationId only: just conversations with unread messages.
    unread_only: Option<bool>,
}

#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendMessageArgs {
    /// An existing conversation's id, e.g. from opentrain_read_messages.
    conversation_id: Id,
    /// Plain text, 1–10,000 characters.
    content: MessageText,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartProposalConversationArgs {
    /// Proposal whose candidate to message, e.g. from opentrain_list_proposals.
    proposal_id: Id,
}

/// The arguments of the other mode, which are not sent: `(name, why)`.
fn other_mode(a: &ReadMessagesArgs) -> Vec<(&'static str, &'static str)> {
    let mut ignored = Vec::new();
    if a.conversation_id.is_some() {
        if a.filter.is_some() {
            ignored.push((
                "filter",
                "it applies only when listing conversations, without conversationId",
            ));
        }
        if a.unread_only.is_some() {
            ignored.push((
                "unreadOnly",
                "it applies only when listing conversations, without conversationId",
            ));
        }
    } else if a.direction.is_some() {
        ignored.push((
            "direction",
            "it pages through one conversation's messages, so it applies only with \
             conversationId",
        ));
    }
    ignored
}

/// One conversation summary on one line.
fn conversation_line(c: &Value) -> String {
    let mut about = Vec::new();
    if let Some(bucket) = text(c, "/bucket") {
        about.push(bucket);
    }
    if let Some(kind) = text(c, "/type") {
        about.push(kind);
    }
    if let Some(channel) = text(c, "/channelName") {
        about.push(format!("channel {}", excerpt(&channel)));
    }
    if let Some(proposal) = text(c, "/proposalId") {
        about.push(format!("proposal {proposal}"));
    }
    if let Some(job) = text(c, "/jobId") {
        about.push(format!("job {job}"));
    }
    let mut line = super::summary::item_id(c, &["conversationId"])
        .unwrap_or_else(|| "(no id in the answer)".to_owned());
    if !about.is_empty() {
        line.push_str(&format!(" ({})", about.join(", ")));
    }
    let counts: Vec<String> = [
        text(c, "/unreadCount").map(|n| format!("{n} unread")),
        text(c, "/needsReplyCount").map(|n| format!("{n} awaiting reply")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !counts.is_empty() {
        line.push_str(&format!(": {}", counts.join(", ")));
    }
    match c.get("lastMessage").filter(|m| m.is_object()) {
        Some(last) => line.push_str(&format!(
            "; last{} from {}: {}",
            text(last, "/createdAt")
                .map(|at| format!(" {at}"))
                .unwrap_or_default(),
            sender(last),
            excerpt(&text_or(last, "/content", ""))
        )),
        None => line.push_str("; no messages yet"),
    }
    line
}

fn sender(m: &Value) -> String {
    if flag(m, "/isFromViewer") {
        "you".to_owned()
    } else {
        text_or(m, "/senderUserId", "someone")
    }
}

/// One message on one line: time, sender, flags, then the quoted excerpt.
fn message_line(m: &Value) -> String {
    let mut line = match text(m, "/createdAt") {
        Some(at) => format!("{at} {}", sender(m)),
        None => sender(m),
    };
    if flag(m, "/system") {
        line.push_str(" (system)");
    }
    if let Some(n) = m["attachmentCount"].as_u64().filter(|n| *n > 0) {
        line.push_str(&format!(
            " [{n} attachment{}]",
            if n == 1 { "" } else { "s" }
        ));
    }
    if flag(m, "/hasAudio") {
        line.push_str(" [audio]");
    }
    if text(m, "/editedAt").is_some() {
        line.push_str(" (edited)");
    }
    line.push_str(": ");
    line.push_str(&excerpt(&text_or(m, "/content", "")));
    line
}

#[tool_router(router = messages_router, vis = "pub(crate)")]
impl OpenTrain {
    /// Without conversationId, list your conversations (unread counts, last message; filter, unreadOnly); with it, read that conversation's messages (direction). Read-only. Requires messages:read; only conversations you are in. Wraps GET /messages.
    #[tool(
        name = "opentrain_read_messages",
        title = "Read conversations and messages",
        input_schema = schema::<ReadMessagesArgs>(),
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn read_messages(&self, Args(a): Args<ReadMessagesArgs>) -> CallToolResult {
        let ignored = other_mode(&a);
        let conversation_mode = a.conversation_id.is_some();
        let req = Request::get("/messages")
            .query("conversationId", a.conversation_id.as_ref())
            .query("cursor", a.cursor.as_deref())
            .query("limit", a.limit)
            .query("direction", a.direction.filter(|_| conversation_mode))
            .query("filter", a.filter.filter(|_| !conversation_mode))
            .query("unreadOnly", a.unread_only.filter(|_| !conversation_mode));
        let mut result = match a.conversation_id {
            Some(id) => {
                self.run(req, move |b| {
                    let mut out = format!("Conversation {id}.\n");
                    // The docs show no example of this mode; `messages` is inferred from the
                    // message object's documented shape, so the list is looked for elsewhere too.
                    out.push_str(&list(b, "/messages", ("message", "messages"), message_line));
                    out.push('\n');
                    out.push_str(FROM_OTHERS);
                    out.push_str(&format!(
                        "\nReply with opentrain_send_message (conversationId \"{id}\")."
                    ));
                    out
                })
                .await
            }
            None => {
                self.run(req, |b| {
                    let mut out = list(
                        b,
                        "/conversations",
                        ("conversation", "conversations"),
                        conversation_line,
                    );
                    out.push('\n');
                    out.push_str(FROM_OTHERS);
                    out.push_str("\nRead one with conversationId set to its id.");
                    out
                })
                .await
            }
        };
        note_ignored(&mut result, &ignored);
        result
    }

    /// Send a plain-text message into a conversation you are in (ids from opentrain_read_messages, opentrain_start_proposal_conversation or a contract). Each call posts anew: never repeat to retry. Requires messages:write, feature public_api_messaging_writes, a claimed account. Wraps POST /messages.
    #[tool(
        name = "opentrain_send_message",
        title = "Send a message",
        input_schema = schema::<SendMessageArgs>(),
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = true)
    )]
    async fn send_message(&self, Args(a): Args<SendMessageArgs>) -> CallToolResult {
        let req = Request::post("/messages").json(&a);
        self.run(req, |b| {
            let m = links::object(b, &["/message"], &["message"]).unwrap_or(b);
            let conversation = text(m, "/conversationId")
                .or_else(|| links::text(b, &[], &["conversationId"]))
                .unwrap_or_else(|| a.conversation_id.to_string());
            let id = text(m, "/id").or_else(|| links::text(b, &[], &["messageId"]));
            let at = text(m, "/createdAt")
                .map(|at| format!(" at {at}"))
                .unwrap_or_default();
            let what = match id {
                Some(id) => format!("message {id}"),
                None => "a message (the answer gives no message id)".to_owned(),
            };
            format!(
                "Sent: {what} in conversation {conversation}{at} ({} characters). Each call \
                 posts a new message, so do not send it again.\n\
                 See replies with opentrain_read_messages (conversationId \"{conversation}\"), or \
                 watch opentrain_poll_updates for message.received events.",
                a.content.as_str().chars().count(),
            )
        })
        .await
    }

    /// Open, or fetch, the pre-hire thread with a proposal's candidate and get its conversationId for opentrain_send_message. Employer only; safe to repeat. Requires messages:write, feature public_api_messaging_writes, a claimed account. Wraps POST /proposals/{proposalId}/conversation.
    #[tool(
        name = "opentrain_start_proposal_conversation",
        title = "Open a pre-hire thread",
        input_schema = schema::<StartProposalConversationArgs>(),
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn start_proposal_conversation(
        &self,
        Args(a): Args<StartProposalConversationArgs>,
    ) -> CallToolResult {
        let req =
            Request::post("/proposals/{proposalId}/conversation").id("proposalId", &a.proposal_id);
        self.run(req, |b| {
            let proposal = links::text(b, &["/proposalId"], &["proposalId"])
                .unwrap_or_else(|| a.proposal_id.to_string());
            let job = links::text(b, &["/jobId"], &["jobId"])
                .map(|j| format!(" (job {j})"))
                .unwrap_or_default();
            let Some(conversation) = links::text(
                b,
                &["/conversationId", "/conversation/id"],
                &["conversationId"],
            ) else {
                return format!(
                    "The pre-hire thread for proposal {proposal}{job} was opened or found, but the \
                     answer carries no conversationId. {}\nFind the thread with \
                     opentrain_read_messages (filter \"proposal\"); its proposalId is \
                     {proposal}.",
                    links::what_it_says(b)
                );
            };
            let created = links::find(b, &["/created"], &["created"], Value::is_boolean)
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let head = if created {
                format!(
                    "Opened a new pre-hire thread with the candidate of proposal \
                     {proposal}{job}: conversationId \"{conversation}\"."
                )
            } else {
                format!(
                    "The pre-hire thread for proposal {proposal}{job} already existed: \
                     conversationId \"{conversation}\"."
                )
            };
            format!(
                "{head}\nNext: opentrain_send_message with conversationId \"{conversation}\" and \
                 your content; the candidate cannot write until you have."
            )
        })
        .await
    }
}
