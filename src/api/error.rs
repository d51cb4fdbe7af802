//! Every way a call can fail, as one type. HTTP failures keep the status and the body exactly as
//! received (the `/v1` envelope, the agent-auth OAuth shape, or text), so the result layer can
//! show the agent what the API said.

use std::time::Duration;

use serde_json::Value;

use crate::config::ConfigError;
pub use crate::text::{looks_like_html, plain_text, truncate_chars};

/// Non-JSON bodies are cut to this many characters before anything shows them.
pub const TEXT_LIMIT: usize = 300;
/// Each string (key or value) of a JSON error body is cut to this many characters, and stripped
/// of its tags when it is HTML (see [`looks_like_html`]).
pub const JSON_STRING_LIMIT: usize = 1000;
/// A JSON error body still larger than this once its strings are cut is shown as a text excerpt,
/// like a non-JSON body.
pub const JSON_BODY_LIMIT: usize = 16 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The API answered with a non-2xx status.
    #[error("HTTP {status}")]
    Http {
        status: u16,
        body: ErrorBody,
        /// Seconds from `Retry-After`, when the answer carried one.
        retry_after: Option<u64>,
    },
    #[error("the request timed out after {} s", .0.as_secs())]
    Timeout(Duration),
    /// The connection could not be established (DNS, refused, TLS); nothing was sent.
    #[error("could not connect to {host}: {message}")]
    Connect { host: String, message: String },
    /// The connection broke after it was established.
    #[error("the connection failed: {0}")]
    Transport(String),
    #[error("the response was larger than {} MiB and was discarded", .limit / (1024 * 1024))]
    TooLarge { limit: usize },
    /// A 2xx whose JSON is too big to parse safely (counted before parsing).
    #[error(
        "the API answered {status} with {what}, more than one answer may hold; it was discarded"
    )]
    TooComplex { status: u16, what: String },
    #[error(
        "the API answered {status} with a redirect to {location}, which is not followed{}",
        if *.write {
            ": an answer that redirects a write is an error (it may or may not have taken \
             effect; check before repeating it)"
        } else {
            " (a read follows redirects only within the API's own path on the same origin)"
        }
    )]
    Redirect {
        status: u16,
        location: String,
        /// The request was not a GET.
        write: bool,
    },
    /// A 2xx whose body is not JSON.
    #[error("the API answered {status} with a body that is not JSON: {excerpt}")]
    NotJson { status: u16, excerpt: String },
    /// A 2xx whose JSON is not an object (every documented answer is one).
    #[error("the API answered {status} with JSON that is not an object: {excerpt}")]
    NotAnObject { status: u16, excerpt: String },
    #[error("no OpenTrain token is configured")]
    NoToken,
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{0}")]
    InvalidArgument(String),
}

impl ApiError {
    /// Whether nothing reached the server, so even a write may be retried.
    pub fn never_sent(&self) -> bool {
        matches!(self, ApiError::Connect { .. })
    }
}

/// An error body as received, made safe to show: an agent reads it, and a proxy's HTML page or a
/// hostile server's megabyte of text must not reach it (see [`ErrorBody::parse`]).
#[derive(Clone, Debug, PartialEq)]
pub enum ErrorBody {
    /// `{error, code, requestId, details}` from `/api/public/v1`.
    Envelope(Value),
    /// `{error, error_description?}` from `/api/agent`: `error` is a `snake_case` code.
    OAuth(Value),
    /// Some other JSON (an envelope without `code`, `{"error": {"code", "message"}}`, …). The
    /// accessors read every shape alike; the variant only says which one this is.
    Json(Value),
    /// Not JSON (an HTML error page from a proxy, plain text); tags stripped, cut to 300 chars.
    Text(String),
}

impl ErrorBody {
    /// Classifies a body by its shape. JSON keeps its structure, with every string cut to
    /// [`JSON_STRING_LIMIT`] characters and HTML in it reduced to text; JSON still over
    /// [`JSON_BODY_LIMIT`] bytes after that, and anything that is not JSON, becomes a
    /// [`TEXT_LIMIT`]-character plain-text excerpt.
    pub fn parse(bytes: &[u8]) -> ErrorBody {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(mut value) => {
                tame(&mut value);
                if serialized_len(&value) > JSON_BODY_LIMIT {
                    return ErrorBody::Text(excerpt(bytes));
                }
                let has_str = |k: &str| value.get(k).is_some_and(Value::is_string);
                if has_str("code") && value.get("error").is_some() {
                    ErrorBody::Envelope(value)
                } else if value
                    .get("error")
                    .and_then(Value::as_str)
                    .is_some_and(is_oauth_token)
                {
                    ErrorBody::OAuth(value)
                } else {
                    ErrorBody::Json(value)
                }
            }
            Err(_) => ErrorBody::Text(excerpt(bytes)),
        }
    }

    /// The body as it goes into `structuredContent.error`.
    pub fn as_json(&self) -> Value {
        match self {
            ErrorBody::Envelope(v) | ErrorBody::OAuth(v) | ErrorBody::Json(v) => v.clone(),
            ErrorBody::Text(t) => Value::String(t.clone()),
        }
    }

    fn str_at(&self, pointer: &str) -> Option<&str> {
        match self {
            ErrorBody::Envelope(v) | ErrorBody::OAuth(v) | ErrorBody::Json(v) => {
                v.pointer(pointer).and_then(Value::as_str)
            }
            ErrorBody::Text(_) => None,
        }
    }

    /// The JSON of the body, when it is JSON.
    pub fn json(&self) -> Option<&Value> {
        match self {
            ErrorBody::Envelope(v) | ErrorBody::OAuth(v) | ErrorBody::Json(v) => Some(v),
            ErrorBody::Text(_) => None,
        }
    }

    /// The machine code (e.g. `FORBIDDEN`): the envelope's `code`, or `error.code` when the
    /// error is an object (`{"error": {"code", "message"}}`).
    pub fn code(&self) -> Option<&str> {
        self.str_at("/code").or_else(|| self.str_at("/error/code"))
    }

    /// The OAuth `error` (e.g. `authorization_pending`): an `error` that is a lowercase
    /// `snake_case` token, in a body without a `code`. A sentence in `error` is a message.
    pub fn oauth_error(&self) -> Option<&str> {
        if self.str_at("/code").is_some() {
            return None;
        }
        self.str_at("/error").filter(|e| is_oauth_token(e))
    }

    /// The human-readable message, wherever the body puts it: the envelope's `error`,
    /// `error.message`, the OAuth `error_description`, an `error` sentence, `message`, `detail`,
    /// or the text.
    pub fn message(&self) -> Option<&str> {
        if let ErrorBody::Text(t) = self {
            return Some(t.as_str()).filter(|t| !t.trim().is_empty());
        }
        let error = self
            .str_at("/error")
            .filter(|e| self.str_at("/code").is_some() || !is_oauth_token(e));
        error
            .or_else(|| self.str_at("/error/message"))
            .or_else(|| self.str_at("/error_description"))
            .or_else(|| self.str_at("/error/error_description"))
            .or_else(|| self.str_at("/message"))
            .or_else(|| self.str_at("/detail"))
            .filter(|m| !m.trim().is_empty())
    }

    /// `details.reason`, also when `details` sits under `error`, or `reason` at the top level.
    pub fn reason(&self) -> Option<&str> {
        self.details()
            .and_then(|d| d.get("reason"))
            .and_then(Value::as_str)
            .or_else(|| self.str_at("/reason"))
            .or_else(|| self.str_at("/error/reason"))
    }

    pub fn request_id(&self) -> Option<&str> {
        self.str_at("/requestId")
            .or_else(|| self.str_at("/request_id"))
            .or_else(|| self.str_at("/error/requestId"))
    }

    /// The `details` object, at the top level or under `error`, whatever else the body has.
    pub fn details(&self) -> Option<&Value> {
        let v = self.json()?;
        v.get("details")
            .filter(|d| d.is_object())
            .or_else(|| v.pointer("/error/details").filter(|d| d.is_object()))
    }
}

/// Whether an `error` string is an OAuth-style code (`slow_down`, `invalid_grant`) rather than
/// a sentence.
fn is_oauth_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Cuts and de-tags every string of an untrusted JSON value, keys included.
fn tame(value: &mut Value) {
    match value {
        Value::String(s) => {
            if let Some(clean) = tame_str(s) {
                *s = clean;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(tame),
        Value::Object(map) => {
            if map.keys().any(|k| tame_str(k).is_some()) {
                let old = std::mem::take(map);
                for (k, v) in old {
                    map.insert(tame_str(&k).unwrap_or(k), v);
                }
            }
            map.values_mut().for_each(tame);
        }
        _ => {}
    }
}

/// The string made safe to show, or `None` when it already is.
fn tame_str(s: &str) -> Option<String> {
    if looks_like_html(s) {
        Some(plain_text(s, JSON_STRING_LIMIT))
    } else if s.chars().nth(JSON_STRING_LIMIT).is_some() {
        Some(truncate_chars(s, JSON_STRING_LIMIT))
    } else {
        None
    }
}

/// Bytes of `value` as compact JSON, without building the text.
fn serialized_len(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

/// A short, tag-free, single-line excerpt of a non-JSON body (see [`plain_text`]), cut to
/// [`TEXT_LIMIT`] characters.
pub fn excerpt(bytes: &[u8]) -> String {
    plain_text(&String::from_utf8_lossy(bytes), TEXT_LIMIT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn classifies_the_three_shapes() {
        let env = ErrorBody::parse(
            br#"{"error":"Claim first","code":"FORBIDDEN","requestId":"r1","details":{"reason":"account_claim_required","claimUrl":"https://app.opentrain.ai/claim"}}"#,
        );
        assert_eq!(env.code(), Some("FORBIDDEN"));
        assert_eq!(env.reason(), Some("account_claim_required"));
        assert_eq!(env.request_id(), Some("r1"));
        assert_eq!(env.message(), Some("Claim first"));

        let oauth = ErrorBody::parse(br#"{"error":"slow_down","error_description":"too fast"}"#);
        assert_eq!(oauth.oauth_error(), Some("slow_down"));
        assert_eq!(oauth.message(), Some("too fast"));
        assert_eq!(oauth.code(), None);

        let bare = ErrorBody::parse(br#"{"error":"anonymous_not_enabled"}"#);
        assert_eq!(bare.oauth_error(), Some("anonymous_not_enabled"));
        assert_eq!(bare.message(), None);

        // An envelope without `code`: still a message and its details.
        let no_code = ErrorBody::parse(
            br#"{"error":"A human must claim this account.","details":{"reason":"account_claim_required","claimUrl":"https://app.opentrain.ai/claim"}}"#,
        );
        assert_eq!(no_code.oauth_error(), None);
        assert_eq!(no_code.message(), Some("A human must claim this account."));
        assert_eq!(no_code.reason(), Some("account_claim_required"));
        assert!(no_code.details().is_some());

        // The error as an object.
        let nested = ErrorBody::parse(
            br#"{"error":{"code":"RATE_LIMITED","message":"Slow down","details":{"windowHours":24}},"requestId":"r2"}"#,
        );
        assert_eq!(nested.code(), Some("RATE_LIMITED"));
        assert_eq!(nested.message(), Some("Slow down"));
        assert_eq!(nested.details().unwrap()["windowHours"], 24);
        assert_eq!(nested.request_id(), Some("r2"));

        let other = ErrorBody::parse(br#"{"id":"j1","status":"closed"}"#);
        assert_eq!(other, ErrorBody::Json(json!({"id":"j1","status":"closed"})));
    }

    #[test]
    fn html_is_reduced_to_text() {
        let page = b"<html><head><title>502 Bad Gateway</title><style>body{x:y}</style></head>\
            <body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>";
        let body = ErrorBody::parse(page);
        assert_eq!(
            body,
            ErrorBody::Text("502 Bad Gateway 502 Bad Gateway nginx".into())
        );
        let long = ErrorBody::parse("x".repeat(5000).as_bytes());
        assert_eq!(long.message().unwrap().chars().count(), TEXT_LIMIT + 1);
        assert_eq!(ErrorBody::parse(b"").message(), None);
        // A `<` that opens no tag is text.
        assert_eq!(
            excerpt(b"amount must be <= 10000 and a < b\n\tok"),
            "amount must be <= 10000 and a < b ok"
        );
        assert_eq!(excerpt(b"a<b>c</b><!-- x --><?xml?>d"), "a c d");
    }

    #[test]
    fn json_error_bodies_are_tamed_not_echoed() {
        let long = "y".repeat(5000);
        let body = ErrorBody::parse(
            json!({
                "error": format!("<html><body><h1>Oops</h1>{long}</body></html>"),
                "code": "INTERNAL",
                "details": {"note": long, "ok": "a < b"}
            })
            .to_string()
            .as_bytes(),
        );
        assert_eq!(body.code(), Some("INTERNAL"));
        let message = body.message().unwrap();
        assert!(
            message.starts_with("Oops yyy") && message.ends_with('…'),
            "{message}"
        );
        assert_eq!(message.chars().count(), JSON_STRING_LIMIT + 1);
        let note = body.details().unwrap()["note"].as_str().unwrap();
        assert_eq!(note.chars().count(), JSON_STRING_LIMIT + 1);
        assert_eq!(body.details().unwrap()["ok"], "a < b");
        // The docs' placeholders are not markup.
        let placeholder = json!({"error": "x", "details": {"jobId": "<JOB_ID>"}});
        assert_eq!(
            ErrorBody::parse(placeholder.to_string().as_bytes()).as_json(),
            placeholder
        );
        assert!(
            looks_like_html("a<br/>b")
                && looks_like_html("x</td>")
                && looks_like_html("<!DOCTYPE html>")
        );
        assert!(
            !looks_like_html("<JOB_ID>") && !looks_like_html("a < b") && !looks_like_html("<tdx>")
        );

        // Too big even once cut: a text excerpt, like any other odd body.
        let items: Vec<String> = (0..100).map(|i| format!("{i}{long}")).collect();
        let huge = json!({"error": "x", "items": items}).to_string();
        match ErrorBody::parse(huge.as_bytes()) {
            ErrorBody::Text(t) => assert_eq!(t.chars().count(), TEXT_LIMIT + 1),
            other => panic!("{other:?}"),
        }
    }
}
