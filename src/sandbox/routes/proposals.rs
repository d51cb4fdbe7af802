//! Proposals and trainers: a job's proposals, one proposal with its AI interview, trainer
//! profiles, inviting a trainer, and the co-signed hire (409 `payment_method_required` when no
//! card is on file and the credits do not cover milestone + 10% + $9.95).

use serde_json::{Value, json};

use super::contracts::{self, approval_shape, hire_charge};
use super::jobs::own_job;
use super::{ApiErr, Ctx, Handler, Reply, Req, Route, json_object, page};
use crate::sandbox::clock;
use crate::sandbox::store::Tx;
use crate::sandbox::world::{self, TRAINERS};

const STATUSES: &[&str] = &[
    "UNREVIEWED",
    "SHORTLISTED",
    "MAYBE",
    "HIRED",
    "DECLINED",
    "NOT_A_FIT",
    "RESUME_SENT",
];

pub const ROUTES: &[Route] = &[
    Route::new(
        "GET",
        "/api/public/v1/jobs/{job_id}/proposals",
        Handler::Authed(list),
    ),
    Route::new(
        "POST",
        "/api/public/v1/jobs/{job_id}/invites",
        Handler::Authed(invite),
    ),
    Route::new(
        "GET",
        "/api/public/v1/proposals/{proposal_id}",
        Handler::Authed(get_one),
    ),
    Route::new(
        "GET",
        "/api/public/v1/proposals/{proposal_id}/interview",
        Handler::Authed(interview),
    ),
    Route::new(
        "POST",
        "/api/public/v1/proposals/{proposal_id}/hire",
        Handler::Authed(hire),
    ),
    Route::new(
        "GET",
        "/api/public/v1/freelancers/{id_or_slug}",
        Handler::Authed(freelancer),
    ),
];

fn label(status: &str) -> String {
    let lower = status.replace('_', " ").to_lowercase();
    let mut c = lower.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// A proposal as the API shows it; `full` adds the interview block, verification, Open Label
/// and the contract (`GET /proposals/{id}`).
pub fn shape(tx: &Tx, base: &str, p: &Value, full: bool) -> rusqlite::Result<Value> {
    let trainer = p["trainer"].as_u64().unwrap_or(0) as usize;
    let profile = world::profile(tx.seed, trainer, base);
    let job = tx
        .get("jobs", p["jobId"].as_str().unwrap_or_default())?
        .unwrap_or(Value::Null);
    let status = p["status"].as_str().unwrap_or("UNREVIEWED");
    let mut out = json!({
        "id": p["id"],
        "jobId": p["jobId"],
        "jobTitle": job["fields"]["jobTitle"],
        "createdAt": clock::iso(p["createdAt"].as_i64().unwrap_or(0)),
        "updatedAt": clock::iso(p["updatedAt"].as_i64().unwrap_or(0)),
        "status": {"raw": status, "label": label(status)},
        "bid": p["bid"],
        "candidate": {
            "id": profile["id"],
            "profileSlug": profile["profileSlug"],
            "displayName": profile["displayName"],
            "firstName": profile["firstName"],
            "lastNameInitial": profile["lastNameInitial"],
            "profileTitle": profile["title"],
            "profilePhotoUrl": profile["profilePhotoUrl"],
            "countryCode": profile["countryCode"],
            "country": profile["country"],
            "talentType": "FREELANCER",
            "highestEarningsUsd": profile["stats"]["totalEarnedUsd"],
            "reviewCount": profile["stats"]["reviewCount"],
        },
        "metrics": {"interviewScore": p["interviewScore"], "matchScore": p["matchScore"]},
        "coverLetter": p["coverLetter"],
    });
    if full {
        let interview = &p["interview"];
        out["aiInterview"] = json!({
            "score": interview["score"],
            "summary": interview["summary"],
            "transcriptAvailable": !interview.is_null(),
        });
        out["verification"] = json!({
            "location": {"status": "PASSED", "method": "GPS", "checkedAt": clock::iso(p["createdAt"].as_i64().unwrap_or(0) - 2 * clock::MINUTE)},
            "identity": {"verified": true},
        });
        out["openLabel"] = if p["openLabel"] == true {
            profile["openLabel"].clone()
        } else {
            Value::Null
        };
        out["contract"] = match p["contractId"].as_str() {
            Some(id) => {
                let c = tx.get("contracts", id)?.unwrap_or(Value::Null);
                json!({"id": id, "status": c["status"]})
            }
            None => Value::Null,
        };
        let _ = TRAINERS.len();
    }
    Ok(out)
}

/// The caller's proposal: 404 when it does not exist, 403 when it is on another account's job.
pub fn own_proposal(tx: &Tx, ctx: &Ctx, id: &str) -> Result<Value, ApiErr> {
    let p = tx
        .get("proposals", id)?
        .ok_or_else(|| ApiErr::not_found("proposals", "proposalId", id))?;
    if p["account"] != ctx.account_id.as_str() {
        return Err(ApiErr::new(
            403,
            "This proposal is on another account's job.",
        ));
    }
    Ok(p)
}

fn list(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let job_id = r.param().to_owned();
    let q = &r.query;
    ctx.need(&["proposals:read"])?;
    let job = tx
        .get("jobs", &job_id)?
        .ok_or_else(|| ApiErr::not_found("jobs", "jobId", &job_id))?;
    if job["account"] != ctx.account_id.as_str() {
        return Err(ApiErr::new(403, "This job belongs to another account."));
    }
    let status = q
        .get("status")
        .map(|s| s.trim().to_uppercase().replace([' ', '-'], "_"));
    if let Some(s) = &status
        && !STATUSES.contains(&s.as_str())
    {
        return Err(ApiErr::bad("status", format!("Unsupported status {s:?}."))
            .detail("supportedStatuses", STATUSES));
    }
    let limit = q.limit(25, 100)?;
    let all: Vec<Value> = tx
        .list("proposals", "parent", &job_id)?
        .into_iter()
        .filter(|p| status.as_deref().is_none_or(|s| p["status"] == s))
        .collect();
    let (shown, next) = page(all, q.get("cursor"), limit, |p| {
        p["id"].as_str().unwrap_or_default().to_owned()
    })?;
    let items = shown
        .iter()
        .map(|p| shape(tx, &ctx.base, p, false))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((200, json!({"proposals": items, "nextCursor": next})))
}

fn get_one(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let id = r.param().to_owned();
    ctx.need(&["proposals:read"])?;
    let p = own_proposal(tx, ctx, &id)?;
    Ok((200, json!({"proposal": shape(tx, &ctx.base, &p, true)?})))
}

fn interview(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let id = r.param().to_owned();
    ctx.need(&["proposals:read"])?;
    let p = own_proposal(tx, ctx, &id)?;
    let i = &p["interview"];
    if i.is_null() {
        return Err(
            ApiErr::new(404, "No AI interview is recorded for this proposal.")
                .detail("proposalId", id.as_str()),
        );
    }
    Ok((
        200,
        json!({"interview": {
            "proposalId": id,
            "interviewId": i["interviewId"],
            "score": i["score"],
            "summary": i["summary"],
            "messages": i["messages"],
        }}),
    ))
}

fn freelancer(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let key = r.param().to_owned();
    ctx.need(&["proposals:read"])?;
    let index = world::find_trainer(tx.seed, &key)
        .ok_or_else(|| ApiErr::not_found("freelancers", "idOrSlug", &key))?;
    Ok((
        200,
        json!({"freelancer": world::profile(tx.seed, index, &ctx.base)}),
    ))
}

fn invite(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let job_id = r.param().to_owned();
    let body: &[u8] = &r.body;
    ctx.need_claimed("invite AI trainers")?;
    ctx.need(&["proposals:write"])?;
    let b = json_object(body, false)?;
    let freelancer = b
        .get("freelancerId")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            ApiErr::new(400, "freelancerId is required.").detail(
                "issues",
                vec![super::issue("freelancerId", "invalid_type", "Required")],
            )
        })?
        .to_owned();
    let job = own_job(tx, ctx, &job_id)?;
    if job["status"] != "OPEN" {
        return Err(ApiErr::conflict(
            "job_not_published",
            "Publish the job before inviting AI trainers.",
        ));
    }
    let Some(index) = world::find_trainer(tx.seed, &freelancer) else {
        let is_employer = tx
            .all("accounts")?
            .iter()
            .any(|a| a["userId"] == freelancer.as_str());
        if is_employer {
            return Err(ApiErr::conflict(
                "not_a_freelancer",
                "That user is not an AI trainer.",
            ));
        }
        return Err(ApiErr::not_found(
            "freelancers",
            "freelancerId",
            &freelancer,
        ));
    };
    let (proposal_id, created) = world::create_proposal(tx, &ctx.account_id, &job_id, index, true)?;
    Ok((
        if created { 201 } else { 200 },
        json!({"ok": true, "proposalId": proposal_id, "jobId": job_id, "freelancerId": world::trainer_id(tx.seed, index), "alreadyInvited": !created}),
    ))
}

fn hire(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let id = r.param().to_owned();
    let body: &[u8] = &r.body;
    ctx.need_claimed("hire AI trainers")?;
    ctx.need(&["proposals:write"])?;
    let p = own_proposal(tx, ctx, &id)?;
    let b = json_object(body, false)?;
    if p["status"] == "HIRED" {
        return Err(
            ApiErr::conflict("already_accepted", "This proposal was already hired.")
                .detail("contractId", p["contractId"].clone()),
        );
    }
    if p["status"] == "NOT_A_FIT" && b.get("confirmNotFitOverride") != Some(&json!(true)) {
        return Err(ApiErr::conflict(
            "not_fit_confirmation_required",
            "This proposal is marked \"Not a fit\"; send confirmNotFitOverride: true to hire anyway.",
        ));
    }
    let m = b
        .get("milestone")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            ApiErr::bad(
                "milestone",
                "milestone is required: {name or description, amount, dueDate?}.",
            )
        })?;
    let text = |k: &str| {
        m.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let (name, description) = (text("name"), text("description"));
    if name.is_none() && description.is_none() {
        return Err(ApiErr::bad(
            "milestone.name",
            "The milestone needs a name or a description.",
        ));
    }
    let amount = m
        .get("amount")
        .and_then(Value::as_f64)
        .filter(|a| *a > 0.0 && *a <= 1_000_000.0)
        .ok_or_else(|| {
            ApiErr::bad(
                "milestone.amount",
                "milestone.amount must be a positive number of USD.",
            )
        })?;
    let due = match m.get("dueDate") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_str().and_then(clock::parse).ok_or_else(|| {
            ApiErr::bad(
                "milestone.dueDate",
                "milestone.dueDate must be an ISO 8601 date.",
            )
        })?),
    };
    let amount_cents = super::cents(amount);
    let charge = hire_charge(amount_cents);
    contracts::need_payment(ctx, charge)?;
    let terms = json!({"name": name, "description": description, "amountCents": amount_cents, "dueDate": due});
    let pending = tx
        .list("approvals", "account", &ctx.account_id)?
        .into_iter()
        .find(|a| {
            a["type"] == "proposal_hire"
                && a["proposalId"] == id.as_str()
                && a["status"] == "pending"
        });
    if let Some(mut old) = pending {
        if old["terms"] == terms {
            return Ok((
                202,
                json!({"approval": approval_shape(&ctx.base, &old), "message": HIRE_MESSAGE}),
            ));
        }
        // New terms supersede: the human only ever sees one live hire request.
        old["status"] = json!("declined");
        old["resolvedAt"] = json!(tx.now);
        old["superseded"] = json!(true);
        tx.save("approvals", old["id"].as_str().unwrap_or_default(), &old)?;
    }
    let approval = contracts::new_approval(
        tx,
        ctx,
        "proposal_hire",
        None,
        None,
        p["jobId"].as_str(),
        Some(&id),
        terms,
        charge,
    )?;
    Ok((
        202,
        json!({"approval": approval_shape(&ctx.base, &approval), "message": HIRE_MESSAGE}),
    ))
}

const HIRE_MESSAGE: &str = "Hire request recorded. A signed-in human must confirm this approval in \
the OpenTrain app before the freelancer is hired and any money moves.";
