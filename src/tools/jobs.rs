//! Jobs: draft, publish, update, close, list and search jobs.
//!
//! | tool | request |
//! |---|---|
//! | `opentrain_create_job_draft` | `POST /job-drafts` — one of three body shapes, see [`draft_body`] |
//! | `opentrain_update_job_draft_fields` | `PATCH /job-drafts/{jobId}`, body = `patch` |
//! | `opentrain_publish_job` | `POST /jobs/{jobId}/publish`, no body |
//! | `opentrain_update_published_job` | `PATCH /jobs/{jobId}`, body = `patch` |
//! | `opentrain_close_job` | `POST /jobs/{jobId}/close`, no body |
//! | `opentrain_list_jobs` | `GET /jobs/mine?status&cursor&limit` |
//! | `opentrain_search_jobs` | `GET /jobs?q&category&language&country&payType&limit&cursor`, no token |
//!
//! The draft summaries turn the API's gap-filling work list into questions for the human and the
//! patch keys that answer them. The docs show that list in two shapes (rich entries at the top
//! level, bare field names in `validation.missingFields`); both are read and merged.

use rmcp::model::CallToolResult;
use rmcp::schemars::{self, JsonSchema};
use rmcp::{tool, tool_router};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::result::{append_text, links, note_ignored};
use super::summary::{self, LIST_LIMIT, flag, items, strings, text, text_or, usd};
use super::{Args, invalid, ok, schema};
use crate::api::{ApiError, ErrorBody, Request};
use crate::server::OpenTrain;
use crate::text::truncate_chars;
use crate::validate::{Id, JobDescription, Limit, OptionalText, Patch};

/// The API's limit on `rawJobDescription`, in characters.
const MAX_DESCRIPTION_CHARS: usize = 60_000;

// ---------------------------------------------------------------------------------------------
// Arguments

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateJobDraftArgs {
    /// Plain-text job description or brief (the usual input), up to 60,000 characters.
    job_description: Option<JobDescription>,
    /// Title to put first (with jobDescription only).
    #[serde(default)]
    title: OptionalText,
    /// Your own reference id, e.g. "acme-batch-7".
    #[serde(default)]
    external_id: OptionalText,
    /// Same key on a retry returns the same draft, e.g. "acme-batch-7-v1".
    #[serde(default)]
    idempotency_key: OptionalText,
    /// OpenTrain canonical job: title, description, paymentType, rateAmount, languages, …
    canonical_job: Option<Map<String, Value>>,
    /// schema.org JobPosting JSON-LD (also an @graph), a {"source": {...}} import, or a body naming its format (e.g. indeed_xml).
    import_payload: Option<Map<String, Value>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateJobDraftFieldsArgs {
    /// Id of your unpublished draft, from opentrain_create_job_draft.
    job_id: Id,
    /// Fields by patch key, e.g. {"experienceLevel": "INTERMEDIATE", "pricePerHour": 12}.
    patch: Patch,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublishJobArgs {
    /// Id of the publish-ready draft to take live.
    job_id: Id,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdatePublishedJobArgs {
    /// Id of your published (OPEN) job.
    job_id: Id,
    /// Fields to change, same keys as for drafts, e.g. {"headcount": 8, "pricePerHour": 14}.
    patch: Patch,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CloseJobArgs {
    /// Id of your published job to close.
    job_id: Id,
}

// A job's status, as `GET /jobs/mine` filters it.
#[derive(Clone, Copy, Deserialize, JsonSchema, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    Draft,
    Open,
    Ongoing,
    Completed,
    Archived,
    PendingApproval,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListJobsArgs {
    /// Only jobs in this status; omit for all.
    status: Option<JobStatus>,
    /// nextCursor from the previous page.
    cursor: Option<String>,
    /// Jobs per page, 1–100 (default 25).
    limit: Option<Limit<100>>,
}

// How a public job pays, as `GET /jobs` filters it.
#[derive(Clone, Copy, Deserialize, JsonSchema, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PayType {
    PayPerHour,
    FixedPrice,
    PayPerLabel,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SearchJobsArgs {
    /// Free text, e.g. "audio annotation".
    q: Option<String>,
    /// Category, e.g. "Audio Annotation".
    category: Option<String>,
    /// Required language, e.g. "Spanish".
    language: Option<String>,
    /// Allowed country, ISO code, e.g. "US".
    country: Option<String>,
    /// How the job pays.
    pay_type: Option<PayType>,
    /// Results per page, 1–50.
    limit: Option<Limit<50>>,
    /// nextCursor from the previous page.
    cursor: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// The create body

/// The import formats the API documents (`draft.importFormats`, job-drafts.md), which are also
/// the values of a `source.type`.
const IMPORT_FORMATS: [&str; 5] = [
    "text",
    "opentrain_canonical",
    "schema_org_job_posting",
    "indeed_xml",
    "hr_xml",
];

/// Arguments given but not sent: `(name, why)`.
pub type Ignored = Vec<(&'static str, String)>;

/// The body of `POST /job-drafts` for these arguments, and the arguments given but not sent
/// (`(name, why)`); or why they are refused.
///
/// Exactly one input: `jobDescription` (sent as `rawJobDescription`, after the title and a blank
/// line when one is given), `canonicalJob` (`{"format":"opentrain_canonical","job":…}`) or
/// `importPayload`, which may be:
/// - a ready body: it names its `format`, carries a `source` object (the posting guide's shape)
///   or a `rawJobDescription` — sent as is;
/// - schema.org JSON-LD: a `JobPosting` `@type`, an `@graph`, or a schema.org `@context` — sent as
///   `{"format":"schema_org_job_posting","jsonLd":…}`;
/// - a bare `source` object (`{"type": "text", "text": …}`, `type` one of the import formats) —
///   sent as `{"source": …}`.
///
/// `externalId` and `idempotencyKey` go at the top level of every shape (the docs' "top-level
/// equivalent" of `source.externalId` / `source.idempotencyKey`). A `title` with anything but
/// `jobDescription` is not sent, and named.
pub fn draft_body(a: CreateJobDraftArgs) -> Result<(Value, Ignored), String> {
    let given: Vec<&str> = [
        ("jobDescription", a.job_description.is_some()),
        ("canonicalJob", a.canonical_job.is_some()),
        ("importPayload", a.import_payload.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, present)| present.then_some(name))
    .collect();
    if given.len() != 1 {
        return Err(format!(
            "give exactly one of jobDescription (plain text, the usual way), canonicalJob or \
             importPayload (got {})",
            if given.is_empty() {
                "none".to_owned()
            } else {
                given.join(" and ")
            }
        ));
    }
    let mut ignored = Vec::new();
    if a.title.get().is_some() && a.job_description.is_none() {
        ignored.push((
            "title",
            format!(
                "it is prepended to jobDescription only; put the title inside {} instead",
                given[0]
            ),
        ));
    }

    let mut body = Map::new();
    if let Some(description) = a.job_description {
        let raw = match a.title.get() {
            Some(title) => format!("{title}\n\n{description}"),
            None => description.as_str().to_owned(),
        };
        let chars = raw.chars().count();
        if chars > MAX_DESCRIPTION_CHARS {
            return Err(format!(
                "title plus jobDescription come to {chars} characters, over the API's limit of \
                 {MAX_DESCRIPTION_CHARS}"
            ));
        }
        body.insert("rawJobDescription".into(), Value::String(raw));
    } else if let Some(job) = a.canonical_job {
        body.insert("format".into(), json!("opentrain_canonical"));
        body.insert("job".into(), Value::Object(job));
    } else if let Some(payload) = a.import_payload {
        if ["format", "source", "rawJobDescription"]
            .iter()
            .any(|k| payload.contains_key(*k))
        {
            body = payload;
        } else if is_json_ld(&payload) {
            body.insert("format".into(), json!("schema_org_job_posting"));
            body.insert("jsonLd".into(), Value::Object(payload));
        } else if payload
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| IMPORT_FORMATS.contains(&t))
        {
            body.insert("source".into(), Value::Object(payload));
        } else {
            return Err(
                "importPayload must be schema.org JSON-LD (\"@type\": \"JobPosting\", or an \
                 \"@graph\"), a source object ({\"type\": \"text\", \"text\": \"…\"} or \
                 {\"source\": {…}}), or a ready request body that names its \"format\" (e.g. \
                 {\"format\": \"indeed_xml\", \"xml\": \"<job>…</job>\"}); for plain text use \
                 jobDescription, for an OpenTrain canonical job use canonicalJob"
                    .into(),
            );
        }
    }
    for (key, value) in [
        ("externalId", a.external_id.get()),
        ("idempotencyKey", a.idempotency_key.get()),
    ] {
        let Some(value) = value else { continue };
        match body.get(key) {
            Some(inside) if inside.as_str() != Some(value) => {
                return Err(format!(
                    "{key} is given both as a parameter ({value:?}) and inside importPayload \
                     ({inside}), and the body has one {key}; give it once"
                ));
            }
            _ => {
                body.insert(key.into(), Value::String(value.to_owned()));
            }
        }
    }
    Ok((Value::Object(body), ignored))
}

/// Whether an object is schema.org JSON-LD: a `JobPosting` `@type` (alone or in a list), an
/// `@graph` of nodes, or a schema.org `@context`.
fn is_json_ld(payload: &Map<String, Value>) -> bool {
    let job_posting = match payload.get("@type") {
        Some(Value::String(t)) => t == "JobPosting",
        Some(Value::Array(types)) => types.iter().any(|t| t == "JobPosting"),
        _ => false,
    };
    let schema_org = payload
        .get("@context")
        .map(|c| c.to_string().contains("schema.org"))
        .unwrap_or(false);
    job_posting || payload.get("@graph").is_some_and(Value::is_array) || schema_org
}

// ---------------------------------------------------------------------------------------------
// Summaries

/// One field a draft still needs, merged from the rich entries and the bare names.
struct Missing<'a> {
    field: &'a str,
    entry: Option<&'a Value>,
}

/// Every missing field the answer names: the rich top-level `missingFields` entries first, then
/// any `validation.missingFields` entry (a name or a rich object) not already listed.
fn missing_fields(body: &Value) -> Vec<Missing<'_>> {
    let mut out: Vec<Missing> = Vec::new();
    let rich = items(body, "/missingFields");
    let named = items(body, "/validation/missingFields");
    for item in rich.iter().chain(named) {
        let (field, entry) = match item {
            Value::String(name) => (name.as_str(), None),
            Value::Object(map) => match map.get("field").and_then(Value::as_str) {
                Some(name) => (name, Some(item)),
                None => continue,
            },
            _ => continue,
        };
        if field.is_empty() || out.iter().any(|m| m.field == field) {
            continue;
        }
        out.push(Missing { field, entry });
    }
    out
}

/// The example value as it would appear in a patch: numbers and booleans bare, text quoted.
fn example_value(entry: &Value) -> Option<Value> {
    let raw = match entry.get("example")? {
        Value::String(s) if s.is_empty() => return None,
        Value::String(s) => s.as_str(),
        Value::Null => return None,
        other => return Some(other.clone()),
    };
    match entry.get("type").and_then(Value::as_str) {
        Some("number" | "integer") => serde_json::from_str::<Value>(raw.trim())
            .ok()
            .filter(Value::is_number),
        Some("boolean") => raw.parse::<bool>().ok().map(Value::Bool),
        Some("enum" | "string" | "text") | None => Some(Value::String(raw.to_owned())),
        Some(_) => None,
    }
}

/// The lines for one missing field: the question, then type, allowed values and patch key(s).
fn missing_line(m: &Missing) -> String {
    let Some(entry) = m.entry else {
        return format!(
            "{}: ask your human for it (the API gave no question; opentrain_capabilities lists \
             enum values). Patch key: {}.",
            m.field, m.field
        );
    };
    let label = text(entry, "/label").unwrap_or_else(|| m.field.to_owned());
    let question = text(entry, "/prompt")
        .or_else(|| text(entry, "/message"))
        .map(|q| {
            let q = q.trim();
            let q = q.strip_prefix("ask:").map(str::trim_start).unwrap_or(q);
            format!("ask: {q}")
        })
        .unwrap_or_else(|| format!("ask: what should {label} be?"));
    let mut keys = strings(entry, "/updateKeys");
    if keys.is_empty() {
        keys.push(m.field);
    }
    let mut detail = Vec::new();
    if let Some(kind) = text(entry, "/type") {
        detail.push(format!("type {kind}"));
    }
    let allowed = strings(entry, "/enumValues");
    if !allowed.is_empty() {
        detail.push(format!("one of {}", allowed.join(", ")));
    }
    let key_text = if keys.len() == 1 {
        format!("patch key {}", keys[0])
    } else {
        format!("patch keys {}", keys.join(", "))
    };
    match example_value(entry) {
        Some(example) if keys.len() == 1 => {
            detail.push(format!("{key_text}, e.g. {}", json!({keys[0]: example})));
        }
        _ => {
            detail.push(key_text);
            if let Some(example) = text(entry, "/example") {
                detail.push(format!("example {example}"));
            }
        }
    }
    let mut line = format!("{label}: {question}\n  {}.", detail.join("; "));
    if let Some(hint) = text(entry, "/hint") {
        line.push_str(&format!(" Hint: {hint}"));
    }
    line
}

/// A short rendering of an element of a list of unknown shape (warnings, issues, reasons).
fn describe(item: &Value) -> String {
    match item {
        Value::String(s) => truncate_chars(s, 200),
        Value::Object(_) => {
            let parts: Vec<String> = ["field", "path", "message", "reason", "code"]
                .iter()
                .filter_map(|k| text(item, &format!("/{k}")))
                .collect();
            if parts.is_empty() {
                truncate_chars(&item.to_string(), 200)
            } else {
                parts.join(": ")
            }
        }
        other => truncate_chars(&other.to_string(), 200),
    }
}

/// Up to `max` elements of a list, `; `-separated, with the number left out.
fn described(list: &[Value], max: usize) -> String {
    let mut out: Vec<String> = list.iter().take(max).map(describe).collect();
    if list.len() > max {
        out.push(format!("and {} more", list.len() - max));
    }
    out.join("; ")
}

/// What the parser read from the input, for the human to check: scalar and string-list fields.
fn parsed_fields(body: &Value) -> Option<String> {
    let fields = body.get("normalizedFields")?.as_object()?;
    let mut out = Vec::new();
    for (key, value) in fields.iter().take(10) {
        let shown = match value {
            Value::String(s) if !s.is_empty() => truncate_chars(s, 80),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Array(list) if !list.is_empty() => {
                let names: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
                if names.is_empty() {
                    continue;
                }
                truncate_chars(&names.join(", "), 80)
            }
            _ => continue,
        };
        out.push(format!("{key} {shown}"));
    }
    (!out.is_empty()).then(|| out.join("; "))
}

/// The list of missing fields and issues, and the next step, for a validation state found in
/// `body` (a draft answer, or the `details` of a refused publish).
/// `job_id` is `None` when the answer did not give the draft's id.
fn validation_text(body: &Value, job_id: Option<&str>) -> String {
    let with_id = match job_id {
        Some(id) => format!("with jobId \"{id}\""),
        None => {
            "with the draft's jobId (opentrain_list_jobs with status DRAFT shows it)".to_owned()
        }
    };
    let missing = missing_fields(body);
    let issues = items(body, "/validation/issues");
    let ready = flag(body, "/validation/publishReady");
    let mut out = Vec::new();
    if !missing.is_empty() {
        let mut block = String::from(
            "Missing — ask your human each question in plain words (never ask them for JSON):",
        );
        for m in missing.iter().take(LIST_LIMIT) {
            block.push_str("\n- ");
            block.push_str(&missing_line(m));
        }
        if missing.len() > LIST_LIMIT {
            block.push_str(&format!(
                "\n… and {} more (see the structured result).",
                missing.len() - LIST_LIMIT
            ));
        }
        out.push(block);
    }
    let named = missing.len() as u64;
    let counted = body
        .pointer("/validation/missingFieldCount")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if counted > named {
        out.push(format!(
            "The API counts {counted} missing field(s) but names {named}; review the draft in \
             the app for the rest."
        ));
    }
    if !issues.is_empty() {
        out.push(format!("Issues: {}.", described(issues, 5)));
    }
    out.push(if ready {
        format!(
            "Next: once your human has reviewed it, call opentrain_publish_job {with_id} to take \
             it live."
        )
    } else {
        format!(
            "Next: call opentrain_update_job_draft_fields {with_id} and a patch of the answers \
             under their patch keys; repeat until publishReady is true, then \
             opentrain_publish_job."
        )
    });
    out.join("\n")
}

/// The object a draft answer describes: the answer itself (documented), or a `draft`/`job`
/// object when the fields are nested one level down.
fn draft_of(b: &Value) -> &Value {
    if b.get("jobId").is_some() || b.get("validation").is_some() {
        return b;
    }
    links::object(b, &["/draft", "/job"], &["draft", "job"]).unwrap_or(b)
}

/// The summary of a draft answer (create or update). `asked` is the job id of an update.
fn draft_summary(b: &Value, verb: &str, asked: Option<&Id>) -> String {
    let d = draft_of(b);
    let id = links::text(d, &["/jobId", "/id"], &["jobId"])
        .or_else(|| links::text(b, &[], &["jobId"]))
        .or_else(|| asked.map(Id::to_string));
    let ready = links::find(
        d,
        &["/validation/publishReady"],
        &["publishReady"],
        Value::is_boolean,
    )
    .and_then(Value::as_bool)
    .unwrap_or(false);
    let missing = d
        .pointer("/validation/missingFieldCount")
        .and_then(Value::as_u64)
        .unwrap_or(missing_fields(d).len() as u64);
    let status = text(d, "/status")
        .map(|s| format!(" (status {s})"))
        .unwrap_or_default();
    let state = match (ready, missing) {
        (true, _) => String::new(),
        (false, 0) => " — not publishable yet".to_owned(),
        (false, n) => format!(" — {n} required field(s) missing"),
    };
    let mut lines = vec![match &id {
        Some(id) => format!("Draft job {id} {verb}{status}. publishReady: {ready}{state}."),
        None => format!(
            "A draft was {verb}{status}, but the answer carries no job id. publishReady: \
             {ready}{state}. {}\nFind its id with opentrain_list_jobs (status DRAFT).",
            links::what_it_says(b)
        ),
    }];
    let review = links::url(b, &["/reviewUrl"], &["reviewUrl"]);
    let draft = links::url(b, &["/draftUrl"], &["draftUrl", "editUrl"]);
    match (review, draft) {
        (Some(review), Some(draft)) if review != draft => lines.push(format!(
            "For your human to review: {review}\nDraft editor: {draft}"
        )),
        (Some(url), _) | (None, Some(url)) => lines.push(format!(
            "Draft in the app, for your human to review and edit: {url}"
        )),
        (None, None) => {}
    }
    if let Some(parsed) = parsed_fields(d) {
        lines.push(format!("Read from the input: {parsed}."));
    }
    let warnings = items(d, "/warnings");
    if !warnings.is_empty() {
        lines.push(format!("Warnings: {}.", described(warnings, 5)));
    }
    let unmapped = items(d, "/unmappedFields");
    if !unmapped.is_empty() {
        lines.push(format!("Not imported: {}.", described(unmapped, 5)));
    }
    let unsure = items(d, "/lowConfidenceFields");
    if !unsure.is_empty() {
        lines.push(format!(
            "Check with your human (the parser was unsure): {}.",
            described(unsure, 5)
        ));
    }
    lines.push(validation_text(d, id.as_deref()));
    lines.join("\n")
}

/// The validation state of a refused publish (documented under `details.validation`), as a
/// draft answer would carry it, wherever the error puts it.
fn refused_validation(body: &ErrorBody) -> Option<Value> {
    let v = body.json()?;
    let validation = links::object(
        v,
        &["/details/validation", "/error/details/validation"],
        &["validation"],
    )?;
    let mut state = json!({ "validation": validation });
    if let Some(rich) = links::find(
        v,
        &["/details/missingFields", "/error/details/missingFields"],
        &[],
        Value::is_array,
    ) {
        state["missingFields"] = rich.clone();
    }
    Some(state)
}

/// Advice for a refused publish (429): the daily limit, the window, and that claiming raises it.
fn publish_limit_hint(body: &ErrorBody, retry_after: Option<u64>) -> String {
    let claim = match super::error_number(body, &["limit"]) {
        Some(l) if l >= 20.0 => "That is the limit of a claimed account, so only waiting helps.",
        Some(_) => {
            "Claiming the account raises the limit to 20 a day: ask your human for their email \
             address and call opentrain_claim_account."
        }
        None => {
            "If this agent account is not claimed yet, claiming it raises the limit to 20 a day \
             (ask your human for their email address and call opentrain_claim_account)."
        }
    };
    format!(
        "The daily publish limit is reached{}: 3 publishes a day for an unclaimed agent account, \
         20 once a human claims it. {claim} Otherwise {}.",
        super::rate_limit_terms(body),
        super::rate_limit_wait(body, retry_after)
    )
}

fn publish_summary(b: &Value, asked: &Id) -> String {
    let d = draft_of(b);
    let id = links::text(d, &["/jobId", "/id"], &["jobId"]).unwrap_or_else(|| asked.to_string());
    let url = links::url(
        b,
        &["/jobUrl"],
        &["jobUrl", "publicUrl", "listingUrl", "url"],
    );
    let status = text(d, "/status")
        .map(|s| format!("status {s}"))
        .unwrap_or_default();
    let already = links::find(
        b,
        &["/alreadyPublished"],
        &["alreadyPublished"],
        Value::is_boolean,
    )
    .and_then(Value::as_bool)
    .unwrap_or(false);
    let where_ = match &url {
        Some(url) => format!(" at {url}"),
        None => String::new(),
    };
    let mut lines = vec![if already {
        format!(
            "Job {id} was already published (nothing changed{}). It is live{where_}.",
            if status.is_empty() {
                String::new()
            } else {
                format!("; {status}")
            }
        )
    } else {
        format!(
            "Published: job {id} is live{}{where_}{}",
            if status.is_empty() {
                String::new()
            } else {
                format!(" ({status})")
            },
            if url.is_some() {
                " — share this link with your human."
            } else {
                "."
            }
        )
    }];
    if url.is_none() {
        lines.push(format!(
            "The answer carries no link to the listing. {} opentrain_list_jobs shows each job's \
             jobUrl.",
            links::what_it_says(b)
        ));
    }
    let warnings = items(b, "/warnings");
    if !warnings.is_empty() {
        lines.push(format!("Warnings: {}.", described(warnings, 5)));
    }
    if let Some(attempt) = text(b, "/publishAttemptId") {
        lines.push(format!(
            "Publish attempt {attempt} (quote it to OpenTrain support)."
        ));
    }
    lines.push(format!(
        "Next: watch for proposals with opentrain_list_proposals (jobId \"{id}\") or \
         opentrain_poll_updates."
    ));
    lines.join("\n")
}

fn update_published_summary(b: &Value, asked: &Id) -> String {
    let d = draft_of(b);
    let id = links::text(d, &["/jobId", "/id"], &["jobId"]).unwrap_or_else(|| asked.to_string());
    let status = text(d, "/status");
    let reasons = items(b, "/moderation/reasons");
    let mut lines = vec![format!(
        "Job {id} updated{}; moderation decision: {}{}.",
        status
            .as_ref()
            .map(|s| format!(" (status {s})"))
            .unwrap_or_default(),
        text_or(b, "/moderation/decision", "not reported"),
        if reasons.is_empty() {
            String::new()
        } else {
            format!(" — reasons: {}", described(reasons, 5))
        }
    )];
    match status.as_deref() {
        Some("OPEN") => lines.push("The listing stays live with the changes.".to_owned()),
        Some(_) => lines.push(format!(
            "The job is no longer live. Fix the flagged fields with \
             opentrain_update_job_draft_fields (jobId \"{id}\"), then opentrain_publish_job."
        )),
        None => {}
    }
    lines.join("\n")
}

fn close_summary(b: &Value, asked: &Id) -> String {
    let d = draft_of(b);
    let id = links::text(d, &["/jobId", "/id"], &["jobId"]).unwrap_or_else(|| asked.to_string());
    let status = text(d, "/status")
        .map(|s| format!(" (status {s})"))
        .unwrap_or_default();
    if flag(d, "/alreadyClosed") {
        format!("Job {id} was already closed{status}; nothing changed.")
    } else {
        format!(
            "Closed job {id}{status}: it no longer takes proposals and is off the public \
             listings. Existing contracts continue."
        )
    }
}

fn my_job_line(job: &Value) -> String {
    let mut line = format!(
        "\"{}\" (id {})",
        text_or(job, "/title", "untitled"),
        super::summary::item_id(job, &["jobId"]).unwrap_or_else(|| "not in the answer".to_owned()),
    );
    if let Some(status) = text(job, "/status") {
        line.push_str(&format!(" — {status}"));
    }
    if let Some(total) = text(job, "/proposalCounts/total") {
        line.push_str(&format!(", {total} proposals"));
        if let Some(unreviewed) = text(job, "/proposalCounts/unreviewed") {
            line.push_str(&format!(" ({unreviewed} unreviewed)"));
        }
    }
    if let Some(url) = links::url(job, &["/jobUrl"], &["jobUrl", "url"]) {
        line.push_str(&format!(" — {url}"));
    }
    line
}

/// A public job's pay: `$12/hour`, `$10–$15/hour`, `$500 fixed`, `$0.05/label`.
fn pay(job: &Value) -> String {
    let has = |key: &str| {
        job.pointer(&format!("/pay/{key}"))
            .is_some_and(Value::is_number)
    };
    let kind = text(job, "/pay/paymentType").unwrap_or_default();
    let currency = text(job, "/pay/currency").filter(|c| c != "USD");
    let money = |key: &str| {
        let pointer = format!("/pay/{key}");
        match &currency {
            Some(c) => format!("{} {c}", text_or(job, &pointer, "")),
            None => usd(job, &pointer),
        }
    };
    if has("hourlyRate") {
        format!("{}/hour", money("hourlyRate"))
    } else if has("hourlyMin") && has("hourlyMax") {
        format!("{}–{}/hour", money("hourlyMin"), money("hourlyMax"))
    } else if has("fixedPrice") {
        format!("{} fixed", money("fixedPrice"))
    } else if has("perLabelRate") {
        format!("{}/label", money("perLabelRate"))
    } else if kind.is_empty() {
        "pay not stated".to_owned()
    } else {
        kind
    }
}

fn public_job_line(job: &Value) -> String {
    let or_any = |pointer: &str| {
        let list = strings(job, pointer);
        if list.is_empty() {
            "any".to_owned()
        } else {
            list.join(", ")
        }
    };
    format!(
        "\"{}\" — {} — {} — languages {}; countries {} — {}",
        text_or(job, "/title", "untitled"),
        text_or(job, "/companyName", "company not shown"),
        pay(job),
        or_any("/languages"),
        or_any("/countries"),
        links::url(job, &["/url"], &["url", "jobUrl", "applyUrl"])
            .unwrap_or_else(|| "no link in the answer".to_owned()),
    )
}

// ---------------------------------------------------------------------------------------------
// Tools

#[tool_router(router = jobs_router, vis = "pub(crate)")]
impl OpenTrain {
    /// Create an unpublished job draft from exactly one of jobDescription (plain text, usual), canonicalJob or importPayload. The result lists each missing field with a question for the human and its patch key. Requires jobs:write + feature public_api_job_drafting. Wraps POST /job-drafts.
    #[tool(
        name = "opentrain_create_job_draft",
        title = "Create a job draft",
        input_schema = schema::<CreateJobDraftArgs>(),
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn create_job_draft(&self, Args(a): Args<CreateJobDraftArgs>) -> CallToolResult {
        let (body, ignored) = match draft_body(a) {
            Ok(built) => built,
            Err(message) => {
                return invalid("opentrain_create_job_draft", &message);
            }
        };
        let mut result = self
            .run(Request::post("/job-drafts").json(&body), |b| {
                draft_summary(b, "created", None)
            })
            .await;
        let ignored: Vec<(&str, &str)> = ignored.iter().map(|(k, w)| (*k, w.as_str())).collect();
        note_ignored(&mut result, &ignored);
        result
    }

    /// Fill in or fix fields of an unpublished draft: ask the human each missing field's question, then patch the answers by patch key. Returns the remaining gaps and publishReady; never publishes. Requires jobs:write + feature public_api_job_drafting. Wraps PATCH /job-drafts/{jobId}.
    #[tool(
        name = "opentrain_update_job_draft_fields",
        title = "Update draft fields",
        input_schema = schema::<UpdateJobDraftFieldsArgs>(),
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn update_job_draft_fields(
        &self,
        Args(a): Args<UpdateJobDraftFieldsArgs>,
    ) -> CallToolResult {
        let req = Request::patch("/job-drafts/{jobId}")
            .id("jobId", &a.job_id)
            .json(&a.patch);
        self.run(req, |b| draft_summary(b, "updated", Some(&a.job_id)))
            .await
    }

    /// Take a publish-ready draft live and get its public URL. Moderated; at most 3 publishes a day unclaimed, 20 claimed; publishing a live job changes nothing. Requires jobs:write + feature public_api_job_publishing. Wraps POST /jobs/{jobId}/publish.
    #[tool(
        name = "opentrain_publish_job",
        title = "Publish a job",
        input_schema = schema::<PublishJobArgs>(),
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn publish_job(&self, Args(a): Args<PublishJobArgs>) -> CallToolResult {
        let req = Request::post("/jobs/{jobId}/publish").id("jobId", &a.job_id);
        match self.call(&req).await {
            Ok(response) => ok(publish_summary(&response.body, &a.job_id), response.body),
            Err(e) => {
                let hint = match &e {
                    ApiError::Http {
                        status: 429,
                        body,
                        retry_after,
                    } => Some(publish_limit_hint(body, *retry_after)),
                    _ => None,
                };
                let mut result = self.failure_with(&e, hint);
                if let ApiError::Http {
                    status: 400, body, ..
                } = &e
                    && let Some(state) = refused_validation(body)
                {
                    append_text(
                        &mut result,
                        &format!(
                            "The draft is not publish-ready.\n{}",
                            validation_text(&state, Some(a.job_id.as_str()))
                        ),
                    );
                }
                result
            }
        }
    }

    /// Edit a live (OPEN) job. Edits are re-moderated: if blocked, the change is kept but the job goes back to DRAFT and the error says why. For drafts use opentrain_update_job_draft_fields. Requires jobs:write + feature public_api_job_publishing. Wraps PATCH /jobs/{jobId}.
    #[tool(
        name = "opentrain_update_published_job",
        title = "Update a published job",
        input_schema = schema::<UpdatePublishedJobArgs>(),
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn update_published_job(&self, Args(a): Args<UpdatePublishedJobArgs>) -> CallToolResult {
        let req = Request::patch("/jobs/{jobId}")
            .id("jobId", &a.job_id)
            .json(&a.patch);
        self.run(req, |b| update_published_summary(b, &a.job_id))
            .await
    }

    /// Close (archive) one of your jobs: no new proposals, gone from public listings; existing contracts go on. Closing a closed job reports alreadyClosed. Requires jobs:write + feature public_api_job_publishing. Wraps POST /jobs/{jobId}/close.
    #[tool(
        name = "opentrain_close_job",
        title = "Close a job",
        input_schema = schema::<CloseJobArgs>(),
        annotations(
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn close_job(&self, Args(a): Args<CloseJobArgs>) -> CallToolResult {
        let req = Request::post("/jobs/{jobId}/close").id("jobId", &a.job_id);
        self.run(req, |b| close_summary(b, &a.job_id)).await
    }

    /// List your own jobs, drafts included, newest first: title, id, status, proposal counts and public URL; filter by status. Requires jobs:read. Wraps GET /jobs/mine.
    #[tool(
        name = "opentrain_list_jobs",
        title = "List my jobs",
        input_schema = schema::<ListJobsArgs>(),
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_jobs(&self, Args(a): Args<ListJobsArgs>) -> CallToolResult {
        let req = Request::get("/jobs/mine")
            .query("status", a.status)
            .query("cursor", a.cursor)
            .query("limit", a.limit);
        self.run(req, |b| {
            summary::list(b, "/jobs", ("job", "jobs"), my_job_line)
        })
        .await
    }

    /// Search the public OpenTrain job marketplace, e.g. to calibrate rates and scope before posting; results may be 5 minutes old. Requires nothing: no token is sent (120 requests/minute per IP). Wraps GET /jobs.
    #[tool(
        name = "opentrain_search_jobs",
        title = "Search public jobs",
        input_schema = schema::<SearchJobsArgs>(),
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn search_jobs(&self, Args(a): Args<SearchJobsArgs>) -> CallToolResult {
        let req = Request::get("/jobs")
            .without_token()
            .query("q", a.q)
            .query("category", a.category)
            .query("language", a.language)
            .query("country", a.country)
            .query("payType", a.pay_type)
            .query("limit", a.limit)
            .query("cursor", a.cursor);
        self.run(req, |b| {
            summary::list(b, "/jobs", ("public job", "public jobs"), public_job_line)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: Value) -> CreateJobDraftArgs {
        serde_json::from_value(v).unwrap()
    }

    fn body(v: Value) -> Value {
        draft_body(args(v)).unwrap().0
    }

    #[test]
    fn draft_bodies() {
        assert_eq!(
            body(json!({"jobDescription": "Label 5k images.", "title": "Boxes"})),
            json!({"rawJobDescription": "Boxes\n\nLabel 5k images."})
        );
        assert_eq!(
            body(json!({"importPayload": {"@type": ["Thing", "JobPosting"]}})),
            json!({"format": "schema_org_job_posting", "jsonLd": {"@type": ["Thing", "JobPosting"]}})
        );
        // JSON-LD as a graph, or by its schema.org context.
        let graph = json!({"@context": "https://schema.org",
            "@graph": [{"@type": "Organization"}, {"@type": "JobPosting", "title": "T"}]});
        assert_eq!(
            body(json!({"importPayload": graph})),
            json!({"format": "schema_org_job_posting", "jsonLd": graph})
        );
        // The posting guide's source object, wrapped or bare.
        let source = json!({"type": "text", "text": "Label 50k images.", "externalId": "acme-7"});
        assert_eq!(
            body(json!({"importPayload": {"source": source}})),
            json!({"source": source})
        );
        assert_eq!(
            body(json!({"importPayload": source, "idempotencyKey": "k1"})),
            json!({"source": source, "idempotencyKey": "k1"})
        );
        let err = draft_body(args(json!({"importPayload": {"name": "Thing"}}))).unwrap_err();
        assert!(
            err.contains("JobPosting") && err.contains("format") && err.contains("source"),
            "{err}"
        );
        // An empty canonical job is the API's to judge.
        assert_eq!(
            body(json!({"canonicalJob": {}})),
            json!({"format": "opentrain_canonical", "job": {}})
        );
        // A title with another input is not sent, and named.
        let (sent, ignored) = draft_body(args(
            json!({"canonicalJob": {"title": "A"}, "title": "B", "externalId": ""}),
        ))
        .unwrap();
        assert_eq!(
            sent,
            json!({"format": "opentrain_canonical", "job": {"title": "A"}})
        );
        assert_eq!(ignored.len(), 1);
        assert_eq!(ignored[0].0, "title");
        // A key given both ways must agree.
        let err = draft_body(args(json!({
            "importPayload": {"format": "hr_xml", "xml": "<x/>", "externalId": "a"},
            "externalId": "b"
        })))
        .unwrap_err();
        assert!(err.contains("give it once"), "{err}");
        assert_eq!(
            body(json!({
                "importPayload": {"format": "hr_xml", "xml": "<x/>", "externalId": "a"},
                "externalId": "a"
            })),
            json!({"format": "hr_xml", "xml": "<x/>", "externalId": "a"})
        );
        // The title counts towards the API's limit.
        let err = draft_body(args(
            json!({"jobDescription": "x".repeat(60_000), "title": "T"}),
        ))
        .unwrap_err();
        assert!(err.contains("60003 characters"), "{err}");
    }

    #[test]
    fn missing_fields_merge_both_shapes() {
        let body = json!({
            "validation": {"publishReady": false, "missingFieldCount": 2,
                           "missingFields": ["experienceLevel", "dataVolumeUnit"]},
            "missingFields": [{"field": "experienceLevel", "prompt": "What level?"}]
        });
        let fields: Vec<&str> = missing_fields(&body).iter().map(|m| m.field).collect();
        assert_eq!(fields, ["experienceLevel", "dataVolumeUnit"]);
        let t = validation_text(&body, Some("j1"));
        assert!(t.contains("ask: What level?"), "{t}");
        assert!(t.contains("dataVolumeUnit: ask your human"), "{t}");
        assert!(
            t.contains("opentrain_update_job_draft_fields with jobId \"j1\""),
            "{t}"
        );
    }

    #[test]
    fn examples_are_typed_for_the_patch() {
        let number = json!({"type": "number", "example": "0.05"});
        assert_eq!(example_value(&number), Some(json!(0.05)));
        let bad_number = json!({"type": "number", "example": "about 5"});
        assert_eq!(example_value(&bad_number), None);
        let list = json!({"type": "array", "example": "Spanish"});
        assert_eq!(example_value(&list), None);
        let entry = json!({"field": "languages", "type": "array", "example": "Spanish",
                           "updateKeys": ["languages"]});
        let line = missing_line(&Missing {
            field: "languages",
            entry: Some(&entry),
        });
        assert!(
            line.contains("patch key languages; example Spanish"),
            "{line}"
        );
    }

    #[test]
    fn draft_summaries_show_urls_warnings_and_issues() {
        let body = json!({
            "jobId": "j9", "status": "DRAFT",
            "draftUrl": "https://app.opentrain.ai/job-post?jobId=j9",
            "reviewUrl": "https://app.opentrain.ai/review/j9",
            "validation": {"publishReady": false, "issueCount": 1, "missingFieldCount": 0,
                           "missingFields": [], "issues": [{"field": "fixedPrice", "message": "Too low"}]},
            "warnings": ["Headcount guessed"],
            "unmappedFields": [{"path": "salary.band", "reason": "unsupported"}],
            "lowConfidenceFields": ["dataVolume"]
        });
        let t = draft_summary(&body, "created", None);
        for needle in [
            "Draft job j9 created (status DRAFT). publishReady: false — not publishable yet.",
            "For your human to review: https://app.opentrain.ai/review/j9\nDraft editor: https://app.opentrain.ai/job-post?jobId=j9\n",
            "Warnings: Headcount guessed.",
            "Not imported: salary.band: unsupported.",
            "Check with your human (the parser was unsure): dataVolume.",
            "Issues: fixedPrice: Too low.",
            "opentrain_update_job_draft_fields with jobId \"j9\"",
        ] {
            assert!(t.contains(needle), "lacks {needle:?}:\n{t}");
        }
        assert!(!t.contains("Missing —"), "{t}");
    }

    #[test]
    fn live_updates_without_a_status_make_no_claim() {
        let asked = Id::parse("j0").unwrap();
        let t = update_published_summary(&json!({"jobId": "j1"}), &asked);
        assert_eq!(t, "Job j1 updated; moderation decision: not reported.");
    }

    #[test]
    fn pay_renders_each_kind() {
        let job = |pay: Value| json!({ "pay": pay });
        assert_eq!(
            pay(&job(
                json!({"paymentType": "PAY_PER_HOUR", "currency": "USD", "hourlyRate": 12})
            )),
            "$12/hour"
        );
        assert_eq!(
            pay(&job(
                json!({"hourlyRate": null, "hourlyMin": 10, "hourlyMax": 15.5})
            )),
            "$10–$15.50/hour"
        );
        assert_eq!(pay(&job(json!({"fixedPrice": 500}))), "$500 fixed");
        assert_eq!(
            pay(&job(json!({"perLabelRate": 0.05, "currency": "EUR"}))),
            "0.05 EUR/label"
        );
        assert_eq!(
            pay(&job(json!({"paymentType": "FIXED_PRICE"}))),
            "FIXED_PRICE"
        );
        assert_eq!(pay(&json!({})), "pay not stated");
    }
}
