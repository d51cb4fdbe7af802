//! Jobs and job drafts: drafting from plain text (or a canonical/JSON-LD/XML import), the
//! validation that asks for missing fields, publishing (moderated, 3 a day unclaimed, 20
//! claimed), editing, closing, your jobs, and the tokenless public marketplace.

use serde_json::{Map, Value, json};

use super::auth::{EXPERIENCE_LEVELS, PAYMENT_TYPES, UPDATE_KEYS, VOLUME_UNITS};
use super::{ApiErr, Ctx, Handler, Reply, Req, Route, issue, json_object, page};
use crate::sandbox::clock::{self, DAY, HOUR};
use crate::sandbox::store::Tx;
use crate::sandbox::world;

pub const MAX_DESCRIPTION: usize = 60_000;
const MINE_STATUSES: &[&str] = &[
    "DRAFT",
    "OPEN",
    "ONGOING",
    "COMPLETED",
    "ARCHIVED",
    "PENDING_APPROVAL",
];

pub const ROUTES: &[Route] = &[
    Route::new(
        "POST",
        "/api/public/v1/job-drafts",
        Handler::Authed(create_draft),
    ),
    Route::new(
        "PATCH",
        "/api/public/v1/job-drafts/{job_id}",
        Handler::Authed(update_draft),
    ),
    Route::new("GET", "/api/public/v1/jobs", Handler::Open(search)),
    Route::new("GET", "/api/public/v1/jobs/mine", Handler::Authed(mine)),
    Route::new("GET", "/api/public/v1/jobs/facets", Handler::Open(facets)),
    Route::new("GET", "/api/public/v1/jobs/changes", Handler::Open(changes)),
    Route::new(
        "GET",
        "/api/public/v1/jobs/{job_id}",
        Handler::Open(public_job),
    ),
    Route::new(
        "PATCH",
        "/api/public/v1/jobs/{job_id}",
        Handler::Authed(update_live),
    ),
    Route::new(
        "POST",
        "/api/public/v1/jobs/{job_id}/publish",
        Handler::Authed(publish),
    ),
    Route::new(
        "POST",
        "/api/public/v1/jobs/{job_id}/close",
        Handler::Authed(close),
    ),
];

// ---------------------------------------------------------------------------------------------
// Reading plain text into draft fields

const LANGUAGES: &[&str] = &[
    "English",
    "Spanish",
    "French",
    "German",
    "Portuguese",
    "Italian",
    "Japanese",
    "Chinese",
    "Mandarin",
    "Korean",
    "Arabic",
    "Hindi",
    "Russian",
    "Polish",
    "Ukrainian",
    "Dutch",
    "Turkish",
    "Yoruba",
    "Swahili",
    "Vietnamese",
    "Indonesian",
];
const PEOPLE: &[&str] = &[
    "annotators",
    "annotator",
    "speakers",
    "labelers",
    "labellers",
    "people",
    "trainers",
    "freelancers",
    "transcribers",
    "raters",
    "reviewers",
    "experts",
    "linguists",
    "workers",
];
const DATA_NOUNS: &[(&str, &str)] = &[
    ("images", "NUMBER_OF_FILES"),
    ("photos", "NUMBER_OF_FILES"),
    ("files", "NUMBER_OF_FILES"),
    ("posts", "NUMBER_OF_FILES"),
    ("tweets", "NUMBER_OF_FILES"),
    ("documents", "NUMBER_OF_FILES"),
    ("receipts", "NUMBER_OF_FILES"),
    ("clips", "NUMBER_OF_FILES"),
    ("videos", "NUMBER_OF_FILES"),
    ("reviews", "NUMBER_OF_FILES"),
    ("recordings", "NUMBER_OF_FILES"),
    ("conversations", "NUMBER_OF_FILES"),
    ("pairs", "NUMBER_OF_FILES"),
    ("words", "NUMBER_OF_WORDS"),
    ("sentences", "NUMBER_OF_WORDS"),
    ("hours", "HOURS_OF_RECORDING_AUDIO_VIDEO"),
];
const TASKS: &[(&str, &str, &str)] = &[
    ("sentiment", "Sentiment Labeling", "Sentiment"),
    ("bounding", "Bounding Box Annotation", "Bounding Box"),
    ("transcri", "Transcription", "Transcription"),
    ("entit", "Entity Labeling", "Named Entities"),
    ("rank", "Response Ranking", "Ranking"),
    ("segment", "Segmentation", "Segmentation"),
    ("ocr", "Document Transcription", "Transcription"),
    ("classif", "Text Classification", "Classification"),
];

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ':' | '(' | ')'))
        .filter(|w| !w.is_empty())
        .map(|w| w.trim_end_matches(['.', '!', '?']).to_owned())
        .collect()
}

/// `20,000` `~20000` `20k` → 20000 (commas inside numbers survive `words` because the split on
/// commas only happens between words: "20,000" is rejoined below).
fn number(word: &str) -> Option<f64> {
    let w = word.trim_start_matches(['~', '≈', '$']).to_lowercase();
    let (digits, factor) = match w.strip_suffix('k') {
        Some(d) => (d.to_owned(), 1000.0),
        None => (w.clone(), 1.0),
    };
    let clean: String = digits.chars().filter(|c| *c != ',').collect();
    if clean.is_empty() || !clean.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    clean.parse::<f64>().ok().map(|n| n * factor)
}

/// Draft fields found in a plain-text brief.
pub fn read_text(text: &str) -> Map<String, Value> {
    let mut f = Map::new();
    let lower = text.to_lowercase();
    // Keep "20,000" together: split on whitespace first.
    let tokens: Vec<String> = text
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| matches!(c, '.' | ',' | ';' | ':' | '(' | ')' | '!' | '?'))
                .to_owned()
        })
        .filter(|w| !w.is_empty())
        .collect();
    let lower_tokens: Vec<String> = tokens.iter().map(|t| t.to_lowercase()).collect();

    let languages: Vec<&str> = LANGUAGES
        .iter()
        .copied()
        .filter(|l| words(text).iter().any(|w| w.eq_ignore_ascii_case(l)))
        .collect();
    if !languages.is_empty() {
        f.insert("languages".into(), json!(languages));
    }
    let mut volume_phrase = None;
    for (i, token) in tokens.iter().enumerate() {
        let Some(n) = number(token) else { continue };
        if token.starts_with('$') {
            continue;
        }
        let ahead: Vec<&String> = lower_tokens.iter().skip(i + 1).take(3).collect();
        if !f.contains_key("headcount")
            && (1.0..1000.0).contains(&n)
            && ahead.iter().any(|w| PEOPLE.contains(&w.as_str()))
        {
            f.insert("headcount".into(), json!(n as u64));
            continue;
        }
        if !f.contains_key("dataVolume")
            && let Some((k, (_, unit))) = ahead.iter().enumerate().find_map(|(k, w)| {
                DATA_NOUNS
                    .iter()
                    .find(|(noun, _)| w.as_str() == *noun)
                    .map(|d| (k, d))
            })
        {
            f.insert("dataVolume".into(), json!(n as u64));
            f.insert("dataVolumeUnit".into(), json!(unit));
            volume_phrase = Some(tokens[i + 1..=i + 1 + k].join(" "));
        }
    }
    let payment =
        if lower.contains("per label") || lower.contains("/label") || lower.contains("per-label") {
            Some("PAY_PER_LABEL")
        } else if lower.contains("/hour")
            || lower.contains("per hour")
            || lower.contains("hourly")
            || lower.contains("an hour")
            || lower.contains("/hr")
        {
            Some("PAY_PER_HOUR")
        } else if lower.contains("fixed price")
            || lower.contains("fixed-price")
            || lower.contains("flat fee")
        {
            Some("FIXED_PRICE")
        } else {
            None
        };
    if let Some(payment) = payment {
        f.insert("paymentType".into(), json!(payment));
        let price = tokens
            .iter()
            .filter(|t| t.starts_with('$'))
            .find_map(|t| number(t.split('/').next().unwrap_or(t)));
        if let Some(price) = price {
            let key = match payment {
                "PAY_PER_LABEL" => "pricePerLabel",
                "PAY_PER_HOUR" => "pricePerHour",
                _ => "fixedPrice",
            };
            f.insert(key.into(), json!(price));
        }
    }
    let level = if lower.contains("entry level")
        || lower.contains("entry-level")
        || lower.contains("beginner")
    {
        Some("ENTRY_LEVEL")
    } else if lower.contains("intermediate") {
        Some("INTERMEDIATE")
    } else if lower.contains("expert") {
        Some("EXPERT")
    } else if lower.contains("any experience") {
        Some("ANY_EXPERIENCE_LEVEL")
    } else {
        None
    };
    if let Some(level) = level {
        f.insert("experienceLevel".into(), json!(level));
    }
    let data_type =
        if lower.contains("image") || lower.contains("photo") || lower.contains("dashcam") {
            Some("Image")
        } else if lower.contains("audio") || lower.contains("speech") || lower.contains("call") {
            Some("Audio")
        } else if lower.contains("video") {
            Some("Video")
        } else if lower.contains("text")
            || lower.contains("post")
            || lower.contains("tweet")
            || lower.contains("review")
        {
            Some("Text")
        } else {
            None
        };
    if let Some(data_type) = data_type {
        f.insert("dataType".into(), json!(data_type));
    }
    let task = TASKS.iter().find(|(k, _, _)| lower.contains(k));
    if let Some((_, _, label)) = task {
        f.insert("labelTypes".into(), json!([label]));
    }
    // The title: the first line when it reads like one, else made from what was found.
    let first_line = text.lines().next().unwrap_or("").trim();
    let title = if text.trim().contains('\n')
        && (3..=100).contains(&first_line.chars().count())
        && !first_line.ends_with('.')
    {
        first_line.to_owned()
    } else {
        let mut t = Vec::new();
        if let Some(l) = languages.first() {
            t.push(l.to_string());
        }
        t.push(
            task.map(|(_, name, _)| name.to_string())
                .unwrap_or_else(|| "Data Labeling".into()),
        );
        let mut title = t.join(" ");
        if let Some(phrase) = volume_phrase {
            let cased: Vec<String> = phrase
                .split(' ')
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                        .unwrap_or_default()
                })
                .collect();
            title.push_str(" — ");
            title.push_str(&cased.join(" "));
        }
        title
    };
    f.insert("jobTitle".into(), json!(title));
    f.insert("jobDescription".into(), json!(text.trim()));
    f
}

fn xml_tag(xml: &str, tag: &str) -> Option<String> {
    let start = xml.find(&format!("<{tag}"))?;
    let open_end = start + xml[start..].find('>')? + 1;
    let close = open_end + xml[open_end..].find(&format!("</{tag}>"))?;
    let inner = xml[open_end..close].trim();
    let inner = inner
        .strip_prefix("<![CDATA[")
        .and_then(|s| s.strip_suffix("]]>"))
        .unwrap_or(inner);
    Some(strip_tags(inner))
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in html.chars() {
        match c {
            '<' => inside = true,
            '>' => inside = false,
            _ if !inside => out.push(c),
            _ => {}
        }
    }
    out.trim().to_owned()
}

/// Draft fields from the create body, plus what could not be mapped.
fn import(body: &Map<String, Value>) -> Result<(Map<String, Value>, Vec<Value>), ApiErr> {
    let source = body.get("source").and_then(Value::as_object);
    let format = body
        .get("format")
        .and_then(Value::as_str)
        .or_else(|| source.and_then(|s| s.get("type")).and_then(Value::as_str));
    let text = body
        .get("rawJobDescription")
        .and_then(Value::as_str)
        .or_else(|| source.and_then(|s| s.get("text")).and_then(Value::as_str));
    let mut unmapped = Vec::new();
    let fields = match (format, text) {
        (None | Some("text"), Some(text)) => {
            let n = text.chars().count();
            if text.trim().is_empty() {
                return Err(ApiErr::bad(
                    "rawJobDescription",
                    "The job description is empty.",
                ));
            }
            if n > MAX_DESCRIPTION {
                return Err(ApiErr::bad(
                    "rawJobDescription",
                    format!(
                        "The job description is {n} characters; the limit is {MAX_DESCRIPTION}."
                    ),
                ));
            }
            read_text(text)
        }
        (Some("opentrain_canonical"), _) => {
            let job = body
                .get("job")
                .or_else(|| source.and_then(|s| s.get("job")))
                .and_then(Value::as_object)
                .ok_or_else(|| {
                    ApiErr::bad("job", "format opentrain_canonical needs a job object.")
                })?;
            let description = job.get("description").and_then(Value::as_str).unwrap_or("");
            let mut f = read_text(description);
            for (key, value) in job {
                match key.as_str() {
                    "title" => {
                        f.insert("jobTitle".into(), value.clone());
                    }
                    "description" => {}
                    "rateAmount" => {}
                    "tools" => {
                        let tools: Vec<String> = super::strings(value);
                        f.insert("labelingSoftware".into(), json!(tools.join(", ")));
                    }
                    k if UPDATE_KEYS.contains(&k) => {
                        f.insert(k.into(), value.clone());
                    }
                    other => unmapped.push(json!({"path": format!("job.{other}"), "reason": "not a draft field", "valuePreview": preview(value)})),
                }
            }
            if let Some(rate) = job.get("rateAmount") {
                let key = match f.get("paymentType").and_then(Value::as_str) {
                    Some("PAY_PER_LABEL") => "pricePerLabel",
                    Some("FIXED_PRICE") => "fixedPrice",
                    _ => "pricePerHour",
                };
                f.insert(key.into(), rate.clone());
            }
            f
        }
        (Some("schema_org_job_posting"), _) => {
            let ld = body
                .get("jsonLd")
                .or_else(|| source.and_then(|s| s.get("jsonLd")))
                .ok_or_else(|| {
                    ApiErr::bad("jsonLd", "format schema_org_job_posting needs jsonLd.")
                })?;
            let ld = match ld {
                Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
                other => other.clone(),
            };
            let description = strip_tags(ld["description"].as_str().unwrap_or(""));
            let mut f = read_text(&description);
            if let Some(title) = ld["title"].as_str() {
                f.insert("jobTitle".into(), json!(title));
            }
            f
        }
        (Some("indeed_xml" | "hr_xml"), _) => {
            let xml = body
                .get("xml")
                .or_else(|| source.and_then(|s| s.get("xml")))
                .and_then(Value::as_str)
                .ok_or_else(|| ApiErr::bad("xml", "XML formats need an xml string."))?;
            let description = xml_tag(xml, "description").unwrap_or_default();
            let mut f = read_text(&description);
            if let Some(title) = xml_tag(xml, "title") {
                f.insert("jobTitle".into(), json!(title));
            }
            f
        }
        (Some(other), _) => {
            return Err(ApiErr::bad(
                "format",
                format!("Unsupported format {other:?}."),
            ));
        }
        (None, None) => {
            return Err(ApiErr::new(
                400,
                "Give rawJobDescription (plain text), source, or a format with its payload.",
            ));
        }
    };
    Ok((fields, unmapped))
}

fn preview(value: &Value) -> String {
    let text = value.to_string();
    text.chars().take(80).collect()
}

// ---------------------------------------------------------------------------------------------
// Validation

struct Need {
    field: &'static str,
    label: &'static str,
    message: &'static str,
    prompt: String,
    kind: &'static str,
    values: Option<&'static [&'static str]>,
    example: &'static str,
    hint: Option<&'static str>,
}

fn rate_key(payment: &str) -> Option<&'static str> {
    match payment {
        "PAY_PER_LABEL" => Some("pricePerLabel"),
        "PAY_PER_HOUR" => Some("pricePerHour"),
        "FIXED_PRICE" => Some("fixedPrice"),
        _ => None,
    }
}

fn missing(fields: &Value) -> Vec<Need> {
    let absent = |k: &str| match &fields[k] {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    };
    let mut out = Vec::new();
    if absent("jobTitle") {
        out.push(Need {
            field: "jobTitle",
            label: "Job title",
            message: "A job title is required before publishing.",
            prompt: "ask: What should the job be called?".into(),
            kind: "string",
            values: None,
            example: "Spanish Sentiment Labeling — Social Media Posts",
            hint: None,
        });
    }
    if absent("jobDescription") {
        out.push(Need {
            field: "jobDescription",
            label: "Job description",
            message: "A job description is required before publishing.",
            prompt: "ask: What is the work, in a few sentences?".into(),
            kind: "string",
            values: None,
            example: "Label the sentiment of 20,000 Spanish social media posts.",
            hint: None,
        });
    }
    if absent("experienceLevel") {
        out.push(Need { field: "experienceLevel", label: "Experience level", message: "Experience level is required before publishing.", prompt: "ask: What experience level should AI trainers have? (EXPERT, ENTRY_LEVEL, INTERMEDIATE, ANY_EXPERIENCE_LEVEL)".into(), kind: "enum", values: Some(EXPERIENCE_LEVELS), example: "INTERMEDIATE", hint: Some("Pick the minimum level the work realistically needs.") });
    }
    match fields["paymentType"].as_str().and_then(rate_key) {
        None => out.push(Need { field: "paymentType", label: "Payment type", message: "A payment type is required before publishing.", prompt: "ask: How will you pay AI trainers — per label, per hour, or a fixed price? (PAY_PER_LABEL, PAY_PER_HOUR, FIXED_PRICE)".into(), kind: "enum", values: Some(PAYMENT_TYPES), example: "PAY_PER_HOUR", hint: None }),
        Some(key) if absent(key) => out.push(match key {
            "pricePerLabel" => Need { field: "pricePerLabel", label: "Price per label", message: "A pay rate is required before publishing.", prompt: "ask: How much will you pay per label (USD)?".into(), kind: "number", values: None, example: "0.05", hint: None },
            "pricePerHour" => Need { field: "pricePerHour", label: "Price per hour", message: "A pay rate is required before publishing.", prompt: "ask: How much will you pay per hour (USD)?".into(), kind: "number", values: None, example: "18", hint: None },
            _ => Need { field: "fixedPrice", label: "Fixed price", message: "A pay rate is required before publishing.", prompt: "ask: What is the fixed price for the whole job (USD)?".into(), kind: "number", values: None, example: "500", hint: None },
        }),
        Some(_) => {}
    }
    if absent("dataVolumeUnit") {
        out.push(Need { field: "dataVolumeUnit", label: "Data volume unit", message: "The unit of the data volume is required before publishing.", prompt: "ask: How is the amount of data measured? (HOURS_OF_RECORDING_AUDIO_VIDEO, NUMBER_OF_FILES, NUMBER_OF_WORDS, UNKNOWN_NOT_SPECIFIED)".into(), kind: "enum", values: Some(VOLUME_UNITS), example: "NUMBER_OF_FILES", hint: None });
    }
    if absent("headcount") {
        out.push(Need {
            field: "headcount",
            label: "Headcount",
            message: "The number of AI trainers to hire is required before publishing.",
            prompt: "ask: How many AI trainers do you want to hire?".into(),
            kind: "number",
            values: None,
            example: "5",
            hint: None,
        });
    }
    out
}

/// `validation` and the rich `missingFields` of a draft.
pub fn validation(fields: &Value) -> (Value, Value) {
    let needs = missing(fields);
    let names: Vec<&str> = needs.iter().map(|n| n.field).collect();
    let validation = json!({
        "publishReady": needs.is_empty(),
        "issueCount": 0,
        "missingFieldCount": needs.len(),
        "missingFields": names,
        "issues": [],
    });
    let rich: Vec<Value> = needs
        .iter()
        .map(|n| {
            json!({
                "field": n.field, "label": n.label, "message": n.message,
                "code": "missing_required_field", "prompt": n.prompt, "type": n.kind,
                "enumValues": n.values, "updateKeys": [n.field], "example": n.example,
                "hint": n.hint,
            })
        })
        .collect();
    (validation, json!(rich))
}

/// Checks a PATCH body against the draft schema (400 with zod-style issues otherwise).
fn check_patch(body: &Map<String, Value>) -> Result<(), ApiErr> {
    if body.is_empty() {
        return Err(ApiErr::new(400, "The body must set at least one field."));
    }
    let unknown: Vec<&String> = body
        .keys()
        .filter(|k| !UPDATE_KEYS.contains(&k.as_str()))
        .collect();
    let mut issues = Vec::new();
    if !unknown.is_empty() {
        issues.push(json!({"code": "unrecognized_keys", "keys": unknown, "path": [], "message": format!("Unrecognized key(s) in object: {}", unknown.iter().map(|k| format!("'{k}'")).collect::<Vec<_>>().join(", "))}));
    }
    for (key, value) in body {
        if value.is_null() {
            continue;
        }
        let enum_values = match key.as_str() {
            "paymentType" => Some(PAYMENT_TYPES),
            "experienceLevel" => Some(EXPERIENCE_LEVELS),
            "dataVolumeUnit" => Some(VOLUME_UNITS),
            _ => None,
        };
        if let Some(values) = enum_values {
            if !value.as_str().is_some_and(|v| values.contains(&v)) {
                issues.push(issue(
                    key,
                    "invalid_enum_value",
                    &format!("Expected {}", values.join(" | ")),
                ));
            }
            continue;
        }
        let expected = match key.as_str() {
            "headcount" | "dataVolume" => {
                (!value.as_f64().is_some_and(|n| n > 0.0 && n.fract() == 0.0))
                    .then_some("Expected a positive whole number")
            }
            "pricePerHour" | "pricePerLabel" | "fixedPrice" => {
                (!value.as_f64().is_some_and(|n| n > 0.0)).then_some("Expected a positive number")
            }
            "countries" | "languages" | "labelTypes" => (!value
                .as_array()
                .is_some_and(|a| a.iter().all(Value::is_string)))
            .then_some("Expected an array of strings"),
            k if UPDATE_KEYS.contains(&k) => (!value.is_string()).then_some("Expected a string"),
            _ => None,
        };
        if let Some(message) = expected {
            issues.push(issue(key, "invalid_type", message));
        }
    }
    if issues.is_empty() {
        Ok(())
    } else {
        Err(ApiErr::new(400, "Invalid draft fields.").detail("issues", issues))
    }
}

/// Moderation: job posts may not carry off-platform contact details.
fn moderate(fields: &Value) -> Vec<String> {
    let text = format!(
        "{} {}",
        fields["jobTitle"].as_str().unwrap_or(""),
        fields["jobDescription"].as_str().unwrap_or("")
    )
    .to_lowercase();
    let mut reasons = Vec::new();
    let has_email = text.split_whitespace().any(|w| {
        let w = w.trim_matches(|c: char| !c.is_alphanumeric() && c != '@' && c != '.');
        super::auth::valid_email(w)
    });
    if has_email || text.contains("whatsapp") || text.contains("telegram") {
        reasons
            .push("Job posts may not ask AI trainers to contact you off the platform.".to_owned());
    }
    reasons
}

// ---------------------------------------------------------------------------------------------
// Shapes

pub fn draft_url(base: &str, id: &str) -> String {
    format!("{base}/job-post?jobId={id}")
}

pub fn job_url(base: &str, id: &str) -> String {
    format!("{base}/jobs/{id}")
}

fn slug(title: &str) -> String {
    let mut s = String::new();
    for c in title.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c);
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    s.trim_end_matches('-').chars().take(60).collect()
}

fn display_level(level: &str) -> Value {
    match level {
        "EXPERT" => json!("Expert"),
        "ENTRY_LEVEL" => json!("Entry level"),
        "INTERMEDIATE" => json!("Intermediate"),
        "ANY_EXPERIENCE_LEVEL" => json!("Any experience level"),
        _ => Value::Null,
    }
}

fn company(tx: &Tx, job: &Value) -> rusqlite::Result<String> {
    if let Some(c) = job["companyName"].as_str() {
        return Ok(c.to_owned());
    }
    let account = tx
        .get("accounts", job["account"].as_str().unwrap_or_default())?
        .unwrap_or(Value::Null);
    Ok(account["organizationName"]
        .as_str()
        .or(account["agentName"].as_str())
        .unwrap_or("A sandbox employer")
        .to_owned())
}

/// The public job object (search entries, `GET /jobs/{id}`).
pub fn public_shape(tx: &Tx, base: &str, job: &Value) -> rusqlite::Result<Value> {
    let f = &job["fields"];
    let id = job["id"].as_str().unwrap_or_default();
    let title = f["jobTitle"].as_str().unwrap_or("Untitled job");
    let description = f["jobDescription"].as_str().unwrap_or("");
    let slug = slug(title);
    let category = job["category"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{} Annotation", f["dataType"].as_str().unwrap_or("Data")));
    let published = job["publishedAt"]
        .as_i64()
        .unwrap_or(job["createdAt"].as_i64().unwrap_or(0));
    let payment = f["paymentType"].as_str().unwrap_or("PAY_PER_HOUR");
    Ok(json!({
        "id": id,
        "slug": slug,
        "title": title,
        "companyName": company(tx, job)?,
        "descriptionText": description,
        "descriptionHtml": format!("<p>{}</p>", crate::sandbox::pages::escape(description)),
        "seoTitle": null,
        "summary": null,
        "status": "OPEN",
        "datePosted": clock::iso(published),
        "validThrough": clock::iso(published + 56 * DAY),
        "updatedAt": clock::iso(job["updatedAt"].as_i64().unwrap_or(published)),
        "employmentTypes": ["CONTRACTOR"],
        "countries": f["countries"].as_array().cloned().unwrap_or_default(),
        "languages": f["languages"].as_array().cloned().unwrap_or_default(),
        "category": category,
        "dataType": f["dataType"],
        "labelTypes": f["labelTypes"].as_array().cloned().unwrap_or_default(),
        "labelingSoftware": f["labelingSoftware"],
        "experienceLevel": display_level(f["experienceLevel"].as_str().unwrap_or("")),
        "skills": f["labelTypes"].as_array().cloned().unwrap_or_default(),
        "pay": {
            "paymentType": payment,
            "currency": "USD",
            "hourlyRate": if payment == "PAY_PER_HOUR" { f["pricePerHour"].clone() } else { Value::Null },
            "hourlyMin": null,
            "hourlyMax": null,
            "fixedPrice": if payment == "FIXED_PRICE" { f["fixedPrice"].clone() } else { Value::Null },
            "perLabelRate": if payment == "PAY_PER_LABEL" { f["pricePerLabel"].clone() } else { Value::Null },
        },
        "url": format!("{base}/jobs/{slug}-{id}"),
        "applyUrl": job_url(base, id),
    }))
}

fn mine_shape(tx: &Tx, base: &str, job: &Value) -> rusqlite::Result<Value> {
    let id = job["id"].as_str().unwrap_or_default();
    let proposals = tx.list("proposals", "parent", id)?;
    let unreviewed = proposals
        .iter()
        .filter(|p| p["status"] == "UNREVIEWED")
        .count();
    let status = job["status"].as_str().unwrap_or("DRAFT");
    Ok(json!({
        "id": id,
        "title": job["fields"]["jobTitle"],
        "status": status,
        "published": status == "OPEN",
        "acceptingApplicants": status == "OPEN",
        "createdAt": clock::iso(job["createdAt"].as_i64().unwrap_or(0)),
        "updatedAt": clock::iso(job["updatedAt"].as_i64().unwrap_or(0)),
        "jobUrl": job_url(base, id),
        "proposalCounts": {"total": proposals.len(), "unreviewed": unreviewed},
    }))
}

/// The caller's own job, or 404 (another account's job is "not found" too).
pub fn own_job(tx: &Tx, ctx: &Ctx, id: &str) -> Result<Value, ApiErr> {
    tx.get("jobs", id)?
        .filter(|j| j["account"] == ctx.account_id.as_str())
        .ok_or_else(|| ApiErr::not_found("jobs", "jobId", id))
}

// ---------------------------------------------------------------------------------------------
// Handlers

fn create_draft(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let body: &[u8] = &r.body;
    ctx.need(&["jobs:write"])?;
    let b = json_object(body, false)?;
    let source = b.get("source").and_then(Value::as_object);
    let key_of = |k: &str| {
        b.get(k)
            .or_else(|| source.and_then(|s| s.get(k)))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let idempotency = key_of("idempotencyKey");
    if let Some(key) = &idempotency
        && let Some(existing) = tx
            .list("jobs", "account", &ctx.account_id)?
            .into_iter()
            .find(|j| j["idempotencyKey"].as_str() == Some(key))
    {
        return Ok((200, draft_answer(ctx, &existing, true)));
    }
    let (fields, unmapped) = import(&b)?;
    let id = tx.new_id("job")?;
    let job = json!({
        "id": id, "account": ctx.account_id, "status": "DRAFT", "fields": fields,
        "externalId": key_of("externalId"), "idempotencyKey": idempotency,
        "unmapped": unmapped, "createdAt": tx.now, "updatedAt": tx.now,
    });
    tx.put("jobs", &id, Some(&ctx.account_id), None, &job)?;
    Ok((201, draft_answer(ctx, &job, true)))
}

fn draft_answer(ctx: &Ctx, job: &Value, created: bool) -> Value {
    let id = job["id"].as_str().unwrap_or_default();
    let (validation, missing_fields) = validation(&job["fields"]);
    let mut answer = json!({
        "ok": true,
        "jobId": id,
        "status": job["status"],
        "draftUrl": draft_url(&ctx.base, id),
        "reviewUrl": draft_url(&ctx.base, id),
        "validation": validation,
        "missingFields": missing_fields,
    });
    if created {
        let mut normalized = job["fields"].clone();
        if let Some(map) = normalized.as_object_mut() {
            map.retain(|_, v| !v.is_null());
            map.remove("jobDescription");
        }
        answer["normalizedFields"] = normalized;
        answer["warnings"] = json!([]);
        answer["unmappedFields"] = job["unmapped"]
            .as_array()
            .cloned()
            .map(Value::Array)
            .unwrap_or(json!([]));
        answer["lowConfidenceFields"] = json!([]);
    }
    answer
}

fn update_draft(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let job_id = r.param().to_owned();
    let body: &[u8] = &r.body;
    ctx.need(&["jobs:write"])?;
    let mut job = own_job(tx, ctx, &job_id)?;
    if job["status"] != "DRAFT" {
        return Err(ApiErr::new(
            409,
            "Only unpublished drafts can be edited here; edit a live job with PATCH /jobs/{id}.",
        )
        .detail("jobId", job_id.as_str())
        .detail("status", job["status"].clone())
        .detail("requiredStatus", "DRAFT"));
    }
    let b = json_object(body, false)?;
    check_patch(&b)?;
    for (k, v) in b {
        job["fields"][k] = v;
    }
    job["updatedAt"] = json!(tx.now);
    tx.save("jobs", &job_id, &job)?;
    Ok((200, draft_answer(ctx, &job, false)))
}

fn publish(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let job_id = r.param().to_owned();
    ctx.need(&["jobs:write"])?;
    let mut job = own_job(tx, ctx, &job_id)?;
    let answer = |job: &Value, already: bool, attempt: Value| {
        json!({
            "ok": true, "jobId": job_id, "status": "OPEN", "alreadyPublished": already,
            "jobUrl": job_url(&ctx.base, &job_id), "publishAttemptId": attempt,
            "warnings": [], "sideEffects": {"dispatched": !already, "status": if already { "skipped" } else { "queued" }},
            "title": job["fields"]["jobTitle"],
        })
    };
    match job["status"].as_str() {
        Some("OPEN") => return Ok((200, answer(&job, true, Value::Null))),
        Some("DRAFT") => {}
        other => {
            return Err(
                ApiErr::new(409, "Only drafts can be published; this job is closed.")
                    .detail("jobId", job_id.as_str())
                    .detail("status", other.unwrap_or("?"))
                    .detail("requiredStatus", "DRAFT"),
            );
        }
    }
    let (validation, _) = validation(&job["fields"]);
    if validation["publishReady"] != true {
        return Err(ApiErr::new(400, "This draft is not ready to publish.")
            .detail("validation", validation));
    }
    let reasons = moderate(&job["fields"]);
    if !reasons.is_empty() {
        return Err(ApiErr::new(403, "Moderation blocked this job post.")
            .detail("reason", "moderation_blocked")
            .detail("reasons", reasons));
    }
    let mut account = ctx.account.clone();
    let window_start = tx.now - 24 * HOUR;
    let recent: Vec<i64> = account["publishes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_i64)
                .filter(|t| *t > window_start)
                .collect()
        })
        .unwrap_or_default();
    let limit = if ctx.claimed() { 20 } else { 3 };
    if recent.len() >= limit {
        return Err(ApiErr::new(
            429,
            format!(
                "Daily publish limit reached: {limit} jobs per 24 hours for {} accounts.",
                if ctx.claimed() {
                    "claimed"
                } else {
                    "unclaimed"
                }
            ),
        )
        .detail("limit", limit)
        .detail("windowHours", 24));
    }
    let mut publishes = recent;
    publishes.push(tx.now);
    account["publishes"] = json!(publishes);
    tx.save("accounts", &ctx.account_id, &account)?;
    job["status"] = json!("OPEN");
    job["publishedAt"] = json!(tx.now);
    job["updatedAt"] = json!(tx.now);
    tx.save("jobs", &job_id, &job)?;
    world::on_publish(tx, &ctx.account_id, &job)?;
    let attempt = tx.new_id("pub")?;
    let mut body = answer(&job, false, json!(attempt));
    if let Some(map) = body.as_object_mut() {
        map.remove("title");
    }
    Ok((200, body))
}

fn update_live(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let job_id = r.param().to_owned();
    let body: &[u8] = &r.body;
    ctx.need(&["jobs:write"])?;
    let mut job = own_job(tx, ctx, &job_id)?;
    let b = json_object(body, false)?;
    check_patch(&b)?;
    if job["status"] != "OPEN" {
        let message = if job["status"] == "DRAFT" {
            "This job is a draft: edit it with PATCH /job-drafts/{jobId}."
        } else {
            "Only OPEN jobs can be edited."
        };
        return Err(ApiErr::new(409, message)
            .detail("jobId", job_id.as_str())
            .detail("status", job["status"].clone())
            .detail("requiredStatus", "OPEN"));
    }
    for (k, v) in b {
        job["fields"][k] = v;
    }
    job["updatedAt"] = json!(tx.now);
    let reasons = moderate(&job["fields"]);
    if !reasons.is_empty() {
        job["status"] = json!("DRAFT");
        tx.save("jobs", &job_id, &job)?;
        return Err(ApiErr::new(
            409,
            "Moderation rejected the edit; the job was unpublished to DRAFT.",
        )
        .detail("jobId", job_id.as_str())
        .detail("reason", "moderation_blocked")
        .detail("reasons", reasons)
        .detail("status", "DRAFT"));
    }
    tx.save("jobs", &job_id, &job)?;
    Ok((
        200,
        json!({"ok": true, "jobId": job_id, "status": "OPEN", "moderation": {"decision": "ALLOW", "reasons": []}}),
    ))
}

fn close(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let job_id = r.param().to_owned();
    ctx.need(&["jobs:write"])?;
    let mut job = own_job(tx, ctx, &job_id)?;
    let already = job["status"] == "ARCHIVED";
    if !already {
        job["status"] = json!("ARCHIVED");
        job["closedAt"] = json!(tx.now);
        job["updatedAt"] = json!(tx.now);
        tx.save("jobs", &job_id, &job)?;
    }
    Ok((
        200,
        json!({"ok": true, "jobId": job_id, "status": "ARCHIVED", "alreadyClosed": already}),
    ))
}

fn mine(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let q = &r.query;
    ctx.need(&["jobs:read"])?;
    let status = q.get("status").map(|s| s.to_uppercase());
    if let Some(s) = &status
        && !MINE_STATUSES.contains(&s.as_str())
    {
        return Err(ApiErr::bad("status", format!("Unsupported status {s:?}."))
            .detail("supportedStatuses", MINE_STATUSES));
    }
    let limit = q.limit(25, 100)?;
    let jobs: Vec<Value> = tx
        .list("jobs", "account", &ctx.account_id)?
        .into_iter()
        .filter(|j| status.as_deref().is_none_or(|s| j["status"] == s))
        .collect();
    let (shown, next) = page(jobs, q.get("cursor"), limit, |j| {
        j["id"].as_str().unwrap_or_default().to_owned()
    })?;
    let items = shown
        .iter()
        .map(|j| mine_shape(tx, &ctx.base, j))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((200, json!({"jobs": items, "nextCursor": next})))
}

fn open_jobs(tx: &Tx) -> rusqlite::Result<Vec<Value>> {
    let mut jobs: Vec<Value> = tx
        .all("jobs")?
        .into_iter()
        .filter(|j| j["status"] == "OPEN")
        .collect();
    jobs.sort_by_key(|j| std::cmp::Reverse(j["publishedAt"].as_i64().unwrap_or(0)));
    Ok(jobs)
}

fn contains_ci(list: &Value, wanted: &str) -> bool {
    list.as_array().is_some_and(|a| {
        a.iter()
            .any(|v| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(wanted)))
    })
}

fn search(tx: &mut Tx, base: &str, r: &Req) -> Reply {
    let q = &r.query;
    if let Some(p) = q.get("payType")
        && !PAYMENT_TYPES.contains(&p)
    {
        return Err(ApiErr::bad(
            "payType",
            format!("payType must be one of {}.", PAYMENT_TYPES.join(", ")),
        ));
    }
    let limit = q.limit(20, 100)?;
    let mut jobs = Vec::new();
    for job in open_jobs(tx)? {
        let shape = public_shape(tx, base, &job)?;
        let haystack = format!("{} {}", shape["title"], shape["descriptionText"]).to_lowercase();
        let keep = q.get("q").is_none_or(|text| {
            text.to_lowercase()
                .split_whitespace()
                .all(|w| haystack.contains(w))
        }) && q
            .get("language")
            .is_none_or(|l| contains_ci(&shape["languages"], l))
            && q.get("country")
                .is_none_or(|c| contains_ci(&shape["countries"], c))
            && q.get("payType")
                .is_none_or(|p| shape["pay"]["paymentType"] == p)
            && q.get("category").is_none_or(|c| {
                shape["category"]
                    .as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case(c))
            });
        if keep {
            jobs.push(shape);
        }
    }
    let (shown, next) = page(jobs, q.get("cursor"), limit, |j| {
        j["id"].as_str().unwrap_or_default().to_owned()
    })?;
    Ok((
        200,
        json!({"jobs": shown, "nextCursor": next, "generatedAt": clock::iso(tx.now)}),
    ))
}

fn public_job(tx: &mut Tx, base: &str, r: &Req) -> Reply {
    let job_id = r.param().to_owned();
    if job_id.is_empty() || job_id.chars().count() > 64 {
        return Err(ApiErr::bad("id", "The job id must be 1 to 64 characters."));
    }
    match tx.get("jobs", &job_id)? {
        Some(job) if job["status"] == "OPEN" => Ok((200, public_shape(tx, base, &job)?)),
        Some(job) if job["status"] == "ARCHIVED" => Err(ApiErr {
            status: 404,
            body: json!({"id": job_id, "status": "closed"}),
        }),
        _ => Err(ApiErr::not_found("jobs", "jobId", &job_id)),
    }
}

fn facet(counts: std::collections::BTreeMap<String, u64>) -> Value {
    let mut list: Vec<(String, u64)> = counts.into_iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    json!(
        list.into_iter()
            .map(|(value, count)| json!({"value": value, "count": count}))
            .collect::<Vec<_>>()
    )
}

fn facets(tx: &mut Tx, base: &str, _r: &Req) -> Reply {
    let mut categories = std::collections::BTreeMap::new();
    let mut languages = std::collections::BTreeMap::new();
    let mut countries = std::collections::BTreeMap::new();
    let mut pay = std::collections::BTreeMap::new();
    let jobs = open_jobs(tx)?;
    for job in &jobs {
        let shape = public_shape(tx, base, job)?;
        *categories
            .entry(shape["category"].as_str().unwrap_or("Other").to_owned())
            .or_insert(0) += 1;
        for l in super::strings(&shape["languages"]) {
            *languages.entry(l).or_insert(0) += 1;
        }
        for c in super::strings(&shape["countries"]) {
            *countries.entry(c).or_insert(0) += 1;
        }
        *pay.entry(
            shape["pay"]["paymentType"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
        )
        .or_insert(0) += 1;
    }
    Ok((
        200,
        json!({
            "totalJobs": jobs.len(),
            "categories": facet(categories),
            "languages": facet(languages),
            "countries": facet(countries),
            "payTypes": facet(pay),
            "generatedAt": clock::iso(tx.now),
        }),
    ))
}

fn changes(tx: &mut Tx, _base: &str, r: &Req) -> Reply {
    let q = &r.query;
    let since = q
        .get("since")
        .and_then(clock::parse)
        .ok_or_else(|| ApiErr::bad("since", "since is required: an ISO 8601 timestamp."))?;
    let mut changes = Vec::new();
    for job in tx.all("jobs")? {
        let (kind, at) = match job["status"].as_str() {
            Some("ARCHIVED") if job["publishedAt"].is_i64() => ("CLOSED", job["closedAt"].as_i64()),
            Some("OPEN") => {
                let published = job["publishedAt"].as_i64().unwrap_or(0);
                let updated = job["updatedAt"].as_i64().unwrap_or(0);
                if updated > published && published < since {
                    ("UPDATED", Some(updated))
                } else {
                    ("PUBLISHED", Some(published))
                }
            }
            _ => continue,
        };
        if let Some(at) = at.filter(|at| *at >= since) {
            changes.push((
                at,
                json!({"jobId": job["id"], "eventType": kind, "occurredAt": clock::iso(at)}),
            ));
        }
    }
    changes.sort_by_key(|(at, _)| *at);
    changes.truncate(5000);
    Ok((
        200,
        json!({
            "since": clock::iso(since),
            "until": clock::iso(tx.now),
            "changes": changes.into_iter().map(|(_, c)| c).collect::<Vec<_>>(),
            "generatedAt": clock::iso(tx.now),
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_docs_example() {
        let f = read_text(
            "We need 5 fluent Spanish speakers to label sentiment in ~20,000 social media posts. \
             Pay per label. Annotators should have prior text-classification experience.",
        );
        assert_eq!(f["headcount"], 5);
        assert_eq!(f["dataVolume"], 20000);
        assert_eq!(f["dataVolumeUnit"], "NUMBER_OF_FILES");
        assert_eq!(f["paymentType"], "PAY_PER_LABEL");
        assert_eq!(f["languages"], json!(["Spanish"]));
        assert_eq!(
            f["jobTitle"],
            "Spanish Sentiment Labeling — Social Media Posts"
        );
        let (v, rich) = validation(&Value::Object(f));
        assert_eq!(
            v["missingFields"],
            json!(["experienceLevel", "pricePerLabel"])
        );
        assert!(rich[0]["prompt"].as_str().unwrap().starts_with("ask: "));
    }

    #[test]
    fn reads_the_guide_example() {
        let f = read_text(
            "We need 10 experienced annotators for bounding boxes on 50,000 dashcam images. Pay \
             is $18/hour. English required. Work runs about six weeks.",
        );
        assert_eq!(f["headcount"], 10);
        assert_eq!(f["pricePerHour"], 18.0);
        assert_eq!(f["paymentType"], "PAY_PER_HOUR");
        assert_eq!(f["dataVolume"], 50000);
        assert!(f.get("experienceLevel").is_none());
    }
}
