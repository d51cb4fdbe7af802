//! The 7 jobs tools: exactly what each sends, what each summary tells the agent, and what is
//! refused before anything is sent.

mod common;

use common::*;
use serde_json::{Value, json};

const JOB: &str = "job_123";
const DESCRIPTION: &str = "We need 5 fluent Spanish speakers to label sentiment in ~20,000 social media posts. Pay per label. Annotators should have prior text-classification experience.";

fn post(path: &'static str, body: Value) -> Sent<'static> {
    Sent {
        method: "POST",
        path,
        query: None,
        bearer: Some(PAT),
        body: SentBody::Json(body),
    }
}

fn with(mut body: Value, changes: &[(&str, Value)]) -> Value {
    for (pointer, value) in changes {
        *body.pointer_mut(pointer).expect("pointer exists") = value.clone();
    }
    body
}

#[tokio::test]
async fn create_job_draft_sends_each_input_shape() {
    let job_posting = json!({
        "@context": "https://schema.org",
        "@type": "JobPosting",
        "title": "Bounding boxes on dashcam images",
        "description": "Draw boxes around vehicles in 50,000 images."
    });
    let canonical = json!({
        "title": "Bounding boxes on dashcam images",
        "description": "Draw boxes around vehicles in 50,000 images.",
        "paymentType": "PAY_PER_HOUR",
        "rateAmount": 18,
        "languages": ["English"],
        "experienceLevel": "INTERMEDIATE"
    });
    let reference_summary: &[&str] = &[
        "Draft job <JOB_ID> created (status DRAFT). publishReady: false — 2 required field(s) missing.",
        "Draft in the app, for your human to review and edit: https://app.opentrain.ai/job-post?jobId=<JOB_ID>\n",
        "Experience level: ask: What experience level should AI trainers have? (EXPERT, ENTRY_LEVEL, INTERMEDIATE, ANY_EXPERIENCE_LEVEL)",
        "type enum; one of EXPERT, ENTRY_LEVEL, INTERMEDIATE, ANY_EXPERIENCE_LEVEL; patch key experienceLevel, e.g. {\"experienceLevel\":\"INTERMEDIATE\"}. Hint: Pick the minimum level the work realistically needs.",
        "Price per label: ask: How much will you pay per label (USD)?",
        "type number; patch key pricePerLabel, e.g. {\"pricePerLabel\":0.05}.",
        "paymentType PAY_PER_LABEL; languages Spanish; headcount 5; dataVolume 20000",
        "never ask them for JSON",
        "Next: call opentrain_update_job_draft_fields with jobId \"<JOB_ID>\"",
    ];
    check_cases(vec![
        // Plain text, no title: the description as is, the key at the top level.
        Case {
            tool: "opentrain_create_job_draft",
            args: json!({"jobDescription": DESCRIPTION, "idempotencyKey": "sentiment-es-2026-001"}),
            sent: post(
                "/api/public/v1/job-drafts",
                json!({"rawJobDescription": DESCRIPTION, "idempotencyKey": "sentiment-es-2026-001"}),
            ),
            status: 201,
            reply: fixture("job_drafts_create"),
            summary: reference_summary,
        },
        // Plain text with a title: title, blank line, description; both ids top level. The
        // guide's answer: names only in validation, one rich entry, no `ask:` prefix.
        Case {
            tool: "opentrain_create_job_draft",
            args: json!({
                "jobDescription": "We need 10 experienced annotators for bounding boxes.",
                "title": "Dashcam bounding boxes",
                "externalId": "acme-batch-7",
                "idempotencyKey": "acme-batch-7-v1"
            }),
            sent: post(
                "/api/public/v1/job-drafts",
                json!({
                    "rawJobDescription": "Dashcam bounding boxes\n\nWe need 10 experienced annotators for bounding boxes.",
                    "externalId": "acme-batch-7",
                    "idempotencyKey": "acme-batch-7-v1"
                }),
            ),
            status: 200,
            reply: fixture("job_drafts_create_guide"),
            summary: &[
                "Draft job <JOB_ID> created (status DRAFT). publishReady: false — 2 required field(s) missing.",
                "for your human to review and edit: https://app.opentrain.ai/job-post?job=<JOB_ID>\n",
                "Experience level: ask: What experience level should…(truncated in the stored excerpt)",
                "patch key experienceLevel",
                "dataVolumeUnit: ask your human for it",
                "Patch key: dataVolumeUnit.",
                "opentrain_update_job_draft_fields with jobId \"<JOB_ID>\"",
            ],
        },
        // A canonical job object.
        Case {
            tool: "opentrain_create_job_draft",
            args: json!({"canonicalJob": canonical, "externalId": "acme-batch-8"}),
            sent: post(
                "/api/public/v1/job-drafts",
                json!({"format": "opentrain_canonical", "job": canonical, "externalId": "acme-batch-8"}),
            ),
            status: 201,
            reply: fixture("job_drafts_create"),
            summary: &["Draft job <JOB_ID> created"],
        },
        // schema.org JSON-LD.
        Case {
            tool: "opentrain_create_job_draft",
            args: json!({"importPayload": job_posting, "idempotencyKey": "jp-1"}),
            sent: post(
                "/api/public/v1/job-drafts",
                json!({"format": "schema_org_job_posting", "jsonLd": job_posting, "idempotencyKey": "jp-1"}),
            ),
            status: 201,
            reply: fixture("job_drafts_create"),
            summary: &["Draft job <JOB_ID> created"],
        },
        // The posting guide's `source` object goes as is (job-drafts.md, Shape B).
        Case {
            tool: "opentrain_create_job_draft",
            args: json!({"importPayload": {"source": {
                "type": "text",
                "externalId": "acme-batch-7",
                "idempotencyKey": "acme-batch-7-v1",
                "text": "We need 10 experienced annotators for bounding boxes on 50,000 dashcam images."
            }}}),
            sent: post(
                "/api/public/v1/job-drafts",
                json!({"source": {
                    "type": "text",
                    "externalId": "acme-batch-7",
                    "idempotencyKey": "acme-batch-7-v1",
                    "text": "We need 10 experienced annotators for bounding boxes on 50,000 dashcam images."
                }}),
            ),
            status: 201,
            reply: fixture("job_drafts_create_guide"),
            summary: &["Draft job <JOB_ID> created"],
        },
        // A bare source object is sent under `source`.
        Case {
            tool: "opentrain_create_job_draft",
            args: json!({"importPayload": {"type": "text", "text": "Label 5k posts."}, "externalId": "x-1"}),
            sent: post(
                "/api/public/v1/job-drafts",
                json!({"source": {"type": "text", "text": "Label 5k posts."}, "externalId": "x-1"}),
            ),
            status: 201,
            reply: fixture("job_drafts_create"),
            summary: &["Draft job <JOB_ID> created"],
        },
        // JSON-LD as an @graph is schema.org JSON-LD too.
        Case {
            tool: "opentrain_create_job_draft",
            args: json!({"importPayload": {"@context": "https://schema.org", "@graph": [
                {"@type": "Organization", "name": "Acme"},
                {"@type": "JobPosting", "title": "Boxes"}
            ]}}),
            sent: post(
                "/api/public/v1/job-drafts",
                json!({"format": "schema_org_job_posting", "jsonLd": {"@context": "https://schema.org", "@graph": [
                    {"@type": "Organization", "name": "Acme"},
                    {"@type": "JobPosting", "title": "Boxes"}
                ]}}),
            ),
            status: 201,
            reply: fixture("job_drafts_create"),
            summary: &["Draft job <JOB_ID> created"],
        },
        // A title with another input is not sent, and the result names it; an empty canonical
        // job is the API's to judge.
        Case {
            tool: "opentrain_create_job_draft",
            args: json!({"canonicalJob": {}, "title": "T", "idempotencyKey": ""}),
            sent: post(
                "/api/public/v1/job-drafts",
                json!({"format": "opentrain_canonical", "job": {}}),
            ),
            status: 201,
            reply: fixture("job_drafts_create"),
            summary: &["Ignored and not sent: title (it is prepended to jobDescription only; put \
                        the title inside canonicalJob instead)."],
        },
        // A payload that already names its format goes as is, with the ids added.
        Case {
            tool: "opentrain_create_job_draft",
            args: json!({
                "importPayload": {"format": "indeed_xml", "xml": "<job><title>Boxes</title></job>"},
                "externalId": "feed-42",
                "idempotencyKey": "feed-42-v1"
            }),
            sent: post(
                "/api/public/v1/job-drafts",
                json!({
                    "format": "indeed_xml",
                    "xml": "<job><title>Boxes</title></job>",
                    "externalId": "feed-42",
                    "idempotencyKey": "feed-42-v1"
                }),
            ),
            status: 201,
            reply: fixture("job_drafts_create"),
            summary: &["Draft job <JOB_ID> created"],
        },
    ])
    .await;
}

#[tokio::test]
async fn update_job_draft_fields_patches_and_reports_what_is_left() {
    let patch = json!({"experienceLevel": "INTERMEDIATE", "paymentType": "PAY_PER_LABEL", "pricePerLabel": 0.06});
    let not_ready = with(
        fixture("job_drafts_update"),
        &[
            ("/validation/publishReady", json!(false)),
            ("/validation/missingFieldCount", json!(1)),
            ("/validation/missingFields", json!(["dataVolumeUnit"])),
        ],
    );
    let no_names = with(
        fixture("job_drafts_update"),
        &[
            ("/validation/publishReady", json!(false)),
            ("/validation/missingFieldCount", json!(2)),
        ],
    );
    check_cases(vec![
        Case {
            tool: "opentrain_update_job_draft_fields",
            args: json!({"jobId": JOB, "patch": patch}),
            sent: Sent {
                method: "PATCH",
                path: "/api/public/v1/job-drafts/job_123",
                query: None,
                bearer: Some(PAT),
                body: SentBody::Json(patch.clone()),
            },
            status: 200,
            reply: fixture("job_drafts_update"),
            summary: &[
                "Draft job <JOB_ID> updated (status DRAFT). publishReady: true.",
                "for your human to review and edit: https://app.opentrain.ai/job-post?jobId=<JOB_ID>\n",
                "Next: once your human has reviewed it, call opentrain_publish_job with jobId \"<JOB_ID>\"",
            ],
        },
        // Only names in the answer: each is still asked for, under its key.
        Case {
            tool: "opentrain_update_job_draft_fields",
            args: json!({"jobId": "a/b?c", "patch": {"headcount": 5}}),
            sent: Sent {
                method: "PATCH",
                path: "/api/public/v1/job-drafts/a%2Fb%3Fc",
                query: None,
                bearer: Some(PAT),
                body: SentBody::Json(json!({"headcount": 5})),
            },
            status: 200,
            reply: not_ready,
            summary: &[
                "publishReady: false — 1 required field(s) missing.",
                "dataVolumeUnit: ask your human for it",
                "opentrain_capabilities lists enum values",
                "Patch key: dataVolumeUnit.",
                "Next: call opentrain_update_job_draft_fields with jobId \"<JOB_ID>\"",
            ],
        },
        // A count without names (the reference example's inconsistency).
        Case {
            tool: "opentrain_update_job_draft_fields",
            args: json!({"jobId": JOB, "patch": {"headcount": 5}}),
            sent: Sent {
                method: "PATCH",
                path: "/api/public/v1/job-drafts/job_123",
                query: None,
                bearer: Some(PAT),
                body: SentBody::Json(json!({"headcount": 5})),
            },
            status: 200,
            reply: no_names,
            summary: &[
                "publishReady: false — 2 required field(s) missing.",
                "The API counts 2 missing field(s) but names 0; review the draft in the app",
            ],
        },
    ])
    .await;
}

#[tokio::test]
async fn publish_update_and_close() {
    let patch = json!({"headcount": 8, "pricePerHour": 14});
    let again = with(
        fixture("jobs_publish"),
        &[
            ("/alreadyPublished", json!(true)),
            ("/warnings", json!(["Pay is below the marketplace median."])),
        ],
    );
    let flagged = with(
        fixture("jobs_update"),
        &[
            ("/status", json!("DRAFT")),
            ("/moderation/decision", json!("BLOCK")),
            (
                "/moderation/reasons",
                json!(["Off-platform contact details"]),
            ),
        ],
    );
    let closed_before = with(fixture("jobs_close"), &[("/alreadyClosed", json!(true))]);
    check_cases(vec![
        Case {
            tool: "opentrain_publish_job",
            args: json!({"jobId": JOB}),
            sent: Sent {
                method: "POST",
                path: "/api/public/v1/jobs/job_123/publish",
                query: None,
                bearer: Some(PAT),
                body: SentBody::None,
            },
            status: 200,
            reply: fixture("jobs_publish"),
            summary: &[
                "Published: job <JOB_ID> is live (status OPEN) at https://app.opentrain.ai/jobs/<JOB_ID> — share this link with your human.",
                "Publish attempt <ATTEMPT_ID>",
                "opentrain_list_proposals (jobId \"<JOB_ID>\")",
            ],
        },
        // A hostile id stays one path segment.
        Case {
            tool: "opentrain_publish_job",
            args: json!({"jobId": "../tokens"}),
            sent: Sent {
                method: "POST",
                path: "/api/public/v1/jobs/..%2Ftokens/publish",
                query: None,
                bearer: Some(PAT),
                body: SentBody::None,
            },
            status: 200,
            reply: again.clone(),
            summary: &[
                "Job <JOB_ID> was already published (nothing changed; status OPEN). It is live at https://app.opentrain.ai/jobs/<JOB_ID>",
                "Warnings: Pay is below the marketplace median.",
            ],
        },
        Case {
            tool: "opentrain_update_published_job",
            args: json!({"jobId": JOB, "patch": patch}),
            sent: Sent {
                method: "PATCH",
                path: "/api/public/v1/jobs/job_123",
                query: None,
                bearer: Some(PAT),
                body: SentBody::Json(patch.clone()),
            },
            status: 200,
            reply: fixture("jobs_update"),
            summary: &[
                "Job <JOB_ID> updated (status OPEN); moderation decision: ALLOW.",
                "The listing stays live",
            ],
        },
        Case {
            tool: "opentrain_update_published_job",
            args: json!({"jobId": JOB, "patch": {"jobDescription": "Call me at 555-0100."}}),
            sent: Sent {
                method: "PATCH",
                path: "/api/public/v1/jobs/job_123",
                query: None,
                bearer: Some(PAT),
                body: SentBody::Json(json!({"jobDescription": "Call me at 555-0100."})),
            },
            status: 200,
            reply: flagged,
            summary: &[
                "Job <JOB_ID> updated (status DRAFT); moderation decision: BLOCK — reasons: Off-platform contact details.",
                "no longer live",
                "opentrain_update_job_draft_fields (jobId \"<JOB_ID>\"), then opentrain_publish_job",
            ],
        },
        Case {
            tool: "opentrain_close_job",
            args: json!({"jobId": JOB}),
            sent: Sent {
                method: "POST",
                path: "/api/public/v1/jobs/job_123/close",
                query: None,
                bearer: Some(PAT),
                body: SentBody::None,
            },
            status: 200,
            reply: fixture("jobs_close"),
            summary: &[
                "Closed job <JOB_ID> (status ARCHIVED)",
                "no longer takes proposals",
                "Existing contracts continue.",
            ],
        },
        Case {
            tool: "opentrain_close_job",
            args: json!({"jobId": "x#y"}),
            sent: Sent {
                method: "POST",
                path: "/api/public/v1/jobs/x%23y/close",
                query: None,
                bearer: Some(PAT),
                body: SentBody::None,
            },
            status: 200,
            reply: closed_before,
            summary: &["Job <JOB_ID> was already closed (status ARCHIVED); nothing changed."],
        },
    ])
    .await;
}

#[tokio::test]
async fn list_and_search_jobs() {
    let more = with(fixture("jobs_mine"), &[("/nextCursor", json!("c2"))]);
    const MINE_LINE: &str = "- \"Spanish Sentiment Labeling — Social Media Posts\" (id <JOB_ID>) — OPEN, 12 proposals (5 unreviewed) — https://app.opentrain.ai/jobs/<JOB_ID>";
    const SEARCH_LINE: &str = "- \"Spanish Audio Annotation\" — Acme AI — $12/hour — languages Spanish; countries any — https://app.opentrain.ai/jobs/spanish-audio-annotation-<JOB_ID>";
    let get =
        |path: &'static str, query: Option<&'static str>, bearer: Option<&'static str>| Sent {
            method: "GET",
            path,
            query,
            bearer,
            body: SentBody::None,
        };
    check_cases(vec![
        Case {
            tool: "opentrain_list_jobs",
            args: json!({"limit": 25, "cursor": "c1", "status": "OPEN"}),
            sent: get(
                "/api/public/v1/jobs/mine",
                Some("status=OPEN&cursor=c1&limit=25"),
                Some(PAT),
            ),
            status: 200,
            reply: fixture("jobs_mine"),
            summary: &["1 job:", MINE_LINE, "This is the last page."],
        },
        Case {
            tool: "opentrain_list_jobs",
            args: json!({"status": "PENDING_APPROVAL"}),
            sent: get(
                "/api/public/v1/jobs/mine",
                Some("status=PENDING_APPROVAL"),
                Some(PAT),
            ),
            status: 200,
            reply: more,
            summary: &[MINE_LINE, "More results: call again with cursor \"c2\"."],
        },
        Case {
            tool: "opentrain_list_jobs",
            args: json!({}),
            sent: get("/api/public/v1/jobs/mine", None, Some(PAT)),
            status: 200,
            reply: json!({"jobs": [], "nextCursor": null}),
            summary: &["No jobs.\nThis is the last page."],
        },
        // Tokenless even though a token is configured.
        Case {
            tool: "opentrain_search_jobs",
            args: json!({
                "cursor": "c1", "limit": 10, "payType": "PAY_PER_HOUR", "country": "US",
                "language": "Spanish", "category": "Audio Annotation", "q": "audio annotation"
            }),
            sent: get(
                "/api/public/v1/jobs",
                Some(
                    "q=audio%20annotation&category=Audio%20Annotation&language=Spanish&country=US&payType=PAY_PER_HOUR&limit=10&cursor=c1",
                ),
                None,
            ),
            status: 200,
            reply: fixture("jobs_search"),
            summary: &["1 public job:", SEARCH_LINE, "This is the last page."],
        },
        Case {
            tool: "opentrain_search_jobs",
            args: json!({"payType": "PAY_PER_LABEL", "q": ""}),
            sent: get("/api/public/v1/jobs", Some("payType=PAY_PER_LABEL"), None),
            status: 200,
            reply: fixture("jobs_search"),
            summary: &[SEARCH_LINE],
        },
        Case {
            tool: "opentrain_search_jobs",
            args: json!({}),
            sent: get("/api/public/v1/jobs", None, None),
            status: 200,
            reply: fixture("jobs_search"),
            summary: &[SEARCH_LINE],
        },
    ])
    .await;
}

#[tokio::test]
async fn search_jobs_works_without_any_token() {
    let h = Harness::with(Setup {
        env_token: None,
        ..Setup::default()
    })
    .await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(fixture("jobs_search")))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_search_jobs", json!({"q": "audio"})).await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_sent(
        &h.only_request().await,
        &Sent {
            method: "GET",
            path: "/api/public/v1/jobs",
            query: Some("q=audio"),
            bearer: None,
            body: SentBody::None,
        },
    );
    // The token-needing tools still refuse.
    let r = h.call("opentrain_list_jobs", json!({})).await;
    assert!(is_error(&r));
    assert!(
        text(&r).contains("opentrain_register_agent"),
        "{}",
        text(&r)
    );
    assert_eq!(h.requests().await.len(), 1);
}

#[tokio::test]
async fn a_full_page_stays_short() {
    let h = Harness::new().await;
    let job = fixture("jobs_mine")["jobs"][0].clone();
    let page = json!({"jobs": vec![job; 100], "nextCursor": "c9"});
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(page.clone()))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_list_jobs", json!({"limit": 100})).await;
    let t = text(&r);
    assert!(t.starts_with("100 jobs:"), "{t}");
    assert_eq!(t.lines().filter(|l| l.starts_with("- ")).count(), 20, "{t}");
    assert!(t.contains("… and 80 more"), "{t}");
    assert!(t.ends_with("call again with cursor \"c9\"."), "{t}");
    assert_eq!(structured(&r), &page);
}

#[tokio::test]
async fn bad_arguments_are_refused_locally() {
    let draft_inputs =
        "exactly one of jobDescription (plain text, the usual way), canonicalJob or importPayload";
    check_refused(vec![
        // create_job_draft: the input rule.
        Refused {
            tool: "opentrain_create_job_draft",
            args: json!({"externalId": "x"}),
            says: draft_inputs,
        },
        Refused {
            tool: "opentrain_create_job_draft",
            args: json!({}),
            says: "(got none)",
        },
        Refused {
            tool: "opentrain_create_job_draft",
            args: json!({"jobDescription": "x", "canonicalJob": {"title": "t"}}),
            says: "(got jobDescription and canonicalJob)",
        },
        Refused {
            tool: "opentrain_create_job_draft",
            args: json!({"canonicalJob": {"title": "t"}, "importPayload": {"@type": "JobPosting"}}),
            says: "(got canonicalJob and importPayload)",
        },
        Refused {
            tool: "opentrain_create_job_draft",
            args: json!({"importPayload": {"@type": "Organization", "name": "Acme"}}),
            says: "importPayload must be schema.org JSON-LD (\"@type\": \"JobPosting\", or an \"@graph\"), a source object",
        },
        Refused {
            tool: "opentrain_create_job_draft",
            args: json!({"importPayload": {"format": "hr_xml", "xml": "<x/>", "idempotencyKey": "a"}, "idempotencyKey": "b"}),
            says: "idempotencyKey is given both as a parameter",
        },
        Refused {
            tool: "opentrain_create_job_draft",
            args: json!({"importPayload": "<job/>"}),
            says: "importPayload: invalid type: string \"<job/>\", expected a map",
        },
        Refused {
            tool: "opentrain_create_job_draft",
            args: json!({"jobDescription": "   "}),
            says: "jobDescription: must not be empty",
        },
        Refused {
            tool: "opentrain_create_job_draft",
            args: json!({"jobDescription": "x".repeat(60_001)}),
            says: "jobDescription: must be 1 to 60000 characters (got 60001)",
        },
        // Ids and patches.
        Refused {
            tool: "opentrain_update_job_draft_fields",
            args: json!({"jobId": JOB, "patch": {}}),
            says: "patch: must name at least one field",
        },
        Refused {
            tool: "opentrain_update_job_draft_fields",
            args: json!({"jobId": "", "patch": {"headcount": 5}}),
            says: "jobId: must not be empty",
        },
        Refused {
            tool: "opentrain_update_job_draft_fields",
            args: json!({"jobId": JOB}),
            says: "missing field `patch`",
        },
        Refused {
            tool: "opentrain_update_published_job",
            args: json!({"jobId": JOB, "patch": {}}),
            says: "patch: must name at least one field",
        },
        Refused {
            tool: "opentrain_update_published_job",
            args: json!({"jobId": "..", "patch": {"headcount": 5}}),
            says: "jobId: \"..\" is not an id",
        },
        Refused {
            tool: "opentrain_publish_job",
            args: json!({"jobId": "  "}),
            says: "jobId: must not be empty",
        },
        Refused {
            tool: "opentrain_publish_job",
            args: json!({}),
            says: "missing field `jobId`",
        },
        Refused {
            tool: "opentrain_close_job",
            args: json!({"jobId": ".."}),
            says: "jobId: \"..\" is not an id",
        },
        Refused {
            tool: "opentrain_close_job",
            args: json!({"jobId": 123}),
            says: "jobId: invalid type",
        },
        // Enums and ranges.
        Refused {
            tool: "opentrain_list_jobs",
            args: json!({"status": "open"}),
            says: "status: unknown variant `open`, expected one of `DRAFT`, `OPEN`, `ONGOING`, `COMPLETED`, `ARCHIVED`, `PENDING_APPROVAL`",
        },
        Refused {
            tool: "opentrain_list_jobs",
            args: json!({"limit": 0}),
            says: "limit: must be a whole number from 1 to 100 (got 0)",
        },
        Refused {
            tool: "opentrain_list_jobs",
            args: json!({"limit": 101}),
            says: "limit: must be a whole number from 1 to 100 (got 101)",
        },
        Refused {
            tool: "opentrain_search_jobs",
            args: json!({"limit": 51}),
            says: "limit: must be a whole number from 1 to 50 (got 51)",
        },
        Refused {
            tool: "opentrain_search_jobs",
            args: json!({"limit": 0}),
            says: "limit: must be a whole number from 1 to 50 (got 0)",
        },
        Refused {
            tool: "opentrain_search_jobs",
            args: json!({"payType": "HOURLY"}),
            says: "payType: unknown variant `HOURLY`, expected one of `PAY_PER_HOUR`, `FIXED_PRICE`, `PAY_PER_LABEL`",
        },
    ])
    .await;

    // Arguments the tool does not take are ignored, named and never sent (clients add
    // their own, e.g. Gemini CLI's wait_for_previous).
    check_ignored(vec![
        Ignored {
            tool: "opentrain_create_job_draft",
            args: json!({"jobDescription": "x", "rawJobDescription": "y"}),
            key: "rawJobDescription",
        },
        Ignored {
            tool: "opentrain_publish_job",
            args: json!({"jobId": JOB, "force": true}),
            key: "force",
        },
        Ignored {
            tool: "opentrain_list_jobs",
            args: json!({"page": 2}),
            key: "page",
        },
        Ignored {
            tool: "opentrain_search_jobs",
            args: json!({"query": "audio"}),
            key: "query",
        },
    ])
    .await;
}

#[tokio::test]
async fn refusals_say_nothing_was_sent() {
    let h = Harness::new().await;
    let r = h
        .call("opentrain_create_job_draft", json!({"idempotencyKey": "k"}))
        .await;
    assert!(is_error(&r));
    assert_eq!(
        text(&r),
        "Invalid arguments for opentrain_create_job_draft: give exactly one of jobDescription \
         (plain text, the usual way), canonicalJob or importPayload (got none). Nothing was \
         sent; fix the arguments (see the tool's input schema) and call it again."
    );
    assert!(r.structured_content.is_none());
    assert!(h.requests().await.is_empty());
}

async fn answer(h: &Harness, status: u16, body: Value) {
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(status).set_body_json(body))
        .mount(&h.api)
        .await;
}

#[tokio::test]
async fn moderation_blocking_a_live_edit_explains_the_unpublish() {
    let h = Harness::new().await;
    answer(&h, 409, fixture("jobs_update_moderation_blocked")).await;
    let r = h
        .call(
            "opentrain_update_published_job",
            json!({"jobId": JOB, "patch": {"jobDescription": "Email me directly."}}),
        )
        .await;
    assert!(is_error(&r));
    let t = text(&r);
    for needle in [
        "HTTP 409 CONFLICT",
        "moderation blocked the listing, so the job was unpublished back to DRAFT",
        "Reason: moderation_blocked.",
        "Description asks candidates to contact you off the platform.",
        "moderation rejected it and the job was unpublished back to DRAFT",
        "opentrain_update_job_draft_fields, then opentrain_publish_job again",
        "9d1f3a8e-0000-4000-8000-000000000409",
    ] {
        assert!(t.contains(needle), "lacks {needle:?}:\n{t}");
    }
    assert_eq!(
        structured(&r),
        &json!({"status": 409, "error": fixture("jobs_update_moderation_blocked")})
    );
    assert_sent(
        &h.only_request().await,
        &Sent {
            method: "PATCH",
            path: "/api/public/v1/jobs/job_123",
            query: None,
            bearer: Some(PAT),
            body: SentBody::Json(json!({"jobDescription": "Email me directly."})),
        },
    );
}

#[tokio::test]
async fn publishing_a_draft_that_is_not_ready_says_what_to_fill_in() {
    let h = Harness::new().await;
    answer(&h, 400, fixture("jobs_publish_not_ready")).await;
    let r = h.call("opentrain_publish_job", json!({"jobId": JOB})).await;
    assert!(is_error(&r));
    let t = text(&r);
    for needle in [
        "HTTP 400 BAD_REQUEST — This draft is not ready to publish.",
        "The draft is not publish-ready.",
        "- experienceLevel: ask your human for it",
        "- dataVolumeUnit: ask your human for it",
        "Next: call opentrain_update_job_draft_fields with jobId \"job_123\"",
    ] {
        assert!(t.contains(needle), "lacks {needle:?}:\n{t}");
    }
    assert_eq!(
        structured(&r),
        &json!({"status": 400, "error": fixture("jobs_publish_not_ready")})
    );

    // A 400 without a validation block gets only the shared error text.
    let h = Harness::new().await;
    answer(
        &h,
        400,
        json!({"error": "Bad id", "code": "BAD_REQUEST", "requestId": "r1"}),
    )
    .await;
    let r = h.call("opentrain_publish_job", json!({"jobId": JOB})).await;
    assert!(is_error(&r));
    assert!(!text(&r).contains("publish-ready"), "{}", text(&r));

    // The daily limit is the shared 429 handling.
    let h = Harness::new().await;
    answer(
        &h,
        429,
        json!({"error": "Daily publish limit reached", "code": "RATE_LIMITED", "requestId": "r2",
               "details": {"limit": 3, "windowHours": 24}}),
    )
    .await;
    let r = h.call("opentrain_publish_job", json!({"jobId": JOB})).await;
    assert!(is_error(&r));
    let t = text(&r);
    for needle in [
        "HTTP 429 RATE_LIMITED",
        "\"windowHours\":24",
        "What to do: The daily publish limit is reached (limit 3 per 24 h): 3 publishes a day for \
         an unclaimed agent account, 20 once a human claims it.",
        "Claiming the account raises the limit to 20 a day",
        "opentrain_claim_account",
        "counted over a 24 h window",
    ] {
        assert!(t.contains(needle), "lacks {needle:?}:\n{t}");
    }
    assert!(!t.contains("a minute"), "{t}");
}

/// Any 429 advice follows Retry-After, else the window the answer gives.
#[tokio::test]
async fn publish_limit_advice_follows_retry_after_and_the_claimed_limit() {
    let h = Harness::new().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(
            wiremock::ResponseTemplate::new(429)
                .insert_header("Retry-After", "3600")
                .set_body_json(
                    json!({"error": "Daily publish limit reached", "code": "RATE_LIMITED",
                    "details": {"limit": 20, "windowHours": 24}}),
                ),
        )
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_publish_job", json!({"jobId": JOB})).await;
    let t = text(&r);
    for needle in [
        "(limit 20 per 24 h)",
        "That is the limit of a claimed account, so only waiting helps.",
        "wait 3600 s (Retry-After",
    ] {
        assert!(t.contains(needle), "lacks {needle:?}:\n{t}");
    }
    assert_eq!(structured(&r)["retry_after_seconds"], 3600);

    // No limit in the answer at all: the documented limits, and a plain back-off.
    let (t, _) = check_failure(
        "opentrain_publish_job",
        json!({"jobId": JOB}),
        429,
        &json!({"error": {"code": "RATE_LIMITED", "message": "Too many publishes"}}),
    )
    .await;
    for needle in [
        "HTTP 429 RATE_LIMITED — Too many publishes",
        "If this agent account is not claimed yet, claiming it raises the limit to 20 a day",
        "the answer gave no Retry-After and no window",
    ] {
        assert!(t.contains(needle), "lacks {needle:?}:\n{t}");
    }
}
