//! The seeded world: AI trainers with profiles, a few public jobs from other employers, and what
//! happens on its own — trainers apply to a published job (a proposal with a cover letter, a bid,
//! an AI-interview transcript and scores), and answer messages with short scripted replies.
//!
//! Everything is a pure function of the world's seed and the order of calls, so the same seed
//! gives the same world. Time inside the world moves in "ticks": every authenticated API call of
//! an account is one tick of that account, and scheduled things (the next applicant, a reply)
//! happen on their tick.

use serde_json::{Value, json};

use super::clock::{self, DAY, HOUR, MINUTE};
use super::events;
use super::store::Tx;

/// SplitMix64 of `seed` and `n`: the world's only source of variety.
pub fn mix(seed: u64, n: u64) -> u64 {
    let mut z = seed
        .wrapping_add(n.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A number in `lo..=hi` from a roll.
pub fn pick(roll: u64, lo: u64, hi: u64) -> u64 {
    lo + roll % (hi - lo + 1)
}

/// One seeded AI trainer (the fixed part; numbers vary with the seed).
pub struct Archetype {
    pub first: &'static str,
    pub initial: &'static str,
    pub title: &'static str,
    pub bio: &'static str,
    pub city: &'static str,
    pub country: &'static str,
    pub country_code: &'static str,
    pub languages: &'static [(&'static str, &'static str)],
    pub subject: &'static [&'static str],
    pub tags: &'static [&'static str],
    pub software: &'static str,
    pub data_type: &'static str,
    pub label_type: &'static str,
    /// Words in a job's text that make this trainer apply.
    pub keywords: &'static [&'static str],
    pub rate: u64,
    pub experience: &'static str,
    pub edge_case: &'static str,
    pub strength: &'static str,
    pub assessment: &'static str,
    pub interviewed: bool,
}

pub const TRAINERS: &[Archetype] = &[
    Archetype {
        first: "Maria",
        initial: "G",
        title: "Text Annotation Specialist",
        bio: "Native Spanish speaker with 4 years of NLP annotation experience.",
        city: "Madrid",
        country: "Spain",
        country_code: "ES",
        languages: &[("Spanish", "NATIVE"), ("English", "FLUENT")],
        subject: &["Social media", "Customer support"],
        tags: &["SENTIMENT_ANALYSIS", "TEXT_CLASSIFICATION"],
        software: "Label Studio",
        data_type: "TEXT",
        label_type: "CLASSIFICATION",
        keywords: &[
            "sentiment",
            "text",
            "social",
            "classification",
            "posts",
            "tweets",
        ],
        rate: 18,
        experience: "I spent two years annotating Spanish-language tweets for a sentiment model, including sarcasm and mixed-sentiment cases.",
        edge_case: "For sarcasm I label the intended sentiment, not the literal words, and I flag posts that mix two targets so the guideline owner can decide.",
        strength: "strong grasp of sentiment edge cases; clear communication; native Spanish speaker with prior social-media annotation experience",
        assessment: "Sentiment labeling",
        interviewed: true,
    },
    Archetype {
        first: "Kenji",
        initial: "T",
        title: "Speech Transcription Lead",
        bio: "Bilingual Japanese/English transcriber; 6 years of call-center and podcast audio.",
        city: "Osaka",
        country: "Japan",
        country_code: "JP",
        languages: &[("Japanese", "NATIVE"), ("English", "FLUENT")],
        subject: &["Podcasts", "Call centers"],
        tags: &["TRANSCRIPTION", "SPEAKER_DIARIZATION"],
        software: "ELAN",
        data_type: "AUDIO",
        label_type: "TRANSCRIPTION",
        keywords: &[
            "audio",
            "speech",
            "transcription",
            "transcribe",
            "call",
            "japanese",
        ],
        rate: 22,
        experience: "I transcribed and diarized about 900 hours of customer-support calls, with timestamps at every speaker turn.",
        edge_case: "Overlapping speech gets both speakers with [overlap] markers; I never guess unclear words, I mark them [inaudible] with the timestamp.",
        strength: "precise transcription habits; careful with overlapping speech; fast turnaround",
        assessment: "Audio transcription",
        interviewed: true,
    },
    Archetype {
        first: "Amara",
        initial: "O",
        title: "Computer Vision Annotator",
        bio: "Bounding boxes and polygons for retail and traffic imagery since 2021.",
        city: "Lagos",
        country: "Nigeria",
        country_code: "NG",
        languages: &[("English", "NATIVE"), ("Yoruba", "NATIVE")],
        subject: &["Retail", "Traffic"],
        tags: &["OBJECT_DETECTION", "BOUNDING_BOXES"],
        software: "CVAT",
        data_type: "IMAGE",
        label_type: "BOUNDING_BOX",
        keywords: &[
            "image", "images", "bounding", "boxes", "vision", "dashcam", "photos",
        ],
        rate: 14,
        experience: "I drew over 200,000 bounding boxes on dashcam and shelf images, keeping IoU above 0.9 in audits.",
        edge_case: "Occluded objects get a box around the visible part plus the occlusion attribute; truncated objects at the frame edge are boxed to the edge.",
        strength: "high-volume, audited box quality; knows occlusion and truncation rules",
        assessment: "Bounding boxes",
        interviewed: true,
    },
    Archetype {
        first: "Lucas",
        initial: "M",
        title: "NLP Annotator (PT/ES/EN)",
        bio: "Named entities, intent and topic labels in three languages.",
        city: "São Paulo",
        country: "Brazil",
        country_code: "BR",
        languages: &[
            ("Portuguese", "NATIVE"),
            ("Spanish", "FLUENT"),
            ("English", "FLUENT"),
        ],
        subject: &["E-commerce", "Banking"],
        tags: &["NAMED_ENTITY_RECOGNITION", "TEXT_CLASSIFICATION"],
        software: "Prodigy",
        data_type: "TEXT",
        label_type: "NER",
        keywords: &[
            "entity",
            "entities",
            "ner",
            "intent",
            "text",
            "classification",
            "spanish",
            "portuguese",
        ],
        rate: 16,
        experience: "I labeled entities and intents in Portuguese and Spanish banking chats for a support assistant.",
        edge_case: "Nested entities follow the outermost span unless the guideline says otherwise; I keep a log of ambiguous spans for review.",
        strength: "multilingual entity work; tidy, consistent spans; keeps an ambiguity log",
        assessment: "Entity labeling",
        interviewed: true,
    },
    Archetype {
        first: "Priya",
        initial: "S",
        title: "LLM Evaluation Specialist",
        bio: "Ranks and critiques model answers for reasoning, code and safety.",
        city: "Bengaluru",
        country: "India",
        country_code: "IN",
        languages: &[("English", "FLUENT"), ("Hindi", "NATIVE")],
        subject: &["Software", "Reasoning"],
        tags: &["RLHF", "RANKING", "CODE_REVIEW"],
        software: "Internal tools",
        data_type: "TEXT",
        label_type: "RANKING",
        keywords: &[
            "llm",
            "ranking",
            "rlhf",
            "responses",
            "evaluation",
            "code",
            "preference",
        ],
        rate: 25,
        experience: "I ranked and rewrote model responses for a coding assistant, writing short rationales for every preference.",
        edge_case: "When both answers are wrong I rank by how recoverable the mistake is and say so in the rationale.",
        strength: "sharp rationales; strong coding background; reliable on preference ranking",
        assessment: "Response ranking",
        interviewed: true,
    },
    Archetype {
        first: "Sofia",
        initial: "R",
        title: "Spanish Audio & Sentiment Labeler",
        bio: "Call-center audio and customer-review sentiment, Latin American Spanish.",
        city: "Mexico City",
        country: "Mexico",
        country_code: "MX",
        languages: &[("Spanish", "NATIVE"), ("English", "FLUENT")],
        subject: &["Customer reviews", "Call centers"],
        tags: &["SENTIMENT_ANALYSIS", "TRANSCRIPTION"],
        software: "Label Studio",
        data_type: "AUDIO",
        label_type: "CLASSIFICATION",
        keywords: &["spanish", "sentiment", "audio", "reviews", "call", "social"],
        rate: 15,
        experience: "I labeled sentiment in about 40,000 Mexican Spanish product reviews and transcribed support calls.",
        edge_case: "Regional slang gets the sentiment a local reader would hear; if a review praises one thing and attacks another I label it mixed.",
        strength: "native Latin American Spanish; steady throughput; good with slang",
        assessment: "Sentiment labeling",
        interviewed: true,
    },
    Archetype {
        first: "Jonas",
        initial: "K",
        title: "Medical Text Annotator",
        bio: "Former nurse; annotates clinical notes and medical literature in German and English.",
        city: "Berlin",
        country: "Germany",
        country_code: "DE",
        languages: &[("German", "NATIVE"), ("English", "FLUENT")],
        subject: &["Medicine", "Clinical notes"],
        tags: &["NAMED_ENTITY_RECOGNITION", "MEDICAL"],
        software: "INCEpTION",
        data_type: "TEXT",
        label_type: "NER",
        keywords: &["medical", "clinical", "german", "health", "entity", "ner"],
        rate: 30,
        experience: "I annotated medications, dosages and diagnoses in 3,000 German discharge letters.",
        edge_case: "Negated findings (\"no sign of pneumonia\") are labeled with the negation attribute, never as a positive finding.",
        strength: "clinical expertise; exact with negation and abbreviations",
        assessment: "Clinical entities",
        interviewed: true,
    },
    Archetype {
        first: "Fatima",
        initial: "Z",
        title: "Document & OCR Annotator",
        bio: "Receipts, invoices and forms in Arabic, French and English.",
        city: "Casablanca",
        country: "Morocco",
        country_code: "MA",
        languages: &[
            ("Arabic", "NATIVE"),
            ("French", "FLUENT"),
            ("English", "FLUENT"),
        ],
        subject: &["Finance", "Retail"],
        tags: &["OCR", "KEY_VALUE_EXTRACTION"],
        software: "Label Studio",
        data_type: "IMAGE",
        label_type: "TRANSCRIPTION",
        keywords: &[
            "ocr",
            "receipts",
            "documents",
            "invoices",
            "arabic",
            "french",
            "forms",
        ],
        rate: 17,
        experience: "I transcribed and key-value labeled 25,000 Arabic and French receipts for an expense app.",
        edge_case: "Right-to-left text keeps its reading order in the transcription; unreadable fields are left empty and flagged, never guessed.",
        strength: "careful with right-to-left scripts; consistent key-value labels",
        assessment: "Document extraction",
        interviewed: true,
    },
    Archetype {
        first: "Elena",
        initial: "V",
        title: "Video Segmentation Annotator",
        bio: "Frame-by-frame segmentation and tracking for sports and robotics video.",
        city: "Warsaw",
        country: "Poland",
        country_code: "PL",
        languages: &[
            ("Polish", "NATIVE"),
            ("English", "FLUENT"),
            ("Ukrainian", "FLUENT"),
        ],
        subject: &["Sports", "Robotics"],
        tags: &["SEGMENTATION", "OBJECT_TRACKING"],
        software: "CVAT",
        data_type: "VIDEO",
        label_type: "SEGMENTATION",
        keywords: &["video", "segmentation", "tracking", "frames", "robotics"],
        rate: 19,
        experience: "I segmented and tracked players across 400 sports clips, keeping identities stable through occlusions.",
        edge_case: "When a tracked object leaves the frame and returns I keep its id if it is clearly the same object, and note the gap.",
        strength: "stable tracking ids; patient frame-level work",
        assessment: "Video tracking",
        interviewed: false,
    },
    Archetype {
        first: "Diego",
        initial: "A",
        title: "Autonomous Driving Annotator",
        bio: "LiDAR cuboids and camera boxes for driving datasets.",
        city: "Bogotá",
        country: "Colombia",
        country_code: "CO",
        languages: &[("Spanish", "NATIVE"), ("English", "FLUENT")],
        subject: &["Autonomous driving"],
        tags: &["LIDAR", "BOUNDING_BOXES"],
        software: "Segments.ai",
        data_type: "POINT_CLOUD",
        label_type: "CUBOID",
        keywords: &[
            "lidar", "driving", "dashcam", "cuboids", "boxes", "images", "bounding",
        ],
        rate: 20,
        experience: "I labeled LiDAR cuboids and matching camera boxes for 1,200 driving scenes.",
        edge_case: "Parked and moving vehicles get different attributes; I check cuboid heading against the next frames before submitting.",
        strength: "3D labeling experience; checks consistency across frames",
        assessment: "Cuboid labeling",
        interviewed: true,
    },
];

const REVIEWS: [&str; 2] = [
    "Fast, precise, great guideline questions.",
    "Reliable and careful; would hire again.",
];

/// A trainer's stable id and slug in this world.
pub fn trainer_id(seed: u64, index: usize) -> String {
    format!(
        "usr_{}",
        super::store::id_chars(seed ^ 0x0074_7261_696e_6572, index as u64)
    )
}

pub fn trainer_slug(seed: u64, index: usize) -> String {
    let t = &TRAINERS[index];
    let id = trainer_id(seed, index);
    format!(
        "{}-{}-{}",
        t.first.to_lowercase(),
        t.initial.to_lowercase(),
        &id[4..8]
    )
}

/// The trainer with this id or profile slug.
pub fn find_trainer(seed: u64, id_or_slug: &str) -> Option<usize> {
    (0..TRAINERS.len())
        .find(|&i| trainer_id(seed, i) == id_or_slug || trainer_slug(seed, i) == id_or_slug)
}

fn roll(seed: u64, purpose: &str, n: u64) -> u64 {
    mix(seed ^ super::store::fnv(purpose), n)
}

/// The trainer's hourly rate in this world.
pub fn trainer_rate(seed: u64, index: usize) -> u64 {
    TRAINERS[index].rate + pick(roll(seed, "rate", index as u64), 0, 4)
}

/// The masked public profile, as `GET /freelancers/{idOrSlug}` answers it.
pub fn profile(seed: u64, index: usize, base: &str) -> Value {
    let t = &TRAINERS[index];
    let r = |p: &str| roll(seed, p, index as u64);
    let slug = trainer_slug(seed, index);
    let reviews = pick(r("reviews"), 3, 40);
    let since_year = 2020 + pick(r("since"), 0, 4);
    let from_year = since_year.min(2024);
    let open_label = pick(r("openlabel"), 78, 98);
    json!({
        "id": trainer_id(seed, index),
        "profileSlug": slug,
        "profilePath": format!("/profile/{slug}"),
        "displayName": format!("{} {}.", t.first, t.initial),
        "firstName": t.first,
        "lastNameInitial": t.initial,
        "talentType": "Individual",
        "title": t.title,
        "bio": t.bio,
        "city": t.city,
        "countryCode": t.country_code,
        "country": t.country,
        "profilePhotoUrl": format!("{base}/photos/{slug}.svg"),
        "hourlyRateUsd": trainer_rate(seed, index),
        "availability": if r("avail") % 3 == 0 { "PART_TIME" } else { "FULL_TIME" },
        "expertiseLevel": if t.rate >= 20 { "EXPERT" } else { "INTERMEDIATE" },
        "englishLevel": t.languages.iter().find(|(l, _)| *l == "English").map(|(_, p)| *p).unwrap_or("BASIC"),
        "memberSince": format!("{since_year}-0{}-1{}T10:00:00.000Z", pick(r("m"), 1, 9), pick(r("d"), 0, 9)),
        "identityVerified": true,
        "skills": {
            "subjectMatter": t.subject,
            "tags": t.tags,
            "software": [t.software],
            "dataTypes": [t.data_type],
            "labelTypes": [t.label_type],
        },
        "languages": t.languages.iter().map(|(l, p)| json!({"language": l, "proficiency": p})).collect::<Vec<_>>(),
        "stats": {
            "totalEarnedUsd": pick(r("earned"), 8, 160) * 100,
            "billedHours": pick(r("hours"), 80, 2400),
            "jobSuccessScore": pick(r("jss"), 88, 100),
            "reviewCount": reviews,
            "averageRating": 4.0 + pick(r("rating"), 5, 10) as f64 / 10.0,
        },
        "agency": null,
        "openLabel": {
            "score": open_label,
            "assessments": [{"name": t.assessment, "score": open_label, "completedAt": format!("{}-05-1{}T09:00:00.000Z", since_year.max(2024), pick(r("ol"), 0, 9))}],
        },
        "labelExperience": [{
            "id": format!("exp_{}", &trainer_id(seed, index)[4..]),
            "title": format!("{} project", t.assessment),
            "description": t.experience,
            "fromYear": from_year,
            "toYear": 2025,
            "ongoing": false,
            "software": t.software,
            "dataType": t.data_type,
            "labelTypes": [t.label_type],
        }],
        "workExperience": [],
        "education": [],
        "reviews": (0..reviews.min(2)).map(|k| json!({
            "id": format!("rev_{}{k}", &trainer_id(seed, index)[4..9]),
            "rating": 5 - (r("rv") + k) % 2,
            "comment": REVIEWS[k as usize % 2],
            "createdAt": format!("2026-0{}-20T12:00:00.000Z", 1 + k),
        })).collect::<Vec<_>>(),
    })
}

/// Which trainers apply to a job: the ones speaking its languages and knowing its kind of work,
/// best first, at most four (at least three).
pub fn applicants(seed: u64, job_id: &str, languages: &[String], text: &str) -> Vec<usize> {
    let text = text.to_lowercase();
    let mut scored: Vec<(u64, usize)> = TRAINERS
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let speaks = languages
                .iter()
                .filter(|l| t.languages.iter().any(|(tl, _)| tl.eq_ignore_ascii_case(l)))
                .count() as u64;
            let knows = t.keywords.iter().filter(|k| text.contains(*k)).count() as u64;
            let jitter = roll(seed, job_id, i as u64) % 7;
            (speaks * 20 + knows * 6 + jitter, i)
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().take(4).map(|(_, i)| i).collect()
}

/// Creates a new world's fixed parts: a marketplace employer with a few public jobs.
pub fn create(tx: &mut Tx) -> rusqlite::Result<()> {
    let market = "acct_marketplace";
    tx.put(
        "accounts",
        market,
        None,
        None,
        &json!({"id": market, "market": true, "organizationName": "OpenTrain marketplace (sandbox)", "claimed": true}),
    )?;
    type Seeded<'a> = (
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a [&'a str],
        &'a [&'a str],
        &'a str,
        &'a str,
        f64,
    );
    let jobs: &[Seeded] = &[
        (
            "Spanish Audio Annotation",
            "Acme AI",
            "Transcribe and annotate Spanish call-center audio, marking speaker turns and sentiment.",
            "Audio Annotation",
            &["Spanish"],
            &[],
            "Audio",
            "PAY_PER_HOUR",
            12.0,
        ),
        (
            "Dashcam Bounding Boxes",
            "Roadsense",
            "Draw bounding boxes around vehicles, pedestrians and cyclists in 50,000 dashcam images.",
            "Image Annotation",
            &["English"],
            &["US", "IN"],
            "Image",
            "PAY_PER_HOUR",
            18.0,
        ),
        (
            "German Clinical Notes NER",
            "MedTag",
            "Label medications, dosages and diagnoses in German discharge letters.",
            "Text Annotation",
            &["German"],
            &["DE", "AT", "CH"],
            "Text",
            "PAY_PER_HOUR",
            32.0,
        ),
        (
            "LLM Response Ranking (coding)",
            "Frontier Lab",
            "Rank pairs of model answers to programming questions and write a one-line rationale.",
            "Text Annotation",
            &["English"],
            &[],
            "Text",
            "PAY_PER_LABEL",
            0.8,
        ),
        (
            "Arabic Receipt OCR",
            "Ledgerly",
            "Transcribe totals, dates and merchant names from Arabic and French receipts.",
            "Document Annotation",
            &["Arabic", "French"],
            &["MA", "EG"],
            "Image",
            "FIXED_PRICE",
            1500.0,
        ),
        (
            "Japanese Podcast Transcription",
            "Kotoba Labs",
            "Verbatim transcription of Japanese podcasts with speaker labels.",
            "Audio Annotation",
            &["Japanese"],
            &["JP"],
            "Audio",
            "PAY_PER_HOUR",
            20.0,
        ),
    ];
    for (n, (title, company, description, category, languages, countries, data_type, pay, rate)) in
        jobs.iter().enumerate()
    {
        let id = tx.new_id("job")?;
        let posted = tx.now - (n as i64 + 2) * DAY;
        let fields = json!({
            "jobTitle": title,
            "jobDescription": description,
            "languages": languages,
            "countries": countries,
            "dataType": data_type,
            "paymentType": pay,
            "pricePerHour": if *pay == "PAY_PER_HOUR" { json!(rate) } else { Value::Null },
            "pricePerLabel": if *pay == "PAY_PER_LABEL" { json!(rate) } else { Value::Null },
            "fixedPrice": if *pay == "FIXED_PRICE" { json!(rate) } else { Value::Null },
            "experienceLevel": "INTERMEDIATE",
            "labelTypes": [],
            "headcount": 5,
        });
        tx.put(
            "jobs",
            &id,
            Some(market),
            None,
            &json!({
                "id": id, "account": market, "status": "OPEN", "fields": fields,
                "companyName": company, "category": category,
                "createdAt": posted, "updatedAt": posted, "publishedAt": posted,
            }),
        )?;
    }
    Ok(())
}

/// One tick of an account: the next scheduled things happen, and lapsed approvals and top-ups
/// expire.
pub fn tick(tx: &mut Tx, account_id: &str) -> rusqlite::Result<()> {
    let Some(mut account) = tx.get("accounts", account_id)? else {
        return Ok(());
    };
    let now_tick = account["tick"].as_u64().unwrap_or(0) + 1;
    account["tick"] = json!(now_tick);
    tx.save("accounts", account_id, &account)?;
    let mut due: Vec<Value> = tx
        .list("schedule", "account", account_id)?
        .into_iter()
        .filter(|s| s["dueTick"].as_u64().unwrap_or(0) <= now_tick)
        .collect();
    due.reverse(); // oldest first
    for item in due {
        let id = item["id"].as_str().unwrap_or_default().to_owned();
        tx.delete("schedule", &id)?;
        match item["kind"].as_str() {
            Some("proposal") => arrive(tx, account_id, &item)?,
            Some("reply") => reply(tx, account_id, &item)?,
            _ => {}
        }
    }
    super::routes::contracts::expire_approvals(tx, account_id)?;
    super::routes::credits::expire_top_ups(tx, account_id)?;
    Ok(())
}

/// Schedules `kind` for `account` `after` ticks from now.
pub fn schedule(
    tx: &Tx,
    account_id: &str,
    after: u64,
    kind: &str,
    mut data: Value,
) -> rusqlite::Result<()> {
    let account = tx.get("accounts", account_id)?.unwrap_or(Value::Null);
    let id = tx.new_id("sch")?;
    data["id"] = json!(id);
    data["kind"] = json!(kind);
    data["dueTick"] = json!(account["tick"].as_u64().unwrap_or(0) + after);
    tx.put("schedule", &id, Some(account_id), None, &data)
}

/// A published job's applicants, one per tick from the next call on.
pub fn on_publish(tx: &Tx, account_id: &str, job: &Value) -> rusqlite::Result<()> {
    let fields = &job["fields"];
    let languages: Vec<String> = fields["languages"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let text = format!(
        "{} {} {}",
        fields["jobTitle"].as_str().unwrap_or(""),
        fields["jobDescription"].as_str().unwrap_or(""),
        fields["labelTypes"]
    );
    let job_id = job["id"].as_str().unwrap_or_default();
    for (k, trainer) in applicants(tx.seed, job_id, &languages, &text)
        .into_iter()
        .enumerate()
    {
        schedule(
            tx,
            account_id,
            k as u64 + 1,
            "proposal",
            json!({"jobId": job_id, "trainer": trainer}),
        )?;
    }
    Ok(())
}

/// Creates the proposal of `trainer` on `job_id` (an application, or the answer to an invite).
/// Returns its id, or the existing one.
pub fn create_proposal(
    tx: &Tx,
    account_id: &str,
    job_id: &str,
    trainer: usize,
    invited: bool,
) -> rusqlite::Result<(String, bool)> {
    let trainer_id = trainer_id(tx.seed, trainer);
    if let Some(existing) = tx
        .list("proposals", "parent", job_id)?
        .into_iter()
        .find(|p| p["trainer"].as_u64() == Some(trainer as u64))
    {
        return Ok((
            existing["id"].as_str().unwrap_or_default().to_owned(),
            false,
        ));
    }
    let Some(job) = tx.get("jobs", job_id)? else {
        return Ok((String::new(), false));
    };
    let t = &TRAINERS[trainer];
    let fields = &job["fields"];
    let title = fields["jobTitle"].as_str().unwrap_or("your job").to_owned();
    let r = |p: &str| roll(tx.seed, &format!("{job_id}/{p}"), trainer as u64);
    let id = tx.new_id("prp")?;
    let rate = trainer_rate(tx.seed, trainer);
    let (amount, unit, hourly) = match fields["paymentType"].as_str() {
        Some("PAY_PER_LABEL") => {
            let price = fields["pricePerLabel"].as_f64().unwrap_or(0.05);
            let factor = 90 + pick(r("bid"), 0, 25);
            (
                (price * factor as f64 / 100.0 * 1000.0).round() / 1000.0,
                "PER_LABEL",
                Value::Null,
            )
        }
        Some("FIXED_PRICE") => {
            let price = fields["fixedPrice"].as_f64().unwrap_or(500.0);
            let factor = 90 + pick(r("bid"), 0, 20);
            (
                (price * factor as f64 / 100.0).round(),
                "FIXED_PRICE",
                Value::Null,
            )
        }
        _ => (rate as f64, "PER_HOUR", json!(rate)),
    };
    let interview_score = t.interviewed.then(|| pick(r("interview"), 72, 96));
    let match_score = pick(r("match"), 62, 97) as f64 / 100.0;
    let created = tx.now;
    let transcript = if t.interviewed {
        let q1 = format!("Tell me about your experience relevant to \"{title}\".");
        let q2 = "How do you handle items the guidelines do not cover?".to_owned();
        let q3 = "How many hours a week can you give this project?".to_owned();
        let hours = pick(r("hours"), 15, 40);
        let a3 = format!("About {hours} hours a week, and I can start right away.");
        vec![
            ("interviewer", q1),
            ("candidate", t.experience.to_owned()),
            ("interviewer", q2),
            ("candidate", t.edge_case.to_owned()),
            ("interviewer", q3),
            ("candidate", a3),
        ]
    } else {
        Vec::new()
    };
    let messages: Vec<Value> = transcript
        .into_iter()
        .enumerate()
        .map(|(k, (role, content))| {
            json!({
                "id": format!("{id}_m{}", k + 1),
                "role": role,
                "content": content,
                "sentAt": clock::iso(created - 30 * MINUTE + k as i64 * MINUTE),
            })
        })
        .collect();
    let summary = interview_score.map(|_| {
        let mut s = t.strength.to_owned();
        if let Some(first) = s.get(..1) {
            s = first.to_uppercase() + &s[1..];
        }
        s + "."
    });
    let cover = format!(
        "Hi! I'm {} from {}, a {}. {} I'd love to work on \"{title}\"{} and can start this week.",
        t.first,
        t.city,
        t.title.to_lowercase(),
        t.experience,
        if invited {
            " — thanks for the invitation —"
        } else {
            ""
        },
    );
    let proposal = json!({
        "id": id,
        "jobId": job_id,
        "account": account_id,
        "trainer": trainer,
        "trainerId": trainer_id,
        "invited": invited,
        "status": "UNREVIEWED",
        "createdAt": created,
        "updatedAt": created,
        "bid": {"amountUsd": amount, "unit": unit, "labelerHourlyRateUsd": hourly},
        "coverLetter": cover,
        "interviewScore": interview_score,
        "matchScore": match_score,
        "interview": if messages.is_empty() { Value::Null } else {
            json!({"interviewId": format!("int_{}", &id[4..]), "score": interview_score, "summary": summary, "messages": messages})
        },
        "openLabel": pick(r("openlabel"), 0, 3) != 0,
    });
    tx.put("proposals", &id, Some(account_id), Some(job_id), &proposal)?;
    events::emit(
        tx,
        account_id,
        "proposal.received",
        &id,
        Some(job_id),
        json!({"proposalId": id, "jobId": job_id}),
    )?;
    Ok((id, true))
}

fn arrive(tx: &mut Tx, account_id: &str, item: &Value) -> rusqlite::Result<()> {
    let job_id = item["jobId"].as_str().unwrap_or_default();
    let trainer = item["trainer"].as_u64().unwrap_or(0) as usize;
    let open = tx
        .get("jobs", job_id)?
        .is_some_and(|j| j["status"] == "OPEN");
    if open && trainer < TRAINERS.len() {
        create_proposal(tx, account_id, job_id, trainer, false)?;
    }
    Ok(())
}

/// The trainer's next scripted line in a conversation.
pub fn reply_text(trainer: usize, nth: usize, context: &str) -> String {
    let t = &TRAINERS[trainer];
    match nth {
        0 => format!(
            "Hi! Thanks for reaching out about \"{context}\". I've read the brief and can start \
             right away — a first batch within a few days."
        ),
        1 => "Sounds good. I'll follow the guidelines closely and flag ambiguous items instead of \
              guessing."
            .to_owned(),
        2 => format!(
            "Noted. My usual rate is ${}/hour, but I'm happy with the milestone as proposed.",
            t.rate
        ),
        _ => "Thanks — I'll keep you posted here.".to_owned(),
    }
}

fn reply(tx: &mut Tx, account_id: &str, item: &Value) -> rusqlite::Result<()> {
    let conversation_id = item["conversationId"].as_str().unwrap_or_default();
    let Some(mut conversation) = tx.get("conversations", conversation_id)? else {
        return Ok(());
    };
    let trainer = conversation["trainer"].as_u64().unwrap_or(0) as usize;
    let nth = conversation["replies"].as_u64().unwrap_or(0) as usize;
    let context = conversation["context"]
        .as_str()
        .unwrap_or("the job")
        .to_owned();
    let text = reply_text(trainer, nth, &context);
    conversation["replies"] = json!(nth + 1);
    tx.save("conversations", conversation_id, &conversation)?;
    super::routes::messages::add_message(
        tx,
        account_id,
        conversation_id,
        &trainer_id(tx.seed, trainer),
        &text,
        tx.now + MINUTE,
    )?;
    Ok(())
}

/// Whole hours of sandbox time as milliseconds (for readability at call sites).
pub const fn hours(n: i64) -> i64 {
    n * HOUR
}
