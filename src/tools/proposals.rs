//! Proposals and candidates: list and read proposals, trainer profiles, invite and hire.
//!
//! | tool | request |
//! |---|---|
//! | `opentrain_list_proposals` | `GET /jobs/{jobId}/proposals?status&cursor&limit` |
//! | `opentrain_get_proposal` | `GET /proposals/{proposalId}`, and with `includeInterview` also `GET /proposals/{proposalId}/interview` |
//! | `opentrain_get_freelancer_profile` | `GET /freelancers/{idOrSlug}` |
//! | `opentrain_invite_freelancer` | `POST /jobs/{jobId}/invites` `{"freelancerId"}` |
//! | `opentrain_hire_proposal` | `POST /proposals/{proposalId}/hire` `{"milestone":{name?,description?,amount,dueDate?},"confirmNotFitOverride"?}` |
//!
//! With `includeInterview`, `structuredContent` is the two answers' top-level objects merged:
//! `{"proposal": …, "interview": …}`; a 404 from the interview endpoint (no interview recorded)
//! gives `"interview": null`. A hire never hires: it returns a pending approval a human confirms.

use rmcp::model::CallToolResult;
use rmcp::schemars::{self, JsonSchema};
use rmcp::{tool, tool_router};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::result::links;
use super::summary::{
    Approval, FROM_OTHERS, count, dollars, excerpt, flag, items, list, strings, text, text_or, usd,
};
use super::{Args, error_line, invalid, ok, schema};
use crate::api::{ApiError, Request};
use crate::server::OpenTrain;
use crate::validate::{Id, Limit, OptionalText, Usd};

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListProposalsArgs {
    /// Your job's id, e.g. from opentrain_list_jobs.
    job_id: Id,
    /// Status filter, e.g. UNREVIEWED, SHORTLISTED, HIRED, DECLINED.
    status: Option<String>,
    /// The nextCursor of a previous page.
    cursor: Option<String>,
    /// Page size, 1–100 (default 25).
    limit: Option<Limit<100>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetProposalArgs {
    /// Proposal id, e.g. from opentrain_list_proposals.
    proposal_id: Id,
    /// Also fetch the AI-interview transcript (default false).
    include_interview: Option<bool>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetFreelancerProfileArgs {
    /// AI trainer user id or profile slug, e.g. a proposal's candidate.id or "maria-g".
    id_or_slug: Id,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InviteFreelancerArgs {
    /// Your published job's id.
    job_id: Id,
    /// The AI trainer's user id, e.g. from opentrain_get_freelancer_profile.
    freelancer_id: Id,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HireProposalArgs {
    /// Proposal to hire from.
    proposal_id: Id,
    /// First escrow milestone: amount, plus a name and/or a description.
    milestone: Milestone,
    /// true to hire a proposal marked "Not a fit" (after a 409 asking for it).
    confirm_not_fit_override: Option<bool>,
}

/// The hire request's body. (Path ids stay out of bodies: a `skip_serializing` field would show
/// up as `writeOnly` in the input schema.)
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HireBody<'a> {
    milestone: &'a Milestone,
    #[serde(skip_serializing_if = "Option::is_none")]
    confirm_not_fit_override: Option<bool>,
}

#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Milestone {
    /// Short title, e.g. "First labeling batch".
    #[serde(default, skip_serializing_if = "OptionalText::is_none")]
    name: OptionalText,
    /// What to deliver, e.g. "Label the first 5,000 posts".
    #[serde(default, skip_serializing_if = "OptionalText::is_none")]
    description: OptionalText,
    /// Amount in USD before fees, > 0, e.g. 300.
    amount: Usd,
    /// Due date, ISO 8601, e.g. "2026-07-01".
    #[serde(default, skip_serializing_if = "OptionalText::is_none")]
    due_date: OptionalText,
}

/// What the human is charged on confirmation: amount + 10% marketplace fee + $9.95 contract fee.
fn hire_charge(amount: f64) -> String {
    let cents = (amount * 100.0).round();
    let total = cents + (cents * 0.10).round() + 995.0;
    format!("${:.2}", total / 100.0)
}

/// `$0.06 per label`, `$18 per hour`, from a proposal's `bid`.
fn bid(p: &Value) -> String {
    if p.pointer("/bid/amountUsd")
        .and_then(Value::as_f64)
        .is_none()
    {
        return "no bid amount".to_owned();
    }
    let mut out = usd(p, "/bid/amountUsd");
    if let Some(unit) = text(p, "/bid/unit") {
        out.push(' ');
        out.push_str(&unit.to_lowercase().replace('_', " "));
    }
    if p.pointer("/bid/labelerHourlyRateUsd")
        .and_then(Value::as_f64)
        .is_some()
    {
        out.push_str(&format!(
            " (labeler ≈ {}/h)",
            usd(p, "/bid/labelerHourlyRateUsd")
        ));
    }
    out
}

fn status(p: &Value) -> String {
    match (text(p, "/status/label"), text(p, "/status/raw")) {
        (Some(label), Some(raw)) => format!("{label} ({raw})"),
        (Some(one), None) | (None, Some(one)) => one,
        (None, None) => "status not stated".to_owned(),
    }
}

/// One proposal of a list on one line.
fn proposal_line(p: &Value) -> String {
    format!(
        "{} — {}: {}; bid {}; interview score {}, match score {}",
        super::summary::item_id(p, &["proposalId"])
            .unwrap_or_else(|| "(no id in the answer)".to_owned()),
        text_or(p, "/candidate/displayName", "Freelancer"),
        status(p),
        bid(p),
        text_or(p, "/metrics/interviewScore", "–"),
        text_or(p, "/metrics/matchScore", "–"),
    )
}

/// How the interview part of a `get_proposal` went.
enum Interview {
    /// Not asked for.
    NotAsked,
    /// Asked for; the answer (or `interview: null` after a 404) is in the body.
    Read,
    /// Asked for, and the call failed: why.
    Failed(String),
}

/// The summary of `{"proposal": …}` (or a flat proposal), and of `"interview"` when it was asked
/// for.
fn proposal_summary(b: &Value, asked: &Id, interview: &Interview) -> String {
    let p = links::object(b, &["/proposal"], &["proposal"]).unwrap_or(b);
    let id = text(p, "/id").unwrap_or_else(|| asked.to_string());
    let mut head = format!("Proposal {id}");
    match (text(p, "/jobTitle"), text(p, "/jobId")) {
        (Some(title), Some(job)) => head.push_str(&format!(" on job \"{title}\" ({job})")),
        (None, Some(job)) => head.push_str(&format!(" on job {job}")),
        (Some(title), None) => head.push_str(&format!(" on job \"{title}\"")),
        (None, None) => {}
    }
    let mut lines = vec![format!("{head}: {}.", status(p))];
    let mut who = vec![text_or(p, "/candidate/displayName", "Freelancer")];
    if let Some(title) = text(p, "/candidate/profileTitle") {
        who.push(title);
    }
    if let Some(country) = text(p, "/candidate/country") {
        who.push(country);
    }
    let candidate_id =
        text(p, "/candidate/id").or_else(|| links::text(p, &[], &["candidateId", "freelancerId"]));
    lines.push(format!(
        "Candidate: {}; {}{}.",
        who.join(", "),
        candidate_id
            .map(|id| format!("user id {id}"))
            .unwrap_or_else(|| "the answer gives no user id".to_owned()),
        text(p, "/candidate/profileSlug")
            .map(|s| format!(", profile slug {s}"))
            .unwrap_or_default(),
    ));
    lines.push(format!(
        "Bid: {}. Interview score {}, match score {}.",
        bid(p),
        text_or(p, "/metrics/interviewScore", "–"),
        text_or(p, "/metrics/matchScore", "–"),
    ));
    let mut quoted = false;
    match p.get("aiInterview").filter(|v| v.is_object()) {
        Some(ai) => {
            let mut line = format!("AI interview: score {}", text_or(ai, "/score", "–"));
            if let Some(summary) = text(ai, "/summary") {
                line.push_str(&format!(", summary {}", excerpt(&summary)));
                quoted = true;
            }
            line.push_str(if flag(ai, "/transcriptAvailable") {
                "; transcript available."
            } else {
                "; no transcript."
            });
            lines.push(line);
        }
        None => lines.push("AI interview: none.".to_owned()),
    }
    let mut checks = Vec::new();
    if let Some(location) = text(p, "/verification/location/status") {
        let method = text(p, "/verification/location/method")
            .map(|m| format!(" ({m})"))
            .unwrap_or_default();
        checks.push(format!("location {location}{method}"));
    }
    match p
        .pointer("/verification/identity/verified")
        .and_then(Value::as_bool)
    {
        Some(true) => checks.push("identity verified".to_owned()),
        Some(false) => checks.push("identity not verified".to_owned()),
        None => {}
    }
    if !checks.is_empty() {
        lines.push(format!("Verification: {}.", checks.join(", ")));
    }
    if p.get("openLabel").is_some_and(|v| !v.is_null()) {
        lines.push("Labeling assessment: results in the answer's openLabel field.".to_owned());
    }
    let contract_id = p
        .get("contract")
        .and_then(|c| text(c, "/id"))
        .or_else(|| links::text(p, &["/contractId"], &["contractId"]));
    lines.push(
        match (p.get("contract").filter(|c| !c.is_null()), contract_id) {
            (None, None) => "Contract: none (not hired).".to_owned(),
            (c, id) => {
                let mut line = "Contract: hired".to_owned();
                if let Some(id) = id {
                    line.push_str(&format!(", contract {id}"));
                }
                if let Some(state) = c.and_then(|c| text(c, "/status")) {
                    line.push_str(&format!(" ({state})"));
                }
                line.push('.');
                line
            }
        },
    );
    match interview {
        Interview::NotAsked => {}
        Interview::Failed(why) => lines.push(format!(
            "Interview transcript: could not be read ({why}). The proposal above is complete; \
             call again with includeInterview later, or without it."
        )),
        Interview::Read => lines.push(match links::object(b, &["/interview"], &["interview"]) {
            None => "Interview transcript: none recorded for this proposal (interview: null)."
                .to_owned(),
            Some(i) => {
                let messages =
                    links::list(i, "/messages", &["messages", "transcript"]).unwrap_or(&[]);
                let role = |r: &str| messages.iter().filter(|m| m["role"] == r).count();
                format!(
                    "Interview transcript: {}, oldest first ({} from the interviewer, {} from \
                         the candidate), in the answer's interview field.",
                    count(messages.len(), "message", "messages"),
                    role("interviewer"),
                    role("candidate"),
                )
            }
        }),
    }
    if quoted {
        lines.push(FROM_OTHERS.to_owned());
    }
    lines.join("\n")
}

fn profile_summary(b: &Value) -> String {
    let f = links::object(b, &["/freelancer"], &["freelancer", "profile"]).unwrap_or(b);
    let ids: Vec<String> = [
        text(f, "/id")
            .or_else(|| links::text(f, &[], &["userId", "freelancerId"]))
            .map(|id| format!("user id {id}")),
        text(f, "/profileSlug").map(|s| format!("slug {s}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut head = format!(
        "{} ({})",
        text_or(f, "/displayName", "Freelancer"),
        if ids.is_empty() {
            "the answer gives no user id".to_owned()
        } else {
            ids.join(", ")
        },
    );
    if let Some(title) = text(f, "/title") {
        head.push_str(&format!(" — {title}"));
    }
    let place: Vec<String> = ["/city", "/country"]
        .iter()
        .filter_map(|k| text(f, k))
        .collect();
    if !place.is_empty() {
        head.push_str(&format!(", {}", place.join(", ")));
    }
    if let Some(kind) = text(f, "/talentType") {
        head.push_str(&format!(" ({kind})"));
    }
    head.push('.');
    let mut lines = vec![head];

    let mut facts = Vec::new();
    if f.get("hourlyRateUsd").and_then(Value::as_f64).is_some() {
        facts.push(format!("rate {}/h", usd(f, "/hourlyRateUsd")));
    }
    for (key, label) in [
        ("/availability", "availability"),
        ("/expertiseLevel", "expertise"),
        ("/englishLevel", "English"),
    ] {
        if let Some(v) = text(f, key) {
            facts.push(format!("{label} {v}"));
        }
    }
    match f.get("identityVerified").and_then(Value::as_bool) {
        Some(true) => facts.push("identity verified".to_owned()),
        Some(false) => facts.push("identity not verified".to_owned()),
        None => {}
    }
    if let Some(since) = text(f, "/memberSince") {
        facts.push(format!("member since {since}"));
    }
    if !facts.is_empty() {
        lines.push(format!("{}.", capitalize(&facts.join("; "))));
    }
    let mut stats = Vec::new();
    if f.pointer("/stats/totalEarnedUsd")
        .is_some_and(Value::is_number)
    {
        stats.push(format!("earned {}", usd(f, "/stats/totalEarnedUsd")));
    }
    if let Some(hours) = text(f, "/stats/billedHours") {
        stats.push(format!("{hours} billed hours"));
    }
    if let Some(score) = text(f, "/stats/jobSuccessScore") {
        stats.push(format!("job success {score}"));
    }
    if let Some(reviews) = f.pointer("/stats/reviewCount").and_then(Value::as_u64) {
        stats.push(format!(
            "{} averaging {}",
            count(reviews as usize, "review", "reviews"),
            text_or(f, "/stats/averageRating", "–")
        ));
    }
    if !stats.is_empty() {
        lines.push(format!("Stats: {}.", stats.join(", ")));
    }
    let mut skills = Vec::new();
    for (key, label) in [
        ("/skills/tags", "tags"),
        ("/skills/dataTypes", "data types"),
        ("/skills/labelTypes", "label types"),
        ("/skills/subjectMatter", "subject matter"),
        ("/skills/software", "software"),
    ] {
        let values = strings(f, key);
        if !values.is_empty() {
            skills.push(format!("{label} {}", values.join(", ")));
        }
    }
    if !skills.is_empty() {
        lines.push(format!("Skills: {}.", skills.join("; ")));
    }
    let languages: Vec<String> = items(f, "/languages")
        .iter()
        .filter_map(|l| {
            let name = text(l, "/language")?;
            Some(match text(l, "/proficiency") {
                Some(level) => format!("{name} ({level})"),
                None => name,
            })
        })
        .collect();
    if !languages.is_empty() {
        lines.push(format!("Languages: {}.", languages.join(", ")));
    }
    lines.push(format!(
        "Experience: {}, {}, {}.",
        count(
            items(f, "/labelExperience").len(),
            "labeling project",
            "labeling projects"
        ),
        count(
            items(f, "/workExperience").len(),
            "work entry",
            "work entries"
        ),
        count(
            items(f, "/education").len(),
            "education entry",
            "education entries"
        ),
    ));
    let mut quoted = false;
    if let Some(bio) = text(f, "/bio") {
        lines.push(format!("Bio: {}", excerpt(&bio)));
        quoted = true;
    }
    if let Some(review) = items(f, "/reviews").first()
        && let Some(comment) = text(review, "/comment")
    {
        lines.push(format!(
            "Latest review ({}/5): {}",
            text_or(review, "/rating", "–"),
            excerpt(&comment)
        ));
        quoted = true;
    }
    if quoted {
        lines.push(FROM_OTHERS.to_owned());
    }
    lines.join("\n")
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The top-level keys of both answers in one object.
fn merge(first: Value, second: Value) -> Value {
    let mut out = match first {
        Value::Object(map) => map,
        other => Map::from_iter([("proposal".to_owned(), other)]),
    };
    match second {
        Value::Object(map) => out.extend(map),
        other => {
            out.insert("interview".to_owned(), other);
        }
    }
    Value::Object(out)
}

#[tool_router(router = proposals_router, vis = "pub(crate)")]
impl OpenTrain {
    /// List the proposals (candidates) on your job, newest first, with status, bid, AI-interview and match scores: the view for ranking whom to hire. Requires proposals:read; the job must be yours. Wraps GET /jobs/{jobId}/proposals.
    #[tool(
        name = "opentrain_list_proposals",
        title = "List proposals on a job",
        input_schema = schema::<ListProposalsArgs>(),
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn list_proposals(&self, Args(a): Args<ListProposalsArgs>) -> CallToolResult {
        let req = Request::get("/jobs/{jobId}/proposals")
            .id("jobId", &a.job_id)
            .query("status", a.status.as_deref())
            .query("cursor", a.cursor.as_deref())
            .query("limit", a.limit);
        self.run(req, |b| {
            let mut out = format!("Job {}: ", a.job_id);
            out.push_str(&list(
                b,
                "/proposals",
                ("proposal", "proposals"),
                proposal_line,
            ));
            out.push_str(
                "\nOpen one with opentrain_get_proposal (includeInterview for the transcript).",
            );
            out
        })
        .await
    }

    /// Read one proposal in depth: status, bid, masked candidate, AI-interview score and summary, verification, labeling assessment, contract. includeInterview adds the interview transcript (null if none). Requires proposals:read; the job must be yours. Wraps GET /proposals/{proposalId} (+ /interview).
    #[tool(
        name = "opentrain_get_proposal",
        title = "Read a proposal",
        input_schema = schema::<GetProposalArgs>(),
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn get_proposal(&self, Args(a): Args<GetProposalArgs>) -> CallToolResult {
        let req = Request::get("/proposals/{proposalId}").id("proposalId", &a.proposal_id);
        if a.include_interview != Some(true) {
            return self
                .run(req, |b| {
                    proposal_summary(b, &a.proposal_id, &Interview::NotAsked)
                })
                .await;
        }
        let proposal = match self.call(&req).await {
            Ok(response) => response.body,
            Err(e) => return self.failure(&e),
        };
        let req =
            Request::get("/proposals/{proposalId}/interview").id("proposalId", &a.proposal_id);
        let (interview, outcome) = match self.call(&req).await {
            Ok(response) => (response.body, Interview::Read),
            // No interview recorded: the proposal is still worth returning.
            Err(ApiError::Http { status: 404, .. }) => (
                Value::Object(Map::from_iter([("interview".to_owned(), Value::Null)])),
                Interview::Read,
            ),
            // Any other failure: the proposal is still returned, with why the interview is not.
            Err(e) => {
                let error = match &e {
                    ApiError::Http { status, body, .. } => {
                        json!({"status": status, "error": body.as_json()})
                    }
                    other => json!({"error": other.to_string()}),
                };
                (
                    json!({"interview": null, "interviewError": error}),
                    Interview::Failed(error_line(&e)),
                )
            }
        };
        let body = merge(proposal, interview);
        ok(proposal_summary(&body, &a.proposal_id, &outcome), body)
    }

    /// Read an AI trainer's profile, masked (first name + last initial, no contact details): title, bio, skills, rate, stats, labeling and work experience, education, reviews, languages. Requires proposals:read. Wraps GET /freelancers/{idOrSlug}.
    #[tool(
        name = "opentrain_get_freelancer_profile",
        title = "Read an AI trainer profile",
        input_schema = schema::<GetFreelancerProfileArgs>(),
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn get_freelancer_profile(
        &self,
        Args(a): Args<GetFreelancerProfileArgs>,
    ) -> CallToolResult {
        let req = Request::get("/freelancers/{idOrSlug}").id("idOrSlug", &a.id_or_slug);
        self.run(req, profile_summary).await
    }

    /// Invite an AI trainer to your published job, creating a proposal they can answer. Safe to repeat: a second invite returns the same proposal (alreadyInvited). Requires proposals:write, feature public_api_hiring, a claimed account. Wraps POST /jobs/{jobId}/invites.
    #[tool(
        name = "opentrain_invite_freelancer",
        title = "Invite an AI trainer to a job",
        input_schema = schema::<InviteFreelancerArgs>(),
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn invite_freelancer(&self, Args(a): Args<InviteFreelancerArgs>) -> CallToolResult {
        let req = Request::post("/jobs/{jobId}/invites")
            .id("jobId", &a.job_id)
            .json(&json!({"freelancerId": a.freelancer_id}));
        let response = match self.call(&req).await {
            Ok(response) => response,
            Err(e) => return self.failure(&e),
        };
        let b = &response.body;
        let already = links::find(
            b,
            &["/alreadyInvited"],
            &["alreadyInvited"],
            Value::is_boolean,
        )
        .and_then(Value::as_bool)
        .unwrap_or(response.status == 200);
        let trainer = text(b, "/freelancerId").unwrap_or_else(|| a.freelancer_id.to_string());
        let job = text(b, "/jobId").unwrap_or_else(|| a.job_id.to_string());
        let head = if already {
            format!(
                "Already invited: AI trainer {trainer} was invited to job {job} before; nothing \
                 new was created."
            )
        } else {
            format!("Invited AI trainer {trainer} to job {job}.")
        };
        let proposal = links::text(b, &["/proposalId", "/proposal/id"], &["proposalId"]);
        let text = match proposal {
            Some(proposal) => format!(
                "{head} {} proposal: {proposal}.\nFollow it with opentrain_get_proposal \
                 (proposalId \"{proposal}\"); to message them first, \
                 opentrain_start_proposal_conversation.",
                if already { "Existing" } else { "New" }
            ),
            None => format!(
                "{head} The answer carries no proposal id. {}\nFind the proposal with \
                 opentrain_list_proposals (jobId \"{job}\"); to message them first, \
                 opentrain_start_proposal_conversation.",
                links::what_it_says(b)
            ),
        };
        ok(text, response.body)
    }

    /// Request a hire. Nothing is hired and no money moves: it returns a pending approval whose approvalUrl a human must confirm; then the contract is created and the first milestone funded in escrow. Requires proposals:write, feature public_api_hiring, a claimed account, a card or credits. Wraps POST /proposals/{proposalId}/hire.
    #[tool(
        name = "opentrain_hire_proposal",
        title = "Request a hire (a human confirms)",
        input_schema = schema::<HireProposalArgs>(),
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = true)
    )]
    async fn hire_proposal(&self, Args(a): Args<HireProposalArgs>) -> CallToolResult {
        if a.milestone.name.is_none() && a.milestone.description.is_none() {
            return invalid(
                "opentrain_hire_proposal",
                "milestone: give a name or a description (the API requires at least one)",
            );
        }
        let amount = a.milestone.amount.get();
        let req = Request::post("/proposals/{proposalId}/hire")
            .id("proposalId", &a.proposal_id)
            .json(&HireBody {
                milestone: &a.milestone,
                confirm_not_fit_override: a.confirm_not_fit_override,
            });
        self.run_status(req, |status, b| {
            let approval = Approval::find(b);
            let proposal =
                text(approval.object, "/proposalId").unwrap_or_else(|| a.proposal_id.to_string());
            if !approval.pending(status) {
                return format!(
                    "Hire requested for proposal {proposal}: the API answered {status}, not 202, \
                     and shows no pending approval, so do not assume anything was hired. {}\n\
                     Check with opentrain_get_proposal (proposalId \"{proposal}\") and \
                     opentrain_list_contracts.",
                    links::what_it_says(b)
                );
            }
            format!(
                "Hire requested for proposal {proposal}: NOT hired yet.\n{}\n\
                 On confirmation OpenTrain accepts the proposal, creates the contract and funds \
                 the first milestone into escrow (paid out only when the milestone is approved). \
                 The human picks card or credit balance and may adjust the milestone. Charge = \
                 amount + 10% marketplace fee + $9.95 contract fee: {} for the {} requested.\n\
                 Repeating this call with the same terms returns the same approval; different \
                 terms replace it.",
                approval.summary(b),
                hire_charge(amount),
                dollars(amount),
            )
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn charges_add_the_fees() {
        assert_eq!(hire_charge(300.0), "$339.95");
        assert_eq!(hire_charge(450.0), "$504.95");
        assert_eq!(hire_charge(0.5), "$10.50");
    }

    #[test]
    fn amounts_go_out_as_the_docs_write_them() {
        let m: Milestone = serde_json::from_value(json!({"name": "a", "amount": 300})).unwrap();
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({"name": "a", "amount": 300})
        );
        let m: Milestone =
            serde_json::from_value(json!({"description": "d", "amount": 12.5})).unwrap();
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"description":"d","amount":12.5}"#
        );
    }

    #[test]
    fn bids_read_naturally() {
        let p =
            json!({"bid": {"amountUsd": 0.06, "unit": "PER_LABEL", "labelerHourlyRateUsd": null}});
        assert_eq!(bid(&p), "$0.06 per label");
        let p = json!({"bid": {"amountUsd": 18, "unit": "per_hour", "labelerHourlyRateUsd": 15}});
        assert_eq!(bid(&p), "$18 per hour (labeler ≈ $15/h)");
        assert_eq!(bid(&json!({"bid": null})), "no bid amount");
    }
}
