//! Contracts and milestones: contracts, milestones, co-signed funding and release, approvals.
//!
//! | tool | request |
//! |---|---|
//! | `opentrain_list_contracts` | `GET /contracts?jobId&status` |
//! | `opentrain_get_contract` | `GET /contracts/{contractId}` |
//! | `opentrain_create_milestone` | `POST /contracts/{contractId}/milestones` `{"description","name"?,"amountUsd"?,"volume"?,"dueDate"?}` |
//! | `opentrain_request_milestone_funding` | `POST /milestones/{milestoneId}/fund` (no body; 202) |
//! | `opentrain_request_milestone_approval` | `POST /milestones/{milestoneId}/approve` (no body; 202) |
//! | `opentrain_get_approval` | `GET /approvals/{approvalId}` |
//! | `opentrain_end_contract` | `POST /contracts/{contractId}/end` (no body; 200 ended, or 202) |
//!
//! Money never moves from a call: funding, release and ending a contract with funded escrow
//! answer 202 with a pending approval a human confirms at its `approvalUrl`.

use std::collections::BTreeMap;

use rmcp::model::CallToolResult;
use rmcp::schemars::{self, JsonSchema};
use rmcp::{tool, tool_router};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::result::links;
use super::summary::{self, Approval, flag, items, text, text_or, usd};
use super::{Args, schema};
use crate::api::Request;
use crate::server::OpenTrain;
use crate::validate::{Id, NonEmpty, OptionalText, PositiveNumber, Usd};

/// `status` filter of `GET /contracts`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContractStatus {
    Active,
    Ended,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListContractsArgs {
    /// Only contracts on this job, e.g. "job_123" (a job you own).
    job_id: Option<Id>,
    /// "active" or "ended"; omit for both.
    status: Option<ContractStatus>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContractIdArgs {
    /// Contract id, e.g. "ctr_123" (from opentrain_list_contracts).
    contract_id: Id,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateMilestoneArgs {
    /// Contract id, e.g. "ctr_123".
    contract_id: Id,
    /// Work to deliver, e.g. "Label the next 5,000 posts".
    description: NonEmpty,
    /// Short name, e.g. "Batch 2".
    #[serde(default)]
    name: OptionalText,
    /// USD, > 0, e.g. 300. Needed on fixed-price contracts.
    amount_usd: Option<Usd>,
    /// Labels or hours, > 0, e.g. 5000 or 7.5. Needed on hourly/per-label contracts.
    volume: Option<PositiveNumber>,
    /// ISO 8601 date, e.g. "2026-07-15".
    #[serde(default)]
    due_date: OptionalText,
}

/// The body of `POST /contracts/{contractId}/milestones`: the arguments minus the path id, absent
/// optionals omitted.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MilestoneBody<'a> {
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    amount_usd: Option<Usd>,
    #[serde(skip_serializing_if = "Option::is_none")]
    volume: Option<PositiveNumber>,
    #[serde(skip_serializing_if = "Option::is_none")]
    due_date: Option<&'a str>,
}

impl<'a> From<&'a CreateMilestoneArgs> for MilestoneBody<'a> {
    fn from(a: &'a CreateMilestoneArgs) -> Self {
        MilestoneBody {
            description: a.description.as_str(),
            name: a.name.get(),
            amount_usd: a.amount_usd,
            volume: a.volume,
            due_date: a.due_date.get(),
        }
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MilestoneIdArgs {
    /// Milestone id, e.g. "ms_123" (from opentrain_get_contract).
    milestone_id: Id,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApprovalIdArgs {
    /// Approval id returned by a hire, fund, release or end-contract request, e.g. "apr_123".
    approval_id: Id,
}

#[tool_router(router = contracts_router, vis = "pub(crate)")]
impl OpenTrain {
    /// List your contracts (one per hired AI trainer per job), newest first, with milestones and masked names; filter by jobId or status. Not paginated. Requires payments:read. Wraps GET /contracts.
    #[tool(
        name = "opentrain_list_contracts",
        title = "List contracts",
        input_schema = schema::<ListContractsArgs>(),
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_contracts(&self, Args(a): Args<ListContractsArgs>) -> CallToolResult {
        let req = Request::get("/contracts")
            .query("jobId", a.job_id.as_ref())
            .query("status", a.status);
        self.run(req, contracts_summary).await
    }

    /// Read one contract: status, hired trainer (masked), milestones with funding and approval state and amounts, the budget snapshot (OK/LOW/DEPLETED) and jobDmConversationId for messaging. Requires payments:read. Wraps GET /contracts/{contractId}.
    #[tool(
        name = "opentrain_get_contract",
        title = "Get a contract",
        input_schema = schema::<ContractIdArgs>(),
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn get_contract(&self, Args(a): Args<ContractIdArgs>) -> CallToolResult {
        let req = Request::get("/contracts/{contractId}").id("contractId", &a.contract_id);
        self.run(req, |b| contract_summary(b, &a.contract_id)).await
    }

    /// Add an unfunded milestone to an active contract; no money moves. Give amountUsd (fixed price) or volume (hourly/per label), then fund it with opentrain_request_milestone_funding. Requires payments:write, feature public_api_payments_write, a claimed account. Wraps POST /contracts/{contractId}/milestones.
    #[tool(
        name = "opentrain_create_milestone",
        title = "Create a milestone",
        input_schema = schema::<CreateMilestoneArgs>(),
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn create_milestone(&self, Args(a): Args<CreateMilestoneArgs>) -> CallToolResult {
        let req = Request::post("/contracts/{contractId}/milestones")
            .id("contractId", &a.contract_id)
            .json(&MilestoneBody::from(&a));
        self.run(req, |b| created_milestone_summary(b, &a.contract_id))
            .await
    }

    /// Ask to fund a milestone into escrow. No money moves: it returns a pending approval a human must confirm at approvalUrl within ~72 h. Requires payments:write, feature public_api_payments_write, a claimed account, a card or credits. Wraps POST /milestones/{milestoneId}/fund.
    #[tool(
        name = "opentrain_request_milestone_funding",
        title = "Request milestone funding",
        input_schema = schema::<MilestoneIdArgs>(),
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn request_milestone_funding(&self, Args(a): Args<MilestoneIdArgs>) -> CallToolResult {
        let req =
            Request::post("/milestones/{milestoneId}/fund").id("milestoneId", &a.milestone_id);
        self.run_status(req, |status, b| {
            cosign_summary(
                status,
                b,
                &format!("Funding requested for milestone {}.", a.milestone_id),
            )
        })
        .await
    }

    /// Ask to release a funded milestone's escrow to the trainer. No money moves: it returns a pending approval a human must confirm at approvalUrl within ~72 h. Requires payments:write, feature public_api_payments_write, a claimed account. Wraps POST /milestones/{milestoneId}/approve.
    #[tool(
        name = "opentrain_request_milestone_approval",
        title = "Request milestone release",
        input_schema = schema::<MilestoneIdArgs>(),
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn request_milestone_approval(&self, Args(a): Args<MilestoneIdArgs>) -> CallToolResult {
        let req =
            Request::post("/milestones/{milestoneId}/approve").id("milestoneId", &a.milestone_id);
        self.run_status(req, |status, b| {
            cosign_summary(
                status,
                b,
                &format!(
                    "Release of milestone {} to the AI trainer requested; once confirmed, the \
                     escrowed funds are paid out.",
                    a.milestone_id
                ),
            )
        })
        .await
    }

    /// Check a co-sign approval (hire, fund, release, end contract): pending (waiting for the human), confirmed (done; see result), declined or expired (nothing happened). Requires payments:read. Wraps GET /approvals/{approvalId}.
    #[tool(
        name = "opentrain_get_approval",
        title = "Check an approval",
        input_schema = schema::<ApprovalIdArgs>(),
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn get_approval(&self, Args(a): Args<ApprovalIdArgs>) -> CallToolResult {
        let req = Request::get("/approvals/{approvalId}").id("approvalId", &a.approval_id);
        self.run(req, |b| approval_status_summary(b, &a.approval_id))
            .await
    }

    /// End a contract. With nothing funded it ends at once, for good; with funded escrow it returns a pending approval and nothing changes until a human confirms at approvalUrl (~72 h). Requires payments:write, feature public_api_payments_write, a claimed account. Wraps POST /contracts/{contractId}/end.
    #[tool(
        name = "opentrain_end_contract",
        title = "End a contract",
        input_schema = schema::<ContractIdArgs>(),
        annotations(
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn end_contract(&self, Args(a): Args<ContractIdArgs>) -> CallToolResult {
        let req = Request::post("/contracts/{contractId}/end").id("contractId", &a.contract_id);
        self.run_status(req, |status, b| end_summary(status, b, &a.contract_id))
            .await
    }
}

// ---------------------------------------------------------------------------------------------
// Summaries

/// An item's id, or a plain statement that the answer gave none.
fn id_of(item: &Value, keys: &[&str]) -> String {
    summary::item_id(item, keys).unwrap_or_else(|| "(no id in the answer)".to_owned())
}

/// `GET /contracts`: one line per contract.
fn contracts_summary(b: &Value) -> String {
    let line = |c: &Value| {
        let mut head = vec![id_of(c, &["contractId"])];
        let mut who = Vec::new();
        if let Some(status) = text(c, "/status") {
            who.push(status);
        }
        if let Some(name) = text(c, "/freelancer/displayName") {
            who.push(name);
        }
        if !who.is_empty() {
            head.push(who.join(", "));
        }
        let mut title = text(c, "/title")
            .map(|t| format!("\"{t}\""))
            .unwrap_or_else(|| "untitled".to_owned());
        if let Some(job) = text(c, "/jobId") {
            title.push_str(&format!(" (job {job})"));
        }
        head.push(title);
        head.push(milestone_tally(c));
        let mut line = head.join(" — ");
        if let Some(conversation) = conversation_id(c) {
            line.push_str(&format!(" — conversationId {conversation}"));
        }
        line
    };
    let mut out = summary::list(b, "/contracts", ("contract", "contracts"), line);
    let all = links::list(b, "/contracts", &["contracts"]).unwrap_or_default();
    if !all.is_empty() && all.iter().all(|c| conversation_id(c).is_none()) {
        out.push_str("\nTo message a trainer, get the conversationId from opentrain_get_contract.");
    }
    out
}

/// The post-hire conversation of a contract (`jobDmConversationId`, or another conversation
/// key).
fn conversation_id(c: &Value) -> Option<String> {
    links::text(
        c,
        &["/jobDmConversationId"],
        &["jobDmConversationId", "conversationId"],
    )
}

/// "2 milestones: 1 ACTIVE_FUNDED, 1 NOT_FUNDED (1 approval pending)".
fn milestone_tally(contract: &Value) -> String {
    let all = items(contract, "/milestones");
    if all.is_empty() {
        return "no milestones".to_owned();
    }
    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    for m in all {
        *by_status
            .entry(text_or(m, "/status", "status not stated"))
            .or_default() += 1;
    }
    let states: Vec<String> = by_status.iter().map(|(s, n)| format!("{n} {s}")).collect();
    let mut out = format!(
        "{}: {}",
        summary::count(all.len(), "milestone", "milestones"),
        states.join(", ")
    );
    let pending = all.iter().filter(|m| flag(m, "/pendingApproval")).count();
    if pending > 0 {
        out.push_str(&format!(" ({pending} approval pending)"));
    }
    out
}

/// One milestone on one line: number, id, name, status, amount, due date, flags.
fn milestone_line(m: &Value) -> String {
    let mut line = String::new();
    if let Some(n) = text(m, "/milestoneNumber") {
        line.push_str(&format!("#{n} "));
    }
    line.push_str(&id_of(m, &["milestoneId"]));
    if let Some(name) = text(m, "/name") {
        line.push_str(&format!(" \"{name}\""));
    }
    if let Some(status) = text(m, "/status") {
        line.push_str(&format!(": {status}"));
    }
    if m.pointer("/amountUsd").is_some_and(Value::is_number) {
        line.push_str(&format!(", {}", usd(m, "/amountUsd")));
    }
    if let Some(volume) = text(m, "/volume") {
        line.push_str(&format!(", volume {volume}"));
    }
    if let Some(due) = text(m, "/dueDate") {
        line.push_str(&format!(", due {due}"));
    }
    if flag(m, "/pendingApproval") {
        line.push_str(", approval pending");
    }
    if flag(m, "/needsReview") {
        line.push_str(", needs your review");
    }
    line
}

/// The contract object of an answer: under `contract` (documented), under another key, or the
/// answer itself when it is flat.
fn contract_of(b: &Value) -> &Value {
    links::object(b, &["/contract"], &["contract"]).unwrap_or(b)
}

/// `GET /contracts/{id}`: status, trainer, messaging, budget, milestones, next steps.
fn contract_summary(b: &Value, asked: &Id) -> String {
    let c = contract_of(b);
    let id = text(c, "/id").unwrap_or_else(|| asked.to_string());
    let mut head = format!("Contract {id}");
    if let Some(title) = text(c, "/title") {
        head.push_str(&format!(" \"{title}\""));
    }
    let mut facts = Vec::new();
    if let Some(status) = text(c, "/status") {
        facts.push(status);
    }
    match (
        text(c, "/paymentType"),
        c.get("rateUsd").and_then(Value::as_f64),
    ) {
        (Some(kind), Some(_)) => facts.push(format!("{kind} at {}", usd(c, "/rateUsd"))),
        (Some(kind), None) => facts.push(kind),
        (None, Some(_)) => facts.push(format!("rate {}", usd(c, "/rateUsd"))),
        (None, None) => {}
    }
    let mut who = Vec::new();
    if let Some(country) = text(c, "/freelancer/country") {
        who.push(country);
    }
    if let Some(user) = text(c, "/freelancer/userId") {
        who.push(format!("user {user}"));
    }
    if let Some(name) = text(c, "/freelancer/displayName") {
        let extra = if who.is_empty() {
            String::new()
        } else {
            format!(" ({})", who.join(", "))
        };
        facts.push(format!("with {name}{extra}"));
    } else if !who.is_empty() {
        facts.push(format!("with an AI trainer ({})", who.join(", ")));
    }
    if let Some(job) = text(c, "/jobId") {
        facts.push(format!("on job {job}"));
    }
    let mut out = if facts.is_empty() {
        format!("{head}.")
    } else {
        // "Contract X "T": active, FIXED_PRICE at $300, with …"
        let (first, rest) = facts.split_at(1);
        let mut line = format!("{head}: {}", first[0]);
        for part in rest {
            let sep = if part.starts_with("on job ") {
                " "
            } else {
                ", "
            };
            line.push_str(sep);
            line.push_str(part);
        }
        line.push('.');
        line
    };
    match conversation_id(c) {
        Some(id) => out.push_str(&format!(
            "\nMessages: conversationId {id} (opentrain_send_message / opentrain_read_messages)."
        )),
        None => out.push_str("\nNo job conversation exists yet."),
    }
    out.push('\n');
    out.push_str(&budget_line(c));
    out.push('\n');
    out.push_str(&summary::list(
        c,
        "/milestones",
        ("milestone", "milestones"),
        milestone_line,
    ));
    let all = items(c, "/milestones");
    let any = |status: &str| all.iter().any(|m| m["status"] == status);
    if any("NOT_FUNDED") {
        out.push_str("\nFund a NOT_FUNDED milestone with opentrain_request_milestone_funding.");
    }
    if any("ACTIVE_FUNDED") {
        out.push_str(
            "\nRelease an ACTIVE_FUNDED milestone once the work is delivered with \
             opentrain_request_milestone_approval.",
        );
    }
    out
}

fn budget_line(c: &Value) -> String {
    let Some(budget) = c.get("budget").filter(|v| v.is_object()) else {
        return "Budget: not available.".to_owned();
    };
    let state = text(budget, "/state");
    let mut line = format!(
        "Budget: {} — funded {}",
        state.as_deref().unwrap_or("state not stated"),
        usd(budget, "/fundedAmountUsd")
    );
    if let Some(fraction) = budget.pointer("/consumedFraction").and_then(Value::as_f64) {
        line.push_str(&format!(", {:.0}% consumed", fraction * 100.0));
    }
    if budget["paymentType"] != "FIXED_PRICE"
        && let Some(remaining) = text(budget, "/remainingVolume")
    {
        line.push_str(&format!(", {remaining} units remaining"));
    }
    line.push('.');
    match state.as_deref() {
        Some("LOW") => line.push_str(
            " Funds are running low: create and fund the next milestone to keep work going.",
        ),
        Some("DEPLETED") => line.push_str(
            " Funds are used up: create and fund a new milestone before more work is done.",
        ),
        _ => {}
    }
    line
}

/// `POST /contracts/{id}/milestones` (201).
fn created_milestone_summary(b: &Value, contract: &Id) -> String {
    let m = links::object(b, &["/milestone"], &["milestone"]).unwrap_or(b);
    let id = text(m, "/id").or_else(|| links::text(b, &[], &["milestoneId"]));
    let mut details = Vec::new();
    if let Some(n) = text(m, "/milestoneNumber") {
        details.push(format!("#{n}"));
    }
    if let Some(name) = text(m, "/name") {
        details.push(format!("\"{name}\""));
    }
    if m.pointer("/amountUsd").is_some_and(Value::is_number) {
        details.push(usd(m, "/amountUsd"));
    }
    if let Some(volume) = text(m, "/volume") {
        details.push(format!("volume {volume}"));
    }
    if let Some(due) = text(m, "/dueDate") {
        details.push(format!("due {due}"));
    }
    let details = if details.is_empty() {
        String::new()
    } else {
        format!(" ({})", details.join(", "))
    };
    let state = text_or(m, "/status", "NOT_FUNDED");
    match id {
        Some(id) => format!(
            "Created milestone {id}{details} on contract {contract}. It is {state}: no money has \
             moved.\n\
             Next: call opentrain_request_milestone_funding with milestoneId \"{id}\" to ask your \
             human to fund it."
        ),
        None => format!(
            "Created a milestone{details} on contract {contract}; no money has moved. The answer \
             carries no milestone id. {}\n\
             Next: find the new milestone's id with opentrain_get_contract (contractId \
             \"{contract}\"), then call opentrain_request_milestone_funding with it.",
            links::what_it_says(b)
        ),
    }
}

/// A co-signed request (fund, release): the approval a human must confirm, decided by the 202
/// status (or a pending approval in the answer); anything else is reported as the answer gives it.
fn cosign_summary(status: u16, b: &Value, head: &str) -> String {
    let approval = Approval::find(b);
    if approval.pending(status) {
        format!("{head}\n{}", approval.summary(b))
    } else {
        format!(
            "{head}\nThe API answered {status}, not 202, and shows no pending approval. {}",
            links::what_it_says(b)
        )
    }
}

/// `POST /contracts/{id}/end`: 202 (or a pending approval) means a human must confirm; otherwise
/// the contract ended.
fn end_summary(status: u16, b: &Value, asked: &Id) -> String {
    let approval = Approval::find(b);
    if approval.pending(status) {
        let contract = text(approval.object, "/contractId").unwrap_or_else(|| asked.to_string());
        return format!(
            "Contract {contract} has funded escrow, so ending it needs a human: it is still \
             active.\n{}",
            approval.summary(b)
        );
    }
    let contract =
        links::text(b, &["/contractId"], &["contractId"]).unwrap_or_else(|| asked.to_string());
    format!(
        "Contract {contract} is now {}; this cannot be undone.",
        text(b, "/status")
            .filter(|s| s != "pending")
            .unwrap_or_else(|| "ended".to_owned()),
    )
}

/// `GET /approvals/{id}`: where the approval stands and what to do about it.
fn approval_status_summary(b: &Value, asked: &Id) -> String {
    let approval = Approval::find(b);
    let a = approval.object;
    let id = approval.id.clone().unwrap_or_else(|| asked.to_string());
    let kind = approval
        .kind
        .clone()
        .unwrap_or_else(|| "approval".to_owned());
    let mut target = Vec::new();
    for (label, key) in [
        ("proposal", "proposalId"),
        ("milestone", "milestoneId"),
        ("contract", "contractId"),
    ] {
        if let Some(value) = text(a, &format!("/{key}")) {
            target.push(format!("{label} {value}"));
        }
    }
    let head = if target.is_empty() {
        format!("Approval {id} ({kind})")
    } else {
        format!("Approval {id} ({kind}, {})", target.join(", "))
    };
    let retry = match kind.as_str() {
        "proposal_hire" => "opentrain_hire_proposal",
        "milestone_fund" => "opentrain_request_milestone_funding",
        "milestone_approve" => "opentrain_request_milestone_approval",
        "contract_end" => "opentrain_end_contract",
        _ => "the same request",
    };
    let resolved_at = text(a, "/resolvedAt")
        .map(|at| format!(" at {at}"))
        .unwrap_or_default();
    match approval.state.as_deref() {
        Some("pending") => {
            let deadline = approval
                .expires
                .as_ref()
                .map(|at| format!(" before {at}"))
                .unwrap_or_default();
            match &approval.url {
                Some(url) => format!(
                    "{head} is still pending: your human has not acted yet. They must confirm at \
                     {url}{deadline}; nothing happens until then. Check again later, or watch \
                     opentrain_poll_updates for an approval.confirmed event."
                ),
                None => format!(
                    "{head} is still pending: your human has not acted yet; nothing happens until \
                     they confirm it in the OpenTrain app{deadline}. The answer carries no \
                     approvalUrl. {} Check again later, or watch opentrain_poll_updates for an \
                     approval.confirmed event.",
                    links::what_it_says(b)
                ),
            }
        }
        Some("confirmed") => {
            let mut out = format!("{head} was confirmed{resolved_at} and has executed.");
            if let Some(result) = a.get("result").and_then(Value::as_object)
                && !result.is_empty()
            {
                let parts: Vec<String> = result
                    .iter()
                    .map(|(k, v)| match v {
                        Value::String(s) => format!("{k} {s}"),
                        other => format!("{k} {other}"),
                    })
                    .collect();
                out.push_str(&format!(" Result: {}.", parts.join(", ")));
            }
            out.push(' ');
            out.push_str(match kind.as_str() {
                "proposal_hire" => {
                    "The trainer is hired; see the contract with opentrain_get_contract."
                }
                "milestone_fund" => {
                    "The milestone is funded in escrow; the trainer can work on it."
                }
                "milestone_approve" => "The milestone's funds were released to the trainer.",
                "contract_end" => "The contract has ended.",
                _ => "See the result in the structured content.",
            });
            out
        }
        Some("declined") => format!(
            "{head} was declined by your human{resolved_at}: nothing was executed and no money \
             moved. Ask them why before trying again; {retry} creates a new approval."
        ),
        Some("expired") => format!(
            "{head} expired without a decision{}: nothing was executed and no money moved. If it \
             is still wanted, call {retry} again and share the new approvalUrl with your human.",
            approval
                .expires
                .as_ref()
                .map(|at| format!(" (deadline {at})"))
                .unwrap_or_default(),
        ),
        Some(other) => format!("{head} has status {other}. {}", links::what_it_says(b)),
        None => format!(
            "{head}: the answer does not say its status. {}",
            links::what_it_says(b)
        ),
    }
}
