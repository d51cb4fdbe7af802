//! Credits: balance, ledger and Stripe top-ups.
//!
//! | tool | request |
//! |---|---|
//! | `opentrain_get_credits` | `GET /credits` |
//! | `opentrain_list_credit_ledger` | `GET /credits/ledger?cursor&limit` |
//! | `opentrain_create_credit_top_up` | `POST /credits/top-ups` `{"amountUsd"}` |
//! | `opentrain_get_credit_top_up` | `GET /credits/top-ups/{topUpId}` |
//!
//! Amounts come back in cents and are shown in dollars. A top-up never moves money by itself:
//! its summary hands the human the Stripe `checkoutUrl` to pay.

use std::collections::VecDeque;
use std::sync::Mutex;

use rmcp::model::CallToolResult;
use rmcp::schemars::{self, JsonSchema};
use rmcp::{tool, tool_router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::result::links;
use super::summary::{self, cents, text, text_or};
use super::{Args, schema};
use crate::api::Request;
use crate::server::OpenTrain;
use crate::validate::{Id, Limit, TopUpUsd};

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListCreditLedgerArgs {
    /// nextCursor from the previous page (older entries); omit for the newest.
    cursor: Option<String>,
    /// Entries per page, 1–100 (default 50), e.g. 25.
    limit: Option<Limit<100>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateCreditTopUpArgs {
    /// Amount to add, in US dollars, from 10 to 10000, e.g. 100.
    amount_usd: TopUpUsd,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetCreditTopUpArgs {
    /// Top-up id from opentrain_create_credit_top_up, e.g. "tu_123".
    top_up_id: Id,
}

/// The checkout links of top-ups created in this session, by top-up id (the most recent
/// [`CheckoutLinks::MAX`]). `GET /credits/top-ups/{id}` does not return the link, so this is how a
/// status check of a PENDING top-up can hand it to the human again.
#[derive(Default)]
pub struct CheckoutLinks(Mutex<VecDeque<(String, String)>>);

impl CheckoutLinks {
    const MAX: usize = 64;

    fn remember(&self, id: &str, url: &str) {
        let mut links = self.0.lock().unwrap_or_else(|p| p.into_inner());
        links.retain(|(known, _)| known != id);
        if links.len() >= Self::MAX {
            links.pop_front();
        }
        links.push_back((id.to_owned(), url.to_owned()));
    }

    fn get(&self, id: &str) -> Option<String> {
        let links = self.0.lock().unwrap_or_else(|p| p.into_inner());
        links
            .iter()
            .find(|(known, _)| known == id)
            .map(|(_, url)| url.clone())
    }
}

/// Cents as a signed dollar amount: `+$100.00`, `-$25.00`.
fn signed_cents(v: &Value, pointer: &str) -> String {
    let shown = cents(v, pointer);
    match summary::pointer(v, pointer).and_then(Value::as_i64) {
        Some(c) if c > 0 => format!("+{shown}"),
        _ => shown,
    }
}

/// One ledger entry on one line: type, signed amount, date, the ids it links to, its note.
fn ledger_line(entry: &Value) -> String {
    let mut line = format!(
        "{} {}",
        text_or(entry, "/type", "entry"),
        signed_cents(entry, "/amountCents"),
    );
    if let Some(at) = text(entry, "/createdAt") {
        line.push_str(&format!(" on {at}"));
    }
    let links: Vec<String> = [
        ("/topUpId", "top-up"),
        ("/jobofferId", "proposal"),
        ("/contractId", "contract"),
        ("/milestoneId", "milestone"),
        ("/holdEntryId", "hold"),
    ]
    .iter()
    .filter_map(|(pointer, label)| text(entry, pointer).map(|id| format!("{label} {id}")))
    .collect();
    if !links.is_empty() {
        line.push_str(&format!(" ({})", links.join(", ")));
    }
    if let Some(note) = text(entry, "/note") {
        line.push_str(&format!(" — {note}"));
    }
    line
}

/// The checkout link of a top-up answer: top-level `checkoutUrl` (documented), under `topUp`, or
/// wherever else the answer puts it.
fn checkout_url(b: &Value) -> Option<String> {
    links::url(
        b,
        &["/checkoutUrl", "/topUp/checkoutUrl"],
        &["checkoutUrl", "checkoutLink", "paymentUrl"],
    )
}

/// The top-up record of an answer: under `topUp` (documented), under another key, or flat.
fn top_up_of(b: &Value) -> &Value {
    links::object(b, &["/topUp"], &["topUp"]).unwrap_or(b)
}

/// What a top-up's status means for the agent and its human. `remembered` is the checkout link
/// this session saw when the top-up was created, if any.
fn top_up_status(b: &Value, remembered: Option<String>) -> String {
    let top_up = top_up_of(b);
    let status = text_or(top_up, "/status", "a status the answer does not give");
    let lapses = text(top_up, "/expiresAt")
        .or_else(|| links::text(b, &[], &["expiresAt"]))
        .unwrap_or_else(|| "its expiry, about 24 h after creation".to_owned());
    let meaning = match status.as_str() {
        "PENDING" => match checkout_url(b).or(remembered) {
            Some(url) => format!(
                "awaiting your human's payment at {url} (it lapses at {lapses}). No money has \
                 moved yet; give them the link again if needed, and check again after they pay."
            ),
            None => format!(
                "awaiting your human's payment at the checkout link opentrain_create_credit_top_up \
                 returned (it lapses at {lapses}; this answer does not repeat the link). No money \
                 has moved yet; check again after they pay."
            ),
        },
        "COMPLETED" => format!(
            "paid at {}; the credits were added to the balance (opentrain_get_credits shows it).",
            text_or(top_up, "/completedAt", "an unrecorded time")
        ),
        "EXPIRED" => "the checkout link lapsed unpaid and can no longer be paid. Create a new \
                      top-up with opentrain_create_credit_top_up if credits are still needed."
            .to_owned(),
        "CANCELED" => "canceled; nothing was charged. Create a new top-up with \
                       opentrain_create_credit_top_up if credits are still needed."
            .to_owned(),
        _ => format!(
            "a status this server does not know. {}",
            links::what_it_says(b)
        ),
    };
    format!("{status}: {meaning}")
}

#[tool_router(router = credits_router, vis = "pub(crate)")]
impl OpenTrain {
    /// Read the prepaid credit balance in dollars: available now and reserved in escrow for active hires, plus the latest ledger entries. Requires payments:read + feature public_api_credits. Wraps GET /credits.
    #[tool(
        name = "opentrain_get_credits",
        title = "Credit balance",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn get_credits(&self) -> CallToolResult {
        self.run(Request::get("/credits"), |b| {
            let c = links::object(b, &["/credits"], &["credits", "balance"]).unwrap_or(b);
            let entries = links::list_named(c, "/recentEntries", &["recentEntries", "entries"]);
            let recent = match entries {
                Some(all) if !all.is_empty() => format!(
                    "Latest {}",
                    summary::list_of(
                        all,
                        &Value::Null,
                        ("ledger entry", "ledger entries"),
                        ledger_line
                    )
                ),
                _ => "No ledger entries yet.".to_owned(),
            };
            format!(
                "Credits: {} available, {} reserved in escrow ({}).\n{recent}",
                cents(c, "/availableCents"),
                cents(c, "/reservedCents"),
                text_or(c, "/currency", "usd").to_uppercase(),
            )
        })
        .await
    }

    /// Page through the credit ledger, newest first: top-ups, escrow holds and releases, captures, refunds and adjustments, each with its amount and the ids it belongs to. Requires payments:read + feature public_api_credits. Wraps GET /credits/ledger.
    #[tool(
        name = "opentrain_list_credit_ledger",
        title = "Credit ledger",
        input_schema = schema::<ListCreditLedgerArgs>(),
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_credit_ledger(&self, Args(a): Args<ListCreditLedgerArgs>) -> CallToolResult {
        let req = Request::get("/credits/ledger")
            .query("cursor", a.cursor.as_deref())
            .query("limit", a.limit);
        self.run(req, |b| {
            summary::list(
                b,
                "/entries",
                ("ledger entry", "ledger entries"),
                ledger_line,
            )
        })
        .await
    }

    /// Start a credit top-up. Charges nothing: returns a Stripe checkoutUrl your human must open and pay within ~24 h; opentrain_get_credit_top_up tells when it completed. Requires payments:write (not on agent-registered tokens), feature public_api_credits, a claimed account. Wraps POST /credits/top-ups.
    #[tool(
        name = "opentrain_create_credit_top_up",
        title = "Top up credits (human pays)",
        input_schema = schema::<CreateCreditTopUpArgs>(),
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn create_credit_top_up(&self, Args(a): Args<CreateCreditTopUpArgs>) -> CallToolResult {
        let req = Request::post("/credits/top-ups").json(&json!({"amountUsd": a.amount_usd}));
        let asked = a.amount_usd.get();
        let server = self.clone();
        self.run(req, move |b| {
            let top_up = top_up_of(b);
            let id = links::text(b, &["/topUpId", "/topUp/id"], &["topUpId"])
                .or_else(|| text(top_up, "/id"));
            let amount = if top_up.pointer("/amountCents").is_some_and(Value::is_i64) {
                cents(top_up, "/amountCents")
            } else {
                summary::dollars(asked)
            };
            let deadline = links::text(b, &["/expiresAt", "/topUp/expiresAt"], &["expiresAt"])
                .map(|at| format!("before {at}"))
                .unwrap_or_else(|| "within about 24 h".to_owned());
            let link = checkout_url(b);
            if let (Some(id), Some(url), Some(links)) = (&id, &link, server.checkout_links()) {
                links.remember(id, url);
            }
            let pay = match link {
                Some(url) => format!(
                    "No money has moved yet: your human must open {url} and pay {deadline}. \
                     Share that link with them now."
                ),
                None => format!(
                    "No money has moved yet, but the answer carries no checkout link. {}",
                    links::what_it_says(b)
                ),
            };
            let head = match &id {
                Some(id) => format!(
                    "Top-up {id} of {amount} created ({}).",
                    text_or(top_up, "/status", "PENDING")
                ),
                None => format!(
                    "A top-up of {amount} was created ({}); the answer gives no top-up id.",
                    text_or(top_up, "/status", "PENDING")
                ),
            };
            let next = match &id {
                Some(id) => format!(
                    "Then call opentrain_get_credit_top_up with topUpId \"{id}\" until it \
                     reports COMPLETED; the credits are added automatically once paid."
                ),
                None => "Once they have paid, opentrain_get_credits shows the new balance (a \
                         TOP_UP ledger entry)."
                    .to_owned(),
            };
            format!("{head} {pay}\n{next}")
        })
        .await
    }

    /// Check a credit top-up: PENDING (awaiting the human's payment), COMPLETED (credits added), EXPIRED or CANCELED (create a new one). Requires payments:read + feature public_api_credits. Wraps GET /credits/top-ups/{topUpId}.
    #[tool(
        name = "opentrain_get_credit_top_up",
        title = "Top-up status",
        input_schema = schema::<GetCreditTopUpArgs>(),
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn get_credit_top_up(&self, Args(a): Args<GetCreditTopUpArgs>) -> CallToolResult {
        let req = Request::get("/credits/top-ups/{topUpId}").id("topUpId", &a.top_up_id);
        let remembered = self
            .checkout_links()
            .and_then(|links| links.get(a.top_up_id.as_str()));
        self.run(req, |b| {
            let top_up = top_up_of(b);
            format!(
                "Top-up {} of {} is {}",
                text(top_up, "/id").unwrap_or_else(|| a.top_up_id.to_string()),
                cents(top_up, "/amountCents"),
                top_up_status(b, remembered),
            )
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_lines_are_signed_and_linked() {
        let entry = json!({"type": "HOLD", "amountCents": -2500, "createdAt": "2026-06-11",
            "holdEntryId": null, "jobofferId": "p1", "contractId": "c1", "milestoneId": "m1",
            "topUpId": null, "note": null});
        assert_eq!(
            ledger_line(&entry),
            "HOLD -$25.00 on 2026-06-11 (proposal p1, contract c1, milestone m1)"
        );
        let entry = json!({"type": "TOP_UP", "amountCents": 10000, "createdAt": "d",
            "topUpId": "t1", "note": "thanks"});
        assert_eq!(
            ledger_line(&entry),
            "TOP_UP +$100.00 on d (top-up t1) — thanks"
        );
    }
}
