//! Property tests over arbitrary input: ids always become exactly one path segment, query values
//! always arrive as one value, the error-body parser never panics and never lets markup or a
//! long text through, and redaction never leaves a credential behind.

use opentrain_mcp::api::error::{
    JSON_BODY_LIMIT, JSON_STRING_LIMIT, TEXT_LIMIT, excerpt, looks_like_html,
};
use opentrain_mcp::api::{ErrorBody, Request};
use opentrain_mcp::secret::{Secret, redact_credentials, scrub_text};
use opentrain_mcp::validate::{Id, MAX_ID_CHARS};
use percent_encoding::percent_decode_str;
use proptest::prelude::*;
use serde_json::Value;
use url::Url;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        ..ProptestConfig::default()
    }
}

/// Strings rich in what could change a URL's shape: dots, slashes, `%`, `?`, `#`, `&`, `=`, `+`,
/// spaces, backslashes, control characters, non-ASCII and already-encoded sequences.
fn hostile_string() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just(".".to_owned()),
        Just("..".to_owned()),
        Just("/".to_owned()),
        Just("\\".to_owned()),
        Just("%".to_owned()),
        Just("%2e".to_owned()),
        Just("%2F".to_owned()),
        Just("?".to_owned()),
        Just("#".to_owned()),
        Just("&".to_owned()),
        Just("=".to_owned()),
        Just("+".to_owned()),
        Just(" ".to_owned()),
        Just("\t".to_owned()),
        Just("\n".to_owned()),
        Just("\u{0}".to_owned()),
        Just("\u{7f}".to_owned()),
        Just("\u{85}".to_owned()),
        Just("\u{2028}".to_owned()),
        Just("é".to_owned()),
        Just("🦀".to_owned()),
        "[a-zA-Z0-9_~-]{1,4}",
        any::<char>().prop_map(String::from),
    ];
    prop_oneof![
        prop::collection::vec(piece, 0..12).prop_map(|p| p.concat()),
        any::<String>(),
    ]
}

/// Why `raw` may be refused as an id: the documented reasons, and only those.
fn refusal_is_justified(raw: &str) -> bool {
    let id = raw.trim();
    id.is_empty()
        || id == "."
        || id == ".."
        || id.chars().any(char::is_control)
        || id.chars().count() > MAX_ID_CHARS
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_id_is_refused_or_exactly_one_segment(raw in hostile_string()) {
        let id = match Id::parse(&raw) {
            Err(_) => {
                prop_assert!(refusal_is_justified(&raw), "{raw:?} refused without a reason");
                return Ok(());
            }
            Ok(id) => id,
        };
        prop_assert!(!refusal_is_justified(&raw), "{raw:?} accepted");
        prop_assert_eq!(id.as_str(), raw.trim());

        for (template, prefix, suffix) in [
            ("/contracts/{contractId}", "/api/public/v1/contracts/", ""),
            ("/jobs/{contractId}/publish", "/api/public/v1/jobs/", "/publish"),
        ] {
            let req = Request::get(template).id("contractId", &id);
            let path = req.path();
            let segment = path
                .strip_prefix(prefix)
                .and_then(|rest| rest.strip_suffix(suffix))
                .unwrap_or_else(|| panic!("{path} is not on {template}"));
            prop_assert!(!segment.is_empty());
            prop_assert!(
                !segment.contains(['/', '?', '#', '\\']),
                "{raw:?} -> {segment}"
            );
            prop_assert!(segment != "." && segment != "..");
            let decoded = percent_decode_str(segment).decode_utf8().unwrap();
            prop_assert_eq!(decoded.as_ref(), id.as_str());

            // The URL the client sends keeps it that way: same segments, no query, no fragment.
            let url = req.url(&Url::parse("https://app.opentrain.ai").unwrap());
            prop_assert_eq!(url.path(), path.as_str());
            prop_assert_eq!(url.query(), None);
            prop_assert_eq!(url.fragment(), None);
            let segments: Vec<&str> = url.path_segments().unwrap().collect();
            prop_assert_eq!(segments.len(), if suffix.is_empty() { 5 } else { 6 });
            prop_assert_eq!(segments[4], segment);
        }
    }

    #[test]
    fn every_query_value_arrives_as_one_value(value in hostile_string(), limit in 1u32..100) {
        let req = Request::get("/jobs")
            .query("q", Some(&value))
            .query("limit", Some(limit));
        let url = req.url(&Url::parse("https://app.opentrain.ai").unwrap());
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let mut want = Vec::new();
        // A blank value counts as not given.
        let given = !value.trim().is_empty();
        if given {
            want.push(("q".to_owned(), value.clone()));
        }
        want.push(("limit".to_owned(), limit.to_string()));
        prop_assert_eq!(pairs, want);
        prop_assert_eq!(url.fragment(), None);
        prop_assert_eq!(url.path(), "/api/public/v1/jobs");
        // Only the separator between the two parameters is a raw `&`.
        let query = req.query_string();
        prop_assert_eq!(query.matches('&').count(), usize::from(given));
        prop_assert!(!query.contains(['#', '+', ' ']));
    }

    #[test]
    fn error_bodies_never_panic_and_stay_short_and_tag_free(bytes in error_body_bytes()) {
        check_error_body(&bytes)?;
    }

    #[test]
    fn excerpts_of_html_keep_no_markup(page in html_page()) {
        let text = excerpt(page.as_bytes());
        prop_assert!(!text.contains(['<', '>']), "{page:?} -> {text:?}");
        prop_assert!(text.chars().count() <= TEXT_LIMIT + 1);
        prop_assert!(!text.chars().any(char::is_control));
    }

    #[test]
    fn redaction_never_leaves_a_credential(
        before in any::<String>(),
        after in any::<String>(),
        prefix in prop::sample::select(vec!["ot_pat_", "ot_clm_", "ot_cat_"]),
        body in "[A-Za-z0-9_-]{12,64}",
        repeat in 1usize..3,
    ) {
        let token = format!("{prefix}{body}");
        let line = format!("{before}{}{after}", vec![token.as_str(); repeat].join(" "));
        let out = redact_credentials(&line);
        prop_assert!(!out.contains(&token), "{line:?} -> {out:?}");
        let secret = Secret::new(&token).unwrap();
        let scrubbed = scrub_text(&line, &[&secret]).expect("found");
        prop_assert!(!scrubbed.contains(&token), "{line:?} -> {scrubbed:?}");
        prop_assert!(scrubbed.contains(&secret.masked()));
    }
}

/// Arbitrary bytes, HTML-ish text and JSON envelopes carrying long or marked-up strings.
fn error_body_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..2048),
        html_page().prop_map(String::into_bytes),
        (hostile_string(), html_page(), 0usize..3000).prop_map(|(message, page, n)| {
            serde_json::json!({
                "error": format!("{message}{page}"),
                "code": "X",
                "details": {"reason": "r", "long": "z".repeat(n), page.clone(): [message]}
            })
            .to_string()
            .into_bytes()
        }),
    ]
}

fn check_error_body(bytes: &[u8]) -> Result<(), TestCaseError> {
    match ErrorBody::parse(bytes) {
        ErrorBody::Text(text) => {
            let n = text.chars().count();
            prop_assert!(n <= TEXT_LIMIT + 1, "{n} chars");
            if n == TEXT_LIMIT + 1 {
                prop_assert!(text.ends_with('…'));
            }
            prop_assert!(!opens_a_tag(&text), "{text:?}");
            prop_assert!(!text.chars().any(char::is_control));
        }
        ErrorBody::Envelope(v) | ErrorBody::OAuth(v) | ErrorBody::Json(v) => {
            prop_assert!(serde_json::to_vec(&v).unwrap().len() <= JSON_BODY_LIMIT);
            for s in strings(&v) {
                prop_assert!(
                    s.chars().count() <= JSON_STRING_LIMIT + 1,
                    "{} chars",
                    s.len()
                );
                prop_assert!(!looks_like_html(s), "{s:?}");
            }
        }
    }
    Ok(())
}

/// A `<` followed by what would make it a tag, comment or declaration.
fn opens_a_tag(text: &str) -> bool {
    text.match_indices('<').any(|(at, _)| {
        text[at + 1..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '/' | '!' | '?'))
    })
}

fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        Value::Object(map) => map
            .iter()
            .flat_map(|(k, v)| std::iter::once(k.as_str()).chain(strings(v)))
            .collect(),
        _ => Vec::new(),
    }
}

/// HTML as proxies and error pages write it: tags (some unclosed), comments, scripts and styles
/// around text that has no angle brackets of its own.
fn html_page() -> impl Strategy<Value = String> {
    let text = "[^<>]{0,80}";
    let part = prop_oneof![
        text.prop_map(|t| t.to_owned()),
        "[a-zA-Z][a-zA-Z0-9]{0,6}".prop_map(|n| format!("<{n}>")),
        "[a-zA-Z][a-zA-Z0-9]{0,6}".prop_map(|n| format!("</{n}>")),
        ("[a-z]{1,6}", "[^<>]{0,30}").prop_map(|(n, a)| format!("<{n} class=\"{a}\">")),
        text.prop_map(|t| format!("<!-- {t} -->")),
        text.prop_map(|t| format!("<script>{t}</script>")),
        text.prop_map(|t| format!("<STYLE>{t}</STYLE>")),
        Just("<!DOCTYPE html>".to_owned()),
        Just("<br/>".to_owned()),
    ];
    prop::collection::vec(part, 0..40).prop_map(|p| p.concat())
}

/// Lines a client could send: JSON-ish pieces (brackets, quotes, escapes, numbers, ids) in any
/// order, or any bytes at all.
fn json_ish_line() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just("\\\"".to_owned()),
        Just(",".to_owned()),
        Just(":".to_owned()),
        Just("\"id\"".to_owned()),
        Just("\"id\":7".to_owned()),
        Just("1e309".to_owned()),
        Just("NaN".to_owned()),
        Just("\"\\ud800\"".to_owned()),
        Just(" ".to_owned()),
        "[a-z0-9]{1,4}".prop_map(|s| s),
    ];
    prop_oneof![
        proptest::collection::vec(piece, 0..40).prop_map(|p| p.concat().into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..256),
    ]
}

proptest! {
    #![proptest_config(config())]

    /// Measuring JSON and reading an id from a line that does not parse never panic, whatever
    /// the bytes; an id read from a line that does parse is the id it has.
    #[test]
    fn measuring_and_reading_ids_never_panic(line in json_ish_line()) {
        let _ = opentrain_mcp::shape::measure(&line, 50, 8);
        let id = opentrain_mcp::transport::stdio::readable_id(&line);
        if let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(&line)
            && let Some(id) = id
        {
            let read = serde_json::to_value(&id).unwrap();
            prop_assert_eq!(object.get("id"), Some(&read));
        }
    }
}
