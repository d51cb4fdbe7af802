//! Contracts, milestones and approvals — where money moves, and only when a human confirms.
//!
//! Charges follow the docs: a hire funds its first milestone for amount + 10% marketplace fee +
//! $9.95 contract fee; funding a later milestone costs amount + 10%. Paid from credits, the
//! charge is a `HOLD` (available → reserved, escrow) when the human confirms the funding, a
//! `CAPTURE` of that hold when they confirm the release, or a `HOLD_RELEASE` back to available
//! when a contract ends with the milestone unreleased. Paid by card, the same happens off the
//! credit ledger. Approvals not acted on within 72 hours of sandbox time expire.

use serde_json::{Value, json};

use super::{ApiErr, Ctx, Handler, Reply, Req, Route, json_object, usd};
use crate::sandbox::clock::{self, HOUR};
use crate::sandbox::events;
use crate::sandbox::store::Tx;
use crate::sandbox::world;

pub const APPROVAL_LIFETIME: i64 = 72 * HOUR;
pub const CONTRACT_FEE_CENTS: i64 = 995;

pub const ROUTES: &[Route] = &[
    Route::new("GET", "/api/public/v1/contracts", Handler::Authed(list)),
    Route::new(
        "GET",
        "/api/public/v1/contracts/{contract_id}",
        Handler::Authed(get_one),
    ),
    Route::new(
        "POST",
        "/api/public/v1/contracts/{contract_id}/milestones",
        Handler::Authed(create_milestone),
    ),
    Route::new(
        "POST",
        "/api/public/v1/contracts/{contract_id}/end",
        Handler::Authed(end),
    ),
    Route::new(
        "POST",
        "/api/public/v1/milestones/{milestone_id}/fund",
        Handler::Authed(fund),
    ),
    Route::new(
        "POST",
        "/api/public/v1/milestones/{milestone_id}/approve",
        Handler::Authed(approve),
    ),
    Route::new(
        "GET",
        "/api/public/v1/approvals/{approval_id}",
        Handler::Authed(get_approval),
    ),
];

/// 10% marketplace fee, rounded to the cent.
pub fn marketplace_fee(amount_cents: i64) -> i64 {
    (amount_cents as f64 * 0.10).round() as i64
}

/// What confirming a hire charges: amount + 10% + $9.95.
pub fn hire_charge(amount_cents: i64) -> i64 {
    amount_cents + marketplace_fee(amount_cents) + CONTRACT_FEE_CENTS
}

/// What confirming a later funding charges: amount + 10%.
pub fn fund_charge(amount_cents: i64) -> i64 {
    amount_cents + marketplace_fee(amount_cents)
}

pub fn billing_url(base: &str, account_id: &str) -> String {
    format!("{base}/billing?account={account_id}")
}

/// 409 `payment_method_required` unless a card is on file or the credits cover `charge`.
pub fn need_payment(ctx: &Ctx, charge: i64) -> Result<(), ApiErr> {
    let card = !ctx.account["card"].is_null();
    let credits = ctx.account["availableCents"].as_i64().unwrap_or(0);
    if card || credits >= charge {
        return Ok(());
    }
    Err(ApiErr::conflict(
        "payment_method_required",
        format!(
            "No payment method on file, and the credit balance (${:.2}) does not cover ${:.2}.",
            credits as f64 / 100.0,
            charge as f64 / 100.0
        ),
    )
    .detail("billingUrl", billing_url(&ctx.base, &ctx.account_id)))
}

/// Records a pending approval.
#[allow(clippy::too_many_arguments)]
pub fn new_approval(
    tx: &Tx,
    ctx: &Ctx,
    kind: &str,
    contract: Option<&str>,
    milestone: Option<&str>,
    job: Option<&str>,
    proposal: Option<&str>,
    terms: Value,
    charge: i64,
) -> rusqlite::Result<Value> {
    let id = tx.new_id("apr")?;
    let approval = json!({
        "id": id, "account": ctx.account_id, "type": kind, "status": "pending",
        "contractId": contract, "milestoneId": milestone, "jobId": job, "proposalId": proposal,
        "expiresAt": tx.now + APPROVAL_LIFETIME, "resolvedAt": null, "result": null,
        "createdAt": tx.now, "terms": terms, "chargeCents": charge,
        "requestedBy": ctx.token_id,
    });
    tx.put("approvals", &id, Some(&ctx.account_id), None, &approval)?;
    Ok(approval)
}

pub fn approval_url(base: &str, id: &str) -> String {
    format!("{base}/approvals/{id}")
}

pub fn approval_shape(base: &str, a: &Value) -> Value {
    let id = a["id"].as_str().unwrap_or_default();
    json!({
        "id": id,
        "type": a["type"],
        "status": a["status"],
        "contractId": a["contractId"],
        "milestoneId": a["milestoneId"],
        "jobId": a["jobId"],
        "proposalId": a["proposalId"],
        "approvalUrl": approval_url(base, id),
        "expiresAt": super::iso(&a["expiresAt"]),
        "resolvedAt": super::iso(&a["resolvedAt"]),
        "result": a["result"],
        "createdAt": super::iso(&a["createdAt"]),
    })
}

/// Pending approvals past their 72 hours become `expired` (an `approval.confirmed` event, as
/// for any terminal state).
pub fn expire_approvals(tx: &Tx, account_id: &str) -> rusqlite::Result<()> {
    for mut a in tx.list("approvals", "account", account_id)? {
        if a["status"] == "pending" && a["expiresAt"].as_i64().is_some_and(|e| e <= tx.now) {
            a["status"] = json!("expired");
            a["resolvedAt"] = a["expiresAt"].clone();
            let id = a["id"].as_str().unwrap_or_default().to_owned();
            tx.save("approvals", &id, &a)?;
            void_invoice(tx, &a)?;
            events::emit(
                tx,
                account_id,
                "approval.confirmed",
                &id,
                a["jobId"].as_str(),
                json!({"approvalId": id, "status": "expired"}),
            )?;
        }
    }
    Ok(())
}

fn void_invoice(tx: &Tx, approval: &Value) -> rusqlite::Result<()> {
    if let Some(invoice_id) = approval["invoiceId"].as_str()
        && let Some(mut invoice) = tx.get("invoices", invoice_id)?
    {
        invoice["status"] = json!("VOID");
        tx.save("invoices", invoice_id, &invoice)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Shapes

pub fn milestone_shape(tx: &Tx, m: &Value) -> rusqlite::Result<Value> {
    let id = m["id"].as_str().unwrap_or_default();
    let pending = tx
        .list(
            "approvals",
            "account",
            m["account"].as_str().unwrap_or_default(),
        )?
        .iter()
        .any(|a| a["milestoneId"] == id && a["status"] == "pending");
    Ok(json!({
        "id": id,
        "name": m["name"],
        "description": m["description"],
        "status": m["status"],
        "amountUsd": m["amountCents"].as_i64().map(usd),
        "volume": m["volume"],
        "milestoneNumber": m["number"],
        "dueDate": super::iso(&m["dueDate"]),
        "pendingApproval": pending,
        "needsReview": false,
        "invoiceId": m["invoiceId"],
        "createdAt": super::iso(&m["createdAt"]),
    }))
}

/// Milestones of a contract, oldest first, without refunded/cancelled ones (as the app shows).
fn timeline(tx: &Tx, contract_id: &str) -> rusqlite::Result<Vec<Value>> {
    let mut all = tx.list("milestones", "parent", contract_id)?;
    all.reverse();
    Ok(all
        .into_iter()
        .filter(|m| m["status"] != "CANCELLED")
        .collect())
}

pub fn contract_shape(tx: &Tx, base: &str, c: &Value, full: bool) -> rusqlite::Result<Value> {
    let id = c["id"].as_str().unwrap_or_default();
    let milestones = timeline(tx, id)?;
    let trainer = c["trainer"].as_u64().unwrap_or(0) as usize;
    let profile = world::profile(tx.seed, trainer, base);
    let shapes = milestones
        .iter()
        .map(|m| milestone_shape(tx, m))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let active = milestones.iter().find(|m| m["status"] == "ACTIVE_FUNDED");
    let total: i64 = milestones
        .iter()
        .filter_map(|m| m["amountCents"].as_i64())
        .sum();
    let mut out = json!({
        "id": id,
        "status": c["status"],
        "title": c["title"],
        "jobId": c["jobId"],
        "proposalId": c["proposalId"],
        "paymentType": "FIXED_PRICE",
        "rateUsd": c["rateCents"].as_i64().map(usd),
        "estimatedTotalUsd": usd(total),
        "estimatedVolume": null,
        "hasActiveMilestone": active.is_some(),
        "startDate": super::iso(&c["createdAt"]),
        "endDate": super::iso(&c["endedAt"]),
        "createdAt": super::iso(&c["createdAt"]),
        "updatedAt": super::iso(&c["updatedAt"]),
        "freelancer": {
            "userId": profile["id"],
            "displayName": profile["displayName"],
            "country": profile["country"],
            "profilePath": profile["profilePath"],
        },
        "milestones": shapes,
    });
    if full {
        let funded: i64 = milestones
            .iter()
            .filter(|m| matches!(m["status"].as_str(), Some("ACTIVE_FUNDED" | "PAID")))
            .filter_map(|m| m["amountCents"].as_i64())
            .sum();
        out["jobDmConversationId"] = c["conversationId"].clone();
        out["budget"] = json!({
            "contractId": id,
            "paymentType": "FIXED_PRICE",
            "state": "OK",
            "fundedVolume": 0,
            "fundedAmountUsd": usd(funded),
            "consumed": {"seconds": 0, "hours": 0, "labels": 0, "tasks": 0},
            "consumedVolume": 0,
            "remainingVolume": 0,
            "consumedFraction": 0,
            "activeMilestone": active.map(|m| json!({
                "id": m["id"], "name": m["name"], "amountUsd": m["amountCents"].as_i64().map(usd),
                "volume": m["volume"], "status": m["status"],
            })),
            "lastUsageAt": null,
        });
    }
    Ok(out)
}

fn own_contract(tx: &Tx, ctx: &Ctx, id: &str) -> Result<Value, ApiErr> {
    tx.get("contracts", id)?
        .filter(|c| c["account"] == ctx.account_id.as_str())
        .ok_or_else(|| ApiErr::not_found("contracts", "contractId", id))
}

fn own_milestone(tx: &Tx, ctx: &Ctx, id: &str) -> Result<Value, ApiErr> {
    tx.get("milestones", id)?
        .filter(|m| m["account"] == ctx.account_id.as_str())
        .ok_or_else(|| ApiErr::not_found("milestones", "milestoneId", id))
}

// ---------------------------------------------------------------------------------------------
// Money

fn ledger_entry(
    tx: &Tx,
    account_id: &str,
    kind: &str,
    amount: i64,
    links: Value,
    note: Option<String>,
) -> rusqlite::Result<String> {
    let id = tx.new_id("led")?;
    let entry = json!({
        "id": id, "type": kind, "amountCents": amount, "createdAt": tx.now,
        "holdEntryId": links["holdEntryId"], "jobofferId": links["jobofferId"],
        "contractId": links["contractId"], "milestoneId": links["milestoneId"],
        "topUpId": links["topUpId"], "note": note,
    });
    tx.put("ledger", &id, Some(account_id), None, &entry)?;
    Ok(id)
}

pub fn top_up_entry(
    tx: &Tx,
    account_id: &str,
    top_up_id: &str,
    amount: i64,
) -> rusqlite::Result<()> {
    let mut account = tx.get("accounts", account_id)?.unwrap_or(Value::Null);
    account["availableCents"] = json!(account["availableCents"].as_i64().unwrap_or(0) + amount);
    tx.save("accounts", account_id, &account)?;
    ledger_entry(
        tx,
        account_id,
        "TOP_UP",
        amount,
        json!({"topUpId": top_up_id}),
        Some("Stripe Checkout top-up (sandbox)".into()),
    )?;
    Ok(())
}

/// Takes `charge` from the chosen source into escrow; records how on the milestone.
fn escrow(
    tx: &Tx,
    account_id: &str,
    milestone: &mut Value,
    charge: i64,
    source: &str,
    links: Value,
) -> Result<(), String> {
    let mut account = tx
        .get("accounts", account_id)
        .map_err(|e| e.to_string())?
        .unwrap_or(Value::Null);
    match source {
        "credits" => {
            let available = account["availableCents"].as_i64().unwrap_or(0);
            if available < charge {
                return Err(format!(
                    "The credit balance (${:.2}) does not cover ${:.2}; pay by card or top up first.",
                    available as f64 / 100.0,
                    charge as f64 / 100.0
                ));
            }
            account["availableCents"] = json!(available - charge);
            account["reservedCents"] =
                json!(account["reservedCents"].as_i64().unwrap_or(0) + charge);
            let note = format!(
                "Escrow for milestone \"{}\": ${:.2} incl. fees",
                milestone["name"]
                    .as_str()
                    .or(milestone["description"].as_str())
                    .unwrap_or(""),
                charge as f64 / 100.0
            );
            let hold = ledger_entry(tx, account_id, "HOLD", -charge, links, Some(note))
                .map_err(|e| e.to_string())?;
            milestone["holdEntryId"] = json!(hold);
        }
        "card" => {
            if account["card"].is_null() {
                return Err("No card is on file; add one on the billing page first.".into());
            }
            let mut charges = account["cardCharges"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            charges.push(json!({"cents": charge, "at": tx.now, "milestoneId": milestone["id"]}));
            account["cardCharges"] = json!(charges);
        }
        other => return Err(format!("Unknown payment source {other:?}.")),
    }
    milestone["fundedWith"] = json!(source);
    milestone["chargeCents"] = json!(charge);
    tx.save("accounts", account_id, &account)
        .map_err(|e| e.to_string())
}

/// Releases a funded milestone's escrow: `CAPTURE` (paid out) or `HOLD_RELEASE` (refunded).
fn settle(tx: &Tx, account_id: &str, milestone: &Value, pay_out: bool) -> rusqlite::Result<()> {
    let charge = milestone["chargeCents"].as_i64().unwrap_or(0);
    let links = json!({
        "holdEntryId": milestone["holdEntryId"], "jobofferId": milestone["proposalId"],
        "contractId": milestone["contract"], "milestoneId": milestone["id"],
    });
    let mut account = tx.get("accounts", account_id)?.unwrap_or(Value::Null);
    if milestone["fundedWith"] == "credits" {
        account["reservedCents"] = json!(account["reservedCents"].as_i64().unwrap_or(0) - charge);
        let amount = milestone["amountCents"].as_i64().unwrap_or(0);
        if pay_out {
            let note = format!(
                "Released: ${:.2} to the trainer, ${:.2} in fees",
                amount as f64 / 100.0,
                (charge - amount) as f64 / 100.0
            );
            ledger_entry(tx, account_id, "CAPTURE", -charge, links, Some(note))?;
        } else {
            account["availableCents"] =
                json!(account["availableCents"].as_i64().unwrap_or(0) + charge);
            ledger_entry(
                tx,
                account_id,
                "HOLD_RELEASE",
                charge,
                links,
                Some("Contract ended: escrow returned to your balance".into()),
            )?;
        }
    } else if !pay_out {
        let mut refunds = account["cardRefunds"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        refunds.push(json!({"cents": charge, "at": tx.now, "milestoneId": milestone["id"]}));
        account["cardRefunds"] = json!(refunds);
    }
    tx.save("accounts", account_id, &account)
}

fn milestone_event(tx: &Tx, m: &Value) -> rusqlite::Result<()> {
    let contract = tx
        .get("contracts", m["contract"].as_str().unwrap_or_default())?
        .unwrap_or(Value::Null);
    events::emit(
        tx,
        m["account"].as_str().unwrap_or_default(),
        "milestone.status_changed",
        m["id"].as_str().unwrap_or_default(),
        contract["jobId"].as_str(),
        json!({"milestoneId": m["id"], "contractId": m["contract"], "status": m["status"]}),
    )?;
    Ok(())
}

/// What confirming the approval would charge, and from which sources it can be paid.
pub fn payment_options(tx: &Tx, approval: &Value) -> rusqlite::Result<(i64, bool, bool)> {
    let account = tx
        .get("accounts", approval["account"].as_str().unwrap_or_default())?
        .unwrap_or(Value::Null);
    let charge = approval["chargeCents"].as_i64().unwrap_or(0);
    let credits = account["availableCents"].as_i64().unwrap_or(0) >= charge;
    Ok((charge, credits, !account["card"].is_null()))
}

/// The human's decision on an approval page. `source` is `credits` or `card` for money
/// approvals. Returns an error text to show on the page when it cannot be done.
pub fn resolve(
    tx: &Tx,
    approval_id: &str,
    confirm: bool,
    source: Option<&str>,
) -> Result<(), String> {
    let db = |e: rusqlite::Error| e.to_string();
    let mut a = tx
        .get("approvals", approval_id)
        .map_err(db)?
        .ok_or("No such approval.")?;
    if a["status"] != "pending" {
        return Err(format!(
            "This approval is already {}.",
            a["status"].as_str().unwrap_or("resolved")
        ));
    }
    if a["expiresAt"].as_i64().is_some_and(|e| e <= tx.now) {
        expire_approvals(tx, a["account"].as_str().unwrap_or_default()).map_err(db)?;
        return Err("This approval has expired: the agent must ask again.".into());
    }
    let account_id = a["account"].as_str().unwrap_or_default().to_owned();
    if confirm {
        let result = match a["type"].as_str() {
            Some("proposal_hire") => confirm_hire(tx, &a, source.unwrap_or("credits"))?,
            Some("milestone_fund") => confirm_fund(tx, &a, source.unwrap_or("credits"))?,
            Some("milestone_approve") => confirm_release(tx, &a)?,
            Some("contract_end") => confirm_end(tx, &a)?,
            _ => return Err("Unknown approval type.".into()),
        };
        a["status"] = json!("confirmed");
        a["result"] = result;
    } else {
        a["status"] = json!("declined");
        void_invoice(tx, &a).map_err(db)?;
    }
    a["resolvedAt"] = json!(tx.now);
    tx.save("approvals", approval_id, &a).map_err(db)?;
    let status = a["status"].clone();
    events::emit(
        tx,
        &account_id,
        "approval.confirmed",
        approval_id,
        a["jobId"].as_str(),
        json!({"approvalId": approval_id, "status": status}),
    )
    .map_err(db)?;
    Ok(())
}

fn confirm_hire(tx: &Tx, a: &Value, source: &str) -> Result<Value, String> {
    let db = |e: rusqlite::Error| e.to_string();
    let account_id = a["account"].as_str().unwrap_or_default();
    let proposal_id = a["proposalId"].as_str().unwrap_or_default();
    let mut proposal = tx
        .get("proposals", proposal_id)
        .map_err(db)?
        .ok_or("The proposal is gone.")?;
    if proposal["status"] == "HIRED" {
        return Err("This proposal was already hired.".into());
    }
    let job_id = proposal["jobId"].as_str().unwrap_or_default().to_owned();
    let job = tx.get("jobs", &job_id).map_err(db)?.unwrap_or(Value::Null);
    let terms = &a["terms"];
    let amount = terms["amountCents"].as_i64().unwrap_or(0);
    let contract_id = tx.new_id("ctr").map_err(db)?;
    let milestone_id = tx.new_id("mst").map_err(db)?;
    let invoice_id = tx.new_id("inv").map_err(db)?;
    let trainer = proposal["trainer"].as_u64().unwrap_or(0);
    let title = format!(
        "{} Contract",
        job["fields"]["jobTitle"].as_str().unwrap_or("Labeling")
    );
    let mut milestone = json!({
        "id": milestone_id, "account": account_id, "contract": contract_id, "proposalId": proposal_id,
        "name": terms["name"], "description": terms["description"].as_str().or(terms["name"].as_str()),
        "status": "ACTIVE_FUNDED", "amountCents": amount, "volume": null, "number": 1,
        "dueDate": terms["dueDate"], "invoiceId": invoice_id, "createdAt": tx.now,
    });
    let links =
        json!({"jobofferId": proposal_id, "contractId": contract_id, "milestoneId": milestone_id});
    escrow(
        tx,
        account_id,
        &mut milestone,
        hire_charge(amount),
        source,
        links,
    )?;
    let conversation = super::messages::new_conversation(
        tx,
        account_id,
        "job",
        Some(&job_id),
        None,
        Some(&contract_id),
        trainer,
        &title,
    )
    .map_err(db)?;
    tx.put("contracts", &contract_id, Some(account_id), Some(&job_id), &json!({
        "id": contract_id, "account": account_id, "status": "active", "title": title,
        "jobId": job_id, "proposalId": proposal_id, "trainer": trainer, "rateCents": amount,
        "conversationId": conversation, "createdAt": tx.now, "updatedAt": tx.now, "endedAt": null,
    })).map_err(db)?;
    tx.put(
        "milestones",
        &milestone_id,
        Some(account_id),
        Some(&contract_id),
        &milestone,
    )
    .map_err(db)?;
    tx.put(
        "invoices",
        &invoice_id,
        Some(account_id),
        None,
        &json!({
            "id": invoice_id, "status": "PAID", "amountCents": amount, "createdAt": tx.now,
            "milestoneId": milestone_id, "contractId": contract_id, "jobId": job_id,
        }),
    )
    .map_err(db)?;
    proposal["status"] = json!("HIRED");
    proposal["contractId"] = json!(contract_id);
    proposal["updatedAt"] = json!(tx.now);
    tx.save("proposals", proposal_id, &proposal).map_err(db)?;
    events::emit(
        tx,
        account_id,
        "proposal.status_changed",
        proposal_id,
        Some(&job_id),
        json!({"proposalId": proposal_id, "status": "HIRED"}),
    )
    .map_err(db)?;
    events::emit(
        tx,
        account_id,
        "contract.created",
        &contract_id,
        Some(&job_id),
        json!({"contractId": contract_id, "jobId": job_id, "proposalId": proposal_id}),
    )
    .map_err(db)?;
    milestone_event(tx, &milestone).map_err(db)?;
    let trainer_user = world::trainer_id(tx.seed, trainer as usize);
    let hello = format!(
        "Thanks for hiring me! I'm starting on \"{}\" now and will post updates here.",
        milestone["name"]
            .as_str()
            .or(milestone["description"].as_str())
            .unwrap_or("the first milestone")
    );
    super::messages::add_message(
        tx,
        account_id,
        &conversation,
        &trainer_user,
        &hello,
        tx.now + clock::MINUTE,
    )
    .map_err(db)?;
    Ok(
        json!({"hired": true, "contractId": contract_id, "jobId": job_id, "freelancerUserId": trainer_user}),
    )
}

fn confirm_fund(tx: &Tx, a: &Value, source: &str) -> Result<Value, String> {
    let db = |e: rusqlite::Error| e.to_string();
    let account_id = a["account"].as_str().unwrap_or_default();
    let id = a["milestoneId"].as_str().unwrap_or_default();
    let mut m = tx
        .get("milestones", id)
        .map_err(db)?
        .ok_or("The milestone is gone.")?;
    if m["status"] != "NOT_FUNDED" {
        return Err("This milestone is no longer unfunded.".into());
    }
    let contract = tx
        .get("contracts", m["contract"].as_str().unwrap_or_default())
        .map_err(db)?
        .unwrap_or(Value::Null);
    if contract["status"] != "active" {
        return Err("The contract has ended.".into());
    }
    let charge = fund_charge(m["amountCents"].as_i64().unwrap_or(0));
    let links = json!({"jobofferId": contract["proposalId"], "contractId": m["contract"], "milestoneId": id});
    m["proposalId"] = contract["proposalId"].clone();
    escrow(tx, account_id, &mut m, charge, source, links)?;
    let invoice_id = a["invoiceId"].as_str().unwrap_or_default().to_owned();
    if let Some(mut invoice) = tx.get("invoices", &invoice_id).map_err(db)? {
        invoice["status"] = json!("PAID");
        tx.save("invoices", &invoice_id, &invoice).map_err(db)?;
    }
    m["status"] = json!("ACTIVE_FUNDED");
    m["invoiceId"] = json!(invoice_id);
    tx.save("milestones", id, &m).map_err(db)?;
    milestone_event(tx, &m).map_err(db)?;
    Ok(json!({"invoiceId": invoice_id, "paymentIntentId": format!("pi_sandbox_{}", &id[4..])}))
}

fn confirm_release(tx: &Tx, a: &Value) -> Result<Value, String> {
    let db = |e: rusqlite::Error| e.to_string();
    let account_id = a["account"].as_str().unwrap_or_default();
    let id = a["milestoneId"].as_str().unwrap_or_default();
    let mut m = tx
        .get("milestones", id)
        .map_err(db)?
        .ok_or("The milestone is gone.")?;
    if m["status"] != "ACTIVE_FUNDED" {
        return Err("This milestone is not funded.".into());
    }
    settle(tx, account_id, &m, true).map_err(db)?;
    m["status"] = json!("PAID");
    m["paidAt"] = json!(tx.now);
    tx.save("milestones", id, &m).map_err(db)?;
    milestone_event(tx, &m).map_err(db)?;
    Ok(
        json!({"invoiceId": m["invoiceId"], "payoutTransactionId": format!("po_sandbox_{}", &id[4..])}),
    )
}

fn end_contract(tx: &Tx, contract: &mut Value) -> rusqlite::Result<()> {
    let id = contract["id"].as_str().unwrap_or_default().to_owned();
    let account_id = contract["account"].as_str().unwrap_or_default().to_owned();
    for mut m in tx.list("milestones", "parent", &id)? {
        if m["status"] == "ACTIVE_FUNDED" {
            settle(tx, &account_id, &m, false)?;
            m["status"] = json!("CANCELLED");
            tx.save("milestones", m["id"].as_str().unwrap_or_default(), &m)?;
            milestone_event(tx, &m)?;
        }
    }
    contract["status"] = json!("ended");
    contract["endedAt"] = json!(tx.now);
    contract["updatedAt"] = json!(tx.now);
    tx.save("contracts", &id, contract)
}

fn confirm_end(tx: &Tx, a: &Value) -> Result<Value, String> {
    let db = |e: rusqlite::Error| e.to_string();
    let mut contract = tx
        .get("contracts", a["contractId"].as_str().unwrap_or_default())
        .map_err(db)?
        .ok_or("The contract is gone.")?;
    if contract["status"] != "active" {
        return Err("The contract has already ended.".into());
    }
    end_contract(tx, &mut contract).map_err(db)?;
    Ok(json!({"contractEnded": true}))
}

// ---------------------------------------------------------------------------------------------
// Handlers

fn list(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let q = &r.query;
    ctx.need(&["payments:read"])?;
    if let Some(s) = q.get("status")
        && !matches!(s, "active" | "ended")
    {
        return Err(ApiErr::bad("status", "status must be active or ended."));
    }
    if let Some(job_id) = q.get("jobId") {
        let job = tx
            .get("jobs", job_id)?
            .ok_or_else(|| ApiErr::not_found("jobs", "jobId", job_id))?;
        if job["account"] != ctx.account_id.as_str() {
            return Err(ApiErr::new(403, "This job belongs to another account."));
        }
    }
    let mut items = Vec::new();
    for c in tx.list("contracts", "account", &ctx.account_id)? {
        if q.get("status").is_some_and(|s| c["status"] != s)
            || q.get("jobId").is_some_and(|j| c["jobId"] != j)
        {
            continue;
        }
        items.push(contract_shape(tx, &ctx.base, &c, false)?);
    }
    Ok((200, json!({"contracts": items})))
}

fn get_one(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let id = r.param().to_owned();
    ctx.need(&["payments:read"])?;
    let c = own_contract(tx, ctx, &id)?;
    Ok((
        200,
        json!({"contract": contract_shape(tx, &ctx.base, &c, true)?}),
    ))
}

fn create_milestone(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let id = r.param().to_owned();
    let body: &[u8] = &r.body;
    ctx.need_claimed("add milestones")?;
    ctx.need(&["payments:write"])?;
    let c = own_contract(tx, ctx, &id)?;
    if c["status"] != "active" {
        return Err(ApiErr::conflict(
            "contract_ended",
            "The contract has ended.",
        ));
    }
    let b = json_object(body, false)?;
    let description = b
        .get("description")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or("");
    if description.is_empty() {
        return Err(ApiErr::bad("description", "description is required."));
    }
    let amount = match b.get("amountUsd") {
        Some(v) => Some(
            v.as_f64()
                .filter(|a| *a > 0.0)
                .ok_or_else(|| ApiErr::bad("amountUsd", "amountUsd must be a positive number."))?,
        ),
        None => None,
    };
    let amount = amount.ok_or_else(|| {
        ApiErr::bad(
            "amountUsd",
            "amountUsd is required on a fixed-price contract.",
        )
    })?;
    let volume = match b.get("volume") {
        None | Some(Value::Null) => Value::Null,
        Some(v) => json!(
            v.as_f64()
                .filter(|n| *n > 0.0)
                .ok_or_else(|| ApiErr::bad("volume", "volume must be a positive number."))?
        ),
    };
    let due = match b.get("dueDate") {
        None | Some(Value::Null) => Value::Null,
        Some(v) => json!(
            v.as_str()
                .and_then(clock::parse)
                .ok_or_else(|| ApiErr::bad("dueDate", "dueDate must be an ISO 8601 date."))?
        ),
    };
    let number = tx.list("milestones", "parent", &id)?.len() + 1;
    let mid = tx.new_id("mst")?;
    let m = json!({
        "id": mid, "account": ctx.account_id, "contract": id, "proposalId": c["proposalId"],
        "name": b.get("name").and_then(Value::as_str), "description": description,
        "status": "NOT_FUNDED", "amountCents": super::cents(amount), "volume": volume,
        "number": number, "dueDate": due, "invoiceId": null, "createdAt": tx.now,
    });
    tx.put("milestones", &mid, Some(&ctx.account_id), Some(&id), &m)?;
    milestone_event(tx, &m)?;
    Ok((201, json!({"milestone": milestone_shape(tx, &m)?})))
}

fn pending_for(
    tx: &Tx,
    ctx: &Ctx,
    kind: &str,
    key: &str,
    id: &str,
) -> rusqlite::Result<Option<Value>> {
    Ok(tx
        .list("approvals", "account", &ctx.account_id)?
        .into_iter()
        .find(|a| a["type"] == kind && a[key] == id && a["status"] == "pending"))
}

fn co_sign(ctx: &Ctx, a: &Value, message: &str) -> Reply {
    Ok((
        202,
        json!({"approval": approval_shape(&ctx.base, a), "message": message}),
    ))
}

fn fund(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let id = r.param().to_owned();
    ctx.need_claimed("fund milestones")?;
    ctx.need(&["payments:write"])?;
    let m = own_milestone(tx, ctx, &id)?;
    let c = tx
        .get("contracts", m["contract"].as_str().unwrap_or_default())?
        .unwrap_or(Value::Null);
    if c["status"] != "active" {
        return Err(ApiErr::conflict(
            "contract_ended",
            "The contract has ended.",
        ));
    }
    const MESSAGE: &str = "Funding request recorded. A signed-in human must confirm this approval in the OpenTrain app before any money moves.";
    if let Some(a) = pending_for(tx, ctx, "milestone_fund", "milestoneId", &id)? {
        return co_sign(ctx, &a, MESSAGE);
    }
    if m["status"] != "NOT_FUNDED" {
        return Err(ApiErr::conflict(
            "milestone_not_fundable",
            "Only NOT_FUNDED milestones can be funded.",
        )
        .detail("status", m["status"].clone()));
    }
    let charge = fund_charge(m["amountCents"].as_i64().unwrap_or(0));
    need_payment(ctx, charge)?;
    let mut a = new_approval(
        tx,
        ctx,
        "milestone_fund",
        m["contract"].as_str(),
        Some(&id),
        c["jobId"].as_str(),
        None,
        json!({}),
        charge,
    )?;
    let invoice_id = tx.new_id("inv")?;
    let number = 1000 + tx.all("invoices")?.len();
    tx.put("invoices", &invoice_id, Some(&ctx.account_id), None, &json!({
        "id": invoice_id, "status": "PENDING_FUNDING", "amountCents": m["amountCents"],
        "createdAt": tx.now, "milestoneId": id, "contractId": m["contract"], "jobId": c["jobId"],
        "invoiceNumber": number,
    }))?;
    a["invoiceId"] = json!(invoice_id);
    tx.save("approvals", a["id"].as_str().unwrap_or_default(), &a)?;
    events::emit(
        tx,
        &ctx.account_id,
        "payment.pending",
        &invoice_id,
        c["jobId"].as_str(),
        json!({"invoiceId": invoice_id, "milestoneId": id, "contractId": m["contract"]}),
    )?;
    co_sign(ctx, &a, MESSAGE)
}

fn approve(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let id = r.param().to_owned();
    ctx.need_claimed("release milestone payments")?;
    ctx.need(&["payments:write"])?;
    let m = own_milestone(tx, ctx, &id)?;
    let c = tx
        .get("contracts", m["contract"].as_str().unwrap_or_default())?
        .unwrap_or(Value::Null);
    const MESSAGE: &str = "Release request recorded. A signed-in human must confirm this approval in the OpenTrain app before any money moves.";
    if let Some(a) = pending_for(tx, ctx, "milestone_approve", "milestoneId", &id)? {
        return co_sign(ctx, &a, MESSAGE);
    }
    match m["status"].as_str() {
        Some("ACTIVE_FUNDED") => {}
        Some("NOT_FUNDED") => {
            return Err(ApiErr::conflict(
                "milestone_not_funded",
                "Milestone is NOT_FUNDED: fund it first.",
            ));
        }
        other => {
            return Err(ApiErr::conflict(
                "milestone_not_approvable",
                "This milestone was already paid or cancelled.",
            )
            .detail("status", other.unwrap_or("?")));
        }
    }
    if c["status"] != "active" {
        return Err(ApiErr::conflict(
            "contract_ended",
            "The contract has ended.",
        ));
    }
    let a = new_approval(
        tx,
        ctx,
        "milestone_approve",
        m["contract"].as_str(),
        Some(&id),
        c["jobId"].as_str(),
        None,
        json!({}),
        0,
    )?;
    co_sign(ctx, &a, MESSAGE)
}

fn end(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let id = r.param().to_owned();
    ctx.need_claimed("end contracts")?;
    ctx.need(&["payments:write"])?;
    let mut c = own_contract(tx, ctx, &id)?;
    if c["status"] != "active" {
        return Err(ApiErr::conflict(
            "contract_ended",
            "The contract has already ended.",
        ));
    }
    const MESSAGE: &str = "This contract has funded milestones, so a signed-in human must confirm ending it in the OpenTrain app.";
    if let Some(a) = pending_for(tx, ctx, "contract_end", "contractId", &id)? {
        return co_sign(ctx, &a, MESSAGE);
    }
    let funded = tx
        .list("milestones", "parent", &id)?
        .iter()
        .any(|m| m["status"] == "ACTIVE_FUNDED");
    if funded {
        let a = new_approval(
            tx,
            ctx,
            "contract_end",
            Some(&id),
            None,
            c["jobId"].as_str(),
            None,
            json!({}),
            0,
        )?;
        return co_sign(ctx, &a, MESSAGE);
    }
    end_contract(tx, &mut c)?;
    Ok((
        200,
        json!({"ok": true, "contractId": id, "status": "ended"}),
    ))
}

fn get_approval(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let id = r.param().to_owned();
    ctx.need(&["payments:read"])?;
    let a = tx
        .get("approvals", &id)?
        .filter(|a| a["account"] == ctx.account_id.as_str())
        .ok_or_else(|| ApiErr::not_found("approvals", "approvalId", &id))?;
    Ok((200, json!({"approval": approval_shape(&ctx.base, &a)})))
}
